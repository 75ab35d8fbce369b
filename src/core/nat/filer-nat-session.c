/* filer-nat-session.c: one rendezvous session with one peer
 *
 * A session is one attempt to reach one peer, named by the token the
 * rendezvous server hands out (the server's own sessions are the same
 * thing seen from the middle). It runs the 100 ms punch timer (short TTL
 * for the first side until it hears from the peer, measured first by
 * filer-nat-path-probe.c; every punch is
 * answered with an ack to the address it came from), and the initiator
 * decides: direct once acked, the relay after the relay delay
 * (docs/protocol.md §4.5). Then it opens the stream on the chosen path,
 * sends its segments direct or inside nat-relay frames (§4.6), and keeps
 * it alive (§4.7).
 *
 * FilerNatClient creates it, feeds it what the server and the peer send,
 * and hears back through the connect task (the initiator's stream),
 * ::incoming (the other side's) and ::closed (forget me). It never calls
 * the client.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-session.h"
#include "filer-nat-session-private.h"

#include <string.h>

#include "filer-nat-client.h"
#include "filer-nat-datagram-private.h"
#include "filer-nat-error.h"
#include "filer-nat-path-probe-private.h"
#include "filer-datagram-stream.h"
#include "filer-tls.h"

#define PUNCH_INTERVAL_MS      100
#define SESSION_GIVE_UP_MS     10000  /* a passive session never used */
#define SHORT_TTL_US           (1000 * 1000)

typedef enum
{
  PATH_NONE,
  PATH_DIRECT,
  PATH_RELAY,
} Path;

struct _FilerNatSession
{
  GObject parent_instance;

  /* owned; socket and server are NULL once the client stopped */
  GSocket *socket;
  GSocketAddress *server;
  FilerNatSessionConfig config;

  guint8 token[FILER_NAT_TOKEN_SIZE];
  char *token_hex;
  char *peer_id;
  gboolean initiator;           /* we asked: we send the stream's SYN */
  gboolean first;               /* our role: open our NAT first */
  gboolean go;                  /* may punch now */
  gboolean relay_only;          /* the server said punching cannot work */
  gboolean heard;               /* a punch or ack came directly */
  gboolean confirmed;           /* an ack came: both directions work */
  gboolean accepted;            /* the server knows we got the offer */
  gboolean listening;           /* the passive handshake has begun */
  gboolean closed;              /* ::closed was emitted */
  Path path;

  GSocketAddress *peer_public;  /* as the server saw it */
  GSocketAddress *peer_direct;  /* where the peer's packets come from */
  gint64 started_us;
  gint64 last_ready_us;

  /* The first side's punch TTL: config.punch_ttl if set, else measured
   * toward the peer (filer-nat-path-probe.c) before the first punch. */
  FilerNatPathProbe *probe;
  guint punch_ttl;
  gint64 short_ttl_until_us;

  guint punch_id;
  guint keepalive_id;

  gboolean quic;                /* the stream engine: QUIC, or PseudoTcp */
  FilerIdentity *identity;      /* our device key, or NULL (none required) */
  char *expected_peer_id;       /* the initiator's: whom it means to reach */
  GIOStream *stream;            /* weak once handed over */
  GIOStream *pending;           /* strong while the passive side waits */
  GTask *task;                  /* the initiator's connect */
};

G_DEFINE_FINAL_TYPE (FilerNatSession, filer_nat_session, G_TYPE_OBJECT)

