/* filer-nat-client.c: reach peers on other networks (punch, or relay)
 *
 * One UDP socket carries everything: frames to and from the rendezvous
 * server (registration, keepalive, session set-up, relayed datagrams) and
 * peer datagrams (punch, ack, keepalive, stream segments), told apart by
 * the peer datagrams' 0xFF 0xFF magic (filer-nat-datagram.h).
 *
 * A session is one attempt to reach one peer, named by the token the
 * server hands out. The punching follows the seed's order, hardened
 * (docs/protocol.md §4.4): the side told to go "first" sends punch
 * packets whose TTL dies between the routers (opening its own NAT without
 * touching the peer's), then reports ready; only then is the "second"
 * side told to go. Both keep punching every 100 ms, answer every punch
 * with an ack to the address it came from (the peer's NAT may have picked
 * another port), and the side that asked decides: direct once an ack
 * arrived, the relay if none did within the relay delay. The other side
 * answers on whichever path the stream's segments arrive.
 *
 * FilerNatClient owns the socket and tells what arrives apart; its
 * pieces answer it and never call it: FilerNatBinding (filer-nat-binding.c)
 * holds the binding with the server (public address, mapping), and a
 * FilerNatSession (filer-nat-session.c) per token does the punching, the
 * relay and the stream, and answers through its connect task, ::incoming
 * and ::closed. This file holds the object, its socket, what it hears,
 * and the connect task up to the server's nat-session.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-client.h"

#include "filer-frame-decoder.h"
#include "filer-nat-binding-private.h"
#include "filer-nat-datagram-private.h"
#include "filer-nat-error.h"
#include "filer-nat-path-probe-private.h"
#include "filer-nat-session-private.h"
#include "filer-socket.h"

#define CONNECT_TIMEOUT_MS     5000   /* for the server's nat-session */
#define MAX_FRAME_CONTENT      (FILER_NAT_MAX_DATAGRAM)

struct _FilerNatClient
{
  GObject parent_instance;

  char *peer_id;
  char *bind_secret;
  char *server_text;
  GSocketAddress *server;
  GSocket *socket;
  GSocket *probe_socket;        /* path probes (filer-nat-path-probe.c), or NULL */
  GSource *source;

  guint keepalive_ms;
  guint relay_after_ms;
  guint punch_ttl;
  gboolean force_relay;
  const char *stream_engine;    /* "quic" or "pseudotcp" */
  FilerIdentity *identity;      /* our device key: peers must prove theirs */

  /* owned pieces */
  FilerNatBinding *binding;     /* from start on */
  GHashTable *sessions;         /* token hex -> FilerNatSession* */
  GHashTable *connects;         /* attempt -> GTask* waiting for nat-session */
};

G_DEFINE_FINAL_TYPE (FilerNatClient, filer_nat_client, G_TYPE_OBJECT)

enum {
  INCOMING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  FilerNatClient *client;       /* weak */
  char *peer_id;
  char *expected_peer_id;       /* whose key must answer */
  char *attempt;
  char *refusal;                /* the server's last "not yet" */
  char *path;                   /* once the session's stream is up */
  guint tries;
  guint retry_id;
} ConnectData;

/* The connect task waiting for @attempt's answer, taken out of the
 * table (NULL if answered already). */
static GTask *
take_connect (FilerNatClient *self,
              const char     *attempt)
{
  g_autofree char *key = NULL;
  GTask *task = NULL;

  if (attempt == NULL
      || !g_hash_table_steal_extended (self->connects, attempt, (gpointer *)&key, (gpointer *)&task))
    return NULL;

  return task;
}

/* --- the sessions ----------------------------------------------------- */

static void
forget_session (FilerNatClient  *self,
                FilerNatSession *session)
{
  g_signal_handlers_disconnect_by_data (session, self);
  g_hash_table_remove (self->sessions, filer_nat_session_get_token (session));
}

static void
session_closed_cb (FilerNatSession *session,
                   gpointer         user_data)
{
  forget_session (FILER_NAT_CLIENT (user_data), session);
}

