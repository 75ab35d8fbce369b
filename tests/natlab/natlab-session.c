/* natlab-session.c: the app's FilerSession, headless, in a NAT lab namespace
 *
 * What the GUI holds, without the GUI: one FilerSession (discovery, NAT
 * client, transfers, and with --host the in-process discovery server with
 * its rendezvous and relay). Runs inside a lab namespace (`ip netns
 * exec`). With --host it only hosts; with --server it joins that server
 * in --room, accepts every offer, and with --send-to sends a file through
 * filer_session_send_async() (the path ladder). Prints one line per
 * event on stdout.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "libfiler.h"

static gboolean opt_host;
static char *opt_bind;
static int opt_port;
static char *opt_server;
static char *opt_keys;
static char *opt_room;
static char *opt_download;
static char *opt_send_to;
static char *opt_path;
static int opt_timeout = 60;

static FilerSession *session;
static GMainLoop *loop;
static int exit_code = 3;

static void
say (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  printf ("\n");
  fflush (stdout);
}

static void
transfer_state_cb (FilerTransfer *transfer,
                   GParamSpec    *pspec,
                   gpointer       user_data)
{
  gboolean sending = filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_SEND;

  if (!filer_transfer_is_finished (transfer))
    return;

  say ("%s path=%s state=%s error=%s", sending ? "sent" : "received",
       filer_transfer_get_path (transfer),
       filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_COMPLETED ? "completed" : "failed",
       filer_transfer_get_error_message (transfer) ? filer_transfer_get_error_message (transfer) : "none");

  if (sending)
    {
      exit_code = filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_COMPLETED ? 0 : 1;
      g_main_loop_quit (loop);
    }
}

/* Every transfer the session lists, both directions: the model the
 * window shows. */
static void
transfers_changed_cb (GListModel *transfers,
                      guint       position,
                      guint       removed,
                      guint       added,
                      gpointer    user_data)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (transfers, i);

      g_signal_connect (transfer, "notify::state", G_CALLBACK (transfer_state_cb), NULL);
    }
}

static void
hosting_cb (FilerSession *self,
            GParamSpec   *pspec,
            gpointer      user_data)
{
  say (filer_session_get_hosting (self) ? "hosting" : "not-hosting");
}

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerTransfer) transfer = filer_session_send_finish (FILER_SESSION (object), result, &error);

  if (transfer == NULL)
    {
      say ("no-path error=%s", error->message);
      exit_code = 1;
      g_main_loop_quit (loop);
      return;
    }

  say ("sending");
  if (filer_transfer_is_finished (transfer))
    transfer_state_cb (transfer, NULL, NULL);
}

static FilerPeer *
find_peer (const char *id)
{
  GListModel *peers = filer_session_get_peers (session);

  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);

      if (g_strcmp0 (filer_peer_get_id (peer), id) == 0)
        return g_steal_pointer (&peer);
    }

  return NULL;
}

/* Sends once the peer is listed and our NAT client knows its mapping (as
 * a user would: the tile shows up, files are dropped on it). */
static gboolean
try_send_cb (gpointer user_data)
{
  g_autoptr(FilerPeer) peer = find_peer (opt_send_to);
  FilerNatClient *nat = filer_session_get_nat_client (session);
  const char * const paths[] = { opt_path, NULL };

  if (peer == NULL || nat == NULL || filer_nat_client_get_mapping (nat) == NULL)
    return G_SOURCE_CONTINUE;

  say ("peer id=%s", opt_send_to);
  filer_session_send_async (session, peer, paths, NULL, sent_cb, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  say ("timeout");
  exit_code = 3;
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— the app's session in the NAT lab");
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerDevice) device = NULL;
  g_autoptr(FilerIdentity) identity = NULL;
  GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_NONE, &opt_host, "Host the discovery server in-process", NULL },
    { "bind", 0, 0, G_OPTION_ARG_STRING, &opt_bind, "Hosted server's address", "IP" },
    { "port", 0, 0, G_OPTION_ARG_INT, &opt_port, "Hosted server's port", "PORT" },
    { "server", 0, 0, G_OPTION_ARG_STRING, &opt_server, "Discovery server IP:PORT", "ADDR" },
    { "keys", 0, 0, G_OPTION_ARG_FILENAME, &opt_keys,
      "Folder of the device key (made there if missing); the device id is the key's", "DIR" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &opt_room, "Room code", "ROOM" },
    { "download", 0, 0, G_OPTION_ARG_FILENAME, &opt_download, "Download folder", "DIR" },
    { "send-to", 0, 0, G_OPTION_ARG_STRING, &opt_send_to, "Send to this device id", "ID" },
    { "path", 0, 0, G_OPTION_ARG_FILENAME, &opt_path, "File or folder to send", "PATH" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout, "Give up after (s)", "S" },
    { NULL }
  };

  signal (SIGPIPE, SIG_IGN);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      !opt_keys || !opt_download || (opt_send_to && !opt_path) ||
      (opt_host ? (!opt_bind || opt_port <= 0) : (!opt_server || !opt_room)))
    {
      fprintf (stderr, "natlab-session: %s\n", error ? error->message : "missing options");
      return 2;
    }

  identity = filer_identity_load (opt_keys, &error);
  if (identity == NULL)
    {
      fprintf (stderr, "natlab-session: %s\n", error->message);
      return 1;
    }
  loop = g_main_loop_new (NULL, FALSE);

  device = filer_device_new_for_identity (identity, filer_identity_get_id (identity), "computer");
  session = filer_session_new (device, opt_download);
  filer_transfer_service_set_accept_all (filer_session_get_transfer_service (session), TRUE);
  g_signal_connect (filer_session_get_transfers (session), "items-changed",
                    G_CALLBACK (transfers_changed_cb), NULL);
  g_signal_connect (session, "notify::hosting", G_CALLBACK (hosting_cb), NULL);

  if (opt_host)
    {
      /* Nobody answers on this port: after a few probes the session
       * hosts the server itself, as the app does on a quiet LAN. */
      g_autofree char *probe = g_strdup_printf ("%s:%d", opt_bind, opt_port);
      const char *targets[] = { probe, NULL };

      filer_session_set_discovery_port (session, opt_port);
      filer_session_set_bind_address (session, opt_bind);
      filer_session_set_probe_targets (session, targets);
      filer_session_set_allow_hosting (session, TRUE);
    }
  else
    {
      filer_session_set_allow_hosting (session, FALSE);
      filer_session_set_server (session, opt_server);
      filer_session_set_room (session, opt_room);
    }

  if (!filer_session_start (session, &error))
    {
      fprintf (stderr, "natlab-session: %s\n", error->message);
      return 1;
    }

  say ("ready id=%s", filer_identity_get_id (identity));
  if (opt_send_to)
    g_timeout_add (100, try_send_cb, NULL);
  g_timeout_add_seconds (opt_timeout, timeout_cb, NULL);
  g_main_loop_run (loop);

  filer_session_stop (session);
  g_clear_object (&session);
  g_main_loop_unref (loop);
  return exit_code;
}
