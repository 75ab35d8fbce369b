/* bench-hostile.c: a legitimate client's join and lookup under hostile load
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Not a test: it prints figures (issue 10). For each mix it starts a real
 * filer-server (127.0.0.1, a free port, its shipped limits), starts the
 * hostile side, and meanwhile times a legitimate client, round after
 * round:
 *
 *   join:   connect() → TLS → register → its welcome
 *   lookup: connect() → an observer (a second legitimate client, online
 *           all along in the same room) receives its peer-joined
 *   leave:  close()   → the observer receives peer-left
 *
 * and samples the server's RSS (VmRSS), its CPU time (utime + stime) and
 * its open sockets (the hostile connections it actually holds). The
 * mixes (--mix, comma-separated; default all of them, each on a fresh
 * server, after a reference row without attack):
 *
 *   silent      5,000 TCP connections from 150 source addresses (127.10.0.x):
 *               most stop before TLS (half send nothing, half a TLS
 *               record header and stall), 500 finish the handshake and
 *               never register; every one the server drops is reopened
 *   never-read  300 peers with their own device keys that register in
 *               the legitimate client's room and never read again (they
 *               ping, so they stay), from 10 addresses: the server's
 *               deltas pile up for them
 *   ping        500 TLS connections that only ping, never register
 *   room-guess  one address registering with a new room code each time,
 *               16 at once, as fast as the server welcomes them
 *   nat-flood   UDP nat-connect and padded probe datagrams from the 150
 *               addresses to the rendezvous port, --udp-rate a second
 *   all         all of the above at once
 *
 * The attackers run in a child process (this program, --attack): the raw
 * connections on an epoll thread, the TLS ones on their own GLib main
 * context in another thread, the flood on a third. The legitimate
 * clients have the parent to themselves, its main loop and its GTask
 * threads, as on a real network. The attackers' CPU time is printed
 * beside the server's and the legitimate clients'.
 *
 *   meson test -C build --benchmark bench-hostile
 *   FILER_SERVER=build/src/server/filer-server build/tests/bench-hostile --mix all --rounds 200
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <glib-unix.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define ROUND_TIMEOUT_MS    5000
#define N_ADDRESSES         150
#define N_SILENT            5000
#define N_SILENT_TLS        500
#define N_NEVER_READ        300
#define N_NEVER_READ_ADDRS  10
#define N_PING              500
#define N_GUESS_PARALLEL    16
#define ROOM                "L0AD-BENC-H000"

enum
{
  MIX_SILENT     = 1 << 0,
  MIX_NEVER_READ = 1 << 1,
  MIX_PING       = 1 << 2,
  MIX_ROOM_GUESS = 1 << 3,
  MIX_NAT_FLOOD  = 1 << 4,
  MIX_ALL        = (1 << 5) - 1,
};

static const struct { const char *name; guint mask; } mixes[] = {
  { "silent", MIX_SILENT },
  { "never-read", MIX_NEVER_READ },
  { "ping", MIX_PING },
  { "room-guess", MIX_ROOM_GUESS },
  { "nat-flood", MIX_NAT_FLOOD },
  { "all", MIX_ALL },
};

static FilerIdentity **identities;  /* N_NEVER_READ + N_GUESS_PARALLEL + 3 */
static guint n_identities;
static int udp_rate = 20000;
static gboolean verbose;

static void
hostile_address (guint               index,
                 struct sockaddr_in *address)
{
  memset (address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl ((127u << 24) | (10u << 16) | (index % N_ADDRESSES + 1));
}

static char *
hostile_address_string (guint index)
{
  return g_strdup_printf ("127.10.0.%u", index % N_ADDRESSES + 1);
}

static GBytes *
encode (FilerFrame *frame)
{
  GBytes *bytes = filer_frame_encode (frame, NULL);

  g_assert (bytes != NULL);
  return bytes;
}

static GBytes *
register_bytes (FilerIdentity *identity,
                const char    *room)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("register");

  filer_frame_set (frame, "version", "2");
  filer_frame_set (frame, "id", filer_identity_get_id (identity));
  filer_frame_set (frame, "name", "bench");
  filer_frame_set (frame, "kind", "desktop");
  filer_frame_set_uint (frame, "port", 1);
  if (room != NULL)
    filer_frame_set (frame, "room", room);
  return encode (frame);
}

/* --- the raw side: silent connections on an epoll thread --- */

typedef struct
{
  int       epoll_fd;
  GThread  *thread;
  gint      stop;
  guint     target;
  guint     port;
  int      *fds;        /* per slot, -1 when free */
  guint8   *connected;  /* per slot */
  gint64   *reopen_at;  /* per slot: monotonic µs, 0 = at once */
  gint      held;       /* connected now */
  gint      opened;     /* connect() calls */
  gint      dropped;    /* closed by the server */
} Raw;

static const guint8 tls_record_header[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };

