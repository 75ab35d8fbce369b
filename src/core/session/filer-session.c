/* filer-session.c: this app on the network: discovery, hosting, transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-session.h"

#include <string.h>

#include "filer-net.h"
#include "filer-probe.h"
#include "filer-path-ladder.h"
#include "filer-rendezvous-attach.h"
#include "filer-util.h"
#include "filer-server.h"

/* Zero setup. With no server configured, the discovery client probes the
 * LAN (UDP, FILER_DISCOVERY_DEFAULT_PORT). The session decides when this
 * app hosts the server itself, by this rule:
 *
 *  1. Host only after FILER_SESSION_HOST_AFTER_MISSES probes in a row
 *     found nothing, and then only after a random wait of up to
 *     FILER_SESSION_HOST_JITTER_MS, and only if the client is still not
 *     online then. Two apps started together thus rarely both try.
 *  2. Hosting means binding the well-known TCP *and* UDP port. Whoever
 *     binds first wins; the loser gets EADDRINUSE and stays a client (its
 *     next probe finds the winner). On one machine this is exact.
 *  3. Across machines two apps may still both host (they bound the port
 *     on different hosts within the same jitter window). So a hosting app
 *     probes the LAN FILER_SESSION_FIRST_YIELD_CHECK_S seconds after it
 *     started hosting and then every FILER_SESSION_YIELD_CHECK_S; if
 *     another server answers from an address that sorts before its own
 *     lowest IPv4 address, it stops hosting and becomes that server's
 *     client. Both see each other, so exactly one yields.
 *
 * A configured server (Preferences, or "filer --server") turns all of
 * this off: the app is then only a client.
 *
 * Across NATs: once the client is online at a server given as an IP
 * address, the session starts a NAT client there (the rendezvous shares
 * the discovery port) and serves the streams peers open through it;
 * filer_session_send_async() takes the path ladder (LAN TCP, then a
 * punched UDP path, then the server's relay). A hosted server serves
 * rendezvous and relay too, like filer-server.
 */
struct _FilerSession
{
  GObject               parent_instance;

  /* Owned */
  FilerDevice          *device;
  FilerDiscoveryClient *client;
  FilerServer          *server;
  FilerRendezvousServer *rendezvous;
  FilerTransferService *transfers;
  FilerNatClient       *nat;
  char                 *nat_server;
  GCancellable         *cancellable;
  char                 *local_address;
  char                 *configured_server;
  char                 *room;
  char                 *bind_address;
  char                **probe_targets;
  guint                 discovery_port;
  gboolean              allow_hosting;
  gboolean              started;

  guint                 misses;
  guint                 host_id;
  guint                 yield_check_id;
  FilerProbe           *yield_probe;
  GCancellable         *yield_cancellable;   /* the yield probe in flight */
};

