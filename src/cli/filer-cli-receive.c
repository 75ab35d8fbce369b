/* filer-cli-receive.c: the "receive" subcommand
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "filer-cli.h"
#include "filer-cli-options.h"
#include "filer-cli-transfer.h"
#include "filer-trust-store.h"
#include "libfiler.h"

/* filer-cli receive --dir DIR [--accept-all] [--once]
 *
 * Listens first, registers with discovery only then (a peer appears
 * only once it can receive), and stays registered. Each offer is printed;
 * on a terminal the user answers y/n, with --accept-all everything is
 * taken, and with neither (a pipe, a script) offers are declined with a
 * reason; with --accept-verified, offers from verified devices are taken
 * and the others asked or declined so. --once exits after the first
 * transfer that got an answer ends,
 * 0 if every file arrived verified.
 */

typedef struct
{
  FilerTransferService *service;
  FilerCliReporter     *reporter;
  GDataInputStream     *stdin_lines;
  GQueue                questions;   /* FilerTransfer waiting for y/n */
  gboolean              asking;
  gboolean              once;
  gboolean              quit;
  int                   status;
  FilerTransfer        *answered;    /* --once: the one we wait for */
  FilerTrustStore      *store;       /* nullable: who the user verified */
} Receive;

static void ask_next (Receive *self);

static void
finished_cb (FilerTransfer *transfer,
             GParamSpec    *pspec,
             Receive       *self)
{
  if (!filer_transfer_is_finished (transfer))
    return;
  if (self->once && (self->answered == NULL || self->answered == transfer))
    {
      self->status = filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_COMPLETED ? 0 : 1;
      self->quit = TRUE;
    }
}

static void
answer (Receive       *self,
        FilerTransfer *transfer,
        gboolean       accept,
        const char    *reason)
{
  if (self->answered == NULL)
    self->answered = transfer;
  if (accept)
    filer_transfer_accept (transfer, NULL);
  else
    filer_transfer_decline (transfer, reason);
}

static void
line_read_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Receive *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(FilerTransfer) transfer = g_queue_pop_head (&self->questions);

  self->asking = FALSE;
  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, &error);

  if (transfer != NULL &&
      filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_WAITING_FOR_ANSWER)
    answer (self, transfer, line != NULL && (line[0] == 'y' || line[0] == 'Y'),
            _("Declined by the user"));

  ask_next (self);
}

static void
ask_next (Receive *self)
{
  FilerTransfer *transfer;

  if (self->asking || (transfer = g_queue_peek_head (&self->questions)) == NULL)
    return;

  printf (_("Accept from %s? [y/N] "), filer_transfer_get_peer_name (transfer));
  fflush (stdout);
  self->asking = TRUE;
  g_data_input_stream_read_line_async (self->stdin_lines, G_PRIORITY_DEFAULT, NULL,
                                       line_read_cb, self);
}

static void
offer_received_cb (FilerTransferService *service,
                   FilerTransfer        *transfer,
                   Receive              *self)
{
  filer_cli_reporter_offer (self->reporter, transfer);

  if (self->stdin_lines == NULL)
    {
      /* Nobody to ask: say so rather than leave the sender waiting. */
      filer_cli_reporter_error (self->reporter,
                                _("declined an offer: no terminal to ask (use --accept-all)"));
      answer (self, transfer, FALSE,
              _("The receiver has no one to ask (it runs without a terminal or --accept-all)"));
      return;
    }

  g_queue_push_tail (&self->questions, g_object_ref (transfer));
  ask_next (self);
}

static void
transfers_changed_cb (GListModel *transfers,
                      guint       position,
                      guint       removed,
                      guint       added,
                      Receive    *self)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (transfers, i);

      filer_cli_reporter_watch (self->reporter, transfer);
      g_signal_connect (transfer, "notify::state", G_CALLBACK (finished_cb), self);
    }
}

/* --accept-verified: an offer from a device the user verified (the
 * app's store, filer-cli verify --trust) is taken at once; any other one
 * is asked about or declined as without the option. Never by name: the
 * proven id must be in the store. */
static gboolean
accept_verified_cb (FilerTransferService *service,
                    FilerTransfer        *transfer,
                    gpointer              user_data)
{
  Receive *self = user_data;

  if (self->store == NULL ||
      !filer_trust_store_is_verified (self->store, filer_transfer_get_peer_id (transfer)))
    return FALSE;

  filer_cli_reporter_offer (self->reporter, transfer);
  if (self->answered == NULL)
    self->answered = transfer;
  return TRUE;
}

/* With --accept-all, the first offer is the one --once waits for. */
static gboolean
accept_all_cb (FilerTransferService *service,
               FilerTransfer        *transfer,
               gpointer              user_data)
{
  Receive *self = user_data;

  filer_cli_reporter_offer (self->reporter, transfer);
  if (self->answered == NULL)
    self->answered = transfer;
  return TRUE;
}

