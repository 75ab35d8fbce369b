/* filer-transfer-service.c: our listener, our transfers, both directions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-service.h"
#include "filer-transfer-connector.h"
#include "filer-transfer-hello.h"
#include "filer-transfer-private.h"
#include "filer-transfer-protocol.h"
#include "filer-transfer-receiver.h"
#include "filer-transfer-sender.h"
#include "filer-net.h"
#include "filer-tls.h"
#include "filer-util.h"
#include "filer-safe-path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one object an application (GUI or CLI) holds for transfers:
 *
 * - a GSocketService listener; every accepted connection first runs TLS
 *   with our device key (protocol version 2; a Filer 1 that speaks in
 *   clear is told to update), then the hello (is it for us, and is it
 *   from the device its key proves?), then a FilerTransferReceiver;
 * - filer_transfer_service_send(): lists the files (in a thread), reaches
 *   the peer through a connector (today: LAN TCP with retries), then runs
 *   a FilerTransferSender on the checked connection;
 * - the "transfers" GListModel of FilerTransfer, both directions, that a
 *   view binds to; finished transfers stay until clear_finished().
 *
 * An incoming offer is either accepted at once (accept-all, or the
 * auto-accept hook says the device is trusted) or announced with
 * ::offer-received for the user to answer through filer_transfer_accept()
 * or filer_transfer_decline().
 */

struct _FilerTransferService
{
  GObject              parent_instance;

  FilerIdentity       *identity;
  char                *device_id;
  char                *device_name;
  char                *download_dir;
  gboolean             accept_all;
  FilerAutoAcceptFunc  auto_accept;
  gpointer             auto_accept_data;
  GDestroyNotify       auto_accept_destroy;
  FilerFreeSpaceFunc   free_space;
  gpointer             free_space_data;
  guint                connect_timeout_ms;

  GSocketService      *listener;
  guint16              port;
  GListStore          *transfers;
  GHashTable          *sides;      /* FilerTransferSender/Receiver, owned */
  GHashTable          *pending;    /* FilerFrameConnection in hello, owned */
  GHashTable          *unproven_by_address; /* address → connections before their hello */
  guint                n_unproven;
  GCancellable        *cancellable;
  gboolean             disposed;
};

