/* filer-tls-server-stream.c: a listener's TLS 1.3 on GnuTLS, no thread
 *
 * glib-networking runs every handshake in a worker thread of GTask's
 * small shared pool, and the thread blocks while it waits for the peer.
 * A stranger who sends a whole ClientHello and then nothing holds one
 * thread for the handshake's whole timeout; a few dozen of them, from
 * any number of addresses, stall every other handshake (and every other
 * use of the pool) for as long as they keep coming. Here the listener's
 * side of TCP runs GnuTLS itself, non-blocking, on the caller's main
 * context: a stalled stranger costs a socket and a session, never a
 * thread, and its handshake waits on the socket like any other source.
 *
 * Transport: GnuTLS pulls from a FilerReadAheadStream (its small reads
 * come from memory) and pushes into `out`, a buffer of ciphertext that is
 * written to the socket at once and, for what the socket does not take,
 * from a G_IO_OUT source. A write is accepted only when `out` is empty,
 * so the buffer holds at most one write's records (WRITE_MAX). Closing
 * sends close_notify; g_io_stream_close_async() waits (at most
 * CLOSE_LINGER_MS) for `out` to drain first, so what was written before a
 * close is not lost.
 *
 * The peer's certificate is checked in verify_cb, which GnuTLS calls
 * after the peer's CertificateVerify (so the peer holds the key): the id
 * its public key makes is the peer's id (filer-tls.c checks it against an
 * expected one). Only TLS 1.3 is offered; a client certificate is
 * required; no session tickets are issued.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "filer-read-ahead-stream-private.h"
#include "filer-socket.h"
#include "filer-tls-server-stream-private.h"

#define PRIORITIES      "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define WRITE_MAX       (64 * 1024)   /* plaintext one write takes: four records */
#define READ_LOOPS_MAX  64            /* non-data records handled in one read */
#define CLOSE_LINGER_MS 5000

typedef struct _FilerTlsServerInput FilerTlsServerInput;
typedef struct _FilerTlsServerOutput FilerTlsServerOutput;

struct _FilerTlsServerStream
{
  GIOStream              parent_instance;

  GIOStream             *base;          /* the read-ahead stream over the connection */
  GSocket               *socket;
  GPollableInputStream  *base_input;
  GPollableOutputStream *base_output;
  FilerTlsServerInput   *input;
  FilerTlsServerOutput  *output;
  GMainContext          *context;       /* where the flushing source runs */

  gnutls_session_t       session;
  char                  *peer_id;       /* proven by the key, once verify_cb ran */
  GError                *verify_error;  /* why verify_cb refused */
  GError                *transport_error;
  GError                *fatal_error;   /* TLS failed: every later read and write too */
  gboolean               handshaken;
  gboolean               closed;

  GByteArray            *out;           /* ciphertext the socket has not taken */
  gsize                  out_sent;
  GSource               *flush_source;

  GTask                 *task;          /* the handshake or the close that waits */
  GSource               *wait_source;
  GSource               *linger_source;
};

enum {
  PROP_0,
  PROP_BASE_IO_STREAM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ------------------------------------------------------------------ */
/* The halves: each points back at the stream, which owns them         */

struct _FilerTlsServerInput
{
  GInputStream          parent_instance;
  FilerTlsServerStream *stream;   /* NULL once the stream is gone */
};

struct _FilerTlsServerOutput
{
  GOutputStream         parent_instance;
  FilerTlsServerStream *stream;
};

#define FILER_TYPE_TLS_SERVER_INPUT (filer_tls_server_input_get_type ())
G_DECLARE_FINAL_TYPE (FilerTlsServerInput, filer_tls_server_input, FILER, TLS_SERVER_INPUT, GInputStream)
#define FILER_TYPE_TLS_SERVER_OUTPUT (filer_tls_server_output_get_type ())
G_DECLARE_FINAL_TYPE (FilerTlsServerOutput, filer_tls_server_output, FILER, TLS_SERVER_OUTPUT, GOutputStream)

static void filer_tls_server_input_pollable_init (GPollableInputStreamInterface *iface);
static void filer_tls_server_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FilerTlsServerInput, filer_tls_server_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      filer_tls_server_input_pollable_init))
G_DEFINE_FINAL_TYPE_WITH_CODE (FilerTlsServerOutput, filer_tls_server_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      filer_tls_server_output_pollable_init))
G_DEFINE_FINAL_TYPE (FilerTlsServerStream, filer_tls_server_stream, G_TYPE_IO_STREAM)

