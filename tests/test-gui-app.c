/* test-gui-app.c: the whole app against a real filer-server process and
 * real core peers in this process: tiles, drop to send, offers, rows
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <string.h>

#include "filer-application.h"
#include "libfiler.h"
#include "filer-gui-test-util.h"
#include "filer-offer-dialog.h"
#include "filer-peer-tile.h"
#include "filer-test-util.h"
#include "filer-transfer-row.h"
#include "filer-trust-store.h"
#include "filer-verify-dialog.h"

#define APP_NAME "Filer Under Test"
#define TIMEOUT_MS 20000

/* A device that is not the app: discovery client plus transfer service,
 * the same core objects filer-cli uses. */
typedef struct
{
  FilerDevice          *device;
  FilerDiscoveryClient *client;
  FilerTransferService *service;
  char                 *download_dir;
} Peer;

typedef struct
{
  FilerTestServer  *server;
  FilerApplication *app;
  FilerWindow      *window;
  GSettings        *settings;
  char             *download_dir;
  char             *tmp_dir;
  Peer             *alice;
  Peer             *bob;
} Fixture;

/* @local_address: where the peer connects from (each 127.x.y.z is its
 * own network to a server run with --loopback-is-public); @room may be
 * NULL; an unreachable peer announces a transfer port that is closed. */
/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static guint
closed_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static Peer *
peer_new_full (Fixture    *fixture,
               const char *name,
               const char *local_address,
               const char *room,
               gboolean    reachable)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autoptr(GError) error = NULL;

  peer->download_dir = g_build_filename (fixture->tmp_dir, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (peer->download_dir, 0700), ==, 0);

  peer->device = filer_device_new_ephemeral (name, "desktop");
  peer->service = filer_transfer_service_new (filer_device_get_identity (peer->device), name,
                                              peer->download_dir);
  filer_transfer_service_listen (peer->service, "127.0.0.1", 0, &error);
  g_assert_no_error (error);

  peer->client = filer_discovery_client_new (peer->device);
  filer_discovery_client_set_server (peer->client, filer_test_server_get_address (fixture->server));
  filer_discovery_client_set_local_address (peer->client, local_address);
  filer_discovery_client_set_room (peer->client, room);
  filer_discovery_client_set_transfer_port (peer->client,
                                            reachable ? filer_transfer_service_get_port (peer->service)
                                                      : closed_port ());
  filer_discovery_client_start (peer->client);

  return peer;
}

static Peer *
peer_new (Fixture    *fixture,
          const char *name)
{
  return peer_new_full (fixture, name, "127.0.0.1", NULL, TRUE);
}

static gboolean
peer_online (gpointer data)
{
  Peer *peer = data;

  return filer_discovery_client_get_state (peer->client) == FILER_DISCOVERY_STATE_ONLINE;
}

static void
peer_free (Peer *peer)
{
  if (peer == NULL)
    return;

  filer_discovery_client_stop (peer->client);
  g_clear_object (&peer->client);
  g_clear_object (&peer->service);
  g_clear_object (&peer->device);
  g_free (peer->download_dir);
  g_free (peer);
}

static gboolean
app_online (gpointer data)
{
  Fixture *fixture = data;
  FilerSession *session = filer_application_get_session (fixture->app);

  return filer_discovery_client_get_state (filer_session_get_client (session)) ==
         FILER_DISCOVERY_STATE_ONLINE;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  const char * const *server_args = data;
  g_autoptr(GError) error = NULL;
  FilerSession *session;

  fixture->server = filer_test_server_start (server_args);
  fixture->tmp_dir = g_dir_make_tmp ("filer-gui-app-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->download_dir = g_build_filename (fixture->tmp_dir, "app-downloads", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->download_dir, 0700), ==, 0);

  /* The app reads these through GSettings (memory backend), as if the
   * user had set them in Preferences. */
  fixture->settings = g_settings_new (APP_ID);
  g_settings_set_string (fixture->settings, "device-name", APP_NAME);
  g_settings_set_string (fixture->settings, "download-folder", fixture->download_dir);
  g_settings_set_boolean (fixture->settings, "server-automatic", FALSE);
  g_settings_set_string (fixture->settings, "server-address",
                         filer_test_server_get_address (fixture->server));
  g_settings_reset (fixture->settings, "trusted-devices");
  g_settings_reset (fixture->settings, "verified-devices");
  g_settings_reset (fixture->settings, "auto-accept-trusted");
  g_settings_reset (fixture->settings, "room-code");

  fixture->app = filer_application_new (G_APPLICATION_NON_UNIQUE);
  /* One D-Bus object path per test case: the previous app may still be
   * exported while GTK lets go of it. */
  {
    static guint n = 0;
    g_autofree char *id = g_strdup_printf ("%s.Test%u", APP_ID, ++n);

    g_application_set_application_id (G_APPLICATION (fixture->app), id);
  }
  g_application_register (G_APPLICATION (fixture->app), NULL, &error);
  g_assert_no_error (error);

  /* Loopback only: never an address of a real interface. */
  session = filer_application_get_session (fixture->app);
  filer_session_set_local_address (session, "127.0.0.1");
  g_assert_false (filer_session_get_hosting (session));

  g_application_activate (G_APPLICATION (fixture->app));
  fixture->window = filer_application_get_window (fixture->app);
  g_assert_nonnull (fixture->window);
  filer_test_wait_until (app_online, fixture, TIMEOUT_MS, "the app to be online");
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (fixture->app));

  peer_free (fixture->alice);
  peer_free (fixture->bob);

  while (windows != NULL)
    {
      gtk_window_destroy (windows->data);
      windows = gtk_application_get_windows (GTK_APPLICATION (fixture->app));
    }
  filer_session_stop (filer_application_get_session (fixture->app));
  filer_test_spin (50);
  g_clear_object (&fixture->app);
  g_clear_object (&fixture->settings);
  g_clear_pointer (&fixture->server, filer_test_server_stop);
  g_free (fixture->download_dir);
  g_free (fixture->tmp_dir);
}

/* --- a notification server --------------------------------------------
 * The offer also goes out as a GNotification when the window is not
 * active (under Xvfb, with no window manager, it never is). GLib sends
 * it to org.freedesktop.Notifications; this stands in for the desktop's
 * server and records what it was asked to show. */

static const char notifications_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.Notifications'>"
  "    <method name='Notify'>"
  "      <arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='as' direction='in'/>"
  "      <arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
  "      <arg type='u' direction='out'/>"
  "    </method>"
  "    <method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "    <method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "    <method name='GetServerInformation'>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "    </method>"
  "    <signal name='ActionInvoked'><arg type='u'/><arg type='s'/></signal>"
  "    <signal name='NotificationClosed'><arg type='u'/><arg type='u'/></signal>"
  "  </interface>"
  "</node>";

typedef struct
{
  guint  next_id;
  char  *summary;
  char  *body;
  char **actions;
  guint  n_closed;
} Notifications;

static Notifications notifications;

static void
notifications_method_cb (GDBusConnection       *connection,
                         const char            *sender,
                         const char            *object_path,
                         const char            *interface_name,
                         const char            *method_name,
                         GVariant              *parameters,
                         GDBusMethodInvocation *invocation,
                         gpointer               user_data)
{
  if (g_str_equal (method_name, "Notify"))
    {
      g_clear_pointer (&notifications.summary, g_free);
      g_clear_pointer (&notifications.body, g_free);
      g_clear_pointer (&notifications.actions, g_strfreev);
      g_variant_get (parameters, "(&su&sss^as@a{sv}i)", NULL, NULL, NULL,
                     &notifications.summary, &notifications.body, &notifications.actions,
                     NULL, NULL);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", ++notifications.next_id));
    }
  else if (g_str_equal (method_name, "CloseNotification"))
    {
      notifications.n_closed++;
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method_name, "GetCapabilities"))
    {
      const char *caps[] = { "actions", "body", NULL };

      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", caps));
    }
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "test", "filer", "1", "1.2"));
}

