/* filer-discovery-client.c: registers with filer-server, keeps the peer list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-discovery-client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "filer-core-enums.h"
#include "filer-frame-connection.h"
#include "filer-frame-decoder.h"
#include "filer-net.h"
#include "filer-util.h"

/* The life of a client (docs/protocol.md §2):
 *
 *   start ──► [probe the LAN over UDP] ──► connect TCP ──► register
 *         ──► welcome + snapshot ──► ONLINE ──► deltas, keepalives …
 *
 * Any failure goes OFFLINE with an error and schedules a retry with
 * exponential backoff. The peer list survives a short outage: FilerPeer
 * objects are reconciled against the next snapshot (updated in place, so
 * a bound view does not flicker) and only cleared if the outage lasts
 * longer than STALE_TIMEOUT_MS.
 */

#define PROBE_TIMEOUT_MS     1000
#define PROBE_RESEND_MS      300
#define CONNECT_TIMEOUT_S    5
#define BACKOFF_INITIAL_MS   250
#define BACKOFF_MAX_MS       10000
#define STALE_TIMEOUT_MS     5000
#define DEFAULT_KEEPALIVE_MS 5000

struct _FilerDiscoveryClient
{
  GObject               parent_instance;

  /* Settings. */
  FilerDevice          *device;
  char                 *server;          /* "host:port", or NULL: auto-find */
  char                 *room;
  guint                 transfer_port;
  char                 *local_address;
  char                **probe_targets;   /* NULL: loopback + broadcast */

  /* The peer list. */
  GListStore           *peers;
  GHashTable           *peers_by_id;     /* id -> FilerPeer* (borrowed from the store) */

  /* State. */
  gboolean              started;
  FilerDiscoveryState   state;
  GError               *error;
  char                 *public_address;
  char                 *server_address;

  /* One attempt at a time; cancelled by stop and dispose. */
  GCancellable         *cancellable;
  GSocket              *probe_socket;
  GSource              *probe_source;
  guint                 probe_resend_id;
  guint                 probe_timeout_id;
  FilerFrameConnection *connection;
  gboolean              registered;      /* welcome received */
  guint                 snapshot_left;
  GHashTable           *snapshot_ids;

  guint                 keepalive_ms;
  guint                 keepalive_id;
  gint64                last_received;

  guint                 backoff_ms;
  guint                 retry_id;
  guint                 stale_id;
};

