/* test-server-defaults.c: filer-server as shipped, with no limit options
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "libfiler.h"
#include "filer-test-util.h"

/* Every other test sets its own --max-per-address and --idle-timeout, so
 * a wrong default would pass them all. Here the real filer-server runs
 * with neither option, and plain sockets check what a user gets: the
 * per-address limit and the idle timeout that the header promises (and
 * that README.md states: 32 and 15 s).
 */

/* The documented values: a change of default must change this test and
 * the documentation with it. */
#define DOCUMENTED_MAX_PER_ADDRESS 32
#define DOCUMENTED_IDLE_TIMEOUT_MS 15000

/* A silent TCP connection to the server from @source (a loopback
 * address), blocking, with CLOEXEC. */
static int
connect_from (const char *source,
              guint       port)
{
  struct sockaddr_in local = { .sin_family = AF_INET };
  struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (inet_pton (AF_INET, source, &local.sin_addr), ==, 1);
  g_assert_cmpint (inet_pton (AF_INET, "127.0.0.1", &server.sin_addr), ==, 1);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&local, sizeof local), ==, 0);
  g_assert_cmpint (connect (fd, (struct sockaddr *)&server, sizeof server), ==, 0);
  return fd;
}

/* Waits up to @timeout_ms for the server to close @fd (EOF or reset),
 * collecting what it said first into @said (may be NULL). Returns TRUE
 * if it closed. */
static gboolean
wait_closed (int      fd,
             guint    timeout_ms,
             GString *said)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      char buffer[4096];
      ssize_t n;

      if (left_ms <= 0)
        return FALSE;
      if (poll (&pfd, 1, (int)left_ms) == 0)
        return FALSE;
      n = recv (fd, buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET))
        return TRUE;
      if (n < 0 && errno != EINTR)
        return TRUE;
      if (n > 0 && said != NULL)
        g_string_append_len (said, buffer, n);
    }
}

/* Frames are binary (a u16 length first): search the bytes. */
static gboolean
said_contains (GString    *said,
               const char *text)
{
  return memmem (said->str, said->len, text, strlen (text)) != NULL;
}

