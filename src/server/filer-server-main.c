/* filer-server-main.c: the discovery server daemon (not built yet)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>

int
main (int   argc,
      char *argv[])
{
  signal (SIGPIPE, SIG_IGN);
  fprintf (stderr, "filer-server: not built yet\n");
  return 1;
}
