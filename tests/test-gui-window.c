/* test-gui-window.c: the window, tiles, dialogs and preferences, fed by
 * plain models (the end-to-end tests with a real server are in
 * test-gui-app.c)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "filer-format.h"
#include "filer-gui-test-util.h"
#include "filer-offer-dialog.h"
#include "filer-peer-tile.h"
#include "filer-preferences-window.h"
#include "filer-resources.h"
#include "filer-test-util.h"
#include "filer-transfer-row.h"
#include "filer-trust-store.h"
#include "filer-verify-dialog.h"
#include "libfiler.h"
/* White-box: this test drives the engine side of src/core/transfer. */
#define FILER_TRANSFER_COMPILATION
#include "filer-transfer-private.h"
#include "filer-window.h"

typedef struct
{
  GListStore  *peers;
  FilerWindow *window;
  FilerPeer   *sent_peer;
  GPtrArray   *sent_files;
  guint        n_sent;
} Fixture;

static FilerPeer *
make_peer (const char       *id,
           const char       *name,
           FilerPeerNetwork  network)
{
  FilerPeer *peer = filer_peer_new (id);

  filer_peer_set_name (peer, name);
  filer_peer_set_network (peer, network);
  return peer;
}

static void
send_files_cb (FilerWindow *window,
               FilerPeer   *peer,
               GPtrArray   *files,
               Fixture     *fixture)
{
  g_set_object (&fixture->sent_peer, peer);
  g_clear_pointer (&fixture->sent_files, g_ptr_array_unref);
  fixture->sent_files = g_ptr_array_ref (files);
  fixture->n_sent++;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->peers = g_list_store_new (FILER_TYPE_PEER);
  fixture->window = g_object_new (FILER_TYPE_WINDOW, NULL);
  g_object_ref_sink (fixture->window);
  filer_window_set_peers (fixture->window, G_LIST_MODEL (fixture->peers));
  g_signal_connect (fixture->window, "send-files", G_CALLBACK (send_files_cb), fixture);
  gtk_window_present (GTK_WINDOW (fixture->window));
  filer_gui_test_settle (100);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->sent_peer);
  g_clear_pointer (&fixture->sent_files, g_ptr_array_unref);
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_clear_object (&fixture->window);
  g_clear_object (&fixture->peers);
}

typedef struct
{
  Fixture    *fixture;
  const char *names[8];
} TilesWanted;

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *)a, *(const char * const *)b);
}

static char *
tile_names (FilerWindow *window)
{
  g_autoptr(GPtrArray) tiles = filer_gui_test_find_all (GTK_WIDGET (window), FILER_TYPE_PEER_TILE);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < tiles->len; i++)
    {
      FilerPeer *peer = filer_peer_tile_get_peer (g_ptr_array_index (tiles, i));
      GtkWidget *label;

      if (peer == NULL || !gtk_widget_get_mapped (g_ptr_array_index (tiles, i)))
        continue;

      /* What is drawn, not just what the tile holds. */
      label = filer_gui_test_find_label (g_ptr_array_index (tiles, i), filer_peer_get_name (peer));
      g_ptr_array_add (names, label ? (char *)gtk_label_get_text (GTK_LABEL (label)) : "(no label)");
    }

  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **)names->pdata);
}

/* The page a GtkStack shows (mapped is not enough: a crossfade maps
 * both pages for a moment). */
static gboolean
stack_shows (GtkWidget *page)
{
  GtkWidget *stack = gtk_widget_get_parent (page);

  return gtk_stack_get_visible_child (GTK_STACK (stack)) == page;
}

static void
test_tiles_follow_model (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(FilerPeer) anna = make_peer ("a", "Anna’s Laptop", FILER_PEER_NETWORK_LAN);
  g_autoptr(FilerPeer) bob = make_peer ("b", "Bob", FILER_PEER_NETWORK_REMOTE);
  g_autoptr(FilerPeer) carol = make_peer ("c", "Carol’s Phone", FILER_PEER_NETWORK_LAN);
  GtkWidget *status_page = filer_gui_test_find (GTK_WIDGET (fixture->window), ADW_TYPE_STATUS_PAGE);
  char *names;

  /* Nobody online: "Looking for devices…". */
  g_assert_true (stack_shows (status_page));
  names = tile_names (fixture->window);
  g_assert_cmpstr (names, ==, "");
  g_free (names);

  g_list_store_append (fixture->peers, anna);
  g_list_store_append (fixture->peers, bob);
  g_list_store_append (fixture->peers, carol);
  filer_gui_test_settle (200);

  g_assert_false (stack_shows (status_page));
  names = tile_names (fixture->window);
  g_assert_cmpstr (names, ==, "Anna’s Laptop,Bob,Carol’s Phone");
  g_free (names);

  /* A rename shows at once. */
  filer_peer_set_name (bob, "Bob’s Desktop");
  filer_gui_test_settle (50);
  names = tile_names (fixture->window);
  g_assert_cmpstr (names, ==, "Anna’s Laptop,Bob’s Desktop,Carol’s Phone");
  g_free (names);

  /* A peer that leaves loses its tile. */
  g_list_store_remove (fixture->peers, 0);
  filer_gui_test_settle (200);
  names = tile_names (fixture->window);
  g_assert_cmpstr (names, ==, "Bob’s Desktop,Carol’s Phone");
  g_free (names);

  g_list_store_remove_all (fixture->peers);
  filer_gui_test_settle (200);
  g_assert_true (stack_shows (status_page));
}