G_DEFINE_FINAL_TYPE (FilerTransferService, filer_transfer_service, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_IDENTITY,
  PROP_DEVICE_ID,
  PROP_DEVICE_NAME,
  PROP_DOWNLOAD_DIR,
  PROP_ACCEPT_ALL,
  PROP_PORT,
  PROP_TRANSFERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  OFFER_RECEIVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ------------------------------------------------------------------ */
/* Sides                                                               */

static void
side_done_cb (GObject              *side,
              FilerTransferService *self)
{
  g_hash_table_remove (self->sides, side);
}

static void
add_transfer (FilerTransferService *self,
              FilerTransfer        *transfer)
{
  g_list_store_append (self->transfers, transfer);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

static void
offer_cb (FilerTransferReceiver *receiver,
          FilerTransferService  *self)
{
  FilerTransfer *transfer = g_object_get_data (G_OBJECT (receiver), "filer-transfer");
  g_autoptr(FilerTransfer) hold = g_object_ref (transfer);

  /* Listed from its offer on: a connection that says hello and goes (a
   * sender proving a path, a scanner) is no transfer of the user's. */
  add_transfer (self, transfer);

  if (self->accept_all ||
      (self->auto_accept != NULL && self->auto_accept (self, transfer, self->auto_accept_data)))
    {
      filer_transfer_accept (transfer, NULL);
      return;
    }

  g_signal_emit (self, signals[OFFER_RECEIVED], 0, transfer);
}

static void
start_receiver (FilerTransferService *self,
                FilerFrameConnection *connection,
                const char           *peer_id,
                const char           *peer_name,
                const char           *path_name)
{
  g_autoptr(FilerTransfer) transfer = NULL;
  FilerTransferReceiver *receiver;
  int fd;

  g_mkdir_with_parents (self->download_dir, 0755);
  fd = open (self->download_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_autofree char *message = g_strdup_printf ("The receiver cannot open its download folder: %s",
                                                  g_strerror (saved));
      g_message ("Refusing a transfer: %s", message);
      filer_frame_connection_close_with_error (connection, "io", message);
      return;
    }

  transfer = _filer_transfer_new (FILER_TRANSFER_DIRECTION_RECEIVE, NULL);
  _filer_transfer_set_peer (transfer, peer_id, peer_name);
  _filer_transfer_set_path (transfer, path_name);

  receiver = filer_transfer_receiver_new (connection, transfer, fd,
                                          self->free_space, self->free_space_data);
  close (fd);
  g_object_set_data_full (G_OBJECT (receiver), "filer-transfer",
                          g_object_ref (transfer), g_object_unref);
  g_signal_connect_object (receiver, "offer", G_CALLBACK (offer_cb), self, 0);
  g_signal_connect_object (receiver, "done", G_CALLBACK (side_done_cb), self, 0);
  g_hash_table_add (self->sides, receiver);

  filer_transfer_receiver_start (receiver);
}

static void
incoming_hello_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(FilerTransferService) self = user_data;
  FilerFrameConnection *connection = FILER_FRAME_CONNECTION (object);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_id = NULL;
  g_autofree char *peer_name = NULL;
  const char *path_name = g_object_get_data (object, "filer-path");

  /* Past its hello, whichever way: no longer a stranger's slot. */
  g_object_set_data (object, "filer-unproven", NULL);

  if (!filer_transfer_hello_finish (connection, result, &peer_id, &peer_name, &error))
    {
      g_debug ("Incoming transfer connection refused: %s", error->message);
      if (!self->disposed)
        g_hash_table_remove (self->pending, connection);
      return;
    }

  if (self->disposed)
    {
      filer_frame_connection_close (connection);
      return;
    }

  start_receiver (self, connection, peer_id, peer_name, path_name);
  g_hash_table_remove (self->pending, connection);
}

/* One connection not yet past its hello (silent so far, in the TLS
 * handshake, or in the hello), counted against the caps while it lives:
 * FILER_TRANSFER_MAX_UNPROVEN_PER_ADDRESS from one source address (one
 * more is closed at once) and FILER_TRANSFER_MAX_UNPROVEN in all. When
 * all are taken, a newcomer gets the slot of the oldest connection of the
 * address holding the most: a flood from a few addresses cannot keep a
 * device that sends one connection at a time out. Each state has its
 * deadline besides, so no slot is held for long. */
typedef struct
{
  FilerTransferService *service;
  char                 *address;   /* NULL: a stream from elsewhere (NAT) */
  GSocket              *socket;    /* to shut down when evicted */
  gboolean              counted;
} Unproven;

static void
unproven_uncount (Unproven *unproven)
{
  FilerTransferService *self = unproven->service;

  if (!unproven->counted)
    return;
  unproven->counted = FALSE;
  self->n_unproven--;
  if (unproven->address != NULL)
    {
      GQueue *queue = g_hash_table_lookup (self->unproven_by_address, unproven->address);

      g_queue_remove (queue, unproven);
      if (g_queue_is_empty (queue))
        g_hash_table_remove (self->unproven_by_address, unproven->address);
    }
}

static gboolean
unproven_evict_one (FilerTransferService *self)
{
  GHashTableIter iter;
  GQueue *queue, *largest = NULL;
  Unproven *oldest;

  g_hash_table_iter_init (&iter, self->unproven_by_address);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&queue))
    if (largest == NULL || queue->length > largest->length)
      largest = queue;
  if (largest == NULL)
    return FALSE;   /* all are streams from elsewhere */

  oldest = g_queue_peek_head (largest);
  g_debug ("Too many connections before their hello: closing the oldest from %s", oldest->address);
  if (oldest->socket != NULL)
    g_socket_shutdown (oldest->socket, TRUE, TRUE, NULL);
  unproven_uncount (oldest);   /* its state fails now and frees it */
  return TRUE;
}

static Unproven *
unproven_admit (FilerTransferService *self,
                const char           *address,
                GSocket              *socket)
{
  Unproven *unproven;
  GQueue *queue = NULL;

  if (address != NULL)
    {
      queue = g_hash_table_lookup (self->unproven_by_address, address);
      if (queue != NULL && queue->length >= FILER_TRANSFER_MAX_UNPROVEN_PER_ADDRESS)
        return NULL;
    }
  if (self->n_unproven >= FILER_TRANSFER_MAX_UNPROVEN && !unproven_evict_one (self))
    return NULL;

  unproven = g_new0 (Unproven, 1);
  unproven->service = g_object_ref (self);
  unproven->address = g_strdup (address);
  unproven->socket = socket != NULL ? g_object_ref (socket) : NULL;
  unproven->counted = TRUE;
  self->n_unproven++;
  if (address != NULL)
    {
      queue = g_hash_table_lookup (self->unproven_by_address, address);
      if (queue == NULL)
        {
          queue = g_queue_new ();
          g_hash_table_insert (self->unproven_by_address, g_strdup (address), queue);
        }
      g_queue_push_tail (queue, unproven);
    }
  return unproven;
}

static void
unproven_release (gpointer data)
{
  Unproven *unproven = data;

  unproven_uncount (unproven);
  g_object_unref (unproven->service);
  g_clear_object (&unproven->socket);
  g_free (unproven->address);
  g_free (unproven);
}

static void
start_hello (FilerTransferService *self,
             GIOStream            *stream,
             const char           *proven_peer_id,
             const char           *path_name,
             Unproven             *unproven)
{
  FilerFrameConnection *connection;

  connection = filer_frame_connection_new (stream);
  g_object_set_data_full (G_OBJECT (connection), "filer-path", g_strdup (path_name), g_free);
  g_object_set_data_full (G_OBJECT (connection), "filer-unproven", unproven, unproven_release);
  g_hash_table_add (self->pending, connection);
  filer_transfer_hello_async (connection, self->device_id, self->device_name, NULL, proven_peer_id,
                              self->cancellable, incoming_hello_cb, g_object_ref (self));
}