enum {
  INCOMING,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void session_send_segment (const guint8 *segment,
                                  gsize         length,
                                  gpointer      user_data);

/* --- the stream ---------------------------------------------------------- */

/* The session's stream is a FilerDatagramStream on the engine the
 * initiator chose (docs/nat-stream.md); these keep the call sites short. */

static void
stream_handshake_async (GIOStream           *stream,
                        gboolean             initiator,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  filer_datagram_stream_handshake_async (FILER_DATAGRAM_STREAM (stream), initiator, cancellable,
                                         callback, user_data);
}

static gboolean
stream_handshake_finish (GIOStream     *stream,
                         GAsyncResult  *result,
                         GError       **error)
{
  return filer_datagram_stream_handshake_finish (FILER_DATAGRAM_STREAM (stream), result, error);
}

/* A new stream for @self; its send function holds a reference to @self.
 * The token's first four bytes, big-endian, are PseudoTcp's conversation
 * number (what it puts first in every segment; QUIC ignores it). */
static GIOStream *
stream_new (FilerNatSession *self,
            guint            idle_timeout)
{
  FilerDatagramStream *stream;
  guint32 conversation;

  memcpy (&conversation, self->token, sizeof conversation);
  conversation = GUINT32_FROM_BE (conversation);
  stream = filer_datagram_stream_new (self->quic ? FILER_DATAGRAM_STREAM_ENGINE_QUIC
                                                 : FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP,
                                      conversation, session_send_segment,
                                      g_object_ref (self), g_object_unref);
  filer_datagram_stream_set_idle_timeout (stream, idle_timeout);

  /* The QUIC handshake proves the peer's key: the initiator's must make
   * the id it meant to reach, the other side learns who called. */
  if (self->identity)
    filer_datagram_stream_set_identity (stream, self->identity,
                                        self->initiator ? self->expected_peer_id : NULL);

  return G_IO_STREAM (stream);
}

/* --- sending: direct, or through the relay ----------------------------- */

static void
session_send_frame (FilerNatSession *self,
                    FilerFrame      *frame)
{
  _filer_nat_socket_send_frame (self->socket, self->server, frame);
}

/* A peer datagram to the address the peer's packets come from, or, on
 * the relay path, inside a nat-relay frame to the server, which passes
 * it to the session's other endpoint. */
static void
session_send_peer (FilerNatSession *self,
                   Path             path,
                   FilerNatKind     kind,
                   const guint8    *payload,
                   gsize            length,
                   guint            ttl)
{
  guint8 buffer[FILER_NAT_MAX_DATAGRAM];

  if (self->socket == NULL || length > sizeof buffer - FILER_NAT_HEADER_SIZE)
    return;

  filer_nat_datagram_write_header (buffer, kind, self->token);
  if (length)
    memcpy (buffer + FILER_NAT_HEADER_SIZE, payload, length);

  if (path == PATH_RELAY)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-relay");
      g_autoptr(GBytes) content = g_bytes_new (buffer, FILER_NAT_HEADER_SIZE + length);

      filer_frame_set (frame, "session", self->token_hex);
      filer_frame_set_content (frame, content);
      session_send_frame (self, frame);
      return;
    }

  if (self->peer_direct == NULL)
    return;

  /* Losing a datagram here is like losing it on the way. */
  _filer_nat_socket_set_ttl (self->socket, ttl);
  g_socket_send_to (self->socket, self->peer_direct, (const char *)buffer,
                    FILER_NAT_HEADER_SIZE + length, NULL, NULL);
}

static void
session_send_segment (const guint8 *segment,
                      gsize         length,
                      gpointer      user_data)
{
  FilerNatSession *self = user_data;

  if (self->path != PATH_NONE)
    session_send_peer (self, self->path, self->quic ? FILER_NAT_KIND_QUIC : FILER_NAT_KIND_STREAM,
                       segment, length, FILER_NAT_FULL_TTL);
}

/* --- life -------------------------------------------------------------- */

static void
session_stop_timers (FilerNatSession *self)
{
  g_clear_handle_id (&self->punch_id, g_source_remove);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
}

static void
session_fail (FilerNatSession *self,
              GError          *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  session_stop_timers (self);
  if (task)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* The session is over: tell the server (which frees it, and its relay,
 * now rather than at expiry), and the client, which forgets it. A stream
 * still using it keeps its own reference. @self may be finalized on
 * return. */
static void
session_close (FilerNatSession *self)
{
  session_stop_timers (self);
  if (self->socket && !self->closed)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-close");

      filer_frame_set (frame, "session", self->token_hex);
      session_send_frame (self, frame);
      self->closed = TRUE;
      g_signal_emit (self, signals[CLOSED], 0);
    }
}

