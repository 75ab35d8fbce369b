/* filer-server.c: the discovery server (TCP peer list + UDP datagrams)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "filer-discovery-error.h"
#include "filer-frame-connection.h"
#include "filer-frame-decoder.h"
#include "filer-nat-datagram.h"
#include "filer-net.h"

/* How it works (docs/protocol.md §2 is the wire contract):
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

#define PRIVATE_NETWORK "private"

/* Discovery messages carry everything in the header. */
#define MAX_CONTENT_LENGTH 4096

#define MAX_ID_LENGTH        64
#define MAX_NAME_LENGTH      256
#define MAX_KIND_LENGTH      32
#define MAX_ROOM_LENGTH      64
#define MAX_ADDRESSES        16

/* How long a client we closed may take to flush its error frame. */
#define DYING_GRACE_US (2 * G_USEC_PER_SEC)

#define MAX_DATAGRAM_SIZE 65536
#define MAX_DATAGRAMS_PER_WAKEUP 64

typedef struct
{
  FilerServer          *server;          /* borrowed: the server owns us */
  FilerFrameConnection *connection;
  GSocketConnection    *socket_connection;
  gulong                frame_handler;
  gulong                closed_handler;

  char                 *source;          /* the source IP, as text */
  guint16               source_port;
  char                 *network;         /* network group key */
  gboolean              counted;         /* counted in per_source */

  gint64                last_seen;       /* monotonic µs of the last frame */
  gint64                dying_since;     /* 0, or when we closed it */
  gboolean              drop_queued;

  /* Set by "register". */
  gboolean              registered;
  char                 *id;
  char                 *name;
  char                 *kind;
  char                 *room;
  char                 *addresses;       /* comma separated, as sent */
  guint                 port;
} Client;

typedef struct
{
  FilerServerDatagramHandler handler;
  gpointer                   user_data;
  GDestroyNotify             destroy;
} DatagramHandler;

struct _FilerServer
{
  GObject           parent_instance;

  /* Settings. */
  char             *bind_address;
  guint             port;
  guint             idle_timeout_ms;
  guint             max_per_address;
  gboolean          loopback_is_public;

  /* Owned while running. */
  GSocketService   *service;
  GSocket          *udp_socket;
  GSource          *udp_source;
  guint             sweep_id;

  GHashTable       *clients;             /* Client* (owned) set */
  GHashTable       *by_id;               /* id -> Client* */
  GHashTable       *networks;            /* key -> GHashTable set of Client* */
  GHashTable       *rooms;               /* room -> GHashTable set of Client* */
  GHashTable       *per_source;          /* source IP -> count */
  GHashTable       *datagram_handlers;   /* type -> DatagramHandler* */

  /* Clients whose connection closed, freed from an idle so that no
   * table changes under a loop that is sending to them. */
  GPtrArray        *drop_queue;
  guint             drop_idle_id;
  guint             busy;                /* > 0 while iterating the tables */
};

