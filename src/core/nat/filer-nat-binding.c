/* filer-nat-binding.c: our binding with the rendezvous server
 *
 * The client binds its id to its UDP endpoint (nat-bind), and rebinds
 * every keepalive interval to hold its NAT mapping open. The server
 * answers with the address it saw, and with a second port: a probe to
 * that port tells whether our NAT maps by destination (symmetric), which
 * the server needs to assign punching roles (docs/protocol.md §4.2).
 *
 * FilerNatClient owns it and hands it the server's answers; it sends on
 * the client's socket and answers by notify (public-address, mapping),
 * never by calling the client.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-binding.h"
#include "filer-nat-binding-private.h"

#include "filer-nat-datagram-private.h"

struct _FilerNatBinding
{
  GObject parent_instance;

  /* owned */
  GSocket *socket;              /* the client's; NULL once stopped */
  GSocketAddress *server;
  GSocketAddress *server2;      /* the server's second port */
  char *peer_id;
  char *secret;                 /* from the discovery server's welcome */
  guint keepalive_ms;
  guint bind_id;

  char *public_address;
  char *public_address2;
  char *mapping;
};

G_DEFINE_FINAL_TYPE (FilerNatBinding, filer_nat_binding, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PUBLIC_ADDRESS,
  PROP_MAPPING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean bind_cb (gpointer user_data);

static void
send_bind_now (FilerNatBinding *self)
{
  g_clear_handle_id (&self->bind_id, g_source_remove);
  bind_cb (self);
}

void
_filer_nat_binding_handle_bound (FilerNatBinding *self,
                                 FilerFrame      *frame,
                                 gboolean         from_second_port)
{
  const char *address = filer_frame_get (frame, "address");
  guint64 port2 = 0;

  g_assert (FILER_IS_NAT_BINDING (self));

  if (address == NULL || self->socket == NULL)
    return;

  if (from_second_port)
    {
      g_free (self->public_address2);
      self->public_address2 = g_strdup (address);
    }
  else if (g_strcmp0 (self->public_address, address) != 0)
    {
      g_free (self->public_address);
      self->public_address = g_strdup (address);
      g_debug ("nat: public address %s", address);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PUBLIC_ADDRESS]);
    }

  if (!from_second_port && self->server2 == NULL
      && filer_frame_get_uint (frame, "port2", 65535, &port2, NULL) && port2 > 0)
    {
      GInetAddress *ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (self->server));

      self->server2 = g_inet_socket_address_new (ip, (guint16)port2);
    }

  if (!from_second_port && self->server2 && self->public_address2 == NULL)
    {
      g_autoptr(FilerFrame) probe = filer_frame_new ("nat-probe");

      filer_frame_set (probe, "id", self->peer_id);
      filer_frame_pad_to (probe, 96);  /* at least its nat-probed (§4.2) */
      _filer_nat_socket_send_frame (self->socket, self->server2, probe);
    }

  if (self->public_address && self->public_address2)
    {
      const char *mapping = g_str_equal (self->public_address, self->public_address2)
                            ? "independent" : "dependent";

      if (g_strcmp0 (self->mapping, mapping) != 0)
        {
          g_free (self->mapping);
          self->mapping = g_strdup (mapping);
          g_debug ("nat: mapping is %s", mapping);

          /* Tell the server now: it assigns punching roles by it. */
          send_bind_now (self);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAPPING]);
        }
    }
}

static gboolean
bind_cb (gpointer user_data)
{
  FilerNatBinding *self = user_data;
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-bind");
  guint interval = self->keepalive_ms;

  self->bind_id = 0;
  if (self->socket == NULL)
    return G_SOURCE_REMOVE;

  filer_frame_set (frame, "id", self->peer_id);
  if (self->secret)
    filer_frame_set (frame, "secret", self->secret);
  if (self->mapping)
    filer_frame_set (frame, "mapping", self->mapping);
  filer_frame_pad_to (frame, 96);  /* at least its nat-bound (§4.2) */
  _filer_nat_socket_send_frame (self->socket, self->server, frame);

  /* Until the server has answered on both ports, ask again soon. */
  if (self->public_address == NULL || (self->server2 && self->public_address2 == NULL))
    interval = MIN (interval, 2 * FILER_NAT_RETRY_INTERVAL_MS);

  self->bind_id = g_timeout_add (interval, bind_cb, self);
  return G_SOURCE_REMOVE;
}

