/* filer-cli-transfer.h: how send and receive show a transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "filer-trust-store.h"
#include "libfiler.h"

G_BEGIN_DECLS

typedef struct _FilerCliReporter FilerCliReporter;

FilerCliReporter *filer_cli_reporter_new          (gboolean            json);
void              filer_cli_reporter_free         (FilerCliReporter   *self);
void              filer_cli_reporter_set_trust    (FilerCliReporter   *self,
                                                   const char         *own_id,
                                                   FilerTrustStore    *store);
void              filer_cli_reporter_watch        (FilerCliReporter   *self,
                                                   FilerTransfer      *transfer);
void              filer_cli_reporter_offer        (FilerCliReporter   *self,
                                                   FilerTransfer      *transfer);
void              filer_cli_reporter_listening    (FilerCliReporter   *self,
                                                   const char         *name,
                                                   guint               port,
                                                   const char         *dir);
void              filer_cli_reporter_error        (FilerCliReporter   *self,
                                                   const char         *message);

/* The offered paths the receiver did not accept (it chose some). */
GPtrArray        *filer_cli_transfer_not_sent     (FilerTransfer      *transfer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerCliReporter, filer_cli_reporter_free)

G_END_DECLS
