/* test-rendezvous.c: the rendezvous server and NAT client on loopback
 *
 * No namespaces needed (the lab tests run as root only): the protocol of
 * docs/protocol.md §4 spoken by raw sockets and by FilerNatClient against
 * FilerRendezvousServer on 127.0.0.1. The relay must serve a session's
 * two endpoints only, within its byte limit, and nothing a client sends
 * may bring the server down. Where filer-server's own checks and options
 * are the thing under test (a nat-bind only from the registered device,
 * --relay-max-bytes, --relay-max-rate), the real filer-server process
 * ($FILER_SERVER) is the server, and peers register over TCP first.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

typedef struct
{
  FilerRendezvousServer *server;
  GSocketAddress *server_address;
  char *server_text;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  fixture->server = filer_rendezvous_server_new ();
  filer_rendezvous_server_listen (fixture->server, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  fixture->server_address = g_inet_socket_address_new (loopback, filer_rendezvous_server_get_port (fixture->server));
  fixture->server_text = g_strdup_printf ("127.0.0.1:%u", filer_rendezvous_server_get_port (fixture->server));
  g_assert_cmpuint (filer_rendezvous_server_get_port2 (fixture->server), !=, 0);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_assert_finalize_object (g_steal_pointer (&fixture->server));
  g_clear_object (&fixture->server_address);
  g_free (fixture->server_text);
}

/* --- raw sockets ------------------------------------------------------- */

static GSocket *
raw_socket (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  return socket;
}

static void
raw_send (GSocket        *socket,
          GSocketAddress *to,
          FilerFrame     *frame)
{
  g_autoptr(GError) error = NULL;

  filer_nat_send_frame (socket, to, frame, &error);
  g_assert_no_error (error);
}

/* Spins the main loop (the server runs on it) until @socket has a
 * datagram; returns it as a frame, or NULL after @timeout_ms. */
static FilerFrame *
raw_receive (GSocket *socket,
             guint    timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  guint8 buffer[4096];

  while (g_get_monotonic_time () < end)
    {
      if (g_socket_condition_check (socket, G_IO_IN) & G_IO_IN)
        {
          gssize n = g_socket_receive (socket, (char *)buffer, sizeof buffer, NULL, NULL);

          g_assert_cmpint (n, >, 0);
          return filer_frame_decode_datagram (buffer, n, 4096, NULL);
        }
      filer_test_spin (10);
    }

  return NULL;
}

static FilerFrame *
expect_frame (GSocket    *socket,
              const char *type)
{
  FilerFrame *frame = raw_receive (socket, 3000);

  if (frame == NULL)
    g_error ("expected a %s, got nothing", type);
  g_assert_cmpstr (filer_frame_get_message_type (frame), ==, type);
  return frame;
}

static void
raw_bind (Fixture    *fixture,
          GSocket    *socket,
          const char *id)
{
  g_autoptr(FilerFrame) bind = filer_frame_new ("nat-bind");
  g_autoptr(FilerFrame) bound = NULL;

  filer_frame_set (bind, "id", id);
  filer_frame_pad_to (bind, 96);
  raw_send (socket, fixture->server_address, bind);
  bound = expect_frame (socket, "nat-bound");
  g_assert_true (g_str_has_prefix (filer_frame_get (bound, "address"), "127.0.0.1:"));
}

static FilerFrame *
relay_frame (const char   *token_hex,
             FilerNatKind  kind)
{
  FilerFrame *frame = filer_frame_new ("nat-relay");
  guint8 token[FILER_NAT_TOKEN_SIZE];
  guint8 datagram[FILER_NAT_HEADER_SIZE + 100];
  g_autoptr(GBytes) content = NULL;

  g_assert_true (filer_nat_token_from_hex (token_hex, token));
  filer_nat_datagram_write_header (datagram, kind, token);
  memset (datagram + FILER_NAT_HEADER_SIZE, 0x5a, 100);
  content = g_bytes_new (datagram, sizeof datagram);
  filer_frame_set (frame, "session", token_hex);
  filer_frame_set_content (frame, content);
  return frame;
}

static void
test_protocol (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GSocket) a = raw_socket ();
  g_autoptr(GSocket) b = raw_socket ();
  g_autoptr(GSocket) mallory = raw_socket ();
  g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
  g_autoptr(FilerFrame) session = NULL;
  g_autoptr(FilerFrame) offer = NULL;
  g_autoptr(FilerFrame) relayed = NULL;
  g_autoptr(FilerFrame) from_mallory = NULL;
  g_autoptr(FilerFrame) nothing = NULL;
  char *token;

  raw_bind (fixture, a, "alice");
  raw_bind (fixture, b, "bob");

  filer_frame_set (connect, "id", "alice");
  filer_frame_set (connect, "to", "bob");
  filer_frame_set (connect, "attempt", "a1");
  raw_send (a, fixture->server_address, connect);

  session = expect_frame (a, "nat-session");
  offer = expect_frame (b, "nat-offer");
  token = (char *)filer_frame_get (session, "session");
  g_assert_cmpstr (filer_frame_get (offer, "session"), ==, token);
  g_assert_cmpstr (filer_frame_get (offer, "peer-id"), ==, "alice");
  g_assert_cmpstr (filer_frame_get (session, "peer-id"), ==, "bob");
  /* The seed's order: the asked side opens first. */
  g_assert_cmpstr (filer_frame_get (offer, "role"), ==, "first");
  g_assert_cmpstr (filer_frame_get (session, "role"), ==, "second");

  /* A stranger who knows the token is still not relayed. */
  from_mallory = relay_frame (token, FILER_NAT_KIND_KEEPALIVE);
  raw_send (mallory, fixture->server_address, from_mallory);
  nothing = raw_receive (b, 300);
  while (nothing && !filer_frame_is (nothing, "nat-relay"))
    {
      filer_frame_unref (nothing);   /* resent offers */
      nothing = raw_receive (b, 300);
    }
  g_assert_null (nothing);

  /* A member's relay frame whose datagram carries another session's token
   * (one its peer may have with someone else) is not relayed either. */
  {
    g_autoptr(FilerFrame) smuggled = relay_frame ("0102030405060708", FILER_NAT_KIND_STREAM);

    filer_frame_set (smuggled, "session", token);
    raw_send (a, fixture->server_address, smuggled);
    filer_test_spin (200);
    g_assert_cmpuint (filer_rendezvous_server_get_relayed_bytes (fixture->server), ==, 0);
  }

  /* A member is. */
  {
    g_autoptr(FilerFrame) from_a = relay_frame (token, FILER_NAT_KIND_STREAM);

    raw_send (a, fixture->server_address, from_a);
  }
  relayed = raw_receive (b, 3000);
  while (relayed && filer_frame_is (relayed, "nat-offer"))
    {
      filer_frame_unref (relayed);
      relayed = raw_receive (b, 3000);
    }
  g_assert_nonnull (relayed);
  g_assert_cmpstr (filer_frame_get_message_type (relayed), ==, "nat-relay");
  g_assert_cmpuint (filer_frame_get_content_size (relayed), ==, FILER_NAT_HEADER_SIZE + 100);
  g_assert_cmpuint (filer_rendezvous_server_get_relayed_bytes (fixture->server), ==, FILER_NAT_HEADER_SIZE + 100);
}

