/* filer-nat-client.c: reach peers on other networks (punch, or relay)
 *
 * One UDP socket carries everything: frames to and from the rendezvous
 * server (registration, keepalive, session set-up, relayed datagrams) and
 * peer datagrams (punch, ack, keepalive, stream segments), told apart by
 * the peer datagrams' 0xFF 0xFF magic (filer-nat-datagram.h).
 *
 * A session is one attempt to reach one peer, named by the token the
 * server hands out. The punching follows the seed's order, hardened
 * (docs/protocol.md §4.4): the side told to go "first" sends punch
 * packets whose TTL dies between the routers (opening its own NAT without
 * touching the peer's), then reports ready; only then is the "second"
 * side told to go. Both keep punching every 100 ms, answer every punch
 * with an ack to the address it came from (the peer's NAT may have picked
 * another port), and the side that asked decides: direct once an ack
 * arrived, the relay if none did within the relay delay. The other side
 * answers on whichever path the stream's segments arrive.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-client.h"

#include <string.h>
#include <sys/socket.h>

#include "filer-frame.h"
#include "filer-nat-datagram.h"
#include "filer-nat-error.h"
#include "filer-quic-stream.h"
#include "filer-udp-stream.h"

#define PUNCH_INTERVAL_MS      100
#define RETRY_INTERVAL_MS      250
#define CONNECT_TIMEOUT_MS     5000   /* for the server's nat-session */
#define SESSION_GIVE_UP_MS     10000  /* a passive session never used */
#define FULL_TTL               64
#define SHORT_TTL_US           (1000 * 1000)
#define MAX_FRAME_CONTENT      (FILER_NAT_MAX_DATAGRAM)

typedef enum
{
  PATH_NONE,
  PATH_DIRECT,
  PATH_RELAY,
} Path;

typedef struct
{
  gatomicrefcount ref;
  FilerNatClient *client;       /* NULL once the client is gone */

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
  Path path;

  GSocketAddress *peer_public;  /* as the server saw it */
  GSocketAddress *peer_direct;  /* where the peer's packets come from */
  gint64 started_us;
  gint64 last_ready_us;

  guint punch_id;
  guint keepalive_id;

  gboolean quic;                /* the stream engine: QUIC, or PseudoTcp */
  GIOStream *stream;            /* weak once handed over */
  GIOStream *pending;           /* strong while the passive side waits */
  GTask *task;                  /* the initiator's connect */
} Session;

struct _FilerNatClient
{
  GObject parent_instance;

  char *peer_id;
  char *server_text;
  GSocketAddress *server;
  GSocketAddress *server2;      /* the server's second port */
  GSocket *socket;
  GSource *source;
  guint bind_id;

  char *public_address;
  char *public_address2;
  char *mapping;

  guint keepalive_ms;
  guint relay_after_ms;
  guint punch_ttl;
  guint current_ttl;            /* what the socket is set to now */
  gboolean force_relay;
  const char *stream_engine;    /* "quic" or "pseudotcp" */

  GHashTable *sessions;         /* token hex -> Session* */
  GHashTable *connects;         /* attempt -> GTask* waiting for nat-session */
};

G_DEFINE_FINAL_TYPE (FilerNatClient, filer_nat_client, G_TYPE_OBJECT)

enum {
  INCOMING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void session_start_stream (Session *session);
static gboolean bind_cb (gpointer user_data);

/* --- sending ----------------------------------------------------------- */

static void
set_ttl (FilerNatClient *self,
         guint           ttl)
{
  /* One setsockopt per change, not per datagram. */
  if (self->current_ttl != ttl)
    {
      g_socket_set_ttl (self->socket, ttl);
      self->current_ttl = ttl;
    }
}

static void
send_frame (FilerNatClient *self,
            GSocketAddress *to,
            FilerFrame     *frame)
{
  g_autoptr(GError) error = NULL;

  if (self->socket == NULL || to == NULL)
    return;

  set_ttl (self, FULL_TTL);
  if (!filer_nat_send_frame (self->socket, to, frame, &error))
    g_debug ("nat: cannot send %s: %s", filer_frame_get_message_type (frame), error->message);
}

static void
send_peer (FilerNatClient *self,
           Session        *session,
           Path            path,
           FilerNatKind    kind,
           const guint8   *payload,
           gsize           length,
           guint           ttl)
{
  guint8 buffer[FILER_NAT_MAX_DATAGRAM];

  if (self->socket == NULL || length > sizeof buffer - FILER_NAT_HEADER_SIZE)
    return;

  filer_nat_datagram_write_header (buffer, kind, session->token);
  if (length)
    memcpy (buffer + FILER_NAT_HEADER_SIZE, payload, length);

  if (path == PATH_RELAY)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-relay");
      g_autoptr(GBytes) content = g_bytes_new (buffer, FILER_NAT_HEADER_SIZE + length);

      filer_frame_set (frame, "session", session->token_hex);
      filer_frame_set_content (frame, content);
      send_frame (self, self->server, frame);
      return;
    }

