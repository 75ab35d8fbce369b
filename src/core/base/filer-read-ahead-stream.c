/* filer-read-ahead-stream.c: a TCP stream whose reads fill a buffer
 *
 * GnuTLS asks its transport for a record in two reads, the 5-byte header
 * and then the body, and glib-networking passes each straight to the
 * socket: two recv() and a poll() for every 16 KiB record, ~200,000 system
 * calls per GiB received. Under TLS the base stream is this one instead:
 * a read with nothing buffered asks the socket for up to READ_AHEAD_MAX
 * bytes (whatever has arrived), and later reads are served from memory
 * until it is empty. The output side is the base stream's own.
 *
 * The buffer costs only what the traffic needs: it starts at one TLS
 * record, doubles each time a read fills it (a transfer reaches
 * READ_AHEAD_MAX within a few reads) and is given back once emptied after
 * a small read, so a connection that only exchanges small messages, or
 * waits, holds none (thousands of discovery clients, or strangers stalled
 * in their handshake, would otherwise hold 256 KiB each).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-read-ahead-stream-private.h"

#define READ_AHEAD_MIN (16 * 1024 + 256)   /* a TLS record, its header and tag */
#define READ_AHEAD_MAX (256 * 1024)

/* ------------------------------------------------------------------ */
/* The input half                                                      */

#define FILER_TYPE_READ_AHEAD_INPUT (filer_read_ahead_input_get_type ())
G_DECLARE_FINAL_TYPE (FilerReadAheadInput, filer_read_ahead_input, FILER, READ_AHEAD_INPUT, GInputStream)

struct _FilerReadAheadInput
{
  GInputStream  parent_instance;

  GInputStream *base;      /* pollable */
  GSocket      *socket;    /* what base reads from */
  guint8       *buffer;    /* NULL until needed, and when given back */
  gsize         size;      /* of buffer, or of the next one */
  gsize         start;     /* buffer[start, end) not yet read */
  gsize         end;
};

static void filer_read_ahead_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FilerReadAheadInput, filer_read_ahead_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      filer_read_ahead_input_pollable_init))

static gssize
take (FilerReadAheadInput *self,
      void                *buffer,
      gsize                count)
{
  gsize n = MIN (count, self->end - self->start);

  memcpy (buffer, self->buffer + self->start, n);
  self->start += n;

  /* Emptied after a small read: the traffic is messages, not a stream. */
  if (self->start == self->end && self->end < READ_AHEAD_MIN / 4)
    {
      g_clear_pointer (&self->buffer, g_free);
      self->size = READ_AHEAD_MIN;
    }
  return n;
}

/* Serves @count bytes from the buffer, refilling it with one read of the
 * base stream first if it is empty; a read as large as the buffer goes
 * to the base stream directly. */
static gssize
read_ahead (FilerReadAheadInput  *self,
            void                 *buffer,
            gsize                 count,
            gboolean              blocking,
            GCancellable         *cancellable,
            GError              **error)
{
  gssize n;

  if (self->start < self->end)
    return take (self, buffer, count);

  if (count >= READ_AHEAD_MAX)
    return g_pollable_stream_read (self->base, buffer, count, blocking, cancellable, error);

  if (self->buffer == NULL)
    self->buffer = g_malloc (self->size);

  n = g_pollable_stream_read (self->base, self->buffer, self->size, blocking, cancellable, error);
  if (n <= 0)
    return n;

  self->start = 0;
  self->end = n;
  n = take (self, buffer, count);

  /* Filled: more was waiting. The next buffer is twice as big. */
  if (self->end == self->size && self->size < READ_AHEAD_MAX)
    {
      self->size = MIN (self->size * 2, READ_AHEAD_MAX);
      if (self->start == self->end)
        g_clear_pointer (&self->buffer, g_free);
      else
        {
          guint8 *bigger = g_malloc (self->size);

          memcpy (bigger, self->buffer + self->start, self->end - self->start);
          self->end -= self->start;
          self->start = 0;
          g_free (self->buffer);
          self->buffer = bigger;
        }
    }

  return n;
}

static gssize
filer_read_ahead_input_read (GInputStream  *stream,
                             void          *buffer,
                             gsize          count,
                             GCancellable  *cancellable,
                             GError       **error)
{
  return read_ahead (FILER_READ_AHEAD_INPUT (stream), buffer, count, TRUE, cancellable, error);
}

static gssize
filer_read_ahead_input_read_nonblocking (GPollableInputStream  *stream,
                                         void                  *buffer,
                                         gsize                  count,
                                         GError               **error)
{
  return read_ahead (FILER_READ_AHEAD_INPUT (stream), buffer, count, FALSE, NULL, error);
}

static gboolean
filer_read_ahead_input_can_poll (GPollableInputStream *stream)
{
  FilerReadAheadInput *self = FILER_READ_AHEAD_INPUT (stream);

  return g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (self->base));
}

