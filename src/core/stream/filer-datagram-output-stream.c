/* filer-datagram-output-stream.c: the writing half of a datagram-backed stream
 *
 * Pollable, so that GIO's default write_async, writev_async and splice
 * run on the main loop without threads (PseudoTcp is not thread-safe).
 * Closing it sends FIN after the data already written: the peer reads
 * EOF. Holds its stream weakly: the GIOStream owns it; calls back through
 * FilerStreamOps (FilerDatagramStream for both engines).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-datagram-output-stream-private.h"

struct _FilerDatagramOutputStream
{
  GOutputStream parent_instance;

  GIOStream *stream;              /* weak */
  const FilerStreamOps *ops;
};

static void pollable_iface_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FilerDatagramOutputStream, filer_datagram_output_stream, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM, pollable_iface_init))

static gboolean
stream_gone (FilerDatagramOutputStream  *self,
             GError               **error)
{
  if (self->stream)
    return FALSE;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The stream is gone");
  return TRUE;
}

static gssize
write_nonblocking (GPollableOutputStream  *pollable,
                   const void             *buffer,
                   gsize                   count,
                   GError                **error)
{
  FilerDatagramOutputStream *self = FILER_DATAGRAM_OUTPUT_STREAM (pollable);

  if (stream_gone (self, error))
    return -1;

  return self->ops->write_nonblocking (self->stream, buffer, count, error);
}

static gboolean
is_writable (GPollableOutputStream *pollable)
{
  FilerDatagramOutputStream *self = FILER_DATAGRAM_OUTPUT_STREAM (pollable);

  return !self->stream || self->ops->check (self->stream, G_IO_OUT);
}

static GSource *
create_source (GPollableOutputStream *pollable,
               GCancellable          *cancellable)
{
  FilerDatagramOutputStream *self = FILER_DATAGRAM_OUTPUT_STREAM (pollable);
  g_autoptr(GSource) waker = NULL;

  /* Once the stream is gone, a write fails at once: wake up now. */
  if (self->stream)
    waker = self->ops->create_waker (self->stream, G_IO_OUT);
  else
    waker = g_timeout_source_new (0);

  return g_pollable_source_new_full (pollable, waker, cancellable);
}

static void
pollable_iface_init (GPollableOutputStreamInterface *iface)
{
  iface->write_nonblocking = write_nonblocking;
  iface->is_writable = is_writable;
  iface->create_source = create_source;
}

static gssize
filer_datagram_output_stream_write (GOutputStream  *stream,
                                    const void     *buffer,
                                    gsize           count,
                                    GCancellable   *cancellable,
                                    GError        **error)
{
  FilerDatagramOutputStream *self = FILER_DATAGRAM_OUTPUT_STREAM (stream);

  /* Not the stream's thread (a TLS handshake's): each attempt runs in
   * the stream's thread, which owns the engine. */
  if (self->stream && !_filer_stream_in_owner_thread (self->stream, self->ops))
    return _filer_stream_io_from_thread (self->stream, self->ops, G_OBJECT (self), (void *)buffer, count,
                                         cancellable, error);

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      gssize n;

      if (stream_gone (self, error))
        return -1;

      n = self->ops->write_nonblocking (self->stream, buffer, count, &local_error);
      if (n >= 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (local_error)
            g_propagate_error (error, g_steal_pointer (&local_error));
          return n;
        }

      if (!_filer_stream_wait (self->stream, self->ops, G_IO_OUT, cancellable, error))
        return -1;
    }
}

static gboolean
filer_datagram_output_stream_close (GOutputStream  *stream,
                                    GCancellable   *cancellable,
                                    GError        **error)
{
  FilerDatagramOutputStream *self = FILER_DATAGRAM_OUTPUT_STREAM (stream);

  if (self->stream)
    self->ops->shutdown_write (self->stream);

  return TRUE;
}

static void
filer_datagram_output_stream_close_async (GOutputStream       *stream,
                                          int                  io_priority,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);

  /* Never through a thread, as GOutputStream's default would. */
  g_task_set_source_tag (task, filer_datagram_output_stream_close_async);
  filer_datagram_output_stream_close (stream, cancellable, NULL);
  g_task_return_boolean (task, TRUE);
}

static gboolean
filer_datagram_output_stream_close_finish (GOutputStream  *stream,
                                           GAsyncResult   *result,
                                           GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
filer_datagram_output_stream_dispose (GObject *object)
{
  FilerDatagramOutputStream *self = FILER_DATAGRAM_OUTPUT_STREAM (object);

  g_clear_weak_pointer (&self->stream);

  G_OBJECT_CLASS (filer_datagram_output_stream_parent_class)->dispose (object);
}

static void
filer_datagram_output_stream_class_init (FilerDatagramOutputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  object_class->dispose = filer_datagram_output_stream_dispose;

  output_class->write_fn = filer_datagram_output_stream_write;
  output_class->close_fn = filer_datagram_output_stream_close;
  output_class->close_async = filer_datagram_output_stream_close_async;
  output_class->close_finish = filer_datagram_output_stream_close_finish;
}

static void
filer_datagram_output_stream_init (FilerDatagramOutputStream *self)
{
}

GOutputStream *
_filer_datagram_output_stream_new (GIOStream            *stream,
                                   const FilerStreamOps *ops)
{
  FilerDatagramOutputStream *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (FILER_TYPE_DATAGRAM_OUTPUT_STREAM, NULL);
  g_set_weak_pointer (&self->stream, stream);
  self->ops = ops;

  return G_OUTPUT_STREAM (self);
}
