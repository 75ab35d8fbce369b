/* filer-net.c: small address helpers shared by discovery code
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-net.h"

#include "filer-identity.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static gboolean
is_v4_mapped (GInetAddress *address)
{
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 &&
         memcmp (g_inet_address_to_bytes (address), prefix, sizeof prefix) == 0;
}

/* Returns a new reference: the IPv4 address behind a mapped one, or
 * @address itself. */
static GInetAddress *
unmap (GInetAddress *address)
{
  if (is_v4_mapped (address))
    return g_inet_address_new_from_bytes (g_inet_address_to_bytes (address) + 12,
                                          G_SOCKET_FAMILY_IPV4);

  return g_object_ref (address);
}

char *
filer_net_address_to_string (GInetAddress *address)
{
  g_autoptr(GInetAddress) plain = NULL;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);

  plain = unmap (address);
  return g_inet_address_to_string (plain);
}

char *
filer_net_origin_key (GInetAddress *address)
{
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 &&
      !g_inet_address_get_is_loopback (address))
    {
      const guint8 *bytes = g_inet_address_to_bytes (address);
      guint8 prefix[16] = { 0 };
      g_autoptr(GInetAddress) network = NULL;
      g_autofree char *text = NULL;
      static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (bytes, v4_mapped, sizeof v4_mapped) != 0)
        {
          memcpy (prefix, bytes, 8);
          network = g_inet_address_new_from_bytes (prefix, G_SOCKET_FAMILY_IPV6);
          text = g_inet_address_to_string (network);
          return g_strconcat (text, "/64", NULL);
        }
    }

  return filer_net_address_to_string (address);
}

gboolean
filer_net_address_is_private (GInetAddress *address)
{
  g_autoptr(GInetAddress) plain = NULL;
  const guint8 *bytes;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  plain = unmap (address);
  if (g_inet_address_get_is_loopback (plain) ||
      g_inet_address_get_is_link_local (plain) ||
      g_inet_address_get_is_site_local (plain))
    return TRUE;

  bytes = g_inet_address_to_bytes (plain);
  if (g_inet_address_get_family (plain) == G_SOCKET_FAMILY_IPV4)
    return bytes[0] == 100 && (bytes[1] & 0xc0) == 64;   /* 100.64.0.0/10 */

  return (bytes[0] & 0xfe) == 0xfc;                       /* fc00::/7 */
}

static void
add_unique (GPtrArray  *array,
            const char *text)
{
  for (guint i = 0; i < array->len; i++)
    if (g_strcmp0 (g_ptr_array_index (array, i), text) == 0)
      return;

  g_ptr_array_add (array, g_strdup (text));
}

static GInetAddress *
inet_address_from_sockaddr (struct sockaddr *sa)
{
  if (sa == NULL)
    return NULL;

  if (sa->sa_family == AF_INET)
    return g_inet_address_new_from_bytes ((guint8 *)&((struct sockaddr_in *)sa)->sin_addr,
                                          G_SOCKET_FAMILY_IPV4);
  if (sa->sa_family == AF_INET6)
    return g_inet_address_new_from_bytes ((guint8 *)&((struct sockaddr_in6 *)sa)->sin6_addr,
                                          G_SOCKET_FAMILY_IPV6);
  return NULL;
}

static guint
prefix_length (struct sockaddr *netmask)
{
  const guint8 *bytes;
  gsize size;
  guint bits = 0;

  if (netmask->sa_family == AF_INET)
    {
      bytes = (const guint8 *)&((struct sockaddr_in *)netmask)->sin_addr;
      size = 4;
    }
  else if (netmask->sa_family == AF_INET6)
    {
      bytes = (const guint8 *)&((struct sockaddr_in6 *)netmask)->sin6_addr;
      size = 16;
    }
  else
    return 0;

  for (gsize i = 0; i < size; i++)
    for (guint8 b = bytes[i]; b & 0x80; b <<= 1)
      bits++;

  return bits;
}

gboolean
filer_net_address_is_on_link (GInetAddress *address)
{
  g_autoptr(GInetAddress) plain = NULL;
  struct ifaddrs *list = NULL;
  gboolean found = FALSE;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  plain = unmap (address);
  if (getifaddrs (&list) != 0)
    return FALSE;

  for (struct ifaddrs *ifa = list; ifa != NULL && !found; ifa = ifa->ifa_next)
    {
      g_autoptr(GInetAddress) own = NULL;
      const guint8 *a;
      const guint8 *b;
      guint bits;

      if ((ifa->ifa_flags & IFF_UP) == 0 || (ifa->ifa_flags & IFF_LOOPBACK) != 0 ||
          ifa->ifa_netmask == NULL)
        continue;

      own = inet_address_from_sockaddr (ifa->ifa_addr);
      if (own == NULL || g_inet_address_get_family (own) != g_inet_address_get_family (plain))
        continue;

      /* A /0 or a point-to-point /32 says nothing about a shared link. */
      bits = prefix_length (ifa->ifa_netmask);
      if (bits == 0 || bits == (g_inet_address_get_family (own) == G_SOCKET_FAMILY_IPV4 ? 32u : 128u))
        continue;

      a = g_inet_address_to_bytes (own);
      b = g_inet_address_to_bytes (plain);
      found = memcmp (a, b, bits / 8) == 0 &&
              (bits % 8 == 0 || ((a[bits / 8] ^ b[bits / 8]) & (0xff << (8 - bits % 8))) == 0);
    }
  freeifaddrs (list);

  return found;
}

