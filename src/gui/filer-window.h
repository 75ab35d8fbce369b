/* filer-window.h: the main window: device grid and transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "filer-trust-store.h"
#include "libfiler.h"

G_BEGIN_DECLS

#define FILER_TYPE_WINDOW (filer_window_get_type ())

G_DECLARE_FINAL_TYPE (FilerWindow, filer_window, FILER, WINDOW, AdwApplicationWindow)

FilerWindow *filer_window_new                (GtkApplication *application);
GListModel  *filer_window_get_peers          (FilerWindow    *self);
void         filer_window_set_peers          (FilerWindow    *self,
                                              GListModel     *peers);
GListModel  *filer_window_get_transfers      (FilerWindow    *self);
void         filer_window_set_transfers      (FilerWindow    *self,
                                              GListModel     *transfers);
void         filer_window_set_pending_files  (FilerWindow    *self,
                                              GPtrArray      *files);
GPtrArray   *filer_window_get_pending_files  (FilerWindow    *self);
void         filer_window_set_download_folder (FilerWindow    *self,
                                               const char     *folder);
void         filer_window_set_status         (FilerWindow    *self,
                                              const char     *status);
void         filer_window_add_toast          (FilerWindow    *self,
                                              const char     *message);
void         filer_window_show_page          (FilerWindow    *self,
                                              const char     *name);
void         filer_window_send_files         (FilerWindow    *self,
                                              FilerPeer      *peer,
                                              GPtrArray      *files);
void         filer_window_choose_files       (FilerWindow    *self,
                                              FilerPeer      *peer,
                                              gboolean        folders);
void         filer_window_set_trust_store    (FilerWindow     *self,
                                              FilerTrustStore *store);
void         filer_window_set_device         (FilerWindow    *self,
                                              FilerDevice    *device);
GtkWidget   *filer_window_verify_peer        (FilerWindow    *self,
                                              FilerPeer      *peer);

G_END_DECLS
