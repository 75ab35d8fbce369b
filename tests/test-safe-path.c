/* test-safe-path.c: hostile names never escape the download folder
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libfiler.h"
#include "filer-test-util.h"

/* The corpus: names a hostile or broken peer might send. Each entry is
 * raw bytes (length given, so NUL can be inside). */
typedef struct
{
  const char *bytes;
  gssize      length;   /* -1: NUL-terminated */
  const char *why;
} Hostile;

static const Hostile corpus[] = {
  { "../x", -1, "parent" },
  { "/etc/x", -1, "absolute" },
  { "a/../../x", -1, "parent inside" },
  { "..", -1, "parent alone" },
  { ".", -1, "dot alone" },
  { "", -1, "empty" },
  { "/", -1, "root" },
  { "//etc/passwd", -1, "double-slash absolute" },
  { "a//b", -1, "empty component" },
  { "a/", -1, "trailing slash" },
  { "./x", -1, "dot component" },
  { "a/./b", -1, "dot inside" },
  { "x/..", -1, "trailing parent" },
  { "a/b/../../../etc/passwd", -1, "deep parent" },
  { "~/../../x", -1, "home then parent" },
  { "x\0y", 3, "NUL inside" },
  { "x\0/../../etc/passwd", 19, "NUL then traversal" },
  { "evil\n.txt", -1, "newline" },
  { "tab\there", -1, "tab" },
  { "cr\r", -1, "carriage return" },
  { "esc\x1b[31mred", -1, "terminal escape" },
  { "del\x7f", -1, "DEL" },
  { "c1\xc2\x85next", -1, "C1 control (NEL)" },
  { "back\\slash", -1, "backslash" },
  { "..\\..\\windows\\system32", -1, "Windows traversal" },
  { "C:\\Windows\\x", -1, "Windows drive" },
  { "\xff\xfe.txt", -1, "invalid UTF-8" },
  { "\xc0\xae\xc0\xae/x", -1, "overlong UTF-8 dots" },
  { "bidi\xe2\x80\xaetxt.exe", -1, "right-to-left override" },
  { ".filer-0123456789abcdef.part", -1, "our own partial-file name" },
  { NULL, 0, "component over 255 bytes" },   /* built in code */
  { NULL, 1, "over 64 folders deep" },       /* built in code */
  { NULL, 2, "path over 4095 bytes" },       /* built in code */
};

static const char * const good_names[] = {
  "a.txt", "dir/sub/file", "日本語/名前.txt", "name with spaces", "semi;colon%percent",
  ".hidden", "...", "a..b", "~", "-rf", "x.tar.gz", "emoji 🎉.png",
};

static char *
corpus_name (guint   i,
             gsize  *length)
{
  const Hostile *h = &corpus[i];
  GString *s;

  if (h->bytes != NULL)
    {
      *length = h->length >= 0 ? (gsize)h->length : strlen (h->bytes);
      return g_memdup2 (h->bytes, *length + 1);
    }

  s = g_string_new (NULL);
  switch (h->length)
    {
    case 0:
      for (guint k = 0; k < 256; k++)
        g_string_append_c (s, 'a');
      break;
    case 1:
      for (guint k = 0; k < 65; k++)
        g_string_append (s, k == 0 ? "d" : "/d");
      break;
    default:
      for (guint k = 0; k < 40; k++)
        g_string_append (s, k == 0 ? "" : "/");
      g_string_truncate (s, 0);
      for (guint k = 0; k < 20; k++)
        {
          for (guint c = 0; c < 250; c++)
            g_string_append_c (s, 'b');
          if (k < 19)
            g_string_append_c (s, '/');
        }
      break;
    }
  *length = s->len;
  return g_string_free (s, FALSE);
}

static void
test_corpus_refused (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (corpus), >=, 30);

  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    {
      gsize length;
      g_autofree char *name = corpus_name (i, &length);
      g_autoptr(GError) error = NULL;

      /* Through C, a NUL ends the string: what is left must still be
       * refused or be harmless; the protocol test below sends the real
       * bytes. */
      if (filer_safe_path_check (name, &error))
        {
          g_assert_cmpuint (strlen (name), <, length);   /* only NUL cases */
          continue;
        }
      g_assert_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME);
      g_test_message ("refused (%s): %s", corpus[i].why, error->message);
    }
}

