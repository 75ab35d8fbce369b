/* test-discovery-util.c: address helpers and the device identity
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define _GNU_SOURCE 1
#include "config.h"

#include <glib/gstdio.h>

#include "libfiler.h"
#include "filer-test-util.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

static void
test_private_addresses (void)
{
  struct {
    const char *address;
    gboolean    is_private;
  } cases[] = {
    { "127.0.0.1", TRUE }, { "127.4.5.6", TRUE },
    { "10.1.2.3", TRUE }, { "172.16.0.1", TRUE }, { "172.31.255.1", TRUE },
    { "172.32.0.1", FALSE }, { "192.168.1.1", TRUE }, { "169.254.1.1", TRUE },
    { "100.64.0.1", TRUE }, { "100.127.255.255", TRUE }, { "100.128.0.1", FALSE },
    { "8.8.8.8", FALSE }, { "203.0.113.5", FALSE },
    { "::1", TRUE }, { "fe80::1", TRUE }, { "fd12:3456::1", TRUE }, { "fc00::1", TRUE },
    { "2001:db8::1", FALSE },
    { "::ffff:192.168.1.1", TRUE }, { "::ffff:198.51.100.7", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (cases[i].address);

      g_assert_nonnull (address);
      if (filer_net_address_is_private (address) != cases[i].is_private)
        g_error ("%s: expected %s", cases[i].address, cases[i].is_private ? "private" : "public");
    }
}

static void
test_mapped_addresses (void)
{
  g_autoptr(GInetAddress) mapped = g_inet_address_new_from_string ("::ffff:198.51.100.7");
  g_autoptr(GInetAddress) v6 = g_inet_address_new_from_string ("2001:db8::1");
  g_autofree char *a = filer_net_address_to_string (mapped);
  g_autofree char *b = filer_net_address_to_string (v6);

  g_assert_cmpstr (a, ==, "198.51.100.7");
  g_assert_cmpstr (b, ==, "2001:db8::1");
}

static void
test_host_port (void)
{
  struct {
    const char *text;
    const char *host;   /* NULL: invalid */
    guint16     port;
  } cases[] = {
    { "example.org:80", "example.org", 80 },
    { "example.org", "example.org", 47800 },
    { "192.0.2.1:1", "192.0.2.1", 1 },
    { "[2001:db8::1]:9", "2001:db8::1", 9 },
    { "[2001:db8::1]", "2001:db8::1", 47800 },
    { "2001:db8::1", "2001:db8::1", 47800 },
    { "host:0", NULL, 0 }, { "host:65536", NULL, 0 }, { "host:x", NULL, 0 },
    { ":80", NULL, 0 }, { "a:b:c", NULL, 0 }, { "[::1", NULL, 0 }, { "", NULL, 0 },
    { "host:", NULL, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *host = NULL;
      guint16 port = 0;
      gboolean ok = filer_net_parse_host_port (cases[i].text, 47800, &host, &port, &error);

      if (cases[i].host == NULL)
        {
          g_assert_false (ok);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
        }
      else
        {
          g_autofree char *formatted = NULL;
          g_autofree char *again = NULL;
          guint16 again_port = 0;

          g_assert_no_error (error);
          g_assert_cmpstr (host, ==, cases[i].host);
          g_assert_cmpuint (port, ==, cases[i].port);

          /* Formatting is the inverse: it parses back to the same pair. */
          formatted = filer_net_format_host_port (host, port);
          g_assert_true (filer_net_parse_host_port (formatted, 1, &again, &again_port, NULL));
          g_assert_cmpstr (again, ==, host);
          g_assert_cmpuint (again_port, ==, port);
        }
    }
  {
    g_autofree char *v6 = filer_net_format_host_port ("2001:db8::1", 9);

    g_assert_cmpstr (v6, ==, "[2001:db8::1]:9");
  }
}

/* What `ip -4 -o addr show up` lists, loopback and link-local left
 * out: an independent reading of the machine's IPv4 addresses. NULL when
 * there is no `ip`. */
