/* filer-application.h: the Filer application object
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "libfiler.h"
#include "filer-trust-store.h"
#include "filer-window.h"

G_BEGIN_DECLS

#define FILER_TYPE_APPLICATION (filer_application_get_type ())

G_DECLARE_FINAL_TYPE (FilerApplication, filer_application, FILER, APPLICATION, AdwApplication)

FilerApplication *filer_application_new          (GApplicationFlags  flags);
GSettings        *filer_application_get_settings (FilerApplication  *self);
FilerWindow      *filer_application_get_window   (FilerApplication  *self);
FilerSession     *filer_application_get_session  (FilerApplication  *self);
FilerTrustStore  *filer_application_get_trust_store (FilerApplication *self);

G_END_DECLS
