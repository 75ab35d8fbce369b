/* filer-stream-wakers.c: what the datagram-backed GIOStreams share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-stream-wakers-private.h"

struct _FilerWakers
{
  GList *list;   /* Waker *, removed when they finalize */
};

typedef struct
{
  GSource source;
  FilerWakers *wakers;  /* NULL once the set is gone */
  GIOCondition condition;
} Waker;

static gboolean
waker_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  /* Edge-triggered: the pollable source's user retries the operation
   * and asks for a new source if it would still block. */
  g_source_set_ready_time (source, -1);

  return callback ? callback (user_data) : G_SOURCE_CONTINUE;
}

static void
waker_finalize (GSource *source)
{
  Waker *waker = (Waker *)source;

  if (waker->wakers)
    waker->wakers->list = g_list_remove (waker->wakers->list, waker);
}

/* g_pollable_source_new_full() puts a dummy closure on its child, which
 * GObject allows only on sources that say how to call one. */
static gboolean
waker_closure_callback (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs waker_funcs = {
  .dispatch = waker_dispatch,
  .finalize = waker_finalize,
  .closure_callback = waker_closure_callback,
};

FilerWakers *
_filer_wakers_new (void)
{
  return g_new0 (FilerWakers, 1);
}

void
_filer_wakers_free (FilerWakers *wakers)
{
  for (GList *l = wakers->list; l; l = l->next)
    {
      Waker *waker = l->data;

      waker->wakers = NULL;
      if (!g_source_is_destroyed (&waker->source))
        g_source_set_ready_time (&waker->source, 0);
    }
  g_list_free (wakers->list);
  g_free (wakers);
}

void
_filer_wakers_wake (FilerWakers  *wakers,
                    GIOCondition  condition)
{
  for (GList *l = wakers->list; l; l = l->next)
    {
      Waker *waker = l->data;

      if ((waker->condition & condition) && !g_source_is_destroyed (&waker->source))
        g_source_set_ready_time (&waker->source, 0);
    }
}

GSource *
_filer_wakers_create (FilerWakers  *wakers,
                      GIOCondition  condition,
                      gboolean      now)
{
  GSource *source = g_source_new (&waker_funcs, sizeof (Waker));
  Waker *waker = (Waker *)source;

  g_source_set_static_name (source, "Filer stream waker");
  waker->wakers = wakers;
  waker->condition = condition;
  wakers->list = g_list_prepend (wakers->list, waker);

  if (now)
    g_source_set_ready_time (source, 0);

  return source;
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
}

gboolean
_filer_stream_wait (GIOStream             *stream,
                    const FilerStreamOps  *ops,
                    GIOCondition           condition,
                    GCancellable          *cancellable,
                    GError               **error)
{
  g_autoptr(GSource) cancel_source = NULL;
  g_autoptr(GIOStream) hold = g_object_ref (stream);
  GMainContext *context = ops->get_context (stream);

  if (!g_main_context_acquire (context))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "Blocking I/O on a UDP stream must run in its main context's thread");
      return FALSE;
    }

  if (cancellable)
    {
      cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (cancel_source, G_SOURCE_FUNC (cancelled_cb), NULL, NULL);
      g_source_attach (cancel_source, context);
    }

  while (!ops->check (stream, condition) && !g_cancellable_is_cancelled (cancellable))
    g_main_context_iteration (context, TRUE);

  if (cancel_source)
    g_source_destroy (cancel_source);
  g_main_context_release (context);

  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

gboolean
_filer_stream_in_owner_thread (GIOStream            *stream,
                               const FilerStreamOps *ops)
{
  return g_thread_self () == ops->get_thread (stream)
         || g_main_context_is_owner (ops->get_context (stream));
}

/* --- blocking I/O from another thread --------------------------------- */

typedef struct
{
  GMutex mutex;
  GCond cond;
  gboolean done;
  GMainContext *context;
  GObject *half;
  void *buffer;
  gsize count;
  GCancellable *cancellable;
  gssize result;
  GError *error;
} Marshal;

static gboolean marshal_attempt (gpointer data);

static gboolean
marshal_ready_cb (GObject  *pollable,
                  gpointer  data)
{
  return marshal_attempt (data);
}

/* In the stream's thread: one non-blocking attempt; when it would block,
 * again once the half is ready. The other thread's Marshal is not touched
 * after done is set. */
static gboolean
marshal_attempt (gpointer data)
{
  Marshal *m = data;
  gboolean input = G_IS_POLLABLE_INPUT_STREAM (m->half);
  GError *error = NULL;
  gssize n;

  if (g_cancellable_set_error_if_cancelled (m->cancellable, &error))
    n = -1;
  else if (input)
    n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (m->half), m->buffer, m->count,
                                                  NULL, &error);
  else
    n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (m->half), m->buffer, m->count,
                                                    NULL, &error);

  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_autoptr(GSource) source = NULL;

      g_clear_error (&error);
      source = input ? g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (m->half), m->cancellable)
                     : g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (m->half), m->cancellable);
      g_source_set_callback (source, G_SOURCE_FUNC (marshal_ready_cb), m, NULL);
      g_source_attach (source, m->context);
      return G_SOURCE_REMOVE;
    }

  g_mutex_lock (&m->mutex);
  m->result = n;
  m->error = error;
  m->done = TRUE;
  g_cond_signal (&m->cond);
  g_mutex_unlock (&m->mutex);
  return G_SOURCE_REMOVE;
}

gssize
_filer_stream_io_from_thread (GIOStream            *stream,
                              const FilerStreamOps *ops,
                              GObject              *half,
                              void                 *buffer,
                              gsize                 count,
                              GCancellable         *cancellable,
                              GError              **error)
{
  g_autoptr(GObject) hold_half = g_object_ref (half);
  g_autoptr(GIOStream) hold = g_object_ref (stream);
  g_autoptr(GSource) idle = NULL;
  Marshal m = { 0, };

  g_mutex_init (&m.mutex);
  g_cond_init (&m.cond);
  m.context = ops->get_context (stream);
  m.half = half;
  m.buffer = buffer;
  m.count = count;
  m.cancellable = cancellable;

  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, marshal_attempt, &m, NULL);
  g_source_attach (idle, m.context);

  g_mutex_lock (&m.mutex);
  while (!m.done)
    g_cond_wait (&m.cond, &m.mutex);
  g_mutex_unlock (&m.mutex);

  g_mutex_clear (&m.mutex);
  g_cond_clear (&m.cond);
  if (m.error)
    g_propagate_error (error, m.error);
  return m.result;
}

