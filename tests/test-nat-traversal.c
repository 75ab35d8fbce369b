/* test-nat-traversal.c: peers behind every pairing of NATs reach each other
 *
 * In the NAT lab (test-natlab.c proves the lab itself): the rendezvous
 * server's sockets live on the public server host, each peer's socket on
 * its host behind its router, and all of them on this process's main
 * loop. Every pairing of router flavours must carry data that verifies,
 * over the path the issue expects; keepalives must hold a path open past
 * the routers' UDP timeout; a relay that goes away must end the transfer
 * with a clear error, not a hang.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-natlab.h"
#include "filer-test-util.h"

#include <glib/gstdio.h>

#define SERVER_PORT 4700

static const char *flavours[] = { "home", "linux", "symmetric", "fullcone" };

typedef struct
{
  FilerNatLab *lab;
  FilerRendezvousServer *server;
  FilerIdentity *key_a;    /* the devices' keys: their ids are the NAT */
  FilerIdentity *key_b;    /* clients' and the transfer services' */
  FilerNatClient *a;
  FilerNatClient *b;
  GIOStream *incoming;     /* what B accepted */
  char *incoming_path;
  char *incoming_peer;
  guint between;           /* routers between the NAT routers; 0: the lab's 3 */
  const char *carrier_b;   /* a carrier's NAT of this flavour in front of B's, or NULL */
} World;

static gboolean
lab_available (void)
{
  g_autofree char *reason = NULL;

  if (filer_natlab_available (&reason))
    return TRUE;

  g_test_skip (reason);
  return FALSE;
}

static void
listen_in_srv (gpointer data,
               gpointer unused)
{
  World *world = data;
  g_autoptr(GError) error = NULL;

  filer_rendezvous_server_listen (world->server, FILER_NATLAB_SERVER_IP, SERVER_PORT, &error);
  g_assert_no_error (error);
}

static void
incoming_cb (FilerNatClient *client,
             GIOStream      *stream,
             const char     *peer_id,
             const char     *path,
             const char     *rendezvous_id,
             gpointer        user_data)
{
  World *world = user_data;

  g_set_object (&world->incoming, stream);
  g_free (world->incoming_path);
  world->incoming_path = g_strdup (path);
  g_free (world->incoming_peer);
  world->incoming_peer = g_strdup (peer_id);
}

static void
start_client_in_ns (gpointer data,
                    gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  filer_nat_client_start (data, &error);
  g_assert_no_error (error);
}

static FilerNatClient *
client_on (World         *world,
           const char    *node,
           FilerIdentity *key,
           guint          keepalive_ms)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *server = g_strdup_printf ("%s:%u", FILER_NATLAB_SERVER_IP, SERVER_PORT);
  FilerNatClient *client = filer_nat_client_new (filer_identity_get_id (key), server);

  /* Both hosts are 203.0.113.2 and use the same port, as two identical
   * homes would. */
  socket = filer_natlab_udp_socket (world->lab, node, FILER_NATLAB_HOST_IP, 40000, &error);
  g_assert_no_error (error);
  filer_nat_client_set_socket (client, socket);
  filer_nat_client_set_identity (client, key);
  filer_nat_client_set_keepalive (client, keepalive_ms);
  /* In the host's namespace, as the app would be: the client makes its
   * path-probe socket where it starts. */
  filer_natlab_run_in (world->lab, node, start_client_in_ns, client);

  return client;
}

static gboolean
mappings_known (gpointer data)
{
  World *world = data;

  return filer_nat_client_get_mapping (world->a) && filer_nat_client_get_mapping (world->b);
}

static void
world_init (World      *world,
            const char *flavour_a,
            const char *flavour_b,
            guint       udp_timeout,
            guint       keepalive_ms)
{
  g_autoptr(GError) error = NULL;

  world->lab = filer_natlab_new_full (flavour_a, flavour_b, udp_timeout,
                                      world->between ? world->between : 3, world->carrier_b, &error);
  g_assert_no_error (error);

  world->server = filer_rendezvous_server_new ();
  filer_natlab_run_in (world->lab, "srv", listen_in_srv, world);

  world->key_a = filer_test_identity_new ();
  world->key_b = filer_test_identity_new ();
  world->a = client_on (world, "a", world->key_a, keepalive_ms);
  world->b = client_on (world, "b", world->key_b, keepalive_ms);
  g_signal_connect (world->b, "incoming", G_CALLBACK (incoming_cb), world);

  filer_test_wait_until (mappings_known, world, 5000, "both peers to learn their mapping");
  g_test_message ("A (%s) public %s, mapping %s; B (%s) public %s, mapping %s",
                  flavour_a, filer_nat_client_get_public_address (world->a),
                  filer_nat_client_get_mapping (world->a),
                  flavour_b, filer_nat_client_get_public_address (world->b),
                  filer_nat_client_get_mapping (world->b));
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* Drops the last reference the test holds and waits for @object to go:
 * an async operation still in flight (a send's completion, a timeout)
 * may hold it a moment longer, but it must let go. */
static void
finalize_soon (gpointer object)
{
  gpointer watch = object;

  g_object_add_weak_pointer (G_OBJECT (object), &watch);
  g_object_unref (object);
  filer_test_wait_until (pointer_cleared, &watch, 5000, "the object to be finalized");
}

static void
world_clear (World *world)
{
  g_clear_object (&world->incoming);
  g_clear_pointer (&world->incoming_path, g_free);
  g_clear_pointer (&world->incoming_peer, g_free);
  finalize_soon (g_steal_pointer (&world->a));
  finalize_soon (g_steal_pointer (&world->b));
  finalize_soon (g_steal_pointer (&world->server));
  g_clear_object (&world->key_a);
  g_clear_object (&world->key_b);
  g_clear_pointer (&world->lab, filer_natlab_free);
}

typedef struct
{
  gboolean done;
  GIOStream *stream;
  char *path;
  GError *error;
} Connect;

static void
connect_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Connect *connect = user_data;

  connect->stream = filer_nat_client_connect_finish (FILER_NAT_CLIENT (object), result,
                                                     &connect->path, &connect->error);
  connect->done = TRUE;
}

static gboolean
incoming_arrived (gpointer data)
{
  return ((World *)data)->incoming != NULL;
}

/* A connects to B; returns A's stream, the path in @path. */
static GIOStream *
connect_a_to_b (World  *world,
                char  **path,
                double *seconds)
{
  Connect connect = { 0, };
  gint64 start = g_get_monotonic_time ();

  filer_nat_client_connect_async (world->a, filer_identity_get_id (world->key_b),
                                  filer_identity_get_id (world->key_b), NULL,
                                  connect_done_cb, &connect);
  filer_test_wait_for (&connect.done, 15000, "A to reach B");
  g_assert_no_error (connect.error);
  *seconds = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;

  filer_test_wait_until (incoming_arrived, world, 10000, "B to accept A's stream");
  g_assert_cmpstr (world->incoming_peer, ==, filer_identity_get_id (world->key_a));
  g_assert_cmpstr (world->incoming_path, ==, connect.path);

  *path = connect.path;
  return connect.stream;
}

/* --- moving bytes ------------------------------------------------------ */

typedef struct
{
  gboolean done;
  GError *error;
  GChecksum *checksum;
  gsize bytes;
  gsize stop_after;         /* 0: to EOF */
  guint8 buffer[64 * 1024];
  GInputStream *input;
} Sink;

static void sink_next (Sink *sink);

static void
sink_read_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Sink *sink = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &sink->error);

  if (n <= 0)
    {
      sink->done = TRUE;
      return;
    }

  g_checksum_update (sink->checksum, sink->buffer, n);
  sink->bytes += n;
  if (sink->stop_after && sink->bytes >= sink->stop_after)
    {
      sink->done = TRUE;
      return;
    }
  sink_next (sink);
}

