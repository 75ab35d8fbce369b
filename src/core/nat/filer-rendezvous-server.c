/* filer-rendezvous-server.c: the server side of NAT traversal
 *
 * Peers bind a UDP endpoint to their registered id (nat-bind, which is
 * also their keepalive); the server tells them the public address it
 * sees, and a second port tells them whether their NAT maps per
 * destination (symmetric). A peer that wants to reach another asks
 * (nat-connect); the server makes a session with a random token, hands
 * each side the other's public address and a role, and tells the second
 * side to punch only once the first side reports ready (the seed's
 * order). Relayed datagrams (nat-relay) are forwarded between the two
 * endpoints of one session only, within byte and rate limits: it is not
 * an open relay. docs/protocol.md §4 is the wire contract.
 *
 * Nothing a peer sends can make the server fail: malformed or unexpected
 * frames are logged with g_debug and dropped.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-rendezvous-server.h"

#include <string.h>
#include <sys/random.h>

#include "filer-frame-decoder.h"
#include "filer-nat-datagram.h"
#include "filer-net.h"
#include "filer-socket.h"
#include "filer-util.h"

#define MAX_ID_LENGTH          64
#define MAX_ATTEMPT_LENGTH     32
#define MAX_SESSIONS           4096
#define MAX_SESSIONS_PER_PEER  16
/* Sessions whose initiator is bound from one IP: a home or office
 * behind one public address has a few devices, each with at most 16
 * sessions of its own; 64 leaves them room, and it takes 64 addresses
 * (not 9, as before) to fill the 4096 of the whole server. Throwaway ids
 * (§2.7) do not help: the cap is per address, not per id. */
#define MAX_SESSIONS_PER_ADDRESS 64
/* Sessions toward one id from initiators on one IP: a device rarely
 * sends to another over more than a couple of sessions at once, and it
 * takes 4 addresses that may see the target to use up its 16. */
#define MAX_SESSIONS_PER_ADDRESS_TO_PEER 4
/* New sessions from one IP over time (what the cap above does not
 * bound: an unanswered session is given up after 5 s, and the address
 * may then open 64 more): 64 at once, then one a second. A device opens
 * one session a send. Addresses remembered for this: at most
 * MAX_SESSION_ORIGINS, forgotten once their bucket is full again. */
#define NEW_SESSION_BURST      64.0
#define NEW_SESSION_RATE       1.0
#define MAX_SESSION_ORIGINS    65536
#define ORIGIN_SWEEP_EVERY     40      /* sweeps: 10 s */
/* nat-offer repeats: at 0, 0.25, 0.75, 1.75 and 3.75 s (the wait doubles),
 * not 20 in 5 s: what one nat-connect sends an address that did not ask. */
#define MAX_OFFERS             5
#define MAX_BINDINGS           65536
#define BINDING_TIMEOUT_US     (90 * G_USEC_PER_SEC)   /* 3 keepalives of 30 s */
#define SESSION_TIMEOUT_US     (60 * G_USEC_PER_SEC)
#define OFFER_RESEND_US        (250 * 1000)
#define OFFER_GIVE_UP_US       (5 * G_USEC_PER_SEC)
#define SWEEP_INTERVAL_MS      250
#define MAX_FRAME_CONTENT      FILER_NAT_MAX_DATAGRAM

typedef struct
{
  char *id;
  GSocketAddress *address;
  char *mapping;              /* "independent", "dependent" or NULL */
  gint64 last_seen_us;
} Binding;

typedef struct
{
  char *token;                /* hex */
  char *a_id;                 /* asked */
  char *b_id;                 /* was asked for */
  char *attempt;
  char *a_role;
  char *b_role;
  const char *stream;         /* the initiator's engine: "quic" or "pseudotcp" */
  GSocketAddress *a_address;
  GSocketAddress *b_address;
  gboolean accepted;          /* B has the offer */
  gint64 created_us;
  gint64 last_offer_us;
  guint n_offers;
  gint64 last_us;
  guint64 relayed;            /* bytes */
  FilerTokenBucket rate;      /* bytes; starts empty */
} Session;

struct _FilerRendezvousServer
{
  GObject parent_instance;

  GHashTable *bindings;       /* id -> Binding* */
  GHashTable *sessions;       /* token -> Session* */
  GHashTable *session_origins;  /* origin (filer_net_origin_key) -> FilerTokenBucket* */
  guint sweeps;