  if (session->peer_direct == NULL)
    return;

  /* Losing a datagram here is like losing it on the way. */
  set_ttl (self, ttl);
  g_socket_send_to (self->socket, session->peer_direct, (const char *)buffer,
                    FILER_NAT_HEADER_SIZE + length, NULL, NULL);
}

/* --- sessions ---------------------------------------------------------- */

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

static void
session_unref (gpointer data)
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

static void
session_fail (Session *session,
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
static void
session_remove (Session *session)
{
  FilerNatClient *self = session->client;

  session_stop_timers (session);
  if (self)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-close");

      /* The server frees the session (and its relay) now, not at expiry. */
      filer_frame_set (frame, "session", session->token_hex);
      send_frame (self, self->server, frame);
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
    send_peer (session->client, session, session->path,
               session->quic ? FILER_NAT_KIND_QUIC : FILER_NAT_KIND_STREAM,
               segment, length, FULL_TTL);
}

static gboolean
session_keepalive_cb (gpointer user_data)
{
  Session *session = user_data;

  if (session->client && session->path != PATH_NONE)
    send_peer (session->client, session, session->path, FILER_NAT_KIND_KEEPALIVE,
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
      session_remove (session);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

/* The two stream engines behind one set of calls (docs/nat-stream.md). */

static void
stream_handshake_async (GIOStream           *stream,
                        gboolean             initiator,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  if (FILER_IS_QUIC_STREAM (stream))
    filer_quic_stream_handshake_async (FILER_QUIC_STREAM (stream), initiator, cancellable, callback, user_data);
  else
    filer_udp_stream_handshake_async (FILER_UDP_STREAM (stream), initiator, cancellable, callback, user_data);
}

static gboolean
stream_handshake_finish (GIOStream     *stream,
                         GAsyncResult  *result,
                         GError       **error)
{
  if (FILER_IS_QUIC_STREAM (stream))
    return filer_quic_stream_handshake_finish (FILER_QUIC_STREAM (stream), result, error);
  return filer_udp_stream_handshake_finish (FILER_UDP_STREAM (stream), result, error);
}

static void
stream_receive (GIOStream    *stream,
                const guint8 *segment,
                gsize         length)
{
  if (FILER_IS_QUIC_STREAM (stream))
    filer_quic_stream_receive_segment (FILER_QUIC_STREAM (stream), segment, length);
  else
    filer_udp_stream_receive_segment (FILER_UDP_STREAM (stream), segment, length);
}

static void
stream_notify_alive (GIOStream *stream)
{
  if (FILER_IS_QUIC_STREAM (stream))
    filer_quic_stream_notify_alive (FILER_QUIC_STREAM (stream));
  else
    filer_udp_stream_notify_alive (FILER_UDP_STREAM (stream));
}

static void
stream_abort (GIOStream    *stream,
              const GError *error)
{
  if (FILER_IS_QUIC_STREAM (stream))
    filer_quic_stream_abort (FILER_QUIC_STREAM (stream), error);
  else
    filer_udp_stream_abort (FILER_UDP_STREAM (stream), error);
}

static GIOStream *
session_make_stream (Session *session)
{
  FilerNatClient *self = session->client;
  GIOStream *stream;
  guint idle_timeout = MAX (3 * self->keepalive_ms, 3000);

  /* Keepalives prove the peer alive; miss three and the stream ends. */
  if (session->quic)
    {
      stream = G_IO_STREAM (filer_quic_stream_new (session_send_segment, session_ref (session), session_unref));
      filer_quic_stream_set_idle_timeout (FILER_QUIC_STREAM (stream), idle_timeout);
    }
  else
    {
      guint32 conversation;

      /* The token's first four bytes, big-endian: what PseudoTcp puts
       * first in every segment. */
      memcpy (&conversation, session->token, sizeof conversation);
      conversation = GUINT32_FROM_BE (conversation);
      stream = G_IO_STREAM (filer_udp_stream_new (conversation, session_send_segment,
                                                  session_ref (session), session_unref));
      filer_udp_stream_set_idle_timeout (FILER_UDP_STREAM (stream), idle_timeout);
    }
  g_set_weak_pointer (&session->stream, stream);

  session->keepalive_id = g_timeout_add (self->keepalive_ms, session_keepalive_cb, session);

  return stream;
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
  g_task_set_task_data (session->task, session_ref (session), session_unref);

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
      session_unref (session);
      return;
    }

  if (self)
    g_signal_emit (self, signals[INCOMING], 0, stream, session->peer_id,
                   session->path == PATH_RELAY ? FILER_NAT_PATH_RELAY : FILER_NAT_PATH_DIRECT);

  /* Whoever took the stream keeps it now. */
  g_clear_object (&session->pending);
  session_unref (session);
}

static void
session_send_ready (Session *session)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-ready");

  filer_frame_set (frame, "session", session->token_hex);
  send_frame (session->client, session->client->server, frame);
  session->last_ready_us = g_get_monotonic_time ();
}

static gboolean
session_punch_cb (gpointer user_data)
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
      send_frame (self, self->server, frame);
    }

  if (session->relay_only || !session->go)
    return G_SOURCE_CONTINUE;

  if (session->peer_direct == NULL)
    session->peer_direct = g_object_ref (session->peer_public);

  /* The first side's packets must not reach the peer's router before the
   * peer has sent: a short TTL until we have heard from it. After a
   * second unheard, the full TTL (our NAT may be more hops away than the
   * short TTL reaches, as behind a carrier's NAT). */
  send_peer (self, session, PATH_DIRECT, FILER_NAT_KIND_PUNCH, NULL, 0,
             session->first && !session->heard
             && now_us - session->started_us < SHORT_TTL_US ? self->punch_ttl : FULL_TTL);

  if (session->first && !session->heard && now_us - session->last_ready_us >= RETRY_INTERVAL_MS * 1000)
    session_send_ready (session);

  return G_SOURCE_CONTINUE;
}

