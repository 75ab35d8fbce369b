/* test-gui-i18n.c: the app speaks Chinese under LANGUAGE=zh_CN
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <locale.h>

#include "filer-gui-test-util.h"
#include "filer-offer-dialog.h"
#include "filer-resources.h"
#include "filer-test-util.h"
#include "filer-window.h"

static void
test_window_in_chinese (void)
{
  FilerWindow *window = g_object_new (FILER_TYPE_WINDOW, NULL);
  AdwStatusPage *status_page;

  gtk_window_present (GTK_WINDOW (window));
  filer_gui_test_settle (50);

  /* A template string, translated by GtkBuilder... */
  status_page = ADW_STATUS_PAGE (filer_gui_test_find (GTK_WIDGET (window), ADW_TYPE_STATUS_PAGE));
  g_assert_cmpstr (adw_status_page_get_title (status_page), ==, "正在寻找设备…");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Filer 文件传输");

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_plurals_in_chinese (void)
{
  const char *names[] = { "报告.pdf", "照片.jpg", NULL };
  GtkWidget *dialog;

  /* ...and a C string with a plural form. */
  dialog = filer_offer_dialog_new (NULL, "小明的电脑", names, 2048);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==, "接收文件？");
  g_assert_cmpstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "小明的电脑 想给你发送 2 个文件（2.0\302\240kB）。");
  gtk_window_destroy (GTK_WINDOW (dialog));
}

int
main (int   argc,
      char *argv[])
{
  const char *localedir = g_getenv ("FILER_LOCALEDIR");

  /* glibc ignores LANGUAGE in the "C" locale: C.UTF-8 is always there. */
  g_setenv ("LANG", "C.UTF-8", TRUE);
  g_unsetenv ("LC_ALL");
  g_unsetenv ("LC_MESSAGES");
  g_setenv ("LANGUAGE", "zh_CN", TRUE);
  setlocale (LC_ALL, "");

  if (localedir == NULL)
    localedir = LOCALEDIR;
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!filer_gui_test_init (&argc, &argv))
    return filer_gui_test_skip_all ("no display");

  (void)filer_get_resource ();

  g_test_add_func ("/filer/gui/i18n/window", test_window_in_chinese);
  g_test_add_func ("/filer/gui/i18n/plurals", test_plurals_in_chinese);

  return g_test_run ();
}
