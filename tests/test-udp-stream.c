/* test-udp-stream.c: both stream engines carry bytes reliably over lossy UDP
 *
 * Every case runs twice: FilerUdpStream (PseudoTcp) and FilerQuicStream
 * (QUIC with ngtcp2).
 *
 * Two loopback UDP sockets, with a forwarding shim between them that the
 * test controls: it drops a share of datagrams (chosen by the test's own
 * seeded random numbers), or all of them (the peer vanishes).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

#include <sys/socket.h>

typedef struct _Fixture Fixture;

typedef struct
{
  Fixture *fixture;
  GSocket *socket;
  GSource *source;
  GIOStream *stream;
  guint64 datagrams_sent;
} End;

#define stream_receive(s, d, l) filer_datagram_stream_receive_segment (FILER_DATAGRAM_STREAM (s), d, l)
#define stream_set_idle_timeout(s, ms) filer_datagram_stream_set_idle_timeout (FILER_DATAGRAM_STREAM (s), ms)
#define stream_is_established(s) filer_datagram_stream_is_established (FILER_DATAGRAM_STREAM (s))
#define stream_handshake_async(s, i, c, u) filer_datagram_stream_handshake_async (FILER_DATAGRAM_STREAM (s), i, NULL, c, u)
#define stream_handshake_finish(s, r, e) filer_datagram_stream_handshake_finish (FILER_DATAGRAM_STREAM (s), r, e)

struct _Fixture
{
  End a;
  End b;
  GSocket *shim;
  GSource *shim_source;
  GSocketAddress *shim_address;
  double loss;          /* share of datagrams the shim drops */
  gboolean cut;         /* drop everything */
  guint64 forwarded;
  guint64 dropped;
};

static GSocket *
loopback_socket (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);
  /* Room for a window's worth of datagrams in flight on loopback. */
  g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, 4 * 1024 * 1024, NULL);
  g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, 4 * 1024 * 1024, NULL);

  return g_steal_pointer (&socket);
}

static gboolean
shim_readable_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  Fixture *fixture = user_data;
  guint8 buffer[2048];

  for (;;)
    {
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GSocketAddress) a_address = g_socket_get_local_address (fixture->a.socket, NULL);
      g_autoptr(GSocketAddress) b_address = g_socket_get_local_address (fixture->b.socket, NULL);
      GSocketAddress *to;
      gssize n;

      n = g_socket_receive_from (socket, &from, (char *)buffer, sizeof buffer, NULL, NULL);
      if (n < 0)
        break;

      to = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from))
             == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a_address))
           ? b_address : a_address;

      if (fixture->cut || g_test_rand_double () < fixture->loss)
        {
          fixture->dropped++;
          continue;
        }

      fixture->forwarded++;
      g_socket_send_to (socket, to, (const char *)buffer, n, NULL, NULL);
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
end_readable_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  End *end = user_data;
  guint8 buffer[2048];
  gssize n;

  while ((n = g_socket_receive (socket, (char *)buffer, sizeof buffer, NULL, NULL)) >= 0)
    {
      if (end->stream)
        stream_receive (end->stream, buffer, n);
    }

  return G_SOURCE_CONTINUE;
}

static void
end_send (const guint8 *segment,
          gsize         length,
          gpointer      user_data)
{
  End *end = user_data;

  end->datagrams_sent++;
  g_socket_send_to (end->socket, end->fixture->shim_address,
                    (const char *)segment, length, NULL, NULL);
}

static void
end_init (Fixture    *fixture,
          End        *end,
          const char *engine)
{
  end->fixture = fixture;
  end->socket = loopback_socket ();
  end->source = g_socket_create_source (end->socket, G_IO_IN, NULL);
  g_source_set_callback (end->source, G_SOURCE_FUNC (end_readable_cb), end, NULL);
  g_source_attach (end->source, NULL);
  end->stream = G_IO_STREAM (filer_datagram_stream_new (g_str_equal (engine, "quic") ? FILER_DATAGRAM_STREAM_ENGINE_QUIC : FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP, 0x46494c45, end_send, end, NULL));
}

