/* filer-server-client.c: one TCP client of FilerServer, from accept to drop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-server-client-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "filer-discovery-error.h"
#include "filer-net.h"
#include "filer-room-code.h"
#include "filer-server-private.h"
#include "filer-socket.h"
#include "filer-tls.h"

/* Every TCP connection is a Client. Protocol version 2 (docs/protocol.md
 * §2.1): the connection starts with mutual TLS 1.3 and the client's key
 * proves its device id; only then does it get a FilerFrameConnection, on
 * the TLS stream. Before that we peek at the first bytes: a TLS record
 * starts 0x16 0x03, anything else is a version 1 client sending a
 * plaintext frame, which gets one plaintext `version` error and is
 * closed. The first frame must be "register" with the key's id; the
 * client then joins its groups (filer-server-visibility.c) and hears
 * about the others joining, changing and leaving. A client that
 * misbehaves is closed; nothing it sends can reach past its own Client. */

#define PRIVATE_NETWORK "private"

#define MAX_ID_LENGTH        64
#define MAX_NAME_LENGTH      256
#define MAX_KIND_LENGTH      32
#define MAX_ROOM_LENGTH      64
#define MAX_ADDRESSES        16

#define BIND_SECRET_BYTES    16

static void client_drop (Client *client);

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

void
_filer_server_client_send (Client     *client,
                           FilerFrame *frame)
{
  if (client->dying_since != 0)
    return;

  /* A client that does not read is cut off: its queue would grow with
   * every join and leave it can see. Its own snapshot may be long. */
  if (filer_frame_connection_get_queued_bytes (client->connection) >
      client->snapshot_bytes + FILER_SERVER_MAX_QUEUED_BYTES)
    {
      g_message ("%s: cutting off %s: it reads nothing of what it is sent",
                 client->source, client->id ? client->id : "an unregistered client");
      /* No error frame (it would wait behind the rest): hang up now.
       * The others hear it left when it is dropped (we may be inside a
       * loop over its group). */
      _filer_server_admission_release (client);
      client->dying_since = g_get_monotonic_time ();
      g_io_stream_close (G_IO_STREAM (client->socket_connection), NULL, NULL);
      _filer_server_client_queue_drop (client);
      return;
    }

  filer_frame_connection_send (client->connection, frame);
}

static void
send_joined_cb (Client   *client,
                Client   *other,
                gpointer  user_data)
{
  const char *type = user_data;
  g_autoptr(FilerFrame) frame = describe_peer (type, client, other);

  _filer_server_client_send (other, frame);
}