G_DEFINE_FINAL_TYPE (FilerServer, filer_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BIND_ADDRESS,
  PROP_PORT,
  PROP_IDLE_TIMEOUT,
  PROP_MAX_PER_ADDRESS,
  PROP_LOOPBACK_IS_PUBLIC,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void client_kick (Client     *client,
                         const char *code,
                         const char *message);
static void client_queue_drop (Client *client);
static void client_drop       (Client *client);

/* ------------------------------------------------------------------ */
/* Groups and visibility                                                */

static void
group_add (GHashTable *groups,
           const char *key,
           Client     *client)
{
  GHashTable *group = g_hash_table_lookup (groups, key);

  if (group == NULL)
    {
      group = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (groups, g_strdup (key), group);
    }

  g_hash_table_add (group, client);
}

static void
group_remove (GHashTable *groups,
              const char *key,
              Client     *client)
{
  GHashTable *group = g_hash_table_lookup (groups, key);

  if (group == NULL)
    return;

  g_hash_table_remove (group, client);
  if (g_hash_table_size (group) == 0)
    g_hash_table_remove (groups, key);
}

static gboolean
clients_see_each_other (Client *a,
                        Client *b)
{
  if (a == b || !a->registered || !b->registered)
    return FALSE;

  return g_str_equal (a->network, b->network) ||
         (a->room != NULL && b->room != NULL && g_str_equal (a->room, b->room));
}

typedef void (*ClientFunc) (Client   *client,
                            Client   *other,
                            gpointer  user_data);

/* Calls @func once for every live client that @client sees. */
static void
foreach_visible (Client     *client,
                 ClientFunc  func,
                 gpointer    user_data)
{
  FilerServer *self = client->server;
  GHashTable *network = g_hash_table_lookup (self->networks, client->network);
  GHashTable *room = client->room ? g_hash_table_lookup (self->rooms, client->room) : NULL;
  GHashTableIter iter;
  gpointer key;

  self->busy++;

  if (network != NULL)
    {
      g_hash_table_iter_init (&iter, network);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (key != client && ((Client *)key)->dying_since == 0)
          func (client, key, user_data);
    }

  if (room != NULL)
    {
      g_hash_table_iter_init (&iter, room);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          Client *other = key;

          /* Already seen through the network group. */
          if (other == client || other->dying_since != 0 ||
              g_str_equal (other->network, client->network))
            continue;

          func (client, other, user_data);
        }
    }

  self->busy--;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

static FilerFrame *
describe_peer (const char *type,
               Client     *peer,
               Client     *recipient)
{
  FilerFrame *frame = filer_frame_new (type);
  gboolean lan = g_str_equal (peer->network, recipient->network);

  filer_frame_set (frame, "id", peer->id);
  filer_frame_set (frame, "name", peer->name);
  filer_frame_set (frame, "kind", peer->kind);
  filer_frame_set_uint (frame, "port", peer->port);
  filer_frame_set (frame, "addresses", peer->addresses);
  filer_frame_set (frame, "public-address", peer->source);
  filer_frame_set (frame, "network", lan ? "lan" : "remote");

  return frame;
}

static void
client_send (Client     *client,
             FilerFrame *frame)
{
  if (client->dying_since == 0)
    filer_frame_connection_send (client->connection, frame);
}

static void
send_joined_cb (Client   *client,
                Client   *other,
                gpointer  user_data)
{
  const char *type = user_data;
  g_autoptr(FilerFrame) frame = describe_peer (type, client, other);

  client_send (other, frame);
}

static void
send_left_cb (Client   *client,
              Client   *other,
              gpointer  user_data)
{
  FilerFrame *frame = user_data;

  client_send (other, frame);
}

static void
collect_cb (Client   *client,
            Client   *other,
            gpointer  user_data)
{
  g_ptr_array_add (user_data, other);
}

static void
client_unregister (Client *client)
{
  FilerServer *self = client->server;
  g_autoptr(FilerFrame) left = NULL;

  if (!client->registered)
    return;

  left = filer_frame_new ("peer-left");
  filer_frame_set (left, "id", client->id);
  foreach_visible (client, send_left_cb, left);

  group_remove (self->networks, client->network, client);
  if (client->room != NULL)
    group_remove (self->rooms, client->room, client);
  if (g_hash_table_lookup (self->by_id, client->id) == client)
    g_hash_table_remove (self->by_id, client->id);

  client->registered = FALSE;
}

static gboolean
is_token (const char *text,
          gsize       max_length,
          gboolean    allow_dot)
{
  gsize length = strlen (text);

  if (length == 0 || length > max_length)
    return FALSE;

  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && !(allow_dot && *p == '.'))
      return FALSE;

  return TRUE;
}

static gboolean
validate_addresses (const char *addresses)
{
  g_auto(GStrv) list = NULL;

  if (*addresses == '\0')
    return TRUE;

  list = g_strsplit (addresses, ",", -1);
  if (g_strv_length (list) > MAX_ADDRESSES)
    return FALSE;

  for (guint i = 0; list[i]; i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (list[i]);

      if (address == NULL)
        return FALSE;
    }

  return TRUE;
}

