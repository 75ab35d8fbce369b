/* bench-nat.c: the punched path against kernel TCP, in the NAT lab
 *
 * Not a test: prints figures. In one lab (both routers "home"), with a
 * test-only TCP port forward on B's router so that kernel TCP has a path
 * between the same two hosts, it measures
 *   - throughput of kernel TCP and of FilerUdpStream on the punched path,
 *     unshaped and with tbf 200 Mbit/s plus 0.5 % loss on the core links;
 *   - time to first byte (connect + first byte) direct, relayed after a
 *     failed punch (symmetric vs home), and relayed at once (two
 *     symmetric NATs).
 * Both ends run in this one process (on one core), so the ratio, not the
 * absolute figure, is what to read.
 *
 * Usage: bench-nat [SECONDS_PER_RUN]   (as root)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdlib.h>

#include "libfiler.h"
#include "filer-natlab.h"

#define SERVER_PORT 4700
#define TCP_PORT    5201

static double run_seconds = 5.0;

static void
spin_until (gboolean *flag,
            double    seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

/* --- a timed one-way stream ------------------------------------------- */

typedef struct
{
  GInputStream *input;
  GOutputStream *output;
  guint8 in[256 * 1024];
  guint8 out[256 * 1024];
  guint64 received;
  gint64 first_byte_us;
  gboolean writing;
  gboolean failed;
  char *error;
} Flow;

static void flow_write (Flow *flow);
static void flow_read (Flow *flow);

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Flow *flow = user_data;
  g_autoptr(GError) error = NULL;

  if (g_output_stream_write_finish (G_OUTPUT_STREAM (object), result, &error) < 0)
    {
      flow->writing = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !flow->error)
        flow->error = g_strdup (error->message);
      return;
    }

  if (flow->writing)
    flow_write (flow);
}

static void
flow_write (Flow *flow)
{
  g_output_stream_write_async (flow->output, flow->out, sizeof flow->out,
                               G_PRIORITY_DEFAULT, NULL, write_cb, flow);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Flow *flow = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);

  if (n <= 0)
    {
      flow->failed = TRUE;
      return;
    }

  if (flow->received == 0)
    flow->first_byte_us = g_get_monotonic_time ();
  flow->received += n;
  flow_read (flow);
}

static void
flow_read (Flow *flow)
{
  g_input_stream_read_async (flow->input, flow->in, sizeof flow->in,
                             G_PRIORITY_DEFAULT, NULL, read_cb, flow);
}

/* Pushes bytes from @from to @to for run_seconds; returns MB/s received
 * after a one-second warm-up. */