static void
test_refusals (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GSocket) a = raw_socket ();
  g_autoptr(GSocket) other = raw_socket ();
  g_autoptr(FilerFrame) refused = NULL;
  g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");

  filer_frame_set (connect, "id", "alice");
  filer_frame_set (connect, "to", "bob");
  filer_frame_set (connect, "attempt", "a1");

  /* Not bound yet. */
  raw_send (a, fixture->server_address, connect);
  refused = expect_frame (a, "nat-refused");
  g_assert_cmpstr (filer_frame_get (refused, "code"), ==, "not-bound");
  g_clear_pointer (&refused, filer_frame_unref);

  /* Bound, but bob is not. */
  raw_bind (fixture, a, "alice");
  raw_send (a, fixture->server_address, connect);
  refused = expect_frame (a, "nat-refused");
  g_assert_cmpstr (filer_frame_get (refused, "code"), ==, "unknown-peer");
  g_clear_pointer (&refused, filer_frame_unref);

  /* Claiming alice from another address does not work either. */
  raw_send (other, fixture->server_address, connect);
  refused = expect_frame (other, "nat-refused");
  g_assert_cmpstr (filer_frame_get (refused, "code"), ==, "not-bound");
  g_assert_cmpuint (filer_rendezvous_server_get_n_sessions (fixture->server), ==, 0);
}

static void
test_garbage (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GSocket) a = raw_socket ();
  const char *texts[] = {
    "", "\xff\xff", "\xff\xffP", "\x05\x00CL:0;", "\x04\x00CL:9", "\x11\x00CL:7;type:messagecwsdwed",
    "\x0e\x00" "CL:0;type:nat-", "\x11\x00" "CL:0;type:nat-go", "\x13\x00" "CL:0;type:nat-bind",
    "\x1a\x00" "CL:0;type:nat-bind;id:a;b", "\x1b\x00" "CL:0;type:nat-relay;x:y;z:w",
  };

  /* Malformed frames, unknown types, missing fields, random bytes. */
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_socket_send_to (a, fixture->server_address, texts[i], strlen (texts[i]), NULL, NULL);
  for (guint i = 0; i < 200; i++)
    {
      guint8 noise[512];
      gsize size = g_test_rand_int_range (1, sizeof noise);

      for (gsize j = 0; j < size; j++)
        noise[j] = g_test_rand_int_range (0, 256);
      if (i % 2)
        noise[0] = noise[1] = 0xff;
      g_socket_send_to (a, fixture->server_address, (const char *)noise, size, NULL, NULL);
    }
  {
    g_autoptr(FilerFrame) relay = relay_frame ("0011223344556677", FILER_NAT_KIND_STREAM);

    g_socket_send_to (a, fixture->server_address, "x", 1, NULL, NULL);
    raw_send (a, fixture->server_address, relay);
  }
  filer_test_spin (200);

  /* Still serving. */
  raw_bind (fixture, a, "alice");
  g_assert_cmpuint (filer_rendezvous_server_get_relayed_bytes (fixture->server), ==, 0);
}

/* --- FilerNatClient on loopback ---------------------------------------- */

/* The device key of the device that binds under @name at the rendezvous
 * server (one per name for the whole run). The rendezvous names stay
 * short ("alice"): that they differ from the key ids is the case of
 * filer-cli send, which binds under a throwaway id. */
static FilerIdentity *
key_of (const char *name)
{
  return filer_test_identity (name);
}

static const char *
key_id (const char *name)
{
  return filer_test_id (name);
}

typedef struct
{
  gboolean done;
  GIOStream *stream;
  char *path;
  GError *error;
  GIOStream *incoming;
  char *incoming_path;
  char *incoming_peer_id;
} Reach;

static void
connect_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Reach *reach = user_data;

  reach->stream = filer_nat_client_connect_finish (FILER_NAT_CLIENT (object), result,
                                                   &reach->path, &reach->error);
  reach->done = TRUE;
}

static void
incoming_cb (FilerNatClient *client,
             GIOStream      *stream,
             const char     *peer_id,
             const char     *path,
             const char     *rendezvous_id,
             gpointer        user_data)
{
  Reach *reach = user_data;

  /* What alice's key proved, not what she bound under ("alice" on the
   * in-process server, her key's id on filer-server). */
  g_assert_cmpstr (peer_id, ==, key_id ("alice"));
  g_assert_true (g_str_equal (rendezvous_id, "alice") || g_str_equal (rendezvous_id, key_id ("alice")));
  reach->incoming_peer_id = g_strdup (peer_id);
  g_set_object (&reach->incoming, stream);
  reach->incoming_path = g_strdup (path);
}

static gboolean
has_incoming (gpointer data)
{
  return ((Reach *)data)->incoming != NULL;
}

static gboolean
mapped (gpointer data)
{
  return filer_nat_client_get_mapping (data) != NULL;
}

static FilerNatClient *
start_client_keyed (const char    *server_text,
                    const char    *id,
                    FilerIdentity *key,
                    const char    *secret,
                    gboolean       force_relay)
{
  g_autoptr(GError) error = NULL;
  FilerNatClient *client = filer_nat_client_new (id, server_text);

  filer_nat_client_set_identity (client, key);
  filer_nat_client_set_bind_secret (client, secret);
  filer_nat_client_set_force_relay (client, force_relay);
  filer_nat_client_start (client, &error);
  g_assert_no_error (error);
  filer_test_wait_until (mapped, client, 5000, "the client to learn its mapping");
  g_assert_cmpstr (filer_nat_client_get_mapping (client), ==, "independent");
  return client;
}

static FilerNatClient *
start_client_at (const char *server_text,
                 const char *id,
                 gboolean    force_relay)
{
  return start_client_keyed (server_text, id, key_of (id), NULL, force_relay);
}

static FilerNatClient *
start_client (Fixture    *fixture,
              const char *id,
              gboolean    force_relay)
{
  return start_client_at (fixture->server_text, id, force_relay);
}

typedef struct
{
  gboolean done;
  gssize n;
  GError *error;
  char buffer[64];
} Read;

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Read *read = user_data;

  read->n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &read->error);
  read->done = TRUE;
}

static void
reach_and_talk (Fixture    *fixture,
                gboolean    force_relay,
                const char *expected_path)
{
  g_autoptr(FilerNatClient) alice = start_client (fixture, "alice", force_relay);
  g_autoptr(FilerNatClient) bob = start_client (fixture, "bob", force_relay);
  Reach reach = { 0, };
  Read read = { 0, };

  g_signal_connect (bob, "incoming", G_CALLBACK (incoming_cb), &reach);
  filer_nat_client_connect_async (alice, "bob", key_id ("bob"), NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 10000, "alice to reach bob");
  g_assert_no_error (reach.error);
  g_assert_cmpstr (reach.path, ==, expected_path);
  filer_test_wait_until (has_incoming, &reach, 5000, "bob's incoming stream");
  g_assert_cmpstr (reach.incoming_path, ==, expected_path);

  g_output_stream_write_all (g_io_stream_get_output_stream (reach.stream), "hello bob", 9, NULL, NULL, NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (reach.incoming), read.buffer, sizeof read.buffer,
                             G_PRIORITY_DEFAULT, NULL, read_cb, &read);
  filer_test_wait_for (&read.done, 5000, "bob to read");
  g_assert_no_error (read.error);
  g_assert_cmpmem (read.buffer, read.n, "hello bob", 9);

  g_clear_object (&reach.stream);
  g_clear_object (&reach.incoming);
  g_free (reach.path);
  g_free (reach.incoming_path);
  g_free (reach.incoming_peer_id);
}