static void
start_notification_server (void)
{
  static const GDBusInterfaceVTable vtable = { notifications_method_cb, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notifications_xml, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  GDBusConnection *bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);

  g_assert_no_error (error);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications",
                                     info->interfaces[0], &vtable, NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.Notifications", 4),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, &error);
  g_assert_no_error (error);
}

/* --- helpers ---------------------------------------------------------- */

typedef struct
{
  Fixture    *fixture;
  const char *names;
} TilesWanted;

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *)a, *(const char * const *)b);
}

/* The names on the tiles the grid shows now, sorted, comma-separated. */
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

      label = filer_gui_test_find_label (g_ptr_array_index (tiles, i), filer_peer_get_name (peer));
      g_ptr_array_add (names, label ? (char *)gtk_label_get_text (GTK_LABEL (label)) : "(no label)");
    }

  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **)names->pdata);
}

static gboolean
tiles_are (gpointer data)
{
  TilesWanted *wanted = data;
  g_autofree char *names = tile_names (wanted->fixture->window);

  return g_strcmp0 (names, wanted->names) == 0;
}

static void
wait_for_tiles (Fixture    *fixture,
                const char *names)
{
  TilesWanted wanted = { fixture, names };
  g_autofree char *what = g_strdup_printf ("tiles “%s”", names);

  filer_test_wait_until (tiles_are, &wanted, TIMEOUT_MS, what);
}

static void
assert_tiles (Fixture    *fixture,
              const char *names)
{
  g_autofree char *shown = tile_names (fixture->window);

  g_assert_cmpstr (shown, ==, names);
}

static FilerPeerTile *
tile_named (FilerWindow *window,
            const char  *name)
{
  g_autoptr(GPtrArray) tiles = filer_gui_test_find_all (GTK_WIDGET (window), FILER_TYPE_PEER_TILE);

  for (guint i = 0; i < tiles->len; i++)
    {
      FilerPeer *peer = filer_peer_tile_get_peer (g_ptr_array_index (tiles, i));

      if (peer != NULL && g_strcmp0 (filer_peer_get_name (peer), name) == 0)
        return g_ptr_array_index (tiles, i);
    }

  return NULL;
}

static GBytes *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = g_random_int_range (0, 256);

  return g_bytes_new_take (data, size);
}

static char *
write_temp_file (Fixture    *fixture,
                 const char *name,
                 GBytes     *contents)
{
  g_autofree char *dir = g_build_filename (fixture->tmp_dir, "outbox", NULL);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, g_bytes_get_data (contents, NULL), g_bytes_get_size (contents), &error);
  g_assert_no_error (error);
  return path;
}

typedef struct
{
  GListModel         *transfers;
  FilerTransferState  state;
} StateWanted;

static gboolean
has_transfer_in_state (gpointer data)
{
  StateWanted *wanted = data;
  guint n = g_list_model_get_n_items (wanted->transfers);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (wanted->transfers, i);

      if (filer_transfer_get_state (transfer) == wanted->state)
        return TRUE;
    }

  return FALSE;
}

static void
wait_for_transfer_state (GListModel         *transfers,
                         FilerTransferState  state,
                         const char         *what)
{
  StateWanted wanted = { transfers, state };

  filer_test_wait_until (has_transfer_in_state, &wanted, TIMEOUT_MS, what);
}

static void
assert_file_equals (const char *path,
                    GBytes     *expected)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (contents, length, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

/* The window's row for the newest transfer: its progress and words. */
static FilerTransferRow *
last_row (FilerWindow *window)
{
  g_autoptr(GPtrArray) rows = filer_gui_test_find_all (GTK_WIDGET (window), FILER_TYPE_TRANSFER_ROW);

  return rows->len > 0 ? g_ptr_array_index (rows, rows->len - 1) : NULL;
}

static gboolean
row_completed (gpointer data)
{
  FilerWindow *window = data;
  FilerTransferRow *row = last_row (window);
  GtkProgressBar *bar;

  if (row == NULL)
    return FALSE;

  bar = GTK_PROGRESS_BAR (filer_gui_test_find (GTK_WIDGET (row), GTK_TYPE_PROGRESS_BAR));
  return gtk_progress_bar_get_fraction (bar) == 1.0 &&
         filer_transfer_get_state (filer_transfer_row_get_transfer (row)) == FILER_TRANSFER_STATE_COMPLETED;
}

static const char *
row_status (FilerTransferRow *row)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (GTK_WIDGET (row), GTK_TYPE_LABEL);

  /* title, file, status: the status is the one with .caption */
  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (labels, i), "caption"))
      return gtk_label_get_text (g_ptr_array_index (labels, i));

  return NULL;
}

/* --- tests -------------------------------------------------------------- */

static void
test_one_tile_per_peer (Fixture       *fixture,
                        gconstpointer  data)
{
  fixture->alice = peer_new (fixture, "Alice");
  fixture->bob = peer_new (fixture, "Bob");

  /* Exactly one tile per online peer, the app itself not among them. */
  wait_for_tiles (fixture, "Alice,Bob");

  /* A peer that quits loses its tile. */
  g_clear_pointer (&fixture->bob, peer_free);
  wait_for_tiles (fixture, "Alice");
}

static void
test_drop_sends (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (300 * 1024 + 17);
  g_autofree char *path = write_temp_file (fixture, "dropped.bin", contents);
  g_autofree char *received = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GSList *files = NULL;
  GValue value = G_VALUE_INIT;
  gboolean handled = FALSE;
  FilerPeerTile *tile;
  FilerTransferRow *row;

  fixture->alice = peer_new (fixture, "Alice");
  filer_transfer_service_set_accept_all (fixture->alice->service, TRUE);
  wait_for_tiles (fixture, "Alice");

  /* What GTK does when a file manager drops a file on the tile. */
  tile = tile_named (fixture->window, "Alice");
  files = g_slist_append (files, file);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free (files);
  g_signal_emit_by_name (filer_peer_tile_get_drop_target (tile), "drop", &value, 5.0, 5.0, &handled);
  g_value_unset (&value);
  g_assert_true (handled);

  /* Alice has it, verified, with the same bytes. */
  wait_for_transfer_state (filer_transfer_service_get_transfers (fixture->alice->service),
                           FILER_TRANSFER_STATE_COMPLETED, "Alice to receive the dropped file");
  received = g_build_filename (fixture->alice->download_dir, "dropped.bin", NULL);
  assert_file_equals (received, contents);

  /* And the app's row shows 100 % and the completed state. */
  filer_test_wait_until (row_completed, fixture->window, TIMEOUT_MS, "the row to complete");
  row = last_row (fixture->window);
  g_assert_true (g_str_has_prefix (row_status (row), "Sent "));
  g_assert_false (gtk_widget_get_visible (filer_gui_test_find (GTK_WIDGET (row), GTK_TYPE_BUTTON)) &&
                  filer_transfer_is_finished (filer_transfer_row_get_transfer (row)) == FALSE);
}

