/* test-identity.c: the device key, its certificate, ids made from keys
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>

#include "libfiler.h"
#include "filer-test-util.h"

/* Syncthing's published example: the base32 of a device's 32-byte hash
 * and the same with its check digits, grouped (lib/protocol). Our ids use
 * the same written form. */
#define SYNCTHING_PLAIN     "P56IOI7MZJNU2IQGDREYDM2MGTMGL3BXNPQ6W5BTBBZ4TJXZWICQ"
#define SYNCTHING_FORMATTED "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2"

static char *
make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("filer-identity-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *dir)
{
  const char *names[] = { "device-key.pem", "device-cert.pem", "quic-key.pem", "quic-cert.pem" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);

      g_unlink (path);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static gsize
base32_decode (const char *text,
               guint8     *out)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  guint32 buffer = 0;
  guint bits = 0;
  gsize n = 0;

  for (const char *p = text; *p; p++)
    {
      const char *at = strchr (alphabet, *p);

      if (*p == '-')
        continue;
      g_assert_nonnull (at);
      buffer = (buffer << 5) | (guint32)(at - alphabet);
      bits += 5;
      if (bits >= 8)
        {
          out[n++] = (buffer >> (bits - 8)) & 0xff;
          bits -= 8;
        }
    }

  return n;
}

/* The id's base32 with the check digits taken out. */
static char *
strip_checks (const char *id)
{
  GString *plain = g_string_new (NULL);
  guint kept = 0;

  for (const char *p = id; *p; p++)
    {
      if (*p == '-')
        continue;
      if (kept % 14 != 13)
        g_string_append_c (plain, *p);
      kept++;
    }

  return g_string_free (plain, FALSE);
}

static void
test_format (void)
{
  guint8 digest[40];
  g_autofree char *id = NULL;

  g_assert_cmpuint (base32_decode (SYNCTHING_PLAIN, digest), ==, 32);
  id = filer_identity_id_for_sha256 (digest);
  g_assert_cmpstr (id, ==, SYNCTHING_FORMATTED);
  g_assert_cmpuint (strlen (id), ==, FILER_IDENTITY_ID_LENGTH);
  g_assert_true (filer_identity_id_is_valid (id));
}

static void
test_invalid (void)
{
  g_autofree char *changed = g_strdup (SYNCTHING_FORMATTED);
  g_autofree char *swapped = g_strdup (SYNCTHING_FORMATTED);
  char c;

  g_assert_false (filer_identity_id_is_valid (NULL));
  g_assert_false (filer_identity_id_is_valid (""));
  g_assert_false (filer_identity_id_is_valid (SYNCTHING_PLAIN));
  g_assert_false (filer_identity_id_is_valid ("0b6f0b3c-6f0e-4f57-9a3f-2e7f1c2c9a10"));

  /* Every single-character change of a data digit is caught. */
  for (gsize i = 0; i < strlen (changed); i++)
    {
      char saved = changed[i];

      if (saved == '-')
        continue;
      changed[i] = saved == 'A' ? 'B' : 'A';
      g_assert_false (filer_identity_id_is_valid (changed));
      changed[i] = saved;
    }
  g_assert_true (filer_identity_id_is_valid (changed));

  /* So is swapping two neighbours inside a group. */
  c = swapped[1];
  swapped[1] = swapped[2];
  swapped[2] = c;
  g_assert_false (filer_identity_id_is_valid (swapped));

  /* Lower case is not the written form. */
  changed[0] = g_ascii_tolower (changed[0]);
  g_assert_false (filer_identity_id_is_valid (changed));
}

static void
assert_mode_0600 (const char *dir,
                  const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

/* The id is SHA-256 of the SubjectPublicKeyInfo: checked against GnuTLS's
 * own key id of the certificate, computed another way. */
static void
assert_id_is_key_hash (FilerIdentity *identity)
{
  const char *pem = filer_identity_get_certificate_pem (identity);
  gnutls_datum_t datum = { (unsigned char *)pem, (unsigned int)strlen (pem) };
  gnutls_x509_crt_t crt;
  guint8 key_id[32];
  size_t key_id_size = sizeof key_id;
  guint8 decoded[40];
  g_autofree char *plain = strip_checks (filer_identity_get_id (identity));

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_size), ==, 0);
  g_assert_cmpuint (key_id_size, ==, 32);
  gnutls_x509_crt_deinit (crt);

  g_assert_cmpuint (strlen (plain), ==, 52);
  g_assert_cmpuint (base32_decode (plain, decoded), ==, 32);
  g_assert_cmpmem (decoded, 32, key_id, 32);
}

