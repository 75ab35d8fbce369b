/* filer-transfer-receiver.c: the receiving side of one transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-receiver.h"
#include "filer-transfer-private.h"
#include "filer-transfer-protocol.h"
#include "filer-transfer-testing.h"
#include "filer-transfer-writer.h"

#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Runs the receiver's half of docs/protocol.md §3 on a connection whose
 * hello is done. The peer is hostile until proven otherwise: every frame
 * is checked against what this state allows (the offer's names by
 * filer_safe_path_check(), chunks against the announced sizes, files in
 * accepted order), and anything else ends the connection with a protocol
 * error — never a warning, never a crash.
 *
 * Chunks are batched (256 KiB) and handed to the writer thread, which
 * writes and hashes them in order. When the disk is slower than the
 * network, reading pauses at 16 MiB queued and resumes at 4 MiB, so TCP
 * itself holds the sender back and memory stays flat.
 *
 * No state waits forever on a silent sender (§3.12): the offer must come
 * within FILER_TRANSFER_OFFER_TIMEOUT_MS of the hellos, and while an
 * accepted file is still to come the sender may be silent at most
 * FILER_TRANSFER_IDLE_TIMEOUT_MS between frames. Deciding (the user's
 * answer) has no deadline here, and neither has the wait for our own
 * writer after the last `end`, nor a pause of our own reading.
 */

#define BATCH_SIZE      (256 * 1024)
#define PAUSE_HIGH_MARK (16 * 1024 * 1024)
#define PAUSE_LOW_MARK  (4 * 1024 * 1024)
#define LINGER_MS       FILER_TRANSFER_LINGER_MS

/* The caps of §3.12 count every receiver of the process (Filer runs one
 * transfer service), on the main context. */
typedef enum
{
  COUNTED_NONE,
  COUNTED_UNANSWERED,   /* waiting for the offer, or for the user */
  COUNTED_RECEIVING,
} Counted;

static guint n_unanswered;
static guint n_receiving;

static guint offer_timeout_ms = FILER_TRANSFER_OFFER_TIMEOUT_MS;
static guint idle_timeout_ms = FILER_TRANSFER_IDLE_TIMEOUT_MS;

void
filer_transfer_testing_set_deadlines (guint offer_ms,
                                      guint idle_ms)
{
  offer_timeout_ms = offer_ms > 0 ? offer_ms : FILER_TRANSFER_OFFER_TIMEOUT_MS;
  idle_timeout_ms = idle_ms > 0 ? idle_ms : FILER_TRANSFER_IDLE_TIMEOUT_MS;
}

typedef enum
{
  FILE_OFFERED,
  FILE_ACCEPTED,
  FILE_STARTED,
  FILE_ENDED,
  FILE_REPORTED,
} FileState;

struct _FilerTransferReceiver
{
  GObject               parent_instance;

  FilerFrameConnection *connection;
  FilerTransfer        *transfer;
  FilerTransferWriter  *writer;
  int                   download_fd;
  FilerFreeSpaceFunc    free_space;
  gpointer              free_space_data;

  FilerHashAlgorithm    hash_algorithm;   /* negotiated in the offer/accept */
  guint                 n_files;
  guint8               *state;
  guint64              *offsets;
  guint                 n_accepted;
  guint                 n_ended;
  guint                 n_results;
  gint64                last_started;

  /* The file whose chunks are arriving. */
  gint64                current;
  guint64               received;
  guint64               size;
  GPtrArray            *batch;
  gsize                 batch_length;
  gboolean              paused;

  gboolean              answering;
  gulong                frame_handler;
  gulong                closed_handler;
  guint                 linger_source;

  /* The deadline on the sender: the offer's, then the idle one. */
  guint                 deadline_source;
  guint                 offer_deadline_ms;
  guint                 idle_deadline_ms;
  gint64                last_frame;     /* monotonic µs */
  Counted               counted;
  gboolean              done;
};

G_DEFINE_FINAL_TYPE (FilerTransferReceiver, filer_transfer_receiver, G_TYPE_OBJECT)