/* Reads and checks the fields "register" and "update" share. Leaves the
 * client untouched on error. */
static gboolean
read_description (FilerFrame  *frame,
                  gboolean     is_register,
                  char       **name,
                  char       **kind,
                  guint       *port,
                  char       **addresses,
                  GError     **error)
{
  const char *value;
  guint64 number;

  value = filer_frame_get (frame, "name");
  if (value != NULL)
    {
      if (*value == '\0' || strlen (value) > MAX_NAME_LENGTH)
        goto bad;
      *name = g_strdup (value);
    }
  else if (is_register)
    goto bad;

  value = filer_frame_get (frame, "kind");
  if (value != NULL)
    {
      if (!is_token (value, MAX_KIND_LENGTH, FALSE))
        goto bad;
      *kind = g_ascii_strdown (value, -1);
    }
  else if (is_register)
    *kind = g_strdup ("desktop");

  if (filer_frame_get (frame, "port") != NULL)
    {
      if (!filer_frame_get_uint (frame, "port", G_MAXUINT16, &number, NULL))
        goto bad;
      *port = (guint)number;
    }

  value = filer_frame_get (frame, "addresses");
  if (value != NULL)
    {
      if (!validate_addresses (value))
        goto bad;
      *addresses = g_strdup (value);
    }
  else if (is_register)
    *addresses = g_strdup ("");

  return TRUE;

bad:
  g_clear_pointer (name, g_free);
  g_clear_pointer (kind, g_free);
  g_clear_pointer (addresses, g_free);
  g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
               "Malformed “%s” message", filer_frame_get_message_type (frame));
  return FALSE;
}

static void
handle_register (Client     *client,
                 FilerFrame *frame)
{
  FilerServer *self = client->server;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) visible = NULL;
  g_autoptr(FilerFrame) welcome = NULL;
  g_autofree char *name = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *addresses = NULL;
  const char *id = filer_frame_get (frame, "id");
  const char *room = filer_frame_get (frame, "room");
  guint port = 0;
  Client *previous;

  if (client->registered)
    {
      client_kick (client, "protocol", "Already registered");
      return;
    }

  if (id == NULL || !is_token (id, MAX_ID_LENGTH, TRUE) ||
      (room != NULL && strlen (room) > MAX_ROOM_LENGTH) ||
      !read_description (frame, TRUE, &name, &kind, &port, &addresses, &error))
    {
      g_debug ("%s: bad registration", client->source);
      client_kick (client, "bad-register", "Malformed register message");
      return;
    }

  /* The same device again (it reconnected before its old connection
   * timed out): the new connection wins. */
  previous = g_hash_table_lookup (self->by_id, id);
  if (previous != NULL)
    {
      g_debug ("%s: device %s registered again, replacing the old connection",
               client->source, id);
      client_kick (previous, "replaced", "The same device registered again");
    }

  client->id = g_strdup (id);
  client->name = g_steal_pointer (&name);
  client->kind = g_steal_pointer (&kind);
  client->addresses = g_steal_pointer (&addresses);
  client->port = port;
  if (room != NULL && *room != '\0')
    client->room = g_utf8_casefold (room, -1);

  /* Who is there before we join, for the snapshot. */
  client->registered = TRUE;
  group_add (self->networks, client->network, client);
  if (client->room != NULL)
    group_add (self->rooms, client->room, client);
  g_hash_table_insert (self->by_id, client->id, client);

  visible = g_ptr_array_new ();
  foreach_visible (client, collect_cb, visible);

  welcome = filer_frame_new ("welcome");
  filer_frame_set_uint (welcome, "version", 1);
  filer_frame_set (welcome, "public-address", client->source);
  filer_frame_set_uint (welcome, "public-port", client->source_port);
  filer_frame_set_uint (welcome, "keepalive-ms", MAX (self->idle_timeout_ms / 3, 1));
  filer_frame_set_uint (welcome, "count", visible->len);
  client_send (client, welcome);

  for (guint i = 0; i < visible->len; i++)
    {
      g_autoptr(FilerFrame) peer = describe_peer ("peer", g_ptr_array_index (visible, i), client);

      client_send (client, peer);
    }

  foreach_visible (client, send_joined_cb, (gpointer)"peer-joined");

  g_debug ("%s: registered %s (%s), sees %u peers",
           client->source, client->id, client->name, visible->len);
}

