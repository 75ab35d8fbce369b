/* test-udp-stream.c: FilerDatagramStream carries bytes reliably over lossy UDP
 *
 * Every case runs through the base type's API against each engine (a
 * table of engines × cases: /filer/stream/quic/<case>,
 * /filer/stream/pseudotcp/<case>), and the base's own logic (handshake
 * task, idle watchdog, notify_alive, abort, close) also against a mock
 * engine that only frames bytes into datagrams (/filer/stream/mock/<case>).
 *
 * Two loopback UDP sockets, with a forwarding shim between them that the
 * test controls: it drops, holds back (reorders) and duplicates a share
 * of datagrams, chosen by the test's own seeded random numbers, or drops
 * all of them (the peer vanishes). Every case that moves data compares
 * what arrived with what was sent, byte for byte, after the writer's FIN:
 * a stream that loses, alters or adds a byte fails the content check, not
 * a watchdog.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

#include <string.h>
#include <sys/socket.h>

/* --- the mock engine ------------------------------------------------------ */

/* Not reliable: one datagram per write, a tag byte first ('S' open, 'A'
 * opened, 'D' data, 'F' end of data). Its rows run on a clean link; they
 * test what the base does, not how bytes survive loss. Its send window
 * never opens: after MOCK_WINDOW bytes a write waits for good. */

#define MOCK_WINDOW (1024 * 1024)

#define TEST_TYPE_MOCK_STREAM (test_mock_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestMockStream, test_mock_stream, TEST, MOCK_STREAM, FilerDatagramStream)

struct _TestMockStream
{
  FilerDatagramStream parent_instance;

  GByteArray *rbuf;
  gsize sent;
  guint initiator : 1;
  guint started : 1;
  guint established : 1;
  guint fin_sent : 1;
  guint fin_received : 1;
};

G_DEFINE_FINAL_TYPE (TestMockStream, test_mock_stream, FILER_TYPE_DATAGRAM_STREAM)

static void
mock_send (TestMockStream *self,
           char            tag,
           const void     *data,
           gsize           length)
{
  g_autofree guint8 *segment = g_malloc (length + 1);

  segment[0] = tag;
  if (length)
    memcpy (segment + 1, data, length);
  filer_datagram_stream_send_segment (FILER_DATAGRAM_STREAM (self), segment, length + 1);
}

static gboolean
mock_start (FilerDatagramStream  *stream,
            gboolean              initiator,
            GError              **error)
{
  TestMockStream *self = TEST_MOCK_STREAM (stream);

  self->initiator = initiator;
  self->started = TRUE;
  if (initiator)
    mock_send (self, 'S', NULL, 0);
  return TRUE;
}

static void
mock_receive (FilerDatagramStream *stream,
              const guint8        *segment,
              gsize                length)
{
  TestMockStream *self = TEST_MOCK_STREAM (stream);

  if (length == 0)
    return;

  switch (segment[0])
    {
    case 'S':
      if (self->started && !self->initiator)
        {
          mock_send (self, 'A', NULL, 0);
          if (!self->established)
            {
              self->established = TRUE;
              filer_datagram_stream_set_established (stream);
            }
        }
      break;
    case 'A':
      if (self->initiator && !self->established)
        {
          self->established = TRUE;
          filer_datagram_stream_set_established (stream);
        }
      break;
    case 'D':
      g_byte_array_append (self->rbuf, segment + 1, length - 1);
      filer_datagram_stream_wake (stream, G_IO_IN);
      break;
    case 'F':
      self->fin_received = TRUE;
      filer_datagram_stream_wake (stream, G_IO_IN);
      filer_datagram_stream_schedule (stream);
      break;
    default:
      break;
    }
}

static void
mock_tick (FilerDatagramStream *stream)
{
}

static gboolean
mock_next_timeout (FilerDatagramStream *stream,
                   gint64              *ready_us)
{
  return TRUE;    /* no timers of its own */
}

static gssize
mock_read (FilerDatagramStream  *stream,
           void                 *buffer,
           gsize                 count,
           GError              **error)
{
  TestMockStream *self = TEST_MOCK_STREAM (stream);
  const GError *failed = filer_datagram_stream_get_error (stream);
  gsize n = MIN (count, self->rbuf->len);

  if (failed)
    {
      g_propagate_error (error, g_error_copy (failed));
      return -1;
    }

  if (n > 0)
    {
      memcpy (buffer, self->rbuf->data, n);
      g_byte_array_remove_range (self->rbuf, 0, n);
      return n;
    }

  if (count == 0 || self->fin_received)
    return 0;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No data yet");
  return -1;
}

static gssize
mock_write (FilerDatagramStream  *stream,
            const void           *buffer,
            gsize                 count,
            GError              **error)
{
  TestMockStream *self = TEST_MOCK_STREAM (stream);

  if (self->fin_sent)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "Closed for writing");
      return -1;
    }

  if (!self->established || self->sent >= MOCK_WINDOW)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Not connected yet, or the window is full");
      return -1;
    }

  count = MIN (count, MIN (1200, MOCK_WINDOW - self->sent));
  mock_send (self, 'D', buffer, count);
  self->sent += count;
  return count;
}

static gboolean
mock_check (FilerDatagramStream *stream,
            GIOCondition         condition)
{
  TestMockStream *self = TEST_MOCK_STREAM (stream);

  if (condition & G_IO_IN)
    return self->rbuf->len > 0 || self->fin_received;

  if (condition & G_IO_OUT)
    return self->fin_sent || (self->established && self->sent < MOCK_WINDOW);

  return FALSE;
}

