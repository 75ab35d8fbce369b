/* filer-frame-connection.c: frames over any GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-frame-connection.h"
#include "filer-frame-decoder.h"
#include "filer-tls.h"

/* One connection = one GIOStream (TCP, TLS, or a reliable stream over
 * UDP) carrying frames both ways, entirely on the main loop:
 *
 *  - one read in flight at a time into a fixed buffer; every whole frame
 *    is handed to the owner through ::frame-received, in order;
 *  - writes wait in a queue and go out one at a time with writev(), the
 *    header and the content as two vectors so the content is never
 *    copied; send_async() completes when its frame is written, which is
 *    the backpressure a sender loop needs;
 *  - ::closed fires exactly once: with NULL when the stream ended
 *    cleanly, with the error otherwise. A malformed frame is answered
 *    with an error frame, then the connection closes; nothing else in
 *    the process is affected.
 */

/* Reads start small, so that thousands of idle connections on a server
 * cost little, and double whenever a read fills the buffer, up to a size
 * that keeps a fast transfer to a few reads per chunk batch. */
#define READ_SIZE_MIN (4 * 1024)
#define READ_SIZE_MAX (256 * 1024)

/* One writev() carries up to this many vectors (two per frame). */
#define WRITE_BATCH_VECTORS 64

typedef struct
{
  GBytes        *header;
  GBytes        *content;
  GTask         *task;   /* nullable: filer_frame_connection_send() has none */
} PendingWrite;

struct _FilerFrameConnection
{
  GObject            parent_instance;

  /* Owned */
  GIOStream         *stream;
  FilerFrameDecoder *decoder;
  GCancellable      *cancellable;
  guint8            *read_buffer;     /* owned until the read completes */
  gsize              read_size;
  GQueue             write_queue;
  gsize              queued_bytes;
  GError            *close_error;
  guint              deliver_source;

  /* Borrowed from the stream */
  GInputStream      *input;
  GOutputStream     *output;

  /* The frames of the writev() in flight: the first n_writing of the
   * queue. writev_all_async() reads the vectors until it completes. */
  GOutputVector      write_vectors[WRITE_BATCH_VECTORS];
  guint              n_writing;
  guint8            *write_block;     /* under TLS: the vectors, copied in one; kept */
  gsize              block_capacity;  /* for the next batch */
  gsize              block_size;
  gsize              block_written;
  GSource           *block_source;    /* waiting for the socket to take more */
  guint              flush_source;    /* under TLS: the write after this dispatch */

  guint              started : 1;
  guint              paused : 1;
  guint              reading : 1;
  guint              writing : 1;
  guint              closing : 1;
  guint              closed : 1;
};

G_DEFINE_FINAL_TYPE (FilerFrameConnection, filer_frame_connection, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STREAM,
  PROP_MAX_CONTENT_LENGTH,
  N_PROPS
};

enum {
  FRAME_RECEIVED,
  CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void read_next     (FilerFrameConnection *self);
static void close_stream  (FilerFrameConnection *self);
static void write_next    (FilerFrameConnection *self);
static void begin_closing (FilerFrameConnection *self,
                           GError               *error);

static void
pending_write_free (PendingWrite *write)
{
  g_clear_pointer (&write->header, g_bytes_unref);
  g_clear_pointer (&write->content, g_bytes_unref);
  g_clear_object (&write->task);
  g_free (write);
}

static void
fail_pending_writes (FilerFrameConnection *self,
                     const GError         *error)
{
  PendingWrite *write;

  while ((write = g_queue_pop_head (&self->write_queue)))
    {
      if (write->task != NULL)
        g_task_return_error (write->task, g_error_copy (error));
      pending_write_free (write);
    }

  self->queued_bytes = 0;
}

static void stop_block_source (FilerFrameConnection *self);

static void
filer_frame_connection_dispose (GObject *object)
{
  FilerFrameConnection *self = (FilerFrameConnection *)object;
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->deliver_source, g_source_remove);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  stop_block_source (self);

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "The connection was disposed");
  fail_pending_writes (self, error);

  G_OBJECT_CLASS (filer_frame_connection_parent_class)->dispose (object);
}

