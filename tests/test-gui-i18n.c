/* test-gui-i18n.c: the app speaks Chinese under LANGUAGE=zh_CN, and
 * picks the right plural form
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

static char *
offer_body (const char * const *names)
{
  GtkWidget *dialog = filer_offer_dialog_new (NULL, "小明的电脑", names, 2048);
  char *body = g_strdup (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)));

  gtk_window_destroy (GTK_WINDOW (dialog));
  return body;
}

/* Switches the messages to @language at run time (gettext reads
 * LANGUAGE on every call; setlocale makes it drop what it cached). */
/* The trust words and the code in Chinese: the offer dialog of a sender
 * not verified, and of a verified name under another key. */
static void
test_trust_in_chinese (void)
{
  const char *names[] = { "报告.pdf", NULL };
  GtkWidget *dialog = filer_offer_dialog_new (NULL, "小明的电脑", names, 2048);

  filer_offer_dialog_set_trust (FILER_OFFER_DIALOG (dialog), FILER_TRUST_UNVERIFIED, "123 456", NULL);
  g_assert_nonnull (filer_gui_test_find_label (dialog, "未验证"));
  g_assert_nonnull (filer_gui_test_find_label (dialog, "请确认 小明的电脑 显示的是相同的验证码。"));
  filer_offer_dialog_set_trust (FILER_OFFER_DIALOG (dialog), FILER_TRUST_KEY_CHANGED, "123 456", "小明的电脑");
  g_assert_nonnull (filer_gui_test_find_label (dialog, "密钥已更改——这不是您验证过的 小明的电脑"));
  gtk_window_present (GTK_WINDOW (dialog));
  filer_gui_test_settle (100);
  filer_gui_test_save_screenshot (dialog, NULL, "offer-key-changed-zh_CN");
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
speak (const char *language)
{
  g_setenv ("LANGUAGE", language, TRUE);
  setlocale (LC_ALL, "");
}

/* A C string with a plural form, for one file and for two. Chinese has
 * one form, so it only shows that the count is the right one; English
 * (no catalogue: gettext picks msgid or msgid_plural by n) is where a
 * wrong choice of form would show. */
static void
test_plurals (void)
{
  const char *one[] = { "报告.pdf", NULL };
  const char *two[] = { "报告.pdf", "照片.jpg", NULL };
  g_autofree char *zh_one = NULL;
  g_autofree char *zh_two = NULL;
  g_autofree char *en_one = NULL;
  g_autofree char *en_two = NULL;
  GtkWidget *dialog;

  dialog = filer_offer_dialog_new (NULL, "小明的电脑", two, 2048);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==, "接收文件？");
  gtk_window_destroy (GTK_WINDOW (dialog));

  zh_one = offer_body (one);
  zh_two = offer_body (two);
  g_assert_cmpstr (zh_one, ==, "小明的电脑 想给你发送 1 个文件（2.0\302\240kB）。");
  g_assert_cmpstr (zh_two, ==, "小明的电脑 想给你发送 2 个文件（2.0\302\240kB）。");

  speak ("en");
  en_one = offer_body (one);
  en_two = offer_body (two);
  speak ("zh_CN");
  g_assert_cmpstr (en_one, ==, "小明的电脑 wants to send you 1 file (2.0\302\240kB).");
  g_assert_cmpstr (en_two, ==, "小明的电脑 wants to send you 2 files (2.0\302\240kB).");
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
  g_test_add_func ("/filer/gui/i18n/plurals", test_plurals);
  g_test_add_func ("/filer/gui/i18n/trust", test_trust_in_chinese);

  return g_test_run ();
}
