/* filer-discovery-peers.c: FilerDiscoveryClient's peer list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-discovery-client-private.h"

/* The peer list is a GListStore of FilerPeer with an index by id. A
 * snapshot after a reconnect is reconciled against it: peers are updated
 * in place, so FilerPeer objects keep their identity and a bound view
 * does not flicker. */

void
filer_discovery_client_remove_peer (FilerDiscoveryClient *self,
                                    FilerPeer            *peer)
{
  g_autoptr(FilerPeer) hold = g_object_ref (peer);
  guint position;

  g_hash_table_remove (self->peers_by_id, filer_peer_get_id (peer));
  if (g_list_store_find (self->peers, peer, &position))
    g_list_store_remove (self->peers, position);

  filer_discovery_client_emit_peer_left (self, peer);
}

void
filer_discovery_client_clear_peers (FilerDiscoveryClient *self)
{
  while (g_list_model_get_n_items (G_LIST_MODEL (self->peers)) > 0)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), 0);

      filer_discovery_client_remove_peer (self, peer);
    }
}

gboolean
filer_discovery_client_upsert_peer (FilerDiscoveryClient  *self,
                                    FilerFrame            *frame,
                                    GError               **error)
{
  const char *id = filer_frame_get (frame, "id");
  const char *addresses = filer_frame_get (frame, "addresses");
  const char *network = filer_frame_get (frame, "network");
  g_auto(GStrv) address_list = NULL;
  FilerPeer *peer;
  gboolean is_new = FALSE;
  guint64 port = 0;

  if (id == NULL || *id == '\0' ||
      (filer_frame_get (frame, "port") != NULL &&
       !filer_frame_get_uint (frame, "port", G_MAXUINT16, &port, NULL)))
    {
      g_set_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_PROTOCOL,
                   "The server sent a malformed “%s” message",
                   filer_frame_get_message_type (frame));
      return FALSE;
    }

  peer = g_hash_table_lookup (self->peers_by_id, id);
  if (peer == NULL)
    {
      peer = filer_peer_new (id);
      is_new = TRUE;
    }

  if (addresses != NULL && *addresses != '\0')
    address_list = g_strsplit (addresses, ",", -1);

  g_object_freeze_notify (G_OBJECT (peer));
  filer_peer_set_name (peer, filer_frame_get (frame, "name"));
  filer_peer_set_kind (peer, filer_frame_get (frame, "kind"));
  filer_peer_set_port (peer, port);
  filer_peer_set_addresses (peer, (const char * const *)address_list);
  filer_peer_set_public_address (peer, filer_frame_get (frame, "public-address"));
  filer_peer_set_network (peer, g_strcmp0 (network, "remote") == 0 ? FILER_PEER_NETWORK_REMOTE
                                                                    : FILER_PEER_NETWORK_LAN);
  g_object_thaw_notify (G_OBJECT (peer));

  if (self->snapshot_ids != NULL)
    g_hash_table_add (self->snapshot_ids, g_strdup (id));

  if (is_new)
    {
      g_hash_table_insert (self->peers_by_id, (char *)filer_peer_get_id (peer), peer);
      g_list_store_append (self->peers, peer);
      filer_discovery_client_emit_peer_joined (self, peer);
      g_object_unref (peer);
    }

  return TRUE;
}

/* The snapshot is complete: whoever was listed before and is not in it
 * has gone while we were away. */
void
filer_discovery_client_finish_snapshot (FilerDiscoveryClient *self)
{
  g_autoptr(GHashTable) seen = g_steal_pointer (&self->snapshot_ids);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));

  for (guint i = 0; i < n; i++)
    {
      FilerPeer *peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);

      if (!g_hash_table_contains (seen, filer_peer_get_id (peer)))
        g_ptr_array_add (gone, peer);
      else
        g_object_unref (peer);
    }

  for (guint i = 0; i < gone->len; i++)
    filer_discovery_client_remove_peer (self, g_ptr_array_index (gone, i));

  g_clear_handle_id (&self->stale_id, g_source_remove);
  self->backoff_ms = 0;
  filer_discovery_client_set_state (self, FILER_DISCOVERY_STATE_ONLINE, NULL);
}

gboolean
filer_discovery_client_stale_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;

  self->stale_id = 0;
  g_debug ("Offline for %u ms: forgetting the peer list", STALE_TIMEOUT_MS);
  filer_discovery_client_clear_peers (self);

  return G_SOURCE_REMOVE;
}
