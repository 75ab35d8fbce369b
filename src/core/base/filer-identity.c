/* filer-identity.c: this device's key and certificate, and ids made from keys
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-identity.h"

#include <errno.h>
#include <string.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* FilerIdentity is the device's ECDSA P-256 key and a self-signed
 * certificate for it, made with GnuTLS at first start and kept in the
 * config folder (device-key.pem, device-cert.pem, both 0600). Every
 * encrypted path presents this certificate; the device id is a function of
 * its public key (filer-identity.h), so a peer's id is checked by hashing
 * the key its certificate carries, never by believing what it says.
 *
 * A folder that still has the QUIC certificate of an older Filer
 * (quic-cert.pem, quic-key.pem) adopts it: the device keeps the key peers
 * may already have seen. */

#define KEY_FILE       "device-key.pem"
#define CERT_FILE      "device-cert.pem"
#define OLD_KEY_FILE   "quic-key.pem"
#define OLD_CERT_FILE  "quic-cert.pem"

/* Long enough never to expire in practice; peers check keys, not dates. */
#define VALIDITY_S     (G_GINT64_CONSTANT (100) * 365 * 24 * 3600)

struct _FilerIdentity
{
  GObject          parent_instance;

  char            *id;
  char            *certificate_pem;
  char            *private_key_pem;
  GTlsCertificate *certificate;
  gnutls_certificate_credentials_t credentials;   /* made when first asked for */
};

G_LOCK_DEFINE_STATIC (credentials);

G_DEFINE_FINAL_TYPE (FilerIdentity, filer_identity, G_TYPE_OBJECT)

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void
filer_identity_finalize (GObject *object)
{
  FilerIdentity *self = (FilerIdentity *)object;

  g_free (self->id);
  g_free (self->certificate_pem);
  if (self->private_key_pem != NULL)
    {
      explicit_bzero (self->private_key_pem, strlen (self->private_key_pem));
      g_free (self->private_key_pem);
    }
  g_clear_object (&self->certificate);
  g_clear_pointer (&self->credentials, gnutls_certificate_free_credentials);

  G_OBJECT_CLASS (filer_identity_parent_class)->finalize (object);
}

static void
filer_identity_class_init (FilerIdentityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = filer_identity_finalize;
}

static void
filer_identity_init (FilerIdentity *self)
{
}

static gboolean
set_gnutls_error (GError     **error,
                  int          status,
                  const char  *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, gnutls_strerror (status));
  return FALSE;
}

/* --- ids ---------------------------------------------------------------- */

static char
luhn32 (const char *group,
        gsize       length)
{
  int factor = 1;
  int sum = 0;

  /* Luhn mod N over the base32 alphabet, as Syncthing computes it. */
  for (gsize i = 0; i < length; i++)
    {
      int code = (int)(strchr (base32_alphabet, group[i]) - base32_alphabet);
      int addend = factor * code;

      factor = factor == 2 ? 1 : 2;
      addend = addend / 32 + addend % 32;
      sum += addend;
    }

  return base32_alphabet[(32 - sum % 32) % 32];
}

/**
 * filer_identity_id_for_sha256:
 * @digest: SHA-256 of a SubjectPublicKeyInfo (32 bytes)
 *
 * Returns: (transfer full): the device id in its written form
 */
char *
filer_identity_id_for_sha256 (const guint8 *digest)
{
  char plain[53];
  char checked[57];
  GString *id = g_string_sized_new (FILER_IDENTITY_ID_LENGTH + 1);
  guint bits = 0;
  guint32 buffer = 0;
  gsize n = 0;

  for (gsize i = 0; i < 32; i++)
    {
      buffer = (buffer << 8) | digest[i];
      bits += 8;
      while (bits >= 5)
        {
          plain[n++] = base32_alphabet[(buffer >> (bits - 5)) & 31];
          bits -= 5;
        }
    }
  if (bits > 0)
    plain[n++] = base32_alphabet[(buffer << (5 - bits)) & 31];
  g_assert (n == 52);

  for (gsize g = 0; g < 4; g++)
    {
      memcpy (checked + g * 14, plain + g * 13, 13);
      checked[g * 14 + 13] = luhn32 (plain + g * 13, 13);
    }

  for (gsize g = 0; g < 8; g++)
    {
      if (g > 0)
        g_string_append_c (id, '-');
      g_string_append_len (id, checked + g * 7, 7);
    }

  return g_string_free (id, FALSE);
}

