/* filer-datagram-stream.h: a reliable byte stream over datagrams, as a GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-identity.h"

G_BEGIN_DECLS

#define FILER_TYPE_DATAGRAM_STREAM (filer_datagram_stream_get_type ())

G_DECLARE_DERIVABLE_TYPE (FilerDatagramStream, filer_datagram_stream, FILER, DATAGRAM_STREAM, GIOStream)

/* Nothing heard from the peer (segments or notify_alive) for this long
 * ends the stream with G_IO_ERROR_TIMED_OUT. */
#define FILER_DATAGRAM_STREAM_DEFAULT_IDLE_TIMEOUT_MS 45000

/**
 * FilerDatagramStreamEngine:
 * @FILER_DATAGRAM_STREAM_ENGINE_QUIC: QUIC v1 by ngtcp2, TLS 1.3 by
 *   GnuTLS (filer-quic-stream.c); the default
 * @FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP: libnice's PseudoTcp
 *   (filer-pseudotcp-stream.c)
 *
 * What carries the bytes (docs/nat-stream.md compares them). Both ends
 * of a stream must use the same one.
 */
typedef enum
{
  FILER_DATAGRAM_STREAM_ENGINE_QUIC,
  FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP,
} FilerDatagramStreamEngine;

/**
 * FilerDatagramStreamSendFunc:
 * @segment: one segment to put into one datagram
 * @length: its size
 * @user_data: the data given with the function
 *
 * Sends a segment to the peer, however the owner reaches it (a punched
 * UDP path, the relay). Must not block. A segment that cannot be sent
 * right now is simply lost: the stream retransmits it.
 */
typedef void (*FilerDatagramStreamSendFunc) (const guint8 *segment,
                                             gsize         length,
                                             gpointer      user_data);

/**
 * FilerDatagramStreamClass:
 * @start: the handshake begins: the initiator sends its first packet, the
 *   other side gets ready to accept one. FALSE (with @error) fails the
 *   handshake without ending the stream.
 * @receive: a segment the owner fed in (the base has checked the stream
 *   has not failed and noted that the peer is alive)
 * @tick: the clock ran: the engine's own timers
 * @next_timeout: when @tick must run next (monotonic µs, -1 for never);
 *   FALSE once the engine has ended and needs no clock at all
 * @read: non-blocking read; the engine decides how an error set with
 *   filer_datagram_stream_abort() and data it still holds are ordered
 * @write: non-blocking write, called only while the stream has not failed
 * @check: %G_IO_IN: a read would not block, %G_IO_OUT: a write would not
 *   block; called only while the stream has not failed
 * @shutdown_write: send FIN once everything written has gone
 * @close: synchronous close: start the goodbye, do not wait for it
 *   (called only while the stream has not failed; also from dispose)
 * @close_start: close_async() began: start the goodbye
 * @close_done: may close_async() complete now (@closing_us since it
 *   began)? The base completes it anyway once the stream has failed.
 * @close_finish: close_async() completes: last words to the peer; TRUE if
 *   everything written was delivered, so that an error now is not the
 *   close's
 *
 * Each engine implements every vfunc; the base owns the halves, the
 * handshake and close tasks, the idle watchdog, the clock and the send
 * function, and calls the engine on its main context only.
 */
struct _FilerDatagramStreamClass
{
  GIOStreamClass parent_class;

  gboolean (*start)          (FilerDatagramStream  *self,
                              gboolean              initiator,
                              GError              **error);
  void     (*receive)        (FilerDatagramStream  *self,
                              const guint8         *segment,
                              gsize                 length);
  void     (*tick)           (FilerDatagramStream  *self);
  gboolean (*next_timeout)   (FilerDatagramStream  *self,
                              gint64               *ready_us);
  gssize   (*read)           (FilerDatagramStream  *self,
                              void                 *buffer,
                              gsize                 count,
                              GError              **error);
  gssize   (*write)          (FilerDatagramStream  *self,
                              const void           *buffer,
                              gsize                 count,
                              GError              **error);
  gboolean (*check)          (FilerDatagramStream  *self,
                              GIOCondition          condition);
  void     (*shutdown_write) (FilerDatagramStream  *self);
  void     (*close)          (FilerDatagramStream  *self);
  void     (*close_start)    (FilerDatagramStream  *self);
  gboolean (*close_done)     (FilerDatagramStream  *self,
                              gint64                closing_us);
  gboolean (*close_finish)   (FilerDatagramStream  *self);

