/* filer-nat-binding-private.h: what FilerNatClient calls on its binding
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_NAT_COMPILATION)
# error "filer-nat-binding-private.h is private to src/core/nat/."
#endif

#include "filer-frame.h"
#include "filer-nat-binding.h"

G_BEGIN_DECLS

FilerNatBinding *_filer_nat_binding_new          (GSocket         *socket,
                                                  GSocketAddress  *server,
                                                  const char      *peer_id,
                                                  guint            keepalive_ms);
void             _filer_nat_binding_set_secret   (FilerNatBinding *self,
                                                  const char      *secret);
/* Binds now, then every keepalive interval (sooner until answered). */
void             _filer_nat_binding_start        (FilerNatBinding *self);
/* No more datagrams; what it learnt stays readable. */
void             _filer_nat_binding_stop         (FilerNatBinding *self);
/* nat-bound from the server, or nat-probed from its second port. */
void             _filer_nat_binding_handle_bound (FilerNatBinding *self,
                                                  FilerFrame      *frame,
                                                  gboolean         from_second_port);
/* The server's second port, once the server announced it. */
GSocketAddress  *_filer_nat_binding_get_server2  (FilerNatBinding *self);

G_END_DECLS
