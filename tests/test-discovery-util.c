/* test-discovery-util.c: address helpers and the device identity
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

#include <string.h>

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
          g_assert_no_error (error);
          g_assert_cmpstr (host, ==, cases[i].host);
          g_assert_cmpuint (port, ==, cases[i].port);
        }
    }
}

static void
test_local_addresses (void)
{
  g_auto(GStrv) local = filer_net_get_local_addresses ();
  g_auto(GStrv) broadcast = filer_net_get_broadcast_addresses ();

  g_assert_nonnull (local);
  g_assert_nonnull (broadcast);
  for (guint i = 0; local[i]; i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (local[i]);

      g_assert_nonnull (address);
      g_assert_false (g_inet_address_get_is_loopback (address));
    }
  for (guint i = 0; broadcast[i]; i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (broadcast[i]);

      g_assert_nonnull (address);
      g_assert_cmpint (g_inet_address_get_family (address), ==, G_SOCKET_FAMILY_IPV4);
    }
}

static void
test_device_id_persists (void)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "filer", "device-id", NULL);
  g_autoptr(FilerDevice) first = NULL;
  g_autoptr(FilerDevice) second = NULL;
  g_autoptr(FilerDevice) third = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;

  first = filer_device_load_default (&error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (strlen (filer_device_get_id (first)), ==, 36);
  g_assert_nonnull (filer_device_get_name (first));
  g_assert_cmpstr (filer_device_get_name (first), !=, "");
  g_assert_nonnull (filer_device_get_kind (first));

  second = filer_device_load_default (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (filer_device_get_id (first), ==, filer_device_get_id (second));

  /* A damaged file is replaced by a fresh id, not trusted. */
  g_assert_true (g_file_set_contents (path, "x; rm -rf /\n", -1, NULL));
  third = filer_device_load_default (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (filer_device_get_id (third), !=, filer_device_get_id (first));
  g_assert_true (g_file_get_contents (path, &stored, NULL, NULL));
  g_assert_cmpstr (stored, ==, filer_device_get_id (third));
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
  g_test_add_func ("/filer/discovery/util/device-id-persists", test_device_id_persists);

  return g_test_run ();
}