  /*< private >*/
  gpointer padding[8];
};

/* For owners. */

FilerDatagramStream *filer_datagram_stream_new               (FilerDatagramStreamEngine    engine,
                                                              guint32                      conversation,
                                                              FilerDatagramStreamSendFunc  send_func,
                                                              gpointer                     user_data,
                                                              GDestroyNotify               notify);
void                 filer_datagram_stream_set_send_func     (FilerDatagramStream         *self,
                                                              FilerDatagramStreamSendFunc  send_func,
                                                              gpointer                     user_data,
                                                              GDestroyNotify               notify);

/* Our device key, and the device we mean to reach (%NULL: a listener
 * that learns who called). Before the handshake. The QUIC engine needs
 * it: both ends present their certificates and the handshake fails
 * (G_TLS_ERROR_BAD_CERTIFICATE) unless the peer's key makes the expected
 * id. PseudoTcp carries bytes only; its owner runs TLS on top
 * (filer_tls_handshake_async(), as FilerNatSession does). */
void                 filer_datagram_stream_set_identity      (FilerDatagramStream         *self,
                                                              FilerIdentity               *identity,
                                                              const char                  *expected_peer_id);
/* The device id the peer's key proved in the handshake (QUIC), or NULL:
 * before the handshake completed, and always for PseudoTcp. Whoever
 * reads a hello from this stream compares its "from" with this. */
const char          *filer_datagram_stream_get_peer_id       (FilerDatagramStream         *self);

guint                filer_datagram_stream_get_idle_timeout  (FilerDatagramStream         *self);
void                 filer_datagram_stream_set_idle_timeout  (FilerDatagramStream         *self,
                                                              guint                        idle_timeout_ms);
gboolean             filer_datagram_stream_is_established    (FilerDatagramStream         *self);

/* Feed a segment that arrived for this stream. */
void                 filer_datagram_stream_receive_segment   (FilerDatagramStream         *self,
                                                              const guint8                *segment,
                                                              gsize                        length);
/* The peer was heard from in some other way (a keepalive). */
void                 filer_datagram_stream_notify_alive      (FilerDatagramStream         *self);

/* Opens the stream: the @initiator sends the first packet, the other side
 * waits for it. Completes once the stream is established (both sides must
 * call it), or fails after the idle timeout. */
void                 filer_datagram_stream_handshake_async   (FilerDatagramStream         *self,
                                                              gboolean                     initiator,
                                                              GCancellable                *cancellable,
                                                              GAsyncReadyCallback          callback,
                                                              gpointer                     user_data);
gboolean             filer_datagram_stream_handshake_finish  (FilerDatagramStream         *self,
                                                              GAsyncResult                *result,
                                                              GError                     **error);

/* Ends the stream now: pending and later I/O fails with @error (the
 * owner lost its path, the relay closed the session). */
void                 filer_datagram_stream_abort             (FilerDatagramStream         *self,
                                                              const GError                *error);

/* For engines (subclasses) only. */

/* Puts @segment out through the owner's send function. */
void                 filer_datagram_stream_send_segment      (FilerDatagramStream         *self,
                                                              const guint8                *segment,
                                                              gsize                        length);
FilerIdentity       *filer_datagram_stream_get_identity      (FilerDatagramStream         *self);
const char          *filer_datagram_stream_get_expected_peer_id (FilerDatagramStream      *self);
/* The peer proved it holds the key of @peer_id (before set_established). */
void                 filer_datagram_stream_set_peer_id       (FilerDatagramStream         *self,
                                                              const char                  *peer_id);
/* The error the stream has ended with, or NULL. */
const GError        *filer_datagram_stream_get_error         (FilerDatagramStream         *self);
/* The handshake is done: wakes readers and writers, completes it. */
void                 filer_datagram_stream_set_established   (FilerDatagramStream         *self);
void                 filer_datagram_stream_wake              (FilerDatagramStream         *self,
                                                              GIOCondition                 condition);
/* Runs the clock (tick, pending tasks) soon, outside the caller's stack. */
void                 filer_datagram_stream_schedule          (FilerDatagramStream         *self);
/* Re-arms the clock after the engine's next_timeout() may have changed. */
void                 filer_datagram_stream_update_clock      (FilerDatagramStream         *self);

G_END_DECLS