static FilerPeerTile *
tile_for (FilerWindow *window,
          const char  *id)
{
  g_autoptr(GPtrArray) tiles = filer_gui_test_find_all (GTK_WIDGET (window), FILER_TYPE_PEER_TILE);

  for (guint i = 0; i < tiles->len; i++)
    {
      FilerPeer *peer = filer_peer_tile_get_peer (g_ptr_array_index (tiles, i));

      if (peer != NULL && g_strcmp0 (filer_peer_get_id (peer), id) == 0)
        return g_ptr_array_index (tiles, i);
    }

  return NULL;
}

static void
test_drop_on_tile (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(FilerPeer) anna = make_peer ("a", "Anna", FILER_PEER_NETWORK_LAN);
  g_autoptr(FilerPeer) bob = make_peer ("b", "Bob", FILER_PEER_NETWORK_LAN);
  g_autoptr(GFile) one = g_file_new_for_path ("/tmp/one.txt");
  g_autoptr(GFile) two = g_file_new_for_path ("/tmp/two");
  GSList *files = NULL;
  FilerPeerTile *tile;
  GValue value = G_VALUE_INIT;
  gboolean handled = FALSE;
  g_autofree char *path = NULL;

  g_list_store_append (fixture->peers, anna);
  g_list_store_append (fixture->peers, bob);
  filer_gui_test_settle (200);

  tile = tile_for (fixture->window, "b");
  g_assert_nonnull (tile);

  files = g_slist_append (files, one);
  files = g_slist_append (files, two);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free (files);
  g_signal_emit_by_name (filer_peer_tile_get_drop_target (tile), "drop",
                         &value, 10.0, 10.0, &handled);
  g_value_unset (&value);

  g_assert_true (handled);
  g_assert_cmpuint (fixture->n_sent, ==, 1);
  g_assert_true (fixture->sent_peer == bob);
  g_assert_cmpuint (fixture->sent_files->len, ==, 2);
  path = g_file_get_path (g_ptr_array_index (fixture->sent_files, 1));
  g_assert_cmpstr (path, ==, "/tmp/two");
}

static void
test_pending_files (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(FilerPeer) anna = make_peer ("a", "Anna", FILER_PEER_NETWORK_LAN);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  GtkWidget *grid;
  GtkWidget *revealer;

  g_list_store_append (fixture->peers, anna);

  /* Nothing pending: the bar is not there at all (not even for a
   * screen reader). */
  revealer = filer_gui_test_find (GTK_WIDGET (fixture->window), GTK_TYPE_REVEALER);
  g_assert_false (gtk_widget_get_visible (revealer));

  g_ptr_array_add (files, g_file_new_for_path ("/tmp/report.pdf"));
  filer_window_set_pending_files (fixture->window, files);
  filer_gui_test_settle (100);

  g_assert_true (gtk_widget_get_visible (revealer));
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (fixture->window),
                                               "Choose a device to send “report.pdf” to"));

  /* Enter or a double click on a tile activates the grid. */
  grid = filer_gui_test_find (GTK_WIDGET (fixture->window), GTK_TYPE_GRID_VIEW);
  g_signal_emit_by_name (grid, "activate", 0);

  g_assert_cmpuint (fixture->n_sent, ==, 1);
  g_assert_true (fixture->sent_peer == anna);
  g_assert_cmpuint (fixture->sent_files->len, ==, 1);
  g_assert_null (filer_window_get_pending_files (fixture->window));
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
}

/* Two real transfer services over loopback: the window shows the
 * sender's transfers model, as the app does. */
static gboolean
transfer_finished (gpointer data)
{
  return filer_transfer_is_finished (data);
}

/* The text a tile shows for what its peer is doing: its visible label
 * that is neither the name nor the network. */
static const char *
tile_activity_shown (FilerPeerTile *tile)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (GTK_WIDGET (tile), GTK_TYPE_LABEL);
  FilerPeer *peer = filer_peer_tile_get_peer (tile);

  for (guint i = 0; i < labels->len; i++)
    {
      GtkWidget *label = g_ptr_array_index (labels, i);
      const char *text = gtk_label_get_text (GTK_LABEL (label));

      if (!gtk_widget_is_visible (label) || text[0] == '\0' ||
          gtk_widget_has_css_class (label, "trust-label") ||
          g_str_equal (text, filer_peer_get_name (peer)) ||
          g_str_equal (text, "This network") || g_str_equal (text, "Other network"))
        continue;
      /* The avatar's initials are a label inside AdwAvatar. */
      if (gtk_widget_get_ancestor (label, ADW_TYPE_AVATAR) != NULL)
        continue;

      return text;
    }

  return NULL;
}

typedef struct
{
  FilerPeerTile *tile;
  const char    *text;
} ActivityWanted;

static gboolean
tile_shows (gpointer data)
{
  ActivityWanted *wanted = data;

  return g_strcmp0 (tile_activity_shown (wanted->tile), wanted->text) == 0;
}

/* The first transfer of @data (a GListModel) waits for an answer. */
static gboolean
offer_waiting (gpointer data)
{
  g_autoptr(FilerTransfer) transfer = g_list_model_get_item (data, 0);

  return transfer != NULL && filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_WAITING_FOR_ANSWER;
}

typedef struct
{
  FilerPeerTile *tile;
  guint          n_sending;
} SendingWatch;

