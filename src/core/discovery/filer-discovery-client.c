/* filer-discovery-client.c: registers with filer-server, keeps the peer list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-discovery-client.h"

#include <errno.h>
#include <string.h>

#include "filer-discovery-connection.h"
#include "filer-discovery-enums.h"
#include "filer-identity.h"
#include "filer-net.h"
#include "filer-peer-list.h"
#include "filer-probe.h"
#include "filer-room-code.h"
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
 * longer than FILER_PEER_LIST_STALE_TIMEOUT_MS.
 *
 * The client is the owner of three pieces, each its own type, which it
 * calls and which answer it by GTask or signals, never calling it back:
 *
 *   FilerProbe                finds a server on the LAN (GTask)
 *   FilerDiscoveryConnection  one attempt at the server: register,
 *                             keepalive, the frames it sends (signals)
 *   FilerPeerList             the GListModel of FilerPeer, which the
 *                             client drives from the connection's signals
 *
 * What stays here: the state machine, the backoff, giving up when
 * replaced, and the settings.
 */

#define BACKOFF_INITIAL_MS   250
#define BACKOFF_MAX_MS       10000

struct _FilerDiscoveryClient
{
  GObject                   parent_instance;

  /* Settings. */
  FilerDevice              *device;
  char                     *server;          /* "host:port", or NULL: auto-find */
  char                     *room;
  guint                     transfer_port;
  char                     *local_address;
  char                    **probe_targets;   /* NULL: loopback + broadcast */

  /* Owned pieces. */
  FilerPeerList            *peers;
  FilerProbe               *probe;
  FilerDiscoveryConnection *connection;      /* the current attempt, if connecting or online */

  /* State. */
  gboolean                  started;
  FilerDiscoveryState       state;
  GError                   *error;
  char                     *public_address;
  char                     *server_address;
  char                     *bind_secret;     /* from the welcome, for nat-bind */
  char                     *tofu_address;    /* the attempt is with a probed server */
  gboolean                  remember_loopback; /* test hook: TOFU on loopback too */

  /* Cancels a probe in flight; cancelled by stop and dispose. */
  GCancellable             *cancellable;

  guint                     backoff_ms;
  guint                     retry_id;
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

static void     attempt  (FilerDiscoveryClient *self);
static gboolean retry_cb (gpointer              user_data);

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

static void
drop_connection (FilerDiscoveryClient *self)
{
  if (self->connection == NULL)
    return;

  g_signal_handlers_disconnect_by_data (self->connection, self);
  filer_discovery_connection_close (self->connection);
  g_clear_object (&self->connection);
}

/* Ends the current attempt or connection and schedules the next. */
static void
fail (FilerDiscoveryClient *self,
      GError               *error)   /* (transfer full) */
      {
  guint delay;

  g_debug ("Discovery: %s", error->message);

  drop_connection (self);
  filer_peer_list_go_stale (self->peers);
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

/* ------------------------------------------------------------------ */
/* What the connection reports                                          */

static char *known_server_lookup   (const char *address);
static void  known_server_remember (const char *address,
                                    const char *id);

static void
registered_cb (FilerDiscoveryConnection *connection,
               const char               *public_address,
               FilerDiscoveryClient     *self)
{
  const char *server_id = filer_discovery_connection_get_server_id (connection);

  /* First use of a probed server: its key proved this id; remember it.
   * (Already known: the handshake insisted on the same id.) */
  if (self->tofu_address != NULL && server_id != NULL)
    {
      g_autofree char *known = known_server_lookup (self->tofu_address);

      if (known == NULL)
        known_server_remember (self->tofu_address, server_id);
    }

  g_free (self->bind_secret);
  self->bind_secret = g_strdup (filer_discovery_connection_get_bind_secret (connection));

  set_string_property (self, &self->public_address, public_address, PROP_PUBLIC_ADDRESS);
  filer_peer_list_begin_snapshot (self->peers);
}

static void
peer_changed_cb (FilerDiscoveryConnection *connection,
                 FilerPeer                *peer,
                 FilerDiscoveryClient     *self)
{
  filer_peer_list_update (self->peers, peer);
}

static void
peer_removed_cb (FilerDiscoveryConnection *connection,
                 const char               *id,
                 FilerDiscoveryClient     *self)
{
  filer_peer_list_remove (self->peers, id);
}

static void
snapshot_done_cb (FilerDiscoveryConnection *connection,
                  FilerDiscoveryClient     *self)
{
  filer_peer_list_end_snapshot (self->peers);
  self->backoff_ms = 0;
  set_state (self, FILER_DISCOVERY_STATE_ONLINE, NULL);
}

static void
connection_closed_cb (FilerDiscoveryConnection *connection,
                      const GError             *error,
                      FilerDiscoveryClient     *self)
{
  /* Another process registered with our device id. Coming back would
   * only push it out in turn, for ever: give up instead. */
  if (filer_discovery_connection_get_replaced (connection))
    self->started = FALSE;

  fail (self, g_error_copy (error));
}

/* ------------------------------------------------------------------ */
/* Servers found by probe: trusted on first use                         */

/* Anyone on the LAN can answer a probe. The first server we register
 * with at an address is remembered (its id, which its key proves in the
 * TLS handshake), in a small file in our config folder, one
 * "HOST:PORT ID" a line; from then on only that key is accepted there,
 * and a changed key is refused, loudly, until the user deletes the line
 * (a reinstalled server). A pinned server (HOST:PORT#ID) needs none of
 * this. Bounded: the file is read only up to MAX_KNOWN_SERVERS lines of
 * a few KiB, and keeps the newest. */
#define MAX_KNOWN_SERVERS    64
#define MAX_KNOWN_FILE_SIZE  (MAX_KNOWN_SERVERS * 128)

static char *
known_servers_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "filer", "known-servers", NULL);
}