  GSocket *socket;            /* standalone mode only */
  GSource *source;
  GSocket *socket2;           /* the second port */
  GSource *source2;
  guint sweep_id;

  FilerRendezvousSendFunc send_func;
  gpointer send_data;
  GDestroyNotify send_destroy;

  FilerRendezvousCanSee can_see;
  FilerRendezvousPublicIp public_ip;
  FilerRendezvousCheckSecret check_secret;
  gpointer secret_data;
  gpointer directory_data;
  GDestroyNotify directory_destroy;

  guint64 max_bytes;
  guint64 max_rate;
  guint64 relayed_total;
};

G_DEFINE_FINAL_TYPE (FilerRendezvousServer, filer_rendezvous_server, G_TYPE_OBJECT)

static const char * const frame_types[] = {
  "nat-bind", "nat-connect", "nat-accept", "nat-ready", "nat-relay", "nat-close", NULL
};

const char * const *
filer_rendezvous_server_get_frame_types (void)
{
  return frame_types;
}

static void
binding_free (gpointer data)
{
  Binding *binding = data;

  g_free (binding->id);
  g_clear_object (&binding->address);
  g_free (binding->mapping);
  g_free (binding);
}

static void
session_free (gpointer data)
{
  Session *session = data;

  g_free (session->token);
  g_free (session->a_id);
  g_free (session->b_id);
  g_free (session->attempt);
  g_free (session->a_role);
  g_free (session->b_role);
  g_clear_object (&session->a_address);
  g_clear_object (&session->b_address);
  g_free (session);
}

static gboolean
is_token (const char *text,
          gsize       max_length)
{
  gsize length;

  if (text == NULL)
    return FALSE;

  length = strlen (text);
  if (length == 0 || length > max_length)
    return FALSE;

  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;

  return TRUE;
}

static void
send_frame (FilerRendezvousServer *self,
            FilerFrame            *frame,
            GSocketAddress        *to)
{
  g_autoptr(GError) error = NULL;

  if (self->send_func)
    self->send_func (frame, to, self->send_data);
  else if (self->socket && !filer_nat_send_frame (self->socket, to, frame, &error))
    g_debug ("rendezvous: cannot send %s: %s", filer_frame_get_message_type (frame), error->message);
}

static char *
ip_of (GSocketAddress *address)
{
  g_autofree char *text = filer_nat_address_to_string (address);
  char *colon = strrchr (text, ':');

  if (colon)
    *colon = '\0';
  if (text[0] == '[')
    return g_strndup (text + 1, strlen (text) - 2);

  return g_steal_pointer (&text);
}

/* The binding of @id, if @from is where it is bound. */
static Binding *
binding_from (FilerRendezvousServer *self,
              const char            *id,
              GSocketAddress        *from)
{
  Binding *binding = id ? g_hash_table_lookup (self->bindings, id) : NULL;

  if (binding == NULL || !filer_nat_address_equal (binding->address, from))
    return NULL;

  return binding;
}

static gsize
encoded_size (FilerFrame *frame)
{
  g_autoptr(GBytes) bytes = filer_frame_encode (frame, NULL);

  return bytes ? g_bytes_get_size (bytes) : G_MAXSIZE;
}

/* A refusal to an address not @proven (the requester's binding, from its
 * nat-bind with the secret, is from there) obeys the amplification rule (§4.1):
 * no bigger than the request (@request_size bytes). Without its message
 * first; if it still does not fit, not at all (the client gives up after
 * its 5 s, as if it were lost). */
static void
refuse (FilerRendezvousServer *self,
        GSocketAddress        *to,
        gboolean               proven,
        gsize                  request_size,
        const char            *attempt,
        const char            *code,
        const char            *message)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-refused");

  g_debug ("rendezvous: refusing attempt %s: %s", attempt, message);
  filer_frame_set (frame, "attempt", attempt);
  filer_frame_set (frame, "code", code);
  if (!proven)
    {
      if (encoded_size (frame) > request_size)
        {
          g_debug ("rendezvous: a refusal would be bigger than its request: not sent");
          return;
        }
      filer_frame_set (frame, "message", message);
      if (encoded_size (frame) > request_size)
        {
          g_clear_pointer (&frame, filer_frame_unref);
          frame = filer_frame_new ("nat-refused");
          filer_frame_set (frame, "attempt", attempt);
          filer_frame_set (frame, "code", code);
        }
    }
  else
    filer_frame_set (frame, "message", message);
  send_frame (self, frame, to);
}