G_DEFINE_FINAL_TYPE (FilerSession, filer_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DEVICE,
  PROP_CLIENT,
  PROP_PEERS,
  PROP_SERVER,
  PROP_ROOM,
  PROP_ALLOW_HOSTING,
  PROP_DISCOVERY_PORT,
  PROP_BIND_ADDRESS,
  PROP_HOSTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void schedule_yield_check (FilerSession *self,
                                  guint         seconds);

static gboolean
set_string (char       **field,
            const char  *value)
{
  if (value != NULL && value[0] == '\0')
    value = NULL;

  return filer_set_string (field, value);
}

/* The probe targets the client uses when it looks for a server: the
 * configured ones (tests: loopback with their own port), else loopback
 * and the LAN's broadcast addresses on the well-known port. */
static void
configure_client (FilerSession *self)
{
  g_autofree char *local_server = NULL;

  filer_discovery_client_set_room (self->client, self->room);
  filer_discovery_client_set_local_address (self->client, self->local_address);
  filer_discovery_client_set_transfer_port (self->client,
                                            filer_transfer_service_get_port (self->transfers));

  if (self->configured_server != NULL)
    filer_discovery_client_set_server (self->client, self->configured_server);
  else if (self->server != NULL)
    {
      const char *bound = filer_server_get_bind_address (self->server);

      /* Our own server, where it listens: loopback unless it is bound
       * to one address only. */
      if (bound == NULL || strchr (bound, ':') != NULL ||
          g_str_equal (bound, "0.0.0.0") || g_str_equal (bound, "127.0.0.1"))
        bound = "127.0.0.1";
      local_server = g_strdup_printf ("%s:%u", bound, filer_server_get_port (self->server));
      filer_discovery_client_set_server (self->client, local_server);
    }
  else
    filer_discovery_client_set_server (self->client, NULL);

  if (self->probe_targets != NULL)
    filer_discovery_client_set_probe_targets (self->client, (const char * const *)self->probe_targets);
  else if (self->discovery_port != FILER_DISCOVERY_DEFAULT_PORT)
    {
      g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", self->discovery_port);
      const char *targets[] = { target, NULL };

      filer_discovery_client_set_probe_targets (self->client, targets);
    }
  else
    filer_discovery_client_set_probe_targets (self->client, NULL);
}

static void
restart_client (FilerSession *self)
{
  if (!self->started)
    return;

  filer_discovery_client_stop (self->client);
  configure_client (self);
  filer_discovery_client_start (self->client);
}

static void
stop_yield_listen (FilerSession *self)
{
  g_cancellable_cancel (self->yield_cancellable);
  g_clear_object (&self->yield_cancellable);
}

static void
stop_hosting (FilerSession *self)
{
  g_clear_handle_id (&self->yield_check_id, g_source_remove);
  stop_yield_listen (self);

  if (self->server == NULL)
    return;

  /* The rendezvous sends through the server: stop it first. */
  if (self->rendezvous != NULL)
    filer_rendezvous_server_stop (self->rendezvous);
  g_clear_object (&self->rendezvous);
  filer_server_stop (self->server);
  g_clear_object (&self->server);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOSTING]);
}

static gboolean
try_host_cb (gpointer user_data)
{
  FilerSession *self = user_data;
  g_autoptr(FilerServer) server = NULL;
  g_autoptr(GError) error = NULL;

  self->host_id = 0;
  self->misses = 0;

  if (!self->started || self->server != NULL || !self->allow_hosting ||
      self->configured_server != NULL ||
      filer_discovery_client_get_state (self->client) == FILER_DISCOVERY_STATE_ONLINE)
    return G_SOURCE_REMOVE;

  server = filer_server_new ();
  /* Our device key: clients that found us by probe remember this id. */
  filer_server_set_identity (server, filer_device_get_identity (self->device));
  filer_server_set_port (server, self->discovery_port);
  /* It serves this LAN: everyone on our link is one network. */
  filer_server_set_link_is_one_network (server, TRUE);
  if (self->bind_address != NULL)
    filer_server_set_bind_address (server, self->bind_address);

  if (!filer_server_start (server, &error))
    {
      /* Most likely another app on this machine won the port: its
       * server answers our client's next probe. */
      g_debug ("Not hosting the discovery server: %s", error->message);
      return G_SOURCE_REMOVE;
    }

  /* NAT rendezvous and relay for peers in the same room elsewhere, as
   * filer-server does; discovery works without them. */
  self->rendezvous = filer_rendezvous_server_new ();
  if (!filer_rendezvous_server_attach (self->rendezvous, server, &error))
    {
      g_debug ("Hosting without NAT rendezvous: %s", error->message);
      g_clear_error (&error);
      filer_rendezvous_server_stop (self->rendezvous);
      g_clear_object (&self->rendezvous);
    }

  g_debug ("Hosting the discovery server on port %u", filer_server_get_port (server));
  self->server = g_steal_pointer (&server);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOSTING]);

  restart_client (self);
  /* Two apps that started together may both have bound the port: look
   * soon, so they settle within seconds, then every period. */
  schedule_yield_check (self, FILER_SESSION_FIRST_YIELD_CHECK_S);

  return G_SOURCE_REMOVE;
}

static void
stop_nat (FilerSession *self)
{
  if (self->nat != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->nat, self->transfers);
      filer_nat_client_stop (self->nat);
    }
  g_clear_object (&self->nat);
  g_clear_pointer (&self->nat_server, g_free);
}

/* Online: reach peers across NATs through this server (again, if it
 * changed). Offline keeps the NAT client until the next server: a
 * transfer over it may still be running. */
