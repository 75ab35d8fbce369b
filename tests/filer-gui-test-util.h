/* filer-gui-test-util.h: what the GUI tests share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* filer_test_init() plus GTK and libadwaita. Returns FALSE when there is
 * no display; the caller then reports a skip (tools/run-tests provides
 * Xvfb, a bare "meson test" may not). */
gboolean   filer_gui_test_init        (int          *argc,
                                       char       ***argv);

/* Prints a TAP plan that skips the whole program. */
int        filer_gui_test_skip_all    (const char   *reason);

/* Every descendant of @root (itself included) of @type, depth first. */
GPtrArray *filer_gui_test_find_all    (GtkWidget    *root,
                                       GType         type);

/* The first descendant of @type, or NULL. */
GtkWidget *filer_gui_test_find        (GtkWidget    *root,
                                       GType         type);

/* The first GtkLabel whose text is @text, or NULL. */
GtkWidget *filer_gui_test_find_label  (GtkWidget    *root,
                                       const char   *text);

/* Renders @widget (and, if given, @dialog centred on top of it with the
 * dimming a modal dialog gets) to a PNG file. */
gboolean   filer_gui_test_save_png    (GtkWidget    *widget,
                                       GtkWidget    *dialog,
                                       const char   *path,
                                       GError      **error);

/* With FILER_TEST_SCREENSHOTS=DIR in the environment, saves @widget
 * (see filer_gui_test_save_png()) as DIR/NAME.png, to look at what a
 * test drove; without it, does nothing. */
void       filer_gui_test_save_screenshot (GtkWidget  *widget,
                                           GtkWidget  *dialog,
                                           const char *name);

/* Lets GTK lay out and draw for @ms (frame clock, idle sizing). */
void       filer_gui_test_settle      (guint         ms);

G_END_DECLS
