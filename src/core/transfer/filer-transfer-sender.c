/* filer-transfer-sender.c: the sending side of one transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-sender.h"
#include "filer-transfer-private.h"
#include "filer-transfer-protocol.h"
#include "filer-transfer-reader-private.h"
#include "filer-transfer-testing.h"

/* Runs the sender's half of docs/protocol.md §3 on a connection whose
 * hello is done: offer, wait for the answer, then stream every accepted
 * file back to back — file, chunks, end — without waiting for any
 * acknowledgement, while the receiver's per-file results come back on the
 * same connection. The transfer is over when every accepted file has a
 * result.
 *
 * The reader thread reads and hashes ahead, bounded by its buffer pools;
 * on the main loop a block costs one FilerFrame and one GBytes slice per
 * 32 KiB chunk, never a copy, and no notify (progress is throttled in
 * FilerTransfer).
 */

/* After we cancelled, the receiver may still be sending (results): closing
 * at once would reset the connection, and a reset can destroy our cancel
 * before the receiver reads it. Keep reading (and dropping) until it
 * closes, for a few seconds at most, as the receiver does (§3.7). */
#define LINGER_MS FILER_TRANSFER_LINGER_MS

struct _FilerTransferSender
{
  GObject               parent_instance;

  FilerFrameConnection *connection;
  FilerTransfer        *transfer;
  char                **local_paths;
  FilerTransferReader  *reader;
  guint8               *state;        /* per offered file: see FileState */
  FilerHashAlgorithm    offered_hashes[FILER_HASH_N_ALGORITHMS];
  guint                 n_offered_hashes;
  FilerHashAlgorithm    hash_algorithm;   /* the receiver's pick */
  guint                 n_files;
  guint                 n_accepted;
  guint                 n_results;
  gulong                frame_handler;
  gulong                closed_handler;
  guint                 linger_source;
  gboolean              done;
};

typedef enum
{
  FILE_NOT_ACCEPTED,
  FILE_ACCEPTED,
  FILE_REPORTED,
} FileState;

G_DEFINE_FINAL_TYPE (FilerTransferSender, filer_transfer_sender, G_TYPE_OBJECT)

enum {
  DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static FilerTransferChunkHook chunk_hook;
static gpointer chunk_hook_data;

void
filer_transfer_testing_set_chunk_hook (FilerTransferChunkHook hook,
                                       gpointer               user_data)
{
  chunk_hook = hook;
  chunk_hook_data = user_data;
}

static void
stop_reading_files (FilerTransferSender *self)
{
  g_clear_pointer (&self->reader, _filer_transfer_reader_free);
}

/* Ends the transfer with @error (taken) and closes the connection; the
 * peer learns why from @wire_frame (NULL: it already knows). */
static void
end_with (FilerTransferSender *self,
          FilerTransferState   state,
          GError              *error,
          FilerFrame          *wire_frame)
{
  g_autoptr(GError) owned = error;

  stop_reading_files (self);
  _filer_transfer_fail (self->transfer, state, error);
  if (wire_frame != NULL)
    filer_frame_connection_send (self->connection, wire_frame);
  filer_frame_connection_close (self->connection);
}

static void
protocol_violation (FilerTransferSender *self,
                    const char          *message)
{
  g_debug ("Transfer %s: the receiver broke the protocol: %s",
           filer_transfer_get_id (self->transfer), message);
  stop_reading_files (self);
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                                    (char *)message });
  filer_frame_connection_close_with_error (self->connection, "protocol", message);
}

/* --- the data pump --- */

