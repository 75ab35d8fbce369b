/* filer-server.c: the discovery server (TCP peer list + UDP datagrams)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "filer-discovery-error.h"
#include "filer-socket.h"
#include "filer-server-private.h"
#include "filer-tls.h"

/* How it works (docs/protocol.md §2 is the wire contract):
 *
 * This file is the object: its settings, the listening sockets, accepting
 * connections (filer-server-admission.c decides who stays), the idle sweep and the
 * public calls the NAT code uses. The rest is split by seam:
 *
 *   filer-server-admission.c   per-origin limits: who gets a connection
 *   filer-server-client.c      one TCP client: register, update, kick, drop
 *   filer-server-visibility.c  network and room groups: who sees whom
 *   filer-server-datagram.c    the UDP socket and its dispatch table
 *
 * Every TCP connection is a Client with its own FilerFrameConnection.
 * The first frame must be "register"; the client then belongs to one
 * network group (keyed by its public address, or "private" for loopback
 * and private source addresses) and optionally one room group. The peers
 * a client sees are the union of its two groups, computed on demand, so
 * a join or leave costs O(size of the groups), never O(all clients).
 *
 * A client that misbehaves is closed; nothing it sends can reach past its
 * own Client. One timer sweeps all clients for silence, so there is no
 * per-client timer to reset on every frame.
 *
 * UDP datagrams are frames too, dispatched by their "type" through a
 * table that other files extend (filer_server_add_datagram_handler()).
 */

/* How long a client we closed may take to flush its error frame. */
#define DYING_GRACE_US (2 * G_USEC_PER_SEC)

G_DEFINE_FINAL_TYPE (FilerServer, filer_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BIND_ADDRESS,
  PROP_PORT,
  PROP_IDLE_TIMEOUT,
  PROP_MAX_PER_ADDRESS,
  PROP_LOOPBACK_IS_PUBLIC,
  PROP_LINK_IS_ONE_NETWORK,
  PROP_IDENTITY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ------------------------------------------------------------------ */
/* Clients: accept and sweep                                            */

/* At most this many accepts a wakeup, so that a flood of connections
 * shares the loop with the clients already here. */
#define ACCEPTS_PER_WAKEUP 128
/* Out of descriptors: how long to leave the backlog alone. */
#define ACCEPT_PAUSE_MS 250

static gboolean accept_cb (GSocket      *socket,
                           GIOCondition  condition,
                           gpointer      user_data);

static void
watch_accepts (FilerServer *self)
{
  self->accept_source = g_socket_create_source (self->tcp_socket, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, (GSourceFunc)(void (*)(void))accept_cb, self, NULL);
  g_source_attach (self->accept_source, g_main_context_get_thread_default ());
}

static gboolean
accept_resume_cb (gpointer user_data)
{
  FilerServer *self = user_data;

  self->accept_pause_id = 0;
  watch_accepts (self);
  return G_SOURCE_REMOVE;
}

static void
admit (FilerServer *self,
       GSocket     *socket)
{
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) too_many = g_ptr_array_new ();
  g_autoptr(GPtrArray) busy = g_ptr_array_new ();
  Client *client;
  Origin *origin;

  remote = g_socket_get_remote_address (socket, &error);
  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_debug ("Dropping a connection without a peer address: %s",
               error ? error->message : "not an inet address");
      g_socket_close (socket, NULL);
      return;
    }

  /* Out of tokens: closed before it costs anything (no TLS, no table). */
  origin = _filer_server_admission_take (self, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  if (origin == NULL)
    {
      g_socket_close (socket, NULL);
      return;
    }

  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  client = _filer_server_client_new (self, connection, remote);
  g_hash_table_add (self->clients, client);
  _filer_server_admission_add (client, origin, too_many, busy);

  /* The oldest unregistered connections that made room for it. Kicking
   * may drop a client at once: keep the tables still. */
  self->busy++;
  for (guint i = 0; i < too_many->len; i++)
    _filer_server_client_kick (g_ptr_array_index (too_many, i), "too-many-connections",
                               "Too many unregistered connections from your address");
  for (guint i = 0; i < busy->len; i++)
    _filer_server_client_kick (g_ptr_array_index (busy, i), "busy",
                               "Too many unregistered connections: try again");
  self->busy--;

  _filer_server_client_start (client);
}