/* Each time the tile's activity changes: what its label shows then. */
static void
sending_shown_cb (FilerPeerTile *tile,
                  GParamSpec    *pspec,
                  SendingWatch  *watch)
{
  const char *shown = tile_activity_shown (tile);
  const char *suffix = " % · On this network";
  g_autofree char *number = NULL;
  guint64 percent = 101;

  /* "Sending 42 % · On this network": the share done and the path. */
  if (shown == NULL || !g_str_has_prefix (shown, "Sending ") || !g_str_has_suffix (shown, suffix))
    return;
  number = g_strndup (shown + strlen ("Sending "), strlen (shown) - strlen ("Sending ") - strlen (suffix));
  if (g_ascii_string_to_unsigned (number, 10, 0, 100, &percent, NULL))
    watch->n_sending++;
}

/* A real transfer drives the tile: a receiver that has not answered yet
 * makes the sender's tile for it say "Waiting for answer", sending says
 * "Sending N % · On this network", and once done the tile says nothing. All read from the
 * tile's widgets, not from its activity property. */
static void
test_tile_activity_and_label (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("filer-gui-activity-XXXXXX", &error);
  g_autofree char *inbox = g_build_filename (tmp, "inbox", NULL);
  g_autofree char *source = g_build_filename (tmp, "photo.jpg", NULL);
  g_autoptr(FilerTransferService) sender = filer_test_service_new ("Sender", tmp);
  g_autoptr(FilerTransferService) receiver = NULL;
  g_autoptr(FilerPeer) anna = NULL;
  g_autoptr(FilerTransfer) offer = NULL;
  g_autofree char *contents = g_malloc (2 * 1024 * 1024);
  const char *addresses[] = { "127.0.0.1", NULL };
  const char *paths[] = { source, NULL };
  ActivityWanted waiting = { NULL, "Waiting for answer" };
  SendingWatch watch = { NULL, 0 };
  FilerTransfer *transfer;
  FilerPeerTile *tile;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (inbox, 0700), ==, 0);
  for (gsize i = 0; i < 2 * 1024 * 1024; i++)
    contents[i] = (char)g_random_int ();
  g_file_set_contents (source, contents, 2 * 1024 * 1024, &error);
  g_assert_no_error (error);

  /* Anna's side asks its user (nobody here answers until we do). */
  receiver = filer_test_service_new ("Anna", inbox);
  filer_transfer_service_listen (receiver, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  anna = make_peer (filer_transfer_service_get_device_id (receiver), "Anna",
                    FILER_PEER_NETWORK_REMOTE);

  filer_peer_set_kind (anna, "phone");
  filer_peer_set_addresses (anna, addresses);
  filer_peer_set_port (anna, filer_transfer_service_get_port (receiver));
  g_list_store_append (fixture->peers, anna);
  filer_window_set_transfers (fixture->window, filer_transfer_service_get_transfers (sender));
  filer_gui_test_settle (200);

  tile = tile_for (fixture->window, filer_peer_get_id (anna));
  g_assert_nonnull (tile);
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (tile), "Other network"));
  g_assert_null (tile_activity_shown (tile));

  transfer = filer_transfer_service_send (sender, anna, paths);
  waiting.tile = tile;
  filer_test_wait_until (tile_shows, &waiting, 20000, "the tile to say “Waiting for answer”");
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "tile-waiting");

  watch.tile = tile;
  g_signal_connect (tile, "notify::activity", G_CALLBACK (sending_shown_cb), &watch);
  filer_test_wait_until (offer_waiting, filer_transfer_service_get_transfers (receiver), 20000,
                         "Anna to be asked");
  offer = g_list_model_get_item (filer_transfer_service_get_transfers (receiver), 0);
  filer_transfer_accept (offer, NULL);
  filer_test_wait_until (transfer_finished, transfer, 30000, "the transfer to finish");
  g_signal_handlers_disconnect_by_func (tile, sending_shown_cb, &watch);
  g_assert_cmpint (filer_transfer_get_state (transfer), ==, FILER_TRANSFER_STATE_COMPLETED);
  g_assert_cmpuint (watch.n_sending, >, 0);

  /* Done: the tile says nothing any more. */
  filer_gui_test_settle (100);
  g_assert_null (tile_activity_shown (tile));

  filer_window_set_transfers (fixture->window, NULL);
}

static const char *
status_of_row (FilerTransferRow *row)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (GTK_WIDGET (row), GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (labels, i), "caption"))
      return gtk_label_get_text (g_ptr_array_index (labels, i));

  return NULL;
}

typedef struct
{
  FilerPeerTile *tile;
  gboolean       saw_activity;
} ActivityWatch;

static void
activity_cb (FilerPeerTile *tile,
             GParamSpec    *pspec,
             ActivityWatch *watch)
{
  const char *activity = filer_peer_tile_get_activity (tile);

  if (activity != NULL &&
      (g_str_has_prefix (activity, "Sending ") || g_str_equal (activity, "Connecting…") ||
       g_str_equal (activity, "Waiting for answer")))
    watch->saw_activity = TRUE;
}

