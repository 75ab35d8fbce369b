/* filer-discovery-probe.c: FilerDiscoveryClient's auto-find of the server over UDP
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-discovery-client-private.h"
#include "filer-frame-decoder.h"
#include "filer-net.h"
#include "filer-socket.h"

/* Without a configured server, find one on the LAN: send "probe"
 * datagrams to the probe targets and connect to the first server that
 * answers with a "probe-reply". */

#define PROBE_TIMEOUT_MS     1000
#define PROBE_RESEND_MS      300

void
filer_discovery_client_stop_probe (FilerDiscoveryClient *self)
{
  g_clear_handle_id (&self->probe_resend_id, g_source_remove);
  g_clear_handle_id (&self->probe_timeout_id, g_source_remove);
  filer_clear_source (&self->probe_source);
  if (self->probe_socket != NULL)
    {
      g_socket_close (self->probe_socket, NULL);
      g_clear_object (&self->probe_socket);
    }
}

static char **
probe_targets (FilerDiscoveryClient *self)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) broadcasts = NULL;

  if (self->probe_targets != NULL)
    return g_strdupv (self->probe_targets);

  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, "127.0.0.1");
  broadcasts = filer_net_get_broadcast_addresses ();
  g_strv_builder_addv (builder, (const char **)broadcasts);

  return g_strv_builder_end (builder);
}

static gboolean
send_probes_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;
  g_autoptr(FilerFrame) probe = filer_frame_new ("probe");
  g_autoptr(GBytes) bytes = NULL;
  g_auto(GStrv) targets = probe_targets (self);

  filer_frame_set_uint (probe, "version", 1);
  bytes = filer_frame_encode (probe, NULL);

  for (guint i = 0; targets[i]; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GInetAddress) address = NULL;
      g_autoptr(GSocketAddress) to = NULL;
      g_autofree char *host = NULL;
      guint16 port;

      if (!filer_net_parse_host_port (targets[i], FILER_DISCOVERY_DEFAULT_PORT,
                                      &host, &port, &error) ||
          (address = g_inet_address_new_from_string (host)) == NULL ||
          g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
        {
          g_debug ("Skipping probe target “%s”", targets[i]);
          continue;
        }

      to = g_inet_socket_address_new (address, port);
      if (g_socket_send_to (self->probe_socket, to,
                            g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                            NULL, &error) < 0)
        g_debug ("Probe to %s failed: %s", targets[i], error->message);
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
probe_reply_cb (GSocket        *socket,
                const guint8   *data,
                gsize           length,
                GSocketAddress *from,
                gpointer        user_data)
{
  FilerDiscoveryClient *self = user_data;
  g_autoptr(FilerFrame) frame = NULL;
  g_autofree char *host = NULL;
  guint64 port;

  frame = filer_frame_decode_datagram (data, length, length, NULL);
  if (frame == NULL || !filer_frame_is (frame, "probe-reply") ||
      !filer_frame_get_uint (frame, "port", G_MAXUINT16, &port, NULL) || port == 0 ||
      !G_IS_INET_SOCKET_ADDRESS (from))
    {
      g_debug ("Ignoring a malformed probe reply");
      return G_SOURCE_CONTINUE;
    }

  host = filer_net_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));
  g_debug ("Found a discovery server at %s, TCP port %u", host, (guint)port);

  /* Destroys this watch: the helper stops reading. */
  filer_discovery_client_stop_probe (self);
  filer_discovery_client_connect_to (self, host, port);
  return G_SOURCE_REMOVE;
}

static gboolean
probe_timeout_cb (gpointer user_data)
{
  FilerDiscoveryClient *self = user_data;

  self->probe_timeout_id = 0;
  filer_discovery_client_stop_probe (self);
  filer_discovery_client_fail (self, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND,
                                                  "No discovery server found on the local network"));
  return G_SOURCE_REMOVE;
}

void
filer_discovery_client_start_probe (FilerDiscoveryClient *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  filer_discovery_client_set_string_property (self, &self->server_address, NULL, PROP_SERVER_ADDRESS);

  self->probe_socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                     G_SOCKET_PROTOCOL_UDP, &error);
  if (self->probe_socket == NULL)
    {
      filer_discovery_client_fail (self, g_steal_pointer (&error));
      return;
    }

  if (self->local_address != NULL)
    any = g_inet_address_new_from_string (self->local_address);
  if (any == NULL)
    any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  local = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (self->probe_socket, local, FALSE, &error))
    {
      g_clear_object (&self->probe_socket);
      filer_discovery_client_fail (self, g_steal_pointer (&error));
      return;
    }
  g_socket_set_broadcast (self->probe_socket, TRUE);
  self->probe_source = filer_socket_watch_datagrams (self->probe_socket, 16,
                                                     probe_reply_cb, self, NULL);

  /* A datagram may be lost: say it three times. */
  send_probes_cb (self);
  self->probe_resend_id = g_timeout_add (PROBE_RESEND_MS, send_probes_cb, self);
  self->probe_timeout_id = g_timeout_add (PROBE_TIMEOUT_MS, probe_timeout_cb, self);
}
