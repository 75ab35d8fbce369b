/* filer-net.h: small address helpers shared by discovery code
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* The text form of @address with IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d, what a dual-stack socket reports) turned back into
 * plain IPv4, so one host always has one spelling. */
char      *filer_net_address_to_string       (GInetAddress  *address);

/* What limits are kept per: an IPv4 address (as above), or an IPv6 /64
 * as "prefix::/64" (one household's prefix, whose addresses it is free
 * to pick). Loopback is itself. */
char      *filer_net_origin_key              (GInetAddress  *address);

/* TRUE for loopback, RFC 1918, link-local, CGNAT (100.64/10) and IPv6
 * unique-local (fc00::/7) addresses: what the discovery server counts as
 * "one network" because it cannot tell such senders apart. */
gboolean   filer_net_address_is_private      (GInetAddress  *address);

/* TRUE if @address lies in the subnet of one of this machine's interfaces
 * that are up (not loopback, not /32 or /128): a sender on the same link,
 * whatever range the link uses. */
gboolean   filer_net_address_is_on_link      (GInetAddress  *address);

/* The machine's own non-loopback unicast addresses (IPv4, then global
 * IPv6), as text. Never NULL; may be empty. */
char     **filer_net_get_local_addresses     (void);

/* The IPv4 broadcast addresses of the machine's interfaces that are up
 * (excluding loopback), as text. Never NULL; may be empty. */
char     **filer_net_get_broadcast_addresses (void);

/* "HOST:PORT", or "[V6]:PORT" for a host with a ':' in it: the inverse of
 * filer_net_parse_host_port(). */
char      *filer_net_format_host_port        (const char    *host,
                                              guint16        port);

/* Parses "HOST:PORT", "[V6]:PORT" or "HOST" (then @default_port).
 * HOST may be a name. Returns FALSE with @error on a malformed value. */
gboolean   filer_net_parse_host_port         (const char    *text,
                                              guint16        default_port,
                                              char         **host,
                                              guint16       *port,
                                              GError       **error);

/* Parses a discovery server: what filer_net_parse_host_port() takes,
 * optionally followed by "#SERVERID", the id the server's key must prove
 * (a pin; *@server_id is %NULL without one). */
gboolean   filer_net_parse_server_address    (const char    *text,
                                              guint16        default_port,
                                              char         **host,
                                              guint16       *port,
                                              char         **server_id,
                                              GError       **error);

G_END_DECLS