static void
filer_frame_connection_finalize (GObject *object)
{
  FilerFrameConnection *self = (FilerFrameConnection *)object;

  g_clear_object (&self->stream);
  g_clear_object (&self->decoder);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->read_buffer, g_free);
  g_clear_pointer (&self->write_block, g_free);
  g_clear_error (&self->close_error);
  g_assert (self->block_source == NULL);

  G_OBJECT_CLASS (filer_frame_connection_parent_class)->finalize (object);
}

static void
filer_frame_connection_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  FilerFrameConnection *self = FILER_FRAME_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_STREAM:
      g_value_set_object (value, self->stream);
      break;

    case PROP_MAX_CONTENT_LENGTH:
      g_value_set_uint64 (value, filer_frame_decoder_get_max_content_length (self->decoder));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_frame_connection_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  FilerFrameConnection *self = FILER_FRAME_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_STREAM:
      self->stream = g_value_dup_object (value);
      self->input = g_io_stream_get_input_stream (self->stream);
      self->output = g_io_stream_get_output_stream (self->stream);
      break;

    case PROP_MAX_CONTENT_LENGTH:
      filer_frame_connection_set_max_content_length (self, g_value_get_uint64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_frame_connection_class_init (FilerFrameConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_frame_connection_dispose;
  object_class->finalize = filer_frame_connection_finalize;
  object_class->get_property = filer_frame_connection_get_property;
  object_class->set_property = filer_frame_connection_set_property;

  properties[PROP_STREAM] =
    g_param_spec_object ("stream", NULL, NULL,
                         G_TYPE_IO_STREAM,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  properties[PROP_MAX_CONTENT_LENGTH] =
    g_param_spec_uint64 ("max-content-length", NULL, NULL,
                         0, G_MAXSIZE, FILER_FRAME_DEFAULT_MAX_CONTENT_LENGTH,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FilerFrameConnection::frame-received:
   * @self: the connection
   * @frame: the frame
   *
   * A whole frame arrived. Not emitted while the connection is paused.
   */
  signals[FRAME_RECEIVED] =
    g_signal_new ("frame-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_FRAME | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * FilerFrameConnection::closed:
   * @self: the connection
   * @error: (nullable): why, or %NULL if it ended cleanly
   *
   * Emitted once, when the stream is closed for good.
   */
  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
filer_frame_connection_init (FilerFrameConnection *self)
{
  self->decoder = filer_frame_decoder_new (0);
  self->cancellable = g_cancellable_new ();
  self->read_size = READ_SIZE_MIN;
  g_queue_init (&self->write_queue);
}

/**
 * filer_frame_connection_new:
 * @stream: a connected stream; the connection takes a reference
 *
 * Nothing is read until filer_frame_connection_start().
 */
FilerFrameConnection *
filer_frame_connection_new (GIOStream *stream)
{
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  return g_object_new (FILER_TYPE_FRAME_CONNECTION, "stream", stream, NULL);
}

GIOStream *
filer_frame_connection_get_stream (FilerFrameConnection *self)
{
  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (self), NULL);

  return self->stream;
}

gsize
filer_frame_connection_get_max_content_length (FilerFrameConnection *self)
{
  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (self), 0);

  return filer_frame_decoder_get_max_content_length (self->decoder);
}

void
filer_frame_connection_set_max_content_length (FilerFrameConnection *self,
                                               gsize                 max_content_length)
{
  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));

  if (filer_frame_decoder_get_max_content_length (self->decoder) == max_content_length)
    return;

  filer_frame_decoder_set_max_content_length (self->decoder, max_content_length);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONTENT_LENGTH]);
}

gboolean
filer_frame_connection_is_closed (FilerFrameConnection *self)
{
  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (self), TRUE);

  return self->closed || self->closing;
}

