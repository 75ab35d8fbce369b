/* natlab-peer.c: one Filer peer, headless, for the NAT lab's end-to-end test
 *
 * Runs inside a lab namespace (`ip netns exec`): registers with the real
 * filer-server (discovery, with a room code), binds a NAT client to its
 * rendezvous port, and listens for transfers. With --send-to it sends a
 * file or folder along the path ladder: the peer's LAN addresses over TCP
 * first (the hello must name the intended device: both LANs use the same
 * addresses, so 203.0.113.2 may be ourselves), then the NAT client
 * (punched, or relayed). Prints one line per event on stdout.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "libfiler.h"

#define TRANSFER_PORT 47900

static char *opt_server;
static char *opt_keys;
static char *opt_room;
static char *opt_download;
static char *opt_send_to;
static char *opt_path;
static char *opt_extra_address;
static char *opt_impersonate;
static char *opt_nat_keys;
static int opt_timeout = 60;

static FilerDiscoveryClient *discovery;
static FilerNatClient *nat;
static FilerTransferService *service;
static GMainLoop *loop;
static int exit_code = 3;

static void
say (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  printf ("%.3f ", (g_get_monotonic_time () % (1000 * G_USEC_PER_SEC)) / (double)G_USEC_PER_SEC);
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
  gboolean sending = GPOINTER_TO_INT (user_data);

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

static void
watch (FilerTransfer *transfer,
       gboolean       sending)
{
  g_signal_connect (transfer, "notify::state", G_CALLBACK (transfer_state_cb), GINT_TO_POINTER (sending));
}

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

      if (filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_RECEIVE)
        watch (transfer, FALSE);
    }
}

static void
incoming_cb (FilerNatClient *client,
             GIOStream      *stream,
             const char     *peer_id,
             const char     *path,
             const char     *rendezvous_id,
             gpointer        user_data)
{
  /* peer: what its key proved; as: what it bound under at the server. */
  say ("incoming peer=%s as=%s path=%s", peer_id, rendezvous_id, path);
}

/* --- sending ------------------------------------------------------------- */

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerTransfer) transfer = filer_path_ladder_send_finish (result, &error);

  if (transfer == NULL)
    {
      say ("no-path error=%s", error->message);
      exit_code = 1;
      g_main_loop_quit (loop);
      return;
    }

  say ("sending");
  watch (transfer, TRUE);
  if (filer_transfer_is_finished (transfer))
    transfer_state_cb (transfer, NULL, GINT_TO_POINTER (TRUE));
}

