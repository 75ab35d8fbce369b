/* filer-hash.c: the transfer's integrity hashes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-hash.h"

#include <gnutls/crypto.h>
#include <string.h>
#include <xxhash.h>
#ifdef HAVE_XXH_X86DISPATCH
/* Renames the XXH3 calls to their run-time dispatching versions. */
#include <xxh_x86dispatch.h>
#endif

/* Both algorithms behind one small interface, so that the reader, the
 * writer and the resume check do not care which one the peers agreed
 * on. SHA-256 comes from GnuTLS (SHA-NI where the CPU has it, ~1.8 GB/s
 * a core here); XXH3-128 from libxxhash (~20 GB/s a core with SSE2, ~45 with
 * AVX2/AVX-512 through its dispatcher).
 * Why the cheaper one is enough: docs/protocol.md §3.3. */

struct _FilerHash
{
  FilerHashAlgorithm  algorithm;
  gnutls_hash_hd_t    sha256;
  XXH3_state_t       *xxh3;
};

static const char *const names[FILER_HASH_N_ALGORITHMS] = {
  [FILER_HASH_SHA256] = "sha256",
  [FILER_HASH_XXH3_128] = "xxh3-128",
};

const char *
filer_hash_algorithm_to_string (FilerHashAlgorithm algorithm)
{
  g_return_val_if_fail ((guint)algorithm < FILER_HASH_N_ALGORITHMS, NULL);

  return names[algorithm];
}

/**
 * filer_hash_algorithm_from_string:
 * @name: a wire name ("sha256", "xxh3-128")
 * @algorithm: (out) (optional): where to store it
 *
 * Returns: %FALSE for a name we do not know (a newer peer's)
 */
gboolean
filer_hash_algorithm_from_string (const char         *name,
                                  FilerHashAlgorithm *algorithm)
{
  if (name == NULL)
    return FALSE;

  for (guint i = 0; i < FILER_HASH_N_ALGORITHMS; i++)
    if (strcmp (name, names[i]) == 0)
      {
        if (algorithm != NULL)
          *algorithm = i;
        return TRUE;
      }
  return FALSE;
}

gsize
filer_hash_algorithm_hex_length (FilerHashAlgorithm algorithm)
{
  return algorithm == FILER_HASH_XXH3_128 ? 2 * sizeof (XXH128_canonical_t) : 64;
}

