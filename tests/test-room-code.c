/* test-room-code.c: generated room codes are random and well formed, typed ones checked
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/* XXXX-XXXX-XXXX of Crockford's alphabet, a code normalizing leaves as
 * it is, and no two alike in 10,000. Every symbol turns up in every
 * place: the bits are spread over the whole alphabet (a code of 10,000
 * misses a given symbol at a given place with probability ~1e-137). */
static void
test_generate (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint counts[14][32] = { { 0 } };

  for (guint i = 0; i < 10000; i++)
    {
      char *code = filer_room_code_generate ();
      g_autofree char *again = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpuint (strlen (code), ==, 14);
      for (guint c = 0; c < 14; c++)
        {
          if (c == 4 || c == 9)
            g_assert_cmpint (code[c], ==, '-');
          else
            {
              const char *where = strchr (ALPHABET, code[c]);

              g_assert_nonnull (where);
              counts[c][where - ALPHABET]++;
            }
        }

      again = filer_room_code_normalize (code, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (again, ==, code);

      g_assert_false (g_hash_table_contains (seen, code));
      g_hash_table_add (seen, code);
    }

  for (guint c = 0; c < 14; c++)
    for (guint s = 0; c != 4 && c != 9 && s < 32; s++)
      g_assert_cmpuint (counts[c][s], >, 0);
}

static void
test_normalize (void)
{
  static const struct {
    const char *typed;
    const char *canonical;
  } good[] = {
    { "7KQ2-M9XD-4TPB", "7KQ2-M9XD-4TPB" },
    { "7kq2 m9xd 4tpb", "7KQ2-M9XD-4TPB" },
    { "  7kq2m9xd4tpb\n", "7KQ2-M9XD-4TPB" },
    { "7-K-Q-2-M-9-X-D", "7KQ2-M9XD" },
    /* What people confuse with digits is the digit. */
    { "oOiIlL01", "0011-1101" },
    { "ABCDEFGHJ", "ABCD-EFGH-J" },
    /* 32 symbols: the most. */
    { "00000000000000000000000000000000", "0000-0000-0000-0000-0000-0000-0000-0000" },
  };
  static const struct {
    const char         *typed;
    int                 code;
  } bad[] = {
    { "", FILER_ROOM_CODE_ERROR_TOO_SHORT },
    { "blue", FILER_ROOM_CODE_ERROR_TOO_SHORT },
    { "1234567", FILER_ROOM_CODE_ERROR_TOO_SHORT },
    { "---- ---- ----", FILER_ROOM_CODE_ERROR_TOO_SHORT },
    { "123 456 7", FILER_ROOM_CODE_ERROR_TOO_SHORT },
    { "000000000000000000000000000000000", FILER_ROOM_CODE_ERROR_TOO_LONG },
    { "blue-otter", FILER_ROOM_CODE_ERROR_INVALID_CHARACTER },
    { "ABCD_EFGH", FILER_ROOM_CODE_ERROR_INVALID_CHARACTER },
    { "ABCD;EFGH", FILER_ROOM_CODE_ERROR_INVALID_CHARACTER },
    { "ÄBCDEFGHJ", FILER_ROOM_CODE_ERROR_INVALID_CHARACTER },
    /* Fullwidth digits are digits to Unicode, not to a room code. */
    { "１２３４５６７８", FILER_ROOM_CODE_ERROR_INVALID_CHARACTER },
    { "ABCD\xff" "EFGH", FILER_ROOM_CODE_ERROR_INVALID_CHARACTER },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *room = filer_room_code_normalize (good[i].typed, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (room, ==, good[i].canonical);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *room = filer_room_code_normalize (bad[i].typed, &error);
      g_autofree char *shown = g_strescape (bad[i].typed, NULL);

      g_test_message ("“%s”", shown);
      g_assert_null (room);
      g_assert_error (error, FILER_ROOM_CODE_ERROR, bad[i].code);
    }

  /* A long paste costs no more than its first 33 symbols. */
  {
    g_autofree char *huge = g_strnfill (1 << 20, 'A');
    g_autoptr(GError) error = NULL;
    g_autofree char *room = filer_room_code_normalize (huge, &error);

    g_assert_null (room);
    g_assert_error (error, FILER_ROOM_CODE_ERROR, FILER_ROOM_CODE_ERROR_TOO_LONG);
  }
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/room-code/generate", test_generate);
  g_test_add_func ("/filer/room-code/normalize", test_normalize);

  return g_test_run ();
}
