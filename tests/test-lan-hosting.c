/* test-lan-hosting.c: zero setup on one LAN, as the README promises it
 *
 * Two machines on one LAN, only the app running on each: no filer-server
 * anywhere, no setting changed, nothing a test would normally set (no
 * probe targets, no local address, no special port, no loopback hook).
 * The apps find no server, one of them hosts it on the well-known port
 * 47800, and a hosting app checks the LAN for another server every 15 s
 * (src/core/session/filer-session.c, rule 3).
 *
 * The LAN is three network namespaces on a bridge (tests/lanhost/
 * lanhost.sh): hosts A 192.0.2.10, B 192.0.2.20 and C 192.0.2.30 with a
 * real broadcast address. The real GUI program runs in A and in B, each
 * with its own home, its own session bus (a path socket, which unlike an
 * abstract one is reachable from every namespace), its own host name (a
 * UTS namespace, as two machines have two names) and the X display of
 * the test run. C is the observer: it probes the LAN as any client does
 * and runs filer-cli.
 *
 * Three cases: both apps started at the same moment; B 20 s after A;
 * and B's cable out while both start (each hosts), plugged in later.
 * After the hosting apps are past two of their 15 s checks:
 *  (a) exactly one discovery server answers a probe on the LAN (in the
 *      cable case: A's, the lower address);
 *  (b) both apps answer on their session bus: org.gtk.Actions.List is
 *      dispatched on the app's main loop (unlike Peer.Ping, which GDBus
 *      answers from its worker thread), so a frozen app times out;
 *  (c) both apps are clients of that one server: each holds one TCP
 *      connection to it (the host's own client over loopback).
 * The log of each case is the record of the rule: which servers answer
 * from C, second by second, and each app's own debug lines.
 *
 * What the rule does on a real LAN, as these cases show it (2 cores,
 * Xvfb; the apps take 1-8 s to start and probe for 1 s at a time):
 *  - started together: mostly rule 1's two empty probes and 0-1.5 s
 *    jitter leave one app hosting, and the other finds it at its next
 *    probe, about 1 s later. But the jitter only helps if the later app
 *    probes again before its timer fires: in some runs both hosted
 *    within 0.4 s of each other, and two servers answered until the
 *    higher address yielded at its first check, 15 s later.
 *  - started 20 s apart: the second app finds the first one's server at
 *    its first probe (about 1.5 s after start) and never hosts.
 *  - cable plugged in late: two servers answer for at most one check
 *    period (15 s) plus the 1 s listen; then the higher address yields
 *    and is the other's client a fraction of a second later.
 *
 * That they see each other: /lan-hosting/together-listed has filer-cli on
 * a third host list both apps as on this network. 192.0.2.0/24 is not a
 * private range; the server groups senders on its own link as one network
 * (docs/protocol.md §2.4), which before was only true of private ranges.
 * Not through the apps' accessibility trees: GTK_A11Y is off in the apps
 * (no accessibility bus to find).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "filer-test-util.h"
#include "libfiler.h"

#define LAN_PORT          47800   /* FILER_DISCOVERY_DEFAULT_PORT: the real one */
#define LAN_BROADCAST     "192.0.2.255"
#define APP_ID_PATH       "/io/github/filerapp/Filer"
#define BUS_TIMEOUT_MS    3000
#define STARTUP_TIMEOUT_S 30

/* The system's data and config dirs, before GTest isolates them: the
 * apps get the system as shipped. */
static char *system_data_dirs;
static char *system_config_dirs;

typedef struct
{
  const char  *node;
  const char  *hostname;
  const char  *ip;
  char        *home;
  char        *bus_address;
  char        *log_path;
  GSubprocess *bus;
  GSubprocess *app;
  gint64       started;
} App;

/* What the first case saw from C, for the case that reads it. */
static struct
{
  gboolean  ran;
  char     *peers;
  char     *id_a;
  char     *id_b;
} together_record;

typedef struct
{
  char  *prefix;
  char  *observer_home;
  App    a;
  App    b;
  gint64 t0;
} Lan;

static const char *
env_or (const char *name,
        const char *fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && value[0] != '\0' ? value : fallback;
}

