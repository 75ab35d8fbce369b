/* filer-peer-list.c: the GListModel of online peers, kept in place
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-peer-list.h"

#include "filer-discovery-error.h"

/* The peers the discovery server reports, in the order they arrived, with
 * an index by id. What a view binds to, so it changes as little as it can:
 *
 *  - filer_peer_list_update() changes a known peer in place (its
 *    properties notify, the list does not emit ::items-changed) and
 *    appends an unknown one;
 *  - a snapshot (begin … update … end) is reconciled against the list:
 *    peers keep their FilerPeer object across a reconnect and only those
 *    missing from the snapshot are removed, so a bound view does not
 *    flicker;
 *  - filer_peer_list_go_stale() says the owner went offline: unless a
 *    snapshot begins within the stale timeout, the list is cleared then.
 *
 * The list knows nothing of connections: its owner (FilerDiscoveryClient)
 * drives it from what its FilerDiscoveryConnection reports. It answers
 * with ::items-changed and ::peer-added / ::peer-removed.
 */

struct _FilerPeerList
{
  GObject     parent_instance;

  GPtrArray  *items;          /* FilerPeer* (owned), in arrival order */
  GHashTable *by_id;          /* id -> FilerPeer* (borrowed from items) */
  GHashTable *snapshot_ids;   /* ids seen since begin_snapshot, or NULL */