/* The lines of the file: "HOST:PORT ID", oldest first. */
static GPtrArray *
known_servers_read (void)
{
  g_autofree char *path = known_servers_path ();
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *known = g_ptr_array_new_with_free_func (g_free);
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL) || length > MAX_KNOWN_FILE_SIZE)
    return known;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL && known->len < MAX_KNOWN_SERVERS; i++)
    {
      const char *space = strchr (lines[i], ' ');

      if (space != NULL && filer_identity_id_is_valid (space + 1))
        g_ptr_array_add (known, g_strdup (lines[i]));
    }
  return known;
}

static char *
known_server_lookup (const char *address)
{
  g_autoptr(GPtrArray) known = known_servers_read ();
  gsize length = strlen (address);

  for (guint i = 0; i < known->len; i++)
    {
      const char *line = g_ptr_array_index (known, i);

      if (strncmp (line, address, length) == 0 && line[length] == ' ')
        return g_strdup (line + length + 1);
    }
  return NULL;
}

static void
known_server_remember (const char *address,
                       const char *id)
{
  g_autoptr(GPtrArray) known = known_servers_read ();
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = known_servers_path ();
  g_autofree char *dir = g_path_get_dirname (path);

  while (known->len >= MAX_KNOWN_SERVERS)
    g_ptr_array_remove_index (known, 0);
  g_ptr_array_add (known, g_strdup_printf ("%s %s", address, id));
  for (guint i = 0; i < known->len; i++)
    g_string_append_printf (text, "%s\n", (char *)g_ptr_array_index (known, i));

  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      !g_file_set_contents_full (path, text->str, text->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &error))
    g_message ("Cannot remember the discovery server at %s: %s", address,
               error ? error->message : g_strerror (errno));
}

static void
connect_to (FilerDiscoveryClient *self,
            const char           *host,
            guint16               port,
            const char           *server_id)
{
  g_autofree char *address = filer_net_format_host_port (host, port);

  set_string_property (self, &self->server_address, address, PROP_SERVER_ADDRESS);

  g_assert (self->connection == NULL);
  self->connection = filer_discovery_connection_new (self->device, self->room,
                                                     self->local_address, self->transfer_port);
  g_signal_connect (self->connection, "registered", G_CALLBACK (registered_cb), self);
  g_signal_connect (self->connection, "peer-changed", G_CALLBACK (peer_changed_cb), self);
  g_signal_connect (self->connection, "peer-removed", G_CALLBACK (peer_removed_cb), self);
  g_signal_connect (self->connection, "snapshot-done", G_CALLBACK (snapshot_done_cb), self);
  g_signal_connect (self->connection, "closed", G_CALLBACK (connection_closed_cb), self);
  filer_discovery_connection_connect (self->connection, host, port, server_id);
}

/* ------------------------------------------------------------------ */
/* Attempts and retries                                                 */

/* A probe in flight must not touch a client that was stopped or
 * disposed meanwhile: both cancel the cancellable before anything is
 * freed, so "not cancelled" means "self is alive". */