G_DEFINE_FINAL_TYPE (FilerDiscoveryClient, filer_discovery_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DEVICE,
  PROP_SERVER,
  PROP_ROOM,
  PROP_TRANSFER_PORT,
  PROP_LOCAL_ADDRESS,
  PROP_PROBE_TARGETS,
  PROP_STATE,
  PROP_ERROR,
  PROP_PUBLIC_ADDRESS,
  PROP_SERVER_ADDRESS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  PEER_JOINED,
  PEER_LEFT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void attempt            (FilerDiscoveryClient *self);
static void fail               (FilerDiscoveryClient *self,
                                GError               *error);

/* ------------------------------------------------------------------ */
/* State                                                                */

static void
set_state (FilerDiscoveryClient *self,
           FilerDiscoveryState   state,
           GError               *error)   /* (transfer full) (nullable) */
{
  gboolean error_changed = self->error != NULL || error != NULL;

  g_clear_error (&self->error);
  self->error = error;

  g_object_freeze_notify (G_OBJECT (self));
  if (error_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
set_string_property (FilerDiscoveryClient  *self,
                     char                 **field,
                     const char            *value,
                     guint                  prop_id)
{
  if (filer_set_string (field, value))
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

/* ------------------------------------------------------------------ */
/* The peer list                                                        */

static void
remove_peer (FilerDiscoveryClient *self,
             FilerPeer            *peer)
{
  g_autoptr(FilerPeer) hold = g_object_ref (peer);
  guint position;

  g_hash_table_remove (self->peers_by_id, filer_peer_get_id (peer));
  if (g_list_store_find (self->peers, peer, &position))
    g_list_store_remove (self->peers, position);

  g_signal_emit (self, signals[PEER_LEFT], 0, peer);
}

static void
clear_peers (FilerDiscoveryClient *self)
{
  while (g_list_model_get_n_items (G_LIST_MODEL (self->peers)) > 0)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), 0);

      remove_peer (self, peer);
    }
}

static gboolean
upsert_peer (FilerDiscoveryClient  *self,
             FilerFrame            *frame,
             GError               **error)
{
  const char *id = filer_frame_get (frame, "id");
  const char *addresses = filer_frame_get (frame, "addresses");
  const char *network = filer_frame_get (frame, "network");
  g_auto(GStrv) address_list = NULL;
  FilerPeer *peer;
  gboolean is_new = FALSE;
  guint64 port = 0;

  if (id == NULL || *id == '\0' ||
      (filer_frame_get (frame, "port") != NULL &&
       !filer_frame_get_uint (frame, "port", G_MAXUINT16, &port, NULL)))
    {
      g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                   "The server sent a malformed “%s” message",
                   filer_frame_get_message_type (frame));
      return FALSE;
    }

  peer = g_hash_table_lookup (self->peers_by_id, id);
  if (peer == NULL)
    {
      peer = filer_peer_new (id);
      is_new = TRUE;
    }

  if (addresses != NULL && *addresses != '\0')
    address_list = g_strsplit (addresses, ",", -1);

  g_object_freeze_notify (G_OBJECT (peer));
  filer_peer_set_name (peer, filer_frame_get (frame, "name"));
  filer_peer_set_kind (peer, filer_frame_get (frame, "kind"));
  filer_peer_set_port (peer, port);
  filer_peer_set_addresses (peer, (const char * const *)address_list);
  filer_peer_set_public_address (peer, filer_frame_get (frame, "public-address"));
  filer_peer_set_network (peer, g_strcmp0 (network, "remote") == 0 ? FILER_PEER_NETWORK_REMOTE
                                                                    : FILER_PEER_NETWORK_LAN);
  g_object_thaw_notify (G_OBJECT (peer));

  if (self->snapshot_ids != NULL)
    g_hash_table_add (self->snapshot_ids, g_strdup (id));

  if (is_new)
    {
      g_hash_table_insert (self->peers_by_id, (char *)filer_peer_get_id (peer), peer);
      g_list_store_append (self->peers, peer);
      g_signal_emit (self, signals[PEER_JOINED], 0, peer);
      g_object_unref (peer);
    }

  return TRUE;
}

/* The snapshot is complete: whoever was listed before and is not in it
 * has gone while we were away. */
static void
finish_snapshot (FilerDiscoveryClient *self)
{
  g_autoptr(GHashTable) seen = g_steal_pointer (&self->snapshot_ids);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));

  for (guint i = 0; i < n; i++)
    {
      FilerPeer *peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);

      if (!g_hash_table_contains (seen, filer_peer_get_id (peer)))
        g_ptr_array_add (gone, peer);
      else
        g_object_unref (peer);
    }

  for (guint i = 0; i < gone->len; i++)
    remove_peer (self, g_ptr_array_index (gone, i));

  g_clear_handle_id (&self->stale_id, g_source_remove);
  self->backoff_ms = 0;
  set_state (self, FILER_DISCOVERY_STATE_ONLINE, NULL);
}

static gboolean
stale_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;

  self->stale_id = 0;
  g_debug ("Offline for %u ms: forgetting the peer list", STALE_TIMEOUT_MS);
  clear_peers (self);

  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* The connection                                                       */

static void
drop_connection (FilerDiscoveryClient *self)
{
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_pointer (&self->snapshot_ids, g_hash_table_unref);
  self->registered = FALSE;

  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      filer_frame_connection_close (self->connection);
      g_clear_object (&self->connection);
    }
}

