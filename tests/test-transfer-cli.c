/* test-transfer-cli.c: filer-cli send and receive, as processes, with a
 * real filer-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "filer-test-util.h"

/* Everything here is what a user would do: one filer-server, one
 * "filer-cli receive" and one "filer-cli send", each CLI with its own
 * config dir (so its own device id), found through discovery.
 */

typedef struct
{
  char            *root;
  FilerTestServer *server;
} Fixture;

typedef struct
{
  GSubprocess *process;
  char        *stdout_text;
  char        *stderr_text;
  gboolean     done;
} Cli;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->root = g_dir_make_tmp ("filer-cli-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->server = filer_test_server_start (NULL);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_clear_pointer (&fixture->server, filer_test_server_stop);
  remove_tree (fixture->root);
  g_free (fixture->root);
}

static void
communicate_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Cli *cli = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result,
                                        &cli->stdout_text, &cli->stderr_text, &error);
  g_assert_no_error (error);
  cli->done = TRUE;
}

/* Runs filer-cli with its own config dir (@who), collecting output. */
static Cli *
cli_start (Fixture            *fixture,
           const char         *who,
           const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                               G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *config = g_build_filename (fixture->root, who, "config", NULL);
  g_autofree char *home = g_build_filename (fixture->root, who, NULL);
  g_autoptr(GError) error = NULL;
  Cli *cli = g_new0 (Cli, 1);

  g_mkdir_with_parents (config, 0700);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);

  g_ptr_array_add (argv, (char *)g_getenv ("FILER_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, (char *)"--server");
  g_ptr_array_add (argv, (char *)filer_test_server_get_address (fixture->server));
  g_ptr_array_add (argv, NULL);

  cli->process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (cli->process, NULL, NULL, communicate_cb, cli);
  return cli;
}

static int
cli_wait (Cli *cli)
{
  filer_test_wait_for (&cli->done, 60000, "filer-cli to exit");
  g_subprocess_wait (cli->process, NULL, NULL);
  return g_subprocess_get_exit_status (cli->process);
}

static void
cli_free (Cli *cli)
{
  g_clear_object (&cli->process);
  g_free (cli->stdout_text);
  g_free (cli->stderr_text);
  g_free (cli);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cli, cli_free)

/* The last JSON event of @type in @text, one object per line. */
static JsonObject *
find_event (const char *text,
            const char *type,
            JsonParser *parser)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  JsonObject *found = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      JsonObject *object;

      if (*lines[i] == '\0')
        continue;
      /* --json: every line of stdout is JSON. */
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, &error));
      g_assert_no_error (error);
      object = json_node_get_object (json_parser_get_root (parser));
      if (g_strcmp0 (json_object_get_string_member (object, "event"), type) == 0)
        {
          g_clear_pointer (&found, json_object_unref);
          found = json_object_ref (object);
        }
    }
  return found;
}

static void
write_file (const char *path,
            gsize       size,
            guint32     seed)
{
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree guint8 *data = g_malloc (size);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < size; i++)
    data[i] = g_rand_int (rand);
  g_mkdir_with_parents (parent, 0755);
  g_assert_true (g_file_set_contents (path, (char *)data, size, NULL));
}

static void
assert_same (const char *a,
             const char *b)
{
  g_autofree char *x = NULL, *y = NULL;
  gsize nx, ny;

  g_assert_true (g_file_get_contents (a, &x, &nx, NULL));
  g_assert_true (g_file_get_contents (b, &y, &ny, NULL));
  g_assert_cmpuint (nx, ==, ny);
  g_assert_true (memcmp (x, y, nx) == 0);
}