static const char *
script_path (void)
{
  return env_or ("FILER_LANHOST_SCRIPT", FILER_LANHOST_SCRIPT);
}

/* FILER_LANHOST_GUI and FILER_LANHOST_CLI point the test at another
 * build (to show it fails on older code); normally this build's. */
static const char *
gui_path (void)
{
  return env_or ("FILER_LANHOST_GUI", FILER_GUI);
}

static const char *
cli_path (void)
{
  return env_or ("FILER_LANHOST_CLI", g_getenv ("FILER_CLI"));
}

static double
seconds_since (Lan *lan)
{
  return (g_get_monotonic_time () - lan->t0) / (double)G_USEC_PER_SEC;
}

static gboolean
run_script (const char  *command,
            const char  *prefix,
            GError     **error)
{
  g_autofree char *owner = g_strdup_printf ("%d", (int)getpid ());
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { "sh", script_path (), command, prefix, owner, NULL };
  int status = 0;

  if (g_str_equal (command, "down") || g_str_equal (command, "sweep"))
    argv[g_str_equal (command, "sweep") ? 3 : 4] = NULL;

  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, &status, error))
    return FALSE;

  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "lanhost.sh %s failed: %s%s", command, out, err);
      return FALSE;
    }

  return TRUE;
}

/* Plugs @node's cable in or out of the switch. */
static void
lan_cable (Lan        *lan,
           const char *node,
           const char *state)
{
  const char *argv[] = { "sh", script_path (), "cable", lan->prefix, node, state, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
}

static gboolean
has_program (const char *name)
{
  g_autofree char *path = g_find_program_in_path (name);

  return path != NULL;
}

/* Root, iproute2, namespaces, an X display, a bus daemon: or why not. */
static gboolean
lan_available (char **reason)
{
  static int available = -1;
  static char *why;

  if (available < 0)
    {
      g_autofree char *name = g_strdup_printf ("filerlan-%d-check", (int)getpid ());
      g_autofree char *err = NULL;
      char *add[] = { "ip", "netns", "add", name, NULL };
      char *del[] = { "ip", "netns", "del", name, NULL };
      int status = 0;

      available = 0;
      if (geteuid () != 0)
        why = g_strdup ("the LAN test needs root (network namespaces)");
      else if (g_getenv ("DISPLAY") == NULL)
        why = g_strdup ("the LAN test runs the GUI: no DISPLAY (run under xvfb-run)");
      else if (!g_file_test (gui_path (), G_FILE_TEST_IS_EXECUTABLE))
        why = g_strdup_printf ("%s not built", gui_path ());
      else if (!has_program ("dbus-daemon") || !has_program ("unshare") || !has_program ("ss"))
        why = g_strdup ("the LAN test needs dbus-daemon, unshare and ss");
      else if (!g_spawn_sync (NULL, add, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                              NULL, NULL, NULL, &err, &status, NULL))
        why = g_strdup ("the LAN test needs iproute2 (`ip` not found)");
      else if (!g_spawn_check_wait_status (status, NULL))
        why = g_strdup_printf ("network namespaces not permitted here: %s", g_strstrip (err));
      else
        {
          g_spawn_sync (NULL, del, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                        NULL, NULL, NULL, NULL);
          /* LANs whose test process died before its guard ran. */
          run_script ("sweep", NULL, NULL);
          available = 1;
        }
    }

  if (reason != NULL)
    *reason = g_strdup (why);

  return available == 1;
}

static char *
ns_name (Lan        *lan,
         const char *node)
{
  return g_strdup_printf ("%s-%s", lan->prefix, node);
}

/* --- processes in the LAN ----------------------------------------- */

/* A crashed test must not leave its apps running (the guard in
 * lanhost.sh removes the namespaces too). */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocessLauncher *
launcher_for (const char *home,
              const char *log_path)
{
  GSubprocessLauncher *launcher;
  g_autofree char *config = g_build_filename (home, ".config", NULL);
  g_autofree char *data = g_build_filename (home, ".local", "share", NULL);
  g_autofree char *cache = g_build_filename (home, ".cache", NULL);
  g_autofree char *runtime = g_build_filename (home, "run", NULL);

  g_mkdir_with_parents (config, 0700);
  g_mkdir_with_parents (data, 0700);
  g_mkdir_with_parents (cache, 0700);
  g_mkdir_with_parents (runtime, 0700);

  launcher = g_subprocess_launcher_new (log_path != NULL ? G_SUBPROCESS_FLAGS_STDERR_MERGE
                                                         : G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                           G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  if (system_data_dirs != NULL)
    g_subprocess_launcher_setenv (launcher, "XDG_DATA_DIRS", system_data_dirs, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "XDG_DATA_DIRS");
  if (system_config_dirs != NULL)
    g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_DIRS", system_config_dirs, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "XDG_CONFIG_DIRS");
  g_subprocess_launcher_unsetenv (launcher, "XDG_STATE_HOME");
  g_subprocess_launcher_unsetenv (launcher, "FILER_TEST_BACKSTOP");
  if (log_path != NULL)
    g_subprocess_launcher_set_stdout_file_path (launcher, log_path);

  return launcher;
}

static GSubprocess *
spawn_in (Lan                 *lan,
          const char          *node,
          GSubprocessLauncher *launcher,
          const char * const  *argv)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *ns = ns_name (lan, node);
  g_auto(GStrv) full = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_strv_builder_add_many (builder, "ip", "netns", "exec", ns, NULL);
  g_strv_builder_addv (builder, (const char **)argv);
  full = g_strv_builder_end (builder);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *)full, &error);
  g_assert_no_error (error);
  return process;
}