char *
filer_identity_id_for_der (const guint8 *der,
                           gsize         length)
{
  gnutls_datum_t datum = { (unsigned char *)der, (unsigned int)length };
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t spki = { NULL, 0 };
  guint8 digest[32];
  gsize digest_length = sizeof digest;
  char *id = NULL;

  g_return_val_if_fail (der != NULL || length == 0, NULL);

  if (length == 0 || length > G_MAXUINT)
    return NULL;

  if (gnutls_x509_crt_init (&crt) == 0
      && gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) == 0
      && gnutls_pubkey_init (&pubkey) == 0
      && gnutls_pubkey_import_x509 (pubkey, crt, 0) == 0
      && gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_DER, &spki) == 0)
    {
      g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

      g_checksum_update (checksum, spki.data, spki.size);
      g_checksum_get_digest (checksum, digest, &digest_length);
      id = filer_identity_id_for_sha256 (digest);
    }

  gnutls_free (spki.data);
  if (pubkey != NULL)
    gnutls_pubkey_deinit (pubkey);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);

  return id;
}

/**
 * filer_identity_id_for_certificate:
 * @certificate: a peer's certificate, as a TLS handshake presented it
 *
 * Returns: (transfer full) (nullable): the device id its public key makes,
 *   or %NULL if it is not a certificate GnuTLS can read
 */
char *
filer_identity_id_for_certificate (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;

  return filer_identity_id_for_der (der->data, der->len);
}

/**
 * filer_identity_id_is_valid:
 * @id: (nullable): text
 *
 * Returns: %TRUE if @id has the form of a device id and its four check
 *   characters are right (it says nothing about who holds the key)
 */
gboolean
filer_identity_id_is_valid (const char *id)
{
  char checked[57];
  gsize n = 0;

  if (id == NULL || strlen (id) != FILER_IDENTITY_ID_LENGTH)
    return FALSE;

  for (gsize i = 0; i < FILER_IDENTITY_ID_LENGTH; i++)
    {
      if (i % 8 == 7)
        {
          if (id[i] != '-')
            return FALSE;
          continue;
        }
      if (id[i] == '\0' || strchr (base32_alphabet, id[i]) == NULL)
        return FALSE;
      checked[n++] = id[i];
    }
  g_assert (n == 56);

  for (gsize g = 0; g < 4; g++)
    if (luhn32 (checked + g * 14, 13) != checked[g * 14 + 13])
      return FALSE;

  /* 256 bits in 52 base32 digits: the last digit carries one bit of the
   * digest and four of zero padding. */
  return (strchr (base32_alphabet, checked[3 * 14 + 12]) - base32_alphabet) % 16 == 0;
}

/**
 * filer_identity_verification_code_for_ids:
 * @a: one device's id (filer_identity_id_is_valid())
 * @b: the other's
 *
 * The short code two people compare to know that the keys each side sees
 * are the ones the other holds: six decimal digits from SHA-256 over both
 * devices' ids in sorted order, so both sides compute the same code, and
 * a man in the middle (who must present his own key to each side, so
 * each side sees another id for its peer) makes each side see a
 * different one. An id is a hash of its key, so the ids stand for the
 * certificates.
 *
 * Returns: (transfer full) (nullable): "123 456", or %NULL if an id is
 *   not a valid device id
 */