static void
send_left_cb (Client   *client,
              Client   *other,
              gpointer  user_data)
{
  FilerFrame *frame = user_data;

  _filer_server_client_send (other, frame);
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
  _filer_server_foreach_visible (client, send_left_cb, left);

  _filer_server_group_remove (self->networks, client->network, client);
  if (client->room != NULL)
    _filer_server_group_remove (self->rooms, client->room, client);
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
  g_autofree char *canonical_room = NULL;
  guint port = 0;
  Client *previous;

  if (client->registered)
    {
      _filer_server_client_kick (client, "protocol", "Already registered");
      return;
    }

  if (id == NULL || !is_token (id, MAX_ID_LENGTH, TRUE) ||
      (room != NULL && strlen (room) > MAX_ROOM_LENGTH) ||
      !read_description (frame, TRUE, &name, &kind, &port, &addresses, &error))
    {
      g_debug ("%s: bad registration", client->source);
      _filer_server_client_kick (client, "bad-register", "Malformed register message");
      return;
    }

  /* The id is the key's (the TLS handshake proved the key): anyone else
   * claiming it is refused, so a device online can only be replaced by
   * its own key, and the device online stays. One code for both cases;
   * the log tells an attempt on a device online from a plain mistake. */
  previous = g_hash_table_lookup (self->by_id, id);
  if (g_strcmp0 (id, client->key_id) != 0)
    {
      if (previous != NULL)
        g_message ("%s: refusing a registration as %s (online) from another key, %s",
                   client->source, id, client->key_id);
      else
        g_debug ("%s: registration as %s, but the key is %s", client->source, id, client->key_id);
      _filer_server_client_kick (client, "identity",
                                 "The id is not the one your device key makes");
      return;
    }

  /* A room code is normalized as the client did (filer-room-code.c);
   * one too short to be safe is refused, so that nobody's room can be
   * found by guessing. Guessing is also paced per origin. */
  if (room != NULL && *room != '\0')
    {
      g_autoptr(GError) room_error = NULL;

      canonical_room = filer_room_code_normalize (room, &room_error);
      if (canonical_room == NULL)
        {
          g_debug ("%s: bad room code: %s", client->source, room_error->message);
          _filer_server_client_kick (client, "bad-room", room_error->message);
          return;
        }

      if (g_hash_table_lookup (self->rooms, canonical_room) == NULL &&
          !_filer_server_admission_new_room (client))
        {
          g_message ("%s: refusing a registration: too many new rooms from this address",
                     client->source);
          _filer_server_client_kick (client, "slow-down",
                                     "Too many new rooms from your address: try again in a minute");
          return;
        }
    }

  if (!_filer_server_admission_register (client))
    {
      g_message ("%s: refusing a registration: %u devices from this address already",
                 client->source, FILER_SERVER_MAX_REGISTERED_PER_ADDRESS);
      _filer_server_client_kick (client, "too-many-connections",
                                 "Too many devices from your address");
      return;
    }

  /* The same device again (it reconnected before its old connection
   * timed out): the new connection wins. */
  if (previous != NULL)
    {
      g_debug ("%s: device %s registered again, replacing the old connection",
               client->source, id);
      _filer_server_client_kick (previous, "replaced", "The same device registered again");
    }

  client->id = g_strdup (id);
  filer_token_bucket_init (&client->updates, FILER_SERVER_UPDATE_BURST, g_get_monotonic_time ());
  client->name = g_steal_pointer (&name);
  client->kind = g_steal_pointer (&kind);
  client->addresses = g_steal_pointer (&addresses);
  client->port = port;
  client->room = g_steal_pointer (&canonical_room);

  /* Who is there before we join, for the snapshot. */
  client->registered = TRUE;
  _filer_server_group_add (self->networks, client->network, client);
  if (client->room != NULL)
    _filer_server_group_add (self->rooms, client->room, client);
  g_hash_table_insert (self->by_id, client->id, client);

  visible = g_ptr_array_new ();
  _filer_server_foreach_visible (client, collect_cb, visible);

  welcome = filer_frame_new ("welcome");
  filer_frame_set_uint (welcome, "version", 2);
  filer_frame_set (welcome, "bind-secret", client->bind_secret);
  filer_frame_set (welcome, "public-address", client->source);
  filer_frame_set_uint (welcome, "public-port", client->source_port);
  filer_frame_set_uint (welcome, "keepalive-ms", MAX (self->idle_timeout_ms / 3, 1));
  filer_frame_set_uint (welcome, "count", visible->len);
  /* The snapshot is as long as the groups are: it is not held against
   * the client's write queue limit (_filer_server_client_send()). */
  filer_frame_connection_send (client->connection, welcome);
  for (guint i = 0; i < visible->len; i++)
    {
      g_autoptr(FilerFrame) peer = describe_peer ("peer", g_ptr_array_index (visible, i), client);

      filer_frame_connection_send (client->connection, peer);
    }
  client->snapshot_bytes = filer_frame_connection_get_queued_bytes (client->connection);

  _filer_server_foreach_visible (client, send_joined_cb, (gpointer)"peer-joined");

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
  const char *id = filer_frame_get (frame, "id");
  const char *room = filer_frame_get (frame, "room");
  g_autofree char *canonical_room = NULL;

  if (!filer_token_bucket_take (&client->updates, FILER_SERVER_UPDATE_RATE,
                                FILER_SERVER_UPDATE_BURST, 1, g_get_monotonic_time ()))
    {
      g_message ("%s: closing %s: too many updates", client->source, client->id);
      _filer_server_client_kick (client, "flood",
                                 "Too many updates: at most 20 at once, then 1 a second");
      return;
    }

  /* The id and the room are fixed for the connection (a client that
   * means to change them must reconnect): say so rather than let a
   * client believe it moved. */
  if (room != NULL && *room != '\0')
    canonical_room = filer_room_code_normalize (room, NULL);
  if ((id != NULL && g_strcmp0 (id, client->id) != 0) ||
      (room != NULL && (g_strcmp0 (canonical_room, client->room) != 0 ||
                        (*room != '\0' && canonical_room == NULL))))
    {
      _filer_server_client_kick (client, "bad-update",
                                 "An update cannot change the id or the room: reconnect");
      return;
    }

  if (!read_description (frame, FALSE, &name, &kind, &port, &addresses, &error))
    {
      _filer_server_client_kick (client, "bad-update", error->message);
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

  _filer_server_foreach_visible (client, send_joined_cb, (gpointer)"peer-updated");
}

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   Client               *client)
{
  const char *type = filer_frame_get_message_type (frame);

  if (client->dying_since != 0)
    return;

  if (type == NULL)
    {
      _filer_server_client_kick (client, "protocol", "A message needs a type");
      return;
    }

  /* Keepalives keep only a registered client: a connection that pings
   * and never registers gets no answer and is dropped at the idle
   * timeout like a silent one (issue 10: thousands were held so). */
  if (!client->registered && (g_str_equal (type, "ping") || g_str_equal (type, "pong")))
    return;

  client->last_seen = g_get_monotonic_time ();

  if (g_str_equal (type, "ping"))
    {
      g_autoptr(FilerFrame) pong = filer_frame_new ("pong");

      _filer_server_client_send (client, pong);
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
      _filer_server_client_kick (client, "not-registered", "Register first");
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
    _filer_server_client_queue_drop (client);
}

/* ------------------------------------------------------------------ */
/* Client lifetime                                                      */


void
_filer_server_client_free (Client *client)
{
  if (client->connection != NULL)
    {
      g_clear_signal_handler (&client->frame_handler, client->connection);
      g_clear_signal_handler (&client->closed_handler, client->connection);
    }

  /* A handshake in flight finds the cancellable cancelled and leaves
   * the (freed) client alone. */
  if (client->cancellable != NULL)
    g_cancellable_cancel (client->cancellable);
  g_clear_object (&client->cancellable);
  filer_clear_source (&client->peek_source);

  _filer_server_admission_release (client);
  g_clear_object (&client->connection);
  g_clear_object (&client->tls);
  g_clear_object (&client->socket_connection);
  g_free (client->kick_code);
  g_free (client->kick_message);
  g_free (client->key_id);
  g_free (client->bind_secret);
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
client_drop (Client *client)
{
  FilerServer *self = client->server;

  client_unregister (client);   /* the others hear it left */
  _filer_server_admission_release (client);
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

void
_filer_server_client_queue_drop (Client *client)
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
void
_filer_server_client_kick (Client     *client,
                           const char *code,
                           const char *message)
{
  if (client->dying_since != 0)
    return;

  g_debug ("%s: closing: %s", client->source, message);

  client_unregister (client);
  _filer_server_admission_release (client);
  client->dying_since = g_get_monotonic_time ();

  /* Before TLS. A client that has sent nothing yet (the idle sweep)
   * may be of either version, and a plaintext frame harms neither: it
   * is told why. One in its handshake is told once the handshake ends
   * (handshake_cb); the sweep cuts it off if that takes longer than
   * the grace a dying client has. Its slot is free already. */
  if (client->connection == NULL && client->peek_source != NULL)
    {
      filer_clear_source (&client->peek_source);
      _filer_server_client_refuse (client, code, message);
      return;
    }
  if (client->connection == NULL && client->cancellable != NULL)
    {
      client->kick_code = g_strdup (code);
      client->kick_message = g_strdup (message);
      return;
    }
  if (client->connection == NULL)
    {
      g_io_stream_close (G_IO_STREAM (client->socket_connection), NULL, NULL);
      _filer_server_client_queue_drop (client);
      return;
    }

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

  /* Senders the server cannot tell apart share one network; so do
   * senders on the server's own link when it serves a LAN (an app hosting
   * it: link-is-one-network), whatever range the LAN uses. The test hook
   * loopback_is_public makes every 127.x address its own network, so
   * visibility can be tested on one machine. */
  if (self->loopback_is_public && g_inet_address_get_is_loopback (address))
    client->network = g_strdup (client->source);
  else if (filer_net_address_is_private (address) ||
           (self->link_is_one_network && filer_net_address_is_on_link (address)))
    client->network = g_strdup (PRIVATE_NETWORK);
  else
    client->network = g_strdup (client->source);
}

/* A new Client for an accepted @connection from @remote, not started:
 * the server adds it to its tables and applies its per-address limit. */
Client *
_filer_server_client_new (FilerServer       *server,
                          GSocketConnection *connection,
                          GSocketAddress    *remote)
{
  Client *client;

  g_assert (FILER_IS_SERVER (server));
  g_assert (G_IS_INET_SOCKET_ADDRESS (remote));

  client = g_new0 (Client, 1);
  client->server = server;
  client->socket_connection = g_object_ref (connection);
  client->last_seen = g_get_monotonic_time ();
  normalize_source (server, remote, client);

  return client;
}

/* Frames over @stream (the TLS stream, or the plain socket of a version
 * 1 client that only gets its error). */
static void
attach_frames (Client    *client,
               GIOStream *stream)
{
  client->connection = filer_frame_connection_new (stream);
  filer_frame_connection_set_max_content_length (client->connection, MAX_CONTENT_LENGTH);
  client->frame_handler = g_signal_connect (client->connection, "frame-received",
                                            G_CALLBACK (frame_received_cb), client);
  client->closed_handler = g_signal_connect (client->connection, "closed",
                                             G_CALLBACK (closed_cb), client);
}

/* Refuses @client with @code on a connection that never got frames. */
void
_filer_server_client_refuse (Client     *client,
                             const char *code,
                             const char *message)
{
  _filer_server_admission_release (client);
  client->dying_since = g_get_monotonic_time ();
  attach_frames (client, G_IO_STREAM (client->socket_connection));
  filer_frame_connection_close_with_error (client->connection, code, message);
}

/* Only the holder of @key_id's key learns this (in its welcome, over
 * TLS): HMAC-SHA256 under the server's per-run key, cut to 128 bits. */
static char *
bind_secret_for (FilerServer *server,
                 const char  *key_id)
{
  g_autofree char *hmac = g_compute_hmac_for_string (G_CHECKSUM_SHA256, server->bind_key,
                                                     sizeof server->bind_key, key_id, -1);

  return g_strndup (hmac, 2 * BIND_SECRET_BYTES);
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GCancellable) cancellable = user_data;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key_id = NULL;
  Client *client;

  tls = filer_tls_handshake_finish (result, &key_id, &error);
  if (g_cancellable_is_cancelled (cancellable))
    return;

  client = g_object_get_data (G_OBJECT (cancellable), "client");
  if (tls == NULL)
    {
      g_debug ("%s: TLS handshake failed: %s", client->source, error->message);
      client->dying_since = g_get_monotonic_time ();
      if (client->server->busy == 0 && !client->drop_queued)
        client_drop (client);
      else
        _filer_server_client_queue_drop (client);
      return;
    }

  client->tls = g_steal_pointer (&tls);
  if (client->kick_code != NULL)
    {
      attach_frames (client, client->tls);
      filer_frame_connection_close_with_error (client->connection, client->kick_code,
                                               client->kick_message);
      return;
    }

  client->key_id = g_steal_pointer (&key_id);
  client->bind_secret = bind_secret_for (client->server, client->key_id);
  client->last_seen = g_get_monotonic_time ();
  attach_frames (client, client->tls);

  filer_frame_connection_start (client->connection);
}

static gboolean
peek_cb (GSocket      *socket,
         GIOCondition  condition,
         gpointer      user_data)
{
  Client *client = user_data;

  switch (filer_tls_peek_first_record (socket))
    {
    case FILER_TLS_FIRST_RECORD_WAIT:
      return G_SOURCE_CONTINUE;

    case FILER_TLS_FIRST_RECORD_CLOSED:
      /* The source goes when we return. */
      g_source_unref (g_steal_pointer (&client->peek_source));
      _filer_server_client_kick (client, "closed", "Closed before its first TLS record");
      return G_SOURCE_REMOVE;

    case FILER_TLS_FIRST_RECORD_READY:
      g_source_unref (g_steal_pointer (&client->peek_source));
      client->cancellable = g_cancellable_new ();
      g_object_set_data (G_OBJECT (client->cancellable), "client", client);
      filer_tls_handshake_async (G_IO_STREAM (client->socket_connection), FILER_TLS_ROLE_SERVER,
                                 client->server->identity, NULL, client->cancellable,
                                 handshake_cb, g_object_ref (client->cancellable));
      return G_SOURCE_REMOVE;

    case FILER_TLS_FIRST_RECORD_NOT_TLS:
    default:
      break;
    }

  g_source_unref (g_steal_pointer (&client->peek_source));

  /* Version 1: a plaintext frame. Read what came (closing on unread
   * data would reset the connection and lose our answer), then answer
   * in plaintext. */
  g_debug ("%s: a version 1 client", client->source);
  {
    guint8 drain[4096];

    while (recv (g_socket_get_fd (socket), drain, sizeof drain, MSG_DONTWAIT) > 0)
      ;
  }
  _filer_server_client_refuse (client, "version",
                               "This discovery server speaks Filer protocol version 2 "
                               "(TLS): please update Filer");
  return G_SOURCE_REMOVE;
}

/* Waits for the client's first bytes (see the top of the file). */
void
_filer_server_client_start (Client *client)
{
  GSocket *socket = g_socket_connection_get_socket (client->socket_connection);

  client->peek_source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (client->peek_source, (GSourceFunc)(void (*)(void))peek_cb, client, NULL);
  g_source_attach (client->peek_source, g_main_context_get_thread_default ());
}
