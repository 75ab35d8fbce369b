/* filer-udp-stream.c: a reliable byte stream over datagrams, as a GIOStream
 *
 * The reliability and congestion control are libnice's PseudoTcpSocket (a
 * TCP-like protocol, Reno, driven over any datagram path): this file only
 * gives it a GIOStream face so that FilerFrameConnection and the transfer
 * code run on a punched or relayed UDP path unchanged. Everything that
 * touches PseudoTcp is in this one file, so the engine can be swapped
 * (QUIC with ngtcp2, see docs/nat-stream.md) behind the same API.
 *
 * Everything runs on the main context that was the thread default when
 * the stream was made: PseudoTcp's callbacks only record what happened
 * and wake the "clock" source, which completes tasks outside PseudoTcp's
 * own call stack.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-pseudotcp-stream.h"
#include "filer-stream-wakers-private.h"
#include "filer-datagram-input-stream-private.h"
#include "filer-datagram-output-stream-private.h"

#include <errno.h>
#include <nice/pseudotcp.h>

/* After our FIN is acknowledged (all data delivered) we wait this long
 * for the peer's FIN before calling the close done anyway. */
#define CLOSE_GRACE_US (2 * G_USEC_PER_SEC)

struct _FilerUdpStream
{
  GIOStream parent_instance;

  /* owned */
  PseudoTcpSocket *tcp;
  GInputStream *input;
  GOutputStream *output;
  GMainContext *context;
  GSource *clock;
  FilerWakers *wakers;
  GError *error;           /* sticky: the stream has ended with it */
  GTask *handshake_task;
  GTask *close_task;

  FilerUdpStreamSendFunc send_func;
  gpointer send_data;
  GDestroyNotify send_notify;

  guint buffer_size;
  guint idle_timeout_ms;
  gint64 last_heard_us;
  gint64 fin_acked_us;     /* when we first saw our FIN acknowledged */
  guint watching_idle : 1; /* the handshake has begun */
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

G_DEFINE_FINAL_TYPE (FilerUdpStream, filer_udp_stream, G_TYPE_IO_STREAM)

static gboolean filer_udp_stream_check (FilerUdpStream *self,
                                        GIOCondition    condition);

static void
wake (FilerUdpStream *self,
      GIOCondition    condition)
{
  if (self->wakers)
    filer_wakers_wake (self->wakers, condition);
}

static GSource *
create_waker (GIOStream    *stream,
              GIOCondition  condition)
{
  FilerUdpStream *self = FILER_UDP_STREAM (stream);

  return filer_wakers_create (self->wakers, condition, filer_udp_stream_check (self, condition));
}

/* --- the clock: PseudoTcp's timers and our deferred events ------------- */

static void
schedule_events (FilerUdpStream *self)
{
  if (self->clock)
    g_source_set_ready_time (self->clock, 0);
}

static void
adjust_clock (FilerUdpStream *self)
{
  gint64 now_us = g_get_monotonic_time ();
  guint64 timeout = 0;
  gint32 delta_ms;
  gint64 ready;

  if (!self->clock || self->tcp_closed || self->error)
    return;

  /* PseudoTcp does not call Readable for a FIN: wake readers for EOF. */
  if (!self->fin_seen && pseudo_tcp_socket_is_closed_remotely (self->tcp))
    {
      self->fin_seen = TRUE;
      wake (self, G_IO_IN);
    }

  if (!pseudo_tcp_socket_get_next_clock (self->tcp, &timeout))
    {
      self->tcp_closed = TRUE;
      schedule_events (self);
      return;
    }

  /* PseudoTcp's clock is the monotonic time in ms, kept in 32 bits. */
  delta_ms = (gint32)((guint32)timeout - (guint32)(now_us / 1000));
  ready = now_us + (gint64)MAX (delta_ms, 0) * 1000;

  if (self->watching_idle && self->idle_timeout_ms > 0)
    ready = MIN (ready, self->last_heard_us + (gint64)self->idle_timeout_ms * 1000);
  if (self->close_task)
    ready = MIN (ready, now_us + 100 * 1000);

  /* An earlier wakeup (events) must not be pushed back. */
  if (g_source_get_ready_time (self->clock) < 0 || g_source_get_ready_time (self->clock) > ready)
    g_source_set_ready_time (self->clock, ready);
}

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
tcp_state (FilerUdpStream *self)
{
  int state = PSEUDO_TCP_CLOSED;

  if (self->tcp)
    g_object_get (self->tcp, "state", &state, NULL);

  return state;
}

static void
finish_close_task (FilerUdpStream *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->close_task);

