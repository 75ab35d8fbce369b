/* fuzz-frame-decoder.c: the incremental frame decoder, in arbitrary splits
 *
 * The first byte of the input picks the split size (1–256 bytes); the
 * rest is what a peer sends. Every frame the decoder yields that names a
 * message (has a `type`; the codec itself does not insist) must encode
 * back to a frame that decodes to the same type and content size.
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
  g_autoptr(FilerFrameDecoder) decoder = NULL;
  g_autoptr(GError) error = NULL;
  gsize split;

  if (size < 1)
    return 0;

  split = (gsize)data[0] + 1;
  data++;
  size--;

  decoder = filer_frame_decoder_new (64 * 1024);
  for (gsize offset = 0; offset < size && error == NULL; offset += split)
    {
      FilerFrame *frame;

      filer_frame_decoder_feed (decoder, data + offset, MIN (split, size - offset));
      while (error == NULL && (frame = filer_frame_decoder_next (decoder, &error)) != NULL)
        {
          g_autoptr(GBytes) encoded = NULL;
          g_autoptr(GError) again_error = NULL;
          FilerFrame *again = NULL;

          if (filer_frame_get_message_type (frame) == NULL)
            {
              filer_frame_unref (frame);
              continue;
            }

          /* What we read we can write, and read back the same — unless
           * escaping what the peer sent raw pushes the header past the
           * 65535-byte limit, which the encoder reports. */
          encoded = filer_frame_encode (frame, &again_error);
          if (encoded == NULL)
            {
              FUZZ_ASSERT (g_error_matches (again_error, FILER_FRAME_ERROR, FILER_FRAME_ERROR_TOO_LARGE));
              filer_frame_unref (frame);
              continue;
            }
          again = filer_frame_decode_datagram (g_bytes_get_data (encoded, NULL),
                                               g_bytes_get_size (encoded),
                                               64 * 1024, &again_error);
          FUZZ_ASSERT (again != NULL);
          FUZZ_ASSERT (g_strcmp0 (filer_frame_get_message_type (again),
                                  filer_frame_get_message_type (frame)) == 0);
          FUZZ_ASSERT (filer_frame_get_content_size (again) == filer_frame_get_content_size (frame));
          filer_frame_unref (again);
          filer_frame_unref (frame);
        }
    }

  if (error == NULL)
    filer_frame_decoder_finish (decoder, NULL);

  return 0;
}
