/* filer-stream-wakers-private.h: what the datagram-backed GIOStreams share
 *
 * FilerPseudoTcpStream and FilerQuicStream (ngtcp2) both expose
 * pollable input and output halves (filer-datagram-input-stream.c,
 * filer-datagram-output-stream.c) that call back into their stream through
 * FilerStreamOps, and wake pollable sources with FilerWakers.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_STREAM_COMPILATION)
# error "filer-stream-wakers-private.h is private to src/core/stream/."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  gssize   (*read_nonblocking)  (GIOStream     *stream,
                                 void          *buffer,
                                 gsize          count,
                                 GError       **error);
  gssize   (*write_nonblocking) (GIOStream     *stream,
                                 const void    *buffer,
                                 gsize          count,
                                 GError       **error);
  /* G_IO_IN: a read would not block; G_IO_OUT: a write would not block. */
  gboolean (*check)             (GIOStream     *stream,
                                 GIOCondition   condition);
  /* A source that dispatches when check() may have turned TRUE. */
  GSource *(*create_waker)      (GIOStream     *stream,
                                 GIOCondition   condition);
  /* Sends FIN once everything written has gone: the peer reads EOF. */
  void     (*shutdown_write)    (GIOStream     *stream);
  GMainContext *(*get_context)  (GIOStream     *stream);
  /* The thread the stream was made in: the one that runs its context. */
  GThread *(*get_thread)        (GIOStream     *stream);
} FilerStreamOps;

typedef struct _FilerWakers FilerWakers;

FilerWakers *_filer_wakers_new    (void);
/* Wakes every source and detaches them from the set. */
void         _filer_wakers_free   (FilerWakers   *wakers);
void         _filer_wakers_wake   (FilerWakers   *wakers,
                                   GIOCondition   condition);
/* A new edge-triggered source for @condition, ready at once if @now. */
GSource     *_filer_wakers_create (FilerWakers   *wakers,
                                   GIOCondition   condition,
                                   gboolean       now);

/* Blocks, iterating the stream's main context, until @condition holds
 * (for the halves' synchronous read and write). */
gboolean     _filer_stream_wait   (GIOStream             *stream,
                                   const FilerStreamOps  *ops,
                                   GIOCondition           condition,
                                   GCancellable          *cancellable,
                                   GError               **error);

/* TRUE if this thread may call the engine itself: the stream's own
 * thread, or one that owns its context. */
gboolean     _filer_stream_in_owner_thread (GIOStream            *stream,
                                            const FilerStreamOps *ops);

/* A blocking read (@half is the input half) or write (the output half)
 * for another thread (glib-networking's TLS handshake runs in one): the
 * engine is not thread-safe, so each attempt runs in the stream's own
 * thread, on its context, while this thread waits on a GCond. The
 * stream's thread must keep iterating its context meanwhile (it does: it
 * waits for the async operation that started the thread). */
gssize       _filer_stream_io_from_thread  (GIOStream            *stream,
                                            const FilerStreamOps *ops,
                                            GObject              *half,
                                            void                 *buffer,
                                            gsize                 count,
                                            GCancellable         *cancellable,
                                            GError              **error);

G_END_DECLS
