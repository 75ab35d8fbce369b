/* filer-server-rendezvous.h: NAT rendezvous on the discovery server's port
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "filer-rendezvous-server.h"
#include "filer-server.h"

G_BEGIN_DECLS

/* Serves the "nat-*" datagrams of docs/protocol.md §4 on @server's UDP
 * port, through FilerServer's datagram table, with @server's registered
 * peers as the directory of who may reach whom. Opens the rendezvous
 * server's second UDP port on the same bind address. Call after
 * filer_server_start(). The rendezvous server lives as long as @server;
 * the return value is borrowed. */
FilerRendezvousServer *filer_server_enable_rendezvous (FilerServer  *server,
                                                       GError      **error);

G_END_DECLS
