/* filer-nat-session.h: one rendezvous session with one peer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define FILER_TYPE_NAT_SESSION (filer_nat_session_get_type ())

G_DECLARE_FINAL_TYPE (FilerNatSession, filer_nat_session, FILER, NAT_SESSION, GObject)

/* FilerNatClient creates and drives its sessions
 * (filer-nat-session-private.h); others may read them. */

/* The token the rendezvous server named the session by, in hex. */
const char *filer_nat_session_get_token     (FilerNatSession *self);
/* The peer, as the server paired us. */
const char *filer_nat_session_get_peer_id   (FilerNatSession *self);
/* We asked for the session (and open the stream). */
gboolean    filer_nat_session_is_initiator  (FilerNatSession *self);
/* FILER_NAT_PATH_DIRECT, FILER_NAT_PATH_RELAY, or NULL until chosen. */
const char *filer_nat_session_get_path      (FilerNatSession *self);

G_END_DECLS