char *
filer_identity_verification_code_for_ids (const char *a,
                                          const char *b)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize length = sizeof digest;
  guint64 value = 0;
  guint32 code;

  if (a == NULL || b == NULL || !filer_identity_id_is_valid (a) || !filer_identity_id_is_valid (b))
    return NULL;

  g_checksum_update (checksum, (const guchar *)"filer-verification-code-v1", -1);
  g_checksum_update (checksum, (const guchar *)(strcmp (a, b) <= 0 ? a : b), -1);
  g_checksum_update (checksum, (const guchar *)(strcmp (a, b) <= 0 ? b : a), -1);
  g_checksum_get_digest (checksum, digest, &length);

  for (guint i = 0; i < 8; i++)
    value = (value << 8) | digest[i];
  code = (guint32)(value % 1000000);

  return g_strdup_printf ("%03u %03u", code / 1000, code % 1000);
}

/**
 * filer_identity_verification_code:
 * @a: one side's certificate
 * @b: the other side's
 *
 * filer_identity_verification_code_for_ids() for the ids of @a and @b.
 *
 * Returns: (transfer full) (nullable): "123 456", or %NULL if a
 *   certificate cannot be read
 */
char *
filer_identity_verification_code (GTlsCertificate *a,
                                  GTlsCertificate *b)
{
  g_autofree char *id_a = NULL;
  g_autofree char *id_b = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (a), NULL);
  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (b), NULL);

  id_a = filer_identity_id_for_certificate (a);
  id_b = filer_identity_id_for_certificate (b);
  return filer_identity_verification_code_for_ids (id_a, id_b);
}

/* --- the device's own key --------------------------------------------- */

static gboolean
make_key_and_certificate (char   **key_pem,
                          char   **cert_pem,
                          GError **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t key_out = { NULL, 0 };
  gnutls_datum_t cert_out = { NULL, 0 };
  guint8 serial[16];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean ok = FALSE;
  int status;

  for (gsize i = 0; i < sizeof serial; i++)
    serial[i] = (guint8)g_random_int_range (0, 256);
  serial[0] &= 0x7f;   /* a positive INTEGER */

  if ((status = gnutls_x509_privkey_init (&key)) != 0
      || (status = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                                 GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                                 0)) != 0
      || (status = gnutls_x509_crt_init (&crt)) != 0
      || (status = gnutls_x509_crt_set_version (crt, 3)) != 0
      || (status = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) != 0
      || (status = gnutls_x509_crt_set_activation_time (crt, now - 24 * 3600)) != 0
      || (status = gnutls_x509_crt_set_expiration_time (crt, now + VALIDITY_S)) != 0
      || (status = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                  "filer", 5)) != 0
      || (status = gnutls_x509_crt_set_key (crt, key)) != 0
      || (status = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) != 0
      || (status = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                      GNUTLS_PKCS_PLAIN, &key_out)) != 0
      || (status = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_out)) != 0)
    set_gnutls_error (error, status, "Cannot make the device key");
  else
    {
      *key_pem = g_strndup ((const char *)key_out.data, key_out.size);
      *cert_pem = g_strndup ((const char *)cert_out.data, cert_out.size);
      ok = TRUE;
    }

  if (key_out.data != NULL)
    {
      explicit_bzero (key_out.data, key_out.size);
      gnutls_free (key_out.data);
    }
  gnutls_free (cert_out.data);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);

  return ok;
}

/* Older QUIC keys were written as SEC1 "EC PRIVATE KEY", which GIO's PEM
 * parser does not read: rewrite any key GnuTLS reads as PKCS#8. */
