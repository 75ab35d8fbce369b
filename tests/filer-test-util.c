/* filer-test-util.c: what every Filer test program shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-test-util.h"

#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILER_TEST_BACKSTOP 300

static void
backstop_cb (int signum)
{
  static const char message[] = "Bail out! test program ran past its backstop\n";

  /* Only async-signal-safe calls here. */
  if (write (STDOUT_FILENO, message, sizeof message - 1) < 0)
    {
      /* Nothing more we can do. */
    }
  abort ();
}

/* FILER_TEST_TIMEOUT_MULTIPLIER (tools/run-tests sets it for the
 * sanitizer build): how much longer than usual the tests may wait. */
guint
filer_test_timeout_multiplier (void)
{
  const char *value = g_getenv ("FILER_TEST_TIMEOUT_MULTIPLIER");
  guint64 multiplier = value ? g_ascii_strtoull (value, NULL, 10) : 1;

  return CLAMP (multiplier, 1, 20);
}

void
filer_test_init (int    *argc,
                 char ***argv)
{
  const char *backstop = g_getenv ("FILER_TEST_BACKSTOP");

  signal (SIGPIPE, SIG_IGN);
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  signal (SIGALRM, backstop_cb);
  alarm ((backstop ? atoi (backstop) : FILER_TEST_BACKSTOP) * filer_test_timeout_multiplier ());
}

typedef struct
{
  gboolean timed_out;
} Watchdog;

static gboolean
watchdog_cb (gpointer user_data)
{
  Watchdog *watchdog = user_data;

  watchdog->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
filer_test_wait_until (FilerTestCondition  condition,
                       gpointer            user_data,
                       guint               timeout_ms,
                       const char         *what)
{
  GMainContext *context = g_main_context_get_thread_default ();
  Watchdog watchdog = { FALSE };
  g_autoptr(GSource) source = NULL;

  /* A slower build (the sanitizers) stretches every watchdog. */
  timeout_ms *= filer_test_timeout_multiplier ();
  source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, watchdog_cb, &watchdog, NULL);
  g_source_attach (source, context);

  while (!condition (user_data) && !watchdog.timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (source);

  if (!condition (user_data))
    g_error ("watchdog: gave up after %u ms waiting for %s", timeout_ms, what);
}

static gboolean
flag_is_set (gpointer user_data)
{
  const gboolean *flag = user_data;

  return *flag;
}

void
filer_test_wait_for (const gboolean *flag,
                     guint           timeout_ms,
                     const char     *what)
{
  filer_test_wait_until (flag_is_set, (gpointer)flag, timeout_ms, what);
}

void
filer_test_spin (guint ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  Watchdog watchdog = { FALSE };
  g_autoptr(GSource) source = g_timeout_source_new (ms);

  g_source_set_callback (source, watchdog_cb, &watchdog, NULL);
  g_source_attach (source, context);

  while (!watchdog.timed_out)
    g_main_context_iteration (context, TRUE);
}

/* A test that aborts must not leave its server running. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

struct _FilerTestServer
{
  GSubprocess *process;
  gboolean     dead;
  guint        port;
  char        *address;
  char        *id;
};

gboolean
filer_test_parse_listening_line (const char  *line,
                                 guint       *port,
                                 char       **id)
{
  const char *prefix = "filer-server listening on 127.0.0.1:";
  g_auto(GStrv) words = NULL;
  guint64 number;

  /* "… listening on 127.0.0.1:PORT id SERVERID" */
  if (line == NULL || !g_str_has_prefix (line, prefix))
    return FALSE;
  words = g_strsplit (line + strlen (prefix), " ", -1);
  if (g_strv_length (words) != 3 || !g_str_equal (words[1], "id") ||
      !g_ascii_string_to_unsigned (words[0], 10, 1, G_MAXUINT16, &number, NULL) ||
      !filer_identity_id_is_valid (words[2]))
    return FALSE;
  *port = (guint)number;
  *id = g_strdup (words[2]);
  return TRUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

double
filer_test_percentile (GArray *values,
                       double  p)
{
  if (values->len == 0)
    return NAN;
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, MIN (values->len - 1, (guint)(p * values->len)));
}

