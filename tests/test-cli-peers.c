/* test-cli-peers.c: filer-cli peers, end to end against a real server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define WAIT_MS 10000

/* Reads a child's stdout line by line on the main loop. */
typedef struct
{
  GSubprocess      *process;
  GDataInputStream *stdout_lines;
  GPtrArray        *lines;
  gboolean          eof;
  gboolean          exited;
} Cli;

static void read_next_line (Cli *cli);

static void
line_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Cli *cli = user_data;
  g_autoptr(GError) error = NULL;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object),
                                                          result, NULL, &error);

  if (line == NULL)
    {
      cli->eof = TRUE;
      return;
    }

  g_test_message ("cli: %s", line);
  g_ptr_array_add (cli->lines, line);
  read_next_line (cli);
}

static void
read_next_line (Cli *cli)
{
  g_data_input_stream_read_line_async (cli->stdout_lines, G_PRIORITY_DEFAULT, NULL, line_cb, cli);
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Cli *cli = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  cli->exited = TRUE;
}

static Cli *
cli_spawn (const char * const *env,
           const char         *first_arg,
           ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv ("FILER_CLI");
  Cli *cli = g_new0 (Cli, 1);
  va_list args;

  g_assert_nonnull (binary);
  g_ptr_array_add (argv, (char *)binary);
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);

  cli->process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv->pdata, &error);
  g_assert_no_error (error);
  cli->lines = g_ptr_array_new_with_free_func (g_free);
  cli->stdout_lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (cli->process));
  read_next_line (cli);
  g_subprocess_wait_async (cli->process, NULL, wait_cb, cli);
  return cli;
}

static gboolean
cli_done (gpointer user_data)
{
  Cli *cli = user_data;

  return cli->exited && cli->eof;
}

/* Waits for the exit; returns the exit status and the stderr text. */
static int
cli_finish (Cli   *cli,
            char **stderr_text)
{
  GInputStream *err = g_subprocess_get_stderr_pipe (cli->process);
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new (err);
  g_autoptr(GString) text = g_string_new (NULL);
  char *line;

  filer_test_wait_until (cli_done, cli, WAIT_MS, "filer-cli to exit");

  /* The child is gone: reading its stderr cannot block. */
  while ((line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, NULL)) != NULL)
    {
      g_string_append_printf (text, "%s\n", line);
      g_free (line);
    }

  if (stderr_text != NULL)
    *stderr_text = g_strdup (text->str);

  g_assert_true (g_subprocess_get_if_exited (cli->process));
  return g_subprocess_get_exit_status (cli->process);
}

static void
cli_free (Cli *cli)
{
  if (!cli->exited)
    {
      g_subprocess_force_exit (cli->process);
      filer_test_wait_until (cli_done, cli, WAIT_MS, "filer-cli to die");
    }

  g_clear_object (&cli->stdout_lines);
  g_clear_object (&cli->process);
  g_ptr_array_unref (cli->lines);
  g_free (cli);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cli, cli_free)

static JsonObject *
parse_line (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

typedef struct
{
  Cli        *cli;
  const char *event;
  const char *name;
} LineExpect;

/* TRUE once some line is a JSON object with this event and name. */
static gboolean
has_event (gpointer user_data)
{
  LineExpect *expect = user_data;

  for (guint i = 0; i < expect->cli->lines->len; i++)
    {
      g_autoptr(JsonObject) object = parse_line (g_ptr_array_index (expect->cli->lines, i));

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", ""),
                     expect->event) == 0 &&
          (expect->name == NULL ||
           g_strcmp0 (json_object_get_string_member_with_default (object, "name", ""),
                      expect->name) == 0))
        return TRUE;
    }

  return FALSE;
}

static void
wait_event (Cli        *cli,
            const char *event,
            const char *name,
            guint       timeout_ms)
{
  LineExpect expect = { cli, event, name };
  g_autofree char *what = g_strdup_printf ("“%s” %s", event, name ? name : "");

  filer_test_wait_until (has_event, &expect, timeout_ms, what);
}

static FilerDiscoveryClient *
make_client (const char *server,
             const char *id,
             const char *name)
{
  g_autoptr(FilerDevice) device = filer_test_device_new (id, name, "laptop");
  FilerDiscoveryClient *client = filer_discovery_client_new (device);

  filer_discovery_client_set_server (client, server);
  filer_discovery_client_set_transfer_port (client, 5151);
  return client;
}

static gboolean
is_online (gpointer user_data)
{
  return filer_discovery_client_get_state (user_data) == FILER_DISCOVERY_STATE_ONLINE;
}