static void
test_good_names (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good_names); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (filer_safe_path_check (good_names[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_numbered (void)
{
  const struct { const char *in; const char *out; } cases[] = {
    { "photo.jpg", "photo (1).jpg" },
    { "backup.tar.gz", "backup (1).tar.gz" },
    { "README", "README (1)" },
    { ".bashrc", ".bashrc (1)" },
    { "my.holiday.jpg", "my.holiday (1).jpg" },
    { "trailing.", "trailing. (1)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *numbered = filer_safe_path_numbered (cases[i].in, 1);
      g_assert_cmpstr (numbered, ==, cases[i].out);
    }
}

/* ------------------------------------------------------------------ */
/* Through the real protocol, against a real receiver                  */

typedef struct
{
  char                 *root;
  char                 *inbox;
  char                 *outside;
  FilerTransferService *bob;
  FilerFrameConnection *raw;
  GPtrArray            *frames;
  gboolean              closed;
  gboolean              hello_done;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->root = g_dir_make_tmp ("filer-safe-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->inbox = g_build_filename (fixture->root, "inbox", NULL);
  fixture->outside = g_build_filename (fixture->root, "outside", NULL);
  g_mkdir (fixture->inbox, 0755);
  g_mkdir (fixture->outside, 0755);

  fixture->bob = filer_test_service_new ("Bob", fixture->inbox);
  filer_transfer_service_set_accept_all (fixture->bob, TRUE);
  filer_transfer_service_listen (fixture->bob, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  fixture->frames = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  struct stat st;

  if (lstat (path, &st) < 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  if (fixture->raw != NULL)
    {
      g_signal_handlers_disconnect_by_data (fixture->raw, fixture);
      filer_frame_connection_close (fixture->raw);
    }
  g_clear_object (&fixture->raw);
  g_clear_object (&fixture->bob);
  g_clear_pointer (&fixture->frames, g_ptr_array_unref);
  filer_test_spin (20);
  remove_tree (fixture->root);
  g_free (fixture->root);
  g_free (fixture->inbox);
  g_free (fixture->outside);
}

static void
raw_frame_cb (FilerFrameConnection *connection,
              FilerFrame           *frame,
              Fixture              *fixture)
{
  g_ptr_array_add (fixture->frames, filer_frame_ref (frame));
}

static void
raw_closed_cb (FilerFrameConnection *connection,
               const GError         *error,
               Fixture              *fixture)
{
  fixture->closed = TRUE;
}

static void
raw_hello_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (filer_transfer_hello_finish (FILER_FRAME_CONNECTION (object), result, NULL, NULL, &error));
  g_assert_no_error (error);
  fixture->hello_done = TRUE;
}

/* A hand-made client with its own key: connects, runs TLS, says hello as
 * "Mallory", and then sends whatever the test wants. */
static void
raw_connect (Fixture *fixture)
{
  g_autoptr(FilerIdentity) mallory = filer_test_identity_new ();
  g_autoptr(GIOStream) stream = NULL;
  const char *bob_id = filer_transfer_service_get_device_id (fixture->bob);

  stream = filer_test_connect_tls (filer_transfer_service_get_port (fixture->bob), mallory,
                                   bob_id, NULL);
  if (fixture->raw != NULL)
    {
      g_signal_handlers_disconnect_by_data (fixture->raw, fixture);
      filer_frame_connection_close (fixture->raw);
      g_clear_object (&fixture->raw);
    }
  g_ptr_array_set_size (fixture->frames, 0);
  fixture->closed = FALSE;
  fixture->hello_done = FALSE;
  fixture->raw = filer_frame_connection_new (stream);
  filer_transfer_hello_async (fixture->raw, filer_identity_get_id (mallory), "Mallory", bob_id,
                              NULL, NULL, raw_hello_cb, fixture);
  filer_test_wait_for (&fixture->hello_done, 5000, "the hello");
  g_signal_connect (fixture->raw, "frame-received", G_CALLBACK (raw_frame_cb), fixture);
  g_signal_connect (fixture->raw, "closed", G_CALLBACK (raw_closed_cb), fixture);
  filer_frame_connection_resume (fixture->raw);
}

/* JSON by hand, so that any byte (NUL included, as \u0000) gets through. */
static void
append_json_string (GString    *json,
                    const char *bytes,
                    gsize       length)
{
  g_string_append_c (json, '"');
  for (gsize i = 0; i < length; i++)
    {
      guchar c = bytes[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (json, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (json, "\\u%04x", c);
      else
        g_string_append_c (json, c);
    }
  g_string_append_c (json, '"');
}

static void
send_offer (Fixture    *fixture,
            const char *name,
            gsize       length)
{
  g_autoptr(FilerFrame) offer = filer_frame_new ("offer");
  g_autoptr(GString) json = g_string_new ("{\"files\":[{\"path\":");
  g_autoptr(GBytes) content = NULL;

  append_json_string (json, name, length);
  g_string_append (json, ",\"size\":5,\"chunks\":1}]}");
  content = g_bytes_new (json->str, json->len);

  filer_frame_set (offer, "transfer", "hostile-1");
  filer_frame_set_uint (offer, "files", 1);
  filer_frame_set_uint (offer, "size", 5);
  filer_frame_set_uint (offer, "chunk-size", 32768);
  filer_frame_set_content (offer, content);
  filer_frame_connection_send (fixture->raw, offer);
}

static FilerFrame *
find_frame (Fixture    *fixture,
            const char *type)
{
  for (guint i = 0; i < fixture->frames->len; i++)
    if (filer_frame_is (g_ptr_array_index (fixture->frames, i), type))
      return g_ptr_array_index (fixture->frames, i);
  return NULL;
}

static gboolean
answered_or_closed (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->closed || find_frame (fixture, "decline") != NULL ||
         find_frame (fixture, "accept") != NULL || find_frame (fixture, "error") != NULL;
}

static guint
count_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
test_hostile_offers (Fixture       *fixture,
                     gconstpointer  user_data)
{
  guint parent_before = count_entries (fixture->root);

  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    {
      gsize length;
      g_autofree char *name = corpus_name (i, &length);
      FilerFrame *decline;

      raw_connect (fixture);
      send_offer (fixture, name, length);
      filer_test_wait_until (answered_or_closed, fixture, 5000, "the receiver's answer");

      /* Never accepted. Names the JSON layer already refuses (invalid
       * UTF-8) end in a protocol error; every other is declined as unsafe. */
      g_assert_null (find_frame (fixture, "accept"));
      decline = find_frame (fixture, "decline");
      if (decline != NULL)
        g_assert_cmpstr (filer_frame_get (decline, "code"), ==, "unsafe-name");
      else
        g_assert_nonnull (find_frame (fixture, "error"));
      g_test_message ("%-28s → %s", corpus[i].why,
                      decline != NULL ? filer_frame_get (decline, "message")
                                      : filer_frame_get (find_frame (fixture, "error"), "message"));

      g_assert_cmpuint (count_entries (fixture->inbox), ==, 0);
      g_assert_cmpuint (count_entries (fixture->outside), ==, 0);
      g_assert_cmpuint (count_entries (fixture->root), ==, parent_before);
    }
}

static void
test_protocol_abuse (Fixture       *fixture,
                     gconstpointer  user_data)
{
  /* A chunk past the announced size: the receiver refuses it, keeps no
   * file, and keeps serving (a second, honest offer still works). */
  g_autoptr(FilerFrame) file = filer_frame_new ("file");
  g_autoptr(FilerFrame) chunk = filer_frame_new ("chunk");
  g_autoptr(GBytes) ten = g_bytes_new_static ("0123456789", 10);

  raw_connect (fixture);
  send_offer (fixture, "ok.txt", 6);
  filer_test_wait_until (answered_or_closed, fixture, 5000, "the receiver's answer");
  g_assert_nonnull (find_frame (fixture, "accept"));

  filer_frame_set_uint (file, "index", 0);
  filer_frame_set_uint (file, "offset", 0);
  filer_frame_connection_send (fixture->raw, file);
  filer_frame_set_content (chunk, ten);   /* 10 bytes into a 5-byte file */
  filer_frame_connection_send (fixture->raw, chunk);
  filer_test_wait_for (&fixture->closed, 5000, "the receiver to hang up");
  g_assert_nonnull (find_frame (fixture, "error"));
  g_assert_cmpstr (filer_frame_get (find_frame (fixture, "error"), "code"), ==, "protocol");

  filer_test_spin (100);
  g_assert_cmpuint (count_entries (fixture->inbox), ==, 0);

  /* Still serving. */
  raw_connect (fixture);
  send_offer (fixture, "ok.txt", 6);
  filer_test_wait_until (answered_or_closed, fixture, 5000, "the receiver's answer");
  g_assert_nonnull (find_frame (fixture, "accept"));
}

static void
send_offer_json (Fixture    *fixture,
                 const char *json,
                 gsize       length,
                 guint64     files,
                 guint64     size)
{
  g_autoptr(FilerFrame) offer = filer_frame_new ("offer");
  g_autoptr(GBytes) content = g_bytes_new (json, length);

  filer_frame_set (offer, "transfer", "hostile-2");
  filer_frame_set_uint (offer, "files", files);
  filer_frame_set_uint (offer, "size", size);
  filer_frame_set_uint (offer, "chunk-size", 32768);
  filer_frame_set_content (offer, content);
  filer_frame_connection_send (fixture->raw, offer);
}

static void
assert_refused_and_serving (Fixture *fixture)
{
  filer_test_wait_until (answered_or_closed, fixture, 10000, "the receiver's answer");
  g_assert_null (find_frame (fixture, "accept"));
  g_assert_nonnull (find_frame (fixture, "error"));
  g_assert_cmpstr (filer_frame_get (find_frame (fixture, "error"), "code"), ==, "protocol");
  g_assert_cmpuint (count_entries (fixture->inbox), ==, 0);

  /* The receiver lives on: an honest offer is still accepted. */
  raw_connect (fixture);
  send_offer (fixture, "ok.txt", 6);
  filer_test_wait_until (answered_or_closed, fixture, 5000, "the receiver's answer");
  g_assert_nonnull (find_frame (fixture, "accept"));
}

/* Issue 10: 100,000 '[' (100 KB) overflowed json-glib's recursive parser
 * and killed the receiver before any check; a deep but well-formed
 * member is refused the same way. */
static void
test_deep_json (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GString) brackets = g_string_new (NULL);
  g_autoptr(GString) nested = g_string_new ("{\"files\":[{\"path\":\"a.txt\",\"size\":5,\"chunks\":1,\"x\":");

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (brackets, '[');
  raw_connect (fixture);
  send_offer_json (fixture, brackets->str, brackets->len, 1, 5);
  assert_refused_and_serving (fixture);

  for (guint i = 0; i < 40; i++)
    g_string_append_c (nested, '[');
  for (guint i = 0; i < 40; i++)
    g_string_append_c (nested, ']');
  g_string_append (nested, "}]}");
  raw_connect (fixture);
  send_offer_json (fixture, nested->str, nested->len, 1, 5);
  assert_refused_and_serving (fixture);
}

/* docs/protocol.md §3.1: what is not RFC 8259 JSON is refused, though
 * json-glib 1.6 would take it (it keeps the last of two equal names: an
 * offer could show one path and mean another). */
typedef struct
{
  const char *json;
  gboolean    good;
  const char *what;
} JsonCase;

#define ENTRY_OF(path) "{\"files\":[{\"path\":" path ",\"size\":5,\"chunks\":1}]}"

static const JsonCase json_cases[] = {
  { ENTRY_OF ("\"a.txt\""), TRUE, "plain" },
  { ENTRY_OF ("\"caf\\u00e9 \\ud83d\\ude00.txt\""), TRUE, "\\u escapes and a surrogate pair" },
  { "{\"files\":[{\"path\":\"a.txt\",\"size\":5,\"chunks\":1,\"x\":[1,-2.5e3,true,null,{}]}],\"later\":\"\\/\"}",
    TRUE, "members for later versions, every kind of value" },
  { " \r\n\t" ENTRY_OF ("\"a.txt\"") " \n", TRUE, "white space around" },
  { "{\"files\":[{\"path\":\"a.txt\",\"size\":5,\"chunks\":1,\"path\":\"b.txt\"}]}", FALSE, "a name twice" },
  { "{\"files\":[{\"path\":\"a.txt\",\"size\":5,\"chunks\":1,\"p\\u0061th\":\"b.txt\"}]}", FALSE,
    "a name twice, once escaped" },
  { "\xEF\xBB\xBF" ENTRY_OF ("\"a.txt\""), FALSE, "a byte-order mark" },
  { "{\"files\":[{\"path\":\"a.txt\",\"size\":05,\"chunks\":1}]}", FALSE, "a leading zero" },
  { "{'files':[{'path':'a.txt','size':5,'chunks':1}]}", FALSE, "single quotes" },
  { ENTRY_OF ("\"a\\x41.txt\""), FALSE, "an unknown escape" },
  { ENTRY_OF ("\"a\tb.txt\""), FALSE, "a raw tab in a string" },
  { ENTRY_OF ("\"\\udc00.txt\""), FALSE, "a lone low surrogate" },
  { ENTRY_OF ("\"\\ud800.txt\""), FALSE, "a high surrogate alone" },
  { ENTRY_OF ("\"a.txt\"") " x", FALSE, "more after the value" },
  { "{\"files\":[{\"path\":\"a.txt\",\"size\":5,\"chunks\":1},]}", FALSE, "a trailing comma" },
  { ENTRY_OF ("\"caf\xC3\"") , FALSE, "broken UTF-8" },
  { "{\"files\":[{\"path\":\"a.txt\",\"size\":5,\"chunks\":1}]", FALSE, "an unclosed object" },
};

static void
test_strict_json (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (json_cases); i++)
    {
      const JsonCase *test = &json_cases[i];
      g_autoptr(GBytes) content = g_bytes_new_static (test->json, strlen (test->json));
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) files = filer_transfer_offer_from_json (content, 1, 5, &error);

      g_test_message ("%s: %s", test->what, error != NULL ? error->message : "taken");
      if (test->good)
        {
          g_assert_no_error (error);
          g_assert_nonnull (files);
        }
      else
        {
          g_assert_null (files);
          g_assert_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL);
        }
    }
}

/* The same through a real receiver: a name twice is refused, and it
 * serves on. */
static void
test_strict_json_receiver (Fixture       *fixture,
                           gconstpointer  user_data)
{
  const char *twice = json_cases[4].json;

  raw_connect (fixture);
  send_offer_json (fixture, twice, strlen (twice), 1, 5);
  assert_refused_and_serving (fixture);
}

/* Issue 10: 2,048 files of 8 PiB and one of 10 bytes: the sizes wrapped
 * to 10, passed the free-space check, and the receiver accepted. */
static void
test_size_overflow (Fixture       *fixture,
                    gconstpointer  user_data)
{
  const guint64 huge = G_GUINT64_CONSTANT (1) << 53;   /* 8 PiB, the largest size allowed */
  g_autoptr(GString) json = g_string_new ("{\"files\":[");

  for (guint i = 0; i < 2048; i++)
    g_string_append_printf (json, "{\"path\":\"big-%u\",\"size\":%" G_GUINT64_FORMAT
                            ",\"chunks\":%" G_GUINT64_FORMAT "},",
                            i, huge, huge / 32768);
  g_string_append (json, "{\"path\":\"small\",\"size\":10,\"chunks\":1}]}");

  raw_connect (fixture);
  send_offer_json (fixture, json->str, json->len, 2049, 10);
  assert_refused_and_serving (fixture);
}

/* An offer of no files is nothing a person could say no to: the
 * receiver refuses it as a protocol error (not `declined`, which tells
 * the sender's user that someone refused) and keeps serving. */
static void
test_empty_offer (Fixture       *fixture,
                  gconstpointer  user_data)
{
  static const char empty[] = "{\"files\":[]}";

  raw_connect (fixture);
  send_offer_json (fixture, empty, strlen (empty), 0, 0);
  filer_test_wait_until (answered_or_closed, fixture, 10000, "the receiver's answer");
  g_assert_null (find_frame (fixture, "decline"));
  assert_refused_and_serving (fixture);
}

/* The entries-per-offer cap (FILER_TRANSFER_MAX_FILES, §3.3): an offer at
 * the cap is put to the receiver; one over it is refused with `protocol`,
 * whether its header says so or hides it (a header of one file in front
 * of a list over the cap is refused by counting, before json-glib builds
 * a node of it: the message says which check it was). */
static GString *
many_entries_json (guint n)
{
  GString *json = g_string_new ("{\"files\":[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (json, "%s{\"path\":\"f%u\",\"size\":0,\"chunks\":0}",
                            i > 0 ? "," : "", i);
  g_string_append (json, "]}");
  return json;
}

static void
test_offer_entries (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(GString) at_cap = many_entries_json (FILER_TRANSFER_MAX_FILES);
  g_autoptr(GString) over_cap = many_entries_json (FILER_TRANSFER_MAX_FILES + 1);
  FilerFrame *error;

  raw_connect (fixture);
  send_offer_json (fixture, at_cap->str, at_cap->len, FILER_TRANSFER_MAX_FILES, 0);
  filer_test_wait_until (answered_or_closed, fixture, 30000, "the receiver's answer");
  g_assert_null (find_frame (fixture, "error"));
  g_assert_nonnull (find_frame (fixture, "accept"));

  raw_connect (fixture);
  send_offer_json (fixture, over_cap->str, over_cap->len, FILER_TRANSFER_MAX_FILES + 1, 0);
  filer_test_wait_until (answered_or_closed, fixture, 10000, "the receiver's answer");
  error = find_frame (fixture, "error");
  g_assert_nonnull (error);
  g_test_message ("over the cap: %s", filer_frame_get (error, "message"));
  g_assert_cmpstr (filer_frame_get (error, "code"), ==, "protocol");
  g_assert_nonnull (strstr (filer_frame_get (error, "message"), "more files than a receiver takes"));
  assert_refused_and_serving (fixture);

  raw_connect (fixture);
  send_offer_json (fixture, over_cap->str, over_cap->len, 1, 0);
  filer_test_wait_until (answered_or_closed, fixture, 10000, "the receiver's answer");
  error = find_frame (fixture, "error");
  g_assert_nonnull (error);
  g_test_message ("a header of one file: %s", filer_frame_get (error, "message"));
  g_assert_cmpstr (filer_frame_get (error, "code"), ==, "protocol");
  g_assert_nonnull (strstr (filer_frame_get (error, "message"), "more entries than its header announces"));
  assert_refused_and_serving (fixture);
}

static gboolean
is_finished (gpointer user_data)
{
  return filer_transfer_is_finished (FILER_TRANSFER (user_data));
}

static void
test_planted_symlinks (Fixture       *fixture,
                       gconstpointer  user_data)
{
  /* Someone planted symlinks in the download folder pointing outside it:
   * a folder link, a file link, and a link where a partial file would go.
   * Files with those names arrive: nothing may be written outside. */
  g_autofree char *outbox = g_build_filename (fixture->root, "outbox", NULL);
  g_autofree char *alice_inbox = g_build_filename (fixture->root, "alice-inbox", NULL);
  g_autofree char *evil_dir = g_build_filename (outbox, "evil", NULL);
  g_autofree char *evil_file = g_build_filename (evil_dir, "x.txt", NULL);
  g_autofree char *link_file = g_build_filename (outbox, "link.txt", NULL);
  g_autofree char *part_file = g_build_filename (outbox, "partial.bin", NULL);
  g_autofree char *target_dir = g_build_filename (fixture->inbox, "evil", NULL);
  g_autofree char *target_link = g_build_filename (fixture->inbox, "link.txt", NULL);
  g_autofree char *outside_file = g_build_filename (fixture->outside, "target.txt", NULL);
  g_autofree char *outside_part = g_build_filename (fixture->outside, "part-target", NULL);
  g_autoptr(FilerTransferService) alice = filer_test_service_new ("Alice", alice_inbox);
  g_autofree char *part_name = filer_transfer_part_name (filer_transfer_service_get_device_id (alice),
                                                         "partial.bin", 11);
  g_autofree char *planted_part = g_build_filename (fixture->inbox, part_name, NULL);
  g_autofree char *renamed_link = g_build_filename (fixture->inbox, "link (1).txt", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(FilerPeer) bob = filer_test_peer_for (fixture->bob);
  const char * const paths[] = { evil_dir, link_file, part_file, NULL };
  FilerTransfer *sent;

  g_mkdir_with_parents (evil_dir, 0755);
  g_assert_true (g_file_set_contents (evil_file, "through the folder link", -1, NULL));
  g_assert_true (g_file_set_contents (link_file, "through the file link", -1, NULL));
  g_assert_true (g_file_set_contents (part_file, "partial bin", -1, NULL));
  g_assert_true (g_file_set_contents (outside_file, "original", -1, NULL));

  g_assert_cmpint (symlink (fixture->outside, target_dir), ==, 0);
  g_assert_cmpint (symlink (outside_file, target_link), ==, 0);
  g_assert_cmpint (symlink (outside_part, planted_part), ==, 0);

  sent = filer_transfer_service_send (alice, bob, paths);
  filer_test_wait_until (is_finished, sent, 20000, "the transfer");

  /* The folder link and the planted partial file fail; the file link is
   * never overwritten, the new file gets "link (1).txt". */
  g_assert_cmpint (filer_transfer_get_state (sent), ==, FILER_TRANSFER_STATE_FAILED);
  g_assert_cmpuint (filer_transfer_get_files_failed (sent), ==, 2);
  g_assert_cmpuint (filer_transfer_get_files_done (sent), ==, 1);
  for (guint i = 0; i < 3; i++)
    g_test_message ("%s: %s", filer_transfer_file_get_path (filer_transfer_get_file (sent, i)),
                    filer_transfer_file_get_error_message (filer_transfer_get_file (sent, i)));

  g_assert_true (g_file_get_contents (outside_file, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "original");
  g_assert_cmpuint (count_entries (fixture->outside), ==, 1);
  g_assert_false (g_file_test (outside_part, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (renamed_link, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (target_link, G_FILE_TEST_IS_SYMLINK));
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/safe-path/corpus-refused", test_corpus_refused);
  g_test_add_func ("/filer/safe-path/good-names", test_good_names);
  g_test_add_func ("/filer/safe-path/numbered", test_numbered);
  g_test_add_func ("/filer/safe-path/strict-json", test_strict_json);
  g_test_add ("/filer/safe-path/strict-json-receiver", Fixture, NULL,
              fixture_set_up, test_strict_json_receiver, fixture_tear_down);
  g_test_add ("/filer/safe-path/hostile-offers", Fixture, NULL,
              fixture_set_up, test_hostile_offers, fixture_tear_down);
  g_test_add ("/filer/safe-path/protocol-abuse", Fixture, NULL,
              fixture_set_up, test_protocol_abuse, fixture_tear_down);
  g_test_add ("/filer/safe-path/planted-symlinks", Fixture, NULL,
              fixture_set_up, test_planted_symlinks, fixture_tear_down);
  g_test_add ("/filer/safe-path/deep-json", Fixture, NULL,
              fixture_set_up, test_deep_json, fixture_tear_down);
  g_test_add ("/filer/safe-path/size-overflow", Fixture, NULL,
              fixture_set_up, test_size_overflow, fixture_tear_down);
  g_test_add ("/filer/safe-path/empty-offer", Fixture, NULL,
              fixture_set_up, test_empty_offer, fixture_tear_down);
  g_test_add ("/filer/safe-path/offer-entries", Fixture, NULL,
              fixture_set_up, test_offer_entries, fixture_tear_down);

  return g_test_run ();
}
