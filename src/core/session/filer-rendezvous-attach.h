/* filer-rendezvous-attach.h: filer-server serves NAT rendezvous and relay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-rendezvous-server.h"
#include "filer-server.h"

G_BEGIN_DECLS

/* Makes @server pass every "nat-*" datagram to @rendezvous, answer from
 * its own UDP port, and check bindings and sessions against its peers
 * (same source IP as the TCP registration; peers that may see each
 * other). Opens the second port on @server's bind address. Call after
 * filer_server_start(). @server must outlive @rendezvous's use. */
gboolean filer_rendezvous_server_attach (FilerRendezvousServer  *rendezvous,
                                         FilerServer            *server,
                                         GError                **error);

G_END_DECLS
