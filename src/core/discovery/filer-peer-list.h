/* filer-peer-list.h: the GListModel of online peers, kept in place
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-peer.h"

G_BEGIN_DECLS

/* How long the list survives its owner going offline (docs/protocol.md §2). */
#define FILER_PEER_LIST_STALE_TIMEOUT_MS 5000

#define FILER_TYPE_PEER_LIST (filer_peer_list_get_type ())

G_DECLARE_FINAL_TYPE (FilerPeerList, filer_peer_list, FILER, PEER_LIST, GObject)

FilerPeerList *filer_peer_list_new               (void);

FilerPeer     *filer_peer_list_lookup            (FilerPeerList  *self,
                                                  const char     *id);
FilerPeer     *filer_peer_list_find              (FilerPeerList  *self,
                                                  const char     *id_or_name,
                                                  GError        **error);

void           filer_peer_list_update            (FilerPeerList  *self,
                                                  FilerPeer      *description);
void           filer_peer_list_remove            (FilerPeerList  *self,
                                                  const char     *id);
void           filer_peer_list_clear             (FilerPeerList  *self);

void           filer_peer_list_begin_snapshot    (FilerPeerList  *self);
void           filer_peer_list_end_snapshot      (FilerPeerList  *self);

void           filer_peer_list_go_stale          (FilerPeerList  *self);
gboolean       filer_peer_list_is_stale          (FilerPeerList  *self);
guint          filer_peer_list_get_stale_timeout (FilerPeerList  *self);
void           filer_peer_list_set_stale_timeout (FilerPeerList  *self,
                                                  guint           timeout_ms);

G_END_DECLS
