/* filer-frame.c: one frame of the seed's protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-frame.h"

/* A frame is a short ordered list of key/value pairs plus content.
 * Frames carry a handful of keys, so a linear scan beats a hash table
 * and keeps the order the sender chose (which makes the wire bytes
 * predictable for the examples in docs/protocol.md).
 */
typedef struct
{
  char *key;
  char *value;
} Pair;

struct _FilerFrame
{
  gatomicrefcount  ref_count;
  GArray          *pairs;
  GBytes          *content;
};

G_DEFINE_QUARK (filer-frame-error-quark, filer_frame_error)
G_DEFINE_BOXED_TYPE (FilerFrame, filer_frame, filer_frame_ref, filer_frame_unref)

static void
pair_clear (gpointer data)
{
  Pair *pair = data;

  g_free (pair->key);
  g_free (pair->value);
}

/**
 * filer_frame_new:
 * @type: (nullable): the value of the "type" key, or %NULL for none
 *
 * Returns: (transfer full): a new frame with no content
 */
FilerFrame *
filer_frame_new (const char *type)
{
  FilerFrame *self = g_new0 (FilerFrame, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->pairs = g_array_sized_new (FALSE, FALSE, sizeof (Pair), 4);
  g_array_set_clear_func (self->pairs, pair_clear);

  if (type != NULL)
    filer_frame_set (self, "type", type);

  return self;
}

FilerFrame *
filer_frame_ref (FilerFrame *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
filer_frame_unref (FilerFrame *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_clear_pointer (&self->pairs, g_array_unref);
      g_clear_pointer (&self->content, g_bytes_unref);
      g_free (self);
    }
}

/**
 * filer_frame_is_valid_key:
 * @key: a key
 *
 * Keys are tokens: one or more ASCII letters, digits, '.', '_' or '-'.
 * They never need escaping, and they compare case-insensitively.
 */
gboolean
filer_frame_is_valid_key (const char *key)
{
  if (key == NULL || *key == '\0')
    return FALSE;

  for (const char *p = key; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;

  return TRUE;
}

static Pair *
find_pair (FilerFrame *self,
           const char *key)
{
  for (guint i = 0; i < self->pairs->len; i++)
    {
      Pair *pair = &g_array_index (self->pairs, Pair, i);

      if (g_ascii_strcasecmp (pair->key, key) == 0)
        return pair;
    }

  return NULL;
}

/**
 * filer_frame_set:
 * @self: a frame
 * @key: a key (see filer_frame_is_valid_key()); "CL" is reserved
 * @value: any UTF-8 text; the encoder escapes what needs it
 *
 * Sets @key to @value, replacing an earlier value of the same key.
 */
void
filer_frame_set (FilerFrame *self,
                 const char *key,
                 const char *value)
{
  Pair *pair;

  g_return_if_fail (self != NULL);
  g_return_if_fail (filer_frame_is_valid_key (key));
  g_return_if_fail (g_ascii_strcasecmp (key, "CL") != 0);
  g_return_if_fail (value != NULL);
  g_return_if_fail (g_utf8_validate (value, -1, NULL));

  if ((pair = find_pair (self, key)))
    {
      g_free (pair->value);
      pair->value = g_strdup (value);
    }
  else
    {
      Pair new_pair = { g_strdup (key), g_strdup (value) };

      g_array_append_val (self->pairs, new_pair);
    }
}

void
filer_frame_set_uint (FilerFrame *self,
                      const char *key,
                      guint64     value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_snprintf (buffer, sizeof buffer, "%" G_GUINT64_FORMAT, value);
  filer_frame_set (self, key, buffer);
}

/**
 * filer_frame_get:
 * @self: a frame
 * @key: a key, matched case-insensitively
 *
 * Returns: (nullable): the value, or %NULL if @key is not set
 */
const char *
filer_frame_get (FilerFrame *self,
                 const char *key)
{
  Pair *pair;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  pair = find_pair (self, key);
  return pair ? pair->value : NULL;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static gboolean
parse_decimal (const char *text,
               guint64     max,
               guint64    *value)
{
  guint64 result = 0;

  if (text == NULL || *text == '\0')
    return FALSE;

  for (const char *p = text; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      if (result > (G_MAXUINT64 - (guint64)(*p - '0')) / 10)
        return FALSE;
      result = result * 10 + (guint64)(*p - '0');
    }

  if (result > max)
    return FALSE;

  *value = result;
  return TRUE;
}

/**
 * filer_frame_get_uint:
 * @self: a frame
 * @key: a key
 * @max: the largest acceptable value
 * @value: (out): where to store the value
 * @error: a #GError
 *
 * Reads a decimal value that a peer sent. A missing key, anything but
 * plain digits, or a value over @max is a %FILER_FRAME_ERROR_BAD_VALUE.
 */
gboolean
filer_frame_get_uint (FilerFrame  *self,
                      const char  *key,
                      guint64      max,
                      guint64     *value,
                      GError     **error)
{
  const char *text;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  text = filer_frame_get (self, key);

  if (text == NULL)
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_VALUE,
                   "Missing key “%s”", key);
      return FALSE;
    }

  if (!parse_decimal (text, max, value))
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_VALUE,
                   "Key “%s” is not a number from 0 to %" G_GUINT64_FORMAT,
                   key, max);
      return FALSE;
    }

  return TRUE;
}

const char *
filer_frame_get_message_type (FilerFrame *self)
{
  return filer_frame_get (self, "type");
}