/* Accepts what the backlog holds (up to ACCEPTS_PER_WAKEUP), not one
 * connection a main-loop iteration as GSocketService does. */
static gboolean
accept_cb (GSocket      *listener,
           GIOCondition  condition,
           gpointer      user_data)
{
  FilerServer *self = user_data;

  for (guint i = 0; i < ACCEPTS_PER_WAKEUP; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) socket = g_socket_accept (listener, NULL, &error);

      if (socket != NULL)
        {
          admit (self, socket);
          continue;
        }

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;

      /* EMFILE and its kind: the connection stays in the backlog, and
       * the listener stays readable. Wait instead of spinning. */
      g_message ("Cannot accept a connection: %s", error->message);
      self->accept_pause_id = g_timeout_add (ACCEPT_PAUSE_MS, accept_resume_cb, self);
      g_source_unref (g_steal_pointer (&self->accept_source));
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
sweep_cb (gpointer user_data)
{
  FilerServer *self = user_data;
  g_autoptr(GPtrArray) silent = g_ptr_array_new ();
  g_autoptr(GPtrArray) stuck = g_ptr_array_new ();
  gint64 now = g_get_monotonic_time ();
  gint64 idle_us = (gint64)self->idle_timeout_ms * 1000;
  /* A client in its handshake has the handshake's own timeout too (a
   * short idle timeout must not cut a slow handshake). */
  gint64 handshake_us = (gint64)FILER_TLS_HANDSHAKE_TIMEOUT_MS * 1000 + G_USEC_PER_SEC;
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->clients);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Client *client = key;

      if (client->dying_since != 0)
        {
          if (now - client->dying_since > DYING_GRACE_US)
            g_ptr_array_add (stuck, client);
        }
      else if (now - client->last_seen > idle_us &&
               (client->connection != NULL || client->peek_source != NULL ||
                now - client->last_seen > handshake_us))
        g_ptr_array_add (silent, client);
    }

  /* Kicking may close a connection at once: keep the tables still. */
  self->busy++;
  for (guint i = 0; i < silent->len; i++)
    {
      Client *client = g_ptr_array_index (silent, i);

      g_debug ("%s: silent for %u ms", client->source, self->idle_timeout_ms);
      _filer_server_client_kick (client, "timeout", "No message within the idle timeout");
    }

  /* A client that will not even take its error frame: cut it off. */
  for (guint i = 0; i < stuck->len; i++)
    {
      Client *client = g_ptr_array_index (stuck, i);

      g_io_stream_close (G_IO_STREAM (client->socket_connection), NULL, NULL);
      _filer_server_client_queue_drop (client);
    }
  self->busy--;

  _filer_server_admission_sweep (self, now);

  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                       */

static GSocket *
bind_socket (GInetAddress  *address,
             guint          port,
             GSocketType    type,
             GError       **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;

  socket = g_socket_new (g_inet_address_get_family (address), type,
                         type == G_SOCKET_TYPE_STREAM ? G_SOCKET_PROTOCOL_TCP
                                                      : G_SOCKET_PROTOCOL_UDP,
                         error);
  if (socket == NULL)
    return NULL;

  socket_address = g_inet_socket_address_new (address, port);

  /* TCP may reuse a port in TIME_WAIT (a restarted server); UDP must not
   * share the port with another server (GLib would set SO_REUSEPORT). */
  if (!g_socket_bind (socket, socket_address, type == G_SOCKET_TYPE_STREAM, error))
    return NULL;

  if (type == G_SOCKET_TYPE_STREAM)
    {
      g_socket_set_listen_backlog (socket, 4096);
      if (!g_socket_listen (socket, error))
        return NULL;
    }
  else
    {
      g_socket_set_broadcast (socket, TRUE);
      /* Read until WOULD_BLOCK, never wait in the callback. */
      g_socket_set_blocking (socket, FALSE);
      /* NAT relay (filer-rendezvous-server.c): room for bursts of relayed
       * datagrams; the stream recovers from lost bursts slowly. */
      filer_socket_set_buffers (socket);
    }

  return g_steal_pointer (&socket);
}

