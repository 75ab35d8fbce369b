/* filer-frame-decoder.c: incremental decoder of the framed protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-frame-decoder.h"

/* Bytes arrive in any split: one at a time, or many frames in one read.
 * The decoder buffers them and hands out whole frames. Once it has seen
 * a malformed frame it stays failed: the stream has lost its framing and
 * nothing after that point can be trusted.
 */
struct _FilerFrameDecoder
{
  GObject     parent_instance;

  GByteArray *buffer;
  gsize       consumed;             /* bytes of buffer already decoded */
  gsize       max_content_length;

  /* A frame whose header is decoded and whose content is awaited. */
  FilerFrame *pending;
  gsize       pending_content_length;

  GError     *failure;
};

G_DEFINE_FINAL_TYPE (FilerFrameDecoder, filer_frame_decoder, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MAX_CONTENT_LENGTH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
filer_frame_decoder_finalize (GObject *object)
{
  FilerFrameDecoder *self = (FilerFrameDecoder *)object;

  g_clear_pointer (&self->buffer, g_byte_array_unref);
  g_clear_pointer (&self->pending, filer_frame_unref);
  g_clear_error (&self->failure);

  G_OBJECT_CLASS (filer_frame_decoder_parent_class)->finalize (object);
}

static void
filer_frame_decoder_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  FilerFrameDecoder *self = FILER_FRAME_DECODER (object);

  switch (prop_id)
    {
    case PROP_MAX_CONTENT_LENGTH:
      g_value_set_uint64 (value, self->max_content_length);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_frame_decoder_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  FilerFrameDecoder *self = FILER_FRAME_DECODER (object);

  switch (prop_id)
    {
    case PROP_MAX_CONTENT_LENGTH:
      filer_frame_decoder_set_max_content_length (self, g_value_get_uint64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_frame_decoder_class_init (FilerFrameDecoderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = filer_frame_decoder_finalize;
  object_class->get_property = filer_frame_decoder_get_property;
  object_class->set_property = filer_frame_decoder_set_property;

  /**
   * FilerFrameDecoder:max-content-length:
   *
   * The largest CL accepted; a larger one is %FILER_FRAME_ERROR_TOO_LARGE
   * before any of the content is buffered. 0 means the default, 16 MiB.
   */
  properties[PROP_MAX_CONTENT_LENGTH] =
    g_param_spec_uint64 ("max-content-length", NULL, NULL,
                         0, G_MAXSIZE, FILER_FRAME_DEFAULT_MAX_CONTENT_LENGTH,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_frame_decoder_init (FilerFrameDecoder *self)
{
  self->buffer = g_byte_array_new ();
  self->max_content_length = FILER_FRAME_DEFAULT_MAX_CONTENT_LENGTH;
}

/**
 * filer_frame_decoder_new:
 * @max_content_length: the largest CL to accept, or 0 for the default
 */
FilerFrameDecoder *
filer_frame_decoder_new (gsize max_content_length)
{
  return g_object_new (FILER_TYPE_FRAME_DECODER,
                       "max-content-length", (guint64)max_content_length,
                       NULL);
}

gsize
filer_frame_decoder_get_max_content_length (FilerFrameDecoder *self)
{
  g_return_val_if_fail (FILER_IS_FRAME_DECODER (self), 0);

  return self->max_content_length;
}

void
filer_frame_decoder_set_max_content_length (FilerFrameDecoder *self,
                                            gsize              max_content_length)
{
  g_return_if_fail (FILER_IS_FRAME_DECODER (self));

  if (max_content_length == 0)
    max_content_length = FILER_FRAME_DEFAULT_MAX_CONTENT_LENGTH;

  if (self->max_content_length != max_content_length)
    {
      self->max_content_length = max_content_length;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONTENT_LENGTH]);
    }
}

/**
 * filer_frame_decoder_feed:
 * @self: a decoder
 * @data: (array length=length): bytes read from the stream
 * @length: the number of bytes
 *
 * Appends bytes; call filer_frame_decoder_next() until it returns %NULL.
 */
void
filer_frame_decoder_feed (FilerFrameDecoder *self,
                          const void        *data,
                          gsize              length)
{
  g_return_if_fail (FILER_IS_FRAME_DECODER (self));
  g_return_if_fail (data != NULL || length == 0);

  if (self->failure != NULL || length == 0)
    return;

  /* Drop what was decoded before growing, so the buffer stays about
   * the size of one frame plus one read. */
  if (self->consumed > 0 && self->consumed >= self->buffer->len / 2)
    {
      g_byte_array_remove_range (self->buffer, 0, self->consumed);
      self->consumed = 0;
    }

  g_byte_array_append (self->buffer, data, length);
}

gsize
filer_frame_decoder_get_buffered (FilerFrameDecoder *self)
{
  g_return_val_if_fail (FILER_IS_FRAME_DECODER (self), 0);

  return self->buffer->len - self->consumed;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static char *
unescape_value (const char  *text,
                gsize        length,
                GError     **error)
{
  g_autoptr(GString) out = g_string_sized_new (length);

  for (gsize i = 0; i < length; i++)
    {
      int high, low;

      if (text[i] != '%')
        {
          g_string_append_c (out, text[i]);
          continue;
        }

      high = i + 2 < length ? hex_value (text[i + 1]) : -1;
      low = i + 2 < length ? hex_value (text[i + 2]) : -1;

      if (high < 0 || low < 0)
        {
          g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_VALUE,
                       "Malformed percent escape in a header value");
          return NULL;
        }

      if (high == 0 && low == 0)
        {
          g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_VALUE,
                       "A header value may not contain NUL (%%00)");
          return NULL;
        }

      g_string_append_c (out, (char)(high << 4 | low));
      i += 2;
    }

  if (!g_utf8_validate_len (out->str, out->len, NULL))
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_UTF8,
                   "A header value decodes to invalid UTF-8");
      return NULL;
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Parses "key:value;key:value" into a frame and its CL. The header was
 * checked to be UTF-8 as a whole; each pair splits at its first ':'. */
static FilerFrame *
parse_header (const char  *header,
              gsize        length,
              gsize        max_content_length,
              gsize       *content_length,
              GError     **error)
{
  g_autoptr(FilerFrame) frame = filer_frame_new (NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean have_length = FALSE;
  const char *end = header + length;
  const char *pair = header;

  if (!g_utf8_validate_len (header, length, NULL))
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_UTF8,
                   "The header is not valid UTF-8");
      return NULL;
    }

  while (pair < end)
    {
      const char *pair_end = memchr (pair, ';', end - pair);
      const char *colon;
      g_autofree char *key = NULL;
      g_autofree char *folded = NULL;
      g_autofree char *value = NULL;

      if (pair_end == NULL)
        pair_end = end;

      colon = memchr (pair, ':', pair_end - pair);
      if (colon == NULL)
        {
          g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_KEY,
                       "A header pair has no ':'");
          return NULL;
        }

      key = g_strndup (pair, colon - pair);
      if (!filer_frame_is_valid_key (key))
        {
          g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_KEY,
                       "A header key is empty or not a token");
          return NULL;
        }

      folded = g_ascii_strdown (key, -1);
      if (g_hash_table_contains (seen, folded))
        {
          g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_DUPLICATE_KEY,
                       "Header key “%s” appears twice", key);
          return NULL;
        }
      g_hash_table_add (seen, g_steal_pointer (&folded));

      if (!(value = unescape_value (colon + 1, pair_end - colon - 1, error)))
        return NULL;

      if (g_ascii_strcasecmp (key, "CL") == 0)
        {
          guint64 parsed = 0;
          gboolean digits = *value != '\0' && strspn (value, "0123456789") == strlen (value);

          if (!digits || strlen (value) > 20 ||
              !g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &parsed, NULL))
            {
              g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_LENGTH,
                           "CL is not a decimal number");
              return NULL;
            }

          if (parsed > max_content_length)
            {
              g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE,
                           "CL of %" G_GUINT64_FORMAT " bytes is over the limit of %" G_GSIZE_FORMAT,
                           parsed, max_content_length);
              return NULL;
            }

          *content_length = parsed;
          have_length = TRUE;
        }
      else
        filer_frame_set (frame, key, value);

      if (pair_end == end)
        break;

      /* A ';' must be followed by another pair: no trailing ';'. */
      pair = pair_end + 1;
      if (pair == end)
        {
          g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_KEY,
                       "The header ends with ';'");
          return NULL;
        }
    }

  if (!have_length)
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_MISSING_LENGTH,
                   "The header has no CL");
      return NULL;
    }

  return g_steal_pointer (&frame);
}

