/* filer-hash.h: the transfer's integrity hashes (docs/protocol.md §3.3)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * FilerHashAlgorithm:
 * @FILER_HASH_SHA256: SHA-256 (GnuTLS), 64 hex digits; every peer has it
 * @FILER_HASH_XXH3_128: XXH3-128 (libxxhash), 32 hex digits: a
 *   non-cryptographic checksum against corruption, ~10× faster
 *
 * Names on the wire: "sha256", "xxh3-128".
 */
typedef enum
{
  FILER_HASH_SHA256,
  FILER_HASH_XXH3_128,
} FilerHashAlgorithm;

#define FILER_HASH_N_ALGORITHMS 2

/* Room for the longest hex digest and its NUL. */
#define FILER_HASH_HEX_SIZE 65

typedef struct _FilerHash FilerHash;

const char *filer_hash_algorithm_to_string   (FilerHashAlgorithm  algorithm);
gboolean    filer_hash_algorithm_from_string (const char         *name,
                                              FilerHashAlgorithm *algorithm);
gsize       filer_hash_algorithm_hex_length  (FilerHashAlgorithm  algorithm);
gboolean    filer_hash_is_hex                (FilerHashAlgorithm  algorithm,
                                              const char         *hex);

guint       filer_hash_get_allowed           (FilerHashAlgorithm *algorithms);
void        filer_hash_set_allowed           (const char         *list);

FilerHash  *filer_hash_new                   (FilerHashAlgorithm  algorithm);
FilerHashAlgorithm filer_hash_get_algorithm  (FilerHash          *self);
void        filer_hash_update                (FilerHash          *self,
                                              const void         *data,
                                              gsize               length);
gboolean    filer_hash_peek_hex              (FilerHash          *self,
                                              char               *hex);
void        filer_hash_free                  (FilerHash          *self);

void        filer_hash_hex_of                (FilerHashAlgorithm  algorithm,
                                              const void         *data,
                                              gsize               length,
                                              char               *hex);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerHash, filer_hash_free)

G_END_DECLS
