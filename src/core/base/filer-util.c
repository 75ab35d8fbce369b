/* filer-util.c: small helpers every part of core shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-util.h"

/**
 * filer_set_string:
 * @field: (inout): a string field of an object
 * @value: (nullable): the new value
 *
 * Replaces *@field with a copy of @value if they differ: the setter of a
 * string property that notifies only on real changes. (g_set_str() does
 * this from GLib 2.76 on; Debian 12 has 2.74.)
 *
 * Returns: %TRUE if *@field changed
 */
gboolean
filer_set_string (char       **field,
                  const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;

  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
token_bucket_refill (FilerTokenBucket *bucket,
                     double            rate,
                     double            burst,
                     gint64            now)
{
  if (now > bucket->updated)
    bucket->tokens = MIN (burst, bucket->tokens + rate * (now - bucket->updated) / G_USEC_PER_SEC);
  bucket->updated = now;
}

/**
 * filer_token_bucket_init:
 * @bucket: a bucket
 * @burst: how many tokens it holds when full
 * @now: g_get_monotonic_time()
 *
 * Fills @bucket.
 */
void
filer_token_bucket_init (FilerTokenBucket *bucket,
                         double            burst,
                         gint64            now)
{
  bucket->tokens = burst;
  bucket->updated = now;
}

/**
 * filer_token_bucket_take:
 * @bucket: a bucket
 * @rate: tokens a second it refills
 * @burst: how many it holds when full
 * @cost: how many tokens to take (1 for an event, a size for bytes)
 * @now: g_get_monotonic_time()
 *
 * Takes @cost tokens if the bucket holds them.
 *
 * Returns: %TRUE if they were taken, %FALSE if there are too few
 */
gboolean
filer_token_bucket_take (FilerTokenBucket *bucket,
                         double            rate,
                         double            burst,
                         double            cost,
                         gint64            now)
{
  token_bucket_refill (bucket, rate, burst, now);
  if (bucket->tokens < cost)
    return FALSE;

  bucket->tokens -= cost;
  return TRUE;
}

/**
 * filer_token_bucket_full:
 * @bucket: a bucket
 * @rate: tokens a second it refills
 * @burst: how many it holds when full
 * @now: g_get_monotonic_time()
 *
 * Returns: %TRUE if @bucket has refilled to @burst: its owner may forget it
 */
gboolean
filer_token_bucket_full (FilerTokenBucket *bucket,
                         double            rate,
                         double            burst,
                         gint64            now)
{
  token_bucket_refill (bucket, rate, burst, now);
  return bucket->tokens >= burst;
}