static void
sink_next (Sink *sink)
{
  g_input_stream_read_async (sink->input, sink->buffer, sizeof sink->buffer,
                             G_PRIORITY_DEFAULT, NULL, sink_read_cb, sink);
}

static void
sink_start (Sink      *sink,
            GIOStream *stream)
{
  sink->checksum = g_checksum_new (G_CHECKSUM_SHA256);
  sink->input = g_io_stream_get_input_stream (stream);
  sink_next (sink);
}

typedef struct
{
  gboolean done;
  GError *error;
} Done;

static void
write_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Done *done = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &done->error);
  done->done = TRUE;
}

static void
close_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Done *done = user_data;

  g_io_stream_close_finish (G_IO_STREAM (object), result, &done->error);
  done->done = TRUE;
}

static GBytes *
random_bytes (gsize size)
{
  guint32 *data = g_malloc (size);

  for (gsize i = 0; i < size / 4; i++)
    data[i] = g_test_rand_int ();

  return g_bytes_new_take (data, size);
}

/* Sends @size bytes from @from to @to, closes, and checks that what
 * arrived has the same SHA-256. */
static void
send_and_verify (GIOStream *from,
                 GIOStream *to,
                 gsize      size)
{
  g_autoptr(GBytes) payload = random_bytes (size);
  g_autofree char *expected = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, payload);
  Done written = { 0, }, closed = { 0, };
  Sink sink = { 0, };

  sink_start (&sink, to);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (from),
                                   g_bytes_get_data (payload, NULL), size,
                                   G_PRIORITY_DEFAULT, NULL, write_done_cb, &written);
  filer_test_wait_for (&written.done, 60000, "the data to be written");
  g_assert_no_error (written.error);
  g_io_stream_close_async (from, G_PRIORITY_DEFAULT, NULL, close_done_cb, &closed);

  filer_test_wait_for (&sink.done, 60000, "the data to arrive");
  g_assert_no_error (sink.error);
  g_assert_cmpuint (sink.bytes, ==, size);
  g_assert_cmpstr (g_checksum_get_string (sink.checksum), ==, expected);
  g_checksum_free (sink.checksum);

  filer_test_wait_for (&closed.done, 10000, "the sender's close");
  g_clear_error (&closed.error);
}

/* --- sending a folder with the transfer engine --------------------------- */

static char *
write_random_file (const char *dir,
                   const char *name,
                   gsize       size)
{
  g_autoptr(GBytes) bytes = random_bytes (size);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), size, &error);
  g_assert_no_error (error);
  return path;
}

static void
assert_same_file (const char *a,
                  const char *b)
{
  g_autofree char *data_a = NULL;
  g_autofree char *data_b = NULL;
  gsize size_a = 0, size_b = 0;

  g_assert_true (g_file_get_contents (a, &data_a, &size_a, NULL));
  if (!g_file_get_contents (b, &data_b, &size_b, NULL))
    g_error ("%s did not arrive", b);
  g_assert_cmpmem (data_a, size_a, data_b, size_b);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static gboolean
transfer_finished (gpointer data)
{
  return filer_transfer_is_finished (FILER_TRANSFER (data));
}

static gboolean
has_transfer (gpointer data)
{
  return g_list_model_get_n_items (filer_transfer_service_get_transfers (data)) > 0;
}

/* A sends a folder to B over the stream the NAT client made, with the
 * transfer engine on both ends (its hello checks B's id), and every file
 * must arrive and verify. */
static void
send_folder_and_verify (World      *world,
                        GIOStream  *stream,
                        const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  g_autofree char *folder = g_build_filename (root, "outbox", "holiday", NULL);
  g_autofree char *sub = g_build_filename (folder, "day two", NULL);
  g_autofree char *inbox_a = g_build_filename (root, "inbox-a", NULL);
  g_autofree char *inbox_b = g_build_filename (root, "inbox-b", NULL);
  g_autoptr(FilerTransferService) alice = NULL;
  g_autoptr(FilerTransferService) bob = NULL;
  g_autoptr(FilerTransfer) received = NULL;
  const char *names[] = { "big.bin", "day two/small.txt", "day two/medium.bin" };
  gsize sizes[] = { 1536 * 1024, 1000, 300 * 1024 };
  const char * const paths[] = { folder, NULL };
  FilerTransfer *sent;

  g_assert_no_error (error);
  g_mkdir_with_parents (sub, 0755);
  g_mkdir (inbox_a, 0755);
  g_mkdir (inbox_b, 0755);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_free (write_random_file (folder, names[i], sizes[i]));

  alice = filer_transfer_service_new (world->key_a, "A", inbox_a);
  bob = filer_transfer_service_new (world->key_b, "B", inbox_b);
  filer_transfer_service_set_accept_all (bob, TRUE);

  filer_transfer_service_handle_stream (bob, world->incoming, world->incoming_peer, path);
  sent = filer_transfer_service_send_over_stream (alice, stream,
                                                  filer_identity_get_id (world->key_b), "B",
                                                  path, paths);

  filer_test_wait_until (transfer_finished, sent, 60000, "the folder to be sent");
  filer_test_wait_until (has_transfer, bob, 5000, "B's transfer");
  received = g_list_model_get_item (filer_transfer_service_get_transfers (bob), 0);
  filer_test_wait_until (transfer_finished, received, 10000, "the folder to be received");

  g_test_message ("folder sent over path %s: %s, %" G_GUINT64_FORMAT " bytes in %.2f s",
                  filer_transfer_get_path (sent),
                  filer_transfer_get_error_message (sent) ? filer_transfer_get_error_message (sent) : "ok",
                  filer_transfer_get_bytes_done (sent), filer_transfer_get_elapsed (sent));
  g_assert_cmpint (filer_transfer_get_state (sent), ==, FILER_TRANSFER_STATE_COMPLETED);
  g_assert_cmpint (filer_transfer_get_state (received), ==, FILER_TRANSFER_STATE_COMPLETED);
  g_assert_cmpstr (filer_transfer_get_path (sent), ==, path);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *a = g_build_filename (folder, names[i], NULL);
      g_autofree char *b = g_build_filename (inbox_b, "holiday", names[i], NULL);

      assert_same_file (a, b);
    }

  g_clear_object (&received);
  g_clear_object (&alice);
  g_clear_object (&bob);
  remove_tree (root);
}

