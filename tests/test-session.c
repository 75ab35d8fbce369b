/* test-session.c: zero setup: who hosts the discovery server
 *
 * Two sessions (two apps, as far as the network can tell) share a
 * discovery port of their own on loopback; the rule in filer-session.c
 * must leave exactly one hosting and both seeing each other.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "libfiler.h"
#include "filer-test-util.h"

#define TIMEOUT_MS 30000

typedef struct
{
  FilerSession *a;
  FilerSession *b;
  char         *download_dir;
  guint         port;
} Fixture;

static FilerSession *
session_new (Fixture    *fixture,
             const char *name)
{
  g_autoptr(FilerDevice) device = filer_device_new_ephemeral (name, "desktop");
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", fixture->port);
  const char *targets[] = { target, NULL };
  FilerSession *session = filer_session_new (device, fixture->download_dir);

  /* Loopback only, on our own port: never the LAN. */
  filer_session_set_discovery_port (session, fixture->port);
  filer_session_set_probe_targets (session, targets);
  filer_session_set_bind_address (session, "127.0.0.1");
  filer_session_set_local_address (session, "127.0.0.1");
  return session;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->download_dir = g_dir_make_tmp ("filer-session-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->port = filer_test_free_fixed_port ();
  fixture->a = session_new (fixture, "Ada");
  fixture->b = session_new (fixture, "Ben");
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  if (fixture->a != NULL)
    filer_session_stop (fixture->a);
  if (fixture->b != NULL)
    filer_session_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_rmdir (fixture->download_dir);
  g_free (fixture->download_dir);
}

static gboolean
sees (FilerSession *session,
      const char   *name)
{
  GListModel *peers = filer_session_get_peers (session);
  guint n = g_list_model_get_n_items (peers);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);

      if (g_strcmp0 (filer_peer_get_name (peer), name) == 0)
        return TRUE;
    }

  return FALSE;
}

static gboolean
one_host_and_both_see_each_other (gpointer data)
{
  Fixture *fixture = data;

  return (filer_session_get_hosting (fixture->a) != filer_session_get_hosting (fixture->b)) &&
         sees (fixture->a, "Ben") && sees (fixture->b, "Ada");
}

typedef struct
{
  gboolean            done;
  GInetSocketAddress *address;
  char               *server_id;
  GError             *error;
} Found;

static void
found_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Found *found = user_data;

  found->address = filer_probe_find_finish (FILER_PROBE (object), result, &found->server_id,
                                            &found->error);
  found->done = TRUE;
}

static void
test_started_together (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  filer_session_start (fixture->a, &error);
  g_assert_no_error (error);
  filer_session_start (fixture->b, &error);
  g_assert_no_error (error);

  filer_test_wait_until (one_host_and_both_see_each_other, fixture, TIMEOUT_MS,
                         "one host, and each app seeing the other");

  /* And it stays that way: nobody starts a second server later. */
  filer_test_spin (3000);
  g_assert_true (one_host_and_both_see_each_other (fixture));

  /* The hosted server's key is the host's device key: its probe reply
   * names the host's device id (what the other apps remember). */
  {
    FilerSession *host = filer_session_get_hosting (fixture->a) ? fixture->a : fixture->b;
    g_autoptr(FilerProbe) probe = filer_probe_new ();
    g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", fixture->port);
    const char *targets[] = { target, NULL };
    Found found = { FALSE };

    filer_probe_set_targets (probe, targets);
    filer_probe_find_async (probe, NULL, found_cb, &found);
    filer_test_wait_for (&found.done, TIMEOUT_MS, "the probe reply");
    g_assert_no_error (found.error);
    g_assert_cmpstr (found.server_id, ==, filer_device_get_id (filer_session_get_device (host)));
    g_clear_object (&found.address);
    g_free (found.server_id);
  }
}

typedef struct
{
  FilerSession *survivor;
  FilerSession *newcomer;
} Takeover;

/* Whoever binds the port first hosts: the survivor or the newcomer. */
static gboolean
one_of_them_hosts (gpointer data)
{
  Takeover *t = data;
  const char *survivor = filer_device_get_name (filer_session_get_device (t->survivor));

  return filer_session_get_hosting (t->survivor) != filer_session_get_hosting (t->newcomer) &&
         sees (t->survivor, "Cy") && sees (t->newcomer, survivor);
}

static void
test_host_quits (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  FilerSession **host;
  Takeover takeover;

  filer_session_start (fixture->a, &error);
  g_assert_no_error (error);
  filer_session_start (fixture->b, &error);
  g_assert_no_error (error);
  filer_test_wait_until (one_host_and_both_see_each_other, fixture, TIMEOUT_MS, "one host");

  /* The host quits and a newcomer arrives: one of the two hosts now. */
  host = filer_session_get_hosting (fixture->a) ? &fixture->a : &fixture->b;
  takeover.survivor = host == &fixture->a ? fixture->b : fixture->a;
  filer_session_stop (*host);
  g_clear_object (host);

  *host = session_new (fixture, "Cy");
  takeover.newcomer = *host;
  filer_session_start (takeover.newcomer, &error);
  g_assert_no_error (error);

  filer_test_wait_until (one_of_them_hosts, &takeover, TIMEOUT_MS,
                         "a new host, and the survivor and the newcomer to see each other");
}

static gboolean
both_see_each_other (gpointer data)
{
  Fixture *fixture = data;

  return sees (fixture->a, "Ben") && sees (fixture->b, "Ada");
}

static void
test_configured_server_never_hosts (Fixture       *fixture,
                                    gconstpointer  data)
{
  g_autoptr(FilerTestServer) server = filer_test_server_start (NULL);
  g_autoptr(GError) error = NULL;

  filer_session_set_server (fixture->a, filer_test_server_get_address (server));
  filer_session_set_server (fixture->b, filer_test_server_get_address (server));
  filer_session_start (fixture->a, &error);
  g_assert_no_error (error);
  filer_session_start (fixture->b, &error);
  g_assert_no_error (error);

  filer_test_wait_until (both_see_each_other, fixture, TIMEOUT_MS, "both to see each other");

  /* Long enough for the hosting rule to have fired, were it active. */
  filer_test_spin (4000);
  g_assert_false (filer_session_get_hosting (fixture->a));
  g_assert_false (filer_session_get_hosting (fixture->b));
  g_assert_true (both_see_each_other (fixture));
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add ("/filer/session/started-together", Fixture, NULL,
              fixture_setup, test_started_together, fixture_teardown);
  g_test_add ("/filer/session/host-quits", Fixture, NULL,
              fixture_setup, test_host_quits, fixture_teardown);
  g_test_add ("/filer/session/configured-server-never-hosts", Fixture, NULL,
              fixture_setup, test_configured_server_never_hosts, fixture_teardown);

  return g_test_run ();
}
