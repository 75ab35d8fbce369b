/* filer-transfer-connector.c: a checked connection to one peer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-connector.h"
#include "filer-transfer-error.h"
#include "filer-transfer-hello.h"
#include "filer-tls.h"

/* "Get a stream to peer X", kept apart from what runs on the stream.
 *
 * The LAN connector tries each address the discovery server listed for
 * the peer, each with a short timeout, and on the first that answers runs
 * TLS (protocol version 2: our device key as client certificate, and the
 * peer's key must make the id we mean to reach) and then the hello inside
 * it. An address that answers as another device (two homes on the same
 * private range, or someone else's key) is skipped like one that does not
 * answer. When
 * every address failed it waits and goes round again (250 ms, doubling to
 * 4 s) until the overall timeout: the receiver may simply not be
 * listening yet — the seed's "client started before its server" trap.
 *
 * Other paths (a punched UDP stream, a relay) hand the transfer service a
 * ready GIOStream instead, and the same hello runs on it.
 */

typedef struct
{
  char         **addresses;
  guint16        port;
  FilerIdentity *identity;
  char          *my_id;
  char          *my_name;
  char          *peer_id;
  gint64         deadline;
  guint          next;
  guint          backoff_ms;
  GSocketClient *client;
  GCancellable  *attempt;
  GSource       *timer;
  GError        *wrong_peer;
  GError        *last_error;
  gboolean       others_failed;
  char          *peer_name;
} Connect;

static void try_next (GTask *task);

static void
connect_free (gpointer data)
{
  Connect *c = data;

  if (c->timer != NULL)
    {
      g_source_destroy (c->timer);
      g_source_unref (c->timer);
    }
  g_strfreev (c->addresses);
  g_clear_object (&c->identity);
  g_free (c->my_id);
  g_free (c->my_name);
  g_free (c->peer_id);
  g_clear_object (&c->client);
  g_clear_object (&c->attempt);
  g_clear_error (&c->wrong_peer);
  g_clear_error (&c->last_error);
  g_free (c->peer_name);
  g_free (c);
}

static void
clear_timer (Connect *c)
{
  if (c->timer != NULL)
    {
      g_source_destroy (c->timer);
      g_clear_pointer (&c->timer, g_source_unref);
    }
}

static void
set_timer (GTask       *task,
           guint        ms,
           GSourceFunc  func)
{
  Connect *c = g_task_get_task_data (task);

  clear_timer (c);
  c->timer = g_timeout_source_new (ms);
  g_source_set_callback (c->timer, func, task, NULL);
  g_source_attach (c->timer, g_task_get_context (task));
}

static void
record_failure (Connect    *c,
                const char *address,
                GError     *error)
{
  g_debug ("Connector: %s:%u failed: %s", address, c->port, error->message);

  if (g_error_matches (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_WRONG_PEER) ||
      g_error_matches (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IDENTITY) ||
      g_error_matches (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_VERSION))
    {
      g_clear_error (&c->wrong_peer);
      c->wrong_peer = error;
      return;
    }

  c->others_failed = TRUE;
  g_clear_error (&c->last_error);
  c->last_error = g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNREACHABLE,
                               "Could not reach the peer at %s port %u: %s",
                               address, c->port, error->message);
  g_error_free (error);
}

static void
hello_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  Connect *c = g_task_get_task_data (task);
  FilerFrameConnection *connection = FILER_FRAME_CONNECTION (object);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_name = NULL;

  clear_timer (c);
  if (!filer_transfer_hello_finish (connection, result, NULL, &peer_name, &error))
    {
      record_failure (c, c->addresses[c->next - 1], g_steal_pointer (&error));
      try_next (task);
      return;
    }

  c->peer_name = g_steal_pointer (&peer_name);
  g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
  g_object_unref (task);
}

/* What a failed handshake means to the user. filer-tls.c refuses a key
 * whose id is not the peer's in ::accept-certificate, which GIO reports as
 * a bad certificate; a peer that answers a ClientHello with something
 * that is not TLS is a Filer 1 (its frame decoder answers with a
 * plaintext error frame). */