/* --- tests ------------------------------------------------------------- */

static gboolean
expect_direct (const char *a,
               const char *b)
{
  gboolean a_sym = g_str_equal (a, "symmetric");
  gboolean b_sym = g_str_equal (b, "symmetric");

  if (!a_sym && !b_sym)
    return TRUE;
  /* A symmetric side still reaches a full cone. */
  return (a_sym && g_str_equal (b, "fullcone")) || (b_sym && g_str_equal (a, "fullcone"));
}

static void
test_pairing (gconstpointer data)
{
  /* "+pseudotcp": that engine, with mutual TLS between the keys on top;
   * "+between1", "+between2": that many routers between the NAT routers
   * (the lab has 3); "+carrier-FLAVOUR": a carrier's NAT in front of B's
   * router (B maps endpoint-independently only if both do); "+no-icmp":
   * no router answers the path probe (the punch TTL falls back to 3). */
  g_auto(GStrv) pair = g_strsplit (data, "+", 3);
  World world = { 0, };
  gboolean pseudotcp = pair[2] && g_str_equal (pair[2], "pseudotcp");
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *path = NULL;
  double seconds;
  const char *expected;

  if (pair[2] && g_str_has_prefix (pair[2], "between"))
    world.between = (guint)g_ascii_strtoull (pair[2] + strlen ("between"), NULL, 10);
  /* The tightest path: one router between the carrier's NAT and A's,
   * so exactly one TTL (3) gets out through both NATs and dies short of
   * A's router. */
  if (pair[2] && g_str_has_prefix (pair[2], "carrier-"))
    {
      world.carrier_b = pair[2] + strlen ("carrier-");
      world.between = 1;
    }

  if (!lab_available ())
    return;

  world_init (&world, pair[0], pair[1], 0, 5000);
  if (pair[2] && g_str_equal (pair[2], "no-icmp"))
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (filer_natlab_script (world.lab, &error, "no-icmp", NULL));
      g_assert_no_error (error);
    }
  if (pseudotcp)
    filer_nat_client_set_stream_engine (world.a, "pseudotcp");
  stream = connect_a_to_b (&world, &path, &seconds);
  if (pseudotcp)
    g_assert_true (G_IS_TLS_CONNECTION (stream) && G_IS_TLS_CONNECTION (world.incoming));
  expected = expect_direct (pair[0], pair[1]) &&
             (world.carrier_b == NULL || expect_direct (pair[0], world.carrier_b))
             ? FILER_NAT_PATH_DIRECT : FILER_NAT_PATH_RELAY;
  g_test_message ("PAIRING A=%s B=%s%s%s, %u routers between: path %s (expected %s), connected in %.2f s",
                  pair[0], pair[1], world.carrier_b ? " behind a carrier's " : "",
                  world.carrier_b ? world.carrier_b : "", world.between ? world.between : 3,
                  path, expected, seconds);
  g_assert_cmpstr (path, ==, expected);

  send_folder_and_verify (&world, stream, path);

  g_clear_object (&stream);
  world_clear (&world);
}

static void
test_keepalive (void)
{
  World world = { 0, };
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *path = NULL;
  double seconds;

  if (!lab_available ())
    return;

  /* Routers forget a UDP mapping idle for 2 s; keepalives every 500 ms. */
  world_init (&world, "home", "home", 2, 500);
  stream = connect_a_to_b (&world, &path, &seconds);
  g_assert_cmpstr (path, ==, FILER_NAT_PATH_DIRECT);

  /* A pause three times the routers' timeout, nothing sent but keepalives. */
  filer_test_spin (6000);

  send_and_verify (stream, world.incoming, 256 * 1024);

  g_clear_object (&stream);
  world_clear (&world);
}

static void
test_relay_killed (void)
{
  World world = { 0, };
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GBytes) payload = random_bytes (64 * 1024 * 1024);
  g_autofree char *path = NULL;
  Done written = { 0, };
  Sink sink = { 0, };
  double seconds;
  gint64 killed;

  if (!lab_available ())
    return;

  world_init (&world, "symmetric", "home", 0, 1000);
  stream = connect_a_to_b (&world, &path, &seconds);
  g_assert_cmpstr (path, ==, FILER_NAT_PATH_RELAY);

  sink.stop_after = 256 * 1024;
  sink_start (&sink, world.incoming);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream),
                                   g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                                   G_PRIORITY_DEFAULT, NULL, write_done_cb, &written);
  filer_test_wait_for (&sink.done, 30000, "the transfer to be under way");
  g_assert_no_error (sink.error);

  /* The server ends the relayed session mid-transfer. */
  killed = g_get_monotonic_time ();
  filer_rendezvous_server_close_relays (world.server, "test kills the relay");

  sink.done = FALSE;
  sink.stop_after = 0;
  sink_next (&sink);
  filer_test_wait_for (&sink.done, 15000, "the receiver to see the end");
  filer_test_wait_for (&written.done, 15000, "the sender to see the end");
  g_test_message ("relay killed: receiver after %.1f s: %s; sender: %s",
                  (g_get_monotonic_time () - killed) / (double)G_USEC_PER_SEC,
                  sink.error ? sink.error->message : "EOF",
                  written.error ? written.error->message : "no error");
  g_assert_error (sink.error, FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED);
  g_assert_error (written.error, FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED);
  g_assert_cmpuint (sink.bytes, <, g_bytes_get_size (payload));

  g_clear_error (&sink.error);
  g_clear_error (&written.error);
  g_checksum_free (sink.checksum);
  g_clear_object (&stream);
  world_clear (&world);
}