enum {
  OFFER,
  DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void writer_ready_cb (gpointer user_data);
static void update_idle_deadline (FilerTransferReceiver *self);

gboolean
filer_transfer_default_free_space (int       dir_fd,
                                   guint64  *free_bytes,
                                   gpointer  user_data)
{
  struct statvfs st;

  if (fstatvfs (dir_fd, &st) < 0)
    return FALSE;
  *free_bytes = (guint64)st.f_bavail * st.f_frsize;
  return TRUE;
}

static void
free_batch (FilerTransferReceiver *self)
{
  g_ptr_array_set_size (self->batch, 0);
  self->batch_length = 0;
}

static void
flush_batch (FilerTransferReceiver *self)
{
  if (self->batch->len == 0 || self->writer == NULL)
    return;

  filer_transfer_writer_write (self->writer, g_steal_pointer (&self->batch), self->batch_length);
  self->batch = g_ptr_array_new_full (BATCH_SIZE / FILER_TRANSFER_CHUNK_SIZE + 1,
                                      (GDestroyNotify)g_bytes_unref);
  self->batch_length = 0;

  if (!self->paused && filer_transfer_writer_get_pending (self->writer) > PAUSE_HIGH_MARK)
    {
      self->paused = TRUE;
      filer_frame_connection_pause (self->connection);
      filer_transfer_writer_want_drain (self->writer, PAUSE_LOW_MARK);
      update_idle_deadline (self);
    }
}

/* After we declined or cancelled, the sender may still be streaming:
 * closing now would reset the connection before it reads why. Keep
 * reading (and dropping) until it closes, for a few seconds at most. */
static gboolean
linger_cb (gpointer user_data)
{
  FilerTransferReceiver *self = user_data;

  self->linger_source = 0;
  filer_frame_connection_close (self->connection);
  return G_SOURCE_REMOVE;
}

static void
linger (FilerTransferReceiver *self)
{
  if (self->paused)
    {
      self->paused = FALSE;
      filer_frame_connection_resume (self->connection);
    }
  if (self->linger_source == 0)
    self->linger_source = g_timeout_add (LINGER_MS, linger_cb, self);
}

static void
protocol_violation (FilerTransferReceiver *self,
                    const char            *message)
{
  g_debug ("Transfer %s: the sender broke the protocol: %s",
           filer_transfer_get_id (self->transfer), message);
  /* Bytes from a peer that breaks the rules are not worth resuming. */
  free_batch (self);
  if (self->writer != NULL)
    filer_transfer_writer_close (self->writer, TRUE);
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                                    (char *)message });
  filer_frame_connection_close_with_error (self->connection, "protocol", message);
}

/* --- caps --- */

static void
count_as (FilerTransferReceiver *self,
          Counted                group)
{
  if (self->counted == COUNTED_UNANSWERED)
    n_unanswered--;
  else if (self->counted == COUNTED_RECEIVING)
    n_receiving--;
  self->counted = group;
  if (group == COUNTED_UNANSWERED)
    n_unanswered++;
  else if (group == COUNTED_RECEIVING)
    n_receiving++;
}

static void linger (FilerTransferReceiver *self);

/* Over a cap: the sender learns it (`busy`) and may try later; we linger
 * so that it reads the error rather than a reset. */
static void
refuse_busy (FilerTransferReceiver *self,
             const char            *message)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("error");

  g_debug ("Refusing a transfer connection: %s", message);
  filer_frame_set (frame, "code", filer_transfer_error_to_wire (FILER_TRANSFER_ERROR_BUSY));
  filer_frame_set (frame, "message", message);
  filer_frame_connection_send (self->connection, frame);
  /* No file is open yet: a partial file from before stays, for a resume
   * when there is room (closed_cb frees the writer). */
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_BUSY,
                                    (char *)message });
  count_as (self, COUNTED_NONE);
  linger (self);
}

/* --- deadlines --- */

static void
timed_out (FilerTransferReceiver *self,
           const char            *message)
{
  g_debug ("Transfer %s: %s", filer_transfer_get_id (self->transfer), message);
  /* What arrived stays in its partial file, for a resume: a stall is no
   * broken rule. closed_cb flushes the batch. */
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_TIMED_OUT,
                                    (char *)message });
  filer_frame_connection_close_with_error (self->connection,
                                           filer_transfer_error_to_wire (FILER_TRANSFER_ERROR_TIMED_OUT),
                                           message);
}

