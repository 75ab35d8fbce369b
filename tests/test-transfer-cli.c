/* test-transfer-cli.c: filer-cli send and receive, as processes, with a
 * real filer-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <signal.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "libfiler.h"
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

/* Runs filer-cli with its own config dir (@who), collecting output;
 * @env: NULL or NAME=VALUE pairs to add. */
static Cli *
cli_start_env (Fixture            *fixture,
               const char         *who,
               const char * const *args,
               const char * const *env)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                               G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *config = g_build_filename (fixture->root, who, "config", NULL);
  g_autofree char *home = g_build_filename (fixture->root, who, NULL);
  g_autofree char *timeout = NULL;
  g_autoptr(GError) error = NULL;
  Cli *cli = g_new0 (Cli, 1);

  g_mkdir_with_parents (config, 0700);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  /* Settings (the verified devices) in the config dir, as dconf would
   * keep them for a user: what one run stores, the next one reads. */
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "keyfile", TRUE);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (env[i], "=", 2);

      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }

  g_ptr_array_add (argv, (char *)g_getenv ("FILER_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, (char *)"--server");
  g_ptr_array_add (argv, (char *)filer_test_server_get_address (fixture->server));
  /* A sender waits 10 s for its peer to come online; under the
   * sanitizers the peer may take longer to start. */
  if (g_str_equal (args[0], "send") && !g_strv_contains (args, "--timeout") &&
      filer_test_timeout_multiplier () > 1)
    {
      timeout = g_strdup_printf ("%u", 10 * filer_test_timeout_multiplier ());
      g_ptr_array_add (argv, (char *)"--timeout");
      g_ptr_array_add (argv, timeout);
    }
  g_ptr_array_add (argv, NULL);

  cli->process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (cli->process, NULL, NULL, communicate_cb, cli);
  return cli;
}

static Cli *
cli_start (Fixture            *fixture,
           const char         *who,
           const char * const *args)
{
  return cli_start_env (fixture, who, args, NULL);
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

  /* The receiver reports the one transfer, not the connection the
   * sender's path ladder opened to prove the LAN path. */
  g_test_message ("receiver: %s%s", receiver->stdout_text, receiver->stderr_text);
  g_assert_cmpstr (receiver->stderr_text, ==, "");
  g_assert_nonnull (strstr (receiver->stdout_text, "Received 1 file ("));
}

static void
test_declined_without_terminal (Fixture       *fixture,
                                gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "x.bin", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *target = NULL;
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
  target = g_build_filename (inbox, "x.bin", NULL);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
}

static void
test_unknown_peer (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "x.bin", NULL);
  const char * const send_args[] = { "send", "--to", "Nobody", "--timeout", "1", file, NULL };
  g_autoptr(Cli) sender = NULL;
  gint64 start;
  double waited;

  write_file (file, 10, 1);
  start = g_get_monotonic_time ();
  sender = cli_start (fixture, "alice", send_args);
  g_assert_cmpint (cli_wait (sender), ==, 1);
  waited = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("after %.2f s: %s", waited, sender->stderr_text);

  /* Exactly this one line, after waiting the --timeout for the peer to
   * appear (not the default 10 s, not at once). */
  g_assert_cmpstr (sender->stderr_text, ==, "filer-cli: No peer “Nobody” is online\n");
  g_assert_cmpstr (sender->stdout_text, ==, "");
  g_assert_cmpfloat (waited, >=, 0.9);
  g_assert_cmpfloat (waited, <, 8.0);
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

/* --- FILER_TRANSFER_HASHES, read by the real processes --- */

static FilerDiscoveryClient *
raw_client (Fixture       *fixture,
            FilerIdentity *identity,
            const char    *name,
            guint          transfer_port)
{
  g_autoptr(FilerDevice) device = filer_device_new_for_identity (identity, name, "desktop");
  FilerDiscoveryClient *client = filer_discovery_client_new (device);

  filer_discovery_client_set_server (client, filer_test_server_get_address (fixture->server));
  if (transfer_port != 0)
    filer_discovery_client_set_transfer_port (client, transfer_port);
  filer_discovery_client_start (client);
  return client;
}

/* A hand-written receiver registered as "Bob": it answers the hello,
 * keeps the offer's "hashes" header and declines. */
typedef struct
{
  GSocketService *service;
  FilerIdentity  *identity;
  GPtrArray      *connections;
  char           *hashes;
  gboolean        offered;
} RawReceiver;

static void
raw_receiver_frame_cb (FilerFrameConnection *connection,
                       FilerFrame           *frame,
                       RawReceiver          *raw)
{
  if (filer_frame_is (frame, "hello"))
    {
      g_autoptr(FilerFrame) answer = filer_frame_new ("hello");

      filer_frame_set_uint (answer, "version", FILER_TRANSFER_PROTOCOL_VERSION);
      filer_frame_set (answer, "from", filer_identity_get_id (raw->identity));
      filer_frame_set (answer, "to", filer_frame_get (frame, "from"));
      filer_frame_set (answer, "name", "Bob");
      filer_frame_connection_send (connection, answer);
    }
  else if (filer_frame_is (frame, "offer") && !raw->offered)
    {
      g_autoptr(FilerFrame) decline = filer_frame_new ("decline");

      raw->hashes = g_strdup (filer_frame_get (frame, "hashes") ? filer_frame_get (frame, "hashes")
                                                                 : "(none)");
      raw->offered = TRUE;
      filer_frame_set (decline, "transfer", filer_frame_get (frame, "transfer"));
      filer_frame_set (decline, "code", filer_transfer_error_to_wire (FILER_TRANSFER_ERROR_DECLINED));
      filer_frame_set (decline, "message", "only looking");
      filer_frame_connection_send (connection, decline);
    }
}

static void
raw_receiver_handshake_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  RawReceiver *raw = user_data;
  g_autoptr(GIOStream) tls = filer_tls_handshake_finish (result, NULL, NULL);
  FilerFrameConnection *connection;

  if (tls == NULL)
    return;   /* the sender's first, hello-only connection may give up */
  connection = filer_frame_connection_new (tls);
  g_ptr_array_add (raw->connections, connection);
  g_signal_connect (connection, "frame-received", G_CALLBACK (raw_receiver_frame_cb), raw);
  filer_frame_connection_start (connection);
}

