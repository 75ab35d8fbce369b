/* filer-datagram-stream.c: a reliable byte stream over datagrams, as a GIOStream
 *
 * The abstract base of the stream engines (filer-quic-stream.c,
 * filer-pseudotcp-stream.c): what every engine shares lives here once —
 * the pollable halves (filer-datagram-input-stream.c,
 * filer-datagram-output-stream.c, which call back through FilerStreamOps),
 * the sources they wake, the clock that runs the engine's timers and
 * completes tasks outside the engine library's own call stack, the
 * handshake and close GTasks, the idle watchdog and the owner's send
 * function. An engine implements FilerDatagramStreamClass's vfuncs and
 * talks to the base through the functions the header marks "for engines".
 *
 * Everything runs on the main context that was the thread default when
 * the stream was made.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-datagram-stream.h"
#include "filer-datagram-input-stream-private.h"
#include "filer-datagram-output-stream-private.h"
#include "filer-pseudotcp-stream.h"
#include "filer-quic-stream.h"
#include "filer-stream-wakers-private.h"

/* While a close waits, the clock looks at it this often. */
#define CLOSE_POLL_US (100 * 1000)

typedef struct
{
  /* owned */
  GInputStream *input;
  GOutputStream *output;
  GMainContext *context;
  GThread *thread;         /* where it was made: runs the context (not owned) */
  GSource *clock;
  FilerWakers *wakers;
  GError *error;           /* sticky: the stream has ended with it */
  GTask *handshake_task;
  GTask *close_task;

  FilerIdentity *identity;
  char *expected_peer_id;
  char *peer_id;           /* proven by the engine's handshake */

  FilerDatagramStreamSendFunc send_func;
  gpointer send_data;
  GDestroyNotify send_notify;

  guint idle_timeout_ms;
  gint64 last_heard_us;
  gint64 close_started_us;
  guint watching_idle : 1; /* the handshake has begun */
  guint established : 1;
} FilerDatagramStreamPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (FilerDatagramStream, filer_datagram_stream, G_TYPE_IO_STREAM)

#define PRIV(self) ((FilerDatagramStreamPrivate *)filer_datagram_stream_get_instance_private (self))
#define ENGINE(self) FILER_DATAGRAM_STREAM_GET_CLASS (self)

/* --- the clock: the engine's timers, the watchdog, deferred events ---- */

static void
finish_close_task (FilerDatagramStream *self)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);
  g_autoptr(GTask) task = g_steal_pointer (&priv->close_task);
  gboolean delivered = ENGINE (self)->close_finish (self);

  /* Mark both halves closed too (their close is synchronous and cheap). */
  g_input_stream_close (priv->input, NULL, NULL);
  g_output_stream_close (priv->output, NULL, NULL);

  if (priv->error && !delivered)
    g_task_return_error (task, g_error_copy (priv->error));
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
clock_cb (gpointer user_data)
{
  g_autoptr(FilerDatagramStream) self = g_object_ref (user_data);
  FilerDatagramStreamPrivate *priv = PRIV (self);
  gint64 now_us = g_get_monotonic_time ();

  g_source_set_ready_time (priv->clock, -1);

  if (!priv->error && priv->watching_idle && priv->idle_timeout_ms > 0
      && now_us - priv->last_heard_us >= (gint64)priv->idle_timeout_ms * 1000)
    {
      g_autoptr(GError) error = NULL;

      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "Nothing heard from the peer for %u ms",
                           priv->idle_timeout_ms);
      filer_datagram_stream_abort (self, error);
    }

  ENGINE (self)->tick (self);

  if (priv->handshake_task && (priv->established || priv->error))
    {
      g_autoptr(GTask) task = g_steal_pointer (&priv->handshake_task);

      if (priv->established && !priv->error)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_error_copy (priv->error));
    }

  if (priv->close_task
      && (priv->error || ENGINE (self)->close_done (self, now_us - priv->close_started_us)))
    finish_close_task (self);

  filer_datagram_stream_update_clock (self);

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

