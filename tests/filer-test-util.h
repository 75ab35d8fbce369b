/* filer-test-util.h: what every Filer test program shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef gboolean (*FilerTestCondition) (gpointer user_data);

/* g_test_init() with isolated XDG dirs, plus a process-wide backstop:
 * a test program still running after FILER_TEST_BACKSTOP seconds aborts,
 * so CI never hangs even when a test forgets its own watchdog. */
void     filer_test_init        (int                 *argc,
                                 char              ***argv);

/* Spins the thread-default main context until @condition returns TRUE,
 * failing the test if it is still FALSE after @timeout_ms: the watchdog
 * every main-loop test uses instead of g_main_loop_run(). */
void     filer_test_wait_until  (FilerTestCondition   condition,
                                 gpointer             user_data,
                                 guint                timeout_ms,
                                 const char          *what);

/* Waits for *@flag to become TRUE. */
void     filer_test_wait_for    (const gboolean      *flag,
                                 guint                timeout_ms,
                                 const char          *what);

/* Spins the main context for @ms milliseconds (to check that something
 * does NOT happen). */
void     filer_test_spin        (guint                ms);

G_END_DECLS