static gboolean
raw_receiver_incoming_cb (GSocketService    *service,
                          GSocketConnection *socket_connection,
                          GObject           *source,
                          RawReceiver       *raw)
{
  filer_tls_handshake_async (G_IO_STREAM (socket_connection), FILER_TLS_ROLE_SERVER, raw->identity,
                             NULL, NULL, raw_receiver_handshake_cb, raw);
  return TRUE;
}

static void
test_hashes_env_sender (Fixture       *fixture,
                        gconstpointer  user_data)
{
  const char *env_value = user_data;
  const char *expected = env_value != NULL ? "sha256" : "xxh3-128,sha256";
  g_autofree char *file = g_build_filename (fixture->root, "h.bin", NULL);
  /* Empty: the default, whatever the test's own environment says. */
  g_autofree char *env_pair = g_strdup_printf ("FILER_TRANSFER_HASHES=%s", env_value ? env_value : "");
  const char * const env[] = { env_pair, NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  g_autoptr(FilerDiscoveryClient) bob = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Cli) sender = NULL;
  RawReceiver raw = { 0, };
  guint16 port;

  write_file (file, 1000, 2);
  raw.identity = filer_test_identity_new ();
  raw.connections = g_ptr_array_new_with_free_func (g_object_unref);
  raw.service = g_socket_service_new ();
  {
    g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new (any, 0);
    g_autoptr(GSocketAddress) bound = NULL;

    g_socket_listener_add_address (G_SOCKET_LISTENER (raw.service), address, G_SOCKET_TYPE_STREAM,
                                   G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
    g_assert_no_error (error);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  }
  g_signal_connect (raw.service, "incoming", G_CALLBACK (raw_receiver_incoming_cb), &raw);
  g_socket_service_start (raw.service);
  bob = raw_client (fixture, raw.identity, "Bob", port);

  sender = cli_start_env (fixture, "alice", send_args, env);
  filer_test_wait_for (&raw.offered, 30000, "the offer from filer-cli send");
  g_test_message ("FILER_TRANSFER_HASHES=%s: the offer lists “%s”",
                  env_value ? env_value : "(unset)", raw.hashes);
  g_assert_cmpstr (raw.hashes, ==, expected);
  g_assert_cmpint (cli_wait (sender), ==, 1);   /* declined */
  g_assert_nonnull (strstr (sender->stderr_text, "only looking"));

  g_socket_service_stop (raw.service);
  g_socket_listener_close (G_SOCKET_LISTENER (raw.service));
  for (guint i = 0; i < raw.connections->len; i++)
    filer_frame_connection_close (g_ptr_array_index (raw.connections, i));
  g_clear_object (&raw.service);
  g_ptr_array_unref (raw.connections);
  g_free (raw.hashes);
  g_object_unref (raw.identity);
}

/* A hand-written sender: the real receiver's pick is in its accept. */
typedef struct
{
  GAsyncResult *result;
  GPtrArray    *frames;
} RawSender;

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  RawSender *raw = user_data;

  raw->result = g_object_ref (result);
}

static void
collect_cb (FilerFrameConnection *connection,
            FilerFrame           *frame,
            GPtrArray            *frames)
{
  g_ptr_array_add (frames, filer_frame_ref (frame));
}

static gboolean
has_one_frame (gpointer user_data)
{
  RawSender *raw = user_data;

  return raw->frames->len >= 1;
}

static gboolean
has_result (gpointer user_data)
{
  RawSender *raw = user_data;

  return raw->result != NULL;
}

static gboolean
has_n_frames (gpointer user_data)
{
  RawSender *raw = user_data;

  return raw->frames->len >= 2;
}

static gboolean
lookup_bob (gpointer user_data)
{
  FilerPeer *peer = filer_discovery_client_lookup_peer (user_data, "Bob", NULL);

  return peer != NULL;
}