static void
test_client_direct (Fixture       *fixture,
                    gconstpointer  data)
{
  reach_and_talk (fixture, FALSE, FILER_NAT_PATH_DIRECT);
}

static void
test_client_relay (Fixture       *fixture,
                   gconstpointer  data)
{
  reach_and_talk (fixture, TRUE, FILER_NAT_PATH_RELAY);
  g_assert_cmpuint (filer_rendezvous_server_get_relayed_bytes (fixture->server), >, 0);
}

static void
test_client_refused (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(FilerNatClient) alice = start_client (fixture, "alice", FALSE);
  Reach reach = { 0, };

  filer_nat_client_connect_async (alice, "nobody", NULL, NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 10000, "the refusal");
  g_assert_error (reach.error, FILER_NAT_ERROR, FILER_NAT_ERROR_REFUSED);
  g_clear_error (&reach.error);
}

static void
test_no_answer (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(FilerNatClient) alice = start_client (fixture, "alice", FALSE);
  g_autoptr(GSocket) bob = raw_socket ();
  Reach reach = { 0, };
  gint64 start;

  /* Bob is bound but never answers the offer (gone, or not Filer). */
  raw_bind (fixture, bob, "bob");
  start = g_get_monotonic_time ();
  filer_nat_client_connect_async (alice, "bob", key_id ("bob"), NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 15000, "alice to give up");
  g_test_message ("gave up after %.1f s: %s", (g_get_monotonic_time () - start) / 1e6,
                  reach.error ? reach.error->message : "no error");
  g_assert_error (reach.error, FILER_NAT_ERROR, FILER_NAT_ERROR_UNREACHABLE);
  g_clear_error (&reach.error);
}

static void
test_byte_limit (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(FilerNatClient) alice = NULL;
  g_autoptr(FilerNatClient) bob = NULL;
  g_autofree char *payload = g_malloc0 (1024 * 1024);
  Reach reach = { 0, };
  Read read = { 0, };

  /* 256 KiB per session: a 1 MiB send cannot finish. */
  filer_rendezvous_server_set_relay_limits (fixture->server, 256 * 1024, 64 * 1024 * 1024);
  alice = start_client (fixture, "alice", TRUE);
  bob = start_client (fixture, "bob", TRUE);
  g_signal_connect (bob, "incoming", G_CALLBACK (incoming_cb), &reach);
  filer_nat_client_connect_async (alice, "bob", key_id ("bob"), NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 10000, "alice to reach bob");
  g_assert_no_error (reach.error);
  filer_test_wait_until (has_incoming, &reach, 5000, "bob's incoming stream");

  g_output_stream_write_all_async (g_io_stream_get_output_stream (reach.stream), payload, 1024 * 1024,
                                   G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  /* Bob keeps reading until the stream ends. */
  for (;;)
    {
      read.done = FALSE;
      g_input_stream_read_async (g_io_stream_get_input_stream (reach.incoming), read.buffer, sizeof read.buffer,
                                 G_PRIORITY_DEFAULT, NULL, read_cb, &read);
      filer_test_wait_for (&read.done, 10000, "bob's read");
      if (read.n <= 0)
        break;
    }
  g_assert_error (read.error, FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED);
  g_assert_true (strstr (read.error->message, "byte limit") != NULL);
  g_assert_cmpuint (filer_rendezvous_server_get_relayed_bytes (fixture->server), <=, 256 * 1024);

  g_clear_error (&read.error);
  g_clear_object (&reach.stream);
  g_clear_object (&reach.incoming);
  g_free (reach.path);
  g_free (reach.incoming_path);
  g_free (reach.incoming_peer_id);
}

/* --- the device keys ---------------------------------------------------- */

/* Who answers at a rendezvous id is the server's word (and the bind has
 * no secret yet): the key must prove it. */

typedef struct
{
  GIOStream *stream;
  char *peer_id;
  char *rendezvous_id;
} Heard;

static void
heard_cb (FilerNatClient *client,
          GIOStream      *stream,
          const char     *peer_id,
          const char     *path,
          const char     *rendezvous_id,
          gpointer        user_data)
{
  Heard *heard = user_data;

  g_set_object (&heard->stream, stream);
  g_free (heard->peer_id);
  heard->peer_id = g_strdup (peer_id);
  g_free (heard->rendezvous_id);
  heard->rendezvous_id = g_strdup (rendezvous_id);
}

static gboolean
has_incoming_stream (gpointer data)
{
  return ((Heard *)data)->stream != NULL;
}

static void
heard_clear (Heard *heard)
{
  g_clear_object (&heard->stream);
  g_clear_pointer (&heard->peer_id, g_free);
  g_clear_pointer (&heard->rendezvous_id, g_free);
}

/* Alice asks for "bob" and means bob's key; Mallory, with a key of her
 * own, is who the server pairs her with (she bound under "bob"). Alice's
 * handshake refuses Mallory's key: no stream on either side, and Mallory
 * never sees alice's first byte. Direct, or through the relay: the relay
 * passes the same handshake on, so its operator cannot sit in the middle
 * without a key that makes bob's id. */
static void
test_wrong_key (Fixture       *fixture,
                gconstpointer  data)
{
  gboolean force_relay = GPOINTER_TO_INT (data);
  g_autoptr(FilerIdentity) mallory_key = filer_test_identity_new ();
  g_autoptr(FilerNatClient) alice = start_client (fixture, "alice", force_relay);
  g_autoptr(FilerNatClient) mallory = start_client_keyed (fixture->server_text, "bob", mallory_key, NULL, force_relay);
  Reach reach = { 0, };
  Heard heard = { 0, };
  gint64 start;
  double seconds;

  g_signal_connect (mallory, "incoming", G_CALLBACK (heard_cb), &heard);
  start = g_get_monotonic_time ();
  filer_nat_client_connect_async (alice, "bob", key_id ("bob"), NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 10000, "alice's handshake with mallory");
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("after %.2f s: %s", seconds, reach.error ? reach.error->message : "no error");
  g_assert_error (reach.error, FILER_NAT_ERROR, FILER_NAT_ERROR_WRONG_PEER);
  g_assert_null (reach.stream);
  g_assert_nonnull (strstr (reach.error->message, filer_identity_get_id (mallory_key)));
  g_assert_nonnull (strstr (reach.error->message, key_id ("bob")));
  g_assert_nonnull (strstr (reach.error->message, force_relay ? "relay" : "direct"));
  if (force_relay)
    g_assert_cmpuint (filer_rendezvous_server_get_relayed_bytes (fixture->server), >, 0);

  filer_test_spin (500);
  g_assert_null (heard.stream);
  g_clear_error (&reach.error);
  heard_clear (&heard);
}

/* Mallory binds under "alice" and calls bob: bob's ::incoming names the
 * id Mallory's key proved, never the rendezvous id she claimed. */
static void
test_proven_caller (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(FilerIdentity) mallory_key = filer_test_identity_new ();
  g_autoptr(FilerNatClient) mallory = start_client_keyed (fixture->server_text, "alice", mallory_key, NULL, FALSE);
  g_autoptr(FilerNatClient) bob = start_client (fixture, "bob", FALSE);
  Reach reach = { 0, };
  Heard heard = { 0, };

  g_signal_connect (bob, "incoming", G_CALLBACK (heard_cb), &heard);
  filer_nat_client_connect_async (mallory, "bob", key_id ("bob"), NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 10000, "mallory to reach bob");
  g_assert_no_error (reach.error);
  filer_test_wait_until (has_incoming_stream, &heard, 5000, "bob's incoming stream");
  g_assert_cmpstr (heard.peer_id, ==, filer_identity_get_id (mallory_key));
  g_assert_cmpstr (heard.rendezvous_id, ==, "alice");

  g_clear_object (&reach.stream);
  g_free (reach.path);
  heard_clear (&heard);
}

/* PseudoTcp proves no key itself: with keys, mutual TLS runs on top.
 * The right key passes (and bob learns alice's key id), Mallory's key
 * under bob's name is refused, and a caller without a key does not reach
 * bob. */
static void
test_pseudotcp_keys (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(FilerIdentity) mallory_key = filer_test_identity_new ();
  g_autoptr(FilerNatClient) alice = start_client (fixture, "alice", FALSE);
  g_autoptr(FilerNatClient) bob = start_client (fixture, "bob", FALSE);
  Reach reach = { 0, };
  Heard heard = { 0, };
  Read read = { 0, };

  g_signal_connect (bob, "incoming", G_CALLBACK (heard_cb), &heard);
  filer_nat_client_set_stream_engine (alice, "pseudotcp");
  filer_nat_client_connect_async (alice, "bob", key_id ("bob"), NULL, connect_done_cb, &reach);
  filer_test_wait_for (&reach.done, 15000, "alice to reach bob over PseudoTcp");
  g_assert_no_error (reach.error);
  g_assert_true (G_IS_TLS_CONNECTION (reach.stream));
  filer_test_wait_until (has_incoming_stream, &heard, 5000, "bob's incoming stream");
  g_assert_cmpstr (heard.peer_id, ==, key_id ("alice"));
  g_assert_cmpstr (heard.rendezvous_id, ==, "alice");
  g_output_stream_write_all (g_io_stream_get_output_stream (reach.stream), "hello bob", 9, NULL, NULL, NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (heard.stream), read.buffer, sizeof read.buffer,
                             G_PRIORITY_DEFAULT, NULL, read_cb, &read);
  filer_test_wait_for (&read.done, 5000, "bob to read");
  g_assert_no_error (read.error);
  g_assert_cmpmem (read.buffer, read.n, "hello bob", 9);
  g_clear_object (&reach.stream);
  g_clear_pointer (&reach.path, g_free);
  heard_clear (&heard);

  /* Mallory under bob's name, over PseudoTcp and the relay. */
  {
    g_autoptr(FilerNatClient) mallory = start_client_keyed (fixture->server_text, "mallory-as-bob",
                                                            mallory_key, NULL, TRUE);

    g_signal_connect (mallory, "incoming", G_CALLBACK (heard_cb), &heard);
    memset (&reach, 0, sizeof reach);
    filer_nat_client_connect_async (alice, "mallory-as-bob", key_id ("bob"), NULL, connect_done_cb, &reach);
    filer_test_wait_for (&reach.done, 15000, "alice's handshake with mallory");
    g_test_message ("alice to mallory: %s", reach.error ? reach.error->message : "no error");
    g_assert_error (reach.error, FILER_NAT_ERROR, FILER_NAT_ERROR_WRONG_PEER);
    g_assert_null (reach.stream);
    g_clear_error (&reach.error);
    filer_test_spin (500);
    g_assert_null (heard.stream);
  }

  /* A caller without a key. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(FilerNatClient) keyless = filer_nat_client_new ("keyless", fixture->server_text);

    filer_nat_client_set_stream_engine (keyless, "pseudotcp");
    filer_nat_client_start (keyless, &error);
    g_assert_no_error (error);
    filer_test_wait_until (mapped, keyless, 5000, "the keyless client to learn its mapping");
    memset (&reach, 0, sizeof reach);
    filer_nat_client_connect_async (keyless, "bob", NULL, NULL, connect_done_cb, &reach);
    filer_test_wait_for (&reach.done, 15000, "the keyless connect");
    /* Its PseudoTcp stream may open; bob's TLS gets no answer from it. */
    filer_test_spin (1000);
    g_assert_null (heard.stream);
    g_clear_object (&reach.stream);
    g_clear_pointer (&reach.path, g_free);
    g_clear_error (&reach.error);
    filer_nat_client_stop (keyless);
  }
  heard_clear (&heard);
}

