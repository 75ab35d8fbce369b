/* filer-nat-datagram-private.h: the NAT socket, as the pieces of the client use it
 *
 * FilerNatClient owns the one UDP socket; its binding and its sessions
 * send on it through these helpers, which call nobody back.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_NAT_COMPILATION)
# error "filer-nat-datagram-private.h is private to src/core/nat/."
#endif

#include <gio/gio.h>

#include "filer-frame.h"

G_BEGIN_DECLS

#define FILER_NAT_FULL_TTL           64
#define FILER_NAT_RETRY_INTERVAL_MS  250   /* requests to the server are repeated */

/* Sets the socket's IP TTL: one setsockopt per change, not per datagram. */
void      _filer_nat_socket_set_ttl       (GSocket         *socket,
                                           guint            ttl);
/* One frame to the server (or its second port) at the full TTL; a
 * failure is logged, as a lost datagram would be. NULL-safe. */
void      _filer_nat_socket_send_frame    (GSocket         *socket,
                                           GSocketAddress  *to,
                                           FilerFrame      *frame);

G_END_DECLS
