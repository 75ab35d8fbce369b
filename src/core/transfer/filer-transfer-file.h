/* filer-transfer-file.h: one file of a transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * FilerTransferFileStatus:
 * @FILER_TRANSFER_FILE_STATUS_PENDING: offered, not started
 * @FILER_TRANSFER_FILE_STATUS_TRANSFERRING: bytes are flowing
 * @FILER_TRANSFER_FILE_STATUS_DONE: verified and saved under its final name
 * @FILER_TRANSFER_FILE_STATUS_FAILED: failed (see error-message)
 * @FILER_TRANSFER_FILE_STATUS_SKIPPED: not accepted by the receiver
 */
typedef enum
{
  FILER_TRANSFER_FILE_STATUS_PENDING,
  FILER_TRANSFER_FILE_STATUS_TRANSFERRING,
  FILER_TRANSFER_FILE_STATUS_DONE,
  FILER_TRANSFER_FILE_STATUS_FAILED,
  FILER_TRANSFER_FILE_STATUS_SKIPPED,
} FilerTransferFileStatus;

#define FILER_TYPE_TRANSFER_FILE (filer_transfer_file_get_type ())

G_DECLARE_FINAL_TYPE (FilerTransferFile, filer_transfer_file, FILER, TRANSFER_FILE, GObject)

FilerTransferFile       *filer_transfer_file_new               (guint                     index,
                                                                const char               *path,
                                                                guint64                   size);
guint                    filer_transfer_file_get_index         (FilerTransferFile        *self);
const char              *filer_transfer_file_get_path          (FilerTransferFile        *self);
guint64                  filer_transfer_file_get_size          (FilerTransferFile        *self);
FilerTransferFileStatus  filer_transfer_file_get_status        (FilerTransferFile        *self);
void                     filer_transfer_file_set_status        (FilerTransferFile        *self,
                                                                FilerTransferFileStatus   status);
const char              *filer_transfer_file_get_saved_as      (FilerTransferFile        *self);
void                     filer_transfer_file_set_saved_as      (FilerTransferFile        *self,
                                                                const char               *saved_as);
const char              *filer_transfer_file_get_error_message (FilerTransferFile        *self);
void                     filer_transfer_file_set_error_message (FilerTransferFile        *self,
                                                                const char               *message);
guint64                  filer_transfer_file_get_offset        (FilerTransferFile        *self);
void                     filer_transfer_file_set_offset        (FilerTransferFile        *self,
                                                                guint64                   offset);

G_END_DECLS
