/* filer-transfer-row.h: one transfer in the transfers list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "filer-trust-store.h"
#include "libfiler.h"

G_BEGIN_DECLS

#define FILER_TYPE_TRANSFER_ROW (filer_transfer_row_get_type ())

G_DECLARE_FINAL_TYPE (FilerTransferRow, filer_transfer_row, FILER, TRANSFER_ROW, GtkListBoxRow)

GtkWidget     *filer_transfer_row_new                 (FilerTransfer    *transfer);
FilerTransfer *filer_transfer_row_get_transfer        (FilerTransferRow *self);
void           filer_transfer_row_set_download_folder (FilerTransferRow *self,
                                                       const char       *folder);
void           filer_transfer_row_set_trust           (FilerTransferRow *self,
                                                       FilerTrust        trust);
FilerTrust     filer_transfer_row_get_trust           (FilerTransferRow *self);
GtkWidget     *filer_transfer_row_get_trust_image     (FilerTransferRow *self);

G_END_DECLS