static void
test_send_folder (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autofree char *folder = g_build_filename (fixture->root, "album", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  const char *names[] = { "album/a.jpg", "album/sub/b.jpg", "album/sub/deeper/c.txt" };
  const char * const receive_args[] = { "receive", "--dir", inbox, "--accept-all", "--once",
                                        "--json", "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--json", "--name", "Alice",
                                     folder, NULL };
  g_autoptr(Cli) receiver = NULL;
  g_autoptr(Cli) sender = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) summary = NULL;
  g_autoptr(JsonObject) offer = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (fixture->root, names[i], NULL);
      write_file (path, 50000 * (i + 1) + i, i);
    }

  /* The sender may start first: it waits for the receiver to appear. */
  sender = cli_start (fixture, "alice", send_args);
  receiver = cli_start (fixture, "bob", receive_args);

  g_assert_cmpint (cli_wait (sender), ==, 0);
  g_assert_cmpint (cli_wait (receiver), ==, 0);
  g_test_message ("sender said: %s", sender->stdout_text);

  summary = find_event (sender->stdout_text, "summary", parser);
  g_assert_nonnull (summary);
  g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (summary, "path"), ==, "lan");
  g_assert_cmpstr (json_object_get_string_member (summary, "peer"), ==, "Bob");
  g_assert_cmpint (json_object_get_int_member (summary, "files"), ==, 3);
  g_clear_pointer (&summary, json_object_unref);

  offer = find_event (receiver->stdout_text, "offer", parser);
  g_assert_nonnull (offer);
  g_assert_cmpstr (json_object_get_string_member (offer, "peer"), ==, "Alice");
  summary = find_event (receiver->stdout_text, "summary", parser);
  g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "completed");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *a = g_build_filename (fixture->root, names[i], NULL);
      g_autofree char *b = g_build_filename (inbox, names[i], NULL);
      assert_same (a, b);
    }
}

static void
test_text_output (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "notes.txt", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  const char * const receive_args[] = { "receive", "--dir", inbox, "--accept-all", "--once",
                                        "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  g_autoptr(Cli) receiver = NULL;
  g_autoptr(Cli) sender = NULL;

  write_file (file, 123456, 1);
  receiver = cli_start (fixture, "bob", receive_args);
  sender = cli_start (fixture, "alice", send_args);
  g_assert_cmpint (cli_wait (sender), ==, 0);
  g_assert_cmpint (cli_wait (receiver), ==, 0);

  /* Not a terminal: no progress bar, one summary line with files, bytes,
   * seconds, MB/s and the path. */
  g_test_message ("%s", sender->stdout_text);
  g_assert_null (strchr (sender->stdout_text, '\r'));
  g_assert_nonnull (strstr (sender->stdout_text, "Sent 1 file ("));
  g_assert_nonnull (strstr (sender->stdout_text, "123456 bytes"));
  g_assert_nonnull (strstr (sender->stdout_text, "MB/s"));
  g_assert_nonnull (strstr (sender->stdout_text, "path lan"));
}

static void
test_declined_without_terminal (Fixture       *fixture,
                                gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "x.bin", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  const char * const receive_args[] = { "receive", "--dir", inbox, "--once", "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  g_autoptr(Cli) receiver = NULL;
  g_autoptr(Cli) sender = NULL;

  write_file (file, 1000, 1);
  receiver = cli_start (fixture, "bob", receive_args);
  sender = cli_start (fixture, "alice", send_args);
  g_assert_cmpint (cli_wait (sender), ==, 1);
  g_assert_cmpint (cli_wait (receiver), ==, 1);

  /* One clear line, non-zero exit. */
  g_test_message ("%s", sender->stderr_text);
  g_assert_true (g_str_has_prefix (sender->stderr_text, "filer-cli: "));
  g_assert_nonnull (strstr (sender->stderr_text, "declined"));
  g_assert_nonnull (strstr (sender->stderr_text, "--accept-all"));
  g_assert_false (g_file_test (g_build_filename (inbox, "x.bin", NULL), G_FILE_TEST_EXISTS));
}

static void
test_unknown_peer (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "x.bin", NULL);
  const char * const send_args[] = { "send", "--to", "Nobody", "--timeout", "1", file, NULL };
  g_autoptr(Cli) sender = NULL;

  write_file (file, 10, 1);
  sender = cli_start (fixture, "alice", send_args);
  g_assert_cmpint (cli_wait (sender), ==, 1);
  g_test_message ("%s", sender->stderr_text);
  g_assert_true (g_str_has_prefix (sender->stderr_text, "filer-cli: "));
  g_assert_cmpuint (strlen (sender->stderr_text), >, 12);
  /* One line. */
  g_assert_null (strchr (sender->stderr_text, '\n') != NULL
                 ? strchr (strchr (sender->stderr_text, '\n') + 1, '\n') : NULL);
}

/* Reads the sender's JSON events as they come, to kill it mid-file. */
typedef struct
{
  GDataInputStream *lines;
  GSubprocess      *process;
  gboolean          killed;
  gboolean          ended;
} Killer;

static void
killer_line_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Killer *killer = user_data;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object),
                                                                     result, NULL, NULL);

  if (line == NULL)
    {
      killer->ended = TRUE;
      return;
    }
  /* The first progress event: data is flowing. SIGKILL: no goodbye. */
  if (!killer->killed && strstr (line, "\"event\":\"progress\"") != NULL)
    {
      g_subprocess_force_exit (killer->process);
      killer->killed = TRUE;
    }
  g_data_input_stream_read_line_async (killer->lines, G_PRIORITY_DEFAULT, NULL,
                                       killer_line_cb, killer);
}