/* ------------------------------------------------------------------ */
/* Transport                                                           */

static ssize_t
pull_cb (gnutls_transport_ptr_t  ptr,
         void                   *data,
         size_t                  size)
{
  FilerTlsServerStream *self = ptr;
  GError *error = NULL;
  gssize n;

  n = g_pollable_input_stream_read_nonblocking (self->base_input, data, size, NULL, &error);
  if (n >= 0)
    return n;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_error_free (error);
      gnutls_transport_set_errno (self->session, EAGAIN);
      return -1;
    }

  g_clear_error (&self->transport_error);
  self->transport_error = error;
  gnutls_transport_set_errno (self->session, ECONNRESET);
  return -1;
}

static int
pull_timeout_cb (gnutls_transport_ptr_t ptr,
                 unsigned int           ms)
{
  FilerTlsServerStream *self = ptr;

  /* Never waits: the caller's main loop does. */
  return g_pollable_input_stream_is_readable (self->base_input) ? 1 : 0;
}

static ssize_t
push_cb (gnutls_transport_ptr_t  ptr,
         const void             *data,
         size_t                  size)
{
  FilerTlsServerStream *self = ptr;

  if (self->out == NULL)
    self->out = g_byte_array_sized_new (MIN (size, WRITE_MAX + 1024));
  g_byte_array_append (self->out, data, size);
  return size;
}

/* Writes what the socket takes of `out`. FALSE (and transport_error) if
 * the connection failed; TRUE with `out` still set if the socket is full. */
static gboolean
flush_out (FilerTlsServerStream *self)
{
  while (self->out != NULL && self->out_sent < self->out->len)
    {
      GError *error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (self->base_output,
                                                             self->out->data + self->out_sent,
                                                             self->out->len - self->out_sent,
                                                             NULL, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_error_free (error);
              return TRUE;
            }
          g_clear_error (&self->transport_error);
          self->transport_error = error;
          return FALSE;
        }
      self->out_sent += n;
    }

  /* Given back once sent: thousands of idle clients hold no buffer. */
  g_clear_pointer (&self->out, g_byte_array_unref);
  self->out_sent = 0;
  return TRUE;
}

static gboolean
flush_source_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  FilerTlsServerStream *self = user_data;

  if (flush_out (self) && self->out != NULL)
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&self->flush_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* What a write left in `out` goes out when the socket has room, whether
 * or not anyone writes again. */
static void
keep_flushing (FilerTlsServerStream *self)
{
  if (self->out == NULL || self->flush_source != NULL || self->closed || g_socket_is_closed (self->socket))
    return;

  self->flush_source = g_socket_create_source (self->socket, G_IO_OUT, NULL);
  g_source_set_callback (self->flush_source, G_SOURCE_FUNC (flush_source_cb), self, NULL);
  g_source_attach (self->flush_source, self->context);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static GError *
error_for (FilerTlsServerStream *self,
           int                   rv)
{
  if (self->verify_error != NULL)
    return g_error_copy (self->verify_error);
  if (self->transport_error != NULL)
    return g_error_copy (self->transport_error);

  switch (rv)
    {
    case GNUTLS_E_PREMATURE_TERMINATION:
      return g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_EOF, "The TLS connection was closed unexpectedly");
    case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
    case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
    case GNUTLS_E_UNEXPECTED_PACKET:
      return g_error_new (G_TLS_ERROR, G_TLS_ERROR_NOT_TLS, "The peer does not speak TLS 1.3 (%s)",
                          gnutls_strerror (rv));
    case GNUTLS_E_NO_CERTIFICATE_FOUND:
    case GNUTLS_E_CERTIFICATE_REQUIRED:
      return g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                                  "The peer presented no device certificate");
    case GNUTLS_E_CERTIFICATE_ERROR:
    case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
      return g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "The peer's certificate was refused");
    default:
      return g_error_new (G_TLS_ERROR, self->handshaken ? G_TLS_ERROR_MISC : G_TLS_ERROR_HANDSHAKE,
                          "TLS: %s", gnutls_strerror (rv));
    }
}

