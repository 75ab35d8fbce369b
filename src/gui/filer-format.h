/* filer-format.h: sizes, speeds and times for people to read
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *filer_format_time_left  (guint64     seconds);
char *filer_format_progress   (guint64     done,
                               guint64     total,
                               guint64     bytes_per_second);
char *filer_format_file_list  (const char * const *names,
                               guint               max_shown);
const char *filer_format_path (const char *path);
char *filer_get_pretty_host_name (void);
char *filer_get_default_download_folder (void);

G_END_DECLS