static gboolean
find_offer_dialog (gpointer data)
{
  FilerOfferDialog **dialog = data;
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (FILER_IS_OFFER_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        {
          *dialog = FILER_OFFER_DIALOG (window);
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
notification_arrived (gpointer data)
{
  return notifications.summary != NULL;
}

static gboolean
notification_closed (gpointer data)
{
  return notifications.n_closed >= 1;
}

static FilerPeer *
app_as_seen_by (Peer *peer)
{
  GListModel *peers = filer_discovery_client_get_peers (peer->client);
  guint n = g_list_model_get_n_items (peers);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerPeer) item = g_list_model_get_item (peers, i);

      if (g_strcmp0 (filer_peer_get_name (item), APP_NAME) == 0)
        return item;
    }

  return NULL;
}

static gboolean
alice_sees_app (gpointer data)
{
  return app_as_seen_by (data) != NULL;
}

/* Alice is online and sees the app. */
static void
alice_joins (Fixture *fixture)
{
  if (fixture->alice == NULL)
    fixture->alice = peer_new (fixture, "Alice");
  filer_test_wait_until (alice_sees_app, fixture->alice, TIMEOUT_MS, "Alice to see the app");
}

/* Alice sends one file to the app; returns the transfer on her side. */
static FilerTransfer *
alice_offers (Fixture    *fixture,
              const char *path)
{
  const char *paths[] = { path, NULL };
  FilerPeer *seen;
  g_autoptr(FilerPeer) target = NULL;
  const char *addresses[] = { NULL, NULL };

  alice_joins (fixture);

  /* Alice reaches the app at the address the server saw (loopback):
   * the addresses it announces are the machine's interfaces, which the
   * app, on 127.0.0.1 only in tests, does not listen on. */
  seen = app_as_seen_by (fixture->alice);
  addresses[0] = filer_peer_get_public_address (seen);
  g_assert_cmpstr (addresses[0], ==, "127.0.0.1");
  target = filer_peer_new (filer_peer_get_id (seen));
  filer_peer_set_name (target, filer_peer_get_name (seen));
  filer_peer_set_addresses (target, addresses);
  filer_peer_set_port (target, filer_peer_get_port (seen));

  return filer_transfer_service_send (fixture->alice->service, target, paths);
}

static void
test_offer_from_notification (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (54321);
  g_autofree char *path = write_temp_file (fixture, "via-notification.bin", contents);
  g_autofree char *received = g_build_filename (fixture->download_dir, "via-notification.bin", NULL);
  g_autofree char *action_name = NULL;
  g_autoptr(GVariant) target = NULL;
  g_autoptr(GError) error = NULL;
  FilerOfferDialog *dialog = NULL;
  const char *accept = NULL;

  g_clear_pointer (&notifications.summary, g_free);
  notifications.n_closed = 0;

  /* Nobody is looking at the window. */
  gtk_widget_set_visible (GTK_WIDGET (fixture->window), FALSE);
  g_assert_nonnull (alice_offers (fixture, path));

  filer_test_wait_until (notification_arrived, NULL, TIMEOUT_MS, "the notification");
  g_assert_cmpstr (notifications.summary, ==, "Alice wants to send you files");
  g_assert_true (g_str_has_prefix (notifications.body, "1 file ("));
  /* Accept there skips the dialog: the body says what it would. */
  {
    g_autofree char *code = filer_identity_verification_code_for_ids (
      filer_device_get_id (filer_session_get_device (filer_application_get_session (fixture->app))),
      filer_device_get_id (fixture->alice->device));
    g_autofree char *line = g_strdup_printf ("\nNot verified — code %s", code);

    g_assert_true (g_str_has_suffix (notifications.body, line));
  }

  /* Its buttons are app actions with the transfer id as target
   * (actions come as pairs: detailed action name, label). */
  for (guint i = 0; notifications.actions[i] != NULL && notifications.actions[i + 1] != NULL; i += 2)
    if (g_str_equal (notifications.actions[i + 1], "Accept"))
      accept = notifications.actions[i];
  g_assert_nonnull (accept);
  g_action_parse_detailed_name (accept, &action_name, &target, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (action_name, ==, "app.accept-offer");

  /* What the desktop does when the button is clicked. */
  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "accept-offer", target);

  wait_for_transfer_state (filer_session_get_transfers (filer_application_get_session (fixture->app)),
                           FILER_TRANSFER_STATE_COMPLETED, "the file accepted from the notification");
  assert_file_equals (received, contents);

  /* The dialog asked the same question: it went away, answered; and
   * the notification was withdrawn (a D-Bus call: it takes a moment). */
  filer_test_wait_until (notification_closed, NULL, TIMEOUT_MS, "the notification to be withdrawn");
  g_assert_false (find_offer_dialog (&dialog));
}

static void
offer_and_answer (Fixture    *fixture,
                  const char *response)
{
  g_autoptr(GBytes) contents = random_bytes (123457);
  g_autofree char *path = write_temp_file (fixture, "from-alice.bin", contents);
  g_autofree char *received = NULL;
  FilerOfferDialog *dialog = NULL;

  g_assert_nonnull (alice_offers (fixture, path));

  filer_test_wait_until (find_offer_dialog, &dialog, TIMEOUT_MS, "the offer dialog");

  g_assert_true (g_str_has_prefix (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)),
                                   "Alice wants to send you 1 file ("));
  g_assert_cmpstr (filer_offer_dialog_get_files_text (dialog), ==, "from-alice.bin");

  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), response);

  received = g_build_filename (fixture->download_dir, "from-alice.bin", NULL);
  if (g_str_equal (response, "accept"))
    {
      FilerTransferRow *row;

      wait_for_transfer_state (filer_session_get_transfers (filer_application_get_session (fixture->app)),
                               FILER_TRANSFER_STATE_COMPLETED, "the app to receive Alice’s file");
      assert_file_equals (received, contents);

      filer_test_wait_until (row_completed, fixture->window, TIMEOUT_MS, "the row to complete");
      row = last_row (fixture->window);
      g_assert_true (g_str_has_prefix (row_status (row), "Received and verified "));
    }
  else
    {
      wait_for_transfer_state (filer_transfer_service_get_transfers (fixture->alice->service),
                               FILER_TRANSFER_STATE_DECLINED, "Alice to hear “declined”");
      g_assert_false (g_file_test (received, G_FILE_TEST_EXISTS));
      g_assert_true (g_dir_open (fixture->download_dir, 0, NULL) != NULL);
      {
        GDir *dir = g_dir_open (fixture->download_dir, 0, NULL);

        g_assert_null (g_dir_read_name (dir));
        g_dir_close (dir);
      }
    }
}

static void
test_offer_accept (Fixture       *fixture,
                   gconstpointer  data)
{
  offer_and_answer (fixture, "accept");
}

static void
test_offer_decline (Fixture       *fixture,
                    gconstpointer  data)
{
  offer_and_answer (fixture, "decline");
}

static void
test_settings_reach_session (Fixture       *fixture,
                             gconstpointer  data)
{
  FilerSession *session = filer_application_get_session (fixture->app);
  FilerDevice *device = filer_session_get_device (session);

  /* A room code in its canonical form; one too short to be safe (as an
   * older Filer or a hand edit may have stored) joins no room. */
  g_settings_set_string (fixture->settings, "room-code", "green otter");
  g_assert_cmpstr (filer_session_get_room (session), ==, "GREE-N0TT-ER");
  g_settings_set_string (fixture->settings, "room-code", "blue");
  g_assert_null (filer_session_get_room (session));

  g_settings_set_string (fixture->settings, "device-name", "Renamed Box");
  g_assert_cmpstr (filer_device_get_name (device), ==, "Renamed Box");

  g_settings_set_boolean (fixture->settings, "allow-hosting", FALSE);
  g_assert_false (filer_session_get_allow_hosting (session));
}

static void
test_shortcuts (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(GStrv) quit = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture->app), "app.quit");
  g_auto(GStrv) prefs = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture->app), "app.preferences");
  g_auto(GStrv) about = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture->app), "app.about");

  g_assert_cmpstr (quit[0], ==, "<Control>q");
  g_assert_cmpstr (prefs[0], ==, "<Control>comma");
  g_assert_cmpstr (about[0], ==, "F1");

  /* The actions do what they say: preferences and about open windows. */
  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "preferences", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "about", NULL);
  filer_test_spin (100);
  {
    g_autoptr(GPtrArray) found = g_ptr_array_new ();
    GList *windows = gtk_application_get_windows (GTK_APPLICATION (fixture->app));

    for (const GList *l = windows; l != NULL; l = l->next)
      if (ADW_IS_PREFERENCES_WINDOW (l->data) || ADW_IS_ABOUT_WINDOW (l->data))
        g_ptr_array_add (found, l->data);
    g_assert_cmpuint (found->len, ==, 2);
  }
}

static const char *
visible_page (FilerWindow *window)
{
  AdwViewStack *stack = ADW_VIEW_STACK (filer_gui_test_find (GTK_WIDGET (window), ADW_TYPE_VIEW_STACK));

  return adw_view_stack_get_visible_child_name (stack);
}

/* What GtkApplication does with a key press that matches @accel: the
 * actions it maps to, activated in the focused window. */
