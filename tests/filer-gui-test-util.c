/* filer-gui-test-util.c: what the GUI tests share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-gui-test-util.h"

#include <adwaita.h>

#include "filer-test-util.h"

gboolean
filer_gui_test_init (int    *argc,
                     char ***argv)
{
  g_auto(GStrv) data_dirs = g_strdupv ((char **)g_get_system_data_dirs ());
  GtkIconTheme *theme;

  /* G_TEST_OPTION_ISOLATE_DIRS points XDG_DATA_DIRS at an empty folder
   * for each test case, which would hide the MIME database (GdkPixbuf
   * needs it to load SVG icons) and the icon themes: pin both to the
   * system's before isolating, as Valent and GNOME Software do. */
  g_content_type_set_mime_dirs (NULL);
  filer_test_init (argc, argv);

  if (!gtk_init_check ())
    return FALSE;

  adw_init ();

  theme = gtk_icon_theme_get_for_display (gdk_display_get_default ());
  /* What GtkApplication does for the app's resource base path. */
  gtk_icon_theme_add_resource_path (theme, "/io/github/filerapp/Filer/icons");
  for (guint i = 0; data_dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (data_dirs[i], "icons", NULL);

      gtk_icon_theme_add_search_path (theme, path);
    }

  return TRUE;
}

int
filer_gui_test_skip_all (const char *reason)
{
  g_print ("1..0 # SKIP %s\n", reason);
  return 0;
}

static void
find_all (GtkWidget *widget,
          GType      type,
          GPtrArray *found)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    g_ptr_array_add (found, widget);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    find_all (child, type, found);
}

GPtrArray *
filer_gui_test_find_all (GtkWidget *root,
                         GType      type)
{
  GPtrArray *found = g_ptr_array_new ();

  find_all (root, type, found);
  return found;
}

GtkWidget *
filer_gui_test_find (GtkWidget *root,
                     GType      type)
{
  g_autoptr(GPtrArray) found = filer_gui_test_find_all (root, type);

  return found->len > 0 ? g_ptr_array_index (found, 0) : NULL;
}

GtkWidget *
filer_gui_test_find_label (GtkWidget  *root,
                           const char *text)
{
  g_autoptr(GPtrArray) labels = filer_gui_test_find_all (root, GTK_TYPE_LABEL);

  for (guint i = 0; i < labels->len; i++)
    if (g_strcmp0 (gtk_label_get_text (g_ptr_array_index (labels, i)), text) == 0)
      return g_ptr_array_index (labels, i);

  return NULL;
}

/* What @widget last drew. Right after a change GTK may not have drawn
 * it yet (no node): give the frame clock a few more frames. */
static GskRenderNode *
snapshot_widget (GtkWidget *widget)
{
  for (guint attempt = 0; attempt < 50; attempt++)
    {
      g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
      GtkSnapshot *snapshot = gtk_snapshot_new ();
      GskRenderNode *node;

      gdk_paintable_snapshot (paintable, snapshot,
                              gtk_widget_get_width (widget),
                              gtk_widget_get_height (widget));
      node = gtk_snapshot_free_to_node (snapshot);
      if (node != NULL)
        return node;

      gtk_widget_queue_draw (widget);
      filer_test_spin (20);
    }

  return NULL;
}

gboolean
filer_gui_test_save_png (GtkWidget   *widget,
                         GtkWidget   *dialog,
                         const char  *path,
                         GError     **error)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GtkSnapshot *snapshot;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GskRenderNode) window_node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;

  g_return_val_if_fail (width > 0 && height > 0, FALSE);

  window_node = snapshot_widget (widget);
  if (window_node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "nothing drawn for %s", path);
      return FALSE;
    }
  snapshot = gtk_snapshot_new ();
  gtk_snapshot_append_node (snapshot, window_node);

  if (dialog != NULL)
    {
      g_autoptr(GskRenderNode) dialog_node = snapshot_widget (dialog);
      int dw = gtk_widget_get_width (dialog);
      int dh = gtk_widget_get_height (dialog);

      gtk_snapshot_append_color (snapshot,
                                 &(GdkRGBA) { 0, 0, 0, 0.3 },
                                 &GRAPHENE_RECT_INIT (0, 0, width, height));
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot,
                              &GRAPHENE_POINT_INIT ((width - dw) / 2, (height - dh) / 2));
      if (dialog_node != NULL)
        gtk_snapshot_append_node (snapshot, dialog_node);
      gtk_snapshot_restore (snapshot);
    }

  node = gtk_snapshot_free_to_node (snapshot);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));

  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
      return FALSE;
    }

  return TRUE;
}

void
filer_gui_test_save_screenshot (GtkWidget  *widget,
                                GtkWidget  *dialog,
                                const char *name)
{
  const char *dir = g_getenv ("FILER_TEST_SCREENSHOTS");
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (dir == NULL || dir[0] == '\0')
    return;

  file = g_strconcat (name, ".png", NULL);
  path = g_build_filename (dir, file, NULL);
  /* Let transitions (a stack's crossfade, a toast sliding in) end: the
   * frame clock is slow under Xvfb on a busy machine. */
  filer_gui_test_settle (2000);
  if (!filer_gui_test_save_png (widget, dialog, path, &error))
    g_test_message ("No screenshot %s: %s", path, error->message);
}

void
filer_gui_test_settle (guint ms)
{
  filer_test_spin (ms);
}
