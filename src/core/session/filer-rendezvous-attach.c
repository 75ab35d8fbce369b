/* filer-rendezvous-attach.c: filer-server serves NAT rendezvous and relay
 *
 * The glue between FilerServer (discovery: who is registered, from which
 * IP, who may see whom, and the UDP port) and FilerRendezvousServer
 * (docs/protocol.md §4), kept apart so that each can be tested alone.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-rendezvous-attach.h"

static void
datagram_cb (FilerServer    *server,
             FilerFrame     *frame,
             GSocketAddress *from,
             gpointer        user_data)
{
  filer_rendezvous_server_handle_frame (FILER_RENDEZVOUS_SERVER (user_data), frame, from);
}

static gboolean
send_cb (FilerFrame     *frame,
         GSocketAddress *to,
         gpointer        user_data)
{
  g_autoptr(GError) error = NULL;

  if (!filer_server_send_datagram (FILER_SERVER (user_data), frame, to, &error))
    {
      g_debug ("rendezvous: cannot send: %s", error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
can_see_cb (const char *peer_id,
            const char *other_id,
            gpointer    user_data)
{
  return filer_server_peers_can_see (FILER_SERVER (user_data), peer_id, other_id);
}

static char *
public_ip_cb (const char *peer_id,
              gpointer    user_data)
{
  return filer_server_get_peer_public_address (FILER_SERVER (user_data), peer_id);
}

static gboolean
check_secret_cb (const char *peer_id,
                 const char *secret,
                 gpointer    user_data)
{
  return filer_server_check_bind_secret (FILER_SERVER (user_data), peer_id, secret);
}

gboolean
filer_rendezvous_server_attach (FilerRendezvousServer  *rendezvous,
                                FilerServer            *server,
                                GError                **error)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (rendezvous), FALSE);
  g_return_val_if_fail (FILER_IS_SERVER (server), FALSE);

  filer_rendezvous_server_set_sender (rendezvous, send_cb, server, NULL);
  filer_rendezvous_server_set_directory (rendezvous, can_see_cb, public_ip_cb, server, NULL);
  filer_rendezvous_server_set_secret_check (rendezvous, check_secret_cb, server);
  filer_server_add_datagram_handler (server, "nat-*", datagram_cb,
                                     g_object_ref (rendezvous), g_object_unref);

  return filer_rendezvous_server_start (rendezvous, filer_server_get_bind_address (server), error);
}
