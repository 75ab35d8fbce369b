/* test-frame-connection.c: frames over a real socket pair
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "libfiler.h"
#include "filer-test-util.h"

typedef struct
{
  GIOStream            *stream_a;
  GIOStream            *stream_b;
  FilerFrameConnection *a;
  FilerFrameConnection *b;
  GPtrArray            *received_by_b;
  GPtrArray            *received_by_a;
  gboolean              a_closed;
  gboolean              b_closed;
  GError               *a_error;
  GError               *b_error;
} Fixture;

static GIOStream *
stream_from_fd (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   GPtrArray            *into)
{
  g_ptr_array_add (into, filer_frame_ref (frame));
}

static void
closed_cb (FilerFrameConnection *connection,
           const GError         *error,
           Fixture              *fixture)
{
  gboolean *flag = connection == fixture->a ? &fixture->a_closed : &fixture->b_closed;
  GError **slot = connection == fixture->a ? &fixture->a_error : &fixture->b_error;

  g_assert_false (*flag);   /* ::closed fires once */
  *flag = TRUE;
  if (error != NULL)
    *slot = g_error_copy (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  fixture->stream_a = stream_from_fd (fds[0]);
  fixture->stream_b = stream_from_fd (fds[1]);
  fixture->a = filer_frame_connection_new (fixture->stream_a);
  fixture->b = filer_frame_connection_new (fixture->stream_b);
  fixture->received_by_a = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);
  fixture->received_by_b = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);

  g_signal_connect (fixture->a, "frame-received", G_CALLBACK (frame_received_cb), fixture->received_by_a);
  g_signal_connect (fixture->b, "frame-received", G_CALLBACK (frame_received_cb), fixture->received_by_b);
  g_signal_connect (fixture->a, "closed", G_CALLBACK (closed_cb), fixture);
  g_signal_connect (fixture->b, "closed", G_CALLBACK (closed_cb), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_pointer (&fixture->received_by_a, g_ptr_array_unref);
  g_clear_pointer (&fixture->received_by_b, g_ptr_array_unref);
  g_clear_error (&fixture->a_error);
  g_clear_error (&fixture->b_error);

  /* Let pending callbacks drop their references before we check. */
  filer_test_spin (20);
  g_assert_finalize_object (fixture->a);
  g_assert_finalize_object (fixture->b);
  g_clear_object (&fixture->stream_a);
  g_clear_object (&fixture->stream_b);
}

typedef struct
{
  Fixture *fixture;
  guint    count;
} Count;

static gboolean
b_has_count (gpointer user_data)
{
  Count *count = user_data;

  return count->fixture->received_by_b->len >= count->count;
}

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  guint *n_sent = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (filer_frame_connection_send_finish (FILER_FRAME_CONNECTION (object), result, &error));
  g_assert_no_error (error);
  (*n_sent)++;
}

static void
test_in_order (Fixture       *fixture,
               gconstpointer  data)
{
  const guint n_frames = 2000;
  g_autofree guint8 *chunk = g_malloc (32 * 1024);
  guint n_sent = 0;
  Count count = { fixture, n_frames };

  for (guint i = 0; i < 32 * 1024; i++)
    chunk[i] = i * 7;

  filer_frame_connection_start (fixture->a);
  filer_frame_connection_start (fixture->b);

  for (guint i = 0; i < n_frames; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("chunk");
      g_autoptr(GBytes) content = g_bytes_new (chunk, (i * 997) % (32 * 1024));

      filer_frame_set_uint (frame, "i", i);
      filer_frame_set_content (frame, content);
      filer_frame_connection_send_async (fixture->a, frame, NULL, sent_cb, &n_sent);
    }

  filer_test_wait_until (b_has_count, &count, 20000, "all frames to arrive");

  for (guint i = 0; i < n_frames; i++)
    {
      FilerFrame *frame = fixture->received_by_b->pdata[i];
      guint64 value;
      gsize size;
      const guint8 *content = g_bytes_get_data (filer_frame_get_content (frame), &size);

      g_assert_true (filer_frame_get_uint (frame, "i", G_MAXUINT, &value, NULL));
      g_assert_cmpuint (value, ==, i);
      g_assert_cmpuint (size, ==, (i * 997) % (32 * 1024));
      g_assert_true (size == 0 || memcmp (content, chunk, size) == 0);
    }

  filer_test_spin (50);
  g_assert_cmpuint (filer_frame_connection_get_queued_bytes (fixture->a), ==, 0);

  /* A clean close reaches the other side as a clean close. */
  filer_frame_connection_close (fixture->a);
  filer_test_wait_for (&fixture->b_closed, 5000, "b to see the close");
  filer_test_wait_for (&fixture->a_closed, 5000, "a to close");
  g_assert_no_error (fixture->a_error);
  g_assert_no_error (fixture->b_error);
  g_assert_cmpuint (n_sent, ==, n_frames);
}