static Session *
session_new (FilerNatClient *self,
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
  session->punch_id = g_timeout_add (PUNCH_INTERVAL_MS, session_punch_cb, session);

  g_debug ("nat: session %s with %s (%s), peer at %s, role %s",
           session->token_hex, session->peer_id, initiator ? "outgoing" : "incoming",
           filer_frame_get (frame, "peer"), role);
  return session;
}

static gboolean
valid_session_frame (FilerFrame *frame)
{
  guint8 token[FILER_NAT_TOKEN_SIZE];

  return filer_nat_token_from_hex (filer_frame_get (frame, "session"), token)
         && filer_frame_get (frame, "peer-id") != NULL;
}

/* The connect task waiting for @attempt's answer, taken out of the
 * table (NULL if answered already). */
static GTask *
take_connect (FilerNatClient *self,
              const char     *attempt)
{
  g_autofree char *key = NULL;
  GTask *task = NULL;

  if (attempt == NULL
      || !g_hash_table_steal_extended (self->connects, attempt, (gpointer *)&key, (gpointer *)&task))
    return NULL;

  return task;
}

/* --- what arrives ------------------------------------------------------ */

static void
handle_peer_datagram (FilerNatClient *self,
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
        send_peer (self, session, PATH_DIRECT, FILER_NAT_KIND_ACK, NULL, 0, FULL_TTL);
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

static void
handle_offer (FilerNatClient *self,
              FilerFrame     *frame)
{
  Session *session;

  if (!valid_session_frame (frame))
    return;

  if (g_hash_table_contains (self->sessions, filer_frame_get (frame, "session")))
    return;  /* a resent offer */

  session = session_new (self, frame, FALSE);

  /* Listen at once: the initiator's SYN may come as soon as it chose.
   * The handshake (and with it the stream's idle clock) starts with the
   * first segment, since the initiator may punch for a while first. */
  session->pending = session_make_stream (session);

  /* Punch before reporting ready: the peer's first packet must find our
   * mapping open, or a router that accepts WAN input moves it. */
  if (session->first && !session->relay_only)
    session_punch_cb (session);
}

static void
handle_session (FilerNatClient *self,
                FilerFrame     *frame)
{
  const char *attempt = filer_frame_get (frame, "attempt");
  g_autoptr(GTask) task = NULL;
  Session *session;

  if (!valid_session_frame (frame) || attempt == NULL)
    return;

  task = take_connect (self, attempt);
  if (task == NULL)
    return;  /* answered already */

  session = session_new (self, frame, TRUE);
  session->task = g_steal_pointer (&task);
  if (session->first && !session->relay_only)
    session_punch_cb (session);
}

static void
handle_refused (FilerNatClient *self,
                FilerFrame     *frame)
{
  const char *attempt = filer_frame_get (frame, "attempt");
  const char *token = filer_frame_get (frame, "session");
  g_autoptr(GTask) task = NULL;
  Session *session = token ? g_hash_table_lookup (self->sessions, token) : NULL;

  /* A session the peer never answered: end it now, not at the idle
   * timeout. */
  if (session && session->initiator)
    {
      g_autoptr(GError) error = NULL;

      error = g_error_new (FILER_NAT_ERROR, FILER_NAT_ERROR_UNREACHABLE, "%s",
                           filer_frame_get (frame, "message") ?: "The peer did not answer");
      if (session->stream)
        stream_abort (session->stream, error);
      else
        {
          session_fail (session, g_steal_pointer (&error));
          session_remove (session);
        }
      return;
    }

  task = take_connect (self, attempt);
  if (task == NULL)
    return;

  g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_REFUSED,
                           "The server refused: %s",
                           filer_frame_get (frame, "message") ? filer_frame_get (frame, "message") : "no reason");
}