static gboolean
session_keepalive_cb (gpointer user_data)
{
  FilerNatSession *self = user_data;

  if (self->socket && self->path != PATH_NONE)
    session_send_peer (self, self->path, FILER_NAT_KIND_KEEPALIVE, NULL, 0, FILER_NAT_FULL_TTL);

  /* An offer whose initiator never sent a segment. */
  if (self->pending && !self->listening && self->socket
      && g_get_monotonic_time () - self->started_us
         > (gint64)(self->config.relay_after_ms + SESSION_GIVE_UP_MS) * 1000)
    {
      g_debug ("nat: session %s: the initiator never came", self->token_hex);
      g_clear_object (&self->pending);
    }

  /* The session ends with its stream. */
  if (self->stream == NULL && self->pending == NULL && self->task == NULL)
    {
      self->keepalive_id = 0;
      session_close (self);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static GIOStream *
session_make_stream (FilerNatSession *self)
{
  GIOStream *stream;
  guint idle_timeout = MAX (3 * self->config.keepalive_ms, 3000);

  /* Keepalives prove the peer alive; miss three and the stream ends. */
  stream = stream_new (self, idle_timeout);
  g_set_weak_pointer (&self->stream, stream);

  self->keepalive_id = g_timeout_add (self->config.keepalive_ms, session_keepalive_cb, self);

  return stream;
}

static const char *
path_name (FilerNatSession *self)
{
  return self->path == PATH_RELAY ? FILER_NAT_PATH_RELAY : FILER_NAT_PATH_DIRECT;
}

/* The peer's key was not the one expected (or it showed none): not a
 * path problem, and nothing to retry. */
static gboolean
is_wrong_key (const GError *error)
{
  return g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
         || g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED);
}

/* PseudoTcp proves no key: with one of ours, mutual TLS between the
 * device keys runs on top (filer-tls.c), and the TLS connection is the
 * stream the owner gets. */
static void
tls_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FilerNatSession *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_id = NULL;
  GIOStream *tls;

  tls = filer_tls_handshake_finish (result, &peer_id, &error);
  if (tls == NULL)
    {
      if (is_wrong_key (error))
        g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_WRONG_PEER,
                                 "The device on the %s path is not the one we meant to reach: "
                                 "its key does not make the id %s (%s)",
                                 path_name (self), self->expected_peer_id, error->message);
      else
        g_task_return_new_error (task, error->domain, error->code,
                                 "No path to the peer (%s): TLS: %s", path_name (self), error->message);
      return;
    }

  g_debug ("nat: session %s to %s established over TLS (%s)", self->token_hex, peer_id, path_name (self));
  g_task_return_pointer (task, tls, g_object_unref);
}

static void
handshake_done_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GIOStream *stream = G_IO_STREAM (object);
  g_autoptr(GTask) task = user_data;
  FilerNatSession *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (self->task == task)
    g_clear_object (&self->task);

  if (!stream_handshake_finish (stream, result, &error))
    {
      /* The device that answered is not the one we meant to reach. */
      if (is_wrong_key (error))
        {
          g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_WRONG_PEER,
                                   "The device on the %s path is not the one we meant to reach: %s",
                                   path_name (self), error->message);
          return;
        }
      g_prefix_error (&error, "No path to the peer (%s): ",
                      self->path == PATH_RELAY ? "relay" : "direct");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!self->quic && self->identity)
    {
      filer_tls_handshake_async (stream, FILER_TLS_ROLE_CLIENT, self->identity, self->expected_peer_id,
                                 g_task_get_cancellable (task), tls_done_cb, g_object_ref (task));
      return;
    }

  g_debug ("nat: session %s to %s established (%s)", self->token_hex, self->peer_id, path_name (self));
  g_task_return_pointer (task, g_object_ref (stream), g_object_unref);
}

/* The initiator has chosen its path: open the stream on it. */
static void
session_start_stream (FilerNatSession *self)
{
  g_autoptr(GIOStream) stream = NULL;

  g_clear_handle_id (&self->punch_id, g_source_remove);
  stream = session_make_stream (self);

  /* The task keeps the stream until it completes. */
  g_task_set_task_data (self->task, g_object_ref (stream), g_object_unref);
  stream_handshake_async (stream, TRUE, g_task_get_cancellable (self->task),
                          handshake_done_cb, g_object_ref (self->task));
}

