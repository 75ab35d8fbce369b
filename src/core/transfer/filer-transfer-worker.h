/* filer-transfer-worker.h: one thread that does a sender's or receiver's file I/O
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FilerTransferWorker FilerTransferWorker;

/* Runs in the worker thread, one job at a time, in push order. */
typedef void (*FilerTransferWorkerFunc)  (FilerTransferWorker *worker,
                                          gpointer             job,
                                          gpointer             func_data);
/* Runs on the owner's main context when results are waiting. */
typedef void (*FilerTransferWorkerReady) (gpointer             user_data);

FilerTransferWorker *filer_transfer_worker_new        (const char               *name,
                                                       FilerTransferWorkerFunc   func,
                                                       gpointer                  func_data,
                                                       GDestroyNotify            job_free,
                                                       FilerTransferWorkerReady  ready,
                                                       GDestroyNotify            result_free,
                                                       gpointer                  user_data);
void                 filer_transfer_worker_push       (FilerTransferWorker      *self,
                                                       gpointer                  job);
void                 filer_transfer_worker_post       (FilerTransferWorker      *self,
                                                       gpointer                  result);
gpointer             filer_transfer_worker_pop_result (FilerTransferWorker      *self);
gboolean             filer_transfer_worker_stopping   (FilerTransferWorker      *self);
void                 filer_transfer_worker_free       (FilerTransferWorker      *self,
                                                       gboolean                  drain);

G_END_DECLS