/* --- what the halves use ------------------------------------------------ */

static gboolean
check (FilerDatagramStream *self,
       GIOCondition         condition)
{
  if (PRIV (self)->error)
    return TRUE;

  return ENGINE (self)->check (self, condition);
}

static gssize
ops_read (GIOStream  *stream,
          void       *buffer,
          gsize       count,
          GError    **error)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (stream);

  return ENGINE (self)->read (self, buffer, count, error);
}

static gssize
ops_write (GIOStream   *stream,
           const void  *buffer,
           gsize        count,
           GError     **error)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (stream);
  FilerDatagramStreamPrivate *priv = PRIV (self);

  if (priv->error)
    {
      g_propagate_error (error, g_error_copy (priv->error));
      return -1;
    }

  return ENGINE (self)->write (self, buffer, count, error);
}

static gboolean
ops_check (GIOStream    *stream,
           GIOCondition  condition)
{
  return check (FILER_DATAGRAM_STREAM (stream), condition);
}

static GSource *
ops_create_waker (GIOStream    *stream,
                  GIOCondition  condition)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (stream);

  return _filer_wakers_create (PRIV (self)->wakers, condition, check (self, condition));
}

static void
ops_shutdown_write (GIOStream *stream)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (stream);

  ENGINE (self)->shutdown_write (self);
}

static GMainContext *
ops_get_context (GIOStream *stream)
{
  return PRIV (FILER_DATAGRAM_STREAM (stream))->context;
}

static GThread *
ops_get_thread (GIOStream *stream)
{
  return PRIV (FILER_DATAGRAM_STREAM (stream))->thread;
}

static const FilerStreamOps stream_ops = {
  .read_nonblocking = ops_read,
  .write_nonblocking = ops_write,
  .check = ops_check,
  .create_waker = ops_create_waker,
  .shutdown_write = ops_shutdown_write,
  .get_context = ops_get_context,
  .get_thread = ops_get_thread,
};

/* --- GIOStream ------------------------------------------------------------ */

static GInputStream *
filer_datagram_stream_get_input_stream (GIOStream *stream)
{
  return PRIV (FILER_DATAGRAM_STREAM (stream))->input;
}

static GOutputStream *
filer_datagram_stream_get_output_stream (GIOStream *stream)
{
  return PRIV (FILER_DATAGRAM_STREAM (stream))->output;
}

static gboolean
close_in_owner_cb (gpointer data)
{
  FilerDatagramStream *self = data;

  if (!PRIV (self)->error)
    ENGINE (self)->close (self);
  return G_SOURCE_REMOVE;
}

static gboolean
filer_datagram_stream_close_fn (GIOStream     *stream,
                                GCancellable  *cancellable,
                                GError       **error)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (stream);

  /* From another thread (a TLS connection on top closes there): the
   * engine is not thread-safe, so its own thread starts the goodbye. */
  if (!_filer_stream_in_owner_thread (stream, &stream_ops))
    {
      g_main_context_invoke_full (PRIV (self)->context, G_PRIORITY_DEFAULT, close_in_owner_cb,
                                  g_object_ref (self), g_object_unref);
      return TRUE;
    }

  /* Synchronous close starts the goodbye but does not wait for it.
   * (GIOStream also calls it from dispose, after the engine let go.) */
  if (!PRIV (self)->error)
    ENGINE (self)->close (self);

  return TRUE;
}

static void
filer_datagram_stream_close_async (GIOStream           *stream,
                                   int                  io_priority,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (stream);
  FilerDatagramStreamPrivate *priv = PRIV (self);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  /* Never through a thread, as GIOStream's default would: completes once
   * what was written is acknowledged (the engine says when), or at once
   * if the stream has failed. */
  g_task_set_source_tag (task, filer_datagram_stream_close_async);
  g_return_if_fail (priv->close_task == NULL);

  priv->close_task = g_steal_pointer (&task);
  priv->close_started_us = g_get_monotonic_time ();
  ENGINE (self)->close_start (self);
  filer_datagram_stream_schedule (self);
}

