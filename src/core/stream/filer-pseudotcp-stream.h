/* filer-pseudotcp-stream.h: the PseudoTcp engine of FilerDatagramStream (libnice)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-datagram-stream.h"

G_BEGIN_DECLS

#define FILER_TYPE_PSEUDOTCP_STREAM (filer_pseudotcp_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerPseudoTcpStream, filer_pseudotcp_stream, FILER, PSEUDOTCP_STREAM, FilerDatagramStream)

/* Send and receive buffers (the window), set before the handshake.
 * PseudoTcp's default 60 KiB caps a 50 ms path at about 1 MB/s; but a
 * window larger than the bottleneck's queue makes PseudoTcp (no pacing,
 * no SACK) lose whole bursts and crawl back one segment per timeout: in
 * the NAT lab 1 MiB ran at 0.99x kernel TCP at 200 Mbit/s + 0.5 % loss,
 * 2 MiB at 0.35x, 4 MiB at 0.36x (docs/nat-stream.md). */
#define FILER_PSEUDOTCP_STREAM_BUFFER_SIZE (1024 * 1024)
/* The largest segment is this minus PseudoTcp's own overhead estimate, so
 * that a segment plus Filer's datagram prefix (and relay frame) stays
 * within an Ethernet MTU. */
#define FILER_PSEUDOTCP_STREAM_MTU                 1450

/* Made by filer_datagram_stream_new (FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP, …). */

G_END_DECLS