static void
handle_update (Client     *client,
               FilerFrame *frame)
{
  g_autoptr(GError) error = NULL;
  char *name = NULL;
  char *kind = NULL;
  char *addresses = NULL;
  guint port = client->port;

  if (!read_description (frame, FALSE, &name, &kind, &port, &addresses, &error))
    {
      client_kick (client, "bad-update", error->message);
      return;
    }

  if (name != NULL)
    {
      g_free (client->name);
      client->name = name;
    }
  if (kind != NULL)
    {
      g_free (client->kind);
      client->kind = kind;
    }
  if (addresses != NULL)
    {
      g_free (client->addresses);
      client->addresses = addresses;
    }
  client->port = port;

  foreach_visible (client, send_joined_cb, (gpointer)"peer-updated");
}

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   Client               *client)
{
  const char *type = filer_frame_get_message_type (frame);

  if (client->dying_since != 0)
    return;

  client->last_seen = g_get_monotonic_time ();

  if (type == NULL)
    {
      client_kick (client, "protocol", "A message needs a type");
      return;
    }

  if (g_str_equal (type, "ping"))
    {
      g_autoptr(FilerFrame) pong = filer_frame_new ("pong");

      client_send (client, pong);
      return;
    }

  if (g_str_equal (type, "pong"))
    return;

  if (g_str_equal (type, "register"))
    {
      handle_register (client, frame);
      return;
    }

  if (!client->registered)
    {
      client_kick (client, "not-registered", "Register first");
      return;
    }

  if (g_str_equal (type, "update"))
    handle_update (client, frame);
  else
    g_debug ("%s: ignoring a “%s” message", client->source, type);
}

static void
closed_cb (FilerFrameConnection *connection,
           const GError         *error,
           Client               *client)
{
  if (error != NULL && client->dying_since == 0)
    g_debug ("%s: connection failed: %s", client->source, error->message);

  /* Out of every peer list at once (visibility skips dying clients).
   * The tables change now, unless we are iterating them (a send that
   * failed at once): then in an idle. Each main-loop iteration costs
   * O(connections) in GLib, so saving one matters at 10,000 peers. */
  if (client->dying_since == 0)
    client->dying_since = g_get_monotonic_time ();
  if (client->server->busy == 0 && !client->drop_queued)
    client_drop (client);
  else
    client_queue_drop (client);
}

/* ------------------------------------------------------------------ */
/* Client lifetime                                                      */

static void
client_free (Client *client)
{
  if (client->connection != NULL)
    {
      g_clear_signal_handler (&client->frame_handler, client->connection);
      g_clear_signal_handler (&client->closed_handler, client->connection);
    }

  g_clear_object (&client->connection);
  g_clear_object (&client->socket_connection);
  g_free (client->source);
  g_free (client->network);
  g_free (client->id);
  g_free (client->name);
  g_free (client->kind);
  g_free (client->room);
  g_free (client->addresses);
  g_free (client);
}

static void
client_uncount (Client *client)
{
  FilerServer *self = client->server;
  guint count;

  if (!client->counted)
    return;

  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_source, client->source));
  if (count <= 1)
    g_hash_table_remove (self->per_source, client->source);
  else
    g_hash_table_insert (self->per_source, g_strdup (client->source), GUINT_TO_POINTER (count - 1));

  client->counted = FALSE;
}

static void
client_drop (Client *client)
{
  FilerServer *self = client->server;

  client_unregister (client);   /* the others hear it left */
  client_uncount (client);
  g_hash_table_remove (self->clients, client);   /* frees it */
}