void
_filer_nat_binding_start (FilerNatBinding *self)
{
  g_assert (FILER_IS_NAT_BINDING (self));

  send_bind_now (self);
}

void
_filer_nat_binding_stop (FilerNatBinding *self)
{
  g_assert (FILER_IS_NAT_BINDING (self));

  g_clear_handle_id (&self->bind_id, g_source_remove);
  g_clear_object (&self->socket);
}

GSocketAddress *
_filer_nat_binding_get_server2 (FilerNatBinding *self)
{
  g_assert (FILER_IS_NAT_BINDING (self));

  return self->server2;
}

const char *
filer_nat_binding_get_public_address (FilerNatBinding *self)
{
  g_return_val_if_fail (FILER_IS_NAT_BINDING (self), NULL);

  return self->public_address;
}

const char *
filer_nat_binding_get_mapping (FilerNatBinding *self)
{
  g_return_val_if_fail (FILER_IS_NAT_BINDING (self), NULL);

  return self->mapping;
}

static void
filer_nat_binding_dispose (GObject *object)
{
  FilerNatBinding *self = FILER_NAT_BINDING (object);

  _filer_nat_binding_stop (self);

  G_OBJECT_CLASS (filer_nat_binding_parent_class)->dispose (object);
}

static void
filer_nat_binding_finalize (GObject *object)
{
  FilerNatBinding *self = FILER_NAT_BINDING (object);

  g_clear_object (&self->server);
  g_clear_object (&self->server2);
  g_free (self->peer_id);
  g_free (self->secret);
  g_free (self->public_address);
  g_free (self->public_address2);
  g_free (self->mapping);

  G_OBJECT_CLASS (filer_nat_binding_parent_class)->finalize (object);
}

static void
filer_nat_binding_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  FilerNatBinding *self = FILER_NAT_BINDING (object);

  switch (prop_id)
    {
    case PROP_PUBLIC_ADDRESS:
      g_value_set_string (value, self->public_address);
      break;

    case PROP_MAPPING:
      g_value_set_string (value, self->mapping);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_nat_binding_class_init (FilerNatBindingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_nat_binding_dispose;
  object_class->finalize = filer_nat_binding_finalize;
  object_class->get_property = filer_nat_binding_get_property;

  properties[PROP_PUBLIC_ADDRESS] =
    g_param_spec_string ("public-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAPPING] =
    g_param_spec_string ("mapping", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_nat_binding_init (FilerNatBinding *self)
{
}

/* The secret nat-bind carries (docs/protocol.md §4.2), or NULL. */
void
_filer_nat_binding_set_secret (FilerNatBinding *self,
                               const char      *secret)
{
  g_free (self->secret);
  self->secret = g_strdup (secret);
}

/**
 * _filer_nat_binding_new:
 * @socket: the client's UDP socket
 * @server: the rendezvous server's address
 * @peer_id: our device id
 * @keepalive_ms: how often to rebind
 */
FilerNatBinding *
_filer_nat_binding_new (GSocket        *socket,
                        GSocketAddress *server,
                        const char     *peer_id,
                        guint           keepalive_ms)
{
  FilerNatBinding *self = g_object_new (FILER_TYPE_NAT_BINDING, NULL);

  g_assert (G_IS_SOCKET (socket));
  g_assert (G_IS_SOCKET_ADDRESS (server));

  self->socket = g_object_ref (socket);
  self->server = g_object_ref (server);
  self->peer_id = g_strdup (peer_id);
  self->keepalive_ms = keepalive_ms;

  return self;
}