gboolean
filer_frame_is (FilerFrame *self,
                const char *type)
{
  return g_strcmp0 (filer_frame_get (self, "type"), type) == 0;
}

guint
filer_frame_get_n_keys (FilerFrame *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->pairs->len;
}

const char *
filer_frame_get_key (FilerFrame *self,
                     guint       position)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (position < self->pairs->len, NULL);

  return g_array_index (self->pairs, Pair, position).key;
}

void
filer_frame_set_content (FilerFrame *self,
                         GBytes     *content)
{
  g_return_if_fail (self != NULL);

  g_clear_pointer (&self->content, g_bytes_unref);
  if (content != NULL)
    self->content = g_bytes_ref (content);
}

/**
 * filer_frame_get_content:
 * @self: a frame
 *
 * Returns: (transfer none): the content; empty, never %NULL
 */
GBytes *
filer_frame_get_content (FilerFrame *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->content == NULL)
    self->content = g_bytes_new_static ("", 0);

  return self->content;
}

gsize
filer_frame_get_content_size (FilerFrame *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->content ? g_bytes_get_size (self->content) : 0;
}

static inline gboolean
needs_escape (guchar c)
{
  return c == '%' || c == ';' || c < 0x20 || c == 0x7f;
}

static void
append_escaped (GString    *out,
                const char *value)
{
  static const char hex[] = "0123456789ABCDEF";

  for (const guchar *p = (const guchar *)value; *p; p++)
    {
      if (needs_escape (*p))
        {
          g_string_append_c (out, '%');
          g_string_append_c (out, hex[*p >> 4]);
          g_string_append_c (out, hex[*p & 0xf]);
        }
      else
        g_string_append_c (out, *p);
    }
}

/**
 * filer_frame_escape_value:
 * @value: UTF-8 text
 *
 * Percent-encodes '%', ';' and the control characters U+0000–U+001F and
 * U+007F as "%XX" with upper-case hex digits. Everything else, ':'
 * included, goes as it is: a pair splits at its first ':'.
 *
 * Returns: (transfer full): the escaped value
 */
char *
filer_frame_escape_value (const char *value)
{
  GString *out = g_string_sized_new (strlen (value));

  append_escaped (out, value);
  return g_string_free (out, FALSE);
}

/**
 * filer_frame_encode_header:
 * @self: a frame
 * @error: a #GError
 *
 * Encodes the length prefix and header of @self, with CL first. The
 * content follows it on the wire as it is, so a writer can send both
 * with one writev() and never copy the content.
 *
 * Returns: (transfer full): the bytes, or %NULL if the header would be
 *   longer than 65535 bytes (%FILER_FRAME_ERROR_TOO_LARGE)
 */
GBytes *
filer_frame_encode_header (FilerFrame  *self,
                           GError     **error)
{
  g_autoptr(GString) out = NULL;
  gsize header_length;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_sized_new (64);
  g_string_append_len (out, "\0\0", 2);
  g_string_append_printf (out, "CL:%" G_GSIZE_FORMAT, filer_frame_get_content_size (self));

  for (guint i = 0; i < self->pairs->len; i++)
    {
      const Pair *pair = &g_array_index (self->pairs, Pair, i);

      g_string_append_c (out, ';');
      g_string_append (out, pair->key);
      g_string_append_c (out, ':');
      append_escaped (out, pair->value);
    }

  header_length = out->len - 2;
  if (header_length > FILER_FRAME_MAX_HEADER_LENGTH)
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE,
                   "Header of %" G_GSIZE_FORMAT " bytes is over the limit of %u",
                   header_length, FILER_FRAME_MAX_HEADER_LENGTH);
      return NULL;
    }

  out->str[0] = header_length & 0xff;
  out->str[1] = (header_length >> 8) & 0xff;

  return g_string_free_to_bytes (g_steal_pointer (&out));
}

/**
 * filer_frame_encode:
 * @self: a frame
 * @error: a #GError
 *
 * Returns: (transfer full): the whole frame as it goes on the wire
 */
GBytes *
filer_frame_encode (FilerFrame  *self,
                    GError     **error)
{
  g_autoptr(GBytes) header = NULL;
  GByteArray *out;
  gsize content_size;
  gconstpointer content;

  if (!(header = filer_frame_encode_header (self, error)))
    return NULL;

  content = g_bytes_get_data (filer_frame_get_content (self), &content_size);
  out = g_byte_array_sized_new (g_bytes_get_size (header) + content_size);
  g_byte_array_append (out,
                       g_bytes_get_data (header, NULL),
                       g_bytes_get_size (header));
  if (content_size > 0)
    g_byte_array_append (out, content, content_size);

  return g_byte_array_free_to_bytes (out);
}

/* Adds a "pad" key of 'x's so that the encoded frame has at least @size
 * bytes: a UDP request whose answer is bigger carries its own weight
 * (servers never answer an unproven datagram with more bytes than it
 * has, docs/protocol.md §2.6, §4.2). */
void
filer_frame_pad_to (FilerFrame *self,
                    gsize       size)
{
  g_autoptr(GBytes) bytes = filer_frame_encode (self, NULL);
  gsize have = bytes ? g_bytes_get_size (bytes) : 0;
  const gsize overhead = strlen (";pad:");
  g_autofree char *pad = NULL;

  if (bytes == NULL || have + overhead >= size)
    return;

  pad = g_strnfill (size - have - overhead, 'x');
  filer_frame_set (self, "pad", pad);
}
