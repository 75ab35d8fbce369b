/* filer-transfer-sender.h: the sending side of one transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-frame-connection.h"
#include "filer-transfer.h"

G_BEGIN_DECLS

#define FILER_TYPE_TRANSFER_SENDER (filer_transfer_sender_get_type ())

G_DECLARE_FINAL_TYPE (FilerTransferSender, filer_transfer_sender, FILER, TRANSFER_SENDER, GObject)

FilerTransferSender *filer_transfer_sender_new   (FilerFrameConnection *connection,
                                                  FilerTransfer        *transfer,
                                                  const char * const   *local_paths);
void                 filer_transfer_sender_start (FilerTransferSender  *self);

G_END_DECLS