static void
test_peers_json (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) alpha = make_client (address, "device-aaaa", "Alpha");
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(Cli) cli = NULL;
  JsonArray *addresses;

  filer_discovery_client_start (alpha);
  filer_test_wait_until (is_online, alpha, WAIT_MS, "alpha online");

  cli = cli_spawn (NULL, "--server", address, "--name", "Beta", "peers", "--json", NULL);
  g_assert_cmpint (cli_finish (cli, NULL), ==, 0);

  /* Exactly one line, the one other peer. */
  g_assert_cmpuint (cli->lines->len, ==, 1);
  object = parse_line (g_ptr_array_index (cli->lines, 0));
  g_assert_cmpstr (json_object_get_string_member (object, "event"), ==, "peer");
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==,
                    filer_test_id ("device-aaaa"));
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, "Alpha");
  g_assert_cmpstr (json_object_get_string_member (object, "kind"), ==, "laptop");
  g_assert_cmpstr (json_object_get_string_member (object, "network"), ==, "lan");
  g_assert_cmpstr (json_object_get_string_member (object, "public_address"), ==, "127.0.0.1");
  g_assert_cmpint (json_object_get_int_member (object, "port"), ==, 5151);
  addresses = json_object_get_array_member (object, "addresses");
  g_assert_nonnull (addresses);
}

static void
test_peers_text (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) alpha = make_client (address, "device-aaaa", "Alpha");
  g_autoptr(Cli) cli = NULL;

  filer_discovery_client_start (alpha);
  filer_test_wait_until (is_online, alpha, WAIT_MS, "alpha online");

  /* Global options after the command work too. */
  cli = cli_spawn (NULL, "peers", "--server", address, NULL);
  g_assert_cmpint (cli_finish (cli, NULL), ==, 0);
  g_assert_cmpuint (cli->lines->len, ==, 1);
  {
    g_autofree char *line = g_strdup_printf ("Alpha\tlaptop\tlan\t%s", filer_test_id ("device-aaaa"));

    g_assert_cmpstr (g_ptr_array_index (cli->lines, 0), ==, line);
  }
}

/* The acceptance check: two watchers on one machine see each
 * other, and the survivor reports the leave when the other is killed. */
static void
test_peers_watch (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) alpha = make_client (address, "device-aaaa", "Alpha");
  g_autoptr(Cli) w1 = NULL;
  g_autoptr(Cli) w2 = NULL;
  gint64 start;

  filer_discovery_client_start (alpha);
  filer_test_wait_until (is_online, alpha, WAIT_MS, "alpha online");

  /* W1 lists alpha: it is online before W2 starts. */
  w1 = cli_spawn (NULL, "--server", address, "--name", "W1", "--json", "peers", "--watch", NULL);
  wait_event (w1, "peer", "Alpha", WAIT_MS);

  w2 = cli_spawn (NULL, "--server", address, "--name", "W2", "--json", "peers", "--watch", NULL);
  wait_event (w1, "joined", "W2", WAIT_MS);
  wait_event (w2, "peer", "W1", WAIT_MS);
  wait_event (w2, "peer", "Alpha", WAIT_MS);

  filer_discovery_client_stop (alpha);
  wait_event (w1, "left", "Alpha", WAIT_MS);
  wait_event (w2, "left", "Alpha", WAIT_MS);

  start = g_get_monotonic_time ();
  g_subprocess_send_signal (w2->process, SIGKILL);
  wait_event (w1, "left", "W2", WAIT_MS);
  g_test_message ("killed watcher reported gone after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);

  /* The server goes away: the watcher says so and keeps going. */
  filer_test_server_kill (server);
  wait_event (w1, "offline", NULL, WAIT_MS);
  g_assert_false (w1->exited);

  g_subprocess_send_signal (w1->process, SIGTERM);
  g_assert_cmpint (cli_finish (w1, NULL), ==, 0);
}

static void
test_auto_find (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", filer_test_server_get_port (server));
  const char *env[] = { "FILER_PROBE_TARGETS", target, NULL };
  g_autoptr(FilerDiscoveryClient) alpha = make_client (filer_test_server_get_address (server),
                                                       "device-aaaa", "Alpha");
  g_autoptr(Cli) cli = NULL;

  filer_discovery_client_start (alpha);
  filer_test_wait_until (is_online, alpha, WAIT_MS, "alpha online");

  cli = cli_spawn (env, "peers", "--json", NULL);
  g_assert_cmpint (cli_finish (cli, NULL), ==, 0);
  g_assert_cmpuint (cli->lines->len, ==, 1);

  /* The line is Alpha, found at the server the probe found (no --server
   * given): not just any line. */
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *object;

    g_assert_true (json_parser_load_from_data (parser, g_ptr_array_index (cli->lines, 0), -1, NULL));
    object = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (object, "event"), ==, "peer");
    g_assert_cmpstr (json_object_get_string_member (object, "id"), ==,
                    filer_test_id ("device-aaaa"));
    g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, "Alpha");
    g_assert_cmpstr (json_object_get_string_member (object, "network"), ==, "lan");
  }
}

static void
assert_one_line (const char *text,
                 const char *contains)
{
  g_assert_true (g_str_has_prefix (text, "filer-cli: "));
  g_assert_nonnull (strstr (text, contains));
  g_assert_cmpint (strchr (text, '\n') - text, ==, strlen (text) - 1);
}

