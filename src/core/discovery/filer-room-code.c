/* filer-room-code.c: room codes that nobody can guess, and typed ones checked
 *
 * A room lets devices on different networks see each other, so whoever
 * knows the code sees who is in the room (name, id, addresses). A code
 * must therefore not be guessable: a generated one is 60 random bits in
 * Crockford's base32, shown in groups of four ("7KQ2-M9XD-4TPB"), and a
 * typed one needs at least 40 bits. The server rate-limits new rooms per
 * address (filer-server-admission.c), so searching even 40 bits takes
 * an attacker with a thousand addresses centuries.
 *
 * Normalizing makes a code read aloud or typed by hand the same code:
 * case, dashes and spaces do not count, and the letters people confuse
 * with digits (O, I, L) are those digits. The canonical form is upper
 * case in dash-separated groups of four; the client sends it and the
 * server normalizes again, so both sides agree whatever a peer sends
 * (docs/protocol.md §2.9).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "filer-room-code.h"

G_DEFINE_QUARK (filer-room-code-error-quark, filer_room_code_error)

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define GROUP_LENGTH 4

static void
append_grouped (GString *code,
                char     symbol)
{
  /* Count the symbols so far: every GROUP_LENGTH + 1 characters a dash. */
  if (code->len > 0 && code->len % (GROUP_LENGTH + 1) == GROUP_LENGTH)
    g_string_append_c (code, '-');
  g_string_append_c (code, symbol);
}

/**
 * filer_room_code_generate:
 *
 * Makes a new room code of %FILER_ROOM_CODE_GENERATED_LENGTH symbols
 * from the kernel's random source, in its canonical form.
 *
 * Returns: (transfer full): the code
 */
char *
filer_room_code_generate (void)
{
  guint8 random[FILER_ROOM_CODE_GENERATED_LENGTH];
  GString *code = g_string_new (NULL);

  /* getrandom() of up to 256 bytes returns them all once the pool is
   * ready, and it blocks until then. */
  if (getrandom (random, sizeof random, 0) != (gssize) sizeof random)
    g_error ("getrandom() failed: %s", g_strerror (errno));

  /* One byte a symbol, of which 5 bits: uniform, since 256 is a
   * multiple of 32. */
  for (gsize i = 0; i < sizeof random; i++)
    append_grouped (code, alphabet[random[i] % 32]);

  return g_string_free (code, FALSE);
}

static char
normalize_symbol (gunichar c)
{
  if (c < 128)
    c = g_ascii_toupper (c);
  switch (c)
    {
    case 'O':
      return '0';
    case 'I':
    case 'L':
      return '1';
    default:
      /* The alphabet is ASCII; strchr() would also find the NUL. */
      if (c != 0 && c < 128 && strchr (alphabet, (int) c) != NULL)
        return (char) c;
      return 0;
    }
}

/**
 * filer_room_code_normalize:
 * @text: a room code as typed or received, UTF-8
 * @error: where to say why it was refused
 *
 * Checks a room code and returns it in the canonical form: upper case,
 * O read as 0, I and L as 1, in dash-separated groups of four. Dashes
 * and white space may stand anywhere and do not count.
 *
 * Returns: (transfer full) (nullable): the canonical code, or %NULL with
 *   @error set (%FILER_ROOM_CODE_ERROR)
 */
char *
filer_room_code_normalize (const char  *text,
                           GError     **error)
{
  g_autoptr(GString) code = g_string_new (NULL);
  guint symbols = 0;
  gunichar bad = 0;

  g_return_val_if_fail (text != NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, FILER_ROOM_CODE_ERROR, FILER_ROOM_CODE_ERROR_INVALID_CHARACTER,
                           "A room code is text");
      return NULL;
    }

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      char symbol;

      if (c == '-' || g_unichar_isspace (c))
        continue;

      /* Stop counting past the limit: the length is all we need. */
      if (++symbols > FILER_ROOM_CODE_MAX_LENGTH)
        {
          g_set_error (error, FILER_ROOM_CODE_ERROR, FILER_ROOM_CODE_ERROR_TOO_LONG,
                       "A room code has at most %d letters and digits",
                       FILER_ROOM_CODE_MAX_LENGTH);
          return NULL;
        }

      symbol = normalize_symbol (c);
      if (symbol == 0 && bad == 0)
        bad = c;
      append_grouped (code, symbol != 0 ? symbol : '?');
    }

  /* Too short first: "blue" is refused for being guessable, whatever
   * its letters. */
  if (symbols < FILER_ROOM_CODE_MIN_LENGTH)
    {
      g_set_error (error, FILER_ROOM_CODE_ERROR, FILER_ROOM_CODE_ERROR_TOO_SHORT,
                   "A room code has at least %d letters and digits, so that nobody can guess it",
                   FILER_ROOM_CODE_MIN_LENGTH);
      return NULL;
    }

  if (bad != 0)
    {
      char text_bad[8] = { 0 };

      g_unichar_to_utf8 (bad, text_bad);
      g_set_error (error, FILER_ROOM_CODE_ERROR, FILER_ROOM_CODE_ERROR_INVALID_CHARACTER,
                   "A room code has only digits and letters other than U, not “%s”", text_bad);
      return NULL;
    }

  return g_string_free (g_steal_pointer (&code), FALSE);
}