/* filer_test_wait_until() waits for an event on the main context; what
 * this test waits for (a file, a bus name) is polled. */
static void
poll_until (FilerTestCondition  condition,
            gpointer            user_data,
            guint               timeout_ms,
            const char         *what)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;

  while (!condition (user_data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("watchdog: gave up after %u ms waiting for %s", timeout_ms, what);
      filer_test_spin (100);
    }
}

static gboolean
socket_exists (gpointer user_data)
{
  return g_file_test (user_data, G_FILE_TEST_EXISTS);
}

/* The app's own session bus, in its host's namespace, on a path socket
 * that the test reaches from outside. */
static void
app_start_bus (Lan *lan,
               App *app)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_for (app->home, NULL);
  g_autofree char *path = g_build_filename (app->home, "bus", NULL);
  g_autofree char *listen = g_strdup_printf ("--address=unix:path=%s", path);
  const char *argv[] = { "dbus-daemon", "--session", "--nofork", "--nopidfile",
                         listen, NULL };

  app->bus_address = g_strdup_printf ("unix:path=%s", path);
  app->bus = spawn_in (lan, app->node, launcher, argv);
  poll_until (socket_exists, path, 10000, "the app's session bus");
}

/* The X cookie of the test run (xvfb-run writes one for this machine's
 * host name), for any host name: each app has a name of its own. An
 * entry is family, address, display number, auth name and auth data,
 * each after a 16-bit big-endian length except the family. */
static void
app_write_xauthority (App                 *app,
                      GSubprocessLauncher *launcher)
{
  const char *path = g_getenv ("XAUTHORITY");
  g_autofree char *contents = NULL;
  g_autofree char *copy = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  gsize offset = 0;

  if (path == NULL || !g_file_get_contents (path, &contents, &length, NULL))
    return;

  while (offset + 2 <= length)
    {
      /* FamilyWild */
      contents[offset] = (char)0xff;
      contents[offset + 1] = (char)0xff;
      offset += 2;
      for (guint field = 0; field < 4 && offset + 2 <= length; field++)
        offset += 2 + (((guint8)contents[offset] << 8) | (guint8)contents[offset + 1]);
    }

  copy = g_build_filename (app->home, "Xauthority", NULL);
  g_file_set_contents (copy, contents, length, &error);
  g_assert_no_error (error);
  g_subprocess_launcher_setenv (launcher, "XAUTHORITY", copy, TRUE);
}