static void
press_accel (Fixture    *fixture,
             const char *accel)
{
  g_auto(GStrv) actions = gtk_application_get_actions_for_accel (GTK_APPLICATION (fixture->app), accel);

  g_assert_cmpuint (g_strv_length (actions), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), actions[0], NULL));
  filer_gui_test_settle (100);
}

/* The shortcuts window lists every shortcut with its keys, the keys are
 * the ones the app binds to that action, and pressing them does what
 * the window says. */
static void
test_shortcuts_window (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) shortcuts = NULL;
  g_autoptr(GString) listed = g_string_new (NULL);
  GtkWindow *overlay;

  overlay = GTK_WINDOW (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (fixture->window)));
  g_assert_nonnull (overlay);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (overlay)));

  shortcuts = filer_gui_test_find_all (GTK_WIDGET (overlay), GTK_TYPE_SHORTCUTS_SHORTCUT);
  for (guint i = 0; i < shortcuts->len; i++)
    {
      g_autofree char *title = NULL;
      g_autofree char *accelerator = NULL;
      g_autofree char *action_name = NULL;

      /* The window also keeps copies of each for its search page. */
      if (gtk_widget_get_ancestor (g_ptr_array_index (shortcuts, i), GTK_TYPE_SHORTCUTS_SECTION) == NULL)
        continue;

      g_object_get (g_ptr_array_index (shortcuts, i),
                    "title", &title,
                    "accelerator", &accelerator,
                    "action-name", &action_name,
                    NULL);
      g_string_append_printf (listed, "%s=%s;", title, accelerator ? accelerator : "");

      /* The keys shown are the keys that run the action. */
      if (action_name != NULL)
        {
          g_auto(GStrv) actions = gtk_application_get_actions_for_accel (GTK_APPLICATION (fixture->app),
                                                                        accelerator);

          g_assert_true (g_strv_contains ((const char * const *)actions, action_name));
        }
    }
  g_assert_cmpstr (listed->str, ==,
                   "Preferences=<Control>comma;"
                   "Keyboard Shortcuts=<Control>question;"
                   "About Filer=F1;"
                   "Quit=<Control>q;"
                   "Choose files to send to the focused device=Return;"
                   "Show devices=<Alt>1;"
                   "Show transfers=<Alt>2;");

  g_assert_cmpstr (visible_page (fixture->window), ==, "devices");
  press_accel (fixture, "<Alt>2");
  g_assert_cmpstr (visible_page (fixture->window), ==, "transfers");
  press_accel (fixture, "<Alt>1");
  g_assert_cmpstr (visible_page (fixture->window), ==, "devices");

  press_accel (fixture, "<Control>question");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));
  filer_gui_test_settle (300);
  filer_gui_test_save_screenshot (GTK_WIDGET (overlay), NULL, "shortcuts");
  gtk_widget_set_visible (GTK_WIDGET (overlay), FALSE);
}

/* --- trusted devices ------------------------------------------------ */

static guint
count_finished (GListModel *transfers)
{
  guint n = g_list_model_get_n_items (transfers);
  guint finished = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (transfers, i);

      finished += filer_transfer_is_finished (transfer);
    }

  return finished;
}

typedef struct
{
  GListModel *transfers;
  guint       n;
} FinishedWanted;

static gboolean
n_finished (gpointer data)
{
  FinishedWanted *wanted = data;

  return count_finished (wanted->transfers) == wanted->n;
}


static void
toplevels_changed_cb (GListModel *toplevels,
                      guint       position,
                      guint       removed,
                      guint       added,
                      gpointer    user_data)
{
  guint *n_offer_dialogs = user_data;

  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (FILER_IS_OFFER_DIALOG (window))
        (*n_offer_dialogs)++;
    }
}

static void
trust_alice (Fixture  *fixture,
             gboolean  listed,
             gboolean  auto_accept)
{
  const char *trusted[] = { "a-device-that-is-not-alice", NULL, NULL };

  if (listed)
    trusted[1] = filer_device_get_id (fixture->alice->device);
  g_settings_set_strv (fixture->settings, "trusted-devices", trusted);
  /* Listed is not enough any more: trusted means verified (codes
   * compared), which is what the trust store keeps. */
  if (listed)
    g_assert_true (filer_trust_store_trust (filer_application_get_trust_store (fixture->app),
                                            filer_device_get_id (fixture->alice->device),
                                            "Alice"));
  g_settings_set_boolean (fixture->settings, "auto-accept-trusted", auto_accept);
}

/* Alice is in trusted-devices and auto-accept-trusted is on: her file
 * arrives and nobody is asked, neither by dialog nor notification. */
static void
test_trusted_auto_accept (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (77777);
  g_autofree char *path = write_temp_file (fixture, "from-trusted.bin", contents);
  g_autofree char *received = g_build_filename (fixture->download_dir, "from-trusted.bin", NULL);
  GListModel *toplevels = gtk_window_get_toplevels ();
  FilerOfferDialog *dialog = NULL;
  guint n_offer_dialogs = 0;
  gulong handler;

  alice_joins (fixture);
  trust_alice (fixture, TRUE, TRUE);
  g_clear_pointer (&notifications.summary, g_free);

  handler = g_signal_connect (toplevels, "items-changed", G_CALLBACK (toplevels_changed_cb),
                              &n_offer_dialogs);
  g_assert_nonnull (alice_offers (fixture, path));
  wait_for_transfer_state (filer_session_get_transfers (filer_application_get_session (fixture->app)),
                           FILER_TRANSFER_STATE_COMPLETED, "the trusted file to arrive");
  assert_file_equals (received, contents);
  filer_test_spin (200);
  g_signal_handler_disconnect (toplevels, handler);

  g_assert_cmpuint (n_offer_dialogs, ==, 0);
  g_assert_false (find_offer_dialog (&dialog));
  g_assert_null (notifications.summary);
}

/* Not trusted (@listed FALSE) or trusted with the key off: the app asks,
 * and nothing is written until the user accepts. */
static void
offer_waits_for_answer (Fixture  *fixture,
                        gboolean  listed,
                        gboolean  auto_accept)
{
  g_autoptr(GBytes) contents = random_bytes (65432);
  g_autofree char *path = write_temp_file (fixture, "asked-for.bin", contents);
  g_autofree char *received = g_build_filename (fixture->download_dir, "asked-for.bin", NULL);
  GListModel *transfers = filer_session_get_transfers (filer_application_get_session (fixture->app));
  StateWanted waiting = { transfers, FILER_TRANSFER_STATE_WAITING_FOR_ANSWER };
  FilerOfferDialog *dialog = NULL;
  GDir *dir;

  alice_joins (fixture);
  trust_alice (fixture, listed, auto_accept);

  g_assert_nonnull (alice_offers (fixture, path));
  filer_test_wait_until (find_offer_dialog, &dialog, TIMEOUT_MS, "the offer dialog");

  /* Asked, and nothing happens while the question stands. */
  filer_test_spin (500);
  g_assert_true (has_transfer_in_state (&waiting));
  dir = g_dir_open (fixture->download_dir, 0, NULL);
  g_assert_null (g_dir_read_name (dir));
  g_dir_close (dir);

  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "accept");
  wait_for_transfer_state (transfers, FILER_TRANSFER_STATE_COMPLETED, "the file accepted in the dialog");
  assert_file_equals (received, contents);
}

/* "Always accept from this device" in the dialog: Alice becomes trusted,
 * and her next offer arrives without a question. */