static void
send_register (FilerDiscoveryClient *self)
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

  filer_frame_set_uint (frame, "version", 1);
  filer_frame_set (frame, "id", filer_device_get_id (self->device));
  filer_frame_set (frame, "name", filer_device_get_name (self->device));
  filer_frame_set (frame, "kind", filer_device_get_kind (self->device));
  filer_frame_set_uint (frame, "port", self->transfer_port);
  filer_frame_set (frame, "addresses", joined);
  if (self->room != NULL && *self->room != '\0')
    filer_frame_set (frame, "room", self->room);

  filer_frame_connection_send (self->connection, frame);
}

static void
send_update (FilerDiscoveryClient *self)
{
  g_autoptr(FilerFrame) frame = NULL;

  if (!self->registered)
    return;

  frame = filer_frame_new ("update");
  filer_frame_set (frame, "name", filer_device_get_name (self->device));
  filer_frame_set (frame, "kind", filer_device_get_kind (self->device));
  filer_frame_set_uint (frame, "port", self->transfer_port);
  filer_frame_connection_send (self->connection, frame);
}

static gboolean
keepalive_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;
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
  filer_frame_connection_send (self->connection, ping);
  return G_SOURCE_CONTINUE;
}

static gboolean
handle_welcome (FilerDiscoveryClient  *self,
                FilerFrame            *frame,
                GError               **error)
{
  guint64 count = 0;
  guint64 keepalive = DEFAULT_KEEPALIVE_MS;

  if (self->registered ||
      !filer_frame_get_uint (frame, "count", G_MAXUINT32, &count, NULL) ||
      (filer_frame_get (frame, "keepalive-ms") != NULL &&
       !filer_frame_get_uint (frame, "keepalive-ms", 3600 * 1000, &keepalive, NULL)))
    {
      g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                   "The server sent a malformed welcome");
      return FALSE;
    }

  self->registered = TRUE;
  set_string_property (self, &self->public_address,
                       filer_frame_get (frame, "public-address"), PROP_PUBLIC_ADDRESS);

  self->keepalive_ms = MAX (keepalive, 50);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  self->keepalive_id = g_timeout_add (self->keepalive_ms, keepalive_cb, self);

  self->snapshot_left = count;
  self->snapshot_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (count == 0)
    finish_snapshot (self);

  return TRUE;
}

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   FilerDiscoveryClient *self)
{
  g_autoptr(GError) error = NULL;
  const char *type = filer_frame_get_message_type (frame);

  self->last_received = g_get_monotonic_time ();

  if (type == NULL)
    type = "";

  if (g_str_equal (type, "ping"))
    {
      g_autoptr(FilerFrame) pong = filer_frame_new ("pong");

      filer_frame_connection_send (self->connection, pong);
      return;
    }

  if (g_str_equal (type, "pong"))
    return;

  if (g_str_equal (type, "error"))
    {
      const char *code = filer_frame_get (frame, "code");
      const char *message = filer_frame_get (frame, "message");

      /* Another process registered with our device id. Coming back
       * would only push it out in turn, for ever: give up instead. */
      if (g_strcmp0 (code, "replaced") == 0)
        self->started = FALSE;

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

  if (g_str_equal (type, "peer") && self->snapshot_ids != NULL)
    {
      if (!upsert_peer (self, frame, &error))
        {
          fail (self, g_steal_pointer (&error));
          return;
        }
      if (--self->snapshot_left == 0)
        finish_snapshot (self);
    }
  else if (g_str_equal (type, "peer-joined") || g_str_equal (type, "peer-updated"))
    {
      if (!upsert_peer (self, frame, &error))
        fail (self, g_steal_pointer (&error));
    }
  else if (g_str_equal (type, "peer-left"))
    {
      const char *id = filer_frame_get (frame, "id");
      FilerPeer *peer = id ? g_hash_table_lookup (self->peers_by_id, id) : NULL;

      if (peer != NULL)
        remove_peer (self, peer);
    }
  else
    g_debug ("Ignoring a “%s” message from the discovery server", type);
}

static void
closed_cb (FilerFrameConnection *connection,
           const GError         *error,
           FilerDiscoveryClient *self)
{
  if (error != NULL)
    fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                             "Lost the discovery server: %s", error->message));
  else
    fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                             "The discovery server closed the connection"));
}