static void
raw_open (Raw   *raw,
          guint  slot)
{
  struct sockaddr_in local, remote;
  struct epoll_event event = { EPOLLOUT | EPOLLIN | EPOLLRDHUP, { .u32 = slot } };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  if (fd < 0)
    return;
  hostile_address (slot, &local);
  if (bind (fd, (struct sockaddr *)&local, sizeof local) < 0)
    {
      close (fd);
      return;
    }
  memset (&remote, 0, sizeof remote);
  remote.sin_family = AF_INET;
  remote.sin_port = htons (raw->port);
  remote.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *)&remote, sizeof remote) < 0 && errno != EINPROGRESS)
    {
      close (fd);
      return;
    }
  raw->fds[slot] = fd;
  raw->connected[slot] = 0;
  raw->opened++;
  epoll_ctl (raw->epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

static void
raw_close (Raw   *raw,
           guint  slot)
{
  if (raw->fds[slot] < 0)
    return;
  epoll_ctl (raw->epoll_fd, EPOLL_CTL_DEL, raw->fds[slot], NULL);
  close (raw->fds[slot]);
  raw->fds[slot] = -1;
  if (raw->connected[slot])
    g_atomic_int_add (&raw->held, -1);
  raw->connected[slot] = 0;
  /* A dropped connection comes back a second later: an attacker on
   * another machine could come back sooner, but one sharing these two
   * cores with the server would only measure its own CPU use. */
  raw->reopen_at[slot] = g_get_monotonic_time () + G_USEC_PER_SEC;
}

static gpointer
raw_thread (gpointer user_data)
{
  Raw *raw = user_data;
  struct epoll_event events[256];
  char buffer[4096];
  guint next = 0;

  while (!g_atomic_int_get (&raw->stop))
    {
      int n;

      /* Open (or reopen) up to 100 a millisecond: the listen backlog
       * keeps up. */
      gint64 now = g_get_monotonic_time ();

      for (guint tries = 0, opened = 0; tries < raw->target && opened < 100; tries++)
        {
          guint slot = next++ % raw->target;

          if (raw->fds[slot] < 0 && now >= raw->reopen_at[slot])
            {
              raw_open (raw, slot);
              opened++;
            }
        }

      n = epoll_wait (raw->epoll_fd, events, G_N_ELEMENTS (events), 1);
      for (int i = 0; i < n; i++)
        {
          guint slot = events[i].data.u32;
          int fd = raw->fds[slot];

          if (fd < 0)
            continue;

          if (!raw->connected[slot] && (events[i].events & EPOLLOUT))
            {
              int error = 0;
              socklen_t length = sizeof error;
              struct epoll_event event = { EPOLLIN | EPOLLRDHUP, { .u32 = slot } };

              getsockopt (fd, SOL_SOCKET, SO_ERROR, &error, &length);
              if (error != 0)
                {
                  raw_close (raw, slot);
                  continue;
                }
              raw->connected[slot] = 1;
              g_atomic_int_inc (&raw->held);
              /* Half stall inside a TLS record, half say nothing. */
              if (slot % 2 == 1 &&
                  write (fd, tls_record_header, sizeof tls_record_header) < 0)
                {
                  raw_close (raw, slot);
                  continue;
                }
              epoll_ctl (raw->epoll_fd, EPOLL_CTL_MOD, fd, &event);
              continue;
            }

          if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            {
              ssize_t r = read (fd, buffer, sizeof buffer);

              if (r > 0 || (r < 0 && errno == EAGAIN))
                continue;
              if (raw->connected[slot])
                g_atomic_int_inc (&raw->dropped);
              raw_close (raw, slot);
            }
        }
    }

  return NULL;
}

static Raw *
raw_start (guint port,
           guint target)
{
  Raw *raw = g_new0 (Raw, 1);

  raw->port = port;
  raw->target = target;
  raw->fds = g_new (int, target);
  raw->connected = g_new0 (guint8, target);
  raw->reopen_at = g_new0 (gint64, target);
  for (guint i = 0; i < target; i++)
    raw->fds[i] = -1;
  raw->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  raw->thread = g_thread_new ("bench-raw", raw_thread, raw);
  return raw;
}

static void
raw_stop (Raw *raw)
{
  if (raw == NULL)
    return;
  g_atomic_int_set (&raw->stop, 1);
  g_thread_join (raw->thread);
  for (guint i = 0; i < raw->target; i++)
    raw_close (raw, i);
  close (raw->epoll_fd);
  g_free (raw->fds);
  g_free (raw->connected);
  g_free (raw->reopen_at);
  g_free (raw);
}

/* --- the TLS side: its own main context in a thread --- */

typedef enum
{
  KIND_TLS_SILENT,
  KIND_NEVER_READ,
  KIND_PING,
  KIND_GUESS,
  N_KINDS
} Kind;

typedef struct _Hostile Hostile;

typedef struct
{
  Hostile           *hostile;
  Kind               kind;
  guint              slot;
  GSocketClient     *client;
  GSocketConnection *connection;
  GIOStream         *tls;
  GBytes            *out;
  gboolean           writing;
  gboolean           held;
  gboolean           done;
  guint              ops;         /* its async calls in flight */
  char               buffer[4096];
} Conn;

struct _Hostile
{
  GMainContext  *context;
  GThread       *thread;
  GCancellable  *cancellable;
  gint           stop;
  guint          port;
  char          *server_id;
  guint          counts[N_KINDS];
  GPtrArray     *conns;       /* every Conn ever made, freed at the end */
  guint          pending;     /* async calls in flight */
  guint          ticks;
  gint           held[N_KINDS];
  gint           handshake_failed;
  gint           guesses;     /* registers sent with a fresh room */
  gint           guesses_answered;
  GBytes        *ping;
};

static void conn_start (Hostile *hostile, Kind kind, guint slot);

/* A finished connection's streams go once no call of its is in flight:
 * a callback still to come holds the streams it was started on. */
static void
conn_release (Conn *conn)
{
  if (!conn->done || conn->ops > 0)
    return;
  g_clear_object (&conn->tls);
  g_clear_object (&conn->connection);
  g_clear_object (&conn->client);
}

/* Every callback starts with this: FALSE if the connection is done. */
static gboolean
conn_op_done (Conn *conn)
{
  conn->hostile->pending--;
  conn->ops--;
  conn_release (conn);
  return !conn->done;
}

static void
conn_finish (Conn *conn)
{
  Hostile *hostile = conn->hostile;

  if (conn->done)
    return;
  conn->done = TRUE;
  if (conn->held)
    g_atomic_int_add (&hostile->held[conn->kind], -1);
  conn->held = FALSE;
  if (conn->connection != NULL)
    g_socket_close (g_socket_connection_get_socket (conn->connection), NULL);
  conn_release (conn);
  /* The attacker comes back. */
  if (!g_atomic_int_get (&hostile->stop))
    conn_start (hostile, conn->kind, conn->slot);
}

static void
conn_write_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;

  conn->writing = FALSE;
  if (!conn_op_done (conn))
    return;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        conn_finish (conn);
    }
}

