/* filer-cli-send.c: the "send" subcommand
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "filer-cli.h"
#include "filer-cli-options.h"
#include "filer-cli-transfer.h"
#include "libfiler.h"

/* filer-cli send --to NAME_OR_ID FILE_OR_DIR...
 *
 * Registers like any peer (with a listener, so that we are a complete
 * peer; offers to us are declined), finds the receiver in the discovery
 * list, sends, and exits 0 only if the receiver verified every file:
 * 1 if the transfer failed, was declined or cancelled, 3 if it completed
 * but the receiver accepted only some of the files (the summary names
 * the ones not sent).
 */

#define DEFAULT_FIND_TIMEOUT_S 10

typedef struct
{
  FilerDiscoveryClient *client;
  const char           *to;
  FilerPeer            *peer;
  GError               *error;
  gboolean              finished;
} Find;

static gboolean
try_find (gpointer user_data)
{
  Find *find = user_data;

  if (find->peer == NULL &&
      filer_discovery_client_get_state (find->client) == FILER_DISCOVERY_STATE_ONLINE)
    {
      g_clear_error (&find->error);
      find->peer = filer_discovery_client_lookup_peer (find->client, find->to, &find->error);
      if (find->peer != NULL)
        g_object_ref (find->peer);
    }
  return find->peer != NULL;
}

static void
decline_offer_cb (FilerTransferService *service,
                  FilerTransfer        *transfer,
                  gpointer              user_data)
{
  filer_transfer_decline (transfer, _("This device is only sending right now"));
}

static void
transfer_state_cb (FilerTransfer *transfer,
                   GParamSpec    *pspec,
                   gboolean      *finished)
{
  if (filer_transfer_is_finished (transfer))
    *finished = TRUE;
}

static gboolean timeout_cb (gpointer user_data);

static gboolean
interrupt_cb (gpointer user_data)
{
  FilerTransfer **transfer = user_data;

  /* Tell the receiver, then finish like any cancelled transfer. */
  if (*transfer != NULL)
    filer_transfer_cancel (*transfer);
  else
    exit (130);
  return G_SOURCE_CONTINUE;
}

/* Lets the last frames (a cancel, TLS's close) leave before we exit:
 * what is ready runs at once; at most @ms in all. A completed transfer
 * owes the receiver nothing (it answered last), so once nothing is
 * ready we go. */
static void
drain (guint    ms,
       gboolean wait_all)
{
  gboolean done = FALSE;
  guint timer = g_timeout_add (ms, timeout_cb, &done);

  while (!done)
    if (!g_main_context_iteration (NULL, wait_all) && !wait_all)
      break;
  if (!done)
    g_source_remove (timer);
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* NAT traversal: the path ladder's answer (LAN, punched UDP, relay). */
typedef struct
{
  gboolean done;
  FilerTransfer *transfer;
  GError *error;
} Ladder;

static void
ladder_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Ladder *ladder = user_data;

  ladder->transfer = filer_path_ladder_send_finish (result, &ladder->error);
  ladder->done = TRUE;
}