static guint
socket_port (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);

  return local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

gboolean
filer_server_start (FilerServer  *self,
                    GError      **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocket) tcp = NULL;
  g_autoptr(GSocket) udp = NULL;
  guint sweep_ms;

  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (self->tcp_socket == NULL, FALSE);

  /* No key given (a test, a throwaway server): one for this run. */
  if (self->identity == NULL)
    {
      self->identity = filer_identity_new_ephemeral (error);
      if (self->identity == NULL)
        return FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDENTITY]);
    }

  /* The secret a device's UDP bindings carry is an HMAC of its id under
   * this key, so it stays the same across the device's reconnections
   * (its NAT client keeps the one it was given) and changes with every
   * run of the server. */
  if (getrandom (self->bind_key, sizeof self->bind_key, 0) != sizeof self->bind_key)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "Cannot get random bytes: %s", g_strerror (errno));
      return FALSE;
    }

  address = g_inet_address_new_from_string (self->bind_address);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IP address", self->bind_address);
      return FALSE;
    }

  /* TCP and UDP share one port number. With port 0 the kernel picks the
   * TCP port, and that number may be taken on UDP: then try again. */
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      g_clear_object (&tcp);
      tcp = bind_socket (address, self->port, G_SOCKET_TYPE_STREAM, error);
      if (tcp == NULL)
        return FALSE;

      udp = bind_socket (address, socket_port (tcp), G_SOCKET_TYPE_DATAGRAM, &local_error);
      if (udp != NULL)
        break;

      if (self->port != 0 || attempt >= 20)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "UDP port %u: ",
                                      socket_port (tcp));
          return FALSE;
        }
    }

  g_socket_set_blocking (tcp, FALSE);
  self->tcp_socket = g_steal_pointer (&tcp);
  watch_accepts (self);

  self->udp_socket = g_steal_pointer (&udp);
  self->udp_source = filer_socket_watch_datagrams (self->udp_socket, FILER_SERVER_DATAGRAMS_PER_WAKEUP,
                                                   _filer_server_datagram_cb, self, NULL);

  sweep_ms = CLAMP (self->idle_timeout_ms / 4, 50, 1000);
  self->sweep_id = g_timeout_add (sweep_ms, sweep_cb, self);

  if (self->port != socket_port (self->tcp_socket))
    {
      self->port = socket_port (self->tcp_socket);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
    }

  return TRUE;
}

void
filer_server_stop (FilerServer *self)
{
  g_autoptr(GList) clients = NULL;

  g_return_if_fail (FILER_IS_SERVER (self));

  filer_clear_source (&self->accept_source);
  g_clear_handle_id (&self->accept_pause_id, g_source_remove);
  if (self->tcp_socket != NULL)
    {
      g_socket_close (self->tcp_socket, NULL);
      g_clear_object (&self->tcp_socket);
    }

  filer_clear_source (&self->udp_source);
  if (self->udp_socket != NULL)
    {
      g_socket_close (self->udp_socket, NULL);
      g_clear_object (&self->udp_socket);
    }

  g_clear_handle_id (&self->sweep_id, g_source_remove);
  g_clear_handle_id (&self->drop_idle_id, g_source_remove);
  g_ptr_array_set_size (self->drop_queue, 0);

  /* Close every connection; nobody needs to hear about leaves. */
  clients = g_hash_table_get_keys (self->clients);
  for (GList *l = clients; l; l = l->next)
    {
      Client *client = l->data;

      client->registered = FALSE;
      g_clear_signal_handler (&client->frame_handler, client->connection);
      g_clear_signal_handler (&client->closed_handler, client->connection);
      /* One still in its handshake has no frames yet. */
      if (client->connection != NULL)
        filer_frame_connection_close (client->connection);
    }
  g_hash_table_remove_all (self->clients);
  g_hash_table_remove_all (self->by_id);
  g_hash_table_remove_all (self->networks);
  g_hash_table_remove_all (self->rooms);
  g_hash_table_remove_all (self->origins);
  self->n_unproven = 0;
}

