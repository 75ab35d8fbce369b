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

/* A loopback UDP port that was free a moment ago (where nothing answers). */
guint16  filer_test_free_udp_port (void);

/* A loopback port free for both TCP and UDP, below the kernel's
 * ephemeral range, for a test that binds it seconds later (a hosting
 * app): no socket another test opens with port 0 can take it meanwhile. */
guint16  filer_test_free_fixed_port (void);

/* A real filer-server process (the binary in $FILER_SERVER), listening
 * on 127.0.0.1. @args (NULL-terminated, may be NULL) are extra options;
 * "--port 0" is added unless they hold a --port. Blocks until the server
 * printed its listening line; fails the test if it does not. */
typedef struct _FilerTestServer FilerTestServer;

FilerTestServer *filer_test_server_start       (const char * const *args);
guint            filer_test_server_get_port    (FilerTestServer    *server);
/* "127.0.0.1:PORT", for FilerDiscoveryClient:server and --server. */
const char      *filer_test_server_get_address (FilerTestServer    *server);
/* SIGKILL: the server vanishes without closing anything cleanly. */
void             filer_test_server_kill        (FilerTestServer    *server);
/* SIGTERM, reaps the process and frees @server. */
void             filer_test_server_stop        (FilerTestServer    *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerTestServer, filer_test_server_stop)

G_END_DECLS
