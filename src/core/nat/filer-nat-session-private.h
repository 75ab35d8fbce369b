/* filer-nat-session-private.h: what FilerNatClient calls on a session
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_NAT_COMPILATION)
# error "filer-nat-session-private.h is private to src/core/nat/."
#endif

#include "filer-frame.h"
#include "filer-identity.h"
#include "filer-nat-datagram.h"
#include "filer-nat-session.h"

G_BEGIN_DECLS

typedef struct
{
  guint keepalive_ms;
  guint relay_after_ms;
  guint punch_ttl;            /* 0: measure it (probe_socket) */
  GSocket *probe_socket;      /* the client's, for path probes; may be NULL */
  gboolean force_relay;
  /* Our device key (the session takes a reference), or NULL: no key is
   * required, and only PseudoTcp can carry the stream (unauthenticated;
   * with a key, PseudoTcp streams run mutual TLS on top). */
  FilerIdentity *identity;
} FilerNatSessionConfig;

/* From the server's nat-session (@initiator) or nat-offer; NULL if the
 * frame does not name a session. Sends on @socket to the peer and, for
 * set-up and relay, to @server. */
FilerNatSession *_filer_nat_session_new             (FilerFrame                  *frame,
                                                     gboolean                     initiator,
                                                     GSocket                     *socket,
                                                     GSocketAddress              *server,
                                                     const FilerNatSessionConfig *config);

/* The initiator: punch, choose the path, open the stream. Completes with
 * the established stream, whose peer proved the key of @expected_peer_id
 * (QUIC), or FILER_NAT_ERROR_WRONG_PEER. */
void             _filer_nat_session_connect_async   (FilerNatSession             *self,
                                                     const char                  *expected_peer_id,
                                                     GCancellable                *cancellable,
                                                     GAsyncReadyCallback          callback,
                                                     gpointer                     user_data);
GIOStream       *_filer_nat_session_connect_finish  (FilerNatSession             *self,
                                                     GAsyncResult                *result,
                                                     char                       **path,
                                                     GError                     **error);
/* The other side: punch and listen; ::incoming when the stream is up. */
void             _filer_nat_session_listen          (FilerNatSession             *self);

/* What the server says about the session. */
void             _filer_nat_session_go              (FilerNatSession             *self);
void             _filer_nat_session_accepted        (FilerNatSession             *self);
void             _filer_nat_session_refused         (FilerNatSession             *self,
                                                     const char                  *message);
void             _filer_nat_session_relay_closed    (FilerNatSession             *self,
                                                     const char                  *message);
/* A peer datagram with our token, direct (@from) or @relayed. */
void             _filer_nat_session_handle_datagram (FilerNatSession             *self,
                                                     FilerNatKind                 kind,
                                                     const guint8                *payload,
                                                     gsize                        length,
                                                     GSocketAddress              *from,
                                                     gboolean                     relayed);
/* The client stops: end everything with @error and send nothing more. */
void             _filer_nat_session_stop            (FilerNatSession             *self,
                                                     const GError                *error);

G_END_DECLS