static gboolean
drop_idle_cb (gpointer user_data)
{
  FilerServer *self = user_data;
  g_autoptr(GPtrArray) queue = g_steal_pointer (&self->drop_queue);

  self->drop_queue = g_ptr_array_new ();
  self->drop_idle_id = 0;

  for (guint i = 0; i < queue->len; i++)
    client_drop (g_ptr_array_index (queue, i));

  return G_SOURCE_REMOVE;
}

static void
client_queue_drop (Client *client)
{
  FilerServer *self = client->server;

  if (client->drop_queued)
    return;

  client->drop_queued = TRUE;
  g_ptr_array_add (self->drop_queue, client);
  if (self->drop_idle_id == 0)
    self->drop_idle_id = g_idle_add (drop_idle_cb, self);
}

/* Tells @client why and closes it. The others hear it left now; the
 * Client lingers only until its error frame is flushed. */
static void
client_kick (Client     *client,
             const char *code,
             const char *message)
{
  if (client->dying_since != 0)
    return;

  g_debug ("%s: closing: %s", client->source, message);

  client_unregister (client);
  client_uncount (client);
  client->dying_since = g_get_monotonic_time ();
  filer_frame_connection_close_with_error (client->connection, code, message);
}

static void
normalize_source (FilerServer     *self,
                  GSocketAddress  *remote,
                  Client          *client)
{
  GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));

  client->source = filer_net_address_to_string (address);
  client->source_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));

  /* Senders the server cannot tell apart share one network. The test
   * hook loopback_is_public makes every 127.x address its own network,
   * so visibility can be tested on one machine. */
  if (self->loopback_is_public && g_inet_address_get_is_loopback (address))
    client->network = g_strdup (client->source);
  else if (filer_net_address_is_private (address))
    client->network = g_strdup (PRIVATE_NETWORK);
  else
    client->network = g_strdup (client->source);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             FilerServer       *self)
{
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GError) error = NULL;
  Client *client;
  guint count;

  remote = g_socket_connection_get_remote_address (connection, &error);
  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_debug ("Dropping a connection without a peer address: %s",
               error ? error->message : "not an inet address");
      return TRUE;
    }

  g_socket_set_option (g_socket_connection_get_socket (connection),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  client = g_new0 (Client, 1);
  client->server = self;
  client->socket_connection = g_object_ref (connection);
  client->connection = filer_frame_connection_new (G_IO_STREAM (connection));
  client->last_seen = g_get_monotonic_time ();
  normalize_source (self, remote, client);
  filer_frame_connection_set_max_content_length (client->connection, MAX_CONTENT_LENGTH);
  client->frame_handler = g_signal_connect (client->connection, "frame-received",
                                            G_CALLBACK (frame_received_cb), client);
  client->closed_handler = g_signal_connect (client->connection, "closed",
                                             G_CALLBACK (closed_cb), client);
  g_hash_table_add (self->clients, client);

  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_source, client->source));
  if (self->max_per_address > 0 && count >= self->max_per_address)
    {
      g_message ("%s: refusing a connection, already %u from this address",
                 client->source, count);
      client->dying_since = g_get_monotonic_time ();
      filer_frame_connection_close_with_error (client->connection, "too-many-connections",
                                               "Too many connections from your address");
      return TRUE;
    }

  g_hash_table_insert (self->per_source, g_strdup (client->source), GUINT_TO_POINTER (count + 1));
  client->counted = TRUE;

  filer_frame_connection_start (client->connection);
  return TRUE;
}

static gboolean
sweep_cb (gpointer user_data)
{
  FilerServer *self = user_data;
  g_autoptr(GPtrArray) silent = g_ptr_array_new ();
  g_autoptr(GPtrArray) stuck = g_ptr_array_new ();
  gint64 now = g_get_monotonic_time ();
  gint64 idle_us = (gint64)self->idle_timeout_ms * 1000;
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
      else if (now - client->last_seen > idle_us)
        g_ptr_array_add (silent, client);
    }

  /* Kicking may close a connection at once: keep the tables still. */
  self->busy++;
  for (guint i = 0; i < silent->len; i++)
    {
      Client *client = g_ptr_array_index (silent, i);

      g_debug ("%s: silent for %u ms", client->source, self->idle_timeout_ms);
      client_kick (client, "timeout", "No message within the idle timeout");
    }

  /* A client that will not even take its error frame: cut it off. */
  for (guint i = 0; i < stuck->len; i++)
    {
      Client *client = g_ptr_array_index (stuck, i);

      g_io_stream_close (G_IO_STREAM (client->socket_connection), NULL, NULL);
      client_queue_drop (client);
    }
  self->busy--;

  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* UDP                                                                  */