/**
 * filer_transfer_service_handle_stream:
 * @self: a service
 * @stream: an incoming stream (a punched path, a relay)
 * @peer_id: (nullable): the device the stream says it comes from (the NAT
 *   client's handshake); the hello's "from" must be it
 * @path_name: how it came: "direct", "relay"
 *
 * Runs the receiving side on a stream that did not come through our
 * listener: hello first, then whatever the peer offers. Such a stream
 * carries no TLS of ours: it is only as authentic as the @peer_id its
 * maker proved.
 */
void
filer_transfer_service_handle_stream (FilerTransferService *self,
                                      GIOStream            *stream,
                                      const char           *peer_id,
                                      const char           *path_name)
{
  Unproven *unproven;

  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));
  g_return_if_fail (G_IS_IO_STREAM (stream));

  unproven = unproven_admit (self, NULL, NULL);
  if (unproven == NULL)
    {
      g_debug ("Incoming %s stream closed: too many connections before their hello", path_name);
      g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      return;
    }
  start_hello (self, stream, peer_id, path_name, unproven);
}

/* ------------------------------------------------------------------ */
/* The listener: TLS first                                             */

/* What a version-1 peer (no TLS: its first bytes are a plaintext hello
 * frame) is told, in a plaintext error frame, before we close. */
#define VERSION_1_MESSAGE "This device runs Filer with transfer protocol version 2 " \
                          "(encrypted); please update Filer to send to it"

typedef struct
{
  FilerTransferService *service;
  GSocketConnection    *connection;
  Unproven             *unproven;
  GSource              *readable;
  GSource              *timeout;
} Incoming;

static void
incoming_free (Incoming *incoming)
{
  if (incoming->readable != NULL)
    {
      g_source_destroy (incoming->readable);
      g_source_unref (incoming->readable);
    }
  if (incoming->timeout != NULL)
    {
      g_source_destroy (incoming->timeout);
      g_source_unref (incoming->timeout);
    }
  g_clear_pointer (&incoming->unproven, unproven_release);
  g_clear_object (&incoming->connection);
  g_clear_object (&incoming->service);
  g_free (incoming);
}

/* A Filer 1 sent its hello in clear and waits for ours. It is owed one
 * error frame it can read, not silence: drain what it sent (closing with
 * unread bytes would reset the connection and could lose our answer),
 * write the frame, close. A few hundred bytes into a fresh socket's send
 * buffer never block. */
