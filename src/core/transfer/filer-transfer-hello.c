/* filer-transfer-hello.c: the first exchange on every transfer connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-hello.h"
#include "filer-transfer-error.h"
#include "filer-transfer-protocol.h"

/* Before anything else, both ends say who they are and whom they meant
 * to reach. Two homes on the same private range (192.168.1.0/24 is
 * everywhere) make this necessary: an address from the discovery list can
 * reach a different device than the one it was listed for, and the files
 * must never go there.
 *
 * The connecting side (expected_peer_id != NULL) sends its hello first:
 *   type:hello;version:2;from:<my id>;to:<peer id>;name:<my name>
 * The listening side checks "to" is its own id, answers with its own
 * hello (to: the sender's id), and the sender checks "from" is the peer it
 * meant. A mismatch on either side is the error code "wrong-peer", and the
 * connection closes before any offer.
 *
 * A hello's ids are only claims. Over TCP they run inside TLS (protocol
 * version 2): the listening side passes proven_peer_id, the id the
 * caller's certificate proves, and a hello whose "from" is another device
 * is refused with "identity" — otherwise any key could speak for a trusted
 * device. A stream that reports its peer's id does the same.
 *
 * On success the connection is left paused, so that no frame is lost
 * between this handler and the sender's or receiver's.
 */

typedef struct
{
  FilerFrameConnection *connection;
  char                 *my_id;
  char                 *my_name;
  char                 *expected_peer_id;
  char                 *proven_peer_id;
  char                 *peer_id;
  char                 *peer_name;
  gulong                frame_handler;
  gulong                closed_handler;
  GSource              *timeout;
} Hello;

static void
hello_free (gpointer data)
{
  Hello *hello = data;

  if (hello->timeout != NULL)
    {
      g_source_destroy (hello->timeout);
      g_source_unref (hello->timeout);
    }
  g_clear_signal_handler (&hello->frame_handler, hello->connection);
  g_clear_signal_handler (&hello->closed_handler, hello->connection);
  g_clear_object (&hello->connection);
  g_free (hello->my_id);
  g_free (hello->my_name);
  g_free (hello->expected_peer_id);
  g_free (hello->proven_peer_id);
  g_free (hello->peer_id);
  g_free (hello->peer_name);
  g_free (hello);
}

static void
send_hello (Hello      *hello,
            const char *to)
{
  g_autoptr(FilerFrame) frame = filer_frame_new ("hello");

  filer_frame_set_uint (frame, "version", FILER_TRANSFER_PROTOCOL_VERSION);
  filer_frame_set (frame, "from", hello->my_id);
  filer_frame_set (frame, "to", to);
  filer_frame_set (frame, "name", hello->my_name);
  filer_frame_connection_send (hello->connection, frame);
}

/* Ends the task once: handlers go first so nothing fires afterwards. */
static void
finish (GTask  *task,
        GError *error)
{
  Hello *hello = g_task_get_task_data (task);

  g_clear_signal_handler (&hello->frame_handler, hello->connection);
  g_clear_signal_handler (&hello->closed_handler, hello->connection);
  if (hello->timeout != NULL)
    {
      g_source_destroy (hello->timeout);
      g_clear_pointer (&hello->timeout, g_source_unref);
    }

  if (error != NULL)
    {
      if (!filer_frame_connection_is_closed (hello->connection))
        filer_frame_connection_close_with_error (hello->connection,
                                                 filer_transfer_error_to_wire (error->code),
                                                 error->message);
      g_task_return_error (task, error);
    }
  else
    {
      filer_frame_connection_pause (hello->connection);
      g_task_return_boolean (task, TRUE);
    }
  g_object_unref (task);
}