static void
test_transfer_row (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("filer-gui-row-XXXXXX", &error);
  g_autofree char *inbox = g_build_filename (tmp, "inbox", NULL);
  g_autofree char *source = g_build_filename (tmp, "big.bin", NULL);
  g_autofree char *received = g_build_filename (inbox, "big.bin", NULL);
  g_autoptr(FilerTransferService) sender = filer_test_service_new ("Sender", tmp);
  g_autoptr(FilerTransferService) receiver = NULL;
  g_autoptr(FilerPeer) peer = NULL;
  const char *addresses[] = { "127.0.0.1", NULL };
  const char *paths[] = { source, NULL };
  g_autofree char *contents = g_malloc (4 * 1024 * 1024);
  g_autofree char *got = NULL;
  gsize got_length = 0;
  FilerTransfer *transfer;
  FilerTransferRow *row;
  GtkProgressBar *bar;
  ActivityWatch watch = { NULL, FALSE };

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (inbox, 0700), ==, 0);
  for (gsize i = 0; i < 4 * 1024 * 1024; i++)
    contents[i] = (char)g_random_int ();
  g_file_set_contents (source, contents, 4 * 1024 * 1024, &error);
  g_assert_no_error (error);

  receiver = filer_test_service_new ("Receiver", inbox);
  filer_transfer_service_set_accept_all (receiver, TRUE);
  filer_transfer_service_listen (receiver, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  peer = make_peer (filer_transfer_service_get_device_id (receiver), "Receiver",
                    FILER_PEER_NETWORK_LAN);

  filer_peer_set_addresses (peer, addresses);
  filer_peer_set_port (peer, filer_transfer_service_get_port (receiver));
  g_list_store_append (fixture->peers, peer);
  filer_window_set_transfers (fixture->window, filer_transfer_service_get_transfers (sender));
  filer_gui_test_settle (200);

  watch.tile = tile_for (fixture->window, filer_peer_get_id (peer));
  g_signal_connect (watch.tile, "notify::activity", G_CALLBACK (activity_cb), &watch);

  transfer = filer_transfer_service_send (sender, peer, paths);
  filer_test_wait_until (transfer_finished, transfer, 30000, "the transfer to finish");
  g_assert_cmpint (filer_transfer_get_state (transfer), ==, FILER_TRANSFER_STATE_COMPLETED);

  g_file_get_contents (received, &got, &got_length, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (got, got_length, contents, 4 * 1024 * 1024);

  /* The row: 100 %, the completed words, no cancel button. */
  filer_gui_test_settle (100);
  row = FILER_TRANSFER_ROW (filer_gui_test_find (GTK_WIDGET (fixture->window), FILER_TYPE_TRANSFER_ROW));
  g_assert_nonnull (row);
  g_assert_true (filer_transfer_row_get_transfer (row) == transfer);
  bar = GTK_PROGRESS_BAR (filer_gui_test_find (GTK_WIDGET (row), GTK_TYPE_PROGRESS_BAR));
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (bar), ==, 1.0);
  g_assert_cmpstr (status_of_row (row), ==, "Sent 4.2\302\240MB");
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (row), "To Receiver"));
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (row), "big.bin"));
  /* The path it took, in words: a LAN send. */
  g_assert_cmpstr (filer_transfer_get_path (transfer), ==, "lan");
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (row), "On this network"));
  g_assert_true (gtk_widget_get_visible (filer_gui_test_find_label (GTK_WIDGET (row), "On this network")));

  /* The tile said what was going on, and is quiet again. */
  g_assert_true (watch.saw_activity);
  g_assert_null (filer_peer_tile_get_activity (watch.tile));
  g_signal_handlers_disconnect_by_func (watch.tile, activity_cb, &watch);

  filer_window_set_transfers (fixture->window, NULL);
}

/* A relayed send (the NAT lab proves the relay; here only the words):
 * the busy tile and the row say which path it took. */
static void
test_path_shown (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(FilerPeer) remote = make_peer ("r", "Remote", FILER_PEER_NETWORK_REMOTE);
  g_autoptr(GListStore) transfers = g_list_store_new (FILER_TYPE_TRANSFER);
  g_autoptr(FilerTransfer) transfer = _filer_transfer_new (FILER_TRANSFER_DIRECTION_SEND, "t1");
  FilerPeerTile *tile;
  FilerTransferRow *row;
  GtkWidget *label;

  g_list_store_append (fixture->peers, remote);
  _filer_transfer_set_peer (transfer, "r", "Remote");
  _filer_transfer_set_bytes_total (transfer, 1000);
  _filer_transfer_set_state (transfer, FILER_TRANSFER_STATE_TRANSFERRING);
  g_list_store_append (transfers, transfer);
  filer_window_set_transfers (fixture->window, G_LIST_MODEL (transfers));
  filer_gui_test_settle (200);

  /* No path yet: nothing said about it. */
  tile = tile_for (fixture->window, "r");
  g_assert_cmpstr (filer_peer_tile_get_activity (tile), ==, "Sending 0 %");
  row = FILER_TRANSFER_ROW (filer_gui_test_find (GTK_WIDGET (fixture->window), FILER_TYPE_TRANSFER_ROW));
  g_assert_nonnull (row);
  g_assert_null (filer_gui_test_find_label (GTK_WIDGET (row), "Through the relay"));

  _filer_transfer_set_path (transfer, "relay");
  _filer_transfer_add_bytes (transfer, 500);
  filer_gui_test_settle (400);
  g_assert_cmpstr (filer_peer_tile_get_activity (tile), ==, "Sending 50 % · Through the relay");
  label = filer_gui_test_find_label (GTK_WIDGET (row), "Through the relay");
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_get_visible (label));

  /* Done: the tile is quiet, the row still says how it went. */
  _filer_transfer_set_state (transfer, FILER_TRANSFER_STATE_COMPLETED);
  filer_gui_test_settle (200);
  g_assert_null (filer_peer_tile_get_activity (tile));
  g_assert_true (gtk_widget_get_visible (filer_gui_test_find_label (GTK_WIDGET (row), "Through the relay")));

  filer_window_set_transfers (fixture->window, NULL);
}