static gboolean
offer_deadline_cb (gpointer user_data)
{
  FilerTransferReceiver *self = user_data;
  g_autofree char *message = g_strdup_printf ("The sender sent no offer within %g s of its hello",
                                              self->offer_deadline_ms / 1000.0);

  self->deadline_source = 0;
  if (!filer_transfer_is_finished (self->transfer))
    timed_out (self, message);
  return G_SOURCE_REMOVE;
}

static gboolean idle_deadline_cb (gpointer user_data);

static void
arm_idle_deadline (FilerTransferReceiver *self,
                   guint                  ms)
{
  g_clear_handle_id (&self->deadline_source, g_source_remove);
  self->deadline_source = g_timeout_add (ms, idle_deadline_cb, self);
}

/* Frames only note their time (the hot path); the timer, when it fires,
 * looks whether the silence really lasted and sleeps on otherwise. */
static gboolean
idle_deadline_cb (gpointer user_data)
{
  FilerTransferReceiver *self = user_data;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_frame) / 1000;
  g_autofree char *message = NULL;

  self->deadline_source = 0;
  if (filer_transfer_is_finished (self->transfer))
    return G_SOURCE_REMOVE;
  if (silent_ms < self->idle_deadline_ms)
    {
      arm_idle_deadline (self, self->idle_deadline_ms - (guint)silent_ms);
      return G_SOURCE_REMOVE;
    }

  message = g_strdup_printf ("The sender sent nothing for %g s in the middle of the transfer",
                             self->idle_deadline_ms / 1000.0);
  timed_out (self, message);
  return G_SOURCE_REMOVE;
}

/* The idle deadline runs while the sender owes us frames and we read
 * them: not while we paused reading, not once every accepted file ended. */
static void
update_idle_deadline (FilerTransferReceiver *self)
{
  gboolean owed = filer_transfer_get_state (self->transfer) == FILER_TRANSFER_STATE_TRANSFERRING &&
                  !filer_transfer_is_finished (self->transfer) &&
                  self->n_ended < self->n_accepted && !self->paused;

  if (!owed)
    g_clear_handle_id (&self->deadline_source, g_source_remove);
  else if (self->deadline_source == 0)
    {
      self->last_frame = g_get_monotonic_time ();
      arm_idle_deadline (self, self->idle_deadline_ms);
    }
}

static void
send_decline (FilerTransferReceiver *self,
              FilerTransferError     code,
              const char            *message)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("decline");

  filer_frame_set (frame, "transfer", filer_transfer_get_id (self->transfer));
  filer_frame_set (frame, "code", filer_transfer_error_to_wire (code));
  filer_frame_set (frame, "message", message);
  filer_frame_connection_send (self->connection, frame);
}

/* --- the offer --- */

static void
handle_offer (FilerTransferReceiver *self,
              FilerFrame            *frame)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL;
  guint64 n_files = 0, size = 0;
  const char *id = filer_frame_get (frame, "transfer");

  /* The user may take as long as they like to answer. */
  g_clear_handle_id (&self->deadline_source, g_source_remove);   /* no deadline while deciding */

  if (id == NULL || *id == '\0' || strlen (id) > 64 ||
      !filer_frame_get_uint (frame, "files", G_MAXINT64, &n_files, NULL) ||
      !filer_frame_get_uint (frame, "size", G_MAXINT64, &size, NULL))
    {
      protocol_violation (self, "The offer’s header is incomplete");
      return;
    }

  _filer_transfer_set_id (self->transfer, id);

  if (!filer_transfer_choose_hash (filer_frame_get (frame, "hashes"), &self->hash_algorithm))
    {
      protocol_violation (self, "The offer lists no integrity hash this receiver allows");
      return;
    }

  files = filer_transfer_offer_from_json (filer_frame_get_content (frame), n_files, size, &error);
  if (files == NULL)
    {
      if (g_error_matches (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME))
        {
          g_autoptr(GError) shown = NULL;

          g_debug ("Transfer %s: refused an offer: %s", id, error->message);
          send_decline (self, FILER_TRANSFER_ERROR_UNSAFE_NAME, error->message);
          shown = g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME,
                               "Refused an offer from %s: %s",
                               filer_transfer_get_peer_name (self->transfer), error->message);
          _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED, shown);
          linger (self);
        }
      else
        protocol_violation (self, error->message);
      return;
    }

  self->n_files = files->len;
  self->state = g_new0 (guint8, MAX (files->len, 1));
  self->offsets = g_new0 (guint64, MAX (files->len, 1));
  for (guint i = 0; i < files->len; i++)
    _filer_transfer_add_file (self->transfer, g_ptr_array_index (files, i));
  _filer_transfer_set_bytes_total (self->transfer, size);

  self->writer = filer_transfer_writer_new (self->download_fd,
                                            filer_transfer_get_peer_id (self->transfer),
                                            self->hash_algorithm,
                                            writer_ready_cb, self);
  _filer_transfer_set_state (self->transfer, FILER_TRANSFER_STATE_WAITING_FOR_ANSWER);
  g_signal_emit (self, signals[OFFER], 0);
}

