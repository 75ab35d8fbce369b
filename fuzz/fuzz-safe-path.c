/* fuzz-safe-path.c: names a peer offers (filer_safe_path_check)
 *
 * The invariant: a name the check accepts never resolves outside the
 * download folder. Each component of an accepted name is a plain name
 * (not "", ".", "..", no '/', no NUL), there is no leading '/', and
 * splitting it gives the same components the check judged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "libfiler.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *path = NULL;
  g_auto(GStrv) components = NULL;
  g_autoptr(GError) error = NULL;
  gboolean accepted;
  gsize depth = 0;

  /* A peer's name arrives as a JSON string: no NUL inside. */
  if (memchr (data, '\0', size) != NULL)
    return 0;
  path = g_strndup ((const char *) data, size);

  accepted = filer_safe_path_check (path, NULL);
  components = filer_safe_path_split (path, &error);
  FUZZ_ASSERT (accepted == (components != NULL));
  if (!accepted)
    return 0;

  FUZZ_ASSERT (path[0] != '/');
  for (const char *p = path; *p != '\0'; p++)
    FUZZ_ASSERT ((guchar) *p >= 0x20 && *p != 0x7f && *p != '\\');
  FUZZ_ASSERT (strlen (path) <= FILER_SAFE_PATH_MAX_LENGTH);
  for (char **c = components; *c != NULL; c++, depth++)
    {
      FUZZ_ASSERT (**c != '\0');
      FUZZ_ASSERT (strcmp (*c, ".") != 0 && strcmp (*c, "..") != 0);
      FUZZ_ASSERT (strchr (*c, '/') == NULL);
      FUZZ_ASSERT (strlen (*c) <= FILER_SAFE_PATH_MAX_COMPONENT);
    }
  FUZZ_ASSERT (depth >= 1 && depth <= FILER_SAFE_PATH_MAX_DEPTH);

  return 0;
}