static void
mock_shutdown_write (FilerDatagramStream *stream)
{
  TestMockStream *self = TEST_MOCK_STREAM (stream);

  if (self->fin_sent)
    return;

  self->fin_sent = TRUE;
  mock_send (self, 'F', NULL, 0);
}

static gboolean
mock_close_done (FilerDatagramStream *stream,
                 gint64               closing_us)
{
  /* Waits for the peer's end of data (or a grace period). */
  return TEST_MOCK_STREAM (stream)->fin_received || closing_us >= 3 * G_USEC_PER_SEC;
}

static gboolean
mock_close_finish (FilerDatagramStream *stream)
{
  return TEST_MOCK_STREAM (stream)->fin_received;
}

static void
test_mock_stream_finalize (GObject *object)
{
  TestMockStream *self = TEST_MOCK_STREAM (object);

  g_byte_array_unref (self->rbuf);

  G_OBJECT_CLASS (test_mock_stream_parent_class)->finalize (object);
}

static void
test_mock_stream_class_init (TestMockStreamClass *klass)
{
  FilerDatagramStreamClass *stream_class = FILER_DATAGRAM_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_mock_stream_finalize;

  stream_class->start = mock_start;
  stream_class->receive = mock_receive;
  stream_class->tick = mock_tick;
  stream_class->next_timeout = mock_next_timeout;
  stream_class->read = mock_read;
  stream_class->write = mock_write;
  stream_class->check = mock_check;
  stream_class->shutdown_write = mock_shutdown_write;
  stream_class->close = mock_shutdown_write;
  stream_class->close_start = mock_shutdown_write;
  stream_class->close_done = mock_close_done;
  stream_class->close_finish = mock_close_finish;
}

static void
test_mock_stream_init (TestMockStream *self)
{
  self->rbuf = g_byte_array_new ();
}

/* --- engines, cases, the link --------------------------------------------- */

typedef enum
{
  ENGINE_QUIC,
  ENGINE_PSEUDOTCP,
  ENGINE_MOCK,
} Engine;

/* What the shim does to each datagram. */
typedef struct
{
  double loss;
  double reorder;       /* held back until the next one has gone */
  double duplicate;
} Link;

typedef struct _Fixture Fixture;

typedef struct
{
  Fixture *fixture;
  GSocket *socket;
  GSource *source;
  FilerDatagramStream *stream;
  FilerIdentity *identity;      /* this end's device key */
} End;

typedef struct
{
  const char *name;
  void (*func) (Fixture *, gconstpointer);
  Link link;
  gboolean on_mock;     /* needs no reliability: runs on the mock too */
  gpointer data;
  gboolean quic_only;   /* the engine proves keys itself (PseudoTcp cannot) */
} Case;

typedef struct
{
  Engine engine;
  const Case *test_case;
} Row;

struct _Fixture
{
  const Row *row;
  End a;
  End b;
  GSocket *shim;
  GSource *shim_source;
  GSocketAddress *shim_address;
  Link link;
  gboolean cut;         /* drop everything */
  guint8 held[2048];    /* a datagram held back (reordering) */
  gssize held_length;   /* -1: none */
  GSocketAddress *held_to;
  GSource *held_timeout;
  guint64 seen;
  guint64 forwarded;
  guint64 dropped;
  guint64 reordered;
  guint64 duplicated;
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

static void
release_held (Fixture *fixture)
{
  if (fixture->held_length < 0)
    return;

  g_socket_send_to (fixture->shim, fixture->held_to, (const char *)fixture->held,
                    fixture->held_length, NULL, NULL);
  fixture->held_length = -1;
  g_clear_object (&fixture->held_to);
  if (fixture->held_timeout)
    {
      g_source_destroy (fixture->held_timeout);
      g_clear_pointer (&fixture->held_timeout, g_source_unref);
    }
}

static gboolean
held_timeout_cb (gpointer user_data)
{
  Fixture *fixture = user_data;

  /* Nothing came after it: let it go late rather than never. */
  g_clear_pointer (&fixture->held_timeout, g_source_unref);
  release_held (fixture);
  return G_SOURCE_REMOVE;
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

      /* Random, and (so that even a short case meets each of them) from
       * the 6th, 7th and 8th datagram on, until it happened once. */
      fixture->seen++;
      if (fixture->cut
          || (fixture->link.loss > 0
              && ((fixture->seen >= 6 && fixture->dropped == 0) || g_test_rand_double () < fixture->link.loss)))
        {
          fixture->dropped++;
          continue;
        }

      if (fixture->held_length < 0 && fixture->link.reorder > 0
          && ((fixture->seen >= 7 && fixture->reordered == 0) || g_test_rand_double () < fixture->link.reorder))
        {
          memcpy (fixture->held, buffer, n);
          fixture->held_length = n;
          fixture->held_to = g_object_ref (to);
          fixture->held_timeout = g_timeout_source_new (20);
          g_source_set_callback (fixture->held_timeout, held_timeout_cb, fixture, NULL);
          g_source_attach (fixture->held_timeout, NULL);
          fixture->reordered++;
          continue;
        }

      fixture->forwarded++;
      g_socket_send_to (socket, to, (const char *)buffer, n, NULL, NULL);
      if (fixture->link.duplicate > 0
          && ((fixture->seen >= 8 && fixture->duplicated == 0) || g_test_rand_double () < fixture->link.duplicate))
        {
          fixture->duplicated++;
          g_socket_send_to (socket, to, (const char *)buffer, n, NULL, NULL);
        }
      release_held (fixture);
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
        filer_datagram_stream_receive_segment (end->stream, buffer, n);
    }

