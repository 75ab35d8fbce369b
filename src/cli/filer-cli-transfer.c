/* filer-cli-transfer.c: how send and receive show a transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-cli-transfer.h"
#include "filer-cli-json.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <unistd.h>

/* Three audiences: a person at a terminal gets a one-line progress bar
 * (bytes, rate, time left) that redraws in place; a pipe gets plain
 * lines; a program (--json) gets one JSON object per line and nothing
 * else on stdout. All of it is driven by FilerTransfer's own (already
 * throttled) notifications. Errors always go to stderr as one line.
 */

struct _FilerCliReporter
{
  gboolean   json;
  gboolean   tty;
  gboolean   bar_shown;
  GPtrArray *watched;
  char      *own_id;   /* this device's id, for the verification code */
  FilerTrustStore *store;  /* nullable: who the user verified */
};

static const char *
state_nick (FilerTransferState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (FILER_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  return value != NULL ? value->value_nick : "unknown";
}

static JsonBuilder *
begin_event (const char    *event,
             FilerTransfer *transfer)
{
  JsonBuilder *builder = filer_cli_json_begin (event);

  if (transfer != NULL)
    {
      filer_cli_json_string (builder, "transfer", filer_transfer_get_id (transfer));
    }
  return builder;
}

static void
clear_bar (FilerCliReporter *self)
{
  if (self->bar_shown)
    {
      printf ("\r\033[K");
      fflush (stdout);
      self->bar_shown = FALSE;
    }
}

static char *
format_duration (gint64 seconds)
{
  if (seconds < 0)
    return g_strdup ("--:--");
  if (seconds >= 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", seconds / 3600,
                            (int)(seconds / 60 % 60), (int)(seconds % 60));
  return g_strdup_printf ("%d:%02d", (int)(seconds / 60), (int)(seconds % 60));
}

static void
draw_bar (FilerCliReporter *self,
          FilerTransfer    *transfer)
{
  guint64 done = filer_transfer_get_bytes_done (transfer);
  guint64 total = filer_transfer_get_bytes_total (transfer);
  double fraction = total > 0 ? (double)done / total : 0;
  g_autofree char *done_text = g_format_size (done);
  g_autofree char *total_text = g_format_size (total);
  g_autofree char *rate_text = g_format_size ((guint64)filer_transfer_get_rate (transfer));
  g_autofree char *eta = format_duration (filer_transfer_get_time_left (transfer));
  char bar[31];
  guint filled = (guint)(fraction * 30);

  for (guint i = 0; i < 30; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[30] = '\0';

  printf ("\r\033[K[%s] %3u%%  %s / %s  %s/s  %s %s", bar, (guint)(fraction * 100),
          done_text, total_text, rate_text, _("ETA"), eta);
  fflush (stdout);
  self->bar_shown = TRUE;
}

static void
progress_cb (FilerTransfer    *transfer,
             GParamSpec       *pspec,
             FilerCliReporter *self)
{
  if (filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_TRANSFERRING)
    return;

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("progress", transfer);

      filer_cli_json_int (builder, "bytes_done", filer_transfer_get_bytes_done (transfer));
      filer_cli_json_int (builder, "bytes_total", filer_transfer_get_bytes_total (transfer));
      filer_cli_json_double (builder, "rate", filer_transfer_get_rate (transfer));
      filer_cli_json_int (builder, "time_left", filer_transfer_get_time_left (transfer));
      filer_cli_json_string (builder, "file", filer_transfer_get_current_file (transfer));
      filer_cli_json_emit (builder);
    }
  else if (self->tty)
    draw_bar (self, transfer);
}

static void
file_finished_cb (FilerTransfer     *transfer,
                  FilerTransferFile *file,
                  FilerCliReporter  *self)
{
  gboolean ok = filer_transfer_file_get_status (file) == FILER_TRANSFER_FILE_STATUS_DONE;

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("file", transfer);

      filer_cli_json_string (builder, "path", filer_transfer_file_get_path (file));
      filer_cli_json_int (builder, "size", filer_transfer_file_get_size (file));
      filer_cli_json_string (builder, "status", ok ? "done" : "failed");
      if (filer_transfer_file_get_saved_as (file) != NULL)
        {
          filer_cli_json_string (builder, "saved_as", filer_transfer_file_get_saved_as (file));
        }
      if (!ok)
        {
          filer_cli_json_string (builder, "error", filer_transfer_file_get_error_message (file));
        }
      filer_cli_json_emit (builder);
    }
  else if (!ok)
    {
      clear_bar (self);
      fprintf (stderr, "filer-cli: %s\n", filer_transfer_file_get_error_message (file));
    }
  else if (!self->tty && filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_RECEIVE)
    printf (_("Saved %s\n"), filer_transfer_file_get_saved_as (file));
}

