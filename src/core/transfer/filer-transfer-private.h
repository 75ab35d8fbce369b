/* filer-transfer-private.h: what the transfer engine (not a view) calls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_TRANSFER_COMPILATION)
# error "filer-transfer-private.h is private to src/core/transfer/."
#endif

#include "filer-transfer.h"

G_BEGIN_DECLS

/* The side that runs a transfer (its sender or receiver) registers itself
 * as its controller: accept/decline/cancel from a view land there. The
 * side clears it
 * when it goes away, after which they do nothing. A sending side has no
 * offer to answer: its accept and decline are NULL. */
typedef struct
{
  void (*accept)  (gpointer            controller,
                   const char * const *paths);
  void (*decline) (gpointer            controller,
                   const char         *reason);
  void (*cancel)  (gpointer            controller);
} FilerTransferController;

FilerTransfer *_filer_transfer_new              (FilerTransferDirection         direction,
                                                 const char                    *id);
void           _filer_transfer_set_controller   (FilerTransfer                 *self,
                                                 const FilerTransferController *controller,
                                                 gpointer                       data);
void           _filer_transfer_set_id           (FilerTransfer                 *self,
                                                 const char                    *id);
void           _filer_transfer_set_state        (FilerTransfer                 *self,
                                                 FilerTransferState             state);
void           _filer_transfer_set_peer         (FilerTransfer                 *self,
                                                 const char                    *peer_id,
                                                 const char                    *peer_name);
void           _filer_transfer_set_path         (FilerTransfer                 *self,
                                                 const char                    *path);
void           _filer_transfer_add_file         (FilerTransfer                 *self,
                                                 FilerTransferFile             *file);
void           _filer_transfer_set_bytes_total  (FilerTransfer                 *self,
                                                 guint64                        bytes_total);
void           _filer_transfer_set_current_file (FilerTransfer                 *self,
                                                 const char                    *path);

/* Hot path: no notify, no allocation; a timer publishes a few times a
 * second. */
static inline void _filer_transfer_add_bytes    (FilerTransfer                 *self,
                                                 guint64                        n);
void           _filer_transfer_add_resumed      (FilerTransfer                 *self,
                                                 guint64                        n);
void           _filer_transfer_file_finished    (FilerTransfer                 *self,
                                                 FilerTransferFile             *file,
                                                 FilerTransferFileStatus        status,
                                                 const char                    *error_message);
void           _filer_transfer_fail             (FilerTransfer                 *self,
                                                 FilerTransferState             state,
                                                 const GError                  *error);

/* Counters the hot path bumps directly. */
typedef struct
{
  guint64 bytes_done;
  guint64 bytes_sent;
} FilerTransferCounters;

FilerTransferCounters *_filer_transfer_get_counters (FilerTransfer            *self);

static inline void
_filer_transfer_add_bytes (FilerTransfer *self,
                           guint64        n)
{
  FilerTransferCounters *counters = _filer_transfer_get_counters (self);

  counters->bytes_done += n;
  counters->bytes_sent += n;
}

G_END_DECLS