static void
test_offer_dialog (void)
{
  const char *many[] = { "a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt", NULL };
  GtkWidget *dialog;
  g_autofree char *body = NULL;

  dialog = filer_offer_dialog_new (NULL, "Anna", many, 3 * 1000 * 1000);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==, "Receive Files?");
  g_assert_cmpstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Anna wants to send you 7 files (3.0\302\240MB).");
  g_assert_cmpstr (filer_offer_dialog_get_files_text (FILER_OFFER_DIALOG (dialog)), ==,
                   "a.txt\nb.txt\nc.txt\nd.txt\ne.txt\nand 2 more");
  g_assert_false (filer_offer_dialog_get_always_accept (FILER_OFFER_DIALOG (dialog)));
  g_assert_true (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "accept"));
  g_assert_true (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "decline"));

  gtk_check_button_set_active (GTK_CHECK_BUTTON (filer_gui_test_find (dialog, GTK_TYPE_CHECK_BUTTON)), TRUE);
  g_assert_true (filer_offer_dialog_get_always_accept (FILER_OFFER_DIALOG (dialog)));

  gtk_window_destroy (GTK_WINDOW (dialog));
}

static GtkWidget *
find_entry_row (GtkWidget  *root,
                const char *title)
{
  g_autoptr(GPtrArray) rows = filer_gui_test_find_all (root, ADW_TYPE_ENTRY_ROW);

  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (g_ptr_array_index (rows, i)), title) == 0)
      return g_ptr_array_index (rows, i);

  return NULL;
}

static GtkWidget *
find_switch_in_row (GtkWidget  *root,
                    const char *title)
{
  g_autoptr(GPtrArray) rows = filer_gui_test_find_all (root, ADW_TYPE_ACTION_ROW);

  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (g_ptr_array_index (rows, i)), title) == 0)
      return filer_gui_test_find (g_ptr_array_index (rows, i), GTK_TYPE_SWITCH);

  return NULL;
}

/* The button under @root with @label (mnemonic included) or @icon. */
static GtkWidget *
find_button (GtkWidget  *root,
             const char *label,
             const char *icon)
{
  g_autoptr(GPtrArray) buttons = filer_gui_test_find_all (root, GTK_TYPE_BUTTON);

  for (guint i = 0; i < buttons->len; i++)
    {
      GtkButton *button = g_ptr_array_index (buttons, i);

      if ((label != NULL && g_strcmp0 (gtk_button_get_label (button), label) == 0) ||
          (icon != NULL && g_strcmp0 (gtk_button_get_icon_name (button), icon) == 0))
        return GTK_WIDGET (button);
    }

  g_assert_not_reached ();
}

/* The label that says why a room code is refused: the error label of
 * the room row's group. */
static GtkWidget *
find_room_error (GtkWidget *prefs)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (prefs, GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (labels, i), "error"))
      return g_ptr_array_index (labels, i);

  g_assert_not_reached ();
}

