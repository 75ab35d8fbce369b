/* filer-discovery-connection.c: one TCP connection to the discovery server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "filer-discovery-connection.h"

#include "filer-frame-connection.h"
#include "filer-net.h"
#include "filer-tls.h"

/* One attempt at the server (docs/protocol.md §2): connect, mutual TLS
 * with our device key (the server learns who we are from the key, we
 * learn which server this is, and refuse it if it is not the one the
 * owner expects: a pinned or remembered id), register,
 * then the welcome and the snapshot, then deltas; a ping every keepalive
 * period the welcome names (the server drops a client silent for three),
 * and the server judged dead after three periods without a word from it.
 *
 * It reports to its owner, FilerDiscoveryClient, by signals and never
 * calls it:
 *
 *   ::registered (public-address)  the welcome; a snapshot follows
 *   ::peer-changed (FilerPeer)     a peer as the server describes it now
 *                                  (snapshot entry, join or update); a
 *                                  fresh object, for FilerPeerList
 *   ::peer-removed (id)            a peer left
 *   ::snapshot-done                the snapshot is complete
 *   ::closed (GError)              the connection is over, and why; once,
 *                                  never after filer_discovery_connection_close()
 *
 * A connection is used once: the owner makes a new one for each attempt.
 */

#define CONNECT_TIMEOUT_S 5

struct _FilerDiscoveryConnection
{
  GObject               parent_instance;

  /* Settings, fixed for the connection but the transfer port. */
  FilerDevice          *device;
  char                 *room;
  char                 *local_address;
  guint                 transfer_port;

  char                 *where;           /* "HOST:PORT", for messages */
  char                 *expected_server_id; /* or NULL: any server key */
  char                 *server_id;       /* the id the server's key proved */
  char                 *bind_secret;     /* from the welcome, for nat-bind */
  GCancellable         *cancellable;
  FilerFrameConnection *frames;
  gboolean              closed;
  gboolean              registered;
  gboolean              replaced;
  gboolean              in_snapshot;
  guint                 snapshot_left;

  guint                 keepalive_ms;
  guint                 keepalive_id;
  guint                 update_id;       /* an update waiting for its turn */
  gint64                last_update;     /* monotonic µs */
  gint64                last_received;
};

G_DEFINE_FINAL_TYPE (FilerDiscoveryConnection, filer_discovery_connection, G_TYPE_OBJECT)

enum {
  REGISTERED,
  PEER_CHANGED,
  PEER_REMOVED,
  SNAPSHOT_DONE,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
teardown (FilerDiscoveryConnection *self)
{
  self->closed = TRUE;
  self->registered = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->update_id, g_source_remove);

  if (self->frames != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->frames, self);
      filer_frame_connection_close (self->frames);
      g_clear_object (&self->frames);
    }
}

/* Ends the connection and tells the owner why. */
static void
fail (FilerDiscoveryConnection *self,
      GError                   *error)   /* (transfer full) */
      {
  g_autoptr(FilerDiscoveryConnection) hold = g_object_ref (self);
  g_autoptr(GError) owned = error;

  if (self->closed)
    return;

  teardown (self);
  g_signal_emit (self, signals[CLOSED], 0, owned);
}

/**
 * filer_discovery_connection_close:
 *
 * Ends the connection (or the connect in flight) without a word to the
 * server and without ::closed: the owner knows.
 */
void
filer_discovery_connection_close (FilerDiscoveryConnection *self)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CONNECTION (self));

  teardown (self);
}

/* --- Sending ------------------------------------------------------- */

static void
send_register (FilerDiscoveryConnection *self)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("register");
  g_auto(GStrv) addresses = NULL;
  g_autofree char *joined = NULL;

  /* A client bound to one address is reachable there and nowhere else. */
  if (self->local_address != NULL)
    addresses = g_strdupv ((char *[]) { self->local_address, NULL });
  else
    addresses = filer_net_get_local_addresses ();
  joined = g_strjoinv (",", addresses);

  filer_frame_set_uint (frame, "version", 2);
  filer_frame_set (frame, "id", filer_device_get_id (self->device));
  filer_frame_set (frame, "name", filer_device_get_name (self->device));
  filer_frame_set (frame, "kind", filer_device_get_kind (self->device));
  filer_frame_set_uint (frame, "port", self->transfer_port);
  filer_frame_set (frame, "addresses", joined);
  if (self->room != NULL && *self->room != '\0')
    filer_frame_set (frame, "room", self->room);

  filer_frame_connection_send (self->frames, frame);
}