static void
probe_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  FilerDiscoveryClient *self = user_data;
  g_autoptr(GInetSocketAddress) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *said_id = NULL;
  g_autofree char *known_id = NULL;
  g_autofree char *address = NULL;
  guint16 port;

  found = filer_probe_find_finish (FILER_PROBE (object), result, &said_id, &error);
  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;

  if (found == NULL)
    {
      fail (self, g_steal_pointer (&error));
      return;
    }

  host = filer_net_address_to_string (g_inet_socket_address_get_address (found));
  port = g_inet_socket_address_get_port (found);
  address = filer_net_format_host_port (host, port);

  /* A server on loopback is a process of this machine, and the hosting
   * rule hands it from one user's app to another's (each with its own
   * key) at the same address: a new key there is normal. What TOFU
   * guards against is another machine answering for a LAN address. */
  if (!self->remember_loopback &&
      g_inet_address_get_is_loopback (g_inet_socket_address_get_address (found)))
    {
      g_clear_pointer (&self->tofu_address, g_free);
      connect_to (self, host, port, said_id);
      return;
    }

  known_id = known_server_lookup (address);

  /* Another key at an address we know: an impostor on the LAN, or a
   * reinstalled server. Not our call: refuse, and say how to accept it. */
  if (known_id != NULL && said_id != NULL && !g_str_equal (known_id, said_id))
    {
      g_autofree char *path = known_servers_path ();

      g_message ("The discovery server at %s has a new key (id %s, known as %s): refusing it",
                 address, said_id, known_id);
      fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_SERVER_KEY,
                               "The discovery server at %s has changed its key (it is now %s, "
                               "it was %s): refusing it. If it was reinstalled, delete its "
                               "line in %s",
                               address, said_id, known_id, path));
      return;
    }

  filer_set_string (&self->tofu_address, address);
  /* What we know wins over what a datagram says; the handshake checks. */
  connect_to (self, host, port, known_id != NULL ? known_id : said_id);
}

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
  g_autofree char *server_id = NULL;
  guint16 port;

  set_state (self, FILER_DISCOVERY_STATE_CONNECTING, g_steal_pointer (&self->error));

  if (self->server == NULL)
    {
      set_string_property (self, &self->server_address, NULL, PROP_SERVER_ADDRESS);
      filer_probe_set_targets (self->probe, (const char * const *)self->probe_targets);
      filer_probe_set_local_address (self->probe, self->local_address);
      filer_probe_find_async (self->probe, self->cancellable, probe_done_cb, self);
      return;
    }

  g_clear_pointer (&self->tofu_address, g_free);
  if (!filer_net_parse_server_address (self->server, FILER_DISCOVERY_DEFAULT_PORT,
                                       &host, &port, &server_id, &error))
    {
      fail (self, g_steal_pointer (&error));
      return;
    }

  connect_to (self, host, port, server_id);
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
  drop_connection (self);
  filer_peer_list_clear (self->peers);
  set_state (self, FILER_DISCOVERY_STATE_OFFLINE, NULL);
}

/* ------------------------------------------------------------------ */
/* GObject                                                              */

static void
device_changed_cb (FilerDevice          *device,
                   GParamSpec           *pspec,
                   FilerDiscoveryClient *self)
{
  if (self->connection != NULL)
    filer_discovery_connection_send_update (self->connection);
}

static void
peer_added_cb (FilerPeerList        *peers,
               FilerPeer            *peer,
               FilerDiscoveryClient *self)
{
  g_signal_emit (self, signals[PEER_JOINED], 0, peer);
}

static void
peer_list_removed_cb (FilerPeerList        *peers,
                      FilerPeer            *peer,
                      FilerDiscoveryClient *self)
{
  g_signal_emit (self, signals[PEER_LEFT], 0, peer);
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
  g_signal_handlers_disconnect_by_data (self->peers, self);
  g_clear_object (&self->peers);
  g_clear_object (&self->probe);
  g_clear_error (&self->error);
  g_clear_pointer (&self->public_address, g_free);
  g_clear_pointer (&self->server_address, g_free);
  g_clear_pointer (&self->bind_secret, g_free);
  g_clear_pointer (&self->tofu_address, g_free);

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
  self->peers = filer_peer_list_new ();
  self->probe = filer_probe_new ();
  g_signal_connect (self->peers, "peer-added", G_CALLBACK (peer_added_cb), self);
  g_signal_connect (self->peers, "peer-removed", G_CALLBACK (peer_list_removed_cb), self);
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
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);

  return filer_peer_list_find (self->peers, id_or_name, error);
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
  g_autofree char *canonical = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  /* Callers check what users type (filer_room_code_normalize()) and say
   * why a code is refused; here it only takes the canonical form. */
  if (room != NULL && *room != '\0')
    {
      canonical = filer_room_code_normalize (room, &error);
      if (canonical == NULL)
        g_warning ("Not joining room “%s”: %s", room, error->message);
    }

  set_string_property (self, &self->room, canonical, PROP_ROOM);
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
  if (self->connection != NULL)
    filer_discovery_connection_set_transfer_port (self->connection, port);
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

/* For tests: servers found on loopback are remembered too (trust on
 * first use, as for a LAN address), so that one machine can test it. */
void
filer_discovery_client_set_remember_loopback (FilerDiscoveryClient *self,
                                              gboolean              remember)
{
  g_return_if_fail (FILER_IS_DISCOVERY_CLIENT (self));

  self->remember_loopback = !!remember;
}

/* The bind-secret of the current (or last) registration, for our NAT
 * client's nat-bind (docs/protocol.md §4.2), or NULL. */
const char *
filer_discovery_client_get_bind_secret (FilerDiscoveryClient *self)
{
  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (self), NULL);

  return self->bind_secret;
}