static gboolean
filer_read_ahead_input_is_readable (GPollableInputStream *stream)
{
  FilerReadAheadInput *self = FILER_READ_AHEAD_INPUT (stream);

  return self->start < self->end ||
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

static GSource *
filer_read_ahead_input_create_source (GPollableInputStream *stream,
                                      GCancellable         *cancellable)
{
  FilerReadAheadInput *self = FILER_READ_AHEAD_INPUT (stream);
  g_autoptr(GSource) base_source = NULL;
  GSource *source;

  /* Bytes in the buffer: readable now, whatever the socket says. */
  if (self->start < self->end)
    {
      source = g_pollable_source_new_full (stream, NULL, cancellable);
      g_source_set_ready_time (source, 0);
      return source;
    }

  base_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static void
filer_read_ahead_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = filer_read_ahead_input_can_poll;
  iface->is_readable = filer_read_ahead_input_is_readable;
  iface->create_source = filer_read_ahead_input_create_source;
  iface->read_nonblocking = filer_read_ahead_input_read_nonblocking;
}

/* The stream that owns us closes the base; closing this half alone does
 * nothing (as with a GSocketConnection's halves). */
static gboolean
filer_read_ahead_input_close (GInputStream  *stream,
                              GCancellable  *cancellable,
                              GError       **error)
{
  return TRUE;
}

static void
filer_read_ahead_input_finalize (GObject *object)
{
  FilerReadAheadInput *self = FILER_READ_AHEAD_INPUT (object);

  g_clear_object (&self->base);
  g_clear_object (&self->socket);
  g_free (self->buffer);

  G_OBJECT_CLASS (filer_read_ahead_input_parent_class)->finalize (object);
}

static void
filer_read_ahead_input_class_init (FilerReadAheadInputClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = filer_read_ahead_input_finalize;
  input_class->read_fn = filer_read_ahead_input_read;
  input_class->close_fn = filer_read_ahead_input_close;
}

static void
filer_read_ahead_input_init (FilerReadAheadInput *self)
{
  self->size = READ_AHEAD_MIN;
}

/* ------------------------------------------------------------------ */
/* The stream                                                          */

struct _FilerReadAheadStream
{
  GIOStream            parent_instance;

  GIOStream           *base;
  FilerReadAheadInput *input;
};

G_DEFINE_FINAL_TYPE (FilerReadAheadStream, filer_read_ahead_stream, G_TYPE_IO_STREAM)

/* Named as GTlsConnection names its own, so that code looking for the
 * socket under a stack of streams finds it through this one too. */
enum {
  PROP_0,
  PROP_BASE_IO_STREAM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
filer_read_ahead_stream_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  FilerReadAheadStream *self = FILER_READ_AHEAD_STREAM (object);

  switch (prop_id)
    {
    case PROP_BASE_IO_STREAM:
      g_value_set_object (value, self->base);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GInputStream *
filer_read_ahead_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (FILER_READ_AHEAD_STREAM (stream)->input);
}

static GOutputStream *
filer_read_ahead_stream_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (FILER_READ_AHEAD_STREAM (stream)->base);
}

static gboolean
filer_read_ahead_stream_close (GIOStream     *stream,
                               GCancellable  *cancellable,
                               GError       **error)
{
  return g_io_stream_close (FILER_READ_AHEAD_STREAM (stream)->base, cancellable, error);
}

static void
filer_read_ahead_stream_finalize (GObject *object)
{
  FilerReadAheadStream *self = FILER_READ_AHEAD_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);

  G_OBJECT_CLASS (filer_read_ahead_stream_parent_class)->finalize (object);
}

static void
filer_read_ahead_stream_class_init (FilerReadAheadStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = filer_read_ahead_stream_finalize;
  object_class->get_property = filer_read_ahead_stream_get_property;
  stream_class->get_input_stream = filer_read_ahead_stream_get_input_stream;
  stream_class->get_output_stream = filer_read_ahead_stream_get_output_stream;
  stream_class->close_fn = filer_read_ahead_stream_close;

  properties[PROP_BASE_IO_STREAM] =
    g_param_spec_object ("base-io-stream", NULL, NULL, G_TYPE_IO_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_read_ahead_stream_init (FilerReadAheadStream *self)
{
}

/**
 * filer_read_ahead_stream_new:
 * @base: a TCP connection
 *
 * Returns: (transfer full): @base, with reads that fill a buffer
 */
GIOStream *
filer_read_ahead_stream_new (GSocketConnection *base)
{
  FilerReadAheadStream *self;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);

  self = g_object_new (FILER_TYPE_READ_AHEAD_STREAM, NULL);
  self->base = g_object_ref (G_IO_STREAM (base));
  self->input = g_object_new (FILER_TYPE_READ_AHEAD_INPUT, NULL);
  self->input->base = g_object_ref (g_io_stream_get_input_stream (G_IO_STREAM (base)));
  self->input->socket = g_object_ref (g_socket_connection_get_socket (base));
  return G_IO_STREAM (self);
}
