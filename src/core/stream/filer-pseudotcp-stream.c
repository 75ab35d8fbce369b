/* filer-pseudotcp-stream.c: the PseudoTcp engine of FilerDatagramStream (libnice)
 *
 * The reliability and congestion control are libnice's PseudoTcpSocket (a
 * TCP-like protocol, Reno, driven over any datagram path): this file only
 * drives it behind FilerDatagramStream's vfuncs, so that
 * FilerFrameConnection and the transfer code run on a punched or relayed
 * UDP path unchanged. Everything that touches PseudoTcp is in this one
 * file (the other engine is QUIC, filer-quic-stream.c; docs/nat-stream.md
 * compares them).
 *
 * PseudoTcp's callbacks only record what happened, wake the halves and
 * schedule the base's clock, which completes tasks outside PseudoTcp's
 * own call stack.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-pseudotcp-stream.h"

#include <errno.h>
#include <nice/pseudotcp.h>

/* After our FIN is acknowledged (all data delivered) we wait this long
 * for the peer's FIN before calling the close done anyway. */
#define CLOSE_GRACE_US (2 * G_USEC_PER_SEC)

struct _FilerPseudoTcpStream
{
  FilerDatagramStream parent_instance;

  /* owned */
  PseudoTcpSocket *tcp;

  guint32 conversation;
  gint64 fin_acked_us;     /* when we first saw our FIN acknowledged */
  guint established : 1;
  guint read_eof : 1;
  guint write_shutdown : 1;
  guint tcp_closed : 1;
  /* libnice 0.1.21 does not export the available-bytes/space queries, so
   * readiness follows PseudoTcp's documented callback contract: Readable
   * comes again only after recv() said EWOULDBLOCK, Writable only after
   * send() said EWOULDBLOCK or took less than offered. */
  guint readable : 1;
  guint send_blocked : 1;
  guint fin_seen : 1;      /* the peer's FIN: readers must wake for EOF */
};

enum {
  PROP_0,
  PROP_CONVERSATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FilerPseudoTcpStream, filer_pseudotcp_stream, FILER_TYPE_DATAGRAM_STREAM)

#define BASE(self) FILER_DATAGRAM_STREAM (self)

static GError *
error_from_errno (int err)
{
  switch (err)
    {
    case ETIMEDOUT:
      return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                  "The peer stopped acknowledging data");
    case ECONNRESET:
      return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                  "The peer reset the stream");
    case ECONNABORTED:
      return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                  "The stream was aborted");
    default:
      return g_error_new (G_IO_ERROR, g_io_error_from_errno (err),
                          "Stream failed: %s", g_strerror (err));
    }
}

static int
tcp_state (FilerPseudoTcpStream *self)
{
  int state = PSEUDO_TCP_CLOSED;

  if (self->tcp)
    g_object_get (self->tcp, "state", &state, NULL);

  return state;
}

/* --- PseudoTcp's callbacks: record, wake, never re-enter --------------- */

static void
opened_cb (PseudoTcpSocket *tcp,
           gpointer         user_data)
{
  FilerPseudoTcpStream *self = user_data;

  self->established = TRUE;
  filer_datagram_stream_set_established (BASE (self));
}

static void
readable_cb (PseudoTcpSocket *tcp,
             gpointer         user_data)
{
  FilerPseudoTcpStream *self = user_data;

  self->readable = TRUE;
  filer_datagram_stream_wake (BASE (self), G_IO_IN);
}

static void
writable_cb (PseudoTcpSocket *tcp,
             gpointer         user_data)
{
  FilerPseudoTcpStream *self = user_data;

  self->send_blocked = FALSE;
  filer_datagram_stream_wake (BASE (self), G_IO_OUT);
}

