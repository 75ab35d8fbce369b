/* filer-udp-stream-private.h: what FilerUdpStream's own input and output
 * streams use of it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "filer-udp-stream.h"

G_BEGIN_DECLS

gssize   filer_udp_stream_read_nonblocking  (FilerUdpStream  *self,
                                             void            *buffer,
                                             gsize            count,
                                             GError         **error);
gssize   filer_udp_stream_write_nonblocking (FilerUdpStream  *self,
                                             const void      *buffer,
                                             gsize            count,
                                             GError         **error);
/* G_IO_IN: a read would not block; G_IO_OUT: a write would not block. */
gboolean filer_udp_stream_check             (FilerUdpStream  *self,
                                             GIOCondition     condition);
/* A source that dispatches when filer_udp_stream_check() may have turned
 * TRUE for @condition. */
GSource *filer_udp_stream_create_waker      (FilerUdpStream  *self,
                                             GIOCondition     condition);
/* Blocks (iterating the stream's main context) until @condition holds. */
gboolean filer_udp_stream_wait              (FilerUdpStream  *self,
                                             GIOCondition     condition,
                                             GCancellable    *cancellable,
                                             GError         **error);
/* Sends FIN once everything written has gone: the peer reads EOF. */
void     filer_udp_stream_shutdown_write    (FilerUdpStream  *self);

G_END_DECLS
