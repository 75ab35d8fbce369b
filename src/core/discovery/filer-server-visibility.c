/* filer-server-visibility.c: which registered clients see each other
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-server-private.h"

/* A registered client belongs to one network group (keyed by its public
 * address, or "private" for loopback and private source addresses) and
 * optionally one room group. The peers a client sees are the union of
 * its two groups, computed on demand, so a join or leave costs O(size of
 * the groups), never O(all clients). */

void
_filer_server_group_add (GHashTable *groups,
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

void
_filer_server_group_remove (GHashTable *groups,
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

gboolean
_filer_server_clients_see_each_other (Client *a,
                                      Client *b)
{
  if (a == b || !a->registered || !b->registered)
    return FALSE;

  return g_str_equal (a->network, b->network) ||
         (a->room != NULL && b->room != NULL && g_str_equal (a->room, b->room));
}

/* Calls @func once for every live client that @client sees. */
void
_filer_server_foreach_visible (Client     *client,
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