static void
send_block (FilerTransferSender *self,
            FilerReadBlock      *block)
{
  FilerTransferFile *file = filer_transfer_get_file (self->transfer, block->index);

  if (block->start)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("file");

      filer_frame_set_uint (frame, "index", block->index);
      filer_frame_set_uint (frame, "offset", block->start_offset);
      filer_frame_connection_send (self->connection, frame);

      _filer_transfer_set_current_file (self->transfer, filer_transfer_file_get_path (file));
      filer_transfer_file_set_offset (file, block->start_offset);
      filer_transfer_file_set_status (file, FILER_TRANSFER_FILE_STATUS_TRANSFERRING);
      _filer_transfer_add_resumed (self->transfer, block->start_offset);
    }

  if (block->data != NULL)
    {
      gsize length = g_bytes_get_size (block->data);

      for (gsize offset = 0; offset < length; offset += FILER_TRANSFER_CHUNK_SIZE)
        {
          gsize n = MIN (FILER_TRANSFER_CHUNK_SIZE, length - offset);
          g_autoptr(GBytes) chunk = g_bytes_new_from_bytes (block->data, offset, n);
          g_autoptr(FilerFrame) frame = filer_frame_new ("chunk");

          if (G_UNLIKELY (chunk_hook != NULL))
            {
              GBytes *replaced = chunk_hook (block->index, block->start_offset + offset,
                                             chunk, chunk_hook_data);
              g_bytes_unref (chunk);
              chunk = replaced;
            }

          filer_frame_set_content (frame, chunk);
          filer_frame_connection_send (self->connection, frame);
          _filer_transfer_add_bytes (self->transfer, n);
        }
    }

  if (block->end)
    {
      g_autoptr(FilerFrame) frame = filer_frame_new ("end");

      filer_frame_set_uint (frame, "index", block->index);
      if (block->error != NULL)
        {
          filer_frame_set (frame, "code", "io");
          filer_frame_set (frame, "message", block->error->message);
        }
      else
        filer_frame_set (frame, filer_hash_algorithm_to_string (self->hash_algorithm), block->hash);
      filer_frame_connection_send (self->connection, frame);
    }
}

static void
reader_ready_cb (gpointer user_data)
{
  FilerTransferSender *self = user_data;
  FilerReadBlock *block;

  while (self->reader != NULL && (block = _filer_transfer_reader_pop (self->reader)) != NULL)
    {
      /* A file that cannot even be opened still gets its "file" frame:
       * every accepted file starts, ends and gets a result. */
      send_block (self, block);
      _filer_read_block_free (block);
    }
}

/* --- answers from the receiver --- */

static void
handle_accept (FilerTransferSender *self,
               FilerFrame          *frame)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) entries = NULL;
  GListModel *files = filer_transfer_get_files (self->transfer);
  guint64 total = 0;
  const char *hash = filer_frame_get (frame, "hash");
  gboolean offered = FALSE;

  /* No "hash": a receiver from before the negotiation, which uses SHA-256. */
  if (!filer_hash_algorithm_from_string (hash != NULL ? hash : "sha256", &self->hash_algorithm))
    {
      protocol_violation (self, "The receiver chose an unknown integrity hash");
      return;
    }
  for (guint i = 0; i < self->n_offered_hashes; i++)
    offered |= self->offered_hashes[i] == self->hash_algorithm;
  if (!offered)
    {
      protocol_violation (self, "The receiver chose an integrity hash we did not offer");
      return;
    }

  entries = filer_transfer_accept_from_json (filer_frame_get_content (frame), files,
                                             self->hash_algorithm, &error);
  if (entries == NULL)
    {
      protocol_violation (self, error->message);
      return;
    }

  self->reader = _filer_transfer_reader_new (self->hash_algorithm, reader_ready_cb, self);
  for (guint i = 0; i < entries->len; i++)
    {
      const FilerAcceptEntry *entry = &g_array_index (entries, FilerAcceptEntry, i);
      FilerTransferFile *file = filer_transfer_get_file (self->transfer, entry->index);

      self->state[entry->index] = FILE_ACCEPTED;
      total += filer_transfer_file_get_size (file);
      _filer_transfer_reader_add (self->reader, entry->index, self->local_paths[entry->index],
                                  filer_transfer_file_get_size (file),
                                  entry->offset, entry->hash);
    }
  self->n_accepted = entries->len;

  for (guint i = 0; i < self->n_files; i++)
    if (self->state[i] == FILE_NOT_ACCEPTED)
      filer_transfer_file_set_status (filer_transfer_get_file (self->transfer, i),
                                      FILER_TRANSFER_FILE_STATUS_SKIPPED);

  _filer_transfer_set_bytes_total (self->transfer, total);
  _filer_transfer_set_state (self->transfer, FILER_TRANSFER_STATE_TRANSFERRING);

  /* filer_transfer_accept_from_json() refused an empty list: at least one
   * file is accepted, so the transfer ends with its results. */
  _filer_transfer_reader_start (self->reader);
}