  return G_SOURCE_CONTINUE;
}

static void
end_send (const guint8 *segment,
          gsize         length,
          gpointer      user_data)
{
  End *end = user_data;

  g_socket_send_to (end->socket, end->fixture->shim_address,
                    (const char *)segment, length, NULL, NULL);
}

static void
end_init (Fixture *fixture,
          End     *end)
{
  g_autoptr(GError) error = NULL;

  end->fixture = fixture;
  end->identity = filer_identity_new_ephemeral (&error);
  g_assert_no_error (error);
  end->socket = loopback_socket ();
  end->source = g_socket_create_source (end->socket, G_IO_IN, NULL);
  g_source_set_callback (end->source, G_SOURCE_FUNC (end_readable_cb), end, NULL);
  g_source_attach (end->source, NULL);

  switch (fixture->row->engine)
    {
    case ENGINE_QUIC:
      end->stream = filer_datagram_stream_new (FILER_DATAGRAM_STREAM_ENGINE_QUIC, 0x46494c45,
                                               end_send, end, NULL);
      g_assert_true (FILER_IS_QUIC_STREAM (end->stream));
      break;
    case ENGINE_PSEUDOTCP:
      end->stream = filer_datagram_stream_new (FILER_DATAGRAM_STREAM_ENGINE_PSEUDOTCP, 0x46494c45,
                                               end_send, end, NULL);
      g_assert_true (FILER_IS_PSEUDOTCP_STREAM (end->stream));
      break;
    case ENGINE_MOCK:
      end->stream = g_object_new (TEST_TYPE_MOCK_STREAM, NULL);
      filer_datagram_stream_set_send_func (end->stream, end_send, end, NULL);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
end_clear (End *end)
{
  if (end->stream)
    g_assert_finalize_object (g_steal_pointer (&end->stream));
  g_source_destroy (end->source);
  g_clear_pointer (&end->source, g_source_unref);
  g_clear_object (&end->socket);
  g_clear_object (&end->identity);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->row = data;
  /* The mock is not reliable: its rows run on a clean link. */
  if (fixture->row->engine != ENGINE_MOCK)
    fixture->link = fixture->row->test_case->link;
  fixture->held_length = -1;

  fixture->shim = loopback_socket ();
  fixture->shim_address = g_socket_get_local_address (fixture->shim, NULL);
  fixture->shim_source = g_socket_create_source (fixture->shim, G_IO_IN, NULL);
  g_source_set_callback (fixture->shim_source, G_SOURCE_FUNC (shim_readable_cb), fixture, NULL);
  g_source_attach (fixture->shim_source, NULL);

  end_init (fixture, &fixture->a);
  end_init (fixture, &fixture->b);

  /* Each end knows whom it means to reach (QUIC checks it; the
   * PseudoTcp and mock engines keep it and ignore it). */
  filer_datagram_stream_set_identity (fixture->a.stream, fixture->a.identity,
                                      filer_identity_get_id (fixture->b.identity));
  filer_datagram_stream_set_identity (fixture->b.stream, fixture->b.identity,
                                      filer_identity_get_id (fixture->a.identity));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_test_message ("shim forwarded %" G_GUINT64_FORMAT ", dropped %" G_GUINT64_FORMAT
                  ", reordered %" G_GUINT64_FORMAT ", duplicated %" G_GUINT64_FORMAT,
                  fixture->forwarded, fixture->dropped, fixture->reordered, fixture->duplicated);
  end_clear (&fixture->a);
  end_clear (&fixture->b);
  release_held (fixture);
  g_source_destroy (fixture->shim_source);
  g_clear_pointer (&fixture->shim_source, g_source_unref);
  g_clear_object (&fixture->shim_address);
  g_clear_object (&fixture->shim);
}

/* The link did to the datagrams what the case asked for. */
static void
assert_link_worked (Fixture *fixture)
{
  if (fixture->link.loss > 0)
    g_assert_cmpuint (fixture->dropped, >, 0);
  if (fixture->link.reorder > 0)
    g_assert_cmpuint (fixture->reordered, >, 0);
  if (fixture->link.duplicate > 0)
    g_assert_cmpuint (fixture->duplicated, >, 0);
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

  r->ok = filer_datagram_stream_handshake_finish (FILER_DATAGRAM_STREAM (object), result, &r->error);
  r->done = TRUE;
}

static void
establish (Fixture *fixture)
{
  Result a = { 0, }, b = { 0, };

  filer_datagram_stream_handshake_async (fixture->b.stream, FALSE, NULL, handshake_done_cb, &b);
  filer_datagram_stream_handshake_async (fixture->a.stream, TRUE, NULL, handshake_done_cb, &a);
  filer_test_wait_for (&a.done, 20000, "handshake at A");
  filer_test_wait_for (&b.done, 20000, "handshake at B");
  g_assert_no_error (a.error);
  g_assert_no_error (b.error);
  g_assert_true (filer_datagram_stream_is_established (fixture->a.stream));
  g_assert_true (filer_datagram_stream_is_established (fixture->b.stream));
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
write_all (FilerDatagramStream *stream,
           Writer              *w,
           GBytes              *bytes)
{
  gsize size;
  gconstpointer data = g_bytes_get_data (bytes, &size);

  w->bytes = g_bytes_ref (bytes);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                   data, size, G_PRIORITY_DEFAULT, NULL, write_done_cb, w);
}

/* Once both writes are done, both ends send FIN after their data: the
 * readers see EOF. (Together, and once the data has arrived, because
 * PseudoTcp cannot send after it got the peer's FIN: libnice sends only
 * while established, there is no half-open state.) */
static void
finish_writes (Fixture *fixture,
               Writer  *wa,
               Writer  *wb,
               guint    timeout_ms)
{
  filer_test_wait_for (&wa->result.done, timeout_ms, "A's write");
  filer_test_wait_for (&wb->result.done, timeout_ms, "B's write");
  g_assert_no_error (wa->result.error);
  g_assert_no_error (wb->result.error);
  g_assert_true (g_output_stream_close (g_io_stream_get_output_stream (G_IO_STREAM (fixture->a.stream)), NULL, NULL));
  g_assert_true (g_output_stream_close (g_io_stream_get_output_stream (G_IO_STREAM (fixture->b.stream)), NULL, NULL));
}

static void
writer_clear (Writer *w)
{
  g_clear_pointer (&w->bytes, g_bytes_unref);
  g_clear_error (&w->result.error);
}

/* Reads until EOF (or an error), then completes. */
typedef struct
{
  Result result;
  GInputStream *input;
  GByteArray *data;
  gint64 last_data_us;
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
  r->last_data_us = g_get_monotonic_time ();
  read_next (r);
}

static void
read_next (Reader *r)
{
  g_input_stream_read_async (r->input, r->buffer, sizeof r->buffer,
                             G_PRIORITY_DEFAULT, NULL, read_done_cb, r);
}

static void
read_to_eof (FilerDatagramStream *stream,
             Reader              *r)
{
  r->input = g_io_stream_get_input_stream (G_IO_STREAM (stream));
  r->data = g_byte_array_new ();
  r->last_data_us = g_get_monotonic_time ();
  read_next (r);
}

static void
reader_clear (Reader *r)
{
  g_clear_pointer (&r->data, g_byte_array_unref);
  g_clear_error (&r->result.error);
}

typedef struct
{
  Reader *r;
  gsize expected;
} Arrival;

static gboolean
arrived_or_quiet (gpointer user_data)
{
  Arrival *arrival = user_data;

  for (guint i = 0; i < 2; i++)
    {
      Reader *r = arrival[i].r;

      if (r->data->len < arrival[i].expected && !r->result.done
          && g_get_monotonic_time () - r->last_data_us < 10 * G_USEC_PER_SEC)
        return FALSE;
    }

  return TRUE;
}

/* Waits until both readers have as many bytes as were sent, or nothing
 * came for 10 s (a lost byte: the content check after EOF says so). */
static void
wait_for_arrival (Reader  *ra,
                  gsize    expected_a,
                  Reader  *rb,
                  gsize    expected_b,
                  guint    timeout_ms)
{
  Arrival arrival[2] = { { ra, expected_a }, { rb, expected_b } };

  filer_test_wait_until (arrived_or_quiet, arrival, timeout_ms, "the data to arrive");
}

static GBytes *
random_bytes (gsize size)
{
  guint32 *data = g_malloc (size + 4);

  for (gsize i = 0; i < size / 4 + 1; i++)
    data[i] = g_test_rand_int ();

  return g_bytes_new_take (data, size);
}

/* Every byte, in order, and nothing more: after EOF, so a short stream
 * fails here, not in a watchdog. */
static void
assert_got (Reader *r,
            GBytes *sent)
{
  g_assert_no_error (r->result.error);
  g_assert_true (r->eof);
  g_assert_cmpmem (r->data->data, r->data->len, g_bytes_get_data (sent, NULL), g_bytes_get_size (sent));
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

/* Both ends got each other's FIN: the streams are still sound (nothing
 * failed after the data), and close cleanly. */
static void
assert_clean_end (Fixture *fixture)
{
  Result ca = { 0, }, cb = { 0, };

  filer_test_spin (300);
  g_assert_true (filer_datagram_stream_is_established (fixture->a.stream));
  g_assert_true (filer_datagram_stream_is_established (fixture->b.stream));

  g_io_stream_close_async (G_IO_STREAM (fixture->a.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &ca);
  g_io_stream_close_async (G_IO_STREAM (fixture->b.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &cb);
  filer_test_wait_for (&ca.done, 20000, "A's close");
  filer_test_wait_for (&cb.done, 20000, "B's close");
  g_assert_no_error (ca.error);
  g_assert_no_error (cb.error);
  g_assert_true (ca.ok && cb.ok);
}

/* --- cases that move data ---------------------------------------------- */

static void
test_echo (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr(GBytes) world = g_bytes_new_static ("world!", 6);
  Writer wa = { 0, }, wb = { 0, };
  Reader ra = { 0, }, rb = { 0, };

  establish (fixture);

  /* A short message each way, then the end of each. */
  write_all (fixture->a.stream, &wa, hello);
  write_all (fixture->b.stream, &wb, world);
  read_to_eof (fixture->b.stream, &rb);
  read_to_eof (fixture->a.stream, &ra);
  wait_for_arrival (&ra, 6, &rb, 5, 20000);
  finish_writes (fixture, &wa, &wb, 20000);

  filer_test_wait_for (&rb.result.done, 20000, "hello and EOF at B");
  filer_test_wait_for (&ra.result.done, 20000, "world and EOF at A");
  assert_got (&rb, hello);
  assert_got (&ra, world);
  assert_clean_end (fixture);
  assert_link_worked (fixture);

  writer_clear (&wa);
  writer_clear (&wb);
  reader_clear (&ra);
  reader_clear (&rb);
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
  read_to_eof (fixture->b.stream, &rb);
  read_to_eof (fixture->a.stream, &ra);
  wait_for_arrival (&ra, size_ba, &rb, size_ab, timeout_ms);
  finish_writes (fixture, &wa, &wb, timeout_ms);

  filer_test_wait_for (&rb.result.done, timeout_ms, "A's data at B");
  filer_test_wait_for (&ra.result.done, timeout_ms, "B's data at A");
  seconds = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;

  assert_got (&rb, ab);
  assert_got (&ra, ba);
  assert_clean_end (fixture);

  g_test_message ("%zu + %zu bytes in %.2f s (%.1f MB/s)",
                  size_ab, size_ba, seconds, (size_ab + size_ba) / seconds / 1e6);

  writer_clear (&wa);
  writer_clear (&wb);
  reader_clear (&ra);
  reader_clear (&rb);
}

static void
test_bulk (Fixture       *fixture,
           gconstpointer  data)
{
  transfer_both_ways (fixture, 8 * 1024 * 1024, 1024 * 1024, 60000);
  assert_link_worked (fixture);
}

static void
test_lossy (Fixture       *fixture,
            gconstpointer  data)
{
  transfer_both_ways (fixture, 1024 * 1024, 256 * 1024, 90000);
  assert_link_worked (fixture);
}

static void
test_eof (Fixture       *fixture,
          gconstpointer  data)
{
  g_autoptr(GBytes) payload = random_bytes (64 * 1024 + 3);
  Writer wa = { 0, };
  Reader rb = { 0, };
  Result ca = { 0, }, cb = { 0, };

  establish (fixture);

  /* A writes and closes the whole stream at once; B still gets every
   * byte, then EOF. */
  write_all (fixture->a.stream, &wa, payload);
  filer_test_wait_for (&wa.result.done, 20000, "A's write");
  g_assert_no_error (wa.result.error);
  g_io_stream_close_async (G_IO_STREAM (fixture->a.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &ca);

  read_to_eof (fixture->b.stream, &rb);
  filer_test_wait_for (&rb.result.done, 20000, "EOF at B");
  assert_got (&rb, payload);

  g_io_stream_close_async (G_IO_STREAM (fixture->b.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &cb);
  filer_test_wait_for (&ca.done, 20000, "A's close");
  filer_test_wait_for (&cb.done, 20000, "B's close");
  g_assert_no_error (ca.error);
  g_assert_no_error (cb.error);
  g_assert_true (ca.ok && cb.ok);
  g_assert_true (g_io_stream_is_closed (G_IO_STREAM (fixture->a.stream)));
  g_assert_true (g_io_stream_is_closed (G_IO_STREAM (fixture->b.stream)));
  assert_link_worked (fixture);

  writer_clear (&wa);
  reader_clear (&rb);
}

typedef struct
{
  GPtrArray *frames;    /* FilerFrame, in the order they came */
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
    sink->got_done = TRUE;
  else
    g_ptr_array_add (sink->frames, filer_frame_ref (frame));
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
  g_autoptr(GPtrArray) chunks = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  FrameSink sink = { g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref), };
  FrameSink sender_sink = { NULL, };
  const guint n_chunks = 64;

  establish (fixture);

  /* The frame connection runs on the stream unchanged. */
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
      GBytes *chunk = random_bytes (32 * 1024 - i);   /* each its own */

      g_ptr_array_add (chunks, chunk);
      filer_frame_set_uint (frame, "index", i);
      filer_frame_set_content (frame, chunk);
      filer_frame_connection_send (sender, frame);
    }
  {
    g_autoptr(FilerFrame) done = filer_frame_new ("done");

    filer_frame_connection_send (sender, done);
  }
  filer_frame_connection_close (sender);

  filer_test_wait_for (&sink.got_done, 30000, "every frame at the receiver");
  g_assert_cmpuint (sink.frames->len, ==, n_chunks);
  for (guint i = 0; i < n_chunks; i++)
    {
      FilerFrame *frame = g_ptr_array_index (sink.frames, i);
      GBytes *content = filer_frame_get_content (frame);

      guint64 index = G_MAXUINT64;
      g_autoptr(GError) error = NULL;

      g_assert_true (filer_frame_is (frame, "chunk"));
      g_assert_true (filer_frame_get_uint (frame, "index", n_chunks, &index, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (index, ==, i);
      g_assert_nonnull (content);
      g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                       g_bytes_get_data (chunks->pdata[i], NULL), g_bytes_get_size (chunks->pdata[i]));
    }

  /* The sender's close reaches the receiver as a clean end. */
  filer_test_wait_for (&sink.closed, 30000, "the receiver to see the close");
  g_assert_no_error (sink.close_error);
  filer_frame_connection_close (receiver);
  filer_test_wait_for (&sender_sink.closed, 30000, "the sender's close to complete");
  g_clear_error (&sender_sink.close_error);
  g_ptr_array_unref (sink.frames);
  assert_link_worked (fixture);
}

/* --- cases of the base's own logic ------------------------------------- */

static void
test_peer_vanishes (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GBytes) payload = random_bytes (64 * 1024);
  Writer wa = { 0, };
  Reader ra = { 0, }, rb = { 0, };
  gint64 start;

  filer_datagram_stream_set_idle_timeout (fixture->a.stream, 1500);
  filer_datagram_stream_set_idle_timeout (fixture->b.stream, 1500);
  g_assert_cmpuint (filer_datagram_stream_get_idle_timeout (fixture->a.stream), ==, 1500);
  establish (fixture);

  /* From now on nothing gets through: both ends must give up with a
   * clear error, the reader (with nothing to send) included. */
  fixture->cut = TRUE;
  start = g_get_monotonic_time ();
  write_all (fixture->a.stream, &wa, payload);
  read_to_eof (fixture->a.stream, &ra);
  read_to_eof (fixture->b.stream, &rb);

  filer_test_wait_for (&ra.result.done, 10000, "A's read to fail");
  filer_test_wait_for (&rb.result.done, 10000, "B's read to fail");
  g_assert_error (ra.result.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_error (rb.result.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  /* Not before the timeout, and not much after it. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 1400 * 1000);
  g_test_message ("gave up after %.1f s: %s",
                  (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC,
                  ra.result.error->message);

  filer_test_wait_for (&wa.result.done, 10000, "A's write to fail");
  g_assert_false (filer_datagram_stream_is_established (fixture->a.stream));
  g_assert_false (filer_datagram_stream_is_established (fixture->b.stream));

  writer_clear (&wa);
  reader_clear (&ra);
  reader_clear (&rb);
}

static gboolean
keep_alive_cb (gpointer user_data)
{
  Fixture *fixture = user_data;

  filer_datagram_stream_notify_alive (fixture->a.stream);
  return G_SOURCE_CONTINUE;
}

static void
test_notify_alive (Fixture       *fixture,
                   gconstpointer  data)
{
  Reader ra = { 0, };
  guint id;

  filer_datagram_stream_set_idle_timeout (fixture->a.stream, 1000);
  establish (fixture);

  /* Nothing gets through, but the owner hears keepalives some other way:
   * the stream lives on, past several idle timeouts. */
  fixture->cut = TRUE;
  id = g_timeout_add (200, keep_alive_cb, fixture);
  read_to_eof (fixture->a.stream, &ra);
  filer_test_spin (2500);
  g_assert_false (ra.result.done);
  g_assert_true (filer_datagram_stream_is_established (fixture->a.stream));

  /* The keepalives stop: the stream ends about one timeout later. */
  g_source_remove (id);
  filer_test_wait_for (&ra.result.done, 10000, "A's read to time out");
  g_assert_error (ra.result.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_false (filer_datagram_stream_is_established (fixture->a.stream));

  reader_clear (&ra);
}

static void
test_abort (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GBytes) payload = random_bytes (8 * 1024 * 1024);
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "the path is gone");
  Writer wa = { 0, };
  Reader ra = { 0, };
  Result ca = { 0, };
  guint8 buffer[16];
  g_autoptr(GError) later = NULL;

  establish (fixture);

  /* A read waits (B sends nothing) and a write is under way when the
   * owner aborts: both fail with the owner's error, at once. */
  fixture->cut = TRUE;
  read_to_eof (fixture->a.stream, &ra);
  write_all (fixture->a.stream, &wa, payload);
  filer_test_spin (100);
  g_assert_false (ra.result.done);

  filer_datagram_stream_abort (fixture->a.stream, error);
  filer_test_wait_for (&ra.result.done, 2000, "A's read to fail");
  filer_test_wait_for (&wa.result.done, 2000, "A's write to fail");
  g_assert_error (ra.result.error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_assert_error (wa.result.error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_assert_false (filer_datagram_stream_is_established (fixture->a.stream));

  /* Later I/O fails the same way, and a second abort changes nothing. */
  {
    g_autoptr(GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "other");

    filer_datagram_stream_abort (fixture->a.stream, other);
  }
  g_assert_cmpint (g_pollable_output_stream_write_nonblocking (
                     G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (fixture->a.stream))),
                     "x", 1, NULL, &later), ==, -1);
  g_assert_error (later, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_clear_error (&later);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (fixture->a.stream)),
                                        buffer, sizeof buffer, NULL, &later), ==, -1);
  g_assert_error (later, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);

  /* Closing an aborted stream completes at once, with its error: what
   * was written was not delivered. */
  g_io_stream_close_async (G_IO_STREAM (fixture->a.stream), G_PRIORITY_DEFAULT, NULL, close_done_cb, &ca);
  filer_test_wait_for (&ca.done, 2000, "A's close");
  g_assert_error (ca.error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_clear_error (&ca.error);

  writer_clear (&wa);
  reader_clear (&ra);
}

static void
test_handshake_timeout (Fixture       *fixture,
                        gconstpointer  data)
{
  Result a = { 0, }, b = { 0, };
  gint64 start = g_get_monotonic_time ();

  /* Nobody answers: the handshake gives up after the idle timeout. */
  fixture->cut = TRUE;
  filer_datagram_stream_set_idle_timeout (fixture->a.stream, 1000);
  filer_datagram_stream_set_idle_timeout (fixture->b.stream, 1000);
  filer_datagram_stream_handshake_async (fixture->a.stream, TRUE, NULL, handshake_done_cb, &a);
  filer_datagram_stream_handshake_async (fixture->b.stream, FALSE, NULL, handshake_done_cb, &b);
  filer_test_wait_for (&a.done, 10000, "A's handshake to fail");
  filer_test_wait_for (&b.done, 10000, "B's handshake to fail");
  g_assert_error (a.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_error (b.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 900 * 1000);
  g_assert_false (filer_datagram_stream_is_established (fixture->a.stream));

  g_clear_error (&a.error);
  g_clear_error (&b.error);
}

/* --- the device keys ------------------------------------------------------ */

/* QUIC checks the keys in its own handshake; PseudoTcp carries bytes only,
 * and its owner (FilerNatSession) runs mutual TLS on top: these cases do
 * what the owner does, so both engines are held to the same promise. */

typedef struct
{
  gboolean done;
  GIOStream *stream;
  char *peer_id;
  GError *error;
} Secured;

static void
tls_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Secured *s = user_data;

  s->stream = filer_tls_handshake_finish (result, &s->peer_id, &s->error);
  s->done = TRUE;
}

static void
datagram_secured_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Secured *s = user_data;

  if (filer_datagram_stream_handshake_finish (FILER_DATAGRAM_STREAM (object), result, &s->error))
    {
      s->stream = g_object_ref (G_IO_STREAM (object));
      s->peer_id = g_strdup (filer_datagram_stream_get_peer_id (FILER_DATAGRAM_STREAM (object)));
    }
  s->done = TRUE;
}

static void
secured_clear (Secured *s)
{
  g_clear_object (&s->stream);
  g_clear_pointer (&s->peer_id, g_free);
  g_clear_error (&s->error);
  s->done = FALSE;
}

/* Opens an authenticated stream between A (who expects @a_expects) and B
 * (who expects @b_expects, NULL: learns). */
static void
secure (Fixture    *fixture,
        const char *a_expects,
        const char *b_expects,
        Secured    *sa,
        Secured    *sb)
{
  filer_datagram_stream_set_identity (fixture->a.stream, fixture->a.identity, a_expects);
  filer_datagram_stream_set_identity (fixture->b.stream, fixture->b.identity, b_expects);

  if (fixture->row->engine == ENGINE_QUIC)
    {
      filer_datagram_stream_handshake_async (fixture->b.stream, FALSE, NULL, datagram_secured_cb, sb);
      filer_datagram_stream_handshake_async (fixture->a.stream, TRUE, NULL, datagram_secured_cb, sa);
    }
  else
    {
      establish (fixture);
      filer_tls_handshake_async (G_IO_STREAM (fixture->b.stream), FILER_TLS_ROLE_SERVER, fixture->b.identity,
                                 b_expects, NULL, tls_done_cb, sb);
      filer_tls_handshake_async (G_IO_STREAM (fixture->a.stream), FILER_TLS_ROLE_CLIENT, fixture->a.identity,
                                 a_expects, NULL, tls_done_cb, sa);
    }

  filer_test_wait_for (&sa->done, 20000, "A's authenticated handshake");
  filer_test_wait_for (&sb->done, 20000, "B's authenticated handshake");
}

static void
test_keys (Fixture       *fixture,
           gconstpointer  data)
{
  const char *a_id = filer_identity_get_id (fixture->a.identity);
  const char *b_id = filer_identity_get_id (fixture->b.identity);
  Secured sa = { 0, }, sb = { 0, };
  char buffer[16];
  gsize n = 0;

  /* Both ways of B's expectation: it knows A, or it learns who called. */
  for (guint round = 0; round < (fixture->row->engine == ENGINE_QUIC ? 1 : 2); round++)
    {
      g_autoptr(GError) error = NULL;

      secure (fixture, b_id, round == 0 ? a_id : NULL, &sa, &sb);
      g_assert_no_error (sa.error);
      g_assert_no_error (sb.error);
      g_assert_cmpstr (sa.peer_id, ==, b_id);
      g_assert_cmpstr (sb.peer_id, ==, a_id);

      g_output_stream_write_all (g_io_stream_get_output_stream (sa.stream), "hello B", 7, NULL, NULL, &error);
      g_assert_no_error (error);
      while (n < 7)
        {
          gssize r = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (sb.stream)),
                                                               buffer + n, sizeof buffer - n, NULL, &error);
          if (r < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_clear_error (&error);
              g_main_context_iteration (NULL, TRUE);
              continue;
            }
          g_assert_no_error (error);
          g_assert_cmpint (r, >, 0);
          n += r;
        }
      g_assert_cmpmem (buffer, n, "hello B", 7);
      secured_clear (&sa);
      secured_clear (&sb);
      if (fixture->row->engine == ENGINE_QUIC)
        break;

      /* PseudoTcp's second round runs on fresh streams, once the TLS
       * connections on the old ones have let go of them (glib-networking
       * closes in its thread). */
      filer_test_spin (500);
      end_clear (&fixture->a);
      end_clear (&fixture->b);
      end_init (fixture, &fixture->a);
      end_init (fixture, &fixture->b);
      a_id = filer_identity_get_id (fixture->a.identity);
      b_id = filer_identity_get_id (fixture->b.identity);
      n = 0;
    }
}

/* The side that expected someone else refuses; no byte reaches anyone. */
static void
test_wrong_key (Fixture       *fixture,
                gconstpointer  data)
{
  gboolean client_expects_wrong = GPOINTER_TO_INT (((const Row *)data)->test_case->data);
  g_autoptr(FilerIdentity) mallory = filer_identity_new_ephemeral (NULL);
  const char *a_id = filer_identity_get_id (fixture->a.identity);
  const char *b_id = filer_identity_get_id (fixture->b.identity);
  Secured sa = { 0, }, sb = { 0, };
  Secured *refuser = client_expects_wrong ? &sa : &sb;
  Secured *refused = client_expects_wrong ? &sb : &sa;
  GIOStream *refused_stream = G_IO_STREAM (client_expects_wrong ? fixture->b.stream : fixture->a.stream);
  GIOStream *refuser_stream = G_IO_STREAM (client_expects_wrong ? fixture->a.stream : fixture->b.stream);
  g_autoptr(GError) error = NULL;
  char buffer[64];
  gssize n;

  secure (fixture,
          client_expects_wrong ? filer_identity_get_id (mallory) : b_id,
          client_expects_wrong ? a_id : filer_identity_get_id (mallory),
          &sa, &sb);

  /* The side that expected Mallory says why, naming both ids. */
  g_assert_error (refuser->error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_assert_null (refuser->stream);
  if (fixture->row->engine == ENGINE_QUIC)
    {
      g_assert_nonnull (strstr (refuser->error->message, filer_identity_get_id (mallory)));
      g_assert_null (filer_datagram_stream_get_peer_id (FILER_DATAGRAM_STREAM (refuser_stream)));
    }

  /* The refused side may have finished its half (a TLS 1.3 client does
   * before the server checked it): whatever it writes goes nowhere. */
  if (refused->stream)
    {
      g_output_stream_write_all (g_io_stream_get_output_stream (refused->stream), "secret", 6, NULL, NULL, NULL);
      filer_test_spin (500);
    }

  /* Nothing readable on the refusing side's stream: it has failed. */
  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (refuser_stream)),
                                                buffer, sizeof buffer, NULL, &error);
  g_assert_cmpint (n, <=, 0);
  if (fixture->row->engine == ENGINE_QUIC)
    {
      g_assert_cmpint (n, ==, -1);
      g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);

      /* The refused side learns at once (CONNECTION_CLOSE), not at its
       * idle timeout. */
      if (refused->stream == NULL)
        g_assert_nonnull (refused->error);
      else
        g_assert_false (filer_datagram_stream_is_established (FILER_DATAGRAM_STREAM (refused_stream)));
    }
  secured_clear (&sa);
  secured_clear (&sb);

  /* A failed TLS handshake closes its connection in glib-networking's
   * thread, which holds the stream until it is done. */
  if (fixture->row->engine != ENGINE_QUIC)
    filer_test_spin (500);
}