static void
test_hashes_env_receiver (Fixture       *fixture,
                          gconstpointer  user_data)
{
  const char *env_value = user_data;
  const char *expected = env_value != NULL ? "sha256" : "xxh3-128";
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *target = g_build_filename (inbox, "raw.txt", NULL);
  /* Empty: the default, whatever the test's own environment says. */
  g_autofree char *env_pair = g_strdup_printf ("FILER_TRANSFER_HASHES=%s", env_value ? env_value : "");
  const char * const env[] = { env_pair, NULL };
  const char * const receive_args[] = { "receive", "--dir", inbox, "--accept-all", "--once",
                                        "--name", "Bob", NULL };
  static const char json[] = "{\"files\":[{\"path\":\"raw.txt\",\"size\":5,\"chunks\":1}]}";
  g_autoptr(FilerDiscoveryClient) alice = NULL;
  g_autoptr(FilerFrameConnection) connection = NULL;
  g_autoptr(FilerFrame) offer = filer_frame_new ("offer");
  g_autoptr(FilerFrame) file = filer_frame_new ("file");
  g_autoptr(FilerFrame) chunk = filer_frame_new ("chunk");
  g_autoptr(FilerFrame) end = filer_frame_new ("end");
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Cli) receiver = NULL;
  g_autofree char *saved = NULL;
  RawSender raw = { NULL, g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref) };
  g_autoptr(FilerIdentity) alice_key = filer_test_identity_new ();
  FilerHashAlgorithm algorithm;
  char hex[FILER_HASH_HEX_SIZE];
  FilerFrame *accept, *result;
  FilerPeer *bob;

  receiver = cli_start_env (fixture, "bob", receive_args, env);
  alice = raw_client (fixture, alice_key, "Alice", 0);
  filer_test_wait_until (lookup_bob, alice, 30000, "filer-cli receive to register");
  bob = filer_discovery_client_lookup_peer (alice, "Bob", NULL);
  filer_transfer_connect_lan_async (bob, alice_key, "Alice", 10000, NULL, connected_cb, &raw);
  filer_test_wait_until (has_result, &raw, 20000, "the connection to filer-cli receive");
  connection = filer_transfer_connect_lan_finish (raw.result, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (connection, "frame-received", G_CALLBACK (collect_cb), raw.frames);
  filer_frame_connection_resume (connection);

  content = g_bytes_new_static (json, strlen (json));
  filer_frame_set (offer, "transfer", "t-raw");
  filer_frame_set_uint (offer, "files", 1);
  filer_frame_set_uint (offer, "size", 5);
  filer_frame_set_uint (offer, "chunk-size", FILER_TRANSFER_CHUNK_SIZE);
  filer_frame_set (offer, "hashes", "xxh3-128,sha256");
  filer_frame_set_content (offer, content);
  filer_frame_connection_send (connection, offer);

  /* The answer, then the data verified under the chosen hash. */
  filer_test_wait_until (has_one_frame, &raw, 20000, "the receiver's answer");
  accept = g_ptr_array_index (raw.frames, 0);
  g_test_message ("FILER_TRANSFER_HASHES=%s: the receiver answered %s hash:%s",
                  env_value ? env_value : "(unset)", filer_frame_get_message_type (accept),
                  filer_frame_get (accept, "hash"));
  g_assert_true (filer_frame_is (accept, "accept"));
  g_assert_cmpstr (filer_frame_get (accept, "hash"), ==, expected);

  g_assert_true (filer_hash_algorithm_from_string (expected, &algorithm));
  filer_hash_hex_of (algorithm, "hello", 5, hex);
  filer_frame_set_uint (file, "index", 0);
  filer_frame_set_uint (file, "offset", 0);
  filer_frame_connection_send (connection, file);
  g_clear_pointer (&content, g_bytes_unref);
  content = g_bytes_new_static ("hello", 5);
  filer_frame_set_content (chunk, content);
  filer_frame_connection_send (connection, chunk);
  filer_frame_set_uint (end, "index", 0);
  filer_frame_set (end, expected, hex);
  filer_frame_connection_send (connection, end);

  filer_test_wait_until (has_n_frames, &raw, 20000, "the receiver's result");
  result = g_ptr_array_index (raw.frames, 1);
  g_assert_true (filer_frame_is (result, "result"));
  g_assert_cmpstr (filer_frame_get (result, "status"), ==, "ok");
  filer_frame_connection_close (connection);
  g_assert_cmpint (cli_wait (receiver), ==, 0);
  g_assert_true (g_file_get_contents (target, &saved, NULL, NULL));
  g_assert_cmpstr (saved, ==, "hello");

  g_clear_object (&raw.result);
  g_ptr_array_unref (raw.frames);
}

/* --- on a terminal: the y/N question and the progress bar --- */

/* A filer-cli whose stdin, stdout and stderr are a pseudo-terminal, as in
 * a terminal window; everything it writes there is kept in @screen. */
typedef struct
{
  GSubprocess *process;
  int          master;
  guint        watch;
  GString     *screen;
  gboolean     eof;
  gboolean     exited;
  const char  *wanted;   /* pty_cli_wait_text() */
} PtyCli;