static gboolean
interrupt_cb (gpointer user_data)
{
  Receive *self = user_data;
  GListModel *transfers = filer_transfer_service_get_transfers (self->service);

  /* Cancel what is running (the senders are told), then leave. */
  for (guint i = 0; i < g_list_model_get_n_items (transfers); i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (transfers, i);
      filer_transfer_cancel (transfer);
    }
  self->status = 130;
  self->quit = TRUE;
  return G_SOURCE_CONTINUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

int
filer_cli_receive (int    argc,
                   char **argv)
{
  g_auto(FilerCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerDiscoveryClient) client = NULL;
  g_autoptr(FilerTransferService) service = NULL;
  g_autoptr(FilerCliReporter) reporter = NULL;
  g_autoptr(FilerNatClient) nat = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *absolute = NULL;
  FilerDevice *device;
  gboolean accept_all = FALSE;
  gboolean accept_verified = FALSE;
  gboolean once = FALSE;
  gboolean drained = FALSE;
  Receive self = { 0, };
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, N_("Where received files go"), N_("DIR") },
    { "accept-all", 'y', 0, G_OPTION_ARG_NONE, &accept_all, N_("Accept every offer without asking"), NULL },
    { "accept-verified", 0, 0, G_OPTION_ARG_NONE, &accept_verified,
      N_("Accept offers from verified devices without asking (see “filer-cli verify”)"), NULL },
    { "once", 0, 0, G_OPTION_ARG_NONE, &once, N_("Exit after one transfer"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("--dir DIR — receive files from peers"));
  filer_cli_options_add_entries (&options, context);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!filer_cli_options_parse (&options, context, &argc, &argv))
    return 2;
  if (dir == NULL)
    {
      fprintf (stderr, "filer-cli: %s\n", _("receive needs --dir DIR"));
      return 2;
    }
  absolute = g_canonicalize_filename (dir, NULL);
  if (g_mkdir_with_parents (absolute, 0755) < 0 || !g_file_test (absolute, G_FILE_TEST_IS_DIR))
    {
      fprintf (stderr, "filer-cli: %s: %s\n", absolute, _("cannot use this folder"));
      return 1;
    }

  reporter = filer_cli_reporter_new (options.json);

  /* A receiver is found under this machine's stable id. */
  client = filer_cli_options_create_client (&options, TRUE, &error);
  if (client == NULL)
    {
      filer_cli_reporter_error (reporter, error->message);
      return 1;
    }
  device = filer_discovery_client_get_device (client);

  service = filer_transfer_service_new (filer_device_get_identity (device), filer_device_get_name (device),
                                        absolute);
  /* Each offer says whether its sender is verified, with the code. */
  {
    g_autoptr(GError) store_error = NULL;

    self.store = filer_trust_store_new_default (&store_error);
    if (self.store == NULL && accept_verified)
      {
        filer_cli_reporter_error (reporter, store_error->message);
        return 1;
      }
    if (self.store == NULL)
      g_debug ("No trust store: %s", store_error->message);
    filer_cli_reporter_set_trust (reporter, filer_device_get_id (device), self.store);
  }
  self.service = service;
  self.reporter = reporter;
  self.once = once;
  g_queue_init (&self.questions);
  if (accept_all)
    filer_transfer_service_set_auto_accept_func (service, accept_all_cb, &self, NULL);
  else if (accept_verified)
    filer_transfer_service_set_auto_accept_func (service, accept_verified_cb, &self, NULL);
  if (!accept_all && isatty (STDIN_FILENO) && !options.json)
    {
      g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      self.stdin_lines = g_data_input_stream_new (in);
    }
  g_signal_connect (service, "offer-received", G_CALLBACK (offer_received_cb), &self);
  g_signal_connect (filer_transfer_service_get_transfers (service), "items-changed",
                    G_CALLBACK (transfers_changed_cb), &self);

  /* Listener first, registration second. */
  if (!filer_transfer_service_listen (service, NULL, 0, &error))
    {
      filer_cli_reporter_error (reporter, error->message);
      return 1;
    }

  filer_discovery_client_set_transfer_port (client, filer_transfer_service_get_port (service));
  if (!filer_cli_connect (client, &error))
    {
      filer_cli_reporter_error (reporter, error->message);
      return 1;
    }
  /* NAT traversal: peers on other networks reach us through the server
   * (punched UDP, or its relay). */
  nat = filer_path_ladder_nat_client_new (client, filer_transfer_service_get_identity (service));
  if (nat != NULL)
    filer_path_ladder_serve (nat, service);

  filer_cli_reporter_listening (reporter, filer_device_get_name (device),
                                filer_transfer_service_get_port (service), absolute);

  g_unix_signal_add (SIGINT, interrupt_cb, &self);
  g_unix_signal_add (SIGTERM, interrupt_cb, &self);

  while (!self.quit)
    g_main_context_iteration (NULL, TRUE);

  /* Let the last result or cancel leave. */
  g_timeout_add (200, timeout_cb, &drained);
  while (!drained)
    g_main_context_iteration (NULL, TRUE);

  filer_discovery_client_stop (client);
  g_queue_clear_full (&self.questions, g_object_unref);
  g_clear_object (&self.stdin_lines);
  g_clear_object (&self.store);
  return self.status;
}