static void
app_start (Lan *lan,
           App *app)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_for (app->home, app->log_path);
  const char *argv[] = { "unshare", "--uts", "--",
                         "sh", "-c", "hostname \"$0\" && exec \"$@\"",
                         app->hostname, gui_path (), NULL };

  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", app->bus_address, TRUE);
  app_write_xauthority (app, launcher);
  /* What the test adds: logs, and no accessibility bus to look for. */
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "all", TRUE);
  g_subprocess_launcher_setenv (launcher, "GTK_A11Y", "none", TRUE);
  g_subprocess_launcher_setenv (launcher, "NO_AT_BRIDGE", "1", TRUE);

  app->app = spawn_in (lan, app->node, launcher, argv);
  app->started = g_get_monotonic_time ();
  g_test_message ("%5.1f s: app started in %s (%s)", seconds_since (lan), app->node, app->ip);
}

static void
process_stop (GSubprocess **process)
{
  if (*process == NULL)
    return;

  if (g_subprocess_get_identifier (*process) != NULL)
    {
      g_subprocess_send_signal (*process, SIGTERM);
      for (guint i = 0; i < 50 && g_subprocess_get_identifier (*process) != NULL; i++)
        filer_test_spin (100);
      g_subprocess_force_exit (*process);
      g_subprocess_wait (*process, NULL, NULL);
    }
  g_clear_object (process);
}

/* --- what the test looks at --------------------------------------- */

static GDBusConnection *
app_bus (App *app)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_for_address_sync (app->bus_address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (connection == NULL)
    g_test_message ("%s: cannot reach its bus: %s", app->node, error->message);
  return connection;
}

/* The app's main loop answers: its action group lists its actions. */
static gboolean
app_answers (App   *app,
             char **why)
{
  g_autoptr(GDBusConnection) connection = app_bus (app);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  if (connection == NULL)
    {
      *why = g_strdup ("its session bus is gone");
      return FALSE;
    }

  reply = g_dbus_connection_call_sync (connection, APP_ID, APP_ID_PATH,
                                       "org.gtk.Actions", "List", NULL,
                                       G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       BUS_TIMEOUT_MS, NULL, &error);
  if (reply == NULL)
    {
      *why = g_strdup (error->message);
      return FALSE;
    }

  return TRUE;
}

static void dump_log (App *app);

static gboolean
app_registered (gpointer user_data)
{
  App *app = user_data;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  if (g_subprocess_get_identifier (app->app) == NULL)
    {
      dump_log (app);
      g_error ("the app in %s exited during start-up", app->node);
    }

  connection = app_bus (app);
  if (connection == NULL)
    return FALSE;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", APP_ID), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, BUS_TIMEOUT_MS, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has_owner);
  return has_owner;
}

typedef struct
{
  GSocket   *socket;
  GError    *error;
} ProbeSocket;

/* Runs in C's namespace for as long as it takes to make the socket:
 * the socket stays there. */
static void
make_probe_socket (ProbeSocket *request)
{
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (any, 0);

  request->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, &request->error);
  if (request->socket == NULL)
    return;
  if (!g_socket_bind (request->socket, local, FALSE, &request->error))
    {
      g_clear_object (&request->socket);
      return;
    }
  g_socket_set_broadcast (request->socket, TRUE);
  g_socket_set_blocking (request->socket, FALSE);
}

static GSocket *
observer_socket (Lan *lan)
{
  g_autofree char *ns = ns_name (lan, "c");
  g_autofree char *path = g_strdup_printf ("/run/netns/%s", ns);
  ProbeSocket request = { NULL, NULL };
  int self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open (path, O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (self, >=, 0);
  if (target < 0)
    g_error ("cannot open %s: %s", path, g_strerror (errno));
  if (setns (target, CLONE_NEWNET) != 0)
    g_error ("setns %s: %s", ns, g_strerror (errno));

  make_probe_socket (&request);

  if (setns (self, CLONE_NEWNET) != 0)
    g_error ("setns back: %s", g_strerror (errno));
  close (target);
  close (self);

  g_assert_no_error (request.error);
  return request.socket;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *)a, *(const char * const *)b);
}

/* From C, as any client on the LAN looks for a server: a probe to the
 * broadcast address on the well-known port, three times 300 ms apart,
 * and every distinct address that answers within 1 s. Sorted. */
