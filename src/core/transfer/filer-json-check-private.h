/* filer-json-check-private.h: strict RFC 8259 checking before json-glib
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_TRANSFER_COMPILATION)
# error "filer-json-check-private.h is private to src/core/transfer/."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Nesting deeper than this is refused (no message of ours nests past 3). */
#define FILER_JSON_MAX_DEPTH 16

typedef enum
{
  FILER_JSON_OK,
  FILER_JSON_INVALID,     /* not RFC 8259 JSON, or a name twice in an object */
  FILER_JSON_TOO_DEEP,    /* nests past FILER_JSON_MAX_DEPTH */
  FILER_JSON_TOO_MANY,    /* more than max_elements values two levels down */
} FilerJsonVerdict;

FilerJsonVerdict filer_json_check (const char  *text,
                                   gsize        length,
                                   guint64      max_elements,
                                   gboolean    *escaped_nul,
                                   char       **problem);

G_END_DECLS
