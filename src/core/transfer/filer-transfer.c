/* filer-transfer.c: one transfer, as a view binds to it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer.h"
#include "filer-transfer-private.h"
#include "filer-transfer-enums.h"
#include "filer-util.h"

/* FilerTransfer is the model only: the sender or receiver that
 * runs it pushes state in through filer-transfer-private.h, and a view's
 * accept/decline/cancel go back out through the controller.
 *
 * Progress is throttled here, in one place: the engine bumps plain
 * counters per chunk (no signal, no allocation) and a timer publishes
 * bytes-done, rate, time-left, current-file and the file counts four
 * times a second while data flows.
 */

#define PUBLISH_INTERVAL_MS 250

struct _FilerTransfer
{
  GObject                        parent_instance;

  char                          *id;
  FilerTransferDirection         direction;
  FilerTransferState             state;
  char                          *peer_id;
  char                          *peer_name;
  char                          *path;
  GListStore                    *files;
  guint                          files_done;
  guint                          files_failed;
  char                          *current_file;
  guint64                        bytes_total;
  guint64                        bytes_resumed;
  FilerTransferCounters          counters;
  GError                        *error;

  /* What was last published, to notify only on change. */
  guint64                        published_bytes_done;
  guint64                        published_bytes_sent;
  guint                          published_files_done;
  guint                          published_files_failed;
  char                          *published_current_file;
  double                         rate;
  gint64                         time_left;

  gint64                         started_us;
  gint64                         finished_us;
  gint64                         last_sample_us;
  guint64                        last_sample_bytes;
  GSource                       *publish_source;

  const FilerTransferController *controller;
  gpointer                       controller_data;
};

G_DEFINE_FINAL_TYPE (FilerTransfer, filer_transfer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_DIRECTION,
  PROP_STATE,
  PROP_PEER_ID,
  PROP_PEER_NAME,
  PROP_PATH,
  PROP_FILES,
  PROP_N_FILES,
  PROP_FILES_DONE,
  PROP_FILES_FAILED,
  PROP_CURRENT_FILE,
  PROP_BYTES_DONE,
  PROP_BYTES_TOTAL,
  PROP_BYTES_RESUMED,
  PROP_BYTES_SENT,
  PROP_RATE,
  PROP_TIME_LEFT,
  PROP_ERROR_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FILE_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
publish (FilerTransfer *self)
{
  GObject *object = G_OBJECT (self);
  gint64 now = g_get_monotonic_time ();

  g_object_freeze_notify (object);

  if (self->counters.bytes_done != self->published_bytes_done)
    {
      self->published_bytes_done = self->counters.bytes_done;
      g_object_notify_by_pspec (object, properties[PROP_BYTES_DONE]);
    }
  if (self->counters.bytes_sent != self->published_bytes_sent)
    {
      self->published_bytes_sent = self->counters.bytes_sent;
      g_object_notify_by_pspec (object, properties[PROP_BYTES_SENT]);
    }
  if (self->files_done != self->published_files_done)
    {
      self->published_files_done = self->files_done;
      g_object_notify_by_pspec (object, properties[PROP_FILES_DONE]);
    }
  if (self->files_failed != self->published_files_failed)
    {
      self->published_files_failed = self->files_failed;
      g_object_notify_by_pspec (object, properties[PROP_FILES_FAILED]);
    }
  if (filer_set_string (&self->published_current_file, self->current_file))
    g_object_notify_by_pspec (object, properties[PROP_CURRENT_FILE]);

  /* Rate: bytes over the wire per second, smoothed so a view does not
   * flicker; time left follows from it. */
  if (self->state == FILER_TRANSFER_STATE_TRANSFERRING && self->last_sample_us != 0 &&
      now > self->last_sample_us + 50 * 1000)
    {
      double seconds = (now - self->last_sample_us) / (double)G_USEC_PER_SEC;
      double instant = (self->counters.bytes_sent - self->last_sample_bytes) / seconds;
      double rate = self->rate == 0 ? instant : 0.6 * self->rate + 0.4 * instant;
      gint64 time_left = -1;

      if (rate > 1)
        {
          guint64 remaining = self->bytes_total > self->counters.bytes_done
                              ? self->bytes_total - self->counters.bytes_done : 0;
          time_left = (gint64)(remaining / rate + 0.5);
        }

      self->rate = rate;
      g_object_notify_by_pspec (object, properties[PROP_RATE]);
      if (time_left != self->time_left)
        {
          self->time_left = time_left;
          g_object_notify_by_pspec (object, properties[PROP_TIME_LEFT]);
        }
    }
  self->last_sample_us = now;
  self->last_sample_bytes = self->counters.bytes_sent;

  g_object_thaw_notify (object);
}

static gboolean
publish_cb (gpointer user_data)
{
  publish (FILER_TRANSFER (user_data));
  return G_SOURCE_CONTINUE;
}

static void
stop_publishing (FilerTransfer *self)
{
  if (self->publish_source != NULL)
    {
      g_source_destroy (self->publish_source);
      g_clear_pointer (&self->publish_source, g_source_unref);
    }
}

static void
filer_transfer_dispose (GObject *object)
{
  FilerTransfer *self = (FilerTransfer *)object;

  stop_publishing (self);
  self->controller = NULL;
  self->controller_data = NULL;

  G_OBJECT_CLASS (filer_transfer_parent_class)->dispose (object);
}

static void
filer_transfer_finalize (GObject *object)
{
  FilerTransfer *self = (FilerTransfer *)object;

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->peer_id, g_free);
  g_clear_pointer (&self->peer_name, g_free);
  g_clear_pointer (&self->path, g_free);
  g_clear_object (&self->files);
  g_clear_pointer (&self->current_file, g_free);
  g_clear_pointer (&self->published_current_file, g_free);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (filer_transfer_parent_class)->finalize (object);
}

