/* filer-tls.h: mutual TLS 1.3 between two device keys, over any GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-identity.h"

G_BEGIN_DECLS

#define FILER_TLS_HANDSHAKE_TIMEOUT_MS 10000

typedef enum
{
  FILER_TLS_ROLE_CLIENT,
  FILER_TLS_ROLE_SERVER,
} FilerTlsRole;

void       filer_tls_handshake_async  (GIOStream            *base_stream,
                                       FilerTlsRole          role,
                                       FilerIdentity        *identity,
                                       const char           *expected_peer_id,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
GIOStream *filer_tls_handshake_finish (GAsyncResult         *result,
                                       char                **peer_id,
                                       GError              **error);

G_END_DECLS