static gboolean
pty_readable_cb (int          fd,
                 GIOCondition condition,
                 gpointer     user_data)
{
  PtyCli *cli = user_data;
  char buffer[4096];
  ssize_t n = read (fd, buffer, sizeof buffer);

  if (n > 0)
    {
      g_string_append_len (cli->screen, buffer, n);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  cli->eof = TRUE;   /* EIO once the child closed its side */
  cli->watch = 0;
  return G_SOURCE_REMOVE;
}

static void
pty_wait_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  PtyCli *cli = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  cli->exited = TRUE;
}

static PtyCli *
pty_cli_start (Fixture            *fixture,
               const char         *who,
               const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *config = g_build_filename (fixture->root, who, "config", NULL);
  g_autofree char *home = g_build_filename (fixture->root, who, NULL);
  g_autoptr(GError) error = NULL;
  struct winsize size = { .ws_row = 24, .ws_col = 120 };
  PtyCli *cli = g_new0 (PtyCli, 1);
  int slave;

  g_assert_cmpint (openpty (&cli->master, &slave, NULL, NULL, &size), ==, 0);
  g_unix_set_fd_nonblocking (cli->master, TRUE, NULL);
  fcntl (cli->master, F_SETFD, FD_CLOEXEC);
  g_mkdir_with_parents (config, 0700);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_take_stdin_fd (launcher, dup (slave));
  g_subprocess_launcher_take_stderr_fd (launcher, dup (slave));
  g_subprocess_launcher_take_stdout_fd (launcher, slave);

  g_ptr_array_add (argv, (char *)g_getenv ("FILER_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, (char *)"--server");
  g_ptr_array_add (argv, (char *)filer_test_server_get_address (fixture->server));
  g_ptr_array_add (argv, NULL);

  cli->screen = g_string_new (NULL);
  cli->process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv->pdata, &error);
  g_assert_no_error (error);
  /* The launcher closes its copies of the slave: only the child holds it. */
  g_clear_object (&launcher);
  cli->watch = g_unix_fd_add (cli->master, G_IO_IN | G_IO_HUP | G_IO_ERR, pty_readable_cb, cli);
  g_subprocess_wait_async (cli->process, NULL, pty_wait_cb, cli);
  return cli;
}

static gboolean
screen_has (gpointer user_data)
{
  PtyCli *cli = user_data;

  return strstr (cli->screen->str, cli->wanted) != NULL;
}

static void
pty_cli_wait_text (PtyCli     *cli,
                   const char *text)
{
  cli->wanted = text;
  filer_test_wait_until (screen_has, cli, 30000, text);
  cli->wanted = NULL;
}

static int
pty_cli_wait (PtyCli *cli)
{
  filer_test_wait_for (&cli->exited, 60000, "filer-cli on the terminal to exit");
  filer_test_spin (50);   /* the last bytes on the terminal */
  return g_subprocess_get_exit_status (cli->process);
}

static void
pty_cli_free (PtyCli *cli)
{
  if (!cli->exited)
    {
      g_subprocess_force_exit (cli->process);
      filer_test_wait_for (&cli->exited, 10000, "filer-cli to die");
    }
  g_clear_handle_id (&cli->watch, g_source_remove);
  close (cli->master);
  g_clear_object (&cli->process);
  g_string_free (cli->screen, TRUE);
  g_free (cli);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtyCli, pty_cli_free)

/* `filer-cli receive` without --accept-all asks on a terminal; the answer
 * typed there decides. */
static void
test_terminal_question (Fixture       *fixture,
                        gconstpointer  user_data)
{
  gboolean yes = GPOINTER_TO_INT (user_data);
  g_autofree char *file = g_build_filename (fixture->root, "asked.bin", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *target = g_build_filename (inbox, "asked.bin", NULL);
  const char * const receive_args[] = { "receive", "--dir", inbox, "--once", "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  const char *typed = yes ? "y\n" : "n\n";
  g_autoptr(PtyCli) receiver = NULL;
  g_autoptr(Cli) sender = NULL;

  write_file (file, 77777, 3);
  receiver = pty_cli_start (fixture, "bob", receive_args);
  sender = cli_start (fixture, "alice", send_args);

  pty_cli_wait_text (receiver, "Accept from Alice? [y/N] ");
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));   /* nothing before the answer */
  g_assert_cmpint (write (receiver->master, typed, 2), ==, 2);

  if (yes)
    {
      g_assert_cmpint (cli_wait (sender), ==, 0);
      g_assert_cmpint (pty_cli_wait (receiver), ==, 0);
      assert_same (file, target);
    }
  else
    {
      g_assert_cmpint (cli_wait (sender), ==, 1);
      g_test_message ("sender: %s", sender->stderr_text);
      g_assert_nonnull (strstr (sender->stderr_text, "Declined by the user"));
      g_assert_cmpint (pty_cli_wait (receiver), ==, 1);
      g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
    }
  g_test_message ("receiver's terminal: %s", receiver->screen->str);
}

/* `filer-cli send` on a terminal draws a bar: every redraw starts with
 * "\r", its percentage never goes down, and the last one says 100 %. */
static void
test_terminal_progress (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "big.bin", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *target = g_build_filename (inbox, "big.bin", NULL);
  const char * const receive_args[] = { "receive", "--dir", inbox, "--accept-all", "--once",
                                        "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  g_autoptr(PtyCli) sender = NULL;
  g_autoptr(Cli) receiver = NULL;
  g_autoptr(GRegex) regex = g_regex_new ("\r\033\\[K\\[([#.]{30})\\] +([0-9]+)%", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  guint n_bars = 0, last = 0, first = G_MAXUINT;
  const char *summary, *seconds_text;
  double seconds;
  int status;

  /* Big enough to take several progress steps (four a second). */
  {
    g_autofree guint8 *block = g_malloc (1024 * 1024);
    g_autoptr(GRand) rand = g_rand_new_with_seed (4);
    FILE *out = fopen (file, "wb");

    for (gsize i = 0; i < 1024 * 1024 / 4; i++)
      ((guint32 *)block)[i] = g_rand_int (rand);
    for (gsize written = 0; written < 256 * 1024 * 1024; written += 1024 * 1024)
      {
        memcpy (block, &written, sizeof written);
        g_assert_cmpuint (fwrite (block, 1, 1024 * 1024, out), ==, 1024 * 1024);
      }
    fclose (out);
  }
  receiver = cli_start (fixture, "bob", receive_args);
  sender = pty_cli_start (fixture, "alice", send_args);
  status = pty_cli_wait (sender);
  {
    g_autofree char *escaped = g_strescape (sender->screen->str, NULL);

    g_test_message ("sender's terminal, escaped: %s", escaped);
  }
  cli_wait (receiver);
  g_test_message ("receiver said: %s %s", receiver->stdout_text, receiver->stderr_text);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpint (g_subprocess_get_exit_status (receiver->process), ==, 0);
  assert_same (file, target);

  g_regex_match (regex, sender->screen->str, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *bar = g_match_info_fetch (match, 1);
      g_autofree char *percent_text = g_match_info_fetch (match, 2);
      guint percent = atoi (percent_text);
      guint filled = strspn (bar, "#");

      g_assert_cmpuint (percent, <=, 100);
      g_assert_cmpuint (percent, >=, last);                  /* never backwards */
      g_assert_cmpint (ABS ((int)filled - (int)(percent * 30 / 100)), <=, 1);   /* bar and figure agree */
      first = MIN (first, percent);
      last = percent;
      n_bars++;
      g_match_info_next (match, NULL);
    }
  summary = strstr (sender->screen->str, "Sent 1 file (");
  g_assert_nonnull (summary);
  seconds_text = strstr (summary, " in ");
  g_assert_nonnull (seconds_text);
  seconds = g_ascii_strtod (seconds_text + 4, NULL);
  g_test_message ("%u bars drawn, from %u %% to %u %%, in %.2f s", n_bars, first, last, seconds);
  g_assert_cmpuint (n_bars, >=, 1);
  g_assert_cmpuint (last, ==, 100);
  /* The last bar stays on its own line, the summary below it. */
  g_assert_nonnull (strstr (sender->screen->str, "] 100%"));
  g_assert_true (g_str_has_prefix (summary - 2, "\r\n"));
  /* Steps: a transfer that lasts a second shows a bar short of 100 %
   * first (progress is drawn four times a second). */
  if (seconds >= 0.75)
    {
      g_assert_cmpuint (n_bars, >=, 2);
      g_assert_cmpuint (first, <, 100);
    }
  else
    g_test_message ("too quick (%.2f s) to require a bar short of 100 %%", seconds);
}

/* --- verify: the code both ends compare ------------------------------- */

/* Runs "filer-cli --json verify ARGS…" as @who; returns its verify event. */
static JsonObject *
cli_verify (Fixture            *fixture,
            const char         *who,
            const char * const *args,
            int                 expected_status)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(Cli) cli = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_ptr_array_add (argv, (char *)"verify");
  g_ptr_array_add (argv, (char *)"--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);

  cli = cli_start (fixture, who, (const char * const *)argv->pdata);
  g_assert_cmpint (cli_wait (cli), ==, expected_status);
  g_test_message ("%s verify: %s%s", who, cli->stdout_text, cli->stderr_text);
  if (expected_status != 0)
    return NULL;
  return find_event (cli->stdout_text, "verify", parser);
}

/* This device's id as filer-cli sees it (the key in @who's config). */
static char *
cli_device_id (Fixture    *fixture,
               const char *who)
{
  g_autoptr(FilerDevice) someone = filer_device_new_ephemeral ("Someone", NULL);
  const char * const args[] = { filer_device_get_id (someone), NULL };
  g_autoptr(JsonObject) event = cli_verify (fixture, who, args, 0);

  g_assert_nonnull (event);
  return g_strdup (json_object_get_string_member (event, "device_id"));
}

/* What "filer-cli verify" prints on each end is one code, the one
 * filer_identity_verification_code_for_ids() gives for the pair in
 * either order; --trust stores the peer where the app's store is (the
 * verified-devices key), and the next run says verified. */
static void
test_verify (Fixture       *fixture,
             gconstpointer  user_data)
{
  g_autofree char *alice_id = cli_device_id (fixture, "alice");
  g_autofree char *bob_id = cli_device_id (fixture, "bob");
  g_autofree char *expected = filer_identity_verification_code_for_ids (alice_id, bob_id);
  g_autofree char *reverse = filer_identity_verification_code_for_ids (bob_id, alice_id);
  g_autofree char *keyfile_path = g_build_filename (fixture->root, "alice", "config", "glib-2.0",
                                                    "settings", "keyfile", NULL);
  g_autofree char *keyfile = NULL;
  g_autofree char *line = NULL;
  const char * const alice_sees_bob[] = { bob_id, NULL };
  const char * const trust_bob[] = { "--trust", bob_id, NULL };
  const char * const bob_text[] = { "verify", alice_id, NULL };
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(Cli) bob = NULL;

  g_assert_cmpstr (alice_id, !=, bob_id);
  g_assert_nonnull (expected);
  g_assert_cmpstr (expected, ==, reverse);

  event = cli_verify (fixture, "alice", alice_sees_bob, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "device_id"), ==, alice_id);
  g_assert_cmpstr (json_object_get_string_member (event, "peer_id"), ==, bob_id);
  g_assert_cmpstr (json_object_get_string_member (event, "code"), ==, expected);
  g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "unverified");
  g_clear_pointer (&event, json_object_unref);

  /* Bob's end, as a person reads it. */
  bob = cli_start (fixture, "bob", bob_text);
  g_assert_cmpint (cli_wait (bob), ==, 0);
  g_test_message ("%s", bob->stdout_text);
  line = g_strdup_printf ("Verification code:   %s\n", expected);
  g_assert_nonnull (strstr (bob->stdout_text, line));
  g_assert_nonnull (strstr (bob->stdout_text, alice_id));
  g_assert_nonnull (strstr (bob->stdout_text, "Not verified"));

  event = cli_verify (fixture, "alice", trust_bob, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "verified");
  g_clear_pointer (&event, json_object_unref);
  event = cli_verify (fixture, "alice", alice_sees_bob, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "verified");
  g_clear_pointer (&event, json_object_unref);

  /* In the app's schema, under the key the app reads. */
  g_assert_true (g_file_get_contents (keyfile_path, &keyfile, NULL, NULL));
  g_assert_nonnull (strstr (keyfile, "[io/github/filerapp/Filer]"));
  g_assert_nonnull (strstr (keyfile, "verified-devices="));
  g_assert_nonnull (strstr (keyfile, bob_id));

  /* Bob did not trust Alice: trust is each side's own. */
  {
    const char * const bob_sees_alice[] = { alice_id, NULL };

    event = cli_verify (fixture, "bob", bob_sees_alice, 0);
    g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "unverified");
    g_assert_cmpstr (json_object_get_string_member (event, "code"), ==, expected);
  }
}