static void
test_preferences_write_settings (void)
{
  GtkWidget *room_error;
  GtkWidget *copy;
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *value = NULL;
  GtkWidget *prefs;
  GtkWidget *row;
  GtkWidget *sw;

  prefs = filer_preferences_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (prefs));
  filer_gui_test_settle (50);

  row = find_entry_row (prefs, "Device Name");
  g_assert_nonnull (row);
  gtk_editable_set_text (GTK_EDITABLE (row), "Kitchen PC");
  g_signal_emit_by_name (row, "apply");
  value = g_settings_get_string (settings, "device-name");
  g_assert_cmpstr (value, ==, "Kitchen PC");
  g_clear_pointer (&value, g_free);

  /* A room code too short to be safe is refused under the row, and the
   * room stays as it was; a good one is stored in its canonical form. */
  row = find_entry_row (prefs, "Room Code");
  room_error = find_room_error (prefs);
  g_assert_false (gtk_widget_get_visible (room_error));
  gtk_editable_set_text (GTK_EDITABLE (row), " blue ");
  g_signal_emit_by_name (row, "apply");
  value = g_settings_get_string (settings, "room-code");
  g_assert_cmpstr (value, ==, "");
  g_clear_pointer (&value, g_free);
  g_assert_true (gtk_widget_get_visible (room_error));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (room_error)),
                                   "A room code needs at least 8 letters and digits"));
  g_assert_true (gtk_widget_has_css_class (row, "error"));
  /* Typing again takes the complaint away. */
  gtk_editable_set_text (GTK_EDITABLE (row), "7kq2 m9xd 4tpb");
  g_assert_false (gtk_widget_get_visible (room_error));
  g_assert_false (gtk_widget_has_css_class (row, "error"));
  g_signal_emit_by_name (row, "apply");
  value = g_settings_get_string (settings, "room-code");
  g_assert_cmpstr (value, ==, "7KQ2-M9XD-4TPB");
  g_clear_pointer (&value, g_free);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "7KQ2-M9XD-4TPB");

  /* Generate makes a new code, stored and shown; Copy puts it on the
   * clipboard. */
  g_signal_emit_by_name (find_button (row, "_Generate", NULL), "clicked");
  value = g_settings_get_string (settings, "room-code");
  g_assert_cmpuint (strlen (value), ==, 14);
  g_assert_cmpstr (value, !=, "7KQ2-M9XD-4TPB");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, value);
  copy = find_button (row, NULL, "edit-copy-symbolic");
  g_assert_true (gtk_widget_get_sensitive (copy));
  g_signal_emit_by_name (copy, "clicked");
  {
    GdkContentProvider *content = gdk_clipboard_get_content (gtk_widget_get_clipboard (row));
    g_auto(GValue) text = G_VALUE_INIT;

    g_value_init (&text, G_TYPE_STRING);
    g_assert_nonnull (content);
    g_assert_true (gdk_content_provider_get_value (content, &text, NULL));
    g_assert_cmpstr (g_value_get_string (&text), ==, value);
  }
  g_clear_pointer (&value, g_free);

  /* The address row is only usable with automatic discovery off. */
  row = find_entry_row (prefs, "Server Address");
  g_assert_false (gtk_widget_get_sensitive (row));
  sw = find_switch_in_row (prefs, "Find Server Automatically");
  gtk_switch_set_active (GTK_SWITCH (sw), FALSE);
  g_assert_false (g_settings_get_boolean (settings, "server-automatic"));
  g_assert_true (gtk_widget_get_sensitive (row));
  gtk_editable_set_text (GTK_EDITABLE (row), "127.0.0.1:5000");
  g_signal_emit_by_name (row, "apply");
  value = g_settings_get_string (settings, "server-address");
  g_assert_cmpstr (value, ==, "127.0.0.1:5000");
  g_clear_pointer (&value, g_free);

  sw = find_switch_in_row (prefs, "Accept Automatically From Trusted Devices");
  g_assert_false (g_settings_get_boolean (settings, "auto-accept-trusted"));
  gtk_switch_set_active (GTK_SWITCH (sw), TRUE);
  g_assert_true (g_settings_get_boolean (settings, "auto-accept-trusted"));

  /* Trusted devices are the verified ones; Forget All forgets them. */
  {
    g_autoptr(FilerDevice) anna = filer_device_new_ephemeral ("Anna", NULL);
    g_autoptr(FilerTrustStore) store = filer_trust_store_new (settings);
    g_autoptr(GPtrArray) rows = filer_gui_test_find_all (prefs, ADW_TYPE_ACTION_ROW);
    AdwActionRow *trusted_row = NULL;
    GtkWidget *forget;

    for (guint i = 0; i < rows->len; i++)
      if (g_strcmp0 (adw_preferences_row_get_title (g_ptr_array_index (rows, i)), "Trusted Devices") == 0)
        trusted_row = g_ptr_array_index (rows, i);
    g_assert_nonnull (trusted_row);
    g_assert_cmpstr (adw_action_row_get_subtitle (trusted_row), ==, "None");
    g_assert_true (filer_trust_store_trust (store, filer_device_get_id (anna), "Anna"));
    g_assert_cmpstr (adw_action_row_get_subtitle (trusted_row), ==, "1 device");
    forget = filer_gui_test_find (GTK_WIDGET (trusted_row), GTK_TYPE_BUTTON);
    g_assert_true (gtk_widget_get_sensitive (forget));
    g_signal_emit_by_name (forget, "clicked");
    g_assert_false (filer_trust_store_is_verified (store, filer_device_get_id (anna)));
    g_assert_cmpstr (adw_action_row_get_subtitle (trusted_row), ==, "None");
  }

  sw = find_switch_in_row (prefs, "Host the Discovery Service");
  gtk_switch_set_active (GTK_SWITCH (sw), FALSE);
  g_assert_false (g_settings_get_boolean (settings, "allow-hosting"));

  /* And the other way: a key changed elsewhere shows in the window,
   * and one that is no safe room code (stored by an older Filer) says
   * so, with nothing to copy. */
  g_settings_set_string (settings, "room-code", "red-fox");
  row = find_entry_row (prefs, "Room Code");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "red-fox");
  g_assert_true (gtk_widget_get_visible (room_error));
  g_assert_false (gtk_widget_get_sensitive (copy));
  {
    GtkWidget *scrolled = filer_gui_test_find (prefs, GTK_TYPE_SCROLLED_WINDOW);
    GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));

    filer_gui_test_settle (100);
    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
    filer_gui_test_settle (100);
    filer_gui_test_save_screenshot (GTK_WIDGET (prefs), NULL, "preferences-room-refused");
  }
  g_settings_set_string (settings, "room-code", "RED0-F0X2");
  g_assert_false (gtk_widget_get_visible (room_error));
  g_assert_true (gtk_widget_get_sensitive (copy));

  gtk_window_destroy (GTK_WINDOW (prefs));
}

static void
test_format (void)
{
  const char *names[] = { "x", "y", NULL };
  g_autofree char *a = filer_format_progress (500 * 1000, 1000 * 1000, 100 * 1000);
  g_autofree char *b = filer_format_progress (1000, 1000, 0);
  g_autofree char *c = filer_format_time_left (3 * 3600 + 5 * 60);
  g_autofree char *d = filer_format_file_list (names, 5);

  g_assert_cmpstr (a, ==, "500.0\302\240kB of 1.0\302\240MB — 100.0\302\240kB/s — 5 seconds left");
  g_assert_cmpstr (b, ==, "1.0\302\240kB of 1.0\302\240kB");
  g_assert_cmpstr (c, ==, "3 h 05 min left");
  g_assert_cmpstr (d, ==, "x\ny");
}

/* --- trust: verified, not verified, key changed ------------------------ */

/* What the tile's trust line says (a label, what a screen reader reads),
 * or NULL when none is shown. */
static const char *
tile_trust_shown (FilerPeerTile *tile)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (GTK_WIDGET (tile), GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    {
      GtkWidget *label = g_ptr_array_index (labels, i);

      if (gtk_widget_has_css_class (label, "trust-label") && gtk_widget_get_mapped (label))
        return gtk_label_get_text (GTK_LABEL (label));
    }

  return NULL;
}

/* The dialog's big code label (the one with .verification-code). */
static const char *
code_shown (GtkWidget *dialog)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (dialog, GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    {
      GtkWidget *label = g_ptr_array_index (labels, i);

      if (gtk_widget_has_css_class (label, "verification-code") && gtk_widget_get_visible (label))
        return gtk_label_get_text (GTK_LABEL (label));
    }

  return NULL;
}