static void
closed_cb (PseudoTcpSocket *tcp,
           guint32          err,
           gpointer         user_data)
{
  FilerPseudoTcpStream *self = user_data;

  g_debug ("pseudotcp stream %p: closed by PseudoTcp (%s)", self, g_strerror (err));
  self->tcp_closed = TRUE;
  if (err != 0)
    {
      g_autoptr(GError) error = error_from_errno (err);

      filer_datagram_stream_abort (BASE (self), error);
    }

  filer_datagram_stream_wake (BASE (self), G_IO_IN | G_IO_OUT);
  filer_datagram_stream_schedule (BASE (self));
}

static PseudoTcpWriteResult
write_packet_cb (PseudoTcpSocket *tcp,
                 const gchar     *buffer,
                 guint32          len,
                 gpointer         user_data)
{
  FilerPseudoTcpStream *self = user_data;

  if (!filer_datagram_stream_get_error (BASE (self)))
    filer_datagram_stream_send_segment (BASE (self), (const guint8 *)buffer, len);

  /* A datagram that could not go is a lost one: PseudoTcp resends it.
   * (WR_FAIL would abort the whole stream.) */
  return WR_SUCCESS;
}

/* --- FilerDatagramStream ----------------------------------------------- */

static gboolean
filer_pseudotcp_stream_start (FilerDatagramStream  *stream,
                              gboolean              initiator,
                              GError              **error)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  if (initiator && !self->established && !filer_datagram_stream_get_error (stream))
    pseudo_tcp_socket_connect (self->tcp);

  return TRUE;
}

static void
filer_pseudotcp_stream_receive (FilerDatagramStream *stream,
                                const guint8        *segment,
                                gsize                length)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  if (self->tcp_closed || length > G_MAXUINT32)
    return;

  pseudo_tcp_socket_notify_packet (self->tcp, (const gchar *)segment, length);
  filer_datagram_stream_update_clock (stream);
}

static void
filer_pseudotcp_stream_tick (FilerDatagramStream *stream)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);
  const GError *error = filer_datagram_stream_get_error (stream);

  if (!error && !self->tcp_closed)
    pseudo_tcp_socket_notify_clock (self->tcp);
}

static gboolean
filer_pseudotcp_stream_next_timeout (FilerDatagramStream *stream,
                                     gint64              *ready_us)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);
  gint64 now_us = g_get_monotonic_time ();
  guint64 timeout = 0;
  gint32 delta_ms;

  if (self->tcp_closed)
    return FALSE;

  /* PseudoTcp does not call Readable for a FIN: wake readers for EOF. */
  if (!self->fin_seen && pseudo_tcp_socket_is_closed_remotely (self->tcp))
    {
      self->fin_seen = TRUE;
      filer_datagram_stream_wake (stream, G_IO_IN);
    }

  if (!pseudo_tcp_socket_get_next_clock (self->tcp, &timeout))
    {
      self->tcp_closed = TRUE;
      filer_datagram_stream_schedule (stream);
      return FALSE;
    }

  /* PseudoTcp's clock is the monotonic time in ms, kept in 32 bits. */
  delta_ms = (gint32)((guint32)timeout - (guint32)(now_us / 1000));
  *ready_us = now_us + (gint64)MAX (delta_ms, 0) * 1000;
  return TRUE;
}

static gboolean
filer_pseudotcp_stream_check (FilerDatagramStream *stream,
                              GIOCondition         condition)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  if (self->tcp_closed)
    return TRUE;

  if (condition & G_IO_IN)
    return self->read_eof
           || self->readable
           || pseudo_tcp_socket_is_closed_remotely (self->tcp);

  if (condition & G_IO_OUT)
    return self->write_shutdown
           || (self->established && !self->send_blocked);

  return FALSE;
}