/* A connect in flight must not touch a client that was stopped or
 * disposed meanwhile: stop() cancels the cancellable before anything is
 * freed, so "not cancelled" means "self is alive". */
typedef struct
{
  FilerDiscoveryClient *self;          /* unowned */
  GCancellable         *cancellable;   /* owned */
} Connecting;

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Connecting *connecting = user_data;
  g_autoptr(GCancellable) cancellable = connecting->cancellable;
  FilerDiscoveryClient *self = connecting->self;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  g_free (connecting);

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &error);
  if (g_cancellable_is_cancelled (cancellable))
    return;

  if (connection == NULL)
    {

      g_prefix_error (&error, "Cannot reach the discovery server at %s: ", self->server_address);
      fail (self, g_steal_pointer (&error));
      return;
    }

  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  /* The connect timeout would otherwise apply to every later read, and
   * a quiet server is fine: keepalives judge liveness. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 0);

  self->connection = filer_frame_connection_new (G_IO_STREAM (connection));
  g_signal_connect (self->connection, "frame-received", G_CALLBACK (frame_received_cb), self);
  g_signal_connect (self->connection, "closed", G_CALLBACK (closed_cb), self);
  self->last_received = g_get_monotonic_time ();
  filer_frame_connection_start (self->connection);
  send_register (self);
}

static void
connect_to (FilerDiscoveryClient *self,
            const char           *host,
            guint16               port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autofree char *address = NULL;
  Connecting *connecting;

  if (strchr (host, ':') != NULL)
    address = g_strdup_printf ("[%s]:%u", host, port);
  else
    address = g_strdup_printf ("%s:%u", host, port);
  set_string_property (self, &self->server_address, address, PROP_SERVER_ADDRESS);

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

  connecting = g_new0 (Connecting, 1);
  connecting->self = self;
  connecting->cancellable = g_object_ref (self->cancellable);
  g_socket_client_connect_to_host_async (client, host, port, self->cancellable,
                                         connect_cb, connecting);
}

/* ------------------------------------------------------------------ */
/* Auto-find                                                            */

static void
stop_probe (FilerDiscoveryClient *self)
{
  g_clear_handle_id (&self->probe_resend_id, g_source_remove);
  g_clear_handle_id (&self->probe_timeout_id, g_source_remove);
  if (self->probe_source != NULL)
    {
      g_source_destroy (self->probe_source);
      g_clear_pointer (&self->probe_source, g_source_unref);
    }
  if (self->probe_socket != NULL)
    {
      g_socket_close (self->probe_socket, NULL);
      g_clear_object (&self->probe_socket);
    }
}

static char **
probe_targets (FilerDiscoveryClient *self)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) broadcasts = NULL;

  if (self->probe_targets != NULL)
    return g_strdupv (self->probe_targets);

  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, "127.0.0.1");
  broadcasts = filer_net_get_broadcast_addresses ();
  g_strv_builder_addv (builder, (const char **)broadcasts);

  return g_strv_builder_end (builder);
}