gsize
filer_frame_connection_get_queued_bytes (FilerFrameConnection *self)
{
  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (self), 0);

  return self->queued_bytes;
}

/* Reading */

/* Hands out the frames the decoder holds, until it needs more bytes or
 * the owner pauses or closes us from a handler. */
static void
deliver_frames (FilerFrameConnection *self)
{
  g_autoptr(GObject) hold = g_object_ref (G_OBJECT (self));

  while (!self->paused && !self->closing && !self->closed)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FilerFrame) frame = filer_frame_decoder_next (self->decoder, &error);

      if (error != NULL)
        {
          g_debug ("Protocol error from peer: %s", error->message);
          filer_frame_connection_close_with_error (self, "protocol", error->message);
          g_clear_error (&self->close_error);
          self->close_error = g_steal_pointer (&error);
          return;
        }

      if (frame == NULL)
        break;

      g_signal_emit (self, signals[FRAME_RECEIVED], 0, frame);
    }

  if (!self->paused && !self->closing && !self->closed)
    read_next (self);
}

/* A read of a TLS stream returns one record (16 KiB at most), so a
 * 256 KiB buffer would take 16 main-loop iterations to fill. What TLS
 * already holds (the records it read ahead) comes now, without waiting:
 * reads stop at the first that would block. An error or the end of the
 * stream is left for the next read to report. */
static gsize
read_more (FilerFrameConnection *self,
           gsize                 n_read)
{
  GPollableInputStream *input;
  gsize more = 0;

  if (!filer_tls_is_tls_stream (self->stream) || !G_IS_POLLABLE_INPUT_STREAM (self->input))
    return 0;

  input = G_POLLABLE_INPUT_STREAM (self->input);
  while (n_read + more < self->read_size)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (input, self->read_buffer + n_read + more,
                                                           self->read_size - n_read - more,
                                                           NULL, NULL);
      if (n <= 0)
        break;
      more += n;
    }

  return more;
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(FilerFrameConnection) self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n_read;

  self->reading = FALSE;
  n_read = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);

  if (n_read <= 0 || self->closed || self->closing)
    g_clear_pointer (&self->read_buffer, g_free);

  if (self->closed || self->closing)
    return;

  if (n_read < 0)
    {
      g_debug ("Read failed: %s", error->message);
      begin_closing (self, g_steal_pointer (&error));
      return;
    }

  if (n_read == 0)
    {
      /* End of stream: clean only if it fell between two frames. */
      filer_frame_decoder_finish (self->decoder, &error);
      begin_closing (self, g_steal_pointer (&error));
      return;
    }

  n_read += read_more (self, n_read);

  /* The decoder keeps the block: frame contents are slices of it. */
  {
    g_autoptr(GBytes) block = g_bytes_new_take (g_steal_pointer (&self->read_buffer), n_read);

    filer_frame_decoder_feed_bytes (self->decoder, block);
  }

  if ((gsize)n_read == self->read_size && self->read_size < READ_SIZE_MAX)
    self->read_size *= 2;

  deliver_frames (self);
}

static void
read_next (FilerFrameConnection *self)
{
  if (self->reading || self->paused || self->closing || self->closed)
    return;

  g_assert (self->read_buffer == NULL);
  self->read_buffer = g_malloc (self->read_size);

  self->reading = TRUE;
  g_input_stream_read_async (self->input,
                             self->read_buffer,
                             self->read_size,
                             G_PRIORITY_DEFAULT,
                             self->cancellable,
                             read_cb,
                             g_object_ref (self));
}

/**
 * filer_frame_connection_start:
 * @self: a connection
 *
 * Starts reading: ::frame-received fires for each frame from now on.
 * The read in flight holds a reference, so a started connection lives
 * until it is closed (by either side, or by an error): owners close it
 * when they are done with it.
 */
void
filer_frame_connection_start (FilerFrameConnection *self)
{
  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));

  if (self->started)
    return;

  self->started = TRUE;
  read_next (self);
}

