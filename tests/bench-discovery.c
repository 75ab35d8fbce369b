/* bench-discovery.c: how filer-server copes with many peers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Not a test: it prints figures. For each N it starts a real
 * filer-server, registers N peers in groups of G (each group from its
 * own 127.x.y.z address, with --loopback-is-public, so a group is one
 * "network"), then times K probe peers, one at a time:
 *
 *   join:  connect() of the probe → an observer in the same group
 *          receives its peer-joined
 *   leave: close() of the probe  → the observer receives peer-left
 *
 * and reads the server's RSS before and after the N registrations. The
 * first row is a reference with only the observed groups registered;
 * the others are compared against it (the machine is shared and noisy,
 * so ratios mean more than absolute figures).
 *
 * Every peer speaks version 2, as devices do: TLS with a key of its own
 * (the server's id pinned), then `register` as the id the key makes.
 * Once registered, the N background peers' sockets are drained raw by an
 * epoll thread (their TLS records are read and dropped unopened), so the
 * bench process itself does not poll() over N descriptors: the latency
 * measured is the server's. A probe's join includes its TLS handshake.
 *
 *   meson test -C build --benchmark bench-discovery
 *   build/tests/bench-discovery --peers 1000,5000,10000 --group-size 10
 */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <glib-unix.h>
#include <math.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define OBSERVED_GROUPS 20
#define BATCH           256
#define PROBE_TIMEOUT_MS 5000

typedef struct
{
  int            epoll_fd;
  GThread       *thread;
  gint           stop;
  gint           welcomed;
  gint           dropped;
  gint64         last_read;  /* monotonic µs; a torn read only delays */
  guint8        *seen;       /* per fd: got its first bytes */
  gsize          n_seen;
} Drain;

static gpointer
drain_thread (gpointer user_data)
{
  Drain *drain = user_data;
  struct epoll_event events[256];
  static char buffer[65536];

  while (!g_atomic_int_get (&drain->stop))
    {
      int n = epoll_wait (drain->epoll_fd, events, G_N_ELEMENTS (events), 100);

      for (int i = 0; i < n; i++)
        {
          int fd = events[i].data.fd;

          for (;;)
            {
              ssize_t r = read (fd, buffer, sizeof buffer);

              if (r > 0)
                {
                  drain->last_read = g_get_monotonic_time ();
                  if ((gsize)fd < drain->n_seen && !drain->seen[fd])
                    {
                      drain->seen[fd] = 1;
                      g_atomic_int_inc (&drain->welcomed);
                    }
                  continue;
                }
              if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;

              /* EOF or error: the server dropped a background peer. */
              epoll_ctl (drain->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
              g_atomic_int_inc (&drain->dropped);
              break;
            }
        }
    }

  return NULL;
}

static void
group_address (guint            group,
               struct sockaddr_in *address)
{
  memset (address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl ((127u << 24) | (1u << 16) |
                                    ((group / 250) << 8) | (group % 250 + 1));
}

static GBytes *
register_frame (const char *id,
                const char *name)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("register");

  filer_frame_set (frame, "version", "2");
  filer_frame_set (frame, "id", id);
  filer_frame_set (frame, "name", name);
  filer_frame_set (frame, "kind", "desktop");
  filer_frame_set_uint (frame, "port", 1);
  return filer_frame_encode (frame, NULL);
}

/* A blocking connect from the group's address; loopback is fast. */
static int
connect_from (guint  group,
              guint  port)
{
  struct sockaddr_in local, remote;
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    g_error ("socket: %s", g_strerror (errno));

  group_address (group, &local);
  if (bind (fd, (struct sockaddr *)&local, sizeof local) < 0)
    g_error ("bind: %s", g_strerror (errno));

  memset (&remote, 0, sizeof remote);
  remote.sin_family = AF_INET;
  remote.sin_port = htons (port);
  remote.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *)&remote, sizeof remote) < 0)
    g_error ("connect: %s", g_strerror (errno));

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* A device's connection: TCP from the group's address, then TLS with
 * @identity, the server's id pinned. Started here, finished on the main
 * loop (Handshake.done). */
typedef struct
{
  int        fd;
  GIOStream *tls;
  gint64     done;    /* 0, or when (a stop flag for spin()) */
  char      *error;
} Handshake;

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Handshake *handshake = user_data;
  g_autoptr(GError) error = NULL;

  handshake->tls = filer_tls_handshake_finish (result, NULL, &error);
  if (handshake->tls == NULL)
    handshake->error = g_strdup (error->message);
  handshake->done = g_get_monotonic_time ();
}