static void
test_always_accept (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GBytes) first = random_bytes (3333);
  g_autoptr(GBytes) second = random_bytes (4444);
  g_autofree char *first_path = write_temp_file (fixture, "first.bin", first);
  g_autofree char *second_path = write_temp_file (fixture, "second.bin", second);
  g_autofree char *second_received = g_build_filename (fixture->download_dir, "second.bin", NULL);
  GListModel *transfers = filer_session_get_transfers (filer_application_get_session (fixture->app));
  GListModel *toplevels = gtk_window_get_toplevels ();
  FinishedWanted both = { transfers, 2 };
  g_auto(GStrv) trusted = NULL;
  FilerOfferDialog *dialog = NULL;
  guint n_offer_dialogs = 0;
  gulong handler;

  g_assert_nonnull (alice_offers (fixture, first_path));
  filer_test_wait_until (find_offer_dialog, &dialog, TIMEOUT_MS, "the offer dialog");
  gtk_check_button_set_active (GTK_CHECK_BUTTON (filer_gui_test_find (GTK_WIDGET (dialog),
                                                                      GTK_TYPE_CHECK_BUTTON)),
                               TRUE);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "accept");
  wait_for_transfer_state (transfers, FILER_TRANSFER_STATE_COMPLETED, "the first file");

  trusted = g_settings_get_strv (fixture->settings, "trusted-devices");
  g_assert_true (g_strv_contains ((const char * const *)trusted,
                                  filer_device_get_id (fixture->alice->device)));
  g_assert_true (g_settings_get_boolean (fixture->settings, "auto-accept-trusted"));

  handler = g_signal_connect (toplevels, "items-changed", G_CALLBACK (toplevels_changed_cb),
                              &n_offer_dialogs);
  g_assert_nonnull (alice_offers (fixture, second_path));
  filer_test_wait_until (n_finished, &both, TIMEOUT_MS, "the second file, unasked");
  g_signal_handler_disconnect (toplevels, handler);
  g_assert_cmpuint (n_offer_dialogs, ==, 0);
  assert_file_equals (second_received, second);
}

static void
test_untrusted_asks (Fixture       *fixture,
                     gconstpointer  data)
{
  offer_waits_for_answer (fixture, FALSE, TRUE);
}

static void
test_trust_off_asks (Fixture       *fixture,
                     gconstpointer  data)
{
  offer_waits_for_answer (fixture, TRUE, FALSE);
}


/* --- verification: codes, verified, key changed ------------------------ */

/* The trust line of a tile or row (what is drawn, a label a screen
 * reader reads), or NULL. */
static const char *
trust_shown (GtkWidget *widget)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (widget, GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (labels, i), "trust-label") &&
        gtk_widget_get_visible (g_ptr_array_index (labels, i)))
      return gtk_label_get_text (g_ptr_array_index (labels, i));

  return NULL;
}

static const char *
code_shown (GtkWidget *dialog)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (dialog, GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (labels, i), "verification-code") &&
        gtk_widget_get_visible (g_ptr_array_index (labels, i)))
      return gtk_label_get_text (g_ptr_array_index (labels, i));

  return NULL;
}

typedef struct
{
  Fixture    *fixture;
  const char *name;
  const char *text;
} TrustWanted;

static gboolean
tile_says (gpointer data)
{
  TrustWanted *wanted = data;
  FilerPeerTile *tile = tile_named (wanted->fixture->window, wanted->name);

  return tile != NULL && g_strcmp0 (trust_shown (GTK_WIDGET (tile)), wanted->text) == 0;
}

static gboolean
find_verify_dialog (gpointer data)
{
  GtkWidget **dialog = data;
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (FILER_IS_VERIFY_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        {
          *dialog = GTK_WIDGET (window);
          return TRUE;
        }
    }

  return FALSE;
}

static const char *
app_id_of (Fixture *fixture)
{
  return filer_device_get_id (filer_session_get_device (filer_application_get_session (fixture->app)));
}

/* First contact: Alice is not verified, on her tile and in the offer
 * dialog, which shows the code both ends compute alike. Verify… on her
 * tile and "Codes Match — Trust": the tile and her rows say verified,
 * and her next offer is accepted without asking. */
static void
test_verify_then_auto_accept (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GBytes) first = random_bytes (2222);
  g_autoptr(GBytes) second = random_bytes (5555);
  g_autofree char *first_path = write_temp_file (fixture, "before-verify.bin", first);
  g_autofree char *second_path = write_temp_file (fixture, "after-verify.bin", second);
  g_autofree char *second_received = g_build_filename (fixture->download_dir, "after-verify.bin", NULL);
  GListModel *transfers = filer_session_get_transfers (filer_application_get_session (fixture->app));
  GListModel *toplevels = gtk_window_get_toplevels ();
  FinishedWanted both = { transfers, 2 };
  TrustWanted not_verified = { fixture, "Alice", "Not verified" };
  TrustWanted verified = { fixture, "Alice", "Verified" };
  FilerOfferDialog *dialog = NULL;
  GtkWidget *verify = NULL;
  g_autofree char *ours = NULL;
  g_autofree char *theirs = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  guint n_offer_dialogs = 0;
  gulong handler;

  g_settings_set_boolean (fixture->settings, "auto-accept-trusted", TRUE);
  alice_joins (fixture);
  filer_test_wait_until (tile_says, &not_verified, TIMEOUT_MS, "Alice's tile to say not verified");

  ours = filer_identity_verification_code_for_ids (app_id_of (fixture),
                                                   filer_device_get_id (fixture->alice->device));
  theirs = filer_identity_verification_code_for_ids (filer_device_get_id (fixture->alice->device),
                                                     app_id_of (fixture));
  g_assert_nonnull (ours);
  g_assert_cmpstr (ours, ==, theirs);

  /* Not verified: asked, with the code, although auto-accept is on. */
  g_assert_nonnull (alice_offers (fixture, first_path));
  filer_test_wait_until (find_offer_dialog, &dialog, TIMEOUT_MS, "the offer dialog");
  g_assert_cmpint (filer_offer_dialog_get_trust (dialog), ==, FILER_TRUST_UNVERIFIED);
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (dialog), "Not verified"));
  g_assert_cmpstr (code_shown (GTK_WIDGET (dialog)), ==, ours);
  filer_gui_test_settle (200);
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), GTK_WIDGET (dialog), "app-offer-not-verified");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "accept");
  wait_for_transfer_state (transfers, FILER_TRANSFER_STATE_COMPLETED, "the first file");
  filer_gui_test_settle (100);
  g_assert_cmpstr (trust_shown (GTK_WIDGET (last_row (fixture->window))), ==, "Not verified");

  /* Verify… from the tile's menu. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (tile_named (fixture->window, "Alice")),
                                             "tile.verify", NULL));
  filer_test_wait_until (find_verify_dialog, &verify, TIMEOUT_MS, "the Verify dialog");
  g_assert_cmpstr (code_shown (verify), ==, ours);
  filer_gui_test_settle (200);
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), verify, "app-verify-dialog");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (verify), "trust");
  filer_test_wait_until (tile_says, &verified, TIMEOUT_MS, "Alice's tile to say verified");
  g_assert_true (filer_trust_store_is_verified (filer_application_get_trust_store (fixture->app),
                                                filer_device_get_id (fixture->alice->device)));
  rows = filer_gui_test_find_all (GTK_WIDGET (fixture->window), FILER_TYPE_TRANSFER_ROW);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (trust_shown (g_ptr_array_index (rows, 0)), ==, "Verified");
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "app-tile-verified");

  /* Verified and trusted: accepted, nobody asked. */
  handler = g_signal_connect (toplevels, "items-changed", G_CALLBACK (toplevels_changed_cb),
                              &n_offer_dialogs);
  g_assert_nonnull (alice_offers (fixture, second_path));
  filer_test_wait_until (n_finished, &both, TIMEOUT_MS, "the second file, unasked");
  g_signal_handler_disconnect (toplevels, handler);
  g_assert_cmpuint (n_offer_dialogs, ==, 0);
  assert_file_equals (second_received, second);
}

/* Someone new under the name of a device the user verified: flagged on
 * the tile and in the dialog, never accepted without asking. */
