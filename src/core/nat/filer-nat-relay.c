/* filer-nat-relay.c: peer datagrams, sent direct or through the relay
 *
 * A peer datagram goes to the address the peer's packets come from, or,
 * on the relay path, inside a nat-relay frame to the server, which
 * passes it to the session's other endpoint. What the relay passes to us
 * is handled as if it had come directly.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-client-private.h"

#include <string.h>

#include "filer-nat-error.h"

void
filer_nat_client_send_peer (FilerNatClient *self,
                            Session        *session,
                            Path            path,
                            FilerNatKind    kind,
                            const guint8   *payload,
                            gsize           length,
                            guint           ttl)
{
  guint8 buffer[FILER_NAT_MAX_DATAGRAM];

  if (self->socket == NULL || length > sizeof buffer - FILER_NAT_HEADER_SIZE)
    return;

  filer_nat_datagram_write_header (buffer, kind, session->token);
  if (length)
    memcpy (buffer + FILER_NAT_HEADER_SIZE, payload, length);

  if (path == PATH_RELAY)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("nat-relay");
      g_autoptr(GBytes) content = g_bytes_new (buffer, FILER_NAT_HEADER_SIZE + length);

      filer_frame_set (frame, "session", session->token_hex);
      filer_frame_set_content (frame, content);
      filer_nat_client_send_frame (self, self->server, frame);
      return;
    }

  if (session->peer_direct == NULL)
    return;

  /* Losing a datagram here is like losing it on the way. */
  filer_nat_client_set_ttl (self, ttl);
  g_socket_send_to (self->socket, session->peer_direct, (const char *)buffer,
                    FILER_NAT_HEADER_SIZE + length, NULL, NULL);
}

/* A peer datagram the relay passed on. */
void
filer_nat_client_handle_relay (FilerNatClient *self,
                               FilerFrame     *frame)
{
  GBytes *content = filer_frame_get_content (frame);
  gsize size;
  const guint8 *data = g_bytes_get_data (content, &size);

  filer_nat_client_handle_peer_datagram (self, data, size, NULL, TRUE);
}

void
filer_nat_client_handle_relay_closed (FilerNatClient *self,
                                      FilerFrame     *frame)
{
  Session *session = g_hash_table_lookup (self->sessions, filer_frame_get (frame, "session") ?: "");

  if (session && session->stream && session->path == PATH_RELAY)
    {
      g_autoptr(GError) error = NULL;

      error = g_error_new (FILER_NAT_ERROR, FILER_NAT_ERROR_RELAY_CLOSED,
                           "The server closed the relay: %s",
                           filer_frame_get (frame, "message") ?: "no reason");
      filer_nat_client_stream_abort (session->stream, error);
    }
}
