/* fuzz-offer.c: the offer's JSON file list (filer_transfer_offer_from_json)
 *
 * Input: 4 bytes "files" and 8 bytes "size" (little-endian, the offer's
 * headers), then the JSON content. An offer that parses must keep the
 * promises the receiver relies on: as many files as the header says,
 * every name safe, sizes that sum to the header's size without wrapping.
 * Deep nesting must be refused, not crash (json-glib's parser recurses);
 * run with -max_len=262144 or more to reach it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "fuzz.h"

static guint64
read_le (const uint8_t *data,
         guint          n)
{
  guint64 value = 0;

  for (guint i = n; i > 0; i--)
    value = (value << 8) | data[i - 1];
  return value;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GError) error = NULL;
  guint64 expected_files;
  guint64 expected_size;
  guint64 total = 0;

  if (size < 12)
    return 0;

  expected_files = read_le (data, 4);
  expected_size = read_le (data + 4, 8);
  content = g_bytes_new (data + 12, size - 12);

  files = filer_transfer_offer_from_json (content, expected_files, expected_size, &error);
  FUZZ_ASSERT ((files == NULL) != (error == NULL));
  if (files == NULL)
    return 0;

  FUZZ_ASSERT (files->len == expected_files);
  for (guint i = 0; i < files->len; i++)
    {
      FilerTransferFile *file = g_ptr_array_index (files, i);
      guint64 file_size = filer_transfer_file_get_size (file);

      FUZZ_ASSERT (filer_safe_path_check (filer_transfer_file_get_path (file), NULL));
      FUZZ_ASSERT (total + file_size >= total);
      total += file_size;
    }
  FUZZ_ASSERT (total == expected_size);

  return 0;
}