static void
datagram_handler_free (gpointer data)
{
  DatagramHandler *handler = data;

  if (handler->destroy != NULL)
    handler->destroy (handler->user_data);
  g_free (handler);
}

static void
handle_probe (FilerServer    *self,
              FilerFrame     *frame,
              GSocketAddress *from,
              gpointer        user_data)
{
  g_autoptr(FilerFrame) reply = filer_frame_new ("probe-reply");
  g_autoptr(GError) error = NULL;

  filer_frame_set_uint (reply, "version", 1);
  filer_frame_set_uint (reply, "port", self->port);

  if (!filer_server_send_datagram (self, reply, from, &error))
    g_debug ("Cannot answer a probe: %s", error->message);
}

/* An exact type first, then the longest "prefix*" registration. */
static DatagramHandler *
lookup_datagram_handler (FilerServer *self,
                         const char  *type)
{
  DatagramHandler *best = g_hash_table_lookup (self->datagram_handlers, type);
  gsize best_length = 0;
  GHashTableIter iter;
  gpointer key, value;

  if (best != NULL)
    return best;

  g_hash_table_iter_init (&iter, self->datagram_handlers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *pattern = key;
      gsize length = strlen (pattern);

      if (length > 0 && pattern[length - 1] == '*' && length - 1 >= best_length &&
          strncmp (type, pattern, length - 1) == 0)
        {
          best = value;
          best_length = length - 1;
        }
    }

  return best;
}

static void
dispatch_datagram (FilerServer    *self,
                   const guint8   *data,
                   gsize           length,
                   GSocketAddress *from)
{
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (MAX_CONTENT_LENGTH);
  g_autoptr(FilerFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  DatagramHandler *handler;
  const char *type;

  filer_frame_decoder_feed (decoder, data, length);
  frame = filer_frame_decoder_next (decoder, &error);

  if (frame == NULL || filer_frame_decoder_get_buffered (decoder) != 0)
    {
      g_debug ("Ignoring a malformed datagram (%" G_GSIZE_FORMAT " bytes): %s", length,
               error ? error->message : "not exactly one frame");
      return;
    }

  type = filer_frame_get_message_type (frame);
  handler = type ? lookup_datagram_handler (self, type) : NULL;
  if (handler == NULL)
    {
      g_debug ("Ignoring a datagram of unknown type “%s”", type ? type : "");
      return;
    }

  handler->handler (self, frame, from, handler->user_data);
}

static gboolean
udp_readable_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  FilerServer *self = user_data;
  static guint8 buffer[MAX_DATAGRAM_SIZE];

  /* Read a batch, not everything: a flood must not starve TCP. */
  for (guint i = 0; i < MAX_DATAGRAMS_PER_WAKEUP; i++)
    {
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      gssize length;

      length = g_socket_receive_from (socket, &from, (char *)buffer, sizeof buffer, NULL, &error);
      if (length < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("UDP receive failed: %s", error->message);
          break;
        }

      if (from != NULL && G_IS_INET_SOCKET_ADDRESS (from))
        dispatch_datagram (self, buffer, length, from);
    }

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
      filer_nat_socket_set_buffers (socket);
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
  g_return_val_if_fail (self->service == NULL, FALSE);

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

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (self->service), tcp, NULL, error))
    {
      g_clear_object (&self->service);
      return FALSE;
    }
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (incoming_cb), self, 0);
  g_socket_service_start (self->service);

  self->udp_socket = g_steal_pointer (&udp);
  self->udp_source = g_socket_create_source (self->udp_socket, G_IO_IN, NULL);
  g_source_set_callback (self->udp_source, (GSourceFunc)(void (*)(void))udp_readable_cb,
                         self, NULL);
  g_source_attach (self->udp_source, g_main_context_get_thread_default ());

  sweep_ms = CLAMP (self->idle_timeout_ms / 4, 50, 1000);
  self->sweep_id = g_timeout_add (sweep_ms, sweep_cb, self);

  if (self->port != socket_port (tcp))
    {
      self->port = socket_port (tcp);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
    }

  return TRUE;
}

