/* filer-transfer-reader-private.h: the sender's file reading and hashing thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_TRANSFER_COMPILATION)
# error "filer-transfer-reader-private.h is private to src/core/transfer/."
#endif

#include <gio/gio.h>

#include "filer-transfer-protocol.h"
#include "filer-transfer-worker.h"

G_BEGIN_DECLS

/* What the reader hands the sender, in file order. A block may start a
 * file (then start_offset says where its data begins: the receiver's
 * offset when the prefix hash matched, else 0), carry data, and end it
 * (then hash is the whole file's hash, in the negotiated algorithm, or error says why reading
 * failed). A small file is one block with all three. */
typedef struct
{
  guint     index;
  gboolean  start;
  guint64   start_offset;
  GBytes   *data;
  gboolean  end;
  char      hash[FILER_HASH_HEX_SIZE];
  GError   *error;
} FilerReadBlock;

void _filer_read_block_free (FilerReadBlock *block);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FilerReadBlock, _filer_read_block_free)

typedef struct _FilerTransferReader FilerTransferReader;

FilerTransferReader *_filer_transfer_reader_new  (FilerHashAlgorithm        algorithm,
                                                  FilerTransferWorkerReady  ready,
                                                  gpointer                  user_data);
void                 _filer_transfer_reader_add  (FilerTransferReader      *self,
                                                  guint                     index,
                                                  const char               *local_path,
                                                  guint64                   size,
                                                  guint64                   offset,
                                                  const char               *prefix_hash);
void                 _filer_transfer_reader_start (FilerTransferReader      *self);
FilerReadBlock      *_filer_transfer_reader_pop  (FilerTransferReader      *self);
void                 _filer_transfer_reader_free (FilerTransferReader      *self);

G_END_DECLS
