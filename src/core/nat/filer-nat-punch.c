/* filer-nat-punch.c: one session's punching, its path and its stream
 *
 * A session is one attempt to reach one peer, named by the token the
 * server hands out. It runs the 100 ms punch timer (short TTL for the
 * first side until it hears from the peer; every punch is answered with
 * an ack to the address it came from), and the initiator decides: direct
 * once acked, the relay after the relay delay. Then it opens the stream
 * on the chosen path and keeps it alive.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-client-private.h"

#include <string.h>

#include "filer-nat-error.h"
#include "filer-datagram-stream.h"

static Session *
session_ref (Session *session)
{
  g_atomic_ref_count_inc (&session->ref);
  return session;
}

static void
session_stop_timers (Session *session)
{
  g_clear_handle_id (&session->punch_id, g_source_remove);
  g_clear_handle_id (&session->keepalive_id, g_source_remove);
}

void
filer_nat_session_unref (gpointer data)
{
  Session *session = data;

  if (!g_atomic_ref_count_dec (&session->ref))
    return;

  session_stop_timers (session);
  g_assert (session->task == NULL);
  g_clear_weak_pointer (&session->stream);
  g_clear_object (&session->pending);
  g_clear_object (&session->peer_public);
  g_clear_object (&session->peer_direct);
  g_free (session->token_hex);
  g_free (session->peer_id);
  g_free (session);
}

void
filer_nat_session_fail (Session *session,
                        GError  *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&session->task);

  session_stop_timers (session);
  if (task)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

/* Forget the session (the table's reference); a stream using it keeps
 * its own reference. */
void
filer_nat_session_remove (Session *session)
{
  FilerNatClient *self = session->client;

  session_stop_timers (session);
  if (self)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-close");

      /* The server frees the session (and its relay) now, not at expiry. */
      filer_frame_set (frame, "session", session->token_hex);
      filer_nat_client_send_frame (self, self->server, frame);
      g_hash_table_remove (self->sessions, session->token_hex);
    }
}

static void
session_send_segment (const guint8 *segment,
                      gsize         length,
                      gpointer      user_data)
{
  Session *session = user_data;

  if (session->client && session->path != PATH_NONE)
    filer_nat_client_send_peer (session->client, session, session->path,
                                session->quic ? FILER_NAT_KIND_QUIC : FILER_NAT_KIND_STREAM,
                                segment, length, FULL_TTL);
}

static gboolean
session_keepalive_cb (gpointer user_data)
{
  Session *session = user_data;

  if (session->client && session->path != PATH_NONE)
    filer_nat_client_send_peer (session->client, session, session->path, FILER_NAT_KIND_KEEPALIVE,
                                NULL, 0, FULL_TTL);

  /* An offer whose initiator never sent a segment. */
  if (session->pending && !session->listening && session->client
      && g_get_monotonic_time () - session->started_us
         > (gint64)(session->client->relay_after_ms + SESSION_GIVE_UP_MS) * 1000)
    {
      g_debug ("nat: session %s: the initiator never came", session->token_hex);
      g_clear_object (&session->pending);
    }

  /* The session ends with its stream. */
  if (session->stream == NULL && session->pending == NULL && session->task == NULL)
    {
      session->keepalive_id = 0;
      filer_nat_session_remove (session);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

/* The stream's calls, on the GIOStream the session keeps. */

static void
stream_handshake_async (GIOStream           *stream,
                        gboolean             initiator,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  filer_datagram_stream_handshake_async (FILER_DATAGRAM_STREAM (stream), initiator, cancellable, callback, user_data);
}

static gboolean
stream_handshake_finish (GIOStream     *stream,
                         GAsyncResult  *result,
                         GError       **error)
{
  return filer_datagram_stream_handshake_finish (FILER_DATAGRAM_STREAM (stream), result, error);
}

static void
stream_receive (GIOStream    *stream,
                const guint8 *segment,
                gsize         length)
{
  filer_datagram_stream_receive_segment (FILER_DATAGRAM_STREAM (stream), segment, length);
}

static void
stream_notify_alive (GIOStream *stream)
{
  filer_datagram_stream_notify_alive (FILER_DATAGRAM_STREAM (stream));
}

void
filer_nat_client_stream_abort (GIOStream    *stream,
                               const GError *error)
{
  filer_datagram_stream_abort (FILER_DATAGRAM_STREAM (stream), error);
}

static GIOStream *
session_make_stream (Session *session)
{
  FilerNatClient *self = session->client;
  FilerDatagramStream *stream;
  guint32 conversation;

  /* The token's first four bytes, big-endian: what PseudoTcp puts first
   * in every segment (QUIC ignores it). */
  memcpy (&conversation, session->token, sizeof conversation);
  conversation = GUINT32_FROM_BE (conversation);
  stream = filer_datagram_stream_new (session->quic ? FILER_DATAGRAM_STREAM_ENGINE_QUIC
                                                    : FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP,
                                      conversation, session_send_segment,
                                      session_ref (session), filer_nat_session_unref);
  /* Keepalives prove the peer alive; miss three and the stream ends. */
  filer_datagram_stream_set_idle_timeout (stream, MAX (3 * self->keepalive_ms, 3000));
  g_set_weak_pointer (&session->stream, G_IO_STREAM (stream));

  session->keepalive_id = g_timeout_add (self->keepalive_ms, session_keepalive_cb, session);

  return G_IO_STREAM (stream);
}

static void
handshake_done_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GIOStream *stream = G_IO_STREAM (object);
  g_autoptr(GTask) task = user_data;
  Session *session = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!stream_handshake_finish (stream, result, &error))
    {
      g_prefix_error (&error, "No path to the peer (%s): ",
                      session->path == PATH_RELAY ? "relay" : "direct");
      if (session->task == task)
        g_clear_object (&session->task);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (session->task == task)
    g_clear_object (&session->task);

  g_debug ("nat: session %s to %s established (%s)", session->token_hex, session->peer_id,
           session->path == PATH_RELAY ? FILER_NAT_PATH_RELAY : FILER_NAT_PATH_DIRECT);
  g_task_return_pointer (task, g_object_ref (stream), g_object_unref);
}

/* The initiator has chosen its path: open the stream on it. */
static void
session_start_stream (Session *session)
{
  g_autoptr(GIOStream) stream = NULL;

  g_clear_handle_id (&session->punch_id, g_source_remove);
  stream = session_make_stream (session);
  g_task_set_task_data (session->task, session_ref (session), filer_nat_session_unref);

  /* The task keeps the stream until it completes. */
  g_object_set_data_full (G_OBJECT (session->task), "stream", g_object_ref (stream), g_object_unref);
  stream_handshake_async (stream, TRUE, g_task_get_cancellable (session->task),
                                    handshake_done_cb, g_object_ref (session->task));
}

static void
passive_handshake_done_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  GIOStream *stream = G_IO_STREAM (object);
  Session *session = user_data;
  g_autoptr(GError) error = NULL;
  FilerNatClient *self = session->client;

  if (!stream_handshake_finish (stream, result, &error))
    {
      g_debug ("nat: incoming session %s failed: %s", session->token_hex, error->message);
      g_clear_object (&session->pending);
      filer_nat_session_unref (session);
      return;
    }

  if (self)
    filer_nat_client_emit_incoming (self, stream, session->peer_id,
                                    session->path == PATH_RELAY ? FILER_NAT_PATH_RELAY : FILER_NAT_PATH_DIRECT);

  /* Whoever took the stream keeps it now. */
  g_clear_object (&session->pending);
  filer_nat_session_unref (session);
}