static void
end_clear (End *end)
{
  if (end->stream)
    g_assert_finalize_object (g_steal_pointer (&end->stream));
  g_source_destroy (end->source);
  g_clear_pointer (&end->source, g_source_unref);
  g_clear_object (&end->socket);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->shim = loopback_socket ();
  fixture->shim_address = g_socket_get_local_address (fixture->shim, NULL);
  fixture->shim_source = g_socket_create_source (fixture->shim, G_IO_IN, NULL);
  g_source_set_callback (fixture->shim_source, G_SOURCE_FUNC (shim_readable_cb), fixture, NULL);
  g_source_attach (fixture->shim_source, NULL);

  end_init (fixture, &fixture->a, data);
  end_init (fixture, &fixture->b, data);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  end_clear (&fixture->a);
  end_clear (&fixture->b);
  g_source_destroy (fixture->shim_source);
  g_clear_pointer (&fixture->shim_source, g_source_unref);
  g_clear_object (&fixture->shim_address);
  g_clear_object (&fixture->shim);
}

/* --- async helpers ----------------------------------------------------- */

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} Result;

static void
handshake_done_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Result *r = user_data;

  r->ok = stream_handshake_finish (G_IO_STREAM (object), result, &r->error);
  r->done = TRUE;
}

static void
establish (Fixture *fixture)
{
  Result a = { 0, }, b = { 0, };

  stream_handshake_async (fixture->b.stream, FALSE, handshake_done_cb, &b);
  stream_handshake_async (fixture->a.stream, TRUE, handshake_done_cb, &a);
  filer_test_wait_for (&a.done, 10000, "handshake at A");
  filer_test_wait_for (&b.done, 10000, "handshake at B");
  g_assert_no_error (a.error);
  g_assert_no_error (b.error);
  g_assert_true (stream_is_established (fixture->a.stream));
  g_assert_true (stream_is_established (fixture->b.stream));
}

typedef struct
{
  Result result;
  GBytes *bytes;
} Writer;

static void
write_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Writer *w = user_data;

  w->result.ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &w->result.error);
  w->result.done = TRUE;
}

static void
write_all (GIOStream      *stream,
           Writer         *w,
           GBytes         *bytes)
{
  gsize size;
  gconstpointer data = g_bytes_get_data (bytes, &size);

  w->bytes = g_bytes_ref (bytes);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                   data, size, G_PRIORITY_DEFAULT, NULL, write_done_cb, w);
}

/* Reads until EOF (or @expected bytes), then completes. */
typedef struct
{
  Result result;
  GInputStream *input;
  GByteArray *data;
  gsize expected;
  gboolean eof;
  guint8 buffer[64 * 1024];
} Reader;

static void read_next (Reader *r);

static void
read_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Reader *r = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &r->result.error);

  if (n < 0)
    {
      r->result.done = TRUE;
      return;
    }

  if (n == 0)
    {
      r->eof = TRUE;
      r->result.ok = TRUE;
      r->result.done = TRUE;
      return;
    }

  g_byte_array_append (r->data, r->buffer, n);
  if (r->expected && r->data->len >= r->expected)
    {
      r->result.ok = TRUE;
      r->result.done = TRUE;
      return;
    }

  read_next (r);
}

static void
read_next (Reader *r)
{
  g_input_stream_read_async (r->input, r->buffer, sizeof r->buffer,
                             G_PRIORITY_DEFAULT, NULL, read_done_cb, r);
}

static void
read_all (GIOStream      *stream,
          Reader         *r,
          gsize           expected)
{
  r->input = g_io_stream_get_input_stream (G_IO_STREAM (stream));
  r->data = g_byte_array_new ();
  r->expected = expected;
  read_next (r);
}

static GBytes *
random_bytes (gsize size)
{
  guint32 *data = g_malloc (size);

  for (gsize i = 0; i < size / 4; i++)
    data[i] = g_test_rand_int ();

  return g_bytes_new_take (data, size);
}

static void
assert_same (GByteArray *got,
             GBytes     *sent)
{
  g_assert_cmpmem (got->data, got->len, g_bytes_get_data (sent, NULL), g_bytes_get_size (sent));
}

/* --- tests ------------------------------------------------------------- */

static void
test_echo (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr(GBytes) world = g_bytes_new_static ("world!", 6);
  Writer wa = { 0, }, wb = { 0, };
  Reader ra = { 0, }, rb = { 0, };

  establish (fixture);

  write_all (fixture->a.stream, &wa, hello);
  read_all (fixture->b.stream, &rb, 5);
  filer_test_wait_for (&rb.result.done, 5000, "hello at B");
  assert_same (rb.data, hello);

  write_all (fixture->b.stream, &wb, world);
  read_all (fixture->a.stream, &ra, 6);
  filer_test_wait_for (&ra.result.done, 5000, "world at A");
  assert_same (ra.data, world);

  g_assert_true (wa.result.ok && wb.result.ok);
  g_byte_array_unref (ra.data);
  g_byte_array_unref (rb.data);
  g_bytes_unref (wa.bytes);
  g_bytes_unref (wb.bytes);
}