static void
filer_transfer_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  FilerTransfer *self = FILER_TRANSFER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PEER_ID:
      g_value_set_string (value, self->peer_id);
      break;
    case PROP_PEER_NAME:
      g_value_set_string (value, self->peer_name);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_FILES:
      g_value_set_object (value, self->files);
      break;
    case PROP_N_FILES:
      g_value_set_uint (value, filer_transfer_get_n_files (self));
      break;
    case PROP_FILES_DONE:
      g_value_set_uint (value, self->published_files_done);
      break;
    case PROP_FILES_FAILED:
      g_value_set_uint (value, self->published_files_failed);
      break;
    case PROP_CURRENT_FILE:
      g_value_set_string (value, self->published_current_file);
      break;
    case PROP_BYTES_DONE:
      g_value_set_uint64 (value, self->published_bytes_done);
      break;
    case PROP_BYTES_TOTAL:
      g_value_set_uint64 (value, self->bytes_total);
      break;
    case PROP_BYTES_RESUMED:
      g_value_set_uint64 (value, self->bytes_resumed);
      break;
    case PROP_BYTES_SENT:
      g_value_set_uint64 (value, self->published_bytes_sent);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_TIME_LEFT:
      g_value_set_int64 (value, self->time_left);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, filer_transfer_get_error_message (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_transfer_class_init (FilerTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = filer_transfer_dispose;
  object_class->finalize = filer_transfer_finalize;
  object_class->get_property = filer_transfer_get_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL,
                       FILER_TYPE_TRANSFER_DIRECTION, FILER_TRANSFER_DIRECTION_SEND, flags);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       FILER_TYPE_TRANSFER_STATE, FILER_TRANSFER_STATE_CONNECTING, flags);
  properties[PROP_PEER_ID] =
    g_param_spec_string ("peer-id", NULL, NULL, NULL, flags);
  properties[PROP_PEER_NAME] =
    g_param_spec_string ("peer-name", NULL, NULL, NULL, flags);
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL, flags);
  properties[PROP_FILES] =
    g_param_spec_object ("files", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_FILES] =
    g_param_spec_uint ("n-files", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_FILES_DONE] =
    g_param_spec_uint ("files-done", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_FILES_FAILED] =
    g_param_spec_uint ("files-failed", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_CURRENT_FILE] =
    g_param_spec_string ("current-file", NULL, NULL, NULL, flags);
  properties[PROP_BYTES_DONE] =
    g_param_spec_uint64 ("bytes-done", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_BYTES_TOTAL] =
    g_param_spec_uint64 ("bytes-total", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_BYTES_RESUMED] =
    g_param_spec_uint64 ("bytes-resumed", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_BYTES_SENT] =
    g_param_spec_uint64 ("bytes-sent", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_RATE] =
    g_param_spec_double ("rate", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  properties[PROP_TIME_LEFT] =
    g_param_spec_int64 ("time-left", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FilerTransfer::file-finished:
   * @self: the transfer
   * @file: the file, now DONE or FAILED
   *
   * Emitted once per accepted file when the receiver has verified it (or
   * it failed), on both sides.
   */
  signals[FILE_FINISHED] =
    g_signal_new ("file-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_TRANSFER_FILE);
}

static void
filer_transfer_init (FilerTransfer *self)
{
  self->files = g_list_store_new (FILER_TYPE_TRANSFER_FILE);
  self->time_left = -1;
}

FilerTransfer *
_filer_transfer_new (FilerTransferDirection  direction,
                     const char             *id)
{
  FilerTransfer *self = g_object_new (FILER_TYPE_TRANSFER, NULL);

  self->direction = direction;
  self->id = g_strdup (id);
  return self;
}

void
_filer_transfer_set_controller (FilerTransfer                 *self,
                                const FilerTransferController *controller,
                                gpointer                       data)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  self->controller = controller;
  self->controller_data = data;
}

/* --- getters --- */

const char *
filer_transfer_get_id (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->id;
}

FilerTransferDirection
filer_transfer_get_direction (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), FILER_TRANSFER_DIRECTION_SEND);
  return self->direction;
}