gboolean
filer_server_is_running (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);

  return self->tcp_socket != NULL;
}

/* ------------------------------------------------------------------ */
/* GObject                                                              */

static void
filer_server_dispose (GObject *object)
{
  FilerServer *self = (FilerServer *)object;

  filer_server_stop (self);

  G_OBJECT_CLASS (filer_server_parent_class)->dispose (object);
}

static void
filer_server_finalize (GObject *object)
{
  FilerServer *self = (FilerServer *)object;

  g_clear_pointer (&self->bind_address, g_free);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->clients, g_hash_table_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->networks, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->origins, g_hash_table_unref);
  g_clear_pointer (&self->datagram_handlers, g_hash_table_unref);
  g_clear_pointer (&self->drop_queue, g_ptr_array_unref);

  G_OBJECT_CLASS (filer_server_parent_class)->finalize (object);
}

static void
filer_server_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FilerServer *self = FILER_SERVER (object);

  switch (prop_id)
    {
    case PROP_BIND_ADDRESS:
      g_value_set_string (value, self->bind_address);
      break;

    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;

    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, self->idle_timeout_ms);
      break;

    case PROP_MAX_PER_ADDRESS:
      g_value_set_uint (value, self->max_per_address);
      break;

    case PROP_LOOPBACK_IS_PUBLIC:
      g_value_set_boolean (value, self->loopback_is_public);
      break;

    case PROP_LINK_IS_ONE_NETWORK:
      g_value_set_boolean (value, self->link_is_one_network);
      break;

    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_server_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  FilerServer *self = FILER_SERVER (object);

  switch (prop_id)
    {
    case PROP_BIND_ADDRESS:
      filer_server_set_bind_address (self, g_value_get_string (value));
      break;

    case PROP_PORT:
      filer_server_set_port (self, g_value_get_uint (value));
      break;

    case PROP_IDLE_TIMEOUT:
      filer_server_set_idle_timeout (self, g_value_get_uint (value));
      break;

    case PROP_MAX_PER_ADDRESS:
      filer_server_set_max_per_address (self, g_value_get_uint (value));
      break;

    case PROP_LOOPBACK_IS_PUBLIC:
      filer_server_set_loopback_is_public (self, g_value_get_boolean (value));
      break;

    case PROP_LINK_IS_ONE_NETWORK:
      filer_server_set_link_is_one_network (self, g_value_get_boolean (value));
      break;

    case PROP_IDENTITY:
      filer_server_set_identity (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_server_class_init (FilerServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_server_dispose;
  object_class->finalize = filer_server_finalize;
  object_class->get_property = filer_server_get_property;
  object_class->set_property = filer_server_set_property;

  /**
   * FilerServer:bind-address:
   *
   * The IP address to listen on (TCP and UDP). Set before starting.
   */
  properties[PROP_BIND_ADDRESS] =
    g_param_spec_string ("bind-address", NULL, NULL,
                         "0.0.0.0",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerServer:port:
   *
   * The port (TCP and UDP). 0 before starting picks a free one; once
   * started it holds the port in use.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, G_MAXUINT16, FILER_DISCOVERY_DEFAULT_PORT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerServer:idle-timeout:
   *
   * Milliseconds of silence after which a client is dropped. Clients are
   * told to send a keepalive every third of it.
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout", NULL, NULL,
                       100, G_MAXUINT, FILER_SERVER_DEFAULT_IDLE_TIMEOUT_MS,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerServer:max-per-address:
   *
   * How many connections one source address may hold; 0 is no limit.
   */
  properties[PROP_MAX_PER_ADDRESS] =
    g_param_spec_uint ("max-per-address", NULL, NULL,
                       0, G_MAXUINT, FILER_SERVER_DEFAULT_MAX_PER_ADDRESS,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerServer:loopback-is-public:
   *
   * For tests: treat each loopback source address (127.x.y.z) as its own
   * public network instead of one private network, so visibility across
   * networks can be tested on one machine.
   */
  properties[PROP_LOOPBACK_IS_PUBLIC] =
    g_param_spec_boolean ("loopback-is-public", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerServer:link-is-one-network:
   *
   * Count every sender on the server's own link (inside the subnet of one
   * of its interfaces) as one network with the private ranges. For a
   * server an app hosts for its LAN, whatever addresses the LAN uses; off
   * for a public server, whose subnet neighbours are strangers.
   */
  properties[PROP_LINK_IS_ONE_NETWORK] =
    g_param_spec_boolean ("link-is-one-network", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerServer:identity:
   *
   * The server's key: clients see it in the TLS handshake, and its id in
   * probe replies (docs/protocol.md §2.1). filer-server keeps one in its
   * config dir; an app hosting the server uses its device key. Set
   * before starting; without one, start() makes a key for this run.
   */
  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL,
                         FILER_TYPE_IDENTITY,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_server_init (FilerServer *self)
{
  self->bind_address = g_strdup ("0.0.0.0");
  self->port = FILER_DISCOVERY_DEFAULT_PORT;
  self->idle_timeout_ms = FILER_SERVER_DEFAULT_IDLE_TIMEOUT_MS;
  self->max_per_address = FILER_SERVER_DEFAULT_MAX_PER_ADDRESS;

  self->clients = g_hash_table_new_full (NULL, NULL, (GDestroyNotify)_filer_server_client_free, NULL);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->networks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)g_hash_table_unref);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)g_hash_table_unref);
  self->origins = _filer_server_origins_new ();
  self->datagram_handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   _filer_server_datagram_handler_free);

  self->drop_queue = g_ptr_array_new ();

  filer_server_add_datagram_handler (self, "probe", _filer_server_handle_probe, NULL, NULL);
}

FilerServer *
filer_server_new (void)
{
  return g_object_new (FILER_TYPE_SERVER, NULL);
}

const char *
filer_server_get_bind_address (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), NULL);

  return self->bind_address;
}