static void
conn_write (Conn   *conn,
            GBytes *bytes)
{
  gsize length;
  const void *data;

  if (conn->writing || conn->done || conn->tls == NULL)
    return;
  g_clear_pointer (&conn->out, g_bytes_unref);
  conn->out = g_bytes_ref (bytes);
  data = g_bytes_get_data (conn->out, &length);
  conn->writing = TRUE;
  conn->hostile->pending++;
  conn->ops++;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (conn->tls), data, length,
                                   G_PRIORITY_DEFAULT, conn->hostile->cancellable,
                                   conn_write_cb, conn);
}

static void conn_read (Conn *conn);

static void
conn_read_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Conn *conn = user_data;
  Hostile *hostile = conn->hostile;
  g_autoptr(GError) error = NULL;
  gssize n;

  if (!conn_op_done (conn))
    return;
  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (n <= 0)
    {
      conn_finish (conn);
      return;
    }
  if (conn->kind == KIND_GUESS)
    {
      /* Welcomed (or refused): the next guess. */
      g_atomic_int_inc (&hostile->guesses_answered);
      conn_finish (conn);
      return;
    }
  conn_read (conn);
}

static void
conn_read (Conn *conn)
{
  conn->hostile->pending++;
  conn->ops++;
  g_input_stream_read_async (g_io_stream_get_input_stream (conn->tls), conn->buffer,
                             sizeof conn->buffer, G_PRIORITY_DEFAULT,
                             conn->hostile->cancellable, conn_read_cb, conn);
}

static FilerIdentity *
conn_identity (Conn *conn)
{
  switch (conn->kind)
    {
    case KIND_NEVER_READ:
      return identities[conn->slot];
    case KIND_GUESS:
      return identities[N_NEVER_READ + conn->slot];
    default:
      return identities[0];
    }
}

static void
conn_tls_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Conn *conn = user_data;
  Hostile *hostile = conn->hostile;
  g_autoptr(GError) error = NULL;

  conn->tls = filer_tls_handshake_finish (result, NULL, &error);
  if (!conn_op_done (conn))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (conn->tls == NULL)
    {
      g_atomic_int_inc (&hostile->handshake_failed);
      conn_finish (conn);
      return;
    }

  conn->held = TRUE;
  g_atomic_int_inc (&hostile->held[conn->kind]);
  switch (conn->kind)
    {
    case KIND_TLS_SILENT:
    case KIND_PING:
      conn_read (conn);
      break;
    case KIND_NEVER_READ:
      {
        g_autoptr(GBytes) frame = register_bytes (conn_identity (conn), ROOM);

        conn_write (conn, frame);
      }
      break;
    case KIND_GUESS:
      {
        guint guess = g_atomic_int_add (&hostile->guesses, 1);
        g_autofree char *room = g_strdup_printf ("%08X%04X", g_random_int (), guess & 0xffff);
        g_autoptr(GBytes) frame = register_bytes (conn_identity (conn), room);

        conn_write (conn, frame);
        conn_read (conn);
      }
      break;
    case N_KINDS:
      g_assert_not_reached ();
    }
}

static void
conn_connect_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Conn *conn = user_data;
  Hostile *hostile = conn->hostile;
  g_autoptr(GError) error = NULL;

  conn->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  if (!conn_op_done (conn))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (conn->connection == NULL)
    {
      conn_finish (conn);
      return;
    }
  hostile->pending++;
  conn->ops++;
  filer_tls_handshake_async (G_IO_STREAM (conn->connection), FILER_TLS_ROLE_CLIENT,
                             conn_identity (conn), hostile->server_id, hostile->cancellable,
                             conn_tls_cb, conn);
}

static void
conn_start (Hostile *hostile,
            Kind     kind,
            guint    slot)
{
  Conn *conn = g_new0 (Conn, 1);
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autofree char *source = NULL;

  conn->hostile = hostile;
  conn->kind = kind;
  conn->slot = slot;
  g_ptr_array_add (hostile->conns, conn);

  switch (kind)
    {
    case KIND_TLS_SILENT:
      source = hostile_address_string (N_SILENT - N_SILENT_TLS + slot);
      break;
    case KIND_NEVER_READ:
      source = g_strdup_printf ("127.11.0.%u", slot % N_NEVER_READ_ADDRS + 1);
      break;
    case KIND_PING:
      source = g_strdup_printf ("127.12.0.%u", slot % 20 + 1);
      break;
    default:
      source = g_strdup ("127.13.0.1");
      break;
    }
  local = g_inet_socket_address_new_from_string (source, 0);
  remote = g_inet_socket_address_new_from_string ("127.0.0.1", hostile->port);
  conn->client = g_socket_client_new ();
  g_socket_client_set_local_address (conn->client, local);
  g_socket_client_set_enable_proxy (conn->client, FALSE);
  g_socket_client_set_timeout (conn->client, 30);
  hostile->pending++;
  conn->ops++;
  g_socket_client_connect_async (conn->client, G_SOCKET_CONNECTABLE (remote),
                                 hostile->cancellable, conn_connect_cb, conn);
}

/* Every second: the pingers ping; every 5 s the never-readers do too (a
 * registered client that stays silent is dropped at the idle timeout). */
