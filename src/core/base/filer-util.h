/* filer-util.h: small helpers every part of core shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

gboolean filer_set_string (char       **field,
                           const char  *value);

G_END_DECLS