static void
test_load (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr(FilerIdentity) first = NULL;
  g_autoptr(FilerIdentity) again = NULL;
  g_autoptr(FilerIdentity) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *from_cert = NULL;

  first = filer_identity_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (filer_identity_id_is_valid (filer_identity_get_id (first)));
  assert_mode_0600 (dir, "device-key.pem");
  assert_mode_0600 (dir, "device-cert.pem");
  assert_id_is_key_hash (first);

  /* The certificate GIO hands a TLS connection says the same id. */
  from_cert = filer_identity_id_for_certificate (filer_identity_get_certificate (first));
  g_assert_cmpstr (from_cert, ==, filer_identity_get_id (first));
  g_assert_nonnull (strstr (filer_identity_get_private_key_pem (first), "BEGIN PRIVATE KEY"));

  /* Kept: the next start is the same device. */
  again = filer_identity_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (filer_identity_get_id (again), ==, filer_identity_get_id (first));

  /* Another key, another id. */
  other = filer_identity_new_ephemeral (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (filer_identity_get_id (other), !=, filer_identity_get_id (first));

  remove_tree (dir);
}

static void
test_corrupt_key_not_replaced (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *key_path = g_build_filename (dir, "device-key.pem", NULL);
  g_autoptr(FilerIdentity) first = NULL;
  g_autoptr(FilerIdentity) broken = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;

  first = filer_identity_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (key_path, "-----BEGIN PRIVATE KEY-----\nnonsense\n", -1, NULL));

  broken = filer_identity_load (dir, &error);
  g_assert_null (broken);
  g_assert_nonnull (error);

  /* The broken file is left for the user, not overwritten by a new key. */
  g_assert_true (g_file_get_contents (key_path, &after, NULL, NULL));
  g_assert_nonnull (strstr (after, "nonsense"));

  remove_tree (dir);
}

/* An older Filer kept a QUIC certificate with a SEC1 key: it becomes the
 * device key, so the id is the hash of that key. */
static void
test_adopts_quic_certificate (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *old_key = g_build_filename (dir, "quic-key.pem", NULL);
  g_autofree char *old_cert = g_build_filename (dir, "quic-cert.pem", NULL);
  g_autoptr(FilerIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_datum_t key_pem, cert_pem;
  g_autofree char *cert_text = NULL;
  guint8 serial[1] = { 1 };

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                                 GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  gnutls_x509_crt_set_version (crt, 3);
  gnutls_x509_crt_set_serial (crt, serial, sizeof serial);
  gnutls_x509_crt_set_activation_time (crt, time (NULL) - 3600);
  gnutls_x509_crt_set_expiration_time (crt, time (NULL) + 3600 * 24 * 365);
  gnutls_x509_crt_set_key (crt, key);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &key_pem), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_pem), ==, 0);
  g_assert_nonnull (g_strstr_len ((const char *)key_pem.data, key_pem.size, "EC PRIVATE KEY"));
  g_assert_true (g_file_set_contents (old_key, (const char *)key_pem.data, key_pem.size, NULL));
  g_assert_true (g_file_set_contents (old_cert, (const char *)cert_pem.data, cert_pem.size, NULL));
  gnutls_free (key_pem.data);
  gnutls_free (cert_pem.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);

  identity = filer_identity_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (old_cert, &cert_text, NULL, NULL));
  g_assert_cmpstr (filer_identity_get_certificate_pem (identity), ==, cert_text);
  assert_id_is_key_hash (identity);
  assert_mode_0600 (dir, "device-key.pem");

  remove_tree (dir);
}

static void
test_verification_code (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerIdentity) alice = filer_identity_new_ephemeral (&error);
  g_autoptr(FilerIdentity) bob = filer_identity_new_ephemeral (&error);
  g_autoptr(FilerIdentity) mallory = filer_identity_new_ephemeral (&error);
  g_autofree char *ab = NULL, *ba = NULL, *am = NULL, *mb = NULL;
  GTlsCertificate *a, *b, *m;

  g_assert_no_error (error);
  a = filer_identity_get_certificate (alice);
  b = filer_identity_get_certificate (bob);
  m = filer_identity_get_certificate (mallory);

  ab = filer_identity_verification_code (a, b);
  ba = filer_identity_verification_code (b, a);
  g_assert_cmpstr (ab, ==, ba);
  g_assert_true (g_regex_match_simple ("^[0-9]{3} [0-9]{3}$", ab, 0, 0));

  /* Through a man in the middle each side pairs with mallory's key. */
  am = filer_identity_verification_code (a, m);
  mb = filer_identity_verification_code (m, b);
  g_assert_cmpstr (am, !=, ab);
  g_assert_cmpstr (mb, !=, ab);

  /* From the ids alone (what a peer list shows) it is the same code;
   * a string that is not a device id has none. */
  {
    g_autofree char *by_ids = filer_identity_verification_code_for_ids (filer_identity_get_id (bob),
                                                                        filer_identity_get_id (alice));

    g_assert_cmpstr (by_ids, ==, ab);
    g_assert_null (filer_identity_verification_code_for_ids ("not-an-id", filer_identity_get_id (bob)));
  }
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add_func ("/filer/identity/format", test_format);
  g_test_add_func ("/filer/identity/invalid", test_invalid);
  g_test_add_func ("/filer/identity/load", test_load);
  g_test_add_func ("/filer/identity/corrupt-key-not-replaced", test_corrupt_key_not_replaced);
  g_test_add_func ("/filer/identity/adopts-quic-certificate", test_adopts_quic_certificate);
  g_test_add_func ("/filer/identity/verification-code", test_verification_code);

  return g_test_run ();
}