static void
update_nat (FilerSession *self)
{
  const char *server = filer_discovery_client_get_server_address (self->client);

  /* The same server again, maybe restarted: a new run gives a new
   * bind-secret (§4.2), and the NAT client must bind with it. */
  if (server != NULL && self->nat != NULL && g_strcmp0 (server, self->nat_server) == 0)
    filer_nat_client_set_bind_secret (self->nat, filer_discovery_client_get_bind_secret (self->client));

  if (server == NULL || g_strcmp0 (server, self->nat_server) == 0)
    return;

  stop_nat (self);
  self->nat = filer_path_ladder_nat_client_new (self->client, filer_device_get_identity (self->device));
  if (self->nat == NULL)
    return;

  self->nat_server = g_strdup (server);
  filer_path_ladder_serve (self->nat, self->transfers);
  g_debug ("NAT traversal through %s", server);
}

static void
client_state_cb (FilerSession         *self,
                 GParamSpec           *pspec,
                 FilerDiscoveryClient *client)
{
  const GError *error = filer_discovery_client_get_error (client);

  switch (filer_discovery_client_get_state (client))
    {
    case FILER_DISCOVERY_STATE_ONLINE:
      self->misses = 0;
      g_clear_handle_id (&self->host_id, g_source_remove);
      update_nat (self);
      break;

    case FILER_DISCOVERY_STATE_OFFLINE:
      if (!g_error_matches (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND))
        break;

      self->misses++;
      if (self->misses >= FILER_SESSION_HOST_AFTER_MISSES &&
          self->allow_hosting && self->server == NULL &&
          self->configured_server == NULL && self->host_id == 0)
        self->host_id = g_timeout_add (g_random_int_range (0, FILER_SESSION_HOST_JITTER_MS + 1),
                                       try_host_cb, self);
      break;

    case FILER_DISCOVERY_STATE_CONNECTING:
    default:
      break;
    }
}

/* --- rule 3: yield to another server on the LAN ------------------- */

static guint32
ipv4_key (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  return ((guint32)bytes[0] << 24) | ((guint32)bytes[1] << 16) |
         ((guint32)bytes[2] << 8) | (guint32)bytes[3];
}

/* Our lowest non-loopback IPv4 address, or 0 if we have none. */
static guint32
own_key (void)
{
  g_auto(GStrv) addresses = filer_net_get_local_addresses ();
  guint32 lowest = 0;

  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (addresses[i]);

      if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
        continue;
      if (lowest == 0 || ipv4_key (address) < lowest)
        lowest = ipv4_key (address);
    }

  return lowest;
}

static void
yield (FilerSession *self,
       const char   *other)
{
  g_debug ("Another discovery server answers at %s: no longer hosting", other);
  stop_hosting (self);
  restart_client (self);
}

/* The servers that answered during the window, our own left out by the
 * probe (skip-own): yield to one whose address sorts before ours. A
 * stopped or disposed session cancelled the probe first, so "not
 * cancelled" means "self is alive". */
static void
yield_probe_done_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  FilerSession *self = user_data;
  g_autoptr(GPtrArray) servers = NULL;
  g_autoptr(GError) error = NULL;
  guint32 ours;

  servers = filer_probe_collect_finish (FILER_PROBE (object), result, &error);
  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;

  g_clear_object (&self->yield_cancellable);
  if (servers == NULL)
    {
      g_debug ("Cannot look for other discovery servers: %s", error->message);
      schedule_yield_check (self, FILER_SESSION_YIELD_CHECK_S);
      return;
    }

  ours = own_key ();
  for (guint i = 0; i < servers->len; i++)
    {
      GInetAddress *address = g_inet_socket_address_get_address (g_ptr_array_index (servers, i));

      if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 &&
          ipv4_key (address) < ours)
        {
          g_autofree char *text = filer_net_address_to_string (address);

          yield (self, text);
          return;
        }
    }

  schedule_yield_check (self, FILER_SESSION_YIELD_CHECK_S);
}

static gboolean
yield_check_cb (gpointer user_data)
{
  FilerSession *self = user_data;

  self->yield_check_id = 0;

  /* Configured probe targets mean a test network where rule 2 is
   * enough. */
  if (self->server == NULL || self->probe_targets != NULL)
    return G_SOURCE_REMOVE;

  /* Loopback and the LAN's broadcast addresses, on our port; replies
   * from this machine (our own server) are left out. FilerProbe reads
   * through the non-blocking datagram loop: a reply of our own followed
   * by silence must not stall the app (it once froze it). */
  if (self->yield_probe == NULL)
    {
      self->yield_probe = filer_probe_new ();
      filer_probe_set_skip_own (self->yield_probe, TRUE);
      filer_probe_set_timeout (self->yield_probe, FILER_SESSION_YIELD_LISTEN_MS);
    }
  filer_probe_set_port (self->yield_probe, self->discovery_port);

  stop_yield_listen (self);
  self->yield_cancellable = g_cancellable_new ();
  filer_probe_collect_async (self->yield_probe, self->yield_cancellable,
                             yield_probe_done_cb, self);
  return G_SOURCE_REMOVE;
}

