/* filer-nat-datagram.h: the peer-to-peer datagrams of NAT traversal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-frame.h"

G_BEGIN_DECLS

/* A peer datagram (docs/protocol.md §4.3):
 *
 *   0xFF 0xFF   magic: no frame starts so (its header would be 65535
 *               bytes, more than a datagram holds), so one UDP socket
 *               carries both these and the server's frames
 *   u8 kind     FilerNatKind
 *   8 bytes     the session token the server handed out
 *   payload     for FILER_NAT_KIND_STREAM, one PseudoTcp segment; for
 *               FILER_NAT_KIND_QUIC, one QUIC packet
 */
#define FILER_NAT_TOKEN_SIZE   8
#define FILER_NAT_HEADER_SIZE  (2 + 1 + FILER_NAT_TOKEN_SIZE)
#define FILER_NAT_MAX_DATAGRAM 2048

typedef enum
{
  FILER_NAT_KIND_PUNCH     = 'P',
  FILER_NAT_KIND_ACK       = 'A',
  FILER_NAT_KIND_KEEPALIVE = 'K',
  FILER_NAT_KIND_STREAM    = 'S',   /* a PseudoTcp segment */
  FILER_NAT_KIND_QUIC      = 'Q',   /* a QUIC packet */
} FilerNatKind;

/* Writes the header into @buffer (FILER_NAT_HEADER_SIZE bytes). */
void      filer_nat_datagram_write_header (guint8          *buffer,
                                           FilerNatKind     kind,
                                           const guint8    *token);
/* TRUE if @data is a peer datagram; then fills the out arguments. */
gboolean  filer_nat_datagram_parse        (const guint8    *data,
                                           gsize            length,
                                           FilerNatKind    *kind,
                                           const guint8   **token,
                                           const guint8   **payload,
                                           gsize           *payload_length);

/* Tokens travel in frames as 16 lowercase hex digits. */
#define FILER_NAT_TOKEN_HEX_SIZE (2 * FILER_NAT_TOKEN_SIZE + 1)

/* Into @hex (FILER_NAT_TOKEN_HEX_SIZE bytes), for the per-datagram path. */
void      filer_nat_token_format          (const guint8    *token,
                                           char            *hex);
char     *filer_nat_token_to_hex          (const guint8    *token);
gboolean  filer_nat_token_from_hex        (const char      *hex,
                                           guint8          *token);

/* "a.b.c.d:port" or "[v6]:port". */
char           *filer_nat_address_to_string   (GSocketAddress  *address);
GSocketAddress *filer_nat_address_from_string (const char      *text);
gboolean        filer_nat_address_equal       (GSocketAddress  *a,
                                               GSocketAddress  *b);


/* Encodes @frame and sends it as one datagram. */
gboolean  filer_nat_send_frame            (GSocket         *socket,
                                           GSocketAddress  *to,
                                           FilerFrame      *frame,
                                           GError         **error);

G_END_DECLS