static void
handle_server_frame (FilerNatClient *self,
                     FilerFrame     *frame,
                     gboolean        from_second_port)
{
  const char *type = filer_frame_get_message_type (frame);
  Session *session;

  if (g_strcmp0 (type, "nat-bound") == 0 || g_strcmp0 (type, "nat-probed") == 0)
    {
      const char *address = filer_frame_get (frame, "address");
      guint64 port2 = 0;

      if (address == NULL)
        return;

      if (from_second_port)
        {
          g_free (self->public_address2);
          self->public_address2 = g_strdup (address);
        }
      else if (g_strcmp0 (self->public_address, address) != 0)
        {
          g_free (self->public_address);
          self->public_address = g_strdup (address);
          g_debug ("nat: public address %s", address);
        }

      if (!from_second_port && self->server2 == NULL
          && filer_frame_get_uint (frame, "port2", 65535, &port2, NULL) && port2 > 0)
        {
          GInetAddress *ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (self->server));

          self->server2 = g_inet_socket_address_new (ip, (guint16)port2);
        }

      if (!from_second_port && self->server2 && self->public_address2 == NULL)
        {
          g_autoptr(FilerFrame) probe = filer_frame_new ("nat-probe");

          filer_frame_set (probe, "id", self->peer_id);
          send_frame (self, self->server2, probe);
        }

      if (self->public_address && self->public_address2)
        {
          const char *mapping = g_str_equal (self->public_address, self->public_address2)
                                ? "independent" : "dependent";

          if (g_strcmp0 (self->mapping, mapping) != 0)
            {
              g_free (self->mapping);
              self->mapping = g_strdup (mapping);
              g_debug ("nat: mapping is %s", mapping);

              /* Tell the server now: it assigns punching roles by it. */
              g_clear_handle_id (&self->bind_id, g_source_remove);
              bind_cb (self);
            }
        }
      return;
    }

  if (from_second_port)
    return;

  if (g_strcmp0 (type, "nat-offer") == 0)
    handle_offer (self, frame);
  else if (g_strcmp0 (type, "nat-session") == 0)
    handle_session (self, frame);
  else if (g_strcmp0 (type, "nat-refused") == 0)
    handle_refused (self, frame);
  else if (g_strcmp0 (type, "nat-accepted") == 0)
    {
      session = g_hash_table_lookup (self->sessions, filer_frame_get (frame, "session") ?: "");
      if (session)
        session->accepted = TRUE;
    }
  else if (g_strcmp0 (type, "nat-go") == 0)
    {
      session = g_hash_table_lookup (self->sessions, filer_frame_get (frame, "session") ?: "");
      if (session && !session->go)
        {
          g_debug ("nat: session %s: go", session->token_hex);
          session->go = TRUE;
        }
    }
  else if (g_strcmp0 (type, "nat-relay") == 0)
    {
      GBytes *content = filer_frame_get_content (frame);
      gsize size;
      const guint8 *data = g_bytes_get_data (content, &size);

      handle_peer_datagram (self, data, size, NULL, TRUE);
    }
  else if (g_strcmp0 (type, "nat-relay-closed") == 0)
    {
      session = g_hash_table_lookup (self->sessions, filer_frame_get (frame, "session") ?: "");
      if (session && session->stream && session->path == PATH_RELAY)
        {
          g_autoptr(GError) error = NULL;

          error = g_error_new (FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED,
                               "The server closed the relay: %s",
                               filer_frame_get (frame, "message") ?: "no reason");
          stream_abort (session->stream, error);
        }
    }
}

