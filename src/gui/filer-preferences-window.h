/* filer-preferences-window.h: the settings a person may change
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FILER_TYPE_PREFERENCES_WINDOW (filer_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (FilerPreferencesWindow, filer_preferences_window, FILER, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *filer_preferences_window_new (GtkWindow *parent,
                                         GSettings *settings);

G_END_DECLS
