/* filer-transfer-connector.h: a checked connection to one peer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-frame-connection.h"
#include "filer-identity.h"
#include "filer-peer.h"

G_BEGIN_DECLS

#define FILER_TRANSFER_PATH_LAN "lan"

#define FILER_TRANSFER_ATTEMPT_TIMEOUT_MS 2000
#define FILER_TRANSFER_CONNECT_TIMEOUT_MS 30000

/* The addresses a LAN connection to @peer tries, in order: those it
 * announced, then the one the discovery server saw it come from, when
 * that is not among them (interface enumeration can miss an address, and
 * a peer bound to one address announces others). */
char                **filer_transfer_peer_addresses     (FilerPeer             *peer);

void                  filer_transfer_connect_lan_async  (FilerPeer             *peer,
                                                         FilerIdentity         *identity,
                                                         const char            *my_name,
                                                         guint                  timeout_ms,
                                                         GCancellable          *cancellable,
                                                         GAsyncReadyCallback    callback,
                                                         gpointer               user_data);
FilerFrameConnection *filer_transfer_connect_lan_finish (GAsyncResult          *result,
                                                         char                 **peer_name,
                                                         GError               **error);

G_END_DECLS