static gboolean
try_send_cb (gpointer user_data)
{
  FilerPeer *peer = filer_discovery_client_lookup_peer (discovery, opt_send_to, NULL);
  const char * const paths[] = { opt_path, NULL };

  if (peer == NULL || filer_nat_client_get_mapping (nat) == NULL)
    return G_SOURCE_CONTINUE;

  /* A peer with several addresses, one where nothing answers: the
   * ladder must get past it. */
  if (opt_extra_address && filer_peer_get_addresses (peer)
      && !g_strv_contains (filer_peer_get_addresses (peer), opt_extra_address))
    {
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) addresses = NULL;

      g_strv_builder_add (builder, opt_extra_address);
      g_strv_builder_addv (builder, (const char **)filer_peer_get_addresses (peer));
      addresses = g_strv_builder_end (builder);
      filer_peer_set_addresses (peer, (const char * const *)addresses);
    }

  {
    const char * const *addresses = filer_peer_get_addresses (peer);
    g_autofree char *list = addresses ? g_strjoinv (",", (GStrv)addresses) : g_strdup ("");

    say ("peer id=%s addresses=%s", opt_send_to, list);
  }
  filer_path_ladder_send_async (service, nat, peer, paths, NULL, sent_cb, NULL);
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
  g_autoptr(GOptionContext) context = g_option_context_new ("— a Filer peer for the NAT lab");
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerDevice) device = NULL;
  g_autoptr(FilerIdentity) identity = NULL;
  g_autoptr(FilerIdentity) nat_identity = NULL;
  const char *id;
  GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_STRING, &opt_server, "filer-server IP:PORT", "ADDR" },
    { "keys", 0, 0, G_OPTION_ARG_FILENAME, &opt_keys,
      "Folder of the device key (made there if missing); the device id is the key's", "DIR" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &opt_room, "Room code", "ROOM" },
    { "download", 0, 0, G_OPTION_ARG_FILENAME, &opt_download, "Download folder", "DIR" },
    { "send-to", 0, 0, G_OPTION_ARG_STRING, &opt_send_to, "Send to this device id", "ID" },
    { "path", 0, 0, G_OPTION_ARG_FILENAME, &opt_path, "File or folder to send", "PATH" },
    { "extra-address", 0, 0, G_OPTION_ARG_STRING, &opt_extra_address,
      "Give the peer this address too, first (one that does not answer)", "IP" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout, "Give up after (s)", "S" },
    { "impersonate", 0, 0, G_OPTION_ARG_STRING, &opt_impersonate,
      "An attacker: bind this (another device's) id at the rendezvous server, "
      "registered as ourselves and holding only our own key", "ID" },
    { "nat-keys", 0, 0, G_OPTION_ARG_FILENAME, &opt_nat_keys,
      "An attacker: the NAT client presents this folder's key, so the transfer hello claims "
      "--keys's id over a stream whose key proves another", "DIR" },
    { NULL }
  };

  signal (SIGPIPE, SIG_IGN);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)
      || !opt_server || !opt_keys || !opt_room || !opt_download || (opt_send_to && !opt_path))
    {
      fprintf (stderr, "natlab-peer: %s\n", error ? error->message : "missing options");
      return 2;
    }

  identity = filer_identity_load (opt_keys, &error);
  if (identity == NULL)
    {
      fprintf (stderr, "natlab-peer: %s\n", error->message);
      return 1;
    }
  id = filer_identity_get_id (identity);
  nat_identity = opt_nat_keys ? filer_identity_load (opt_nat_keys, &error) : g_object_ref (identity);
  if (nat_identity == NULL)
    {
      fprintf (stderr, "natlab-peer: %s\n", error->message);
      return 1;
    }
  loop = g_main_loop_new (NULL, FALSE);

  service = filer_transfer_service_new (identity, NULL, opt_download);
  filer_transfer_service_set_accept_all (service, TRUE);
  if (!filer_transfer_service_listen (service, "0.0.0.0", TRANSFER_PORT, &error))
    {
      fprintf (stderr, "natlab-peer: %s\n", error->message);
      return 1;
    }
  g_signal_connect (filer_transfer_service_get_transfers (service), "items-changed",
                    G_CALLBACK (transfers_changed_cb), NULL);

  /* An impostor registers as herself (discovery takes only the id of
   * the key that connects) and binds the other id at the rendezvous
   * server with her own bind-secret, which binds nothing. */
  device = filer_device_new_for_identity (identity, id, "computer");
  discovery = filer_discovery_client_new (device);
  filer_discovery_client_set_server (discovery, opt_server);
  filer_discovery_client_set_room (discovery, opt_room);
  filer_discovery_client_set_transfer_port (discovery, TRANSFER_PORT);
  filer_discovery_client_start (discovery);

  /* The NAT client binds with the secret of our welcome: wait for it. */
  {
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

    while (filer_discovery_client_get_state (discovery) != FILER_DISCOVERY_STATE_ONLINE &&
           g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
  }
  nat = filer_nat_client_new (opt_impersonate ? opt_impersonate : id, opt_server);
  filer_nat_client_set_identity (nat, nat_identity);
  filer_nat_client_set_bind_secret (nat, filer_discovery_client_get_bind_secret (discovery));
  g_signal_connect (nat, "incoming", G_CALLBACK (incoming_cb), NULL);
  filer_path_ladder_serve (nat, service);
  if (!filer_nat_client_start (nat, &error))
    {
      fprintf (stderr, "natlab-peer: %s\n", error->message);
      return 1;
    }

  say ("ready id=%s as=%s", id, opt_impersonate ? opt_impersonate : id);
  if (opt_send_to)
    g_timeout_add (100, try_send_cb, NULL);
  g_timeout_add_seconds (opt_timeout, timeout_cb, NULL);
  g_main_loop_run (loop);

  g_clear_object (&nat);
  g_clear_object (&discovery);
  g_clear_object (&service);
  return exit_code;
}
