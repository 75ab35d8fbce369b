/* filer-frame-decoder.h: incremental decoder of the framed protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-frame.h"

G_BEGIN_DECLS

#define FILER_TYPE_FRAME_DECODER (filer_frame_decoder_get_type ())

G_DECLARE_FINAL_TYPE (FilerFrameDecoder, filer_frame_decoder, FILER, FRAME_DECODER, GObject)

FilerFrameDecoder *filer_frame_decoder_new                    (gsize               max_content_length);
gsize              filer_frame_decoder_get_max_content_length (FilerFrameDecoder  *self);
void               filer_frame_decoder_set_max_content_length (FilerFrameDecoder  *self,
                                                               gsize               max_content_length);
void               filer_frame_decoder_feed                   (FilerFrameDecoder  *self,
                                                               const void         *data,
                                                               gsize               length);
void               filer_frame_decoder_feed_bytes             (FilerFrameDecoder  *self,
                                                               GBytes             *bytes);
FilerFrame        *filer_frame_decoder_next                   (FilerFrameDecoder  *self,
                                                               GError            **error);
gboolean           filer_frame_decoder_finish                 (FilerFrameDecoder  *self,
                                                               GError            **error);
FilerFrame        *filer_frame_decode_datagram                (const void         *data,
                                                               gsize               length,
                                                               gsize               max_content_length,
                                                               GError            **error);
gsize              filer_frame_decoder_get_buffered           (FilerFrameDecoder  *self);

G_END_DECLS
