/* test-natlab.c: the NAT lab behaves like the routers it models
 *
 * Before any traversal test can be believed, the lab itself must be: each
 * router flavour is checked here with plain UDP sockets placed on the
 * lab's hosts (mapping behaviour, filtering, the conntrack trap of a
 * router that accepts WAN input, TTL expiry between the routers, and the
 * shrunken UDP timeout that keepalive tests rely on).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-natlab.h"
#include "filer-test-util.h"

#define QUIET_MS 300  /* how long "nothing arrives" is watched for */

static gboolean
lab_available (void)
{
  g_autofree char *reason = NULL;

  if (filer_natlab_available (&reason))
    return TRUE;

  g_test_skip (reason);
  return FALSE;
}

static FilerNatLab *
lab_new (const char *flavour_a,
         const char *flavour_b,
         guint       udp_timeout)
{
  g_autoptr(GError) error = NULL;
  FilerNatLab *lab = filer_natlab_new (flavour_a, flavour_b, udp_timeout, &error);

  g_assert_no_error (error);
  g_test_message ("lab %s: A behind %s, B behind %s",
                  filer_natlab_get_prefix (lab), flavour_a, flavour_b);
  return lab;
}

static GSocket *
lab_socket (FilerNatLab *lab,
            const char  *node,
            const char  *ip,
            guint16      port)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = filer_natlab_udp_socket (lab, node, ip, port, &error);

  g_assert_no_error (error);
  return socket;
}

static void
send_to (GSocket    *socket,
         const char *ip,
         guint16     port,
         const char *payload,
         int         ttl)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (ip);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (inet, port);
  g_autoptr(GError) error = NULL;

  g_socket_set_ttl (socket, ttl > 0 ? ttl : 64);
  g_socket_send_to (socket, address, payload, strlen (payload), NULL, &error);
  g_assert_no_error (error);
}

/* Returns the payload received within @timeout_ms (and who sent it), or
 * NULL if nothing came. */
static char *
receive_from (GSocket  *socket,
              guint     timeout_ms,
              char    **from_ip,
              guint16  *from_port)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  char buffer[1500];
  gssize n;

  if (!g_socket_condition_timed_wait (socket, G_IO_IN, (gint64)timeout_ms * 1000, NULL, NULL))
    return NULL;

  n = g_socket_receive_from (socket, &address, buffer, sizeof buffer - 1, NULL, &error);
  g_assert_no_error (error);
  buffer[n] = '\0';

  if (from_ip)
    *from_ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  if (from_port)
    *from_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));

  return g_strdup (buffer);
}

/* Sends from @socket to the server socket @server (bound to @server_ip:
 * @server_port) and returns the public port the server saw. */
static guint16
mapped_port (GSocket    *socket,
             GSocket    *server,
             const char *server_ip,
             guint16     server_port,
             const char *expected_public_ip)
{
  g_autofree char *payload = NULL;
  g_autofree char *ip = NULL;
  guint16 port = 0;

  send_to (socket, server_ip, server_port, "probe", 0);
  payload = receive_from (server, 2000, &ip, &port);
  g_assert_cmpstr (payload, ==, "probe");
  g_assert_cmpstr (ip, ==, expected_public_ip);
  return port;
}

static void
assert_nothing_arrives (GSocket    *socket,
                        const char *why)
{
  g_autofree char *payload = receive_from (socket, QUIET_MS, NULL, NULL);

  if (payload)
    g_error ("expected nothing (%s), got \"%s\"", why, payload);
}

static void
test_topology (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *ip = NULL;
  guint16 port = 0;

  if (!lab_available ())
    return;

  lab = lab_new ("home", "home", 0);

  /* Both hosts have the same private address, as two homes would. */
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  b = lab_socket (lab, "b", FILER_NATLAB_HOST_IP, 5000);
  server = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4000);

  g_assert_cmpuint (mapped_port (a, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_A), ==, 5000);
  g_assert_cmpuint (mapped_port (b, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_B), ==, 5000);

  /* The server's answer comes back through the NAT. */
  send_to (server, FILER_NATLAB_PUBLIC_IP_A, 5000, "hello a", 0);
  payload = receive_from (a, 2000, &ip, &port);
  g_assert_cmpstr (payload, ==, "hello a");
  g_assert_cmpstr (ip, ==, FILER_NATLAB_SERVER_IP);
  g_assert_cmpuint (port, ==, 4000);
  assert_nothing_arrives (b, "the answer was for A");

  /* The private range is not routed: B cannot reach A's address. */
  send_to (b, FILER_NATLAB_ROUTER_LAN, 9, "local", 0);
  assert_nothing_arrives (a, "private addresses stay private");
}

