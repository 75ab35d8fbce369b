/* filer-session.h: this app on the network: discovery, hosting, transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-device.h"
#include "filer-discovery-client.h"
#include "filer-nat-client.h"
#include "filer-transfer-service.h"

G_BEGIN_DECLS

/* How long the app keeps looking before it hosts the server itself, and
 * how often a hosting app checks for another server on the LAN. */
#define FILER_SESSION_HOST_AFTER_MISSES   2
#define FILER_SESSION_HOST_JITTER_MS      1500
#define FILER_SESSION_FIRST_YIELD_CHECK_S 2
#define FILER_SESSION_YIELD_CHECK_S       15
#define FILER_SESSION_YIELD_LISTEN_MS     1000

#define FILER_TYPE_SESSION (filer_session_get_type ())

G_DECLARE_FINAL_TYPE (FilerSession, filer_session, FILER, SESSION, GObject)

FilerSession         *filer_session_new                (FilerDevice        *device,
                                                        const char         *download_dir);
gboolean              filer_session_start              (FilerSession       *self,
                                                        GError            **error);
void                  filer_session_stop               (FilerSession       *self);

FilerDevice          *filer_session_get_device         (FilerSession       *self);
FilerDiscoveryClient *filer_session_get_client         (FilerSession       *self);
GListModel           *filer_session_get_peers          (FilerSession       *self);
FilerTransferService *filer_session_get_transfer_service (FilerSession     *self);
GListModel           *filer_session_get_transfers      (FilerSession       *self);
void                  filer_session_send_async         (FilerSession       *self,
                                                        FilerPeer          *peer,
                                                        const char * const *paths,
                                                        GCancellable       *cancellable,
                                                        GAsyncReadyCallback callback,
                                                        gpointer            user_data);
FilerTransfer        *filer_session_send_finish        (FilerSession       *self,
                                                        GAsyncResult       *result,
                                                        GError            **error);
FilerNatClient       *filer_session_get_nat_client     (FilerSession       *self);
const char           *filer_session_get_local_address  (FilerSession       *self);
void                  filer_session_set_local_address  (FilerSession       *self,
                                                        const char         *address);
void                  filer_session_set_device_name    (FilerSession       *self,
                                                        const char         *name);

const char           *filer_session_get_server         (FilerSession       *self);
void                  filer_session_set_server         (FilerSession       *self,
                                                        const char         *server);
const char           *filer_session_get_room           (FilerSession       *self);
void                  filer_session_set_room           (FilerSession       *self,
                                                        const char         *room);
gboolean              filer_session_get_allow_hosting  (FilerSession       *self);
void                  filer_session_set_allow_hosting  (FilerSession       *self,
                                                        gboolean            allow_hosting);
guint                 filer_session_get_discovery_port (FilerSession       *self);
void                  filer_session_set_discovery_port (FilerSession       *self,
                                                        guint               port);
const char * const   *filer_session_get_probe_targets  (FilerSession       *self);
void                  filer_session_set_probe_targets  (FilerSession       *self,
                                                        const char * const *targets);
const char           *filer_session_get_bind_address   (FilerSession       *self);
void                  filer_session_set_bind_address   (FilerSession       *self,
                                                        const char         *address);
gboolean              filer_session_get_hosting        (FilerSession       *self);

G_END_DECLS