static void
handle_decline (FilerTransferSender *self,
                FilerFrame          *frame)
{
  const char *code = filer_frame_get (frame, "code");
  const char *message = filer_frame_get (frame, "message");
  FilerTransferError error_code = filer_transfer_error_from_wire (code);

  if (error_code == FILER_TRANSFER_ERROR_FAILED)
    error_code = FILER_TRANSFER_ERROR_DECLINED;

  end_with (self, FILER_TRANSFER_STATE_DECLINED,
            g_error_new (FILER_TRANSFER_ERROR, error_code, "%s declined: %s",
                         filer_transfer_get_peer_name (self->transfer),
                         message != NULL && *message ? message : "no reason given"),
            NULL);
}

static void
finish_if_complete (FilerTransferSender *self)
{
  guint failed;

  if (self->n_results < self->n_accepted)
    return;

  stop_reading_files (self);
  failed = filer_transfer_get_files_failed (self->transfer);
  if (failed == 0)
    _filer_transfer_set_state (self->transfer, FILER_TRANSFER_STATE_COMPLETED);
  else
    {
      const char *first = NULL;

      for (guint i = 0; i < self->n_files && first == NULL; i++)
        {
          FilerTransferFile *file = filer_transfer_get_file (self->transfer, i);

          if (filer_transfer_file_get_status (file) == FILER_TRANSFER_FILE_STATUS_FAILED)
            first = filer_transfer_file_get_error_message (file);
        }
      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED,
                            &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_VERIFY_FAILED,
                                        (char *)(first != NULL ? first : "A file failed") });
    }
  filer_frame_connection_close (self->connection);
}

static void
handle_result (FilerTransferSender *self,
               FilerFrame          *frame)
{
  FilerTransferFile *file;
  const char *status = filer_frame_get (frame, "status");
  guint64 index;

  if (!filer_frame_get_uint (frame, "index", self->n_files - 1, &index, NULL) ||
      self->state[index] != FILE_ACCEPTED || status == NULL)
    {
      protocol_violation (self, "A result for a file that is not waiting for one");
      return;
    }

  self->state[index] = FILE_REPORTED;
  self->n_results++;
  file = filer_transfer_get_file (self->transfer, index);

  if (g_str_equal (status, "ok"))
    {
      filer_transfer_file_set_saved_as (file, filer_frame_get (frame, "name"));
      _filer_transfer_file_finished (self->transfer, file, FILER_TRANSFER_FILE_STATUS_DONE, NULL);
    }
  else
    {
      const char *message = filer_frame_get (frame, "message");
      g_autofree char *text = g_strdup_printf ("%s: %s", filer_transfer_file_get_path (file),
                                               message != NULL ? message : "failed");

      _filer_transfer_file_finished (self->transfer, file, FILER_TRANSFER_FILE_STATUS_FAILED, text);
    }

  finish_if_complete (self);
}