/* --- handlers ---------------------------------------------------------- */

static void
handle_bind (FilerRendezvousServer *self,
             FilerFrame            *frame,
             GSocketAddress        *from)
{
  const char *id = filer_frame_get (frame, "id");
  const char *mapping = filer_frame_get (frame, "mapping");
  g_autoptr(FilerFrame) reply = NULL;
  g_autofree char *address = NULL;
  Binding *binding;

  if (!is_token (id, MAX_ID_LENGTH))
    {
      g_debug ("rendezvous: nat-bind with a bad id");
      return;
    }

  /* Only the registered device binds its id: same source IP as its
   * registration with the discovery server. */
  if (self->public_ip)
    {
      g_autofree char *registered = self->public_ip (id, self->directory_data);
      g_autofree char *ip = ip_of (from);

      if (registered == NULL || !g_str_equal (registered, ip))
        {
          g_debug ("rendezvous: nat-bind for %s from %s, registered from %s",
                   id, ip, registered ? registered : "nowhere");
          return;
        }
    }

  /* And only with the secret its discovery welcome gave it, over TLS:
   * the key's holder. The IP check above stays: the secret crosses the
   * network in a plain datagram, and the IP check keeps anyone who sees
   * it from using it outside the device's own network. */
  if (self->check_secret &&
      !self->check_secret (id, filer_frame_get (frame, "secret"), self->secret_data))
    {
      g_debug ("rendezvous: nat-bind for %s without its secret", id);
      return;
    }

  binding = g_hash_table_lookup (self->bindings, id);
  if (binding == NULL)
    {
      if (g_hash_table_size (self->bindings) >= MAX_BINDINGS)
        return;

      binding = g_new0 (Binding, 1);
      binding->id = g_strdup (id);
      g_hash_table_insert (self->bindings, binding->id, binding);
    }

  g_set_object (&binding->address, from);
  binding->last_seen_us = g_get_monotonic_time ();
  if (g_strcmp0 (mapping, "independent") == 0 || g_strcmp0 (mapping, "dependent") == 0)
    {
      g_free (binding->mapping);
      binding->mapping = g_strdup (mapping);
    }

  address = filer_nat_address_to_string (from);
  reply = filer_frame_new ("nat-bound");
  filer_frame_set (reply, "address", address);
  if (self->socket2)
    filer_frame_set_uint (reply, "port2", filer_rendezvous_server_get_port2 (self));
  /* The source address of a nat-bind is not proven yet (without a
   * directory nothing is checked): never more bytes back than came.
   * Clients pad nat-bind to 96 bytes (§4.2). */
  if (encoded_size (reply) > encoded_size (frame))
    {
      g_debug ("rendezvous: a nat-bind too short for its answer");
      return;
    }
  send_frame (self, reply, from);
}

static void
send_offer (FilerRendezvousServer *self,
            Session               *session)
{
  g_autoptr(FilerFrame) offer = filer_frame_new ("nat-offer");
  g_autofree char *peer = filer_nat_address_to_string (session->a_address);

  filer_frame_set (offer, "session", session->token);
  filer_frame_set (offer, "peer-id", session->a_id);
  filer_frame_set (offer, "peer", peer);
  filer_frame_set (offer, "role", session->b_role);
  filer_frame_set (offer, "stream", session->stream);
  send_frame (self, offer, session->b_address);
  session->last_offer_us = g_get_monotonic_time ();
  session->n_offers++;
}

static void
send_session (FilerRendezvousServer *self,
              Session               *session)
{
  g_autoptr(FilerFrame) reply = filer_frame_new ("nat-session");
  g_autofree char *peer = filer_nat_address_to_string (session->b_address);

  filer_frame_set (reply, "session", session->token);
  filer_frame_set (reply, "attempt", session->attempt);
  filer_frame_set (reply, "peer-id", session->b_id);
  filer_frame_set (reply, "peer", peer);
  filer_frame_set (reply, "role", session->a_role);
  filer_frame_set (reply, "stream", session->stream);
  send_frame (self, reply, session->a_address);
}

static guint
count_sessions_of (FilerRendezvousServer *self,
                   const char            *id,
                   Session              **same_attempt,
                   const char            *attempt)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  *same_attempt = NULL;
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Session *session = value;

      if (g_str_equal (session->a_id, id) || g_str_equal (session->b_id, id))
        n++;
      if (g_str_equal (session->a_id, id) && g_str_equal (session->attempt, attempt))
        *same_attempt = session;
    }

  return n;
}