static void
passive_tls_done_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(FilerNatSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_id = NULL;
  g_autoptr(GIOStream) tls = NULL;

  tls = filer_tls_handshake_finish (result, &peer_id, &error);
  if (tls == NULL)
    g_debug ("nat: incoming session %s failed in TLS: %s", self->token_hex, error->message);
  else if (self->socket)
    g_signal_emit (self, signals[INCOMING], 0, tls, peer_id, path_name (self));

  g_clear_object (&self->pending);
}

static void
passive_handshake_done_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  GIOStream *stream = G_IO_STREAM (object);
  g_autoptr(FilerNatSession) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!stream_handshake_finish (stream, result, &error))
    {
      g_debug ("nat: incoming session %s failed: %s", self->token_hex, error->message);
      g_clear_object (&self->pending);
      return;
    }

  /* PseudoTcp: the caller proves its key in TLS on top (it chose the
   * engine; a caller without a key cannot pass). */
  if (self->identity != NULL && !self->quic)
    {
      filer_tls_handshake_async (stream, FILER_TLS_ROLE_SERVER, self->identity, NULL, NULL,
                                 passive_tls_done_cb, g_object_ref (self));
      return;
    }

  /* The id the caller's key proved (QUIC), never the one it bound under
   * at the server; NULL only without a key of ours (PseudoTcp). */
  if (self->socket)
    g_signal_emit (self, signals[INCOMING], 0, stream,
                   filer_datagram_stream_get_peer_id (FILER_DATAGRAM_STREAM (stream)),
                   path_name (self));

  /* Whoever took the stream keeps it now. */
  g_clear_object (&self->pending);
}

static void
session_send_ready (FilerNatSession *self)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-ready");

  filer_frame_set (frame, "session", self->token_hex);
  session_send_frame (self, frame);
  self->last_ready_us = g_get_monotonic_time ();
}

static gboolean
session_punch_cb (gpointer user_data)
{
  FilerNatSession *self = user_data;
  gint64 now_us = g_get_monotonic_time ();

  if (self->socket == NULL)
    return G_SOURCE_CONTINUE;

  if (self->initiator)
    {
      if (self->confirmed && !self->relay_only)
        {
          self->path = PATH_DIRECT;
          self->punch_id = 0;
          session_start_stream (self);
          return G_SOURCE_REMOVE;
        }

      if (self->relay_only || now_us - self->started_us >= (gint64)self->config.relay_after_ms * 1000)
        {
          g_debug ("nat: session %s: no punched path after %u ms, relaying",
                   self->token_hex, (guint)((now_us - self->started_us) / 1000));
          self->path = PATH_RELAY;
          self->punch_id = 0;
          session_start_stream (self);
          return G_SOURCE_REMOVE;
        }
    }
  else if (self->path != PATH_NONE
           || now_us - self->started_us >= (gint64)(self->config.relay_after_ms + 2000) * 1000)
    {
      /* The initiator has chosen; punching is over for us too. */
      self->punch_id = 0;
      return G_SOURCE_REMOVE;
    }

  if (!self->accepted && !self->initiator)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-accept");

      filer_frame_set (frame, "session", self->token_hex);
      session_send_frame (self, frame);
    }

  if (self->relay_only || !self->go)
    return G_SOURCE_CONTINUE;

  if (self->peer_direct == NULL)
    self->peer_direct = g_object_ref (self->peer_public);

  /* Not before the path is measured: the TTL depends on it. */
  if (self->probe != NULL)
    return G_SOURCE_CONTINUE;

  /* The first side's packets must not reach the peer's router before the
   * peer has sent: a short TTL until we have heard from it. After a
   * second unheard, the full TTL (our NAT may be more hops away than the
   * short TTL reaches, as behind a carrier's NAT). */
  session_send_peer (self, PATH_DIRECT, FILER_NAT_KIND_PUNCH, NULL, 0,
                     self->first && !self->heard
                     && now_us < self->short_ttl_until_us ? self->punch_ttl : FILER_NAT_FULL_TTL);

  if (self->first && !self->heard && now_us - self->last_ready_us >= FILER_NAT_RETRY_INTERVAL_MS * 1000)
    session_send_ready (self);

  return G_SOURCE_CONTINUE;
}

