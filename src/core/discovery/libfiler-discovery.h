/* libfiler-discovery.h: src/core/discovery/, this device, its peers, the discovery client and server
 *
 * The one header of this folder for code outside it. It may use: frame.
 *
 *   filer-device.[ch]                 this machine's identity on the network
 *   filer-discovery-client-private.h  what the pieces of FilerDiscoveryClient share
 *   filer-discovery-client.[ch]       registers with filer-server, keeps the peer list
 *   filer-discovery-connection.c      FilerDiscoveryClient's TCP connection to the server
 *   filer-discovery-error.[ch]        the error domain of discovery
 *   filer-discovery-peers.c           FilerDiscoveryClient's peer list
 *   filer-discovery-probe.c           FilerDiscoveryClient's auto-find of the server over UDP
 *   filer-peer.[ch]                   one online device as the discovery server reports it
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
#include "filer-discovery-error.h"
#include "filer-peer.h"
#include "filer-server.h"
#include "filer-discovery-enums.h"
#undef FILER_INSIDE
