/* libfiler.h: all of src/core, for src/gui, src/cli, src/server and tests
 *
 * The folders, lowest first (each may use only those below it; src/DESIGN.md
 * draws the order and tests/check-layers enforces it):
 *
 *   base/       util, net, sockets
 *   frame/      the framed protocol: codec, decoder, connection
 *   discovery/  this device, peers, the discovery client and server
 *   transfer/   sending and receiving files
 *   stream/     reliable byte streams over UDP (QUIC, PseudoTCP)
 *   nat/        NAT traversal: rendezvous, punching, relay
 *   session/    the app on the network, the path ladder
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-session.h"
