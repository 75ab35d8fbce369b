/* filer-cli-room.c: the "room" subcommand
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "filer-cli.h"
#include "filer-cli-json.h"
#include "filer-cli-options.h"
#include "libfiler.h"

/* filer-cli room new
 * filer-cli room check CODE
 *
 * "new" prints a room code nobody can guess (filer_room_code_generate():
 * 60 random bits, "7KQ2-M9XD-4TPB"), to give to the people who should
 * see this device from other networks (--room CODE on each). "check"
 * prints a typed code in its canonical form, or why it is refused
 * (exit status 2), as --room would.
 *
 *   text:  CODE
 *   json:  {"event":"room","code":CODE}
 */

int
filer_cli_room (int    argc,
                char **argv)
{
  g_auto(FilerCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;

  context = g_option_context_new (_("new | check CODE — make a room code, or check one"));
  filer_cli_options_add_entries (&options, context);
  if (!filer_cli_options_parse (&options, context, &argc, &argv))
    return 2;

  if (argc == 2 && strcmp (argv[1], "new") == 0)
    code = filer_room_code_generate ();
  else if (argc == 3 && strcmp (argv[1], "check") == 0)
    {
      code = filer_room_code_normalize (argv[2], &error);
      if (code == NULL)
        {
          filer_cli_fail ("%s", error->message);
          return 2;
        }
    }
  else
    {
      filer_cli_fail ("%s", _("room needs “new”, or “check” and a code"));
      return 2;
    }

  if (options.json)
    {
      JsonBuilder *builder = filer_cli_json_begin ("room");

      filer_cli_json_string (builder, "code", code);
      filer_cli_json_emit (builder);
    }
  else
    printf ("%s\n", code);

  return 0;
}
