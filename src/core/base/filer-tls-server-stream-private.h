/* filer-tls-server-stream-private.h: a listener's TLS 1.3 on GnuTLS, no thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_BASE_COMPILATION)
# error "filer-tls-server-stream-private.h is private to src/core/base/."
#endif

#include <gio/gio.h>

#include "filer-identity.h"

G_BEGIN_DECLS

#define FILER_TYPE_TLS_SERVER_STREAM (filer_tls_server_stream_get_type ())

G_DECLARE_FINAL_TYPE (FilerTlsServerStream, filer_tls_server_stream, FILER, TLS_SERVER_STREAM, GIOStream)

FilerTlsServerStream *filer_tls_server_stream_new              (GSocketConnection     *base,
                                                                FilerIdentity         *identity,
                                                                GError               **error);
void                  filer_tls_server_stream_handshake_async  (FilerTlsServerStream  *self,
                                                                GCancellable          *cancellable,
                                                                GAsyncReadyCallback    callback,
                                                                gpointer               user_data);
gboolean              filer_tls_server_stream_handshake_finish (FilerTlsServerStream  *self,
                                                                GAsyncResult          *result,
                                                                GError               **error);
const char           *filer_tls_server_stream_get_peer_id      (FilerTlsServerStream  *self);

G_END_DECLS
