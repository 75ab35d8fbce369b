/* filer-tls.c: mutual TLS 1.3 between two device keys, over any GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "filer-read-ahead-stream-private.h"
#include "filer-tls-server-stream-private.h"
#include "filer-tls.h"

/* Both sides present their device certificate (filer-identity.c) and
 * require the other's. Certificates are self-signed, so GIO's validation
 * always reports an unknown issuer and asks ::accept-certificate; that is
 * where the only check that matters happens: the id the peer's public key
 * makes must be the one we meant to reach (a client always knows it; a
 * server that does not yet know who calls passes NULL and learns the id,
 * which is then proven by the key). After the handshake the id is checked
 * once more from the peer certificate the connection reports, and anything
 * below TLS 1.3 is refused.
 *
 * GIO's TLS comes from glib-networking (its GnuTLS backend on Debian),
 * which runs each handshake in a worker thread of GTask's pool. A
 * listener's side of TCP, which strangers reach, runs on GnuTLS directly
 * instead, on the main loop (filer-tls-server-stream.c): no stranger can
 * hold a thread. Both check the peer's key the same way. */

typedef struct
{
  char         *expected_peer_id;
  char         *peer_id;
  GCancellable *cancellable;     /* ours: the caller's, or the timeout */
  gulong        cancelled_id;
  GCancellable *caller_cancellable;
  GSource      *timeout;         /* in the caller's thread-default context */
  gboolean      timed_out;
} Handshake;

static void
clear_timeout (Handshake *handshake)
{
  if (handshake->timeout != NULL)
    g_source_destroy (handshake->timeout);
  g_clear_pointer (&handshake->timeout, g_source_unref);
}

static void
handshake_free (gpointer data)
{
  Handshake *handshake = data;

  clear_timeout (handshake);
  if (handshake->caller_cancellable != NULL)
    g_cancellable_disconnect (handshake->caller_cancellable, handshake->cancelled_id);
  g_clear_object (&handshake->caller_cancellable);
  g_clear_object (&handshake->cancellable);
  g_free (handshake->expected_peer_id);
  g_free (handshake->peer_id);
  g_free (handshake);
}

static gboolean
timeout_cb (gpointer user_data)
{
  Handshake *handshake = user_data;

  g_clear_pointer (&handshake->timeout, g_source_unref);
  handshake->timed_out = TRUE;
  g_cancellable_cancel (handshake->cancellable);
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled_cb (GCancellable *caller,
                     GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

/* A failed handshake closes the stream (and the one below it): the peer
 * learns at once, and a refused key never leaves a half-open connection. */
static void
fail (GTask     *task,
      GIOStream *connection,
      GError    *error)
{
  Handshake *handshake = g_task_get_task_data (task);

  if (handshake->timed_out)
    {
      g_clear_error (&error);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "The peer did not finish the TLS handshake in time");
    }
  g_io_stream_close_async (connection, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_task_return_error (task, error);
}

static gboolean
accept_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *peer_certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  Handshake *handshake = user_data;
  g_autofree char *id = filer_identity_id_for_certificate (peer_certificate);

  if (id == NULL)
    {
      g_debug ("tls: the peer's certificate cannot be read");
      return FALSE;
    }
  if (handshake->expected_peer_id != NULL && g_strcmp0 (id, handshake->expected_peer_id) != 0)
    {
      g_debug ("tls: the peer's key is %s, not %s", id, handshake->expected_peer_id);
      return FALSE;
    }

  g_free (handshake->peer_id);
  handshake->peer_id = g_steal_pointer (&id);
  return TRUE;
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GTlsConnection *connection = G_TLS_CONNECTION (object);
  Handshake *handshake = g_task_get_task_data (task);
  GTlsCertificate *peer_certificate;
  g_autofree char *id = NULL;
  GError *error = NULL;

  /* The handler points into the task's data: it goes with the handshake. */
  g_signal_handlers_disconnect_by_func (connection, accept_certificate_cb, handshake);

  clear_timeout (handshake);

  if (!g_tls_connection_handshake_finish (connection, result, &error))
    {
      fail (task, G_IO_STREAM (connection), error);
      return;
    }

  if (g_tls_connection_get_protocol_version (connection) != G_TLS_PROTOCOL_VERSION_TLS_1_3)
    {
      fail (task, G_IO_STREAM (connection), g_error_new (G_TLS_ERROR, G_TLS_ERROR_NOT_TLS,
                                                         "The peer does not speak TLS 1.3"));
      return;
    }

  peer_certificate = g_tls_connection_get_peer_certificate (connection);
  id = peer_certificate ? filer_identity_id_for_certificate (peer_certificate) : NULL;
  if (id == NULL || g_strcmp0 (id, handshake->peer_id) != 0)
    {
      fail (task, G_IO_STREAM (connection), g_error_new (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                                                         "The peer presented no device certificate"));
      return;
    }

  g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
}

static void
server_stream_handshake_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FilerTlsServerStream *stream = FILER_TLS_SERVER_STREAM (object);
  Handshake *handshake = g_task_get_task_data (task);
  const char *expected = handshake->expected_peer_id;
  GError *error = NULL;
  const char *id;

  clear_timeout (handshake);

  if (!filer_tls_server_stream_handshake_finish (stream, result, &error))
    {
      fail (task, G_IO_STREAM (stream), error);
      return;
    }

  id = filer_tls_server_stream_get_peer_id (stream);
  if (expected != NULL && g_strcmp0 (id, expected) != 0)
    {
      fail (task, G_IO_STREAM (stream), g_error_new (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                                                     "The peer's key is device %s, not %s", id, expected));
      return;
    }

  handshake->peer_id = g_strdup (id);
  g_task_return_pointer (task, g_object_ref (stream), g_object_unref);
}

