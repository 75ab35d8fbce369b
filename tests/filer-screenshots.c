/* filer-screenshots.c: renders the README and metainfo screenshots
 *
 * Not a test: tools/screenshots runs it under Xvfb. It runs the real
 * app against a real filer-server process, with three real core peers
 * in this process, and saves what GTK draws.
 *
 * Usage: filer-screenshots OUTDIR [SUFFIX]   (SUFFIX "-zh_CN": Chinese)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "filer-application.h"
#include "filer-gui-test-util.h"
#include "filer-offer-dialog.h"
#include "filer-test-util.h"
#include "libfiler.h"

#define WIDTH  900
#define HEIGHT 620
#define TIMEOUT_MS 30000

typedef struct
{
  FilerDevice          *device;
  FilerDiscoveryClient *client;
  FilerTransferService *service;
} Peer;

static char *tmp_dir;

static Peer *
peer_new (const char *server,
          const char *name,
          const char *kind)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autofree char *inbox = NULL;
  g_autoptr(GError) error = NULL;

  peer->device = filer_device_new_ephemeral (name, kind);
  inbox = g_build_filename (tmp_dir, filer_device_get_id (peer->device), NULL);
  g_mkdir_with_parents (inbox, 0700);
  peer->service = filer_transfer_service_new (filer_device_get_identity (peer->device), name, inbox);
  filer_transfer_service_set_accept_all (peer->service, TRUE);
  if (!filer_transfer_service_listen (peer->service, "127.0.0.1", 0, &error))
    g_error ("%s", error->message);
  peer->client = filer_discovery_client_new (peer->device);
  filer_discovery_client_set_server (peer->client, server);
  filer_discovery_client_set_local_address (peer->client, "127.0.0.1");
  filer_discovery_client_set_transfer_port (peer->client, filer_transfer_service_get_port (peer->service));
  filer_discovery_client_start (peer->client);
  return peer;
}

static void
save (GtkWidget  *window,
      GtkWidget  *dialog,
      const char *outdir,
      const char *name,
      const char *suffix)
{
  g_autofree char *file = g_strdup_printf ("%s%s.png", name, suffix);
  g_autofree char *path = g_build_filename (outdir, file, NULL);
  g_autoptr(GError) error = NULL;

  if (!filer_gui_test_save_png (window, dialog, path, &error))
    g_error ("%s", error->message);
  g_print ("wrote %s\n", path);
}

static gboolean
n_peers_is_3 (gpointer data)
{
  return g_list_model_get_n_items (filer_session_get_peers (data)) == 3;
}

static gboolean
has_items (gpointer data)
{
  return g_list_model_get_n_items (G_LIST_MODEL (data)) > 0;
}

static gboolean
about_40_percent (gpointer data)
{
  FilerTransfer *transfer = data;
  guint64 total = filer_transfer_get_bytes_total (transfer);

  return filer_transfer_is_finished (transfer) ||
         (total > 0 && filer_transfer_get_bytes_done (transfer) * 100 / total >= 40);
}

static gboolean
find_offer_dialog (gpointer data)
{
  GtkWidget **dialog = data;
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (FILER_IS_OFFER_DIALOG (window))
        *dialog = GTK_WIDGET (window);
    }

  return *dialog != NULL;
}

static char *
make_file (const char *name,
           gsize       size)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  FILE *f = fopen (path, "wb");

  /* Sparse: quick to make, and the content does not matter here. */
  if (f == NULL || ftruncate (fileno (f), size) != 0)
    g_error ("cannot make %s", path);
  fclose (f);
  return path;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(FilerApplication) app = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  FilerTestServer *server;
  FilerSession *session;
  FilerWindow *window;
  GtkWidget *dialog = NULL;
  const char *outdir;
  const char *suffix;
  gboolean chinese;
  Peer *anna, *living_room;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("FILER_LOCALEDIR") ? g_getenv ("FILER_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    g_error ("usage: filer-screenshots OUTDIR [SUFFIX]");
  outdir = argv[1];
  suffix = argc > 2 ? argv[2] : "";
  chinese = g_str_has_prefix (suffix, "-zh");

  if (!gtk_init_check ())
    g_error ("no display");
  adw_init ();
  tmp_dir = g_dir_make_tmp ("filer-screenshots-XXXXXX", &error);
  g_assert_no_error (error);

  server = filer_test_server_start (NULL);

  settings = g_settings_new (APP_ID);
  g_settings_set_string (settings, "device-name", chinese ? "我的电脑" : "My Computer");
  g_settings_set_string (settings, "download-folder", tmp_dir);
  g_settings_set_boolean (settings, "server-automatic", FALSE);
  g_settings_set_string (settings, "server-address", filer_test_server_get_address (server));

  app = filer_application_new (G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  session = filer_application_get_session (app);
  filer_session_set_local_address (session, "127.0.0.1");
  g_application_activate (G_APPLICATION (app));
  window = filer_application_get_window (app);
  gtk_window_set_default_size (GTK_WINDOW (window), WIDTH, HEIGHT);
  filer_test_spin (800);

  anna = peer_new (filer_test_server_get_address (server),
                   chinese ? "小明的笔记本" : "Anna’s Laptop", "desktop");
  living_room = peer_new (filer_test_server_get_address (server),
                          chinese ? "客厅电脑" : "Living Room PC", "desktop");
  peer_new (filer_test_server_get_address (server),
            chinese ? "小红的手机" : "Bob’s Phone", "phone");
  filer_test_wait_until (n_peers_is_3, session, TIMEOUT_MS, "three peers");
  filer_test_spin (800);
  save (GTK_WIDGET (window), NULL, outdir, "peers", suffix);

  if (!chinese)
    {
      g_autofree char *big = make_file ("holiday-video.mkv", (gsize)1536 * 1024 * 1024);
      FilerPeer *target = NULL;
      FilerTransfer *transfer;
      GListModel *peers = filer_session_get_peers (session);

      for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
        {
          g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);

          if (g_str_equal (filer_peer_get_name (peer), "Living Room PC"))
            target = peer;
        }

      /* A transfer in progress: the tile says so, the row shows it. */
      {
        g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

        g_ptr_array_add (files, g_file_new_for_path (big));
        filer_window_send_files (window, target, files);
      }
      /* The transfer is listed once the path is proven (TLS, hellos). */
      filer_test_wait_until (has_items, filer_session_get_transfers (session), TIMEOUT_MS,
                             "the transfer to be listed");
      transfer = g_list_model_get_item (filer_session_get_transfers (session), 0);
      filer_test_wait_until (about_40_percent, transfer, TIMEOUT_MS, "40 %");
      filer_test_spin (300);
      save (GTK_WIDGET (window), NULL, outdir, "sending", suffix);
      filer_window_show_page (window, "transfers");
      filer_test_spin (500);
      save (GTK_WIDGET (window), NULL, outdir, "transfer", suffix);
      filer_transfer_cancel (transfer);
      g_object_unref (transfer);
      filer_window_show_page (window, "devices");
      filer_test_spin (500);

      /* Anna offers three files: the question. */
      {
        g_autofree char *a = make_file ("holiday-photos.zip", 734 * 1000 * 1000);
        g_autofree char *b = make_file ("report-final.pdf", 2 * 1000 * 1000);
        g_autofree char *c = make_file ("notes.md", 4000);
        const char *offered[] = { a, b, c, NULL };
        GListModel *seen = filer_discovery_client_get_peers (anna->client);
        g_autoptr(FilerPeer) me = NULL;

        for (guint i = 0; i < g_list_model_get_n_items (seen); i++)
          {
            g_autoptr(FilerPeer) peer = g_list_model_get_item (seen, i);

            if (g_str_equal (filer_peer_get_name (peer), "My Computer"))
              {
                const char *addresses[] = { "127.0.0.1", NULL };

                me = filer_peer_new (filer_peer_get_id (peer));
                filer_peer_set_name (me, filer_peer_get_name (peer));
                filer_peer_set_addresses (me, addresses);
                filer_peer_set_port (me, filer_peer_get_port (peer));
              }
          }
        filer_transfer_service_send (anna->service, me, offered);
        filer_test_wait_until (find_offer_dialog, &dialog, TIMEOUT_MS, "the offer dialog");
        filer_test_spin (800);
        save (GTK_WIDGET (window), dialog, outdir, "offer", suffix);
        adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "decline");
      }

      /* A phone-sized window. */
      gtk_window_set_default_size (GTK_WINDOW (window), 360, 640);
      filer_test_spin (800);
      save (GTK_WIDGET (window), NULL, outdir, "narrow", suffix);
    }

  (void)living_room;
  filer_session_stop (session);
  filer_test_server_stop (server);
  return 0;
}
