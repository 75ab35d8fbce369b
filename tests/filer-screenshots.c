/* filer-screenshots.c: renders the README and metainfo screenshots
 *
 * Not a test: tools/screenshots runs it under Xvfb. It builds the real
 * widgets, feeds them peers, and saves what GTK draws.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <locale.h>

#include "filer-gui-test-util.h"
#include "filer-offer-dialog.h"
#include "filer-peer-tile.h"
#include "filer-resources.h"
#include "filer-test-util.h"
#include "filer-window.h"

#define WIDTH  900
#define HEIGHT 620

static FilerPeer *
add_peer (GListStore       *store,
          const char       *id,
          const char       *name,
          const char       *kind,
          FilerPeerNetwork  network)
{
  g_autoptr(FilerPeer) peer = filer_peer_new (id);

  filer_peer_set_name (peer, name);
  filer_peer_set_kind (peer, kind);
  filer_peer_set_network (peer, network);
  g_list_store_append (store, peer);
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

static void
set_activity (FilerWindow *window,
              const char  *id,
              const char  *activity)
{
  g_autoptr(GPtrArray) tiles = filer_gui_test_find_all (GTK_WIDGET (window), FILER_TYPE_PEER_TILE);

  for (guint i = 0; i < tiles->len; i++)
    {
      FilerPeer *peer = filer_peer_tile_get_peer (g_ptr_array_index (tiles, i));

      if (peer != NULL && g_str_equal (filer_peer_get_id (peer), id))
        filer_peer_tile_set_activity (g_ptr_array_index (tiles, i), activity);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
  g_autoptr(GListStore) peers = NULL;
  const char *outdir;
  const char *suffix;
  gboolean chinese;
  FilerWindow *window;
  GtkWidget *dialog;
  const char *names[] = { "holiday-photos.zip", "report-final.pdf", "notes.md", NULL };

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
  (void)filer_get_resource ();

  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    "/io/github/filerapp/Filer/icons");
  gtk_css_provider_load_from_resource (css, "/io/github/filerapp/Filer/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  peers = g_list_store_new (FILER_TYPE_PEER);
  window = g_object_new (FILER_TYPE_WINDOW, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), WIDTH, HEIGHT);
  filer_window_set_peers (window, G_LIST_MODEL (peers));
  filer_window_set_status (window, _("Hosting discovery on this computer"));
  gtk_window_present (GTK_WINDOW (window));

  /* Empty: "Looking for devices…" */
  filer_test_spin (600);
  save (GTK_WIDGET (window), NULL, outdir, "empty", suffix);

  if (chinese)
    {
      add_peer (peers, "a", "小明的笔记本", "desktop", FILER_PEER_NETWORK_LAN);
      add_peer (peers, "b", "客厅电脑", "desktop", FILER_PEER_NETWORK_LAN);
      add_peer (peers, "c", "Anna’s Phone", "phone", FILER_PEER_NETWORK_REMOTE);
    }
  else
    {
      add_peer (peers, "a", "Anna’s Laptop", "desktop", FILER_PEER_NETWORK_LAN);
      add_peer (peers, "b", "Living Room PC", "desktop", FILER_PEER_NETWORK_LAN);
      add_peer (peers, "c", "Bob’s Phone", "phone", FILER_PEER_NETWORK_REMOTE);
    }
  filer_test_spin (600);
  set_activity (window, "b", chinese ? "正在发送 42%" : "Sending 42 %");
  filer_test_spin (300);
  save (GTK_WIDGET (window), NULL, outdir, "peers", suffix);

  if (!chinese)
    {
      dialog = filer_offer_dialog_new (GTK_WINDOW (window), "Anna’s Laptop", names,
                                       (guint64)734 * 1000 * 1000);
      gtk_window_present (GTK_WINDOW (dialog));
      filer_test_spin (600);
      save (GTK_WIDGET (window), dialog, outdir, "offer", suffix);
      gtk_window_destroy (GTK_WINDOW (dialog));
    }

  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