static gssize
filer_pseudotcp_stream_read (FilerDatagramStream  *stream,
                             void                 *buffer,
                             gsize                 count,
                             GError              **error)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);
  const GError *failed = filer_datagram_stream_get_error (stream);
  int n;
  int err;

  if (self->read_eof || count == 0)
    return 0;

  if (failed)
    {
      g_propagate_error (error, g_error_copy (failed));
      return -1;
    }

  n = pseudo_tcp_socket_recv (self->tcp, buffer, MIN (count, G_MAXINT32));
  err = pseudo_tcp_socket_get_error (self->tcp);
  /* Reading opens the window: there may be an update to send. */
  filer_datagram_stream_update_clock (stream);

  if (n > 0)
    return n;

  if (n < 0 && err == EWOULDBLOCK)
    self->readable = FALSE;

  if (n == 0 || pseudo_tcp_socket_is_closed_remotely (self->tcp) || self->tcp_closed)
    {
      self->read_eof = TRUE;
      return 0;
    }

  if (err == EWOULDBLOCK || (err == ENOTCONN && !self->established))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No data yet");
      return -1;
    }

  g_propagate_error (error, error_from_errno (err));
  return -1;
}

static gssize
filer_pseudotcp_stream_write (FilerDatagramStream  *stream,
                              const void           *buffer,
                              gsize                 count,
                              GError              **error)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);
  int n;
  int err;

  if (self->write_shutdown || self->tcp_closed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The stream is closed for writing");
      return -1;
    }

  if (!self->established)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Not connected yet");
      return -1;
    }

  if (count == 0)
    return 0;

  count = MIN (count, G_MAXINT32);
  n = pseudo_tcp_socket_send (self->tcp, buffer, count);
  err = pseudo_tcp_socket_get_error (self->tcp);
  filer_datagram_stream_update_clock (stream);

  if (n > 0)
    {
      if ((gsize)n < count)
        self->send_blocked = TRUE;
      return n;
    }

  if (n == 0 || err == EWOULDBLOCK)
    {
      self->send_blocked = TRUE;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Send buffer full");
      return -1;
    }

  g_propagate_error (error, error_from_errno (err));
  return -1;
}

static void
filer_pseudotcp_stream_shutdown_write (FilerDatagramStream *stream)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  if (self->write_shutdown || filer_datagram_stream_get_error (stream) || self->tcp_closed)
    return;

  self->write_shutdown = TRUE;
  if (self->established)
    pseudo_tcp_socket_shutdown (self->tcp, PSEUDO_TCP_SHUTDOWN_WR);
  else
    pseudo_tcp_socket_close (self->tcp, FALSE);
  filer_datagram_stream_update_clock (stream);
}

static void
filer_pseudotcp_stream_close (FilerDatagramStream *stream)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  /* (Also from dispose, after ours dropped the tcp.) */
  if (self->tcp && !self->tcp_closed)
    {
      self->write_shutdown = TRUE;
      pseudo_tcp_socket_close (self->tcp, FALSE);
      filer_datagram_stream_update_clock (stream);
    }
}

static void
filer_pseudotcp_stream_close_start (FilerDatagramStream *stream)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  if (!filer_datagram_stream_get_error (stream) && !self->tcp_closed)
    {
      self->write_shutdown = TRUE;
      pseudo_tcp_socket_close (self->tcp, FALSE);
    }
}

/* While a close waits: notes when our FIN was first seen acknowledged. */
static int
closing_state (FilerPseudoTcpStream *self)
{
  int state = tcp_state (self);

  if (!self->fin_acked_us
      && (state == PSEUDO_TCP_FIN_WAIT_2 || state == PSEUDO_TCP_TIME_WAIT || state == PSEUDO_TCP_CLOSED))
    self->fin_acked_us = g_get_monotonic_time ();

  return state;
}

static gboolean
filer_pseudotcp_stream_close_done (FilerDatagramStream *stream,
                                   gint64               closing_us)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);
  int state = closing_state (self);

  /* Our FIN (after all data) acknowledged and the peer's FIN came, or a
   * short grace after the acknowledgement. Both FINs crossed (CLOSING)
   * and the acknowledgement of ours lost: the peer, which got our FIN and
   * so all data before it, has ended and will not acknowledge it again;
   * a grace then too, not a close that hangs until the idle timeout. */
  return self->tcp_closed
         || state == PSEUDO_TCP_TIME_WAIT || state == PSEUDO_TCP_CLOSED
         || (self->fin_acked_us && g_get_monotonic_time () - self->fin_acked_us >= CLOSE_GRACE_US)
         || (state == PSEUDO_TCP_CLOSING && closing_us >= CLOSE_GRACE_US);
}