/* The caller's context, where the task returns (not the global default:
 * a handshake run from another thread's context must not be timed out
 * from the main thread while it finishes in its own). */
static void
start_timeout (GTask *task)
{
  Handshake *handshake = g_task_get_task_data (task);

  handshake->timeout = g_timeout_source_new (FILER_TLS_HANDSHAKE_TIMEOUT_MS);
  g_source_set_callback (handshake->timeout, timeout_cb, handshake, NULL);
  g_source_attach (handshake->timeout, g_task_get_context (task));
}

/**
 * filer_tls_is_tls_stream:
 * @stream: a stream
 *
 * Returns: whether @stream is one filer_tls_handshake_finish() returned:
 *   its reads return one record at a time, each write makes records
 */
gboolean
filer_tls_is_tls_stream (GIOStream *stream)
{
  return G_IS_TLS_CONNECTION (stream) || FILER_IS_TLS_SERVER_STREAM (stream);
}

/* The record a handshake starts with (a ClientHello) may be as large as
 * a record's plaintext, 2^14 bytes, plus its 5-byte header. */
#define RECORD_HEADER    5
#define FIRST_RECORD_MAX (16384 + RECORD_HEADER)

/* TRUE once the peer has sent its FIN (what it sent may still be there
 * to read). */
static gboolean
peer_finished (int fd)
{
  struct tcp_info info;
  socklen_t length = sizeof info;

  return getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
         info.tcpi_state != TCP_ESTABLISHED;
}

/**
 * filer_tls_peek_first_record:
 * @socket: a TCP connection a listener accepted, nothing read from it yet
 *
 * Looks at what the peer sent first, without reading it. A TLS record
 * starts with its type (0x16, handshake) and the major version 3; one
 * byte of 0x16 alone is taken for the start of one (a Filer 1 peer writes
 * its whole frame at once). The handshake should start only once the
 * whole record is in: glib-networking runs each handshake in a worker
 * thread of a small pool, and one blocked on a stranger who sends part
 * of a record and stalls holds a thread until the handshake times out
 * (a few dozen such strangers stall every handshake, and every other use
 * of the pool). Until then this sets the socket's SO_RCVLOWAT to the
 * record's length, so that a level-triggered source on it wakes only
 * when the record is complete or the peer gave up; once READY it is 1
 * again.
 *
 * Returns: what to do
 */