static gboolean
received_some (gpointer data)
{
  GListModel *transfers = filer_transfer_service_get_transfers (data);
  g_autoptr(FilerTransfer) transfer = NULL;

  if (g_list_model_get_n_items (transfers) == 0)
    return FALSE;
  transfer = g_list_model_get_item (transfers, 0);
  return filer_transfer_get_bytes_done (transfer) >= 2 * 1024 * 1024;
}

static GIOStream *
reconnect (World  *world,
           char  **path)
{
  double seconds;

  g_clear_object (&world->incoming);
  return connect_a_to_b (world, path, &seconds);
}

static void
test_relay_killed_resume (void)
{
  World world = { 0, };
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  g_autofree char *outbox = g_build_filename (root, "outbox", NULL);
  g_autofree char *inbox_a = g_build_filename (root, "inbox-a", NULL);
  g_autofree char *inbox_b = g_build_filename (root, "inbox-b", NULL);
  g_autofree char *source = NULL;
  g_autofree char *target = NULL;
  g_autoptr(FilerTransferService) alice = NULL;
  g_autoptr(FilerTransferService) bob = NULL;
  g_autoptr(FilerTransfer) received = NULL;
  g_autoptr(FilerTransfer) received2 = NULL;
  const char *paths[] = { NULL, NULL };
  FilerTransfer *sent;
  FilerTransfer *sent2;

  if (!lab_available ())
    return;

  g_assert_no_error (error);
  g_mkdir (outbox, 0755);
  g_mkdir (inbox_a, 0755);
  g_mkdir (inbox_b, 0755);
  source = write_random_file (outbox, "film.bin", 24 * 1024 * 1024);
  target = g_build_filename (inbox_b, "film.bin", NULL);
  paths[0] = source;

  /* A symmetric NAT against a home router: the relay carries it. */
  world_init (&world, "symmetric", "home", 0, 1000);
  alice = filer_transfer_service_new (world.key_a, "A", inbox_a);
  bob = filer_transfer_service_new (world.key_b, "B", inbox_b);
  filer_transfer_service_set_accept_all (bob, TRUE);
  stream = connect_a_to_b (&world, &path, &(double){ 0 });
  g_assert_cmpstr (path, ==, FILER_NAT_PATH_RELAY);

  filer_transfer_service_handle_stream (bob, world.incoming, world.incoming_peer, path);
  sent = filer_transfer_service_send_over_stream (alice, stream, filer_identity_get_id (world.key_b),
                                                  "B", path, paths);
  filer_test_wait_until (received_some, bob, 30000, "the transfer to be under way");

  /* The relay goes away mid-transfer: both sides fail, clearly, at once. */
  filer_rendezvous_server_close_relays (world.server, "test kills the relay");
  received = g_list_model_get_item (filer_transfer_service_get_transfers (bob), 0);
  filer_test_wait_until (transfer_finished, sent, 15000, "the sender to give up");
  filer_test_wait_until (transfer_finished, received, 15000, "the receiver to give up");
  g_test_message ("relay killed at %" G_GUINT64_FORMAT " bytes: sender \"%s\", receiver \"%s\"",
                  filer_transfer_get_bytes_done (received),
                  filer_transfer_get_error_message (sent),
                  filer_transfer_get_error_message (received));
  g_assert_cmpint (filer_transfer_get_state (sent), ==, FILER_TRANSFER_STATE_FAILED);
  g_assert_cmpint (filer_transfer_get_state (received), ==, FILER_TRANSFER_STATE_FAILED);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));

  /* A new session, a new send: it resumes where the relay died. */
  g_clear_object (&stream);
  g_clear_pointer (&path, g_free);
  stream = reconnect (&world, &path);
  filer_transfer_service_handle_stream (bob, world.incoming, world.incoming_peer, path);
  sent2 = filer_transfer_service_send_over_stream (alice, stream, filer_identity_get_id (world.key_b),
                                                   "B", path, paths);
  filer_test_wait_until (transfer_finished, sent2, 120000, "the resumed transfer");
  received2 = g_list_model_get_item (filer_transfer_service_get_transfers (bob), 1);
  filer_test_wait_until (transfer_finished, received2, 10000, "the resumed receive");
  g_test_message ("resumed: %" G_GUINT64_FORMAT " bytes kept, %s",
                  filer_transfer_get_bytes_resumed (received2),
                  filer_transfer_get_error_message (sent2) ? filer_transfer_get_error_message (sent2) : "ok");
  g_assert_cmpint (filer_transfer_get_state (sent2), ==, FILER_TRANSFER_STATE_COMPLETED);
  g_assert_cmpint (filer_transfer_get_state (received2), ==, FILER_TRANSFER_STATE_COMPLETED);
  g_assert_cmpuint (filer_transfer_get_bytes_resumed (received2), >, 0);
  assert_same_file (source, target);

  g_clear_object (&stream);
  g_clear_object (&alice);
  g_clear_object (&bob);
  world_clear (&world);
  remove_tree (root);
}

static void
test_ttl_matters (void)
{
  World world = { 0, };
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *path = NULL;
  double seconds;

  if (!lab_available ())
    return;

  /* The control for the TTL trick: if the first side's punches reach a
   * router that accepts WAN input, that router moves the other side's
   * mapping, and two such routers cannot be punched. */
  world_init (&world, "linux", "linux", 0, 5000);
  filer_nat_client_set_punch_ttl (world.a, 64);
  filer_nat_client_set_punch_ttl (world.b, 64);
  stream = connect_a_to_b (&world, &path, &seconds);
  g_test_message ("linux-linux without the TTL trick: path %s", path);
  g_assert_cmpstr (path, ==, FILER_NAT_PATH_RELAY);

  send_and_verify (stream, world.incoming, 256 * 1024);

  g_clear_object (&stream);
  world_clear (&world);
}

/* --- the hello over a QUIC stream must name the key's device ----------------- */

static void
collect_frame_cb (FilerFrameConnection *connection,
                  FilerFrame           *frame,
                  GPtrArray            *frames)
{
  g_ptr_array_add (frames, filer_frame_ref (frame));
}

static gboolean
has_frame (gpointer data)
{
  return ((GPtrArray *)data)->len > 0;
}