/* Still open and silent: nothing to read, no EOF. */
static gboolean
is_open (int fd)
{
  char c;
  ssize_t n = recv (fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Reads what is there; TRUE if the connection is still open. */
static gboolean
drain_open (int fd)
{
  for (;;)
    {
      char buffer[4096];
      ssize_t n = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT);

      if (n > 0)
        continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

static void
test_documented (void)
{
  /* The header's numbers are the documented ones. */
  g_assert_cmpuint (FILER_SERVER_DEFAULT_MAX_PER_ADDRESS, ==, DOCUMENTED_MAX_PER_ADDRESS);
  g_assert_cmpuint (FILER_SERVER_DEFAULT_IDLE_TIMEOUT_MS, ==, DOCUMENTED_IDLE_TIMEOUT_MS);
}

static void
test_max_per_address (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  int held[FILER_SERVER_DEFAULT_MAX_PER_ADDRESS];
  g_autoptr(GString) said = g_string_new (NULL);
  int extra, other;

  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    held[i] = connect_from ("127.0.0.1", port);

  /* The 33rd from the same address gets in; the oldest makes room, told
   * why, so that connections held open behind one address never lock
   * the others there out. */
  extra = connect_from ("127.0.0.1", port);
  g_assert_true (wait_closed (held[0], 5000, said));
  g_test_message ("the oldest connection was told %" G_GSIZE_FORMAT " bytes", said->len);
  g_assert_true (said_contains (said, "too-many-connections"));
  close (held[0]);

  /* The 31 others and the newcomer are all still there, and another
   * address gets in. */
  other = connect_from ("127.0.0.2", port);
  g_assert_false (wait_closed (other, 500, NULL));
  g_assert_true (is_open (other));
  g_assert_true (is_open (extra));
  for (guint i = 1; i < G_N_ELEMENTS (held); i++)
    {
      g_assert_true (is_open (held[i]));
      close (held[i]);
    }
  close (other);
  close (extra);
}

/* New connections from one address are paced: 64 at once, then 16 a
 * second. Those over it are closed unheard, before any TLS. */
static void
test_accept_rate (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  int fds[100];
  guint unheard = 0;
  int later;

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = connect_from ("127.0.0.3", port);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autoptr(GString) said = g_string_new (NULL);

      /* Evicted ones are told; paced ones hear nothing. */
      if (wait_closed (fds[i], i < 64 ? 50 : 2000, said) && said->len == 0)
        unheard++;
      close (fds[i]);
    }
  g_test_message ("%u of %zu connections closed unheard", unheard, G_N_ELEMENTS (fds));
  g_assert_cmpuint (unheard, >=, 20);   /* 16 a second came back meanwhile */
  g_assert_cmpuint (unheard, <=, 36);

  /* Tokens come back with time. */
  g_usleep (G_USEC_PER_SEC);
  later = connect_from ("127.0.0.3", port);
  g_assert_false (wait_closed (later, 500, NULL));
  g_assert_true (is_open (later));
  close (later);

  /* Another address never waited. */
  later = connect_from ("127.0.0.4", port);
  g_assert_false (wait_closed (later, 300, NULL));
  close (later);
}

/* Unregistered connections are 2,048 in all: 64 addresses holding 32
 * each fill it. One more, from a 65th address, gets in; the oldest of
 * an address holding the most is told `busy`, and only one goes. */
static void
test_unregistered_total (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  enum { N_ADDRESSES = 64, PER_ADDRESS = DOCUMENTED_MAX_PER_ADDRESS, N = N_ADDRESSES * PER_ADDRESS };
  g_autofree int *held = g_new (int, N);
  guint closed = 0, busy = 0;
  struct rlimit limit;
  int extra;

  /* 2,049 descriptors here. */
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = limit.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  g_assert_cmpuint (limit.rlim_cur, >, N + 64);

  for (guint i = 0; i < N; i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.4.%u", 1 + i / PER_ADDRESS);

      held[i] = connect_from (source, port);
    }
  /* Let the server accept them all before the newcomer. */
  g_usleep (G_USEC_PER_SEC);

  extra = connect_from ("127.0.5.1", port);
  g_assert_false (wait_closed (extra, 1000, NULL));
  g_assert_true (is_open (extra));

  for (guint i = 0; i < N; i++)
    {
      g_autoptr(GString) said = g_string_new (NULL);

      if (!is_open (held[i]) && wait_closed (held[i], 100, said))
        {
          closed++;
          if (said_contains (said, "code:busy"))
            busy++;
        }
      close (held[i]);
    }
  close (extra);
  g_test_message ("%u of %u held connections closed, %u told busy", closed, (guint)N, busy);
  g_assert_cmpuint (closed, ==, 1);
  g_assert_cmpuint (busy, ==, 1);
}


/* Strangers who send a ClientHello and go silent: 31 from each of 32
 * addresses (under the per-address limit, so none is evicted). The
 * server holds a TLS session for each until the handshake timeout,
 * and it must not cost much: glib-networking loads the system's CA
 * bundle into each connection made with the default database (~250 KiB
 * each, 250 MB for these), which Filer's connections do not need. */
static void
test_stalled_handshakes (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  g_autoptr(GBytes) hello = filer_test_capture_client_hello ();
  enum { N_ADDRESSES = 32, PER_ADDRESS = DOCUMENTED_MAX_PER_ADDRESS - 1, N = N_ADDRESSES * PER_ADDRESS };
  g_autofree int *held = g_new (int, N);
  guint64 rss_before, rss, peak;
  struct rlimit limit;
  gint64 start, deadline;
  gsize size;
  const guint8 *data = g_bytes_get_data (hello, &size);

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = limit.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  g_assert_cmpuint (limit.rlim_cur, >, N + 64);

  filer_test_server_get_memory (server, &rss_before, &peak);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < N; i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.8.%u", 1 + i / PER_ADDRESS);

      held[i] = connect_from (source, port);
      g_assert_cmpint (send (held[i], data, size, MSG_NOSIGNAL), ==, (gssize)size);
    }

  /* The server has read them all (they are connections it accepted and
   * peeked at, each with its TLS connection made). */
  g_usleep (3 * G_USEC_PER_SEC);
  filer_test_server_get_memory (server, &rss, &peak);
  g_test_message ("%u stalled handshakes: server RSS %" G_GUINT64_FORMAT " KiB (before %"
                  G_GUINT64_FORMAT " KiB), peak %" G_GUINT64_FORMAT " KiB",
                  (guint)N, rss, rss_before, peak);
#if defined (__SANITIZE_ADDRESS__)
  /* AddressSanitizer pads every block and keeps freed ones in quarantine
   * (992 GnuTLS sessions at once: ~270 MiB): the bound is the normal
   * build's. */
#else
  g_assert_cmpuint (peak, <, 96 * 1024);
#endif

  /* Each is closed by the handshake timeout (10 s) and the sweep. */
  deadline = start + 16 * G_USEC_PER_SEC;
  for (guint i = 0; i < N; i++)
    {
      gint64 left_ms = MAX (deadline - g_get_monotonic_time (), 0) / 1000;

      if (!wait_closed (held[i], (guint)left_ms, NULL))
        g_error ("stalled connection %u was still open after %.1f s", i,
                 (g_get_monotonic_time () - start) / 1e6);
      close (held[i]);
    }
  g_test_message ("all closed after %.1f s", (g_get_monotonic_time () - start) / 1e6);
}

/* A TLS handshake by a device, from 127.0.0.1: seconds it took. */
static double
time_handshake (FilerTestServer *server)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                filer_test_server_get_port (server),
                                                NULL, &error);
  g_assert_no_error (error);
  tls = filer_test_tls_client (connection, "device", filer_test_server_get_id (server), &error);
  g_assert_no_error (error);
  return (g_get_monotonic_time () - start) / 1e6;
}