/**
 * filer_frame_connection_pause:
 * @self: a connection
 *
 * Stops handing out frames and reading from the stream, so that a peer
 * that sends faster than we can store is held back by TCP itself.
 */
void
filer_frame_connection_pause (FilerFrameConnection *self)
{
  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));

  self->paused = TRUE;
}

static gboolean
deliver_cb (gpointer user_data)
{
  FilerFrameConnection *self = user_data;

  self->deliver_source = 0;
  deliver_frames (self);
  return G_SOURCE_REMOVE;
}

void
filer_frame_connection_resume (FilerFrameConnection *self)
{
  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));

  if (!self->paused)
    return;

  self->paused = FALSE;

  /* Frames already buffered go out from an idle, not from inside
   * whatever handler called us; at the default priority, as the I/O it
   * stands for: a window redrawing without pause (GTK's frame clock runs
   * above the default idle priority) must not starve the network. */
  if (self->started && self->deliver_source == 0)
    self->deliver_source = g_idle_add_full (G_PRIORITY_DEFAULT, deliver_cb, self, NULL);
}

/* Writing */

static void
write_done (FilerFrameConnection *self,
            gboolean              written,
            const GError         *error)
{
  GQueue *done = g_queue_new ();
  guint n_written = self->n_writing;

  /* Settle our own state before completing any task: a task's callback
   * may queue the next frame (and so start the next write). */
  for (guint i = 0; i < n_written; i++)
    g_queue_push_tail (done, g_queue_pop_head (&self->write_queue));
  self->writing = FALSE;
  self->n_writing = 0;

  if (!written)
    {
      g_debug ("Write failed: %s", error->message);

      /* Nothing more can be written: everything queued fails too, and
       * the connection closes with this error. */
      while (!g_queue_is_empty (&self->write_queue))
        g_queue_push_tail (done, g_queue_pop_head (&self->write_queue));

      if (!self->closed && !self->closing)
        {
          self->closing = TRUE;
          self->close_error = g_error_copy (error);
        }
    }

  for (GList *l = done->head; l != NULL; l = l->next)
    {
      PendingWrite *write = l->data;

      self->queued_bytes -= g_bytes_get_size (write->header) + g_bytes_get_size (write->content);
    }

  for (GList *l = done->head; l != NULL; l = l->next)
    {
      PendingWrite *write = l->data;

      if (write->task != NULL && written)
        g_task_return_boolean (write->task, TRUE);
      else if (write->task != NULL)
        g_task_return_error (write->task, g_error_copy (error));
    }
  g_queue_free_full (done, (GDestroyNotify)pending_write_free);

  if (error != NULL)
    {
      if (!self->closed)
        close_stream (self);
      return;
    }

  write_next (self);
}

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(FilerFrameConnection) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean written;

  written = g_output_stream_writev_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error);
  write_done (self, written, error);
}

static void
stop_block_source (FilerFrameConnection *self)
{
  if (self->block_source != NULL)
    {
      g_source_destroy (self->block_source);
      g_clear_pointer (&self->block_source, g_source_unref);
    }
}

static gboolean write_block_cb (GObject  *stream,
                                gpointer  user_data);

/* Under TLS a write takes one record (16 KiB) at a time: the block goes
 * out in a loop of non-blocking writes while the socket takes them, and
 * only waits in the main loop when it is full. */
static void
write_block (FilerFrameConnection *self)
{
  g_autoptr(FilerFrameConnection) hold = g_object_ref (self);
  GPollableOutputStream *output = G_POLLABLE_OUTPUT_STREAM (self->output);

  while (self->block_written < self->block_size)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (output,
                                                             self->write_block + self->block_written,
                                                             self->block_size - self->block_written,
                                                             self->cancellable, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (self->block_source == NULL)
            {
              self->block_source = g_pollable_output_stream_create_source (output, self->cancellable);
              g_source_set_callback (self->block_source, G_SOURCE_FUNC (write_block_cb), self, NULL);
              g_source_attach (self->block_source, g_main_context_get_thread_default ());
            }
          return;
        }

      if (n < 0)
        {
          stop_block_source (self);
          write_done (self, FALSE, error);
          return;
        }

      self->block_written += n;
    }

  stop_block_source (self);
  write_done (self, TRUE, NULL);
}