typedef struct
{
  GSettings       *settings;
  FilerTrustStore *store;
  FilerDevice     *own;
  FilerDevice     *anna_device;
  FilerPeer       *anna;
} Trust;

static void
trust_setup (Fixture *fixture,
             Trust   *trust,
             gboolean add_anna)
{
  trust->settings = g_settings_new (APP_ID);
  g_settings_reset (trust->settings, "verified-devices");
  g_settings_reset (trust->settings, "trusted-devices");
  trust->store = filer_trust_store_new (trust->settings);
  trust->own = filer_device_new_ephemeral ("My Laptop", "laptop");
  trust->anna_device = filer_device_new_ephemeral ("Anna", "phone");
  filer_window_set_device (fixture->window, trust->own);
  filer_window_set_trust_store (fixture->window, trust->store);
  trust->anna = make_peer (filer_device_get_id (trust->anna_device), "Anna", FILER_PEER_NETWORK_LAN);
  if (add_anna)
    g_list_store_append (fixture->peers, trust->anna);
  filer_gui_test_settle (150);
}

static void
trust_teardown (Fixture *fixture,
                Trust   *trust)
{
  filer_window_set_trust_store (fixture->window, NULL);
  g_settings_reset (trust->settings, "verified-devices");
  g_settings_reset (trust->settings, "trusted-devices");
  g_clear_object (&trust->anna);
  g_clear_object (&trust->anna_device);
  g_clear_object (&trust->own);
  g_clear_object (&trust->store);
  g_clear_object (&trust->settings);
}

/* A device seen for the first time is not verified; "Verify…" shows the
 * code both ends compute alike; "Codes Match — Trust" makes the tile say
 * verified, and stores the key's id with the name. */
static void
test_tile_verify (Fixture       *fixture,
                  gconstpointer  data)
{
  Trust trust = { 0 };
  g_autofree char *ours = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *stored_name = NULL;
  g_auto(GStrv) listed = NULL;
  FilerPeerTile *tile;
  GtkWidget *dialog;

  trust_setup (fixture, &trust, TRUE);
  tile = tile_for (fixture->window, filer_peer_get_id (trust.anna));
  g_assert_nonnull (tile);
  g_assert_cmpstr (tile_trust_shown (tile), ==, "Not verified");
  g_assert_cmpint (filer_peer_tile_get_trust (tile), ==, FILER_TRUST_UNVERIFIED);
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "tile-not-verified");

  /* The tile's menu offers it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (tile), "tile.verify", NULL));
  filer_gui_test_settle (100);
  dialog = NULL;
  {
    GListModel *toplevels = gtk_window_get_toplevels ();

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

        if (FILER_IS_VERIFY_DIALOG (window))
          dialog = GTK_WIDGET (window);
      }
  }
  g_assert_nonnull (dialog);

  /* Both ends: ours (own, Anna) and Anna's (Anna, own) are one code. */
  ours = filer_identity_verification_code_for_ids (filer_device_get_id (trust.own),
                                                   filer_device_get_id (trust.anna_device));
  theirs = filer_identity_verification_code_for_ids (filer_device_get_id (trust.anna_device),
                                                     filer_device_get_id (trust.own));
  g_assert_nonnull (ours);
  g_assert_cmpstr (ours, ==, theirs);
  g_assert_cmpstr (code_shown (dialog), ==, ours);
  g_assert_cmpstr (filer_verify_dialog_get_code (FILER_VERIFY_DIALOG (dialog)), ==, ours);
  g_assert_nonnull (filer_gui_test_find_label (dialog, "Anna"));
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), dialog, "verify-dialog");

  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");
  filer_gui_test_settle (150);

  g_assert_cmpstr (tile_trust_shown (tile), ==, "Verified");
  g_assert_cmpint (filer_trust_store_lookup (trust.store, filer_device_get_id (trust.anna_device),
                                             NULL, &stored_name), ==, FILER_TRUST_VERIFIED);
  g_assert_cmpstr (stored_name, ==, "Anna");
  listed = g_settings_get_strv (trust.settings, "trusted-devices");
  g_assert_true (g_strv_contains ((const char * const *)listed, filer_device_get_id (trust.anna_device)));
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "tile-verified");

  trust_teardown (fixture, &trust);
}

/* "Codes Differ" trusts nothing. */
static void
test_tile_verify_differ (Fixture       *fixture,
                         gconstpointer  data)
{
  Trust trust = { 0 };
  FilerPeerTile *tile;
  GtkWidget *dialog;

  trust_setup (fixture, &trust, TRUE);
  tile = tile_for (fixture->window, filer_peer_get_id (trust.anna));
  dialog = filer_window_verify_peer (fixture->window, trust.anna);
  g_assert_nonnull (dialog);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "differ");
  filer_gui_test_settle (100);
  g_assert_cmpstr (tile_trust_shown (tile), ==, "Not verified");
  g_assert_false (filer_trust_store_is_verified (trust.store, filer_peer_get_id (trust.anna)));

  trust_teardown (fixture, &trust);
}

/* A verified name under another key: the tile says so, in words. */
static void
test_tile_key_changed (Fixture       *fixture,
                       gconstpointer  data)
{
  Trust trust = { 0 };
  g_autoptr(FilerDevice) real_anna = filer_device_new_ephemeral ("Anna", "phone");
  FilerPeerTile *tile;

  trust_setup (fixture, &trust, FALSE);
  g_assert_true (filer_trust_store_trust (trust.store, filer_device_get_id (real_anna), "Anna"));
  g_list_store_append (fixture->peers, trust.anna);
  filer_gui_test_settle (150);

  tile = tile_for (fixture->window, filer_peer_get_id (trust.anna));
  g_assert_nonnull (tile);
  g_assert_cmpint (filer_peer_tile_get_trust (tile), ==, FILER_TRUST_KEY_CHANGED);
  g_assert_cmpstr (tile_trust_shown (tile), ==, "Key changed — this is not the Anna you verified");
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "tile-key-changed");

  trust_teardown (fixture, &trust);
}

