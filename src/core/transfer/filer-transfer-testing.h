/* filer-transfer-testing.h: hooks for tests only
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Called by every sender for every chunk before it goes out, on the main
 * context. Returns the chunk to send (transfer full): the same one
 * (referenced) or a replacement, to inject corruption. Process-wide; pass
 * NULL to remove. Never set outside tests. */
typedef GBytes *(*FilerTransferChunkHook) (guint     file_index,
                                           guint64   offset,
                                           GBytes   *chunk,
                                           gpointer  user_data);

void filer_transfer_testing_set_chunk_hook (FilerTransferChunkHook hook,
                                            gpointer               user_data);

/* Shortens the receiver's deadlines (FILER_TRANSFER_OFFER_TIMEOUT_MS,
 * FILER_TRANSFER_IDLE_TIMEOUT_MS) for receivers started from now on; 0
 * restores a default. Process-wide; never set outside tests. */
void filer_transfer_testing_set_deadlines   (guint                  offer_ms,
                                            guint                  idle_ms);

G_END_DECLS
