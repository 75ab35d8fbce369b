/* libfiler-session.h: src/core/session/, the app on the network: discovery, hosting, transfers, the path ladder
 *
 * The one header of this folder for code outside it. It may use: transfer, nat.
 *
 *   filer-path-ladder.[ch]        send along the best path: LAN, direct UDP, relay
 *   filer-rendezvous-attach.[ch]  filer-server serves NAT rendezvous and relay
 *   filer-session.[ch]            this app on the network: discovery, hosting, transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-transfer.h"
#include "libfiler-nat.h"

#define FILER_INSIDE
#include "filer-path-ladder.h"
#include "filer-rendezvous-attach.h"
#include "filer-session.h"
#undef FILER_INSIDE