/* A peer named as it shows online: found through discovery, and stored
 * with that name. Not a key id and not online: a clear error. */
static void
test_verify_by_name (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *bob_id = cli_device_id (fixture, "bob");
  const char * const receive_args[] = { "receive", "--dir", inbox, "--once", "--json",
                                        "--name", "Bob", NULL };
  const char * const by_name[] = { "--trust", "bob", NULL };
  const char * const nobody[] = { "Nobody", NULL };
  g_autoptr(Cli) receiver = NULL;
  g_autoptr(JsonObject) event = NULL;

  receiver = cli_start (fixture, "bob", receive_args);
  for (guint attempt = 0; attempt < 50 && event == NULL; attempt++)
    {
      const char * const peers[] = { "peers", "--json", NULL };
      g_autoptr(Cli) list = cli_start (fixture, "carol", peers);

      cli_wait (list);
      if (strstr (list->stdout_text, bob_id) != NULL)
        event = cli_verify (fixture, "alice", by_name, 0);
      else
        filer_test_spin (200);
    }
  g_assert_nonnull (event);
  g_assert_cmpstr (json_object_get_string_member (event, "peer_id"), ==, bob_id);
  g_assert_cmpstr (json_object_get_string_member (event, "peer"), ==, "Bob");
  g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "verified");

  g_assert_null (cli_verify (fixture, "alice", nobody, 1));

  g_subprocess_send_signal (receiver->process, SIGTERM);
  cli_wait (receiver);
}

