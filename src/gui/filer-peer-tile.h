/* filer-peer-tile.h: one online peer in the device grid
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "filer-trust-store.h"
#include "libfiler.h"

G_BEGIN_DECLS

#define FILER_TYPE_PEER_TILE (filer_peer_tile_get_type ())

G_DECLARE_FINAL_TYPE (FilerPeerTile, filer_peer_tile, FILER, PEER_TILE, GtkWidget)

GtkWidget     *filer_peer_tile_new           (void);
FilerPeer     *filer_peer_tile_get_peer      (FilerPeerTile *self);
void           filer_peer_tile_set_peer      (FilerPeerTile *self,
                                              FilerPeer     *peer);
const char    *filer_peer_tile_get_activity  (FilerPeerTile *self);
void           filer_peer_tile_set_activity  (FilerPeerTile *self,
                                              const char    *activity);
GtkDropTarget *filer_peer_tile_get_drop_target (FilerPeerTile *self);
void           filer_peer_tile_set_trust     (FilerPeerTile *self,
                                              FilerTrust     trust,
                                              const char    *verified_name);
FilerTrust     filer_peer_tile_get_trust     (FilerPeerTile *self);
const char    *filer_peer_tile_get_trust_text (FilerPeerTile *self);
GtkWidget     *filer_peer_tile_get_trust_image (FilerPeerTile *self);
GtkWidget     *filer_peer_tile_get_menu      (FilerPeerTile *self);

const char    *filer_peer_kind_icon_name     (const char    *kind);

G_END_DECLS