static GStrv
probe_lan (Lan *lan)
{
  g_autoptr(GSocket) socket = observer_socket (lan);
  g_autoptr(FilerFrame) probe = filer_frame_new ("probe");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GInetAddress) broadcast = g_inet_address_new_from_string (LAN_BROADCAST);
  g_autoptr(GSocketAddress) to = g_inet_socket_address_new (broadcast, LAN_PORT);
  g_autoptr(GPtrArray) senders = g_ptr_array_new_with_free_func (g_free);
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + G_USEC_PER_SEC;
  guint sent = 0;

  filer_frame_set_uint (probe, "version", 1);
  filer_frame_pad_to (probe, 128);  /* as clients must (§2.6) */
  bytes = filer_frame_encode (probe, NULL);

  while (g_get_monotonic_time () < deadline)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 next_send = start + sent * 300 * 1000;
      gint64 wake = MIN (deadline, sent < 3 ? next_send : deadline);
      guint8 buffer[2048];

      if (sent < 3 && now >= next_send)
        {
          g_socket_send_to (socket, to, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                            NULL, NULL);
          sent++;
          continue;
        }

      g_socket_set_timeout (socket, 0);
      if (!g_socket_condition_timed_wait (socket, G_IO_IN, MAX (wake - now, 1), NULL, NULL))
        continue;

      for (;;)
        {
          g_autoptr(GSocketAddress) from = NULL;
          g_autoptr(FilerFrame) frame = NULL;
          g_autofree char *text = NULL;
          gssize length;

          length = g_socket_receive_from (socket, &from, (char *)buffer, sizeof buffer, NULL, NULL);
          if (length < 0)
            break;

          frame = filer_frame_decode_datagram (buffer, length, length, NULL);
          if (frame == NULL || !filer_frame_is (frame, "probe-reply") ||
              !G_IS_INET_SOCKET_ADDRESS (from))
            continue;

          text = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));
          if (!g_ptr_array_find_with_equal_func (senders, text, g_str_equal, NULL))
            g_ptr_array_add (senders, g_steal_pointer (&text));
        }
    }

  g_ptr_array_sort (senders, compare_strings);
  g_ptr_array_add (senders, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&senders), FALSE);
}

typedef struct
{
  gboolean done;
  GBytes  *out;
} Run;

static void
communicated_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Run *run = user_data;

  g_subprocess_communicate_finish (G_SUBPROCESS (object), result, &run->out, NULL, NULL);
  run->done = TRUE;
}

/* Runs @argv in @node and returns its stdout; killed after @timeout_s. */
static char *
run_in (Lan                *lan,
        const char         *node,
        const char         *home,
        const char * const *argv,
        guint               timeout_s)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_for (home, NULL);
  g_autoptr(GSubprocess) process = NULL;
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  Run run = { FALSE, NULL };
  char *text;

  process = spawn_in (lan, node, launcher, argv);
  g_subprocess_communicate_async (process, NULL, NULL, communicated_cb, &run);
  while (!run.done && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (10000);
    }
  if (!run.done)
    {
      g_test_message ("%s in %s: killed after %u s", argv[0], node, timeout_s);
      g_subprocess_force_exit (process);
      while (!run.done)
        g_main_context_iteration (NULL, TRUE);
    }

  if (run.out == NULL || g_bytes_get_size (run.out) == 0)
    return g_strdup ("");
  text = g_strndup (g_bytes_get_data (run.out, NULL), g_bytes_get_size (run.out));
  g_bytes_unref (run.out);
  return text;
}

/* Established TCP connections to port 47800 from @node, as "PEER:PORT"
 * lines: a client of a discovery server holds exactly one. */
static char *
discovery_connections (Lan        *lan,
                       const char *node,
                       const char *home)
{
  const char *argv[] = { "ss", "-Htn", "state", "established", "dst", ":47800", NULL };
  g_autofree char *out = run_in (lan, node, home, argv, 10);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  GString *peers = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      guint n = 0;
      const char *last = NULL;

      for (guint j = 0; fields[j] != NULL; j++)
        if (fields[j][0] != '\0')
          {
            n++;
            last = fields[j];
          }
      if (n >= 2)
        g_string_append_printf (peers, "%s%s", peers->len ? " " : "", last);
    }

  return g_string_free (peers, FALSE);
}

static char *
read_device_id (App *app)
{
  g_autofree char *path = g_build_filename (app->home, ".config", "filer", "device-cert.pem", NULL);
  g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_file (path, NULL);

  /* The app's id is its key's. */
  return certificate != NULL ? filer_identity_id_for_certificate (certificate) : NULL;
}

