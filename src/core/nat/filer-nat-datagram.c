/* filer-nat-datagram.c: the peer-to-peer datagrams of NAT traversal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-datagram.h"
#include "filer-nat-datagram-private.h"

#include <string.h>
#include <sys/socket.h>

#include "filer-frame-decoder.h"

void
filer_nat_datagram_write_header (guint8       *buffer,
                                 FilerNatKind  kind,
                                 const guint8 *token)
{
  buffer[0] = 0xFF;
  buffer[1] = 0xFF;
  buffer[2] = kind;
  memcpy (buffer + 3, token, FILER_NAT_TOKEN_SIZE);
}

gboolean
filer_nat_datagram_parse (const guint8  *data,
                          gsize          length,
                          FilerNatKind  *kind,
                          const guint8 **token,
                          const guint8 **payload,
                          gsize         *payload_length)
{
  if (length < FILER_NAT_HEADER_SIZE || data[0] != 0xFF || data[1] != 0xFF)
    return FALSE;

  switch (data[2])
    {
    case FILER_NAT_KIND_PUNCH:
    case FILER_NAT_KIND_ACK:
    case FILER_NAT_KIND_KEEPALIVE:
    case FILER_NAT_KIND_STREAM:
    case FILER_NAT_KIND_QUIC:
      break;
    default:
      return FALSE;
    }

  *kind = data[2];
  *token = data + 3;
  *payload = data + FILER_NAT_HEADER_SIZE;
  *payload_length = length - FILER_NAT_HEADER_SIZE;
  return TRUE;
}

void
filer_nat_token_format (const guint8 *token,
                        char         *hex)
{
  static const char digits[] = "0123456789abcdef";

  for (guint i = 0; i < FILER_NAT_TOKEN_SIZE; i++)
    {
      hex[2 * i] = digits[token[i] >> 4];
      hex[2 * i + 1] = digits[token[i] & 0xf];
    }
  hex[2 * FILER_NAT_TOKEN_SIZE] = '\0';
}

char *
filer_nat_token_to_hex (const guint8 *token)
{
  char hex[FILER_NAT_TOKEN_HEX_SIZE];

  filer_nat_token_format (token, hex);
  return g_strdup (hex);
}

gboolean
filer_nat_token_from_hex (const char *hex,
                          guint8     *token)
{
  if (hex == NULL || strlen (hex) != 2 * FILER_NAT_TOKEN_SIZE)
    return FALSE;

  for (guint i = 0; i < FILER_NAT_TOKEN_SIZE; i++)
    {
      int high = g_ascii_xdigit_value (hex[2 * i]);
      int low = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (high < 0 || low < 0)
        return FALSE;
      token[i] = (guint8)(high << 4 | low);
    }

  return TRUE;
}

char *
filer_nat_address_to_string (GSocketAddress *address)
{
  GInetSocketAddress *inet;
  GInetAddress *ip;
  g_autofree char *text = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("");

  inet = G_INET_SOCKET_ADDRESS (address);
  ip = g_inet_socket_address_get_address (inet);
  text = g_inet_address_to_string (ip);

  /* A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d. */
  if (g_str_has_prefix (text, "::ffff:") && strchr (text, '.'))
    return g_strdup_printf ("%s:%u", text + 7, g_inet_socket_address_get_port (inet));

  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", text, g_inet_socket_address_get_port (inet));

  return g_strdup_printf ("%s:%u", text, g_inet_socket_address_get_port (inet));
}

GSocketAddress *
filer_nat_address_from_string (const char *text)
{
  g_autofree char *host = NULL;
  const char *colon;
  guint64 port;

  if (text == NULL)
    return NULL;

  colon = strrchr (text, ':');
  if (colon == NULL || colon == text)
    return NULL;

  if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    return NULL;

  if (text[0] == '[' && colon[-1] == ']')
    host = g_strndup (text + 1, colon - text - 2);
  else
    host = g_strndup (text, colon - text);

  if (!g_hostname_is_ip_address (host))
    return NULL;

  return g_inet_socket_address_new_from_string (host, (guint)port);
}

/* The 4 bytes of an IPv4 address, also behind ::ffff:a.b.c.d (what a
 * dual-stack socket reports); else the address's own bytes. */
static const guint8 *
plain_bytes (GInetAddress *address,
             gsize        *length)
{
  static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const guint8 *bytes = g_inet_address_to_bytes (address);

  *length = g_inet_address_get_native_size (address);
  if (*length == 16 && memcmp (bytes, mapped, sizeof mapped) == 0)
    {
      *length = 4;
      return bytes + 12;
    }
  return bytes;
}

/* Called for every datagram: compares bytes and ports, no strings. */
gboolean
filer_nat_address_equal (GSocketAddress *a,
                         GSocketAddress *b)
{
  const guint8 *bytes_a, *bytes_b;
  gsize length_a, length_b;

  if (a == NULL || b == NULL)
    return a == b;
  if (!G_IS_INET_SOCKET_ADDRESS (a) || !G_IS_INET_SOCKET_ADDRESS (b))
    return FALSE;
  if (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a)) !=
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (b)))
    return FALSE;

  bytes_a = plain_bytes (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)), &length_a);
  bytes_b = plain_bytes (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)), &length_b);
  return length_a == length_b && memcmp (bytes_a, bytes_b, length_a) == 0;
}

gboolean
filer_nat_send_frame (GSocket         *socket,
                      GSocketAddress  *to,
                      FilerFrame      *frame,
                      GError         **error)
{
  g_autoptr(GBytes) bytes = filer_frame_encode (frame, error);
  gsize size;
  gconstpointer data;

  if (bytes == NULL)
    return FALSE;

  data = g_bytes_get_data (bytes, &size);
  return g_socket_send_to (socket, to, data, size, NULL, error) >= 0;
}

/* --- the client's socket (filer-nat-datagram-private.h) ----------------- */

static GQuark
ttl_quark (void)
{
  static GQuark quark;

  if (quark == 0)
    quark = g_quark_from_static_string ("filer-nat-socket-ttl");
  return quark;
}

void
_filer_nat_socket_set_ttl (GSocket *socket,
                           guint    ttl)
{
  g_assert (G_IS_SOCKET (socket));

  if (GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (socket), ttl_quark ())) != ttl)
    {
      g_socket_set_ttl (socket, ttl);
      g_object_set_qdata (G_OBJECT (socket), ttl_quark (), GUINT_TO_POINTER (ttl));
    }
}

void
_filer_nat_socket_send_frame (GSocket        *socket,
                              GSocketAddress *to,
                              FilerFrame     *frame)
{
  g_autoptr(GError) error = NULL;

  if (socket == NULL || to == NULL)
    return;

  _filer_nat_socket_set_ttl (socket, FILER_NAT_FULL_TTL);
  if (!filer_nat_send_frame (socket, to, frame, &error))
    g_debug ("nat: cannot send %s: %s", filer_frame_get_message_type (frame), error->message);
}
