/* test-frame.c: encoding frames, escaping values
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

static FilerFrame *
decode_one (const void *data,
            gsize       length)
{
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (0);
  g_autoptr(GError) error = NULL;
  FilerFrame *frame;

  filer_frame_decoder_feed (decoder, data, length);
  frame = filer_frame_decoder_next (decoder, &error);
  g_assert_no_error (error);
  g_assert_nonnull (frame);
  g_assert_true (filer_frame_decoder_finish (decoder, &error));
  g_assert_no_error (error);

  return frame;
}

static void
test_seed_example (void)
{
  static const char seed[] = "\x11\x00" "CL:7;type:messagecwsdwed";
  g_autoptr(FilerFrame) frame = decode_one (seed, sizeof seed - 1);
  gsize size;
  const char *content = g_bytes_get_data (filer_frame_get_content (frame), &size);

  g_assert_cmpuint (filer_frame_get_n_keys (frame), ==, 1);
  g_assert_cmpstr (filer_frame_get (frame, "type"), ==, "message");
  g_assert_cmpstr (filer_frame_get (frame, "TYPE"), ==, "message");
  g_assert_cmpmem (content, size, "cwsdwed", 7);

  /* CL is the codec's: callers never see it. */
  g_assert_null (filer_frame_get (frame, "CL"));
}

static void
test_encode_exact_bytes (void)
{
  static const char expected[] = "\x11\x00" "CL:7;type:messagecwsdwed";
  g_autoptr(FilerFrame) frame = filer_frame_new ("message");
  g_autoptr(GBytes) content = g_bytes_new_static ("cwsdwed", 7);
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GError) error = NULL;
  gsize size;
  const char *data;

  filer_frame_set_content (frame, content);
  encoded = filer_frame_encode (frame, &error);
  g_assert_no_error (error);

  data = g_bytes_get_data (encoded, &size);
  g_assert_cmpmem (data, size, expected, sizeof expected - 1);
}

/* The second example of docs/protocol.md §1.5, byte for byte. */
static void
test_encode_documented_example (void)
{
  static const char expected[] = "\x16\x00" "CL:0;type:x;name:a%3Bb";
  g_autoptr(FilerFrame) frame = filer_frame_new ("x");
  g_autoptr(GBytes) encoded = NULL;
  gsize size;
  const char *data;

  filer_frame_set (frame, "name", "a;b");
  encoded = filer_frame_encode (frame, NULL);
  data = g_bytes_get_data (encoded, &size);
  g_assert_cmpmem (data, size, expected, sizeof expected - 1);
}

