/* filer-nat-client.h: reach peers on other networks (punch, or relay)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-identity.h"

G_BEGIN_DECLS

#define FILER_TYPE_NAT_CLIENT (filer_nat_client_get_type ())

G_DECLARE_FINAL_TYPE (FilerNatClient, filer_nat_client, FILER, NAT_CLIENT, GObject)

/* Keepalives to the server and on a punched path: routers forget idle
 * UDP mappings after 30 to 120 s. */
#define FILER_NAT_DEFAULT_KEEPALIVE_MS    20000
/* No punched path by then: use the relay (so that a relayed send still
 * has its first byte within 3 s). */
#define FILER_NAT_DEFAULT_RELAY_AFTER_MS  2000
/* TTL of the first punch packets of the side that opens first: enough to
 * leave its own NAT, too little to reach the peer's (docs/protocol.md
 * §4.4 says why). By default (0) it is measured toward the peer for each
 * session; the fallback when no router on the way answers. */
#define FILER_NAT_DEFAULT_PUNCH_TTL       0
#define FILER_NAT_FALLBACK_PUNCH_TTL      3

/* The paths a connection can take, as reported to the user. */
#define FILER_NAT_PATH_DIRECT "direct"
#define FILER_NAT_PATH_RELAY  "relay"

FilerNatClient *filer_nat_client_new                  (const char           *peer_id,
                                                       const char           *server_address);

/* Our device key. Every stream is then authenticated: by the QUIC
 * handshake, or by mutual TLS on top of PseudoTcp. A connect completes
 * only if the peer's key makes the expected id (else
 * FILER_NAT_ERROR_WRONG_PEER), and ::incoming names the id the caller's
 * key proved. Without a key (%NULL), only PseudoTcp works, and
 * unauthenticated (benchmarks). For the sessions that start afterwards. */
void            filer_nat_client_set_identity         (FilerNatClient       *self,
                                                       FilerIdentity        *identity);
FilerIdentity  *filer_nat_client_get_identity         (FilerNatClient       *self);

/* Use this socket instead of binding one (tests place it in a network
 * namespace). Before start. */
void            filer_nat_client_set_socket           (FilerNatClient       *self,
                                                       GSocket              *socket);
void            filer_nat_client_set_keepalive        (FilerNatClient       *self,
                                                       guint                 keepalive_ms);
void            filer_nat_client_set_relay_after      (FilerNatClient       *self,
                                                       guint                 relay_after_ms);
void            filer_nat_client_set_punch_ttl        (FilerNatClient       *self,
                                                       guint                 ttl);
/* The stream engine for the sessions we start: "quic" (the default;
 * ngtcp2) or "pseudotcp" (libnice). The peer follows our choice. */
void            filer_nat_client_set_stream_engine    (FilerNatClient       *self,
                                                       const char           *engine);
/* Disables punching: every session goes through the relay (benchmark). */
void            filer_nat_client_set_force_relay      (FilerNatClient       *self,
                                                       gboolean              force_relay);

/* The discovery welcome's bind-secret, sent in nat-bind (any time). */
void            filer_nat_client_set_bind_secret      (FilerNatClient       *self,
                                                       const char           *secret);

gboolean        filer_nat_client_start                (FilerNatClient       *self,
                                                       GError              **error);
void            filer_nat_client_stop                 (FilerNatClient       *self);

/* NULL until the server has answered. */
const char     *filer_nat_client_get_public_address   (FilerNatClient       *self);
/* "independent" (one public port for every destination), "dependent"
 * (symmetric NAT), or NULL while unknown. */
const char     *filer_nat_client_get_mapping          (FilerNatClient       *self);

/* Reaches @peer_id (the id it bound under at the rendezvous server): a
 * punched UDP path if one opens within the relay delay, else the
 * server's relay. The stream is established when this completes, and its
 * peer has proven the key of @expected_peer_id (%NULL: @peer_id) in the
 * QUIC handshake; anyone else answering (the relay operator included)
 * fails it with FILER_NAT_ERROR_WRONG_PEER. */
void            filer_nat_client_connect_async        (FilerNatClient       *self,
                                                       const char           *peer_id,
                                                       const char           *expected_peer_id,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
GIOStream      *filer_nat_client_connect_finish       (FilerNatClient       *self,
                                                       GAsyncResult         *result,
                                                       char                **path,
                                                       GError              **error);

G_END_DECLS