static void
answer_version_1 (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(FilerFrame) frame = filer_frame_new ("error");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  char drain[4096];

  filer_frame_set (frame, "code", filer_transfer_error_to_wire (FILER_TRANSFER_ERROR_VERSION));
  filer_frame_set (frame, "message", VERSION_1_MESSAGE);
  bytes = filer_frame_encode (frame, &error);

  while (g_socket_receive_with_blocking (socket, drain, sizeof drain, FALSE, NULL, NULL) > 0)
    ;
  if (bytes != NULL)
    g_socket_send_with_blocking (socket, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                 FALSE, NULL, NULL);
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static void
server_handshake_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Unproven *unproven = user_data;
  FilerTransferService *self = unproven->service;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *proven = NULL;

  tls = filer_tls_handshake_finish (result, &proven, &error);
  if (tls == NULL)
    {
      g_debug ("Incoming transfer connection: TLS failed: %s", error->message);
      unproven_release (unproven);
      return;
    }
  if (self->disposed)
    {
      g_io_stream_close_async (tls, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      unproven_release (unproven);
      return;
    }

  /* From here the caller's id is the one its key proves: the hello must
   * say the same, and the transfer (auto-accept, the trusted list) sees
   * only that. */
  start_hello (self, tls, proven, FILER_TRANSFER_PATH_LAN, unproven);
}

/* The first bytes decide (filer_tls_peek_first_record()): a whole TLS
 * record starts the handshake; a Filer 1 frame is told to update. */
static gboolean
incoming_readable_cb (GSocket      *socket,
                      GIOCondition  condition,
                      gpointer      user_data)
{
  Incoming *incoming = user_data;
  FilerTransferService *self = incoming->service;

  if (self->disposed)
    {
      g_clear_pointer (&incoming->readable, g_source_unref);
      incoming_free (incoming);
      return G_SOURCE_REMOVE;
    }

  switch (filer_tls_peek_first_record (socket))
    {
    case FILER_TLS_FIRST_RECORD_WAIT:
      return G_SOURCE_CONTINUE;

    case FILER_TLS_FIRST_RECORD_READY:
      filer_tls_handshake_async (G_IO_STREAM (incoming->connection), FILER_TLS_ROLE_SERVER,
                                 self->identity, NULL, self->cancellable, server_handshake_cb,
                                 g_steal_pointer (&incoming->unproven));
      break;

    case FILER_TLS_FIRST_RECORD_NOT_TLS:
      g_debug ("Incoming transfer connection speaks in clear (Filer 1): told to update");
      answer_version_1 (incoming->connection);
      break;

    case FILER_TLS_FIRST_RECORD_CLOSED:
    default:
      g_debug ("Incoming transfer connection closed before its first TLS record");
      g_io_stream_close (G_IO_STREAM (incoming->connection), NULL, NULL);
      break;
    }

  g_clear_pointer (&incoming->readable, g_source_unref);
  incoming_free (incoming);
  return G_SOURCE_REMOVE;
}

static gboolean
incoming_timeout_cb (gpointer user_data)
{
  Incoming *incoming = user_data;

  g_debug ("Incoming transfer connection sent nothing in time");
  g_io_stream_close (G_IO_STREAM (incoming->connection), NULL, NULL);
  g_clear_pointer (&incoming->timeout, g_source_unref);
  incoming_free (incoming);
  return G_SOURCE_REMOVE;
}

static gboolean
incoming_cb (GSocketService    *listener,
             GSocketConnection *socket_connection,
             GObject           *source_object,
             gpointer           user_data)
{
  FilerTransferService *self = user_data;
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (socket_connection, NULL);
  g_autofree char *address = NULL;
  Incoming *incoming;
  Unproven *unproven;

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    address = filer_net_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  unproven = unproven_admit (self, address != NULL ? address : "?",
                             g_socket_connection_get_socket (socket_connection));
  if (unproven == NULL)
    {
      g_debug ("Incoming transfer connection from %s closed: too many before their hello", address);
      g_io_stream_close (G_IO_STREAM (socket_connection), NULL, NULL);
      return TRUE;
    }

  incoming = g_new0 (Incoming, 1);
  incoming->service = g_object_ref (self);
  incoming->unproven = unproven;
  incoming->connection = g_object_ref (socket_connection);
  incoming->readable = g_socket_create_source (g_socket_connection_get_socket (socket_connection),
                                               G_IO_IN | G_IO_HUP | G_IO_ERR, self->cancellable);
  g_source_set_callback (incoming->readable, G_SOURCE_FUNC (incoming_readable_cb), incoming, NULL);
  g_source_attach (incoming->readable, g_main_context_get_thread_default ());
  incoming->timeout = g_timeout_source_new (FILER_TRANSFER_HELLO_TIMEOUT_MS);
  g_source_set_callback (incoming->timeout, incoming_timeout_cb, incoming, NULL);
  g_source_attach (incoming->timeout, g_main_context_get_thread_default ());
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

typedef struct
{
  char    *relative;
  char    *local;
  guint64  size;
} Entry;

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->relative);
  g_free (entry->local);
  g_free (entry);
}

typedef struct
{
  FilerTransferService *service;
  FilerTransfer        *transfer;
  GCancellable         *cancellable;
  char                **local_paths;
  GPtrArray            *entries;
  FilerPeer            *peer;      /* over the LAN: whom to connect to */
  GIOStream            *stream;    /* or a stream someone else made */
  FilerFrameConnection *connection; /* or a connection whose hello is done */
  char                 *path_name;
} Send;

static void
send_free (Send *send)
{
  g_clear_object (&send->service);
  g_clear_object (&send->transfer);
  g_clear_object (&send->cancellable);
  g_strfreev (send->local_paths);
  g_clear_pointer (&send->entries, g_ptr_array_unref);
  g_clear_object (&send->peer);
  g_clear_object (&send->stream);
  g_clear_object (&send->connection);
  g_free (send->path_name);
  g_free (send);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *)a, *(const char * const *)b);
}

/* In a thread: the tree under @local, in name order. Symlinks to files
 * are followed; symlinks to folders are not (no loops); other special
 * files are skipped. */
static gboolean
collect (const char  *local,
         const char  *relative,
         GPtrArray   *entries,
         GError     **error)
{
  struct stat st;

  if (stat (local, &st) < 0)
    {
      int saved = errno;
      g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                   "Cannot send “%s”: %s", local, g_strerror (saved));
      return FALSE;
    }

  if (S_ISREG (st.st_mode))
    {
      Entry *entry;
      g_autoptr(GError) local_error = NULL;

      if (!filer_safe_path_check (relative, &local_error))
        {
          g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME,
                       "Cannot send “%s”: %s", local, local_error->message);
          return FALSE;
        }

      entry = g_new0 (Entry, 1);
      entry->relative = g_strdup (relative);
      entry->local = g_strdup (local);
      entry->size = st.st_size;
      g_ptr_array_add (entries, entry);
      return TRUE;
    }

  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      struct stat lst;

      if (lstat (local, &lst) == 0 && S_ISLNK (lst.st_mode) && relative != NULL &&
          strchr (relative, '/') != NULL)
        return TRUE;   /* a symlinked folder inside the tree */

      dir = g_dir_open (local, 0, error);
      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);

      for (guint i = 0; i < names->len; i++)
        {
          const char *child = g_ptr_array_index (names, i);
          g_autofree char *child_local = g_build_filename (local, child, NULL);
          g_autofree char *child_relative = g_strdup_printf ("%s/%s", relative, child);

          if (!collect (child_local, child_relative, entries, error))
            return FALSE;
        }
      return TRUE;
    }

  return TRUE;   /* FIFOs, sockets, devices: not files to send */
}