static void
session_incoming_cb (FilerNatSession *session,
                     GIOStream       *stream,
                     const char      *peer_id,
                     const char      *path,
                     gpointer         user_data)
{
  FilerNatClient *self = user_data;

  /* @peer_id is what the caller's key proved, not the id it bound under
   * at the server (filer-cli send binds a throwaway one). */
  g_signal_emit (self, signals[INCOMING], 0, stream, peer_id, path,
                 filer_nat_session_get_peer_id (session));
}

/* A session from the server's nat-session or nat-offer, in the table. */
static FilerNatSession *
add_session (FilerNatClient *self,
             FilerFrame     *frame,
             gboolean        initiator)
{
  FilerNatSessionConfig config = {
    .keepalive_ms = self->keepalive_ms,
    .relay_after_ms = self->relay_after_ms,
    .punch_ttl = self->punch_ttl,
    .probe_socket = self->probe_socket,
    .force_relay = self->force_relay,
    .identity = self->identity,
  };
  FilerNatSession *session;

  session = _filer_nat_session_new (frame, initiator, self->socket, self->server, &config);
  if (session == NULL)
    return NULL;

  g_hash_table_insert (self->sessions, g_strdup (filer_nat_session_get_token (session)), session);
  g_signal_connect (session, "closed", G_CALLBACK (session_closed_cb), self);
  g_signal_connect (session, "incoming", G_CALLBACK (session_incoming_cb), self);
  return session;
}

static FilerNatSession *
lookup_session (FilerNatClient *self,
                FilerFrame     *frame)
{
  const char *token = filer_frame_get (frame, "session");

  return token ? g_hash_table_lookup (self->sessions, token) : NULL;
}

/* --- what arrives ------------------------------------------------------ */

static void
session_connect_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ConnectData *connect = g_task_get_task_data (task);
  GError *error = NULL;
  GIOStream *stream;

  stream = _filer_nat_session_connect_finish (FILER_NAT_SESSION (object), result, &connect->path, &error);
  if (stream == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, stream, g_object_unref);
}

static void
handle_session (FilerNatClient *self,
                FilerFrame     *frame)
{
  const char *attempt = filer_frame_get (frame, "attempt");
  g_autoptr(GTask) task = NULL;
  FilerNatSession *session;

  if (attempt == NULL || !g_hash_table_contains (self->connects, attempt))
    return;  /* answered already */

  session = add_session (self, frame, TRUE);
  if (session == NULL)
    return;

  task = take_connect (self, attempt);
  _filer_nat_session_connect_async (session, ((ConnectData *)g_task_get_task_data (task))->expected_peer_id,
                                    g_task_get_cancellable (task),
                                    session_connect_cb, g_object_ref (task));
}

static void
handle_offer (FilerNatClient *self,
              FilerFrame     *frame)
{
  FilerNatSession *session;

  if (lookup_session (self, frame))
    return;  /* a resent offer */

  session = add_session (self, frame, FALSE);
  if (session)
    _filer_nat_session_listen (session);
}

static void
handle_refused (FilerNatClient *self,
                FilerFrame     *frame)
{
  const char *attempt = filer_frame_get (frame, "attempt");
  g_autoptr(GTask) task = NULL;
  FilerNatSession *session = lookup_session (self, frame);

  /* A session the peer never answered: the session ends it. */
  if (session && filer_nat_session_is_initiator (session))
    {
      _filer_nat_session_refused (session, filer_frame_get (frame, "message"));
      return;
    }

  /* The peer (or we) may be about to bind: registration over TCP and the
   * UDP binding race. Keep asking until the connect times out. */
  if (attempt && (g_strcmp0 (filer_frame_get (frame, "code"), "unknown-peer") == 0
                  || g_strcmp0 (filer_frame_get (frame, "code"), "not-bound") == 0))
    {
      GTask *waiting = g_hash_table_lookup (self->connects, attempt);
      ConnectData *connect = waiting ? g_task_get_task_data (waiting) : NULL;

      if (connect && connect->tries * FILER_NAT_RETRY_INTERVAL_MS < CONNECT_TIMEOUT_MS)
        {
          g_free (connect->refusal);
          connect->refusal = g_strdup (filer_frame_get (frame, "message"));
          return;
        }
    }

  task = take_connect (self, attempt);
  if (task == NULL)
    return;

  g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_REFUSED,
                           "The server refused: %s",
                           filer_frame_get (frame, "message") ? filer_frame_get (frame, "message") : "no reason");
}

