/* filer-offer-dialog.h: "Anna wants to send you 3 files"
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "filer-trust-store.h"

G_BEGIN_DECLS

#define FILER_TYPE_OFFER_DIALOG (filer_offer_dialog_get_type ())

G_DECLARE_FINAL_TYPE (FilerOfferDialog, filer_offer_dialog, FILER, OFFER_DIALOG, AdwMessageDialog)

GtkWidget  *filer_offer_dialog_new               (GtkWindow          *parent,
                                                  const char         *sender,
                                                  const char * const *names,
                                                  guint64             total_size);
gboolean    filer_offer_dialog_get_always_accept (FilerOfferDialog   *self);
const char *filer_offer_dialog_get_files_text    (FilerOfferDialog   *self);
void        filer_offer_dialog_set_trust         (FilerOfferDialog   *self,
                                                  FilerTrust          trust,
                                                  const char         *code,
                                                  const char         *verified_name);
FilerTrust  filer_offer_dialog_get_trust         (FilerOfferDialog   *self);
const char *filer_offer_dialog_get_code          (FilerOfferDialog   *self);
const char *filer_offer_dialog_get_warning       (FilerOfferDialog   *self);
const char *filer_offer_dialog_get_trust_text    (FilerOfferDialog   *self);

G_END_DECLS