static gboolean
filer_datagram_stream_close_finish (GIOStream     *stream,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
filer_datagram_stream_dispose (GObject *object)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (object);
  FilerDatagramStreamPrivate *priv = PRIV (self);

  /* Nothing more goes out once the owner lets go. */
  priv->send_func = NULL;
  if (priv->send_notify)
    g_clear_pointer (&priv->send_data, priv->send_notify);

  g_clear_pointer (&priv->wakers, _filer_wakers_free);

  if (priv->clock)
    {
      g_source_destroy (priv->clock);
      g_clear_pointer (&priv->clock, g_source_unref);
    }

  g_clear_object (&priv->input);
  g_clear_object (&priv->output);

  G_OBJECT_CLASS (filer_datagram_stream_parent_class)->dispose (object);
}

static void
filer_datagram_stream_finalize (GObject *object)
{
  FilerDatagramStream *self = FILER_DATAGRAM_STREAM (object);
  FilerDatagramStreamPrivate *priv = PRIV (self);

  g_assert (priv->handshake_task == NULL);
  g_assert (priv->close_task == NULL);
  g_clear_error (&priv->error);
  g_clear_pointer (&priv->context, g_main_context_unref);
  g_clear_object (&priv->identity);
  g_free (priv->expected_peer_id);
  g_free (priv->peer_id);

  G_OBJECT_CLASS (filer_datagram_stream_parent_class)->finalize (object);
}

static void
filer_datagram_stream_class_init (FilerDatagramStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = filer_datagram_stream_dispose;
  object_class->finalize = filer_datagram_stream_finalize;

  stream_class->get_input_stream = filer_datagram_stream_get_input_stream;
  stream_class->get_output_stream = filer_datagram_stream_get_output_stream;
  stream_class->close_fn = filer_datagram_stream_close_fn;
  stream_class->close_async = filer_datagram_stream_close_async;
  stream_class->close_finish = filer_datagram_stream_close_finish;
}

static void
filer_datagram_stream_init (FilerDatagramStream *self)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);

  priv->idle_timeout_ms = FILER_DATAGRAM_STREAM_DEFAULT_IDLE_TIMEOUT_MS;
  priv->context = g_main_context_ref_thread_default ();
  priv->thread = g_thread_self ();
  priv->wakers = _filer_wakers_new ();
  priv->input = _filer_datagram_input_stream_new (G_IO_STREAM (self), &stream_ops);
  priv->output = _filer_datagram_output_stream_new (G_IO_STREAM (self), &stream_ops);

  priv->clock = g_source_new (&clock_funcs, sizeof (GSource));
  g_source_set_static_name (priv->clock, "FilerDatagramStream clock");
  g_source_set_callback (priv->clock, clock_cb, self, NULL);
  g_source_attach (priv->clock, priv->context);
}

/* --- for owners ----------------------------------------------------------- */

/**
 * filer_datagram_stream_new:
 * @engine: what carries the bytes
 * @conversation: a number both ends agree on (derived from the session
 *   token): PseudoTcp puts it in every segment and ignores segments of
 *   another conversation; QUIC has connection ids for that and ignores it
 * @send_func: how segments reach the peer
 * @user_data: for @send_func
 * @notify: frees @user_data when the stream is disposed
 *
 * The one place that picks an engine.
 *
 * Returns: (transfer full): a stream waiting for its handshake
 */
FilerDatagramStream *
filer_datagram_stream_new (FilerDatagramStreamEngine   engine,
                           guint32                     conversation,
                           FilerDatagramStreamSendFunc send_func,
                           gpointer                    user_data,
                           GDestroyNotify              notify)
{
  FilerDatagramStream *self;

  g_return_val_if_fail (send_func != NULL, NULL);

  switch (engine)
    {
    case FILER_DATAGRAM_STREAM_ENGINE_QUIC:
      self = g_object_new (FILER_TYPE_QUIC_STREAM, NULL);
      break;
    case FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP:
      self = g_object_new (FILER_TYPE_PSEUDOTCP_STREAM, "conversation", conversation, NULL);
      break;
    default:
      g_return_val_if_reached (NULL);
    }

  filer_datagram_stream_set_send_func (self, send_func, user_data, notify);

  return self;
}

