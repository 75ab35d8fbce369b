/* filer-frame.h: one frame of the seed's protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* The wire format (docs/protocol.md, "Frames"):
 *
 *   u16 little-endian  H       length of the header in bytes
 *   H bytes            header  UTF-8 "key:value;key:value"
 *   CL bytes           content
 *
 * CL is added by the encoder and consumed by the decoder: callers never
 * set or see it.
 */

#define FILER_FRAME_MAX_HEADER_LENGTH 65535
#define FILER_FRAME_DEFAULT_MAX_CONTENT_LENGTH (16 * 1024 * 1024)

#define FILER_FRAME_ERROR (filer_frame_error_quark ())

/**
 * FilerFrameError:
 * @FILER_FRAME_ERROR_BAD_UTF8: the header is not valid UTF-8
 * @FILER_FRAME_ERROR_MISSING_LENGTH: the header has no CL key
 * @FILER_FRAME_ERROR_BAD_LENGTH: CL is not a decimal number
 * @FILER_FRAME_ERROR_TOO_LARGE: CL is over the connection's limit, or an
 *   encoded header would not fit in 16 bits
 * @FILER_FRAME_ERROR_DUPLICATE_KEY: a key appears twice (ignoring case)
 * @FILER_FRAME_ERROR_BAD_KEY: a pair without ':' or a key that is not a token
 * @FILER_FRAME_ERROR_BAD_VALUE: a malformed percent escape, or one that
 *   decodes to NUL
 * @FILER_FRAME_ERROR_TRUNCATED: the stream ended inside a frame
 *
 * Errors of the frame codec. Each one is a protocol error for one
 * connection only.
 */
typedef enum
{
  FILER_FRAME_ERROR_BAD_UTF8,
  FILER_FRAME_ERROR_MISSING_LENGTH,
  FILER_FRAME_ERROR_BAD_LENGTH,
  FILER_FRAME_ERROR_TOO_LARGE,
  FILER_FRAME_ERROR_DUPLICATE_KEY,
  FILER_FRAME_ERROR_BAD_KEY,
  FILER_FRAME_ERROR_BAD_VALUE,
  FILER_FRAME_ERROR_TRUNCATED,
} FilerFrameError;

GQuark filer_frame_error_quark (void);

#define FILER_TYPE_FRAME (filer_frame_get_type ())

typedef struct _FilerFrame FilerFrame;

GType        filer_frame_get_type        (void) G_GNUC_CONST;
FilerFrame  *filer_frame_new             (const char   *type);
FilerFrame  *filer_frame_ref             (FilerFrame   *self);
void         filer_frame_unref           (FilerFrame   *self);

const char  *filer_frame_get_message_type (FilerFrame  *self);
gboolean     filer_frame_is              (FilerFrame   *self,
                                          const char   *type);

void         filer_frame_set             (FilerFrame   *self,
                                          const char   *key,
                                          const char   *value);
void         filer_frame_set_uint        (FilerFrame   *self,
                                          const char   *key,
                                          guint64       value);
const char  *filer_frame_get             (FilerFrame   *self,
                                          const char   *key);
gboolean     filer_frame_get_uint        (FilerFrame   *self,
                                          const char   *key,
                                          guint64       max,
                                          guint64      *value,
                                          GError      **error);
guint        filer_frame_get_n_keys      (FilerFrame   *self);
const char  *filer_frame_get_key         (FilerFrame   *self,
                                          guint         position);

void         filer_frame_set_content     (FilerFrame   *self,
                                          GBytes       *content);
GBytes      *filer_frame_get_content     (FilerFrame   *self);
gsize        filer_frame_get_content_size (FilerFrame  *self);

GBytes      *filer_frame_encode_header   (FilerFrame   *self,
                                          GError      **error);
GBytes      *filer_frame_encode          (FilerFrame   *self,
                                          GError      **error);
void         filer_frame_pad_to          (FilerFrame   *self,
                                          gsize         size);

char        *filer_frame_escape_value    (const char   *value);
gboolean     filer_frame_is_valid_key    (const char   *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerFrame, filer_frame_unref)

G_END_DECLS