static gboolean
closed_error (FilerTlsServerStream  *self,
              GError               **error)
{
  /* The connection below may be closed by whoever owns it. */
  if (self == NULL || self->closed || g_socket_is_closed (self->socket))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The TLS connection is closed");
      return TRUE;
    }
  if (!self->handshaken)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING, "The TLS handshake has not finished");
      return TRUE;
    }
  if (self->fatal_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->fatal_error));
      return TRUE;
    }
  return FALSE;
}

static void
set_fatal (FilerTlsServerStream *self,
           int                   rv)
{
  if (self->fatal_error == NULL)
    self->fatal_error = error_for (self, rv);
}

/* ------------------------------------------------------------------ */
/* Reading and writing                                                 */

static gssize
tls_read (FilerTlsServerStream  *self,
          void                  *buffer,
          gsize                  count,
          GError               **error)
{
  if (closed_error (self, error))
    return -1;
  if (count == 0)
    return 0;

  for (guint i = 0; i < READ_LOOPS_MAX; i++)
    {
      ssize_t rv = gnutls_record_recv (self->session, buffer, count);

      /* Reading may answer the peer (a KeyUpdate). */
      if (!flush_out (self))
        set_fatal (self, GNUTLS_E_PUSH_ERROR);
      keep_flushing (self);

      if (rv >= 0)
        return rv;
      if (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED)
        {
          if (self->transport_error != NULL)
            {
              set_fatal (self, rv);
              break;
            }
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No TLS record yet");
          return -1;
        }
      if (gnutls_error_is_fatal (rv))
        {
          set_fatal (self, rv);
          break;
        }
      /* A warning alert or the like: the next record. */
    }

  if (self->fatal_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->fatal_error));
      return -1;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No TLS data yet");
  return -1;
}

static gssize
tls_write (FilerTlsServerStream  *self,
           const void            *buffer,
           gsize                  count,
           GError               **error)
{
  gsize done = 0;

  if (closed_error (self, error))
    return -1;

  if (!flush_out (self))
    {
      set_fatal (self, GNUTLS_E_PUSH_ERROR);
      g_propagate_error (error, g_error_copy (self->fatal_error));
      return -1;
    }
  if (self->out != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The socket is full");
      return -1;
    }

  while (done < count && done < WRITE_MAX)
    {
      ssize_t rv = gnutls_record_send (self->session, (const guint8 *)buffer + done,
                                       MIN (count - done, WRITE_MAX - done));

      if (rv < 0)
        {
          /* push_cb never blocks: this is fatal. */
          set_fatal (self, rv);
          if (done > 0)
            break;
          g_propagate_error (error, g_error_copy (self->fatal_error));
          return -1;
        }
      done += rv;
    }

  /* Taken: a failure to send shows on the next call. */
  if (!flush_out (self))
    set_fatal (self, GNUTLS_E_PUSH_ERROR);
  keep_flushing (self);
  return done;
}

static GSource *
ready_source (GObject      *stream,
              GCancellable *cancellable)
{
  GSource *source = g_pollable_source_new_full (stream, NULL, cancellable);

  g_source_set_ready_time (source, 0);
  return source;
}

static gssize
filer_tls_server_input_read_nonblocking (GPollableInputStream  *stream,
                                         void                  *buffer,
                                         gsize                  count,
                                         GError               **error)
{
  return tls_read (FILER_TLS_SERVER_INPUT (stream)->stream, buffer, count, error);
}

static gboolean
filer_tls_server_input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static gboolean
filer_tls_server_input_is_readable (GPollableInputStream *stream)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_INPUT (stream)->stream;

  /* A closed or failed stream is "readable": the read tells why. */
  if (self == NULL || self->closed || g_socket_is_closed (self->socket) || !self->handshaken ||
      self->fatal_error != NULL)
    return TRUE;

  return gnutls_record_check_pending (self->session) > 0 ||
         g_pollable_input_stream_is_readable (self->base_input);
}

