/* filer-datagram-input-stream-private.h: the reading half of a datagram-backed stream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_STREAM_COMPILATION)
# error "filer-datagram-input-stream-private.h is private to src/core/stream/."
#endif

#include "filer-stream-wakers-private.h"

G_BEGIN_DECLS

#define FILER_TYPE_DATAGRAM_INPUT_STREAM (filer_datagram_input_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerDatagramInputStream, filer_datagram_input_stream, FILER, DATAGRAM_INPUT_STREAM, GInputStream)

GInputStream *_filer_datagram_input_stream_new (GIOStream            *stream,
                                         const FilerStreamOps *ops);

G_END_DECLS