static GError *
handshake_error (Connect    *c,
                 const char *address,
                 GError     *error)
{
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    return g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IDENTITY,
                        "The device at %s port %u is not the device it claims to be: its key "
                        "does not prove the id %s", address, c->port, c->peer_id);
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS))
    return g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_VERSION,
                        "The device at %s port %u does not speak TLS: it runs an older "
                        "Filer, which needs updating", address, c->port);
  return g_error_copy (error);
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  Connect *c = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(FilerFrameConnection) connection = NULL;
  g_autofree char *proven = NULL;
  const char *address = c->addresses[c->next - 1];

  tls = filer_tls_handshake_finish (result, &proven, &error);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (tls == NULL)
    {
      record_failure (c, address, handshake_error (c, address, error));
      try_next (task);
      return;
    }

  /* filer-tls.c checked it already; the transfer must never start on a
   * connection whose key is not the peer's. */
  if (g_strcmp0 (proven, c->peer_id) != 0)
    {
      g_io_stream_close_async (tls, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      record_failure (c, address,
                      g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IDENTITY,
                                   "The device at %s port %u is not the device it claims to "
                                   "be: its key proves %s, not %s", address, c->port,
                                   proven, c->peer_id));
      try_next (task);
      return;
    }

  /* The hello has its own timeout. */
  connection = filer_frame_connection_new (tls);
  filer_transfer_hello_async (connection, c->my_id, c->my_name, c->peer_id, proven,
                              g_task_get_cancellable (task), hello_cb, task);
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  Connect *c = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) socket_connection = NULL;

  socket_connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  clear_timer (c);
  g_clear_object (&c->attempt);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (socket_connection == NULL)
    {
      record_failure (c, c->addresses[c->next - 1], g_steal_pointer (&error));
      try_next (task);
      return;
    }

  /* The handshake has its own timeout (FILER_TLS_HANDSHAKE_TIMEOUT_MS). */
  filer_tls_handshake_async (G_IO_STREAM (socket_connection), FILER_TLS_ROLE_CLIENT, c->identity,
                             c->peer_id, g_task_get_cancellable (task), handshake_cb, task);
}

static gboolean
attempt_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  Connect *c = g_task_get_task_data (task);

  g_clear_pointer (&c->timer, g_source_unref);
  if (c->attempt != NULL)
    g_cancellable_cancel (c->attempt);
  return G_SOURCE_REMOVE;
}

static void
attempt_cancelled_cb (GCancellable *cancellable,
                      GCancellable *attempt)
{
  g_cancellable_cancel (attempt);
}

static gboolean
retry_cb (gpointer user_data)
{
  GTask *task = user_data;
  Connect *c = g_task_get_task_data (task);

  g_clear_pointer (&c->timer, g_source_unref);
  c->next = 0;
  try_next (task);
  return G_SOURCE_REMOVE;
}

static void
try_next (GTask *task)
{
  Connect *c = g_task_get_task_data (task);
  g_autoptr(GSocketConnectable) address = NULL;
  gint64 now = g_get_monotonic_time ();

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (c->addresses[c->next] == NULL)
    {
      /* A round is over. Only wrong devices answered: waiting won't help. */
      if (now >= c->deadline || (c->wrong_peer != NULL && !c->others_failed))
        {
          if (c->wrong_peer != NULL)
            g_task_return_error (task, g_steal_pointer (&c->wrong_peer));
          else if (c->last_error != NULL)
            g_task_return_error (task, g_steal_pointer (&c->last_error));
          else
            g_task_return_new_error (task, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNREACHABLE,
                                     "The peer has no address to connect to");
          g_object_unref (task);
          return;
        }

      c->others_failed = FALSE;
      set_timer (task, MIN (c->backoff_ms, (guint)((c->deadline - now) / 1000) + 1), retry_cb);
      c->backoff_ms = MIN (c->backoff_ms * 2, 4000);
      return;
    }

  address = g_network_address_parse (c->addresses[c->next], c->port, NULL);
  c->next++;
  if (address == NULL)
    {
      record_failure (c, c->addresses[c->next - 1],
                      g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                           "not an address"));
      try_next (task);
      return;
    }

  c->attempt = g_cancellable_new ();
  if (g_task_get_cancellable (task) != NULL)
    g_cancellable_connect (g_task_get_cancellable (task), G_CALLBACK (attempt_cancelled_cb),
                           g_object_ref (c->attempt), g_object_unref);
  set_timer (task, FILER_TRANSFER_ATTEMPT_TIMEOUT_MS, attempt_timeout_cb);
  g_socket_client_connect_async (c->client, address, c->attempt, connected_cb, task);
}