/* --- the answer --- */

static void
send_accept (FilerTransferReceiver *self,
             GArray                *entries)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("accept");
  g_autoptr(GBytes) content = NULL;
  guint64 needed = 0, total = 0, available = 0;

  if (n_receiving >= FILER_TRANSFER_MAX_RECEIVING)
    {
      refuse_busy (self, "The receiver is receiving as many transfers as it takes; try again later");
      return;
    }

  for (guint i = 0; i < entries->len; i++)
    {
      const FilerAcceptEntry *entry = &g_array_index (entries, FilerAcceptEntry, i);
      guint64 size = filer_transfer_file_get_size (filer_transfer_get_file (self->transfer, entry->index));

      needed += size - entry->offset;
      total += size;
    }

  if (self->free_space (self->download_fd, &available, self->free_space_data) &&
      needed > available)
    {
      g_autofree char *needed_text = g_format_size (needed);
      g_autofree char *available_text = g_format_size (available);
      g_autofree char *message = g_strdup_printf ("Not enough free space: the files need %s, "
                                                  "only %s is free", needed_text, available_text);

      send_decline (self, FILER_TRANSFER_ERROR_NO_SPACE, message);
      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_DECLINED,
                            &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_NO_SPACE, message });
      linger (self);
      return;
    }

  for (guint i = 0; i < entries->len; i++)
    {
      const FilerAcceptEntry *entry = &g_array_index (entries, FilerAcceptEntry, i);

      self->state[entry->index] = FILE_ACCEPTED;
      self->offsets[entry->index] = entry->offset;
    }
  self->n_accepted = entries->len;
  for (guint i = 0; i < self->n_files; i++)
    if (self->state[i] == FILE_OFFERED)
      filer_transfer_file_set_status (filer_transfer_get_file (self->transfer, i),
                                      FILER_TRANSFER_FILE_STATUS_SKIPPED);

  content = filer_transfer_accept_to_json ((const FilerAcceptEntry *)(gpointer)entries->data,
                                          entries->len, self->hash_algorithm);
  filer_frame_set (frame, "transfer", filer_transfer_get_id (self->transfer));
  filer_frame_set_uint (frame, "files", entries->len);
  filer_frame_set (frame, "hash", filer_hash_algorithm_to_string (self->hash_algorithm));
  filer_frame_set_content (frame, content);
  filer_frame_connection_send (self->connection, frame);

  _filer_transfer_set_bytes_total (self->transfer, total);
  _filer_transfer_set_state (self->transfer, FILER_TRANSFER_STATE_TRANSFERRING);
  count_as (self, COUNTED_RECEIVING);
  update_idle_deadline (self);
}

