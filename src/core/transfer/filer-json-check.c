/* filer-json-check.c: strict RFC 8259 checking before json-glib
 *
 * Every JSON text a peer sends (an offer, an accept) passes here before
 * json-glib sees it, in one pass that builds nothing:
 *
 *  - json-glib 1.6 parses recursively: 100,000 nested '[' (100 KB)
 *    overflow the stack. Nesting past FILER_JSON_MAX_DEPTH is refused
 *    here, and this checker's own recursion stops at that depth.
 *  - json-glib builds the whole tree before it can be counted: 16 MiB of
 *    minimal entries are about 450,000 of them and 400 MB of nodes, for
 *    an offer whose header said one file. The values two levels down
 *    ({"files":[here, here]}) are counted, and the text refused as soon
 *    as there are more than the header announced.
 *  - json-glib is laxer than RFC 8259 (it takes the last of two equal
 *    member names, a byte-order mark, leading zeros, single quotes,
 *    unknown escapes, raw control characters in strings): what is not
 *    RFC 8259 JSON is refused, and so is a member name twice in one
 *    object, whatever escapes spell it (docs/protocol.md §3.1).
 *  - json-glib turns "\u0000" into a C string that silently ends there:
 *    "a.txt\u0000.exe" would read "a.txt". Its presence is reported.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-json-check-private.h"

typedef struct
{
  const guchar     *start;
  const guchar     *p;
  const guchar     *end;
  guint             depth;
  guint64           elements;
  guint64           max_elements;
  gboolean          escaped_nul;
  FilerJsonVerdict  verdict;
  char             *problem;
} Check;

static gboolean
fail (Check            *c,
      FilerJsonVerdict  verdict,
      const char       *what)
{
  if (c->verdict == FILER_JSON_OK)
    {
      c->verdict = verdict;
      c->problem = g_strdup_printf ("%s (byte %" G_GSIZE_FORMAT ")", what, (gsize)(c->p - c->start));
    }
  return FALSE;
}

static void
skip_space (Check *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int
hex4 (Check        *c,
      const guchar *at)
{
  int value = 0;

  if (c->end - at < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (at[i]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  return value;
}

/* A string at c->p; its decoded text goes to @decoded if not NULL. */
static gboolean
check_string (Check   *c,
              GString *decoded)
{
  static const char simple[] = "\"\\/bfnrt";
  static const char meaning[] = "\"\\/\b\f\n\r\t";

  c->p++;
  while (c->p < c->end)
    {
      guchar ch = *c->p;
      const char *escape;
      int unit;

      if (ch == '"')
        {
          c->p++;
          return TRUE;
        }
      if (ch < 0x20)
        return fail (c, FILER_JSON_INVALID, "a control character inside a string");
      if (ch != '\\')
        {
          if (decoded != NULL)
            g_string_append_c (decoded, ch);
          c->p++;
          continue;
        }

      if (c->end - c->p < 2)
        break;
      if (c->p[1] != 'u')
        {
          escape = c->p[1] != '\0' ? strchr (simple, c->p[1]) : NULL;
          if (escape == NULL)
            return fail (c, FILER_JSON_INVALID, "an unknown escape in a string");
          if (decoded != NULL)
            g_string_append_c (decoded, meaning[escape - simple]);
          c->p += 2;
          continue;
        }

      unit = hex4 (c, c->p + 2);
      if (unit < 0)
        return fail (c, FILER_JSON_INVALID, "a \\u escape without four hex digits");
      c->p += 6;
      if (unit == 0)
        c->escaped_nul = TRUE;
      if (unit >= 0xDC00 && unit <= 0xDFFF)
        return fail (c, FILER_JSON_INVALID, "a lone low surrogate");
      if (unit >= 0xD800 && unit <= 0xDBFF)
        {
          int low = c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' ? hex4 (c, c->p + 2) : -1;

          if (low < 0xDC00 || low > 0xDFFF)
            return fail (c, FILER_JSON_INVALID, "a high surrogate without its low half");
          c->p += 6;
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        }
      if (decoded != NULL)
        g_string_append_unichar (decoded, unit);
    }

  return fail (c, FILER_JSON_INVALID, "a string without its closing quote");
}

static gboolean
digits (Check *c)
{
  const guchar *from = c->p;

  while (c->p < c->end && g_ascii_isdigit (*c->p))
    c->p++;
  return c->p > from;
}

/* RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? —
 * which numbers a message takes is the parser's business (§3.1). */
static gboolean
check_number (Check *c)
{
  if (*c->p == '-')
    c->p++;
  if (c->p < c->end && *c->p == '0')
    c->p++;
  else if (c->p >= c->end || *c->p < '1' || *c->p > '9' || !digits (c))
    return fail (c, FILER_JSON_INVALID, "a malformed number");

  if (c->p < c->end && *c->p == '.')
    {
      c->p++;
      if (!digits (c))
        return fail (c, FILER_JSON_INVALID, "a malformed number");
    }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
    {
      c->p++;
      if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
        c->p++;
      if (!digits (c))
        return fail (c, FILER_JSON_INVALID, "a malformed number");
    }
  return TRUE;
}