static gboolean
send_probes_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;
  g_autoptr(FilerFrame) probe = filer_frame_new ("probe");
  g_autoptr(GBytes) bytes = NULL;
  g_auto(GStrv) targets = probe_targets (self);

  filer_frame_set_uint (probe, "version", 1);
  bytes = filer_frame_encode (probe, NULL);

  for (guint i = 0; targets[i]; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GInetAddress) address = NULL;
      g_autoptr(GSocketAddress) to = NULL;
      g_autofree char *host = NULL;
      guint16 port;

      if (!filer_net_parse_host_port (targets[i], FILER_DISCOVERY_DEFAULT_PORT,
                                      &host, &port, &error) ||
          (address = g_inet_address_new_from_string (host)) == NULL ||
          g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
        {
          g_debug ("Skipping probe target “%s”", targets[i]);
          continue;
        }

      to = g_inet_socket_address_new (address, port);
      if (g_socket_send_to (self->probe_socket, to,
                            g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                            NULL, &error) < 0)
        g_debug ("Probe to %s failed: %s", targets[i], error->message);
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
probe_reply_cb (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  FilerDiscoveryClient *self = user_data;
  guint8 buffer[4096];

  for (;;)
    {
      g_autoptr(FilerFrameDecoder) decoder = NULL;
      g_autoptr(FilerFrame) frame = NULL;
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *host = NULL;
      guint64 port;
      gssize length;

      length = g_socket_receive_from (socket, &from, (char *)buffer, sizeof buffer, NULL, &error);
      if (length < 0)
        return G_SOURCE_CONTINUE;

      decoder = filer_frame_decoder_new (sizeof buffer);
      filer_frame_decoder_feed (decoder, buffer, length);
      frame = filer_frame_decoder_next (decoder, NULL);
      if (frame == NULL || !filer_frame_is (frame, "probe-reply") ||
          !filer_frame_get_uint (frame, "port", G_MAXUINT16, &port, NULL) || port == 0 ||
          !G_IS_INET_SOCKET_ADDRESS (from))
        {
          g_debug ("Ignoring a malformed probe reply");
          continue;
        }

      host = filer_net_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));
      g_debug ("Found a discovery server at %s, TCP port %u", host, (guint)port);

      /* Destroys this source: do not touch @socket afterwards. */
      stop_probe (self);
      connect_to (self, host, port);
      return G_SOURCE_REMOVE;
    }
}

static gboolean
probe_timeout_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;

  self->probe_timeout_id = 0;
  stop_probe (self);
  fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND,
                           "No discovery server found on the local network"));
  return G_SOURCE_REMOVE;
}

static void
start_probe (FilerDiscoveryClient *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  set_string_property (self, &self->server_address, NULL, PROP_SERVER_ADDRESS);

  self->probe_socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                     G_SOCKET_PROTOCOL_UDP, &error);
  if (self->probe_socket == NULL)
    {
      fail (self, g_steal_pointer (&error));
      return;
    }

  if (self->local_address != NULL)
    any = g_inet_address_new_from_string (self->local_address);
  if (any == NULL)
    any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  local = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (self->probe_socket, local, FALSE, &error))
    {
      g_clear_object (&self->probe_socket);
      fail (self, g_steal_pointer (&error));
      return;
    }
  g_socket_set_broadcast (self->probe_socket, TRUE);
  g_socket_set_blocking (self->probe_socket, FALSE);

  self->probe_source = g_socket_create_source (self->probe_socket, G_IO_IN, NULL);
  g_source_set_callback (self->probe_source, (GSourceFunc)(void (*)(void))probe_reply_cb,
                         self, NULL);
  g_source_attach (self->probe_source, g_main_context_get_thread_default ());

  /* A datagram may be lost: say it three times. */
  send_probes_cb (self);
  self->probe_resend_id = g_timeout_add (PROBE_RESEND_MS, send_probes_cb, self);
  self->probe_timeout_id = g_timeout_add (PROBE_TIMEOUT_MS, probe_timeout_cb, self);
}

/* ------------------------------------------------------------------ */
/* Attempts and retries                                                 */

static gboolean
retry_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;

  self->retry_id = 0;
  attempt (self);
  return G_SOURCE_REMOVE;
}