static void
test_key_changed_asks (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (1234);
  g_autofree char *path = write_temp_file (fixture, "impostor.bin", contents);
  g_autofree char *received = g_build_filename (fixture->download_dir, "impostor.bin", NULL);
  g_autoptr(FilerDevice) real_alice = filer_device_new_ephemeral ("Alice", "laptop");
  GListModel *transfers = filer_session_get_transfers (filer_application_get_session (fixture->app));
  TrustWanted changed = { fixture, "Alice", "Key changed — this is not the Alice you verified" };
  StateWanted waiting = { transfers, FILER_TRANSFER_STATE_WAITING_FOR_ANSWER };
  FilerOfferDialog *dialog = NULL;

  /* The user verified the real Alice once; allowed auto-accept. */
  g_assert_true (filer_trust_store_trust (filer_application_get_trust_store (fixture->app),
                                          filer_device_get_id (real_alice), "Alice"));
  g_settings_set_boolean (fixture->settings, "auto-accept-trusted", TRUE);

  alice_joins (fixture);
  filer_test_wait_until (tile_says, &changed, TIMEOUT_MS, "the tile to say the key changed");
  g_assert_cmpint (filer_peer_tile_get_trust (tile_named (fixture->window, "Alice")), ==,
                   FILER_TRUST_KEY_CHANGED);

  g_assert_nonnull (alice_offers (fixture, path));
  filer_test_wait_until (find_offer_dialog, &dialog, TIMEOUT_MS, "the offer dialog");
  g_assert_cmpint (filer_offer_dialog_get_trust (dialog), ==, FILER_TRUST_KEY_CHANGED);
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (dialog),
                                               "Key changed — this is not the Alice you verified"));
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==, "decline");
  g_assert_nonnull (code_shown (GTK_WIDGET (dialog)));
  filer_gui_test_settle (200);
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), GTK_WIDGET (dialog), "app-offer-key-changed");

  filer_test_spin (300);
  g_assert_true (has_transfer_in_state (&waiting));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "decline");
  wait_for_transfer_state (transfers, FILER_TRANSFER_STATE_DECLINED, "the offer declined");
  g_assert_false (g_file_test (received, G_FILE_TEST_EXISTS));
  /* The name did not make the new key trusted. */
  g_assert_false (filer_trust_store_is_verified (filer_application_get_trust_store (fixture->app),
                                                 filer_device_get_id (fixture->alice->device)));
}

/* "filer-cli verify" run with the app's key (the user's config dir)
 * prints the code the app's Verify dialog shows for the same peer. */
static void
test_cli_verify_same_code (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) cli = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *line = NULL;
  g_autofree char *own_line = NULL;
  GtkWidget *verify = NULL;
  FilerPeerTile *tile;
  TrustWanted not_verified = { fixture, "Alice", "Not verified" };

  alice_joins (fixture);
  filer_test_wait_until (tile_says, &not_verified, TIMEOUT_MS, "Alice's tile");
  tile = tile_named (fixture->window, "Alice");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (tile), "tile.verify", NULL));
  filer_test_wait_until (find_verify_dialog, &verify, TIMEOUT_MS, "the Verify dialog");
  g_assert_nonnull (code_shown (verify));

  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  cli = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("FILER_CLI"), "verify",
                                     filer_device_get_id (fixture->alice->device), NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (cli, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("filer-cli verify: %s%s", out, err);
  g_assert_true (g_subprocess_get_if_exited (cli));
  g_assert_cmpint (g_subprocess_get_exit_status (cli), ==, 0);

  own_line = g_strdup_printf ("This device:         %s\n", app_id_of (fixture));
  g_assert_nonnull (strstr (out, own_line));
  line = g_strdup_printf ("Verification code:   %s\n", code_shown (verify));
  g_assert_nonnull (strstr (out, line));

  adw_message_dialog_response (ADW_MESSAGE_DIALOG (verify), "cancel");
}


static gboolean
stored_name_is (gpointer data)
{
  TrustWanted *wanted = data;
  g_autofree char *name = NULL;

  filer_trust_store_lookup (filer_application_get_trust_store (wanted->fixture->app),
                            filer_device_get_id (wanted->fixture->alice->device), NULL, &name);
  return g_strcmp0 (name, wanted->text) == 0;
}

/* A verified device that renames itself keeps being verified, and the
 * store follows the name (the one a new key would be flagged for). */
static void
test_verified_rename (Fixture       *fixture,
                      gconstpointer  data)
{
  TrustWanted verified = { fixture, "Alice’s Laptop", "Verified" };
  TrustWanted renamed = { fixture, NULL, "Alice’s Laptop" };

  alice_joins (fixture);
  g_assert_true (filer_trust_store_trust (filer_application_get_trust_store (fixture->app),
                                          filer_device_get_id (fixture->alice->device), "Alice"));
  filer_device_set_name (fixture->alice->device, "Alice’s Laptop");
  filer_test_wait_until (tile_says, &verified, TIMEOUT_MS, "the renamed tile to say verified");
  filer_test_wait_until (stored_name_is, &renamed, TIMEOUT_MS, "the store to keep the new name");
}

/* A stream pair standing in for a relayed path. */
static void
stream_pair (GIOStream **a,
             GIOStream **b)
{
  int fds[2];
  g_autoptr(GSocket) sa = NULL;
  g_autoptr(GSocket) sb = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  sa = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  sb = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  *a = G_IO_STREAM (g_socket_connection_factory_create_connection (sa));
  *b = G_IO_STREAM (g_socket_connection_factory_create_connection (sb));
}

/* Verified and auto-accept on, and the offer comes over a relayed
 * stream: its peer id is the one the QUIC handshake proved (handed to
 * the service as the path ladder does), so it is accepted unasked, as
 * on the LAN. */
static void
test_verified_over_relay_accepted (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (3210);
  g_autofree char *path = write_temp_file (fixture, "relayed.bin", contents);
  g_autofree char *received = g_build_filename (fixture->download_dir, "relayed.bin", NULL);
  FilerSession *session = filer_application_get_session (fixture->app);
  GListModel *transfers = filer_session_get_transfers (session);
  g_autoptr(GIOStream) app_end = NULL;
  g_autoptr(GIOStream) alice_end = NULL;
  const char *paths[] = { path, NULL };
  FilerOfferDialog *dialog = NULL;

  alice_joins (fixture);
  g_assert_true (filer_trust_store_trust (filer_application_get_trust_store (fixture->app),
                                          filer_device_get_id (fixture->alice->device), "Alice"));
  g_settings_set_boolean (fixture->settings, "auto-accept-trusted", TRUE);

  stream_pair (&app_end, &alice_end);
  filer_transfer_service_handle_stream (filer_session_get_transfer_service (session), app_end,
                                        filer_device_get_id (fixture->alice->device), "relay");
  g_assert_nonnull (filer_transfer_service_send_over_stream (fixture->alice->service, alice_end,
                                                             app_id_of (fixture), APP_NAME,
                                                             "relay", paths));
  wait_for_transfer_state (transfers, FILER_TRANSFER_STATE_COMPLETED, "the relayed file");
  assert_file_equals (received, contents);
  g_assert_false (find_offer_dialog (&dialog));
}

/* --- rooms -------------------------------------------------------------- */

static const char *loopback_is_public[] = { "--loopback-is-public", NULL };

/* The server counts each 127.x.y.z as its own network. Carol is on
 * another one, in room "GREEN-OTTER"; Alice is on the app's. Changing the
 * room-code key while the app runs must re-register the running
 * discovery client in that room: Carol's tile comes, and goes again when
 * the app leaves the room. */
static void
test_room_change_applied (Fixture       *fixture,
                          gconstpointer  data)
{
  FilerPeerTile *tile;

  fixture->alice = peer_new (fixture, "Alice");
  fixture->bob = peer_new_full (fixture, "Carol", "127.0.0.2", "GREEN-OTTER", TRUE);
  filer_test_wait_until (peer_online, fixture->bob, TIMEOUT_MS, "Carol to be online");
  wait_for_tiles (fixture, "Alice");

  /* Online, but on another network and in a room the app is not in. */
  filer_test_spin (500);
  assert_tiles (fixture, "Alice");

  /* Typed otherwise, it is the same room. */
  g_settings_set_string (fixture->settings, "room-code", "green otter");
  wait_for_tiles (fixture, "Alice,Carol");
  tile = tile_named (fixture->window, "Carol");
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (tile), "Other network"));
  tile = tile_named (fixture->window, "Alice");
  g_assert_nonnull (filer_gui_test_find_label (GTK_WIDGET (tile), "This network"));
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "room-other-network");

  g_settings_set_string (fixture->settings, "room-code", "");
  wait_for_tiles (fixture, "Alice");
  filer_test_wait_until (app_online, fixture, TIMEOUT_MS, "the app to be online again");
  filer_test_spin (500);
  assert_tiles (fixture, "Alice");
}