static void
controller_accept (gpointer            controller,
                   const char * const *paths)
{
  FilerTransferReceiver *self = controller;
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);

  if (self->answering)
    return;

  for (guint i = 0; i < self->n_files; i++)
    {
      FilerTransferFile *file = filer_transfer_get_file (self->transfer, i);

      if (paths == NULL || g_strv_contains (paths, filer_transfer_file_get_path (file)))
        g_ptr_array_add (accepted, g_object_ref (file));
    }

  self->answering = TRUE;
  if (accepted->len == 0)
    {
      send_decline (self, FILER_TRANSFER_ERROR_DECLINED, "No file was accepted");
      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_DECLINED,
                            &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_DECLINED,
                                        (char *)"No file was accepted" });
      linger (self);
      return;
    }

  /* The writer looks for partial files (and hashes them) first; the
   * answer goes out when it reports back. */
  filer_transfer_writer_prepare (self->writer, accepted);
}

static void
controller_decline (gpointer    controller,
                    const char *reason)
{
  FilerTransferReceiver *self = controller;
  const char *message = reason != NULL && *reason ? reason : "The receiver declined";

  if (self->answering)
    return;
  self->answering = TRUE;

  send_decline (self, FILER_TRANSFER_ERROR_DECLINED, message);
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_DECLINED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_DECLINED,
                                    (char *)message });
  linger (self);
}

static void
controller_cancel (gpointer controller)
{
  FilerTransferReceiver *self = controller;
  g_autoptr(FilerFrame) frame = filer_frame_new ("cancel");

  filer_frame_set (frame, "message", "The receiver cancelled");
  filer_frame_connection_send (self->connection, frame);

  free_batch (self);
  if (self->writer != NULL)
    filer_transfer_writer_close (self->writer, TRUE);
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_CANCELLED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CANCELLED,
                                    (char *)"Cancelled" });
  linger (self);
}

static const FilerTransferController receiver_controller = {
  controller_accept,
  controller_decline,
  controller_cancel,
};

/* --- data --- */

static void
handle_file (FilerTransferReceiver *self,
             FilerFrame            *frame)
{
  FilerTransferFile *file;
  guint64 index, offset;

  guint64 next = self->last_started + 1;

  /* Files come in accepted order, none skipped: each gets a result. */
  while (next < self->n_files && self->state[next] != FILE_ACCEPTED)
    next++;

  if (self->current >= 0 || self->n_files == 0 ||
      !filer_frame_get_uint (frame, "index", self->n_files - 1, &index, NULL) ||
      !filer_frame_get_uint (frame, "offset", G_MAXUINT64, &offset, NULL) ||
      index != next || (offset != 0 && offset != self->offsets[index]))
    {
      protocol_violation (self, "A file started out of order or at an offset we did not offer");
      return;
    }

  file = filer_transfer_get_file (self->transfer, index);
  self->state[index] = FILE_STARTED;
  self->last_started = index;
  self->current = index;
  self->received = offset;
  self->size = filer_transfer_file_get_size (file);

  filer_transfer_writer_open (self->writer, index, filer_transfer_file_get_path (file),
                              self->size, offset);
  _filer_transfer_set_current_file (self->transfer, filer_transfer_file_get_path (file));
  filer_transfer_file_set_offset (file, offset);
  filer_transfer_file_set_status (file, FILER_TRANSFER_FILE_STATUS_TRANSFERRING);
  _filer_transfer_add_resumed (self->transfer, offset);
}

static void
handle_chunk (FilerTransferReceiver *self,
              FilerFrame            *frame)
{
  GBytes *content = filer_frame_get_content (frame);
  gsize length = g_bytes_get_size (content);

  if (self->current < 0 || length == 0 || length > FILER_TRANSFER_CHUNK_SIZE ||
      self->received + length > self->size)
    {
      protocol_violation (self, "A chunk outside a file, or past its announced size");
      return;
    }

  g_ptr_array_add (self->batch, g_bytes_ref (content));
  self->batch_length += length;
  self->received += length;

  _filer_transfer_add_bytes (self->transfer, length);

  if (self->batch_length >= BATCH_SIZE)
    flush_batch (self);
}