void
filer_server_stop (FilerServer *self)
{
  g_autoptr(GList) clients = NULL;

  g_return_if_fail (FILER_IS_SERVER (self));

  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }

  if (self->udp_source != NULL)
    {
      g_source_destroy (self->udp_source);
      g_clear_pointer (&self->udp_source, g_source_unref);
    }
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
      filer_frame_connection_close (client->connection);
    }
  g_hash_table_remove_all (self->clients);
  g_hash_table_remove_all (self->by_id);
  g_hash_table_remove_all (self->networks);
  g_hash_table_remove_all (self->rooms);
  g_hash_table_remove_all (self->per_source);
}

gboolean
filer_server_is_running (FilerServer *self)
{
  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);

  return self->service != NULL;
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
  g_clear_pointer (&self->clients, g_hash_table_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->networks, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->per_source, g_hash_table_unref);
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

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_server_init (FilerServer *self)
{
  self->bind_address = g_strdup ("0.0.0.0");
  self->port = FILER_DISCOVERY_DEFAULT_PORT;
  self->idle_timeout_ms = FILER_SERVER_DEFAULT_IDLE_TIMEOUT_MS;
  self->max_per_address = FILER_SERVER_DEFAULT_MAX_PER_ADDRESS;

  self->clients = g_hash_table_new_full (NULL, NULL, (GDestroyNotify)client_free, NULL);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->networks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)g_hash_table_unref);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)g_hash_table_unref);
  self->per_source = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->datagram_handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   datagram_handler_free);

  self->drop_queue = g_ptr_array_new ();

  filer_server_add_datagram_handler (self, "probe", handle_probe, NULL, NULL);
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
  g_return_if_fail (self->service == NULL);

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
  g_return_if_fail (self->service == NULL);

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
  g_return_if_fail (self->service == NULL);

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
  g_return_if_fail (self->service == NULL);

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

void
filer_server_add_datagram_handler (FilerServer                *self,
                                   const char                 *type,
                                   FilerServerDatagramHandler  handler,
                                   gpointer                    user_data,
                                   GDestroyNotify              destroy)
{
  DatagramHandler *entry;

  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (type != NULL);
  g_return_if_fail (handler != NULL);

  entry = g_new0 (DatagramHandler, 1);
  entry->handler = handler;
  entry->user_data = user_data;
  entry->destroy = destroy;
  g_hash_table_insert (self->datagram_handlers, g_strdup (type), entry);
}

gboolean
filer_server_send_datagram (FilerServer     *self,
                            FilerFrame      *frame,
                            GSocketAddress  *to,
                            GError         **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gssize sent;

  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (to), FALSE);

  if (self->udp_socket == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "The server is not running");
      return FALSE;
    }

  bytes = filer_frame_encode (frame, error);
  if (bytes == NULL)
    return FALSE;

  /* Non-blocking: a datagram that does not fit now is lost, as UDP may
   * lose it anyway. */
  sent = g_socket_send_to (self->udp_socket, to,
                           g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                           NULL, error);
  return sent >= 0;
}

gboolean
filer_server_send_to_peer (FilerServer *self,
                           const char  *peer_id,
                           FilerFrame  *frame)
{
  Client *client;

  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (peer_id != NULL, FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  client = g_hash_table_lookup (self->by_id, peer_id);
  if (client == NULL || client->dying_since != 0)
    return FALSE;

  client_send (client, frame);
  return TRUE;
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

  return a != NULL && b != NULL && clients_see_each_other (a, b);
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
