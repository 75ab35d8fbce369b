/* filer-natlab.h: the NAT lab (network namespaces) for tests and benchmarks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Addresses in the lab (see natlab.sh for the picture). */
#define FILER_NATLAB_SERVER_IP    "192.0.2.2"
#define FILER_NATLAB_SERVER_IP2   "192.0.2.3"
#define FILER_NATLAB_PUBLIC_IP_A  "198.51.100.10"
#define FILER_NATLAB_PUBLIC_IP_B  "198.51.100.14"
#define FILER_NATLAB_HOST_IP      "203.0.113.2"  /* both A and B */
#define FILER_NATLAB_ROUTER_LAN   "203.0.113.1"  /* both routers */

typedef struct _FilerNatLab FilerNatLab;

/* Checks once whether this process may build network namespaces. Returns
 * FALSE with the reason in @reason (for g_test_skip) if not. */
gboolean     filer_natlab_available   (char        **reason);

/* Builds a lab with router flavour @flavour_a in front of host "a" and
 * @flavour_b in front of host "b" ("home", "linux", "symmetric",
 * "fullcone"). @udp_timeout, if not 0, shrinks the routers' conntrack UDP
 * timeouts to that many seconds. */
FilerNatLab *filer_natlab_new         (const char   *flavour_a,
                                       const char   *flavour_b,
                                       guint         udp_timeout,
                                       GError      **error);
/* The same with @routers_between (1, 2 or 3; filer_natlab_new() has 3)
 * routers between the two NAT routers (natlab.sh, BETWEEN), and, unless
 * @carrier_b is NULL, a carrier's NAT of that flavour in front of B's
 * router (CARRIER_B). */
FilerNatLab *filer_natlab_new_full    (const char   *flavour_a,
                                       const char   *flavour_b,
                                       guint         udp_timeout,
                                       guint         routers_between,
                                       const char   *carrier_b,
                                       GError      **error);
/* Kills what runs in the lab and removes every namespace. */
void         filer_natlab_free        (FilerNatLab  *lab);

const char  *filer_natlab_get_prefix  (FilerNatLab  *lab);
/* "PREFIX-NODE", the name `ip netns exec` takes. */
char        *filer_natlab_ns_name     (FilerNatLab  *lab,
                                       const char   *node);

/* A UDP socket that lives in @node's namespace, bound to @ip:@port
 * (@port 0 for any). The socket stays in that namespace for its life,
 * so one test process can hold sockets on every host of the lab. */
GSocket     *filer_natlab_udp_socket  (FilerNatLab  *lab,
                                       const char   *node,
                                       const char   *ip,
                                       guint16       port,
                                       GError      **error);

/* Runs @argv inside @node's namespace (through `ip netns exec`). */
GSubprocess *filer_natlab_spawn       (FilerNatLab  *lab,
                                       const char   *node,
                                       GSubprocessFlags flags,
                                       GError      **error,
                                       const char   *first_arg,
                                       ...) G_GNUC_NULL_TERMINATED;

/* Runs a natlab.sh subcommand on this lab ("shape", "forward-tcp"). */
gboolean     filer_natlab_script      (FilerNatLab  *lab,
                                       GError      **error,
                                       const char   *first_arg,
                                       ...) G_GNUC_NULL_TERMINATED;

/* Calls @func with the calling thread inside @node's namespace; anything
 * it creates (sockets) stays there. */
void         filer_natlab_run_in      (FilerNatLab  *lab,
                                       const char   *node,
                                       GFunc         func,
                                       gpointer      user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerNatLab, filer_natlab_free)

G_END_DECLS
