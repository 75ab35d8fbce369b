/* filer-test-util.h: what every Filer test program shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "libfiler.h"

G_BEGIN_DECLS

typedef gboolean (*FilerTestCondition) (gpointer user_data);

/* g_test_init() with isolated XDG dirs, plus a process-wide backstop:
 * a test program still running after FILER_TEST_BACKSTOP seconds aborts,
 * so CI never hangs even when a test forgets its own watchdog. */
void     filer_test_init        (int                 *argc,
                                 char              ***argv);

/* $FILER_TEST_TIMEOUT_MULTIPLIER (1 to 20; 1 when unset): the sanitizer
 * run's factor for every watchdog and the backstop. */
guint    filer_test_timeout_multiplier (void);

/* Spins the thread-default main context until @condition returns TRUE,
 * failing the test if it is still FALSE after @timeout_ms (times the
 * multiplier): the watchdog every main-loop test uses instead of
 * g_main_loop_run(). */
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
const char      *filer_test_server_get_id      (FilerTestServer *server);
const char      *filer_test_server_get_address (FilerTestServer    *server);
/* filer-server's ready line: "filer-server listening on 127.0.0.1:PORT
 * id SERVERID". FALSE if @line (may be NULL) is not one. */
gboolean         filer_test_parse_listening_line (const char  *line,
                                                  guint       *port,
                                                  char       **id);

/* The @p quantile (0 to 1) of @values (doubles; sorts them); NAN if
 * there are none. */
double           filer_test_percentile          (GArray      *values,
                                                 double       p);

/* The resident memory (VmRSS) of process @pid in KiB, or -1. */
long             filer_test_process_rss_kib    (GPid                pid);
GBytes          *filer_test_capture_client_hello (void);
GBytes          *filer_test_openssl_client_hello (void);

/* The server's resident memory now and at its peak (VmRSS and VmHWM
 * from /proc), in KiB. */
void             filer_test_server_get_memory  (FilerTestServer    *server,
                                                guint64            *rss_kib,
                                                guint64            *peak_kib);
/* SIGKILL: the server vanishes without closing anything cleanly. */
void             filer_test_server_kill        (FilerTestServer    *server);
/* SIGTERM, reaps the process and frees @server. */
void             filer_test_server_stop        (FilerTestServer    *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerTestServer, filer_test_server_stop)

/* A fresh device key (in memory), as every device has its own. */
FilerIdentity        *filer_test_identity_new (void);

/* A transfer service with its own fresh device key: its device id is
 * that key's, as on a real device. */
FilerTransferService *filer_test_service_new  (const char *name,
                                               const char *download_dir);

/* The peer a discovery server would list for @service: its id, name,
 * 127.0.0.1 and its listening port. */
FilerPeer            *filer_test_peer_for     (FilerTransferService *service);

/* Makes a device key in @dir (created), as a device's first start does,
 * for a peer process started with "--keys @dir"; returns its id. */
char                 *filer_test_make_keys    (const char *dir);

/* A TCP connection to 127.0.0.1:@port that has run TLS as @identity's
 * device, expecting @expected_peer_id's key (NULL: any key): the start
 * of every hand-made transfer client. Fails the test if the handshake
 * fails; the id the peer's key proves is in @proven_peer_id. */
GIOStream            *filer_test_connect_tls  (guint16        port,
                                               FilerIdentity *identity,
                                               const char    *expected_peer_id,
                                               char         **proven_peer_id);

FilerIdentity   *filer_test_identity           (const char         *label);
const char      *filer_test_id                 (const char         *label);
FilerDevice     *filer_test_device_new         (const char         *label,
                                                const char         *name,
                                                const char         *kind);
GIOStream       *filer_test_tls_client         (GSocketConnection  *connection,
                                                const char         *label,
                                                const char         *expected_server_id,
                                                GError            **error);

G_END_DECLS
