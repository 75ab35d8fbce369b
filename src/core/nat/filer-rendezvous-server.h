/* filer-rendezvous-server.h: the server side of NAT traversal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-frame.h"

G_BEGIN_DECLS

#define FILER_TYPE_RENDEZVOUS_SERVER (filer_rendezvous_server_get_type ())

G_DECLARE_FINAL_TYPE (FilerRendezvousServer, filer_rendezvous_server, FILER, RENDEZVOUS_SERVER, GObject)

/* Per relayed session: bytes in all, and bytes per second. */
#define FILER_RENDEZVOUS_DEFAULT_RELAY_MAX_BYTES  (G_GUINT64_CONSTANT (8) << 30)
#define FILER_RENDEZVOUS_DEFAULT_RELAY_MAX_RATE   (32 * 1024 * 1024)

/**
 * FilerRendezvousDirectory:
 *
 * What the rendezvous server asks of the discovery server: whether two
 * peers may see each other, and the IP a peer registered from (a UDP
 * binding must come from the same IP). Returns NULL / FALSE for a peer
 * that is not registered.
 */
typedef gboolean (*FilerRendezvousCanSee)   (const char     *peer_id,
                                             const char     *other_id,
                                             gpointer        user_data);
typedef char *   (*FilerRendezvousPublicIp) (const char     *peer_id,
                                             gpointer        user_data);
typedef gboolean (*FilerRendezvousCheckSecret) (const char  *peer_id,
                                                const char  *secret,
                                                gpointer     user_data);
typedef gboolean (*FilerRendezvousSendFunc) (FilerFrame     *frame,
                                             GSocketAddress *to,
                                             gpointer        user_data);

FilerRendezvousServer *filer_rendezvous_server_new            (void);

/* Without a directory every bound peer may reach every other (tests). */
void     filer_rendezvous_server_set_directory      (FilerRendezvousServer   *self,
                                                     FilerRendezvousCanSee    can_see,
                                                     FilerRendezvousPublicIp  public_ip,
                                                     gpointer                 user_data,
                                                     GDestroyNotify           destroy);
void     filer_rendezvous_server_set_secret_check   (FilerRendezvousServer      *self,
                                                     FilerRendezvousCheckSecret  check,
                                                     gpointer                    user_data);
void     filer_rendezvous_server_set_relay_limits   (FilerRendezvousServer   *self,
                                                     guint64                  max_bytes,
                                                     guint64                  max_rate);

/* Either: serve on a socket of our own (@port 0 picks one) ... */
gboolean filer_rendezvous_server_listen             (FilerRendezvousServer   *self,
                                                     const char              *address,
                                                     guint                    port,
                                                     GError                 **error);
/* ... or inside another server's UDP port: it passes us every frame
 * whose type starts with "nat-" and sends our answers. Then open the
 * second port (for telling symmetric NATs) with start(). */
void     filer_rendezvous_server_set_sender         (FilerRendezvousServer   *self,
                                                     FilerRendezvousSendFunc  send_func,
                                                     gpointer                 user_data,
                                                     GDestroyNotify           destroy);
gboolean filer_rendezvous_server_start              (FilerRendezvousServer   *self,
                                                     const char              *address,
                                                     GError                 **error);
void     filer_rendezvous_server_stop               (FilerRendezvousServer   *self);
void     filer_rendezvous_server_handle_frame       (FilerRendezvousServer   *self,
                                                     FilerFrame              *frame,
                                                     GSocketAddress          *from);

guint    filer_rendezvous_server_get_port           (FilerRendezvousServer   *self);
guint    filer_rendezvous_server_get_port2          (FilerRendezvousServer   *self);
guint    filer_rendezvous_server_get_n_sessions     (FilerRendezvousServer   *self);
guint64  filer_rendezvous_server_get_relayed_bytes  (FilerRendezvousServer   *self);

/* Ends every relayed session now, telling both peers (tests, shutdown). */
void     filer_rendezvous_server_close_relays       (FilerRendezvousServer   *self,
                                                     const char              *reason);

/* The frame types this server handles (NULL-terminated). */
const char * const *filer_rendezvous_server_get_frame_types (void);

G_END_DECLS
