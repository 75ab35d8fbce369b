/* filer-transfer.h: one transfer, as a view binds to it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-transfer-error.h"
#include "filer-transfer-file.h"

G_BEGIN_DECLS

/**
 * FilerTransferDirection:
 * @FILER_TRANSFER_DIRECTION_SEND: we send files to the peer
 * @FILER_TRANSFER_DIRECTION_RECEIVE: the peer sends files to us
 */
typedef enum
{
  FILER_TRANSFER_DIRECTION_SEND,
  FILER_TRANSFER_DIRECTION_RECEIVE,
} FilerTransferDirection;

/**
 * FilerTransferState:
 * @FILER_TRANSFER_STATE_CONNECTING: reaching the peer and checking it is
 *   the device we meant (sender), or waiting for its offer (receiver)
 * @FILER_TRANSFER_STATE_WAITING_FOR_ANSWER: the offer is out; the receiver
 *   decides (on the receiving side: call filer_transfer_accept() or
 *   filer_transfer_decline())
 * @FILER_TRANSFER_STATE_TRANSFERRING: data flows
 * @FILER_TRANSFER_STATE_COMPLETED: every accepted file was verified (a
 *   transfer where some file failed ends in FAILED)
 * @FILER_TRANSFER_STATE_DECLINED: the receiver declined (see error-message)
 * @FILER_TRANSFER_STATE_CANCELLED: one side cancelled
 * @FILER_TRANSFER_STATE_FAILED: see error-message
 *
 * The last four are final: a transfer never leaves them.
 */
typedef enum
{
  FILER_TRANSFER_STATE_CONNECTING,
  FILER_TRANSFER_STATE_WAITING_FOR_ANSWER,
  FILER_TRANSFER_STATE_TRANSFERRING,
  FILER_TRANSFER_STATE_COMPLETED,
  FILER_TRANSFER_STATE_DECLINED,
  FILER_TRANSFER_STATE_CANCELLED,
  FILER_TRANSFER_STATE_FAILED,
} FilerTransferState;

#define FILER_TYPE_TRANSFER (filer_transfer_get_type ())

G_DECLARE_FINAL_TYPE (FilerTransfer, filer_transfer, FILER, TRANSFER, GObject)

const char             *filer_transfer_get_id            (FilerTransfer         *self);
FilerTransferDirection  filer_transfer_get_direction     (FilerTransfer         *self);
FilerTransferState      filer_transfer_get_state         (FilerTransfer         *self);
gboolean                filer_transfer_is_finished       (FilerTransfer         *self);
const char             *filer_transfer_get_peer_id       (FilerTransfer         *self);
const char             *filer_transfer_get_peer_name     (FilerTransfer         *self);
const char             *filer_transfer_get_path          (FilerTransfer         *self);
GListModel             *filer_transfer_get_files         (FilerTransfer         *self);
guint                   filer_transfer_get_n_files       (FilerTransfer         *self);
FilerTransferFile      *filer_transfer_get_file          (FilerTransfer         *self,
                                                          guint                  index);
guint                   filer_transfer_get_files_done    (FilerTransfer         *self);
guint                   filer_transfer_get_files_failed  (FilerTransfer         *self);
const char             *filer_transfer_get_current_file  (FilerTransfer         *self);
guint64                 filer_transfer_get_bytes_done    (FilerTransfer         *self);
guint64                 filer_transfer_get_bytes_total   (FilerTransfer         *self);
guint64                 filer_transfer_get_bytes_resumed (FilerTransfer         *self);
guint64                 filer_transfer_get_bytes_sent    (FilerTransfer         *self);
double                  filer_transfer_get_rate          (FilerTransfer         *self);
gint64                  filer_transfer_get_time_left     (FilerTransfer         *self);
double                  filer_transfer_get_elapsed       (FilerTransfer         *self);
const char             *filer_transfer_get_error_message (FilerTransfer         *self);
const GError           *filer_transfer_get_error         (FilerTransfer         *self);

void                    filer_transfer_accept            (FilerTransfer         *self,
                                                          const char * const    *paths);
void                    filer_transfer_decline           (FilerTransfer         *self,
                                                          const char            *reason);
void                    filer_transfer_cancel            (FilerTransfer         *self);

G_END_DECLS