/* A hand-written hello claiming @from on A's stream to B; B's answer. */
static FilerFrame *
hello_answer (World      *world,
              GIOStream  *stream,
              const char *from,
              GPtrArray  *frames)
{
  g_autoptr(FilerFrame) hello = filer_frame_new ("hello");
  FilerFrameConnection *connection = filer_frame_connection_new (stream);

  g_signal_connect (connection, "frame-received", G_CALLBACK (collect_frame_cb), frames);
  filer_frame_connection_start (connection);
  filer_frame_set_uint (hello, "version", 2);
  filer_frame_set (hello, "from", from);
  filer_frame_set (hello, "to", filer_identity_get_id (world->key_b));
  filer_frame_set (hello, "name", "A");
  filer_frame_connection_send (connection, hello);
  filer_test_wait_until (has_frame, frames, 10000, "B's answer to the hello");
  g_object_set_data_full (G_OBJECT (stream), "test-connection", connection, g_object_unref);
  return g_ptr_array_index (frames, 0);
}

/* B serves transfers on its NAT client with the path ladder, as the app
 * does: the ladder passes the id A's QUIC key proved to the transfer
 * service, and a hello that claims another device (one B trusts, say) is
 * refused with `identity`; A's own id passes. */
static void
test_hello_claims_other (gconstpointer data)
{
  g_auto(GStrv) pair = g_strsplit (data, "+", 2);
  g_autoptr(FilerIdentity) claimed = filer_test_identity_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autoptr(FilerTransferService) bob = NULL;
  World world = { 0, };

  if (!lab_available ())
    return;

  root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  g_assert_no_error (error);
  world_init (&world, pair[0], pair[1], 0, 5000);
  bob = filer_transfer_service_new (world.key_b, "B", root);
  filer_transfer_service_set_accept_all (bob, TRUE);
  filer_path_ladder_serve (world.b, bob);

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify)filer_frame_unref);
      g_autoptr(GIOStream) stream = NULL;
      g_autofree char *path = NULL;
      const char *from = round == 0 ? filer_identity_get_id (claimed) : filer_identity_get_id (world.key_a);
      double seconds;
      FilerFrame *answer;

      g_clear_object (&world.incoming);
      stream = connect_a_to_b (&world, &path, &seconds);
      answer = hello_answer (&world, stream, from, frames);
      g_test_message ("%s path, hello from %s: %s %s %s", path, round == 0 ? "another id" : "A's own id",
                      filer_frame_get_message_type (answer), filer_frame_get (answer, "code"),
                      filer_frame_get (answer, "message"));
      if (round == 0)
        {
          g_assert_true (filer_frame_is (answer, "error"));
          g_assert_cmpstr (filer_frame_get (answer, "code"), ==, "identity");
          g_assert_nonnull (strstr (filer_frame_get (answer, "message"), filer_identity_get_id (world.key_a)));
        }
      else
        g_assert_true (filer_frame_is (answer, "hello"));
    }

  g_assert_cmpuint (g_list_model_get_n_items (filer_transfer_service_get_transfers (bob)), ==, 0);
  g_clear_object (&bob);
  world_clear (&world);
  remove_tree (root);
}

/* --- the real thing: filer-server and two peer processes ------------------ */

typedef struct
{
  gboolean done;
  char *output;
  GError *error;
} Communicated;

static void
communicated_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communicated *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &c->output, NULL, &c->error);
  c->done = TRUE;
}

static void
test_processes (gconstpointer data)
{
  g_auto(GStrv) pair = g_strsplit (data, "+", 3);
  /* "+unreachable": B has several addresses and the first answers nothing
   * (a host on A's LAN range that is not there); "+between1": one router
   * between the NAT routers (the punch TTL must be measured: 2). */
  const char *extra = pair[2] && g_str_equal (pair[2], "unreachable") ? "203.0.113.9" : NULL;
  guint between = pair[2] && g_str_equal (pair[2], "between1") ? 1 : 3;
  const char *server_bin = g_getenv ("FILER_SERVER");
  const char *peer_bin = g_getenv ("FILER_NATLAB_PEER");
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GSubprocess) receiver = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *server_keys = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *inbox_a = NULL;
  g_autofree char *inbox_b = NULL;
  g_autofree char *source = NULL;
  g_autofree char *target = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *keys_a = NULL;
  g_autofree char *keys_b = NULL;
  g_autofree char *id_b = NULL;
  Communicated c = { 0, };

  if (!lab_available ())
    return;
  if (server_bin == NULL || peer_bin == NULL)
    {
      g_test_skip ("FILER_SERVER and FILER_NATLAB_PEER must name the programs (meson test sets them)");
      return;
    }

  root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  server_keys = g_build_filename (root, "server-keys", NULL);
  /* Made here, so that the server only loads it and listens at once;
   * the CLIs start once it said so (a CLI does not retry its first
   * connection). */
  {
    g_autoptr(FilerIdentity) server_identity = filer_identity_load (server_keys, &error);

    g_assert_no_error (error);
  }
  g_assert_no_error (error);
  outbox = g_build_filename (root, "outbox", NULL);
  inbox_a = g_build_filename (root, "inbox-a", NULL);
  inbox_b = g_build_filename (root, "inbox-b", NULL);
  keys_a = g_build_filename (root, "keys-a", NULL);
  keys_b = g_build_filename (root, "keys-b", NULL);
  g_mkdir (outbox, 0755);
  g_mkdir (inbox_a, 0755);
  g_mkdir (inbox_b, 0755);
  g_free (filer_test_make_keys (keys_a));
  id_b = filer_test_make_keys (keys_b);
  source = write_random_file (outbox, "photo.bin", 3 * 1024 * 1024);
  target = g_build_filename (inbox_b, "photo.bin", NULL);

  lab = filer_natlab_new_full (pair[0], pair[1], 0, between, NULL, &error);
  g_assert_no_error (error);

  /* The real filer-server on the public host, a peer process on each LAN
   * (both 203.0.113.2), meeting in one room. */
  server = filer_natlab_spawn (lab, "srv", G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                               server_bin, "--bind", FILER_NATLAB_SERVER_IP, "--port", "47800",
                               "--key-dir", server_keys, NULL);
  g_assert_no_error (error);
  receiver = filer_natlab_spawn (lab, "b", G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                 peer_bin, "--server", FILER_NATLAB_SERVER_IP ":47800",
                                 "--keys", keys_b, "--room", "NATLAB-2026", "--download", inbox_b, NULL);
  g_assert_no_error (error);
  sender = filer_natlab_spawn (lab, "a", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               peer_bin, "--server", FILER_NATLAB_SERVER_IP ":47800",
                               "--keys", keys_a, "--room", "NATLAB-2026", "--download", inbox_a,
                               "--send-to", id_b, "--path", source, "--timeout", "40",
                               extra ? "--extra-address" : NULL, extra, NULL);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8_async (sender, NULL, NULL, communicated_cb, &c);
  filer_test_wait_for (&c.done, 60000, "the sender process to finish");
  g_assert_no_error (c.error);
  g_test_message ("A=%s B=%s, the sender said:\n%s", pair[0], pair[1], c.output);

  /* The LAN attempt reached A itself (same address and port), which the
   * hello refused (or the file would be in A's inbox, path "lan"); then
   * the NAT path. */
  expected = g_strdup_printf ("sent path=%s state=completed",
                              expect_direct (pair[0], pair[1]) ? "direct" : "relay");
  g_assert_nonnull (strstr (c.output, expected));
  if (extra)
    {
      g_autofree char *tried = g_strdup_printf ("addresses=%s,", extra);
      const char *line = strstr (c.output, tried);
      double asked, sent;

      /* The dead address costs the race's stagger (0.3 s) before the
       * NAT path starts beside the LAN attempt, not the LAN attempt's
       * 2 s timeout (4.3 s in CI when the paths ran one after the
       * other) nor the connector's 30 s of retries: lines start with a
       * time stamp. */
      g_assert_nonnull (line);
      while (line > c.output && line[-1] != '\n')
        line--;
      asked = g_ascii_strtod (line, NULL);
      line = strstr (c.output, expected);
      while (line > c.output && line[-1] != '\n')
        line--;
      sent = g_ascii_strtod (line, NULL);
      if (sent < asked)
        sent += 1000;   /* the stamps wrap every 1000 s */
      g_test_message ("sent %.1f s after asking", sent - asked);
      g_assert_cmpfloat (sent - asked, <, 2.0);
    }
  g_assert_true (g_subprocess_get_if_exited (sender));
  g_assert_cmpint (g_subprocess_get_exit_status (sender), ==, 0);
  assert_same_file (source, target);
  {
    g_autofree char *misdelivered = g_build_filename (inbox_a, "photo.bin", NULL);

    g_assert_false (g_file_test (misdelivered, G_FILE_TEST_EXISTS));
  }

  g_subprocess_force_exit (receiver);
  g_subprocess_force_exit (server);
  g_subprocess_wait (receiver, NULL, NULL);
  g_subprocess_wait (server, NULL, NULL);
  g_free (c.output);
  remove_tree (root);
}