static void
handle_error (FilerTransferSender *self,
              FilerFrame          *frame)
{
  const char *code = filer_frame_get (frame, "code");
  const char *message = filer_frame_get (frame, "message");
  FilerTransferError error_code = filer_transfer_error_from_wire (code);

  if (error_code == FILER_TRANSFER_ERROR_DISK_FULL)
    end_with (self, FILER_TRANSFER_STATE_FAILED,
              g_error_new (FILER_TRANSFER_ERROR, error_code,
                           "The receiver’s disk is full (%s)", message ? message : code),
              NULL);
  else
    end_with (self, FILER_TRANSFER_STATE_FAILED,
              g_error_new (FILER_TRANSFER_ERROR, error_code, "The receiver reported: %s",
                           message != NULL ? message : code),
              NULL);
}

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   FilerTransferSender  *self)
{
  FilerTransferState state = filer_transfer_get_state (self->transfer);

  if (filer_transfer_is_finished (self->transfer))
    return;   /* draining until the connection closes */

  if (filer_frame_is (frame, "cancel"))
    {
      const char *message = filer_frame_get (frame, "message");

      end_with (self, FILER_TRANSFER_STATE_CANCELLED,
                g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CANCELLED,
                             "%s cancelled%s%s", filer_transfer_get_peer_name (self->transfer),
                             message ? ": " : "", message ? message : ""),
                NULL);
    }
  else if (filer_frame_is (frame, "error"))
    handle_error (self, frame);
  else if (state == FILER_TRANSFER_STATE_WAITING_FOR_ANSWER && filer_frame_is (frame, "accept"))
    handle_accept (self, frame);
  else if (state == FILER_TRANSFER_STATE_WAITING_FOR_ANSWER && filer_frame_is (frame, "decline"))
    handle_decline (self, frame);
  else if (state == FILER_TRANSFER_STATE_TRANSFERRING && filer_frame_is (frame, "result"))
    handle_result (self, frame);
  else
    protocol_violation (self, "An unexpected message");
}

static void
closed_cb (FilerFrameConnection *connection,
           const GError         *error,
           FilerTransferSender  *self)
{
  g_autoptr(FilerTransferSender) hold = g_object_ref (self);

  stop_reading_files (self);
  if (!filer_transfer_is_finished (self->transfer))
    {
      g_autoptr(GError) lost = filer_transfer_error_new_lost (error, "receiver");

      _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_FAILED, lost);
    }

  g_clear_handle_id (&self->linger_source, g_source_remove);
  _filer_transfer_set_controller (self->transfer, NULL, NULL);
  g_clear_signal_handler (&self->frame_handler, self->connection);
  g_clear_signal_handler (&self->closed_handler, self->connection);
  if (!self->done)
    {
      self->done = TRUE;
      g_signal_emit (self, signals[DONE], 0);
    }
}

/* --- what a view calls --- */

static gboolean
linger_cb (gpointer user_data)
{
  FilerTransferSender *self = user_data;

  self->linger_source = 0;
  filer_frame_connection_close (self->connection);
  return G_SOURCE_REMOVE;
}

static void
controller_cancel (gpointer controller)
{
  FilerTransferSender *self = controller;
  g_autoptr(FilerFrame) frame = filer_frame_new ("cancel");

  filer_frame_set (frame, "message", "The sender cancelled");
  stop_reading_files (self);
  _filer_transfer_fail (self->transfer, FILER_TRANSFER_STATE_CANCELLED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CANCELLED,
                                    (char *)"Cancelled" });
  filer_frame_connection_send (self->connection, frame);
  /* The receiver closes when it reads the cancel; we close after it. */
  if (self->linger_source == 0)
    self->linger_source = g_timeout_add (LINGER_MS, linger_cb, self);
}

static const FilerTransferController sender_controller = {
  .cancel = controller_cancel,
};

/* --- life cycle --- */

static void
filer_transfer_sender_dispose (GObject *object)
{
  FilerTransferSender *self = (FilerTransferSender *)object;

  g_clear_handle_id (&self->linger_source, g_source_remove);
  stop_reading_files (self);
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

  G_OBJECT_CLASS (filer_transfer_sender_parent_class)->dispose (object);
}

static void
filer_transfer_sender_finalize (GObject *object)
{
  FilerTransferSender *self = (FilerTransferSender *)object;

  g_strfreev (self->local_paths);
  g_free (self->state);

  G_OBJECT_CLASS (filer_transfer_sender_parent_class)->finalize (object);
}

