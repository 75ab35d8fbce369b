/* filer-nat-binding.c: FilerNatClient's binding with the rendezvous server
 *
 * The client binds its id to its UDP endpoint (nat-bind), and rebinds
 * every keepalive interval to hold its NAT mapping open. The server
 * answers with the address it saw, and with a second port: a probe to
 * that port tells whether our NAT maps by destination (symmetric), which
 * the server needs to assign punching roles.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-client-private.h"

void
filer_nat_client_set_ttl (FilerNatClient *self,
                          guint           ttl)
{
  /* One setsockopt per change, not per datagram. */
  if (self->current_ttl != ttl)
    {
      g_socket_set_ttl (self->socket, ttl);
      self->current_ttl = ttl;
    }
}

void
filer_nat_client_send_frame (FilerNatClient *self,
                             GSocketAddress *to,
                             FilerFrame     *frame)
{
  g_autoptr(GError) error = NULL;

  if (self->socket == NULL || to == NULL)
    return;

  filer_nat_client_set_ttl (self, FULL_TTL);
  if (!filer_nat_send_frame (self->socket, to, frame, &error))
    g_debug ("nat: cannot send %s: %s", filer_frame_get_message_type (frame), error->message);
}

/* The server's answer to nat-bind (or, on its second port, nat-probe):
 * the address it saw us at. */
void
filer_nat_client_handle_bound (FilerNatClient *self,
                               FilerFrame     *frame,
                               gboolean        from_second_port)
{
  const char *address = filer_frame_get (frame, "address");
  guint64 port2 = 0;

  if (address == NULL)
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
      filer_nat_client_send_frame (self, self->server2, probe);
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
          g_clear_handle_id (&self->bind_id, g_source_remove);
          filer_nat_client_bind_cb (self);
        }
    }
}

gboolean
filer_nat_client_bind_cb (gpointer user_data)
{
  FilerNatClient *self = user_data;
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-bind");
  guint interval = self->keepalive_ms;

  filer_frame_set (frame, "id", self->peer_id);
  if (self->mapping)
    filer_frame_set (frame, "mapping", self->mapping);
  filer_nat_client_send_frame (self, self->server, frame);

  /* Until the server has answered on both ports, ask again soon. */
  if (self->public_address == NULL || (self->server2 && self->public_address2 == NULL))
    interval = MIN (interval, 2 * RETRY_INTERVAL_MS);

  self->bind_id = g_timeout_add (interval, filer_nat_client_bind_cb, self);
  return G_SOURCE_REMOVE;
}