FilerTransferState
filer_transfer_get_state (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), FILER_TRANSFER_STATE_FAILED);
  return self->state;
}

gboolean
filer_transfer_is_finished (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), TRUE);
  return self->state >= FILER_TRANSFER_STATE_COMPLETED;
}

const char *
filer_transfer_get_peer_id (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->peer_id;
}

const char *
filer_transfer_get_peer_name (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->peer_name;
}

const char *
filer_transfer_get_path (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->path;
}

/**
 * filer_transfer_get_files:
 * @self: a transfer
 *
 * Returns: (transfer none): a #GListModel of #FilerTransferFile, in offer
 *   order
 */
GListModel *
filer_transfer_get_files (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return G_LIST_MODEL (self->files);
}

guint
filer_transfer_get_n_files (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->files));
}

guint
filer_transfer_get_files_done (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->files_done;
}

guint
filer_transfer_get_files_failed (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->files_failed;
}

const char *
filer_transfer_get_current_file (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->published_current_file;
}

guint64
filer_transfer_get_bytes_done (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->published_bytes_done;
}

guint64
filer_transfer_get_bytes_total (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->bytes_total;
}

guint64
filer_transfer_get_bytes_resumed (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->bytes_resumed;
}

guint64
filer_transfer_get_bytes_sent (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->published_bytes_sent;
}

double
filer_transfer_get_rate (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);
  return self->rate;
}

gint64
filer_transfer_get_time_left (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), -1);
  return self->time_left;
}

/**
 * filer_transfer_get_elapsed:
 * @self: a transfer
 *
 * Returns: seconds since data started to flow, until the transfer
 *   finished (0 before)
 */
double
filer_transfer_get_elapsed (FilerTransfer *self)
{
  gint64 end;

  g_return_val_if_fail (FILER_IS_TRANSFER (self), 0);

  if (self->started_us == 0)
    return 0;
  end = self->finished_us != 0 ? self->finished_us : g_get_monotonic_time ();
  return (end - self->started_us) / (double)G_USEC_PER_SEC;
}

const char *
filer_transfer_get_error_message (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->error != NULL ? self->error->message : NULL;
}

const GError *
filer_transfer_get_error (FilerTransfer *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);
  return self->error;
}

/* --- what a view calls --- */

/**
 * filer_transfer_accept:
 * @self: a receiving transfer in state WAITING_FOR_ANSWER
 * @paths: (nullable): the relative paths to accept, or %NULL for all
 *
 * Accepts the offer. The free-space check runs now: an offer that does
 * not fit is declined with a clear reason instead (state DECLINED).
 */
void
filer_transfer_accept (FilerTransfer      *self,
                       const char * const *paths)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));
  g_return_if_fail (self->direction == FILER_TRANSFER_DIRECTION_RECEIVE);

  if (self->state != FILER_TRANSFER_STATE_WAITING_FOR_ANSWER ||
      self->controller == NULL || self->controller->accept == NULL)
    return;
  self->controller->accept (self->controller_data, paths);
}

/**
 * filer_transfer_decline:
 * @self: a receiving transfer in state WAITING_FOR_ANSWER
 * @reason: (nullable): a human-readable reason sent to the sender
 */
void
filer_transfer_decline (FilerTransfer *self,
                        const char    *reason)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));
  g_return_if_fail (self->direction == FILER_TRANSFER_DIRECTION_RECEIVE);

  if (self->state != FILER_TRANSFER_STATE_WAITING_FOR_ANSWER ||
      self->controller == NULL || self->controller->decline == NULL)
    return;
  self->controller->decline (self->controller_data, reason);
}

/**
 * filer_transfer_cancel:
 * @self: a transfer
 *
 * Cancels from this side, at any moment; the peer is told. Does nothing
 * once the transfer is finished.
 */
void
filer_transfer_cancel (FilerTransfer *self)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (filer_transfer_is_finished (self) || self->controller == NULL)
    return;
  self->controller->cancel (self->controller_data);
}

