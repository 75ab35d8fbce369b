/* filer-trust-store.h: the devices the user verified, and what a peer is
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * FilerTrust:
 * @FILER_TRUST_UNVERIFIED: the user never compared codes with this device
 * @FILER_TRUST_VERIFIED: the user compared codes and trusted this id
 * @FILER_TRUST_KEY_CHANGED: not verified, and its name is the name of a
 *   device the user verified: another key under a known name, which is
 *   what someone pretending to be that device looks like
 */
typedef enum
{
  FILER_TRUST_UNVERIFIED,
  FILER_TRUST_VERIFIED,
  FILER_TRUST_KEY_CHANGED,
} FilerTrust;

#define FILER_TYPE_TRUST_STORE (filer_trust_store_get_type ())

G_DECLARE_FINAL_TYPE (FilerTrustStore, filer_trust_store, FILER, TRUST_STORE, GObject)

FilerTrustStore *filer_trust_store_new            (GSettings       *settings);
FilerTrustStore *filer_trust_store_new_default    (GError         **error);
guint            filer_trust_store_migrate        (FilerTrustStore *self);
FilerTrust       filer_trust_store_lookup         (FilerTrustStore *self,
                                                   const char      *id,
                                                   const char      *name,
                                                   char           **verified_name);
gboolean         filer_trust_store_is_verified    (FilerTrustStore *self,
                                                   const char      *id);
gboolean         filer_trust_store_trust          (FilerTrustStore *self,
                                                   const char      *id,
                                                   const char      *name);
void             filer_trust_store_note_name      (FilerTrustStore *self,
                                                   const char      *id,
                                                   const char      *name);
void             filer_trust_store_forget         (FilerTrustStore *self,
                                                   const char      *id);

char            *filer_trust_short_id             (const char      *id);
const char      *filer_trust_icon_name            (FilerTrust       trust);
const char      *filer_trust_description          (FilerTrust       trust);
const char      *filer_trust_nick                 (FilerTrust       trust);

G_END_DECLS