  guint       stale_timeout_ms;
  guint       stale_id;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FilerPeerList, filer_peer_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  PEER_ADDED,
  PEER_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* --- GListModel ---------------------------------------------------- */

static GType
filer_peer_list_get_item_type (GListModel *model)
{
  return FILER_TYPE_PEER;
}

static guint
filer_peer_list_get_n_items (GListModel *model)
{
  return FILER_PEER_LIST (model)->items->len;
}

static gpointer
filer_peer_list_get_item (GListModel *model,
                          guint       position)
{
  FilerPeerList *self = FILER_PEER_LIST (model);

  if (position >= self->items->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = filer_peer_list_get_item_type;
  iface->get_n_items = filer_peer_list_get_n_items;
  iface->get_item = filer_peer_list_get_item;
}

/* --- Changes ------------------------------------------------------- */

static void
remove_at (FilerPeerList *self,
           guint          position)
{
  g_autoptr(FilerPeer) peer = g_ptr_array_steal_index (self->items, position);

  g_hash_table_remove (self->by_id, filer_peer_get_id (peer));
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  g_signal_emit (self, signals[PEER_REMOVED], 0, peer);
}

static void
copy_peer (FilerPeer *to,
           FilerPeer *from)
{
  g_object_freeze_notify (G_OBJECT (to));
  filer_peer_set_name (to, filer_peer_get_name (from));
  filer_peer_set_kind (to, filer_peer_get_kind (from));
  filer_peer_set_port (to, filer_peer_get_port (from));
  filer_peer_set_addresses (to, filer_peer_get_addresses (from));
  filer_peer_set_public_address (to, filer_peer_get_public_address (from));
  filer_peer_set_network (to, filer_peer_get_network (from));
  g_object_thaw_notify (G_OBJECT (to));
}

/**
 * filer_peer_list_update:
 * @description: a peer as the server describes it now
 *
 * Adds @description itself if its id is new (it then becomes the list's
 * item), else copies its fields into the peer already listed, which
 * notifies only what changed; the list's ::items-changed is not emitted
 * for a change. During a snapshot, the id counts as seen.
 */
void
filer_peer_list_update (FilerPeerList *self,
                        FilerPeer     *description)
{
  const char *id;
  FilerPeer *peer;

  g_return_if_fail (FILER_IS_PEER_LIST (self));
  g_return_if_fail (FILER_IS_PEER (description));

  id = filer_peer_get_id (description);
  if (self->snapshot_ids != NULL)
    g_hash_table_add (self->snapshot_ids, g_strdup (id));

  peer = g_hash_table_lookup (self->by_id, id);
  if (peer != NULL)
    {
      if (peer != description)
        copy_peer (peer, description);
      return;
    }

  peer = g_object_ref (description);
  g_ptr_array_add (self->items, peer);
  g_hash_table_insert (self->by_id, (char *)filer_peer_get_id (peer), peer);
  g_list_model_items_changed (G_LIST_MODEL (self), self->items->len - 1, 0, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  g_signal_emit (self, signals[PEER_ADDED], 0, peer);
}

void
filer_peer_list_remove (FilerPeerList *self,
                        const char    *id)
{
  FilerPeer *peer;
  guint position;

  g_return_if_fail (FILER_IS_PEER_LIST (self));
  g_return_if_fail (id != NULL);

  if (self->snapshot_ids != NULL)
    g_hash_table_remove (self->snapshot_ids, id);

  peer = g_hash_table_lookup (self->by_id, id);
  if (peer != NULL && g_ptr_array_find (self->items, peer, &position))
    remove_at (self, position);
}

/* Removes every peer, last first (each removal is its own
 * ::items-changed and ::peer-removed), and forgets any stale timer or
 * snapshot in progress. */
void
filer_peer_list_clear (FilerPeerList *self)
{
  g_return_if_fail (FILER_IS_PEER_LIST (self));

  g_clear_handle_id (&self->stale_id, g_source_remove);
  g_clear_pointer (&self->snapshot_ids, g_hash_table_unref);

  while (self->items->len > 0)
    remove_at (self, self->items->len - 1);
}

/* --- Snapshots and staleness --------------------------------------- */

/**
 * filer_peer_list_begin_snapshot:
 *
 * The server is about to list everyone we see (after a welcome). Until
 * filer_peer_list_end_snapshot(), updates mark peers as seen. A snapshot
 * also ends the stale timeout: the list is being made current again.
 * Beginning again drops a snapshot that never ended (its connection
 * failed halfway).
 */
void
filer_peer_list_begin_snapshot (FilerPeerList *self)
{
  g_return_if_fail (FILER_IS_PEER_LIST (self));

  g_clear_handle_id (&self->stale_id, g_source_remove);
  g_clear_pointer (&self->snapshot_ids, g_hash_table_unref);
  self->snapshot_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * filer_peer_list_end_snapshot:
 *
 * The snapshot is complete: whoever was listed before and is not in it
 * has gone while we were away, and is removed.
 */
void
filer_peer_list_end_snapshot (FilerPeerList *self)
{
  g_autoptr(GHashTable) seen = NULL;

  g_return_if_fail (FILER_IS_PEER_LIST (self));
  g_return_if_fail (self->snapshot_ids != NULL);

  seen = g_steal_pointer (&self->snapshot_ids);
  g_clear_handle_id (&self->stale_id, g_source_remove);

  for (guint i = self->items->len; i > 0; i--)
    {
      FilerPeer *peer = g_ptr_array_index (self->items, i - 1);

      if (!g_hash_table_contains (seen, filer_peer_get_id (peer)))
        remove_at (self, i - 1);
    }
}

static gboolean
stale_cb (gpointer user_data)
{
  FilerPeerList *self = user_data;

  self->stale_id = 0;
  g_debug ("Offline for %u ms: forgetting the peer list", self->stale_timeout_ms);
  filer_peer_list_clear (self);

  return G_SOURCE_REMOVE;
}

/**
 * filer_peer_list_go_stale:
 *
 * The owner lost its server: the list stays as it is (a reconnect
 * reconciles it) for the stale timeout, and is cleared then unless a
 * snapshot began meanwhile. Calling it again while the timer runs does
 * not extend it.
 */
void
filer_peer_list_go_stale (FilerPeerList *self)
{
  g_return_if_fail (FILER_IS_PEER_LIST (self));

  g_clear_pointer (&self->snapshot_ids, g_hash_table_unref);
  if (self->stale_id == 0)
    self->stale_id = g_timeout_add (self->stale_timeout_ms, stale_cb, self);
}

gboolean
filer_peer_list_is_stale (FilerPeerList *self)
{
  g_return_val_if_fail (FILER_IS_PEER_LIST (self), FALSE);

  return self->stale_id != 0;
}

guint
filer_peer_list_get_stale_timeout (FilerPeerList *self)
{
  g_return_val_if_fail (FILER_IS_PEER_LIST (self), 0);

  return self->stale_timeout_ms;
}

/* Takes effect at the next filer_peer_list_go_stale(). */
void
filer_peer_list_set_stale_timeout (FilerPeerList *self,
                                   guint          timeout_ms)
{
  g_return_if_fail (FILER_IS_PEER_LIST (self));
  g_return_if_fail (timeout_ms > 0);

  self->stale_timeout_ms = timeout_ms;
}

/* --- Lookups ------------------------------------------------------- */

/**
 * filer_peer_list_lookup:
 *
 * Returns: (transfer none) (nullable): the peer with this id
 */
FilerPeer *
filer_peer_list_lookup (FilerPeerList *self,
                        const char    *id)
{
  g_return_val_if_fail (FILER_IS_PEER_LIST (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return g_hash_table_lookup (self->by_id, id);
}

/**
 * filer_peer_list_find:
 * @id_or_name: a peer's id, or its name in any case
 *
 * Returns: (transfer none) (nullable): the peer with this id, else the
 *   one peer of this name; %NULL with %FILER_DISCOVERY_ERROR_AMBIGUOUS or
 *   %FILER_DISCOVERY_ERROR_NO_SUCH_PEER
 */
FilerPeer *
filer_peer_list_find (FilerPeerList  *self,
                      const char     *id_or_name,
                      GError        **error)
{
  g_autofree char *wanted = NULL;
  FilerPeer *found;
  guint n_found = 0;

  g_return_val_if_fail (FILER_IS_PEER_LIST (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);

  found = g_hash_table_lookup (self->by_id, id_or_name);
  if (found != NULL)
    return found;

  /* Names are for humans: match them ignoring case, and refuse to guess
   * between two devices of the same name. */
  wanted = g_utf8_casefold (id_or_name, -1);
  for (guint i = 0; i < self->items->len; i++)
    {
      FilerPeer *peer = g_ptr_array_index (self->items, i);
      g_autofree char *name = g_utf8_casefold (filer_peer_get_name (peer), -1);

      if (g_str_equal (name, wanted))
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

/* --- GObject ------------------------------------------------------- */

static void
filer_peer_list_dispose (GObject *object)
{
  FilerPeerList *self = (FilerPeerList *)object;

  g_clear_handle_id (&self->stale_id, g_source_remove);

  G_OBJECT_CLASS (filer_peer_list_parent_class)->dispose (object);
}

static void
filer_peer_list_finalize (GObject *object)
{
  FilerPeerList *self = (FilerPeerList *)object;

  g_clear_pointer (&self->snapshot_ids, g_hash_table_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);

  G_OBJECT_CLASS (filer_peer_list_parent_class)->finalize (object);
}

static void
filer_peer_list_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FilerPeerList *self = FILER_PEER_LIST (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->items->len);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_peer_list_class_init (FilerPeerListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_peer_list_dispose;
  object_class->finalize = filer_peer_list_finalize;
  object_class->get_property = filer_peer_list_get_property;

  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FilerPeerList::peer-added:
   *
   * After ::items-changed, for a peer new to the list.
   */
  signals[PEER_ADDED] =
    g_signal_new ("peer-added",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_PEER);

  /**
   * FilerPeerList::peer-removed:
   *
   * After ::items-changed, for a peer taken out of the list.
   */
  signals[PEER_REMOVED] =
    g_signal_new ("peer-removed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_PEER);
}

static void
filer_peer_list_init (FilerPeerList *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->stale_timeout_ms = FILER_PEER_LIST_STALE_TIMEOUT_MS;
}

FilerPeerList *
filer_peer_list_new (void)
{
  return g_object_new (FILER_TYPE_PEER_LIST, NULL);
}