static gboolean
write_block_cb (GObject  *stream,
                gpointer  user_data)
{
  write_block (user_data);
  return G_SOURCE_CONTINUE;   /* write_block() destroys the source when done */
}

/* TLS makes a record of every vector it is given: a frame's small
 * header would be a record of its own, and a 32 KiB chunk two records of
 * 16 KiB (half the records and system calls of both sides are the
 * headers). Copied into one block, the batch goes out as full records. */
static gboolean
coalesce (FilerFrameConnection *self,
          guint                 n_vectors)
{
  gsize total = 0;
  gsize at = 0;

  if (!filer_tls_is_tls_stream (self->stream) || !G_IS_POLLABLE_OUTPUT_STREAM (self->output))
    return FALSE;

  for (guint i = 0; i < n_vectors; i++)
    total += self->write_vectors[i].size;

  /* One block for the connection's life, grown to the largest batch
   * (at most WRITE_BATCH_VECTORS / 2 frames): no allocation per batch. */
  if (total > self->block_capacity)
    {
      g_free (self->write_block);
      self->write_block = g_malloc (total);
      self->block_capacity = total;
    }
  for (guint i = 0; i < n_vectors; i++)
    {
      memcpy (self->write_block + at, self->write_vectors[i].buffer, self->write_vectors[i].size);
      at += self->write_vectors[i].size;
    }

  self->block_size = total;
  self->block_written = 0;
  return TRUE;
}

/* Sends as many queued frames as fit in one writev(): a sender that keeps
 * several chunks queued pays one system call for all of them. */
static void
write_next (FilerFrameConnection *self)
{
  guint n_vectors = 0;

  if (self->writing || self->closed)
    return;

  if (g_queue_is_empty (&self->write_queue))
    {
      if (self->closing)
        close_stream (self);
      return;
    }

  g_assert (self->n_writing == 0);

  for (GList *l = self->write_queue.head;
       l != NULL && n_vectors + 2 <= WRITE_BATCH_VECTORS;
       l = l->next)
    {
      PendingWrite *write = l->data;
      GOutputVector *vector = &self->write_vectors[n_vectors];

      vector->buffer = g_bytes_get_data (write->header, &vector->size);
      n_vectors++;

      if (g_bytes_get_size (write->content) > 0)
        {
          vector++;
          vector->buffer = g_bytes_get_data (write->content, &vector->size);
          n_vectors++;
        }

      self->n_writing++;
    }

  self->writing = TRUE;
  if (coalesce (self, n_vectors))
    {
      write_block (self);
      return;
    }

  g_output_stream_writev_all_async (self->output,
                                    self->write_vectors,
                                    n_vectors,
                                    G_PRIORITY_DEFAULT,
                                    self->cancellable,
                                    write_cb,
                                    g_object_ref (self));
}

static gboolean
flush_cb (gpointer user_data)
{
  FilerFrameConnection *self = user_data;

  self->flush_source = 0;
  write_next (self);
  return G_SOURCE_REMOVE;
}

static void
enqueue (FilerFrameConnection *self,
         FilerFrame           *frame,
         GTask                *task)
{
  g_autoptr(GError) error = NULL;
  GBytes *header;
  PendingWrite *write;

  if (self->closed || self->closing)
    {
      if (task != NULL)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                                 "The connection is closed");
      return;
    }

  if (!(header = filer_frame_encode_header (frame, &error)))
    {
      if (task != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_critical ("Cannot send frame: %s", error->message);
      return;
    }

  write = g_new0 (PendingWrite, 1);
  write->header = header;
  write->content = g_bytes_ref (filer_frame_get_content (frame));
  write->task = task ? g_object_ref (task) : NULL;

  self->queued_bytes += g_bytes_get_size (write->header) + g_bytes_get_size (write->content);
  g_queue_push_tail (&self->write_queue, write);

  /* Under TLS the frames a handler sends in one go (a reader's block of
   * chunks) go out together, as full records, once it returns. */
  if (filer_tls_is_tls_stream (self->stream))
    {
      if (self->flush_source == 0)
        self->flush_source = g_idle_add_full (G_PRIORITY_DEFAULT, flush_cb, self, NULL);   /* as deliver_source */
      return;
    }

  write_next (self);
}