static void
handle_end (FilerTransferReceiver *self,
            FilerFrame            *frame)
{
  const char *hash = filer_frame_get (frame, filer_hash_algorithm_to_string (self->hash_algorithm));
  const char *code = filer_frame_get (frame, "code");
  guint64 index;

  if (self->current < 0 || self->n_files == 0 ||
      !filer_frame_get_uint (frame, "index", self->n_files - 1, &index, NULL) ||
      (gint64)index != self->current)
    {
      protocol_violation (self, "A file ended that had not started");
      return;
    }

  if (code == NULL && (!filer_hash_is_hex (self->hash_algorithm, hash) || self->received != self->size))
    {
      /* A file is complete when its announced bytes arrived, no sooner. */
      protocol_violation (self, "A file ended before its announced size, or without a hash");
      return;
    }

  flush_batch (self);
  if (code != NULL)
    {
      const char *message = filer_frame_get (frame, "message");
      filer_transfer_writer_finish (self->writer, index, NULL, message != NULL ? message : code);
    }
  else
    filer_transfer_writer_finish (self->writer, index, hash, NULL);

  self->state[index] = FILE_ENDED;
  self->current = -1;
  self->n_ended++;
  update_idle_deadline (self);
}

/* --- what the writer reports --- */

static void
finish_if_complete (FilerTransferReceiver *self)
{
  if (self->n_results < self->n_accepted)
    return;

  if (filer_transfer_get_files_failed (self->transfer) == 0)
    _filer_transfer_set_state (self->transfer, FILER_TRANSFER_STATE_COMPLETED);
  else
    {
      g_autofree char *message = g_strdup_printf ("%u of %u files failed",
                                                  filer_transfer_get_files_failed (self->transfer),
                                                  self->n_accepted);
      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED,
                            &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_VERIFY_FAILED,
                                        message });
    }
  filer_frame_connection_close (self->connection);
}

static void
report_file (FilerTransferReceiver *self,
             FilerWriteResult      *result)
{
  FilerTransferFile *file = filer_transfer_get_file (self->transfer, result->index);
  g_autoptr(FilerFrame) frame = filer_frame_new ("result");

  self->state[result->index] = FILE_REPORTED;
  self->n_results++;

  filer_frame_set_uint (frame, "index", result->index);
  if (result->kind == FILER_WRITE_RESULT_FILE_DONE)
    {
      filer_frame_set (frame, "status", "ok");
      filer_frame_set (frame, "name", result->saved_as);
      filer_transfer_file_set_saved_as (file, result->saved_as);
      _filer_transfer_file_finished (self->transfer, file, FILER_TRANSFER_FILE_STATUS_DONE, NULL);
    }
  else
    {
      filer_frame_set (frame, "status", "failed");
      filer_frame_set (frame, "code", filer_transfer_error_to_wire (result->error->code));
      filer_frame_set (frame, "message", result->error->message);
      g_debug ("Transfer %s: %s", filer_transfer_get_id (self->transfer), result->error->message);
      _filer_transfer_file_finished (self->transfer, file, FILER_TRANSFER_FILE_STATUS_FAILED,
                                     result->error->message);
    }
  filer_frame_connection_send (self->connection, frame);

  finish_if_complete (self);
}

static void
writer_ready_cb (gpointer user_data)
{
  FilerTransferReceiver *self = user_data;
  FilerWriteResult *result;

  while (self->writer != NULL && (result = filer_transfer_writer_pop (self->writer)) != NULL)
    {
      g_autoptr(FilerWriteResult) owned = result;

      if (result->kind == FILER_WRITE_RESULT_DRAINED)
        {
          if (self->paused)
            {
              self->paused = FALSE;
              filer_frame_connection_resume (self->connection);
              update_idle_deadline (self);
            }
          continue;
        }

      if (filer_transfer_is_finished (self->transfer))
        continue;

      switch (result->kind)
        {
        case FILER_WRITE_RESULT_PREPARED:
          send_accept (self, result->entries);
          break;

        case FILER_WRITE_RESULT_FILE_DONE:
        case FILER_WRITE_RESULT_FILE_FAILED:
          report_file (self, result);
          break;

        case FILER_WRITE_RESULT_FATAL:
          /* Disk full, permission denied: both sides learn it. */
          free_batch (self);
          _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED, result->error);
          filer_frame_connection_close_with_error (self->connection,
                                                   filer_transfer_error_to_wire (result->error->code),
                                                   result->error->message);
          break;

        case FILER_WRITE_RESULT_DRAINED:
        default:
          g_assert_not_reached ();
        }
    }
}