/* Every offer "filer-cli receive" prints from a device it did not
 * verify carries the code for (receiver, the sender's proven id); a
 * sender that shows a verified name under another key is warned about. */
static void
test_receive_prints_code (Fixture       *fixture,
                          gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "notes.txt", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *bob_id = cli_device_id (fixture, "bob");
  g_autoptr(FilerDevice) real_alice = filer_device_new_ephemeral ("Alice", NULL);
  const char * const receive_json[] = { "receive", "--dir", inbox, "--accept-all", "--once",
                                        "--json", "--name", "Bob", NULL };
  const char * const receive_text[] = { "receive", "--dir", inbox, "--accept-all", "--once",
                                        "--name", "Bob", NULL };
  const char * const send_args[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) offer = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *line = NULL;
  g_autofree char *keyfile_path = g_build_filename (fixture->root, "bob", "config", "glib-2.0",
                                                    "settings", "keyfile", NULL);
  g_autofree char *keyfile = NULL;
  const char *sender_id;

  write_file (file, 4321, 7);

  /* --json: the offer event has the trust and the code. */
  {
    g_autoptr(Cli) receiver = cli_start (fixture, "bob", receive_json);
    g_autoptr(Cli) sender = cli_start (fixture, "alice", send_args);

    g_assert_cmpint (cli_wait (sender), ==, 0);
    g_assert_cmpint (cli_wait (receiver), ==, 0);
    offer = find_event (receiver->stdout_text, "offer", parser);
    g_assert_nonnull (offer);
    sender_id = json_object_get_string_member (offer, "peer_id");
    expected = filer_identity_verification_code_for_ids (bob_id, sender_id);
    g_assert_nonnull (expected);
    g_assert_cmpstr (json_object_get_string_member (offer, "trust"), ==, "unverified");
    g_assert_cmpstr (json_object_get_string_member (offer, "code"), ==, expected);
  }

  /* Text, with "Alice" verified under another key in Bob's store. */
  {
    g_autofree char *settings_dir = g_path_get_dirname (keyfile_path);

    g_mkdir_with_parents (settings_dir, 0700);
  }
  keyfile = g_strdup_printf ("[io/github/filerapp/Filer]\nverified-devices={'%s': 'Alice'}\n",
                             filer_device_get_id (real_alice));
  g_assert_true (g_file_set_contents (keyfile_path, keyfile, -1, NULL));
  {
    g_autoptr(Cli) receiver = cli_start (fixture, "bob", receive_text);
    g_autoptr(Cli) sender = cli_start (fixture, "alice", send_args);

    g_assert_cmpint (cli_wait (sender), ==, 0);
    g_assert_cmpint (cli_wait (receiver), ==, 0);
    g_test_message ("%s", receiver->stdout_text);
    g_assert_nonnull (strstr (receiver->stdout_text,
                              "  WARNING: key changed — this is not the Alice you verified\n"));
    g_assert_nonnull (strstr (receiver->stdout_text, "  Not verified. Verification code: "));
  }
}