static gboolean
filer_pseudotcp_stream_close_finish (FilerDatagramStream *stream)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (stream);

  closing_state (self);
  return self->fin_acked_us != 0;
}

/* --- GObject ------------------------------------------------------------ */

static void
filer_pseudotcp_stream_constructed (GObject *object)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (object);
  PseudoTcpCallbacks callbacks = { 0, };

  G_OBJECT_CLASS (filer_pseudotcp_stream_parent_class)->constructed (object);

  callbacks.user_data = self;
  callbacks.PseudoTcpOpened = opened_cb;
  callbacks.PseudoTcpReadable = readable_cb;
  callbacks.PseudoTcpWritable = writable_cb;
  callbacks.PseudoTcpClosed = closed_cb;
  callbacks.WritePacket = write_packet_cb;

  self->tcp = pseudo_tcp_socket_new (self->conversation, &callbacks);
  pseudo_tcp_socket_notify_mtu (self->tcp, FILER_PSEUDOTCP_STREAM_MTU);
  /* Frames are small or 32 KiB: Nagle would only add latency. */
  g_object_set (self->tcp,
                "no-delay", TRUE,
                "rcv-buf", FILER_PSEUDOTCP_STREAM_BUFFER_SIZE,
                "snd-buf", FILER_PSEUDOTCP_STREAM_BUFFER_SIZE,
                NULL);
}

static void
filer_pseudotcp_stream_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (object);

  switch (prop_id)
    {
    case PROP_CONVERSATION:
      self->conversation = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_pseudotcp_stream_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (object);

  switch (prop_id)
    {
    case PROP_CONVERSATION:
      g_value_set_uint (value, self->conversation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_pseudotcp_stream_dispose (GObject *object)
{
  FilerPseudoTcpStream *self = FILER_PSEUDOTCP_STREAM (object);

  g_clear_object (&self->tcp);

  G_OBJECT_CLASS (filer_pseudotcp_stream_parent_class)->dispose (object);
}

static void
filer_pseudotcp_stream_class_init (FilerPseudoTcpStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FilerDatagramStreamClass *stream_class = FILER_DATAGRAM_STREAM_CLASS (klass);

  object_class->constructed = filer_pseudotcp_stream_constructed;
  object_class->set_property = filer_pseudotcp_stream_set_property;
  object_class->get_property = filer_pseudotcp_stream_get_property;
  object_class->dispose = filer_pseudotcp_stream_dispose;

  stream_class->start = filer_pseudotcp_stream_start;
  stream_class->receive = filer_pseudotcp_stream_receive;
  stream_class->tick = filer_pseudotcp_stream_tick;
  stream_class->next_timeout = filer_pseudotcp_stream_next_timeout;
  stream_class->read = filer_pseudotcp_stream_read;
  stream_class->write = filer_pseudotcp_stream_write;
  stream_class->check = filer_pseudotcp_stream_check;
  stream_class->shutdown_write = filer_pseudotcp_stream_shutdown_write;
  stream_class->close = filer_pseudotcp_stream_close;
  stream_class->close_start = filer_pseudotcp_stream_close_start;
  stream_class->close_done = filer_pseudotcp_stream_close_done;
  stream_class->close_finish = filer_pseudotcp_stream_close_finish;

  /**
   * FilerPseudoTcpStream:conversation:
   *
   * A number both ends agree on (derived from the session token):
   * PseudoTcp puts it first in every segment and ignores segments of
   * another conversation.
   */
  properties[PROP_CONVERSATION] =
    g_param_spec_uint ("conversation", NULL, NULL,
                       0, G_MAXUINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_pseudotcp_stream_init (FilerPseudoTcpStream *self)
{
}