static GSource *
filer_tls_server_input_create_source (GPollableInputStream *stream,
                                      GCancellable         *cancellable)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_INPUT (stream)->stream;
  g_autoptr(GSource) base_source = NULL;

  /* Records GnuTLS decrypted already, or an error to tell: ready now. */
  if (self == NULL || self->closed || g_socket_is_closed (self->socket) || !self->handshaken ||
      self->fatal_error != NULL || gnutls_record_check_pending (self->session) > 0)
    return ready_source (G_OBJECT (stream), cancellable);

  base_source = g_pollable_input_stream_create_source (self->base_input, NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static void
filer_tls_server_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = filer_tls_server_input_can_poll;
  iface->is_readable = filer_tls_server_input_is_readable;
  iface->create_source = filer_tls_server_input_create_source;
  iface->read_nonblocking = filer_tls_server_input_read_nonblocking;
}

/* A blocking read, for completeness: waits on the socket itself. */
static gssize
filer_tls_server_input_read (GInputStream  *stream,
                             void          *buffer,
                             gsize          count,
                             GCancellable  *cancellable,
                             GError       **error)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_INPUT (stream)->stream;

  for (;;)
    {
      GError *local_error = NULL;
      gssize n = tls_read (self, buffer, count, &local_error);

      if (n >= 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (local_error != NULL)
            g_propagate_error (error, local_error);
          return n;
        }
      g_error_free (local_error);
      if (!g_socket_condition_wait (self->socket, G_IO_IN, cancellable, error))
        return -1;
    }
}

static gboolean
filer_tls_server_input_close (GInputStream  *stream,
                              GCancellable  *cancellable,
                              GError       **error)
{
  return TRUE;   /* the stream that owns this half closes the connection */
}

static void
filer_tls_server_input_class_init (FilerTlsServerInputClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  input_class->read_fn = filer_tls_server_input_read;
  input_class->close_fn = filer_tls_server_input_close;
}

static void
filer_tls_server_input_init (FilerTlsServerInput *self)
{
}

static gssize
filer_tls_server_output_write_nonblocking (GPollableOutputStream  *stream,
                                           const void             *buffer,
                                           gsize                   count,
                                           GError                **error)
{
  return tls_write (FILER_TLS_SERVER_OUTPUT (stream)->stream, buffer, count, error);
}

static gboolean
filer_tls_server_output_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static gboolean
filer_tls_server_output_is_writable (GPollableOutputStream *stream)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_OUTPUT (stream)->stream;

  if (self == NULL || self->closed || g_socket_is_closed (self->socket) || !self->handshaken ||
      self->fatal_error != NULL)
    return TRUE;

  return self->out == NULL || g_pollable_output_stream_is_writable (self->base_output);
}

static GSource *
filer_tls_server_output_create_source (GPollableOutputStream *stream,
                                       GCancellable          *cancellable)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_OUTPUT (stream)->stream;
  g_autoptr(GSource) base_source = NULL;

  if (self == NULL || self->closed || g_socket_is_closed (self->socket) || !self->handshaken ||
      self->fatal_error != NULL || self->out == NULL)
    return ready_source (G_OBJECT (stream), cancellable);

  base_source = g_pollable_output_stream_create_source (self->base_output, NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static void
filer_tls_server_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = filer_tls_server_output_can_poll;
  iface->is_writable = filer_tls_server_output_is_writable;
  iface->create_source = filer_tls_server_output_create_source;
  iface->write_nonblocking = filer_tls_server_output_write_nonblocking;
}

static gssize
filer_tls_server_output_write (GOutputStream  *stream,
                               const void     *buffer,
                               gsize           count,
                               GCancellable   *cancellable,
                               GError        **error)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_OUTPUT (stream)->stream;

  for (;;)
    {
      GError *local_error = NULL;
      gssize n = tls_write (self, buffer, count, &local_error);

      if (n >= 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (local_error != NULL)
            g_propagate_error (error, local_error);
          return n;
        }
      g_error_free (local_error);
      if (!g_socket_condition_wait (self->socket, G_IO_OUT, cancellable, error))
        return -1;
    }
}