static gboolean
hostile_tick_cb (gpointer user_data)
{
  Hostile *hostile = user_data;

  hostile->ticks++;
  for (guint i = 0; i < hostile->conns->len; i++)
    {
      Conn *conn = g_ptr_array_index (hostile->conns, i);

      if (conn->done || conn->tls == NULL)
        continue;
      if (conn->kind == KIND_PING ||
          (conn->kind == KIND_NEVER_READ && hostile->ticks % 5 == 0))
        conn_write (conn, hostile->ping);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
hostile_start_cb (gpointer user_data)
{
  Hostile *hostile = user_data;

  for (guint kind = 0; kind < N_KINDS; kind++)
    for (guint slot = 0; slot < hostile->counts[kind]; slot++)
      conn_start (hostile, kind, slot);
  return G_SOURCE_REMOVE;
}

static gpointer
hostile_thread (gpointer user_data)
{
  Hostile *hostile = user_data;
  GSource *source;
  gint64 deadline;

  g_main_context_push_thread_default (hostile->context);

  source = g_idle_source_new ();
  g_source_set_callback (source, hostile_start_cb, hostile, NULL);
  g_source_attach (source, hostile->context);
  g_source_unref (source);
  source = g_timeout_source_new (1000);
  g_source_set_callback (source, hostile_tick_cb, hostile, NULL);
  g_source_attach (source, hostile->context);

  while (!g_atomic_int_get (&hostile->stop))
    g_main_context_iteration (hostile->context, TRUE);

  g_source_destroy (source);
  g_source_unref (source);
  g_cancellable_cancel (hostile->cancellable);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (hostile->pending > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (hostile->context, FALSE);

  for (guint i = 0; i < hostile->conns->len; i++)
    {
      Conn *conn = g_ptr_array_index (hostile->conns, i);

      if (conn->tls != NULL)
        g_io_stream_close (conn->tls, NULL, NULL);
      else if (conn->connection != NULL)
        g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
      g_clear_object (&conn->tls);
      g_clear_object (&conn->connection);
      g_clear_object (&conn->client);
      g_clear_pointer (&conn->out, g_bytes_unref);
      g_free (conn);
    }
  g_ptr_array_set_size (hostile->conns, 0);
  while (g_main_context_iteration (hostile->context, FALSE))
    ;
  g_main_context_pop_thread_default (hostile->context);
  return NULL;
}

static Hostile *
hostile_start (guint       port,
               const char *server_id,
               guint       mix)
{
  Hostile *hostile = g_new0 (Hostile, 1);
  g_autoptr(FilerFrame) ping = filer_frame_new ("ping");

  hostile->port = port;
  hostile->server_id = g_strdup (server_id);
  hostile->context = g_main_context_new ();
  hostile->cancellable = g_cancellable_new ();
  hostile->conns = g_ptr_array_new ();
  hostile->ping = encode (ping);
  if (mix & MIX_SILENT)
    hostile->counts[KIND_TLS_SILENT] = N_SILENT_TLS;
  if (mix & MIX_NEVER_READ)
    hostile->counts[KIND_NEVER_READ] = N_NEVER_READ;
  if (mix & MIX_PING)
    hostile->counts[KIND_PING] = N_PING;
  if (mix & MIX_ROOM_GUESS)
    hostile->counts[KIND_GUESS] = N_GUESS_PARALLEL;
  hostile->thread = g_thread_new ("bench-tls", hostile_thread, hostile);
  return hostile;
}

static void
hostile_stop (Hostile *hostile)
{
  if (hostile == NULL)
    return;
  g_atomic_int_set (&hostile->stop, 1);
  g_main_context_wakeup (hostile->context);
  g_thread_join (hostile->thread);
  g_main_context_unref (hostile->context);
  g_object_unref (hostile->cancellable);
  g_ptr_array_unref (hostile->conns);
  g_bytes_unref (hostile->ping);
  g_free (hostile->server_id);
  g_free (hostile);
}

/* --- the UDP flood --- */

typedef struct
{
  GThread *thread;
  gint     stop;
  guint    port;
  guint64  sent, sent_bytes, answers, answer_bytes;
} Flood;

static gpointer
flood_thread (gpointer user_data)
{
  Flood *flood = user_data;
  GBytes *datagrams[64];
  int fds[N_ADDRESSES];
  struct sockaddr_in remote;
  char buffer[2048];
  gint64 start = g_get_monotonic_time ();
  guint64 n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (datagrams); i++)
    {
      g_autoptr(FilerFrame) frame = NULL;

      if (i % 2 == 0)
        {
          g_autofree char *id = g_strdup_printf ("flood-%08x", g_random_int ());
          g_autofree char *to = g_strdup_printf ("victim-%08x", g_random_int ());

          frame = filer_frame_new ("nat-connect");
          filer_frame_set (frame, "id", id);
          filer_frame_set (frame, "to", to);
          filer_frame_set (frame, "attempt", "1");
          filer_frame_set (frame, "mapping", "independent");
        }
      else
        {
          frame = filer_frame_new ("probe");
          filer_frame_set (frame, "version", "2");
          filer_frame_pad_to (frame, 128);
        }
      datagrams[i] = encode (frame);
    }

  memset (&remote, 0, sizeof remote);
  remote.sin_family = AF_INET;
  remote.sin_port = htons (flood->port);
  remote.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  for (guint i = 0; i < N_ADDRESSES; i++)
    {
      struct sockaddr_in local;

      fds[i] = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      hostile_address (i, &local);
      bind (fds[i], (struct sockaddr *)&local, sizeof local);
    }

  while (!g_atomic_int_get (&flood->stop))
    {
      double elapsed = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;
      guint64 due = (guint64)(elapsed * udp_rate);

      for (guint burst = 0; n < due && burst < 1000; n++, burst++)
        {
          gsize length;
          const void *data = g_bytes_get_data (datagrams[n % G_N_ELEMENTS (datagrams)], &length);

          if (sendto (fds[n % N_ADDRESSES], data, length, 0,
                      (struct sockaddr *)&remote, sizeof remote) == (ssize_t)length)
            {
              flood->sent++;
              flood->sent_bytes += length;
            }
        }
      n = MAX (n, due);
      for (guint i = 0; i < N_ADDRESSES; i++)
        {
          ssize_t r;

          while ((r = recv (fds[i], buffer, sizeof buffer, 0)) > 0)
            {
              flood->answers++;
              flood->answer_bytes += r;
            }
        }
      g_usleep (1000);
    }

  for (guint i = 0; i < N_ADDRESSES; i++)
    close (fds[i]);
  for (guint i = 0; i < G_N_ELEMENTS (datagrams); i++)
    g_bytes_unref (datagrams[i]);
  return NULL;
}

/* --- the server --- */

typedef struct
{
  GSubprocess *process;
  GPid         pid;
  guint        port;
  char        *id;
} Server;

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static Server *
server_start (const char *binary,
              const char *key_dir)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  Server *server = g_new0 (Server, 1);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  server->process = g_subprocess_launcher_spawn (launcher, &error, binary,
                                                 "--bind", "127.0.0.1", "--port", "0",
                                                 "--key-dir", key_dir, NULL);
  if (server->process == NULL)
    g_error ("cannot start %s: %s", binary, error->message);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  if (!filer_test_parse_listening_line (line, &server->port, &server->id))
    g_error ("filer-server did not print its listening line (got “%s”)", line ? line : "EOF");
  server->pid = atoi (g_subprocess_get_identifier (server->process));
  return server;
}

static void
server_stop (Server *server)
{
  g_subprocess_send_signal (server->process, SIGTERM);
  g_subprocess_wait (server->process, NULL, NULL);
  g_object_unref (server->process);
  g_free (server->id);
  g_free (server);
}

static double
cpu_seconds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *end;

  if (!g_file_get_contents (path, &contents, NULL, NULL) ||
      (end = strrchr (contents, ')')) == NULL)
    return NAN;
  /* After "pid (comm)": state is field 3, utime 14, stime 15. */
  fields = g_strsplit (end + 2, " ", 14);
  if (g_strv_length (fields) < 14)
    return NAN;
  return (g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10)) /
         (double)sysconf (_SC_CLK_TCK);
}

