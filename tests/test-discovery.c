/* test-discovery.c: FilerDiscoveryClient against a real filer-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "libfiler.h"
#include "filer-test-util.h"

/* Generous: the machine is shared and slow. The 1 s bound that the
 * product promises for a closed peer is asserted separately, with a
 * measured time. */
#define WAIT_MS 10000

static FilerDiscoveryClient *
make_client (const char *server,
             const char *id,
             const char *name,
             const char *room,
             const char *local_address)
{
  g_autoptr(FilerDevice) device = filer_test_device_new (id, name, "desktop");
  FilerDiscoveryClient *client = filer_discovery_client_new (device);

  filer_discovery_client_set_server (client, server);
  filer_discovery_client_set_room (client, room);
  filer_discovery_client_set_local_address (client, local_address);
  return client;
}

static gboolean
is_online (gpointer user_data)
{
  return filer_discovery_client_get_state (user_data) == FILER_DISCOVERY_STATE_ONLINE;
}

static gboolean
is_offline (gpointer user_data)
{
  return filer_discovery_client_get_state (user_data) == FILER_DISCOVERY_STATE_OFFLINE;
}

/* Counts the times a client went online (connected as a swapped
 * notify::state handler). */
static void
count_online_cb (guint                *count,
                 GParamSpec           *pspec,
                 FilerDiscoveryClient *client)
{
  if (filer_discovery_client_get_state (client) == FILER_DISCOVERY_STATE_ONLINE)
    (*count)++;
}

static void
start_and_wait (FilerDiscoveryClient *client)
{
  filer_discovery_client_start (client);
  filer_test_wait_until (is_online, client, WAIT_MS, "the client to come online");
}

typedef struct
{
  FilerDiscoveryClient *client;
  const char           *id;
} Expect;

static FilerPeer *
find_peer (FilerDiscoveryClient *client,
           const char           *id)
{
  GListModel *peers = filer_discovery_client_get_peers (client);

  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);

      if (g_str_equal (filer_peer_get_id (peer), filer_test_id (id)))
        return peer;
    }

  return NULL;
}

static gboolean
has_peer (gpointer user_data)
{
  Expect *expect = user_data;

  return find_peer (expect->client, expect->id) != NULL;
}

static gboolean
lacks_peer (gpointer user_data)
{
  return !has_peer (user_data);
}

static void
wait_for_peer (FilerDiscoveryClient *client,
               const char           *id)
{
  Expect expect = { client, id };
  g_autofree char *what = g_strdup_printf ("%s to appear", id);

  filer_test_wait_until (has_peer, &expect, WAIT_MS, what);
}

static void
wait_for_no_peer (FilerDiscoveryClient *client,
                  const char           *id,
                  guint                 timeout_ms)
{
  Expect expect = { client, id };
  g_autofree char *what = g_strdup_printf ("%s to disappear", id);

  filer_test_wait_until (lacks_peer, &expect, timeout_ms, what);
}

static guint
n_peers (FilerDiscoveryClient *client)
{
  return g_list_model_get_n_items (filer_discovery_client_get_peers (client));
}

/* ------------------------------------------------------------------ */

static void
test_three_clients (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) c = make_client (address, "device-cccc", "Gamma", NULL, "127.0.0.1");
  FilerPeer *peer;
  const char * const *addresses;

  filer_discovery_client_set_transfer_port (b, 4242);

  start_and_wait (a);
  g_assert_cmpuint (n_peers (a), ==, 0);
  g_assert_cmpstr (filer_discovery_client_get_public_address (a), ==, "127.0.0.1");

  start_and_wait (b);
  start_and_wait (c);

  wait_for_peer (a, "device-bbbb");
  wait_for_peer (a, "device-cccc");
  wait_for_peer (b, "device-aaaa");
  wait_for_peer (b, "device-cccc");
  wait_for_peer (c, "device-aaaa");
  wait_for_peer (c, "device-bbbb");
  g_assert_cmpuint (n_peers (a), ==, 2);
  g_assert_cmpuint (n_peers (b), ==, 2);
  g_assert_cmpuint (n_peers (c), ==, 2);

  /* What c learnt about b: from the snapshot, not a delta. */
  peer = find_peer (c, "device-bbbb");
  g_assert_cmpstr (filer_peer_get_name (peer), ==, "Beta");
  g_assert_cmpstr (filer_peer_get_kind (peer), ==, "desktop");
  g_assert_cmpuint (filer_peer_get_port (peer), ==, 4242);
  g_assert_cmpint (filer_peer_get_network (peer), ==, FILER_PEER_NETWORK_LAN);
  g_assert_cmpstr (filer_peer_get_public_address (peer), ==, "127.0.0.1");

  /* And what a learnt from the delta. */
  peer = find_peer (a, "device-bbbb");
  g_assert_cmpuint (filer_peer_get_port (peer), ==, 4242);

  /* A client bound to one address announces that one only. */
  addresses = filer_peer_get_addresses (find_peer (a, "device-cccc"));
  g_assert_cmpuint (g_strv_length ((char **)addresses), ==, 1);
  g_assert_cmpstr (addresses[0], ==, "127.0.0.1");

  g_assert_true (filer_discovery_client_lookup_peer (a, filer_test_id ("device-cccc"), NULL) ==
                 find_peer (a, "device-cccc"));
  g_assert_true (filer_discovery_client_lookup_peer (a, "gamma", NULL) ==
                 find_peer (a, "device-cccc"));
}

