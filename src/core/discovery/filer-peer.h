/* filer-peer.h: one online device as the discovery server reports it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * FilerPeerNetwork:
 * @FILER_PEER_NETWORK_LAN: the peer shares our public address (same LAN)
 * @FILER_PEER_NETWORK_REMOTE: the peer is on another network (same room)
 */
typedef enum
{
  FILER_PEER_NETWORK_LAN,
  FILER_PEER_NETWORK_REMOTE,
} FilerPeerNetwork;

#define FILER_TYPE_PEER (filer_peer_get_type ())

G_DECLARE_FINAL_TYPE (FilerPeer, filer_peer, FILER, PEER, GObject)

FilerPeer          *filer_peer_new            (const char         *id);
const char         *filer_peer_get_id         (FilerPeer          *self);
const char         *filer_peer_get_name       (FilerPeer          *self);
void                filer_peer_set_name       (FilerPeer          *self,
                                               const char         *name);
const char         *filer_peer_get_kind       (FilerPeer          *self);
void                filer_peer_set_kind       (FilerPeer          *self,
                                               const char         *kind);
const char * const *filer_peer_get_addresses  (FilerPeer          *self);
void                filer_peer_set_addresses  (FilerPeer          *self,
                                               const char * const *addresses);
guint               filer_peer_get_port       (FilerPeer          *self);
void                filer_peer_set_port       (FilerPeer          *self,
                                               guint               port);
FilerPeerNetwork    filer_peer_get_network    (FilerPeer          *self);
void                filer_peer_set_network    (FilerPeer          *self,
                                               FilerPeerNetwork    network);
const char         *filer_peer_get_public_address (FilerPeer      *self);
void                filer_peer_set_public_address (FilerPeer      *self,
                                                   const char     *public_address);

G_END_DECLS
