/* filer-cli-peers.c: the "peers" subcommand (not built yet)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "filer-cli.h"

int
filer_cli_peers (int    argc,
              char **argv)
{
  fprintf (stderr, "filer-cli: %s\n", _("“peers” is not built yet"));
  return 1;
}
