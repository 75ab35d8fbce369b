/* filer-safe-path.h: names from a peer, checked before they touch disk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Longest relative path and component a peer may send, in bytes. */
#define FILER_SAFE_PATH_MAX_LENGTH    4095
#define FILER_SAFE_PATH_MAX_COMPONENT 255
#define FILER_SAFE_PATH_MAX_DEPTH     64

gboolean   filer_safe_path_check           (const char   *path,
                                            GError      **error);
char     **filer_safe_path_split           (const char   *path,
                                            GError      **error);
int        filer_safe_path_open_dir        (int           root_fd,
                                            char * const *components,
                                            guint         n_components,
                                            gboolean      create,
                                            GError      **error);
char      *filer_safe_path_rename_unique   (int           dir_fd,
                                            const char   *from,
                                            const char   *wanted,
                                            GError      **error);
char      *filer_safe_path_numbered        (const char   *name,
                                            guint         n);

G_END_DECLS
