/* filer-nat-path-probe-private.h: how many hops stop short of the peer's router
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_NAT_COMPILATION)
# error "filer-nat-path-probe-private.h is private to src/core/nat/."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* The most hops a probe tries. */
#define FILER_NAT_PATH_PROBE_MAX_TTL 24

typedef struct _FilerNatPathProbe FilerNatPathProbe;

/* @ttl: the largest TTL whose probe died at a router before @peer's
 * address, or 0 if none answered. */
typedef void (*FilerNatPathProbeDone) (guint    ttl,
                                       gpointer user_data);

GSocket           *_filer_nat_path_probe_new_socket (void);
FilerNatPathProbe *_filer_nat_path_probe_start (GSocket               *socket,
                                                GInetSocketAddress    *peer,
                                                FilerNatPathProbeDone  done,
                                                gpointer               user_data);
/* Stops a probe; @done is not called after this. */
void               _filer_nat_path_probe_free  (FilerNatPathProbe     *probe);

G_END_DECLS
