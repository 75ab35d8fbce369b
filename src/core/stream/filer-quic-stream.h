/* filer-quic-stream.h: the QUIC engine of FilerDatagramStream (ngtcp2 + GnuTLS)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-datagram-stream.h"

G_BEGIN_DECLS

#define FILER_TYPE_QUIC_STREAM (filer_quic_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerQuicStream, filer_quic_stream, FILER, QUIC_STREAM, FilerDatagramStream)

/* The largest QUIC packet we send: one packet per datagram, and a relay
 * frame around it still fits an Ethernet MTU. */
#define FILER_QUIC_MAX_PACKET 1350

/* Made by filer_datagram_stream_new (FILER_DATAGRAM_STREAM_ENGINE_QUIC, …).
 * One bidirectional QUIC stream, opened by the initiator (the client);
 * the other side may write only after the initiator's first bytes
 * arrived. */

G_END_DECLS
