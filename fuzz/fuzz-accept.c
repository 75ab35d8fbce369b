/* fuzz-accept.c: the receiver's answer (filer_transfer_accept_from_json)
 *
 * Against a fixed offer of three files (0 bytes, 100 bytes, 1 GiB), the
 * first input byte picks the hash, the rest is the accept content. What
 * parses must name offered files only, once each, at offsets inside them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const guint64 sizes[] = { 0, 100, G_GUINT64_CONSTANT (1) << 30 };
  g_autoptr(GListStore) offered = g_list_store_new (FILER_TYPE_TRANSFER_FILE);
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  gboolean seen[G_N_ELEMENTS (sizes)] = { FALSE, };
  FilerHashAlgorithm algorithm;

  if (size < 1)
    return 0;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *path = g_strdup_printf ("dir/file-%u", i);
      g_autoptr(FilerTransferFile) file = filer_transfer_file_new (i, path, sizes[i]);

      g_list_store_append (offered, file);
    }

  algorithm = data[0] % 2 == 0 ? FILER_HASH_SHA256 : FILER_HASH_XXH3_128;
  content = g_bytes_new (data + 1, size - 1);

  entries = filer_transfer_accept_from_json (content, G_LIST_MODEL (offered), algorithm, &error);
  FUZZ_ASSERT ((entries == NULL) != (error == NULL));
  if (entries == NULL)
    return 0;

  for (guint i = 0; i < entries->len; i++)
    {
      FilerAcceptEntry *entry = &g_array_index (entries, FilerAcceptEntry, i);

      FUZZ_ASSERT (entry->index < G_N_ELEMENTS (sizes));
      FUZZ_ASSERT (!seen[entry->index]);
      seen[entry->index] = TRUE;
      FUZZ_ASSERT (entry->offset <= sizes[entry->index]);
    }

  return 0;
}