/* Strangers who send the header of a TLS record and stall inside it:
 * 31 from each of 8 addresses. Their handshakes must not start (each
 * would hold one of glib-networking's few handshake threads until the
 * 10 s timeout), so a device's handshake meanwhile is as quick as ever. */
static void
test_partial_records (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  static const guint8 header[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };   /* 512 bytes follow */
  enum { N_ADDRESSES = 8, PER_ADDRESS = DOCUMENTED_MAX_PER_ADDRESS - 1, N = N_ADDRESSES * PER_ADDRESS };
  int held[N];
  double quiet, attacked;

  quiet = time_handshake (server);
  for (guint i = 0; i < N; i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.9.%u", 1 + i / PER_ADDRESS);

      held[i] = connect_from (source, port);
      g_assert_cmpint (send (held[i], header, sizeof header, MSG_NOSIGNAL), ==, sizeof header);
    }
  g_usleep (G_USEC_PER_SEC);

  attacked = time_handshake (server);
  g_test_message ("a device's handshake: %.3f s, with %u strangers stalled in a record: %.3f s",
                  quiet, (guint)N, attacked);
  g_assert_cmpfloat (attacked, <, 2.0);

  /* One that gives up inside its record is closed at once, not left
   * waiting for the rest. */
  {
    int quitter = connect_from ("127.0.9.100", port);

    g_assert_cmpint (send (quitter, header, sizeof header, MSG_NOSIGNAL), ==, sizeof header);
    g_usleep (100 * 1000);
    g_assert_cmpint (shutdown (quitter, SHUT_WR), ==, 0);
    g_assert_true (wait_closed (quitter, 2000, NULL));
    close (quitter);
  }

  /* A header that announces more than a record can hold (2^14 bytes)
   * is not a ClientHello: closed at once, not waited for. */
  {
    static const guint8 too_long[] = { 0x16, 0x03, 0x01, 0x40, 0x01 };
    int liar = connect_from ("127.0.9.101", port);

    g_assert_cmpint (send (liar, too_long, sizeof too_long, MSG_NOSIGNAL), ==, sizeof too_long);
    g_assert_true (wait_closed (liar, 2000, NULL));
    close (liar);
  }

  /* They are still held (the idle timeout ends them), not cut off for
   * being slow: a slow link sends a record in pieces. */
  for (guint i = 0; i < N; i++)
    {
      g_assert_true (is_open (held[i]));
      close (held[i]);
    }
}