/* Sessions whose initiator is bound from the IP of @from, and among
 * them those toward @to. */
static guint
count_sessions_from (FilerRendezvousServer *self,
                     GSocketAddress        *from,
                     const char            *to,
                     guint                 *to_peer)
{
  GInetAddress *ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from));
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  *to_peer = 0;
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Session *session = value;
      GInetAddress *a_ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (session->a_address));

      if (!g_inet_address_equal (a_ip, ip))
        continue;
      n++;
      if (g_str_equal (session->b_id, to))
        (*to_peer)++;
    }

  return n;
}

/* One token of the bucket of @from's origin, for a new session. */
static gboolean
take_session_token (FilerRendezvousServer *self,
                    GSocketAddress        *from)
{
  g_autofree char *key = filer_net_origin_key (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));
  FilerTokenBucket *bucket = g_hash_table_lookup (self->session_origins, key);
  gint64 now = g_get_monotonic_time ();

  if (bucket == NULL)
    {
      if (g_hash_table_size (self->session_origins) >= MAX_SESSION_ORIGINS)
        return FALSE;
      bucket = g_new0 (FilerTokenBucket, 1);
      filer_token_bucket_init (bucket, NEW_SESSION_BURST, now);
      g_hash_table_insert (self->session_origins, g_steal_pointer (&key), bucket);
    }

  return filer_token_bucket_take (bucket, NEW_SESSION_RATE, NEW_SESSION_BURST, 1, now);
}

static void
handle_connect (FilerRendezvousServer *self,
                FilerFrame            *frame,
                GSocketAddress        *from)
{
  const char *id = filer_frame_get (frame, "id");
  const char *to = filer_frame_get (frame, "to");
  const char *attempt = filer_frame_get (frame, "attempt");
  const char *mapping = filer_frame_get (frame, "mapping");
  Binding *a;
  Binding *b;
  Session *session;
  Session *existing;
  gsize request_size = encoded_size (frame);
  guint from_address, from_address_to_peer;
  gboolean a_symmetric, b_symmetric;
  guint8 token[FILER_NAT_TOKEN_SIZE];

  if (!is_token (attempt, MAX_ATTEMPT_LENGTH) || !is_token (to, MAX_ID_LENGTH))
    return;

  a = binding_from (self, id, from);
  if (a == NULL)
    {
      refuse (self, from, FALSE, request_size, attempt, "not-bound", "Send nat-bind from this address first");
      return;
    }

  if (count_sessions_of (self, id, &existing, attempt) >= MAX_SESSIONS_PER_PEER && existing == NULL)
    {
      refuse (self, from, TRUE, request_size, attempt, "busy", "Too many sessions");
      return;
    }

  /* A resent request: the answer got lost. */
  if (existing)
    {
      send_session (self, existing);
      return;
    }

  b = g_hash_table_lookup (self->bindings, to);
  if (b == NULL || g_str_equal (to, id)
      || (self->can_see && !self->can_see (id, to, self->directory_data)))
    {
      refuse (self, from, TRUE, request_size, attempt, "unknown-peer", "No such peer here");
      return;
    }

  from_address = count_sessions_from (self, from, to, &from_address_to_peer);
  if (from_address >= MAX_SESSIONS_PER_ADDRESS || from_address_to_peer >= MAX_SESSIONS_PER_ADDRESS_TO_PEER)
    {
      refuse (self, from, TRUE, request_size, attempt, "busy", "Too many sessions from this address");
      return;
    }

  if (g_hash_table_size (self->sessions) >= MAX_SESSIONS)
    {
      refuse (self, from, TRUE, request_size, attempt, "busy", "Too many sessions");
      return;
    }

  if (!take_session_token (self, from))
    {
      refuse (self, from, TRUE, request_size, attempt, "busy",
              "Too many new sessions from this address: try again in a few seconds");
      return;
    }

  if (g_strcmp0 (mapping, "independent") == 0 || g_strcmp0 (mapping, "dependent") == 0)
    {
      g_free (a->mapping);
      a->mapping = g_strdup (mapping);
    }

  /* The token is the only thing a peer datagram shows to prove which
   * session it belongs to: from the kernel's CSPRNG, not GLib's
   * predictable g_random_*. */
  if (getrandom (token, sizeof token, 0) != (gssize)sizeof token)
    {
      g_debug ("rendezvous: no random bytes for a session token");
      return;
    }

  session = g_new0 (Session, 1);
  session->token = filer_nat_token_to_hex (token);
  session->a_id = g_strdup (id);
  session->b_id = g_strdup (to);
  session->attempt = g_strdup (attempt);
  session->stream = g_strcmp0 (filer_frame_get (frame, "stream"), "pseudotcp") == 0 ? "pseudotcp" : "quic";
  session->a_address = g_object_ref (a->address);
  session->b_address = g_object_ref (b->address);
  session->created_us = session->last_us = g_get_monotonic_time ();
  session->rate.updated = session->created_us;

  /* The seed's order: the asked side (B) opens its NAT first, the asking
   * side (A) sends once told. A symmetric NAT cannot be opened toward a
   * port it has not mapped yet, so a symmetric side takes the second role
   * (its fresh mapping then reaches a full cone); two symmetric sides go
   * straight to the relay. */
  a_symmetric = g_strcmp0 (a->mapping, "dependent") == 0;
  b_symmetric = g_strcmp0 (b->mapping, "dependent") == 0;
  if (a_symmetric && b_symmetric)
    {
      session->a_role = g_strdup ("relay");
      session->b_role = g_strdup ("relay");
    }
  else if (b_symmetric)
    {
      session->a_role = g_strdup ("first");
      session->b_role = g_strdup ("second");
    }
  else
    {
      session->a_role = g_strdup ("second");
      session->b_role = g_strdup ("first");
    }

  g_hash_table_insert (self->sessions, session->token, session);
  g_debug ("rendezvous: session %s: %s (%s) -> %s (%s)", session->token,
           id, session->a_role, to, session->b_role);

  send_session (self, session);
  send_offer (self, session);
}

