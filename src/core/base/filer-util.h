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

/* A token bucket: @burst tokens at most, refilled at @rate a second.
 * filer_token_bucket_init() fills it; a zeroed one with @updated set
 * starts empty. */
typedef struct
{
  double tokens;
  gint64 updated;   /* monotonic µs of the last refill */
} FilerTokenBucket;

void     filer_token_bucket_init (FilerTokenBucket *bucket,
                                  double            burst,
                                  gint64            now);
gboolean filer_token_bucket_take (FilerTokenBucket *bucket,
                                  double            rate,
                                  double            burst,
                                  double            cost,
                                  gint64            now);
gboolean filer_token_bucket_full (FilerTokenBucket *bucket,
                                  double            rate,
                                  double            burst,
                                  gint64            now);

G_END_DECLS