/* A peer datagram, direct or passed on by the relay: to its session. */
static void
handle_peer_datagram (FilerNatClient *self,
                      const guint8   *data,
                      gsize           length,
                      GSocketAddress *from,
                      gboolean        relayed)
{
  FilerNatKind kind;
  const guint8 *token;
  const guint8 *payload;
  gsize payload_length;
  char token_hex[FILER_NAT_TOKEN_HEX_SIZE];
  FilerNatSession *session;

  if (!filer_nat_datagram_parse (data, length, &kind, &token, &payload, &payload_length))
    return;

  filer_nat_token_format (token, token_hex);
  session = g_hash_table_lookup (self->sessions, token_hex);
  if (session == NULL)
    return;  /* a stray, or someone guessing: no token, no answer */

  _filer_nat_session_handle_datagram (session, kind, payload, payload_length, from, relayed);
}

static void
handle_server_frame (FilerNatClient *self,
                     FilerFrame     *frame,
                     gboolean        from_second_port)
{
  const char *type = filer_frame_get_message_type (frame);
  FilerNatSession *session;

  if (g_strcmp0 (type, "nat-bound") == 0 || g_strcmp0 (type, "nat-probed") == 0)
    {
      _filer_nat_binding_handle_bound (self->binding, frame, from_second_port);
      return;
    }

  if (from_second_port)
    return;

  if (g_strcmp0 (type, "nat-offer") == 0)
    handle_offer (self, frame);
  else if (g_strcmp0 (type, "nat-session") == 0)
    handle_session (self, frame);
  else if (g_strcmp0 (type, "nat-refused") == 0)
    handle_refused (self, frame);
  else if (g_strcmp0 (type, "nat-accepted") == 0)
    {
      if ((session = lookup_session (self, frame)))
        _filer_nat_session_accepted (session);
    }
  else if (g_strcmp0 (type, "nat-go") == 0)
    {
      if ((session = lookup_session (self, frame)))
        _filer_nat_session_go (session);
    }
  else if (g_strcmp0 (type, "nat-relay") == 0)
    {
      GBytes *content = filer_frame_get_content (frame);
      gsize size = 0;
      const guint8 *data = content ? g_bytes_get_data (content, &size) : NULL;
      FilerNatKind kind;
      const guint8 *token, *payload;
      gsize payload_length;
      char hex[FILER_NAT_TOKEN_HEX_SIZE];

      /* The datagram inside must belong to the session the frame names. */
      if (data == NULL ||
          !filer_nat_datagram_parse (data, size, &kind, &token, &payload, &payload_length))
        return;
      filer_nat_token_format (token, hex);
      if (g_strcmp0 (hex, filer_frame_get (frame, "session")) != 0)
        return;
      handle_peer_datagram (self, data, size, NULL, TRUE);
    }
  else if (g_strcmp0 (type, "nat-relay-closed") == 0)
    {
      if ((session = lookup_session (self, frame)))
        _filer_nat_session_relay_closed (session, filer_frame_get (frame, "message"));
    }
}

