/* test-tls.c: mutual TLS 1.3 between device keys, with a wire in the middle
 *
 * Two ends joined through a "wire" that copies every byte between two
 * socketpairs, records them, and can flip one: what a LAN neighbour or a
 * relay in the middle sees and can do.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define _GNU_SOURCE 1

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define MARKER "FILER-PLAINTEXT-MARKER-7d1e"

typedef struct
{
  GSocket    *a;            /* the client's far end */
  GSocket    *b;            /* the server's far end */
  GSource    *a_source;
  GSource    *b_source;
  GByteArray *seen;         /* every byte, both ways */
  gsize       to_server;    /* bytes passed client → server */
  gssize      flip_at;      /* flip the byte at this client→server offset; -1: never */
  gboolean    not_socket;   /* the server's stream is not a GSocketConnection (a NAT path's) */
} Wire;

static GIOStream *
stream_for_fd (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

static GSocket *
socket_for_fd (int fd)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);
  return socket;
}

static void
copy (Wire    *wire,
      GSocket *from,
      GSocket *to)
{
  guint8 buffer[16384];
  gssize n;

  while ((n = g_socket_receive (from, (char *)buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      if (from == wire->a)
        {
          if (wire->flip_at >= 0 && (gsize)wire->flip_at >= wire->to_server &&
              (gsize)wire->flip_at < wire->to_server + n)
            buffer[wire->flip_at - wire->to_server] ^= 0x01;
          wire->to_server += n;
        }
      g_byte_array_append (wire->seen, buffer, n);
      /* A socketpair's buffer is large; a short write would only lose
       * test data, so insist. */
      for (gssize done = 0; done < n;)
        {
          g_autoptr(GError) error = NULL;
          gssize w = g_socket_send (to, (char *)buffer + done, n - done, NULL, &error);

          if (w > 0)
            done += w;
          else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_usleep (1000);
          else
            return;   /* that end has gone (it refused the handshake) */
        }
    }
  if (n == 0)
    g_socket_shutdown (to, FALSE, TRUE, NULL);
}

static gboolean
a_readable_cb (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  Wire *wire = user_data;

  copy (wire, wire->a, wire->b);
  return (condition & G_IO_HUP) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
b_readable_cb (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  Wire *wire = user_data;

  copy (wire, wire->b, wire->a);
  return (condition & G_IO_HUP) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

/* Two streams, client's and server's, joined through @wire. */
static void
wire_up (Wire       *wire,
         GIOStream **client,
         GIOStream **server)
{
  int left[2], right[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, left), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, right), ==, 0);

  *client = stream_for_fd (left[0]);
  *server = stream_for_fd (right[0]);
  if (wire->not_socket)
    {
      GIOStream *connection = *server;

      /* The connection lives as long as the stream over its halves. */
      *server = g_simple_io_stream_new (g_io_stream_get_input_stream (connection),
                                        g_io_stream_get_output_stream (connection));
      g_object_set_data_full (G_OBJECT (*server), "connection", connection, g_object_unref);
    }
  wire->a = socket_for_fd (left[1]);
  wire->b = socket_for_fd (right[1]);
  wire->seen = g_byte_array_new ();
  wire->flip_at = wire->flip_at ? wire->flip_at : -1;

  wire->a_source = g_socket_create_source (wire->a, G_IO_IN | G_IO_HUP, NULL);
  g_source_set_callback (wire->a_source, (GSourceFunc)(void (*)(void))a_readable_cb, wire, NULL);
  g_source_attach (wire->a_source, NULL);
  wire->b_source = g_socket_create_source (wire->b, G_IO_IN | G_IO_HUP, NULL);
  g_source_set_callback (wire->b_source, (GSourceFunc)(void (*)(void))b_readable_cb, wire, NULL);
  g_source_attach (wire->b_source, NULL);
}

static void
wire_clear (Wire *wire)
{
  filer_clear_source (&wire->a_source);
  filer_clear_source (&wire->b_source);
  g_clear_object (&wire->a);
  g_clear_object (&wire->b);
  g_clear_pointer (&wire->seen, g_byte_array_unref);
}

typedef struct
{
  gboolean   done;
  GIOStream *stream;
  char      *peer_id;
  GError    *error;
} Result;

static void
result_clear (Result *result)
{
  g_clear_object (&result->stream);
  g_clear_pointer (&result->peer_id, g_free);
  g_clear_error (&result->error);
}

static void
handshake_done_cb (GObject      *object,
                   GAsyncResult *async_result,
                   gpointer      user_data)
{
  Result *result = user_data;

  result->stream = filer_tls_handshake_finish (async_result, &result->peer_id, &result->error);
  result->done = TRUE;
}

static gboolean
both_done (gpointer user_data)
{
  Result *results = user_data;

  return results[0].done && results[1].done;
}

static FilerIdentity *
identity_new (void)
{
  g_autoptr(GError) error = NULL;
  FilerIdentity *identity = filer_identity_new_ephemeral (&error);

  g_assert_no_error (error);
  return identity;
}

/* Client @me expecting @expected; server @them expecting @server_expects. */
static void
handshake (Wire          *wire,
           FilerIdentity *me,
           const char    *expected,
           FilerIdentity *them,
           const char    *server_expects,
           Result         results[2])
{
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;

  wire_up (wire, &client, &server);
  filer_tls_handshake_async (client, FILER_TLS_ROLE_CLIENT, me, expected, NULL,
                             handshake_done_cb, &results[0]);
  filer_tls_handshake_async (server, FILER_TLS_ROLE_SERVER, them, server_expects, NULL,
                             handshake_done_cb, &results[1]);
  filer_test_wait_until (both_done, results, 15000, "both handshakes end");
}

static gboolean
contains (GByteArray *haystack,
          const char *needle)
{
  return memmem (haystack->data, haystack->len, needle, strlen (needle)) != NULL;
}

static gboolean
accept_any_cb (GTlsConnection       *connection,
               GTlsCertificate      *certificate,
               GTlsCertificateFlags  errors,
               gpointer              user_data)
{
  return TRUE;
}

static GBytes *
marked_payload (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)(i * 31 + 7);
  for (gsize at = 0; at + strlen (MARKER) <= size; at += 4096)
    memcpy (data + at, MARKER, strlen (MARKER));
  return g_bytes_new_take (data, size);
}

typedef struct
{
  GByteArray *received;
  GError     *error;
  gboolean    done;
  guint8      buffer[8192];
} Reader;

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Reader *reader = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &reader->error);

  if (n <= 0)
    {
      reader->done = TRUE;
      return;
    }
  g_byte_array_append (reader->received, reader->buffer, n);
  g_input_stream_read_async (G_INPUT_STREAM (object), reader->buffer, sizeof reader->buffer,
                             G_PRIORITY_DEFAULT, NULL, read_cb, reader);
}