/**
 * filer_datagram_stream_set_send_func:
 * @self: a stream made without one (by g_object_new() of an engine type)
 * @send_func: how segments reach the peer
 * @user_data: for @send_func
 * @notify: frees @user_data when the stream is disposed
 *
 * Gives the stream its way out, once, before the handshake.
 */
void
filer_datagram_stream_set_send_func (FilerDatagramStream         *self,
                                     FilerDatagramStreamSendFunc  send_func,
                                     gpointer                     user_data,
                                     GDestroyNotify               notify)
{
  FilerDatagramStreamPrivate *priv;

  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));
  g_return_if_fail (send_func != NULL);

  priv = PRIV (self);
  g_return_if_fail (priv->send_func == NULL && priv->send_notify == NULL);

  priv->send_func = send_func;
  priv->send_data = user_data;
  priv->send_notify = notify;
}

/**
 * filer_datagram_stream_set_identity:
 * @self: a stream before its handshake
 * @identity: our device key
 * @expected_peer_id: (nullable): the device we mean to reach; %NULL on a
 *   listener that learns who called (any valid device key is accepted,
 *   and its id is then on filer_datagram_stream_get_peer_id())
 */
void
filer_datagram_stream_set_identity (FilerDatagramStream *self,
                                    FilerIdentity       *identity,
                                    const char          *expected_peer_id)
{
  FilerDatagramStreamPrivate *priv;

  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));
  g_return_if_fail (FILER_IS_IDENTITY (identity));

  priv = PRIV (self);
  g_return_if_fail (!priv->watching_idle);

  g_set_object (&priv->identity, identity);
  g_free (priv->expected_peer_id);
  priv->expected_peer_id = g_strdup (expected_peer_id);
}

const char *
filer_datagram_stream_get_peer_id (FilerDatagramStream *self)
{
  FilerDatagramStreamPrivate *priv;

  g_return_val_if_fail (FILER_IS_DATAGRAM_STREAM (self), NULL);

  priv = PRIV (self);
  return priv->established ? priv->peer_id : NULL;
}

guint
filer_datagram_stream_get_idle_timeout (FilerDatagramStream *self)
{
  g_return_val_if_fail (FILER_IS_DATAGRAM_STREAM (self), 0);

  return PRIV (self)->idle_timeout_ms;
}

void
filer_datagram_stream_set_idle_timeout (FilerDatagramStream *self,
                                        guint                idle_timeout_ms)
{
  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));

  PRIV (self)->idle_timeout_ms = idle_timeout_ms;
  filer_datagram_stream_update_clock (self);
}

gboolean
filer_datagram_stream_is_established (FilerDatagramStream *self)
{
  FilerDatagramStreamPrivate *priv;

  g_return_val_if_fail (FILER_IS_DATAGRAM_STREAM (self), FALSE);

  priv = PRIV (self);
  return priv->established && !priv->error;
}

void
filer_datagram_stream_receive_segment (FilerDatagramStream *self,
                                       const guint8        *segment,
                                       gsize                length)
{
  FilerDatagramStreamPrivate *priv;

  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));

  priv = PRIV (self);
  if (priv->error)
    return;

  priv->last_heard_us = g_get_monotonic_time ();
  ENGINE (self)->receive (self, segment, length);
}

void
filer_datagram_stream_notify_alive (FilerDatagramStream *self)
{
  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));

  PRIV (self)->last_heard_us = g_get_monotonic_time ();
}