static gboolean
datagram_cb (GSocket        *socket,
             const guint8   *data,
             gsize           length,
             GSocketAddress *from,
             gpointer        user_data)
{
  FilerNatClient *self = user_data;
  g_autoptr(FilerNatClient) hold = g_object_ref (self);
  GSocketAddress *server2 = _filer_nat_binding_get_server2 (self->binding);

  if (length >= 2 && data[0] == 0xFF && data[1] == 0xFF)
    handle_peer_datagram (self, data, length, from, FALSE);
  else if (filer_nat_address_equal (from, self->server)
           || filer_nat_address_equal (from, server2))
    {
      g_autoptr(FilerFrame) frame = filer_frame_decode_datagram (data, length, MAX_FRAME_CONTENT, NULL);

      if (frame)
        handle_server_frame (self, frame, filer_nat_address_equal (from, server2));
    }

  return self->socket != NULL ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* --- connecting -------------------------------------------------------- */

static void
connect_data_free (gpointer data)
{
  ConnectData *connect = data;

  g_clear_handle_id (&connect->retry_id, g_source_remove);
  g_clear_weak_pointer (&connect->client);
  g_free (connect->peer_id);
  g_free (connect->expected_peer_id);
  g_free (connect->attempt);
  g_free (connect->refusal);
  g_free (connect->path);
  g_free (connect);
}

static gboolean
connect_retry_cb (gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *connect = g_task_get_task_data (task);
  FilerNatClient *self = connect->client;
  g_autoptr(FilerFrame) frame = NULL;
  const char *mapping;

  if (self == NULL || !g_hash_table_contains (self->connects, connect->attempt))
    {
      connect->retry_id = 0;
      return G_SOURCE_REMOVE;
    }

  if (connect->tries++ * FILER_NAT_RETRY_INTERVAL_MS >= CONNECT_TIMEOUT_MS)
    {
      g_autoptr(GTask) owned = NULL;

      connect->retry_id = 0;
      owned = take_connect (self, connect->attempt);
      if (connect->refusal)
        g_task_return_new_error (owned, FILER_NAT_ERROR, FILER_NAT_ERROR_REFUSED,
                                 "The server refused: %s", connect->refusal);
      else
        g_task_return_new_error (owned, FILER_NAT_ERROR, FILER_NAT_ERROR_NO_SERVER,
                                 "The rendezvous server did not answer");
      return G_SOURCE_REMOVE;
    }

  /* The server pairs roles by mapping: give the probe a moment. */
  mapping = filer_nat_client_get_mapping (self);
  if (mapping == NULL && connect->tries <= 4)
    return G_SOURCE_CONTINUE;

  frame = filer_frame_new ("nat-connect");
  filer_frame_set (frame, "id", self->peer_id);
  filer_frame_set (frame, "to", connect->peer_id);
  filer_frame_set (frame, "attempt", connect->attempt);
  filer_frame_set (frame, "stream", self->stream_engine);
  if (mapping)
    filer_frame_set (frame, "mapping", mapping);
  _filer_nat_socket_send_frame (self->socket, self->server, frame);

  return G_SOURCE_CONTINUE;
}

void
filer_nat_client_connect_async (FilerNatClient      *self,
                                const char          *peer_id,
                                const char          *expected_peer_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ConnectData *connect;

  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (peer_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_nat_client_connect_async);

  if (self->socket == NULL)
    {
      g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_FAILED,
                               "The NAT client is not started");
      return;
    }

  connect = g_new0 (ConnectData, 1);
  g_set_weak_pointer (&connect->client, self);
  connect->peer_id = g_strdup (peer_id);
  connect->expected_peer_id = g_strdup (expected_peer_id ? expected_peer_id : peer_id);
  connect->attempt = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
  g_task_set_task_data (task, connect, connect_data_free);

  g_hash_table_insert (self->connects, g_strdup (connect->attempt), g_object_ref (task));
  connect_retry_cb (task);
  connect->retry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, FILER_NAT_RETRY_INTERVAL_MS, connect_retry_cb,
                                          g_object_ref (task), g_object_unref);
}

/**
 * filer_nat_client_connect_finish:
 * @path: (out) (optional): "direct" or "relay"
 *
 * Returns: (transfer full): the established stream
 */
GIOStream *
filer_nat_client_connect_finish (FilerNatClient  *self,
                                 GAsyncResult    *result,
                                 char           **path,
                                 GError         **error)
{
  g_autoptr(GIOStream) stream = NULL;
  ConnectData *connect;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (stream == NULL)
    return NULL;

  connect = g_task_get_task_data (G_TASK (result));
  if (path)
    *path = g_strdup (connect->path);

  return g_steal_pointer (&stream);
}