typedef struct
{
  gboolean done;
  GError  *error;
} Writer;

static void
written_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Writer *writer = user_data;

  if (g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &writer->error))
    g_output_stream_close (G_OUTPUT_STREAM (object), NULL, NULL);
  writer->done = TRUE;
}

static gboolean
writer_done (gpointer user_data)
{
  return ((Writer *)user_data)->done;
}

static gboolean
reader_done (gpointer user_data)
{
  return ((Reader *)user_data)->done;
}

/* Sends @payload from the client over TLS; returns what the server read. */
static GByteArray *
send_payload (Result  results[2],
              GBytes  *payload,
              GError **read_error)
{
  Reader reader = { g_byte_array_new (), NULL, FALSE, { 0 } };
  Writer writer = { FALSE, NULL };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gsize size;
  gconstpointer data = g_bytes_get_data (payload, &size);

  g_input_stream_read_async (g_io_stream_get_input_stream (results[1].stream), reader.buffer,
                             sizeof reader.buffer, G_PRIORITY_DEFAULT, NULL, read_cb, &reader);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (results[0].stream), data, size,
                                   G_PRIORITY_DEFAULT, cancellable, written_cb, &writer);
  filer_test_wait_until (reader_done, &reader, 10000, "the server reads to the end");
  /* The reader may stop first (an error): the write must end before
   * @writer, on this stack, goes. */
  g_cancellable_cancel (cancellable);
  filer_test_wait_until (writer_done, &writer, 10000, "the client's write to end");
  g_clear_error (&writer.error);
  if (read_error != NULL)
    *read_error = reader.error;
  else
    g_clear_error (&reader.error);
  return reader.received;
}