static void
test_closed_client_leaves (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  gint64 start;

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");

  /* The product promises a closed peer is gone for the others within a
   * second; the watchdog is that second. */
  start = g_get_monotonic_time ();
  filer_discovery_client_stop (b);
  wait_for_no_peer (a, "device-bbbb", 1000);
  g_test_message ("closed client gone after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
}

static void
test_killed_connection_leaves (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");

  /* Disposing the client tears its socket down without a goodbye. */
  g_clear_object (&b);
  wait_for_no_peer (a, "device-bbbb", 1000);
}

/* A raw connection (TLS with @label's key, as the server wants it) that
 * registers and then says nothing at all. */
static GIOStream *
raw_connect (FilerTestServer *server,
             const char      *label)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GIOStream *tls;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                filer_test_server_get_port (server), NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 10);
  tls = filer_test_tls_client (connection, label, filer_test_server_get_id (server), &error);
  g_assert_no_error (error);
  return tls;
}

static void
raw_write (GIOStream  *connection,
           const void *data,
           gsize       length)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (connection),
                             data, length, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
raw_register (GIOStream  *connection,
              const char *label)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("register");
  g_autoptr(GBytes) bytes = NULL;

  filer_frame_set (frame, "id", filer_test_id (label));
  filer_frame_set (frame, "name", label);
  bytes = filer_frame_encode (frame, NULL);
  raw_write (connection, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Reads up to the welcome; returns its bind-secret. */
static char *
raw_read_bind_secret (GIOStream *connection)
{
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (65536);
  g_autoptr(FilerFrame) welcome = NULL;
  g_autoptr(GError) error = NULL;
  char buffer[4096];

  while (welcome == NULL)
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (connection), buffer,
                                      sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      filer_frame_decoder_feed (decoder, buffer, n);
      welcome = filer_frame_decoder_next (decoder, &error);
      g_assert_no_error (error);
    }
  g_assert_true (filer_frame_is (welcome, "welcome"));
  return g_strdup (filer_frame_get (welcome, "bind-secret"));
}

/* A short idle timeout, 0.6 s (stretched for the sanitizer build, whose
 * server and clients are several times slower): "--idle-timeout", its
 * value. */
static char idle_timeout[16];

static const char *
short_idle_timeout (void)
{
  g_snprintf (idle_timeout, sizeof idle_timeout, "%.1f", 0.6 * filer_test_timeout_multiplier ());
  return idle_timeout;
}

static void
test_silent_client_leaves (void)
{
  const char *args[] = { "--idle-timeout", short_idle_timeout (), NULL };
  g_autoptr(FilerTestServer) server = filer_test_server_start (args);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(GIOStream) silent = NULL;
  guint m = filer_test_timeout_multiplier ();
  gint64 start;

  start_and_wait (a);
  silent = raw_connect (server, "device-silent");
  start = g_get_monotonic_time ();
  raw_register (silent, "device-silent");
  wait_for_peer (a, "device-silent");

  /* a itself keeps talking (its keepalive is a third of the timeout), so
   * it stays; the silent one goes. */
  wait_for_no_peer (a, "device-silent", WAIT_MS);
  /* Not before the idle timeout (600 ms) has passed since it spoke. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, m * 550 * 1000);
  g_assert_cmpint (filer_discovery_client_get_state (a), ==, FILER_DISCOVERY_STATE_ONLINE);

  /* Several idle timeouts later, a is still online, never dropped. */
  filer_test_spin (m * 2000);
  g_assert_cmpint (filer_discovery_client_get_state (a), ==, FILER_DISCOVERY_STATE_ONLINE);
}

static void
count_state_cb (GObject    *object,
                GParamSpec *pspec,
                guint      *count)
{
  (*count)++;
}

static void
count_peer_cb (FilerDiscoveryClient *client,
               FilerPeer            *peer,
               guint                *count)
{
  (*count)++;
}

/* Issue 14: a client that never pinged survived the suite, because the
 * server kicked it, it came back within the backoff, and the tests only
 * looked at two instants. Here the keepalive must keep both clients
 * online without a single drop over several idle timeouts: no state
 * change, and neither ever leaves the other's list. */