void
filer_datagram_stream_handshake_async (FilerDatagramStream *self,
                                       gboolean             initiator,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  FilerDatagramStreamPrivate *priv;
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));

  priv = PRIV (self);
  g_return_if_fail (priv->handshake_task == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_datagram_stream_handshake_async);

  /* The watchdog starts with the first handshake. */
  if (!priv->watching_idle)
    {
      priv->watching_idle = TRUE;
      priv->last_heard_us = g_get_monotonic_time ();
    }

  if (!ENGINE (self)->start (self, initiator, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  priv->handshake_task = g_steal_pointer (&task);
  filer_datagram_stream_schedule (self);
}

gboolean
filer_datagram_stream_handshake_finish (FilerDatagramStream  *self,
                                        GAsyncResult         *result,
                                        GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
filer_datagram_stream_abort (FilerDatagramStream *self,
                             const GError        *error)
{
  FilerDatagramStreamPrivate *priv;

  g_return_if_fail (FILER_IS_DATAGRAM_STREAM (self));
  g_return_if_fail (error != NULL);

  priv = PRIV (self);
  if (priv->error)
    return;

  g_debug ("%s %p: ended: %s", G_OBJECT_TYPE_NAME (self), self, error->message);
  priv->error = g_error_copy (error);
  filer_datagram_stream_wake (self, G_IO_IN | G_IO_OUT);
  filer_datagram_stream_schedule (self);
}

/* --- for engines ---------------------------------------------------------- */

void
filer_datagram_stream_send_segment (FilerDatagramStream *self,
                                    const guint8        *segment,
                                    gsize                length)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);

  if (priv->send_func)
    priv->send_func (segment, length, priv->send_data);
}

FilerIdentity *
filer_datagram_stream_get_identity (FilerDatagramStream *self)
{
  return PRIV (self)->identity;
}

const char *
filer_datagram_stream_get_expected_peer_id (FilerDatagramStream *self)
{
  return PRIV (self)->expected_peer_id;
}

void
filer_datagram_stream_set_peer_id (FilerDatagramStream *self,
                                   const char          *peer_id)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);

  g_free (priv->peer_id);
  priv->peer_id = g_strdup (peer_id);
}

const GError *
filer_datagram_stream_get_error (FilerDatagramStream *self)
{
  return PRIV (self)->error;
}

void
filer_datagram_stream_set_established (FilerDatagramStream *self)
{
  g_debug ("%s %p: established", G_OBJECT_TYPE_NAME (self), self);
  PRIV (self)->established = TRUE;
  filer_datagram_stream_wake (self, G_IO_OUT | G_IO_IN);
  filer_datagram_stream_schedule (self);
}

void
filer_datagram_stream_wake (FilerDatagramStream *self,
                            GIOCondition         condition)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);

  if (priv->wakers)
    _filer_wakers_wake (priv->wakers, condition);
}

void
filer_datagram_stream_schedule (FilerDatagramStream *self)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);

  if (priv->clock)
    g_source_set_ready_time (priv->clock, 0);
}

void
filer_datagram_stream_update_clock (FilerDatagramStream *self)
{
  FilerDatagramStreamPrivate *priv = PRIV (self);
  gint64 now_us = g_get_monotonic_time ();
  gint64 ready = -1;

  if (!priv->clock)
    return;

  if (!priv->error)
    {
      /* An engine that has ended needs no clock: its end was scheduled. */
      if (!ENGINE (self)->next_timeout (self, &ready))
        return;

      if (priv->watching_idle && priv->idle_timeout_ms > 0)
        {
          gint64 idle = priv->last_heard_us + (gint64)priv->idle_timeout_ms * 1000;

          ready = ready < 0 ? idle : MIN (ready, idle);
        }
    }

  if (priv->close_task)
    ready = ready < 0 ? now_us + CLOSE_POLL_US : MIN (ready, now_us + CLOSE_POLL_US);

  /* Events already due must not be pushed back. */
  if (g_source_get_ready_time (priv->clock) != 0)
    g_source_set_ready_time (priv->clock, ready);
}
