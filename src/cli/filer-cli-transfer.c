/* filer-cli-transfer.c: how send and receive show a transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-cli-transfer.h"

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
};

static const char *
state_nick (FilerTransferState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (FILER_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  return value != NULL ? value->value_nick : "unknown";
}

static void
emit_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

static JsonBuilder *
begin_event (const char    *event,
             FilerTransfer *transfer)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, event);
  if (transfer != NULL)
    {
      json_builder_set_member_name (builder, "transfer");
      json_builder_add_string_value (builder, filer_transfer_get_id (transfer));
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

      json_builder_set_member_name (builder, "bytes_done");
      json_builder_add_int_value (builder, filer_transfer_get_bytes_done (transfer));
      json_builder_set_member_name (builder, "bytes_total");
      json_builder_add_int_value (builder, filer_transfer_get_bytes_total (transfer));
      json_builder_set_member_name (builder, "rate");
      json_builder_add_double_value (builder, filer_transfer_get_rate (transfer));
      json_builder_set_member_name (builder, "time_left");
      json_builder_add_int_value (builder, filer_transfer_get_time_left (transfer));
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, filer_transfer_get_current_file (transfer));
      emit_json (builder);
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

      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, filer_transfer_file_get_path (file));
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, filer_transfer_file_get_size (file));
      json_builder_set_member_name (builder, "status");
      json_builder_add_string_value (builder, ok ? "done" : "failed");
      if (filer_transfer_file_get_saved_as (file) != NULL)
        {
          json_builder_set_member_name (builder, "saved_as");
          json_builder_add_string_value (builder, filer_transfer_file_get_saved_as (file));
        }
      if (!ok)
        {
          json_builder_set_member_name (builder, "error");
          json_builder_add_string_value (builder, filer_transfer_file_get_error_message (file));
        }
      emit_json (builder);
    }
  else if (!ok)
    {
      clear_bar (self);
      fprintf (stderr, "filer-cli: %s\n", filer_transfer_file_get_error_message (file));
    }
  else if (!self->tty && filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_RECEIVE)
    printf (_("Saved %s\n"), filer_transfer_file_get_saved_as (file));
}

static void
print_summary (FilerCliReporter *self,
               FilerTransfer    *transfer)
{
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

      json_builder_set_member_name (builder, "direction");
      json_builder_add_string_value (builder, sending ? "send" : "receive");
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, state_nick (state));
      json_builder_set_member_name (builder, "peer");
      json_builder_add_string_value (builder, filer_transfer_get_peer_name (transfer));
      json_builder_set_member_name (builder, "peer_id");
      json_builder_add_string_value (builder, filer_transfer_get_peer_id (transfer));
      json_builder_set_member_name (builder, "files");
      json_builder_add_int_value (builder, files);
      json_builder_set_member_name (builder, "files_failed");
      json_builder_add_int_value (builder, filer_transfer_get_files_failed (transfer));
      json_builder_set_member_name (builder, "bytes");
      json_builder_add_int_value (builder, bytes);
      json_builder_set_member_name (builder, "bytes_resumed");
      json_builder_add_int_value (builder, filer_transfer_get_bytes_resumed (transfer));
      json_builder_set_member_name (builder, "bytes_sent");
      json_builder_add_int_value (builder, filer_transfer_get_bytes_sent (transfer));
      json_builder_set_member_name (builder, "seconds");
      json_builder_add_double_value (builder, seconds);
      json_builder_set_member_name (builder, "mb_per_s");
      json_builder_add_double_value (builder, mbps);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, path);
      if (filer_transfer_get_error_message (transfer) != NULL)
        {
          json_builder_set_member_name (builder, "error");
          json_builder_add_string_value (builder, filer_transfer_get_error_message (transfer));
        }
      emit_json (builder);
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
  /* A receiving connection that ends before any offer (no transfer id) is
   * nothing the user sent or got: the sender's path ladder proves the LAN
   * path with a connection of its own and closes it after the hello. */
  if (filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_RECEIVE &&
      filer_transfer_get_id (transfer) == NULL)
    return;

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("state", transfer);

      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, state_nick (filer_transfer_get_state (transfer)));
      emit_json (builder);
    }

  /* Progress comes in steps, so the last one drawn is short of the end:
   * a completed transfer leaves its bar at 100 %, on a line of its own
   * above the summary. */
  if (self->tty && self->bar_shown &&
      filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_COMPLETED)
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
  g_free (self);
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

  if (self->json)
    {
      g_autoptr(JsonBuilder) builder = begin_event ("offer", transfer);

      json_builder_set_member_name (builder, "peer");
      json_builder_add_string_value (builder, filer_transfer_get_peer_name (transfer));
      json_builder_set_member_name (builder, "peer_id");
      json_builder_add_string_value (builder, filer_transfer_get_peer_id (transfer));
      json_builder_set_member_name (builder, "bytes");
      json_builder_add_int_value (builder, filer_transfer_get_bytes_total (transfer));
      json_builder_set_member_name (builder, "files");
      json_builder_begin_array (builder);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "path");
          json_builder_add_string_value (builder, filer_transfer_file_get_path (file));
          json_builder_set_member_name (builder, "size");
          json_builder_add_int_value (builder, filer_transfer_file_get_size (file));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      emit_json (builder);
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

      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
      json_builder_set_member_name (builder, "port");
      json_builder_add_int_value (builder, port);
      json_builder_set_member_name (builder, "dir");
      json_builder_add_string_value (builder, dir);
      emit_json (builder);
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

      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, message);
      emit_json (builder);
    }
  fprintf (stderr, "filer-cli: %s\n", message);
}