static void
test_protocol_error (Fixture       *fixture,
                     gconstpointer  data)
{
  GOutputStream *raw = g_io_stream_get_output_stream (fixture->stream_a);
  static const char garbage[] = "\x05\x00" "hello this is not a frame";
  FilerFrame *reply;

  /* a speaks the protocol only to read b's answer. */
  filer_frame_connection_start (fixture->a);
  filer_frame_connection_start (fixture->b);
  g_assert_true (g_output_stream_write_all (raw, garbage, sizeof garbage - 1, NULL, NULL, NULL));

  filer_test_wait_for (&fixture->b_closed, 5000, "b to drop the connection");
  g_assert_error (fixture->b_error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_BAD_KEY);

  /* b said why before closing. */
  filer_test_wait_for (&fixture->a_closed, 5000, "a to see the close");
  g_assert_cmpuint (fixture->received_by_a->len, ==, 1);
  reply = fixture->received_by_a->pdata[0];
  g_assert_true (filer_frame_is (reply, "error"));
  g_assert_cmpstr (filer_frame_get (reply, "code"), ==, "protocol");
  g_assert_nonnull (filer_frame_get (reply, "message"));
  g_assert_cmpuint (fixture->received_by_b->len, ==, 0);
}

static void
test_oversized (Fixture       *fixture,
                gconstpointer  data)
{
  GOutputStream *raw = g_io_stream_get_output_stream (fixture->stream_a);
  static const char header[] = "\x0c\x00" "CL:999999999";

  filer_frame_connection_start (fixture->b);
  g_assert_true (g_output_stream_write_all (raw, header, sizeof header - 1, NULL, NULL, NULL));

  filer_test_wait_for (&fixture->b_closed, 5000, "b to refuse the frame");
  g_assert_error (fixture->b_error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE);
}

static void
test_truncated (Fixture       *fixture,
                gconstpointer  data)
{
  GOutputStream *raw = g_io_stream_get_output_stream (fixture->stream_a);
  static const char half[] = "\x11\x00" "CL:7;type:messagecws";

  filer_frame_connection_start (fixture->b);
  g_assert_true (g_output_stream_write_all (raw, half, sizeof half - 1, NULL, NULL, NULL));
  g_assert_true (g_io_stream_close (fixture->stream_a, NULL, NULL));

  filer_test_wait_for (&fixture->b_closed, 5000, "b to see the end");
  g_assert_error (fixture->b_error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TRUNCATED);
  g_assert_cmpuint (fixture->received_by_b->len, ==, 0);
}

static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  data)
{
  Count count = { fixture, 10 };

  filer_frame_connection_start (fixture->b);
  filer_frame_connection_pause (fixture->b);

  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("n");

      filer_frame_connection_send (fixture->a, frame);
    }

  filer_test_spin (200);
  g_assert_cmpuint (fixture->received_by_b->len, ==, 0);

  filer_frame_connection_resume (fixture->b);
  filer_test_wait_until (b_has_count, &count, 5000, "frames after resume");
  g_assert_cmpuint (fixture->received_by_b->len, ==, 10);

  filer_frame_connection_close (fixture->b);
  filer_test_wait_for (&fixture->b_closed, 5000, "b to close");
}