/**
 * filer_cli_transfer_not_sent:
 *
 * Returns: (transfer full): the offered paths the receiver did not
 *   accept (SKIPPED), in offer order; empty when it took them all
 */
GPtrArray *
filer_cli_transfer_not_sent (FilerTransfer *transfer)
{
  GListModel *files = filer_transfer_get_files (transfer);
  GPtrArray *skipped = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, i);

      if (filer_transfer_file_get_status (file) == FILER_TRANSFER_FILE_STATUS_SKIPPED)
        g_ptr_array_add (skipped, g_strdup (filer_transfer_file_get_path (file)));
    }
  return skipped;
}

static void
print_summary (FilerCliReporter *self,
               FilerTransfer    *transfer)
{
  g_autoptr(GPtrArray) not_sent = filer_cli_transfer_not_sent (transfer);
  guint n_offered = g_list_model_get_n_items (filer_transfer_get_files (transfer));
  FilerTransferState state = filer_transfer_get_state (transfer);
  gboolean sending = filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_SEND;
  guint files = filer_transfer_get_files_done (transfer);
  guint64 bytes = filer_transfer_get_bytes_done (transfer);
  double seconds = filer_transfer_get_elapsed (transfer);
  double mbps = seconds > 0 ? filer_transfer_get_bytes_sent (transfer) / seconds / 1e6 : 0;
  const char *path = filer_transfer_get_path (transfer);

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("summary", transfer);

      filer_cli_json_string (builder, "direction", sending ? "send" : "receive");
      filer_cli_json_string (builder, "state", state_nick (state));
      filer_cli_json_string (builder, "peer", filer_transfer_get_peer_name (transfer));
      filer_cli_json_string (builder, "peer_id", filer_transfer_get_peer_id (transfer));
      filer_cli_json_int (builder, "files", files);
      filer_cli_json_int (builder, "files_failed", filer_transfer_get_files_failed (transfer));
      filer_cli_json_int (builder, "bytes", bytes);
      filer_cli_json_int (builder, "bytes_resumed", filer_transfer_get_bytes_resumed (transfer));
      filer_cli_json_int (builder, "bytes_sent", filer_transfer_get_bytes_sent (transfer));
      filer_cli_json_double (builder, "seconds", seconds);
      filer_cli_json_double (builder, "mb_per_s", mbps);
      filer_cli_json_string (builder, "path", path);
      /* Offered but not accepted by the receiver: not sent. */
      filer_cli_json_int (builder, "files_skipped", not_sent->len);
      json_builder_set_member_name (builder, "not_sent");
      json_builder_begin_array (builder);
      for (guint i = 0; i < not_sent->len; i++)
        json_builder_add_string_value (builder, g_ptr_array_index (not_sent, i));
      json_builder_end_array (builder);
      if (filer_transfer_get_error_message (transfer) != NULL)
        {
          filer_cli_json_string (builder, "error", filer_transfer_get_error_message (transfer));
        }
      filer_cli_json_emit (builder);
      return;
    }

  clear_bar (self);
  if (state == FILER_TRANSFER_STATE_COMPLETED)
    {
      g_autofree char *size = g_format_size (bytes);
      /* Formatted apart: a format macro inside a string hides it from
       * xgettext. */
      g_autofree char *exact = g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);

      /* files, bytes, seconds, MB/s, path */
      g_autofree char *files_text = g_strdup_printf (ngettext ("%u file", "%u files", files), files);

      printf (sending ? _("Sent %s (%s, %s bytes) to %s in %.2f s, %.1f MB/s, path %s\n")
                      : _("Received %s (%s, %s bytes) from %s in %.2f s, %.1f MB/s, path %s\n"),
              files_text, size, exact, filer_transfer_get_peer_name (transfer), seconds, mbps,
              path != NULL ? path : "-");
      fflush (stdout);

      /* The receiver took only some: say which were not sent, one line
       * on stderr like every error (the names escaped: they must not
       * drive the terminal). */
      if (sending && not_sent->len > 0)
        {
          g_autoptr(GString) names = g_string_new (NULL);

          for (guint i = 0; i < not_sent->len; i++)
            {
              g_autofree char *shown = g_strescape (g_ptr_array_index (not_sent, i), "\"");

              g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", shown);
            }
          fprintf (stderr, "filer-cli: ");
          /* Translators: "the receiver accepted only 2 of 3 files; not sent: b.txt" */
          fprintf (stderr, ngettext ("the receiver accepted only %u of %u file; not sent: %s\n",
                                     "the receiver accepted only %u of %u files; not sent: %s\n",
                                     n_offered),
                   n_offered - not_sent->len, n_offered, names->str);
        }
    }
  else
    fprintf (stderr, "filer-cli: %s\n", filer_transfer_get_error_message (transfer) != NULL
                                        ? filer_transfer_get_error_message (transfer)
                                        : state_nick (state));
}

