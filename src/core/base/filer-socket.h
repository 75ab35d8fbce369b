/* filer-socket.h: UDP sockets: buffers, and the one datagram read loop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* Socket buffers for a window's worth of datagrams in flight (4 MiB each
 * way): a burst that overflows them is lost, and a stream engine recovers
 * from mass loss slowly. Uses the FORCE variants where allowed (root). */
void       filer_socket_set_buffers          (GSocket          *socket);

/* Called once for each datagram read. @from is the sender (never NULL;
 * not always an inet address). Return G_SOURCE_CONTINUE to go on reading,
 * G_SOURCE_REMOVE to destroy the watch (the callback may also destroy it,
 * or the socket's owner, itself: the loop stops reading at once). */
typedef gboolean (*FilerDatagramFunc) (GSocket         *socket,
                                       const guint8    *data,
                                       gsize            length,
                                       GSocketAddress  *from,
                                       gpointer         user_data);

/* Puts @socket into non-blocking mode and watches it on the thread-default
 * main context: each time it is readable, reads up to @max_per_wakeup
 * datagrams (a flood must not starve the rest of the loop), stopping at
 * the first would-block, and hands each to @func. This is the only loop
 * in core that reads datagrams; it never blocks. Datagrams longer than
 * 65,535 bytes cannot exist, so @data is always whole.
 *
 * Returns the attached source (transfer full): g_source_destroy() and
 * g_source_unref() it, or use filer_clear_source(), to stop watching. */
GSource   *filer_socket_watch_datagrams      (GSocket          *socket,
                                              guint             max_per_wakeup,
                                              FilerDatagramFunc func,
                                              gpointer          user_data,
                                              GDestroyNotify    destroy);

/* Destroys and unrefs *@source, if any, and sets it to NULL. */
void       filer_clear_source                (GSource         **source);

G_END_DECLS