static void
test_mutual (gconstpointer data)
{
  gboolean not_socket = GPOINTER_TO_INT (data);
  g_autoptr(FilerIdentity) alice = identity_new ();
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(GBytes) payload = marked_payload (256 * 1024);
  g_autoptr(GByteArray) received = NULL;
  g_autoptr(GError) error = NULL;
  Result results[2] = { { 0 } };
  Wire wire = { .not_socket = not_socket };

  /* Alice knows whom she calls; Bob learns who called. */
  handshake (&wire, alice, filer_identity_get_id (bob), bob, NULL, results);
  g_assert_no_error (results[0].error);
  g_assert_no_error (results[1].error);
  g_assert_cmpstr (results[0].peer_id, ==, filer_identity_get_id (bob));
  g_assert_cmpstr (results[1].peer_id, ==, filer_identity_get_id (alice));
  g_assert_cmpint (g_tls_connection_get_protocol_version (G_TLS_CONNECTION (results[0].stream)), ==,
                   G_TLS_PROTOCOL_VERSION_TLS_1_3);
  /* Keys are checked, not CAs: the client carries no CA database (the
   * system's would be loaded into each connection, ~250 KiB and
   * milliseconds each). The listener's side of TCP is not glib-networking's
   * at all (no handshake thread for a stranger to hold). */
  g_assert_null (g_tls_connection_get_database (G_TLS_CONNECTION (results[0].stream)));
  if (not_socket)
    g_assert_null (g_tls_connection_get_database (G_TLS_CONNECTION (results[1].stream)));
  else
    g_assert_false (G_IS_TLS_CONNECTION (results[1].stream));
  g_assert_true (filer_tls_is_tls_stream (results[1].stream));

  received = send_payload (results, payload, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (received->data, received->len,
                   g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));

  /* The wire carried all of it, and none of it readable. */
  g_assert_cmpuint (wire.seen->len, >, g_bytes_get_size (payload));
  g_assert_nonnull (memmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                            MARKER, strlen (MARKER)));
  g_assert_false (contains (wire.seen, MARKER));

  result_clear (&results[0]);
  result_clear (&results[1]);
  wire_clear (&wire);
}

/* Alice means Bob, Mallory answers with her own key. */
static void
test_wrong_server_key (void)
{
  g_autoptr(FilerIdentity) alice = identity_new ();
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(FilerIdentity) mallory = identity_new ();
  Result results[2] = { { 0 } };
  Wire wire = { 0 };

  handshake (&wire, alice, filer_identity_get_id (bob), mallory, NULL, results);
  g_assert_null (results[0].stream);
  g_assert_nonnull (results[0].error);
  g_assert_null (results[0].peer_id);
  /* Nothing was sent: the handshake ended before any application data. */
  g_assert_false (contains (wire.seen, MARKER));

  result_clear (&results[0]);
  result_clear (&results[1]);
  wire_clear (&wire);
}

/* A listener that expects Alice refuses Mallory's key. */
static void
test_wrong_client_key (void)
{
  g_autoptr(FilerIdentity) alice = identity_new ();
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(FilerIdentity) mallory = identity_new ();
  Result results[2] = { { 0 } };
  Wire wire = { 0 };

  handshake (&wire, mallory, filer_identity_get_id (bob), bob, filer_identity_get_id (alice),
             results);
  g_assert_null (results[1].stream);
  g_assert_nonnull (results[1].error);

  result_clear (&results[0]);
  result_clear (&results[1]);
  wire_clear (&wire);
}

static void
bare_handshake_done_cb (GObject      *object,
                        GAsyncResult *async_result,
                        gpointer      user_data)
{
  Result *result = user_data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), async_result, &result->error);
  result->done = TRUE;
}

