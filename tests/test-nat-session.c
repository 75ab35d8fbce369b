/* test-nat-session.c: the app's session crosses NATs
 *
 * In the NAT lab (test-natlab.c proves the lab, test-nat-traversal.c the
 * NAT client and filer-cli): three FilerSession objects, each in its own
 * process in its own namespace (tests/natlab/natlab-session.c), as three
 * apps on three networks. The one on the public host hosts the discovery
 * server in-process (no filer-server): its rendezvous and relay must
 * serve the other two, which sit behind NAT routers on LANs with the
 * same addresses, share a room code, and send a file with
 * filer_session_send_async(), as the window does when files are dropped
 * on a tile. The file must arrive and verify, over the path the lab's
 * pairing table expects ("direct" or "relay"; never "lan": the LAN
 * address is the sender's own).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "filer-natlab.h"
#include "filer-test-util.h"

#define HOST_PORT "47810"

typedef struct
{
  GDataInputStream *input;
  GString *lines;
  gboolean closed;
} Reader;

static void read_next (Reader *reader);

static void
line_read_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Reader *reader = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, NULL);
  if (line == NULL)
    {
      reader->closed = TRUE;
      return;
    }

  g_string_append_printf (reader->lines, "%s\n", line);
  read_next (reader);
}

static void
read_next (Reader *reader)
{
  g_data_input_stream_read_line_async (reader->input, G_PRIORITY_DEFAULT, NULL,
                                       line_read_cb, reader);
}

/* Collects a process's stdout lines as they come. */
static void
reader_init (Reader      *reader,
             GSubprocess *process)
{
  reader->input = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  reader->lines = g_string_new (NULL);
  reader->closed = FALSE;
  read_next (reader);
}

static void
reader_clear (Reader *reader)
{
  g_clear_object (&reader->input);
  if (reader->lines != NULL)
    g_string_free (reader->lines, TRUE);
  reader->lines = NULL;
}

static gboolean
host_ready (gpointer data)
{
  Reader *reader = data;

  return strstr (reader->lines->str, "hosting\n") != NULL || reader->closed;
}

static gboolean
lab_available (void)
{
  g_autofree char *reason = NULL;

  if (filer_natlab_available (&reason))
    return TRUE;

  g_test_skip (reason);
  return FALSE;
}

static char *
write_random_file (const char *dir,
                   const char *name,
                   gsize       size)
{
  g_autofree guint8 *data = g_malloc (size);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)g_random_int ();
  g_file_set_contents (path, (const char *)data, size, &error);
  g_assert_no_error (error);
  return path;
}