static void
test_keepalive_keeps_online (void)
{
  const char *args[] = { "--idle-timeout", short_idle_timeout (), NULL };
  g_autoptr(FilerTestServer) server = filer_test_server_start (args);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  guint a_changes = 0;
  guint b_changes = 0;
  guint a_lost = 0;
  guint b_lost = 0;

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");
  wait_for_peer (b, "device-aaaa");

  g_signal_connect (a, "notify::state", G_CALLBACK (count_state_cb), &a_changes);
  g_signal_connect (b, "notify::state", G_CALLBACK (count_state_cb), &b_changes);
  g_signal_connect (a, "peer-left", G_CALLBACK (count_peer_cb), &a_lost);
  g_signal_connect (b, "peer-left", G_CALLBACK (count_peer_cb), &b_lost);

  /* Seven idle timeouts (the server asks for a ping every third). */
  filer_test_spin (4200 * filer_test_timeout_multiplier ());

  g_assert_cmpuint (a_changes, ==, 0);
  g_assert_cmpuint (b_changes, ==, 0);
  g_assert_cmpuint (a_lost, ==, 0);
  g_assert_cmpuint (b_lost, ==, 0);
  g_assert_cmpint (filer_discovery_client_get_state (a), ==, FILER_DISCOVERY_STATE_ONLINE);
  g_assert_cmpint (filer_discovery_client_get_state (b), ==, FILER_DISCOVERY_STATE_ONLINE);

  g_signal_handlers_disconnect_by_data (a, &a_changes);
  g_signal_handlers_disconnect_by_data (b, &b_changes);
  g_signal_handlers_disconnect_by_data (a, &a_lost);
  g_signal_handlers_disconnect_by_data (b, &b_lost);
}

/* The server sees every 127.x address as its own network here
 * (--loopback-is-public), so clients bound to different loopback
 * addresses stand for machines behind different NATs. */
static void
test_room_and_network_visibility (void)
{
  const char *args[] = { "--loopback-is-public", NULL };
  g_autoptr(FilerTestServer) server = filer_test_server_start (args);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "A", "Room-7abc-9x", "127.0.0.2");
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "B", "R00M 7ABC 9X", "127.0.0.3");
  g_autoptr(FilerDiscoveryClient) c = make_client (address, "device-cccc", "C", NULL, "127.0.0.4");
  g_autoptr(FilerDiscoveryClient) d = make_client (address, "device-dddd", "D", NULL, "127.0.0.2");
  g_autoptr(FilerDiscoveryClient) e = make_client (address, "device-eeee", "E", "OTHER-R00M-2", "127.0.0.3");

  start_and_wait (a);
  start_and_wait (b);
  start_and_wait (c);
  start_and_wait (d);
  start_and_wait (e);
  g_assert_cmpstr (filer_discovery_client_get_public_address (b), ==, "127.0.0.3");

  /* a: d shares its network, b its room (room codes ignore case,
   * dashes and spaces, and O is 0). */
  wait_for_peer (a, "device-bbbb");
  wait_for_peer (a, "device-dddd");
  g_assert_cmpint (filer_peer_get_network (find_peer (a, "device-bbbb")), ==,
                   FILER_PEER_NETWORK_REMOTE);
  g_assert_cmpint (filer_peer_get_network (find_peer (a, "device-dddd")), ==,
                   FILER_PEER_NETWORK_LAN);

  /* b: a through the room, e through the network. */
  wait_for_peer (b, "device-aaaa");
  wait_for_peer (b, "device-eeee");

  wait_for_peer (d, "device-aaaa");
  wait_for_peer (e, "device-bbbb");

  /* Give any wrong delta time to arrive, then check nobody else is seen. */
  filer_test_spin (300);
  g_assert_cmpuint (n_peers (a), ==, 2);
  g_assert_cmpuint (n_peers (b), ==, 2);
  g_assert_cmpuint (n_peers (c), ==, 0);
  g_assert_cmpuint (n_peers (d), ==, 1);
  g_assert_cmpuint (n_peers (e), ==, 1);
}

/* Without the test hook, loopback and private sources are one network. */
static void
test_private_addresses_are_one_network (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "A", NULL, "127.0.0.2");
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "B", NULL, "127.0.0.3");

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");
  wait_for_peer (b, "device-aaaa");
  g_assert_cmpint (filer_peer_get_network (find_peer (a, "device-bbbb")), ==,
                   FILER_PEER_NETWORK_LAN);
}

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
removed_cb (GListModel *model,
            guint       position,
            guint       removed,
            guint       added,
            guint      *count)
{
  *count += removed;
}

static gboolean
port_is_5000 (gpointer user_data)
{
  return filer_peer_get_port (user_data) == 5000;
}

static gboolean
peer_is_renamed (gpointer user_data)
{
  return g_strcmp0 (filer_peer_get_name (user_data), "Beta Renamed") == 0;
}

static void
test_update_in_place (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  guint port_notifies = 0;
  guint name_notifies = 0;
  guint removals = 0;
  FilerPeer *peer;

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");
  peer = find_peer (a, "device-bbbb");
  g_signal_connect (peer, "notify::port", G_CALLBACK (notify_count_cb), &port_notifies);
  g_signal_connect (peer, "notify::name", G_CALLBACK (notify_count_cb), &name_notifies);
  g_signal_connect (filer_discovery_client_get_peers (a), "items-changed",
                    G_CALLBACK (removed_cb), &removals);

  filer_discovery_client_set_transfer_port (b, 5000);
  filer_test_wait_until (port_is_5000, peer, WAIT_MS, "the new port to arrive");

  /* Same object, one notify for what changed, none for what did not,
   * and the list never lost the row. */
  g_assert_true (find_peer (a, "device-bbbb") == peer);
  g_assert_cmpuint (port_notifies, ==, 1);
  g_assert_cmpuint (name_notifies, ==, 0);
  g_assert_cmpuint (removals, ==, 0);

  filer_device_set_name (filer_discovery_client_get_device (b), "Beta Renamed");
  filer_test_wait_until (peer_is_renamed, peer, WAIT_MS, "the new name to arrive");
  g_assert_cmpuint (name_notifies, ==, 1);

  g_signal_handlers_disconnect_by_data (peer, &port_notifies);
  g_signal_handlers_disconnect_by_data (peer, &name_notifies);
  g_signal_handlers_disconnect_by_data (filer_discovery_client_get_peers (a), &removals);
}