static char *
to_pkcs8 (const char  *pem,
          GError     **error)
{
  gnutls_datum_t in = { (unsigned char *)pem, (unsigned int)strlen (pem) };
  gnutls_datum_t out = { NULL, 0 };
  gnutls_x509_privkey_t key = NULL;
  char *result = NULL;
  int status;

  if ((status = gnutls_x509_privkey_init (&key)) != 0
      || (status = gnutls_x509_privkey_import (key, &in, GNUTLS_X509_FMT_PEM)) != 0
      || (status = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                      GNUTLS_PKCS_PLAIN, &out)) != 0)
    set_gnutls_error (error, status, "Cannot read the device key");
  else
    result = g_strndup ((const char *)out.data, out.size);

  if (out.data != NULL)
    {
      explicit_bzero (out.data, out.size);
      gnutls_free (out.data);
    }
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);

  return result;
}

static FilerIdentity *
identity_new (const char  *key_pem,
              const char  *cert_pem,
              GError     **error)
{
  g_autoptr(FilerIdentity) self = NULL;
  g_autofree char *both = g_strconcat (cert_pem, "\n", key_pem, NULL);
  g_autoptr(GTlsCertificate) certificate = NULL;

  certificate = g_tls_certificate_new_from_pem (both, -1, error);
  explicit_bzero (both, strlen (both));
  if (certificate == NULL)
    return NULL;

  self = g_object_new (FILER_TYPE_IDENTITY, NULL);
  self->id = filer_identity_id_for_certificate (certificate);
  if (self->id == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The device certificate cannot be read");
      return NULL;
    }
  self->certificate = g_steal_pointer (&certificate);
  self->certificate_pem = g_strdup (cert_pem);
  self->private_key_pem = g_strdup (key_pem);

  return g_steal_pointer (&self);
}

static gboolean
read_pair (const char  *dir,
           const char  *key_name,
           const char  *cert_name,
           char       **key_pem,
           char       **cert_pem,
           GError     **error)
{
  g_autofree char *key_path = g_build_filename (dir, key_name, NULL);
  g_autofree char *cert_path = g_build_filename (dir, cert_name, NULL);
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (key_path, key_pem, NULL, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!g_file_get_contents (cert_path, cert_pem, NULL, error))
    {
      g_clear_pointer (key_pem, g_free);
      return FALSE;
    }

  return TRUE;
}

