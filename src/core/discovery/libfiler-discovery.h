/* libfiler-discovery.h: src/core/discovery/, this device, its peers, the discovery client and server
 *
 * The one header of this folder for code outside it. It may use: frame.
 *
 *   filer-device.[ch]                 this machine's identity on the network
 *   filer-discovery-client.[ch]       registers with filer-server, keeps the peer list: the
 *                                     owner of the probe, the connection and the peer list
 *   filer-discovery-connection.[ch]   one TCP connection to the server: register, welcome,
 *                                     keepalive, the frames it sends (reported by signals)
 *   filer-discovery-error.[ch]        the error domain of discovery
 *   filer-peer-list.[ch]              the GListModel of online peers: snapshot reconcile,
 *                                     deltas in place, the stale timeout
 *   filer-peer.[ch]                   one online device as the discovery server reports it
 *   filer-probe.[ch]                  finds discovery servers on the LAN by UDP probe (GTask);
 *                                     the client's auto-find and the session's hosting rule
 *   filer-room-code.[ch]              room codes: generated (60 bits), typed ones checked, and
 *                                     the one canonical form both sides compare
 *   filer-server-admission.c          who gets a connection to FilerServer: per-origin limits
 *   filer-server-client-private.h     one TCP client of FilerServer (private)
 *   filer-server-datagram.c           FilerServer's UDP side, dispatched by type
 *   filer-server-private.h            what the pieces of FilerServer share
 *   filer-server-visibility.c         which registered clients see each other
 *   filer-server.[ch]                 the discovery server (TCP peer list + UDP datagrams)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-frame.h"

#define FILER_INSIDE
#include "filer-device.h"
#include "filer-discovery-client.h"
#include "filer-discovery-connection.h"
#include "filer-discovery-error.h"
#include "filer-peer.h"
#include "filer-peer-list.h"
#include "filer-probe.h"
#include "filer-room-code.h"
#include "filer-server.h"
#include "filer-discovery-enums.h"
#undef FILER_INSIDE