/* --- the real filer-server ---------------------------------------------- */

static GSocket *
raw_socket_at (const char *ip)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (ip, 0);
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  return socket;
}

/* Registers @id with the discovery server over TCP from @local_ip (§2),
 * which is what lets it nat-bind from that IP; the registration lasts as
 * long as the returned socket is open. */
static GIOStream *
tcp_register (FilerTestServer *server,
              const char      *local_ip,
              const char      *label)
{
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string (local_ip, 0);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(FilerFrame) frame = filer_frame_new ("register");
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (65536);
  g_autoptr(FilerFrame) welcome = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GIOStream *tls;
  char buffer[4096];
  gssize n;

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_local_address (client, local);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                filer_test_server_get_port (server), NULL, &error);
  g_assert_no_error (error);
  /* The server is another process: a blocking read with a timeout is
   * the watchdog here. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 5);
  tls = filer_test_tls_client (connection, label, filer_test_server_get_id (server), &error);
  g_assert_no_error (error);

  filer_frame_set (frame, "id", filer_test_id (label));
  filer_frame_set (frame, "name", label);
  bytes = filer_frame_encode (frame, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (tls), g_bytes_get_data (bytes, NULL),
                             g_bytes_get_size (bytes), NULL, NULL, &error);
  g_assert_no_error (error);

  while (welcome == NULL)
    {
      n = g_input_stream_read (g_io_stream_get_input_stream (tls), buffer, sizeof buffer,
                               NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      filer_frame_decoder_feed (decoder, buffer, n);
      welcome = filer_frame_decoder_next (decoder, &error);
      g_assert_no_error (error);
    }
  if (!filer_frame_is (welcome, "welcome"))
    g_error ("no welcome: %s (%s)", filer_frame_get_message_type (welcome),
             filer_frame_get (welcome, "code"));

  /* What a nat-bind for this id must carry. */
  g_object_set_data_full (G_OBJECT (tls), "bind-secret",
                          g_strdup (filer_frame_get (welcome, "bind-secret")), g_free);
  return tls;
}

/* issue 14: a nat-bind for a registered id from another source address
 * than the device's registration is refused the way §4.2 says: no
 * answer, and no binding (the id stays bound where it was, or unbound). */
