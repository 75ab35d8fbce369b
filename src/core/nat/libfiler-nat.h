/* libfiler-nat.h: src/core/nat/, NAT traversal: rendezvous, punching, keepalive, relay
 *
 * The one header of this folder for code outside it. It may use: stream, frame.
 *
 *   filer-nat-binding.c           FilerNatClient's binding with the rendezvous server
 *   filer-nat-client-private.h    what the pieces of FilerNatClient share
 *   filer-nat-client.[ch]         reach peers on other networks (punch, or relay)
 *   filer-nat-datagram.[ch]       the peer-to-peer datagrams of NAT traversal
 *   filer-nat-error.[ch]          errors of NAT traversal (rendezvous, punching, relay)
 *   filer-nat-punch.c             one session's punching, its path and its stream
 *   filer-nat-relay.c             peer datagrams, sent direct or through the relay
 *   filer-rendezvous-server.[ch]  the server side of NAT traversal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-stream.h"
#include "libfiler-frame.h"

#define FILER_INSIDE
#include "filer-nat-client.h"
#include "filer-nat-datagram.h"
#include "filer-nat-error.h"
#include "filer-rendezvous-server.h"
#include "filer-nat-enums.h"
#undef FILER_INSIDE