/* --- the receiver accepts only some of the files (issue 9 point 7) ---- */

typedef struct
{
  const char * const *accept;
  guint               n_offers;
} Partial;

static void
partial_offer_cb (FilerTransferService *service,
                  FilerTransfer        *transfer,
                  Partial              *partial)
{
  partial->n_offers++;
  filer_transfer_accept (transfer, partial->accept);
}

static gboolean
partial_online (gpointer data)
{
  return filer_discovery_client_get_state (data) == FILER_DISCOVERY_STATE_ONLINE;
}

/* A receiver that takes two of three files: "filer-cli send" names the
 * one not sent (text on stderr, json in the summary) and exits 3, not 0. */
static void
test_send_partial (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *folder = g_build_filename (fixture->root, "set", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *skipped = g_build_filename (inbox, "set", "b.txt", NULL);
  g_autofree char *kept = g_build_filename (inbox, "set", "a.txt", NULL);
  const char * const subset[] = { "set/a.txt", "set/c.txt", NULL };
  const char * const names[] = { "set/a.txt", "set/b.txt", "set/c.txt" };
  const char * const send_text[] = { "send", "--to", "Picky", "--name", "Alice", folder, NULL };
  const char * const send_json[] = { "send", "--to", "Picky", "--json", "--name", "Alice", folder, NULL };
  g_autoptr(FilerDevice) device = filer_device_new_ephemeral ("Picky", NULL);
  g_autoptr(FilerTransferService) service = NULL;
  g_autoptr(FilerDiscoveryClient) client = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) summary = NULL;
  g_autoptr(GError) error = NULL;
  Partial partial = { subset, 0 };
  JsonArray *not_sent;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (fixture->root, names[i], NULL);
      write_file (path, 1000 * (i + 1), i);
    }
  g_mkdir_with_parents (inbox, 0700);

  /* The receiver is in this process: it answers with a subset, which
   * filer-cli receive cannot do. */
  service = filer_transfer_service_new (filer_device_get_identity (device), "Picky", inbox);
  g_signal_connect (service, "offer-received", G_CALLBACK (partial_offer_cb), &partial);
  filer_transfer_service_listen (service, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  client = filer_discovery_client_new (device);
  filer_discovery_client_set_server (client, filer_test_server_get_address (fixture->server));
  filer_discovery_client_set_local_address (client, "127.0.0.1");
  filer_discovery_client_set_transfer_port (client, filer_transfer_service_get_port (service));
  filer_discovery_client_start (client);
  filer_test_wait_until (partial_online, client, 20000, "the receiver to be online");

  {
    g_autoptr(Cli) sender = cli_start (fixture, "alice", send_text);

    g_assert_cmpint (cli_wait (sender), ==, 3);
    g_test_message ("stdout: %s\nstderr: %s", sender->stdout_text, sender->stderr_text);
    g_assert_nonnull (strstr (sender->stdout_text, "Sent 2 files ("));
    g_assert_nonnull (strstr (sender->stderr_text,
                              "filer-cli: the receiver accepted only 2 of 3 files; not sent: set/b.txt\n"));
    g_assert_null (strstr (sender->stderr_text, "a.txt"));
  }
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (skipped, G_FILE_TEST_EXISTS));

  {
    g_autoptr(Cli) sender = cli_start (fixture, "alice", send_json);

    g_assert_cmpint (cli_wait (sender), ==, 3);
    summary = find_event (sender->stdout_text, "summary", parser);
    g_assert_nonnull (summary);
    g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "completed");
    g_assert_cmpint (json_object_get_int_member (summary, "files_skipped"), ==, 1);
    not_sent = json_object_get_array_member (summary, "not_sent");
    g_assert_cmpuint (json_array_get_length (not_sent), ==, 1);
    g_assert_cmpstr (json_array_get_string_element (not_sent, 0), ==, "set/b.txt");
  }
  g_assert_cmpuint (partial.n_offers, ==, 2);

  filer_discovery_client_stop (client);
}

