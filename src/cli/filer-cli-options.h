/* filer-cli-options.h: the options every filer-cli subcommand shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "libfiler.h"

G_BEGIN_DECLS

/* --server HOST:PORT, --name NAME, --room CODE, --json. Fill one with
 * filer_cli_options_add_entries() before g_option_context_parse(), then
 * build the discovery client with filer_cli_options_create_client().
 *
 * Without --server the client auto-finds the server on the LAN; the
 * environment variable FILER_PROBE_TARGETS ("IP:PORT,IP:PORT") replaces
 * the probe targets (tests use it so that they never broadcast). */
typedef struct
{
  char     *server;
  char     *name;
  char     *room;
  gboolean  json;
} FilerCliOptions;

void                  filer_cli_options_add_entries   (FilerCliOptions  *options,
                                                       GOptionContext   *context);
/* Parses argv with @context (which must hold the entries); on failure
 * prints the one-line error and returns FALSE (exit status 2). */
gboolean              filer_cli_options_parse         (FilerCliOptions  *options,
                                                       GOptionContext   *context,
                                                       int              *argc,
                                                       char           ***argv);
/* @persistent_id: TRUE registers with this machine's device id (what a
 * receiver needs), FALSE with a fresh random one (so that several CLIs
 * and the app can be online at once from one machine). */
FilerDiscoveryClient *filer_cli_options_create_client (FilerCliOptions  *options,
                                                       gboolean          persistent_id,
                                                       GError          **error);
void                  filer_cli_options_clear         (FilerCliOptions  *options);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FilerCliOptions, filer_cli_options_clear)

/* TRUE if @arg is a shared option that takes its value in the next
 * argument ("--server", "-s", …), for filer-cli-main.c's dispatch. */
gboolean              filer_cli_options_takes_value   (const char       *arg);

/* Starts @client and spins the main context until it is online (TRUE)
 * or its first attempt failed (FALSE, @error set). */
gboolean              filer_cli_connect               (FilerDiscoveryClient  *client,
                                                       GError               **error);

/* Prints "filer-cli: MESSAGE" on stderr; returns 1 for `return`. */
int                   filer_cli_fail                  (const char       *format,
                                                       ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS
