/* filer-transfer-service.h: our listener, our transfers, both directions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-identity.h"
#include "filer-peer.h"
#include "filer-transfer.h"
#include "filer-transfer-receiver.h"

G_BEGIN_DECLS

#define FILER_TYPE_TRANSFER_SERVICE (filer_transfer_service_get_type ())

G_DECLARE_FINAL_TYPE (FilerTransferService, filer_transfer_service, FILER, TRANSFER_SERVICE, GObject)

/**
 * FilerAutoAcceptFunc:
 * @service: the service
 * @transfer: an incoming transfer in state WAITING_FOR_ANSWER
 * @user_data: data given with the function
 *
 * The "trusted device" hook: return %TRUE to accept every file at once
 * (offer-received is then not emitted).
 */
typedef gboolean (*FilerAutoAcceptFunc) (FilerTransferService *service,
                                         FilerTransfer        *transfer,
                                         gpointer              user_data);

FilerTransferService *filer_transfer_service_new                (FilerIdentity         *identity,
                                                                 const char            *device_name,
                                                                 const char            *download_dir);
FilerIdentity        *filer_transfer_service_get_identity       (FilerTransferService  *self);
const char           *filer_transfer_service_get_device_id      (FilerTransferService  *self);
const char           *filer_transfer_service_get_device_name    (FilerTransferService  *self);
void                  filer_transfer_service_set_device_name    (FilerTransferService  *self,
                                                                 const char            *name);
const char           *filer_transfer_service_get_download_dir   (FilerTransferService  *self);
void                  filer_transfer_service_set_download_dir   (FilerTransferService  *self,
                                                                 const char            *download_dir);
gboolean              filer_transfer_service_get_accept_all     (FilerTransferService  *self);
void                  filer_transfer_service_set_accept_all     (FilerTransferService  *self,
                                                                 gboolean               accept_all);
void                  filer_transfer_service_set_auto_accept_func (FilerTransferService *self,
                                                                 FilerAutoAcceptFunc    func,
                                                                 gpointer               user_data,
                                                                 GDestroyNotify         destroy);
void                  filer_transfer_service_set_free_space_func (FilerTransferService *self,
                                                                 FilerFreeSpaceFunc     func,
                                                                 gpointer               user_data);
void                  filer_transfer_service_set_connect_timeout (FilerTransferService *self,
                                                                 guint                  timeout_ms);

gboolean              filer_transfer_service_listen             (FilerTransferService  *self,
                                                                 const char            *address,
                                                                 guint16                port,
                                                                 GError               **error);
guint16               filer_transfer_service_get_port           (FilerTransferService  *self);

GListModel           *filer_transfer_service_get_transfers      (FilerTransferService  *self);
void                  filer_transfer_service_clear_finished     (FilerTransferService  *self);

FilerTransfer        *filer_transfer_service_send               (FilerTransferService  *self,
                                                                 FilerPeer             *peer,
                                                                 const char * const    *local_paths);
FilerTransfer        *filer_transfer_service_send_over_connection (FilerTransferService  *self,
                                                                   FilerFrameConnection  *connection,
                                                                   const char            *peer_id,
                                                                   const char            *peer_name,
                                                                   const char            *path_name,
                                                                   const char * const    *local_paths);
FilerTransfer        *filer_transfer_service_send_over_stream   (FilerTransferService  *self,
                                                                 GIOStream             *stream,
                                                                 const char            *peer_id,
                                                                 const char            *peer_name,
                                                                 const char            *path_name,
                                                                 const char * const    *local_paths);
void                  filer_transfer_service_handle_stream      (FilerTransferService  *self,
                                                                 GIOStream             *stream,
                                                                 const char            *peer_id,
                                                                 const char            *path_name);

G_END_DECLS
