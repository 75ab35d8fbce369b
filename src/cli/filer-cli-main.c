/* filer-cli-main.c: headless peers, send and receive
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "filer-cli.h"
#include "filer-cli-options.h"

typedef struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "peers",   filer_cli_peers,   N_("List the peers that are online") },
  { "send",    filer_cli_send,    N_("Send files or folders to a peer") },
  { "receive", filer_cli_receive, N_("Receive files from peers") },
  { "verify",  filer_cli_verify,  N_("Show the code to compare with a peer, and trust it") },
  { "room",    filer_cli_room,    N_("Make a room code that nobody can guess, or check one") },
};

static void
print_usage (FILE *stream)
{
  fprintf (stream, "%s\n\n", _("Usage: filer-cli [GLOBAL OPTIONS] COMMAND [OPTIONS]"));
  fprintf (stream, "%s\n", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (stream, "\n%s\n", _("Run “filer-cli COMMAND --help” for a command’s options."));
}

int
main (int   argc,
      char *argv[])
{
  signal (SIGPIPE, SIG_IGN);
  setlocale (LC_ALL, "");
  /* As in the app: FILER_LOCALEDIR points at the build tree's
   * translations before installing. */
  bindtextdomain (GETTEXT_PACKAGE,
                  g_getenv ("FILER_LOCALEDIR") ? g_getenv ("FILER_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Global options (--server, --name, --room, --json) may stand before
   * the command: find the first word that is not an option or an
   * option's value, move it to the front and hand every option to the
   * subcommand, which parses them all. */
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          print_usage (stdout);
          return 0;
        }

      if (strcmp (argv[i], "--") == 0)
        break;

      if (argv[i][0] == '-')
        {
          if (filer_cli_options_takes_value (argv[i]))
            i++;
          continue;
        }

      for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
        {
          if (strcmp (argv[i], commands[c].name) == 0)
            {
              g_autoptr(GPtrArray) args = g_ptr_array_new ();

              g_ptr_array_add (args, argv[i]);
              for (int j = 1; j < argc; j++)
                if (j != i)
                  g_ptr_array_add (args, argv[j]);
              g_ptr_array_add (args, NULL);

              return commands[c].run (args->len - 1, (char **)args->pdata);
            }
        }

      fprintf (stderr, "filer-cli: %s\n", _("unknown command; try “filer-cli --help”"));
      return 2;
    }

  fprintf (stderr, "filer-cli: %s\n", _("no command given; try “filer-cli --help”"));
  return 2;
}