static void
assert_same_file (const char *a,
                  const char *b)
{
  g_autofree char *data_a = NULL;
  g_autofree char *data_b = NULL;
  gsize size_a = 0, size_b = 0;

  g_assert_true (g_file_get_contents (a, &data_a, &size_a, NULL));
  if (!g_file_get_contents (b, &data_b, &size_b, NULL))
    g_error ("%s did not arrive", b);
  g_assert_cmpmem (data_a, size_a, data_b, size_b);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
stop_process (GSubprocess *process)
{
  if (process == NULL)
    return;

  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

/* data: "FLAVOUR_A+FLAVOUR_B+PATH", PATH the one the sender must take. */
static void
test_session_send (gconstpointer data)
{
  g_auto(GStrv) parts = g_strsplit (data, "+", 3);
  const char *session_bin = g_getenv ("FILER_NATLAB_SESSION");
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSubprocess) host = NULL;
  g_autoptr(GSubprocess) receiver = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *inbox_h = NULL;
  g_autofree char *inbox_a = NULL;
  g_autofree char *inbox_b = NULL;
  g_autofree char *source = NULL;
  g_autofree char *target = NULL;
  g_autofree char *misdelivered = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *keys_h = NULL;
  g_autofree char *keys_a = NULL;
  g_autofree char *keys_b = NULL;
  g_autofree char *id_b = NULL;
  Reader host_out = { 0, };
  Reader sender_out = { 0, };

  if (!lab_available ())
    return;
  if (session_bin == NULL)
    {
      g_test_skip ("FILER_NATLAB_SESSION must name the program (meson test sets it)");
      return;
    }

  root = g_dir_make_tmp ("filer-nat-session-XXXXXX", &error);
  g_assert_no_error (error);
  outbox = g_build_filename (root, "outbox", NULL);
  inbox_h = g_build_filename (root, "inbox-host", NULL);
  inbox_a = g_build_filename (root, "inbox-a", NULL);
  inbox_b = g_build_filename (root, "inbox-b", NULL);
  g_mkdir (outbox, 0755);
  g_mkdir (inbox_h, 0755);
  g_mkdir (inbox_a, 0755);
  g_mkdir (inbox_b, 0755);
  keys_h = g_build_filename (root, "keys-host", NULL);
  keys_a = g_build_filename (root, "keys-a", NULL);
  keys_b = g_build_filename (root, "keys-b", NULL);
  g_free (filer_test_make_keys (keys_h));
  g_free (filer_test_make_keys (keys_a));
  id_b = filer_test_make_keys (keys_b);
  source = write_random_file (outbox, "holiday.bin", 2 * 1024 * 1024);
  target = g_build_filename (inbox_b, "holiday.bin", NULL);
  misdelivered = g_build_filename (inbox_a, "holiday.bin", NULL);

  lab = filer_natlab_new (parts[0], parts[1], 0, &error);
  g_assert_no_error (error);

  /* The public host: an app that finds no server and hosts one. */
  host = filer_natlab_spawn (lab, "srv", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                             session_bin, "--host", "--bind", FILER_NATLAB_SERVER_IP,
                             "--port", HOST_PORT, "--keys", keys_h, "--download", inbox_h,
                             "--timeout", "90", NULL);
  g_assert_no_error (error);
  reader_init (&host_out, host);
  filer_test_wait_until (host_ready, &host_out, 30000, "the public app to host the server");
  g_assert_false (host_out.closed);

  /* Two apps behind their routers (both 203.0.113.2), one room. */
  receiver = filer_natlab_spawn (lab, "b", G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                 session_bin, "--server", FILER_NATLAB_SERVER_IP ":" HOST_PORT,
                                 "--keys", keys_b, "--room", "NATLAB-2026", "--download", inbox_b,
                                 "--timeout", "90", NULL);
  g_assert_no_error (error);
  sender = filer_natlab_spawn (lab, "a", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               session_bin, "--server", FILER_NATLAB_SERVER_IP ":" HOST_PORT,
                               "--keys", keys_a, "--room", "NATLAB-2026", "--download", inbox_a,
                               "--send-to", id_b, "--path", source, "--timeout", "60", NULL);
  g_assert_no_error (error);
  reader_init (&sender_out, sender);

  filer_test_wait_for (&sender_out.closed, 90000, "the sending app to finish");
  g_test_message ("A=%s B=%s, the sending app said:\n%s", parts[0], parts[1], sender_out.lines->str);

  expected = g_strdup_printf ("sent path=%s state=completed", parts[2]);
  g_assert_nonnull (strstr (sender_out.lines->str, expected));
  g_subprocess_wait (sender, NULL, NULL);
  g_assert_true (g_subprocess_get_if_exited (sender));
  g_assert_cmpint (g_subprocess_get_exit_status (sender), ==, 0);
  assert_same_file (source, target);
  g_assert_false (g_file_test (misdelivered, G_FILE_TEST_EXISTS));

  stop_process (receiver);
  stop_process (host);
  filer_test_wait_for (&host_out.closed, 10000, "the public app's output to end");
  reader_clear (&sender_out);
  reader_clear (&host_out);
  remove_tree (root);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  /* Punched between two home routers; relayed (through the app-hosted
   * server) when the asking side is a symmetric NAT. */
  g_test_add_data_func ("/filer/nat/session/home-home", "home+home+direct", test_session_send);
  g_test_add_data_func ("/filer/nat/session/symmetric-home", "symmetric+home+relay", test_session_send);

  return g_test_run ();
}
