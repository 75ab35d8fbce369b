/* filer-server.h: the discovery server (TCP peer list + UDP datagrams)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-frame.h"
#include "filer-identity.h"

G_BEGIN_DECLS

#define FILER_TYPE_SERVER (filer_server_get_type ())

G_DECLARE_FINAL_TYPE (FilerServer, filer_server, FILER, SERVER, GObject)

/* Defaults; each is a property. */
#define FILER_SERVER_DEFAULT_IDLE_TIMEOUT_MS   15000
#define FILER_SERVER_DEFAULT_MAX_PER_ADDRESS   32

/**
 * FilerServerDatagramHandler:
 * @server: the server
 * @frame: the frame the datagram held
 * @from: who sent it
 * @user_data: what was given to filer_server_add_datagram_handler()
 *
 * Handles one UDP datagram whose frame has a given `type`. Runs on the
 * server's main context. Reply with filer_server_send_datagram().
 */
typedef void (*FilerServerDatagramHandler) (FilerServer    *server,
                                            FilerFrame     *frame,
                                            GSocketAddress *from,
                                            gpointer        user_data);

FilerServer *filer_server_new                  (void);

gboolean     filer_server_start                (FilerServer                 *self,
                                                GError                     **error);
void         filer_server_stop                 (FilerServer                 *self);
gboolean     filer_server_is_running           (FilerServer                 *self);

const char  *filer_server_get_bind_address     (FilerServer                 *self);
void         filer_server_set_bind_address     (FilerServer                 *self,
                                                const char                  *bind_address);
guint        filer_server_get_port             (FilerServer                 *self);
void         filer_server_set_port             (FilerServer                 *self,
                                                guint                        port);
guint        filer_server_get_idle_timeout     (FilerServer                 *self);
void         filer_server_set_idle_timeout     (FilerServer                 *self,
                                                guint                        idle_timeout_ms);
guint        filer_server_get_max_per_address  (FilerServer                 *self);
void         filer_server_set_max_per_address  (FilerServer                 *self,
                                                guint                        max_per_address);
gboolean     filer_server_get_link_is_one_network (FilerServer              *self);
void         filer_server_set_link_is_one_network (FilerServer              *self,
                                                   gboolean                  link_is_one_network);
gboolean     filer_server_get_loopback_is_public (FilerServer               *self);
void         filer_server_set_loopback_is_public (FilerServer               *self,
                                                  gboolean                   loopback_is_public);

FilerIdentity *filer_server_get_identity       (FilerServer                 *self);
void         filer_server_set_identity         (FilerServer                 *self,
                                                FilerIdentity               *identity);
const char  *filer_server_get_id               (FilerServer                 *self);

guint        filer_server_get_n_connections    (FilerServer                 *self);
guint        filer_server_get_n_peers          (FilerServer                 *self);

/* Extension points for other message families (rendezvous, punching,
 * relay: see src/DESIGN.md, "Discovery"). A handler added for a type
 * replaces the built-in one, if any; a type ending in '*' ("nat-*")
 * matches every type with that prefix that has no handler of its own. */
void         filer_server_add_datagram_handler (FilerServer                 *self,
                                                const char                  *type,
                                                FilerServerDatagramHandler   handler,
                                                gpointer                     user_data,
                                                GDestroyNotify               destroy);
gboolean     filer_server_send_datagram        (FilerServer                 *self,
                                                FilerFrame                  *frame,
                                                GSocketAddress              *to,
                                                GError                     **error);
gboolean     filer_server_peers_can_see        (FilerServer                 *self,
                                                const char                  *peer_id,
                                                const char                  *other_id);
char        *filer_server_get_peer_public_address (FilerServer              *self,
                                                   const char               *peer_id);
gboolean     filer_server_check_bind_secret    (FilerServer                 *self,
                                                const char                  *peer_id,
                                                const char                  *secret);

G_END_DECLS