static char **
ip_tool_addresses (gboolean broadcast)
{
  g_autofree char *output = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  int status = 0;

  if (!g_spawn_command_line_sync ("ip -4 -o addr show up", &output, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return NULL;

  lines = g_strsplit (output, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (lines[i], " \t", -1);
      const char *inet = NULL, *brd = NULL;

      for (guint j = 0; words[j] != NULL; j++)
        {
          if (g_str_equal (words[j], "inet") && words[j + 1] != NULL)
            inet = words[j + 1];
          if (g_str_equal (words[j], "brd") && words[j + 1] != NULL)
            brd = words[j + 1];
        }
      if (inet != NULL && !g_str_has_prefix (inet, "127.") && !g_str_has_prefix (inet, "169.254."))
        {
          g_autofree char *address = g_strndup (inet, strcspn (inet, "/"));

          if (!broadcast)
            g_strv_builder_add (builder, address);
          else if (brd != NULL)
            g_strv_builder_add (builder, brd);
        }
    }
  return g_strv_builder_end (builder);
}

static void
assert_has_all (const char * const *found,
                const char * const *wanted,
                const char         *what)
{
  for (guint i = 0; wanted[i] != NULL; i++)
    {
      g_test_message ("%s: %s %s", what, wanted[i],
                      g_strv_contains (found, wanted[i]) ? "found" : "MISSING");
      g_assert_true (g_strv_contains (found, wanted[i]));
    }
}

/* On this machine: whatever it has. Every address is real (parses, not
 * loopback, not link-local), broadcasts are IPv4, and each IPv4 address
 * and broadcast that `ip` lists is there. */
static void
test_local_addresses (void)
{
  g_auto(GStrv) local = filer_net_get_local_addresses ();
  g_auto(GStrv) broadcast = filer_net_get_broadcast_addresses ();
  g_auto(GStrv) ip_local = ip_tool_addresses (FALSE);
  g_auto(GStrv) ip_broadcast = ip_tool_addresses (TRUE);

  g_assert_nonnull (local);
  g_assert_nonnull (broadcast);
  for (guint i = 0; local[i]; i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (local[i]);

      g_assert_nonnull (address);
      g_assert_false (g_inet_address_get_is_loopback (address));
      g_assert_false (g_inet_address_get_is_link_local (address));
      g_assert_false (g_strv_contains ((const char * const *)local + i + 1, local[i]));   /* once */
    }
  for (guint i = 0; broadcast[i]; i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (broadcast[i]);

      g_assert_nonnull (address);
      g_assert_cmpint (g_inet_address_get_family (address), ==, G_SOCKET_FAMILY_IPV4);
    }

  if (ip_local == NULL)
    {
      g_test_skip ("no `ip` to compare the machine's addresses with");
      return;
    }
  g_test_message ("this machine has %u IPv4 addresses besides loopback",
                  g_strv_length (ip_local));
  assert_has_all ((const char * const *)local, (const char * const *)ip_local, "local");
  assert_has_all ((const char * const *)broadcast, (const char * const *)ip_broadcast, "broadcast");
}

static gboolean
run (const char *command)
{
  int status = 0;
  g_autoptr(GError) error = NULL;

  if (!g_spawn_command_line_sync (command, NULL, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      g_test_message ("%s: %s", command, error->message);
      return FALSE;
    }
  return TRUE;
}

/* In a network namespace of our own with known addresses, the lists are
 * exact: the IPv4 address first, then the global IPv6 one; loopback, the
 * link-local fe80:: and a down interface left out; one broadcast. */
static void
test_local_addresses_namespace (void)
{
  if (g_test_subprocess ())
    {
      g_auto(GStrv) local = NULL;
      g_auto(GStrv) broadcast = NULL;

      const char *skip_file = g_getenv ("FILER_TEST_SKIP_FILE");

      if (unshare (CLONE_NEWNET) < 0)
        {
          g_autofree char *why = g_strdup_printf ("no network namespace: %s", g_strerror (errno));

          g_file_set_contents (skip_file, why, -1, NULL);
          return;
        }
      /* v0 up with a documentation address of each family; v2 down. */
      if (!run ("ip link set lo up") ||
          !run ("ip link add v0 type veth peer name v1") ||
          !run ("ip link add v2 type veth peer name v3") ||
          !run ("ip addr add 192.0.2.5/24 broadcast 192.0.2.255 dev v0") ||
          !run ("ip addr add 2001:db8::5/64 dev v0 nodad") ||
          !run ("ip addr add 198.51.100.9/24 broadcast 198.51.100.255 dev v2") ||
          !run ("ip link set v0 up") ||
          !run ("ip link set v1 up"))
        {
          g_file_set_contents (skip_file, "could not set up the namespace's veth interfaces", -1, NULL);
          return;
        }

      local = filer_net_get_local_addresses ();
      broadcast = filer_net_get_broadcast_addresses ();
      g_assert_cmpstrv (local, ((const char * const[]) { "192.0.2.5", "2001:db8::5", NULL }));
      g_assert_cmpstrv (broadcast, ((const char * const[]) { "192.0.2.255", NULL }));

      /* On the link: inside an up interface's subnet, never a down one's,
       * never loopback (its senders are private anyway). */
      {
        const struct { const char *address; gboolean on_link; } cases[] = {
          { "192.0.2.77", TRUE }, { "192.0.2.5", TRUE }, { "::ffff:192.0.2.200", TRUE },
          { "2001:db8::1234", TRUE }, { "192.0.3.1", FALSE }, { "198.51.100.1", FALSE },
          { "203.0.113.1", FALSE }, { "127.0.0.1", FALSE }, { "2001:db8:1::1", FALSE },
        };

        for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
          {
            g_autoptr(GInetAddress) address = g_inet_address_new_from_string (cases[i].address);

            g_assert_nonnull (address);
            if (filer_net_address_is_on_link (address) != cases[i].on_link)
              g_error ("%s: on link should be %d", cases[i].address, cases[i].on_link);
          }
      }
      g_print ("OK: exact\n");
      return;
    }

  if (geteuid () != 0)
    {
      g_test_skip ("needs root for a network namespace");
      return;
    }
  /* The child says why it skipped in a file (GLib 2.74 cannot hand its
   * output back). */
  {
    g_autofree char *skip_file = g_build_filename (g_get_user_runtime_dir (), "namespace-skip", NULL);
    g_autofree char *why = NULL;

    g_mkdir_with_parents (g_get_user_runtime_dir (), 0700);
    g_unlink (skip_file);
    g_setenv ("FILER_TEST_SKIP_FILE", skip_file, TRUE);
    g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    if (g_file_get_contents (skip_file, &why, NULL, NULL))
      {
        g_test_skip (why);
        return;
      }
    g_test_trap_assert_stdout ("*OK: exact*");
  }
}

static void
test_device_id_persists (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "filer", NULL);
  g_autofree char *old_path = g_build_filename (dir, "device-id", NULL);
  g_autofree char *kept_path = g_build_filename (dir, "device-id.v1", NULL);
  g_autofree char *cert_path = g_build_filename (dir, "device-cert.pem", NULL);
  g_autoptr(FilerDevice) first = NULL;
  g_autoptr(FilerDevice) second = NULL;
  g_autoptr(GTlsCertificate) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stored_id = NULL;
  g_autofree char *kept = NULL;

  /* A Filer 1 config: a random id, no key. */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (old_path, "0b5d2b8e-6a4e-4f7c-9d1e-2f3a4b5c6d7e\n", -1, NULL));

  first = filer_device_load_default (&error);
  g_assert_no_error (error);
  g_assert_nonnull (filer_device_get_identity (first));
  g_assert_true (filer_identity_id_is_valid (filer_device_get_id (first)));
  g_assert_cmpstr (filer_device_get_id (first), ==,
                   filer_identity_get_id (filer_device_get_identity (first)));
  g_assert_nonnull (filer_device_get_name (first));
  g_assert_cmpstr (filer_device_get_name (first), !=, "");
  g_assert_nonnull (filer_device_get_kind (first));

  /* The id is the stored key's, not the old random one, which moved
   * aside once. */
  stored = g_tls_certificate_new_from_file (cert_path, &error);
  g_assert_no_error (error);
  stored_id = filer_identity_id_for_certificate (stored);
  g_assert_cmpstr (stored_id, ==, filer_device_get_id (first));
  g_assert_false (g_file_test (old_path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (kept_path, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "0b5d2b8e-6a4e-4f7c-9d1e-2f3a4b5c6d7e\n");

  second = filer_device_load_default (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (filer_device_get_id (first), ==, filer_device_get_id (second));
}

static void
test_device_ephemeral (void)
{
  g_autoptr(FilerDevice) a = filer_device_new_ephemeral ("A", "cli");
  g_autoptr(FilerDevice) b = filer_device_new_ephemeral ("B", "cli");
  g_autoptr(FilerDevice) bare = filer_device_new ("some-id-1234", "C", NULL);

  g_assert_true (filer_identity_id_is_valid (filer_device_get_id (a)));
  g_assert_cmpstr (filer_device_get_id (a), !=, filer_device_get_id (b));
  g_assert_cmpstr (filer_device_get_kind (a), ==, "cli");
  g_assert_null (filer_device_get_identity (bare));
  g_assert_cmpstr (filer_device_get_id (bare), ==, "some-id-1234");
}

static gboolean
both_online (gpointer user_data)
{
  FilerDiscoveryClient **clients = user_data;

  return filer_discovery_client_get_state (clients[0]) == FILER_DISCOVERY_STATE_ONLINE &&
         filer_discovery_client_get_state (clients[1]) == FILER_DISCOVERY_STATE_ONLINE;
}

/* Two clients on the server's own link, from public-range addresses: how
 * many peers each sees, with link-is-one-network set as given. */
static guint
peers_seen_on_link (gboolean link_is_one_network)
{
  g_autoptr(FilerServer) server = filer_server_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  FilerDiscoveryClient *clients[2];
  guint seen;

  filer_server_set_bind_address (server, "192.0.2.5");
  filer_server_set_port (server, 0);
  filer_server_set_link_is_one_network (server, link_is_one_network);
  g_assert_true (filer_server_start (server, &error));
  g_assert_no_error (error);
  address = g_strdup_printf ("192.0.2.5:%u", filer_server_get_port (server));

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("device-%u", i);
      g_autoptr(FilerDevice) device = filer_device_new_ephemeral (name, "laptop");

      clients[i] = filer_discovery_client_new (device);
      filer_discovery_client_set_server (clients[i], address);
      filer_discovery_client_set_local_address (clients[i], i == 0 ? "192.0.2.6" : "192.0.2.7");
      filer_discovery_client_set_transfer_port (clients[i], 5151);
      filer_discovery_client_start (clients[i]);
    }
  filer_test_wait_until (both_online, clients, 10000, "both clients online");
  filer_test_spin (300);
  seen = g_list_model_get_n_items (filer_discovery_client_get_peers (clients[0])) +
         g_list_model_get_n_items (filer_discovery_client_get_peers (clients[1]));

  for (guint i = 0; i < 2; i++)
    {
      filer_discovery_client_stop (clients[i]);
      g_object_unref (clients[i]);
    }
  filer_server_stop (server);
  return seen;
}

/* A public filer-server does not introduce its subnet neighbours to each
 * other (on a hosted VPS they are strangers); a server an app hosts for
 * its LAN does, whatever range the LAN uses. */
static void
test_link_network (void)
{
  if (g_test_subprocess ())
    {
      const char *skip_file = g_getenv ("FILER_TEST_SKIP_FILE");

      if (unshare (CLONE_NEWNET) < 0)
        {
          g_autofree char *why = g_strdup_printf ("no network namespace: %s", g_strerror (errno));

          g_file_set_contents (skip_file, why, -1, NULL);
          return;
        }
      if (!run ("ip link set lo up") ||
          !run ("ip link add v0 type veth peer name v1") ||
          !run ("ip addr add 192.0.2.5/24 broadcast 192.0.2.255 dev v0") ||
          !run ("ip addr add 192.0.2.6/24 dev v0") ||
          !run ("ip addr add 192.0.2.7/24 dev v0") ||
          !run ("ip link set v0 up") ||
          !run ("ip link set v1 up"))
        {
          g_file_set_contents (skip_file, "could not set up the namespace's veth interfaces", -1, NULL);
          return;
        }

      g_assert_cmpuint (peers_seen_on_link (FALSE), ==, 0);
      g_assert_cmpuint (peers_seen_on_link (TRUE), ==, 2);
      g_print ("OK: link\n");
      return;
    }

  if (geteuid () != 0)
    {
      g_test_skip ("needs root for a network namespace");
      return;
    }
  {
    g_autofree char *skip_file = g_build_filename (g_get_user_runtime_dir (), "link-skip", NULL);
    g_autofree char *why = NULL;

    g_mkdir_with_parents (g_get_user_runtime_dir (), 0700);
    g_unlink (skip_file);
    g_setenv ("FILER_TEST_SKIP_FILE", skip_file, TRUE);
    g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    if (g_file_get_contents (skip_file, &why, NULL, NULL))
      {
        g_test_skip (why);
        return;
      }
    g_test_trap_assert_stdout ("*OK: link*");
  }
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/discovery/util/private-addresses", test_private_addresses);
  g_test_add_func ("/filer/discovery/util/mapped-addresses", test_mapped_addresses);
  g_test_add_func ("/filer/discovery/util/host-port", test_host_port);
  g_test_add_func ("/filer/discovery/util/local-addresses", test_local_addresses);
  g_test_add_func ("/filer/discovery/util/local-addresses-namespace", test_local_addresses_namespace);
  g_test_add_func ("/filer/discovery/util/link-network", test_link_network);
  g_test_add_func ("/filer/discovery/util/device-id-persists", test_device_id_persists);
  g_test_add_func ("/filer/discovery/util/device-ephemeral", test_device_ephemeral);

  return g_test_run ();
}
