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
