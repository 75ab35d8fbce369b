/* filer-socket.c: UDP sockets: buffers, and the one datagram read loop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <sys/socket.h>

#include "filer-socket.h"

#define DATAGRAM_BUFFER_SIZE 65536

void
filer_socket_set_buffers (GSocket *socket)
{
  const int size = 4 * 1024 * 1024;

  g_return_if_fail (G_IS_SOCKET (socket));

  if (!g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUFFORCE, size, NULL))
    g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, size, NULL);
  if (!g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUFFORCE, size, NULL))
    g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, size, NULL);
}

typedef struct
{
  FilerDatagramFunc  func;
  gpointer           user_data;
  GDestroyNotify     destroy;
  guint              max_per_wakeup;
  guint8             buffer[DATAGRAM_BUFFER_SIZE];
} DatagramWatch;

static void
datagram_watch_free (gpointer data)
{
  DatagramWatch *watch = data;

  if (watch->destroy != NULL)
    watch->destroy (watch->user_data);
  g_free (watch);
}

static gboolean
datagram_watch_cb (GSocket      *socket,
                   GIOCondition  condition,
                   gpointer      user_data)
{
  DatagramWatch *watch = user_data;
  GSource *source = g_main_current_source ();
  g_autoptr(GSocket) hold = g_object_ref (socket);

  for (guint i = 0; i < watch->max_per_wakeup; i++)
    {
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      gssize length;

      length = g_socket_receive_from (socket, &from, (char *)watch->buffer,
                                      sizeof watch->buffer, NULL, &error);
      if (length < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("UDP receive failed: %s", error->message);
          break;
        }
      if (from == NULL)
        continue;

      if (watch->func (socket, watch->buffer, length, from, watch->user_data) == G_SOURCE_REMOVE)
        return G_SOURCE_REMOVE;

      /* The callback may have destroyed this watch, or the socket. */
      if (g_source_is_destroyed (source) || g_socket_is_closed (socket))
        return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

GSource *
filer_socket_watch_datagrams (GSocket           *socket,
                              guint              max_per_wakeup,
                              FilerDatagramFunc  func,
                              gpointer           user_data,
                              GDestroyNotify     destroy)
{
  DatagramWatch *watch;
  GSource *source;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);
  g_return_val_if_fail (max_per_wakeup > 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  g_socket_set_blocking (socket, FALSE);

  watch = g_new0 (DatagramWatch, 1);
  watch->func = func;
  watch->user_data = user_data;
  watch->destroy = destroy;
  watch->max_per_wakeup = max_per_wakeup;

  source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (source, (GSourceFunc)(void (*)(void))datagram_watch_cb,
                         watch, datagram_watch_free);
  g_source_attach (source, g_main_context_get_thread_default ());

  return source;
}

void
filer_clear_source (GSource **source)
{
  g_return_if_fail (source != NULL);

  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}
