/* filer-transfer-writer.h: the receiver's file writing and hashing thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-transfer-protocol.h"
#include "filer-transfer-worker.h"

G_BEGIN_DECLS

typedef enum
{
  FILER_WRITE_RESULT_PREPARED,      /* entries: offsets and prefix hashes */
  FILER_WRITE_RESULT_FILE_DONE,     /* index, saved_as */
  FILER_WRITE_RESULT_FILE_FAILED,   /* index, error */
  FILER_WRITE_RESULT_FATAL,         /* error: disk full, permission denied */
  FILER_WRITE_RESULT_DRAINED,       /* pending bytes fell under the low mark */
} FilerWriteResultKind;

typedef struct
{
  FilerWriteResultKind  kind;
  guint                 index;
  GArray               *entries;
  char                 *saved_as;
  GError               *error;
} FilerWriteResult;

void filer_write_result_free (FilerWriteResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerWriteResult, filer_write_result_free)

typedef struct _FilerTransferWriter FilerTransferWriter;

FilerTransferWriter *filer_transfer_writer_new         (int                       root_fd,
                                                        const char               *sender_id,
                                                        FilerHashAlgorithm        algorithm,
                                                        FilerTransferWorkerReady  ready,
                                                        gpointer                  user_data);
void                 filer_transfer_writer_prepare     (FilerTransferWriter      *self,
                                                        GPtrArray                *files);
void                 filer_transfer_writer_open        (FilerTransferWriter      *self,
                                                        guint                     index,
                                                        const char               *path,
                                                        guint64                   size,
                                                        guint64                   offset);
void                 filer_transfer_writer_write       (FilerTransferWriter      *self,
                                                        GPtrArray                *chunks,
                                                        gsize                     length);
void                 filer_transfer_writer_finish      (FilerTransferWriter      *self,
                                                        guint                     index,
                                                        const char               *hash,
                                                        const char               *sender_error);
void                 filer_transfer_writer_close       (FilerTransferWriter      *self,
                                                        gboolean                  discard);
gsize                filer_transfer_writer_get_pending (FilerTransferWriter      *self);
void                 filer_transfer_writer_want_drain  (FilerTransferWriter      *self,
                                                        gsize                     low_mark);
FilerWriteResult    *filer_transfer_writer_pop         (FilerTransferWriter      *self);
void                 filer_transfer_writer_free        (FilerTransferWriter      *self,
                                                        gboolean                  drain);

char                *filer_transfer_part_name          (const char               *sender_id,
                                                        const char               *path,
                                                        guint64                   size);

G_END_DECLS
