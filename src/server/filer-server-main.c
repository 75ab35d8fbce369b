/* filer-server-main.c: the discovery server daemon
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "libfiler.h"

static gboolean
quit_cb (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* Every peer is a socket: take all the descriptors the hard limit
 * allows instead of the usual soft 1024. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(FilerServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bind_address = NULL;
  g_autofree char *key_dir = NULL;
  g_autoptr(FilerIdentity) identity = NULL;
  int port = FILER_DISCOVERY_DEFAULT_PORT;
  double idle_timeout = FILER_SERVER_DEFAULT_IDLE_TIMEOUT_MS / 1000.0;
  int max_per_address = FILER_SERVER_DEFAULT_MAX_PER_ADDRESS;
  gboolean loopback_is_public = FALSE;
  gboolean no_rendezvous = FALSE;
  /* NAT traversal (rendezvous and relay, docs/protocol.md §4) */
  g_autoptr(FilerRendezvousServer) rendezvous = NULL;
  gint64 relay_max_bytes = FILER_RENDEZVOUS_DEFAULT_RELAY_MAX_BYTES;
  gint64 relay_max_rate = FILER_RENDEZVOUS_DEFAULT_RELAY_MAX_RATE;
  const char *bound;
  GOptionEntry entries[] = {
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &bind_address,
      "IP address to listen on (default 0.0.0.0)", "ADDR" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port,
      "TCP and UDP port (default 47800; 0 picks a free one)", "PORT" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &idle_timeout,
      "Drop a client silent for this long (default 15)", "SECONDS" },
    { "max-per-address", 0, 0, G_OPTION_ARG_INT, &max_per_address,
      "Connections allowed from one source address (default 32; 0 = no limit)", "N" },
    { "key-dir", 0, 0, G_OPTION_ARG_FILENAME, &key_dir,
      "Where the server's key lives (default $XDG_CONFIG_HOME/filer-server)", "DIR" },
    { "loopback-is-public", 0, 0, G_OPTION_ARG_NONE, &loopback_is_public,
      "For tests: every 127.x source address is its own network", NULL },
    { "no-rendezvous", 0, 0, G_OPTION_ARG_NONE, &no_rendezvous,
      "Do not serve NAT rendezvous and relay (nat-* datagrams)", NULL },
    { "relay-max-bytes", 0, 0, G_OPTION_ARG_INT64, &relay_max_bytes,
      "Bytes one relayed session may carry (default 8 GiB)", "BYTES" },
    { "relay-max-rate", 0, 0, G_OPTION_ARG_INT64, &relay_max_rate,
      "Bytes per second one relayed session may carry (default 32 MiB)", "BYTES" },
    { NULL }
  };

  signal (SIGPIPE, SIG_IGN);
  setlocale (LC_ALL, "");

  context = g_option_context_new ("— the Filer discovery server");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "filer-server: %s\n", error->message);
      return 2;
    }

  if (port < 0 || port > G_MAXUINT16 || idle_timeout < 0.1 || idle_timeout > 86400 ||
      max_per_address < 0 || relay_max_bytes < 0 || relay_max_rate <= 0)
    {
      fprintf (stderr, "filer-server: an option is out of range\n");
      return 2;
    }

  raise_fd_limit ();

  /* The server's key: clients that pin its id or remember it from a
   * LAN probe refuse a server whose key changed, so it must survive a
   * restart (docs/protocol.md §2.1). */
  if (key_dir == NULL)
    key_dir = g_build_filename (g_get_user_config_dir (), "filer-server", NULL);
  identity = filer_identity_load (key_dir, &error);
  if (identity == NULL)
    {
      fprintf (stderr, "filer-server: cannot load or make the key in %s: %s\n",
               key_dir, error->message);
      return 1;
    }

  server = filer_server_new ();
  filer_server_set_identity (server, identity);
  filer_server_set_bind_address (server, bind_address ? bind_address : "0.0.0.0");
  filer_server_set_port (server, port);
  filer_server_set_idle_timeout (server, (guint)(idle_timeout * 1000));
  filer_server_set_max_per_address (server, max_per_address);
  filer_server_set_loopback_is_public (server, loopback_is_public);

  if (!filer_server_start (server, &error))
    {
      fprintf (stderr, "filer-server: cannot listen: %s\n", error->message);
      return 1;
    }

  /* NAT traversal: rendezvous on the same UDP port, a second port for
   * telling symmetric NATs, and the relay. */
  if (!no_rendezvous)
    {
      rendezvous = filer_rendezvous_server_new ();
      filer_rendezvous_server_set_relay_limits (rendezvous, relay_max_bytes, relay_max_rate);
    }
  if (rendezvous != NULL && !filer_rendezvous_server_attach (rendezvous, server, &error))
    {
      fprintf (stderr, "filer-server: cannot open the rendezvous port: %s\n", error->message);
      return 1;
    }

  /* One line, read by scripts and tests: the address, then the id that
   * clients can pin ("--server HOST:PORT#ID"). */
  bound = filer_server_get_bind_address (server);
  if (strchr (bound, ':') != NULL)
    printf ("filer-server listening on [%s]:%u id %s\n", bound, filer_server_get_port (server),
            filer_server_get_id (server));
  else
    printf ("filer-server listening on %s:%u id %s\n", bound, filer_server_get_port (server),
            filer_server_get_id (server));
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_main_loop_run (loop);

  filer_server_stop (server);
  return 0;
}