static void
attempt (FilerDiscoveryClient *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  guint16 port;

  set_state (self, FILER_DISCOVERY_STATE_CONNECTING, g_steal_pointer (&self->error));

  if (self->server == NULL)
    {
      start_probe (self);
      return;
    }

  if (!filer_net_parse_host_port (self->server, FILER_DISCOVERY_DEFAULT_PORT,
                                  &host, &port, &error))
    {
      fail (self, g_steal_pointer (&error));
      return;
    }

  connect_to (self, host, port);
}

/* Ends the current attempt or connection and schedules the next. */
static void
fail (FilerDiscoveryClient *self,
      GError               *error)   /* (transfer full) */
{
  gboolean was_online = self->state == FILER_DISCOVERY_STATE_ONLINE;
  guint delay;

  g_debug ("Discovery: %s", error->message);

  stop_probe (self);
  drop_connection (self);

  if (was_online && self->stale_id == 0)
    self->stale_id = g_timeout_add (STALE_TIMEOUT_MS, stale_cb, self);

  set_state (self, FILER_DISCOVERY_STATE_OFFLINE, error);

  if (!self->started)
    return;

  /* Exponential backoff with ±25 % jitter, so that many clients of a
   * restarted server do not come back in lockstep. */
  self->backoff_ms = self->backoff_ms == 0 ? BACKOFF_INITIAL_MS
                                           : MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
  delay = self->backoff_ms * g_random_double_range (0.75, 1.25);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay, retry_cb, self);
}

void
filer_discovery_client_start (FilerDiscoveryClient *self)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  if (self->started)
    return;

  self->started = TRUE;
  self->backoff_ms = 0;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  attempt (self);
}

void
filer_discovery_client_stop (FilerDiscoveryClient *self)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  self->started = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->stale_id, g_source_remove);
  stop_probe (self);
  drop_connection (self);
  clear_peers (self);
  set_state (self, FILER_DISCOVERY_STATE_OFFLINE, NULL);
}

/* ------------------------------------------------------------------ */
/* GObject                                                              */

static void
device_changed_cb (FilerDevice          *device,
                   GParamSpec           *pspec,
                   FilerDiscoveryClient *self)
{
  send_update (self);
}

static void
filer_discovery_client_constructed (GObject *object)
{
  FilerDiscoveryClient *self = (FilerDiscoveryClient *)object;

  G_OBJECT_CLASS (filer_discovery_client_parent_class)->constructed (object);

  g_assert (FILER_IS_DEVICE (self->device));
  g_signal_connect_object (self->device, "notify::name", G_CALLBACK (device_changed_cb), self, 0);
  g_signal_connect_object (self->device, "notify::kind", G_CALLBACK (device_changed_cb), self, 0);
}

static void
filer_discovery_client_dispose (GObject *object)
{
  FilerDiscoveryClient *self = (FilerDiscoveryClient *)object;

  if (self->cancellable != NULL)
    filer_discovery_client_stop (self);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (filer_discovery_client_parent_class)->dispose (object);
}

static void
filer_discovery_client_finalize (GObject *object)
{
  FilerDiscoveryClient *self = (FilerDiscoveryClient *)object;

  g_clear_object (&self->device);
  g_clear_pointer (&self->server, g_free);
  g_clear_pointer (&self->room, g_free);
  g_clear_pointer (&self->local_address, g_free);
  g_clear_pointer (&self->probe_targets, g_strfreev);
  g_clear_object (&self->peers);
  g_clear_pointer (&self->peers_by_id, g_hash_table_unref);
  g_clear_error (&self->error);
  g_clear_pointer (&self->public_address, g_free);
  g_clear_pointer (&self->server_address, g_free);

  G_OBJECT_CLASS (filer_discovery_client_parent_class)->finalize (object);
}