#define UPDATE_INTERVAL_US G_USEC_PER_SEC

static void
send_update_now (FilerDiscoveryConnection *self)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("update");

  self->last_update = g_get_monotonic_time ();
  filer_frame_set (frame, "name", filer_device_get_name (self->device));
  filer_frame_set (frame, "kind", filer_device_get_kind (self->device));
  filer_frame_set_uint (frame, "port", self->transfer_port);
  filer_frame_connection_send (self->frames, frame);
}

static gboolean
update_due_cb (gpointer user_data)
{
  FilerDiscoveryConnection *self = user_data;

  self->update_id = 0;
  if (self->registered)
    send_update_now (self);
  return G_SOURCE_REMOVE;
}

/**
 * filer_discovery_connection_send_update:
 *
 * Tells the server our device's name and kind and our transfer port
 * again (they changed). Nothing before the welcome: the registration
 * itself carries them.
 */
void
filer_discovery_connection_send_update (FilerDiscoveryConnection *self)
{
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (FILER_IS_DISCOVERY_CONNECTION (self));

  if (!self->registered || self->update_id != 0)
    return;

  /* At most one a second (the server allows 1 a second after a burst,
   * docs/protocol.md §2.8): a name typed key by key is one update. */
  if (self->last_update != 0 && now - self->last_update < UPDATE_INTERVAL_US)
    {
      guint wait_ms = (UPDATE_INTERVAL_US - (now - self->last_update)) / 1000 + 1;

      self->update_id = g_timeout_add (wait_ms, update_due_cb, self);
      return;
    }

  send_update_now (self);
}

void
filer_discovery_connection_set_transfer_port (FilerDiscoveryConnection *self,
                                              guint                     port)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CONNECTION (self));
  g_return_if_fail (port <= G_MAXUINT16);

  if (self->transfer_port == port)
    return;

  self->transfer_port = port;
  filer_discovery_connection_send_update (self);
}

static gboolean
keepalive_cb (gpointer user_data)
{
  FilerDiscoveryConnection *self = user_data;
  g_autoptr(FilerFrame) ping = NULL;
  gint64 silence_ms = (g_get_monotonic_time () - self->last_received) / 1000;

  /* Three keepalives without a word back: the server or the path is gone
   * even if TCP has not noticed. */
  if (silence_ms > 3 * (gint64)self->keepalive_ms)
    {
      self->keepalive_id = 0;
      fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_TIMEOUT,
                               "The discovery server stopped answering"));
      return G_SOURCE_REMOVE;
    }

  ping = filer_frame_new ("ping");
  filer_frame_connection_send (self->frames, ping);
  return G_SOURCE_CONTINUE;
}

/* --- Receiving ----------------------------------------------------- */

static gboolean
handle_welcome (FilerDiscoveryConnection  *self,
                FilerFrame                *frame,
                GError                   **error)
{
  guint64 count = 0;
  guint64 keepalive = FILER_DISCOVERY_CONNECTION_DEFAULT_KEEPALIVE_MS;

  if (self->registered ||
      !filer_frame_get_uint (frame, "count", G_MAXUINT32, &count, NULL) ||
      (filer_frame_get (frame, "keepalive-ms") != NULL &&
       !filer_frame_get_uint (frame, "keepalive-ms", 3600 * 1000, &keepalive, NULL)))
    {
      g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                   "The server sent a malformed welcome");
      return FALSE;
    }

  /* Only we and the server know it (it came over TLS): it lets our NAT
   * client bind our id to a UDP address (docs/protocol.md §4). */
  g_free (self->bind_secret);
  self->bind_secret = g_strdup (filer_frame_get (frame, "bind-secret"));

  self->registered = TRUE;
  self->keepalive_ms = MAX (keepalive, 50);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  self->keepalive_id = g_timeout_add (self->keepalive_ms, keepalive_cb, self);

  self->in_snapshot = TRUE;
  self->snapshot_left = count;

  g_signal_emit (self, signals[REGISTERED], 0, filer_frame_get (frame, "public-address"));
  if (!self->closed && count == 0)
    {
      self->in_snapshot = FALSE;
      g_signal_emit (self, signals[SNAPSHOT_DONE], 0);
    }

  return TRUE;
}