static Session *
session_of (FilerRendezvousServer *self,
            FilerFrame            *frame)
{
  const char *token = filer_frame_get (frame, "session");

  return token ? g_hash_table_lookup (self->sessions, token) : NULL;
}

static void
handle_accept (FilerRendezvousServer *self,
               FilerFrame            *frame,
               GSocketAddress        *from)
{
  Session *session = session_of (self, frame);
  g_autoptr(FilerFrame) reply = NULL;

  if (session == NULL || !filer_nat_address_equal (from, session->b_address))
    return;

  session->accepted = TRUE;
  session->last_us = g_get_monotonic_time ();
  reply = filer_frame_new ("nat-accepted");
  filer_frame_set (reply, "session", session->token);
  send_frame (self, reply, from);
}

static void
handle_ready (FilerRendezvousServer *self,
              FilerFrame            *frame,
              GSocketAddress        *from)
{
  Session *session = session_of (self, frame);
  g_autoptr(FilerFrame) go = NULL;
  GSocketAddress *second;

  if (session == NULL)
    return;

  if (g_str_equal (session->b_role, "first") && filer_nat_address_equal (from, session->b_address))
    second = session->a_address;
  else if (g_str_equal (session->a_role, "first") && filer_nat_address_equal (from, session->a_address))
    second = session->b_address;
  else
    return;

  /* A ready from B also proves B has the offer. */
  if (filer_nat_address_equal (from, session->b_address))
    session->accepted = TRUE;

  session->last_us = g_get_monotonic_time ();
  go = filer_frame_new ("nat-go");
  filer_frame_set (go, "session", session->token);
  send_frame (self, go, second);
}

static void
close_session (FilerRendezvousServer *self,
               Session               *session,
               const char            *reason)
{
  if (reason)
    {
      g_autoptr(FilerFrame) closed = filer_frame_new ("nat-relay-closed");

      filer_frame_set (closed, "session", session->token);
      filer_frame_set (closed, "message", reason);
      send_frame (self, closed, session->a_address);
      send_frame (self, closed, session->b_address);
    }

  g_debug ("rendezvous: session %s ends (%s), %" G_GUINT64_FORMAT " bytes relayed",
           session->token, reason ? reason : "done", session->relayed);
  g_hash_table_remove (self->sessions, session->token);
}

