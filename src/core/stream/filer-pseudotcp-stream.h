/* filer-udp-stream.h: a reliable byte stream over datagrams, as a GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define FILER_TYPE_UDP_STREAM (filer_udp_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerUdpStream, filer_udp_stream, FILER, UDP_STREAM, GIOStream)

/* Send and receive buffers (the window), set before the handshake.
 * PseudoTcp's default 60 KiB caps a 50 ms path at about 1 MB/s; but a
 * window larger than the bottleneck's queue makes PseudoTcp (no pacing,
 * no SACK) lose whole bursts and crawl back one segment per timeout: in
 * the NAT lab 1 MiB ran at 0.99x kernel TCP at 200 Mbit/s + 0.5 % loss,
 * 2 MiB at 0.35x, 4 MiB at 0.36x (docs/nat-stream.md). */
#define FILER_UDP_STREAM_DEFAULT_BUFFER_SIZE       (1024 * 1024)
/* Nothing heard from the peer (segments or notify_alive) for this long
 * ends the stream with G_IO_ERROR_TIMED_OUT. */
#define FILER_UDP_STREAM_DEFAULT_IDLE_TIMEOUT_MS   45000
/* The largest segment is this minus PseudoTcp's own overhead estimate, so
 * that a segment plus Filer's datagram prefix (and relay frame) stays
 * within an Ethernet MTU. */
#define FILER_UDP_STREAM_MTU                       1450

/**
 * FilerUdpStreamSendFunc:
 * @segment: one segment to put into one datagram
 * @length: its size
 * @user_data: the data given to filer_udp_stream_new()
 *
 * Sends a segment to the peer, however the owner reaches it (a punched
 * UDP path, the relay). Must not block. A segment that cannot be sent
 * right now is simply lost: the stream retransmits it.
 */
typedef void (*FilerUdpStreamSendFunc) (const guint8 *segment,
                                        gsize         length,
                                        gpointer      user_data);

FilerUdpStream *filer_udp_stream_new               (guint32                  conversation,
                                                    FilerUdpStreamSendFunc   send_func,
                                                    gpointer                 user_data,
                                                    GDestroyNotify           notify);

void            filer_udp_stream_set_buffer_size   (FilerUdpStream          *self,
                                                    guint                    buffer_size);
guint           filer_udp_stream_get_idle_timeout  (FilerUdpStream          *self);
void            filer_udp_stream_set_idle_timeout  (FilerUdpStream          *self,
                                                    guint                    idle_timeout_ms);
gboolean        filer_udp_stream_is_established    (FilerUdpStream          *self);

/* Feed a segment that arrived for this stream. */
void            filer_udp_stream_receive_segment   (FilerUdpStream          *self,
                                                    const guint8            *segment,
                                                    gsize                    length);
/* The peer was heard from in some other way (a keepalive). */
void            filer_udp_stream_notify_alive      (FilerUdpStream          *self);

/* Opens the stream: the @initiator sends the SYN, the other side waits
 * for it. Completes once the stream is established (both sides must
 * call it), or fails after the idle timeout. */
void            filer_udp_stream_handshake_async   (FilerUdpStream          *self,
                                                    gboolean                 initiator,
                                                    GCancellable            *cancellable,
                                                    GAsyncReadyCallback      callback,
                                                    gpointer                 user_data);
gboolean        filer_udp_stream_handshake_finish  (FilerUdpStream          *self,
                                                    GAsyncResult            *result,
                                                    GError                 **error);

/* Ends the stream now: pending and later I/O fails with @error (the
 * owner lost its path, the relay closed the session). */
void            filer_udp_stream_abort             (FilerUdpStream          *self,
                                                    const GError            *error);

G_END_DECLS