/* Mallory, with her own key, tries to be B (B is offline): to register
 * under B's id and to bind B's id at the rendezvous server. Discovery
 * over TLS takes no registration but of the key's own id, and a binding
 * wants the bind-secret of B's own registration, so A never finds B and
 * nothing reaches Mallory. (That the QUIC handshake would refuse her key
 * even if the rendezvous server paired her: test-rendezvous wrong-key,
 * and server/relay-wrong-key through a real filer-server.) */
static void
test_impostor_process (gconstpointer data)
{
  g_autofree char *server_keys = NULL;
  g_auto(GStrv) pair = g_strsplit (data, "+", 2);
  const char *server_bin = g_getenv ("FILER_SERVER");
  const char *peer_bin = g_getenv ("FILER_NATLAB_PEER");
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GSubprocess) mallory = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *inbox_a = NULL;
  g_autofree char *inbox_m = NULL;
  g_autofree char *source = NULL;
  g_autofree char *keys_a = NULL;
  g_autofree char *keys_b = NULL;
  g_autofree char *keys_m = NULL;
  g_autofree char *id_b = NULL;
  g_autofree char *id_m = NULL;
  g_autofree char *expected = NULL;
  Communicated c = { 0, }, m = { 0, };

  if (!lab_available ())
    return;
  if (server_bin == NULL || peer_bin == NULL)
    {
      g_test_skip ("FILER_SERVER and FILER_NATLAB_PEER must name the programs (meson test sets them)");
      return;
    }

  root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  g_assert_no_error (error);
  outbox = g_build_filename (root, "outbox", NULL);
  inbox_a = g_build_filename (root, "inbox-a", NULL);
  inbox_m = g_build_filename (root, "inbox-m", NULL);
  keys_a = g_build_filename (root, "keys-a", NULL);
  keys_b = g_build_filename (root, "keys-b", NULL);
  keys_m = g_build_filename (root, "keys-m", NULL);
  g_mkdir (outbox, 0755);
  g_mkdir (inbox_a, 0755);
  g_mkdir (inbox_m, 0755);
  g_free (filer_test_make_keys (keys_a));
  id_b = filer_test_make_keys (keys_b);   /* B's id is public; B is not online */
  id_m = filer_test_make_keys (keys_m);
  source = write_random_file (outbox, "secret.bin", 256 * 1024);

  server_keys = g_build_filename (root, "server-keys", NULL);
  g_free (filer_test_make_keys (server_keys));
  lab = filer_natlab_new (pair[0], pair[1], 0, &error);
  g_assert_no_error (error);
  server = filer_natlab_spawn (lab, "srv", G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                               server_bin, "--bind", FILER_NATLAB_SERVER_IP, "--port", "47800",
                               "--key-dir", server_keys, NULL);
  g_assert_no_error (error);
  mallory = filer_natlab_spawn (lab, "b", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                peer_bin, "--server", FILER_NATLAB_SERVER_IP ":47800",
                                "--keys", keys_m, "--impersonate", id_b,
                                "--room", "NATLAB-2026", "--download", inbox_m, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (mallory, NULL, NULL, communicated_cb, &m);
  sender = filer_natlab_spawn (lab, "a", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               peer_bin, "--server", FILER_NATLAB_SERVER_IP ":47800",
                               "--keys", keys_a, "--room", "NATLAB-2026", "--download", inbox_a,
                               "--send-to", id_b, "--path", source, "--timeout", "15", NULL);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8_async (sender, NULL, NULL, communicated_cb, &c);
  filer_test_wait_for (&c.done, 40000, "the sender process to finish");
  g_assert_no_error (c.error);
  g_subprocess_force_exit (mallory);
  filer_test_wait_for (&m.done, 10000, "mallory's output");
  g_test_message ("A=%s B=%s, the sender said:\n%s\nMallory said:\n%s", pair[0], pair[1], c.output, m.output);

  g_assert_null (strstr (c.output, "sent path="));
  g_assert_true (g_subprocess_get_if_exited (sender));
  g_assert_cmpint (g_subprocess_get_exit_status (sender), !=, 0);

  /* Mallory got no stream and no file. */
  g_assert_nonnull (m.output);
  g_assert_nonnull (strstr (m.output, "ready"));
  g_assert_null (strstr (m.output, "incoming"));
  g_assert_null (strstr (m.output, "received"));
  {
    g_autofree char *stolen = g_build_filename (inbox_m, "secret.bin", NULL);

    g_assert_false (g_file_test (stolen, G_FILE_TEST_EXISTS));
  }

  g_subprocess_force_exit (server);
  g_subprocess_wait (mallory, NULL, NULL);
  g_subprocess_wait (server, NULL, NULL);
  g_free (c.output);
  g_free (m.output);
  g_clear_error (&m.error);
  remove_tree (root);
}