static guint
open_sockets (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link_path = g_build_filename (path, name, NULL);
      g_autofree char *target = g_file_read_link (link_path, NULL);

      if (target != NULL && g_str_has_prefix (target, "socket:"))
        n++;
    }
  return n;
}

static double
self_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* --- the legitimate clients, on the main loop --- */

typedef struct
{
  guint                 port;
  const char           *server_id;
  FilerFrameConnection *observer;
  gboolean              observer_ready;
  gboolean              observer_lost;
  FilerIdentity        *joiner_identity;
  gint64                joined_seen, left_seen, welcome_at;
  gint64                connected_at, tls_at;     /* the join's phases */
  GSocketConnection    *connection;
  GIOStream            *tls;
  gboolean              connect_done, tls_done;
  /* sampling */
  GPid                  pid;
  long                  rss_peak;
  guint                 sockets_peak;
} Legit;

static gboolean
spin_until (gboolean (*done) (Legit *), Legit *legit, gint64 deadline)
{
  while (!done (legit))
    {
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

static void
spin_ms (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;  /* wakes spin_until () for its deadline */
}

static gboolean
sample_cb (gpointer user_data)
{
  Legit *legit = user_data;
  long rss = filer_test_process_rss_kib (legit->pid);

  legit->rss_peak = MAX (legit->rss_peak, rss);
  return G_SOURCE_CONTINUE;
}

static gboolean
sample_sockets_cb (gpointer user_data)
{
  Legit *legit = user_data;

  legit->sockets_peak = MAX (legit->sockets_peak, open_sockets (legit->pid));
  return G_SOURCE_CONTINUE;
}

static void
observer_frame_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   Legit                *legit)
{
  const char *id = filer_frame_get (frame, "id");
  const char *joiner = filer_identity_get_id (legit->joiner_identity);

  if (filer_frame_is (frame, "welcome"))
    legit->observer_ready = TRUE;
  else if (filer_frame_is (frame, "peer-joined") && g_strcmp0 (id, joiner) == 0)
    legit->joined_seen = g_get_monotonic_time ();
  else if (filer_frame_is (frame, "peer-left") && g_strcmp0 (id, joiner) == 0)
    legit->left_seen = g_get_monotonic_time ();
}

static void
observer_closed_cb (FilerFrameConnection *connection,
                    const GError         *error,
                    Legit                *legit)
{
  if (verbose)
    g_printerr ("bench-hostile: the observer's connection closed: %s\n",
                error ? error->message : "by the server");
  legit->observer_lost = TRUE;
}

static void
joiner_frame_cb (FilerFrameConnection *connection,
                 FilerFrame           *frame,
                 Legit                *legit)
{
  if (filer_frame_is (frame, "welcome") && legit->welcome_at == 0)
    legit->welcome_at = g_get_monotonic_time ();
}

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Legit *legit = user_data;

  legit->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, NULL);
  legit->connect_done = TRUE;
  legit->connected_at = g_get_monotonic_time ();
}

static void
tls_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  Legit *legit = user_data;

  legit->tls = filer_tls_handshake_finish (result, NULL, NULL);
  legit->tls_done = TRUE;
  legit->tls_at = g_get_monotonic_time ();
}

static gboolean is_connect_done (Legit *l) { return l->connect_done; }
static gboolean is_tls_done (Legit *l) { return l->tls_done; }
static gboolean is_observer_ready (Legit *l) { return l->observer_ready || l->observer_lost; }
static gboolean is_joined (Legit *l) { return l->welcome_at != 0 && l->joined_seen != 0; }
static gboolean is_left (Legit *l) { return l->left_seen != 0; }

