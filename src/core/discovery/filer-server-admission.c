/* filer-server-admission.c: who gets a connection to FilerServer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-net.h"
#include "filer-util.h"
#include "filer-server-private.h"

/* Limits on what a stranger can open (docs/protocol.md §2.8). They are
 * kept per *origin*: an IPv4 address, or an IPv6 /64 (one household's
 * prefix; its addresses are free to pick).
 *
 *  - A token bucket per origin paces new connections: 64 at once, then
 *    16 a second. A connection without a token is closed at once, before
 *    it costs a TLS handshake.
 *  - Connections that have not registered yet ("unproven") are bounded
 *    per origin (max-per-address, 32) and in total (2,048). A newcomer is
 *    never refused for this: the oldest unproven connection of its origin
 *    (or, when the total is full, of the origin holding the most) makes
 *    room. So connections held open by someone behind a shared address (a
 *    home or carrier NAT) cannot lock the others out: a device's
 *    handshake and registration take milliseconds, and registered devices
 *    are never evicted.
 *  - Registered devices per origin: at most 1,024.
 *  - Registrations that open a room nobody is in (which is what guessing
 *    room codes looks like) take a token of the origin's room bucket: 8
 *    at once, then one every 10 seconds. Joining a room with someone in
 *    it is free: a guess that hits has won anyway, and a group of people
 *    behind one NAT pays once.
 *
 * max-per-address 0 lifts every per-origin limit (benchmarks that join
 * thousands of peers from one address); the total stays.
 *
 * Origins are forgotten by the idle sweep once they hold no connection
 * and their bucket has refilled, so the table is bounded by what is
 * connected plus one burst's worth of the recent past. */

#define ACCEPT_BURST 64.0
#define ACCEPT_RATE  16.0
#define ROOM_BURST    8.0
#define ROOM_RATE     0.1

struct _Origin
{
  char             *key;
  FilerTokenBucket  accepts;
  FilerTokenBucket  rooms;
  GQueue            unproven;      /* Client*, oldest first */
  guint             registered;
};

static void
origin_free (gpointer data)
{
  Origin *origin = data;

  g_assert (g_queue_is_empty (&origin->unproven));
  g_free (origin->key);
  g_free (origin);
}

GHashTable *
_filer_server_origins_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, origin_free);
}

static gboolean
limited (FilerServer *self)
{
  return self->max_per_address > 0;
}

/* Takes a token from @address's origin. Returns the origin, or %NULL
 * when the connection must be closed unheard (out of tokens, or the
 * table of origins is full). */
Origin *
_filer_server_admission_take (FilerServer  *self,
                              GInetAddress *address)
{
  g_autofree char *key = filer_net_origin_key (address);
  gint64 now = g_get_monotonic_time ();
  Origin *origin;

  origin = g_hash_table_lookup (self->origins, key);
  if (origin == NULL)
    {
      if (g_hash_table_size (self->origins) >= FILER_SERVER_MAX_ORIGINS)
        return NULL;
      origin = g_new0 (Origin, 1);
      origin->key = g_steal_pointer (&key);
      filer_token_bucket_init (&origin->accepts, ACCEPT_BURST, now);
      filer_token_bucket_init (&origin->rooms, ROOM_BURST, now);
      g_queue_init (&origin->unproven);
      g_hash_table_insert (self->origins, origin->key, origin);
    }

  if (limited (self) &&
      !filer_token_bucket_take (&origin->accepts, ACCEPT_RATE, ACCEPT_BURST, 1, now))
    return NULL;

  return origin;
}

/* Takes the oldest unproven client of @origin out of the counts and
 * into @victims: the caller closes it. */
static void
evict_oldest (Origin    *origin,
              GPtrArray *victims)
{
  Client *victim = g_queue_peek_head (&origin->unproven);

  _filer_server_admission_release (victim);
  g_ptr_array_add (victims, victim);
}

static Origin *
largest_origin (FilerServer *self)
{
  GHashTableIter iter;
  gpointer value;
  Origin *largest = NULL;

  g_hash_table_iter_init (&iter, self->origins);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Origin *origin = value;

      if (largest == NULL || origin->unproven.length > largest->unproven.length)
        largest = origin;
    }

  return largest;
}

/* Counts @client, new and unproven, in @origin, making room for it:
 * the unproven clients that must go for it, no longer counted, are
 * added to @too_many (their origin's limit) and @busy (the total), for
 * the caller to close. */
void
_filer_server_admission_add (Client    *client,
                             Origin    *origin,
                             GPtrArray *too_many,
                             GPtrArray *busy)
{
  FilerServer *self = client->server;

  g_assert (client->origin == NULL);

  while (limited (self) && origin->unproven.length >= self->max_per_address)
    evict_oldest (origin, too_many);

  while (self->n_unproven >= FILER_SERVER_MAX_UNPROVEN)
    evict_oldest (largest_origin (self), busy);

  client->origin = origin;
  g_queue_push_tail (&origin->unproven, client);
  client->unproven_link = origin->unproven.tail;
  self->n_unproven++;
}

/* @client registers: it leaves the unproven. Returns %FALSE if its
 * origin holds the most registered devices it may. */
gboolean
_filer_server_admission_register (Client *client)
{
  FilerServer *self = client->server;
  Origin *origin = client->origin;

  g_assert (origin != NULL && client->unproven_link != NULL);

  if (limited (self) && origin->registered >= FILER_SERVER_MAX_REGISTERED_PER_ADDRESS)
    return FALSE;

  g_queue_delete_link (&origin->unproven, g_steal_pointer (&client->unproven_link));
  self->n_unproven--;
  origin->registered++;

  return TRUE;
}

/* @client, not registered yet, opens a room nobody is in. Returns
 * %FALSE if its origin has opened too many of late. */
gboolean
_filer_server_admission_new_room (Client *client)
{
  FilerServer *self = client->server;

  g_assert (client->origin != NULL);

  return !limited (self) ||
         filer_token_bucket_take (&client->origin->rooms, ROOM_RATE, ROOM_BURST, 1,
                                  g_get_monotonic_time ());
}

/* @client is closing: it counts no more. Safe to call again. */
void
_filer_server_admission_release (Client *client)
{
  Origin *origin = client->origin;

  if (origin == NULL)
    return;

  if (client->unproven_link != NULL)
    {
      g_queue_delete_link (&origin->unproven, g_steal_pointer (&client->unproven_link));
      client->server->n_unproven--;
    }
  else
    {
      g_assert (origin->registered > 0);
      origin->registered--;
    }

  client->origin = NULL;
}

/* Forgets the origins nobody needs: no connection, full buckets. */
void
_filer_server_admission_sweep (FilerServer *self,
                               gint64       now)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->origins);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Origin *origin = value;

      if (g_queue_is_empty (&origin->unproven) && origin->registered == 0 &&
          filer_token_bucket_full (&origin->accepts, ACCEPT_RATE, ACCEPT_BURST, now) &&
          filer_token_bucket_full (&origin->rooms, ROOM_RATE, ROOM_BURST, now))
        g_hash_table_iter_remove (&iter);
    }
}
