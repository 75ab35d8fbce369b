/* test-server-robustness.c: misbehaving clients cost only their own connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define WAIT_MS 10000

typedef struct
{
  FilerTestServer      *server;
  FilerDiscoveryClient *a;
  FilerDiscoveryClient *b;
} Fixture;

static FilerDiscoveryClient *
make_client (const char *server,
             const char *id)
{
  g_autoptr(FilerDevice) device = filer_device_new (id, id, "desktop");
  FilerDiscoveryClient *client = filer_discovery_client_new (device);

  filer_discovery_client_set_server (client, server);
  return client;
}

static gboolean
is_online (gpointer user_data)
{
  return filer_discovery_client_get_state (user_data) == FILER_DISCOVERY_STATE_ONLINE;
}

static FilerPeer *
find_peer (FilerDiscoveryClient *client,
           const char           *id)
{
  GListModel *peers = filer_discovery_client_get_peers (client);

  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);

      if (g_str_equal (filer_peer_get_id (peer), id))
        return peer;
    }

  return NULL;
}

typedef struct
{
  FilerDiscoveryClient *client;
  const char           *id;
  gboolean              present;
} Expect;

static gboolean
peer_matches (gpointer user_data)
{
  Expect *expect = user_data;

  return (find_peer (expect->client, expect->id) != NULL) == expect->present;
}

static void
wait_peer (FilerDiscoveryClient *client,
           const char           *id,
           gboolean              present)
{
  Expect expect = { client, id, present };

  filer_test_wait_until (peer_matches, &expect, WAIT_MS,
                         present ? "a peer to appear" : "a peer to leave");
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  const char * const *args = data;

  fixture->server = filer_test_server_start (args);
  fixture->a = make_client (filer_test_server_get_address (fixture->server), "device-aaaa");
  fixture->b = make_client (filer_test_server_get_address (fixture->server), "device-bbbb");
  filer_discovery_client_start (fixture->a);
  filer_discovery_client_start (fixture->b);
  filer_test_wait_until (is_online, fixture->a, WAIT_MS, "a online");
  filer_test_wait_until (is_online, fixture->b, WAIT_MS, "b online");
  wait_peer (fixture->a, "device-bbbb", TRUE);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_clear_pointer (&fixture->server, filer_test_server_stop);
}

/* The others are undisturbed: a and b still online and seeing each
 * other, and a newcomer still gets in and is seen. */
static void
assert_others_fine (Fixture *fixture)
{
  g_autoptr(FilerDiscoveryClient) c =
    make_client (filer_test_server_get_address (fixture->server), "device-cccc");

  g_assert_cmpint (filer_discovery_client_get_state (fixture->a), ==, FILER_DISCOVERY_STATE_ONLINE);
  g_assert_cmpint (filer_discovery_client_get_state (fixture->b), ==, FILER_DISCOVERY_STATE_ONLINE);
  g_assert_nonnull (find_peer (fixture->a, "device-bbbb"));

  filer_discovery_client_start (c);
  filer_test_wait_until (is_online, c, WAIT_MS, "a newcomer online");
  wait_peer (fixture->a, "device-cccc", TRUE);
  wait_peer (fixture->b, "device-cccc", TRUE);
  g_assert_nonnull (find_peer (c, "device-aaaa"));
}

static GSocketConnection *
raw_connect (FilerTestServer *server,
             const char      *local_address)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_enable_proxy (client, FALSE);
  if (local_address != NULL)
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (local_address);
      g_autoptr(GSocketAddress) local = g_inet_socket_address_new (inet, 0);

      g_socket_client_set_local_address (client, local);
    }

  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                filer_test_server_get_port (server),
                                                NULL, &error);
  g_assert_no_error (error);
  /* Reads below block, but never for ever. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 10);
  return connection;
}

static void
raw_write (GSocketConnection *connection,
           const void        *data,
           gsize              length)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             data, length, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
raw_send (GSocketConnection *connection,
          FilerFrame        *frame)
{
  g_autoptr(GBytes) bytes = filer_frame_encode (frame, NULL);

  raw_write (connection, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Reads until the server closes; returns the "code" of the error frame
 * it sent last, or NULL. Fails the test if the server keeps it open. */
static char *
read_until_closed (GSocketConnection *connection)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (65536);
  char *code = NULL;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      char buffer[4096];
      gssize n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &error);

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
        break;
      g_assert_no_error (error);
      if (n == 0)
        break;

      filer_frame_decoder_feed (decoder, buffer, n);
      for (;;)
        {
          g_autoptr(FilerFrame) frame = filer_frame_decoder_next (decoder, &error);

          g_assert_no_error (error);
          if (frame == NULL)
            break;
          if (filer_frame_is (frame, "error"))
            {
              g_free (code);
              code = g_strdup (filer_frame_get (frame, "code"));
            }
        }
    }

  return code;
}

static void
test_garbage (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GSocketConnection) bad = raw_connect (fixture->server, NULL);
  g_autofree char *code = NULL;
  guint8 junk[512];

  /* A plausible header length, then bytes that are not UTF-8. */
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = 0x80 | (i * 37);
  junk[0] = 0x20;
  junk[1] = 0x00;

  raw_write (bad, junk, sizeof junk);
  code = read_until_closed (bad);
  g_test_message ("server answered garbage with “%s”", code ? code : "(nothing)");
  assert_others_fine (fixture);
}

