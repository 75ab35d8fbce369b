/* filer-cli-peers.c: the "peers" subcommand
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>

#include "filer-cli.h"
#include "filer-cli-json.h"
#include "filer-cli-options.h"
#include "libfiler.h"

/* Output, one line per peer or event:
 *
 *   text:  NAME<TAB>KIND<TAB>lan|remote<TAB>ID           (the list)
 *          + NAME<TAB>KIND<TAB>lan|remote<TAB>ID         (--watch: joined)
 *          - NAME<TAB>KIND<TAB>lan|remote<TAB>ID         (--watch: left)
 *   json:  {"event":"peer"|"joined"|"left", "id":…, "name":…, "kind":…,
 *           "network":"lan"|"remote", "public_address":…,
 *           "addresses":[…], "port":N}
 *          {"event":"offline","error":…} / {"event":"online"} (--watch)
 */

typedef struct
{
  gboolean   json;
  gboolean   was_offline;
  GMainLoop *loop;
} Peers;

static const char *
network_name (FilerPeer *peer)
{
  return filer_peer_get_network (peer) == FILER_PEER_NETWORK_REMOTE ? "remote" : "lan";
}

static void
print_peer (Peers      *peers,
            const char *event,
            FilerPeer  *peer)
{
  if (peers->json)
    {
      g_autoptr(JsonBuilder) builder = filer_cli_json_begin (event);
      const char * const *addresses = filer_peer_get_addresses (peer);
      filer_cli_json_string (builder, "id", filer_peer_get_id (peer));
      filer_cli_json_string (builder, "name", filer_peer_get_name (peer));
      filer_cli_json_string (builder, "kind", filer_peer_get_kind (peer));
      filer_cli_json_string (builder, "network", network_name (peer));
      filer_cli_json_string (builder, "public_address", filer_peer_get_public_address (peer));
      json_builder_set_member_name (builder, "addresses");
      json_builder_begin_array (builder);
      for (guint i = 0; addresses[i]; i++)
        json_builder_add_string_value (builder, addresses[i]);
      json_builder_end_array (builder);
      filer_cli_json_int (builder, "port", filer_peer_get_port (peer));
      filer_cli_json_emit (builder);
      return;
    }

  printf ("%s%s\t%s\t%s\t%s\n",
          g_str_equal (event, "joined") ? "+ " : g_str_equal (event, "left") ? "- " : "",
          filer_peer_get_name (peer), filer_peer_get_kind (peer),
          network_name (peer), filer_peer_get_id (peer));
  fflush (stdout);
}

static void
peer_joined_cb (FilerDiscoveryClient *client,
                FilerPeer            *peer,
                Peers                *peers)
{
  print_peer (peers, "joined", peer);
}

static void
peer_left_cb (FilerDiscoveryClient *client,
              FilerPeer            *peer,
              Peers                *peers)
{
  print_peer (peers, "left", peer);
}

static void
state_changed_cb (FilerDiscoveryClient *client,
                  GParamSpec           *pspec,
                  Peers                *peers)
{
  FilerDiscoveryState state = filer_discovery_client_get_state (client);
  const GError *error = filer_discovery_client_get_error (client);

  if (state == FILER_DISCOVERY_STATE_OFFLINE && !peers->was_offline)
    {
      peers->was_offline = TRUE;

      if (peers->json)
        {
          g_autoptr(JsonBuilder) builder = filer_cli_json_begin ("offline");
          filer_cli_json_string (builder, "error", error ? error->message : "");
          filer_cli_json_emit (builder);
        }
      else
        fprintf (stderr, "filer-cli: %s; %s\n",
                 error ? error->message : _("offline"), _("reconnecting…"));
    }
  else if (state == FILER_DISCOVERY_STATE_ONLINE && peers->was_offline)
    {
      peers->was_offline = FALSE;

      if (peers->json)
        {
          g_autoptr(JsonBuilder) builder = filer_cli_json_begin ("online");
          filer_cli_json_emit (builder);
        }
      else
        fprintf (stderr, "filer-cli: %s\n", _("back online"));
    }
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
filer_cli_peers (int    argc,
                 char **argv)
{
  g_auto(FilerCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(FilerDiscoveryClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  gboolean watch = FALSE;
  GListModel *list;
  Peers peers = { 0 };
  const GOptionEntry entries[] = {
    { "watch", 'w', 0, G_OPTION_ARG_NONE, &watch,
      N_("Keep running and print every join and leave"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("— list the peers that are online"));
  g_option_context_set_help_enabled (context, TRUE);
  filer_cli_options_add_entries (&options, context);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!filer_cli_options_parse (&options, context, &argc, &argv))
    return 2;

  if (argc > 1)
    {
      filer_cli_fail (_("unexpected argument “%s”"), argv[1]);
      return 2;
    }

  client = filer_cli_options_create_client (&options, FALSE, &error);
  if (client == NULL || !filer_cli_connect (client, &error))
    return filer_cli_fail ("%s", error->message);

  peers.json = options.json;

  list = filer_discovery_client_get_peers (client);
  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (list, i);

      print_peer (&peers, "peer", peer);
    }

  if (!watch)
    return 0;

  g_signal_connect (client, "peer-joined", G_CALLBACK (peer_joined_cb), &peers);
  g_signal_connect (client, "peer-left", G_CALLBACK (peer_left_cb), &peers);
  g_signal_connect (client, "notify::state", G_CALLBACK (state_changed_cb), &peers);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_main_loop_run (loop);

  g_signal_handlers_disconnect_by_data (client, &peers);
  return 0;
}
