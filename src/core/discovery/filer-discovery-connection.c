/* filer-discovery-connection.c: FilerDiscoveryClient's TCP connection to the server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "filer-discovery-client-private.h"
#include "filer-net.h"

/* One FilerFrameConnection to the server at a time: register, then the
 * welcome and the snapshot, then deltas and keepalives. Whatever goes
 * wrong ends in filer_discovery_client_fail(), which drops the
 * connection and schedules the next attempt. */

#define CONNECT_TIMEOUT_S 5

void
filer_discovery_client_drop_connection (FilerDiscoveryClient *self)
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

void
filer_discovery_client_send_update (FilerDiscoveryClient *self)
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
      filer_discovery_client_fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_TIMEOUT,
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
  filer_discovery_client_set_string_property (self, &self->public_address,
                                              filer_frame_get (frame, "public-address"), PROP_PUBLIC_ADDRESS);

  self->keepalive_ms = MAX (keepalive, 50);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  self->keepalive_id = g_timeout_add (self->keepalive_ms, keepalive_cb, self);

  self->snapshot_left = count;
  self->snapshot_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (count == 0)
    filer_discovery_client_finish_snapshot (self);

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

      filer_discovery_client_fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_REJECTED,
                                                      "The discovery server refused us: %s (%s)",
                                                      message ? message : "no reason given", code ? code : "?"));
      return;
    }

  if (g_str_equal (type, "welcome"))
    {
      if (!handle_welcome (self, frame, &error))
        filer_discovery_client_fail (self, g_steal_pointer (&error));
      return;
    }

  if (!self->registered)
    {
      filer_discovery_client_fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                                                      "The server sent “%s” before its welcome", type));
      return;
    }

  if (g_str_equal (type, "peer") && self->snapshot_ids != NULL)
    {
      if (!filer_discovery_client_upsert_peer (self, frame, &error))
        {
          filer_discovery_client_fail (self, g_steal_pointer (&error));
          return;
        }
      if (--self->snapshot_left == 0)
        filer_discovery_client_finish_snapshot (self);
    }
  else if (g_str_equal (type, "peer-joined") || g_str_equal (type, "peer-updated"))
    {
      if (!filer_discovery_client_upsert_peer (self, frame, &error))
        filer_discovery_client_fail (self, g_steal_pointer (&error));
    }
  else if (g_str_equal (type, "peer-left"))
    {
      const char *id = filer_frame_get (frame, "id");
      FilerPeer *peer = id ? g_hash_table_lookup (self->peers_by_id, id) : NULL;

      if (peer != NULL)
        filer_discovery_client_remove_peer (self, peer);
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
    filer_discovery_client_fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                                                    "Lost the discovery server: %s", error->message));
  else
    filer_discovery_client_fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
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
      filer_discovery_client_fail (self, g_steal_pointer (&error));
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

void
filer_discovery_client_connect_to (FilerDiscoveryClient *self,
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
  filer_discovery_client_set_string_property (self, &self->server_address, address, PROP_SERVER_ADDRESS);

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