static void
test_bind_foreign_address (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(GSocketAddress) rendezvous = g_inet_socket_address_new_from_string ("127.0.0.1",
                                                                               filer_test_server_get_port (server));
  g_autoptr(GIOStream) bob_tcp = tcp_register (server, "127.0.0.2", "bob");
  g_autoptr(GIOStream) carol_tcp = tcp_register (server, "127.0.0.4", "carol");
  g_autoptr(GSocket) bob = raw_socket_at ("127.0.0.2");
  g_autoptr(GSocket) mallory = raw_socket_at ("127.0.0.3");
  g_autoptr(GSocket) carol = raw_socket_at ("127.0.0.4");
  g_autoptr(FilerFrame) bind = filer_frame_new ("nat-bind");
  g_autoptr(FilerFrame) reply = NULL;
  g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
  g_autoptr(GInetSocketAddress) bob_address = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (bob, NULL));
  g_autofree char *bob_text = filer_nat_address_to_string (G_SOCKET_ADDRESS (bob_address));

  /* Mallory claims bob's id, even with his secret (she saw it go by):
   * no nat-bound, not from her address. */
  filer_frame_set (bind, "id", filer_test_id ("bob"));
  filer_frame_set (bind, "secret", g_object_get_data (G_OBJECT (bob_tcp), "bind-secret"));
  raw_send (mallory, rendezvous, bind);
  reply = raw_receive (mallory, 1000);
  g_assert_null (reply);

  /* Carol, bound from her registered address, asks for bob: bob is not
   * bound (mallory's bind did not count). */
  {
    g_autoptr(FilerFrame) carol_bind = filer_frame_new ("nat-bind");
    g_autoptr(FilerFrame) bound = NULL;

    filer_frame_set (carol_bind, "id", filer_test_id ("carol"));
    filer_frame_set (carol_bind, "secret", g_object_get_data (G_OBJECT (carol_tcp), "bind-secret"));
    raw_send (carol, rendezvous, carol_bind);
    bound = expect_frame (carol, "nat-bound");
    g_assert_cmpstr (filer_frame_get (bound, "address"), !=, NULL);
  }
  filer_frame_set (connect, "id", filer_test_id ("carol"));
  filer_frame_set (connect, "to", filer_test_id ("bob"));
  filer_frame_set (connect, "attempt", "c1");
  raw_send (carol, rendezvous, connect);
  reply = expect_frame (carol, "nat-refused");
  g_assert_cmpstr (filer_frame_get (reply, "code"), ==, "unknown-peer");
  g_clear_pointer (&reply, filer_frame_unref);
  g_assert_null (raw_receive (mallory, 300));

  /* Bob binds from his own address; mallory tries again, in vain. */
  raw_send (bob, rendezvous, bind);
  reply = expect_frame (bob, "nat-bound");
  g_clear_pointer (&reply, filer_frame_unref);
  raw_send (mallory, rendezvous, bind);
  g_assert_null (raw_receive (mallory, 1000));

  /* Carol's session is with bob's real address, and the offer goes there. */
  filer_frame_set (connect, "attempt", "c2");
  raw_send (carol, rendezvous, connect);
  reply = expect_frame (carol, "nat-session");
  g_assert_cmpstr (filer_frame_get (reply, "peer"), ==, bob_text);
  g_clear_pointer (&reply, filer_frame_unref);
  reply = expect_frame (bob, "nat-offer");
  g_assert_cmpstr (filer_frame_get (reply, "peer-id"), ==, filer_test_id ("carol"));
  g_assert_null (raw_receive (mallory, 300));
}

/* issue 9: a nat-bind from the device's own address but without the
 * bind-secret of its welcome, or with another, does not bind: its
 * nat-connect then gets not-bound. With the secret it binds. */
static void
test_bind_needs_secret (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(GSocketAddress) rendezvous = g_inet_socket_address_new_from_string ("127.0.0.1",
                                                                               filer_test_server_get_port (server));
  g_autoptr(GIOStream) bob_tcp = tcp_register (server, "127.0.0.2", "bob");
  g_autoptr(GIOStream) carol_tcp = tcp_register (server, "127.0.0.4", "carol");
  g_autoptr(GSocket) bob = raw_socket_at ("127.0.0.2");
  const char *secret = g_object_get_data (G_OBJECT (bob_tcp), "bind-secret");
  const char *wrong[] = { NULL, "", "00000000000000000000000000000000",
                          g_object_get_data (G_OBJECT (carol_tcp), "bind-secret") };

  g_assert_nonnull (secret);
  g_assert_cmpuint (strlen (secret), ==, 32);

  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autoptr(FilerFrame) bind = filer_frame_new ("nat-bind");
      g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
      g_autoptr(FilerFrame) reply = NULL;
      g_autofree char *attempt = g_strdup_printf ("b%u", i);

      filer_frame_set (bind, "id", filer_test_id ("bob"));
      if (wrong[i] != NULL)
        filer_frame_set (bind, "secret", wrong[i]);
      raw_send (bob, rendezvous, bind);
      g_assert_null (raw_receive (bob, 500));

      filer_frame_set (connect, "id", filer_test_id ("bob"));
      filer_frame_set (connect, "to", filer_test_id ("carol"));
      filer_frame_set (connect, "attempt", attempt);
      raw_send (bob, rendezvous, connect);
      reply = expect_frame (bob, "nat-refused");
      g_assert_cmpstr (filer_frame_get (reply, "code"), ==, "not-bound");
    }

  {
    g_autoptr(FilerFrame) bind = filer_frame_new ("nat-bind");
    g_autoptr(FilerFrame) bound = NULL;

    filer_frame_set (bind, "id", filer_test_id ("bob"));
    filer_frame_set (bind, "secret", secret);
    raw_send (bob, rendezvous, bind);
    bound = expect_frame (bob, "nat-bound");
  }
}

/* Reads a stream to its end (or to stop), counting bytes and times. */
typedef struct
{
  GInputStream *input;
  GCancellable *cancellable;
  guint64 bytes;
  gint64 first_us;
  gboolean done;
  GError *error;
  char buffer[64 * 1024];
} Drain;

static void drain_next (Drain *drain);

static void
drain_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Drain *drain = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &drain->error);

  if (n <= 0)
    {
      drain->done = TRUE;
      return;
    }
  if (drain->bytes == 0)
    drain->first_us = g_get_monotonic_time ();
  drain->bytes += n;
  drain_next (drain);
}

static void
drain_next (Drain *drain)
{
  g_input_stream_read_async (drain->input, drain->buffer, sizeof drain->buffer, G_PRIORITY_DEFAULT,
                             drain->cancellable, drain_cb, drain);
}

static gboolean
drain_started (gpointer data)
{
  return ((Drain *)data)->bytes > 0;
}

static void
written_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GError **error = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, error);
  if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "done");
}

static gboolean
has_error (gpointer data)
{
  return *(GError **)data != NULL;
}

/* alice → bob through the relay of a real filer-server started with @args. */
typedef struct
{
  FilerTestServer *server;
  GIOStream *alice_tcp;
  GIOStream *bob_tcp;
  FilerNatClient *alice;
  FilerNatClient *bob;
  Reach reach;
} Relayed;

/* Bob's end presents @bob_key (NULL: bob's own). */
static void
relayed_start_keyed (Relayed            *relayed,
                     const char * const *args,
                     FilerIdentity      *bob_key)
{
  relayed->server = filer_test_server_start (args);
  relayed->alice_tcp = tcp_register (relayed->server, "127.0.0.1", "alice");
  relayed->bob_tcp = tcp_register (relayed->server, "127.0.0.1", "bob");
  relayed->alice = start_client_keyed (filer_test_server_get_address (relayed->server),
                                       key_id ("alice"), key_of ("alice"),
                                       g_object_get_data (G_OBJECT (relayed->alice_tcp), "bind-secret"),
                                       TRUE);
  relayed->bob = start_client_keyed (filer_test_server_get_address (relayed->server),
                                     key_id ("bob"), bob_key ? bob_key : key_of ("bob"),
                                     g_object_get_data (G_OBJECT (relayed->bob_tcp), "bind-secret"),
                                     TRUE);

  if (bob_key == NULL)
    g_signal_connect (relayed->bob, "incoming", G_CALLBACK (incoming_cb), &relayed->reach);
  filer_nat_client_connect_async (relayed->alice, key_id ("bob"), key_id ("bob"), NULL,
                                  connect_done_cb, &relayed->reach);
  filer_test_wait_for (&relayed->reach.done, 10000, "alice to reach bob");
  if (bob_key != NULL)
    return;
  g_assert_no_error (relayed->reach.error);
  g_assert_cmpstr (relayed->reach.path, ==, FILER_NAT_PATH_RELAY);
  filer_test_wait_until (has_incoming, &relayed->reach, 5000, "bob's incoming stream");
}

