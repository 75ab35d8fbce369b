/* filer-server-rendezvous.c: NAT rendezvous on the discovery server's port
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-server-rendezvous.h"

/* The glue between the two servers, in its own file so that neither
 * knows the other: FilerServer hands every "nat-*" datagram over and
 * sends the answers; FilerRendezvousServer asks FilerServer who is
 * registered, from where, and who may see whom. */

static void
nat_datagram_cb (FilerServer    *server,
                 FilerFrame     *frame,
                 GSocketAddress *from,
                 gpointer        user_data)
{
  filer_rendezvous_server_handle_frame (user_data, frame, from);
}

static gboolean
send_cb (FilerFrame     *frame,
         GSocketAddress *to,
         gpointer        user_data)
{
  g_autoptr(GError) error = NULL;

  if (!filer_server_send_datagram (user_data, frame, to, &error))
    {
      g_debug ("Rendezvous: cannot send a datagram: %s", error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
can_see_cb (const char *peer_id,
            const char *other_id,
            gpointer    user_data)
{
  return filer_server_peers_can_see (user_data, peer_id, other_id);
}

static char *
public_ip_cb (const char *peer_id,
              gpointer    user_data)
{
  return filer_server_get_peer_public_address (user_data, peer_id);
}

FilerRendezvousServer *
filer_server_enable_rendezvous (FilerServer  *server,
                                GError      **error)
{
  g_autoptr(FilerRendezvousServer) rendezvous = NULL;

  g_return_val_if_fail (FILER_IS_SERVER (server), NULL);
  g_return_val_if_fail (filer_server_is_running (server), NULL);

  rendezvous = filer_rendezvous_server_new ();

  /* Both callbacks borrow @server: the rendezvous server is its object
   * data, so it cannot outlive it. */
  filer_rendezvous_server_set_sender (rendezvous, send_cb, server, NULL);
  filer_rendezvous_server_set_directory (rendezvous, can_see_cb, public_ip_cb, server, NULL);

  if (!filer_rendezvous_server_start (rendezvous, filer_server_get_bind_address (server), error))
    return NULL;

  filer_server_add_datagram_handler (server, "nat-*", nat_datagram_cb, rendezvous, NULL);
  g_object_set_data_full (G_OBJECT (server), "filer-rendezvous-server",
                          g_object_ref (rendezvous), g_object_unref);

  return rendezvous;
}