static void
schedule_yield_check (FilerSession *self,
                      guint         seconds)
{
  g_clear_handle_id (&self->yield_check_id, g_source_remove);
  if (self->server != NULL)
    self->yield_check_id = g_timeout_add_seconds (seconds, yield_check_cb, self);
}

/* --- GObject ------------------------------------------------------ */

static void
filer_session_constructed (GObject *object)
{
  FilerSession *self = (FilerSession *)object;

  G_OBJECT_CLASS (filer_session_parent_class)->constructed (object);

  g_assert (FILER_IS_DEVICE (self->device));

  /* A session's device always has its key (filer_device_get_identity()
   * is NULL only for a bare id, which cannot host). */
  g_assert (filer_device_get_identity (self->device) != NULL);
  self->transfers = filer_transfer_service_new (filer_device_get_identity (self->device),
                                                filer_device_get_name (self->device),
                                                g_get_home_dir ());
  self->client = filer_discovery_client_new (self->device);
  g_signal_connect_object (self->client, "notify::state",
                           G_CALLBACK (client_state_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
filer_session_dispose (GObject *object)
{
  FilerSession *self = (FilerSession *)object;

  filer_session_stop (self);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->yield_probe);
  g_clear_object (&self->client);
  g_clear_object (&self->transfers);
  g_clear_object (&self->device);

  G_OBJECT_CLASS (filer_session_parent_class)->dispose (object);
}

static void
filer_session_finalize (GObject *object)
{
  FilerSession *self = (FilerSession *)object;

  g_clear_pointer (&self->configured_server, g_free);
  g_clear_pointer (&self->room, g_free);
  g_clear_pointer (&self->bind_address, g_free);
  g_clear_pointer (&self->local_address, g_free);
  g_clear_pointer (&self->probe_targets, g_strfreev);

  G_OBJECT_CLASS (filer_session_parent_class)->finalize (object);
}

static void
filer_session_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  FilerSession *self = FILER_SESSION (object);

  switch (prop_id)
    {
    case PROP_DEVICE:
      g_value_set_object (value, self->device);
      break;

    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    case PROP_PEERS:
      g_value_set_object (value, filer_session_get_peers (self));
      break;

    case PROP_SERVER:
      g_value_set_string (value, self->configured_server);
      break;

    case PROP_ROOM:
      g_value_set_string (value, self->room);
      break;

    case PROP_ALLOW_HOSTING:
      g_value_set_boolean (value, self->allow_hosting);
      break;

    case PROP_DISCOVERY_PORT:
      g_value_set_uint (value, self->discovery_port);
      break;

    case PROP_BIND_ADDRESS:
      g_value_set_string (value, self->bind_address);
      break;

    case PROP_HOSTING:
      g_value_set_boolean (value, self->server != NULL);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_session_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  FilerSession *self = FILER_SESSION (object);

  switch (prop_id)
    {
    case PROP_DEVICE:
      self->device = g_value_dup_object (value);
      break;

    case PROP_SERVER:
      filer_session_set_server (self, g_value_get_string (value));
      break;

    case PROP_ROOM:
      filer_session_set_room (self, g_value_get_string (value));
      break;

    case PROP_ALLOW_HOSTING:
      filer_session_set_allow_hosting (self, g_value_get_boolean (value));
      break;

    case PROP_DISCOVERY_PORT:
      filer_session_set_discovery_port (self, g_value_get_uint (value));
      break;

    case PROP_BIND_ADDRESS:
      filer_session_set_bind_address (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_session_class_init (FilerSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = filer_session_constructed;
  object_class->dispose = filer_session_dispose;
  object_class->finalize = filer_session_finalize;
  object_class->get_property = filer_session_get_property;
  object_class->set_property = filer_session_set_property;

  properties[PROP_DEVICE] =
    g_param_spec_object ("device", NULL, NULL,
                         FILER_TYPE_DEVICE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL,
                         FILER_TYPE_DISCOVERY_CLIENT,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  properties[PROP_PEERS] =
    g_param_spec_object ("peers", NULL, NULL,
                         G_TYPE_LIST_MODEL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  properties[PROP_SERVER] =
    g_param_spec_string ("server", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_ROOM] =
    g_param_spec_string ("room", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_ALLOW_HOSTING] =
    g_param_spec_boolean ("allow-hosting", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_DISCOVERY_PORT] =
    g_param_spec_uint ("discovery-port", NULL, NULL,
                       1, G_MAXUINT16, FILER_DISCOVERY_DEFAULT_PORT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_BIND_ADDRESS] =
    g_param_spec_string ("bind-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_HOSTING] =
    g_param_spec_boolean ("hosting", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_session_init (FilerSession *self)
{
  self->allow_hosting = TRUE;
  self->discovery_port = FILER_DISCOVERY_DEFAULT_PORT;
}

/**
 * filer_session_new:
 * @device: who we are
 * @download_dir: where received files go
 */
FilerSession *
filer_session_new (FilerDevice *device,
                   const char  *download_dir)
{
  FilerSession *self;

  g_return_val_if_fail (FILER_IS_DEVICE (device), NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  self = g_object_new (FILER_TYPE_SESSION, "device", device, NULL);
  filer_transfer_service_set_download_dir (self->transfers, download_dir);
  return self;
}

/**
 * filer_session_start:
 *
 * Opens the transfer listener (once; on the local address if one is
 * set, else on every interface, on a port the kernel picks) and starts
 * discovery, which announces that port.
 *
 * Returns: %FALSE if the listener could not be opened
 */
gboolean
filer_session_start (FilerSession  *self,
                     GError       **error)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), FALSE);

  if (self->started)
    return TRUE;

  if (filer_transfer_service_get_port (self->transfers) == 0 &&
      !filer_transfer_service_listen (self->transfers, self->local_address, 0, error))
    return FALSE;

  self->started = TRUE;
  self->misses = 0;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  configure_client (self);
  filer_discovery_client_start (self->client);
  return TRUE;
}

void
filer_session_stop (FilerSession *self)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  self->started = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->host_id, g_source_remove);
  if (self->client != NULL)
    filer_discovery_client_stop (self->client);
  stop_nat (self);
  stop_hosting (self);
}

FilerDevice *
filer_session_get_device (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->device;
}

FilerDiscoveryClient *
filer_session_get_client (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->client;
}

/**
 * filer_session_get_peers:
 *
 * Returns: (transfer none): the discovery client's #GListModel of
 *   #FilerPeer: what the window's grid shows
 */
GListModel *
filer_session_get_peers (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return filer_discovery_client_get_peers (self->client);
}

const char *
filer_session_get_server (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->configured_server;
}

/**
 * filer_session_set_server:
 * @server: (nullable): "HOST[:PORT]" of the discovery server, or %NULL
 *   (or "") to find one, or host one, automatically
 */
void
filer_session_set_server (FilerSession *self,
                          const char   *server)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  if (!set_string (&self->configured_server, server))
    return;

  if (self->configured_server != NULL)
    stop_hosting (self);
  self->misses = 0;
  restart_client (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER]);
}

const char *
filer_session_get_room (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->room;
}

void
filer_session_set_room (FilerSession *self,
                        const char   *room)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  if (!set_string (&self->room, room))
    return;

  restart_client (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROOM]);
}

gboolean
filer_session_get_allow_hosting (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), FALSE);

  return self->allow_hosting;
}

