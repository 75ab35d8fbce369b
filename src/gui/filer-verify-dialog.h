/* filer-verify-dialog.h: compare a code with another device, then trust it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FILER_TYPE_VERIFY_DIALOG (filer_verify_dialog_get_type ())

G_DECLARE_FINAL_TYPE (FilerVerifyDialog, filer_verify_dialog, FILER, VERIFY_DIALOG, AdwMessageDialog)

GtkWidget  *filer_verify_dialog_new           (GtkWindow         *parent,
                                               const char        *own_name,
                                               const char        *own_id,
                                               const char        *peer_name,
                                               const char        *peer_id);
const char *filer_verify_dialog_get_code      (FilerVerifyDialog *self);
const char *filer_verify_dialog_get_peer_id   (FilerVerifyDialog *self);
const char *filer_verify_dialog_get_peer_name (FilerVerifyDialog *self);

G_END_DECLS