static gboolean
peer_is_name_50 (gpointer user_data)
{
  return g_strcmp0 (filer_peer_get_name (user_data), "Beta 50") == 0;
}

/* A name typed key by key is 50 changes in a moment; the server allows
 * 20 updates at once, then 1 a second (§2.8). The client sends at most
 * one a second, the last value, and stays online. */
static void
test_updates_coalesced (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  guint states = 0;
  FilerPeer *peer;

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");
  peer = find_peer (a, "device-bbbb");
  g_signal_connect (b, "notify::state", G_CALLBACK (notify_count_cb), &states);

  for (guint i = 1; i <= 50; i++)
    {
      g_autofree char *name = g_strdup_printf ("Beta %u", i);

      filer_device_set_name (filer_discovery_client_get_device (b), name);
    }
  filer_test_wait_until (peer_is_name_50, peer, WAIT_MS, "the last name to arrive");

  /* Never kicked for a flood: online all along, the same row. */
  g_assert_cmpuint (states, ==, 0);
  g_assert_true (find_peer (a, "device-bbbb") == peer);
  g_signal_handlers_disconnect_by_data (b, &states);
}

static void
test_auto_find (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", filer_test_server_get_port (server));
  const char *targets[] = { target, NULL };
  g_autoptr(FilerDiscoveryClient) a = make_client (NULL, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (NULL, "device-bbbb", "Beta", NULL, NULL);

  filer_discovery_client_set_probe_targets (a, targets);
  filer_discovery_client_set_probe_targets (b, targets);
  start_and_wait (a);
  start_and_wait (b);
  g_assert_cmpstr (filer_discovery_client_get_server_address (a), ==,
                   filer_test_server_get_address (server));
  wait_for_peer (a, "device-bbbb");
}

static void
test_auto_find_nothing (void)
{
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", filer_test_free_udp_port ());
  const char *targets[] = { target, NULL };
  g_autoptr(FilerDiscoveryClient) a = make_client (NULL, "device-aaaa", "Alpha", NULL, NULL);
  const GError *error;

  filer_discovery_client_set_probe_targets (a, targets);
  filer_discovery_client_start (a);
  filer_test_wait_until (is_offline, a, WAIT_MS, "the probe to give up");
  error = filer_discovery_client_get_error (a);
  g_assert_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND);
}

static void
test_reconnect_after_restart (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autofree char *address = g_strdup (filer_test_server_get_address (server));
  g_autofree char *port = g_strdup_printf ("%u", filer_test_server_get_port (server));
  const char *args[] = { "--port", port, NULL };
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");

  filer_test_server_kill (server);
  filer_test_wait_until (is_offline, a, WAIT_MS, "a to notice the server is gone");
  g_assert_nonnull (filer_discovery_client_get_error (a));

  g_clear_pointer (&server, filer_test_server_stop);
  server = filer_test_server_start (args);

  filer_test_wait_until (is_online, a, WAIT_MS, "a to reconnect");
  filer_test_wait_until (is_online, b, WAIT_MS, "b to reconnect");
  wait_for_peer (a, "device-bbbb");
  wait_for_peer (b, "device-aaaa");
  g_assert_null (filer_discovery_client_get_error (a));
}

/* The list survives a short outage and is forgotten after 5 s offline
 * (FILER_PEER_LIST_STALE_TIMEOUT_MS), though the retries keep failing
 * meanwhile. */
static void
test_stale_peers_forgotten (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  g_autoptr(FilerPeer) peer = NULL;
  gint64 offline;
  gint64 elapsed_ms;

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");
  peer = g_object_ref (find_peer (a, "device-bbbb"));

  filer_test_server_kill (server);
  filer_test_wait_until (is_offline, a, WAIT_MS, "a to notice the server is gone");
  offline = g_get_monotonic_time ();

  filer_test_spin (2000);
  g_assert_true (find_peer (a, "device-bbbb") == peer);

  wait_for_no_peer (a, "device-bbbb", WAIT_MS);
  elapsed_ms = (g_get_monotonic_time () - offline) / 1000;
  g_test_message ("forgotten %" G_GINT64_FORMAT " ms after going offline", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, FILER_PEER_LIST_STALE_TIMEOUT_MS - 300);
  g_assert_cmpint (elapsed_ms, <, FILER_PEER_LIST_STALE_TIMEOUT_MS + 3000);
}