static gboolean
socket_readable_cb (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  FilerNatClient *self = user_data;
  g_autoptr(FilerNatClient) hold = g_object_ref (self);
  static guint8 buffer[65536];

  /* A batch, then let others (a server in the same loop) run. */
  for (guint i = 0; i < 64 && self->socket; i++)
    {
      g_autoptr(GSocketAddress) from = NULL;
      gssize length;

      length = g_socket_receive_from (socket, &from, (char *)buffer, sizeof buffer, NULL, NULL);
      if (length < 0)
        break;

      if (length >= 2 && buffer[0] == 0xFF && buffer[1] == 0xFF)
        handle_peer_datagram (self, buffer, length, from, FALSE);
      else if (filer_nat_address_equal (from, self->server)
               || filer_nat_address_equal (from, self->server2))
        {
          g_autoptr(FilerFrame) frame = filer_nat_decode_frame (buffer, length, MAX_FRAME_CONTENT);

          if (frame)
            handle_server_frame (self, frame, filer_nat_address_equal (from, self->server2));
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
bind_cb (gpointer user_data)
{
  FilerNatClient *self = user_data;
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-bind");
  guint interval = self->keepalive_ms;

  filer_frame_set (frame, "id", self->peer_id);
  if (self->mapping)
    filer_frame_set (frame, "mapping", self->mapping);
  send_frame (self, self->server, frame);

  /* Until the server has answered on both ports, ask again soon. */
  if (self->public_address == NULL || (self->server2 && self->public_address2 == NULL))
    interval = MIN (interval, 2 * RETRY_INTERVAL_MS);

  self->bind_id = g_timeout_add (interval, bind_cb, self);
  return G_SOURCE_REMOVE;
}

/* --- connecting -------------------------------------------------------- */

typedef struct
{
  FilerNatClient *client;       /* weak */
  char *peer_id;
  char *attempt;
  guint tries;
  guint retry_id;
} ConnectData;

static void
connect_data_free (gpointer data)
{
  ConnectData *connect = data;

  g_clear_handle_id (&connect->retry_id, g_source_remove);
  g_clear_weak_pointer (&connect->client);
  g_free (connect->peer_id);
  g_free (connect->attempt);
  g_free (connect);
}

static gboolean
connect_retry_cb (gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *connect = g_task_get_task_data (task);
  FilerNatClient *self = connect->client;
  g_autoptr(FilerFrame) frame = NULL;

  if (self == NULL || !g_hash_table_contains (self->connects, connect->attempt))
    {
      connect->retry_id = 0;
      return G_SOURCE_REMOVE;
    }

  if (connect->tries++ * RETRY_INTERVAL_MS >= CONNECT_TIMEOUT_MS)
    {
      g_autoptr(GTask) owned = NULL;

      connect->retry_id = 0;
      owned = take_connect (self, connect->attempt);
      g_task_return_new_error (owned, FILER_NAT_ERROR, FILER_NAT_ERROR_NO_SERVER,
                               "The rendezvous server did not answer");
      return G_SOURCE_REMOVE;
    }

  /* The server pairs roles by mapping: give the probe a moment. */
  if (self->mapping == NULL && connect->tries <= 4)
    return G_SOURCE_CONTINUE;

  frame = filer_frame_new ("nat-connect");
  filer_frame_set (frame, "id", self->peer_id);
  filer_frame_set (frame, "to", connect->peer_id);
  filer_frame_set (frame, "attempt", connect->attempt);
  filer_frame_set (frame, "stream", self->stream_engine);
  if (self->mapping)
    filer_frame_set (frame, "mapping", self->mapping);
  send_frame (self, self->server, frame);

  return G_SOURCE_CONTINUE;
}

void
filer_nat_client_connect_async (FilerNatClient      *self,
                                const char          *peer_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ConnectData *connect;

  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (peer_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_nat_client_connect_async);

  if (self->socket == NULL)
    {
      g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_FAILED,
                               "The NAT client is not started");
      return;
    }

  connect = g_new0 (ConnectData, 1);
  g_set_weak_pointer (&connect->client, self);
  connect->peer_id = g_strdup (peer_id);
  connect->attempt = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
  g_task_set_task_data (task, connect, connect_data_free);

  g_hash_table_insert (self->connects, g_strdup (connect->attempt), g_object_ref (task));
  connect_retry_cb (task);
  connect->retry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, RETRY_INTERVAL_MS, connect_retry_cb,
                                          g_object_ref (task), g_object_unref);
}

/**
 * filer_nat_client_connect_finish:
 * @path: (out) (optional): "direct" or "relay"
 *
 * Returns: (transfer full): the established stream
 */
GIOStream *
filer_nat_client_connect_finish (FilerNatClient  *self,
                                 GAsyncResult    *result,
                                 char           **path,
                                 GError         **error)
{
  g_autoptr(GIOStream) stream = NULL;
  Session *session;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (stream == NULL)
    return NULL;

  session = g_task_get_task_data (G_TASK (result));
  if (path)
    *path = g_strdup (session && session->path == PATH_RELAY ? FILER_NAT_PATH_RELAY : FILER_NAT_PATH_DIRECT);

  return g_steal_pointer (&stream);
}

/* --- life -------------------------------------------------------------- */

gboolean
filer_nat_client_start (FilerNatClient  *self,
                        GError         **error)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), FALSE);
  g_return_val_if_fail (self->source == NULL, FALSE);

  if (self->server == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IP address and port", self->server_text);
      return FALSE;
    }

  if (self->socket == NULL)
    {
      GSocketFamily family = g_socket_address_get_family (self->server);
      g_autoptr(GInetAddress) any = g_inet_address_new_any (family);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (any, 0);
      g_autoptr(GSocket) socket = NULL;

      socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
      if (socket == NULL || !g_socket_bind (socket, address, FALSE, error))
        return FALSE;
      self->socket = g_steal_pointer (&socket);
    }

  g_socket_set_blocking (self->socket, FALSE);
  filer_nat_socket_set_buffers (self->socket);

  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (socket_readable_cb), self, NULL);
  g_source_attach (self->source, NULL);

  bind_cb (self);

  return TRUE;
}

