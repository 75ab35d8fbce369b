/* filer-frame-decoder.c: incremental decoder of the framed protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-frame-decoder.h"

/* Bytes arrive in any split: one at a time, or many frames in one read.
 * The decoder keeps the blocks it was fed and hands out whole frames.
 *
 * Headers are small: they are gathered into `partial` and parsed there.
 * Contents are large (32 KiB chunks): one that lies whole inside a fed
 * block is handed out as a slice of that block, never copied; only one
 * that straddles blocks is gathered into `partial`.
 *
 * Once it has seen a malformed frame the decoder stays failed: the stream
 * has lost its framing and nothing after that point can be trusted.
 */
typedef struct
{
  GBytes *bytes;
  gsize   offset;     /* bytes of this block already taken */
} Block;

struct _FilerFrameDecoder
{
  GObject     parent_instance;

  GQueue      blocks;               /* of Block, oldest first */
  GByteArray *partial;              /* a header, or a straddling content */
  gsize       max_content_length;

  /* A frame whose header is decoded and whose content is awaited. */
  FilerFrame *pending;
  gsize       pending_content_length;

  GError     *failure;
};

static void
block_free (Block *block)
{
  g_bytes_unref (block->bytes);
  g_free (block);
}

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

  g_queue_clear_full (&self->blocks, (GDestroyNotify)block_free);
  g_clear_pointer (&self->partial, g_byte_array_unref);
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
  g_queue_init (&self->blocks);
  self->partial = g_byte_array_new ();
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
 * filer_frame_decoder_feed_bytes:
 * @self: a decoder
 * @bytes: bytes read from the stream; the decoder keeps a reference
 *
 * Appends bytes without copying them; call filer_frame_decoder_next()
 * until it returns %NULL. Frame contents may be slices of @bytes.
 */
void
filer_frame_decoder_feed_bytes (FilerFrameDecoder *self,
                                GBytes            *bytes)
{
  Block *block;

  g_return_if_fail (FILER_IS_FRAME_DECODER (self));
  g_return_if_fail (bytes != NULL);

  if (self->failure != NULL || g_bytes_get_size (bytes) == 0)
    return;

  block = g_new0 (Block, 1);
  block->bytes = g_bytes_ref (bytes);
  g_queue_push_tail (&self->blocks, block);
}

/**
 * filer_frame_decoder_feed:
 * @self: a decoder
 * @data: (array length=length): bytes read from the stream
 * @length: the number of bytes
 *
 * Appends a copy of the bytes; see filer_frame_decoder_feed_bytes().
 */
void
filer_frame_decoder_feed (FilerFrameDecoder *self,
                          const void        *data,
                          gsize              length)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (FILER_IS_FRAME_DECODER (self));
  g_return_if_fail (data != NULL || length == 0);

  bytes = g_bytes_new (data, length);
  filer_frame_decoder_feed_bytes (self, bytes);
}

gsize
filer_frame_decoder_get_buffered (FilerFrameDecoder *self)
{
  gsize buffered;

  g_return_val_if_fail (FILER_IS_FRAME_DECODER (self), 0);

  buffered = self->partial->len;
  for (GList *l = self->blocks.head; l != NULL; l = l->next)
    {
      Block *block = l->data;

      buffered += g_bytes_get_size (block->bytes) - block->offset;
    }

  return buffered;
}

/* Moves bytes from the fed blocks into `partial` until it holds @want
 * bytes. Returns FALSE if the blocks ran out first. */
static gboolean
gather (FilerFrameDecoder *self,
        gsize              want)
{
  while (self->partial->len < want)
    {
      Block *block = g_queue_peek_head (&self->blocks);
      gsize size;
      const guint8 *data;
      gsize n;

      if (block == NULL)
        return FALSE;

      data = g_bytes_get_data (block->bytes, &size);
      n = MIN (size - block->offset, want - self->partial->len);
      g_byte_array_append (self->partial, data + block->offset, n);
      block->offset += n;

      if (block->offset == size)
        block_free (g_queue_pop_head (&self->blocks));
    }

  return TRUE;
}

/* Takes @length content bytes: a slice of the front block when they lie
 * whole inside it, else gathered. Returns NULL if not all there yet. */
static GBytes *
take_content (FilerFrameDecoder *self,
              gsize              length)
{
  Block *block = g_queue_peek_head (&self->blocks);

  if (self->partial->len == 0 && block != NULL &&
      g_bytes_get_size (block->bytes) - block->offset >= length)
    {
      GBytes *slice = g_bytes_new_from_bytes (block->bytes, block->offset, length);

      block->offset += length;
      if (block->offset == g_bytes_get_size (block->bytes))
        block_free (g_queue_pop_head (&self->blocks));

      return slice;
    }

  if (!gather (self, length))
    return NULL;

  {
    GByteArray *gathered = g_steal_pointer (&self->partial);

    self->partial = g_byte_array_new ();
    return g_byte_array_free_to_bytes (gathered);
  }
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
  g_return_val_if_fail (FILER_IS_FRAME_DECODER (self), NULL);

  if (self->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (self->failure));
      return NULL;
    }

  if (self->pending == NULL)
    {
      GError *local_error = NULL;
      gsize header_length;

      if (!gather (self, 2))
        return NULL;

      header_length = self->partial->data[0] | (self->partial->data[1] << 8);
      if (!gather (self, 2 + header_length))
        return NULL;

      self->pending = parse_header ((const char *)self->partial->data + 2, header_length,
                                    self->max_content_length,
                                    &self->pending_content_length,
                                    &local_error);
      if (self->pending == NULL)
        {
          fail (self, local_error, error);
          return NULL;
        }

      g_byte_array_set_size (self->partial, 0);
    }

  if (self->pending_content_length > 0)
    {
      g_autoptr(GBytes) content = take_content (self, self->pending_content_length);

      if (content == NULL)
        return NULL;

      filer_frame_set_content (self->pending, content);
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

  if (self->pending != NULL || filer_frame_decoder_get_buffered (self) > 0)
    return fail (self,
                 g_error_new (FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED,
                              "The stream ended inside a frame"),
                 error);

  return TRUE;
}

/**
 * filer_frame_decode_datagram:
 * @data: (array length=length): one datagram
 * @length: its size
 * @max_content_length: the largest CL to accept, or 0 for the default
 * @error: a #GError
 *
 * A datagram carries exactly one frame (docs/protocol.md §1): anything
 * short of a whole frame, or bytes after it, is an error.
 *
 * Returns: (transfer full) (nullable): the frame, or %NULL with @error set
 */
FilerFrame *
filer_frame_decode_datagram (const void  *data,
                             gsize        length,
                             gsize        max_content_length,
                             GError     **error)
{
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (max_content_length);
  g_autoptr(FilerFrame) frame = NULL;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  filer_frame_decoder_feed (decoder, data, length);
  if (!(frame = filer_frame_decoder_next (decoder, error)))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED,
                     "The datagram ends inside a frame");
      return NULL;
    }

  if (filer_frame_decoder_get_buffered (decoder) != 0)
    {
      g_set_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED,
                   "The datagram holds more than one frame");
      return NULL;
    }

  return g_steal_pointer (&frame);
}