/* receive --accept-verified takes an offer from a device verified with
 * "filer-cli verify --trust" (the sender's proven key id), and declines
 * one from a device it did not verify (no terminal to ask). */
static void
test_receive_accept_verified (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autofree char *file = g_build_filename (fixture->root, "notes.txt", NULL);
  g_autofree char *inbox = g_build_filename (fixture->root, "inbox", NULL);
  g_autofree char *received = g_build_filename (inbox, "notes.txt", NULL);
  g_autofree char *alice_id = cli_device_id (fixture, "alice");
  const char * const trust_alice[] = { "--trust", alice_id, NULL };
  const char * const receive_args[] = { "receive", "--dir", inbox, "--accept-verified", "--once",
                                        "--json", "--name", "Bob", NULL };
  const char * const alice_sends[] = { "send", "--to", "Bob", "--name", "Alice", file, NULL };
  const char * const carol_sends[] = { "send", "--to", "Bob", "--name", "Carol", file, NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) event = NULL;

  write_file (file, 2345, 3);
  event = cli_verify (fixture, "bob", trust_alice, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "verified");
  g_clear_pointer (&event, json_object_unref);

  {
    g_autoptr(Cli) receiver = cli_start (fixture, "bob", receive_args);
    g_autoptr(Cli) sender = cli_start (fixture, "alice", alice_sends);

    g_assert_cmpint (cli_wait (sender), ==, 0);
    g_assert_cmpint (cli_wait (receiver), ==, 0);
    event = find_event (receiver->stdout_text, "offer", parser);
    g_assert_cmpstr (json_object_get_string_member (event, "peer_id"), ==, alice_id);
    g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "verified");
    g_clear_pointer (&event, json_object_unref);
  }
  assert_same (file, received);
  g_unlink (received);

  {
    g_autoptr(Cli) receiver = cli_start (fixture, "bob", receive_args);
    g_autoptr(Cli) sender = cli_start (fixture, "carol", carol_sends);

    g_assert_cmpint (cli_wait (sender), ==, 1);
    g_assert_cmpint (cli_wait (receiver), ==, 1);
    g_test_message ("%s", sender->stderr_text);
    g_assert_nonnull (strstr (sender->stderr_text, "declined"));
    event = find_event (receiver->stdout_text, "offer", parser);
    g_assert_cmpstr (json_object_get_string_member (event, "trust"), ==, "unverified");
  }
  g_assert_false (g_file_test (received, G_FILE_TEST_EXISTS));
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
  g_test_add ("/filer/transfer-cli/hashes-env/sender", Fixture, "sha256",
              fixture_set_up, test_hashes_env_sender, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/hashes-env/sender-unset", Fixture, NULL,
              fixture_set_up, test_hashes_env_sender, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/hashes-env/receiver", Fixture, "sha256",
              fixture_set_up, test_hashes_env_receiver, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/hashes-env/receiver-unset", Fixture, NULL,
              fixture_set_up, test_hashes_env_receiver, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/receive-accept-verified", Fixture, NULL,
              fixture_set_up, test_receive_accept_verified, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/send-partial", Fixture, NULL,
              fixture_set_up, test_send_partial, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/verify", Fixture, NULL,
              fixture_set_up, test_verify, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/verify-by-name", Fixture, NULL,
              fixture_set_up, test_verify_by_name, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/receive-prints-code", Fixture, NULL,
              fixture_set_up, test_receive_prints_code, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/terminal/answer-yes", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_terminal_question, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/terminal/answer-no", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_terminal_question, fixture_tear_down);
  g_test_add ("/filer/transfer-cli/terminal/progress-bar", Fixture, NULL,
              fixture_set_up, test_terminal_progress, fixture_tear_down);

  return g_test_run ();
}
