/* filer-transfer-hello.h: the first exchange on every transfer connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-frame-connection.h"

G_BEGIN_DECLS

#define FILER_TRANSFER_HELLO_TIMEOUT_MS 10000

void     filer_transfer_hello_async  (FilerFrameConnection  *connection,
                                      const char            *my_id,
                                      const char            *my_name,
                                      const char            *expected_peer_id,
                                      const char            *proven_peer_id,
                                      GCancellable          *cancellable,
                                      GAsyncReadyCallback    callback,
                                      gpointer               user_data);
gboolean filer_transfer_hello_finish (FilerFrameConnection  *connection,
                                      GAsyncResult          *result,
                                      char                 **peer_id,
                                      char                 **peer_name,
                                      GError               **error);

G_END_DECLS