static void
state_cb (FilerTransfer    *transfer,
          GParamSpec       *pspec,
          FilerCliReporter *self)
{
  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("state", transfer);

      filer_cli_json_string (builder, "state", state_nick (filer_transfer_get_state (transfer)));
      filer_cli_json_emit (builder);
    }

  /* Progress comes in steps, so the last one drawn is short of the end
   * (or, for a transfer quicker than a step, none was drawn): a
   * completed transfer leaves its bar at 100 %, on a line of its own
   * above the summary. */
  if (self->tty && filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_COMPLETED)
    {
      draw_bar (self, transfer);
      printf ("\n");
      self->bar_shown = FALSE;
    }

  if (filer_transfer_is_finished (transfer))
    print_summary (self, transfer);
}

FilerCliReporter *
filer_cli_reporter_new (gboolean json)
{
  FilerCliReporter *self = g_new0 (FilerCliReporter, 1);

  self->json = json;
  self->tty = !json && isatty (STDOUT_FILENO);
  self->watched = g_ptr_array_new_with_free_func (g_object_unref);
  return self;
}

void
filer_cli_reporter_free (FilerCliReporter *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->watched, i), self);
  g_ptr_array_unref (self->watched);
  g_free (self->own_id);
  g_clear_object (&self->store);
  g_free (self);
}

/**
 * filer_cli_reporter_set_trust:
 * @own_id: this device's id
 * @store: (nullable): the verified devices (the app's store)
 *
 * Each offer is then printed with what its sender is (verified, not
 * verified, key changed) and, when it is not verified, the code to
 * compare with the sender's screen.
 */
void
filer_cli_reporter_set_trust (FilerCliReporter *self,
                              const char       *own_id,
                              FilerTrustStore  *store)
{
  g_free (self->own_id);
  self->own_id = g_strdup (own_id);
  g_set_object (&self->store, store);
}

void
filer_cli_reporter_watch (FilerCliReporter *self,
                          FilerTransfer    *transfer)
{
  g_ptr_array_add (self->watched, g_object_ref (transfer));
  g_signal_connect (transfer, "notify::bytes-done", G_CALLBACK (progress_cb), self);
  g_signal_connect (transfer, "file-finished", G_CALLBACK (file_finished_cb), self);
  g_signal_connect (transfer, "notify::state", G_CALLBACK (state_cb), self);
}