static void
handle_relay (FilerRendezvousServer *self,
              FilerFrame            *frame,
              GSocketAddress        *from)
{
  Session *session = session_of (self, frame);
  g_autoptr(FilerFrame) forward = NULL;
  GSocketAddress *to;
  GBytes *content;
  gsize size;
  gint64 now_us;

  if (session == NULL)
    return;

  if (filer_nat_address_equal (from, session->a_address))
    to = session->b_address;
  else if (filer_nat_address_equal (from, session->b_address))
    to = session->a_address;
  else
    return;  /* not one of the two: no open relay */

  content = filer_frame_get_content (frame);
  size = content ? g_bytes_get_size (content) : 0;
  if (size == 0 || size > FILER_NAT_MAX_DATAGRAM)
    return;

  /* Only this session's own peer datagrams: a member of one session must
   * not reach into another session its peer has. */
  {
    FilerNatKind kind;
    const guint8 *token, *payload;
    gsize payload_length;
    char hex[FILER_NAT_TOKEN_HEX_SIZE];

    if (!filer_nat_datagram_parse (g_bytes_get_data (content, NULL), size,
                                   &kind, &token, &payload, &payload_length))
      return;
    filer_nat_token_format (token, hex);
    if (g_strcmp0 (hex, session->token) != 0)
      {
        g_debug ("rendezvous: relay content for another session dropped");
        return;
      }
  }

  now_us = g_get_monotonic_time ();
  session->last_us = now_us;

  if (session->relayed + size > self->max_bytes)
    {
      close_session (self, session, "relay byte limit reached");
      return;
    }

  /* A token bucket of a quarter second's worth: over the rate we drop,
   * and the stream's congestion control slows down. */
  if (!filer_token_bucket_take (&session->rate, self->max_rate,
                                MAX (self->max_rate / 4.0, 64 * 1024), size, now_us))
    return;

  session->relayed += size;
  self->relayed_total += size;

  forward = filer_frame_new ("nat-relay");
  filer_frame_set (forward, "session", session->token);
  filer_frame_set_content (forward, content);
  send_frame (self, forward, to);
}

static void
handle_close (FilerRendezvousServer *self,
              FilerFrame            *frame,
              GSocketAddress        *from)
{
  Session *session = session_of (self, frame);

  if (session && (filer_nat_address_equal (from, session->a_address)
                  || filer_nat_address_equal (from, session->b_address)))
    close_session (self, session, NULL);
}

void
filer_rendezvous_server_handle_frame (FilerRendezvousServer *self,
                                      FilerFrame            *frame,
                                      GSocketAddress        *from)
{
  const char *type;

  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));
  g_return_if_fail (frame != NULL);

  if (!G_IS_INET_SOCKET_ADDRESS (from))
    return;

  type = filer_frame_get_message_type (frame);
  if (g_strcmp0 (type, "nat-relay") == 0)
    handle_relay (self, frame, from);
  else if (g_strcmp0 (type, "nat-bind") == 0)
    handle_bind (self, frame, from);
  else if (g_strcmp0 (type, "nat-connect") == 0)
    handle_connect (self, frame, from);
  else if (g_strcmp0 (type, "nat-accept") == 0)
    handle_accept (self, frame, from);
  else if (g_strcmp0 (type, "nat-ready") == 0)
    handle_ready (self, frame, from);
  else if (g_strcmp0 (type, "nat-close") == 0)
    handle_close (self, frame, from);
  else
    g_debug ("rendezvous: ignoring a %s datagram", type ? type : "typeless");
}

/* --- sockets ----------------------------------------------------------- */

static gboolean
datagram_cb (GSocket        *socket,
             const guint8   *data,
             gsize           length,
             GSocketAddress *from,
             gpointer        user_data)
{
  FilerRendezvousServer *self = user_data;
  g_autoptr(FilerFrame) frame = NULL;

  frame = filer_frame_decode_datagram (data, length, MAX_FRAME_CONTENT, NULL);
  if (frame == NULL)
    return G_SOURCE_CONTINUE;

  if (socket == self->socket2)
    {
      /* The second port only reflects: what address did you come from? */
      if (filer_frame_is (frame, "nat-probe"))
        {
          g_autoptr(FilerFrame) reply = filer_frame_new ("nat-probed");
          g_autofree char *address = filer_nat_address_to_string (from);

          filer_frame_set (reply, "address", address);
          /* Unproven: never more bytes back than came (clients pad, §4.2). */
          if (encoded_size (reply) <= length)
            filer_nat_send_frame (socket, from, reply, NULL);
          else
            g_debug ("rendezvous: a nat-probe too short for its answer");
        }
      return G_SOURCE_CONTINUE;
    }

  filer_rendezvous_server_handle_frame (self, frame, from);
  return G_SOURCE_CONTINUE;
}