static void
collect_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Send *send = task_data;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_autoptr(GHashTable) top = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GError *error = NULL;

  for (guint i = 0; send->local_paths[i] != NULL; i++)
    {
      g_autofree char *canonical = g_canonicalize_filename (send->local_paths[i], NULL);
      g_autofree char *base = g_path_get_basename (canonical);
      g_autofree char *name = g_strdup (base);

      /* Two top-level items with the same name stay apart. */
      for (guint n = 1; g_hash_table_contains (top, name); n++)
        {
          g_free (name);
          name = filer_safe_path_numbered (base, n);
        }
      g_hash_table_add (top, g_strdup (name));

      if (!collect (canonical, name, entries, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  if (entries->len == 0)
    {
      g_task_return_new_error (task, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                               "Nothing to send: no files in what was given");
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&entries), (GDestroyNotify)g_ptr_array_unref);
}

static void
connecting_cancel (gpointer controller)
{
  Send *send = controller;

  g_cancellable_cancel (send->cancellable);
  _filer_transfer_fail (send->transfer, FILER_TRANSFER_STATE_CANCELLED,
                        &(GError) { FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CANCELLED,
                                    (char *)"Cancelled" });
}

static const FilerTransferController connecting_controller = {
  .cancel = connecting_cancel,
};

static void
send_failed (Send   *send,
             GError *error)
{
  _filer_transfer_set_controller (send->transfer, NULL, NULL);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _filer_transfer_fail (send->transfer, FILER_TRANSFER_STATE_FAILED, error);
  send_free (send);
}

static void
start_sender (Send                 *send,
              FilerFrameConnection *connection,
              const char           *peer_name)
{
  FilerTransferService *self = send->service;
  g_autoptr(GPtrArray) locals = g_ptr_array_new ();
  FilerTransferSender *sender;

  _filer_transfer_set_controller (send->transfer, NULL, NULL);
  if (filer_transfer_is_finished (send->transfer) || self->disposed)
    {
      filer_frame_connection_close (connection);
      send_free (send);
      return;
    }

  if (peer_name != NULL)
    _filer_transfer_set_peer (send->transfer, filer_transfer_get_peer_id (send->transfer), peer_name);
  _filer_transfer_set_path (send->transfer, send->path_name);

  for (guint i = 0; i < send->entries->len; i++)
    g_ptr_array_add (locals, ((Entry *)g_ptr_array_index (send->entries, i))->local);
  g_ptr_array_add (locals, NULL);

  sender = filer_transfer_sender_new (connection, send->transfer, (const char * const *)locals->pdata);
  g_signal_connect_object (sender, "done", G_CALLBACK (side_done_cb), self, 0);
  g_hash_table_add (self->sides, sender);
  send_free (send);
  filer_transfer_sender_start (sender);
}

static void
lan_connected_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Send *send = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerFrameConnection) connection = NULL;
  g_autofree char *peer_name = NULL;

  connection = filer_transfer_connect_lan_finish (result, &peer_name, &error);
  if (connection == NULL)
    {
      send_failed (send, error);
      return;
    }
  start_sender (send, connection, peer_name);
}

static void
stream_hello_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Send *send = user_data;
  FilerFrameConnection *connection = FILER_FRAME_CONNECTION (object);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_name = NULL;

  if (!filer_transfer_hello_finish (connection, result, NULL, &peer_name, &error))
    {
      send_failed (send, error);
      return;
    }
  start_sender (send, connection, peer_name);
}

static void
collected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Send *send = user_data;
  FilerTransferService *self = send->service;
  g_autoptr(GError) error = NULL;

  send->entries = g_task_propagate_pointer (G_TASK (result), &error);
  if (send->entries == NULL)
    {
      send_failed (send, error);
      return;
    }

  for (guint i = 0; i < send->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (send->entries, i);
      g_autoptr(FilerTransferFile) file = filer_transfer_file_new (i, entry->relative, entry->size);

      _filer_transfer_add_file (send->transfer, file);
    }

  if (send->connection != NULL)
    {
      g_autoptr(FilerFrameConnection) connection = g_steal_pointer (&send->connection);

      start_sender (send, connection, NULL);
    }
  else if (send->stream != NULL)
    {
      g_autoptr(FilerFrameConnection) connection = filer_frame_connection_new (send->stream);

      filer_transfer_hello_async (connection, self->device_id, self->device_name,
                                  filer_transfer_get_peer_id (send->transfer), NULL,
                                  send->cancellable, stream_hello_cb, send);
    }
  else
    filer_transfer_connect_lan_async (send->peer, self->identity, self->device_name,
                                      self->connect_timeout_ms, send->cancellable,
                                      lan_connected_cb, send);
}