/**
 * filer_frame_connection_send:
 * @self: a connection
 * @frame: the frame to send
 *
 * Queues @frame. Failures surface as ::closed.
 */
void
filer_frame_connection_send (FilerFrameConnection *self,
                             FilerFrame           *frame)
{
  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));
  g_return_if_fail (frame != NULL);

  enqueue (self, frame, NULL);
}

/**
 * filer_frame_connection_send_async:
 * @self: a connection
 * @frame: the frame to send
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the frame is written to the stream
 * @user_data: data for @callback
 *
 * Queues @frame and calls back when it has been written, so that a
 * sender that waits for it never has more than it chooses in flight.
 */
void
filer_frame_connection_send_async (FilerFrameConnection *self,
                                   FilerFrame           *frame,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));
  g_return_if_fail (frame != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_frame_connection_send_async);

  enqueue (self, frame, task);
}

gboolean
filer_frame_connection_send_finish (FilerFrameConnection  *self,
                                    GAsyncResult          *result,
                                    GError               **error)
{
  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Closing */

static void
emit_closed (FilerFrameConnection *self)
{
  g_autoptr(GError) error = g_steal_pointer (&self->close_error);

  if (self->closed)
    return;

  self->closed = TRUE;
  self->closing = FALSE;
  g_signal_emit (self, signals[CLOSED], 0, error);
}

static void
close_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(FilerFrameConnection) self = user_data;

  /* The stream is gone whatever close says. */
  g_io_stream_close_finish (G_IO_STREAM (object), result, NULL);
  emit_closed (self);
}

static void
close_stream (FilerFrameConnection *self)
{
  /* Stop the read in flight; the write queue is empty by now. */
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close_async (self->stream,
                           G_PRIORITY_DEFAULT,
                           NULL,
                           close_cb,
                           g_object_ref (self));
}

/* Flushes what is queued, then closes the stream and emits ::closed
 * with @error (taken). If a write already failed, the queue is empty and
 * the stream is closed at once. */
static void
begin_closing (FilerFrameConnection *self,
               GError               *error)
{
  if (self->closed || self->closing)
    {
      g_clear_error (&error);
      return;
    }

  self->closing = TRUE;
  g_clear_error (&self->close_error);
  self->close_error = error;

  if (!self->writing)
    write_next (self);
}

/**
 * filer_frame_connection_close:
 * @self: a connection
 *
 * Sends what is queued, then closes the stream. ::closed follows with
 * %NULL.
 */
void
filer_frame_connection_close (FilerFrameConnection *self)
{
  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));

  begin_closing (self, NULL);
}

/**
 * filer_frame_connection_close_with_error:
 * @self: a connection
 * @code: a short machine-readable reason, e.g. "protocol"
 * @message: a human-readable explanation
 *
 * Sends an error frame after what is queued, then closes.
 */
void
filer_frame_connection_close_with_error (FilerFrameConnection *self,
                                         const char           *code,
                                         const char           *message)
{
  g_autoptr(FilerFrame) frame = NULL;

  g_return_if_fail (FILER_IS_FRAME_CONNECTION (self));
  g_return_if_fail (code != NULL);

  if (self->closed || self->closing)
    return;

  frame = filer_frame_new ("error");
  filer_frame_set (frame, "code", code);
  filer_frame_set (frame, "message", message ? message : "");
  enqueue (self, frame, NULL);

  begin_closing (self, NULL);
}
