/* filer-cli-options.c: the options every filer-cli subcommand shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-cli-options.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "libfiler.h"

void
filer_cli_options_add_entries (FilerCliOptions *options,
                               GOptionContext  *context)
{
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &options->server,
      N_("The discovery server (default: find it on the LAN)"), N_("HOST:PORT") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &options->name,
      N_("The name other peers see (default: this machine’s name)"), N_("NAME") },
    { "room", 'r', 0, G_OPTION_ARG_STRING, &options->room,
      N_("A room code, to see peers on other networks in the same room"), N_("CODE") },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &options->json,
      N_("Print one JSON object per line"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}

gboolean
filer_cli_options_parse (FilerCliOptions   *options,
                         GOptionContext    *context,
                         int               *argc,
                         char            ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      filer_cli_fail ("%s", error->message);
      return FALSE;
    }

  if (options->server != NULL)
    {
      g_autofree char *host = NULL;
      g_autofree char *server_id = NULL;
      guint16 port;

      if (!filer_net_parse_server_address (options->server, FILER_DISCOVERY_DEFAULT_PORT,
                                           &host, &port, &server_id, &error))
        {
          filer_cli_fail (_("--server: %s"), error->message);
          return FALSE;
        }
    }

  /* A room code too short to be safe is refused here, with the reason,
   * rather than joining no room in silence; a good one is taken in its
   * canonical form. */
  if (options->room != NULL && *options->room != '\0')
    {
      char *room = filer_room_code_normalize (options->room, &error);

      if (room == NULL)
        {
          filer_cli_fail (_("--room: %s (“filer-cli room new” makes a good one)"), error->message);
          return FALSE;
        }
      g_free (options->room);
      options->room = room;
    }

  if (options->name != NULL && *options->name == '\0')
    {
      filer_cli_fail ("%s", _("--name must not be empty"));
      return FALSE;
    }

  return TRUE;
}

FilerDiscoveryClient *
filer_cli_options_create_client (FilerCliOptions  *options,
                                 gboolean          persistent_id,
                                 GError          **error)
{
  g_autoptr(FilerDevice) device = NULL;
  FilerDiscoveryClient *client;
  const char *targets;

  if (persistent_id)
    {
      device = filer_device_load_default (error);
      if (device == NULL)
        return NULL;
      filer_device_set_name (device, options->name);
    }
  else
    {
      device = filer_device_new_ephemeral (options->name, NULL);
      if (device == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot make a device key");
          return NULL;
        }
    }

  client = filer_discovery_client_new (device);
  filer_discovery_client_set_server (client, options->server);
  filer_discovery_client_set_room (client, options->room);

  targets = g_getenv ("FILER_PROBE_TARGETS");
  if (targets != NULL && *targets != '\0')
    {
      g_auto(GStrv) list = g_strsplit (targets, ",", -1);

      filer_discovery_client_set_probe_targets (client, (const char * const *)list);
    }

  return client;
}

void
filer_cli_options_clear (FilerCliOptions *options)
{
  g_clear_pointer (&options->server, g_free);
  g_clear_pointer (&options->name, g_free);
  g_clear_pointer (&options->room, g_free);
}

typedef struct
{
  gboolean done;
} Wait;

static void
state_changed_cb (FilerDiscoveryClient *client,
                  GParamSpec           *pspec,
                  Wait                 *wait)
{
  FilerDiscoveryState state = filer_discovery_client_get_state (client);

  if (state == FILER_DISCOVERY_STATE_ONLINE ||
      (state == FILER_DISCOVERY_STATE_OFFLINE && filer_discovery_client_get_error (client)))
    wait->done = TRUE;
}

gboolean
filer_cli_connect (FilerDiscoveryClient  *client,
                   GError               **error)
{
  g_autoptr(GError) last_error = NULL;
  Wait wait = { FALSE };
  gulong handler;

  handler = g_signal_connect (client, "notify::state", G_CALLBACK (state_changed_cb), &wait);
  filer_discovery_client_start (client);
  state_changed_cb (client, NULL, &wait);

  /* Every attempt ends by itself (probe and connect have timeouts). */
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);

  g_signal_handler_disconnect (client, handler);

  if (filer_discovery_client_get_state (client) == FILER_DISCOVERY_STATE_ONLINE)
    return TRUE;

  last_error = filer_discovery_client_get_error (client)
               ? g_error_copy (filer_discovery_client_get_error (client)) : NULL;
  filer_discovery_client_stop (client);

  if (g_error_matches (last_error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND))
    g_set_error_literal (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND,
                         _("no discovery server found on the local network; "
                           "start filer-server or pass --server HOST:PORT"));
  else if (last_error != NULL)
    g_propagate_error (error, g_steal_pointer (&last_error));
  else
    g_set_error_literal (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_CLOSED,
                         _("could not reach the discovery server"));
  return FALSE;
}

gboolean
filer_cli_options_takes_value (const char *arg)
{
  static const char * const with_value[] = {
    "--server", "-s", "--name", "-n", "--room", "-r",
  };

  for (guint i = 0; i < G_N_ELEMENTS (with_value); i++)
    if (g_str_equal (arg, with_value[i]))
      return TRUE;

  return FALSE;
}

int
filer_cli_fail (const char *format,
                ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* One line, whatever the message holds. */
  g_strdelimit (message, "\r\n", ' ');
  fprintf (stderr, "filer-cli: %s\n", message);
  return 1;
}