/* The other way round, with real processes: B is online, and A's NAT
 * client presents Mallory's key while A's transfer hello claims A's id.
 * B's ladder hands the id the QUIC key proved to the hello, which refuses
 * the claim with `identity`; nothing arrives. */
static void
test_claims_process (gconstpointer data)
{
  g_autofree char *server_keys = NULL;
  g_auto(GStrv) pair = g_strsplit (data, "+", 2);
  const char *server_bin = g_getenv ("FILER_SERVER");
  const char *peer_bin = g_getenv ("FILER_NATLAB_PEER");
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GSubprocess) receiver = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *inbox_a = NULL;
  g_autofree char *inbox_b = NULL;
  g_autofree char *source = NULL;
  g_autofree char *keys_a = NULL;
  g_autofree char *keys_b = NULL;
  g_autofree char *keys_m = NULL;
  g_autofree char *id_b = NULL;
  g_autofree char *id_m = NULL;
  g_autofree char *expected = NULL;
  Communicated c = { 0, }, r = { 0, };

  if (!lab_available ())
    return;
  if (server_bin == NULL || peer_bin == NULL)
    {
      g_test_skip ("FILER_SERVER and FILER_NATLAB_PEER must name the programs (meson test sets them)");
      return;
    }

  root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  g_assert_no_error (error);
  outbox = g_build_filename (root, "outbox", NULL);
  inbox_a = g_build_filename (root, "inbox-a", NULL);
  inbox_b = g_build_filename (root, "inbox-b", NULL);
  keys_a = g_build_filename (root, "keys-a", NULL);
  keys_b = g_build_filename (root, "keys-b", NULL);
  keys_m = g_build_filename (root, "keys-m", NULL);
  g_mkdir (outbox, 0755);
  g_mkdir (inbox_a, 0755);
  g_mkdir (inbox_b, 0755);
  g_free (filer_test_make_keys (keys_a));
  id_m = filer_test_make_keys (keys_m);
  id_b = filer_test_make_keys (keys_b);
  source = write_random_file (outbox, "claimed.bin", 256 * 1024);

  server_keys = g_build_filename (root, "server-keys", NULL);
  g_free (filer_test_make_keys (server_keys));
  lab = filer_natlab_new (pair[0], pair[1], 0, &error);
  g_assert_no_error (error);
  server = filer_natlab_spawn (lab, "srv", G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                               server_bin, "--bind", FILER_NATLAB_SERVER_IP, "--port", "47800",
                               "--key-dir", server_keys, NULL);
  g_assert_no_error (error);
  receiver = filer_natlab_spawn (lab, "b", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                 peer_bin, "--server", FILER_NATLAB_SERVER_IP ":47800",
                                 "--keys", keys_b, "--room", "NATLAB-2026", "--download", inbox_b, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (receiver, NULL, NULL, communicated_cb, &r);
  sender = filer_natlab_spawn (lab, "a", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               peer_bin, "--server", FILER_NATLAB_SERVER_IP ":47800",
                               "--keys", keys_a, "--nat-keys", keys_m, "--room", "NATLAB-2026",
                               "--download", inbox_a, "--send-to", id_b, "--path", source,
                               "--timeout", "40", NULL);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8_async (sender, NULL, NULL, communicated_cb, &c);
  filer_test_wait_for (&c.done, 60000, "the sender process to finish");
  g_assert_no_error (c.error);
  g_subprocess_force_exit (receiver);
  filer_test_wait_for (&r.done, 10000, "the receiver's output");
  g_test_message ("A=%s B=%s, the sender said:\n%s\nthe receiver said:\n%s", pair[0], pair[1], c.output, r.output);

  /* B's side: the stream came, named by Mallory's key, and no transfer. */
  g_assert_nonnull (r.output);
  expected = g_strdup_printf ("incoming peer=%s ", id_m);
  g_assert_nonnull (strstr (r.output, expected));
  g_assert_null (strstr (r.output, "received"));
  g_assert_nonnull (strstr (c.output, "state=failed"));
  g_assert_nonnull (strstr (c.output, "not the device it claims to be"));
  g_assert_cmpint (g_subprocess_get_exit_status (sender), ==, 1);
  {
    g_autofree char *arrived = g_build_filename (inbox_b, "claimed.bin", NULL);

    g_assert_false (g_file_test (arrived, G_FILE_TEST_EXISTS));
  }

  g_subprocess_force_exit (server);
  g_subprocess_wait (receiver, NULL, NULL);
  g_subprocess_wait (server, NULL, NULL);
  g_free (c.output);
  g_free (r.output);
  g_clear_error (&r.error);
  remove_tree (root);
}