static gboolean
fail (FilerFrameDecoder  *self,
      GError             *failure,
      GError            **error)
{
  g_assert (self->failure == NULL);

  self->failure = failure;
  g_propagate_error (error, g_error_copy (failure));
  return FALSE;
}

/**
 * filer_frame_decoder_next:
 * @self: a decoder
 * @error: a #GError
 *
 * Returns: (transfer full) (nullable): the next whole frame, or %NULL
 *   when more bytes are needed (@error unset) or the stream is malformed
 *   (@error set; every later call fails the same way)
 */
FilerFrame *
filer_frame_decoder_next (FilerFrameDecoder  *self,
                          GError            **error)
{
  const guint8 *data;
  gsize available;

  g_return_val_if_fail (FILER_IS_FRAME_DECODER (self), NULL);

  if (self->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (self->failure));
      return NULL;
    }

  data = self->buffer->data + self->consumed;
  available = self->buffer->len - self->consumed;

  if (self->pending == NULL)
    {
      GError *local_error = NULL;
      gsize header_length;

      if (available < 2)
        return NULL;

      header_length = data[0] | (data[1] << 8);
      if (available < 2 + header_length)
        return NULL;

      self->pending = parse_header ((const char *)data + 2, header_length,
                                    self->max_content_length,
                                    &self->pending_content_length,
                                    &local_error);
      if (self->pending == NULL)
        {
          fail (self, local_error, error);
          return NULL;
        }

      self->consumed += 2 + header_length;
      data += 2 + header_length;
      available -= 2 + header_length;
    }

  if (available < self->pending_content_length)
    return NULL;

  if (self->pending_content_length > 0)
    {
      g_autoptr(GBytes) content = g_bytes_new (data, self->pending_content_length);

      filer_frame_set_content (self->pending, content);
      self->consumed += self->pending_content_length;
    }

  if (self->consumed == self->buffer->len)
    {
      g_byte_array_set_size (self->buffer, 0);
      self->consumed = 0;
    }

  self->pending_content_length = 0;
  return g_steal_pointer (&self->pending);
}

/**
 * filer_frame_decoder_finish:
 * @self: a decoder
 * @error: a #GError
 *
 * Call at end of stream. Fails with %FILER_FRAME_ERROR_TRUNCATED if the
 * stream ended inside a frame.
 */
gboolean
filer_frame_decoder_finish (FilerFrameDecoder  *self,
                            GError            **error)
{
  g_return_val_if_fail (FILER_IS_FRAME_DECODER (self), FALSE);

  if (self->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (self->failure));
      return FALSE;
    }

  if (self->pending != NULL || self->buffer->len > self->consumed)
    return fail (self,
                 g_error_new (FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED,
                              "The stream ended inside a frame"),
                 error);

  return TRUE;
}