FilerTlsFirstRecord
filer_tls_peek_first_record (GSocket *socket)
{
  int fd = g_socket_get_fd (socket);
  guint8 first[RECORD_HEADER];
  gsize record;
  gssize n;
  int queued = 0;

  n = recv (fd, first, sizeof first, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return FILER_TLS_FIRST_RECORD_WAIT;
  if (n <= 0)
    return FILER_TLS_FIRST_RECORD_CLOSED;
  if (first[0] != 0x16 || (n > 1 && first[1] != 0x03))
    return FILER_TLS_FIRST_RECORD_NOT_TLS;

  record = n < RECORD_HEADER ? RECORD_HEADER : RECORD_HEADER + (gsize)(first[3] << 8 | first[4]);
  if (record > FIRST_RECORD_MAX)
    {
      g_debug ("tls: a first record of %" G_GSIZE_FORMAT " bytes", record);
      return FILER_TLS_FIRST_RECORD_CLOSED;
    }

  if (ioctl (fd, FIONREAD, &queued) != 0 || (gsize)queued < record)
    {
      if (peer_finished (fd))
        return FILER_TLS_FIRST_RECORD_CLOSED;
      g_socket_set_option (socket, SOL_SOCKET, SO_RCVLOWAT, (int)record, NULL);
      return FILER_TLS_FIRST_RECORD_WAIT;
    }

  /* TLS reads what it can get. */
  g_socket_set_option (socket, SOL_SOCKET, SO_RCVLOWAT, 1, NULL);
  return FILER_TLS_FIRST_RECORD_READY;
}

/**
 * filer_tls_handshake_async:
 * @base_stream: the plain stream (a TCP connection, a punched QUIC path…)
 * @role: which side of the handshake we are
 * @identity: our device key
 * @expected_peer_id: (nullable): the device we mean to reach; %NULL on a
 *   listener that learns who called (any valid device key is accepted)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the handshake is done
 * @user_data: for @callback
 *
 * Runs a mutual TLS 1.3 handshake on @base_stream. It fails unless the
 * peer presents a certificate whose public key makes @expected_peer_id,
 * and with %G_IO_ERROR_TIMED_OUT if the peer has not finished it within
 * %FILER_TLS_HANDSHAKE_TIMEOUT_MS (a silent peer holds nothing for long).
 * On failure the stream is closed.
 */
void
filer_tls_handshake_async (GIOStream           *base_stream,
                           FilerTlsRole         role,
                           FilerIdentity       *identity,
                           const char          *expected_peer_id,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GIOStream) base = NULL;
  g_autoptr(GError) error = NULL;
  GTlsBackend *backend = g_tls_backend_get_default ();
  Handshake *handshake;

  g_return_if_fail (G_IS_IO_STREAM (base_stream));
  g_return_if_fail (FILER_IS_IDENTITY (identity));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_tls_handshake_async);

  handshake = g_new0 (Handshake, 1);
  handshake->expected_peer_id = g_strdup (expected_peer_id);
  handshake->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      handshake->caller_cancellable = g_object_ref (cancellable);
      handshake->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                       g_object_ref (handshake->cancellable),
                                                       g_object_unref);
    }
  g_task_set_task_data (task, handshake, handshake_free);

  if (role == FILER_TLS_ROLE_SERVER && G_IS_SOCKET_CONNECTION (base_stream))
    {
      g_autoptr(FilerTlsServerStream) stream = NULL;

      stream = filer_tls_server_stream_new (G_SOCKET_CONNECTION (base_stream), identity, &error);
      if (stream == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      start_timeout (task);
      filer_tls_server_stream_handshake_async (stream, handshake->cancellable,
                                               server_stream_handshake_cb, g_object_ref (task));
      return;
    }

  /* On TCP, GnuTLS's small reads come from a buffer, not the socket. */
  if (G_IS_SOCKET_CONNECTION (base_stream))
    base = filer_read_ahead_stream_new (G_SOCKET_CONNECTION (base_stream));
  else
    base = g_object_ref (base_stream);

  /* Not g_tls_server_connection_new() or g_tls_client_connection_new():
   * with the default database, glib-networking 2.74 loads the system's
   * CA bundle into every connection (gnutls_x509_trust_list_add_system_trust:
   * ~250 KiB and milliseconds of CPU each). Peers are checked by their
   * key in accept_certificate_cb, never against CAs. */
  if (role == FILER_TLS_ROLE_SERVER)
    {
      connection = g_initable_new (g_tls_backend_get_server_connection_type (backend), NULL, &error,
                                   "base-io-stream", base,
                                   "certificate", filer_identity_get_certificate (identity),
                                   "database", NULL,   /* the client's key is checked, not a CA */
                                   "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED,
                                   NULL);
    }
  else
    {
      connection = g_initable_new (g_tls_backend_get_client_connection_type (backend), NULL, &error,
                                   "base-io-stream", base,
                                   "certificate", filer_identity_get_certificate (identity),
                                   "database", NULL,   /* the server's key is checked, not a CA */
                                   NULL);
    }

  if (connection == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* The handler's data lives as long as the task; handshake_cb
   * disconnects it. */
  g_signal_connect (connection, "accept-certificate", G_CALLBACK (accept_certificate_cb), handshake);
  start_timeout (task);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (connection), G_PRIORITY_DEFAULT,
                                    handshake->cancellable, handshake_cb, g_object_ref (task));
}

/**
 * filer_tls_handshake_finish:
 * @result: the result
 * @peer_id: (out) (optional) (transfer full): the id the peer's key proves
 * @error: where a failure goes
 *
 * Returns: (transfer full): the TLS stream to read and write (a
 *   #GTlsConnection, or on a listener's TCP our own), or %NULL with
 *   @error set
 */
GIOStream *
filer_tls_handshake_finish (GAsyncResult  *result,
                            char         **peer_id,
                            GError       **error)
{
  Handshake *handshake;
  GIOStream *connection;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  connection = g_task_propagate_pointer (G_TASK (result), error);
  if (connection == NULL)
    return NULL;

  handshake = g_task_get_task_data (G_TASK (result));
  if (peer_id != NULL)
    *peer_id = g_strdup (handshake->peer_id);

  return connection;
}