/* --- sending -------------------------------------------------------------- */

/* What GTK does when a file manager drops @path on @name's tile. */
static void
drop_on_tile (Fixture    *fixture,
              const char *name,
              const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  FilerPeerTile *tile = tile_named (fixture->window, name);
  GSList *files = NULL;
  GValue value = G_VALUE_INIT;
  gboolean handled = FALSE;

  g_assert_nonnull (tile);
  files = g_slist_append (files, file);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free (files);
  g_signal_emit_by_name (filer_peer_tile_get_drop_target (tile), "drop", &value, 5.0, 5.0, &handled);
  g_value_unset (&value);
  g_assert_true (handled);
}

static gboolean
toast_shown (gpointer data)
{
  Fixture *fixture = data;
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (GTK_WIDGET (fixture->window), GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    {
      const char *text = gtk_label_get_text (g_ptr_array_index (labels, i));

      if (g_str_has_prefix (text, "Cannot reach the device: ") &&
          gtk_widget_get_mapped (g_ptr_array_index (labels, i)))
        return TRUE;
    }

  return FALSE;
}

/* Dave's tile is there, but no path answers: the LAN port he announces
 * is closed and he has no NAT binding for a punch or the relay. No row
 * can say so; a toast does, with the error. */
static void
test_no_path_toast (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (1000);
  g_autofree char *path = write_temp_file (fixture, "nowhere.bin", contents);
  GListModel *transfers = filer_session_get_transfers (filer_application_get_session (fixture->app));
  GtkWidget *overlay = filer_gui_test_find (GTK_WIDGET (fixture->window), ADW_TYPE_TOAST_OVERLAY);

  fixture->bob = peer_new_full (fixture, "Dave", "127.0.0.1", NULL, FALSE);
  wait_for_tiles (fixture, "Dave");
  g_assert_false (toast_shown (fixture));

  drop_on_tile (fixture, "Dave", path);
  filer_test_wait_until (toast_shown, fixture, TIMEOUT_MS, "the “Cannot reach the device” toast");
  g_assert_nonnull (overlay);
  g_assert_cmpuint (g_list_model_get_n_items (transfers), ==, 0);
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "no-path-toast");
}

/* --- Open and Open Folder ------------------------------------------------- */

/* The default application for the received file and for folders, in the
 * test's own XDG dirs: a script that writes what it is given to a log.
 * The row launches it through GIO like any desktop's file handler. */
static char *
install_opener (Fixture *fixture)
{
  g_autofree char *apps = g_build_filename (g_get_user_data_dir (), "applications", NULL);
  g_autofree char *desktop = g_build_filename (apps, "filer-test-opener.desktop", NULL);
  g_autofree char *mimeapps = g_build_filename (g_get_user_config_dir (), "mimeapps.list", NULL);
  g_autofree char *script = g_build_filename (fixture->tmp_dir, "opener.sh", NULL);
  char *log = g_build_filename (fixture->tmp_dir, "opened.log", NULL);
  g_autofree char *script_text = NULL;
  g_autofree char *desktop_text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (apps, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);

  script_text = g_strdup_printf ("#!/bin/sh\nprintf '%%s\\n' \"$1\" >> '%s'\n", log);
  g_file_set_contents (script, script_text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (script, 0755), ==, 0);

  desktop_text = g_strdup_printf ("[Desktop Entry]\n"
                                  "Type=Application\n"
                                  "Name=Test Opener\n"
                                  "Exec=%s %%u\n"
                                  "MimeType=application/octet-stream;inode/directory;\n"
                                  "NoDisplay=true\n", script);
  g_file_set_contents (desktop, desktop_text, -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (mimeapps,
                       "[Default Applications]\n"
                       "application/octet-stream=filer-test-opener.desktop\n"
                       "inode/directory=filer-test-opener.desktop\n", -1, &error);
  g_assert_no_error (error);

  return log;
}

typedef struct
{
  const char *log;
  guint       n_lines;
} LogWanted;

static gboolean
log_has_lines (gpointer data)
{
  LogWanted *wanted = data;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (wanted->log, &contents, NULL, NULL))
    return FALSE;

  lines = g_strsplit (contents, "\n", -1);
  /* "a\nb\n" splits into a, b and an empty last piece. */
  return g_strv_length (lines) > wanted->n_lines;
}

static GtkWidget *
find_button (GtkWidget  *root,
             const char *tooltip)
{
  g_autoptr(GPtrArray) buttons = filer_gui_test_find_all (root, GTK_TYPE_BUTTON);

  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_widget_get_tooltip_text (g_ptr_array_index (buttons, i)), tooltip) == 0)
      return g_ptr_array_index (buttons, i);

  return NULL;
}

static void
test_open_received (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *log = install_opener (fixture);
  g_autofree char *received = g_build_filename (fixture->download_dir, "from-alice.bin", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *expected = NULL;
  LogWanted wanted = { log, 1 };
  FilerTransferRow *row;
  GtkWidget *open_file;
  GtkWidget *open_folder;

  offer_and_answer (fixture, "accept");
  filer_window_show_page (fixture->window, "transfers");
  filer_gui_test_settle (200);

  row = last_row (fixture->window);
  open_file = find_button (GTK_WIDGET (row), "Open File");
  open_folder = find_button (GTK_WIDGET (row), "Open Folder");
  g_assert_true (gtk_widget_get_visible (open_file) && gtk_widget_get_mapped (open_file));
  g_assert_true (gtk_widget_get_visible (open_folder) && gtk_widget_get_mapped (open_folder));
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "open-received");

  g_signal_emit_by_name (open_file, "clicked");
  filer_test_wait_until (log_has_lines, &wanted, TIMEOUT_MS, "the opener to get the file");
  wanted.n_lines = 2;
  g_signal_emit_by_name (open_folder, "clicked");
  filer_test_wait_until (log_has_lines, &wanted, TIMEOUT_MS, "the opener to get the folder");

  g_file_get_contents (log, &contents, NULL, NULL);
  /* GIO hands a local file:// URI to %u as its path. */
  expected = g_strdup_printf ("%s\n%s\n", received, fixture->download_dir);
  g_assert_cmpstr (contents, ==, expected);
}

/* --- Clear Finished ------------------------------------------------------- */

static GtkWidget *
clear_finished_button (FilerWindow *window)
{
  g_autoptr(GPtrArray) buttons = filer_gui_test_find_all (GTK_WIDGET (window), GTK_TYPE_BUTTON);

  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_button_get_label (g_ptr_array_index (buttons, i)), "C_lear Finished") == 0)
      return g_ptr_array_index (buttons, i);

  return NULL;
}

/* Two finished sends (to Alice, who accepts everything) and one waiting
 * for Bob's answer: "Clear Finished" takes exactly the two away. */