static void
handshake_start (Handshake     *handshake,
                 guint          group,
                 guint          port,
                 FilerIdentity *identity,
                 const char    *server_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  memset (handshake, 0, sizeof *handshake);
  handshake->fd = connect_from (group, port);
  socket = g_socket_new_from_fd (handshake->fd, &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  filer_tls_handshake_async (G_IO_STREAM (connection), FILER_TLS_ROLE_CLIENT, identity,
                             server_id, NULL, handshake_cb, handshake);
}

static void
tls_write_all (GIOStream *tls,
               GBytes    *bytes)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (tls), g_bytes_get_data (bytes, NULL),
                             g_bytes_get_size (bytes), NULL, NULL, &error);
  if (error != NULL)
    g_error ("write: %s", error->message);
}

/* Device keys, made ahead (as devices have theirs), one per peer. */
static FilerIdentity *
identity_for (GPtrArray *identities,
              guint      i)
{
  while (identities->len <= i)
    {
      g_autoptr(GError) error = NULL;
      FilerIdentity *identity = filer_identity_new_ephemeral (&error);

      g_assert_no_error (error);
      g_ptr_array_add (identities, identity);
    }
  return g_ptr_array_index (identities, i);
}

/* The observers, on the main loop. */
typedef struct
{
  FilerFrameConnection *connections[OBSERVED_GROUPS];
  const char           *waiting_type;
  char                 *waiting_id;
  gint64                seen_at;
} Observers;

static void
observer_frame_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   Observers            *observers)
{
  if (observers->waiting_id != NULL &&
      filer_frame_is (frame, observers->waiting_type) &&
      g_strcmp0 (filer_frame_get (frame, "id"), observers->waiting_id) == 0)
    observers->seen_at = g_get_monotonic_time ();
}

static void
observer_closed_cb (FilerFrameConnection *connection,
                    const GError         *error,
                    gpointer              user_data)
{
  g_printerr ("bench-discovery: an observer was disconnected: %s\n",
              error ? error->message : "closed");
  exit (1);
}

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms, or until *@stop turns non-zero. */
static void
spin (guint        ms,
      const gint64 *stop)
{
  gboolean fired = FALSE;
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, set_flag_cb, &fired, NULL);
  g_source_attach (source, NULL);
  while (!fired && (stop == NULL || *stop == 0))
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (source);
  g_source_unref (source);
}

static gboolean
wait_seen (Observers *observers)
{
  spin (PROBE_TIMEOUT_MS, &observers->seen_at);
  return observers->seen_at != 0;
}

typedef struct
{
  guint  peers;
  double ramp_per_s;
  double join_p50, join_p99, leave_p50, leave_p99;
  double rss_per_peer_kib;
  guint  dropped;
  guint  failed;
} Row;