/* Who left while we were away is gone the moment we are back online:
 * the snapshot is reconciled, not merged (and well before the stale
 * timeout could explain it). */
static void
test_snapshot_drops_the_gone (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autofree char *address = g_strdup (filer_test_server_get_address (server));
  g_autofree char *port = g_strdup_printf ("%u", filer_test_server_get_port (server));
  const char *args[] = { "--port", port, NULL };
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  gint64 killed;

  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");

  filer_test_server_kill (server);
  killed = g_get_monotonic_time ();
  filer_test_wait_until (is_offline, a, WAIT_MS, "a to notice the server is gone");
  filer_discovery_client_stop (b);
  g_assert_nonnull (find_peer (a, "device-bbbb"));

  g_clear_pointer (&server, filer_test_server_stop);
  server = filer_test_server_start (args);
  filer_test_wait_until (is_online, a, WAIT_MS, "a to reconnect");
  g_assert_null (find_peer (a, "device-bbbb"));
  g_assert_cmpint ((g_get_monotonic_time () - killed) / 1000, <, FILER_PEER_LIST_STALE_TIMEOUT_MS - 500);
}

static gboolean
peer_b_is_new (gpointer user_data)
{
  FilerPeer *peer = find_peer (user_data, "device-bbbb");

  return peer != NULL && g_strcmp0 (filer_peer_get_name (peer), "New") == 0;
}

static void
test_same_device_replaces (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b1 = make_client (address, "device-bbbb", "Old", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b2 = make_client (address, "device-bbbb", "New", NULL, NULL);
  const GError *error;
  guint b1_changes = 0;
  guint b2_changes = 0;

  start_and_wait (a);
  start_and_wait (b1);
  wait_for_peer (a, "device-bbbb");

  /* The same device id again (a restarted app whose old connection has
   * not timed out yet): the new registration wins, the old connection
   * is told why and does not fight back. */
  start_and_wait (b2);
  filer_test_wait_until (peer_b_is_new, a, WAIT_MS, "the new registration to show");
  filer_test_wait_until (is_offline, b1, WAIT_MS, "the old connection to be dropped");
  error = filer_discovery_client_get_error (b1);
  g_assert_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_REJECTED);

  /* Not a single retry: b1 stays offline all along (it would spend most
   * of a fight offline, in its backoff, so every state change counts),
   * and b2 is never pushed out. */
  g_signal_connect (b1, "notify::state", G_CALLBACK (count_state_cb), &b1_changes);
  g_signal_connect (b2, "notify::state", G_CALLBACK (count_state_cb), &b2_changes);
  filer_test_spin (1500);
  g_assert_cmpuint (b1_changes, ==, 0);
  g_assert_cmpuint (b2_changes, ==, 0);
  g_signal_handlers_disconnect_by_data (b1, &b1_changes);
  g_signal_handlers_disconnect_by_data (b2, &b2_changes);
  g_assert_cmpint (filer_discovery_client_get_state (b1), ==, FILER_DISCOVERY_STATE_OFFLINE);
  g_assert_cmpint (filer_discovery_client_get_state (b2), ==, FILER_DISCOVERY_STATE_ONLINE);
  g_assert_true (peer_b_is_new (a));
  g_assert_cmpuint (n_peers (a), ==, 1);
}

static void
test_lookup (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autoptr(FilerDiscoveryClient) a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (address, "device-bbbb", "Twin", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) c = make_client (address, "device-cccc", "Twin", NULL, NULL);
  g_autoptr(GError) error = NULL;

  start_and_wait (a);
  start_and_wait (b);
  start_and_wait (c);
  wait_for_peer (a, "device-bbbb");
  wait_for_peer (a, "device-cccc");

  g_assert_null (filer_discovery_client_lookup_peer (a, "twin", &error));
  g_assert_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_AMBIGUOUS);
  g_clear_error (&error);

  g_assert_null (filer_discovery_client_lookup_peer (a, "nobody", &error));
  g_assert_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NO_SUCH_PEER);
  g_clear_error (&error);

  g_assert_nonnull (filer_discovery_client_lookup_peer (a, filer_test_id ("device-cccc"), &error));
  g_assert_no_error (error);
}

/* The UDP extension point, with an in-process FilerServer. */
static void
echo_handler (FilerServer    *server,
              FilerFrame     *frame,
              GSocketAddress *from,
              gpointer        user_data)
{
  g_autoptr(FilerFrame) reply = filer_frame_new ("echo-reply");
  guint *calls = user_data;

  (*calls)++;
  filer_frame_set (reply, "said", filer_frame_get (frame, "say"));
  g_assert_true (filer_server_send_datagram (server, reply, from, NULL));
}

static gboolean
socket_readable (gpointer user_data)
{
  return g_socket_condition_check (user_data, G_IO_IN) != 0;
}