static void
relayed_start (Relayed            *relayed,
               const char * const *args)
{
  relayed_start_keyed (relayed, args, NULL);
}

static void
relayed_stop (Relayed *relayed)
{
  g_clear_object (&relayed->reach.stream);
  g_clear_object (&relayed->reach.incoming);
  g_free (relayed->reach.path);
  g_free (relayed->reach.incoming_path);
  g_free (relayed->reach.incoming_peer_id);
  g_clear_object (&relayed->alice);
  g_clear_object (&relayed->bob);
  g_clear_object (&relayed->alice_tcp);
  g_clear_object (&relayed->bob_tcp);
  g_clear_pointer (&relayed->server, filer_test_server_stop);
}

/* The real filer-server's relay between alice and a bob whose key is
 * not bob's (the relay operator's own end, say): alice refuses it. */
static void
test_server_relay_wrong_key (void)
{
  const char * const args[] = { NULL };
  g_autoptr(FilerIdentity) operator_key = filer_test_identity_new ();
  Relayed relayed = { 0, };

  relayed_start_keyed (&relayed, args, operator_key);
  g_test_message ("alice: %s", relayed.reach.error ? relayed.reach.error->message : "no error");
  g_assert_error (relayed.reach.error, FILER_NAT_ERROR, FILER_NAT_ERROR_WRONG_PEER);
  g_assert_null (relayed.reach.stream);
  g_assert_nonnull (strstr (relayed.reach.error->message, filer_identity_get_id (operator_key)));
  g_clear_error (&relayed.reach.error);
  relayed_stop (&relayed);
}

/* issue 14: filer-server --relay-max-rate holds a relayed stream near
 * the limit (its token bucket drops what exceeds it). */
static void
test_server_relay_rate (void)
{
  const guint64 limit = 200 * 1024;
  const char * const args[] = { "--relay-max-rate", "204800", NULL };
  const gsize size = 8 * 1024 * 1024;
  g_autofree char *payload = g_malloc0 (size);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) write_error = NULL;
  Relayed relayed = { 0, };
  Drain drain = { 0, };
  guint64 bytes0;
  gint64 start_us;
  double seconds;
  double rate;

  relayed_start (&relayed, args);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (relayed.reach.stream), payload, size,
                                   G_PRIORITY_DEFAULT, cancellable, written_cb, &write_error);
  drain.input = g_io_stream_get_input_stream (relayed.reach.incoming);
  drain.cancellable = cancellable;
  drain_next (&drain);
  filer_test_wait_until (drain_started, &drain, 10000, "the first relayed bytes");

  /* Over 1.5 s once data flows (the bucket's first quarter second of
   * burst included). */
  bytes0 = drain.bytes;
  start_us = g_get_monotonic_time ();
  filer_test_spin (1500);
  seconds = (g_get_monotonic_time () - start_us) / 1e6;
  rate = (drain.bytes - bytes0) / seconds;
  g_test_message ("relayed %" G_GUINT64_FORMAT " bytes in %.2f s: %.0f bytes/s (limit %" G_GUINT64_FORMAT ")",
                  drain.bytes - bytes0, seconds, rate, limit);
  g_assert_cmpfloat (seconds, >=, 1.0);
  g_assert_cmpfloat (rate, <, 2.0 * limit);
  g_assert_cmpfloat (rate, >, limit / 10.0);   /* and it does flow */
  g_assert_false (drain.done);

  g_cancellable_cancel (cancellable);
  filer_test_wait_until (has_error, &write_error, 5000, "the write to stop");
  filer_test_wait_for (&drain.done, 5000, "the read to stop");
  g_clear_error (&drain.error);
  relayed_stop (&relayed);
}

/* issue 14: filer-server --relay-max-bytes cuts a relayed stream that
 * goes over it, with nat-relay-closed (§4.6): both ends fail with
 * FILER_NAT_ERROR_RELAY_CLOSED, "relay byte limit reached". */
static void
test_server_relay_bytes (void)
{
  const char * const args[] = { "--relay-max-bytes", "262144", NULL };
  const gsize size = 1024 * 1024;
  g_autofree char *payload = g_malloc0 (size);
  g_autoptr(GError) write_error = NULL;
  Relayed relayed = { 0, };
  Drain drain = { 0, };

  relayed_start (&relayed, args);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (relayed.reach.stream), payload, size,
                                   G_PRIORITY_DEFAULT, NULL, written_cb, &write_error);
  drain.input = g_io_stream_get_input_stream (relayed.reach.incoming);
  drain_next (&drain);
  filer_test_wait_for (&drain.done, 20000, "the relay to cut bob's stream");
  g_test_message ("bob read %" G_GUINT64_FORMAT " bytes: %s", drain.bytes,
                  drain.error ? drain.error->message : "EOF");
  g_assert_error (drain.error, FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED);
  g_assert_nonnull (strstr (drain.error->message, "relay byte limit reached"));
  g_assert_cmpuint (drain.bytes, <, 262144);

  /* Alice's end is cut too (her write may have been all queued). */
  {
    Drain alice = { 0, };

    alice.input = g_io_stream_get_input_stream (relayed.reach.stream);
    drain_next (&alice);
    filer_test_wait_for (&alice.done, 10000, "the relay to cut alice's stream");
    g_assert_error (alice.error, FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED);
    g_assert_nonnull (strstr (alice.error->message, "relay byte limit reached"));
    g_clear_error (&alice.error);
  }
  filer_test_wait_until (has_error, &write_error, 10000, "alice's write to end");

  g_clear_error (&drain.error);
  relayed_stop (&relayed);
}

/* GLib parses "::ffff:a.b.c.d" to plain IPv4; a dual-stack socket reports
 * the 16-byte IPv6 form, which is what this builds. */
static GSocketAddress *
mapped_or_plain (const char *text,
                 guint16     port)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_str_has_prefix (text, "::ffff:"))
    {
      g_autoptr(GInetAddress) v4 = g_inet_address_new_from_string (text + 7);
      guint8 bytes[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      memcpy (bytes + 12, g_inet_address_to_bytes (v4), 4);
      address = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
      g_assert_cmpint (g_inet_address_get_family (address), ==, G_SOCKET_FAMILY_IPV6);
    }
  else
    address = g_inet_address_new_from_string (text);

  return g_inet_socket_address_new (address, port);
}

/* Every datagram is matched to the server or a peer with this: an IPv4
 * sender must equal its ::ffff: form (a dual-stack socket reports that),
 * and port, family and bytes all count. The token's two text forms agree. */