/* The app's log (G_MESSAGES_DEBUG=all) less other libraries' debug
 * lines: Filer's own messages, and every warning and error. */
static void
dump_log (App *app)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (app->log_path, &contents, NULL, NULL))
    return;

  g_test_message ("--- log of the app in %s (%s) ---", app->node, app->ip);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *debug = strstr (lines[i], "-DEBUG: ");

      if (lines[i][0] == '\0')
        continue;
      if (debug != NULL && strstr (lines[i], "): filer") == NULL)
        continue;
      g_test_message ("%s: %s", app->node, lines[i]);
    }
}

/* --- the LAN ------------------------------------------------------ */

static void
app_init (App        *app,
          const char *node,
          const char *hostname,
          const char *ip)
{
  app->node = node;
  app->hostname = hostname;
  app->ip = ip;
  app->home = g_build_filename (g_get_home_dir (), node, NULL);
  app->log_path = g_build_filename (app->home, "app.log", NULL);
  g_mkdir_with_parents (app->home, 0700);
}

static void
app_clear (App *app)
{
  process_stop (&app->app);
  process_stop (&app->bus);
  g_clear_pointer (&app->home, g_free);
  g_clear_pointer (&app->bus_address, g_free);
  g_clear_pointer (&app->log_path, g_free);
}

static void
lan_setup (Lan           *lan,
           gconstpointer  data)
{
  static guint counter;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;

  if (!lan_available (&reason))
    return;

  lan->prefix = g_strdup_printf ("filerlan-%d-%u", (int)getpid (), counter++);
  run_script ("up", lan->prefix, &error);
  g_assert_no_error (error);

  lan->observer_home = g_build_filename (g_get_home_dir (), "c", NULL);
  g_mkdir_with_parents (lan->observer_home, 0700);
  app_init (&lan->a, "a", "lan-host-a", "192.0.2.10");
  app_init (&lan->b, "b", "lan-host-b", "192.0.2.20");
  app_start_bus (lan, &lan->a);
  app_start_bus (lan, &lan->b);
}

static void
lan_teardown (Lan           *lan,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  if (lan->prefix == NULL)
    return;

  app_clear (&lan->a);
  app_clear (&lan->b);
  if (!run_script ("down", lan->prefix, &error))
    g_printerr ("lanhost: %s\n", error->message);
  g_clear_pointer (&lan->prefix, g_free);
  g_clear_pointer (&lan->observer_home, g_free);
}

/* Probes from C every 2 s until @until seconds after t0, logging each
 * change of who answers: the rule's record. */
static GStrv
watch_servers (Lan    *lan,
               double  until)
{
  g_auto(GStrv) last = NULL;
  g_autofree char *last_text = g_strdup ("(none yet)");

  do
    {
      g_auto(GStrv) servers = probe_lan (lan);
      g_autofree char *text = g_strjoinv (" ", servers);

      if (text[0] == '\0')
        {
          g_free (text);
          text = g_strdup ("none");
        }
      if (!g_str_equal (text, last_text))
        {
          g_test_message ("%5.1f s: discovery servers on the LAN: %s", seconds_since (lan), text);
          g_free (last_text);
          last_text = g_strdup (text);
        }
      g_clear_pointer (&last, g_strfreev);
      last = g_steal_pointer (&servers);

      if (seconds_since (lan) < until)
        filer_test_spin (1000);
    }
  while (seconds_since (lan) < until);

  return g_steal_pointer (&last);
}