static void
test_datagram_extension (void)
{
  g_autoptr(FilerServer) server = filer_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) to = NULL;
  g_autoptr(FilerFrame) frame = filer_frame_new ("echo");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (4096);
  g_autoptr(FilerFrame) reply = NULL;
  static const char garbage[] = "\x05\x00hello, not a frame at all";
  char buffer[4096];
  guint calls = 0;
  gssize length;

  filer_server_set_bind_address (server, "127.0.0.1");
  filer_server_set_port (server, 0);
  filer_server_add_datagram_handler (server, "ech*", echo_handler, &calls, NULL);
  g_assert_true (filer_server_start (server, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (filer_server_get_port (server), !=, 0);

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  to = g_inet_socket_address_new (loopback, filer_server_get_port (server));

  /* Garbage first: ignored, and the server goes on. */
  g_socket_send_to (socket, to, garbage, sizeof garbage - 1, NULL, &error);
  g_assert_no_error (error);

  filer_frame_set (frame, "say", "hi; there");
  bytes = filer_frame_encode (frame, NULL);
  g_socket_send_to (socket, to, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                    NULL, &error);
  g_assert_no_error (error);

  filer_test_wait_until (socket_readable, socket, WAIT_MS, "the echo reply");
  length = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  filer_frame_decoder_feed (decoder, buffer, length);
  reply = filer_frame_decoder_next (decoder, &error);
  g_assert_no_error (error);
  g_assert_true (filer_frame_is (reply, "echo-reply"));
  g_assert_cmpstr (filer_frame_get (reply, "said"), ==, "hi; there");
  g_assert_cmpuint (calls, ==, 1);

  filer_server_stop (server);
  g_assert_false (filer_server_is_running (server));
}

/* FilerServer in-process, as the GUI hosts it, with a client on it. */
static void
test_in_process_server (void)
{
  g_autoptr(FilerServer) server = filer_server_new ();
  g_autoptr(FilerDiscoveryClient) a = NULL;
  g_autoptr(FilerDiscoveryClient) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  filer_server_set_bind_address (server, "127.0.0.1");
  filer_server_set_port (server, 0);
  g_assert_true (filer_server_start (server, &error));
  address = g_strdup_printf ("127.0.0.1:%u", filer_server_get_port (server));

  a = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  b = make_client (address, "device-bbbb", "Beta", NULL, NULL);
  start_and_wait (a);
  start_and_wait (b);
  wait_for_peer (a, "device-bbbb");
  g_assert_cmpuint (filer_server_get_n_peers (server), ==, 2);
  g_assert_true (filer_server_peers_can_see (server, filer_test_id ("device-aaaa"),
                                             filer_test_id ("device-bbbb")));
  g_assert_false (filer_server_peers_can_see (server, filer_test_id ("device-aaaa"),
                                              filer_test_id ("device-zzzz")));

  filer_discovery_client_stop (b);
  wait_for_no_peer (a, "device-bbbb", WAIT_MS);

  g_clear_object (&a);
  g_clear_object (&b);
  filer_server_stop (server);
  g_assert_finalize_object (g_steal_pointer (&server));
}

/* A fake server that welcomes, then says nothing more and answers no
 * ping (a dead path TCP has not noticed): the client must give up on it
 * after three keepalive periods, and say why. It also sends a client
 * that cannot parse anything else a malformed peer, to check the client
 * survives it. */
typedef struct
{
  GIOStream         *held;
  const char        *script;
  gsize              script_length;
} FakeServer;

static void
fake_handshake_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  FakeServer *fake = user_data;
  g_autoptr(FilerFrame) welcome = filer_frame_new ("welcome");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GIOStream) tls = filer_tls_handshake_finish (result, NULL, NULL);
  GOutputStream *output;

  if (tls == NULL)
    return;

  output = g_io_stream_get_output_stream (tls);
  filer_frame_set_uint (welcome, "keepalive-ms", 100);
  filer_frame_set_uint (welcome, "count", 0);
  filer_frame_set (welcome, "public-address", "127.0.0.1");
  bytes = filer_frame_encode (welcome, NULL);
  g_output_stream_write_all (output, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                             NULL, NULL, NULL);
  if (fake->script != NULL)
    g_output_stream_write_all (output, fake->script, fake->script_length, NULL, NULL, NULL);

  g_clear_object (&fake->held);
  fake->held = g_steal_pointer (&tls);
}

static gboolean
fake_incoming_cb (GSocketService    *service,
                  GSocketConnection *connection,
                  GObject           *source,
                  FakeServer        *fake)
{
  filer_tls_handshake_async (G_IO_STREAM (connection), FILER_TLS_ROLE_SERVER,
                             filer_test_identity ("fake-server"), NULL, NULL,
                             fake_handshake_cb, fake);
  return TRUE;
}

static void
run_fake_server (const char *script,
                 gsize       script_length,
                 int         expected)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerDiscoveryClient) client = NULL;
  g_autofree char *address = NULL;
  FakeServer fake = { NULL, script, script_length };
  guint16 port;

  port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (fake_incoming_cb), &fake);
  g_socket_service_start (service);

  address = g_strdup_printf ("127.0.0.1:%u", port);
  client = make_client (address, "device-aaaa", "Alpha", NULL, NULL);
  filer_discovery_client_start (client);
  filer_test_wait_until (is_offline, client, WAIT_MS, "the client to give up on the fake server");
  g_assert_error (filer_discovery_client_get_error (client), FILER_DISCOVERY_ERROR, expected);

  filer_discovery_client_stop (client);
  g_socket_service_stop (service);
  g_clear_object (&fake.held);
}

