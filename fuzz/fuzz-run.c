/* fuzz-run.c: a fuzz target's seed corpus as an ordinary test
 *
 * fuzz-run-TARGET DIR: runs LLVMFuzzerTestOneInput() once on every file
 * in DIR and prints one TAP line per file. A crash or a failed invariant
 * aborts, which fails the test.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib.h>

#include "fuzz.h"

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *name;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s CORPUS-DIR\n", argv[0]);
      return 2;
    }

  dir = g_dir_open (argv[1], 0, &error);
  if (dir == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  if (names->len == 0)
    {
      fprintf (stderr, "%s: an empty corpus tests nothing\n", argv[1]);
      return 1;
    }

  printf ("1..%u\n", names->len);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (argv[1], g_ptr_array_index (names, i), NULL);
      g_autofree char *contents = NULL;
      gsize length;

      if (!g_file_get_contents (path, &contents, &length, &error))
        {
          printf ("not ok %u %s # %s\n", i + 1, (char *) g_ptr_array_index (names, i), error->message);
          return 1;
        }

      LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
      printf ("ok %u %s (%" G_GSIZE_FORMAT " bytes)\n", i + 1,
              (char *) g_ptr_array_index (names, i), length);
      fflush (stdout);
    }

  return 0;
}