static void
session_send_ready (Session *session)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-ready");

  filer_frame_set (frame, "session", session->token_hex);
  filer_nat_client_send_frame (session->client, session->client->server, frame);
  session->last_ready_us = g_get_monotonic_time ();
}

gboolean
filer_nat_session_punch_cb (gpointer user_data)
{
  Session *session = user_data;
  FilerNatClient *self = session->client;
  gint64 now_us = g_get_monotonic_time ();

  if (self == NULL)
    return G_SOURCE_CONTINUE;

  if (session->initiator)
    {
      if (session->confirmed && !session->relay_only)
        {
          session->path = PATH_DIRECT;
          session->punch_id = 0;
          session_start_stream (session);
          return G_SOURCE_REMOVE;
        }

      if (session->relay_only || now_us - session->started_us >= (gint64)self->relay_after_ms * 1000)
        {
          g_debug ("nat: session %s: no punched path after %u ms, relaying",
                   session->token_hex, (guint)((now_us - session->started_us) / 1000));
          session->path = PATH_RELAY;
          session->punch_id = 0;
          session_start_stream (session);
          return G_SOURCE_REMOVE;
        }
    }
  else if (session->path != PATH_NONE
           || now_us - session->started_us >= (gint64)(self->relay_after_ms + 2000) * 1000)
    {
      /* The initiator has chosen; punching is over for us too. */
      session->punch_id = 0;
      return G_SOURCE_REMOVE;
    }

  if (!session->accepted && !session->initiator)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-accept");

      filer_frame_set (frame, "session", session->token_hex);
      filer_nat_client_send_frame (self, self->server, frame);
    }

  if (session->relay_only || !session->go)
    return G_SOURCE_CONTINUE;

  if (session->peer_direct == NULL)
    session->peer_direct = g_object_ref (session->peer_public);

  /* The first side's packets must not reach the peer's router before the
   * peer has sent: a short TTL until we have heard from it. After a
   * second unheard, the full TTL (our NAT may be more hops away than the
   * short TTL reaches, as behind a carrier's NAT). */
  filer_nat_client_send_peer (self, session, PATH_DIRECT, FILER_NAT_KIND_PUNCH, NULL, 0,
                              session->first && !session->heard
                              && now_us - session->started_us < SHORT_TTL_US ? self->punch_ttl : FULL_TTL);

  if (session->first && !session->heard && now_us - session->last_ready_us >= RETRY_INTERVAL_MS * 1000)
    session_send_ready (session);

  return G_SOURCE_CONTINUE;
}

