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

/* What the first bytes a listener has are (filer_tls_peek_first_record()). */
typedef enum
{
  FILER_TLS_FIRST_RECORD_WAIT,      /* a record has begun: wait for the socket to be readable again */
  FILER_TLS_FIRST_RECORD_READY,     /* a whole TLS record is in: start the handshake */
  FILER_TLS_FIRST_RECORD_NOT_TLS,   /* not TLS (a Filer 1 frame): answer in plaintext */
  FILER_TLS_FIRST_RECORD_CLOSED,    /* the peer closed, or its record cannot be a ClientHello */
} FilerTlsFirstRecord;

FilerTlsFirstRecord filer_tls_peek_first_record (GSocket *socket);

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
gboolean   filer_tls_is_tls_stream    (GIOStream            *stream);

G_END_DECLS