static void
test_dead_server_detected (void)
{
  run_fake_server (NULL, 0, FILER_DISCOVERY_ERROR_TIMEOUT);
}

static void
test_malformed_server_message (void)
{
  /* A delta without an id. */
  static const char script[] = "\x15\x00" "CL:0;type:peer-joined";

  run_fake_server (script, sizeof script - 1, FILER_DISCOVERY_ERROR_PROTOCOL);
}

/* filer-server serves NAT rendezvous (§4) on its own UDP port, and only
 * for peers registered over TCP from the same IP, with the bind-secret
 * of their welcome. */
static void
send_nat_bind (GSocket        *socket,
               GSocketAddress *to,
               const char     *id,
               const char     *secret)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("nat-bind");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  filer_frame_set (frame, "id", id);
  if (secret != NULL)
    filer_frame_set (frame, "secret", secret);
  bytes = filer_frame_encode (frame, NULL);
  g_socket_send_to (socket, to, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                    NULL, &error);
  g_assert_no_error (error);
}

static void
test_rendezvous_on_server_port (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(GIOStream) registered = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) to = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(FilerFrameDecoder) decoder = filer_frame_decoder_new (4096);
  g_autoptr(FilerFrame) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *secret = NULL;
  guint64 port2 = 0;
  char buffer[4096];
  gssize length;

  registered = raw_connect (server, "device-bbbb");
  raw_register (registered, "device-bbbb");
  secret = raw_read_bind_secret (registered);

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  local = g_socket_get_local_address (socket, &error);
  to = g_inet_socket_address_new (loopback, filer_test_server_get_port (server));

  /* An id nobody registered: no answer. */
  send_nat_bind (socket, to, filer_test_id ("device-nobody"), secret);
  filer_test_spin (300);
  g_assert_false (socket_readable (socket));

  /* The registered one (the TCP registration may still be in flight:
   * repeat, as a real client does). */
  for (guint i = 0; i < 20 && !socket_readable (socket); i++)
    {
      send_nat_bind (socket, to, filer_test_id ("device-bbbb"), secret);
      filer_test_spin (100);
    }
  filer_test_wait_until (socket_readable, socket, WAIT_MS, "nat-bound");
  length = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  filer_frame_decoder_feed (decoder, buffer, length);
  reply = filer_frame_decoder_next (decoder, &error);
  g_assert_no_error (error);
  g_assert_true (filer_frame_is (reply, "nat-bound"));
  expected = g_strdup_printf ("127.0.0.1:%u",
                              g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  g_assert_cmpstr (filer_frame_get (reply, "address"), ==, expected);
  g_assert_true (filer_frame_get_uint (reply, "port2", G_MAXUINT16, &port2, NULL));
  g_assert_cmpuint (port2, !=, 0);
}

/* A pinned server id ("HOST:PORT#ID") that the server's key does not
 * make: refused in the handshake, so no register ever reaches the
 * server (a third client sees no one). The right pin gets in. */