static void
fail_all (FilerNatClient *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->connects);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GTask *task = value;

      g_task_return_new_error (task, FILER_NAT_ERROR, FILER_NAT_ERROR_FAILED,
                               "The NAT client stopped");
      g_hash_table_iter_remove (&iter);
    }

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Session *session = value;
      g_autoptr(GError) error = g_error_new_literal (FILER_NAT_ERROR, FILER_NAT_ERROR_FAILED,
                                                     "The NAT client stopped");

      if (session->stream)
        stream_abort (session->stream, error);
      session_fail (session, g_error_copy (error));
      session->client = NULL;
      g_hash_table_iter_remove (&iter);
    }
}

void
filer_nat_client_stop (FilerNatClient *self)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  fail_all (self);
  g_clear_handle_id (&self->bind_id, g_source_remove);
  if (self->source)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  if (self->socket)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
}

static void
filer_nat_client_dispose (GObject *object)
{
  FilerNatClient *self = FILER_NAT_CLIENT (object);

  filer_nat_client_stop (self);

  G_OBJECT_CLASS (filer_nat_client_parent_class)->dispose (object);
}

static void
filer_nat_client_finalize (GObject *object)
{
  FilerNatClient *self = FILER_NAT_CLIENT (object);

  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->connects, g_hash_table_unref);
  g_clear_object (&self->server);
  g_clear_object (&self->server2);
  g_free (self->peer_id);
  g_free (self->server_text);
  g_free (self->public_address);
  g_free (self->public_address2);
  g_free (self->mapping);

  G_OBJECT_CLASS (filer_nat_client_parent_class)->finalize (object);
}

