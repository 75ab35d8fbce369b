/* filer-transfer-receiver.h: the receiving side of one transfer
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

/**
 * FilerFreeSpaceFunc:
 * @dir_fd: the download folder
 * @free_bytes: (out): bytes an unprivileged user may still write there
 * @user_data: data given with the function
 *
 * Probes free space; tests replace the default (fstatvfs) to model a full
 * disk without one.
 *
 * Returns: %FALSE when it cannot tell (the check is then skipped)
 */
typedef gboolean (*FilerFreeSpaceFunc) (int       dir_fd,
                                        guint64  *free_bytes,
                                        gpointer  user_data);

gboolean filer_transfer_default_free_space (int       dir_fd,
                                            guint64  *free_bytes,
                                            gpointer  user_data);

#define FILER_TYPE_TRANSFER_RECEIVER (filer_transfer_receiver_get_type ())

G_DECLARE_FINAL_TYPE (FilerTransferReceiver, filer_transfer_receiver, FILER, TRANSFER_RECEIVER, GObject)

FilerTransferReceiver *filer_transfer_receiver_new   (FilerFrameConnection *connection,
                                                      FilerTransfer        *transfer,
                                                      int                   download_fd,
                                                      FilerFreeSpaceFunc    free_space,
                                                      gpointer              free_space_data);
void                   filer_transfer_receiver_start (FilerTransferReceiver *self);

G_END_DECLS