/* The offer dialog of an unverified sender says so and shows the code;
 * of a changed key, warns and defaults to Decline. */
static void
test_offer_dialog_trust (void)
{
  const char *names[] = { "photo.jpg", NULL };
  GtkWidget *dialog = filer_offer_dialog_new (NULL, "Anna", names, 1000);

  filer_offer_dialog_set_trust (FILER_OFFER_DIALOG (dialog), FILER_TRUST_UNVERIFIED, "123 456", NULL);
  gtk_window_present (GTK_WINDOW (dialog));
  filer_gui_test_settle (100);
  g_assert_nonnull (filer_gui_test_find_label (dialog, "Not verified"));
  g_assert_cmpstr (code_shown (dialog), ==, "123 456");
  g_assert_nonnull (filer_gui_test_find_label (dialog, "Check that Anna shows the same code."));
  filer_gui_test_save_screenshot (dialog, NULL, "offer-not-verified");

  filer_offer_dialog_set_trust (FILER_OFFER_DIALOG (dialog), FILER_TRUST_KEY_CHANGED, "123 456", "Anna");
  filer_gui_test_settle (50);
  g_assert_nonnull (filer_gui_test_find_label (dialog, "Key changed — this is not the Anna you verified"));
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==, "decline");
  filer_gui_test_save_screenshot (dialog, NULL, "offer-key-changed");

  filer_offer_dialog_set_trust (FILER_OFFER_DIALOG (dialog), FILER_TRUST_VERIFIED, "123 456", "Anna");
  filer_gui_test_settle (50);
  g_assert_nonnull (filer_gui_test_find_label (dialog, "Verified"));
  g_assert_null (code_shown (dialog));

  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* trusted-devices from before verification: old random ids (not made
 * from a key) are dropped at start, key ids stay listed but are not
 * verified (nothing is accepted from them without asking). */
static void
test_trust_migrate (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(FilerTrustStore) store = filer_trust_store_new (settings);
  g_autoptr(FilerDevice) bob = filer_device_new_ephemeral ("Bob", NULL);
  const char *before[] = { "3f2a9c1e-old-random-id", filer_device_get_id (bob), NULL };
  g_auto(GStrv) after = NULL;

  g_settings_reset (settings, "verified-devices");
  g_settings_set_strv (settings, "trusted-devices", before);
  g_assert_cmpuint (filer_trust_store_migrate (store), ==, 1);
  after = g_settings_get_strv (settings, "trusted-devices");
  g_assert_cmpuint (g_strv_length (after), ==, 1);
  g_assert_cmpstr (after[0], ==, filer_device_get_id (bob));
  g_assert_false (filer_trust_store_is_verified (store, filer_device_get_id (bob)));
  g_assert_cmpint (filer_trust_store_lookup (store, filer_device_get_id (bob), "Bob", NULL), ==,
                   FILER_TRUST_UNVERIFIED);
  /* An id that is not a key's cannot be verified at all. */
  g_assert_false (filer_trust_store_trust (store, "3f2a9c1e-old-random-id", "Old"));
  g_assert_cmpuint (filer_trust_store_migrate (store), ==, 0);

  g_settings_reset (settings, "trusted-devices");
}

int
main (int   argc,
      char *argv[])
{
  if (!filer_gui_test_init (&argc, &argv))
    return filer_gui_test_skip_all ("no display");

  (void)filer_get_resource ();

  g_test_add ("/filer/gui/window/tiles-follow-model", Fixture, NULL,
              fixture_setup, test_tiles_follow_model, fixture_teardown);
  g_test_add ("/filer/gui/window/drop-on-tile", Fixture, NULL,
              fixture_setup, test_drop_on_tile, fixture_teardown);
  g_test_add ("/filer/gui/window/pending-files", Fixture, NULL,
              fixture_setup, test_pending_files, fixture_teardown);
  g_test_add ("/filer/gui/window/tile-activity", Fixture, NULL,
              fixture_setup, test_tile_activity_and_label, fixture_teardown);
  g_test_add ("/filer/gui/window/transfer-row", Fixture, NULL,
              fixture_setup, test_transfer_row, fixture_teardown);
  g_test_add ("/filer/gui/window/path-shown", Fixture, NULL,
              fixture_setup, test_path_shown, fixture_teardown);
  g_test_add ("/filer/gui/window/tile-verify", Fixture, NULL,
              fixture_setup, test_tile_verify, fixture_teardown);
  g_test_add ("/filer/gui/window/tile-verify-differ", Fixture, NULL,
              fixture_setup, test_tile_verify_differ, fixture_teardown);
  g_test_add ("/filer/gui/window/tile-key-changed", Fixture, NULL,
              fixture_setup, test_tile_key_changed, fixture_teardown);
  g_test_add_func ("/filer/gui/offer-dialog", test_offer_dialog);
  g_test_add_func ("/filer/gui/offer-dialog-trust", test_offer_dialog_trust);
  g_test_add_func ("/filer/gui/trust-migrate", test_trust_migrate);
  g_test_add_func ("/filer/gui/preferences", test_preferences_write_settings);
  g_test_add_func ("/filer/gui/format", test_format);

  return g_test_run ();
}