/* --- the connection --- */

static void
frame_received_cb (FilerFrameConnection  *connection,
                   FilerFrame            *frame,
                   FilerTransferReceiver *self)
{
  FilerTransferState state = filer_transfer_get_state (self->transfer);

  if (filer_transfer_is_finished (self->transfer))
    return;   /* lingering: drop what still arrives */

  self->last_frame = g_get_monotonic_time ();

  /* The hot path first. */
  if (state == FILER_TRANSFER_STATE_TRANSFERRING && filer_frame_is (frame, "chunk"))
    handle_chunk (self, frame);
  else if (filer_frame_is (frame, "cancel"))
    {
      const char *message = filer_frame_get (frame, "message");
      g_autoptr(GError) error = g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CANCELLED,
                                             "%s cancelled%s%s",
                                             filer_transfer_get_peer_name (self->transfer),
                                             message ? ": " : "", message ? message : "");

      free_batch (self);
      if (self->writer != NULL)
        filer_transfer_writer_close (self->writer, TRUE);
      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_CANCELLED, error);
      filer_frame_connection_close (self->connection);
    }
  else if (filer_frame_is (frame, "error"))
    {
      const char *code = filer_frame_get (frame, "code");
      const char *message = filer_frame_get (frame, "message");
      g_autoptr(GError) error = g_error_new (FILER_TRANSFER_ERROR,
                                             filer_transfer_error_from_wire (code),
                                             "The sender reported: %s",
                                             message != NULL ? message : code);

      free_batch (self);
      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED, error);
      filer_frame_connection_close (self->connection);
    }
  else if (state == FILER_TRANSFER_STATE_CONNECTING && filer_frame_is (frame, "offer"))
    handle_offer (self, frame);
  else if (state == FILER_TRANSFER_STATE_TRANSFERRING && filer_frame_is (frame, "file"))
    handle_file (self, frame);
  else if (state == FILER_TRANSFER_STATE_TRANSFERRING && filer_frame_is (frame, "end"))
    handle_end (self, frame);
  else
    protocol_violation (self, "An unexpected message");
}

static void
closed_cb (FilerFrameConnection  *connection,
           const GError          *error,
           FilerTransferReceiver *self)
{
  g_autoptr(FilerTransferReceiver) hold = g_object_ref (self);

  if (!filer_transfer_is_finished (self->transfer))
    {
      g_autoptr(GError) lost = filer_transfer_error_new_lost (error, "sender");

      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED, lost);
    }

  /* Every byte that arrived goes to its partial file, for a resume. */
  flush_batch (self);
  if (self->writer != NULL)
    {
      filer_transfer_writer_free (self->writer, TRUE);
      self->writer = NULL;
    }

  g_clear_handle_id (&self->linger_source, g_source_remove);
  g_clear_handle_id (&self->deadline_source, g_source_remove);
  count_as (self, COUNTED_NONE);
  _filer_transfer_set_controller (self->transfer, NULL, NULL);
  g_clear_signal_handler (&self->frame_handler, self->connection);
  g_clear_signal_handler (&self->closed_handler, self->connection);
  if (!self->done)
    {
      self->done = TRUE;
      g_signal_emit (self, signals[DONE], 0);
    }
}

/* --- life cycle --- */

static void
filer_transfer_receiver_dispose (GObject *object)
{
  FilerTransferReceiver *self = (FilerTransferReceiver *)object;

  g_clear_handle_id (&self->linger_source, g_source_remove);
  g_clear_handle_id (&self->deadline_source, g_source_remove);
  count_as (self, COUNTED_NONE);
  if (self->writer != NULL)
    {
      filer_transfer_writer_free (self->writer, TRUE);
      self->writer = NULL;
    }
  if (self->transfer != NULL)
    _filer_transfer_set_controller (self->transfer, NULL, NULL);
  if (self->connection != NULL)
    {
      g_clear_signal_handler (&self->frame_handler, self->connection);
      g_clear_signal_handler (&self->closed_handler, self->connection);
      filer_frame_connection_close (self->connection);
    }
  g_clear_object (&self->connection);
  g_clear_object (&self->transfer);

  G_OBJECT_CLASS (filer_transfer_receiver_parent_class)->dispose (object);
}