static void
frame_received_cb (FilerFrameConnection *connection,
                   FilerFrame           *frame,
                   GTask                *task)
{
  Hello *hello = g_task_get_task_data (task);
  const char *from = filer_frame_get (frame, "from");
  const char *to = filer_frame_get (frame, "to");
  guint64 version = 0;

  if (filer_frame_is (frame, "error"))
    {
      const char *code = filer_frame_get (frame, "code");
      const char *message = filer_frame_get (frame, "message");

      /* Its side already closes: don't answer an error with an error. */
      filer_frame_connection_close (connection);
      finish (task, g_error_new (FILER_TRANSFER_ERROR, filer_transfer_error_from_wire (code),
                                 "The peer refused the connection: %s",
                                 message != NULL ? message : code));
      return;
    }

  if (!filer_frame_is (frame, "hello") || from == NULL || *from == '\0' || to == NULL ||
      !filer_frame_get_uint (frame, "version", G_MAXUINT32, &version, NULL))
    {
      g_debug ("Hello: unexpected first frame “%s”", filer_frame_get_message_type (frame));
      finish (task, g_error_new_literal (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                                         "The peer did not start with a valid hello"));
      return;
    }

  if (version != FILER_TRANSFER_PROTOCOL_VERSION)
    {
      finish (task, g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_VERSION,
                                 "The peer speaks transfer protocol version %" G_GUINT64_FORMAT
                                 ", this device speaks %d: update Filer on the older one",
                                 version, FILER_TRANSFER_PROTOCOL_VERSION));
      return;
    }

  /* Before "to": a claimed id that the key does not prove learns nothing
   * more about us. */
  if (hello->proven_peer_id != NULL && g_strcmp0 (from, hello->proven_peer_id) != 0)
    {
      g_debug ("Hello: claims to be %s, its key is %s", from, hello->proven_peer_id);
      finish (task, g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IDENTITY,
                                 "The hello claims to come from device %s, but the peer's key "
                                 "is device %s's: it is not the device it claims to be",
                                 from, hello->proven_peer_id));
      return;
    }

  if (g_strcmp0 (to, hello->my_id) != 0)
    {
      g_debug ("Hello: the peer meant %s, we are %s", to, hello->my_id);
      finish (task, g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_WRONG_PEER,
                                 "This connection was meant for device %s, not this one (%s)",
                                 to, hello->my_id));
      return;
    }

  if (hello->expected_peer_id != NULL && g_strcmp0 (from, hello->expected_peer_id) != 0)
    {
      finish (task, g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_WRONG_PEER,
                                 "Reached device %s instead of %s: another network with the "
                                 "same addresses?", from, hello->expected_peer_id));
      return;
    }

  hello->peer_id = g_strdup (from);
  hello->peer_name = g_strdup (filer_frame_get (frame, "name"));
  if (hello->peer_name == NULL || *hello->peer_name == '\0')
    {
      g_free (hello->peer_name);
      hello->peer_name = g_strdup (from);
    }

  if (hello->expected_peer_id == NULL)
    send_hello (hello, from);

  finish (task, NULL);
}

static void
closed_cb (FilerFrameConnection *connection,
           const GError         *error,
           GTask                *task)
{
  finish (task, g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CONNECTION_LOST,
                             "The connection closed during the hello%s%s",
                             error != NULL ? ": " : "", error != NULL ? error->message : ""));
}

static gboolean
timeout_cb (gpointer user_data)
{
  GTask *task = user_data;

  finish (task, g_error_new_literal (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                                     "The peer did not say hello in time"));
  return G_SOURCE_REMOVE;
}

/**
 * filer_transfer_hello_async:
 * @connection: a fresh connection (started here if it is not)
 * @my_id: our device id
 * @my_name: our device name
 * @expected_peer_id: (nullable): the device we meant to reach (the
 *   connecting side), or %NULL on the listening side
 * @proven_peer_id: (nullable): the id the peer's key proved (its TLS
 *   certificate) or its stream reports; the hello's "from" must be it
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when both ids are checked
 * @user_data: for @callback
 *
 * Exchanges hellos; see the comment at the top of this file. On failure
 * the peer is told why (an error frame) and the connection closes.
 */
void
filer_transfer_hello_async (FilerFrameConnection *connection,
                            const char           *my_id,
                            const char           *my_name,
                            const char           *expected_peer_id,
                            const char           *proven_peer_id,
                            GCancellable         *cancellable,
                            GAsyncReadyCallback   callback,
                            gpointer              user_data)
{
  GTask *task;
  Hello *hello;

  g_return_if_fail (FILER_IS_FRAME_CONNECTION (connection));
  g_return_if_fail (my_id != NULL);

  task = g_task_new (connection, cancellable, callback, user_data);
  g_task_set_source_tag (task, filer_transfer_hello_async);

  hello = g_new0 (Hello, 1);
  hello->connection = g_object_ref (connection);
  hello->my_id = g_strdup (my_id);
  hello->my_name = g_strdup (my_name != NULL ? my_name : my_id);
  hello->expected_peer_id = g_strdup (expected_peer_id);
  hello->proven_peer_id = g_strdup (proven_peer_id);
  g_task_set_task_data (task, hello, hello_free);

  /* The task holds itself until finish(). */
  hello->frame_handler = g_signal_connect (connection, "frame-received",
                                           G_CALLBACK (frame_received_cb), task);
  hello->closed_handler = g_signal_connect (connection, "closed",
                                            G_CALLBACK (closed_cb), task);
  hello->timeout = g_timeout_source_new (FILER_TRANSFER_HELLO_TIMEOUT_MS);
  g_source_set_callback (hello->timeout, timeout_cb, task, NULL);
  g_source_attach (hello->timeout, g_main_context_get_thread_default ());

  if (expected_peer_id != NULL)
    send_hello (hello, expected_peer_id);

  filer_frame_connection_start (connection);
  filer_frame_connection_resume (connection);
}

gboolean
filer_transfer_hello_finish (FilerFrameConnection  *connection,
                             GAsyncResult          *result,
                             char                 **peer_id,
                             char                 **peer_name,
                             GError               **error)
{
  Hello *hello;

  g_return_val_if_fail (g_task_is_valid (result, connection), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;

  hello = g_task_get_task_data (G_TASK (result));
  if (peer_id != NULL)
    *peer_id = g_strdup (hello->peer_id);
  if (peer_name != NULL)
    *peer_name = g_strdup (hello->peer_name);
  return TRUE;
}