  /* Mark both halves closed too (their close is synchronous and cheap). */
  g_input_stream_close (self->input, NULL, NULL);
  g_output_stream_close (self->output, NULL, NULL);

  if (self->error && !self->fin_acked_us)
    g_task_return_error (task, g_error_copy (self->error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
run_events (FilerUdpStream *self)
{
  gint64 now_us = g_get_monotonic_time ();

  if (self->handshake_task && (self->established || self->error))
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->handshake_task);

      if (self->established)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_error_copy (self->error));
    }

  if (self->close_task)
    {
      int state = tcp_state (self);

      if (!self->fin_acked_us
          && (state == PSEUDO_TCP_FIN_WAIT_2 || state == PSEUDO_TCP_TIME_WAIT || state == PSEUDO_TCP_CLOSED))
        self->fin_acked_us = now_us;

      if (self->error || self->tcp_closed
          || state == PSEUDO_TCP_TIME_WAIT || state == PSEUDO_TCP_CLOSED
          || (self->fin_acked_us && now_us - self->fin_acked_us >= CLOSE_GRACE_US))
        finish_close_task (self);
    }
}

static gboolean
clock_cb (gpointer user_data)
{
  g_autoptr(FilerUdpStream) self = g_object_ref (user_data);
  gint64 now_us = g_get_monotonic_time ();

  g_source_set_ready_time (self->clock, -1);

  if (!self->error && self->watching_idle && self->idle_timeout_ms > 0
      && now_us - self->last_heard_us >= (gint64)self->idle_timeout_ms * 1000)
    {
      g_autoptr(GError) error = NULL;

      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "Nothing heard from the peer for %u ms",
                           self->idle_timeout_ms);
      filer_udp_stream_abort (self, error);
    }

  if (!self->error && !self->tcp_closed)
    pseudo_tcp_socket_notify_clock (self->tcp);

  run_events (self);
  adjust_clock (self);

  return G_SOURCE_CONTINUE;
}

static gboolean
clock_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs clock_funcs = {
  .dispatch = clock_dispatch,
};

/* --- PseudoTcp's callbacks: record, wake, never re-enter --------------- */

static void
opened_cb (PseudoTcpSocket *tcp,
           gpointer         user_data)
{
  FilerUdpStream *self = user_data;

  g_debug ("udp stream %p: established", self);
  self->established = TRUE;
  wake (self, G_IO_OUT | G_IO_IN);
  schedule_events (self);
}

static void
readable_cb (PseudoTcpSocket *tcp,
             gpointer         user_data)
{
  FilerUdpStream *self = user_data;

  self->readable = TRUE;
  wake (self, G_IO_IN);
}

static void
writable_cb (PseudoTcpSocket *tcp,
             gpointer         user_data)
{
  FilerUdpStream *self = user_data;

  self->send_blocked = FALSE;
  wake (self, G_IO_OUT);
}

static void
closed_cb (PseudoTcpSocket *tcp,
           guint32          err,
           gpointer         user_data)
{
  FilerUdpStream *self = user_data;

  g_debug ("udp stream %p: closed by PseudoTcp (%s)", self, g_strerror (err));
  self->tcp_closed = TRUE;
  if (err != 0 && !self->error)
    self->error = error_from_errno (err);

  wake (self, G_IO_IN | G_IO_OUT);
  schedule_events (self);
}

