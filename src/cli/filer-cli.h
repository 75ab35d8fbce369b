/* filer-cli.h: the subcommands of filer-cli
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each subcommand parses its own options from argv (argv[0] is the
 * subcommand's name) and returns the process exit status. Errors are
 * printed as one line on stderr, prefixed with "filer-cli: ".
 */
int filer_cli_peers   (int argc, char **argv);
int filer_cli_send    (int argc, char **argv);
int filer_cli_receive (int argc, char **argv);
int filer_cli_verify  (int argc, char **argv);
int filer_cli_room    (int argc, char **argv);

G_END_DECLS
