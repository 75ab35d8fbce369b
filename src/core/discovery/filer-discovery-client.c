/* filer-discovery-client.c: registers with filer-server, keeps the peer list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-discovery-client.h"
#include "filer-discovery-client-private.h"

#include "filer-discovery-enums.h"
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

#define BACKOFF_INITIAL_MS   250
#define BACKOFF_MAX_MS       10000

G_DEFINE_FINAL_TYPE (FilerDiscoveryClient, filer_discovery_client, G_TYPE_OBJECT)

static GParamSpec *properties[N_PROPS];

enum {
  PEER_JOINED,
  PEER_LEFT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void attempt (FilerDiscoveryClient *self);

/* ------------------------------------------------------------------ */
/* State                                                                */

void
filer_discovery_client_set_state (FilerDiscoveryClient *self,
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

void
filer_discovery_client_set_string_property (FilerDiscoveryClient  *self,
                                            char                 **field,
                                            const char            *value,
                                            guint                  prop_id)
{
  if (filer_set_string (field, value))
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

void
filer_discovery_client_emit_peer_joined (FilerDiscoveryClient *self,
                                         FilerPeer            *peer)
{
  g_signal_emit (self, signals[PEER_JOINED], 0, peer);
}

void
filer_discovery_client_emit_peer_left (FilerDiscoveryClient *self,
                                       FilerPeer            *peer)
{
  g_signal_emit (self, signals[PEER_LEFT], 0, peer);
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

  filer_discovery_client_set_state (self, FILER_DISCOVERY_STATE_CONNECTING, g_steal_pointer (&self->error));

  if (self->server == NULL)
    {
      filer_discovery_client_start_probe (self);
      return;
    }

  if (!filer_net_parse_host_port (self->server, FILER_DISCOVERY_DEFAULT_PORT,
                                  &host, &port, &error))
    {
      filer_discovery_client_fail (self, g_steal_pointer (&error));
      return;
    }

  filer_discovery_client_connect_to (self, host, port);
}

/* Ends the current attempt or connection and schedules the next. */
void
filer_discovery_client_fail (FilerDiscoveryClient *self,
                             GError               *error)   /* (transfer full) */
{
  gboolean was_online = self->state == FILER_DISCOVERY_STATE_ONLINE;
  guint delay;

  g_debug ("Discovery: %s", error->message);

  filer_discovery_client_stop_probe (self);
  filer_discovery_client_drop_connection (self);

  if (was_online && self->stale_id == 0)
    self->stale_id = g_timeout_add (STALE_TIMEOUT_MS, filer_discovery_client_stale_cb, self);

  filer_discovery_client_set_state (self, FILER_DISCOVERY_STATE_OFFLINE, error);

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
  filer_discovery_client_stop_probe (self);
  filer_discovery_client_drop_connection (self);
  filer_discovery_client_clear_peers (self);
  filer_discovery_client_set_state (self, FILER_DISCOVERY_STATE_OFFLINE, NULL);
}

/* ------------------------------------------------------------------ */
/* GObject                                                              */

static void
device_changed_cb (FilerDevice          *device,
                   GParamSpec           *pspec,
                   FilerDiscoveryClient *self)
{
  filer_discovery_client_send_update (self);
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

  filer_discovery_client_set_string_property (self, &self->server, server, PROP_SERVER);
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

  filer_discovery_client_set_string_property (self, &self->room, room, PROP_ROOM);
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
  filer_discovery_client_send_update (self);
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

  filer_discovery_client_set_string_property (self, &self->local_address, address, PROP_LOCAL_ADDRESS);
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