FilerTestServer *
filer_test_server_start (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *binary = g_getenv ("FILER_SERVER");
  gboolean has_port = FALSE;
  gboolean has_key_dir = FALSE;
  g_autofree char *key_dir = NULL;
  FilerTestServer *server;

  if (binary == NULL)
    g_error ("FILER_SERVER is not set: run the tests through meson test");

  g_ptr_array_add (argv, (char *)binary);
  g_ptr_array_add (argv, (char *)"--bind");
  g_ptr_array_add (argv, (char *)"127.0.0.1");
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    {
      has_port |= g_str_equal (args[i], "--port");
      has_key_dir |= g_str_equal (args[i], "--key-dir");
      g_ptr_array_add (argv, (char *)args[i]);
    }
  if (!has_port)
    {
      g_ptr_array_add (argv, (char *)"--port");
      g_ptr_array_add (argv, (char *)"0");
    }
  /* The test's own (isolated) config folder: a server restarted in one
   * test keeps its key, as a real one does. */
  if (!has_key_dir)
    {
      key_dir = g_build_filename (g_get_user_config_dir (), "filer-server", NULL);
      g_ptr_array_add (argv, (char *)"--key-dir");
      g_ptr_array_add (argv, key_dir);
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  server = g_new0 (FilerTestServer, 1);
  server->process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv->pdata,
                                                  &error);
  g_assert_no_error (error);

  /* Blocking is fine here: the server prints this line before its loop
   * runs, and the process-wide backstop catches a server that never
   * does. */
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  if (!filer_test_parse_listening_line (line, &server->port, &server->id))
    g_error ("filer-server did not print its listening line (got “%s”)", line ? line : "EOF");

  server->address = g_strdup_printf ("127.0.0.1:%u", server->port);
  return server;
}

guint
filer_test_server_get_port (FilerTestServer *server)
{
  return server->port;
}

long
filer_test_process_rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return -1;
  line = strstr (contents, "VmRSS:");
  return line ? atol (line + 6) : -1;
}

static guint64
status_kib (const char *status,
            const char *field)
{
  const char *line = strstr (status, field);

  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (field), NULL, 10);
}

void
filer_test_server_get_memory (FilerTestServer *server,
                              guint64         *rss_kib,
                              guint64         *peak_kib)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status",
                                           g_subprocess_get_identifier (server->process));
  g_autofree char *status = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &status, NULL, &error);
  g_assert_no_error (error);
  *rss_kib = status_kib (status, "\nVmRSS:");
  *peak_kib = status_kib (status, "\nVmHWM:");
}

const char *
filer_test_server_get_address (FilerTestServer *server)
{
  return server->address;
}

/* The id the server's key makes, from its ready line. */
const char *
filer_test_server_get_id (FilerTestServer *server)
{
  return server->id;
}

void
filer_test_server_kill (FilerTestServer *server)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (server->process, SIGKILL);
  g_subprocess_wait (server->process, NULL, &error);
  g_assert_no_error (error);
  server->dead = TRUE;
}

void
filer_test_server_stop (FilerTestServer *server)
{
  if (server == NULL)
    return;

  if (!server->dead)
    {
      g_subprocess_send_signal (server->process, SIGTERM);
      g_subprocess_wait (server->process, NULL, NULL);
    }

  g_clear_object (&server->process);
  g_free (server->address);
  g_free (server->id);
  g_free (server);
}

guint16
filer_test_free_udp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
port_binds (GSocketType type,
            guint16     port)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, 0, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);

  return socket != NULL && g_socket_bind (socket, address, type == G_SOCKET_TYPE_STREAM, NULL);
}

guint16
filer_test_free_fixed_port (void)
{
  g_autofree char *range = NULL;
  guint low = 32768;

  /* Ports from here up are what bind (port 0) and connect () hand out. */
  if (g_file_get_contents ("/proc/sys/net/ipv4/ip_local_port_range", &range, NULL, NULL))
    low = (guint) g_ascii_strtoull (range, NULL, 10);
  g_assert_cmpuint (low, >, 12000);

  for (guint attempt = 0; attempt < 200; attempt++)
    {
      guint16 port = (guint16) g_random_int_range (10000, (gint32) low);

      if (port_binds (G_SOCKET_TYPE_STREAM, port) && port_binds (G_SOCKET_TYPE_DATAGRAM, port))
        return port;
    }

  g_error ("no free port below %u", low);
}

FilerIdentity *
filer_test_identity_new (void)
{
  g_autoptr(GError) error = NULL;
  FilerIdentity *identity = filer_identity_new_ephemeral (&error);

  g_assert_no_error (error);
  return identity;
}

FilerTransferService *
filer_test_service_new (const char *name,
                        const char *download_dir)
{
  g_autoptr(FilerIdentity) identity = filer_test_identity_new ();

  return filer_transfer_service_new (identity, name, download_dir);
}

FilerPeer *
filer_test_peer_for (FilerTransferService *service)
{
  FilerPeer *peer = filer_peer_new (filer_transfer_service_get_device_id (service));
  const char * const addresses[] = { "127.0.0.1", NULL };

  filer_peer_set_name (peer, filer_transfer_service_get_device_name (service));
  filer_peer_set_addresses (peer, addresses);
  filer_peer_set_port (peer, filer_transfer_service_get_port (service));
  return peer;
}

typedef struct
{
  GIOStream *stream;
  char      *peer_id;
  GError    *error;
  gboolean   done;
} Handshake;

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Handshake *h = user_data;

  h->stream = filer_tls_handshake_finish (result, &h->peer_id, &h->error);
  h->done = TRUE;
}