static gboolean
filer_tls_server_output_close (GOutputStream  *stream,
                               GCancellable   *cancellable,
                               GError        **error)
{
  return TRUE;
}

static void
filer_tls_server_output_class_init (FilerTlsServerOutputClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  /* No flush_fn: `out` drains by itself (keep_flushing()). */
  output_class->write_fn = filer_tls_server_output_write;
  output_class->close_fn = filer_tls_server_output_close;
}

static void
filer_tls_server_output_init (FilerTlsServerOutput *self)
{
}

/* ------------------------------------------------------------------ */
/* The handshake                                                       */

static int
verify_cb (gnutls_session_t session)
{
  FilerTlsServerStream *self = gnutls_session_get_ptr (session);
  char *id = filer_identity_id_for_session_peer (session);

  if (id == NULL)
    {
      g_clear_error (&self->verify_error);
      self->verify_error = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                                                "The peer presented no device certificate");
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  g_free (self->peer_id);
  self->peer_id = id;
  return 0;
}

static void handshake_step (FilerTlsServerStream *self);

static gboolean
handshake_ready_cb (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  FilerTlsServerStream *self = user_data;

  g_clear_pointer (&self->wait_source, g_source_unref);
  handshake_step (self);
  return G_SOURCE_REMOVE;
}

static void
handshake_return (FilerTlsServerStream *self,
                  GError               *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  filer_clear_source (&self->wait_source);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Runs the handshake as far as the bytes that are in allow; then waits
 * for the socket (or the caller's cancellable) to say there is more. */
static void
handshake_step (FilerTlsServerStream *self)
{
  GCancellable *cancellable = g_task_get_cancellable (self->task);
  GError *error = NULL;
  GIOCondition condition;
  int rv;

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      handshake_return (self, error);
      return;
    }
  if (g_socket_is_closed (self->socket))
    {
      handshake_return (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "The connection was closed"));
      return;
    }

  /* Warning alerts and the like are skipped, a bounded number of them. */
  for (guint i = 0; ; i++)
    {
      rv = gnutls_handshake (self->session);
      if (rv >= 0 || rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED || gnutls_error_is_fatal (rv))
        break;
      if (i == READ_LOOPS_MAX)
        {
          rv = GNUTLS_E_UNEXPECTED_PACKET;
          break;
        }
    }

  if (rv < 0 && gnutls_error_is_fatal (rv) && self->transport_error == NULL)
    gnutls_alert_send_appropriate (self->session, rv);
  if (!flush_out (self) && rv >= 0)
    rv = GNUTLS_E_PUSH_ERROR;

  if (rv == 0)
    {
      if (self->peer_id == NULL)
        {
          handshake_return (self, g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                                                       "The peer presented no device certificate"));
          return;
        }
      self->handshaken = TRUE;
      keep_flushing (self);
      handshake_return (self, NULL);
      return;
    }

  if (rv != GNUTLS_E_AGAIN && rv != GNUTLS_E_INTERRUPTED)
    {
      handshake_return (self, error_for (self, rv));
      return;
    }
  if (self->transport_error != NULL)
    {
      handshake_return (self, g_error_copy (self->transport_error));
      return;
    }

  /* GnuTLS waits to read (push_cb never blocks); a full socket waits too. */
  condition = G_IO_IN | (self->out != NULL ? G_IO_OUT : 0);
  self->wait_source = g_socket_create_source (self->socket, condition, cancellable);
  g_source_set_callback (self->wait_source, G_SOURCE_FUNC (handshake_ready_cb), self, NULL);
  g_source_attach (self->wait_source, g_task_get_context (self->task));
}

/**
 * filer_tls_server_stream_handshake_async:
 * @self: a new stream
 * @cancellable: (nullable): ends the handshake (the caller's timeout)
 * @callback: called when it is done
 * @user_data: for @callback
 *
 * Runs the listener's side of the handshake on the thread-default main
 * context; afterwards filer_tls_server_stream_get_peer_id() is the id the
 * peer's key proved.
 */