/* --- life -------------------------------------------------------------- */

gboolean
filer_nat_client_start (FilerNatClient  *self,
                        GError         **error)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), FALSE);
  g_return_val_if_fail (self->source == NULL, FALSE);

  if (self->server == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IP address and port", self->server_text);
      return FALSE;
    }

  if (self->socket == NULL)
    {
      GSocketFamily family = g_socket_address_get_family (self->server);
      g_autoptr(GInetAddress) any = g_inet_address_new_any (family);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (any, 0);
      g_autoptr(GSocket) socket = NULL;

      socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
      if (socket == NULL || !g_socket_bind (socket, address, FALSE, error))
        return FALSE;
      self->socket = g_steal_pointer (&socket);
    }

  filer_socket_set_buffers (self->socket);

  /* Made here, with the main socket: in the same network namespace. */
  if (self->probe_socket == NULL)
    self->probe_socket = _filer_nat_path_probe_new_socket ();

  /* A batch, then let others (a server in the same loop) run. */
  self->source = filer_socket_watch_datagrams (self->socket, 64, datagram_cb, self, NULL);

  g_clear_object (&self->binding);
  self->binding = _filer_nat_binding_new (self->socket, self->server, self->peer_id, self->keepalive_ms);
  _filer_nat_binding_set_secret (self->binding, self->bind_secret);
  _filer_nat_binding_start (self->binding);

  return TRUE;
}

static void
fail_all (FilerNatClient *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->connects);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GTask *task = value;

      g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_FAILED,
                               "The NAT client stopped");
      g_hash_table_iter_remove (&iter);
    }

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      FilerNatSession *session = value;
      g_autoptr(GError) error = g_error_new_literal (FILER_NAT_ERROR, FILER_NAT_ERROR_FAILED,
                                                     "The NAT client stopped");

      g_signal_handlers_disconnect_by_data (session, self);
      _filer_nat_session_stop (session, error);
      g_hash_table_iter_remove (&iter);
    }
}

void
filer_nat_client_stop (FilerNatClient *self)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  fail_all (self);
  if (self->binding)
    _filer_nat_binding_stop (self->binding);
  filer_clear_source (&self->source);
  if (self->socket)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
  g_clear_object (&self->probe_socket);
}

static void
filer_nat_client_dispose (GObject *object)
{
  FilerNatClient *self = FILER_NAT_CLIENT (object);

  filer_nat_client_stop (self);

  G_OBJECT_CLASS (filer_nat_client_parent_class)->dispose (object);
}

static void
filer_nat_client_finalize (GObject *object)
{
  FilerNatClient *self = FILER_NAT_CLIENT (object);

  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->connects, g_hash_table_unref);
  g_clear_object (&self->server);
  g_free (self->peer_id);
  g_free (self->bind_secret);
  g_free (self->server_text);
  g_clear_object (&self->binding);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (filer_nat_client_parent_class)->finalize (object);
}

