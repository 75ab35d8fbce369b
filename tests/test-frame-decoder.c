/* test-frame-decoder.c: bytes in any split, and every malformed case
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "libfiler.h"
#include "filer-test-util.h"

/* Three frames back to back: the seed's, an empty one, one with an
 * escaped value and binary content. */
static GBytes *
make_stream (GPtrArray *frames)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(FilerFrame) a = filer_frame_new ("message");
  g_autoptr(FilerFrame) b = filer_frame_new (NULL);
  g_autoptr(FilerFrame) c = filer_frame_new ("chunk");
  g_autoptr(GBytes) a_content = g_bytes_new_static ("cwsdwed", 7);
  g_autoptr(GBytes) c_content = g_bytes_new_static ("\0\1\2;%:\xff", 7);

  filer_frame_set_content (a, a_content);
  filer_frame_set (c, "name", "a;b%c\nd");
  filer_frame_set_content (c, c_content);

  g_ptr_array_add (frames, filer_frame_ref (a));
  g_ptr_array_add (frames, filer_frame_ref (b));
  g_ptr_array_add (frames, filer_frame_ref (c));

  for (guint i = 0; i < frames->len; i++)
    {
      g_autoptr(GBytes) encoded = filer_frame_encode (frames->pdata[i], NULL);

      g_byte_array_append (out, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
assert_frames_equal (FilerFrame *a,
                     FilerFrame *b)
{
  g_assert_cmpuint (filer_frame_get_n_keys (a), ==, filer_frame_get_n_keys (b));
  for (guint k = 0; k < filer_frame_get_n_keys (a); k++)
    {
      const char *key = filer_frame_get_key (a, k);

      g_assert_cmpstr (filer_frame_get (b, key), ==, filer_frame_get (a, key));
    }
  g_assert_true (g_bytes_equal (filer_frame_get_content (a), filer_frame_get_content (b)));
}

static void
drain (FilerFrameDecoder *decoder,
       GPtrArray         *into)
{
  FilerFrame *frame;
  g_autoptr(GError) error = NULL;

  while ((frame = filer_frame_decoder_next (decoder, &error)))
    g_ptr_array_add (into, frame);
  g_assert_no_error (error);
}

/* Every way to cut the stream in two, three ways at random, and one
 * byte at a time. */
static void
test_every_split (void)
{
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);
  g_autoptr(GBytes) stream = make_stream (expected);
  gsize size;
  const guint8 *data = g_bytes_get_data (stream, &size);

  for (gsize cut = 0; cut <= size; cut++)
    {
      g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
      g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);
      g_autoptr(GError) error = NULL;

      filer_frame_decoder_feed (decoder, data, cut);
      drain (decoder, got);
      filer_frame_decoder_feed (decoder, data + cut, size - cut);
      drain (decoder, got);
      g_assert_true (filer_frame_decoder_finish (decoder, &error));

      g_assert_cmpuint (got->len, ==, expected->len);
      for (guint i = 0; i < got->len; i++)
        assert_frames_equal (expected->pdata[i], got->pdata[i]);
    }

  for (guint round = 0; round < 200; round++)
    {
      g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
      g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);
      gsize offset = 0;

      while (offset < size)
        {
          gsize n = MIN (size - offset, (gsize)g_test_rand_int_range (1, 9));

          filer_frame_decoder_feed (decoder, data + offset, n);
          drain (decoder, got);
          offset += n;
        }

      g_assert_cmpuint (got->len, ==, expected->len);
      for (guint i = 0; i < got->len; i++)
        assert_frames_equal (expected->pdata[i], got->pdata[i]);
    }
}

static void
test_many_frames_one_read (void)
{
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);

  for (guint i = 0; i < 1000; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("n");
      g_autoptr(GBytes) encoded = NULL;

      filer_frame_set_uint (frame, "i", i);
      encoded = filer_frame_encode (frame, NULL);
      g_byte_array_append (stream, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
    }

  filer_frame_decoder_feed (decoder, stream->data, stream->len);
  drain (decoder, got);
  g_assert_cmpuint (got->len, ==, 1000);
  for (guint i = 0; i < got->len; i++)
    {
      guint64 value;

      g_assert_true (filer_frame_get_uint (got->pdata[i], "i", G_MAXUINT, &value, NULL));
      g_assert_cmpuint (value, ==, i);
    }
  g_assert_cmpuint (filer_frame_decoder_get_buffered (decoder), ==, 0);
}