/* Endpoint-independent mapping: the same public port toward two server
 * addresses. Returns that port. */
static guint16
assert_endpoint_independent (FilerNatLab *lab,
                             GSocket     *a)
{
  g_autoptr(GSocket) server = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4000);
  g_autoptr(GSocket) server2 = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP2, 4001);
  guint16 port1 = mapped_port (a, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_A);
  guint16 port2 = mapped_port (a, server2, FILER_NATLAB_SERVER_IP2, 4001, FILER_NATLAB_PUBLIC_IP_A);

  g_assert_cmpuint (port1, ==, port2);
  return port1;
}

/* An outsider that never heard from A sends to A's mapping and then A
 * sends to that outsider: returns the port the outsider then sees. */
static guint16
mapping_after_unsolicited (FilerNatLab *lab,
                           gboolean     expect_delivery)
{
  g_autoptr(GSocket) a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5001);
  g_autoptr(GSocket) outsider = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4002);
  g_autofree char *payload = NULL;

  send_to (outsider, FILER_NATLAB_PUBLIC_IP_A, 5001, "unsolicited", 0);
  payload = receive_from (a, QUIET_MS, NULL, NULL);
  if (expect_delivery)
    g_assert_cmpstr (payload, ==, "unsolicited");
  else
    g_assert_null (payload);

  return mapped_port (a, outsider, FILER_NATLAB_SERVER_IP, 4002, FILER_NATLAB_PUBLIC_IP_A);
}

static void
test_home (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) stranger = NULL;

  if (!lab_available ())
    return;

  lab = lab_new ("home", "home", 0);
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  g_assert_cmpuint (assert_endpoint_independent (lab, a), ==, 5000);

  /* Address-and-port-dependent filtering: a stranger is dropped. */
  stranger = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4003);
  send_to (stranger, FILER_NATLAB_PUBLIC_IP_A, 5000, "stranger", 0);
  assert_nothing_arrives (a, "home router drops unsolicited WAN input");

  /* Dropped input leaves no conntrack entry: the next mapping keeps its port. */
  g_assert_cmpuint (mapping_after_unsolicited (lab, FALSE), ==, 5001);
}

static void
test_linux (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  guint16 port;

  if (!lab_available ())
    return;

  lab = lab_new ("linux", "home", 0);
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  g_assert_cmpuint (assert_endpoint_independent (lab, a), ==, 5000);

  /* The unsolicited packet is accepted by the router itself (not
   * forwarded), and its conntrack entry moves A's next mapping. */
  port = mapping_after_unsolicited (lab, FALSE);
  g_test_message ("linux router: mapping moved from 5001 to %u", port);
  g_assert_cmpuint (port, !=, 5001);
}

static void
test_symmetric (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) server2 = NULL;
  guint16 port1, port2;

  if (!lab_available ())
    return;

  lab = lab_new ("symmetric", "home", 0);
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  server = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4000);
  server2 = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4001);

  /* Two ports of the same server see two different mappings: this is
   * how the rendezvous server tells a symmetric NAT. */
  port1 = mapped_port (a, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_A);
  port2 = mapped_port (a, server2, FILER_NATLAB_SERVER_IP, 4001, FILER_NATLAB_PUBLIC_IP_A);
  g_test_message ("symmetric router: ports %u and %u", port1, port2);
  g_assert_cmpuint (port1, !=, port2);

  /* A mapping is used only for its own destination. */
  {
    g_autoptr(GSocket) stranger = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4003);

    send_to (stranger, FILER_NATLAB_PUBLIC_IP_A, port1, "stranger", 0);
    assert_nothing_arrives (a, "symmetric router filters strangers");
  }
}