void
filer_tls_server_stream_handshake_async (FilerTlsServerStream *self,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data)
{
  g_return_if_fail (FILER_IS_TLS_SERVER_STREAM (self));
  g_return_if_fail (self->task == NULL && !self->handshaken && !self->closed);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, filer_tls_server_stream_handshake_async);
  handshake_step (self);
}

gboolean
filer_tls_server_stream_handshake_finish (FilerTlsServerStream  *self,
                                          GAsyncResult          *result,
                                          GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
filer_tls_server_stream_get_peer_id (FilerTlsServerStream *self)
{
  g_return_val_if_fail (FILER_IS_TLS_SERVER_STREAM (self), NULL);

  return self->handshaken ? self->peer_id : NULL;
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */

/* A handshake still running ends with the stream. */
static void
abort_handshake (FilerTlsServerStream *self)
{
  if (self->task == NULL || g_task_get_source_tag (self->task) != filer_tls_server_stream_handshake_async)
    return;

  handshake_return (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "The TLS connection was closed"));
}

/* close_notify, and what of `out` the socket takes now. */
static void
say_goodbye (FilerTlsServerStream *self)
{
  if (self->handshaken && self->fatal_error == NULL && self->transport_error == NULL)
    gnutls_bye (self->session, GNUTLS_SHUT_WR);   /* push_cb never blocks */
  flush_out (self);
}

static gboolean
filer_tls_server_stream_close (GIOStream     *stream,
                               GCancellable  *cancellable,
                               GError       **error)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_STREAM (stream);

  abort_handshake (self);
  if (!self->closed)
    say_goodbye (self);
  self->closed = TRUE;
  filer_clear_source (&self->flush_source);
  filer_clear_source (&self->wait_source);
  filer_clear_source (&self->linger_source);

  return g_io_stream_close (self->base, cancellable, error);
}

static void
close_done (FilerTlsServerStream *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);
  GError *error = NULL;

  if (filer_tls_server_stream_close (G_IO_STREAM (self), NULL, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
close_drained_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  FilerTlsServerStream *self = user_data;

  if (flush_out (self) && self->out != NULL)
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&self->wait_source, g_source_unref);
  close_done (self);
  return G_SOURCE_REMOVE;
}

static gboolean
close_linger_cb (gpointer user_data)
{
  FilerTlsServerStream *self = user_data;

  g_clear_pointer (&self->linger_source, g_source_unref);
  g_debug ("tls: closing with %u bytes the peer never read",
           self->out != NULL ? self->out->len - (guint)self->out_sent : 0);
  close_done (self);
  return G_SOURCE_REMOVE;
}

/* Never in a thread: what is still to send goes first, for a while. */
static void
filer_tls_server_stream_close_async (GIOStream           *stream,
                                     int                  io_priority,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_STREAM (stream);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, filer_tls_server_stream_close_async);

  abort_handshake (self);
  if (self->task != NULL)
    {
      /* GIOStream lets one close run at a time. */
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "The TLS connection is closing");
      return;
    }

  if (!self->closed)
    {
      say_goodbye (self);
      filer_clear_source (&self->flush_source);
    }

  self->task = g_steal_pointer (&task);
  if (self->closed || self->out == NULL || g_socket_is_closed (self->socket))
    {
      close_done (self);
      return;
    }

  self->wait_source = g_socket_create_source (self->socket, G_IO_OUT, NULL);
  g_source_set_callback (self->wait_source, G_SOURCE_FUNC (close_drained_cb), self, NULL);
  g_source_attach (self->wait_source, g_task_get_context (self->task));
  self->linger_source = g_timeout_source_new (CLOSE_LINGER_MS);
  g_source_set_callback (self->linger_source, close_linger_cb, self, NULL);
  g_source_attach (self->linger_source, g_task_get_context (self->task));
}

static gboolean
filer_tls_server_stream_close_finish (GIOStream     *stream,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* The stream                                                          */

static GInputStream *
filer_tls_server_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (FILER_TLS_SERVER_STREAM (stream)->input);
}

static GOutputStream *
filer_tls_server_stream_get_output_stream (GIOStream *stream)
{
  return G_OUTPUT_STREAM (FILER_TLS_SERVER_STREAM (stream)->output);
}

