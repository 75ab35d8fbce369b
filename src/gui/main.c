/* main.c: the Filer application
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>

#include "filer-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(FilerApplication) app = NULL;

  signal (SIGPIPE, SIG_IGN);
  setlocale (LC_ALL, "");
  /* FILER_LOCALEDIR lets tools/run-app use the translations in the
   * build tree before they are installed. */
  bindtextdomain (GETTEXT_PACKAGE,
                  g_getenv ("FILER_LOCALEDIR") ? g_getenv ("FILER_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = filer_application_new (G_APPLICATION_DEFAULT_FLAGS);

  return g_application_run (G_APPLICATION (app), argc, argv);
}