static double
measure (GIOStream  *from,
         GIOStream  *to,
         const char *what)
{
  Flow *flow = g_new0 (Flow, 1);
  gboolean never = FALSE;
  guint64 start_bytes;
  gint64 start;
  double rate;

  for (gsize i = 0; i < sizeof flow->out; i++)
    flow->out[i] = g_random_int () & 0xff;

  flow->input = g_io_stream_get_input_stream (to);
  flow->output = g_io_stream_get_output_stream (from);
  flow->writing = TRUE;
  flow_write (flow);
  flow_read (flow);

  spin_until (&never, 1.0);
  start_bytes = flow->received;
  start = g_get_monotonic_time ();
  spin_until (&never, run_seconds);
  rate = (flow->received - start_bytes) / ((g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC) / 1e6;
  flow->writing = FALSE;

  g_print ("  %-44s %8.2f MB/s%s%s\n", what, rate,
           flow->error ? "  error: " : "", flow->error ? flow->error : "");

  /* The flow is leaked on purpose: its pending reads end with the lab. */
  return rate;
}

/* --- the lab ------------------------------------------------------------ */

typedef struct
{
  FilerNatLab *lab;
  FilerRendezvousServer *server;
  FilerNatClient *a;
  FilerNatClient *b;
  FilerIdentity *key_a;
  FilerIdentity *key_b;
  GIOStream *incoming;
  GSocket *tcp_listener;
  GSocket *tcp_client;
  GError *error;
} Bench;

static void
listen_in_srv (gpointer data,
               gpointer unused)
{
  Bench *bench = data;

  if (!filer_rendezvous_server_listen (bench->server, FILER_NATLAB_SERVER_IP, SERVER_PORT, &bench->error))
    g_error ("%s", bench->error->message);
}

static void
tcp_listen_in_b (gpointer data,
                 gpointer unused)
{
  Bench *bench = data;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (FILER_NATLAB_HOST_IP, TCP_PORT);

  bench->tcp_listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  if (!g_socket_bind (bench->tcp_listener, address, TRUE, &bench->error)
      || !g_socket_listen (bench->tcp_listener, &bench->error))
    g_error ("%s", bench->error->message);
}

static void
tcp_socket_in_a (gpointer data,
                 gpointer unused)
{
  Bench *bench = data;

  bench->tcp_client = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
}

static void
incoming_cb (FilerNatClient *client,
             GIOStream      *stream,
             const char     *peer_id,
             const char     *path,
             const char     *rendezvous_id,
             gpointer        user_data)
{
  Bench *bench = user_data;

  g_set_object (&bench->incoming, stream);
}

static FilerNatClient *
client_on (Bench         *bench,
           const char    *node,
           FilerIdentity *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *server = g_strdup_printf ("%s:%u", FILER_NATLAB_SERVER_IP, SERVER_PORT);
  FilerNatClient *client = filer_nat_client_new (filer_identity_get_id (key), server);

  socket = filer_natlab_udp_socket (bench->lab, node, FILER_NATLAB_HOST_IP, 40000, &error);
  if (socket == NULL)
    g_error ("%s", error->message);
  filer_nat_client_set_socket (client, socket);
  filer_nat_client_set_identity (client, key);
  if (!filer_nat_client_start (client, &error))
    g_error ("%s", error->message);

  return client;
}

static void
bench_up (Bench      *bench,
          const char *flavour_a,
          const char *flavour_b)
{
  g_autoptr(GError) error = NULL;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  bench->lab = filer_natlab_new (flavour_a, flavour_b, 0, &error);
  if (bench->lab == NULL)
    g_error ("%s", error->message);

  bench->server = filer_rendezvous_server_new ();
  filer_natlab_run_in (bench->lab, "srv", listen_in_srv, bench);
  bench->key_a = filer_identity_new_ephemeral (&error);
  bench->key_b = bench->key_a ? filer_identity_new_ephemeral (&error) : NULL;
  if (bench->key_b == NULL)
    g_error ("%s", error->message);
  bench->a = client_on (bench, "a", bench->key_a);
  bench->b = client_on (bench, "b", bench->key_b);
  g_signal_connect (bench->b, "incoming", G_CALLBACK (incoming_cb), bench);

  while ((!filer_nat_client_get_mapping (bench->a) || !filer_nat_client_get_mapping (bench->b))
         && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static void
bench_down (Bench *bench)
{
  g_clear_object (&bench->incoming);
  g_clear_object (&bench->a);
  g_clear_object (&bench->b);
  g_clear_object (&bench->key_a);
  g_clear_object (&bench->key_b);
  g_clear_object (&bench->server);
  g_clear_object (&bench->tcp_listener);
  g_clear_object (&bench->tcp_client);
  g_clear_pointer (&bench->lab, filer_natlab_free);
}

typedef struct
{
  gboolean done;
  GIOStream *stream;
  char *path;
} Connect;

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Connect *connect = user_data;
  g_autoptr(GError) error = NULL;

  connect->stream = filer_nat_client_connect_finish (FILER_NAT_CLIENT (object), result,
                                                     &connect->path, &error);
  if (connect->stream == NULL)
    g_error ("connect: %s", error->message);
  connect->done = TRUE;
}

static GIOStream *
nat_connect (Bench *bench,
             char **path)
{
  Connect connect = { 0, };

  filer_nat_client_connect_async (bench->a, filer_identity_get_id (bench->key_b),
                                  filer_identity_get_id (bench->key_b), NULL, connect_cb, &connect);
  spin_until (&connect.done, 20.0);
  while (bench->incoming == NULL)
    g_main_context_iteration (NULL, TRUE);
  *path = connect.path;
  return connect.stream;
}

/* Connect, send one byte, and time until it arrives. */
static void
time_to_first_byte (const char *flavour_a,
                    const char *flavour_b,
                    const char *what)
{
  Bench bench = { 0, };
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *path = NULL;
  Flow *flow = g_new0 (Flow, 1);
  gint64 start;

  bench_up (&bench, flavour_a, flavour_b);
  start = g_get_monotonic_time ();
  stream = nat_connect (&bench, &path);
  g_output_stream_write_all (g_io_stream_get_output_stream (stream), "x", 1, NULL, NULL, NULL);
  flow->input = g_io_stream_get_input_stream (bench.incoming);
  flow_read (flow);
  while (flow->received == 0)
    g_main_context_iteration (NULL, TRUE);

  g_print ("  %-44s %8.2f s  (path %s)\n", what,
           (flow->first_byte_us - start) / (double)G_USEC_PER_SEC, path);

  g_clear_object (&stream);
  bench_down (&bench);
}

static GIOStream *
tcp_connect (Bench *bench,
             GIOStream **accepted)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (FILER_NATLAB_PUBLIC_IP_B, TCP_PORT);
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GError) error = NULL;

  filer_natlab_run_in (bench->lab, "b", tcp_listen_in_b, bench);
  filer_natlab_run_in (bench->lab, "a", tcp_socket_in_a, bench);
  if (!g_socket_connect (bench->tcp_client, address, NULL, &error))
    g_error ("TCP connect: %s", error->message);
  peer = g_socket_accept (bench->tcp_listener, NULL, &error);
  if (peer == NULL)
    g_error ("TCP accept: %s", error->message);

  g_socket_set_blocking (bench->tcp_client, FALSE);
  g_socket_set_blocking (peer, FALSE);
  *accepted = G_IO_STREAM (g_socket_connection_factory_create_connection (peer));
  return G_IO_STREAM (g_socket_connection_factory_create_connection (bench->tcp_client));
}