static Row
run (const char *server_path,
     guint       n_peers,
     guint       group_size,
     guint       n_probes)
{
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) joins = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *line = NULL;
  g_autoptr(GPtrArray) identities = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) streams = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *server_id = NULL;
  Observers observers = { 0 };
  Drain drain = { 0 };
  Row row = { n_peers };
  guint n_groups = MAX (1, n_peers / group_size);
  guint n_observed = MIN (OBSERVED_GROUPS, n_groups);
  guint port;
  GPid pid;
  long rss_before, rss_after;
  gint64 start;

  server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                             server_path, "--bind", "127.0.0.1", "--port", "0",
                             "--idle-timeout", "3600", "--max-per-address", "0",
                             "--loopback-is-public", NULL);
  if (server == NULL)
    g_error ("cannot start %s: %s", server_path, error->message);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  if (!filer_test_parse_listening_line (line, &port, &server_id))
    g_error ("filer-server did not start (got “%s”)", line ? line : "EOF");
  pid = atoi (g_subprocess_get_identifier (server));

  /* Observers: one registered peer in each observed group. */
  for (guint g = 0; g < n_observed; g++)
    {
      g_autofree char *name = g_strdup_printf ("observer-%u", g);
      FilerIdentity *identity = identity_for (identities, g);
      g_autoptr(GBytes) frame = register_frame (filer_identity_get_id (identity), name);
      Handshake handshake;

      handshake_start (&handshake, g, port, identity, server_id);
      spin (10000, &handshake.done);
      while (!handshake.done)   /* it calls back into this frame */
        g_main_context_iteration (NULL, TRUE);
      if (handshake.tls == NULL)
        g_error ("an observer's TLS handshake failed: %s", handshake.error ? handshake.error : "timed out");
      tls_write_all (handshake.tls, frame);
      observers.connections[g] = filer_frame_connection_new (handshake.tls);
      g_object_unref (handshake.tls);
      g_signal_connect (observers.connections[g], "frame-received",
                        G_CALLBACK (observer_frame_cb), &observers);
      g_signal_connect (observers.connections[g], "closed",
                        G_CALLBACK (observer_closed_cb), NULL);
      filer_frame_connection_start (observers.connections[g]);
    }

  /* Let the server settle before the baseline. */
  spin (200, NULL);
  rss_before = filer_test_process_rss_kib (pid);

  /* The background peers, in batches, each batch welcomed before the
   * next (so the listen backlog never overflows). */
  drain.epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  drain.n_seen = 65536;
  drain.seen = g_malloc0 (drain.n_seen);
  drain.thread = g_thread_new ("drain", drain_thread, &drain);

  start = g_get_monotonic_time ();
  for (guint i = n_observed; i < n_peers; )
    {
      guint batch_end = MIN (n_peers, i + BATCH);

      g_autofree Handshake *batch = g_new0 (Handshake, batch_end - i);
      guint first = i;
      gboolean all_done;

      /* The batch's handshakes run at once; then each registers. */
      for (; i < batch_end; i++)
        handshake_start (&batch[i - first], i % n_groups, port,
                         identity_for (identities, i), server_id);
      do
        {
          all_done = TRUE;
          for (guint k = 0; k < batch_end - first; k++)
            all_done &= batch[k].done != 0;
          if (!all_done)
            g_main_context_iteration (NULL, TRUE);
        }
      while (!all_done);

      for (guint k = 0; k < batch_end - first; k++)
        {
          g_autofree char *name = g_strdup_printf ("peer-%u", first + k);
          g_autoptr(GBytes) frame = NULL;
          struct epoll_event event = { EPOLLIN, { 0 } };
          int fd = batch[k].fd;

          if (batch[k].tls == NULL)
            {
              g_printerr ("bench-discovery: a peer's TLS handshake failed: %s\n", batch[k].error);
              g_free (batch[k].error);
              g_atomic_int_inc (&drain.dropped);
              g_array_append_val (fds, fd);
              continue;
            }
          frame = register_frame (filer_identity_get_id (identity_for (identities, first + k)), name);
          tls_write_all (batch[k].tls, frame);
          /* Held open, never read through TLS again: the drain reads
           * the socket's records and drops them. */
          g_ptr_array_add (streams, batch[k].tls);
          g_unix_set_fd_nonblocking (fd, TRUE, NULL);
          event.data.fd = fd;
          epoll_ctl (drain.epoll_fd, EPOLL_CTL_ADD, fd, &event);
          g_array_append_val (fds, fd);
        }

      while ((guint)g_atomic_int_get (&drain.welcomed) + g_atomic_int_get (&drain.dropped) <
             fds->len)
        spin (1, NULL);
    }
  row.ramp_per_s = fds->len / ((g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);

  /* The server may still be sending deltas of the last joins (a flat
   * group is O(N²) frames): wait until the background is quiet. */
  do
    spin (100, NULL);
  while (g_get_monotonic_time () - drain.last_read < 300 * 1000);
  spin (100, NULL);
  rss_after = filer_test_process_rss_kib (pid);
  row.rss_per_peer_kib = fds->len ? (rss_after - rss_before) / (double)fds->len : 0;

  /* The probes, one at a time. */
  for (guint i = 0; i < n_probes; i++)
    {
      g_autofree char *name = g_strdup_printf ("probe-%u", i);
      FilerIdentity *identity = identity_for (identities, n_peers + i);
      g_autoptr(GBytes) frame = register_frame (filer_identity_get_id (identity), name);
      guint group = i % n_observed;
      Handshake handshake;
      double ms;
      int fd;

      observers.waiting_type = "peer-joined";
      observers.waiting_id = (char *)filer_identity_get_id (identity);
      observers.seen_at = 0;
      start = g_get_monotonic_time ();
      handshake_start (&handshake, group, port, identity, server_id);
      spin (PROBE_TIMEOUT_MS, &handshake.done);
      while (!handshake.done)   /* it calls back into this frame */
        g_main_context_iteration (NULL, TRUE);
      fd = handshake.fd;
      if (handshake.tls == NULL)
        {
          row.failed++;
          g_free (handshake.error);
          continue;
        }
      tls_write_all (handshake.tls, frame);
      if (!wait_seen (&observers))
        {
          row.failed++;
          g_object_unref (handshake.tls);
          continue;
        }
      ms = (observers.seen_at - start) / 1000.0;
      g_array_append_val (joins, ms);

      observers.waiting_type = "peer-left";
      observers.seen_at = 0;
      start = g_get_monotonic_time ();
      shutdown (fd, SHUT_RDWR);
      g_object_unref (handshake.tls);
      if (!wait_seen (&observers))
        {
          row.failed++;
          continue;
        }
      ms = (observers.seen_at - start) / 1000.0;
      g_array_append_val (leaves, ms);
      if (g_getenv ("BENCH_VERBOSE"))
        printf ("    probe %u: join %.2f ms, leave %.2f ms\n", i,
                g_array_index (joins, double, joins->len - 1), ms);
    }
  observers.waiting_id = NULL;

  row.join_p50 = filer_test_percentile (joins, 0.50);
  row.join_p99 = filer_test_percentile (joins, 0.99);
  row.leave_p50 = filer_test_percentile (leaves, 0.50);
  row.leave_p99 = filer_test_percentile (leaves, 0.99);
  row.dropped = g_atomic_int_get (&drain.dropped);

  g_atomic_int_set (&drain.stop, 1);
  g_thread_join (drain.thread);
  for (guint i = 0; i < fds->len; i++)
    shutdown (g_array_index (fds, int, i), SHUT_RDWR);
  g_ptr_array_set_size (streams, 0);   /* closes their sockets */
  close (drain.epoll_fd);
  g_free (drain.seen);

  for (guint g = 0; g < n_observed; g++)
    {
      g_signal_handlers_disconnect_by_data (observers.connections[g], &observers);
      g_signal_handlers_disconnect_by_func (observers.connections[g], observer_closed_cb, NULL);
      g_clear_object (&observers.connections[g]);
    }

  g_subprocess_send_signal (server, SIGKILL);
  g_subprocess_wait (server, NULL, NULL);
  return row;
}