static void
test_pinned_server (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  const char *address = filer_test_server_get_address (server);
  g_autofree char *wrong = g_strdup_printf ("%s#%s", address, filer_test_id ("not-the-server"));
  g_autofree char *right = g_strdup_printf ("%s#%s", address, filer_test_server_get_id (server));
  g_autoptr(FilerDiscoveryClient) a = make_client (wrong, "device-aaaa", "Alpha", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) b = make_client (right, "device-bbbb", "Beta", NULL, NULL);
  g_autoptr(FilerDiscoveryClient) bad = make_client ("127.0.0.1:1#NOT-AN-ID", "device-cccc",
                                                      "Gamma", NULL, NULL);
  guint a_online = 0;

  g_signal_connect_swapped (a, "notify::state", G_CALLBACK (count_online_cb), &a_online);
  filer_discovery_client_start (a);
  filer_test_wait_until (is_offline, a, WAIT_MS, "the pinned client to refuse the server");
  g_assert_error (filer_discovery_client_get_error (a), FILER_DISCOVERY_ERROR,
                  FILER_DISCOVERY_ERROR_SERVER_KEY);
  g_assert_nonnull (strstr (filer_discovery_client_get_error (a)->message,
                            filer_test_id ("not-the-server")));

  start_and_wait (b);
  filer_test_spin (500);
  g_assert_null (find_peer (b, "device-aaaa"));
  g_assert_cmpuint (n_peers (b), ==, 0);
  g_assert_cmpuint (a_online, ==, 0);
  g_signal_handlers_disconnect_by_data (a, &a_online);

  /* A malformed pin is an error of its own, before any connect. */
  filer_discovery_client_start (bad);
  filer_test_wait_until (is_offline, bad, WAIT_MS, "a malformed pin to be refused");
  g_assert_error (filer_discovery_client_get_error (bad), G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* A server found by probe is remembered (its key's id, per address);
 * the same address with another key is refused, loudly; the old key
 * is welcome again. */
static void
test_probed_server_remembered (void)
{
  guint16 port = filer_test_free_fixed_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *dir_a = g_build_filename (g_get_user_config_dir (), "server-a", NULL);
  g_autofree char *dir_b = g_build_filename (g_get_user_config_dir (), "server-b", NULL);
  const char *args_a[] = { "--port", port_text, "--key-dir", dir_a, NULL };
  const char *args_b[] = { "--port", port_text, "--key-dir", dir_b, NULL };
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", port);
  const char *targets[] = { target, NULL };
  g_autoptr(FilerTestServer) server = filer_test_server_start (args_a);
  g_autofree char *first_id = g_strdup (filer_test_server_get_id (server));
  g_autoptr(FilerDiscoveryClient) a = make_client (NULL, "device-aaaa", "Alpha", NULL, NULL);
  guint a_online = 0;

  filer_discovery_client_set_probe_targets (a, targets);
  filer_discovery_client_set_remember_loopback (a, TRUE);
  start_and_wait (a);
  filer_discovery_client_stop (a);

  /* Another key on the same address and port. */
  g_clear_pointer (&server, filer_test_server_stop);
  server = filer_test_server_start (args_b);
  g_assert_cmpstr (filer_test_server_get_id (server), !=, first_id);

  g_signal_connect_swapped (a, "notify::state", G_CALLBACK (count_online_cb), &a_online);
  filer_discovery_client_start (a);
  filer_test_wait_until (is_offline, a, WAIT_MS, "the client to refuse the new key");
  g_assert_error (filer_discovery_client_get_error (a), FILER_DISCOVERY_ERROR,
                  FILER_DISCOVERY_ERROR_SERVER_KEY);
  g_assert_nonnull (strstr (filer_discovery_client_get_error (a)->message, first_id));
  filer_test_spin (1000);
  g_assert_cmpuint (a_online, ==, 0);
  g_signal_handlers_disconnect_by_data (a, &a_online);
  filer_discovery_client_stop (a);

  /* The key it knows, again: welcome. */
  g_clear_pointer (&server, filer_test_server_stop);
  server = filer_test_server_start (args_a);
  start_and_wait (a);
}

/* A device made from a bare id has no key to prove it: it cannot
 * register (protocol version 2), and says why. */
static void
test_device_without_key (void)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(FilerDevice) bare = filer_device_new ("device-bare", "Bare", "desktop");
  g_autoptr(FilerDiscoveryClient) client = filer_discovery_client_new (bare);

  filer_discovery_client_set_server (client, filer_test_server_get_address (server));
  filer_discovery_client_start (client);
  filer_test_wait_until (is_offline, client, WAIT_MS, "a keyless device to give up");
  g_assert_error (filer_discovery_client_get_error (client), FILER_DISCOVERY_ERROR,
                  FILER_DISCOVERY_ERROR_NO_KEY);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/discovery/three-clients", test_three_clients);
  g_test_add_func ("/filer/discovery/closed-client-leaves", test_closed_client_leaves);
  g_test_add_func ("/filer/discovery/killed-connection-leaves", test_killed_connection_leaves);
  g_test_add_func ("/filer/discovery/silent-client-leaves", test_silent_client_leaves);
  g_test_add_func ("/filer/discovery/keepalive-keeps-online", test_keepalive_keeps_online);
  g_test_add_func ("/filer/discovery/room-and-network", test_room_and_network_visibility);
  g_test_add_func ("/filer/discovery/private-is-one-network", test_private_addresses_are_one_network);
  g_test_add_func ("/filer/discovery/update-in-place", test_update_in_place);
  g_test_add_func ("/filer/discovery/updates-coalesced", test_updates_coalesced);
  g_test_add_func ("/filer/discovery/auto-find", test_auto_find);
  g_test_add_func ("/filer/discovery/auto-find-nothing", test_auto_find_nothing);
  g_test_add_func ("/filer/discovery/reconnect-after-restart", test_reconnect_after_restart);
  g_test_add_func ("/filer/discovery/stale-peers-forgotten", test_stale_peers_forgotten);
  g_test_add_func ("/filer/discovery/snapshot-drops-the-gone", test_snapshot_drops_the_gone);
  g_test_add_func ("/filer/discovery/same-device-replaces", test_same_device_replaces);
  g_test_add_func ("/filer/discovery/lookup", test_lookup);
  g_test_add_func ("/filer/discovery/datagram-extension", test_datagram_extension);
  g_test_add_func ("/filer/discovery/in-process-server", test_in_process_server);
  g_test_add_func ("/filer/discovery/dead-server-detected", test_dead_server_detected);
  g_test_add_func ("/filer/discovery/malformed-server-message", test_malformed_server_message);
  g_test_add_func ("/filer/discovery/rendezvous-on-server-port", test_rendezvous_on_server_port);

  g_test_add_func ("/filer/discovery/pinned-server", test_pinned_server);
  g_test_add_func ("/filer/discovery/probed-server-remembered", test_probed_server_remembered);
  g_test_add_func ("/filer/discovery/device-without-key", test_device_without_key);

  return g_test_run ();
}
