/* filer-test-util.c: what every Filer test program shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-test-util.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define FILER_TEST_BACKSTOP 300

static void
backstop_cb (int signum)
{
  static const char message[] = "Bail out! test program ran past its backstop\n";

  /* Only async-signal-safe calls here. */
  if (write (STDOUT_FILENO, message, sizeof message - 1) < 0)
    {
      /* Nothing more we can do. */
    }
  abort ();
}

void
filer_test_init (int    *argc,
                 char ***argv)
{
  const char *backstop = g_getenv ("FILER_TEST_BACKSTOP");

  signal (SIGPIPE, SIG_IGN);
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  signal (SIGALRM, backstop_cb);
  alarm (backstop ? atoi (backstop) : FILER_TEST_BACKSTOP);
}

typedef struct
{
  gboolean timed_out;
} Watchdog;

static gboolean
watchdog_cb (gpointer user_data)
{
  Watchdog *watchdog = user_data;

  watchdog->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
filer_test_wait_until (FilerTestCondition  condition,
                       gpointer            user_data,
                       guint               timeout_ms,
                       const char         *what)
{
  GMainContext *context = g_main_context_get_thread_default ();
  Watchdog watchdog = { FALSE };
  g_autoptr(GSource) source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, watchdog_cb, &watchdog, NULL);
  g_source_attach (source, context);

  while (!condition (user_data) && !watchdog.timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (source);

  if (!condition (user_data))
    g_error ("watchdog: gave up after %u ms waiting for %s", timeout_ms, what);
}

static gboolean
flag_is_set (gpointer user_data)
{
  const gboolean *flag = user_data;

  return *flag;
}

void
filer_test_wait_for (const gboolean *flag,
                     guint           timeout_ms,
                     const char     *what)
{
  filer_test_wait_until (flag_is_set, (gpointer)flag, timeout_ms, what);
}

void
filer_test_spin (guint ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  Watchdog watchdog = { FALSE };
  g_autoptr(GSource) source = g_timeout_source_new (ms);

  g_source_set_callback (source, watchdog_cb, &watchdog, NULL);
  g_source_attach (source, context);

  while (!watchdog.timed_out)
    g_main_context_iteration (context, TRUE);
}