/* Strangers who send a whole ClientHello (OpenSSL's) and then nothing: 31 from each
 * of 8 addresses. The server answers each and waits for the rest of its
 * handshake; with glib-networking each such wait held a worker thread of
 * a small pool for the 10 s timeout, and a device's handshake queued
 * behind them (8 s for 64 of them). The listener's TLS waits on the main
 * loop instead, so a device is served as quickly as with nobody there,
 * and the stragglers are still closed by the timeout. */
static void
test_stalled_after_hello (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  g_autoptr(GBytes) hello = filer_test_openssl_client_hello ();
  enum { N_ADDRESSES = 8, PER_ADDRESS = DOCUMENTED_MAX_PER_ADDRESS - 1, N = N_ADDRESSES * PER_ADDRESS };
  int held[N];
  double quiet, attacked, worst = 0;
  gint64 start;
  gsize size;
  const guint8 *data = g_bytes_get_data (hello, &size);

  quiet = time_handshake (server);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < N; i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.10.%u", 1 + i / PER_ADDRESS);

      held[i] = connect_from (source, port);
      g_assert_cmpint (send (held[i], data, size, MSG_NOSIGNAL), ==, (gssize)size);
    }

  /* The server answers each (its ServerHello and the rest of its
   * flight) and waits for the rest of the handshake... */
  g_usleep (G_USEC_PER_SEC);

  /* ... meanwhile devices come and go as usual. */
  for (guint round = 0; round < 5; round++)
    {
      attacked = time_handshake (server);
      worst = MAX (worst, attacked);
    }
  g_test_message ("a device's handshake: %.3f s; with %u strangers stalled after their "
                  "ClientHello: %.3f s at worst of 5", quiet, (guint)N, worst);
  g_assert_cmpfloat (worst, <, 1.0);

  for (guint i = 0; i < N; i++)
    g_assert_true (drain_open (held[i]));

  /* The handshake timeout (10 s) still ends each. */
  for (guint i = 0; i < N; i++)
    {
      gint64 left_ms = MAX (start + 16 * G_USEC_PER_SEC - g_get_monotonic_time (), 0) / 1000;

      if (!wait_closed (held[i], (guint)left_ms, NULL))
        g_error ("stalled connection %u was still open after %.1f s", i,
                 (g_get_monotonic_time () - start) / 1e6);
      close (held[i]);
    }
}

static void
test_idle_timeout (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint port = filer_test_server_get_port (server);
  g_autoptr(GString) said = g_string_new (NULL);
  gint64 start;
  double closed_after;
  int fd;

  fd = connect_from ("127.0.0.1", port);
  start = g_get_monotonic_time ();

  /* Not before 10 s ... */
  g_assert_false (wait_closed (fd, 10000, said));
  g_assert_true (is_open (fd));
  /* ... and by 20 s, told why. */
  g_assert_true (wait_closed (fd, 10000, said));
  closed_after = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("a silent connection was closed after %.2f s", closed_after);
  g_assert_cmpfloat (closed_after, >=, 14.0);
  g_assert_cmpfloat (closed_after, <=, 20.0);
  g_assert_true (said_contains (said, "code:timeout"));
  close (fd);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/discovery/defaults/documented", test_documented);
  g_test_add_func ("/filer/discovery/defaults/max-per-address", test_max_per_address);
  g_test_add_func ("/filer/discovery/defaults/accept-rate", test_accept_rate);
  g_test_add_func ("/filer/discovery/defaults/unregistered-total", test_unregistered_total);
  g_test_add_func ("/filer/discovery/defaults/idle-timeout", test_idle_timeout);
  g_test_add_func ("/filer/discovery/defaults/stalled-handshakes", test_stalled_handshakes);
  g_test_add_func ("/filer/discovery/defaults/partial-records", test_partial_records);
  g_test_add_func ("/filer/discovery/defaults/stalled-after-hello", test_stalled_after_hello);

  return g_test_run ();
}
