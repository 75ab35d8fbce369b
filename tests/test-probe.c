/* test-probe.c: FilerProbe, auto-find and the hosting rule's look-around
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

#define WAIT_MS 10000

typedef struct
{
  gboolean            done;
  GInetSocketAddress *found;
  GPtrArray          *collected;
  GError             *error;
  guint               calls;
} Result;

static void
result_clear (Result *result)
{
  g_clear_object (&result->found);
  g_clear_pointer (&result->collected, g_ptr_array_unref);
  g_clear_error (&result->error);
  result->done = FALSE;
}

static void
found_cb (GObject      *object,
          GAsyncResult *async,
          gpointer      user_data)
{
  Result *result = user_data;

  result->calls++;
  result->found = filer_probe_find_finish (FILER_PROBE (object), async, NULL, &result->error);
  result->done = TRUE;
}

static void
collected_cb (GObject      *object,
              GAsyncResult *async,
              gpointer      user_data)
{
  Result *result = user_data;

  result->calls++;
  result->collected = filer_probe_collect_finish (FILER_PROBE (object), async, &result->error);
  result->done = TRUE;
}

static FilerProbe *
probe_for (guint16 port)
{
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", port);
  const char *targets[] = { target, NULL };
  FilerProbe *probe = filer_probe_new ();

  filer_probe_set_targets (probe, targets);
  return probe;
}

/* --- A main loop that must keep turning ---------------------------- */

/* The main loop beats every 20 ms; a thread watches the beat. If the
 * loop stops (a blocking read in a datagram callback, the bug that froze
 * the hosting app), the thread fails the test at once instead of letting
 * it hang. The main thread also checks the longest gap it saw. */
typedef struct
{
  gint     beats;            /* atomic */
  gint     stop;             /* atomic */
  gint64   last_beat;        /* main thread only, monotonic µs */
  gint64   longest_gap;      /* main thread only, µs */
  guint    beat_id;
  GThread *thread;
} Heartbeat;

#define STALL_LIMIT_MS 1500

static gboolean
beat_cb (gpointer user_data)
{
  Heartbeat *heart = user_data;
  gint64 now = g_get_monotonic_time ();

  heart->longest_gap = MAX (heart->longest_gap, now - heart->last_beat);
  heart->last_beat = now;
  g_atomic_int_inc (&heart->beats);
  return G_SOURCE_CONTINUE;
}

static gpointer
watchdog_thread (gpointer user_data)
{
  Heartbeat *heart = user_data;
  gint seen = g_atomic_int_get (&heart->beats);
  gint64 since = g_get_monotonic_time ();

  while (!g_atomic_int_get (&heart->stop))
    {
      gint beats = g_atomic_int_get (&heart->beats);
      gint64 now = g_get_monotonic_time ();

      if (beats != seen)
        {
          seen = beats;
          since = now;
        }
      else if ((now - since) / 1000 > STALL_LIMIT_MS)
        g_error ("The main loop stalled for more than %u ms: a blocking read?", STALL_LIMIT_MS);
      g_usleep (50 * 1000);
    }

  return NULL;
}

static void
heartbeat_start (Heartbeat *heart)
{
  heart->last_beat = g_get_monotonic_time ();
  heart->longest_gap = 0;
  heart->beat_id = g_timeout_add (20, beat_cb, heart);
  heart->thread = g_thread_new ("watchdog", watchdog_thread, heart);
}

static void
heartbeat_stop (Heartbeat *heart)
{
  g_atomic_int_set (&heart->stop, 1);
  g_thread_join (heart->thread);
  g_clear_handle_id (&heart->beat_id, g_source_remove);
  g_test_message ("longest main-loop gap: %" G_GINT64_FORMAT " ms", heart->longest_gap / 1000);
}

/* --- Tests --------------------------------------------------------- */