int
filer_cli_send (int    argc,
                char **argv)
{
  g_auto(FilerCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerDevice) device = NULL;
  g_autoptr(FilerDiscoveryClient) client = NULL;
  g_autoptr(FilerTransferService) service = NULL;
  g_autoptr(FilerCliReporter) reporter = NULL;
  g_autoptr(FilerNatClient) nat = NULL;
  g_autoptr(FilerTransfer) sending = NULL;
  Ladder ladder = { 0, };
  g_autofree char *to = NULL;
  g_auto(GStrv) paths = NULL;
  int find_timeout = DEFAULT_FIND_TIMEOUT_S;
  gboolean timed_out = FALSE;
  gboolean finished = FALSE;
  FilerTransfer *transfer = NULL;
  Find find = { 0, };
  guint timer;
  const GOptionEntry entries[] = {
    { "to", 't', 0, G_OPTION_ARG_STRING, &to, N_("The receiving peer, by name or id"), N_("NAME_OR_ID") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &find_timeout, N_("Seconds to wait for the peer to appear (10)"), N_("SECONDS") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL, NULL },
    { NULL }
  };

  context = g_option_context_new (_("--to NAME_OR_ID FILE_OR_DIR… — send files or folders to a peer"));
  filer_cli_options_add_entries (&options, context);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!filer_cli_options_parse (&options, context, &argc, &argv))
    return 2;
  if (to == NULL || paths == NULL || paths[0] == NULL)
    {
      fprintf (stderr, "filer-cli: %s\n", _("send needs --to NAME_OR_ID and at least one file or folder"));
      return 2;
    }
  for (guint i = 0; paths[i] != NULL; i++)
    if (!g_file_test (paths[i], G_FILE_TEST_EXISTS))
      {
        fprintf (stderr, "filer-cli: %s: %s\n", paths[i], _("no such file or folder"));
        return 1;
      }

  reporter = filer_cli_reporter_new (options.json);
  g_unix_signal_add (SIGINT, interrupt_cb, &transfer);
  g_unix_signal_add (SIGTERM, interrupt_cb, &transfer);

  /* Discovery sees a fresh id (the app may be online from this machine
   * too); the transfer carries this machine's stable id, so that a
   * receiver can resume what we sent before. */
  client = filer_cli_options_create_client (&options, FALSE, &error);
  device = client != NULL ? filer_device_load_default (&error) : NULL;
  if (device == NULL)
    {
      filer_cli_reporter_error (reporter, error->message);
      return 1;
    }

  service = filer_transfer_service_new (filer_device_get_identity (device),
                                        filer_device_get_name (filer_discovery_client_get_device (client)),
                                        g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD)
                                        ? g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD)
                                        : g_get_home_dir ());
  g_signal_connect (service, "offer-received", G_CALLBACK (decline_offer_cb), NULL);
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

  /* The receiver may register a moment after us: wait for it. */
  find.client = client;
  find.to = to;
  /* Milliseconds: g_timeout_add_seconds() may fire up to a second early. */
  timer = g_timeout_add ((guint)MAX (find_timeout, 1) * 1000, timeout_cb, &timed_out);
  while (!try_find (&find) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);

  if (find.peer == NULL)
    {
      g_autofree char *message = NULL;

      if (filer_discovery_client_get_state (client) != FILER_DISCOVERY_STATE_ONLINE)
        message = g_strdup_printf (_("could not reach the discovery server%s%s"),
                                   filer_discovery_client_get_error (client) ? ": " : "",
                                   filer_discovery_client_get_error (client)
                                   ? filer_discovery_client_get_error (client)->message : "");
      else
        message = g_strdup (find.error != NULL ? find.error->message : _("no such peer"));
      filer_cli_reporter_error (reporter, message);
      g_clear_error (&find.error);
      return 1;
    }
  g_clear_error (&find.error);

  /* NAT traversal: the peer's LAN addresses first, then a punched UDP
   * path, then the server's relay (filer-path-ladder.c). */
  nat = filer_path_ladder_nat_client_new (client, filer_transfer_service_get_identity (service));
  filer_path_ladder_send_async (service, nat, find.peer, (const char * const *)paths,
                                NULL, ladder_done_cb, &ladder);
  while (!ladder.done)
    g_main_context_iteration (NULL, TRUE);
  if (ladder.transfer == NULL)
    {
      filer_cli_reporter_error (reporter, ladder.error->message);
      g_clear_error (&ladder.error);
      return 1;
    }
  sending = ladder.transfer;
  transfer = sending;
  filer_cli_reporter_watch (reporter, transfer);
  g_signal_connect (transfer, "notify::state", G_CALLBACK (transfer_state_cb), &finished);
  while (!finished)
    g_main_context_iteration (NULL, TRUE);

  drain (200, filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_COMPLETED);
  g_clear_object (&find.peer);
  filer_discovery_client_stop (client);
  if (filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_COMPLETED)
    return 1;

  /* Completed, but the receiver took only some of the files: the
   * summary named the others; not 0, which means everything arrived. */
  {
    g_autoptr(GPtrArray) not_sent = filer_cli_transfer_not_sent (transfer);

    return not_sent->len > 0 ? 3 : 0;
  }
}