static void
test_resume_after_kill (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "video.bin", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *received = g_build_filename (inbox, "video.bin", NULL);
  g_autofree char *config = g_build_filename (fixture->root, "alice", "config", NULL);
  g_autofree char *home = g_build_filename (fixture->root, "alice", NULL);
  const char * const receive_args[] = { "receive", "--dir", inbox, "--accept-all", "--json",
                                        "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--json", "--name", "Alice",
                                     file, NULL };
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GError) error = NULL;
  g_autoptr(Cli) receiver = NULL;
  g_autoptr(Cli) sender = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) summary = NULL;
  Killer killer = { 0, };
  gsize size = 512 * 1024 * 1024;
  gint64 resumed, sent, bytes;

  /* Big enough that the first progress event comes long before the end. */
  {
    g_autofree guint8 *block = g_malloc (1024 * 1024);
    g_autoptr(GRand) rand = g_rand_new_with_seed (5);
    FILE *out = fopen (file, "wb");

    for (gsize i = 0; i < 1024 * 1024; i++)
      block[i] = g_rand_int (rand);
    for (gsize written = 0; written < size; written += 1024 * 1024)
      {
        memcpy (block, &written, sizeof written);
        g_assert_cmpuint (fwrite (block, 1, 1024 * 1024, out), ==, 1024 * 1024);
      }
    fclose (out);
  }

  receiver = cli_start (fixture, "bob", receive_args);

  /* The first send, killed mid-file. */
  g_mkdir_with_parents (config, 0700);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  killer.process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("FILER_CLI"),
                                                "send", "--to", "Bob", "--json", "--name", "Alice",
                                                file, "--server",
                                                filer_test_server_get_address (fixture->server),
                                                NULL);
  g_assert_no_error (error);
  killer.lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (killer.process));
  g_data_input_stream_read_line_async (killer.lines, G_PRIORITY_DEFAULT, NULL, killer_line_cb, &killer);
  filer_test_wait_for (&killer.ended, 60000, "the first sender to end");
  g_subprocess_wait (killer.process, NULL, NULL);
  g_clear_object (&killer.lines);

  if (!killer.killed)
    {
      g_clear_object (&killer.process);
      g_subprocess_send_signal (receiver->process, SIGTERM);
      cli_wait (receiver);
      g_test_skip ("the transfer ended before it could be interrupted");
      return;
    }
  g_assert_true (g_subprocess_get_if_signaled (killer.process));
  g_clear_object (&killer.process);
  g_assert_false (g_file_test (received, G_FILE_TEST_EXISTS));

  /* The same send again: it resumes. */
  filer_test_spin (300);   /* the receiver notices the connection is gone */
  sender = cli_start (fixture, "alice", send_args);
  g_assert_cmpint (cli_wait (sender), ==, 0);

  summary = find_event (sender->stdout_text, "summary", parser);
  g_assert_nonnull (summary);
  g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "completed");
  resumed = json_object_get_int_member (summary, "bytes_resumed");
  sent = json_object_get_int_member (summary, "bytes_sent");
  bytes = json_object_get_int_member (summary, "bytes");
  g_test_message ("resumed %" G_GINT64_FORMAT ", sent %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT,
                  resumed, sent, bytes);
  g_assert_cmpint (bytes, ==, (gint64)size);
  g_assert_cmpint (resumed, >, 0);
  g_assert_cmpint (sent, ==, bytes - resumed);   /* nothing resent */
  assert_same (file, received);

  g_subprocess_send_signal (receiver->process, SIGTERM);
  cli_wait (receiver);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add ("/filer/transfer-cli/send-folder", Fixture, NULL,
              fixture_set_up, test_send_folder, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/text-output", Fixture, NULL,
              fixture_set_up, test_text_output, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/declined-without-terminal", Fixture, NULL,
              fixture_set_up, test_declined_without_terminal, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/resume-after-kill", Fixture, NULL,
              fixture_set_up, test_resume_after_kill, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/unknown-peer", Fixture, NULL,
              fixture_set_up, test_unknown_peer, fixture_tear_down);

  return g_test_run ();
}