/* A legitimate client: connect, TLS, register. NULL on failure. */
static FilerFrameConnection *
legit_connect (Legit         *legit,
               FilerIdentity *identity,
               gint64         deadline)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) remote = g_inet_socket_address_new_from_string ("127.0.0.1", legit->port);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  FilerFrameConnection *connection;

  legit->connect_done = legit->tls_done = FALSE;
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 10);
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (remote), cancellable,
                                 connect_cb, legit);
  if (!spin_until (is_connect_done, legit, deadline))
    {
      g_cancellable_cancel (cancellable);
      spin_until (is_connect_done, legit, G_MAXINT64);
      g_clear_object (&legit->connection);
      return NULL;
    }
  if (legit->connection == NULL)
    return NULL;
  /* As FilerDiscoveryConnection does: small frames go at once, and
   * the connect timeout does not stay on the socket's reads. */
  g_socket_set_option (g_socket_connection_get_socket (legit->connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_timeout (g_socket_connection_get_socket (legit->connection), 0);
  filer_tls_handshake_async (G_IO_STREAM (legit->connection), FILER_TLS_ROLE_CLIENT, identity,
                             legit->server_id, cancellable, tls_cb, legit);
  if (!spin_until (is_tls_done, legit, deadline))
    {
      g_cancellable_cancel (cancellable);
      spin_until (is_tls_done, legit, G_MAXINT64);
    }
  g_clear_object (&legit->connection);
  if (legit->tls == NULL)
    return NULL;

  connection = filer_frame_connection_new (legit->tls);
  g_clear_object (&legit->tls);
  filer_frame_connection_start (connection);
  {
    g_autoptr(FilerFrame) reg = filer_frame_new ("register");

    filer_frame_set (reg, "version", "2");
    filer_frame_set (reg, "id", filer_identity_get_id (identity));
    filer_frame_set (reg, "name", "legitimate");
    filer_frame_set_uint (reg, "port", 1);
    filer_frame_set (reg, "room", ROOM);
    filer_frame_connection_send (connection, reg);
  }
  return connection;
}

static gboolean
ping_observer_cb (gpointer user_data)
{
  Legit *legit = user_data;
  g_autoptr(FilerFrame) ping = filer_frame_new ("ping");

  if (legit->observer != NULL && !legit->observer_lost)
    filer_frame_connection_send (legit->observer, ping);
  return G_SOURCE_CONTINUE;
}

/* --- the attackers, in a process of their own --- */

/* The hostile side runs in a child (this program with --attack): its
 * threads, its TLS handshakes (GTask's thread pool) and its main context
 * are not the legitimate client's, as they would not be on a real
 * network. It prints "up" once its connections are up (or after 10 s),
 * and one line of figures when its stdin closes. */
static int
attack_main (guint       mix,
             guint       port,
             const char *server_id)
{
  Raw *raw = NULL;
  Hostile *hostile = NULL;
  Flood flood = { 0 };
  GString *detail = g_string_new (NULL);
  gint64 ramp_deadline;
  char c;

  if (mix & MIX_SILENT)
    raw = raw_start (port, N_SILENT - N_SILENT_TLS);
  if (mix & (MIX_SILENT | MIX_NEVER_READ | MIX_PING | MIX_ROOM_GUESS))
    hostile = hostile_start (port, server_id, mix);
  if (mix & MIX_NAT_FLOOD)
    {
      flood.port = port;
      flood.thread = g_thread_new ("bench-flood", flood_thread, &flood);
    }

  /* Ramp: until the hostile connections are up (or 10 s). */
  ramp_deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < ramp_deadline)
    {
      gboolean up = TRUE;

      if (raw && (guint)g_atomic_int_get (&raw->held) < raw->target * 95 / 100)
        up = FALSE;
      for (guint k = 0; hostile && k < KIND_GUESS; k++)
        if ((guint)g_atomic_int_get (&hostile->held[k]) < hostile->counts[k] * 95 / 100)
          up = FALSE;
      if (up)
        break;
      g_usleep (100 * 1000);
    }
  g_usleep (G_USEC_PER_SEC);
  printf ("up\n");
  fflush (stdout);

  while (read (STDIN_FILENO, &c, 1) > 0)
    ;

  if (raw)
    g_string_append_printf (detail, "pre-TLS held %d/%u (%d dropped, %d connects); ",
                            g_atomic_int_get (&raw->held), raw->target,
                            g_atomic_int_get (&raw->dropped), g_atomic_int_get (&raw->opened));
  if (hostile)
    {
      static const struct { Kind kind; const char *what; } kinds[] = {
        { KIND_TLS_SILENT, "TLS-silent" }, { KIND_NEVER_READ, "never-read" }, { KIND_PING, "pingers" },
      };

      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        if (hostile->counts[kinds[i].kind])
          g_string_append_printf (detail, "%s held %d/%u; ", kinds[i].what,
                                  g_atomic_int_get (&hostile->held[kinds[i].kind]),
                                  hostile->counts[kinds[i].kind]);
      if (hostile->counts[KIND_GUESS])
        g_string_append_printf (detail, "%d room guesses (%d answered); ",
                                g_atomic_int_get (&hostile->guesses),
                                g_atomic_int_get (&hostile->guesses_answered));
      g_string_append_printf (detail, "%d handshakes failed; ",
                              g_atomic_int_get (&hostile->handshake_failed));
    }
  if (flood.thread)
    {
      g_atomic_int_set (&flood.stop, 1);
      g_thread_join (flood.thread);
      g_string_append_printf (detail, "UDP %" G_GUINT64_FORMAT " sent (%" G_GUINT64_FORMAT
                              " B), %" G_GUINT64_FORMAT " answers (%" G_GUINT64_FORMAT " B); ",
                              flood.sent, flood.sent_bytes, flood.answers, flood.answer_bytes);
    }
  if (detail->len >= 2)
    g_string_truncate (detail, detail->len - 2);
  printf ("%s\n", detail->str);
  fflush (stdout);
  raw_stop (raw);
  hostile_stop (hostile);
  g_string_free (detail, TRUE);
  return 0;
}

static GSubprocess *
attacker_spawn (Server *server,
                guint   mix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  g_autofree char *mask = g_strdup_printf ("%u", mix);
  g_autofree char *port = g_strdup_printf ("%u", server->port);
  g_autofree char *udp = g_strdup_printf ("%d", udp_rate);
  g_autoptr(GDataInputStream) lines = NULL;
  g_autofree char *line = NULL;
  GSubprocess *attacker;

  g_assert_no_error (error);
  attacker = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               self, "--attack", mask, "--attack-port", port,
                               "--attack-server-id", server->id, "--udp-rate", udp, NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (attacker));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (lines), FALSE);
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  if (g_strcmp0 (line, "up") != 0)
    g_error ("the attackers did not start: %s", line ? line : "(no answer)");
  return attacker;
}