/* A peer as a "peer", "peer-joined" or "peer-updated" frame describes it. */
static FilerPeer *
parse_peer (FilerFrame  *frame,
            GError     **error)
{
  const char *id = filer_frame_get (frame, "id");
  const char *addresses = filer_frame_get (frame, "addresses");
  const char *network = filer_frame_get (frame, "network");
  g_auto(GStrv) address_list = NULL;
  FilerPeer *peer;
  guint64 port = 0;

  if (id == NULL || *id == '\0' ||
      (filer_frame_get (frame, "port") != NULL &&
       !filer_frame_get_uint (frame, "port", G_MAXUINT16, &port, NULL)))
    {
      g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                   "The server sent a malformed “%s” message",
                   filer_frame_get_message_type (frame));
      return NULL;
    }

  if (addresses != NULL && *addresses != '\0')
    address_list = g_strsplit (addresses, ",", -1);

  peer = filer_peer_new (id);
  filer_peer_set_name (peer, filer_frame_get (frame, "name"));
  filer_peer_set_kind (peer, filer_frame_get (frame, "kind"));
  filer_peer_set_port (peer, port);
  filer_peer_set_addresses (peer, (const char * const *)address_list);
  filer_peer_set_public_address (peer, filer_frame_get (frame, "public-address"));
  filer_peer_set_network (peer, g_strcmp0 (network, "remote") == 0 ? FILER_PEER_NETWORK_REMOTE
                                                                    : FILER_PEER_NETWORK_LAN);
  return peer;
}

static gboolean
handle_peer (FilerDiscoveryConnection  *self,
             FilerFrame                *frame,
             GError                   **error)
{
  g_autoptr(FilerPeer) peer = parse_peer (frame, error);

  if (peer == NULL)
    return FALSE;

  g_signal_emit (self, signals[PEER_CHANGED], 0, peer);
  return TRUE;
}

static void
frame_received_cb (FilerFrameConnection     *frames,
                   FilerFrame               *frame,
                   FilerDiscoveryConnection *self)
{
  g_autoptr(FilerDiscoveryConnection) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  const char *type = filer_frame_get_message_type (frame);

  self->last_received = g_get_monotonic_time ();

  if (type == NULL)
    type = "";

  if (g_str_equal (type, "ping"))
    {
      g_autoptr(FilerFrame) pong = filer_frame_new ("pong");

      filer_frame_connection_send (self->frames, pong);
      return;
    }

  if (g_str_equal (type, "pong"))
    return;

  if (g_str_equal (type, "error"))
    {
      const char *code = filer_frame_get (frame, "code");
      const char *message = filer_frame_get (frame, "message");

      /* Another process registered with our device id: the owner should
       * not come back, that would only push it out in turn, for ever. */
      if (g_strcmp0 (code, "replaced") == 0)
        self->replaced = TRUE;

      fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_REJECTED,
                               "The discovery server refused us: %s (%s)",
                               message ? message : "no reason given", code ? code : "?"));
      return;
    }

  if (g_str_equal (type, "welcome"))
    {
      if (!handle_welcome (self, frame, &error))
        fail (self, g_steal_pointer (&error));
      return;
    }

  if (!self->registered)
    {
      fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                               "The server sent “%s” before its welcome", type));
      return;
    }

  if (g_str_equal (type, "peer") && self->in_snapshot)
    {
      if (!handle_peer (self, frame, &error))
        {
          fail (self, g_steal_pointer (&error));
          return;
        }
      if (!self->closed && --self->snapshot_left == 0)
        {
          self->in_snapshot = FALSE;
          g_signal_emit (self, signals[SNAPSHOT_DONE], 0);
        }
    }
  else if (g_str_equal (type, "peer-joined") || g_str_equal (type, "peer-updated"))
    {
      if (!handle_peer (self, frame, &error))
        fail (self, g_steal_pointer (&error));
    }
  else if (g_str_equal (type, "peer-left"))
    {
      const char *id = filer_frame_get (frame, "id");

      if (id != NULL)
        g_signal_emit (self, signals[PEER_REMOVED], 0, id);
    }
  else
    g_debug ("Ignoring a “%s” message from the discovery server", type);
}