char **
filer_net_get_local_addresses (void)
{
  g_autoptr(GPtrArray) v4 = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) v6 = g_ptr_array_new_with_free_func (g_free);
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) == 0)
    {
      for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
        {
          g_autoptr(GInetAddress) address = NULL;
          g_autofree char *text = NULL;

          if ((ifa->ifa_flags & IFF_UP) == 0 || (ifa->ifa_flags & IFF_LOOPBACK) != 0)
            continue;

          address = inet_address_from_sockaddr (ifa->ifa_addr);
          if (address == NULL ||
              g_inet_address_get_is_loopback (address) ||
              g_inet_address_get_is_link_local (address))
            continue;

          text = g_inet_address_to_string (address);
          add_unique (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 ? v4 : v6,
                      text);
        }
      freeifaddrs (list);
    }

  for (guint i = 0; i < v6->len; i++)
    g_ptr_array_add (v4, g_strdup (g_ptr_array_index (v6, i)));
  g_ptr_array_add (v4, NULL);

  return (char **)g_ptr_array_free (g_steal_pointer (&v4), FALSE);
}

char **
filer_net_get_broadcast_addresses (void)
{
  g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func (g_free);
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) == 0)
    {
      for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
        {
          g_autoptr(GInetAddress) address = NULL;
          g_autofree char *text = NULL;

          if ((ifa->ifa_flags & IFF_UP) == 0 ||
              (ifa->ifa_flags & IFF_LOOPBACK) != 0 ||
              (ifa->ifa_flags & IFF_BROADCAST) == 0 ||
              ifa->ifa_addr == NULL ||
              ifa->ifa_addr->sa_family != AF_INET)
            continue;

          address = inet_address_from_sockaddr (ifa->ifa_broadaddr);
          if (address == NULL)
            continue;

          text = g_inet_address_to_string (address);
          add_unique (array, text);
        }
      freeifaddrs (list);
    }

  g_ptr_array_add (array, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&array), FALSE);
}

char *
filer_net_format_host_port (const char *host,
                            guint16     port)
{
  g_return_val_if_fail (host != NULL, NULL);

  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

gboolean
filer_net_parse_host_port (const char  *text,
                           guint16      default_port,
                           char       **host,
                           guint16     *port,
                           GError     **error)
{
  g_autofree char *host_part = NULL;
  const char *port_part = NULL;
  guint64 value = default_port;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (port != NULL, FALSE);

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');

      if (end == NULL || (end[1] != '\0' && end[1] != ':'))
        goto bad;
      host_part = g_strndup (text + 1, end - text - 1);
      if (end[1] == ':')
        port_part = end + 2;
    }
  else
    {
      const char *colon = strrchr (text, ':');

      /* A bare IPv6 address has several colons and no port. */
      if (colon != NULL && strchr (text, ':') == colon)
        {
          host_part = g_strndup (text, colon - text);
          port_part = colon + 1;
        }
      else
        {
          g_autoptr(GInetAddress) literal = NULL;

          /* Several colons: only a bare IPv6 address makes sense. */
          if (colon != NULL && (literal = g_inet_address_new_from_string (text)) == NULL)
            goto bad;
          host_part = g_strdup (text);
        }
    }

  if (host_part[0] == '\0')
    goto bad;

  if (port_part != NULL &&
      (!g_ascii_string_to_unsigned (port_part, 10, 1, G_MAXUINT16, &value, NULL)))
    goto bad;

  *host = g_steal_pointer (&host_part);
  *port = (guint16)value;
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "“%s” is not HOST:PORT", text);
  return FALSE;
}

gboolean
filer_net_parse_server_address (const char  *text,
                                guint16      default_port,
                                char       **host,
                                guint16     *port,
                                char       **server_id,
                                GError     **error)
{
  const char *hash;
  g_autofree char *address = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (server_id != NULL, FALSE);

  /* '#' never appears in a host, a port or an IPv6 literal. */
  hash = strchr (text, '#');
  if (hash == NULL)
    {
      *server_id = NULL;
      return filer_net_parse_host_port (text, default_port, host, port, error);
    }

  /* Ids are compared as the server's key makes them: upper case. A
   * mistyped id fails its check characters here, not at every connect. */
  if (!filer_identity_id_is_valid (hash + 1))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a valid server id", hash + 1);
      return FALSE;
    }

  address = g_strndup (text, hash - text);
  if (!filer_net_parse_host_port (address, default_port, host, port, error))
    return FALSE;

  *server_id = g_strdup (hash + 1);
  return TRUE;
}