/* A client with no certificate at all is refused by the listener. */
static void
test_no_client_certificate (void)
{
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GIOStream) bare = NULL;
  g_autoptr(GError) error = NULL;
  Result results[2] = { { 0 } };
  Wire wire = { 0 };

  wire_up (&wire, &client, &server);
  bare = g_tls_client_connection_new (client, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (bare, "accept-certificate", G_CALLBACK (accept_any_cb), NULL);
  filer_tls_handshake_async (server, FILER_TLS_ROLE_SERVER, bob, NULL, NULL,
                             handshake_done_cb, &results[1]);
  /* The bare client's handshake is waited for too: one left running
   * past its test fails under the next one's feet. */
  g_tls_connection_handshake_async (G_TLS_CONNECTION (bare), G_PRIORITY_DEFAULT, NULL,
                                    bare_handshake_done_cb, &results[0]);
  filer_test_wait_until (both_done, results, 10000, "both handshakes end");
  g_assert_null (results[1].stream);
  g_assert_nonnull (results[1].error);

  result_clear (&results[0]);
  result_clear (&results[1]);
  wire_clear (&wire);
}

/* A caller that connects and says nothing holds a listener's handshake
 * for FILER_TLS_HANDSHAKE_TIMEOUT_MS, not forever. */
static void
test_silent_peer (void)
{
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  Result results[2] = { { 0 } };
  Wire wire = { 0 };
  gint64 start = g_get_monotonic_time ();
  gint64 took_ms;

  wire_up (&wire, &client, &server);
  filer_tls_handshake_async (server, FILER_TLS_ROLE_SERVER, bob, NULL, NULL,
                             handshake_done_cb, &results[1]);
  results[0].done = TRUE;
  filer_test_wait_until (both_done, results, FILER_TLS_HANDSHAKE_TIMEOUT_MS + 5000,
                         "the listener gives up");
  took_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (results[1].error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (took_ms, >=, FILER_TLS_HANDSHAKE_TIMEOUT_MS - 500);

  result_clear (&results[1]);
  wire_clear (&wire);
}

/* One flipped bit in the middle of the data: the reader gets an error,
 * never the altered bytes. */
static void
test_tamper (void)
{
  g_autoptr(FilerIdentity) alice = identity_new ();
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(GBytes) payload = marked_payload (256 * 1024);
  g_autoptr(GByteArray) received = NULL;
  g_autoptr(GError) error = NULL;
  Result results[2] = { { 0 } };
  Wire wire = { 0 };

  wire.flip_at = 100 * 1024;   /* well past the handshake */
  handshake (&wire, alice, filer_identity_get_id (bob), bob, NULL, results);
  g_assert_no_error (results[0].error);
  g_assert_no_error (results[1].error);

  received = send_payload (results, payload, &error);
  g_assert_nonnull (error);
  g_assert_cmpuint (received->len, <, g_bytes_get_size (payload));
  /* What did arrive is a true prefix. */
  g_assert_cmpmem (received->data, received->len, g_bytes_get_data (payload, NULL), received->len);

  result_clear (&results[0]);
  result_clear (&results[1]);
  wire_clear (&wire);
}

static void
written_only_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Writer *writer = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &writer->error);
  writer->done = TRUE;
}

static void
closed_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Writer *closer = user_data;

  g_io_stream_close_finish (G_IO_STREAM (object), result, &closer->error);
  closer->done = TRUE;
}

/* Reads until @want bytes are in, or to the end if @want is 0. */
typedef struct
{
  GByteArray *received;
  gsize       want;
  gboolean    done;
  gboolean    ended;   /* read returned 0: close_notify */
  GError     *error;
  guint8      buffer[8192];
} Gather;

static void
gather_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Gather *gather = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &gather->error);

  if (n > 0)
    g_byte_array_append (gather->received, gather->buffer, n);
  gather->ended = n == 0;
  if (n <= 0 || (gather->want > 0 && gather->received->len >= gather->want))
    {
      gather->done = TRUE;
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (object), gather->buffer, sizeof gather->buffer,
                             G_PRIORITY_DEFAULT, NULL, gather_cb, gather);
}

static gboolean
gather_done (gpointer user_data)
{
  return ((Gather *)user_data)->done;
}