static void
filer_transfer_receiver_finalize (GObject *object)
{
  FilerTransferReceiver *self = (FilerTransferReceiver *)object;

  g_clear_pointer (&self->batch, g_ptr_array_unref);
  g_free (self->state);
  g_free (self->offsets);
  if (self->download_fd >= 0)
    close (self->download_fd);

  G_OBJECT_CLASS (filer_transfer_receiver_parent_class)->finalize (object);
}

static void
filer_transfer_receiver_class_init (FilerTransferReceiverClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_transfer_receiver_dispose;
  object_class->finalize = filer_transfer_receiver_finalize;

  /**
   * FilerTransferReceiver::offer:
   *
   * A valid offer arrived; the transfer waits for an answer.
   */
  signals[OFFER] =
    g_signal_new ("offer",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * FilerTransferReceiver::done:
   *
   * The connection is closed and the transfer final.
   */
  signals[DONE] =
    g_signal_new ("done",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
filer_transfer_receiver_init (FilerTransferReceiver *self)
{
  self->download_fd = -1;
  self->current = -1;
  self->last_started = -1;
  self->batch = g_ptr_array_new_full (BATCH_SIZE / FILER_TRANSFER_CHUNK_SIZE + 1,
                                      (GDestroyNotify)g_bytes_unref);
}

/**
 * filer_transfer_receiver_new:
 * @connection: a connection whose hello is done (paused)
 * @transfer: a receiving transfer with its peer set
 * @download_fd: the download folder (duplicated)
 * @free_space: (nullable): the free-space probe, %NULL for the default
 * @free_space_data: for @free_space
 */
FilerTransferReceiver *
filer_transfer_receiver_new (FilerFrameConnection *connection,
                             FilerTransfer        *transfer,
                             int                   download_fd,
                             FilerFreeSpaceFunc    free_space,
                             gpointer              free_space_data)
{
  FilerTransferReceiver *self;

  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (connection), NULL);
  g_return_val_if_fail (FILER_IS_TRANSFER (transfer), NULL);
  g_return_val_if_fail (download_fd >= 0, NULL);

  self = g_object_new (FILER_TYPE_TRANSFER_RECEIVER, NULL);
  self->connection = g_object_ref (connection);
  self->transfer = g_object_ref (transfer);
  self->download_fd = dup (download_fd);
  self->free_space = free_space != NULL ? free_space : filer_transfer_default_free_space;
  self->free_space_data = free_space_data;
  self->offer_deadline_ms = offer_timeout_ms;
  self->idle_deadline_ms = idle_timeout_ms;
  return self;
}

/**
 * filer_transfer_receiver_start:
 * @self: a receiver
 *
 * Waits for the offer (::offer), then runs the transfer; ::done follows.
 */
void
filer_transfer_receiver_start (FilerTransferReceiver *self)
{
  g_return_if_fail (FILER_IS_TRANSFER_RECEIVER (self));

  self->frame_handler = g_signal_connect (self->connection, "frame-received",
                                          G_CALLBACK (frame_received_cb), self);
  self->closed_handler = g_signal_connect (self->connection, "closed",
                                           G_CALLBACK (closed_cb), self);
  _filer_transfer_set_controller (self->transfer, &receiver_controller, self);
  filer_transfer_enable_keepalive (filer_frame_connection_get_stream (self->connection));

  /* Before reading: resuming may hand out an offer at once. */
  if (n_unanswered >= FILER_TRANSFER_MAX_UNANSWERED || n_receiving >= FILER_TRANSFER_MAX_RECEIVING)
    refuse_busy (self, "The receiver has as many connections as it takes; try again later");
  else
    {
      count_as (self, COUNTED_UNANSWERED);
      self->deadline_source = g_timeout_add (self->offer_deadline_ms, offer_deadline_cb, self);
    }
  filer_frame_connection_resume (self->connection);
}
