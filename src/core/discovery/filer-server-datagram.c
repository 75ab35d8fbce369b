/* filer-server-datagram.c: FilerServer's UDP side, dispatched by type
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-frame-decoder.h"
#include "filer-server-private.h"

/* The UDP socket shares the TCP port. Each datagram is decoded as
 * exactly one frame and dispatched by its "type" through a table that
 * other files extend (filer_server_add_datagram_handler()): the NAT code
 * adds its message family without touching the server. The built-in
 * handler is "probe". */


typedef struct
{
  FilerServerDatagramHandler handler;
  gpointer                   user_data;
  GDestroyNotify             destroy;
} DatagramHandler;

void
_filer_server_datagram_handler_free (gpointer data)
{
  DatagramHandler *handler = data;

  if (handler->destroy != NULL)
    handler->destroy (handler->user_data);
  g_free (handler);
}

void
_filer_server_handle_probe (FilerServer    *self,
                            FilerFrame     *frame,
                            GSocketAddress *from,
                            gpointer        user_data)
{
  g_autoptr(FilerFrame) reply = filer_frame_new ("probe-reply");
  g_autoptr(GError) error = NULL;

  /* The id lets a client pick the server it expects among several
   * answers; the TLS handshake then proves it (docs/protocol.md §2.6). */
  filer_frame_set_uint (reply, "version", 2);
  filer_frame_set_uint (reply, "port", self->port);
  filer_frame_set (reply, "server-id", filer_identity_get_id (self->identity));

  /* Amplification: a probe proves nothing of its source address, so it
   * never gets more bytes back than it has (as the server re-encodes it);
   * clients pad it to 128 bytes (docs/protocol.md §2.6). */
  {
    g_autoptr(GBytes) request = filer_frame_encode (frame, NULL);
    g_autoptr(GBytes) answer = filer_frame_encode (reply, NULL);

    if (request == NULL || answer == NULL || g_bytes_get_size (answer) > g_bytes_get_size (request))
      {
        g_debug ("Not answering a probe shorter than its answer");
        return;
      }
  }

  if (!filer_server_send_datagram (self, reply, from, &error))
    g_debug ("Cannot answer a probe: %s", error->message);
}

/* An exact type first, then the longest "prefix*" registration. */
static DatagramHandler *
lookup_datagram_handler (FilerServer *self,
                         const char  *type)
{
  DatagramHandler *best = g_hash_table_lookup (self->datagram_handlers, type);
  gsize best_length = 0;
  GHashTableIter iter;
  gpointer key, value;

  if (best != NULL)
    return best;

  g_hash_table_iter_init (&iter, self->datagram_handlers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *pattern = key;
      gsize length = strlen (pattern);

      if (length > 0 && pattern[length - 1] == '*' && length - 1 >= best_length &&
          strncmp (type, pattern, length - 1) == 0)
        {
          best = value;
          best_length = length - 1;
        }
    }

  return best;
}

static void
dispatch_datagram (FilerServer    *self,
                   const guint8   *data,
                   gsize           length,
                   GSocketAddress *from)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerFrame) frame = filer_frame_decode_datagram (data, length, MAX_CONTENT_LENGTH, &error);
  DatagramHandler *handler;
  const char *type;

  if (frame == NULL)
    {
      g_debug ("Ignoring a malformed datagram (%" G_GSIZE_FORMAT " bytes): %s", length,
               error->message);
      return;
    }

  type = filer_frame_get_message_type (frame);
  handler = type ? lookup_datagram_handler (self, type) : NULL;
  if (handler == NULL)
    {
      g_debug ("Ignoring a datagram of unknown type “%s”", type ? type : "");
      return;
    }

  handler->handler (self, frame, from, handler->user_data);
}

gboolean
_filer_server_datagram_cb (GSocket        *socket,
                           const guint8   *data,
                           gsize           length,
                           GSocketAddress *from,
                           gpointer        user_data)
{
  FilerServer *self = user_data;

  if (G_IS_INET_SOCKET_ADDRESS (from))
    dispatch_datagram (self, data, length, from);

  return G_SOURCE_CONTINUE;
}

void
filer_server_add_datagram_handler (FilerServer                *self,
                                   const char                 *type,
                                   FilerServerDatagramHandler  handler,
                                   gpointer                    user_data,
                                   GDestroyNotify              destroy)
{
  DatagramHandler *entry;

  g_return_if_fail (FILER_IS_SERVER (self));
  g_return_if_fail (type != NULL);
  g_return_if_fail (handler != NULL);

  entry = g_new0 (DatagramHandler, 1);
  entry->handler = handler;
  entry->user_data = user_data;
  entry->destroy = destroy;
  g_hash_table_insert (self->datagram_handlers, g_strdup (type), entry);
}

gboolean
filer_server_send_datagram (FilerServer     *self,
                            FilerFrame      *frame,
                            GSocketAddress  *to,
                            GError         **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gssize sent;

  g_return_val_if_fail (FILER_IS_SERVER (self), FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (to), FALSE);

  if (self->udp_socket == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "The server is not running");
      return FALSE;
    }

  bytes = filer_frame_encode (frame, error);
  if (bytes == NULL)
    return FALSE;

  /* Non-blocking: a datagram that does not fit now is lost, as UDP may
   * lose it anyway. */
  sent = g_socket_send_to (self->udp_socket, to,
                           g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                           NULL, error);
  return sent >= 0;
}