static void
print_row (const Row *row,
           const Row *reference)
{
  printf ("%7u  %9.0f  %8.2f  %8.2f  %6.1fx  %8.2f  %8.2f  %9.2f  %7u\n",
          row->peers, row->ramp_per_s, row->join_p50, row->join_p99,
          reference ? row->join_p99 / reference->join_p99 : 1.0,
          row->leave_p50, row->leave_p99, row->rss_per_peer_kib, row->dropped + row->failed);
  fflush (stdout);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— filer-server under many peers");
  g_autoptr(GError) error = NULL;
  g_autofree char *peers_option = NULL;
  g_auto(GStrv) peer_counts = NULL;
  int group_size = 10;
  int probes = 200;
  const char *server_path = g_getenv ("FILER_SERVER");
  struct rlimit limit;
  Row reference;
  GOptionEntry entries[] = {
    { "peers", 0, 0, G_OPTION_ARG_STRING, &peers_option,
      "Comma-separated peer counts (default 1000,5000,10000)", "N,N" },
    { "group-size", 0, 0, G_OPTION_ARG_INT, &group_size,
      "Peers per network (default 10; as large as N for one flat LAN)", "G" },
    { "probes", 0, 0, G_OPTION_ARG_INT, &probes, "Timed joins per row (default 200)", "K" },
    { NULL }
  };

  signal (SIGPIPE, SIG_IGN);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-discovery: %s\n", error->message);
      return 2;
    }
  if (server_path == NULL)
    {
      g_printerr ("bench-discovery: set FILER_SERVER (meson test --benchmark does)\n");
      return 2;
    }
  if (group_size < 2 || probes < 1)
    {
      g_printerr ("bench-discovery: --group-size ≥ 2 and --probes ≥ 1\n");
      return 2;
    }

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
      getrlimit (RLIMIT_NOFILE, &limit);
    }

  peer_counts = g_strsplit (peers_option ? peers_option : "1000,5000,10000", ",", -1);

  printf ("filer-server, %d peers per network, %d timed joins per row, fd limit %lu\n",
          group_size, probes, (unsigned long)limit.rlim_cur);
  printf ("  peers  joins/s   join p50  join p99  vs ref  leave p50 leave p99  KiB/peer  lost\n");

  reference = run (server_path, group_size * MIN (OBSERVED_GROUPS, MAX (1, 200 / group_size)),
                   group_size, probes);
  printf ("(reference: only the observed groups)\n");
  print_row (&reference, NULL);

  for (guint i = 0; peer_counts[i]; i++)
    {
      guint n = atoi (peer_counts[i]);
      Row row;

      if (n + 64 > limit.rlim_cur)
        {
          printf ("%7u  skipped: the fd limit is %lu\n", n, (unsigned long)limit.rlim_cur);
          continue;
        }

      row = run (server_path, n, group_size, probes);
      print_row (&row, &reference);
    }

  printf ("join/leave in ms from connect()/close() to the observer's frame; "
          "KiB/peer is server RSS growth per registered peer\n");
  return 0;
}