/* The same with filer-cli on both LANs: the path shows in its summary. */
static void
test_cli (gconstpointer data)
{
  g_auto(GStrv) pair = g_strsplit (data, "+", 2);
  const char *server_bin = g_getenv ("FILER_SERVER");
  const char *cli_bin = g_getenv ("FILER_CLI");
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GSubprocess) receiver = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *server_keys = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *inbox_b = NULL;
  g_autofree char *config_a = NULL;
  g_autofree char *config_b = NULL;
  g_autofree char *source = NULL;
  g_autofree char *target = NULL;
  g_autofree char *expected = NULL;
  Communicated c = { 0, };

  if (!lab_available ())
    return;
  if (server_bin == NULL || cli_bin == NULL)
    {
      g_test_skip ("FILER_SERVER and FILER_CLI must name the programs (meson test sets them)");
      return;
    }

  root = g_dir_make_tmp ("filer-nat-XXXXXX", &error);
  server_keys = g_build_filename (root, "server-keys", NULL);
  /* Made here, so that the server only loads it and listens at once;
   * the CLIs start once it said so (a CLI does not retry its first
   * connection). */
  {
    g_autoptr(FilerIdentity) server_identity = filer_identity_load (server_keys, &error);

    g_assert_no_error (error);
  }
  g_assert_no_error (error);
  outbox = g_build_filename (root, "outbox", NULL);
  inbox_b = g_build_filename (root, "inbox-b", NULL);
  config_a = g_strdup_printf ("XDG_CONFIG_HOME=%s/config-a", root);
  config_b = g_strdup_printf ("XDG_CONFIG_HOME=%s/config-b", root);
  g_mkdir (outbox, 0755);
  g_mkdir (inbox_b, 0755);
  source = write_random_file (outbox, "song.bin", 2 * 1024 * 1024);
  target = g_build_filename (inbox_b, "song.bin", NULL);

  lab = filer_natlab_new (pair[0], pair[1], 0, &error);
  g_assert_no_error (error);

  /* Two devices: their own config folders, so their own ids. */
  server = filer_natlab_spawn (lab, "srv", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               server_bin, "--bind", FILER_NATLAB_SERVER_IP, "--port", "47800",
                               "--key-dir", server_keys, NULL);
  g_assert_no_error (error);
  {
    g_autoptr(GDataInputStream) lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
    g_autofree char *line = NULL;

    /* The pipe stays open with the process: a later line must not
     * meet a closed pipe. */
    g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (lines), FALSE);
    line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (line);
    g_test_message ("filer-server: %s", line);
  }
  receiver = filer_natlab_spawn (lab, "b", G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                 "env", config_b, cli_bin, "receive",
                                 "--server", FILER_NATLAB_SERVER_IP ":47800", "--room", "NATLAB-2026",
                                 "--name", "lab-b", "--dir", inbox_b, "--accept-all", NULL);
  g_assert_no_error (error);
  sender = filer_natlab_spawn (lab, "a", G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                               "env", config_a, cli_bin, "send",
                               "--server", FILER_NATLAB_SERVER_IP ":47800", "--room", "NATLAB-2026",
                               "--name", "lab-a", "--to", "lab-b", "--timeout", "20", source, NULL);
  g_assert_no_error (error);

  g_subprocess_communicate_utf8_async (sender, NULL, NULL, communicated_cb, &c);
  filer_test_wait_for (&c.done, 60000, "filer-cli send to finish");
  g_assert_no_error (c.error);
  g_test_message ("A=%s B=%s, filer-cli send said:\n%s", pair[0], pair[1], c.output);

  expected = g_strdup_printf ("path %s", expect_direct (pair[0], pair[1]) ? "direct" : "relay");
  g_assert_nonnull (strstr (c.output, expected));
  g_assert_true (g_subprocess_get_if_exited (sender));
  g_assert_cmpint (g_subprocess_get_exit_status (sender), ==, 0);
  assert_same_file (source, target);

  g_subprocess_force_exit (receiver);
  g_subprocess_force_exit (server);
  g_subprocess_wait (receiver, NULL, NULL);
  g_subprocess_wait (server, NULL, NULL);
  g_free (c.output);
  remove_tree (root);
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (flavours); i++)
    for (guint j = 0; j < G_N_ELEMENTS (flavours); j++)
      {
        g_autofree char *name = g_strdup_printf ("/filer/nat/pairing/%s-%s", flavours[i], flavours[j]);
        char *pair = g_strdup_printf ("%s+%s", flavours[i], flavours[j]);

        g_test_add_data_func_full (name, pair, test_pairing, g_free);
        for (guint between = 1; between <= 2; between++)
          {
            g_autofree char *short_name = g_strdup_printf ("/filer/nat/pairing-%u-between/%s-%s", between,
                                                           flavours[i], flavours[j]);

            g_test_add_data_func_full (short_name,
                                       g_strdup_printf ("%s+%s+between%u", flavours[i], flavours[j], between),
                                       test_pairing, g_free);
          }
      }

  /* A carrier's NAT in front of B's home router, either flavour, B's
   * router either flavour: the punch TTL must carry B's punches out
   * through both NATs and still stop short of A's router. */
  for (guint i = 0; i < 2; i++)
    for (guint j = 0; j < 2; j++)
      for (guint k = 0; k < 2; k++)
        {
          g_autofree char *name = g_strdup_printf ("/filer/nat/pairing-carrier-1-between/%s-%s-behind-%s",
                                                   flavours[i], flavours[j], flavours[k]);

          g_test_add_data_func_full (name, g_strdup_printf ("%s+%s+carrier-%s", flavours[i], flavours[j],
                                                            flavours[k]),
                                     test_pairing, g_free);
        }
  g_test_add_data_func ("/filer/nat/hello-claims-other/home-home", "home+home", test_hello_claims_other);
  g_test_add_data_func ("/filer/nat/hello-claims-other/symmetric-home", "symmetric+home",
                        test_hello_claims_other);
  g_test_add_data_func ("/filer/nat/pseudotcp-tls/home-home", "home+home+pseudotcp", test_pairing);
  g_test_add_data_func ("/filer/nat/pseudotcp-tls/symmetric-home", "symmetric+home+pseudotcp", test_pairing);
  g_test_add_func ("/filer/nat/keepalive", test_keepalive);
  g_test_add_func ("/filer/nat/relay-killed", test_relay_killed);
  g_test_add_func ("/filer/nat/ttl-matters", test_ttl_matters);
  g_test_add_func ("/filer/nat/relay-killed-resume", test_relay_killed_resume);
  g_test_add_data_func ("/filer/nat/processes/home-home", "home+home", test_processes);
  g_test_add_data_func ("/filer/nat/processes/symmetric-home", "symmetric+home", test_processes);
  g_test_add_data_func ("/filer/nat/processes/linux-fullcone", "linux+fullcone", test_processes);
  /* The shipped programs, their defaults, on the path a fixed TTL got
   * wrong: the punch TTL is measured in the real peer process. */
  g_test_add_data_func ("/filer/nat/processes/linux-linux-1-between", "linux+linux+between1", test_processes);
  /* The attacker's (or the internet's) silence: no router answers a probe. */
  g_test_add_data_func ("/filer/nat/pairing-no-icmp/linux-linux", "linux+linux+no-icmp", test_pairing);
  g_test_add_data_func ("/filer/nat/pairing-no-icmp/home-home", "home+home+no-icmp", test_pairing);
  g_test_add_data_func ("/filer/nat/processes/home-home-unreachable-address", "home+home+unreachable",
                        test_processes);
  g_test_add_data_func ("/filer/nat/processes/impostor/home-home", "home+home", test_impostor_process);
  g_test_add_data_func ("/filer/nat/processes/impostor/symmetric-home", "symmetric+home",
                        test_impostor_process);
  g_test_add_data_func ("/filer/nat/processes/claims-other-id/home-home", "home+home", test_claims_process);
  g_test_add_data_func ("/filer/nat/cli/home-linux", "home+linux", test_cli);
  g_test_add_data_func ("/filer/nat/cli/home-symmetric", "home+symmetric", test_cli);

  return g_test_run ();
}