static gboolean
write_pair (const char  *dir,
            const char  *key_pem,
            const char  *cert_pem,
            GError     **error)
{
  g_autofree char *key_path = g_build_filename (dir, KEY_FILE, NULL);
  g_autofree char *cert_path = g_build_filename (dir, CERT_FILE, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }

  /* The key first: a certificate without its key would be useless. */
  return g_file_set_contents_full (key_path, key_pem, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error) &&
         g_file_set_contents_full (cert_path, cert_pem, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}

/**
 * filer_identity_load:
 * @dir: the folder that keeps the key (the app's config folder)
 * @error: where a failure goes
 *
 * Reads the device key and certificate from @dir, or makes them (adopting
 * an older Filer's QUIC key where there is one) and writes them there,
 * mode 0600. A key that cannot be read is an error, never silently
 * replaced: the device's id would change under its peers.
 *
 * Returns: (transfer full): the identity, or %NULL with @error set
 */
FilerIdentity *
filer_identity_load (const char  *dir,
                     GError     **error)
{
  g_autofree char *key_pem = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *pkcs8 = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  if (read_pair (dir, KEY_FILE, CERT_FILE, &key_pem, &cert_pem, &local_error))
    return identity_new (key_pem, cert_pem, error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  if (read_pair (dir, OLD_KEY_FILE, OLD_CERT_FILE, &key_pem, &cert_pem, NULL)
      && (pkcs8 = to_pkcs8 (key_pem, NULL)) != NULL)
    g_debug ("Adopting the QUIC certificate in %s as the device key", dir);
  else
    {
      g_clear_pointer (&key_pem, g_free);
      g_clear_pointer (&cert_pem, g_free);
      if (!make_key_and_certificate (&pkcs8, &cert_pem, error))
        return NULL;
    }

  if (!write_pair (dir, pkcs8, cert_pem, error))
    return NULL;

  return identity_new (pkcs8, cert_pem, error);
}

/**
 * filer_identity_new_ephemeral:
 *
 * A fresh key kept nowhere: for a process that must not touch the config
 * folder (tests, a throwaway peer).
 *
 * Returns: (transfer full): the identity, or %NULL with @error set
 */
FilerIdentity *
filer_identity_new_ephemeral (GError **error)
{
  g_autofree char *key_pem = NULL;
  g_autofree char *cert_pem = NULL;

  if (!make_key_and_certificate (&key_pem, &cert_pem, error))
    return NULL;

  return identity_new (key_pem, cert_pem, error);
}

const char *
filer_identity_get_id (FilerIdentity *self)
{
  g_return_val_if_fail (FILER_IS_IDENTITY (self), NULL);

  return self->id;
}

/**
 * filer_identity_get_certificate:
 *
 * Returns: (transfer none): the certificate with its private key, for
 *   g_tls_connection_set_certificate()
 */
GTlsCertificate *
filer_identity_get_certificate (FilerIdentity *self)
{
  g_return_val_if_fail (FILER_IS_IDENTITY (self), NULL);

  return self->certificate;
}

const char *
filer_identity_get_certificate_pem (FilerIdentity *self)
{
  g_return_val_if_fail (FILER_IS_IDENTITY (self), NULL);

  return self->certificate_pem;
}

const char *
filer_identity_get_private_key_pem (FilerIdentity *self)
{
  g_return_val_if_fail (FILER_IS_IDENTITY (self), NULL);

  return self->private_key_pem;
}

/**
 * filer_identity_get_gnutls_credentials:
 * @self: an identity
 * @error: where a failure goes
 *
 * The device certificate and key as GnuTLS credentials, for the TLS that
 * runs on GnuTLS directly (QUIC, and the listener's side of TCP). Made
 * once and shared by every session of this identity: GnuTLS only reads
 * them once set up.
 *
 * Returns: (transfer none) (nullable): the credentials, valid as long as
 *   @self, or %NULL with @error set
 */
gnutls_certificate_credentials_t
filer_identity_get_gnutls_credentials (FilerIdentity  *self,
                                       GError        **error)
{
  gnutls_certificate_credentials_t credentials = NULL;
  gnutls_datum_t cert, key;
  int rv;

  g_return_val_if_fail (FILER_IS_IDENTITY (self), NULL);

  G_LOCK (credentials);
  if (self->credentials != NULL)
    {
      credentials = self->credentials;
      G_UNLOCK (credentials);
      return credentials;
    }

  cert.data = (unsigned char *)self->certificate_pem;
  cert.size = strlen (self->certificate_pem);
  key.data = (unsigned char *)self->private_key_pem;
  key.size = strlen (self->private_key_pem);

  rv = gnutls_certificate_allocate_credentials (&credentials);
  if (rv == 0)
    rv = gnutls_certificate_set_x509_key_mem2 (credentials, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (rv < 0)
    {
      g_clear_pointer (&credentials, gnutls_certificate_free_credentials);
      set_gnutls_error (error, rv, "Cannot use the device key for TLS");
    }
  self->credentials = credentials;
  G_UNLOCK (credentials);

  return credentials;
}

/**
 * filer_identity_id_for_session_peer:
 * @session: a GnuTLS session, from its verify function on
 *
 * Returns: (transfer full) (nullable): the device id the peer's
 *   certificate key makes, or %NULL if it presented none GnuTLS can read
 */
char *
filer_identity_id_for_session_peer (gnutls_session_t session)
{
  const gnutls_datum_t *peers;
  unsigned int n_peers = 0;

  peers = gnutls_certificate_get_peers (session, &n_peers);
  if (peers == NULL || n_peers == 0)
    return NULL;

  return filer_identity_id_for_der (peers[0].data, peers[0].size);
}