void
filer_cli_reporter_offer (FilerCliReporter *self,
                          FilerTransfer    *transfer)
{
  GListModel *files = filer_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);

  const char *peer_id = filer_transfer_get_peer_id (transfer);
  g_autofree char *code = NULL;
  g_autofree char *verified_name = NULL;
  FilerTrust trust = FILER_TRUST_UNVERIFIED;

  /* The id is the one the TLS handshake proved (the sender's key). */
  if (self->own_id != NULL)
    code = filer_identity_verification_code_for_ids (self->own_id, peer_id);
  if (self->store != NULL)
    trust = filer_trust_store_lookup (self->store, peer_id, filer_transfer_get_peer_name (transfer),
                                      &verified_name);

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("offer", transfer);

      filer_cli_json_string (builder, "peer", filer_transfer_get_peer_name (transfer));
      filer_cli_json_string (builder, "peer_id", peer_id);
      filer_cli_json_string (builder, "trust", filer_trust_nick (trust));
      if (code != NULL)
        {
          filer_cli_json_string (builder, "code", code);
        }
      filer_cli_json_int (builder, "bytes", filer_transfer_get_bytes_total (transfer));
      json_builder_set_member_name (builder, "files");
      json_builder_begin_array (builder);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, i);

          json_builder_begin_object (builder);
          filer_cli_json_string (builder, "path", filer_transfer_file_get_path (file));
          filer_cli_json_int (builder, "size", filer_transfer_file_get_size (file));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      filer_cli_json_emit (builder);
      return;
    }

  {
    g_autofree char *total = g_format_size (filer_transfer_get_bytes_total (transfer));

    clear_bar (self);
    printf (ngettext ("%s (%s) offers %u file, %s:\n", "%s (%s) offers %u files, %s:\n", n),
            filer_transfer_get_peer_name (transfer), filer_transfer_get_peer_id (transfer),
            n, total);
    for (guint i = 0; i < n && i < 20; i++)
      {
        g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, i);
        g_autofree char *size = g_format_size (filer_transfer_file_get_size (file));
        /* A name is shown escaped: it must not drive the terminal. */
        g_autofree char *shown = g_strescape (filer_transfer_file_get_path (file), "\"");

        printf ("  %s  (%s)\n", shown, size);
      }
    if (n > 20)
      printf (_("  … and %u more\n"), n - 20);

    if (trust == FILER_TRUST_KEY_CHANGED)
      /* Translators: %s is the name of a device the user verified */
      printf (_("  WARNING: key changed — this is not the %s you verified\n"), verified_name);
    if (trust == FILER_TRUST_VERIFIED)
      printf ("  %s\n", _("Verified"));
    else if (code != NULL)
      /* Translators: %s is a code like "123 456" */
      printf (_("  Not verified. Verification code: %s (compare it with the sender’s screen)\n"), code);
    else
      printf ("  %s\n", _("Not verified: this sender’s id is not made from a key, it cannot be verified"));
    fflush (stdout);
  }
}

void
filer_cli_reporter_listening (FilerCliReporter *self,
                              const char       *name,
                              guint             port,
                              const char       *dir)
{
  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("listening", NULL);

      filer_cli_json_string (builder, "name", name);
      filer_cli_json_int (builder, "port", port);
      filer_cli_json_string (builder, "dir", dir);
      filer_cli_json_emit (builder);
      return;
    }

  printf (_("Receiving as “%s” on port %u into %s\n"), name, port, dir);
  fflush (stdout);
}

void
filer_cli_reporter_error (FilerCliReporter *self,
                          const char       *message)
{
  clear_bar (self);
  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("error", NULL);

      filer_cli_json_string (builder, "message", message);
      filer_cli_json_emit (builder);
    }
  fprintf (stderr, "filer-cli: %s\n", message);
}