static gboolean
sweep_cb (gpointer user_data)
{
  FilerRendezvousServer *self = user_data;
  gint64 now_us = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Session *session = value;

      if (!session->accepted && now_us - session->created_us > OFFER_GIVE_UP_US)
        {
          g_autoptr(FilerFrame) refused = filer_frame_new ("nat-refused");

          /* Tell the initiator now, rather than let it wait for a
           * handshake that cannot come. */
          g_debug ("rendezvous: session %s: %s never answered", session->token, session->b_id);
          filer_frame_set (refused, "session", session->token);
          filer_frame_set (refused, "attempt", session->attempt);
          filer_frame_set (refused, "code", "no-answer");
          filer_frame_set (refused, "message", "The peer did not answer");
          send_frame (self, refused, session->a_address);
          g_hash_table_iter_remove (&iter);
        }
      else if (now_us - session->last_us > SESSION_TIMEOUT_US)
        {
          g_debug ("rendezvous: session %s expires", session->token);
          g_hash_table_iter_remove (&iter);
        }
      else if (!session->accepted && session->n_offers < MAX_OFFERS &&
               now_us - session->last_offer_us >= OFFER_RESEND_US << (session->n_offers - 1))
        send_offer (self, session);
    }

  g_hash_table_iter_init (&iter, self->bindings);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Binding *binding = value;

      if (now_us - binding->last_seen_us > BINDING_TIMEOUT_US)
        g_hash_table_iter_remove (&iter);
    }

  /* An origin whose bucket is full again is as good as new. */
  if (++self->sweeps % ORIGIN_SWEEP_EVERY == 0)
    {
      g_hash_table_iter_init (&iter, self->session_origins);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (filer_token_bucket_full (value, NEW_SESSION_RATE, NEW_SESSION_BURST, now_us))
          g_hash_table_iter_remove (&iter);
    }

  return G_SOURCE_CONTINUE;
}

static GSocket *
bind_udp (const char  *address,
          guint        port,
          GError     **error)
{
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_string (address);
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) socket = NULL;

  if (ip == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IP address", address);
      return NULL;
    }

  socket = g_socket_new (g_inet_address_get_family (ip), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;

  socket_address = g_inet_socket_address_new (ip, port);
  if (!g_socket_bind (socket, socket_address, FALSE, error))
    return NULL;

  filer_socket_set_buffers (socket);
  return g_steal_pointer (&socket);
}

static GSource *
watch (FilerRendezvousServer *self,
       GSocket               *socket)
{
  return filer_socket_watch_datagrams (socket, 256, datagram_cb, self, NULL);
}

gboolean
filer_rendezvous_server_start (FilerRendezvousServer  *self,
                               const char             *address,
                               GError                **error)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (self), FALSE);
  g_return_val_if_fail (self->socket2 == NULL, FALSE);

  self->socket2 = bind_udp (address, 0, error);
  if (self->socket2 == NULL)
    return FALSE;

  self->source2 = watch (self, self->socket2);
  self->sweep_id = g_timeout_add (SWEEP_INTERVAL_MS, sweep_cb, self);
  return TRUE;
}

gboolean
filer_rendezvous_server_listen (FilerRendezvousServer  *self,
                                const char             *address,
                                guint                   port,
                                GError                **error)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (self), FALSE);
  g_return_val_if_fail (self->socket == NULL, FALSE);

  self->socket = bind_udp (address, port, error);
  if (self->socket == NULL)
    return FALSE;

  self->source = watch (self, self->socket);
  return filer_rendezvous_server_start (self, address, error);
}

void
filer_rendezvous_server_stop (FilerRendezvousServer *self)
{
  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));

  g_clear_handle_id (&self->sweep_id, g_source_remove);
  filer_clear_source (&self->source);
  filer_clear_source (&self->source2);
  g_clear_object (&self->socket);
  g_clear_object (&self->socket2);
  g_hash_table_remove_all (self->sessions);
  g_hash_table_remove_all (self->bindings);
}

void
filer_rendezvous_server_close_relays (FilerRendezvousServer *self,
                                      const char            *reason)
{
  g_autoptr(GPtrArray) relayed = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Session *)value)->relayed > 0)
      g_ptr_array_add (relayed, value);

  for (guint i = 0; i < relayed->len; i++)
    close_session (self, relayed->pdata[i], reason);
}