/* --- what the engine calls --- */

void
_filer_transfer_set_id (FilerTransfer *self,
                        const char    *id)
{
  if (filer_set_string (&self->id, id))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

void
_filer_transfer_set_state (FilerTransfer      *self,
                           FilerTransferState  state)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (self->state == state || filer_transfer_is_finished (self))
    return;

  if (state == FILER_TRANSFER_STATE_TRANSFERRING && self->publish_source == NULL)
    {
      self->started_us = g_get_monotonic_time ();
      /* The first tick already has a rate to show. */
      self->last_sample_us = self->started_us;
      self->last_sample_bytes = self->counters.bytes_sent;
      self->publish_source = g_timeout_source_new (PUBLISH_INTERVAL_MS);
      g_source_set_static_name (self->publish_source, "[filer] transfer progress");
      g_source_set_callback (self->publish_source, publish_cb, self, NULL);
      g_source_attach (self->publish_source, g_main_context_get_thread_default ());
    }

  self->state = state;

  if (filer_transfer_is_finished (self))
    {
      stop_publishing (self);
      self->finished_us = g_get_monotonic_time ();
      if (self->started_us == 0)
        self->started_us = self->finished_us;
      publish (self);
      if (self->time_left != -1)
        {
          self->time_left = -1;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIME_LEFT]);
        }
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
_filer_transfer_set_peer (FilerTransfer *self,
                          const char    *peer_id,
                          const char    *peer_name)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (filer_set_string (&self->peer_id, peer_id))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_ID]);
  if (filer_set_string (&self->peer_name, peer_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_NAME]);
}

void
_filer_transfer_set_path (FilerTransfer *self,
                          const char    *path)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (filer_set_string (&self->path, path))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH]);
}

void
_filer_transfer_add_file (FilerTransfer     *self,
                          FilerTransferFile *file)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  g_list_store_append (self->files, file);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_FILES]);
}

/**
 * filer_transfer_get_file:
 * @self: a transfer
 * @index: the file's position in the offer
 *
 * Returns: (transfer none) (nullable): the file
 */
FilerTransferFile *
filer_transfer_get_file (FilerTransfer *self,
                         guint          index)
{
  g_autoptr(FilerTransferFile) file = NULL;

  g_return_val_if_fail (FILER_IS_TRANSFER (self), NULL);

  file = g_list_model_get_item (G_LIST_MODEL (self->files), index);

  /* The store keeps it alive. */
  return file;
}

void
_filer_transfer_set_bytes_total (FilerTransfer *self,
                                 guint64        bytes_total)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (self->bytes_total == bytes_total)
    return;
  self->bytes_total = bytes_total;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_TOTAL]);
}

void
_filer_transfer_set_current_file (FilerTransfer *self,
                                  const char    *path)
{
  /* Published by the timer: with 10,000 small files a notify per file
   * would be 10,000 relayouts. */
  filer_set_string (&self->current_file, path);
}

FilerTransferCounters *
_filer_transfer_get_counters (FilerTransfer *self)
{
  return &self->counters;
}

void
_filer_transfer_add_resumed (FilerTransfer *self,
                             guint64        n)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (n == 0)
    return;
  self->bytes_resumed += n;
  self->counters.bytes_done += n;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_RESUMED]);
}

void
_filer_transfer_file_finished (FilerTransfer           *self,
                               FilerTransferFile       *file,
                               FilerTransferFileStatus  status,
                               const char              *error_message)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));

  if (status == FILER_TRANSFER_FILE_STATUS_DONE)
    self->files_done++;
  else
    self->files_failed++;

  filer_transfer_file_set_error_message (file, error_message);
  filer_transfer_file_set_status (file, status);
  g_signal_emit (self, signals[FILE_FINISHED], 0, file);
}

/**
 * _filer_transfer_fail:
 * @self: a transfer
 * @state: DECLINED, CANCELLED or FAILED
 * @error: what happened; its message becomes error-message
 *
 * Ends the transfer. The first error wins: a later one (the connection
 * closing after a cancel, say) does not overwrite it.
 */
void
_filer_transfer_fail (FilerTransfer      *self,
                      FilerTransferState  state,
                      const GError       *error)
{
  g_return_if_fail (FILER_IS_TRANSFER (self));
  g_return_if_fail (state >= FILER_TRANSFER_STATE_DECLINED);

  if (filer_transfer_is_finished (self))
    return;

  if (self->error == NULL && error != NULL)
    {
      self->error = g_error_copy (error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
    }
  _filer_transfer_set_state (self, state);
}