static PseudoTcpWriteResult
write_packet_cb (PseudoTcpSocket *tcp,
                 const gchar     *buffer,
                 guint32          len,
                 gpointer         user_data)
{
  FilerUdpStream *self = user_data;

  if (self->send_func && !self->error)
    self->send_func ((const guint8 *)buffer, len, self->send_data);

  /* A datagram that could not go is a lost one: PseudoTcp resends it.
   * (WR_FAIL would abort the whole stream.) */
  return WR_SUCCESS;
}

/* --- what the input and output streams use ---------------------------- */

static gboolean
filer_udp_stream_check (FilerUdpStream *self,
                        GIOCondition    condition)
{
  if (self->error || self->tcp_closed)
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
filer_udp_stream_read_nonblocking (FilerUdpStream  *self,
                                   void            *buffer,
                                   gsize            count,
                                   GError         **error)
{
  int n;
  int err;

  if (self->read_eof || count == 0)
    return 0;

  if (self->error)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return -1;
    }

  n = pseudo_tcp_socket_recv (self->tcp, buffer, MIN (count, G_MAXINT32));
  err = pseudo_tcp_socket_get_error (self->tcp);
  /* Reading opens the window: there may be an update to send. */
  adjust_clock (self);

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
filer_udp_stream_write_nonblocking (FilerUdpStream  *self,
                                    const void      *buffer,
                                    gsize            count,
                                    GError         **error)
{
  int n;
  int err;

  if (self->error)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return -1;
    }

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
  adjust_clock (self);

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
filer_udp_stream_shutdown_write (FilerUdpStream *self)
{
  if (self->write_shutdown || self->error || self->tcp_closed)
    return;

  self->write_shutdown = TRUE;
  if (self->established)
    pseudo_tcp_socket_shutdown (self->tcp, PSEUDO_TCP_SHUTDOWN_WR);
  else
    pseudo_tcp_socket_close (self->tcp, FALSE);
  adjust_clock (self);
}

/* --- the halves' view of us ------------------------------------------- */

static gssize
ops_read (GIOStream  *stream,
          void       *buffer,
          gsize       count,
          GError    **error)
{
  return filer_udp_stream_read_nonblocking (FILER_UDP_STREAM (stream), buffer, count, error);
}

static gssize
ops_write (GIOStream   *stream,
           const void  *buffer,
           gsize        count,
           GError     **error)
{
  return filer_udp_stream_write_nonblocking (FILER_UDP_STREAM (stream), buffer, count, error);
}

static gboolean
ops_check (GIOStream    *stream,
           GIOCondition  condition)
{
  return filer_udp_stream_check (FILER_UDP_STREAM (stream), condition);
}

static void
ops_shutdown_write (GIOStream *stream)
{
  filer_udp_stream_shutdown_write (FILER_UDP_STREAM (stream));
}

static GMainContext *
ops_get_context (GIOStream *stream)
{
  return FILER_UDP_STREAM (stream)->context;
}

static const FilerStreamOps stream_ops = {
  .read_nonblocking = ops_read,
  .write_nonblocking = ops_write,
  .check = ops_check,
  .create_waker = create_waker,
  .shutdown_write = ops_shutdown_write,
  .get_context = ops_get_context,
};

/* --- GIOStream --------------------------------------------------------- */

static GInputStream *
filer_udp_stream_get_input_stream (GIOStream *stream)
{
  return FILER_UDP_STREAM (stream)->input;
}

static GOutputStream *
filer_udp_stream_get_output_stream (GIOStream *stream)
{
  return FILER_UDP_STREAM (stream)->output;
}

static gboolean
filer_udp_stream_close_fn (GIOStream     *stream,
                           GCancellable  *cancellable,
                           GError       **error)
{
  FilerUdpStream *self = FILER_UDP_STREAM (stream);

  /* Synchronous close starts the FIN exchange but does not wait for it.
   * (GIOStream also calls it from dispose, after ours dropped the tcp.) */
  if (self->tcp && !self->error && !self->tcp_closed)
    {
      self->write_shutdown = TRUE;
      pseudo_tcp_socket_close (self->tcp, FALSE);
      adjust_clock (self);
    }

  return TRUE;
}

static void
filer_udp_stream_close_async (GIOStream           *stream,
                              int                  io_priority,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  FilerUdpStream *self = FILER_UDP_STREAM (stream);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  /* Never through a thread, as GIOStream's default would: completes once
   * our FIN (after all data) is acknowledged and the peer's FIN came, or
   * a short grace after the acknowledgement. */
  g_task_set_source_tag (task, filer_udp_stream_close_async);
  g_return_if_fail (self->close_task == NULL);

  self->close_task = g_steal_pointer (&task);
  if (!self->error && !self->tcp_closed)
    {
      self->write_shutdown = TRUE;
      pseudo_tcp_socket_close (self->tcp, FALSE);
    }

  schedule_events (self);
}

static gboolean
filer_udp_stream_close_finish (GIOStream     *stream,
                               GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
filer_udp_stream_dispose (GObject *object)
{
  FilerUdpStream *self = FILER_UDP_STREAM (object);

  /* Nothing more goes out once the owner lets go. */
  self->send_func = NULL;
  if (self->send_notify)
    g_clear_pointer (&self->send_data, self->send_notify);

  g_clear_pointer (&self->wakers, filer_wakers_free);

  if (self->clock)
    {
      g_source_destroy (self->clock);
      g_clear_pointer (&self->clock, g_source_unref);
    }

  g_clear_object (&self->tcp);
  g_clear_object (&self->input);
  g_clear_object (&self->output);

  G_OBJECT_CLASS (filer_udp_stream_parent_class)->dispose (object);
}

static void
filer_udp_stream_finalize (GObject *object)
{
  FilerUdpStream *self = FILER_UDP_STREAM (object);

  g_assert (self->handshake_task == NULL);
  g_assert (self->close_task == NULL);
  g_clear_error (&self->error);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (filer_udp_stream_parent_class)->finalize (object);
}

static void
filer_udp_stream_class_init (FilerUdpStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = filer_udp_stream_dispose;
  object_class->finalize = filer_udp_stream_finalize;

  stream_class->get_input_stream = filer_udp_stream_get_input_stream;
  stream_class->get_output_stream = filer_udp_stream_get_output_stream;
  stream_class->close_fn = filer_udp_stream_close_fn;
  stream_class->close_async = filer_udp_stream_close_async;
  stream_class->close_finish = filer_udp_stream_close_finish;
}

static void
filer_udp_stream_init (FilerUdpStream *self)
{
  self->buffer_size = FILER_UDP_STREAM_DEFAULT_BUFFER_SIZE;
  self->idle_timeout_ms = FILER_UDP_STREAM_DEFAULT_IDLE_TIMEOUT_MS;
}

/**
 * filer_udp_stream_new:
 * @conversation: a number both ends agree on (derived from the session
 *   token); segments of another conversation are ignored
 * @send_func: how segments reach the peer
 * @user_data: for @send_func
 * @notify: frees @user_data when the stream is disposed
 *
 * Returns: (transfer full): a stream in the listening state
 */
FilerUdpStream *
filer_udp_stream_new (guint32                conversation,
                      FilerUdpStreamSendFunc send_func,
                      gpointer               user_data,
                      GDestroyNotify         notify)
{
  FilerUdpStream *self;
  PseudoTcpCallbacks callbacks = { 0, };

  g_return_val_if_fail (send_func != NULL, NULL);

  self = g_object_new (FILER_TYPE_UDP_STREAM, NULL);
  self->send_func = send_func;
  self->send_data = user_data;
  self->send_notify = notify;
  self->context = g_main_context_ref_thread_default ();

  callbacks.user_data = self;
  callbacks.PseudoTcpOpened = opened_cb;
  callbacks.PseudoTcpReadable = readable_cb;
  callbacks.PseudoTcpWritable = writable_cb;
  callbacks.PseudoTcpClosed = closed_cb;
  callbacks.WritePacket = write_packet_cb;

  self->tcp = pseudo_tcp_socket_new (conversation, &callbacks);
  pseudo_tcp_socket_notify_mtu (self->tcp, FILER_UDP_STREAM_MTU);
  /* Frames are small or 32 KiB: Nagle would only add latency. */
  g_object_set (self->tcp,
                "no-delay", TRUE,
                "rcv-buf", self->buffer_size,
                "snd-buf", self->buffer_size,
                NULL);

  self->wakers = filer_wakers_new ();
  self->input = filer_datagram_input_stream_new (G_IO_STREAM (self), &stream_ops);
  self->output = filer_datagram_output_stream_new (G_IO_STREAM (self), &stream_ops);

  self->clock = g_source_new (&clock_funcs, sizeof (GSource));
  g_source_set_static_name (self->clock, "FilerUdpStream clock");
  g_source_set_callback (self->clock, clock_cb, self, NULL);
  g_source_attach (self->clock, self->context);

  return self;
}

void
filer_udp_stream_set_buffer_size (FilerUdpStream *self,
                                  guint           buffer_size)
{
  g_return_if_fail (FILER_IS_UDP_STREAM (self));
  g_return_if_fail (!self->watching_idle);
  g_return_if_fail (buffer_size >= 16 * 1024);

  self->buffer_size = buffer_size;
  g_object_set (self->tcp, "rcv-buf", buffer_size, "snd-buf", buffer_size, NULL);
}

guint
filer_udp_stream_get_idle_timeout (FilerUdpStream *self)
{
  g_return_val_if_fail (FILER_IS_UDP_STREAM (self), 0);

  return self->idle_timeout_ms;
}

void
filer_udp_stream_set_idle_timeout (FilerUdpStream *self,
                                   guint           idle_timeout_ms)
{
  g_return_if_fail (FILER_IS_UDP_STREAM (self));

  self->idle_timeout_ms = idle_timeout_ms;
  adjust_clock (self);
}

gboolean
filer_udp_stream_is_established (FilerUdpStream *self)
{
  g_return_val_if_fail (FILER_IS_UDP_STREAM (self), FALSE);

  return self->established && !self->error;
}

void
filer_udp_stream_receive_segment (FilerUdpStream *self,
                                  const guint8   *segment,
                                  gsize           length)
{
  g_return_if_fail (FILER_IS_UDP_STREAM (self));

  if (self->error || self->tcp_closed || length > G_MAXUINT32)
    return;

  self->last_heard_us = g_get_monotonic_time ();
  pseudo_tcp_socket_notify_packet (self->tcp, (const gchar *)segment, length);
  adjust_clock (self);
}

void
filer_udp_stream_notify_alive (FilerUdpStream *self)
{
  g_return_if_fail (FILER_IS_UDP_STREAM (self));

  self->last_heard_us = g_get_monotonic_time ();
}

void
filer_udp_stream_handshake_async (FilerUdpStream      *self,
                                  gboolean             initiator,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FILER_IS_UDP_STREAM (self));
  g_return_if_fail (self->handshake_task == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_udp_stream_handshake_async);

  if (!self->watching_idle)
    {
      self->watching_idle = TRUE;
      self->last_heard_us = g_get_monotonic_time ();
    }

  if (initiator && !self->established && !self->error)
    pseudo_tcp_socket_connect (self->tcp);

  self->handshake_task = g_steal_pointer (&task);
  schedule_events (self);
}

gboolean
filer_udp_stream_handshake_finish (FilerUdpStream  *self,
                                   GAsyncResult    *result,
                                   GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
filer_udp_stream_abort (FilerUdpStream *self,
                        const GError   *error)
{
  g_return_if_fail (FILER_IS_UDP_STREAM (self));
  g_return_if_fail (error != NULL);

  if (self->error)
    return;

  g_debug ("udp stream %p: aborted: %s", self, error->message);
  self->error = g_error_copy (error);
  wake (self, G_IO_IN | G_IO_OUT);
  schedule_events (self);
}
