/* filer-path-ladder.c: send along the best path: LAN, direct UDP, relay
 *
 * The seed's LAN path first (cheapest, fastest), checked by TLS with the
 * device keys and the transfer hello: a peer on another network may
 * advertise addresses that exist here too (two homes on the same private
 * range), even our own, and only the device whose key makes the peer's id
 * passes. The NAT client (which itself tries a punched path before the
 * relay) starts RACE_STAGGER_MS later, or at once when the LAN attempt
 * has failed, and both run, as "happy eyeballs" does: the first to
 * deliver a checked connection wins and the other is cancelled. A LAN
 * address that does not answer (a peer on another network advertises its
 * own LAN's) then costs the stagger, not the LAN attempt's whole timeout.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-path-ladder.h"

#include "filer-nat-error.h"
#include "filer-transfer-connector.h"

#define LAN_ATTEMPT_TIMEOUT_MS 2000
#define RACE_STAGGER_MS        300

typedef struct
{
  FilerTransferService *service;
  FilerNatClient *nat;
  FilerPeer *peer;
  char **paths;
  char *lan_error;
  GError *nat_error;
  GCancellable *lan_cancellable;   /* each path's own: the winner cancels the other */
  GCancellable *nat_cancellable;
  gulong cancelled_id;
  GCancellable *caller_cancellable;
  guint stagger_id;
  gboolean lan_done;
  gboolean nat_started;
  gboolean nat_done;
  gboolean returned;
} Send;

static void
send_free (gpointer data)
{
  Send *send = data;

  g_clear_handle_id (&send->stagger_id, g_source_remove);
  if (send->caller_cancellable != NULL)
    g_cancellable_disconnect (send->caller_cancellable, send->cancelled_id);
  g_clear_object (&send->caller_cancellable);
  g_clear_object (&send->lan_cancellable);
  g_clear_object (&send->nat_cancellable);
  g_clear_object (&send->service);
  g_clear_object (&send->nat);
  g_clear_object (&send->peer);
  g_strfreev (send->paths);
  g_free (send->lan_error);
  g_clear_error (&send->nat_error);
  g_free (send);
}

static void
caller_cancelled_cb (GCancellable *caller,
                     Send         *send)
{
  g_cancellable_cancel (send->lan_cancellable);
  g_cancellable_cancel (send->nat_cancellable);
}

/* The race is over: @transfer won, or, with %NULL, every path failed. */
static void
send_return (GTask         *task,
             FilerTransfer *transfer)
{
  Send *send = g_task_get_task_data (task);
  GError *error;

  g_assert (!send->returned);
  send->returned = TRUE;
  g_clear_handle_id (&send->stagger_id, g_source_remove);
  g_cancellable_cancel (send->lan_cancellable);
  g_cancellable_cancel (send->nat_cancellable);

  if (transfer != NULL)
    {
      g_task_return_pointer (task, g_object_ref (transfer), g_object_unref);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  if (send->nat_error != NULL)
    {
      error = g_steal_pointer (&send->nat_error);
      if (send->lan_error)
        g_prefix_error (&error, "LAN: %s; ", send->lan_error);
    }
  else
    error = g_error_new (FILER_NAT_ERROR, FILER_NAT_ERROR_UNREACHABLE, "No path to %s: %s",
                         filer_peer_get_id (send->peer),
                         send->lan_error ? send->lan_error : "no LAN address");
  g_task_return_error (task, error);
}

static void
nat_connected_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Send *send = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *path = NULL;
  FilerTransfer *transfer;

  send->nat_done = TRUE;
  stream = filer_nat_client_connect_finish (FILER_NAT_CLIENT (object), result, &path, &error);
  if (send->returned)
    {
      if (stream != NULL)
        g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      return;
    }

  if (stream == NULL)
    {
      g_debug ("ladder: NAT path to %s failed: %s", filer_peer_get_id (send->peer), error->message);
      send->nat_error = g_steal_pointer (&error);
      if (send->lan_done)
        send_return (task, NULL);
      return;
    }

  transfer = filer_transfer_service_send_over_stream (send->service, stream,
                                                      filer_peer_get_id (send->peer),
                                                      filer_peer_get_name (send->peer),
                                                      path, (const char * const *)send->paths);
  send_return (task, transfer);
}

static void
start_nat (GTask *task)
{
  Send *send = g_task_get_task_data (task);

  g_clear_handle_id (&send->stagger_id, g_source_remove);
  if (send->nat_started)
    return;
  send->nat_started = TRUE;

  if (send->nat == NULL)
    {
      send->nat_done = TRUE;
      if (send->lan_done)
        send_return (task, NULL);
      return;
    }

  /* The peer's discovery id is the id its device key makes: the QUIC
   * handshake must prove that key, so the server (or its relay) cannot
   * hand us to anyone else. */
  filer_nat_client_connect_async (send->nat, filer_peer_get_id (send->peer),
                                  filer_peer_get_id (send->peer),
                                  send->nat_cancellable, nat_connected_cb,
                                  g_object_ref (task));
}

static gboolean
stagger_cb (gpointer user_data)
{
  GTask *task = user_data;
  Send *send = g_task_get_task_data (task);

  send->stagger_id = 0;
  g_debug ("ladder: no LAN answer from %s after %u ms: racing the NAT path",
           filer_peer_get_id (send->peer), RACE_STAGGER_MS);
  start_nat (task);
  return G_SOURCE_REMOVE;
}

