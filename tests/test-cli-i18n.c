/* test-cli-i18n.c: filer-cli speaks Chinese under LANGUAGE=zh_CN
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "filer-test-util.h"

static char *
run_cli_stderr (const char *language,
                int        *status)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  char *err = NULL;

  /* glibc ignores LANGUAGE in the "C" locale; C.UTF-8 always exists. */
  g_subprocess_launcher_unsetenv (launcher, "LC_ALL");
  g_subprocess_launcher_unsetenv (launcher, "LC_MESSAGES");
  g_subprocess_launcher_setenv (launcher, "LANG", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", language, TRUE);

  /* "send" without --to fails before it touches the network. */
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("FILER_CLI"), "send", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  *status = g_subprocess_get_exit_status (process);

  return err;
}

static void
test_chinese_error (void)
{
  int status;
  g_autofree char *english = run_cli_stderr ("en", &status);
  g_autofree char *chinese = NULL;

  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (english, "send needs --to"));

  chinese = run_cli_stderr ("zh_CN", &status);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (chinese, "send 需要 --to"));
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  if (g_getenv ("FILER_CLI") == NULL || g_getenv ("FILER_LOCALEDIR") == NULL)
    g_error ("FILER_CLI and FILER_LOCALEDIR must be set: run the tests through meson test");

  g_test_add_func ("/filer/cli/i18n/chinese-error", test_chinese_error);

  return g_test_run ();
}