static void
test_fullcone (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) stranger = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *ip = NULL;
  guint16 port;

  if (!lab_available ())
    return;

  lab = lab_new ("fullcone", "home", 0);
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  port = assert_endpoint_independent (lab, a);
  g_assert_cmpuint (port, ==, 5000);

  /* Anyone can reach a mapped port. */
  stranger = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4003);
  send_to (stranger, FILER_NATLAB_PUBLIC_IP_A, port, "stranger", 0);
  payload = receive_from (a, 2000, &ip, NULL);
  g_assert_cmpstr (payload, ==, "stranger");
  g_assert_cmpstr (ip, ==, FILER_NATLAB_SERVER_IP);
}

static void
test_ttl (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *ip = NULL;
  guint16 port = 0;

  if (!lab_available ())
    return;

  /* A behind a full cone, so that only the TTL can stop B's packet. */
  lab = lab_new ("fullcone", "home", 0);
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  b = lab_socket (lab, "b", FILER_NATLAB_HOST_IP, 6000);
  server = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4000);
  mapped_port (a, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_A);

  /* TTL 2: through B's router, dies at the next one. */
  send_to (b, FILER_NATLAB_PUBLIC_IP_A, 5000, "short-lived", 2);
  assert_nothing_arrives (a, "a TTL-2 packet dies between the routers");

  /* ... yet it opened B's mapping toward A: A's packet now gets in. */
  send_to (a, FILER_NATLAB_PUBLIC_IP_B, 6000, "from a", 0);
  payload = receive_from (b, 2000, &ip, &port);
  g_assert_cmpstr (payload, ==, "from a");
  g_assert_cmpstr (ip, ==, FILER_NATLAB_PUBLIC_IP_A);
  g_assert_cmpuint (port, ==, 5000);
  g_clear_pointer (&payload, g_free);
  g_clear_pointer (&ip, g_free);

  /* With a full TTL, B's packet crosses the whole path. */
  send_to (b, FILER_NATLAB_PUBLIC_IP_A, 5000, "long-lived", 0);
  payload = receive_from (a, 2000, &ip, &port);
  g_assert_cmpstr (payload, ==, "long-lived");
  g_assert_cmpstr (ip, ==, FILER_NATLAB_PUBLIC_IP_B);
  g_assert_cmpuint (port, ==, 6000);
}

static void
test_udp_timeout (void)
{
  g_autoptr(FilerNatLab) lab = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) kept = NULL;
  g_autoptr(GSocket) server = NULL;
  g_autofree char *payload = NULL;
  guint16 port, kept_port;
  int i;

  if (!lab_available ())
    return;

  /* Routers forget idle UDP mappings after 2 s. */
  lab = lab_new ("home", "home", 2);
  a = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5000);
  kept = lab_socket (lab, "a", FILER_NATLAB_HOST_IP, 5001);
  server = lab_socket (lab, "srv", FILER_NATLAB_SERVER_IP, 4000);
  port = mapped_port (a, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_A);
  kept_port = mapped_port (kept, server, FILER_NATLAB_SERVER_IP, 4000, FILER_NATLAB_PUBLIC_IP_A);

  /* One mapping idles, the other gets a keepalive every 500 ms. */
  for (i = 0; i < 8; i++)
    {
      g_usleep (500 * G_TIME_SPAN_MILLISECOND);
      send_to (kept, FILER_NATLAB_SERVER_IP, 4000, "keepalive", 0);
      g_free (receive_from (server, 1000, NULL, NULL));
    }

  send_to (server, FILER_NATLAB_PUBLIC_IP_A, port, "too late", 0);
  assert_nothing_arrives (a, "an idle mapping expires");

  send_to (server, FILER_NATLAB_PUBLIC_IP_A, kept_port, "kept", 0);
  payload = receive_from (kept, 2000, NULL, NULL);
  g_assert_cmpstr (payload, ==, "kept");
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/natlab/lab/topology", test_topology);
  g_test_add_func ("/filer/natlab/lab/home", test_home);
  g_test_add_func ("/filer/natlab/lab/linux", test_linux);
  g_test_add_func ("/filer/natlab/lab/symmetric", test_symmetric);
  g_test_add_func ("/filer/natlab/lab/fullcone", test_fullcone);
  g_test_add_func ("/filer/natlab/lab/ttl", test_ttl);
  g_test_add_func ("/filer/natlab/lab/udp-timeout", test_udp_timeout);

  return g_test_run ();
}