/* A handler may pause in the middle of a read that held many frames:
 * nothing more is delivered until resume. */
static void
pause_after_first_cb (FilerFrameConnection *connection,
                      FilerFrame           *frame,
                      gpointer              user_data)
{
  filer_frame_connection_pause (connection);
}

static void
test_pause_from_handler (Fixture       *fixture,
                         gconstpointer  data)
{
  Count two = { fixture, 2 };
  Count five = { fixture, 5 };

  g_signal_connect (fixture->b, "frame-received", G_CALLBACK (pause_after_first_cb), NULL);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("n");

      filer_frame_connection_send (fixture->a, frame);
    }
  filer_test_spin (100);
  filer_frame_connection_start (fixture->b);
  filer_test_spin (200);
  g_assert_cmpuint (fixture->received_by_b->len, ==, 1);

  filer_frame_connection_resume (fixture->b);
  filer_test_wait_until (b_has_count, &two, 5000, "the second frame");
  filer_test_spin (100);
  g_assert_cmpuint (fixture->received_by_b->len, ==, 2);

  /* The handler pauses again after each frame. */
  for (guint i = 3; i <= 5; i++)
    {
      Count next = { fixture, i };

      filer_frame_connection_resume (fixture->b);
      filer_test_wait_until (b_has_count, &next, 5000, "the next frame");
    }
  filer_test_wait_until (b_has_count, &five, 5000, "all five frames");

  filer_frame_connection_close (fixture->b);
  filer_test_wait_for (&fixture->b_closed, 5000, "b to close");
}

static void
send_after_close_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_false (filer_frame_connection_send_finish (FILER_FRAME_CONNECTION (object), result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  *done = TRUE;
}

static void
test_send_after_close (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("late");
  gboolean done = FALSE;

  filer_frame_connection_close (fixture->a);
  filer_frame_connection_send_async (fixture->a, frame, NULL, send_after_close_cb, &done);
  filer_test_wait_for (&done, 5000, "the send to fail");
  filer_test_wait_for (&fixture->a_closed, 5000, "a to close");
  g_assert_true (filer_frame_connection_is_closed (fixture->a));
}

/* With nobody reading, writes pile up in the queue instead of
 * completing: that is the signal a sender throttles on. */
static void
test_backpressure (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree guint8 *chunk = g_malloc0 (1024 * 1024);
  guint n_sent = 0;
  Count count = { fixture, 64 };

  for (guint i = 0; i < 64; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("chunk");
      g_autoptr(GBytes) content = g_bytes_new_static (chunk, 1024 * 1024);

      filer_frame_set_content (frame, content);
      filer_frame_connection_send_async (fixture->a, frame, NULL, sent_cb, &n_sent);
    }

  filer_test_spin (300);
  g_assert_cmpuint (n_sent, <, 64);
  g_assert_cmpuint (filer_frame_connection_get_queued_bytes (fixture->a), >, 32 * 1024 * 1024);

  filer_frame_connection_start (fixture->b);
  filer_test_wait_until (b_has_count, &count, 20000, "the reader to catch up");
  filer_test_spin (50);
  g_assert_cmpuint (n_sent, ==, 64);
  g_assert_cmpuint (filer_frame_connection_get_queued_bytes (fixture->a), ==, 0);

  /* A started connection keeps itself alive until it is closed. */
  filer_frame_connection_close (fixture->b);
  filer_test_wait_for (&fixture->b_closed, 5000, "b to close");
}

static void
test_peer_reset (Fixture       *fixture,
                 gconstpointer  data)
{
  filer_frame_connection_start (fixture->b);
  g_assert_true (g_io_stream_close (fixture->stream_a, NULL, NULL));
  filer_test_wait_for (&fixture->b_closed, 5000, "b to see the end");
  /* Between frames: a clean end. */
  g_assert_no_error (fixture->b_error);
}

/* Each completion queues the next frames, as a sender's pump does: the
 * queue must stay consistent while a batch is being completed. */
typedef struct
{
  Fixture *fixture;
  guint    n_queued;
  guint    n_done;
  GBytes  *chunk;
} Pump;

static void pump_sent_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data);