GIOStream *
filer_test_connect_tls (guint16        port,
                        FilerIdentity *identity,
                        const char    *expected_peer_id,
                        char         **proven_peer_id)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) socket = NULL;
  g_autoptr(GError) error = NULL;
  Handshake h = { 0 };

  g_socket_client_set_enable_proxy (client, FALSE);
  socket = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  filer_tls_handshake_async (G_IO_STREAM (socket), FILER_TLS_ROLE_CLIENT, identity,
                             expected_peer_id, NULL, handshake_cb, &h);
  filer_test_wait_for (&h.done, 15000, "the TLS handshake");
  g_assert_no_error (h.error);
  if (proven_peer_id != NULL)
    *proven_peer_id = g_steal_pointer (&h.peer_id);
  g_free (h.peer_id);
  return h.stream;
}

char *
filer_test_make_keys (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerIdentity) identity = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  identity = filer_identity_load (dir, &error);
  g_assert_no_error (error);
  return g_strdup (filer_identity_get_id (identity));
}

/* ------------------------------------------------------------------ */
/* Device keys for tests                                                */

/* Tests name their devices ("device-aaaa"); since protocol version 2 an
 * id is what a key makes, so each name gets one key for the whole
 * program and the tests ask for its id where they used the name. */
static GHashTable *test_identities;

FilerIdentity *
filer_test_identity (const char *label)
{
  FilerIdentity *identity;

  if (test_identities == NULL)
    test_identities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  identity = g_hash_table_lookup (test_identities, label);
  if (identity == NULL)
    {
      g_autoptr(GError) error = NULL;

      identity = filer_identity_new_ephemeral (&error);
      g_assert_no_error (error);
      g_hash_table_insert (test_identities, g_strdup (label), identity);
    }

  return identity;
}

const char *
filer_test_id (const char *label)
{
  return filer_identity_get_id (filer_test_identity (label));
}

FilerDevice *
filer_test_device_new (const char *label,
                       const char *name,
                       const char *kind)
{
  return filer_device_new_for_identity (filer_test_identity (label), name, kind);
}

typedef struct
{
  gboolean   done;
  GIOStream *stream;
  GError    *error;
} TlsWait;

static void
tls_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  TlsWait *wait = user_data;

  wait->stream = filer_tls_handshake_finish (result, NULL, &wait->error);
  wait->done = TRUE;
}

static gboolean
tls_is_done (gpointer user_data)
{
  return ((TlsWait *)user_data)->done;
}

/* Runs the client side of TLS on @connection as @label's key (spinning
 * the main loop: other clients in the test keep going). Returns the TLS
 * stream, or NULL with @error. */
GIOStream *
filer_test_tls_client (GSocketConnection  *connection,
                       const char         *label,
                       const char         *expected_server_id,
                       GError            **error)
{
  TlsWait wait = { FALSE };

  filer_tls_handshake_async (G_IO_STREAM (connection), FILER_TLS_ROLE_CLIENT,
                             filer_test_identity (label), expected_server_id, NULL,
                             tls_done_cb, &wait);
  filer_test_wait_until (tls_is_done, &wait, 15000, "the TLS handshake");
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return wait.stream;
}

static void
client_hello_done_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  gboolean *done = user_data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, NULL);
  *done = TRUE;
}

/* The first TLS record a GIO client sends (its ClientHello), caught on
 * a socket pair: what a stranger who then goes silent sends. */
GBytes *
filer_test_capture_client_hello (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GByteArray) hello = g_byte_array_new ();
  gboolean done = FALSE;
  int pair[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  socket = g_socket_new_from_fd (pair[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  tls = g_tls_client_connection_new (G_IO_STREAM (connection), NULL, &error);
  g_assert_no_error (error);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, cancellable,
                                    client_hello_done_cb, &done);

  /* A record: type, version (2 bytes), length (2 bytes), body. */
  while (hello->len < 5 || hello->len < 5u + (hello->data[3] << 8 | hello->data[4]))
    {
      struct pollfd pfd = { .fd = pair[1], .events = POLLIN };
      guint8 buffer[4096];
      ssize_t n;

      g_assert_cmpint (poll (&pfd, 1, 5000), ==, 1);
      n = recv (pair[1], buffer, sizeof buffer, 0);
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (hello, buffer, n);
    }
  g_assert_cmpuint (hello->data[0], ==, 0x16);

  g_cancellable_cancel (cancellable);
  close (pair[1]);
  filer_test_wait_for (&done, 10000, "the cancelled handshake");

  return g_byte_array_free_to_bytes (g_steal_pointer (&hello));
}

/* A stranger's ClientHello from OpenSSL (tests/data/README.md). */
GBytes *
filer_test_openssl_client_hello (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "openssl-client-hello.bin", NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, >, 5);
  g_assert_cmpuint ((guint8)contents[0], ==, 0x16);
  return g_bytes_new_take (contents, length);
}