static void
test_address_equal (void)
{
  const struct { const char *a; guint16 pa; const char *b; guint16 pb; gboolean equal; } cases[] = {
    { "192.0.2.1", 5, "192.0.2.1", 5, TRUE },
    { "192.0.2.1", 5, "::ffff:192.0.2.1", 5, TRUE },
    { "::ffff:192.0.2.1", 5, "192.0.2.1", 5, TRUE },
    { "192.0.2.1", 5, "192.0.2.1", 6, FALSE },
    { "192.0.2.1", 5, "192.0.2.2", 5, FALSE },
    { "2001:db8::1", 5, "2001:db8::1", 5, TRUE },
    { "2001:db8::1", 5, "2001:db8::2", 5, FALSE },
    { "::ffff:192.0.2.1", 5, "2001:db8::1", 5, FALSE },
  };
  const guint8 token[FILER_NAT_TOKEN_SIZE] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
  char hex[FILER_NAT_TOKEN_HEX_SIZE];
  g_autofree char *allocated = filer_nat_token_to_hex (token);
  guint8 back[FILER_NAT_TOKEN_SIZE];

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GSocketAddress) a = mapped_or_plain (cases[i].a, cases[i].pa);
      g_autoptr(GSocketAddress) b = mapped_or_plain (cases[i].b, cases[i].pb);

      if (filer_nat_address_equal (a, b) != cases[i].equal)
        g_error ("%s:%u vs %s:%u should be %s", cases[i].a, cases[i].pa, cases[i].b, cases[i].pb,
                 cases[i].equal ? "equal" : "different");
    }
  g_assert_true (filer_nat_address_equal (NULL, NULL));

  filer_nat_token_format (token, hex);
  g_assert_cmpstr (hex, ==, "00017f80abcdefff");
  g_assert_cmpstr (allocated, ==, hex);
  g_assert_true (filer_nat_token_from_hex (hex, back));
  g_assert_cmpmem (back, sizeof back, token, sizeof token);
}


/* --- issue 10: few addresses cannot fill the table, no amplification --- */

/* Reads @socket until a nat-session or nat-refused for @attempt comes
 * (offers for its other ids are skipped). */
static FilerFrame *
answer_of (GSocket    *socket,
           const char *attempt)
{
  for (;;)
    {
      FilerFrame *frame = raw_receive (socket, 3000);

      if (frame == NULL)
        g_error ("no answer to attempt %s", attempt);
      if ((filer_frame_is (frame, "nat-session") || filer_frame_is (frame, "nat-refused")) &&
          g_strcmp0 (filer_frame_get (frame, "attempt"), attempt) == 0)
        return frame;
      filer_frame_unref (frame);
    }
}

static void
bind_at (Fixture    *fixture,
         GSocket    *socket,
         const char *id)
{
  g_autoptr(FilerFrame) bind = filer_frame_new ("nat-bind");
  g_autoptr(FilerFrame) bound = NULL;

  filer_frame_set (bind, "id", id);
  filer_frame_pad_to (bind, 96);
  raw_send (socket, fixture->server_address, bind);
  bound = expect_frame (socket, "nat-bound");
}

/* Opens sessions among @n ids bound from @ip until refused; returns how
 * many it got. */
static guint
flood_from (Fixture    *fixture,
            const char *ip,
            guint       n)
{
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  guint opened = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("atk-%s-%u", ip, i);

      g_ptr_array_add (sockets, raw_socket_at (ip));
      bind_at (fixture, sockets->pdata[i], id);
    }

  for (guint step = 1; step <= 4; step++)
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *id = g_strdup_printf ("atk-%s-%u", ip, i);
        g_autofree char *to = g_strdup_printf ("atk-%s-%u", ip, (i + step) % n);
        g_autofree char *attempt = g_strdup_printf ("f%u-%u", step, i);
        g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
        g_autoptr(FilerFrame) answer = NULL;

        filer_frame_set (connect, "id", id);
        filer_frame_set (connect, "to", to);
        filer_frame_set (connect, "attempt", attempt);
        raw_send (sockets->pdata[i], fixture->server_address, connect);
        answer = answer_of (sockets->pdata[i], attempt);
        if (filer_frame_is (answer, "nat-session"))
          opened++;
        else
          g_assert_cmpstr (filer_frame_get (answer, "code"), ==, "busy");
      }

  return opened;
}

static void
legit_pair (Fixture    *fixture,
            const char *a_ip,
            const char *b_ip,
            const char *b_id)
{
  g_autoptr(GSocket) a = raw_socket_at (a_ip);
  g_autoptr(GSocket) b = b_ip ? raw_socket_at (b_ip) : NULL;
  g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
  g_autoptr(FilerFrame) answer = NULL;
  g_autoptr(FilerFrame) offer = NULL;
  g_autofree char *a_id = g_strdup_printf ("legit-%s", a_ip);

  bind_at (fixture, a, a_id);
  if (b_ip)
    bind_at (fixture, b, b_id);
  filer_frame_set (connect, "id", a_id);
  filer_frame_set (connect, "to", b_id);
  filer_frame_set (connect, "attempt", "legit");
  raw_send (a, fixture->server_address, connect);
  answer = answer_of (a, "legit");
  g_assert_cmpstr (filer_frame_get_message_type (answer), ==, "nat-session");
  if (b)
    {
      offer = expect_frame (b, "nat-offer");
      g_assert_cmpstr (filer_frame_get (offer, "peer-id"), ==, a_id);
    }
}

static void
test_per_address (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *attackers[] = { "127.0.0.2", "127.0.0.3", "127.0.0.4" };

  /* 20 ids from one address could open 80 sessions (4 toward each);
   * the address gets 64, then busy. */
  for (guint i = 0; i < G_N_ELEMENTS (attackers); i++)
    g_assert_cmpuint (flood_from (fixture, attackers[i], 20), ==, 64);
  g_assert_cmpuint (filer_rendezvous_server_get_n_sessions (fixture->server), ==, 3 * 64);

  /* A pair elsewhere still gets its session, and B its offer. */
  legit_pair (fixture, "127.0.0.20", "127.0.0.21", "legit-b");
}

static gboolean
no_sessions (gpointer user_data)
{
  Fixture *fixture = user_data;

  return filer_rendezvous_server_get_n_sessions (fixture->server) == 0;
}

/* The 64 at once come back only as fast as one a second: sessions that
 * are given up (5 s unanswered) do not hand the address 64 new ones. */
static void
test_session_rate (Fixture       *fixture,
                   gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();
  double waited;
  guint again;

  g_assert_cmpuint (flood_from (fixture, "127.0.0.40", 20), ==, 64);
  filer_test_wait_until (no_sessions, fixture, 10000, "the unanswered sessions to be given up");
  waited = (g_get_monotonic_time () - start) / 1e6;

  again = flood_from (fixture, "127.0.0.40", 20);
  g_test_message ("%.1f s later the address opened %u sessions more", waited, again);
  g_assert_cmpuint (again, >=, 1);
  g_assert_cmpuint (again, <=, (guint)(waited + 3));

  /* Another address is not affected. */
  g_assert_cmpuint (flood_from (fixture, "127.0.0.41", 20), ==, 64);
}