void
filer_session_set_allow_hosting (FilerSession *self,
                                 gboolean      allow_hosting)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  allow_hosting = !!allow_hosting;
  if (self->allow_hosting == allow_hosting)
    return;

  self->allow_hosting = allow_hosting;
  if (!allow_hosting && self->server != NULL)
    {
      stop_hosting (self);
      restart_client (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_HOSTING]);
}

guint
filer_session_get_discovery_port (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), 0);

  return self->discovery_port;
}

/**
 * filer_session_set_discovery_port:
 *
 * The port a hosted server binds, and where probes look. Tests use a
 * port of their own instead of FILER_DISCOVERY_DEFAULT_PORT.
 */
void
filer_session_set_discovery_port (FilerSession *self,
                                  guint         port)
{
  g_return_if_fail (FILER_IS_SESSION (self));
  g_return_if_fail (port > 0 && port <= G_MAXUINT16);

  if (self->discovery_port == port)
    return;

  self->discovery_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISCOVERY_PORT]);
}

const char * const *
filer_session_get_probe_targets (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return (const char * const *)self->probe_targets;
}

/**
 * filer_session_set_probe_targets:
 * @targets: (nullable): where to look for a server ("HOST[:PORT]"), or
 *   %NULL for loopback and the LAN's broadcast addresses
 */