static void
filer_nat_client_class_init (FilerNatClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_nat_client_dispose;
  object_class->finalize = filer_nat_client_finalize;

  /**
   * FilerNatClient::incoming:
   * @stream: the established stream (take a reference to keep it)
   * @peer_id: who reached us, as the server paired us
   * @path: "direct" or "relay"
   *
   * A peer on another network reached us.
   */
  signals[INCOMING] =
    g_signal_new ("incoming",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_IO_STREAM, G_TYPE_STRING, G_TYPE_STRING);
}

static void
filer_nat_client_init (FilerNatClient *self)
{
  self->keepalive_ms = FILER_NAT_DEFAULT_KEEPALIVE_MS;
  self->relay_after_ms = FILER_NAT_DEFAULT_RELAY_AFTER_MS;
  self->punch_ttl = FILER_NAT_DEFAULT_PUNCH_TTL;
  self->stream_engine = "quic";
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, session_unref);
  self->connects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * filer_nat_client_new:
 * @peer_id: our device id, as registered with the discovery server
 * @server_address: the rendezvous server's UDP "ip:port"
 */
FilerNatClient *
filer_nat_client_new (const char *peer_id,
                      const char *server_address)
{
  FilerNatClient *self;

  g_return_val_if_fail (peer_id != NULL, NULL);
  g_return_val_if_fail (server_address != NULL, NULL);

  self = g_object_new (FILER_TYPE_NAT_CLIENT, NULL);
  self->peer_id = g_strdup (peer_id);
  self->server_text = g_strdup (server_address);
  self->server = filer_nat_address_from_string (server_address);

  return self;
}

void
filer_nat_client_set_socket (FilerNatClient *self,
                             GSocket        *socket)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (self->source == NULL);

  g_set_object (&self->socket, socket);
}

void
filer_nat_client_set_keepalive (FilerNatClient *self,
                                guint           keepalive_ms)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (keepalive_ms >= 100);

  self->keepalive_ms = keepalive_ms;
}

void
filer_nat_client_set_relay_after (FilerNatClient *self,
                                  guint           relay_after_ms)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  self->relay_after_ms = relay_after_ms;
}

void
filer_nat_client_set_punch_ttl (FilerNatClient *self,
                                guint           ttl)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (ttl >= 1 && ttl <= 255);

  self->punch_ttl = ttl;
}

void
filer_nat_client_set_stream_engine (FilerNatClient *self,
                                    const char     *engine)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));
  g_return_if_fail (g_strcmp0 (engine, "quic") == 0 || g_strcmp0 (engine, "pseudotcp") == 0);

  self->stream_engine = g_str_equal (engine, "quic") ? "quic" : "pseudotcp";
}

void
filer_nat_client_set_force_relay (FilerNatClient *self,
                                  gboolean        force_relay)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (self));

  self->force_relay = force_relay;
}

const char *
filer_nat_client_get_public_address (FilerNatClient *self)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), NULL);

  return self->public_address;
}

const char *
filer_nat_client_get_mapping (FilerNatClient *self)
{
  g_return_val_if_fail (FILER_IS_NAT_CLIENT (self), NULL);

  return self->mapping;
}