/* The service's cancellable cancels each send's own: a
 * GCancellable::cancelled handler gets the source first, @data second. */
static void
cancel_send_cb (GCancellable *service_cancellable,
                gpointer      send_cancellable)
{
  g_cancellable_cancel (send_cancellable);
}

static FilerTransfer *
begin_send (FilerTransferService *self,
            Send                 *send,
            const char           *peer_id,
            const char           *peer_name,
            const char * const   *local_paths)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *id = g_uuid_string_random ();

  send->service = g_object_ref (self);
  send->cancellable = g_cancellable_new ();
  send->local_paths = g_strdupv ((char **)local_paths);
  send->transfer = _filer_transfer_new (FILER_TRANSFER_DIRECTION_SEND, id);
  _filer_transfer_set_peer (send->transfer, peer_id, peer_name != NULL ? peer_name : peer_id);
  _filer_transfer_set_controller (send->transfer, &connecting_controller, send);
  g_cancellable_connect (self->cancellable, G_CALLBACK (cancel_send_cb),
                         g_object_ref (send->cancellable), g_object_unref);
  add_transfer (self, send->transfer);

  /* collected_cb always runs and takes @send over. */
  task = g_task_new (NULL, send->cancellable, collected_cb, send);
  g_task_set_source_tag (task, begin_send);
  g_task_set_task_data (task, send, NULL);
  g_task_run_in_thread (task, collect_thread);

  return send->transfer;
}

/**
 * filer_transfer_service_send:
 * @self: a service
 * @peer: the receiver, with the addresses and port discovery reported
 * @local_paths: files and folders to send (folders keep their structure)
 *
 * Starts sending. The transfer is in the transfers list at once, in state
 * CONNECTING; everything after (listing, connecting, the answer) shows in
 * its properties. Failures end it in FAILED with error-message set.
 *
 * Returns: (transfer none): the transfer
 */
FilerTransfer *
filer_transfer_service_send (FilerTransferService *self,
                             FilerPeer            *peer,
                             const char * const   *local_paths)
{
  Send *send;

  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  g_return_val_if_fail (FILER_IS_PEER (peer), NULL);
  g_return_val_if_fail (local_paths != NULL && local_paths[0] != NULL, NULL);

  send = g_new0 (Send, 1);
  send->peer = g_object_ref (peer);
  send->path_name = g_strdup (FILER_TRANSFER_PATH_LAN);

  return begin_send (self, send, filer_peer_get_id (peer), filer_peer_get_name (peer), local_paths);
}

/**
 * filer_transfer_service_send_over_stream:
 * @self: a service
 * @stream: a stream to the peer (a punched UDP path, a relay)
 * @peer_id: the device the stream should reach; the hello checks it
 * @peer_name: (nullable): its name, until its hello says
 * @path_name: what to show as the path: "direct", "relay"
 * @local_paths: files and folders to send
 *
 * Like filer_transfer_service_send() on a stream some other connector
 * made.
 *
 * Returns: (transfer none): the transfer
 */
FilerTransfer *
filer_transfer_service_send_over_stream (FilerTransferService *self,
                                         GIOStream            *stream,
                                         const char           *peer_id,
                                         const char           *peer_name,
                                         const char           *path_name,
                                         const char * const   *local_paths)
{
  Send *send;

  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (peer_id != NULL, NULL);
  g_return_val_if_fail (local_paths != NULL && local_paths[0] != NULL, NULL);

  send = g_new0 (Send, 1);
  send->stream = g_object_ref (stream);
  send->path_name = g_strdup (path_name);
  return begin_send (self, send, peer_id, peer_name, local_paths);
}

/**
 * filer_transfer_service_send_over_connection:
 * @self: a service
 * @connection: a connection to the peer whose hello has been exchanged
 *   (filer_transfer_connect_lan_async() made and checked it)
 * @peer_id: the device the hello confirmed
 * @peer_name: (nullable): its name, as its hello said
 * @path_name: what to show as the path: "lan"
 * @local_paths: files and folders to send
 *
 * Like filer_transfer_service_send() on a connection that already proved
 * the path: the path ladder does not connect twice.
 *
 * Returns: (transfer none): the transfer
 */
FilerTransfer *
filer_transfer_service_send_over_connection (FilerTransferService *self,
                                             FilerFrameConnection *connection,
                                             const char           *peer_id,
                                             const char           *peer_name,
                                             const char           *path_name,
                                             const char * const   *local_paths)
{
  Send *send;

  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  g_return_val_if_fail (FILER_IS_FRAME_CONNECTION (connection), NULL);
  g_return_val_if_fail (peer_id != NULL, NULL);
  g_return_val_if_fail (local_paths != NULL && local_paths[0] != NULL, NULL);

  send = g_new0 (Send, 1);
  send->connection = g_object_ref (connection);
  send->path_name = g_strdup (path_name);
  return begin_send (self, send, peer_id, peer_name, local_paths);
}

/* ------------------------------------------------------------------ */
/* The object                                                          */