char **
filer_transfer_peer_addresses (FilerPeer *peer)
{
  const char * const *announced;
  const char *seen;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (FILER_IS_PEER (peer), NULL);

  announced = filer_peer_get_addresses (peer);
  seen = filer_peer_get_public_address (peer);
  if (announced != NULL)
    g_strv_builder_addv (builder, (const char **)announced);
  if (seen != NULL && seen[0] != '\0' &&
      (announced == NULL || !g_strv_contains (announced, seen)))
    g_strv_builder_add (builder, seen);

  return g_strv_builder_end (builder);
}

/**
 * filer_transfer_connect_lan_async:
 * @peer: the device we mean to reach, as discovery reports it: its
 *   addresses (filer_transfer_peer_addresses()) and transfer port are
 *   tried, and the hello must confirm its id
 * @identity: our device key: the TLS client certificate, and our id
 * @my_name: our device name
 * @timeout_ms: give up after this long (0: %FILER_TRANSFER_CONNECT_TIMEOUT_MS)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with a checked connection
 * @user_data: for @callback
 */
void
filer_transfer_connect_lan_async (FilerPeer           *peer,
                                  FilerIdentity       *identity,
                                  const char          *my_name,
                                  guint                timeout_ms,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;
  Connect *c;

  g_return_if_fail (FILER_IS_PEER (peer));
  g_return_if_fail (FILER_IS_IDENTITY (identity));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_transfer_connect_lan_async);

  c = g_new0 (Connect, 1);
  c->addresses = filer_transfer_peer_addresses (peer);
  c->port = filer_peer_get_port (peer);
  c->identity = g_object_ref (identity);
  c->my_id = g_strdup (filer_identity_get_id (identity));
  c->my_name = g_strdup (my_name);
  c->peer_id = g_strdup (filer_peer_get_id (peer));
  c->deadline = g_get_monotonic_time () +
                (gint64)(timeout_ms ? timeout_ms : FILER_TRANSFER_CONNECT_TIMEOUT_MS) * 1000;
  c->backoff_ms = 250;
  c->client = g_socket_client_new ();
  /* A LAN peer is never reached through a proxy. */
  g_socket_client_set_enable_proxy (c->client, FALSE);
  g_task_set_task_data (task, c, connect_free);

  try_next (task);
}

/**
 * filer_transfer_connect_lan_finish:
 * @result: the result
 * @peer_name: (out) (optional): the name the peer gave in its hello
 * @error: return location for an error
 *
 * Returns: (transfer full): a connection over TLS to the device whose key
 *   makes the peer's id, hello done, paused
 */
FilerFrameConnection *
filer_transfer_connect_lan_finish (GAsyncResult  *result,
                                   char         **peer_name,
                                   GError       **error)
{
  Connect *c;
  FilerFrameConnection *connection;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  connection = g_task_propagate_pointer (G_TASK (result), error);
  if (connection == NULL)
    return NULL;

  c = g_task_get_task_data (G_TASK (result));
  if (peer_name != NULL)
    *peer_name = g_strdup (c->peer_name);
  return connection;
}