/* The path is measured: punch now, with a TTL one router short of the
 * peer's (or, if no router answered, the fallback), short for a second
 * from now. */
static void
session_probed_cb (guint    ttl,
                   gpointer user_data)
{
  FilerNatSession *self = user_data;

  g_clear_pointer (&self->probe, _filer_nat_path_probe_free);
  /* Past our own NAT: a TTL of 1 dies in our router. */
  self->punch_ttl = ttl >= 2 ? ttl : FILER_NAT_FALLBACK_PUNCH_TTL;
  self->short_ttl_until_us = g_get_monotonic_time () + SHORT_TTL_US;
  g_debug ("nat: session %s: punch TTL %u (measured %u)", self->token_hex, self->punch_ttl, ttl);

  if (self->punch_id != 0 && self->go && !self->closed)
    session_punch_cb (self);
}

/* --- what the client tells us ------------------------------------------ */

void
_filer_nat_session_connect_async (FilerNatSession     *self,
                                  const char          *expected_peer_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_assert (FILER_IS_NAT_SESSION (self));
  g_assert (self->initiator);
  g_assert (self->task == NULL);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, _filer_nat_session_connect_async);
  g_free (self->expected_peer_id);
  self->expected_peer_id = g_strdup (expected_peer_id);

  if (self->first && !self->relay_only)
    session_punch_cb (self);
}

GIOStream *
_filer_nat_session_connect_finish (FilerNatSession  *self,
                                   GAsyncResult     *result,
                                   char            **path,
                                   GError          **error)
{
  GIOStream *stream;

  g_assert (g_task_is_valid (result, self));

  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (stream && path)
    *path = g_strdup (path_name (self));

  return stream;
}

void
_filer_nat_session_listen (FilerNatSession *self)
{
  g_assert (FILER_IS_NAT_SESSION (self));
  g_assert (!self->initiator);

  /* Listen at once: the initiator's SYN may come as soon as it chose.
   * The handshake (and with it the stream's idle clock) starts with the
   * first segment, since the initiator may punch for a while first. */
  self->pending = session_make_stream (self);

  /* Punch before reporting ready: the peer's first packet must find our
   * mapping open, or a router that accepts WAN input moves it. */
  if (self->first && !self->relay_only)
    session_punch_cb (self);
}

void
_filer_nat_session_go (FilerNatSession *self)
{
  g_assert (FILER_IS_NAT_SESSION (self));

  if (!self->go)
    {
      g_debug ("nat: session %s: go", self->token_hex);
      self->go = TRUE;
    }
}

void
_filer_nat_session_accepted (FilerNatSession *self)
{
  g_assert (FILER_IS_NAT_SESSION (self));

  self->accepted = TRUE;
}

/* The server gave up on the session (the peer never accepted): end it
 * now, not at the idle timeout. */
void
_filer_nat_session_refused (FilerNatSession *self,
                            const char      *message)
{
  g_autoptr(FilerNatSession) hold = g_object_ref (self);   /* the task's callback may stop the client */
  g_autoptr(GError) error = NULL;

  g_assert (FILER_IS_NAT_SESSION (self));

  error = g_error_new (FILER_NAT_ERROR, FILER_NAT_ERROR_UNREACHABLE, "%s",
                       message ?: "The peer did not answer");
  if (self->stream)
    filer_datagram_stream_abort (FILER_DATAGRAM_STREAM (self->stream), error);
  else
    {
      session_fail (self, g_steal_pointer (&error));
      session_close (self);
    }
}