static void
filer_transfer_service_dispose (GObject *object)
{
  FilerTransferService *self = (FilerTransferService *)object;

  self->disposed = TRUE;
  g_cancellable_cancel (self->cancellable);

  if (self->listener != NULL)
    {
      g_socket_service_stop (self->listener);
      g_socket_listener_close (G_SOCKET_LISTENER (self->listener));
      g_clear_object (&self->listener);
    }

  /* Tell every peer that we are going. */
  for (guint i = 0; self->transfers != NULL &&
                    i < g_list_model_get_n_items (G_LIST_MODEL (self->transfers)); i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (G_LIST_MODEL (self->transfers), i);
      filer_transfer_cancel (transfer);
    }

  g_clear_pointer (&self->sides, g_hash_table_unref);
  if (self->pending != NULL)
    {
      GHashTableIter iter;
      gpointer connection;

      g_hash_table_iter_init (&iter, self->pending);
      while (g_hash_table_iter_next (&iter, &connection, NULL))
        filer_frame_connection_close (connection);
      g_clear_pointer (&self->pending, g_hash_table_unref);
    }

  if (self->auto_accept_destroy != NULL)
    self->auto_accept_destroy (self->auto_accept_data);
  self->auto_accept = NULL;
  self->auto_accept_destroy = NULL;

  G_OBJECT_CLASS (filer_transfer_service_parent_class)->dispose (object);
}

static void
filer_transfer_service_finalize (GObject *object)
{
  FilerTransferService *self = (FilerTransferService *)object;

  g_clear_object (&self->transfers);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->unproven_by_address, g_hash_table_unref);
  g_clear_object (&self->identity);
  g_free (self->device_id);
  g_free (self->device_name);
  g_free (self->download_dir);

  G_OBJECT_CLASS (filer_transfer_service_parent_class)->finalize (object);
}

static void
filer_transfer_service_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  FilerTransferService *self = FILER_TRANSFER_SERVICE (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;
    case PROP_DEVICE_NAME:
      g_value_set_string (value, self->device_name);
      break;
    case PROP_DOWNLOAD_DIR:
      g_value_set_string (value, self->download_dir);
      break;
    case PROP_ACCEPT_ALL:
      g_value_set_boolean (value, self->accept_all);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_TRANSFERS:
      g_value_set_object (value, self->transfers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_transfer_service_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  FilerTransferService *self = FILER_TRANSFER_SERVICE (object);

  switch (prop_id)
    {
    case PROP_DEVICE_NAME:
      filer_transfer_service_set_device_name (self, g_value_get_string (value));
      break;
    case PROP_DOWNLOAD_DIR:
      filer_transfer_service_set_download_dir (self, g_value_get_string (value));
      break;
    case PROP_ACCEPT_ALL:
      filer_transfer_service_set_accept_all (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_transfer_service_class_init (FilerTransferServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_transfer_service_dispose;
  object_class->finalize = filer_transfer_service_finalize;
  object_class->get_property = filer_transfer_service_get_property;
  object_class->set_property = filer_transfer_service_set_property;

  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL, FILER_TYPE_IDENTITY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICE_NAME] =
    g_param_spec_string ("device-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DOWNLOAD_DIR] =
    g_param_spec_string ("download-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACCEPT_ALL] =
    g_param_spec_boolean ("accept-all", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TRANSFERS] =
    g_param_spec_object ("transfers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FilerTransferService::offer-received:
   * @self: the service
   * @transfer: an incoming #FilerTransfer in state WAITING_FOR_ANSWER,
   *   with its files, peer and total size filled in
   *
   * Answer with filer_transfer_accept() or filer_transfer_decline() (now
   * or later); filer_transfer_cancel() also works.
   */
  signals[OFFER_RECEIVED] =
    g_signal_new ("offer-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_TRANSFER);
}

static void
filer_transfer_service_init (FilerTransferService *self)
{
  self->transfers = g_list_store_new (FILER_TYPE_TRANSFER);
  self->sides = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->pending = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->unproven_by_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                     (GDestroyNotify)g_queue_free);
  self->cancellable = g_cancellable_new ();
}

/**
 * filer_transfer_service_new:
 * @identity: our device key: every TCP transfer connection runs TLS with
 *   it, and our device id is its id (required: there is no plaintext
 *   fallback)
 * @device_name: (nullable): our name, shown to peers
 * @download_dir: where received files go (created when needed)
 */
FilerTransferService *
filer_transfer_service_new (FilerIdentity *identity,
                            const char    *device_name,
                            const char    *download_dir)
{
  FilerTransferService *self;

  g_return_val_if_fail (FILER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  self = g_object_new (FILER_TYPE_TRANSFER_SERVICE, NULL);
  self->identity = g_object_ref (identity);
  self->device_id = g_strdup (filer_identity_get_id (identity));
  self->device_name = g_strdup (device_name != NULL ? device_name : self->device_id);
  self->download_dir = g_strdup (download_dir);
  return self;
}

/**
 * filer_transfer_service_get_identity:
 * @self: a service
 *
 * Returns: (transfer none): our device key
 */
FilerIdentity *
filer_transfer_service_get_identity (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  return self->identity;
}

const char *
filer_transfer_service_get_device_id (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  return self->device_id;
}

const char *
filer_transfer_service_get_device_name (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  return self->device_name;
}

void
filer_transfer_service_set_device_name (FilerTransferService *self,
                                        const char           *name)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  if (name == NULL)
    return;
  if (filer_set_string (&self->device_name, name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE_NAME]);
}

const char *
filer_transfer_service_get_download_dir (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  return self->download_dir;
}

void
filer_transfer_service_set_download_dir (FilerTransferService *self,
                                         const char           *download_dir)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  if (download_dir == NULL)
    return;
  if (filer_set_string (&self->download_dir, download_dir))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOWNLOAD_DIR]);
}

gboolean
filer_transfer_service_get_accept_all (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), FALSE);
  return self->accept_all;
}

void
filer_transfer_service_set_accept_all (FilerTransferService *self,
                                       gboolean              accept_all)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  accept_all = !!accept_all;
  if (self->accept_all == accept_all)
    return;
  self->accept_all = accept_all;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCEPT_ALL]);
}