static void
test_finds_server (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(FilerProbe) probe = probe_for (filer_test_server_get_port (server));
  g_autofree char *host = NULL;
  Heartbeat heart = { 0, };
  Result result = { 0, };

  heartbeat_start (&heart);
  filer_probe_find_async (probe, NULL, found_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the probe to find the server");
  g_assert_no_error (result.error);
  g_assert_nonnull (result.found);
  host = g_inet_address_to_string (g_inet_socket_address_get_address (result.found));
  g_assert_cmpstr (host, ==, "127.0.0.1");
  g_assert_cmpuint (g_inet_socket_address_get_port (result.found), ==,
                    filer_test_server_get_port (server));

  /* Once, and the probe is done with its socket: nothing comes later. */
  filer_test_spin (500);
  g_assert_cmpuint (result.calls, ==, 1);
  result_clear (&result);

  /* Collecting lists the one server once, though it answered each of
   * the resent probes. */
  filer_probe_set_timeout (probe, 700);
  filer_probe_collect_async (probe, NULL, collected_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the collecting probe to end");
  g_assert_no_error (result.error);
  g_assert_cmpuint (result.collected->len, ==, 1);
  g_assert_cmpuint (g_inet_socket_address_get_port (g_ptr_array_index (result.collected, 0)), ==,
                    filer_test_server_get_port (server));
  result_clear (&result);
  heartbeat_stop (&heart);
  g_assert_finalize_object (g_steal_pointer (&probe));
}

/* The hosting rule's case: our own server answers (loopback is ours),
 * then nobody else does. Skip-own leaves the reply out, the probe ends
 * at its timeout with nothing, and the main loop runs all along. */
static void
test_own_reply_then_silence (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(FilerProbe) probe = probe_for (filer_test_server_get_port (server));
  Heartbeat heart = { 0, };
  Result result = { 0, };
  gint64 start;

  filer_probe_set_timeout (probe, 1000);
  heartbeat_start (&heart);

  /* The server does answer. */
  filer_probe_find_async (probe, NULL, found_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the server to answer");
  g_assert_nonnull (result.found);
  result_clear (&result);

  filer_probe_set_skip_own (probe, TRUE);

  start = g_get_monotonic_time ();
  filer_probe_collect_async (probe, NULL, collected_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the collecting probe to end");
  g_assert_no_error (result.error);
  g_assert_cmpuint (result.collected->len, ==, 0);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, >=, 950);
  result_clear (&result);

  filer_probe_find_async (probe, NULL, found_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the finding probe to give up");
  g_assert_error (result.error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND);
  result_clear (&result);

  heartbeat_stop (&heart);
  /* 20 ms beats; a loaded machine may miss a few, never a second. */
  g_assert_cmpint (heart.longest_gap / 1000, <, 1000);
}

/* A fake server on loopback that answers each probe with rubbish first,
 * then with one good reply. */
typedef struct
{
  GSocket *socket;
  GSource *source;
  guint    probes;
  gboolean flood;           /* answer each probe with 2,000 "servers" */
} Fake;

static void
fake_send (Fake           *fake,
           GSocketAddress *to,
           const void     *data,
           gsize           length)
{
  g_autoptr(GError) error = NULL;

  g_socket_send_to (fake->socket, to, data, length, NULL, &error);
  g_assert_no_error (error);
}

static void
fake_send_frame (Fake           *fake,
                 GSocketAddress *to,
                 const char     *type,
                 const char     *port)
{
  g_autoptr(FilerFrame) frame = filer_frame_new (type);
  g_autoptr(GBytes) bytes = NULL;

  if (port != NULL)
    filer_frame_set (frame, "port", port);
  bytes = filer_frame_encode (frame, NULL);
  fake_send (fake, to, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static gboolean
fake_readable_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  Fake *fake = user_data;
  g_autoptr(GSocketAddress) from = NULL;
  static const char garbage[] = "\x05\x00hello, not a frame at all";
  char buffer[2048];

  if (g_socket_receive_from (socket, &from, buffer, sizeof buffer, NULL, NULL) <= 0)
    return G_SOURCE_CONTINUE;

  fake->probes++;
  if (fake->flood)
    {
      for (guint port = 1; port <= 2000; port++)
        {
          g_autofree char *text = g_strdup_printf ("%u", port);

          fake_send_frame (fake, from, "probe-reply", text);
        }
      return G_SOURCE_CONTINUE;
    }
  fake_send (fake, from, garbage, sizeof garbage - 1);
  fake_send (fake, from, "", 0);
  fake_send_frame (fake, from, "probe-reply", NULL);       /* no port */
  fake_send_frame (fake, from, "probe-reply", "0");
  fake_send_frame (fake, from, "probe-reply", "70000");
  fake_send_frame (fake, from, "probe-reply", "12ab");
  fake_send_frame (fake, from, "pong", "1111");            /* not a reply */
  fake_send_frame (fake, from, "probe-reply", "4321");
  return G_SOURCE_CONTINUE;
}

static guint16
fake_start (Fake *fake)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  fake->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                               G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (fake->socket, any, FALSE, &error));
  g_socket_set_blocking (fake->socket, FALSE);
  bound = g_socket_get_local_address (fake->socket, &error);
  fake->source = g_socket_create_source (fake->socket, G_IO_IN, NULL);
  g_source_set_callback (fake->source, (GSourceFunc)(void (*)(void))fake_readable_cb, fake, NULL);
  g_source_attach (fake->source, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
fake_stop (Fake *fake)
{
  g_source_destroy (fake->source);
  g_clear_pointer (&fake->source, g_source_unref);
  g_socket_close (fake->socket, NULL);
  g_clear_object (&fake->socket);
}

static void
test_malformed_replies_ignored (void)
{
  Fake fake = { 0, };
  guint16 port = fake_start (&fake);
  g_autoptr(FilerProbe) probe = probe_for (port);
  Heartbeat heart = { 0, };
  Result result = { 0, };

  /* Eight datagrams a probe: a blocking read after the last would stall. */
  heartbeat_start (&heart);
  filer_probe_find_async (probe, NULL, found_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the probe to find the fake server");
  g_assert_no_error (result.error);
  g_assert_cmpuint (fake.probes, >=, 1);
  /* Only the good reply counts: everything before it was skipped. */
  g_assert_cmpuint (g_inet_socket_address_get_port (result.found), ==, 4321);
  result_clear (&result);
  heartbeat_stop (&heart);

  fake_stop (&fake);
}

/* Forged replies by the thousand: a collecting probe keeps a bounded list
 * and the main loop keeps turning. */
static void
test_collect_flood (void)
{
  Fake fake = { .flood = TRUE };
  guint16 port = fake_start (&fake);
  g_autoptr(FilerProbe) probe = probe_for (port);
  Heartbeat heart = { 0, };
  Result result = { 0, };

  heartbeat_start (&heart);
  filer_probe_set_timeout (probe, 700);
  filer_probe_collect_async (probe, NULL, collected_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the collecting probe to end");
  g_assert_no_error (result.error);
  g_assert_cmpuint (fake.probes, >=, 1);
  g_assert_cmpuint (result.collected->len, ==, FILER_PROBE_MAX_SERVERS);
  result_clear (&result);
  heartbeat_stop (&heart);
  fake_stop (&fake);
}

static void
test_timeout (void)
{
  g_autoptr(FilerProbe) probe = probe_for (filer_test_free_udp_port ());
  Result result = { 0, };
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed_ms;

  filer_probe_set_timeout (probe, 400);
  filer_probe_find_async (probe, NULL, found_cb, &result);
  filer_test_wait_for (&result.done, WAIT_MS, "the probe to give up");
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (result.error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND);
  g_assert_null (result.found);
  g_assert_cmpint (elapsed_ms, >=, 390);
  g_assert_cmpint (elapsed_ms, <, 5000);
  result_clear (&result);
}

static void
test_cancel (void)
{
  g_autoptr(FilerProbe) probe = probe_for (filer_test_free_udp_port ());
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result result = { 0, };

  filer_probe_set_timeout (probe, 3000);
  filer_probe_find_async (probe, cancellable, found_cb, &result);
  filer_test_spin (100);
  g_assert_false (result.done);
  g_cancellable_cancel (cancellable);
  filer_test_wait_for (&result.done, 1000, "the cancelled probe to complete");
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&result);

  /* Once: its timeout does not fire later. */
  filer_test_spin (200);
  g_assert_cmpuint (result.calls, ==, 1);
}

/* Issue 14: auto-find must broadcast. Every loopback test sets targets,
 * so this checks what a probe without targets sends to: loopback and the
 * broadcast address of every interface, on the discovery port. */
static void
test_default_targets (void)
{
  g_autoptr(FilerProbe) probe = filer_probe_new ();
  g_auto(GStrv) broadcasts = filer_net_get_broadcast_addresses ();
  g_auto(GStrv) targets = NULL;
  g_auto(GStrv) on_port = NULL;

  g_assert_null (filer_probe_get_targets (probe));
  g_assert_cmpuint (filer_probe_get_port (probe), ==, FILER_DISCOVERY_DEFAULT_PORT);
  targets = filer_probe_dup_send_targets (probe);
  g_assert_true (g_strv_contains ((const char * const *)targets, "127.0.0.1:47800"));
  for (guint i = 0; broadcasts[i] != NULL; i++)
    {
      g_autofree char *expected = g_strdup_printf ("%s:47800", broadcasts[i]);

      g_test_message ("broadcast target %s", expected);
      g_assert_true (g_strv_contains ((const char * const *)targets, expected));
    }
  g_assert_cmpuint (g_strv_length (targets), ==, 1 + g_strv_length (broadcasts));

  /* The hosting rule probes on the session's port. */
  filer_probe_set_port (probe, 5555);
  on_port = filer_probe_dup_send_targets (probe);
  for (guint i = 0; broadcasts[i] != NULL; i++)
    {
      g_autofree char *expected = g_strdup_printf ("%s:5555", broadcasts[i]);

      g_assert_true (g_strv_contains ((const char * const *)on_port, expected));
    }

  if (broadcasts[0] == NULL)
    g_test_skip ("No interface here has a broadcast address: only loopback was checked");
}


/* Issue 10: a probe proves nothing of its source, so the server never
 * answers one with more bytes than it has: an unpadded probe gets no
 * answer at all, a padded one an answer no bigger than itself. */
static gsize
probe_answered (guint16     port,
                const char *ip,
                gsize       pad_to,
                gsize      *sent)
{
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string (ip, 0);
  g_autoptr(GSocketAddress) to = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr(FilerFrame) probe = filer_frame_new ("probe");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
  gsize total = 0;
  char buffer[65536];

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, local, FALSE, &error);
  g_assert_no_error (error);
  filer_frame_set_uint (probe, "version", 1);
  if (pad_to)
    filer_frame_pad_to (probe, pad_to);
  bytes = filer_frame_encode (probe, NULL);
  *sent = g_bytes_get_size (bytes);
  g_socket_send_to (socket, to, g_bytes_get_data (bytes, NULL), *sent, NULL, &error);
  g_assert_no_error (error);
  while (g_get_monotonic_time () < end)
    {
      while (g_socket_condition_check (socket, G_IO_IN) & G_IO_IN)
        {
          gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

          g_assert_cmpint (n, >, 0);
          total += n;
        }
      g_usleep (10 * 1000);
    }

  return total;
}

static void
test_no_amplification (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  guint16 port = filer_test_server_get_port (server);
  gsize sent, back;

  back = probe_answered (port, "127.0.0.71", 0, &sent);
  g_test_message ("unpadded probe: %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " back", sent, back);
  g_assert_cmpuint (back, <=, sent);

  back = probe_answered (port, "127.0.0.72", 128, &sent);
  g_test_message ("padded probe: %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " back", sent, back);
  g_assert_cmpuint (back, >, 0);
  g_assert_cmpuint (back, <=, sent);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/probe/finds-server", test_finds_server);
  g_test_add_func ("/filer/probe/own-reply-then-silence", test_own_reply_then_silence);
  g_test_add_func ("/filer/probe/malformed-replies-ignored", test_malformed_replies_ignored);
  g_test_add_func ("/filer/probe/collect-flood", test_collect_flood);
  g_test_add_func ("/filer/probe/timeout", test_timeout);
  g_test_add_func ("/filer/probe/cancel", test_cancel);
  g_test_add_func ("/filer/probe/no-amplification", test_no_amplification);
  g_test_add_func ("/filer/probe/default-targets", test_default_targets);

  return g_test_run ();
}