Session *
filer_nat_session_new (FilerNatClient *self,
                       FilerFrame     *frame,
                       gboolean        initiator)
{
  Session *session = g_new0 (Session, 1);
  const char *role = filer_frame_get (frame, "role");

  g_atomic_ref_count_init (&session->ref);
  session->client = self;
  session->initiator = initiator;
  session->token_hex = g_strdup (filer_frame_get (frame, "session"));
  filer_nat_token_from_hex (session->token_hex, session->token);
  session->peer_id = g_strdup (filer_frame_get (frame, "peer-id"));
  session->peer_public = filer_nat_address_from_string (filer_frame_get (frame, "peer"));
  session->first = g_strcmp0 (role, "first") == 0;
  /* The initiator chose the engine; the server passed its choice on. */
  session->quic = g_strcmp0 (filer_frame_get (frame, "stream"), "pseudotcp") != 0;
  session->relay_only = g_strcmp0 (role, "relay") == 0 || self->force_relay
                        || session->peer_public == NULL;
  session->go = session->first;
  session->started_us = g_get_monotonic_time ();

  g_hash_table_insert (self->sessions, session->token_hex, session);
  session->punch_id = g_timeout_add (PUNCH_INTERVAL_MS, filer_nat_session_punch_cb, session);

  g_debug ("nat: session %s with %s (%s), peer at %s, role %s",
           session->token_hex, session->peer_id, initiator ? "outgoing" : "incoming",
           filer_frame_get (frame, "peer"), role);
  return session;
}

gboolean
filer_nat_valid_session_frame (FilerFrame *frame)
{
  guint8 token[FILER_NAT_TOKEN_SIZE];

  return filer_nat_token_from_hex (filer_frame_get (frame, "session"), token)
         && filer_frame_get (frame, "peer-id") != NULL;
}

/* --- what arrives ------------------------------------------------------ */

void
filer_nat_client_handle_peer_datagram (FilerNatClient *self,
                                       const guint8   *data,
                                       gsize           length,
                                       GSocketAddress *from,
                                       gboolean        relayed)
{
  FilerNatKind kind;
  const guint8 *token;
  const guint8 *payload;
  gsize payload_length;
  g_autofree char *token_hex = NULL;
  Session *session;

  if (!filer_nat_datagram_parse (data, length, &kind, &token, &payload, &payload_length))
    return;

  token_hex = filer_nat_token_to_hex (token);
  session = g_hash_table_lookup (self->sessions, token_hex);
  if (session == NULL)
    return;  /* a stray, or someone guessing: no token, no answer */

  switch (kind)
    {
    case FILER_NAT_KIND_PUNCH:
    case FILER_NAT_KIND_ACK:
      if (relayed)
        return;

      /* The peer's NAT may have given it another port than the server
       * saw: the token says it is the peer, so answer where it is. */
      if (!filer_nat_address_equal (session->peer_direct, from))
        {
          g_autofree char *text = filer_nat_address_to_string (from);

          g_debug ("nat: session %s: peer heard from %s", session->token_hex, text);
          g_set_object (&session->peer_direct, from);
        }
      session->heard = TRUE;
      if (kind == FILER_NAT_KIND_ACK)
        session->confirmed = TRUE;
      else
        filer_nat_client_send_peer (self, session, PATH_DIRECT, FILER_NAT_KIND_ACK, NULL, 0, FULL_TTL);
      break;

    case FILER_NAT_KIND_KEEPALIVE:
      if (session->stream)
        stream_notify_alive (session->stream);
      break;

    case FILER_NAT_KIND_STREAM:
    case FILER_NAT_KIND_QUIC:
      /* Segments of the other engine are not ours. */
      if ((kind == FILER_NAT_KIND_QUIC) != session->quic)
        return;

      /* The passive side answers on the path the initiator chose. */
      if (!session->initiator)
        {
          session->path = relayed ? PATH_RELAY : PATH_DIRECT;
          if (!relayed)
            g_set_object (&session->peer_direct, from);

          if (!session->listening && session->pending)
            {
              session->listening = TRUE;
              stream_handshake_async (session->pending, FALSE, NULL,
                                                passive_handshake_done_cb, session_ref (session));
            }
        }
      if (session->stream)
        stream_receive (session->stream, payload, payload_length);
      break;

    default:
      break;
    }
}

void
filer_nat_client_handle_offer (FilerNatClient *self,
                               FilerFrame     *frame)
{
  Session *session;

  if (!filer_nat_valid_session_frame (frame))
    return;

  if (g_hash_table_contains (self->sessions, filer_frame_get (frame, "session")))
    return;  /* a resent offer */

  session = filer_nat_session_new (self, frame, FALSE);

  /* Listen at once: the initiator's SYN may come as soon as it chose.
   * The handshake (and with it the stream's idle clock) starts with the
   * first segment, since the initiator may punch for a while first. */
  session->pending = session_make_stream (session);

  /* Punch before reporting ready: the peer's first packet must find our
   * mapping open, or a router that accepts WAN input moves it. */
  if (session->first && !session->relay_only)
    filer_nat_session_punch_cb (session);
}