/* --- the table ------------------------------------------------------------- */

#define LOSSY  { 0.02, 0.02, 0.02 }
#define LIGHT  { 0.01, 0.01, 0.01 }
#define SHAKEN { 0, 0.01, 0.01 }        /* reordered and duplicated, none lost */
#define CLEAN  { 0, 0, 0 }

static const Case cases[] = {
  { "echo",              test_echo,              LOSSY,  TRUE },
  { "bulk",              test_bulk,              SHAKEN, FALSE },
  { "lossy",             test_lossy,             LOSSY,  FALSE },
  { "eof",               test_eof,               LOSSY,  TRUE },
  { "frames",            test_frames,            LIGHT,  FALSE },
  /* The link is cut in these: loss would change nothing. */
  { "peer-vanishes",     test_peer_vanishes,     CLEAN,  TRUE },
  { "notify-alive",      test_notify_alive,      CLEAN,  TRUE },
  { "abort",             test_abort,             CLEAN,  TRUE },
  { "handshake-timeout", test_handshake_timeout, CLEAN,  TRUE },
  { "keys",              test_keys,              LIGHT,  FALSE },
  { "client-expects-other-key", test_wrong_key,  CLEAN,  FALSE, GINT_TO_POINTER (TRUE) },
  { "server-expects-other-key", test_wrong_key,  CLEAN,  FALSE, GINT_TO_POINTER (FALSE) },
};

static const struct { const char *name; Engine engine; } engines[] = {
  { "quic", ENGINE_QUIC },
  { "pseudotcp", ENGINE_PSEUDOTCP },
  { "mock", ENGINE_MOCK },
};

int
main (int   argc,
      char *argv[])
{
  Row rows[G_N_ELEMENTS (engines) * G_N_ELEMENTS (cases)];
  guint n = 0;

  filer_test_init (&argc, &argv);

  for (guint e = 0; e < G_N_ELEMENTS (engines); e++)
    for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
      {
        g_autofree char *path = NULL;

        if (engines[e].engine == ENGINE_MOCK && !cases[c].on_mock)
          continue;
        if (engines[e].engine != ENGINE_QUIC && cases[c].quic_only)
          continue;

        rows[n].engine = engines[e].engine;
        rows[n].test_case = &cases[c];
        path = g_strdup_printf ("/filer/stream/%s/%s", engines[e].name, cases[c].name);
        g_test_add (path, Fixture, &rows[n], fixture_setup, cases[c].func, fixture_teardown);
        n++;
      }

  return g_test_run ();
}