static GStrv
check_lan (Lan      *lan,
           double    until,
           gboolean  record)
{
  g_auto(GStrv) servers = NULL;
  g_autofree char *why_a = NULL;
  g_autofree char *why_b = NULL;
  g_autofree char *conn_a = NULL;
  g_autofree char *conn_b = NULL;
  g_autofree char *peers = NULL;
  g_autofree char *id_a = NULL;
  g_autofree char *id_b = NULL;
  const char *cli_argv[] = { cli_path (), "peers", "--json", NULL };
  gboolean a_ok;
  gboolean b_ok;
  gboolean one_server;
  gboolean a_client;
  gboolean b_client;

  servers = watch_servers (lan, until);
  one_server = g_strv_length (servers) == 1;

  a_ok = app_answers (&lan->a, &why_a);
  b_ok = app_answers (&lan->b, &why_b);
  g_test_message ("%5.1f s: app in A answers on its bus: %s%s", seconds_since (lan),
                  a_ok ? "yes" : "NO: ", a_ok ? "" : why_a);
  g_test_message ("%5.1f s: app in B answers on its bus: %s%s", seconds_since (lan),
                  b_ok ? "yes" : "NO: ", b_ok ? "" : why_b);

  /* Both are clients of the one server: the host over loopback. */
  conn_a = discovery_connections (lan, "a", lan->a.home);
  conn_b = discovery_connections (lan, "b", lan->b.home);
  g_test_message ("discovery connections: A → [%s], B → [%s]", conn_a, conn_b);
  if (one_server)
    {
      g_autofree char *target = g_strdup_printf ("%s:%u", servers[0], LAN_PORT);
      gboolean a_hosts = g_str_equal (servers[0], lan->a.ip);

      a_client = g_str_equal (conn_a, a_hosts ? "127.0.0.1:47800" : target);
      b_client = g_str_equal (conn_b, a_hosts ? target : "127.0.0.1:47800");
    }
  else
    a_client = b_client = FALSE;

  /* What a third machine's filer-cli sees with the default config. */
  if (cli_path () != NULL)
    {
      peers = run_in (lan, "c", lan->observer_home, cli_argv, 20);
      id_a = read_device_id (&lan->a);
      id_b = read_device_id (&lan->b);
      g_test_message ("filer-cli peers --json in C (A is %s, B is %s):\n%s",
                      id_a, id_b, peers);
    }

  if (record)
    {
      together_record.ran = TRUE;
      together_record.peers = g_strdup (peers);
      together_record.id_a = g_strdup (id_a);
      together_record.id_b = g_strdup (id_b);
    }

  /* The record of the rule, pass or fail. */
  dump_log (&lan->a);
  dump_log (&lan->b);

  g_assert_cmpuint (g_strv_length (servers), ==, 1);
  if (!a_ok)
    g_error ("the app in A does not answer on its bus (frozen?): %s", why_a);
  if (!b_ok)
    g_error ("the app in B does not answer on its bus (frozen?): %s", why_b);
  g_assert_true (a_client);
  g_assert_true (b_client);

  return g_steal_pointer (&servers);
}

/* Both apps start at the same moment. */
static void
test_together (Lan           *lan,
               gconstpointer  data)
{
  if (lan->prefix == NULL)
    {
      g_autofree char *reason = NULL;

      lan_available (&reason);
      g_test_skip (reason);
      return;
    }

  lan->t0 = g_get_monotonic_time ();
  app_start (lan, &lan->a);
  app_start (lan, &lan->b);
  poll_until (app_registered, &lan->a, STARTUP_TIMEOUT_S * 1000, "the app in A on its bus");
  g_test_message ("%5.1f s: the app in A is on its bus", seconds_since (lan));
  poll_until (app_registered, &lan->b, STARTUP_TIMEOUT_S * 1000, "the app in B on its bus");
  g_test_message ("%5.1f s: both apps are on their buses", seconds_since (lan));

  /* Past two of the hosting app's 15 s checks. */
  g_strfreev (check_lan (lan, 40, TRUE));
}

/* B starts 20 s after A: A hosts alone first. */
static void
test_staggered (Lan           *lan,
                gconstpointer  data)
{
  if (lan->prefix == NULL)
    {
      g_autofree char *reason = NULL;

      lan_available (&reason);
      g_test_skip (reason);
      return;
    }

  lan->t0 = g_get_monotonic_time ();
  app_start (lan, &lan->a);
  poll_until (app_registered, &lan->a, STARTUP_TIMEOUT_S * 1000, "the app in A on its bus");
  g_strfreev (watch_servers (lan, 20));
  app_start (lan, &lan->b);
  poll_until (app_registered, &lan->b, STARTUP_TIMEOUT_S * 1000, "the app in B on its bus");

  /* A is past two checks (about 18 s and 33 s), B has had time to find
   * it or to host and check once. */
  g_strfreev (check_lan (lan, 45, FALSE));
}