static void
test_failures (void)
{
  g_autofree char *nowhere = g_strdup_printf ("127.0.0.1:%u", filer_test_free_udp_port ());
  const char *env[] = { "FILER_PROBE_TARGETS", nowhere, NULL };
  struct {
    const char *args[5];
    int         status;
    const char *says;
  } cases[] = {
    { { "peers", NULL }, 1, "no discovery server found" },
    { { "--server", nowhere, "peers", NULL }, 1, "Cannot reach" },
    { { "--server", "a:b:c", "peers", NULL }, 2, "--server" },
    { { "peers", "--bogus", NULL }, 2, "--bogus" },
    { { "peers", "extra", NULL }, 2, "extra" },
    { { "frobnicate", NULL }, 2, "unknown command" },
    /* A guessable room code is refused before connecting, with why. */
    { { "--room", "blue", "peers", NULL }, 2, "--room: A room code has at least 8" },
    { { "room", NULL }, 2, "room needs" },
    { { "room", "check", "blue-otter", NULL }, 2, "not “u”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(Cli) cli = cli_spawn (env, cases[i].args[0], cases[i].args[1],
                                      cases[i].args[2], cases[i].args[3], NULL);
      g_autofree char *errors = NULL;

      g_assert_cmpint (cli_finish (cli, &errors), ==, cases[i].status);
      g_assert_cmpuint (cli->lines->len, ==, 0);
      assert_one_line (errors, cases[i].says);
    }
}

/* room new: a fresh code each time, in canonical form; room check: a
 * typed code as the server will compare it. */
static void
test_room (void)
{
  g_autoptr(Cli) first = cli_spawn (NULL, "room", "new", NULL);
  g_autoptr(Cli) second = cli_spawn (NULL, "room", "new", NULL);
  g_autoptr(Cli) check = cli_spawn (NULL, "room", "check", "7kq2 m9xd oil", NULL);
  g_autoptr(GRegex) form = g_regex_new ("^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$",
                                        0, 0, NULL);

  g_assert_cmpint (cli_finish (first, NULL), ==, 0);
  g_assert_cmpint (cli_finish (second, NULL), ==, 0);
  g_assert_cmpuint (first->lines->len, ==, 1);
  g_assert_cmpuint (second->lines->len, ==, 1);
  g_assert_true (g_regex_match (form, g_ptr_array_index (first->lines, 0), 0, NULL));
  g_assert_true (g_regex_match (form, g_ptr_array_index (second->lines, 0), 0, NULL));
  g_assert_cmpstr (g_ptr_array_index (first->lines, 0), !=, g_ptr_array_index (second->lines, 0));

  g_assert_cmpint (cli_finish (check, NULL), ==, 0);
  g_assert_cmpuint (check->lines->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (check->lines, 0), ==, "7KQ2-M9XD-011");
}

/* --server HOST:PORT#SERVERID: the right id lists the peers, another
 * one is refused (one line naming the id) without registering, and a
 * malformed one is a usage error. */
static void
test_pinned_server (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autofree char *right = g_strdup_printf ("%s#%s", address, filer_test_server_get_id (server));
  g_autofree char *wrong = g_strdup_printf ("%s#%s", address, filer_test_id ("someone-else"));
  g_autofree char *malformed = g_strdup_printf ("%s#ABC", address);
  g_autoptr(FilerDiscoveryClient) alpha = make_client (address, "device-aaaa", "Alpha");
  g_autofree char *errors = NULL;
  g_autoptr(Cli) good = NULL;
  g_autoptr(Cli) bad = NULL;
  g_autoptr(Cli) usage = NULL;

  filer_discovery_client_start (alpha);
  filer_test_wait_until (is_online, alpha, WAIT_MS, "alpha online");

  good = cli_spawn (NULL, "--server", right, "peers", NULL);
  g_assert_cmpint (cli_finish (good, NULL), ==, 0);
  g_assert_cmpuint (good->lines->len, ==, 1);

  bad = cli_spawn (NULL, "--server", wrong, "--name", "Pinned", "peers", NULL);
  g_assert_cmpint (cli_finish (bad, &errors), ==, 1);
  g_assert_cmpuint (bad->lines->len, ==, 0);
  assert_one_line (errors, filer_test_id ("someone-else"));
  g_clear_pointer (&errors, g_free);

  usage = cli_spawn (NULL, "--server", malformed, "peers", NULL);
  g_assert_cmpint (cli_finish (usage, &errors), ==, 2);
  assert_one_line (errors, "--server");

  /* The refused one never registered (test-discovery's pinned-server
   * checks that from a third client). */
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/cli/peers/json", test_peers_json);
  g_test_add_func ("/filer/cli/room", test_room);
  g_test_add_func ("/filer/cli/peers/text", test_peers_text);
  g_test_add_func ("/filer/cli/peers/watch", test_peers_watch);
  g_test_add_func ("/filer/cli/peers/auto-find", test_auto_find);
  g_test_add_func ("/filer/cli/peers/failures", test_failures);
  g_test_add_func ("/filer/cli/peers/pinned-server", test_pinned_server);

  return g_test_run ();
}