/* Lower-case hex of exactly the algorithm's length. */
gboolean
filer_hash_is_hex (FilerHashAlgorithm  algorithm,
                   const char         *hex)
{
  if (hex == NULL || strlen (hex) != filer_hash_algorithm_hex_length (algorithm))
    return FALSE;
  for (const char *p = hex; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return FALSE;
  return TRUE;
}

/* The process-wide choice: set by filer_hash_set_allowed(), else the
 * environment, else the default. Read once per transfer. */
static GMutex allowed_lock;
static char *allowed_override;

static guint
parse_list (const char         *list,
            FilerHashAlgorithm *algorithms)
{
  g_auto(GStrv) names = g_strsplit (list, ",", 16);
  gboolean seen[FILER_HASH_N_ALGORITHMS] = { FALSE, };
  guint n = 0;

  for (guint i = 0; names[i] != NULL; i++)
    {
      FilerHashAlgorithm algorithm;

      if (filer_hash_algorithm_from_string (g_strstrip (names[i]), &algorithm) && !seen[algorithm])
        {
          seen[algorithm] = TRUE;
          algorithms[n++] = algorithm;
        }
    }
  return n;
}

/**
 * filer_hash_get_allowed:
 * @algorithms: (out caller-allocates): FILER_HASH_N_ALGORITHMS entries
 *
 * What this process offers as a sender and may pick as a receiver, most
 * preferred first: filer_hash_set_allowed()'s list, else
 * $FILER_TRANSFER_HASHES (e.g. "sha256" to insist on SHA-256 either way),
 * else "xxh3-128,sha256". A list without a known name means the default.
 *
 * Returns: how many (at least one)
 */
guint
filer_hash_get_allowed (FilerHashAlgorithm *algorithms)
{
  g_autofree char *list = NULL;
  guint n = 0;

  g_mutex_lock (&allowed_lock);
  list = g_strdup (allowed_override != NULL ? allowed_override : g_getenv ("FILER_TRANSFER_HASHES"));
  g_mutex_unlock (&allowed_lock);

  if (list != NULL)
    n = parse_list (list, algorithms);
  if (n == 0)
    {
      algorithms[n++] = FILER_HASH_XXH3_128;
      algorithms[n++] = FILER_HASH_SHA256;
    }
  return n;
}

/**
 * filer_hash_set_allowed:
 * @list: (nullable): comma-separated names, most preferred first; %NULL
 *   goes back to $FILER_TRANSFER_HASHES or the default
 *
 * For an application setting ("always SHA-256") and for tests.
 */
void
filer_hash_set_allowed (const char *list)
{
  g_mutex_lock (&allowed_lock);
  g_free (allowed_override);
  allowed_override = g_strdup (list);
  g_mutex_unlock (&allowed_lock);
}

static void
to_hex (const guint8 *digest,
        gsize         length,
        char         *hex)
{
  static const char digits[] = "0123456789abcdef";

  for (gsize i = 0; i < length; i++)
    {
      hex[2 * i] = digits[digest[i] >> 4];
      hex[2 * i + 1] = digits[digest[i] & 0xf];
    }
  hex[2 * length] = '\0';
}

FilerHash *
filer_hash_new (FilerHashAlgorithm algorithm)
{
  FilerHash *self;

  g_return_val_if_fail ((guint)algorithm < FILER_HASH_N_ALGORITHMS, NULL);

  self = g_new0 (FilerHash, 1);
  self->algorithm = algorithm;
  if (algorithm == FILER_HASH_SHA256)
    {
      if (gnutls_hash_init (&self->sha256, GNUTLS_DIG_SHA256) < 0)
        g_error ("GnuTLS has no SHA-256");
    }
  else
    {
      self->xxh3 = XXH3_createState ();
      if (self->xxh3 == NULL)
        g_error ("Out of memory for an XXH3 state");
      XXH3_128bits_reset (self->xxh3);
    }
  return self;
}

FilerHashAlgorithm
filer_hash_get_algorithm (FilerHash *self)
{
  return self->algorithm;
}

void
filer_hash_update (FilerHash  *self,
                   const void *data,
                   gsize       length)
{
  if (length == 0)
    return;
  if (self->sha256 != NULL)
    gnutls_hash (self->sha256, data, length);
  else
    XXH3_128bits_update (self->xxh3, data, length);
}

/**
 * filer_hash_peek_hex:
 * @self: a hash
 * @hex: (out caller-allocates): FILER_HASH_HEX_SIZE bytes
 *
 * The digest of everything so far, in lower-case hex; @self can go on
 * from there (a resumed prefix is checked and then continued).
 *
 * Returns: %FALSE if the state could not be copied (out of memory)
 */
gboolean
filer_hash_peek_hex (FilerHash *self,
                     char      *hex)
{
  if (self->sha256 != NULL)
    {
      guint8 digest[32];
      gnutls_hash_hd_t copy = gnutls_hash_copy (self->sha256);

      if (copy == NULL)
        return FALSE;
      gnutls_hash_deinit (copy, digest);
      to_hex (digest, sizeof digest, hex);
    }
  else
    {
      XXH128_canonical_t canonical;

      /* Canonical = big-endian high then low 64 bits, as xxhsum prints. */
      XXH128_canonicalFromHash (&canonical, XXH3_128bits_digest (self->xxh3));
      to_hex (canonical.digest, sizeof canonical.digest, hex);
    }
  return TRUE;
}

void
filer_hash_free (FilerHash *self)
{
  if (self == NULL)
    return;
  if (self->sha256 != NULL)
    gnutls_hash_deinit (self->sha256, NULL);
  if (self->xxh3 != NULL)
    XXH3_freeState (self->xxh3);
  g_free (self);
}

/* One-shot, for examples and tests. */
void
filer_hash_hex_of (FilerHashAlgorithm  algorithm,
                   const void         *data,
                   gsize               length,
                   char               *hex)
{
  g_autoptr(FilerHash) hash = filer_hash_new (algorithm);

  filer_hash_update (hash, data, length);
  filer_hash_peek_hex (hash, hex);
}