static void
transfer_both_ways (Fixture *fixture,
                    gsize    size_ab,
                    gsize    size_ba,
                    guint    timeout_ms)
{
  g_autoptr(GBytes) ab = random_bytes (size_ab);
  g_autoptr(GBytes) ba = random_bytes (size_ba);
  Writer wa = { 0, }, wb = { 0, };
  Reader ra = { 0, }, rb = { 0, };
  gint64 start = g_get_monotonic_time ();
  double seconds;

  establish (fixture);

  write_all (fixture->a.stream, &wa, ab);
  write_all (fixture->b.stream, &wb, ba);
  read_all (fixture->b.stream, &rb, size_ab);
  read_all (fixture->a.stream, &ra, size_ba);

  filer_test_wait_for (&rb.result.done, timeout_ms, "A's data at B");
  filer_test_wait_for (&ra.result.done, timeout_ms, "B's data at A");
  filer_test_wait_for (&wa.result.done, timeout_ms, "A's write");
  filer_test_wait_for (&wb.result.done, timeout_ms, "B's write");
  seconds = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;

  g_assert_no_error (rb.result.error);
  g_assert_no_error (ra.result.error);
  assert_same (rb.data, ab);
  assert_same (ra.data, ba);

  g_test_message ("%zu + %zu bytes in %.2f s (%.1f MB/s); shim forwarded %" G_GUINT64_FORMAT
                  ", dropped %" G_GUINT64_FORMAT,
                  size_ab, size_ba, seconds, (size_ab + size_ba) / seconds / 1e6,
                  fixture->forwarded, fixture->dropped);

  g_byte_array_unref (ra.data);
  g_byte_array_unref (rb.data);
  g_bytes_unref (wa.bytes);
  g_bytes_unref (wb.bytes);
}

static void
test_bulk (Fixture       *fixture,
           gconstpointer  data)
{
  transfer_both_ways (fixture, 8 * 1024 * 1024, 1024 * 1024, 60000);
}

static void
test_lossy (Fixture       *fixture,
            gconstpointer  data)
{
  fixture->loss = 0.02;
  transfer_both_ways (fixture, 1024 * 1024, 256 * 1024, 90000);
  g_assert_cmpuint (fixture->dropped, >, 0);
}

static void
close_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Result *r = user_data;

  r->ok = g_io_stream_close_finish (G_IO_STREAM (object), result, &r->error);
  r->done = TRUE;
}

