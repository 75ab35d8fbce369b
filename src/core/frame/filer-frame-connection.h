/* filer-frame-connection.h: frames over any GIOStream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include "filer-frame.h"

G_BEGIN_DECLS

#define FILER_TYPE_FRAME_CONNECTION (filer_frame_connection_get_type ())

G_DECLARE_FINAL_TYPE (FilerFrameConnection, filer_frame_connection, FILER, FRAME_CONNECTION, GObject)

FilerFrameConnection *filer_frame_connection_new                    (GIOStream             *stream);
GIOStream            *filer_frame_connection_get_stream             (FilerFrameConnection  *self);
gsize                 filer_frame_connection_get_max_content_length (FilerFrameConnection  *self);
void                  filer_frame_connection_set_max_content_length (FilerFrameConnection  *self,
                                                                     gsize                  max_content_length);
void                  filer_frame_connection_start                  (FilerFrameConnection  *self);
void                  filer_frame_connection_pause                  (FilerFrameConnection  *self);
void                  filer_frame_connection_resume                 (FilerFrameConnection  *self);
void                  filer_frame_connection_send                   (FilerFrameConnection  *self,
                                                                     FilerFrame            *frame);
void                  filer_frame_connection_send_async             (FilerFrameConnection  *self,
                                                                     FilerFrame            *frame,
                                                                     GCancellable          *cancellable,
                                                                     GAsyncReadyCallback    callback,
                                                                     gpointer               user_data);
gboolean              filer_frame_connection_send_finish            (FilerFrameConnection  *self,
                                                                     GAsyncResult          *result,
                                                                     GError               **error);
gsize                 filer_frame_connection_get_queued_bytes       (FilerFrameConnection  *self);
void                  filer_frame_connection_close                  (FilerFrameConnection  *self);
void                  filer_frame_connection_close_with_error       (FilerFrameConnection  *self,
                                                                     const char            *code,
                                                                     const char            *message);
gboolean              filer_frame_connection_is_closed              (FilerFrameConnection  *self);

G_END_DECLS