void
_filer_nat_session_relay_closed (FilerNatSession *self,
                                 const char      *message)
{
  g_assert (FILER_IS_NAT_SESSION (self));

  if (self->stream && self->path == PATH_RELAY)
    {
      g_autoptr(GError) error = NULL;

      error = g_error_new (FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED,
                           "The server closed the relay: %s", message ?: "no reason");
      filer_datagram_stream_abort (FILER_DATAGRAM_STREAM (self->stream), error);
    }
}

void
_filer_nat_session_handle_datagram (FilerNatSession *self,
                                    FilerNatKind     kind,
                                    const guint8    *payload,
                                    gsize            length,
                                    GSocketAddress  *from,
                                    gboolean         relayed)
{
  g_assert (FILER_IS_NAT_SESSION (self));

  switch (kind)
    {
    case FILER_NAT_KIND_PUNCH:
    case FILER_NAT_KIND_ACK:
      if (relayed)
        return;

      /* The peer's NAT may have given it another port than the server
       * saw: the token says it is the peer, so answer where it is. */
      if (!filer_nat_address_equal (self->peer_direct, from))
        {
          g_autofree char *text = filer_nat_address_to_string (from);

          g_debug ("nat: session %s: peer heard from %s", self->token_hex, text);
          g_set_object (&self->peer_direct, from);
        }
      self->heard = TRUE;
      if (kind == FILER_NAT_KIND_ACK)
        self->confirmed = TRUE;
      else
        session_send_peer (self, PATH_DIRECT, FILER_NAT_KIND_ACK, NULL, 0, FILER_NAT_FULL_TTL);
      break;

    case FILER_NAT_KIND_KEEPALIVE:
      if (self->stream)
        filer_datagram_stream_notify_alive (FILER_DATAGRAM_STREAM (self->stream));
      break;

    case FILER_NAT_KIND_STREAM:
    case FILER_NAT_KIND_QUIC:
      /* Segments of the other engine are not ours. */
      if ((kind == FILER_NAT_KIND_QUIC) != self->quic)
        return;

      /* The passive side answers on the path the initiator chose. */
      if (!self->initiator)
        {
          self->path = relayed ? PATH_RELAY : PATH_DIRECT;
          if (!relayed)
            g_set_object (&self->peer_direct, from);

          if (!self->listening && self->pending)
            {
              self->listening = TRUE;
              stream_handshake_async (self->pending, FALSE, NULL,
                                      passive_handshake_done_cb, g_object_ref (self));
            }
        }
      if (self->stream)
        filer_datagram_stream_receive_segment (FILER_DATAGRAM_STREAM (self->stream), payload, length);
      break;

    default:
      break;
    }
}

void
_filer_nat_session_stop (FilerNatSession *self,
                         const GError    *error)
{
  g_assert (FILER_IS_NAT_SESSION (self));

  if (self->stream)
    filer_datagram_stream_abort (FILER_DATAGRAM_STREAM (self->stream), error);
  session_fail (self, g_error_copy (error));
  g_clear_object (&self->socket);
  g_clear_object (&self->server);
}

/* --- the object -------------------------------------------------------- */

const char *
filer_nat_session_get_token (FilerNatSession *self)
{
  g_return_val_if_fail (FILER_IS_NAT_SESSION (self), NULL);

  return self->token_hex;
}

const char *
filer_nat_session_get_peer_id (FilerNatSession *self)
{
  g_return_val_if_fail (FILER_IS_NAT_SESSION (self), NULL);

  return self->peer_id;
}

gboolean
filer_nat_session_is_initiator (FilerNatSession *self)
{
  g_return_val_if_fail (FILER_IS_NAT_SESSION (self), FALSE);

  return self->initiator;
}

const char *
filer_nat_session_get_path (FilerNatSession *self)
{
  g_return_val_if_fail (FILER_IS_NAT_SESSION (self), NULL);

  return self->path == PATH_NONE ? NULL : path_name (self);
}

static void
filer_nat_session_dispose (GObject *object)
{
  FilerNatSession *self = FILER_NAT_SESSION (object);

  session_stop_timers (self);
  g_assert (self->task == NULL);
  g_clear_weak_pointer (&self->stream);
  g_clear_object (&self->pending);

  G_OBJECT_CLASS (filer_nat_session_parent_class)->dispose (object);
}