typedef struct
{
  const char      *name;
  const char      *header;   /* the length prefix is computed */
  gssize           header_length;
  FilerFrameError  code;
} Malformed;

static void
test_malformed (void)
{
  static const Malformed cases[] = {
    { "bad utf-8",         "CL:0;type:\xc3\x28", -1, FILER_FRAME_ERROR_BAD_UTF8 },
    { "raw NUL",           "CL:0;type:a\0b", 13, FILER_FRAME_ERROR_BAD_UTF8 },
    { "escaped bad utf-8", "CL:0;type:%C3%28", -1, FILER_FRAME_ERROR_BAD_UTF8 },
    { "missing CL",        "type:message", -1, FILER_FRAME_ERROR_MISSING_LENGTH },
    { "empty header",      "", -1, FILER_FRAME_ERROR_MISSING_LENGTH },
    { "negative CL",       "CL:-1", -1, FILER_FRAME_ERROR_BAD_LENGTH },
    { "signed CL",         "CL:+1", -1, FILER_FRAME_ERROR_BAD_LENGTH },
    { "hex CL",            "CL:0x10", -1, FILER_FRAME_ERROR_BAD_LENGTH },
    { "empty CL",          "CL:", -1, FILER_FRAME_ERROR_BAD_LENGTH },
    { "spaced CL",         "CL: 1", -1, FILER_FRAME_ERROR_BAD_LENGTH },
    { "huge CL",           "CL:99999999999999999999999", -1, FILER_FRAME_ERROR_BAD_LENGTH },
    { "oversized CL",      "CL:16777217", -1, FILER_FRAME_ERROR_TOO_LARGE },
    { "duplicate key",     "CL:0;type:a;TYPE:b", -1, FILER_FRAME_ERROR_DUPLICATE_KEY },
    { "duplicate CL",      "CL:0;cl:0", -1, FILER_FRAME_ERROR_DUPLICATE_KEY },
    { "key without colon", "CL:0;type", -1, FILER_FRAME_ERROR_BAD_KEY },
    { "empty key",         "CL:0;:x", -1, FILER_FRAME_ERROR_BAD_KEY },
    { "key with space",    "CL:0;my key:x", -1, FILER_FRAME_ERROR_BAD_KEY },
    { "empty pair",        "CL:0;;type:a", -1, FILER_FRAME_ERROR_BAD_KEY },
    { "trailing ;",        "CL:0;type:a;", -1, FILER_FRAME_ERROR_BAD_KEY },
    { "short escape",      "CL:0;type:a%4", -1, FILER_FRAME_ERROR_BAD_VALUE },
    { "bad escape",        "CL:0;type:a%zz", -1, FILER_FRAME_ERROR_BAD_VALUE },
    { "escaped NUL",       "CL:0;type:a%00", -1, FILER_FRAME_ERROR_BAD_VALUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
      g_autoptr(GByteArray) bytes = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) again = NULL;
      gsize length = cases[i].header_length >= 0 ? (gsize)cases[i].header_length
                                                 : strlen (cases[i].header);
      guint8 prefix[2] = { length & 0xff, length >> 8 };

      g_test_message ("case: %s", cases[i].name);

      g_byte_array_append (bytes, prefix, 2);
      g_byte_array_append (bytes, (const guint8 *)cases[i].header, length);
      /* Enough content for any CL the case might be misread as. */
      g_byte_array_append (bytes, (const guint8 *)"0123456789", 10);

      filer_frame_decoder_feed (decoder, bytes->data, bytes->len);
      g_assert_null (filer_frame_decoder_next (decoder, &error));
      g_assert_error (error, FILER_FRAME_ERROR, (int)cases[i].code);

      /* The stream has lost its framing: it stays failed. */
      filer_frame_decoder_feed (decoder, "\x04\x00" "CL:0", 6);
      g_assert_null (filer_frame_decoder_next (decoder, &again));
      g_assert_error (again, FILER_FRAME_ERROR, (int)cases[i].code);
    }
}