/* Ends the attack; returns the attackers' line of figures. */
static char *
attacker_stop (GSubprocess *attacker)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (attacker));
  char *line;

  g_output_stream_close (g_subprocess_get_stdin_pipe (attacker), NULL, NULL);
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_subprocess_wait (attacker, NULL, NULL);
  return line ? line : g_strdup ("(the attackers said nothing)");
}

static void
run_mix (const char *binary,
         const char *key_dir,
         const char *name,
         guint       mix,
         guint       rounds,
         guint       interval_ms)
{
  g_autoptr(GArray) joins = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) lookups = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (double));
  Server *server = server_start (binary, key_dir);
  Legit legit = { 0 };
  g_autoptr(GSubprocess) attacker = NULL;
  double attacker_cpu;
  guint timeouts = 0, failures = 0, baseline_sockets;
  guint ids[4];
  long rss_before, rss_after;
  double cpu_before, cpu_after, self_before, self_after;
  gint64 start;
  double elapsed;

  legit.port = server->port;
  legit.server_id = server->id;
  legit.pid = server->pid;
  legit.joiner_identity = identities[n_identities - 1];

  ids[0] = g_timeout_add (20, tick_cb, NULL);
  ids[1] = g_timeout_add (100, sample_cb, &legit);
  ids[2] = g_timeout_add (1000, sample_sockets_cb, &legit);
  ids[3] = g_timeout_add (5000, ping_observer_cb, &legit);

  legit.observer = legit_connect (&legit, identities[n_identities - 2],
                                  g_get_monotonic_time () + 10 * G_USEC_PER_SEC);
  if (legit.observer == NULL)
    g_error ("the observer could not connect");
  g_signal_connect (legit.observer, "frame-received", G_CALLBACK (observer_frame_cb), &legit);
  g_signal_connect (legit.observer, "closed", G_CALLBACK (observer_closed_cb), &legit);
  spin_until (is_observer_ready, &legit, g_get_monotonic_time () + 10 * G_USEC_PER_SEC);
  spin_ms (300);
  rss_before = filer_test_process_rss_kib (server->pid);
  legit.rss_peak = rss_before;
  baseline_sockets = open_sockets (server->pid);
  cpu_before = cpu_seconds (server->pid);
  self_before = self_cpu_seconds ();

  if (mix != 0)
    attacker = attacker_spawn (server, mix);

  start = g_get_monotonic_time ();
  for (guint round = 0; round < rounds; round++)
    {
      gint64 t0 = g_get_monotonic_time ();
      gint64 deadline = t0 + ROUND_TIMEOUT_MS * 1000;
      g_autoptr(FilerFrameConnection) joiner = NULL;

      if (legit.observer_lost)
        {
          g_printerr ("bench-hostile: %s: the observer was disconnected\n", name);
          break;
        }

      legit.joined_seen = legit.left_seen = legit.welcome_at = 0;
      joiner = legit_connect (&legit, legit.joiner_identity, deadline);
      if (joiner == NULL)
        {
          if (g_get_monotonic_time () >= deadline)
            timeouts++;
          else
            failures++;
          spin_ms (interval_ms);
          continue;
        }
      g_signal_connect (joiner, "frame-received", G_CALLBACK (joiner_frame_cb), &legit);
      if (!spin_until (is_joined, &legit, deadline))
        {
          timeouts++;
          filer_frame_connection_close (joiner);
          g_clear_object (&joiner);
          spin_until (is_left, &legit, g_get_monotonic_time () + ROUND_TIMEOUT_MS * 1000);
          continue;
        }
      g_array_append_vals (joins, (double[]) { (legit.welcome_at - t0) / 1000.0 }, 1);
      if (verbose && legit.welcome_at - t0 > 500 * 1000)
        g_printerr ("bench-hostile: %s: a slow join: connect %.0f ms, TLS %.0f ms, welcome %.0f ms\n",
                    name, (legit.connected_at - t0) / 1000.0, (legit.tls_at - legit.connected_at) / 1000.0,
                    (legit.welcome_at - legit.tls_at) / 1000.0);
      g_array_append_vals (lookups, (double[]) { (legit.joined_seen - t0) / 1000.0 }, 1);

      t0 = g_get_monotonic_time ();
      filer_frame_connection_close (joiner);
      g_clear_object (&joiner);
      if (spin_until (is_left, &legit, t0 + ROUND_TIMEOUT_MS * 1000))
        g_array_append_vals (leaves, (double[]) { (legit.left_seen - t0) / 1000.0 }, 1);
      else
        timeouts++;

      /* Pace the rounds so that the mix runs past the idle timeout. */
      while (g_get_monotonic_time () < start + (gint64)(round + 1) * interval_ms * 1000)
        g_main_context_iteration (NULL, TRUE);
    }
  elapsed = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;

  sample_sockets_cb (&legit);
  cpu_after = cpu_seconds (server->pid);
  self_after = self_cpu_seconds ();
  attacker_cpu = attacker ? cpu_seconds (g_ascii_strtoll (g_subprocess_get_identifier (attacker), NULL, 10)) : 0;

  {
    g_autofree char *stats = attacker ? attacker_stop (attacker) : NULL;
    GString *detail = g_string_new (NULL);

    g_string_append_printf (detail, "            %.1f s measured", elapsed);
    if (stats != NULL)
      g_string_append_printf (detail, "; %s; the attackers' CPU %.2f s", stats, attacker_cpu);
    spin_ms (2000);
    rss_after = filer_test_process_rss_kib (server->pid);
  printf ("%-11s %5u %8.1f %8.1f %8.1f %8.1f %8.1f %4u %4u %6.1f %6.1f %6.1f %6.2f %6.2f %6u\n",
            name, joins->len,
            filer_test_percentile (joins, 0.5), filer_test_percentile (joins, 0.99),
            filer_test_percentile (lookups, 0.5), filer_test_percentile (lookups, 0.99),
            filer_test_percentile (leaves, 0.99),
            timeouts, failures,
            rss_before / 1024.0, legit.rss_peak / 1024.0, rss_after / 1024.0,
            cpu_after - cpu_before, self_after - self_before,
            legit.sockets_peak > baseline_sockets ? legit.sockets_peak - baseline_sockets : 0);
    printf ("%s\n", detail->str);
    g_string_free (detail, TRUE);
  }
  fflush (stdout);

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  g_signal_handlers_disconnect_by_data (legit.observer, &legit);
  filer_frame_connection_close (legit.observer);
  g_clear_object (&legit.observer);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  server_stop (server);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— filer-server under hostile load");
  g_autoptr(GError) error = NULL;
  g_autofree char *mix_option = NULL;
  g_autofree char *key_dir = NULL;
  g_auto(GStrv) names = NULL;
  const char *binary = g_getenv ("FILER_SERVER");
  int rounds = 200, interval = 75;
  int attack_mix = 0, attack_port = 0;
  g_autofree char *attack_server_id = NULL;
  gboolean reference = TRUE;
  struct rlimit limit;
  GOptionEntry entries[] = {
    { "mix", 0, 0, G_OPTION_ARG_STRING, &mix_option,
      "Comma-separated: silent, never-read, ping, room-guess, nat-flood, all "
      "(default: each, then all)", "MIX,…" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Legitimate joins per mix (default 200)", "N" },
    { "interval", 0, 0, G_OPTION_ARG_INT, &interval,
      "A join started every MS at most (default 75)", "MS" },
    { "udp-rate", 0, 0, G_OPTION_ARG_INT, &udp_rate,
      "nat-flood datagrams a second (default 20000)", "N" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print each join slower than 500 ms, by phase", NULL },
    { "attack", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &attack_mix, NULL, NULL },
    { "attack-port", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &attack_port, NULL, NULL },
    { "attack-server-id", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &attack_server_id, NULL, NULL },
    { NULL }
  };

  signal (SIGPIPE, SIG_IGN);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-hostile: %s\n", error->message);
      return 2;
    }
  if (attack_mix != 0)
    {
      g_autoptr(GError) key_error = NULL;

      /* The attackers' own device keys. */
      n_identities = N_NEVER_READ + N_GUESS_PARALLEL + 2;
      identities = g_new0 (FilerIdentity *, n_identities);
      for (guint i = 0; i < n_identities; i++)
        {
          identities[i] = filer_identity_new_ephemeral (&key_error);
          g_assert_no_error (key_error);
        }
      return attack_main ((guint)attack_mix, (guint)attack_port, attack_server_id);
    }
  if (binary == NULL)
    {
      g_printerr ("bench-hostile: set FILER_SERVER (meson test --benchmark does)\n");
      return 2;
    }
  if (rounds < 1 || interval < 0 || udp_rate < 1)
    {
      g_printerr ("bench-hostile: --rounds ≥ 1, --interval ≥ 0, --udp-rate ≥ 1\n");
      return 2;
    }

  names = g_strsplit (mix_option ? mix_option : "silent,never-read,ping,room-guess,nat-flood,all",
                      ",", -1);
  for (guint i = 0; names[i]; i++)
    {
      gboolean known = FALSE;

      for (guint m = 0; m < G_N_ELEMENTS (mixes); m++)
        known |= g_str_equal (names[i], mixes[m].name);
      if (!known)
        {
          g_printerr ("bench-hostile: unknown mix “%s”\n", names[i]);
          return 2;
        }
    }

  /* The server inherits the limit. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
      getrlimit (RLIMIT_NOFILE, &limit);
    }

  key_dir = g_dir_make_tmp ("bench-hostile-XXXXXX", &error);
  g_assert_no_error (error);

  n_identities = N_NEVER_READ + N_GUESS_PARALLEL + 2;
  identities = g_new0 (FilerIdentity *, n_identities);
  for (guint i = 0; i < n_identities; i++)
    {
      identities[i] = filer_identity_new_ephemeral (&error);
      g_assert_no_error (error);
    }

  printf ("filer-server (shipped limits) under hostile mixes, %d legitimate joins a mix, "
          "fd limit %lu, %u cores\n", rounds, (unsigned long)limit.rlim_cur,
          g_get_num_processors ());
  printf ("mix         joins  join50   join99 lookup50 lookup99  leave99 tmo  err"
          "   RSS0  RSSpk RSSend srvCPU  myCPU  socks\n");

  if (reference)
    run_mix (binary, key_dir, "reference", 0, rounds, interval);
  for (guint i = 0; names[i]; i++)
    for (guint m = 0; m < G_N_ELEMENTS (mixes); m++)
      if (g_str_equal (names[i], mixes[m].name))
        run_mix (binary, key_dir, mixes[m].name, mixes[m].mask, rounds, interval);

  printf ("times in ms from connect(): join = the welcome, lookup = the observer's peer-joined, "
          "leave = close() to peer-left; tmo = rounds past %d ms; socks = peak server sockets "
          "beyond the observer's; CPU in s over the measured span\n", ROUND_TIMEOUT_MS);

  for (guint i = 0; i < n_identities; i++)
    g_object_unref (identities[i]);
  g_free (identities);
  {
    g_autoptr(GFile) dir = g_file_new_for_path (key_dir);
    g_autoptr(GFileEnumerator) children = g_file_enumerate_children (dir, "standard::name", 0, NULL, NULL);
    GFileInfo *info;

    while (children && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
      {
        g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));

        g_file_delete (child, NULL, NULL);
        g_object_unref (info);
      }
    g_file_delete (dir, NULL, NULL);
  }
  return 0;
}