static void
filer_transfer_sender_class_init (FilerTransferSenderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_transfer_sender_dispose;
  object_class->finalize = filer_transfer_sender_finalize;

  /**
   * FilerTransferSender::done:
   *
   * The connection is closed and the transfer final: the owner may drop
   * the sender.
   */
  signals[DONE] =
    g_signal_new ("done",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
filer_transfer_sender_init (FilerTransferSender *self)
{
}

/**
 * filer_transfer_sender_new:
 * @connection: a connection whose hello is done (paused)
 * @transfer: a sending transfer whose files are filled in
 * @local_paths: the local file of each of @transfer's files, in order
 */
FilerTransferSender *
filer_transfer_sender_new (FilerFrameConnection *connection,
                           FilerTransfer        *transfer,
                           const char * const   *local_paths)
{
  FilerTransferSender *self;

  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (connection), NULL);
  g_return_val_if_fail (FILER_IS_TRANSFER (transfer), NULL);
  g_return_val_if_fail (g_strv_length ((char **)local_paths) == filer_transfer_get_n_files (transfer), NULL);

  self = g_object_new (FILER_TYPE_TRANSFER_SENDER, NULL);
  self->connection = g_object_ref (connection);
  self->transfer = g_object_ref (transfer);
  self->local_paths = g_strdupv ((char **)local_paths);
  self->n_files = filer_transfer_get_n_files (transfer);
  self->state = g_new0 (guint8, MAX (self->n_files, 1));
  return self;
}

/**
 * filer_transfer_sender_start:
 * @self: a sender
 *
 * Sends the offer and runs the transfer to its end; ::done follows.
 */
void
filer_transfer_sender_start (FilerTransferSender *self)
{
  g_autoptr(FilerFrame) offer = filer_frame_new ("offer");
  g_autoptr(GBytes) content = NULL;
  g_autofree char *hashes = NULL;
  GListModel *files;
  guint64 total = 0;

  g_return_if_fail (FILER_IS_TRANSFER_SENDER (self));

  /* SHA-256 is always on the list: every receiver can verify with it. */
  self->n_offered_hashes = filer_hash_get_allowed (self->offered_hashes);
  {
    gboolean has_sha256 = FALSE;

    for (guint i = 0; i < self->n_offered_hashes; i++)
      has_sha256 |= self->offered_hashes[i] == FILER_HASH_SHA256;
    if (!has_sha256)
      self->offered_hashes[self->n_offered_hashes++] = FILER_HASH_SHA256;
  }
  hashes = filer_transfer_hashes_to_header (self->offered_hashes, self->n_offered_hashes);

  files = filer_transfer_get_files (self->transfer);
  for (guint i = 0; i < self->n_files; i++)
    total += filer_transfer_file_get_size (filer_transfer_get_file (self->transfer, i));
  _filer_transfer_set_bytes_total (self->transfer, total);

  self->frame_handler = g_signal_connect (self->connection, "frame-received",
                                          G_CALLBACK (frame_received_cb), self);
  self->closed_handler = g_signal_connect (self->connection, "closed",
                                           G_CALLBACK (closed_cb), self);
  _filer_transfer_set_controller (self->transfer, &sender_controller, self);

  content = filer_transfer_offer_to_json (files);
  filer_frame_set (offer, "transfer", filer_transfer_get_id (self->transfer));
  filer_frame_set_uint (offer, "files", self->n_files);
  filer_frame_set_uint (offer, "size", total);
  filer_frame_set_uint (offer, "chunk-size", FILER_TRANSFER_CHUNK_SIZE);
  filer_frame_set (offer, "hashes", hashes);
  filer_frame_set_content (offer, content);
  filer_frame_connection_send (self->connection, offer);

  _filer_transfer_set_state (self->transfer, FILER_TRANSFER_STATE_WAITING_FOR_ANSWER);
  /* We wait for a person's answer without a deadline; keepalive notices
   * a receiver whose machine went away meanwhile (§3.12). */
  filer_transfer_enable_keepalive (filer_frame_connection_get_stream (self->connection));
  filer_frame_connection_resume (self->connection);
}
