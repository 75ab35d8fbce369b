/* fuzz-datagram.c: one frame per UDP datagram (filer_frame_decode_datagram)
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
  g_autoptr(GError) error = NULL;
  FilerFrame *frame;

  frame = filer_frame_decode_datagram (data, size, 1200, &error);

  /* A frame or an error, never both, never neither. */
  FUZZ_ASSERT ((frame == NULL) != (error == NULL));
  if (frame != NULL)
    {
      FUZZ_ASSERT (filer_frame_get_content_size (frame) <= 1200);
      filer_frame_unref (frame);
    }

  return 0;
}
