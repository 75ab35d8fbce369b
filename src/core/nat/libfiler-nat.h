/* libfiler-nat.h: src/core/nat/, NAT traversal: rendezvous, punching, keepalive, relay
 *
 * The one header of this folder for code outside it. It may use: stream, frame.
 *
 *   filer-nat-client.[ch]         FilerNatClient: reach peers on other networks (punch,
 *                                 or relay); owns the socket, the binding, the sessions
 *   filer-nat-binding.[ch]        FilerNatBinding: the client's binding with the
 *                                 rendezvous server (nat-bind keepalive, public
 *                                 address, mapping probe); answers by notify
 *   filer-nat-binding-private.h   what the client calls on its binding
 *   filer-nat-session.[ch]        FilerNatSession: one rendezvous session with one
 *                                 peer: punching, path choice, relay, keepalive, the
 *                                 stream; answers by GTask, ::incoming, ::closed
 *   filer-nat-session-private.h   what the client calls on a session
 *   filer-nat-path-probe.c        the first side's punch TTL, measured toward the peer
 *                                 (TTL-limited probes, ICMP answers via IP_RECVERR)
 *   filer-nat-path-probe-private.h  (its header, for the client and the session)
 *   filer-nat-datagram.[ch]       the peer-to-peer datagrams of NAT traversal
 *   filer-nat-datagram-private.h  the client's socket as its pieces send on it (TTL)
 *   filer-nat-error.[ch]          errors of NAT traversal (rendezvous, punching, relay)
 *   filer-rendezvous-server.[ch]  the server side of NAT traversal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-stream.h"
#include "libfiler-frame.h"

#define FILER_INSIDE
#include "filer-nat-binding.h"
#include "filer-nat-client.h"
#include "filer-nat-datagram.h"
#include "filer-nat-error.h"
#include "filer-nat-session.h"
#include "filer-rendezvous-server.h"
#include "filer-nat-enums.h"
#undef FILER_INSIDE