static void
filer_discovery_client_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  FilerDiscoveryClient *self = FILER_DISCOVERY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_DEVICE:
      g_value_set_object (value, self->device);
      break;

    case PROP_SERVER:
      g_value_set_string (value, self->server);
      break;

    case PROP_ROOM:
      g_value_set_string (value, self->room);
      break;

    case PROP_TRANSFER_PORT:
      g_value_set_uint (value, self->transfer_port);
      break;

    case PROP_LOCAL_ADDRESS:
      g_value_set_string (value, self->local_address);
      break;

    case PROP_PROBE_TARGETS:
      g_value_set_boxed (value, self->probe_targets);
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;

    case PROP_PUBLIC_ADDRESS:
      g_value_set_string (value, self->public_address);
      break;

    case PROP_SERVER_ADDRESS:
      g_value_set_string (value, self->server_address);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_discovery_client_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  FilerDiscoveryClient *self = FILER_DISCOVERY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_DEVICE:
      self->device = g_value_dup_object (value);
      break;

    case PROP_SERVER:
      filer_discovery_client_set_server (self, g_value_get_string (value));
      break;

    case PROP_ROOM:
      filer_discovery_client_set_room (self, g_value_get_string (value));
      break;

    case PROP_TRANSFER_PORT:
      filer_discovery_client_set_transfer_port (self, g_value_get_uint (value));
      break;

    case PROP_LOCAL_ADDRESS:
      filer_discovery_client_set_local_address (self, g_value_get_string (value));
      break;

    case PROP_PROBE_TARGETS:
      filer_discovery_client_set_probe_targets (self, g_value_get_boxed (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_discovery_client_class_init (FilerDiscoveryClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = filer_discovery_client_constructed;
  object_class->dispose = filer_discovery_client_dispose;
  object_class->finalize = filer_discovery_client_finalize;
  object_class->get_property = filer_discovery_client_get_property;
  object_class->set_property = filer_discovery_client_set_property;

  properties[PROP_DEVICE] =
    g_param_spec_object ("device", NULL, NULL,
                         FILER_TYPE_DEVICE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDiscoveryClient:server:
   *
   * "HOST:PORT" of the discovery server, or %NULL to find one on the LAN.
   * Takes effect at the next (re)connection.
   */
  properties[PROP_SERVER] =
    g_param_spec_string ("server", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDiscoveryClient:room:
   *
   * A room code: peers in the same room see each other across networks.
   * Takes effect at the next (re)connection.
   */
  properties[PROP_ROOM] =
    g_param_spec_string ("room", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDiscoveryClient:transfer-port:
   *
   * The TCP port our transfer listener accepts on (0: none). Changing it
   * while online tells the server at once.
   */
  properties[PROP_TRANSFER_PORT] =
    g_param_spec_uint ("transfer-port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDiscoveryClient:local-address:
   *
   * The IP address to connect and probe from, or %NULL for any. When
   * set, it is also the only address announced to peers. Tests use it to
   * appear from different 127.x addresses.
   */
  properties[PROP_LOCAL_ADDRESS] =
    g_param_spec_string ("local-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDiscoveryClient:probe-targets:
   *
   * Where auto-find sends its UDP probe ("IPV4:PORT" each). %NULL means
   * 127.0.0.1 and the broadcast address of every interface, on port
   * 47800. Tests set loopback targets so they never broadcast.
   */
  properties[PROP_PROBE_TARGETS] =
    g_param_spec_boxed ("probe-targets", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       FILER_TYPE_DISCOVERY_STATE,
                       FILER_DISCOVERY_STATE_OFFLINE,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDiscoveryClient:error:
   *
   * Why we are offline (or why the last connection ended); %NULL once
   * online.
   */
  properties[PROP_ERROR] =
    g_param_spec_boxed ("error", NULL, NULL,
                        G_TYPE_ERROR,
                        (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_PUBLIC_ADDRESS] =
    g_param_spec_string ("public-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_SERVER_ADDRESS] =
    g_param_spec_string ("server-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[PEER_JOINED] =
    g_signal_new ("peer-joined",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_PEER);

  signals[PEER_LEFT] =
    g_signal_new ("peer-left",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_PEER);
}

static void
filer_discovery_client_init (FilerDiscoveryClient *self)
{
  self->peers = g_list_store_new (FILER_TYPE_PEER);
  self->peers_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->keepalive_ms = DEFAULT_KEEPALIVE_MS;
}

FilerDiscoveryClient *
filer_discovery_client_new (FilerDevice *device)
{
  g_return_val_if_fail (FILER_IS_DEVICE (device), NULL);

  return g_object_new (FILER_TYPE_DISCOVERY_CLIENT, "device", device, NULL);
}

FilerDevice *
filer_discovery_client_get_device (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->device;
}

GListModel *
filer_discovery_client_get_peers (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return G_LIST_MODEL (self->peers);
}

FilerPeer *
filer_discovery_client_lookup_peer (FilerDiscoveryClient  *self,
                                    const char            *id_or_name,
                                    GError               **error)
{
  FilerPeer *found = NULL;
  guint n_found = 0;
  guint n;

  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);

  found = g_hash_table_lookup (self->peers_by_id, id_or_name);
  if (found != NULL)
    return found;

  /* Names are for humans: match them ignoring case, and refuse to guess
   * between two devices of the same name. */
  n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);
      g_autofree char *a = g_utf8_casefold (filer_peer_get_name (peer), -1);
      g_autofree char *b = g_utf8_casefold (id_or_name, -1);

      if (g_str_equal (a, b))
        {
          found = peer;
          n_found++;
        }
    }

  if (n_found == 1)
    return found;

  if (n_found > 1)
    g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_AMBIGUOUS,
                 "%u peers are called “%s”; use the peer’s id", n_found, id_or_name);
  else
    g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NO_SUCH_PEER,
                 "No peer “%s” is online", id_or_name);
  return NULL;
}

FilerDiscoveryState
filer_discovery_client_get_state (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), FILER_DISCOVERY_STATE_OFFLINE);

  return self->state;
}

const GError *
filer_discovery_client_get_error (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->error;
}

const char *
filer_discovery_client_get_public_address (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->public_address;
}

const char *
filer_discovery_client_get_server_address (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->server_address;
}

const char *
filer_discovery_client_get_server (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->server;
}

void
filer_discovery_client_set_server (FilerDiscoveryClient *self,
                                   const char           *server)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  if (server != NULL && *server == '\0')
    server = NULL;

  set_string_property (self, &self->server, server, PROP_SERVER);
}

const char *
filer_discovery_client_get_room (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->room;
}

void
filer_discovery_client_set_room (FilerDiscoveryClient *self,
                                 const char           *room)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  if (room != NULL && *room == '\0')
    room = NULL;

  set_string_property (self, &self->room, room, PROP_ROOM);
}

guint
filer_discovery_client_get_transfer_port (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), 0);

  return self->transfer_port;
}

void
filer_discovery_client_set_transfer_port (FilerDiscoveryClient *self,
                                          guint                 port)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));
  g_return_if_fail (port <= G_MAXUINT16);

  if (self->transfer_port == port)
    return;

  self->transfer_port = port;
  send_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSFER_PORT]);
}

const char *
filer_discovery_client_get_local_address (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->local_address;
}

void
filer_discovery_client_set_local_address (FilerDiscoveryClient *self,
                                          const char           *address)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  set_string_property (self, &self->local_address, address, PROP_LOCAL_ADDRESS);
}

const char * const *
filer_discovery_client_get_probe_targets (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return (const char * const *)self->probe_targets;
}

void
filer_discovery_client_set_probe_targets (FilerDiscoveryClient *self,
                                          const char * const   *targets)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  if (self->probe_targets == NULL && targets == NULL)
    return;
  if (self->probe_targets != NULL && targets != NULL &&
      g_strv_equal ((const char * const *)self->probe_targets, targets))
    return;

  g_strfreev (self->probe_targets);
  self->probe_targets = g_strdupv ((char **)targets);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROBE_TARGETS]);
}