/* The listener writes more than its socket holds while the peer is not
 * reading: the write is taken (the TLS stream keeps the records the
 * socket did not), and they go out by themselves once the peer reads,
 * with nobody writing again. Then a write followed at once by a close:
 * the close waits for the records to go out, then close_notify, so the
 * peer reads all of it and a clean end. */
static void
test_server_writes_past_full_socket (void)
{
  g_autoptr(FilerIdentity) alice = identity_new ();
  g_autoptr(FilerIdentity) bob = identity_new ();
  g_autoptr(GBytes) payload = marked_payload (64 * 1024);
  g_autoptr(GSocket) server_socket = NULL;
  Result results[2] = { { 0 } };
  Writer writer = { FALSE, NULL };
  Writer closer = { FALSE, NULL };
  GIOStream *client, *server;
  int pair[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, pair), ==, 0);
  client = stream_for_fd (pair[0]);
  server = stream_for_fd (pair[1]);
  filer_tls_handshake_async (client, FILER_TLS_ROLE_CLIENT, alice, filer_identity_get_id (bob), NULL,
                             handshake_done_cb, &results[0]);
  filer_tls_handshake_async (server, FILER_TLS_ROLE_SERVER, bob, NULL, NULL,
                             handshake_done_cb, &results[1]);
  filer_test_wait_until (both_done, results, 15000, "both handshakes end");
  g_assert_no_error (results[0].error);
  g_assert_no_error (results[1].error);
  g_clear_object (&client);
  g_clear_object (&server);

  /* A socket that holds much less than the write. */
  server_socket = g_socket_new_from_fd (dup (pair[1]), NULL);
  g_socket_set_option (server_socket, SOL_SOCKET, SO_SNDBUF, 4096, NULL);

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GByteArray) received = g_byte_array_new ();
      /* Round 0 reads the payload; round 1 to the end. */
      Gather gather = { received, round == 0 ? g_bytes_get_size (payload) : 0, FALSE, FALSE, NULL, { 0 } };

      writer.done = FALSE;
      g_output_stream_write_all_async (g_io_stream_get_output_stream (results[1].stream),
                                       g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                                       G_PRIORITY_DEFAULT, NULL, written_only_cb, &writer);
      filer_test_wait_until (writer_done, &writer, 10000, "the listener's write is taken");
      g_assert_no_error (writer.error);
      if (round == 1)
        g_io_stream_close_async (results[1].stream, G_PRIORITY_DEFAULT, NULL, closed_cb, &closer);
      filer_test_spin (200);

      /* Only now does the peer read. */
      g_input_stream_read_async (g_io_stream_get_input_stream (results[0].stream), gather.buffer,
                                 sizeof gather.buffer, G_PRIORITY_DEFAULT, NULL, gather_cb, &gather);
      filer_test_wait_until (gather_done, &gather, 5000, "the peer reads");
      g_assert_no_error (gather.error);
      g_assert_cmpmem (received->data, received->len,
                       g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
      if (round == 1)
        {
          g_assert_true (gather.ended);
          filer_test_wait_until (writer_done, &closer, 5000, "the close completes");
          g_assert_no_error (closer.error);
        }
    }

  result_clear (&results[0]);
  result_clear (&results[1]);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_printerr ("No TLS backend (glib-networking) installed\n");
      return 1;
    }

  g_test_add_data_func ("/filer/tls/mutual", GINT_TO_POINTER (FALSE), test_mutual);
  /* Over a stream that is not a socket's, as on a NAT path: glib-networking on both sides. */
  g_test_add_data_func ("/filer/tls/mutual-not-socket", GINT_TO_POINTER (TRUE), test_mutual);
  g_test_add_func ("/filer/tls/wrong-server-key", test_wrong_server_key);
  g_test_add_func ("/filer/tls/wrong-client-key", test_wrong_client_key);
  g_test_add_func ("/filer/tls/no-client-certificate", test_no_client_certificate);
  g_test_add_func ("/filer/tls/tamper", test_tamper);
  g_test_add_func ("/filer/tls/silent-peer", test_silent_peer);
  g_test_add_func ("/filer/tls/server-writes-past-full-socket", test_server_writes_past_full_socket);

  return g_test_run ();
}