void
filer_session_set_probe_targets (FilerSession       *self,
                                 const char * const *targets)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  g_strfreev (self->probe_targets);
  self->probe_targets = g_strdupv ((char **)targets);
}

const char *
filer_session_get_bind_address (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->bind_address;
}

/**
 * filer_session_set_bind_address:
 * @address: (nullable): the address a hosted server binds; %NULL for
 *   the server's default (all interfaces)
 */
void
filer_session_set_bind_address (FilerSession *self,
                                const char   *address)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  if (set_string (&self->bind_address, address))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BIND_ADDRESS]);
}

gboolean
filer_session_get_hosting (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), FALSE);

  return self->server != NULL;
}

/**
 * filer_session_get_transfer_service:
 *
 * Returns: (transfer none): our listener and transfers
 */
FilerTransferService *
filer_session_get_transfer_service (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->transfers;
}

/**
 * filer_session_get_transfers:
 *
 * Returns: (transfer none): the #GListModel of #FilerTransfer, both
 *   directions: what the window's transfers list shows
 */
GListModel *
filer_session_get_transfers (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return filer_transfer_service_get_transfers (self->transfers);
}

static void
ladder_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  FilerTransfer *transfer;

  transfer = filer_path_ladder_send_finish (result, &error);
  if (transfer == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, transfer, g_object_unref);
}

/**
 * filer_session_send_async:
 * @paths: local files and folders
 * @cancellable: (nullable): gives up looking for a path; %NULL: until
 *   the session stops
 *
 * Sends along the best path to @peer: its LAN addresses, then (when the
 * session has a NAT client) a punched UDP path, then the relay. The
 * transfer appears in the transfers model once a path is found; the
 * send fails only when none was (the peer is unreachable).
 */
void
filer_session_send_async (FilerSession        *self,
                          FilerPeer           *peer,
                          const char * const  *paths,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FILER_IS_SESSION (self));
  g_return_if_fail (FILER_IS_PEER (peer));
  g_return_if_fail (paths != NULL && paths[0] != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_session_send_async);

  /* Without a cancellable of the caller's, stopping the session gives
   * up on a send still looking for a path. */
  if (cancellable == NULL)
    cancellable = self->cancellable;

  filer_path_ladder_send_async (self->transfers, self->nat, peer, paths, cancellable,
                                ladder_done_cb, g_steal_pointer (&task));
}

/**
 * filer_session_send_finish:
 *
 * Returns: (transfer full): the transfer (its path says which one it
 *   took), also in the transfers model; %NULL with @error if no path
 *   reached the peer
 */
FilerTransfer *
filer_session_send_finish (FilerSession  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * filer_session_get_nat_client:
 *
 * Returns: (transfer none) (nullable): the NAT client, once online at a
 *   server given as an IP address
 */
FilerNatClient *
filer_session_get_nat_client (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->nat;
}

const char *
filer_session_get_local_address (FilerSession *self)
{
  g_return_val_if_fail (FILER_IS_SESSION (self), NULL);

  return self->local_address;
}

/**
 * filer_session_set_local_address:
 * @address: (nullable): the one address to use (tests: 127.0.0.1), or
 *   %NULL for all of the machine's addresses
 *
 * Set before filer_session_start(): the transfer listener binds it.
 */
void
filer_session_set_local_address (FilerSession *self,
                                 const char   *address)
{
  g_return_if_fail (FILER_IS_SESSION (self));

  if (set_string (&self->local_address, address))
    restart_client (self);
}

void
filer_session_set_device_name (FilerSession *self,
                               const char   *name)
{
  g_return_if_fail (FILER_IS_SESSION (self));
  g_return_if_fail (name != NULL);

  filer_device_set_name (self->device, name);
  filer_transfer_service_set_device_name (self->transfers, name);
}
