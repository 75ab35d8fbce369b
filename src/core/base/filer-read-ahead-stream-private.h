/* filer-read-ahead-stream-private.h: a TCP stream whose reads fill a buffer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_BASE_COMPILATION)
# error "filer-read-ahead-stream-private.h is private to src/core/base/."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define FILER_TYPE_READ_AHEAD_STREAM (filer_read_ahead_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerReadAheadStream, filer_read_ahead_stream, FILER, READ_AHEAD_STREAM, GIOStream)

GIOStream *filer_read_ahead_stream_new (GSocketConnection *base);

G_END_DECLS
