/* filer-datagram-output-stream-private.h: the writing half of a datagram-backed stream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_STREAM_COMPILATION)
# error "filer-datagram-output-stream-private.h is private to src/core/stream/."
#endif

#include "filer-stream-wakers-private.h"

G_BEGIN_DECLS

#define FILER_TYPE_DATAGRAM_OUTPUT_STREAM (filer_datagram_output_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerDatagramOutputStream, filer_datagram_output_stream, FILER, DATAGRAM_OUTPUT_STREAM, GOutputStream)

GOutputStream *_filer_datagram_output_stream_new (GIOStream            *stream,
                                          const FilerStreamOps *ops);

G_END_DECLS
