/* filer-probe.h: finds discovery servers on the LAN by UDP probe
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define FILER_PROBE_DEFAULT_TIMEOUT_MS 1000
#define FILER_PROBE_DEFAULT_RESEND_MS  300
/* A collecting probe keeps at most this many servers: a LAN has one or
 * two; a flood of forged replies must not grow a list without end. */
#define FILER_PROBE_MAX_SERVERS        32

#define FILER_TYPE_PROBE (filer_probe_get_type ())

G_DECLARE_FINAL_TYPE (FilerProbe, filer_probe, FILER, PROBE, GObject)

FilerProbe         *filer_probe_new                (void);

const char * const *filer_probe_get_targets        (FilerProbe           *self);
void                filer_probe_set_targets        (FilerProbe           *self,
                                                    const char * const   *targets);
guint16             filer_probe_get_port           (FilerProbe           *self);
void                filer_probe_set_port           (FilerProbe           *self,
                                                    guint16               port);
char              **filer_probe_dup_send_targets   (FilerProbe           *self);
const char         *filer_probe_get_local_address  (FilerProbe           *self);
void                filer_probe_set_local_address  (FilerProbe           *self,
                                                    const char           *address);
guint               filer_probe_get_timeout        (FilerProbe           *self);
void                filer_probe_set_timeout        (FilerProbe           *self,
                                                    guint                 timeout_ms);
guint               filer_probe_get_resend         (FilerProbe           *self);
void                filer_probe_set_resend         (FilerProbe           *self,
                                                    guint                 resend_ms);
gboolean            filer_probe_get_skip_own       (FilerProbe           *self);
void                filer_probe_set_skip_own       (FilerProbe           *self,
                                                    gboolean              skip_own);

void                filer_probe_find_async         (FilerProbe           *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GInetSocketAddress *filer_probe_find_finish        (FilerProbe           *self,
                                                    GAsyncResult         *result,
                                                    char                **server_id,
                                                    GError              **error);
void                filer_probe_collect_async      (FilerProbe           *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray          *filer_probe_collect_finish     (FilerProbe           *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

G_END_DECLS
