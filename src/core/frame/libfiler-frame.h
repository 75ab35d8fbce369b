/* libfiler-frame.h: src/core/frame/, the framed protocol: codec, decoder, connection (docs/protocol.md §1)
 *
 * The one header of this folder for code outside it. It may use: base.
 *
 *   filer-frame-connection.[ch]  frames over any GIOStream
 *   filer-frame-decoder.[ch]     incremental decoder of the framed protocol
 *   filer-frame.[ch]             one frame of the seed's protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "libfiler-base.h"

#define FILER_INSIDE
#include "filer-frame-connection.h"
#include "filer-frame-decoder.h"
#include "filer-frame.h"
#include "filer-frame-enums.h"
#undef FILER_INSIDE
