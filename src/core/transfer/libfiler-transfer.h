/* libfiler-transfer.h: src/core/transfer/, sending and receiving files over a frame connection
 *
 * The one header of this folder for code outside it. It may use: discovery.
 *
 *   filer-hash.[ch]                  the transfer's integrity hashes (docs/protocol.md §3.3)
 *   filer-safe-path.[ch]             names from a peer, checked before they touch disk
 *   filer-transfer-connector.[ch]    a checked connection to one peer
 *   filer-transfer-error.[ch]        the error domain of transfers
 *   filer-transfer-file.[ch]         one file of a transfer
 *   filer-transfer-hello.[ch]        the first exchange on every transfer connection
 *   filer-json-check-private.h       strict RFC 8259 checking of a peer's JSON, before json-glib
 *   filer-transfer-private.h         what the transfer engine (not a view) calls
 *   filer-transfer-protocol.[ch]     the transfer messages (docs/protocol.md §3)
 *   filer-transfer-reader-private.h  the sender's file reading and hashing thread
 *   filer-transfer-receiver.[ch]     the receiving side of one transfer
 *   filer-transfer-sender.[ch]       the sending side of one transfer
 *   filer-transfer-service.[ch]      our listener, our transfers, both directions
 *   filer-transfer-testing.h         hooks for tests only
 *   filer-transfer-worker.[ch]       one thread that does a sender's or receiver's file I/O
 *   filer-transfer-writer.[ch]       the receiver's file writing and hashing thread
 *   filer-transfer.[ch]              one transfer, as a view binds to it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-discovery.h"

#define FILER_INSIDE
#include "filer-hash.h"
#include "filer-safe-path.h"
#include "filer-transfer-connector.h"
#include "filer-transfer-error.h"
#include "filer-transfer-file.h"
#include "filer-transfer-hello.h"
#include "filer-transfer-protocol.h"
#include "filer-transfer-receiver.h"
#include "filer-transfer-sender.h"
#include "filer-transfer-service.h"
#include "filer-transfer-testing.h"
#include "filer-transfer-worker.h"
#include "filer-transfer-writer.h"
#include "filer-transfer.h"
#include "filer-transfer-enums.h"
#undef FILER_INSIDE