/* --- GObject ----------------------------------------------------------- */

static void
filer_rendezvous_server_dispose (GObject *object)
{
  FilerRendezvousServer *self = FILER_RENDEZVOUS_SERVER (object);

  filer_rendezvous_server_stop (self);
  if (self->send_destroy)
    g_clear_pointer (&self->send_data, self->send_destroy);
  self->send_func = NULL;
  if (self->directory_destroy)
    g_clear_pointer (&self->directory_data, self->directory_destroy);
  self->can_see = NULL;
  self->public_ip = NULL;
  self->check_secret = NULL;

  G_OBJECT_CLASS (filer_rendezvous_server_parent_class)->dispose (object);
}

static void
filer_rendezvous_server_finalize (GObject *object)
{
  FilerRendezvousServer *self = FILER_RENDEZVOUS_SERVER (object);

  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->session_origins, g_hash_table_unref);
  g_clear_pointer (&self->bindings, g_hash_table_unref);

  G_OBJECT_CLASS (filer_rendezvous_server_parent_class)->finalize (object);
}

static void
filer_rendezvous_server_class_init (FilerRendezvousServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_rendezvous_server_dispose;
  object_class->finalize = filer_rendezvous_server_finalize;
}

static void
filer_rendezvous_server_init (FilerRendezvousServer *self)
{
  self->bindings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, binding_free);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, session_free);
  self->session_origins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->max_bytes = FILER_RENDEZVOUS_DEFAULT_RELAY_MAX_BYTES;
  self->max_rate = FILER_RENDEZVOUS_DEFAULT_RELAY_MAX_RATE;
}

FilerRendezvousServer *
filer_rendezvous_server_new (void)
{
  return g_object_new (FILER_TYPE_RENDEZVOUS_SERVER, NULL);
}

void
filer_rendezvous_server_set_directory (FilerRendezvousServer   *self,
                                       FilerRendezvousCanSee    can_see,
                                       FilerRendezvousPublicIp  public_ip,
                                       gpointer                 user_data,
                                       GDestroyNotify           destroy)
{
  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));

  if (self->directory_destroy)
    self->directory_destroy (self->directory_data);
  self->can_see = can_see;
  self->public_ip = public_ip;
  self->directory_data = user_data;
  self->directory_destroy = destroy;
}

/* Only a nat-bind whose secret @check accepts binds (with a directory:
 * the discovery server's bind-secret). @user_data lives as long as the
 * directory's. */
void
filer_rendezvous_server_set_secret_check (FilerRendezvousServer      *self,
                                          FilerRendezvousCheckSecret  check,
                                          gpointer                    user_data)
{
  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));

  self->check_secret = check;
  self->secret_data = user_data;
}

void
filer_rendezvous_server_set_sender (FilerRendezvousServer   *self,
                                    FilerRendezvousSendFunc  send_func,
                                    gpointer                 user_data,
                                    GDestroyNotify           destroy)
{
  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));

  if (self->send_destroy)
    self->send_destroy (self->send_data);
  self->send_func = send_func;
  self->send_data = user_data;
  self->send_destroy = destroy;
}

void
filer_rendezvous_server_set_relay_limits (FilerRendezvousServer *self,
                                          guint64                max_bytes,
                                          guint64                max_rate)
{
  g_return_if_fail (FILER_IS_RENDEZVOUS_SERVER (self));
  g_return_if_fail (max_rate > 0);

  self->max_bytes = max_bytes;
  self->max_rate = max_rate;
}

static guint
port_of (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = socket ? g_socket_get_local_address (socket, NULL) : NULL;

  return local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

guint
filer_rendezvous_server_get_port (FilerRendezvousServer *self)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (self), 0);

  return port_of (self->socket);
}

guint
filer_rendezvous_server_get_port2 (FilerRendezvousServer *self)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (self), 0);

  return port_of (self->socket2);
}

guint
filer_rendezvous_server_get_n_sessions (FilerRendezvousServer *self)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (self), 0);

  return g_hash_table_size (self->sessions);
}

guint64
filer_rendezvous_server_get_relayed_bytes (FilerRendezvousServer *self)
{
  g_return_val_if_fail (FILER_IS_RENDEZVOUS_SERVER (self), 0);

  return self->relayed_total;
}