static void
throughput (const char *shaping,
            gboolean    shape)
{
  Bench bench = { 0, };
  g_autoptr(GIOStream) tcp = NULL;
  g_autoptr(GIOStream) tcp_peer = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tcp_label = g_strdup_printf ("kernel TCP, %s", shaping);
  double tcp_rate, udp_rate;

  bench_up (&bench, "home", "home");
  if (!filer_natlab_script (bench.lab, &error, "forward-tcp", "b", G_STRINGIFY (TCP_PORT), NULL))
    g_error ("%s", error->message);
  if (shape && !filer_natlab_script (bench.lab, &error, "shape", "200", "5", NULL))
    g_error ("%s", error->message);

  tcp = tcp_connect (&bench, &tcp_peer);
  tcp_rate = measure (tcp, tcp_peer, tcp_label);
  g_io_stream_close (tcp, NULL, NULL);

  for (guint engine = 0; engine < 2; engine++)
    for (guint relay = 0; relay < 2; relay++)
      {
        const char *name = engine == 0 ? "quic" : "pseudotcp";
        g_autofree char *label = NULL;
        g_autofree char *path_name = NULL;

        g_clear_object (&stream);
        g_clear_object (&bench.incoming);
        filer_nat_client_set_stream_engine (bench.a, name);
        filer_nat_client_set_force_relay (bench.a, relay);
        filer_nat_client_set_force_relay (bench.b, relay);
        stream = nat_connect (&bench, &path_name);
        label = g_strdup_printf ("%s over UDP (%s), %s%s", name, path_name, shaping,
                                 engine == 0 ? "" : ", TLS on top");
        udp_rate = measure (stream, bench.incoming, label);
        g_print ("  %-44s %8.2f x kernel TCP%s\n", "ratio", udp_rate / tcp_rate,
                 relay ? "" : " (goal >= 0.8)");
      }

  g_clear_object (&stream);
  bench_down (&bench);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *reason = NULL;

  signal (SIGPIPE, SIG_IGN);
  if (argc > 1)
    run_seconds = g_ascii_strtod (argv[1], NULL);

  if (!filer_natlab_available (&reason))
    {
      g_print ("bench-nat: cannot run: %s\n", reason);
      return 77;
    }

  g_print ("NAT benchmark (%.0f s per run; both ends in this process)\n", run_seconds);
  g_print ("Throughput, A and B behind home routers:\n");
  throughput ("unshaped", FALSE);
  throughput ("200 Mbit/s + 0.5 % loss", TRUE);

  g_print ("Time to first byte (connect + 1 byte):\n");
  time_to_first_byte ("home", "home", "direct (home - home)");
  time_to_first_byte ("symmetric", "home", "relay after a failed punch (symmetric - home)");
  time_to_first_byte ("symmetric", "symmetric", "relay at once (symmetric - symmetric)");

  return 0;
}
