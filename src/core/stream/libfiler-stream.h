/* libfiler-stream.h: src/core/stream/, reliable byte streams over UDP datagrams: QUIC and PseudoTCP
 *
 * The one header of this folder for code outside it. It may use: base.
 *
 *   filer-quic-stream.[ch]             a reliable byte stream over datagrams: QUIC (ngtcp2)
 *   filer-stream-wakers-private.h      what the datagram-backed GIOStreams share
 *   filer-datagram-input-stream-private.h   the reading half of a datagram-backed stream
 *   filer-datagram-output-stream-private.h  the writing half of a datagram-backed stream
 *   filer-udp-stream.[ch]              a reliable byte stream over datagrams, as a GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-base.h"

#define FILER_INSIDE
#include "filer-quic-stream.h"
#include "filer-pseudotcp-stream.h"
#undef FILER_INSIDE