void
filer_server_set_bind_address (FilerServer *self,
                               const char  *bind_address)
{
  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (self->tcp_socket == NULL);

  if (bind_address == NULL)
    bind_address = "0.0.0.0";

  if (g_strcmp0 (self->bind_address, bind_address) == 0)
    return;

  g_free (self->bind_address);
  self->bind_address = g_strdup (bind_address);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BIND_ADDRESS]);
}

guint
filer_server_get_port (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), 0);

  return self->port;
}

void
filer_server_set_port (FilerServer *self,
                       guint        port)
{
  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (port <= G_MAXUINT16);
  g_return_if_fail (self->tcp_socket == NULL);

  if (self->port != port)
    {
      self->port = port;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
    }
}

guint
filer_server_get_idle_timeout (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), 0);

  return self->idle_timeout_ms;
}

void
filer_server_set_idle_timeout (FilerServer *self,
                               guint        idle_timeout_ms)
{
  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (idle_timeout_ms >= 100);
  g_return_if_fail (self->tcp_socket == NULL);

  if (self->idle_timeout_ms != idle_timeout_ms)
    {
      self->idle_timeout_ms = idle_timeout_ms;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
    }
}

guint
filer_server_get_max_per_address (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), 0);

  return self->max_per_address;
}

void
filer_server_set_max_per_address (FilerServer *self,
                                  guint        max_per_address)
{
  g_return_if_fail (FILER_IS_SERVER (self));

  if (self->max_per_address != max_per_address)
    {
      self->max_per_address = max_per_address;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PER_ADDRESS]);
    }
}