static void
test_eof (Fixture       *fixture,
          gconstpointer  data)
{
  g_autoptr(GBytes) payload = random_bytes (256 * 1024);
  Writer wa = { 0, };
  Reader rb = { 0, };
  Result ca = { 0, }, cb = { 0, };

  establish (fixture);

  /* A writes and closes at once; B still gets every byte, then EOF. */
  write_all (fixture->a.stream, &wa, payload);
  filer_test_wait_for (&wa.result.done, 10000, "A's write");
  g_io_stream_close_async (G_IO_STREAM (fixture->a.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &ca);

  read_all (fixture->b.stream, &rb, 0);
  filer_test_wait_for (&rb.result.done, 10000, "EOF at B");
  g_assert_no_error (rb.result.error);
  g_assert_true (rb.eof);
  assert_same (rb.data, payload);

  g_io_stream_close_async (G_IO_STREAM (fixture->b.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &cb);
  filer_test_wait_for (&ca.done, 10000, "A's close");
  filer_test_wait_for (&cb.done, 10000, "B's close");
  g_assert_no_error (ca.error);
  g_assert_no_error (cb.error);
  g_assert_true (g_io_stream_is_closed (G_IO_STREAM (fixture->a.stream)));

  g_byte_array_unref (rb.data);
  g_bytes_unref (wa.bytes);
}

static void
test_peer_vanishes (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GBytes) payload = random_bytes (64 * 1024);
  Writer wa = { 0, };
  Reader ra = { 0, }, rb = { 0, };
  gint64 start;

  stream_set_idle_timeout (fixture->a.stream, 1500);
  stream_set_idle_timeout (fixture->b.stream, 1500);
  establish (fixture);

  /* From now on nothing gets through: both ends must give up with a
   * clear error, the reader (with nothing to send) included. */
  fixture->cut = TRUE;
  start = g_get_monotonic_time ();
  write_all (fixture->a.stream, &wa, payload);
  read_all (fixture->a.stream, &ra, 0);
  read_all (fixture->b.stream, &rb, 0);

  filer_test_wait_for (&ra.result.done, 10000, "A's read to fail");
  filer_test_wait_for (&rb.result.done, 10000, "B's read to fail");
  g_assert_error (ra.result.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_error (rb.result.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_test_message ("gave up after %.1f s: %s",
                  (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC,
                  ra.result.error->message);

  filer_test_wait_for (&wa.result.done, 10000, "A's write to fail");
  g_assert_false (stream_is_established (fixture->a.stream));

  g_clear_error (&ra.result.error);
  g_clear_error (&rb.result.error);
  g_clear_error (&wa.result.error);
  g_byte_array_unref (ra.data);
  g_byte_array_unref (rb.data);
  g_bytes_unref (wa.bytes);
}

typedef struct
{
  guint n_frames;
  gsize content_bytes;
  gboolean got_done;
  gboolean closed;
  GError *close_error;
} FrameSink;

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   gpointer              user_data)
{
  FrameSink *sink = user_data;

  if (filer_frame_is (frame, "done"))
    {
      sink->got_done = TRUE;
      return;
    }

  g_assert_true (filer_frame_is (frame, "chunk"));
  sink->n_frames++;
  sink->content_bytes += filer_frame_get_content_size (frame);
}

static void
frame_closed_cb (FilerFrameConnection *connection,
                 const GError         *error,
                 gpointer              user_data)
{
  FrameSink *sink = user_data;

  sink->close_error = error ? g_error_copy (error) : NULL;
  sink->closed = TRUE;
}

static void
test_frames (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(FilerFrameConnection) sender = NULL;
  g_autoptr(FilerFrameConnection) receiver = NULL;
  g_autoptr(GBytes) chunk = random_bytes (32 * 1024);
  FrameSink sink = { 0, };
  FrameSink sender_sink = { 0, };
  const guint n_chunks = 64;

  establish (fixture);

  /* The frame connection runs on the UDP stream unchanged. */
  sender = filer_frame_connection_new (G_IO_STREAM (fixture->a.stream));
  receiver = filer_frame_connection_new (G_IO_STREAM (fixture->b.stream));
  g_signal_connect (receiver, "frame-received", G_CALLBACK (frame_received_cb), &sink);
  g_signal_connect (receiver, "closed", G_CALLBACK (frame_closed_cb), &sink);
  g_signal_connect (sender, "closed", G_CALLBACK (frame_closed_cb), &sender_sink);
  filer_frame_connection_start (sender);
  filer_frame_connection_start (receiver);

  for (guint i = 0; i < n_chunks; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("chunk");

      filer_frame_set_uint (frame, "index", i);
      filer_frame_set_content (frame, chunk);
      filer_frame_connection_send (sender, frame);
    }
  {
    g_autoptr(FilerFrame) done = filer_frame_new ("done");

    filer_frame_connection_send (sender, done);
  }
  filer_frame_connection_close (sender);

  filer_test_wait_for (&sink.got_done, 20000, "every frame at the receiver");
  g_assert_cmpuint (sink.n_frames, ==, n_chunks);
  g_assert_cmpuint (sink.content_bytes, ==, n_chunks * 32 * 1024);

  /* The sender's close reaches the receiver as a clean end. */
  filer_test_wait_for (&sink.closed, 20000, "the receiver to see the close");
  g_assert_no_error (sink.close_error);
  filer_frame_connection_close (receiver);
  filer_test_wait_for (&sender_sink.closed, 20000, "the sender's close to complete");
  g_clear_error (&sender_sink.close_error);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  {
    const char *engines[] = { "pseudotcp", "quic" };
    struct { const char *name; void (*func) (Fixture *, gconstpointer); } cases[] = {
      { "echo", test_echo },
      { "bulk", test_bulk },
      { "lossy", test_lossy },
      { "eof", test_eof },
      { "frames", test_frames },
      { "peer-vanishes", test_peer_vanishes },
    };

    for (guint e = 0; e < G_N_ELEMENTS (engines); e++)
      for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          g_autofree char *path = g_strdup_printf ("/filer/udp-stream/%s/%s", engines[e], cases[c].name);

          g_test_add (path, Fixture, engines[e], fixture_setup, cases[c].func, fixture_teardown);
        }
  }

  return g_test_run ();
}