static void
test_per_target (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GSocket) victim = raw_socket_at ("127.0.0.30");
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  guint opened = 0;

  bind_at (fixture, victim, "victim");

  /* 16 ids from one address all ask for the victim: 4 get a session. */
  for (guint i = 0; i < 16; i++)
    {
      g_autofree char *id = g_strdup_printf ("atk-%u", i);
      g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
      g_autoptr(FilerFrame) answer = NULL;

      g_ptr_array_add (sockets, raw_socket_at ("127.0.0.31"));
      bind_at (fixture, sockets->pdata[i], id);
      filer_frame_set (connect, "id", id);
      filer_frame_set (connect, "to", "victim");
      filer_frame_set (connect, "attempt", "x");
      raw_send (sockets->pdata[i], fixture->server_address, connect);
      answer = answer_of (sockets->pdata[i], "x");
      if (filer_frame_is (answer, "nat-session"))
        opened++;
      else
        g_assert_cmpstr (filer_frame_get (answer, "code"), ==, "busy");
    }
  g_assert_cmpuint (opened, ==, 4);

  /* A caller from elsewhere still reaches the victim (the victim's 16
   * are used up only by 4 addresses that may see it, each holding its
   * 4; docs/protocol.md §4.4). */
  legit_pair (fixture, "127.0.0.32", NULL, "victim");
}

/* Sends @frame (@bytes of it) from a fresh unbound address and returns
 * the bytes that come back within a second. */
static gsize
answered_bytes (GSocketAddress *to,
                const char     *ip,
                const guint8   *data,
                gsize           length)
{
  g_autoptr(GSocket) socket = raw_socket_at (ip);
  g_autoptr(GError) error = NULL;
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
  gsize total = 0;
  guint8 buffer[65536];

  g_socket_send_to (socket, to, (const char *)data, length, NULL, &error);
  g_assert_no_error (error);
  while (g_get_monotonic_time () < end)
    {
      while (g_socket_condition_check (socket, G_IO_IN) & G_IO_IN)
        {
          gssize n = g_socket_receive (socket, (char *)buffer, sizeof buffer, NULL, NULL);

          g_assert_cmpint (n, >, 0);
          total += n;
        }
      filer_test_spin (10);
    }

  return total;
}

static void
test_amplification (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) port2 = g_inet_socket_address_new (loopback, filer_rendezvous_server_get_port2 (fixture->server));
  g_autoptr(GSocket) b = raw_socket_at ("127.0.0.41");
  /* The shortest of each kind a sender can make: short ids, no extras. */
  const char *requests[] = {
    "type:nat-bind;id:a",
    "type:nat-bind;id:b;mapping:independent",
    "type:nat-connect;to:b;attempt:a",
    "type:nat-connect;id:a;to:b;attempt:a",
    "type:nat-connect;id:x;to:b;attempt:a",
    "type:nat-accept;session:0011223344556677",
    "type:nat-ready;session:0011223344556677",
    "type:nat-close;session:0011223344556677",
    "type:nat-relay;session:0011223344556677",
    "type:nat-probe;id:a",
    "type:nat-what",
  };
  guint n = 0;

  /* One id bound, so that refusals other than not-bound can happen. */
  bind_at (fixture, b, "b");

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    for (guint port = 0; port < 2; port++)
      {
        g_autofree char *ip = g_strdup_printf ("127.0.0.%u", 50 + n++);
        g_autofree char *text = g_strdup_printf ("CL:0;%s", requests[i]);
        guint8 datagram[256];
        gsize length = strlen (text) + 2;
        gsize back;

        datagram[0] = strlen (text) & 0xff;
        datagram[1] = 0;
        memcpy (datagram + 2, text, strlen (text));
        back = answered_bytes (port ? port2 : fixture->server_address, ip, datagram, length);
        g_test_message ("%s to port %u: %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " back",
                        requests[i], port + 1, length, back);
        g_assert_cmpuint (back, <=, length);
      }

  /* Padded, they are answered: nat-probe, nat-bind, and not-bound. */
  {
    g_autoptr(GSocket) socket = raw_socket_at ("127.0.0.90");
    g_autoptr(FilerFrame) probe = filer_frame_new ("nat-probe");
    g_autoptr(FilerFrame) probed = NULL;
    g_autoptr(FilerFrame) connect = filer_frame_new ("nat-connect");
    g_autoptr(FilerFrame) refused = NULL;

    filer_frame_set (probe, "id", "a");
    filer_frame_pad_to (probe, 96);
    raw_send (socket, port2, probe);
    probed = expect_frame (socket, "nat-probed");

    filer_frame_set (connect, "id", "nobody");
    filer_frame_set (connect, "to", "b");
    filer_frame_set (connect, "attempt", "a");
    raw_send (socket, fixture->server_address, connect);
    refused = expect_frame (socket, "nat-refused");
    g_assert_cmpstr (filer_frame_get (refused, "code"), ==, "not-bound");
  }
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add ("/filer/rendezvous/protocol", Fixture, NULL, fixture_setup, test_protocol, fixture_teardown);
  g_test_add ("/filer/rendezvous/refusals", Fixture, NULL, fixture_setup, test_refusals, fixture_teardown);
  g_test_add ("/filer/rendezvous/garbage", Fixture, NULL, fixture_setup, test_garbage, fixture_teardown);
  g_test_add ("/filer/rendezvous/client-direct", Fixture, NULL, fixture_setup, test_client_direct, fixture_teardown);
  g_test_add ("/filer/rendezvous/client-relay", Fixture, NULL, fixture_setup, test_client_relay, fixture_teardown);
  g_test_add ("/filer/rendezvous/client-refused", Fixture, NULL, fixture_setup, test_client_refused, fixture_teardown);
  g_test_add ("/filer/rendezvous/no-answer", Fixture, NULL, fixture_setup, test_no_answer, fixture_teardown);
  g_test_add ("/filer/rendezvous/byte-limit", Fixture, NULL, fixture_setup, test_byte_limit, fixture_teardown);
  g_test_add ("/filer/rendezvous/wrong-key/direct", Fixture, GINT_TO_POINTER (FALSE), fixture_setup,
              test_wrong_key, fixture_teardown);
  g_test_add ("/filer/rendezvous/wrong-key/relay", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_wrong_key, fixture_teardown);
  g_test_add ("/filer/rendezvous/proven-caller", Fixture, NULL, fixture_setup, test_proven_caller,
              fixture_teardown);
  g_test_add ("/filer/rendezvous/pseudotcp-keys", Fixture, NULL, fixture_setup, test_pseudotcp_keys,
              fixture_teardown);
  g_test_add ("/filer/rendezvous/limits/per-address", Fixture, NULL, fixture_setup, test_per_address,
              fixture_teardown);
  g_test_add ("/filer/rendezvous/limits/per-target", Fixture, NULL, fixture_setup, test_per_target,
              fixture_teardown);
  g_test_add ("/filer/rendezvous/limits/session-rate", Fixture, NULL, fixture_setup, test_session_rate,
              fixture_teardown);
  g_test_add ("/filer/rendezvous/limits/amplification", Fixture, NULL, fixture_setup, test_amplification,
              fixture_teardown);
  g_test_add_func ("/filer/rendezvous/address-equal", test_address_equal);
  g_test_add_func ("/filer/rendezvous/server/bind-foreign-address", test_bind_foreign_address);
  g_test_add_func ("/filer/rendezvous/server/bind-needs-secret", test_bind_needs_secret);
  g_test_add_func ("/filer/rendezvous/server/relay-rate", test_server_relay_rate);
  g_test_add_func ("/filer/rendezvous/server/relay-bytes", test_server_relay_bytes);
  g_test_add_func ("/filer/rendezvous/server/relay-wrong-key", test_server_relay_wrong_key);

  return g_test_run ();
}