static void
closed_cb (FilerFrameConnection     *frames,
           const GError             *error,
           FilerDiscoveryConnection *self)
{
  if (error != NULL)
    fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                             "Lost the discovery server: %s", error->message));
  else
    fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                             "The discovery server closed the connection"));
}

/* --- Connecting ---------------------------------------------------- */

static void handshake_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data);

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(FilerDiscoveryConnection) self = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  if (self->closed)
    return;

  if (connection == NULL)
    {
      g_prefix_error (&error, "Cannot reach the discovery server at %s: ", self->where);
      fail (self, g_steal_pointer (&error));
      return;
    }

  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  /* The connect timeout would otherwise apply to every later read, and
   * a quiet server is fine: keepalives judge liveness. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 0);

  /* With an expected id the handshake itself refuses another key, before
   * our certificate goes out and long before any register. */
  filer_tls_handshake_async (G_IO_STREAM (connection), FILER_TLS_ROLE_CLIENT,
                             filer_device_get_identity (self->device),
                             self->expected_server_id, self->cancellable,
                             handshake_cb, g_object_ref (self));
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(FilerDiscoveryConnection) self = user_data;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *server_id = NULL;

  tls = filer_tls_handshake_finish (result, &server_id, &error);
  if (self->closed)
    return;

  if (tls == NULL)
    {
      if (self->expected_server_id != NULL)
        fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_SERVER_KEY,
                                 "The discovery server at %s did not prove the id %s: "
                                 "refusing it (%s)",
                                 self->where, self->expected_server_id, error->message));
      else
        fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                                 "No TLS with the discovery server at %s: %s",
                                 self->where, error->message));
      return;
    }

  self->server_id = g_steal_pointer (&server_id);
  self->frames = filer_frame_connection_new (tls);
  g_signal_connect (self->frames, "frame-received", G_CALLBACK (frame_received_cb), self);
  g_signal_connect (self->frames, "closed", G_CALLBACK (closed_cb), self);
  self->last_received = g_get_monotonic_time ();
  filer_frame_connection_start (self->frames);
  send_register (self);
}

static gboolean
no_key_cb (gpointer user_data)
{
  FilerDiscoveryConnection *self = user_data;

  fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NO_KEY,
                           "Device %s has no key: it cannot register with a discovery server",
                           filer_device_get_id (self->device)));
  return G_SOURCE_REMOVE;
}

/**
 * filer_discovery_connection_connect:
 * @host: an IP address or a name
 * @server_id: (nullable): the id the server's key must prove (pinned, or
 *   remembered from a probe), or %NULL for any server
 *
 * Connects, runs TLS and registers. What follows comes as signals:
 * ::registered and the peers, or ::closed (also when the server cannot
 * be reached or is not @server_id).
 */
void
filer_discovery_connection_connect (FilerDiscoveryConnection *self,
                                    const char               *host,
                                    guint16                   port,
                                    const char               *server_id)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) target = NULL;

  g_return_if_fail (FILER_IS_DISCOVERY_CONNECTION (self));
  g_return_if_fail (host != NULL);
  g_return_if_fail (self->frames == NULL && !self->closed);

  /* The server takes our id from our key (protocol version 2): a device
   * made from a bare id cannot register. From an idle, as ::closed is
   * never emitted from inside a call. */
  if (filer_device_get_identity (self->device) == NULL)
    {
      g_idle_add_full (G_PRIORITY_DEFAULT, no_key_cb, g_object_ref (self), g_object_unref);
      return;
    }

  /* A discovery server is on the LAN or public: never through a proxy
   * (and the proxy resolver would want GSettings schemas). */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT_S);
  if (self->local_address != NULL)
    {
      g_autoptr(GInetAddress) local = g_inet_address_new_from_string (self->local_address);
      g_autoptr(GSocketAddress) socket_address = NULL;

      if (local != NULL)
        {
          socket_address = g_inet_socket_address_new (local, 0);
          g_socket_client_set_local_address (client, socket_address);
        }
    }

  self->where = filer_net_format_host_port (host, port);
  self->expected_server_id = g_strdup (server_id);

  target = g_network_address_new (host, port);
  g_socket_client_connect_async (client, target, self->cancellable,
                                 connect_cb, g_object_ref (self));
}

