/* filer-cli-receive.c: the "receive" subcommand (not built yet)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "filer-cli.h"

int
filer_cli_receive (int    argc,
              char **argv)
{
  fprintf (stderr, "filer-cli: %s\n", _("“receive” is not built yet"));
  return 1;
}