static void
test_max_content_length (void)
{
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (10);
  g_autoptr(FilerFrameDecoder) roomy = filer_frame_decoder_new (11);
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerFrame) frame = NULL;
  static const char header[] = "\x05\x00" "CL:11";

  /* Refused on the header alone, before any content is buffered. */
  filer_frame_decoder_feed (decoder, header, sizeof header - 1);
  g_assert_null (filer_frame_decoder_next (decoder, &error));
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE);

  filer_frame_decoder_feed (roomy, header, sizeof header - 1);
  filer_frame_decoder_feed (roomy, "hello world", 11);
  frame = filer_frame_decoder_next (roomy, NULL);
  g_assert_nonnull (frame);
  g_assert_cmpuint (filer_frame_get_content_size (frame), ==, 11);
}

static void
test_truncated (void)
{
  static const char whole[] = "\x11\x00" "CL:7;type:messagecwsdwed";

  /* The stream may end between frames, and nowhere else. */
  for (gsize cut = 0; cut <= sizeof whole - 1; cut++)
    {
      g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
      g_autoptr(FilerFrame) frame = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok;

      filer_frame_decoder_feed (decoder, whole, cut);
      frame = filer_frame_decoder_next (decoder, &error);
      g_assert_no_error (error);
      ok = filer_frame_decoder_finish (decoder, &error);

      if (cut == 0 || cut == sizeof whole - 1)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_true ((frame != NULL) == (cut != 0));
        }
      else
        {
          g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED);
          g_assert_false (ok);
          g_assert_null (frame);
        }
    }
}

static void
test_case_insensitive_keys (void)
{
  static const char stream[] = "\x0e\x00" "cl:2;TYPE:Pingok";
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
  g_autoptr(FilerFrame) frame = NULL;

  filer_frame_decoder_feed (decoder, stream, sizeof stream - 1);
  frame = filer_frame_decoder_next (decoder, NULL);
  g_assert_nonnull (frame);
  g_assert_cmpstr (filer_frame_get (frame, "type"), ==, "Ping");
  g_assert_cmpuint (filer_frame_get_content_size (frame), ==, 2);
}

/* A datagram is exactly one frame: not less, not more. */
static void
test_datagram (void)
{
  static const char one[] = "\x11\x00" "CL:7;type:messagecwsdwed";
  static const char two[] = "\x11\x00" "CL:7;type:messagecwsdwed" "\x04\x00" "CL:0";
  g_autoptr(FilerFrame) frame = NULL;
  g_autoptr(GError) error = NULL;

  frame = filer_frame_decode_datagram (one, sizeof one - 1, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (filer_frame_get (frame, "type"), ==, "message");

  g_assert_null (filer_frame_decode_datagram (one, sizeof one - 2, 0, &error));
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED);
  g_clear_error (&error);

  g_assert_null (filer_frame_decode_datagram (two, sizeof two - 1, 0, &error));
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED);
  g_clear_error (&error);

  g_assert_null (filer_frame_decode_datagram (one, sizeof one - 1, 6, &error));
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_assert_null (filer_frame_decode_datagram ("\x02\x00" "CL", 4, 0, &error));
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_KEY);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/frame-decoder/every-split", test_every_split);
  g_test_add_func ("/filer/frame-decoder/many-frames-one-read", test_many_frames_one_read);
  g_test_add_func ("/filer/frame-decoder/malformed", test_malformed);
  g_test_add_func ("/filer/frame-decoder/max-content-length", test_max_content_length);
  g_test_add_func ("/filer/frame-decoder/truncated", test_truncated);
  g_test_add_func ("/filer/frame-decoder/case-insensitive-keys", test_case_insensitive_keys);
  g_test_add_func ("/filer/frame-decoder/datagram", test_datagram);

  return g_test_run ();
}