typedef struct
{
  Lan *lan;
  App *app;
} Hosting;

/* The app hosts: its own client is connected to its own server. */
static gboolean
hosts_itself (gpointer user_data)
{
  Hosting *hosting = user_data;
  g_autofree char *connections = discovery_connections (hosting->lan, hosting->app->node,
                                                        hosting->app->home);

  return g_str_equal (connections, "127.0.0.1:47800");
}

/* B's cable is out when both apps start, so each finds nothing and
 * hosts; then it is plugged in (a laptop joining the LAN late): two
 * servers on one LAN. B, the higher address, must yield at its next
 * check and become A's client. */
static void
test_cable (Lan           *lan,
            gconstpointer  data)
{
  Hosting hosting_a = { lan, &lan->a };
  Hosting hosting_b = { lan, &lan->b };
  g_auto(GStrv) servers = NULL;
  double plugged;

  if (lan->prefix == NULL)
    {
      g_autofree char *reason = NULL;

      lan_available (&reason);
      g_test_skip (reason);
      return;
    }

  lan_cable (lan, "b", "out");
  lan->t0 = g_get_monotonic_time ();
  app_start (lan, &lan->a);
  app_start (lan, &lan->b);
  poll_until (app_registered, &lan->a, STARTUP_TIMEOUT_S * 1000, "the app in A on its bus");
  poll_until (app_registered, &lan->b, STARTUP_TIMEOUT_S * 1000, "the app in B on its bus");
  poll_until (hosts_itself, &hosting_a, 30000, "the app in A to host");
  poll_until (hosts_itself, &hosting_b, 30000, "the app in B (cable out) to host");
  g_test_message ("%5.1f s: both apps host; B's cable goes in", seconds_since (lan));

  lan_cable (lan, "b", "in");
  plugged = seconds_since (lan);

  /* Two of B's checks after the cable went in. */
  servers = check_lan (lan, plugged + 32, FALSE);
  g_assert_cmpstr (servers[0], ==, lan->a.ip);
}

/* Does `filer-cli peers --json` list @id as a peer on this network? */
static gboolean
cli_lists (const char *peers,
           const char *id)
{
  g_auto(GStrv) lines = g_strsplit (peers != NULL ? peers : "", "\n", -1);

  for (guint i = 0; id != NULL && lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *object;

      if (!json_parser_load_from_data (parser, lines[i], -1, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        continue;

      object = json_node_get_object (json_parser_get_root (parser));
      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", ""), "peer") == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (object, "id", ""), id) == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (object, "network", ""), "lan") == 0)
        return TRUE;
    }

  return FALSE;
}

/* A third machine on the LAN, default config, lists both apps as on
 * this network: so the server put A (over loopback), B and C in one
 * network, and the apps see each other too. This LAN's 192.0.2.0/24 is
 * not a private range: they share a network because they are on the
 * server's own link (docs/protocol.md §2.4). */
static void
test_together_listed (void)
{
  gboolean a_listed;
  gboolean b_listed;

  if (!together_record.ran)
    {
      g_test_skip ("reads what /lan-hosting/together saw");
      return;
    }

  a_listed = cli_lists (together_record.peers, together_record.id_a);
  b_listed = cli_lists (together_record.peers, together_record.id_b);
  g_test_message ("filer-cli in C lists A: %s, B: %s", a_listed ? "yes" : "no",
                  b_listed ? "yes" : "no");
  g_assert_true (a_listed);
  g_assert_true (b_listed);
}

int
main (int   argc,
      char *argv[])
{
  system_data_dirs = g_strdup (g_getenv ("XDG_DATA_DIRS"));
  system_config_dirs = g_strdup (g_getenv ("XDG_CONFIG_DIRS"));
  filer_test_init (&argc, &argv);

  g_test_add ("/lan-hosting/together", Lan, NULL, lan_setup, test_together, lan_teardown);
  g_test_add_func ("/lan-hosting/together-listed", test_together_listed);
  g_test_add ("/lan-hosting/staggered", Lan, NULL, lan_setup, test_staggered, lan_teardown);
  g_test_add ("/lan-hosting/cable", Lan, NULL, lan_setup, test_cable, lan_teardown);

  return g_test_run ();
}