static void
filer_tls_server_stream_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_STREAM (object);

  switch (prop_id)
    {
    case PROP_BASE_IO_STREAM:
      g_value_set_object (value, self->base);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_tls_server_stream_finalize (GObject *object)
{
  FilerTlsServerStream *self = FILER_TLS_SERVER_STREAM (object);

  /* GIOStream's dispose closed us; the sources went with that. */
  filer_clear_source (&self->flush_source);
  filer_clear_source (&self->wait_source);
  filer_clear_source (&self->linger_source);
  self->input->stream = NULL;
  self->output->stream = NULL;
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  if (self->session != NULL)
    gnutls_deinit (self->session);
  g_clear_pointer (&self->out, g_byte_array_unref);
  g_clear_error (&self->verify_error);
  g_clear_error (&self->transport_error);
  g_clear_error (&self->fatal_error);
  g_free (self->peer_id);
  g_clear_object (&self->base_input);
  g_clear_object (&self->base_output);
  g_clear_object (&self->socket);
  g_clear_object (&self->base);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (filer_tls_server_stream_parent_class)->finalize (object);
}

static void
filer_tls_server_stream_class_init (FilerTlsServerStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = filer_tls_server_stream_finalize;
  object_class->get_property = filer_tls_server_stream_get_property;
  stream_class->get_input_stream = filer_tls_server_stream_get_input_stream;
  stream_class->get_output_stream = filer_tls_server_stream_get_output_stream;
  stream_class->close_fn = filer_tls_server_stream_close;
  stream_class->close_async = filer_tls_server_stream_close_async;
  stream_class->close_finish = filer_tls_server_stream_close_finish;

  /* As GTlsConnection's: what filer_transfer_enable_keepalive() walks down. */
  properties[PROP_BASE_IO_STREAM] =
    g_param_spec_object ("base-io-stream", NULL, NULL, G_TYPE_IO_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_tls_server_stream_init (FilerTlsServerStream *self)
{
}

/**
 * filer_tls_server_stream_new:
 * @base: a TCP connection a listener accepted
 * @identity: our device key
 * @error: where a failure goes
 *
 * Returns: (transfer full) (nullable): a stream to handshake on
 *   (filer_tls_server_stream_handshake_async()), or %NULL with @error set
 */
FilerTlsServerStream *
filer_tls_server_stream_new (GSocketConnection  *base,
                             FilerIdentity      *identity,
                             GError            **error)
{
  g_autoptr(FilerTlsServerStream) self = NULL;
  gnutls_certificate_credentials_t credentials;
  int rv;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);
  g_return_val_if_fail (FILER_IS_IDENTITY (identity), NULL);

  if (!(credentials = filer_identity_get_gnutls_credentials (identity, error)))
    return NULL;

  self = g_object_new (FILER_TYPE_TLS_SERVER_STREAM, NULL);
  self->base = filer_read_ahead_stream_new (base);
  self->socket = g_object_ref (g_socket_connection_get_socket (base));
  self->base_input = g_object_ref (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->base)));
  self->base_output = g_object_ref (G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (self->base)));
  self->context = g_main_context_ref_thread_default ();
  self->input = g_object_new (FILER_TYPE_TLS_SERVER_INPUT, NULL);
  self->input->stream = self;
  self->output = g_object_new (FILER_TYPE_TLS_SERVER_OUTPUT, NULL);
  self->output->stream = self;

  rv = gnutls_init (&self->session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS);
  if (rv == 0)
    rv = gnutls_priority_set_direct (self->session, PRIORITIES, NULL);
  if (rv == 0)
    rv = gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE, credentials);
  if (rv != 0)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, "TLS set-up failed: %s", gnutls_strerror (rv));
      return NULL;
    }

  gnutls_certificate_server_set_request (self->session, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_verify_function (self->session, verify_cb);
  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_pull_function (self->session, pull_cb);
  gnutls_transport_set_pull_timeout_function (self->session, pull_timeout_cb);
  gnutls_transport_set_push_function (self->session, push_cb);
  gnutls_handshake_set_timeout (self->session, 0);   /* filer-tls.c times it */

  return g_steal_pointer (&self);
}
