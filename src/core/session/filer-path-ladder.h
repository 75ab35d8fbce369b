/* filer-path-ladder.h: send along the best path: LAN, direct UDP, relay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-discovery-client.h"
#include "filer-nat-client.h"
#include "filer-peer.h"
#include "filer-transfer-service.h"

G_BEGIN_DECLS

/* Sends @paths to @peer: its LAN addresses over TCP first (the hello
 * must name @peer: another network may use the same addresses, even
 * ours), then, with a @nat client, a punched UDP path or the relay.
 * Completes with the transfer (whose path is "lan", "direct" or "relay"),
 * or an error when no path worked. */
void           filer_path_ladder_send_async  (FilerTransferService  *service,
                                              FilerNatClient        *nat,
                                              FilerPeer             *peer,
                                              const char * const    *paths,
                                              GCancellable          *cancellable,
                                              GAsyncReadyCallback    callback,
                                              gpointer               user_data);
FilerTransfer *filer_path_ladder_send_finish (GAsyncResult          *result,
                                              GError               **error);

/* A started NAT client for the id @client registered under, at the
 * server it is connected to (rendezvous shares the discovery port), that
 * presents @identity (the transfer service's device key: the id its
 * peers must see, which may differ from the id @client registered
 * under) and requires the peer's. NULL when that server is not given as
 * an IP address (then: LAN only). */
FilerNatClient *filer_path_ladder_nat_client_new (FilerDiscoveryClient *client,
                                                  FilerIdentity        *identity);

/* Streams peers open to us through @nat become incoming transfers of
 * @service. */
void           filer_path_ladder_serve       (FilerNatClient        *nat,
                                              FilerTransferService  *service);

G_END_DECLS
