/* libfiler-stream.h: src/core/stream/, reliable byte streams over UDP datagrams: QUIC and PseudoTCP
 *
 * The one header of this folder for code outside it. It may use: base.
 *
 *   filer-datagram-stream.[ch]              FilerDatagramStream: the abstract GIOStream both
 *                                           engines derive from (halves, handshake, close,
 *                                           idle watchdog, send function); its constructor
 *                                           picks the engine
 *   filer-quic-stream.[ch]                  the QUIC engine (ngtcp2 + GnuTLS)
 *   filer-pseudotcp-stream.[ch]             the PseudoTcp engine (libnice)
 *   filer-datagram-input-stream-private.h   the reading half of a FilerDatagramStream
 *   filer-datagram-output-stream-private.h  the writing half of a FilerDatagramStream
 *   filer-stream-wakers-private.h           the halves' view of the stream (FilerStreamOps)
 *                                           and the sources they wake
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-base.h"

#define FILER_INSIDE
#include "filer-datagram-stream.h"
#include "filer-pseudotcp-stream.h"
#include "filer-quic-stream.h"
#undef FILER_INSIDE