static void
test_oversized_length (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GSocketConnection) bad = raw_connect (fixture->server, NULL);
  static const char header[] = "CL:99999999999;type:register";
  g_autofree char *code = NULL;
  guint8 prefix[2] = { sizeof header - 1, 0 };

  raw_write (bad, prefix, 2);
  raw_write (bad, header, sizeof header - 1);
  code = read_until_closed (bad);
  g_assert_nonnull (code);
  assert_others_fine (fixture);
}

static void
test_half_frame (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GSocketConnection) bad = raw_connect (fixture->server, NULL);
  static const guint8 half[] = { 0x40, 0x00, 'C', 'L', ':', '0' };
  gint64 start = g_get_monotonic_time ();

  raw_write (bad, half, sizeof half);

  /* While it hangs mid-frame, everyone else carries on… */
  assert_others_fine (fixture);

  /* …and the server drops it once the idle timeout passes. */
  g_free (read_until_closed (bad));
  g_test_message ("half frame dropped after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
}

static void
test_reset (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GSocketConnection) bad = raw_connect (fixture->server, NULL);
  g_autoptr(FilerFrame) frame = filer_frame_new ("register");
  GSocket *socket = g_socket_connection_get_socket (bad);
  struct linger linger = { 1, 0 };

  filer_frame_set (frame, "id", "device-reset");
  filer_frame_set (frame, "name", "Reset");
  raw_send (bad, frame);
  wait_peer (fixture->a, "device-reset", TRUE);

  /* SO_LINGER 0: close() sends a RST instead of a FIN. */
  g_assert_cmpint (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER,
                               &linger, sizeof linger), ==, 0);
  g_socket_close (socket, NULL);

  wait_peer (fixture->a, "device-reset", FALSE);
  assert_others_fine (fixture);
}

static void
test_protocol_errors (Fixture       *fixture,
                      gconstpointer  data)
{
  struct {
    const char *type;
    const char *key;
    const char *value;
    const char *code;
  } cases[] = {
    { "update", "name", "x", "not-registered" },
    { "register", "name", "no id", "bad-register" },
    { "register", "id", "bad id with spaces", "bad-register" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GSocketConnection) bad = raw_connect (fixture->server, NULL);
      g_autoptr(FilerFrame) frame = filer_frame_new (cases[i].type);
      g_autofree char *code = NULL;

      filer_frame_set (frame, cases[i].key, cases[i].value);
      raw_send (bad, frame);
      code = read_until_closed (bad);
      g_assert_cmpstr (code, ==, cases[i].code);
    }

  assert_others_fine (fixture);
}

static void
test_per_address_limit (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GSocketConnection) first = raw_connect (fixture->server, "127.0.0.5");
  g_autoptr(GSocketConnection) second = raw_connect (fixture->server, "127.0.0.5");
  g_autoptr(GSocketConnection) third = raw_connect (fixture->server, "127.0.0.5");
  g_autoptr(GSocketConnection) fourth = raw_connect (fixture->server, "127.0.0.5");
  g_autoptr(GSocketConnection) other = NULL;
  g_autoptr(GSocketConnection) again = NULL;
  g_autoptr(FilerFrame) ping = filer_frame_new ("ping");
  g_autofree char *code = NULL;
  char buffer[64];

  /* The limit is 3 per address (a, b and the newcomer of
   * assert_others_fine() come from 127.0.0.1): the fourth is refused
   * with a reason. */
  code = read_until_closed (fourth);
  g_assert_cmpstr (code, ==, "too-many-connections");

  /* Another address is not affected. */
  other = raw_connect (fixture->server, "127.0.0.6");
  raw_send (other, ping);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (other)),
                                        buffer, sizeof buffer, NULL, NULL), >, 0);

  /* A slot frees when a connection closes. */
  g_io_stream_close (G_IO_STREAM (first), NULL, NULL);
  g_usleep (300 * 1000);
  again = raw_connect (fixture->server, "127.0.0.5");
  raw_send (again, ping);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (again)),
                                        buffer, sizeof buffer, NULL, NULL), >, 0);

  assert_others_fine (fixture);
}

int
main (int   argc,
      char *argv[])
{
  static const char *short_idle[] = { "--idle-timeout", "1", NULL };
  static const char *limit[] = { "--max-per-address", "3", NULL };

  filer_test_init (&argc, &argv);

  g_test_add ("/filer/discovery/robustness/garbage", Fixture, NULL,
              fixture_set_up, test_garbage, fixture_tear_down);
  g_test_add ("/filer/discovery/robustness/oversized-length", Fixture, NULL,
              fixture_set_up, test_oversized_length, fixture_tear_down);
  g_test_add ("/filer/discovery/robustness/half-frame", Fixture, short_idle,
              fixture_set_up, test_half_frame, fixture_tear_down);
  g_test_add ("/filer/discovery/robustness/reset", Fixture, NULL,
              fixture_set_up, test_reset, fixture_tear_down);
  g_test_add ("/filer/discovery/robustness/protocol-errors", Fixture, NULL,
              fixture_set_up, test_protocol_errors, fixture_tear_down);
  g_test_add ("/filer/discovery/robustness/per-address-limit", Fixture, limit,
              fixture_set_up, test_per_address_limit, fixture_tear_down);

  return g_test_run ();
}