/* --- Properties ---------------------------------------------------- */

/* Whether the server ended this connection because another registered
 * with our device id (after ::closed). */
gboolean
filer_discovery_connection_get_replaced (FilerDiscoveryConnection *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CONNECTION (self), FALSE);

  return self->replaced;
}

/* The id the server's key proved (after ::registered), or NULL. */
const char *
filer_discovery_connection_get_server_id (FilerDiscoveryConnection *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CONNECTION (self), NULL);

  return self->server_id;
}

/* The secret of our UDP bindings, from the welcome (or NULL: a server
 * that did not send one). */
const char *
filer_discovery_connection_get_bind_secret (FilerDiscoveryConnection *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CONNECTION (self), NULL);

  return self->bind_secret;
}

/* --- GObject ------------------------------------------------------- */

static void
filer_discovery_connection_dispose (GObject *object)
{
  FilerDiscoveryConnection *self = (FilerDiscoveryConnection *)object;

  teardown (self);

  G_OBJECT_CLASS (filer_discovery_connection_parent_class)->dispose (object);
}

static void
filer_discovery_connection_finalize (GObject *object)
{
  FilerDiscoveryConnection *self = (FilerDiscoveryConnection *)object;

  g_clear_object (&self->cancellable);
  g_clear_object (&self->device);
  g_clear_pointer (&self->room, g_free);
  g_clear_pointer (&self->local_address, g_free);
  g_clear_pointer (&self->where, g_free);
  g_clear_pointer (&self->expected_server_id, g_free);
  g_clear_pointer (&self->server_id, g_free);
  g_clear_pointer (&self->bind_secret, g_free);

  G_OBJECT_CLASS (filer_discovery_connection_parent_class)->finalize (object);
}

static void
filer_discovery_connection_class_init (FilerDiscoveryConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_discovery_connection_dispose;
  object_class->finalize = filer_discovery_connection_finalize;

  signals[REGISTERED] =
    g_signal_new ("registered",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  signals[PEER_CHANGED] =
    g_signal_new ("peer-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_PEER);

  signals[PEER_REMOVED] =
    g_signal_new ("peer-removed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  signals[SNAPSHOT_DONE] =
    g_signal_new ("snapshot-done",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
filer_discovery_connection_init (FilerDiscoveryConnection *self)
{
  self->cancellable = g_cancellable_new ();
  self->keepalive_ms = FILER_DISCOVERY_CONNECTION_DEFAULT_KEEPALIVE_MS;
}

/**
 * filer_discovery_connection_new:
 * @device: who registers
 * @room: (nullable): the room code to register with
 * @local_address: (nullable): the one address to connect from and to
 *   announce, or %NULL for all of the machine's
 * @transfer_port: our transfer listener's TCP port (0: none)
 */
FilerDiscoveryConnection *
filer_discovery_connection_new (FilerDevice *device,
                                const char  *room,
                                const char  *local_address,
                                guint        transfer_port)
{
  FilerDiscoveryConnection *self;

  g_return_val_if_fail (FILER_IS_DEVICE (device), NULL);
  g_return_val_if_fail (transfer_port <= G_MAXUINT16, NULL);

  self = g_object_new (FILER_TYPE_DISCOVERY_CONNECTION, NULL);
  self->device = g_object_ref (device);
  self->room = g_strdup (room);
  self->local_address = g_strdup (local_address);
  self->transfer_port = transfer_port;
  return self;
}