/**
 * filer_transfer_service_set_auto_accept_func:
 * @self: a service
 * @func: (nullable): the trusted-device hook
 * @user_data: for @func
 * @destroy: (nullable): frees @user_data
 */
void
filer_transfer_service_set_auto_accept_func (FilerTransferService *self,
                                             FilerAutoAcceptFunc   func,
                                             gpointer              user_data,
                                             GDestroyNotify        destroy)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  if (self->auto_accept_destroy != NULL)
    self->auto_accept_destroy (self->auto_accept_data);
  self->auto_accept = func;
  self->auto_accept_data = user_data;
  self->auto_accept_destroy = destroy;
}

/**
 * filer_transfer_service_set_free_space_func:
 * @self: a service
 * @func: (nullable): the probe; %NULL restores fstatvfs
 * @user_data: for @func
 */
void
filer_transfer_service_set_free_space_func (FilerTransferService *self,
                                            FilerFreeSpaceFunc    func,
                                            gpointer              user_data)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  self->free_space = func;
  self->free_space_data = user_data;
}

/* How long a send keeps retrying an unreachable peer (0: 30 s). */
void
filer_transfer_service_set_connect_timeout (FilerTransferService *self,
                                            guint                 timeout_ms)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  self->connect_timeout_ms = timeout_ms;
}

/**
 * filer_transfer_service_listen:
 * @self: a service
 * @address: (nullable): the address to listen on, %NULL for all
 * @port: the port, 0 for any free one
 * @error: return location for an error
 *
 * Starts the listener. Register with discovery only after this returns
 * %TRUE (a peer must not appear before it can receive), with
 * filer_transfer_service_get_port().
 */
gboolean
filer_transfer_service_listen (FilerTransferService  *self,
                               const char            *address,
                               guint16                port,
                               GError               **error)
{
  g_autoptr(GSocketService) listener = NULL;
  g_autoptr(GSocketAddress) effective = NULL;

  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), FALSE);
  g_return_val_if_fail (self->listener == NULL, FALSE);

  listener = g_socket_service_new ();

  if (address == NULL)
    {
      guint16 bound = port != 0 ? port
                                : g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (listener),
                                                                       NULL, error);
      if (bound == 0)
        return FALSE;
      if (port != 0 && !g_socket_listener_add_inet_port (G_SOCKET_LISTENER (listener), port, NULL, error))
        return FALSE;
      self->port = bound;
    }
  else
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
      g_autoptr(GSocketAddress) wanted = NULL;

      if (inet == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "“%s” is not an IP address", address);
          return FALSE;
        }
      wanted = g_inet_socket_address_new (inet, port);
      if (!g_socket_listener_add_address (G_SOCKET_LISTENER (listener), wanted,
                                          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                          NULL, &effective, error))
        return FALSE;
      self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
    }

  g_signal_connect (listener, "incoming", G_CALLBACK (incoming_cb), self);
  g_socket_service_start (listener);
  self->listener = g_steal_pointer (&listener);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
  return TRUE;
}

guint16
filer_transfer_service_get_port (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), 0);
  return self->port;
}

/**
 * filer_transfer_service_get_transfers:
 * @self: a service
 *
 * Returns: (transfer none): a #GListModel of #FilerTransfer, oldest first
 */
GListModel *
filer_transfer_service_get_transfers (FilerTransferService *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_SERVICE (self), NULL);
  return G_LIST_MODEL (self->transfers);
}

/* Drops finished transfers from the list (a "Clear" button). */
void
filer_transfer_service_clear_finished (FilerTransferService *self)
{
  g_return_if_fail (FILER_IS_TRANSFER_SERVICE (self));

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->transfers)); i > 0; i--)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (G_LIST_MODEL (self->transfers), i - 1);

      if (filer_transfer_is_finished (transfer))
        g_list_store_remove (self->transfers, i - 1);
    }
}