static gboolean
check_literal (Check      *c,
               const char *word)
{
  gsize n = strlen (word);

  if ((gsize)(c->end - c->p) < n || memcmp (c->p, word, n) != 0)
    return fail (c, FILER_JSON_INVALID, "an unexpected character");
  c->p += n;
  return TRUE;
}

static gboolean check_value (Check    *c,
                             gboolean  counted);

/* '{' or '[' at c->p: one level deeper; the values of a container two
 * levels down are the ones counted. */
static gboolean
enter (Check     *c,
       gboolean  *counted)
{
  if (++c->depth > FILER_JSON_MAX_DEPTH)
    return fail (c, FILER_JSON_TOO_DEEP, "nested too deeply");
  *counted = c->depth == 2;
  c->p++;
  skip_space (c);
  return TRUE;
}

static gboolean
check_array (Check *c)
{
  gboolean counted;

  if (!enter (c, &counted))
    return FALSE;
  if (c->p < c->end && *c->p == ']')
    {
      c->p++;
      c->depth--;
      return TRUE;
    }

  for (;;)
    {
      if (!check_value (c, counted))
        return FALSE;
      skip_space (c);
      if (c->p < c->end && *c->p == ',')
        c->p++;
      else if (c->p < c->end && *c->p == ']')
        {
          c->p++;
          c->depth--;
          return TRUE;
        }
      else
        return fail (c, FILER_JSON_INVALID, "an array without , or ] after a value");
    }
}

static gboolean
check_object (Check *c)
{
  g_autoptr(GHashTable) names = NULL;
  gboolean counted;

  if (!enter (c, &counted))
    return FALSE;
  if (c->p < c->end && *c->p == '}')
    {
      c->p++;
      c->depth--;
      return TRUE;
    }

  names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (;;)
    {
      g_autoptr(GString) name = g_string_new (NULL);

      skip_space (c);
      if (c->p >= c->end || *c->p != '"')
        return fail (c, FILER_JSON_INVALID, "an object member without a quoted name");
      if (!check_string (c, name))
        return FALSE;
      if (!g_hash_table_add (names, g_string_free (g_steal_pointer (&name), FALSE)))
        return fail (c, FILER_JSON_INVALID, "a member name twice in one object");
      skip_space (c);
      if (c->p >= c->end || *c->p != ':')
        return fail (c, FILER_JSON_INVALID, "an object member without : after its name");
      c->p++;
      if (!check_value (c, counted))
        return FALSE;
      skip_space (c);
      if (c->p < c->end && *c->p == ',')
        c->p++;
      else if (c->p < c->end && *c->p == '}')
        {
          c->p++;
          c->depth--;
          return TRUE;
        }
      else
        return fail (c, FILER_JSON_INVALID, "an object without , or } after a member");
    }
}

static gboolean
check_value (Check    *c,
             gboolean  counted)
{
  skip_space (c);
  if (c->p >= c->end || *c->p == ']' || *c->p == '}' || *c->p == ',')
    return fail (c, FILER_JSON_INVALID, "a value is missing");
  if (counted && ++c->elements > c->max_elements)
    return fail (c, FILER_JSON_TOO_MANY, "more entries than announced");

  switch (*c->p)
    {
    case '{':
      return check_object (c);
    case '[':
      return check_array (c);
    case '"':
      return check_string (c, NULL);
    case 't':
      return check_literal (c, "true");
    case 'f':
      return check_literal (c, "false");
    case 'n':
      return check_literal (c, "null");
    default:
      if (*c->p == '-' || g_ascii_isdigit (*c->p))
        return check_number (c);
      return fail (c, FILER_JSON_INVALID, "an unexpected character");
    }
}

/**
 * filer_json_check:
 * @text: the JSON text (not NUL-terminated)
 * @length: its length in bytes
 * @max_elements: how many values two levels down are allowed
 * @escaped_nul: (out): whether a string holds \u0000
 * @problem: (out) (transfer full) (optional): what is wrong, and where
 *
 * Returns: %FILER_JSON_OK if @text is one RFC 8259 JSON value, UTF-8, no
 *   deeper than %FILER_JSON_MAX_DEPTH, with no member name twice in an
 *   object and at most @max_elements values two levels down
 */
FilerJsonVerdict
filer_json_check (const char  *text,
                  gsize        length,
                  guint64      max_elements,
                  gboolean    *escaped_nul,
                  char       **problem)
{
  Check c = { 0 };

  c.start = c.p = (const guchar *)text;
  c.end = c.p + length;
  c.max_elements = max_elements;

  if (length >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    fail (&c, FILER_JSON_INVALID, "a byte-order mark");
  else if (!g_utf8_validate_len (text, length, NULL))
    fail (&c, FILER_JSON_INVALID, "bytes that are not UTF-8 (or a NUL)");
  else if (check_value (&c, FALSE))
    {
      skip_space (&c);
      if (c.p != c.end)
        fail (&c, FILER_JSON_INVALID, "more after the JSON value");
    }

  *escaped_nul = c.escaped_nul;
  if (problem != NULL)
    *problem = g_steal_pointer (&c.problem);
  g_free (c.problem);
  return c.verdict;
}
