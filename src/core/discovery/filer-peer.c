/* filer-peer.c: one online device as the discovery server reports it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-peer.h"
#include "filer-discovery-enums.h"
#include "filer-util.h"

/* A FilerPeer is what a view binds to: every field is a property that
 * notifies only when it really changes, so a tile redraws only then.
 */
struct _FilerPeer
{
  GObject           parent_instance;

  char             *id;
  char             *name;
  char             *kind;
  char            **addresses;
  char             *public_address;
  guint             port;
  FilerPeerNetwork  network;
};

G_DEFINE_FINAL_TYPE (FilerPeer, filer_peer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_KIND,
  PROP_ADDRESSES,
  PROP_PUBLIC_ADDRESS,
  PROP_PORT,
  PROP_NETWORK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];


static void
filer_peer_finalize (GObject *object)
{
  FilerPeer *self = (FilerPeer *)object;

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->kind, g_free);
  g_clear_pointer (&self->addresses, g_strfreev);
  g_clear_pointer (&self->public_address, g_free);

  G_OBJECT_CLASS (filer_peer_parent_class)->finalize (object);
}

static void
filer_peer_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  FilerPeer *self = FILER_PEER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;

    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_KIND:
      g_value_set_string (value, self->kind);
      break;

    case PROP_ADDRESSES:
      g_value_set_boxed (value, self->addresses);
      break;

    case PROP_PUBLIC_ADDRESS:
      g_value_set_string (value, self->public_address);
      break;

    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;

    case PROP_NETWORK:
      g_value_set_enum (value, self->network);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_peer_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  FilerPeer *self = FILER_PEER (object);

  switch (prop_id)
    {
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;

    case PROP_NAME:
      filer_peer_set_name (self, g_value_get_string (value));
      break;

    case PROP_KIND:
      filer_peer_set_kind (self, g_value_get_string (value));
      break;

    case PROP_ADDRESSES:
      filer_peer_set_addresses (self, g_value_get_boxed (value));
      break;

    case PROP_PUBLIC_ADDRESS:
      filer_peer_set_public_address (self, g_value_get_string (value));
      break;

    case PROP_PORT:
      filer_peer_set_port (self, g_value_get_uint (value));
      break;

    case PROP_NETWORK:
      filer_peer_set_network (self, g_value_get_enum (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_peer_class_init (FilerPeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = filer_peer_finalize;
  object_class->get_property = filer_peer_get_property;
  object_class->set_property = filer_peer_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         "",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL,
                         "desktop",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_ADDRESSES] =
    g_param_spec_boxed ("addresses", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_PUBLIC_ADDRESS] =
    g_param_spec_string ("public-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_NETWORK] =
    g_param_spec_enum ("network", NULL, NULL,
                       FILER_TYPE_PEER_NETWORK,
                       FILER_PEER_NETWORK_LAN,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_peer_init (FilerPeer *self)
{
  self->name = g_strdup ("");
  self->kind = g_strdup ("desktop");
  self->addresses = g_new0 (char *, 1);
}

FilerPeer *
filer_peer_new (const char *id)
{
  g_return_val_if_fail (id != NULL, NULL);

  return g_object_new (FILER_TYPE_PEER, "id", id, NULL);
}

const char *
filer_peer_get_id (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), NULL);

  return self->id;
}

const char *
filer_peer_get_name (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), NULL);

  return self->name;
}

void
filer_peer_set_name (FilerPeer  *self,
                     const char *name)
{
  g_return_if_fail (FILER_IS_PEER (self));

  if (filer_set_string (&self->name, name ? name : ""))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

const char *
filer_peer_get_kind (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), NULL);

  return self->kind;
}

void
filer_peer_set_kind (FilerPeer  *self,
                     const char *kind)
{
  g_return_if_fail (FILER_IS_PEER (self));

  if (filer_set_string (&self->kind, kind ? kind : "desktop"))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KIND]);
}

const char * const *
filer_peer_get_addresses (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), NULL);

  return (const char * const *)self->addresses;
}

void
filer_peer_set_addresses (FilerPeer          *self,
                          const char * const *addresses)
{
  static const char * const empty[] = { NULL };

  g_return_if_fail (FILER_IS_PEER (self));

  if (addresses == NULL)
    addresses = empty;

  if (g_strv_equal ((const char * const *)self->addresses, addresses))
    return;

  g_strfreev (self->addresses);
  self->addresses = g_strdupv ((char **)addresses);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ADDRESSES]);
}

const char *
filer_peer_get_public_address (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), NULL);

  return self->public_address;
}

void
filer_peer_set_public_address (FilerPeer  *self,
                               const char *public_address)
{
  g_return_if_fail (FILER_IS_PEER (self));

  if (filer_set_string (&self->public_address, public_address))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PUBLIC_ADDRESS]);
}

guint
filer_peer_get_port (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), 0);

  return self->port;
}

void
filer_peer_set_port (FilerPeer *self,
                     guint      port)
{
  g_return_if_fail (FILER_IS_PEER (self));
  g_return_if_fail (port <= G_MAXUINT16);

  if (self->port != port)
    {
      self->port = port;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
    }
}

FilerPeerNetwork
filer_peer_get_network (FilerPeer *self)
{
  g_return_val_if_fail (FILER_IS_PEER (self), FILER_PEER_NETWORK_LAN);

  return self->network;
}

void
filer_peer_set_network (FilerPeer        *self,
                        FilerPeerNetwork  network)
{
  g_return_if_fail (FILER_IS_PEER (self));

  if (self->network != network)
    {
      self->network = network;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
    }
}