static void
test_escape_hostile_values (void)
{
  static const struct {
    const char *value;
    const char *escaped;
  } cases[] = {
    { "plain", "plain" },
    { "a;b", "a%3Bb" },
    { "100%", "100%25" },
    { "%3B", "%253B" },
    { "line\nbreak\r", "line%0Abreak%0D" },
    { "tab\there", "tab%09here" },
    { "del\x7f", "del%7F" },
    { "key:value:more", "key:value:more" },
    { "名前;ファイル.txt", "名前%3Bファイル.txt" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = filer_frame_escape_value (cases[i].value);
      g_autoptr(FilerFrame) frame = filer_frame_new ("t");
      g_autoptr(FilerFrame) decoded = NULL;
      g_autoptr(GBytes) encoded = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpstr (escaped, ==, cases[i].escaped);

      filer_frame_set (frame, "name", cases[i].value);
      encoded = filer_frame_encode (frame, &error);
      g_assert_no_error (error);

      decoded = decode_one (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
      g_assert_cmpstr (filer_frame_get (decoded, "name"), ==, cases[i].value);
    }
}

static char *
random_text (guint max_chars)
{
  /* A mix of the characters that need escaping and ones that do not,
   * plus multi-byte UTF-8. */
  static const char * const alphabet[] = {
    "a", "Z", "0", ":", ";", "%", "\n", "\x01", "\x7f", " ", "é", "中", "🙂", "/", "=",
  };
  GString *out = g_string_new (NULL);
  guint n = g_test_rand_int_range (0, max_chars + 1);

  for (guint i = 0; i < n; i++)
    g_string_append (out, alphabet[g_test_rand_int_range (0, G_N_ELEMENTS (alphabet))]);

  return g_string_free (out, FALSE);
}

static void
test_random_round_trips (void)
{
  for (guint round = 0; round < 500; round++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new (NULL);
      g_autoptr(FilerFrame) decoded = NULL;
      g_autoptr(GBytes) encoded = NULL;
      g_autoptr(GBytes) content = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree guint8 *data = NULL;
      guint n_keys = g_test_rand_int_range (0, 8);
      gsize content_size = g_test_rand_int_range (0, 70000);

      for (guint k = 0; k < n_keys; k++)
        {
          g_autofree char *key = g_strdup_printf ("key-%u", k);
          g_autofree char *value = random_text (40);

          filer_frame_set (frame, key, value);
        }

      data = g_malloc (content_size + 1);
      for (gsize i = 0; i < content_size; i++)
        data[i] = g_test_rand_int_range (0, 256);
      content = g_bytes_new (data, content_size);
      filer_frame_set_content (frame, content);

      encoded = filer_frame_encode (frame, &error);
      g_assert_no_error (error);

      decoded = decode_one (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
      g_assert_cmpuint (filer_frame_get_n_keys (decoded), ==, n_keys);
      for (guint k = 0; k < n_keys; k++)
        {
          const char *key = filer_frame_get_key (frame, k);

          g_assert_cmpstr (filer_frame_get_key (decoded, k), ==, key);
          g_assert_cmpstr (filer_frame_get (decoded, key), ==, filer_frame_get (frame, key));
        }
      g_assert_true (g_bytes_equal (filer_frame_get_content (decoded), content));
    }
}

static void
test_header_too_large (void)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("big");
  g_autofree char *value = g_strnfill (FILER_FRAME_MAX_HEADER_LENGTH, 'x');
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GError) error = NULL;

  filer_frame_set (frame, "v", value);
  encoded = filer_frame_encode (frame, &error);
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE);
  g_assert_null (encoded);
}

static void
test_keys (void)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("t");

  g_assert_true (filer_frame_is_valid_key ("file-id"));
  g_assert_true (filer_frame_is_valid_key ("a.b_c"));
  g_assert_false (filer_frame_is_valid_key (""));
  g_assert_false (filer_frame_is_valid_key ("a:b"));
  g_assert_false (filer_frame_is_valid_key ("a;b"));
  g_assert_false (filer_frame_is_valid_key ("a b"));

  /* Setting a key again replaces it, whatever its case. */
  filer_frame_set (frame, "Name", "one");
  filer_frame_set (frame, "name", "two");
  g_assert_cmpuint (filer_frame_get_n_keys (frame), ==, 2);
  g_assert_cmpstr (filer_frame_get (frame, "NAME"), ==, "two");
  g_assert_true (filer_frame_is (frame, "t"));
}

static void
test_get_uint (void)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("t");
  const char * const bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1e3", "18446744073709551616", "101" };
  guint64 value = 0;
  g_autoptr(GError) error = NULL;

  filer_frame_set_uint (frame, "n", 18446744073709551615u);
  g_assert_true (filer_frame_get_uint (frame, "n", G_MAXUINT64, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (value, ==, G_MAXUINT64);

  g_assert_false (filer_frame_get_uint (frame, "missing", 100, &value, &error));
  g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_VALUE);
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      filer_frame_set (frame, "n", bad[i]);
      g_assert_false (filer_frame_get_uint (frame, "n", 100, &value, &error));
      g_assert_error (error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_VALUE);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/frame/seed-example", test_seed_example);
  g_test_add_func ("/filer/frame/encode-exact-bytes", test_encode_exact_bytes);
  g_test_add_func ("/filer/frame/encode-documented-example", test_encode_documented_example);
  g_test_add_func ("/filer/frame/escape-hostile-values", test_escape_hostile_values);
  g_test_add_func ("/filer/frame/random-round-trips", test_random_round_trips);
  g_test_add_func ("/filer/frame/header-too-large", test_header_too_large);
  g_test_add_func ("/filer/frame/keys", test_keys);
  g_test_add_func ("/filer/frame/get-uint", test_get_uint);

  return g_test_run ();
}