static void
test_clear_finished (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GBytes) contents = random_bytes (4096);
  g_autofree char *path = write_temp_file (fixture, "clear-me.bin", contents);
  GListModel *transfers = filer_session_get_transfers (filer_application_get_session (fixture->app));
  StateWanted bob_waiting = { NULL, FILER_TRANSFER_STATE_WAITING_FOR_ANSWER };
  FinishedWanted two_finished = { transfers, 2 };
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(FilerTransfer) left = NULL;
  GtkWidget *button;

  fixture->alice = peer_new (fixture, "Alice");
  filer_transfer_service_set_accept_all (fixture->alice->service, TRUE);
  fixture->bob = peer_new (fixture, "Bob");
  wait_for_tiles (fixture, "Alice,Bob");
  filer_window_show_page (fixture->window, "transfers");

  /* Nothing at all, then only an unfinished transfer: nothing to clear. */
  button = clear_finished_button (fixture->window);
  g_assert_nonnull (button);
  g_assert_false (gtk_widget_is_sensitive (button));

  drop_on_tile (fixture, "Bob", path);
  bob_waiting.transfers = filer_transfer_service_get_transfers (fixture->bob->service);
  filer_test_wait_until (has_transfer_in_state, &bob_waiting, TIMEOUT_MS, "Bob to be asked");
  filer_gui_test_settle (100);
  g_assert_cmpuint (g_list_model_get_n_items (transfers), ==, 1);
  g_assert_false (gtk_widget_is_sensitive (clear_finished_button (fixture->window)));

  drop_on_tile (fixture, "Alice", path);
  drop_on_tile (fixture, "Alice", path);
  filer_test_wait_until (n_finished, &two_finished, TIMEOUT_MS, "both sends to Alice to finish");
  filer_gui_test_settle (200);
  rows = filer_gui_test_find_all (GTK_WIDGET (fixture->window), FILER_TYPE_TRANSFER_ROW);
  g_assert_cmpuint (rows->len, ==, 3);
  g_clear_pointer (&rows, g_ptr_array_unref);
  button = clear_finished_button (fixture->window);
  g_assert_true (gtk_widget_is_sensitive (button));
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "clear-finished-before");

  g_signal_emit_by_name (button, "clicked");
  filer_gui_test_settle (200);

  /* Exactly the finished ones went: Bob's row is still there, still
   * waiting for him, and there is nothing left to clear. */
  g_assert_cmpuint (g_list_model_get_n_items (transfers), ==, 1);
  left = g_list_model_get_item (transfers, 0);
  g_assert_cmpstr (filer_transfer_get_peer_id (left), ==, filer_device_get_id (fixture->bob->device));
  g_assert_cmpint (filer_transfer_get_state (left), ==, FILER_TRANSFER_STATE_WAITING_FOR_ANSWER);
  rows = filer_gui_test_find_all (GTK_WIDGET (fixture->window), FILER_TYPE_TRANSFER_ROW);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_true (filer_transfer_row_get_transfer (g_ptr_array_index (rows, 0)) == left);
  g_assert_false (gtk_widget_is_sensitive (clear_finished_button (fixture->window)));
  filer_gui_test_save_screenshot (GTK_WIDGET (fixture->window), NULL, "clear-finished-after");
}

/* "filer --send FILE --server ADDRESS", through the real command line
 * handling: the window opens with the file waiting for a peer. */
typedef struct
{
  FilerApplication *app;
  const char       *path;
  gboolean          checked;
} SendOption;

static gboolean
check_send_option_cb (gpointer data)
{
  SendOption *option = data;
  FilerWindow *window = filer_application_get_window (option->app);
  GPtrArray *pending;
  g_autofree char *path = NULL;
  GList *windows;

  g_assert_nonnull (window);
  pending = filer_window_get_pending_files (window);
  g_assert_nonnull (pending);
  g_assert_cmpuint (pending->len, ==, 1);
  path = g_file_get_path (g_ptr_array_index (pending, 0));
  g_assert_cmpstr (path, ==, option->path);
  option->checked = TRUE;

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (option->app))) != NULL)
    gtk_window_destroy (windows->data);
  g_application_quit (G_APPLICATION (option->app));
  return G_SOURCE_REMOVE;
}

static void
test_send_option (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("filer-send-option-XXXXXX", &error);
  g_autofree char *path = g_build_filename (tmp, "report.pdf", NULL);
  g_autofree char *id = g_strdup_printf ("%s.SendOption", APP_ID);
  const char *argv[] = { "filer", "--send", path, "--server", filer_test_server_get_address (server), NULL };
  SendOption option = { NULL, path, FALSE };
  int status;

  g_file_set_contents (path, "%PDF", -1, &error);
  g_assert_no_error (error);

  option.app = filer_application_new (G_APPLICATION_NON_UNIQUE);
  g_application_set_application_id (G_APPLICATION (option.app), id);

  /* g_application_run() spins its own loop: the check quits it, and the
   * process backstop catches a hang. */
  g_timeout_add (500, check_send_option_cb, &option);
  status = g_application_run (G_APPLICATION (option.app), G_N_ELEMENTS (argv) - 1, (char **)argv);

  g_assert_cmpint (status, ==, 0);
  g_assert_true (option.checked);
  g_assert_cmpstr (filer_session_get_server (filer_application_get_session (option.app)), ==,
                   filer_test_server_get_address (server));
  g_clear_object (&option.app);
  g_unlink (path);
  g_rmdir (tmp);
}

int
main (int   argc,
      char *argv[])
{
  if (!filer_gui_test_init (&argc, &argv))
    return filer_gui_test_skip_all ("no display");

  start_notification_server ();

  g_test_add ("/filer/gui/app/one-tile-per-peer", Fixture, NULL,
              fixture_setup, test_one_tile_per_peer, fixture_teardown);
  g_test_add ("/filer/gui/app/drop-sends", Fixture, NULL,
              fixture_setup, test_drop_sends, fixture_teardown);
  g_test_add ("/filer/gui/app/offer-accept", Fixture, NULL,
              fixture_setup, test_offer_accept, fixture_teardown);
  g_test_add ("/filer/gui/app/offer-decline", Fixture, NULL,
              fixture_setup, test_offer_decline, fixture_teardown);
  g_test_add ("/filer/gui/app/offer-from-notification", Fixture, NULL,
              fixture_setup, test_offer_from_notification, fixture_teardown);
  g_test_add ("/filer/gui/app/shortcuts", Fixture, NULL,
              fixture_setup, test_shortcuts, fixture_teardown);
  g_test_add ("/filer/gui/app/shortcuts-window", Fixture, NULL,
              fixture_setup, test_shortcuts_window, fixture_teardown);
  g_test_add_func ("/filer/gui/app/send-option", test_send_option);
  g_test_add ("/filer/gui/app/settings-reach-session", Fixture, NULL,
              fixture_setup, test_settings_reach_session, fixture_teardown);
  g_test_add ("/filer/gui/app/trusted-auto-accept", Fixture, NULL,
              fixture_setup, test_trusted_auto_accept, fixture_teardown);
  g_test_add ("/filer/gui/app/always-accept", Fixture, NULL,
              fixture_setup, test_always_accept, fixture_teardown);
  g_test_add ("/filer/gui/app/untrusted-asks", Fixture, NULL,
              fixture_setup, test_untrusted_asks, fixture_teardown);
  g_test_add ("/filer/gui/app/trust-off-asks", Fixture, NULL,
              fixture_setup, test_trust_off_asks, fixture_teardown);
  g_test_add ("/filer/gui/app/verify-then-auto-accept", Fixture, NULL,
              fixture_setup, test_verify_then_auto_accept, fixture_teardown);
  g_test_add ("/filer/gui/app/key-changed-asks", Fixture, NULL,
              fixture_setup, test_key_changed_asks, fixture_teardown);
  g_test_add ("/filer/gui/app/cli-verify-same-code", Fixture, NULL,
              fixture_setup, test_cli_verify_same_code, fixture_teardown);
  g_test_add ("/filer/gui/app/verified-rename", Fixture, NULL,
              fixture_setup, test_verified_rename, fixture_teardown);
  g_test_add ("/filer/gui/app/verified-over-relay-accepted", Fixture, NULL,
              fixture_setup, test_verified_over_relay_accepted, fixture_teardown);
  g_test_add ("/filer/gui/app/room-change-applied", Fixture, loopback_is_public,
              fixture_setup, test_room_change_applied, fixture_teardown);
  g_test_add ("/filer/gui/app/no-path-toast", Fixture, NULL,
              fixture_setup, test_no_path_toast, fixture_teardown);
  g_test_add ("/filer/gui/app/open-received", Fixture, NULL,
              fixture_setup, test_open_received, fixture_teardown);
  g_test_add ("/filer/gui/app/clear-finished", Fixture, NULL,
              fixture_setup, test_clear_finished, fixture_teardown);

  return g_test_run ();
}
