/* filer-identity.h: this device's key and certificate, and ids made from keys
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>
#include <gnutls/gnutls.h>

G_BEGIN_DECLS

/* A device id is derived from its public key: SHA-256 of the certificate's
 * SubjectPublicKeyInfo (DER), in base32 (RFC 4648, A–Z 2–7, no padding:
 * 52 characters), cut into four groups of 13, each followed by a Luhn
 * mod 32 check character, and written as eight groups of seven joined by
 * '-' (63 characters; the scheme Syncthing uses for its device ids). No one
 * can claim an id without its key, and a mistyped id fails its check. */
#define FILER_IDENTITY_ID_LENGTH 63

#define FILER_TYPE_IDENTITY (filer_identity_get_type ())

G_DECLARE_FINAL_TYPE (FilerIdentity, filer_identity, FILER, IDENTITY, GObject)

FilerIdentity   *filer_identity_load                (const char       *dir,
                                                     GError          **error);
FilerIdentity   *filer_identity_new_ephemeral       (GError          **error);

const char      *filer_identity_get_id              (FilerIdentity    *self);
GTlsCertificate *filer_identity_get_certificate     (FilerIdentity    *self);
const char      *filer_identity_get_certificate_pem (FilerIdentity    *self);
const char      *filer_identity_get_private_key_pem (FilerIdentity    *self);
char            *filer_identity_id_for_session_peer (gnutls_session_t  session);
gnutls_certificate_credentials_t
                 filer_identity_get_gnutls_credentials (FilerIdentity  *self,
                                                        GError        **error);

char            *filer_identity_id_for_certificate  (GTlsCertificate  *certificate);
char            *filer_identity_id_for_sha256       (const guint8     *digest);
char            *filer_identity_id_for_der          (const guint8     *der,
                                                     gsize             length);
gboolean         filer_identity_id_is_valid         (const char       *id);
char            *filer_identity_verification_code   (GTlsCertificate  *a,
                                                     GTlsCertificate  *b);
char            *filer_identity_verification_code_for_ids (const char *a,
                                                           const char *b);

G_END_DECLS