static void
filer_nat_client_class_init (FilerNatClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_nat_client_dispose;
  object_class->finalize = filer_nat_client_finalize;

  /**
   * FilerNatClient::incoming:
   * @stream: the established stream (take a reference to keep it)
   * @peer_id: (nullable): who reached us: the device id the caller's key
   *   proved (QUIC, or TLS over PseudoTcp; filer_nat_client_set_identity());
   *   the transfer hello's "from" must be it. %NULL only without a key of
   *   ours (an unauthenticated PseudoTcp stream).
   * @path: "direct" or "relay"
   * @rendezvous_id: the id the caller bound under at the rendezvous
   *   server, as the server paired us: a claim, not a proof (filer-cli
   *   send binds a throwaway one)
   *
   * A peer on another network reached us.
   */
  signals[INCOMING] =
    g_signal_new ("incoming",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 4, G_TYPE_IO_STREAM, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
filer_nat_client_init (FilerNatClient *self)
{
  self->keepalive_ms = FILER_NAT_DEFAULT_KEEPALIVE_MS;
  self->relay_after_ms = FILER_NAT_DEFAULT_RELAY_AFTER_MS;
  self->punch_ttl = FILER_NAT_DEFAULT_PUNCH_TTL;
  self->stream_engine = "quic";
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->connects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * filer_nat_client_new:
 * @peer_id: our device id, as registered with the discovery server
 * @server_address: the rendezvous server's UDP "ip:port"
 */
FilerNatClient *
filer_nat_client_new (const char *peer_id,
                      const char *server_address)
{
  FilerNatClient *self;

  g_return_val_if_fail (peer_id != NULL, NULL);
  g_return_val_if_fail (server_address != NULL, NULL);

  self = g_object_new (FILER_TYPE_NAT_CLIENT, NULL);
  self->peer_id = g_strdup (peer_id);
  self->server_text = g_strdup (server_address);
  self->server = filer_nat_address_from_string (server_address);

  return self;
}

/**
 * filer_nat_client_set_identity:
 * @identity: (nullable): our device key; %NULL: none (only PseudoTcp
 *   works then, unauthenticated: benchmarks)
 *
 * Both ends of every stream present their device key, in the QUIC
 * handshake or in mutual TLS on top of PseudoTcp: an outgoing connect
 * completes only if the peer's key makes the id we meant to reach, and
 * ::incoming names the id the caller's key proved. Applies to the
 * sessions that start afterwards.
 */
void
filer_nat_client_set_identity (FilerNatClient *self,
                               FilerIdentity  *identity)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (identity == NULL || FILER_IS_IDENTITY (identity));

  g_set_object (&self->identity, identity);
}

FilerIdentity *
filer_nat_client_get_identity (FilerNatClient *self)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), NULL);

  return self->identity;
}

void
filer_nat_client_set_socket (FilerNatClient *self,
                             GSocket        *socket)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (self->source == NULL);

  g_set_object (&self->socket, socket);
}

void
filer_nat_client_set_keepalive (FilerNatClient *self,
                                guint           keepalive_ms)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (keepalive_ms >= 100);

  self->keepalive_ms = keepalive_ms;
}

void
filer_nat_client_set_relay_after (FilerNatClient *self,
                                  guint           relay_after_ms)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  self->relay_after_ms = relay_after_ms;
}

void
filer_nat_client_set_punch_ttl (FilerNatClient *self,
                                guint           ttl)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (ttl <= 255);

  /* 0: measure it for each session (the default). */
  self->punch_ttl = ttl;
}

void
filer_nat_client_set_stream_engine (FilerNatClient *self,
                                    const char     *engine)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (g_strcmp0 (engine, "quic") == 0 || g_strcmp0 (engine, "pseudotcp") == 0);

  self->stream_engine = g_str_equal (engine, "quic") ? "quic" : "pseudotcp";
}

void
filer_nat_client_set_force_relay (FilerNatClient *self,
                                  gboolean        force_relay)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  self->force_relay = force_relay;
}

const char *
filer_nat_client_get_public_address (FilerNatClient *self)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), NULL);

  return self->binding ? filer_nat_binding_get_public_address (self->binding) : NULL;
}

const char *
filer_nat_client_get_mapping (FilerNatClient *self)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), NULL);

  return self->binding ? filer_nat_binding_get_mapping (self->binding) : NULL;
}

/**
 * filer_nat_client_set_bind_secret:
 * @secret: (nullable): the bind-secret of our discovery welcome
 *
 * What our nat-bind carries to prove it comes from the device that
 * registered (docs/protocol.md §4.2). Any time: a binding not yet
 * accepted retries soon, with the new one.
 */
void
filer_nat_client_set_bind_secret (FilerNatClient *self,
                                  const char     *secret)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  g_free (self->bind_secret);
  self->bind_secret = g_strdup (secret);
  if (self->binding != NULL)
    _filer_nat_binding_set_secret (self->binding, secret);
}