static void
filer_nat_session_finalize (GObject *object)
{
  FilerNatSession *self = FILER_NAT_SESSION (object);

  g_clear_object (&self->socket);
  g_clear_object (&self->server);
  g_clear_pointer (&self->probe, _filer_nat_path_probe_free);
  g_clear_object (&self->peer_public);
  g_clear_object (&self->peer_direct);
  g_free (self->token_hex);
  g_free (self->peer_id);
  g_free (self->expected_peer_id);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (filer_nat_session_parent_class)->finalize (object);
}

static void
filer_nat_session_class_init (FilerNatSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_nat_session_dispose;
  object_class->finalize = filer_nat_session_finalize;

  /**
   * FilerNatSession::incoming:
   * @stream: the established stream (take a reference to keep it)
   * @peer_id: (nullable): the device id the caller's key proved (QUIC,
   *   or TLS over PseudoTcp); %NULL only on a session without a key of ours
   * @path: "direct" or "relay"
   *
   * The side that did not ask: the initiator's stream is up.
   */
  signals[INCOMING] =
    g_signal_new ("incoming",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_IO_STREAM, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * FilerNatSession::closed:
   *
   * The session is over (its stream ended, or it never got one); the
   * owner forgets it. Emitted once.
   */
  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
filer_nat_session_init (FilerNatSession *self)
{
}

FilerNatSession *
_filer_nat_session_new (FilerFrame                  *frame,
                        gboolean                     initiator,
                        GSocket                     *socket,
                        GSocketAddress              *server,
                        const FilerNatSessionConfig *config)
{
  FilerNatSession *self;
  guint8 token[FILER_NAT_TOKEN_SIZE];
  const char *role = filer_frame_get (frame, "role");

  g_assert (G_IS_SOCKET (socket));
  g_assert (G_IS_SOCKET_ADDRESS (server));

  if (!filer_nat_token_from_hex (filer_frame_get (frame, "session"), token)
      || filer_frame_get (frame, "peer-id") == NULL)
    return NULL;

  self = g_object_new (FILER_TYPE_NAT_SESSION, NULL);
  self->socket = g_object_ref (socket);
  self->server = g_object_ref (server);
  self->config = *config;
  self->config.identity = NULL;
  self->config.probe_socket = NULL;   /* used only here */
  self->identity = config->identity ? g_object_ref (config->identity) : NULL;
  self->initiator = initiator;
  self->token_hex = g_strdup (filer_frame_get (frame, "session"));
  memcpy (self->token, token, sizeof token);
  self->peer_id = g_strdup (filer_frame_get (frame, "peer-id"));
  self->peer_public = filer_nat_address_from_string (filer_frame_get (frame, "peer"));
  self->first = g_strcmp0 (role, "first") == 0;
  /* The initiator chose the engine; the server passed its choice on. */
  self->quic = g_strcmp0 (filer_frame_get (frame, "stream"), "pseudotcp") != 0;
  self->relay_only = g_strcmp0 (role, "relay") == 0 || config->force_relay
                     || self->peer_public == NULL;
  self->go = self->first;
  self->started_us = g_get_monotonic_time ();
  self->punch_ttl = config->punch_ttl;
  self->short_ttl_until_us = self->started_us + SHORT_TTL_US;
  if (self->first && !self->relay_only && self->punch_ttl == 0 && config->probe_socket != NULL)
    self->probe = _filer_nat_path_probe_start (config->probe_socket, G_INET_SOCKET_ADDRESS (self->peer_public),
                                               session_probed_cb, self);
  if (self->punch_ttl == 0 && self->probe == NULL)
    self->punch_ttl = FILER_NAT_FALLBACK_PUNCH_TTL;

  self->punch_id = g_timeout_add (PUNCH_INTERVAL_MS, session_punch_cb, self);

  g_debug ("nat: session %s with %s (%s), peer at %s, role %s",
           self->token_hex, self->peer_id, initiator ? "outgoing" : "incoming",
           filer_frame_get (frame, "peer"), role);
  return self;
}
