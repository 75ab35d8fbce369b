/* filer-quic-stream.h: a reliable byte stream over datagrams: QUIC (ngtcp2)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-pseudotcp-stream.h"

G_BEGIN_DECLS

#define FILER_TYPE_QUIC_STREAM (filer_quic_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerQuicStream, filer_quic_stream, FILER, QUIC_STREAM, GIOStream)

/* The largest QUIC packet we send: one packet per datagram, and a relay
 * frame around it still fits an Ethernet MTU. */
#define FILER_QUIC_MAX_PACKET 1350

/* Same contract as FilerUdpStream (filer-udp-stream.h): the owner sends
 * packets with @send_func and feeds what arrives to receive_segment(). One
 * bidirectional QUIC stream, opened by the initiator (the client); the
 * other side may write only after the initiator's first bytes arrived. */
FilerQuicStream *filer_quic_stream_new              (FilerUdpStreamSendFunc   send_func,
                                                     gpointer                 user_data,
                                                     GDestroyNotify           notify);

guint            filer_quic_stream_get_idle_timeout (FilerQuicStream         *self);
void             filer_quic_stream_set_idle_timeout (FilerQuicStream         *self,
                                                     guint                    idle_timeout_ms);
gboolean         filer_quic_stream_is_established   (FilerQuicStream         *self);
void             filer_quic_stream_receive_segment  (FilerQuicStream         *self,
                                                     const guint8            *segment,
                                                     gsize                    length);
void             filer_quic_stream_notify_alive     (FilerQuicStream         *self);
void             filer_quic_stream_handshake_async  (FilerQuicStream         *self,
                                                     gboolean                 initiator,
                                                     GCancellable            *cancellable,
                                                     GAsyncReadyCallback      callback,
                                                     gpointer                 user_data);
gboolean         filer_quic_stream_handshake_finish (FilerQuicStream         *self,
                                                     GAsyncResult            *result,
                                                     GError                 **error);
void             filer_quic_stream_abort            (FilerQuicStream         *self,
                                                     const GError            *error);

G_END_DECLS