static void
lan_checked_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Send *send = g_task_get_task_data (task);
  g_autoptr(FilerFrameConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_name = NULL;
  FilerTransfer *transfer;

  send->lan_done = TRUE;
  connection = filer_transfer_connect_lan_finish (result, &peer_name, &error);
  if (send->returned)
    {
      if (connection != NULL)
        filer_frame_connection_close (connection);
      return;
    }

  if (connection == NULL)
    {
      g_debug ("ladder: LAN path to %s failed: %s", filer_peer_get_id (send->peer), error->message);
      send->lan_error = g_strdup (error->message);
      if (!send->nat_started)
        start_nat (task);
      else if (send->nat_done)
        send_return (task, NULL);
      return;
    }

  /* The device answered on the LAN: the transfer goes over the connection
   * that proved it. */
  transfer = filer_transfer_service_send_over_connection (send->service, connection,
                                                          filer_peer_get_id (send->peer),
                                                          peer_name ? peer_name : filer_peer_get_name (send->peer),
                                                          FILER_TRANSFER_PATH_LAN,
                                                          (const char * const *)send->paths);
  send_return (task, transfer);
}

void
filer_path_ladder_send_async (FilerTransferService  *service,
                              FilerNatClient        *nat,
                              FilerPeer             *peer,
                              const char * const    *paths,
                              GCancellable          *cancellable,
                              GAsyncReadyCallback    callback,
                              gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  g_auto(GStrv) addresses = NULL;
  Send *send;

  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (service));
  g_return_if_fail (nat == NULL || FILER_IS_NAT_CLIENT (nat));
  g_return_if_fail (FILER_IS_PEER (peer));
  g_return_if_fail (paths != NULL && paths[0] != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_path_ladder_send_async);

  send = g_new0 (Send, 1);
  send->service = g_object_ref (service);
  send->nat = nat ? g_object_ref (nat) : NULL;
  send->peer = g_object_ref (peer);
  send->paths = g_strdupv ((char **)paths);
  send->lan_cancellable = g_cancellable_new ();
  send->nat_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, send, send_free);
  if (cancellable != NULL)
    {
      send->caller_cancellable = g_object_ref (cancellable);
      send->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb), send, NULL);
    }

  addresses = filer_transfer_peer_addresses (peer);
  if (addresses[0] == NULL || filer_peer_get_port (peer) == 0)
    {
      send->lan_done = TRUE;
      send->lan_error = g_strdup ("no LAN address");
      start_nat (task);
      return;
    }

  filer_transfer_connect_lan_async (peer,
                                    filer_transfer_service_get_identity (service),
                                    filer_transfer_service_get_device_name (service),
                                    LAN_ATTEMPT_TIMEOUT_MS,
                                    send->lan_cancellable, lan_checked_cb, g_object_ref (task));
  if (nat != NULL)
    send->stagger_id = g_timeout_add_full (G_PRIORITY_DEFAULT, RACE_STAGGER_MS, stagger_cb,
                                           g_object_ref (task), g_object_unref);
}

/**
 * filer_path_ladder_send_finish:
 *
 * Returns: (transfer full): the transfer, or %NULL with @error
 */
FilerTransfer *
filer_path_ladder_send_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
incoming_cb (FilerNatClient *nat,
             GIOStream      *stream,
             const char     *peer_id,
             const char     *path,
             const char     *rendezvous_id,
             gpointer        user_data)
{
  /* @peer_id is the id the caller's key proved in the QUIC handshake
   * (docs/protocol.md §4.7), not @rendezvous_id (filer-cli send binds a
   * throwaway one): the hello's "from" must be it. No proof, no hello. */
  if (peer_id == NULL)
    {
      g_debug ("ladder: an incoming %s stream from %s proved no device key: closed",
               path, rendezvous_id);
      g_io_stream_close (stream, NULL, NULL);
      return;
    }

  filer_transfer_service_handle_stream (FILER_TRANSFER_SERVICE (user_data), stream, peer_id, path);
}

void
filer_path_ladder_serve (FilerNatClient       *nat,
                         FilerTransferService *service)
{
  g_return_if_fail (FILER_IS_NAT_CLIENT (nat));
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (service));

  g_signal_connect_object (nat, "incoming", G_CALLBACK (incoming_cb), service, 0);
}

FilerNatClient *
filer_path_ladder_nat_client_new (FilerDiscoveryClient *client,
                                  FilerIdentity        *identity)
{
  g_autoptr(FilerNatClient) nat = NULL;
  g_autoptr(GError) error = NULL;
  const char *server;

  g_return_val_if_fail (FILER_IS_DISCOVERY_CLIENT (client), NULL);
  g_return_val_if_fail (FILER_IS_IDENTITY (identity), NULL);

  server = filer_discovery_client_get_server_address (client);
  if (server == NULL)
    return NULL;

  nat = filer_nat_client_new (filer_device_get_id (filer_discovery_client_get_device (client)), server);
  filer_nat_client_set_identity (nat, identity);
  /* Without it the rendezvous server does not bind our id (§4.2). */
  filer_nat_client_set_bind_secret (nat, filer_discovery_client_get_bind_secret (client));
  if (!filer_nat_client_start (nat, &error))
    {
      g_debug ("ladder: no NAT traversal: %s", error->message);
      return NULL;
    }

  return g_steal_pointer (&nat);
}