static void
pump_fill (Pump *pump)
{
  while (pump->n_queued - pump->n_done < 8 && pump->n_queued < 500)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("chunk");

      filer_frame_set_uint (frame, "i", pump->n_queued++);
      filer_frame_set_content (frame, pump->chunk);
      filer_frame_connection_send_async (pump->fixture->a, frame, NULL, pump_sent_cb, pump);
    }
}

static void
pump_sent_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pump *pump = user_data;

  g_assert_true (filer_frame_connection_send_finish (FILER_FRAME_CONNECTION (object), result, NULL));
  pump->n_done++;
  pump_fill (pump);
}

static void
test_send_from_completion (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree guint8 *chunk = g_malloc0 (32 * 1024);
  Pump pump = { fixture, 0, 0, g_bytes_new_static (chunk, 32 * 1024) };
  Count count = { fixture, 500 };

  filer_frame_connection_start (fixture->b);
  pump_fill (&pump);
  filer_test_wait_until (b_has_count, &count, 20000, "500 frames");

  for (guint i = 0; i < 500; i++)
    {
      guint64 value;

      g_assert_true (filer_frame_get_uint (fixture->received_by_b->pdata[i], "i", G_MAXUINT, &value, NULL));
      g_assert_cmpuint (value, ==, i);
    }
  g_assert_cmpuint (pump.n_done, ==, 500);
  g_bytes_unref (pump.chunk);

  filer_frame_connection_close (fixture->b);
  filer_test_wait_for (&fixture->b_closed, 5000, "b to close");
}

static void
failed_send_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  guint *n_failed = user_data;
  g_autoptr(GError) error = NULL;

  if (!filer_frame_connection_send_finish (FILER_FRAME_CONNECTION (object), result, &error))
    {
      g_assert_nonnull (error);
      (*n_failed)++;
    }
}

/* The peer vanishes while we write: every queued send fails, and the
 * connection closes with the error instead of hanging. */
static void
test_write_failure (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree guint8 *chunk = g_malloc0 (1024 * 1024);
  g_autoptr(GBytes) content = g_bytes_new_static (chunk, 1024 * 1024);
  guint n_failed = 0;

  g_assert_true (g_io_stream_close (fixture->stream_b, NULL, NULL));

  for (guint i = 0; i < 16; i++)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("chunk");

      filer_frame_set_content (frame, content);
      filer_frame_connection_send_async (fixture->a, frame, NULL, failed_send_cb, &n_failed);
    }

  filer_test_wait_for (&fixture->a_closed, 5000, "a to close");
  g_assert_nonnull (fixture->a_error);
  g_assert_cmpuint (n_failed, ==, 16);
  g_assert_cmpuint (filer_frame_connection_get_queued_bytes (fixture->a), ==, 0);
}

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  ADD ("/filer/frame-connection/in-order", test_in_order);
  ADD ("/filer/frame-connection/protocol-error", test_protocol_error);
  ADD ("/filer/frame-connection/oversized", test_oversized);
  ADD ("/filer/frame-connection/truncated", test_truncated);
  ADD ("/filer/frame-connection/pause-resume", test_pause_resume);
  ADD ("/filer/frame-connection/pause-from-handler", test_pause_from_handler);
  ADD ("/filer/frame-connection/send-after-close", test_send_after_close);
  ADD ("/filer/frame-connection/backpressure", test_backpressure);
  ADD ("/filer/frame-connection/peer-closed", test_peer_reset);
  ADD ("/filer/frame-connection/send-from-completion", test_send_from_completion);
  ADD ("/filer/frame-connection/write-failure", test_write_failure);

  return g_test_run ();
}