gboolean
filer_server_get_link_is_one_network (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);

  return self->link_is_one_network;
}

void
filer_server_set_link_is_one_network (FilerServer *self,
                                      gboolean     link_is_one_network)
{
  g_return_if_fail (FILER_IS_SERVER (self));

  link_is_one_network = !!link_is_one_network;
  if (self->link_is_one_network != link_is_one_network)
    {
      self->link_is_one_network = link_is_one_network;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LINK_IS_ONE_NETWORK]);
    }
}

gboolean
filer_server_get_loopback_is_public (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);

  return self->loopback_is_public;
}

void
filer_server_set_loopback_is_public (FilerServer *self,
                                     gboolean     loopback_is_public)
{
  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (self->tcp_socket == NULL);

  loopback_is_public = !!loopback_is_public;
  if (self->loopback_is_public != loopback_is_public)
    {
      self->loopback_is_public = loopback_is_public;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOOPBACK_IS_PUBLIC]);
    }
}

guint
filer_server_get_n_connections (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), 0);

  return g_hash_table_size (self->clients);
}

guint
filer_server_get_n_peers (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), 0);

  return g_hash_table_size (self->by_id);
}

gboolean
filer_server_peers_can_see (FilerServer *self,
                            const char  *peer_id,
                            const char  *other_id)
{
  Client *a;
  Client *b;

  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (peer_id != NULL, FALSE);
  g_return_val_if_fail (other_id != NULL, FALSE);

  a = g_hash_table_lookup (self->by_id, peer_id);
  b = g_hash_table_lookup (self->by_id, other_id);

  return a != NULL && b != NULL && _filer_server_clients_see_each_other (a, b);
}

char *
filer_server_get_peer_public_address (FilerServer *self,
                                      const char  *peer_id)
{
  Client *client;

  g_return_val_if_fail (FILER_IS_SERVER (self), NULL);
  g_return_val_if_fail (peer_id != NULL, NULL);

  client = g_hash_table_lookup (self->by_id, peer_id);
  return client ? g_strdup (client->source) : NULL;
}

FilerIdentity *
filer_server_get_identity (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), NULL);

  return self->identity;
}

void
filer_server_set_identity (FilerServer   *self,
                           FilerIdentity *identity)
{
  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (identity == NULL || FILER_IS_IDENTITY (identity));
  g_return_if_fail (self->tcp_socket == NULL);

  if (g_set_object (&self->identity, identity))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDENTITY]);
}

/* The server's id (its key's), once it has a key: what clients pin. */
const char *
filer_server_get_id (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), NULL);

  return self->identity ? filer_identity_get_id (self->identity) : NULL;
}

/**
 * filer_server_check_bind_secret:
 * @peer_id: a registered device
 * @secret: (nullable): what a datagram that binds a UDP address to
 *   @peer_id carried
 *
 * Returns: whether @secret is the one the server gave @peer_id in its
 *   welcome (over TLS): only that device can bind its id, whatever the
 *   source address of the datagram (docs/protocol.md §4.2).
 */
gboolean
filer_server_check_bind_secret (FilerServer *self,
                                const char  *peer_id,
                                const char  *secret)
{
  Client *client;
  gsize length;
  guint8 difference = 0;

  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (peer_id != NULL, FALSE);

  client = g_hash_table_lookup (self->by_id, peer_id);
  if (client == NULL || client->bind_secret == NULL || secret == NULL)
    return FALSE;

  length = strlen (client->bind_secret);
  if (strlen (secret) != length)
    return FALSE;

  /* In constant time: the answer is silence either way, but a timing
   * difference must not tell an attacker how much it got right. */
  for (gsize i = 0; i < length; i++)
    difference |= client->bind_secret[i] ^ secret[i];

  return difference == 0;
}
