/* filer-transfer-worker.c: one thread that does a sender's or receiver's file I/O
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-worker.h"

/* The design brief allows threads only for file I/O and hashing. Each
 * sender and each receiver owns one worker: jobs run strictly in order (so a
 * file's bytes are written and hashed in order), results come back to the
 * owner's main context through one GSource whose ready time the thread
 * sets — thread-safe, no per-result allocation on the loop, and
 * destroying the source when the owner goes away means no callback can
 * reach a freed sender or receiver.
 */

struct _FilerTransferWorker
{
  GThread                  *thread;
  GAsyncQueue              *jobs;
  GAsyncQueue              *results;
  GSource                  *wakeup;
  FilerTransferWorkerFunc   func;
  gpointer                  func_data;
  GDestroyNotify            job_free;
  FilerTransferWorkerReady  ready;
  GDestroyNotify            result_free;
  gpointer                  user_data;
  gint                      stopping;
};

/* A sentinel job that ends the thread. */
static int stop_job;

static gboolean
wakeup_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  FilerTransferWorker *self = user_data;

  g_source_set_ready_time (source, -1);
  self->ready (self->user_data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs wakeup_funcs = {
  .dispatch = wakeup_dispatch,
};

static gpointer
worker_thread (gpointer data)
{
  FilerTransferWorker *self = data;

  for (;;)
    {
      gpointer job = g_async_queue_pop (self->jobs);

      if (job == &stop_job)
        break;
      if (!g_atomic_int_get (&self->stopping))
        self->func (self, job, self->func_data);
      if (self->job_free != NULL)
        self->job_free (job);
    }

  return NULL;
}

FilerTransferWorker *
filer_transfer_worker_new (const char               *name,
                           FilerTransferWorkerFunc   func,
                           gpointer                  func_data,
                           GDestroyNotify            job_free,
                           FilerTransferWorkerReady  ready,
                           GDestroyNotify            result_free,
                           gpointer                  user_data)
{
  FilerTransferWorker *self = g_new0 (FilerTransferWorker, 1);

  self->func = func;
  self->func_data = func_data;
  self->job_free = job_free;
  self->ready = ready;
  self->result_free = result_free;
  self->user_data = user_data;
  self->jobs = g_async_queue_new ();
  self->results = g_async_queue_new_full (result_free);

  self->wakeup = g_source_new (&wakeup_funcs, sizeof (GSource));
  g_source_set_static_name (self->wakeup, "[filer] transfer worker");
  g_source_set_callback (self->wakeup, NULL, self, NULL);
  g_source_set_ready_time (self->wakeup, -1);
  g_source_attach (self->wakeup, g_main_context_get_thread_default ());

  self->thread = g_thread_new (name, worker_thread, self);
  return self;
}

void
filer_transfer_worker_push (FilerTransferWorker *self,
                            gpointer             job)
{
  g_async_queue_push (self->jobs, job);
}

/* From the worker thread. */
void
filer_transfer_worker_post (FilerTransferWorker *self,
                            gpointer             result)
{
  g_async_queue_push (self->results, result);
  g_source_set_ready_time (self->wakeup, 0);
}

gpointer
filer_transfer_worker_pop_result (FilerTransferWorker *self)
{
  return g_async_queue_try_pop (self->results);
}

/* A job that loops (reading a whole file list) checks this. */
gboolean
filer_transfer_worker_stopping (FilerTransferWorker *self)
{
  return g_atomic_int_get (&self->stopping);
}

/* Waits for the thread and drops unread results. With @drain the jobs
 * still queued run first (a receiver keeps every byte that arrived, for
 * resume); without, they are skipped and a looping job is asked to stop. */
void
filer_transfer_worker_free (FilerTransferWorker *self,
                            gboolean             drain)
{
  if (self == NULL)
    return;

  if (!drain)
    g_atomic_int_set (&self->stopping, TRUE);
  g_async_queue_push (self->jobs, &stop_job);
  g_thread_join (self->thread);

  g_source_destroy (self->wakeup);
  g_source_unref (self->wakeup);
  g_async_queue_unref (self->jobs);
  g_async_queue_unref (self->results);
  g_free (self);
}
