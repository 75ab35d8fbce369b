/* filer-probe.c: finds discovery servers on the LAN by UDP probe
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "filer-probe.h"

#include "filer-discovery-error.h"
#include "filer-frame-decoder.h"
#include "filer-identity.h"
#include "filer-net.h"
#include "filer-socket.h"
#include "filer-util.h"

/* A probe sends "probe" datagrams to its targets (again every resend
 * interval: a datagram may be lost) and listens for "probe-reply" until
 * its timeout (docs/protocol.md §2). It has two uses:
 *
 *  - find: the discovery client without a configured server connects to
 *    the first server that answers (or reports NOT_FOUND at the timeout);
 *  - collect: a hosting session listens for the whole window for other
 *    servers on the LAN (skip-own leaves out replies from this machine,
 *    its own server among them) and applies its rule to all of them.
 *
 * Why GTask and not signals: each probe is one question with one answer
 * (a server, the servers of a window, or why not), which its owner may
 * cancel; a GTask gives exactly one completion, cancellation through the
 * owner's GCancellable, and leaves FilerProbe knowing nothing of who
 * asked. Its owner never has to disconnect handlers before dropping it.
 *
 * Replies are read through filer_socket_watch_datagrams(), the one
 * non-blocking datagram loop: a reply that is skipped (malformed, or
 * from our own address) followed by silence leaves the main loop free;
 * a blocking read there once froze the hosting app.
 */

struct _FilerProbe
{
  GObject   parent_instance;

  char    **targets;       /* NULL: loopback and every broadcast address */
  char     *local_address;
  guint16   port;
  guint     timeout_ms;
  guint     resend_ms;
  gboolean  skip_own;
};

G_DEFINE_FINAL_TYPE (FilerProbe, filer_probe, G_TYPE_OBJECT)

typedef struct
{
  GSocket   *socket;
  GSource   *watch;
  GSource   *resend;
  GSource   *timeout;
  GSource   *cancel;
  GBytes    *probe;         /* the encoded "probe" */
  GPtrArray *to;            /* GSocketAddress: where probes go */
  char     **own;           /* our addresses, when skip_own */
  GPtrArray *found;         /* GInetSocketAddress: servers (collect) */
  char      *found_id;      /* the first server's id, if it said (find) */
  gboolean   collect;
  gboolean   skip_own;
} Run;

static void
run_stop (Run *run)
{
  filer_clear_source (&run->watch);
  filer_clear_source (&run->resend);
  filer_clear_source (&run->timeout);
  filer_clear_source (&run->cancel);
  if (run->socket != NULL)
    {
      g_socket_close (run->socket, NULL);
      g_clear_object (&run->socket);
    }
}

static void
run_free (gpointer data)
{
  Run *run = data;

  run_stop (run);
  g_clear_pointer (&run->probe, g_bytes_unref);
  g_clear_pointer (&run->to, g_ptr_array_unref);
  g_clear_pointer (&run->own, g_strfreev);
  g_clear_pointer (&run->found, g_ptr_array_unref);
  g_free (run->found_id);
  g_free (run);
}

/* Every end of a run comes here: stop reading and sending first, so
 * that whatever the callback does (start another probe, drop its owner)
 * finds nothing of this run left, then drop the run's hold on @task. */
static void
run_return (GTask   *task,     /* (transfer full) */
            gpointer result,
            GError  *error)    /* (transfer full) (nullable) */
{
  Run *run = g_task_get_task_data (task);

  run_stop (run);
  if (error != NULL)
    g_task_return_error (task, error);
  else if (run->collect)
    g_task_return_pointer (task, g_ptr_array_ref (run->found), (GDestroyNotify)g_ptr_array_unref);
  else
    g_task_return_pointer (task, result, g_object_unref);
  g_object_unref (task);
}

/* --- Targets ------------------------------------------------------- */

static void
add_target (GStrvBuilder *builder,
            const char   *host,
            guint16       port)
{
  g_autofree char *target = filer_net_format_host_port (host, port);

  g_strv_builder_add (builder, target);
}

static char **
send_targets (FilerProbe *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) broadcasts = NULL;

  if (self->targets != NULL)
    {
      for (guint i = 0; self->targets[i] != NULL; i++)
        {
          g_autofree char *host = NULL;
          guint16 port;

          if (filer_net_parse_host_port (self->targets[i], self->port, &host, &port, NULL))
            add_target (builder, host, port);
          else
            g_debug ("Skipping probe target “%s”", self->targets[i]);
        }
      return g_strv_builder_end (builder);
    }

  add_target (builder, "127.0.0.1", self->port);
  broadcasts = filer_net_get_broadcast_addresses ();
  for (guint i = 0; broadcasts[i] != NULL; i++)
    add_target (builder, broadcasts[i], self->port);

  return g_strv_builder_end (builder);
}

/**
 * filer_probe_dup_send_targets:
 *
 * Returns: (transfer full): where a probe started now sends, "IPV4:PORT"
 *   each: the targets with the probe's port where they name none, or
 *   without targets 127.0.0.1 and the broadcast address of every
 *   interface that is up (filer_net_get_broadcast_addresses())
 */
char **
filer_probe_dup_send_targets (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), NULL);

  return send_targets (self);
}

static GPtrArray *
resolve_targets (char **targets)
{
  GPtrArray *to = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; targets[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) address = NULL;
      g_autofree char *host = NULL;
      guint16 port;

      if (!filer_net_parse_host_port (targets[i], FILER_DISCOVERY_DEFAULT_PORT, &host, &port, NULL) ||
          (address = g_inet_address_new_from_string (host)) == NULL ||
          g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
        {
          g_debug ("Skipping probe target “%s”", targets[i]);
          continue;
        }

      g_ptr_array_add (to, g_inet_socket_address_new (address, port));
    }

  return to;
}

/* --- A run --------------------------------------------------------- */

static gboolean
resend_cb (gpointer user_data)
{
  Run *run = g_task_get_task_data (user_data);

  for (guint i = 0; i < run->to->len; i++)
    {
      GSocketAddress *to = g_ptr_array_index (run->to, i);
      g_autoptr(GError) error = NULL;

      if (g_socket_send_to (run->socket, to,
                            g_bytes_get_data (run->probe, NULL), g_bytes_get_size (run->probe),
                            NULL, &error) < 0)
        {
          g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (to));

          g_debug ("Probe to %s failed: %s", text, error->message);
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
same_server (gconstpointer a,
             gconstpointer b)
{
  GInetSocketAddress *x = (GInetSocketAddress *)a;
  GInetSocketAddress *y = (GInetSocketAddress *)b;

  return g_inet_socket_address_get_port (x) == g_inet_socket_address_get_port (y) &&
         g_inet_address_equal (g_inet_socket_address_get_address (x),
                               g_inet_socket_address_get_address (y));
}

static gboolean
reply_cb (GSocket        *socket,
          const guint8   *data,
          gsize           length,
          GSocketAddress *from,
          gpointer        user_data)
{
  GTask *task = user_data;
  Run *run = g_task_get_task_data (task);
  g_autoptr(FilerFrame) frame = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *host = NULL;
  GInetSocketAddress *server;
  guint64 port;

  const char *server_id;

  frame = filer_frame_decode_datagram (data, length, length, NULL);
  server_id = frame != NULL ? filer_frame_get (frame, "server-id") : NULL;
  /* The server's id (version 2) is only a claim, checked by TLS; one that
   * is not even an id (a fixed 63 characters with check digits) makes
   * the reply malformed. */
  if (frame == NULL || !filer_frame_is (frame, "probe-reply") ||
      !filer_frame_get_uint (frame, "port", G_MAXUINT16, &port, NULL) || port == 0 ||
      (server_id != NULL && !filer_identity_id_is_valid (server_id)) ||
      !G_IS_INET_SOCKET_ADDRESS (from))
    {
      g_debug ("Ignoring a malformed probe reply");
      return G_SOURCE_CONTINUE;
    }

  host = filer_net_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));
  address = g_inet_address_new_from_string (host);
  /* Ours: loopback, or one of the machine's addresses (a broadcast
   * reaches our own server too, which answers from there). */
  if (run->skip_own &&
      (g_inet_address_get_is_loopback (address) ||
       g_strv_contains ((const char * const *)run->own, host)))
    {
      g_debug ("Skipping the probe reply of our own server at %s", host);
      return G_SOURCE_CONTINUE;
    }

  server = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, port));
  g_debug ("Found a discovery server at %s, TCP port %u", host, (guint)port);

  if (run->collect)
    {
      if (run->found->len >= FILER_PROBE_MAX_SERVERS ||
          g_ptr_array_find_with_equal_func (run->found, server, same_server, NULL))
        g_object_unref (server);
      else
        g_ptr_array_add (run->found, server);
      return G_SOURCE_CONTINUE;
    }

  /* Destroys this watch (the loop stops reading) and ends the run. */
  run->found_id = g_strdup (server_id);
  run_return (task, server, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  Run *run = g_task_get_task_data (task);

  if (run->collect)
    run_return (task, NULL, NULL);
  else
    run_return (task, NULL, g_error_new (FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NOT_FOUND,
                                         "No discovery server found on the local network"));
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  run_return (user_data, NULL, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "The probe was cancelled"));
  return G_SOURCE_REMOVE;
}

static GSource *
attach (GSource     *source,
        GSourceFunc  func,
        GTask       *task)
{
  g_source_set_callback (source, func, task, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  return source;
}

static void
run_start (FilerProbe          *self,
           gboolean             collect,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data,
           gpointer             source_tag)
{
  g_autoptr(FilerFrame) probe = filer_frame_new ("probe");
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_auto(GStrv) targets = NULL;
  GError *error = NULL;
  GTask *task;
  Run *run;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  run = g_new0 (Run, 1);
  run->collect = collect;
  run->skip_own = self->skip_own;
  run->found = g_ptr_array_new_with_free_func (g_object_unref);
  run->own = self->skip_own ? filer_net_get_local_addresses () : g_new0 (char *, 1);
  targets = send_targets (self);
  run->to = resolve_targets (targets);
  filer_frame_set_uint (probe, "version", 1);
  filer_frame_pad_to (probe, 128);  /* at least its reply (§2.6) */
  run->probe = filer_frame_encode (probe, NULL);
  g_task_set_task_data (task, run, run_free);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  run->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                              G_SOCKET_PROTOCOL_UDP, &error);
  if (run->socket == NULL)
    {
      run_return (task, NULL, error);
      return;
    }

  if (self->local_address != NULL)
    any = g_inet_address_new_from_string (self->local_address);
  if (any == NULL)
    any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  local = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (run->socket, local, FALSE, &error))
    {
      run_return (task, NULL, error);
      return;
    }
  g_socket_set_broadcast (run->socket, TRUE);

  run->watch = filer_socket_watch_datagrams (run->socket, 16, reply_cb, task, NULL);
  run->timeout = attach (g_timeout_source_new (self->timeout_ms), timeout_cb, task);
  if (self->resend_ms > 0)
    run->resend = attach (g_timeout_source_new (self->resend_ms), resend_cb, task);
  if (cancellable != NULL)
    {
      run->cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (run->cancel, (GSourceFunc)(void (*)(void))cancelled_cb, task, NULL);
      g_source_attach (run->cancel, g_main_context_get_thread_default ());
    }

  resend_cb (task);
}

/**
 * filer_probe_find_async:
 *
 * Probes the targets and completes with the first server that answers
 * (unless skip-own says its address is ours), or with
 * %FILER_DISCOVERY_ERROR_NOT_FOUND at the timeout.
 */
void
filer_probe_find_async (FilerProbe          *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (FILER_IS_PROBE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  run_start (self, FALSE, cancellable, callback, user_data, filer_probe_find_async);
}

/**
 * filer_probe_find_finish:
 *
 * @server_id: (out) (optional) (transfer full) (nullable): the id the
 *   server said it has (its key must prove it), or %NULL if it did not
 *   say (a version 1 server)
 *
 * Returns: (transfer full): the server's address and TCP port, or %NULL
 *   with @error
 */
GInetSocketAddress *
filer_probe_find_finish (FilerProbe    *self,
                         GAsyncResult  *result,
                         char         **server_id,
                         GError       **error)
{
  GInetSocketAddress *found;
  Run *run;

  g_return_val_if_fail (FILER_IS_PROBE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == filer_probe_find_async, NULL);

  found = g_task_propagate_pointer (G_TASK (result), error);
  run = g_task_get_task_data (G_TASK (result));
  if (server_id != NULL)
    *server_id = found != NULL ? g_strdup (run->found_id) : NULL;
  return found;
}

/**
 * filer_probe_collect_async:
 *
 * Probes the targets and listens for the whole timeout; completes then
 * with every server that answered (each once).
 */
void
filer_probe_collect_async (FilerProbe          *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (FILER_IS_PROBE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  run_start (self, TRUE, cancellable, callback, user_data, filer_probe_collect_async);
}

/**
 * filer_probe_collect_finish:
 *
 * Returns: (transfer container) (element-type GInetSocketAddress): the
 *   servers that answered (maybe none), or %NULL with @error (the socket
 *   could not be opened, or the probe was cancelled)
 */
GPtrArray *
filer_probe_collect_finish (FilerProbe    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == filer_probe_collect_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* --- Settings ------------------------------------------------------ */

const char * const *
filer_probe_get_targets (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), NULL);

  return (const char * const *)self->targets;
}

/**
 * filer_probe_set_targets:
 * @targets: (nullable): "IPV4[:PORT]" each, or %NULL for 127.0.0.1 and
 *   every interface's broadcast address
 *
 * Takes effect at the next probe.
 */
void
filer_probe_set_targets (FilerProbe         *self,
                         const char * const *targets)
{
  g_return_if_fail (FILER_IS_PROBE (self));

  g_strfreev (self->targets);
  self->targets = g_strdupv ((char **)targets);
}

guint16
filer_probe_get_port (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), 0);

  return self->port;
}

/* The UDP port of targets that name none (FILER_DISCOVERY_DEFAULT_PORT). */
void
filer_probe_set_port (FilerProbe *self,
                      guint16     port)
{
  g_return_if_fail (FILER_IS_PROBE (self));
  g_return_if_fail (port > 0);

  self->port = port;
}

const char *
filer_probe_get_local_address (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), NULL);

  return self->local_address;
}

/* The IPv4 address to probe from, or %NULL for any. */
void
filer_probe_set_local_address (FilerProbe *self,
                               const char *address)
{
  g_return_if_fail (FILER_IS_PROBE (self));

  filer_set_string (&self->local_address, address);
}

guint
filer_probe_get_timeout (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), 0);

  return self->timeout_ms;
}

/* How long a probe listens (FILER_PROBE_DEFAULT_TIMEOUT_MS). */
void
filer_probe_set_timeout (FilerProbe *self,
                         guint       timeout_ms)
{
  g_return_if_fail (FILER_IS_PROBE (self));
  g_return_if_fail (timeout_ms > 0);

  self->timeout_ms = timeout_ms;
}

guint
filer_probe_get_resend (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), 0);

  return self->resend_ms;
}

/* How often the probe is sent again while listening
 * (FILER_PROBE_DEFAULT_RESEND_MS); 0: only once. */
void
filer_probe_set_resend (FilerProbe *self,
                        guint       resend_ms)
{
  g_return_if_fail (FILER_IS_PROBE (self));

  self->resend_ms = resend_ms;
}

gboolean
filer_probe_get_skip_own (FilerProbe *self)
{
  g_return_val_if_fail (FILER_IS_PROBE (self), FALSE);

  return self->skip_own;
}

/* Whether replies from loopback and this machine's own addresses
 * (filer_net_get_local_addresses()) are ignored: a hosting app looks for
 * servers other than its own. */
void
filer_probe_set_skip_own (FilerProbe *self,
                          gboolean    skip_own)
{
  g_return_if_fail (FILER_IS_PROBE (self));

  self->skip_own = !!skip_own;
}

/* --- GObject ------------------------------------------------------- */

static void
filer_probe_finalize (GObject *object)
{
  FilerProbe *self = (FilerProbe *)object;

  g_clear_pointer (&self->targets, g_strfreev);
  g_clear_pointer (&self->local_address, g_free);

  G_OBJECT_CLASS (filer_probe_parent_class)->finalize (object);
}

static void
filer_probe_class_init (FilerProbeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = filer_probe_finalize;
}

static void
filer_probe_init (FilerProbe *self)
{
  self->port = FILER_DISCOVERY_DEFAULT_PORT;
  self->timeout_ms = FILER_PROBE_DEFAULT_TIMEOUT_MS;
  self->resend_ms = FILER_PROBE_DEFAULT_RESEND_MS;
}

FilerProbe *
filer_probe_new (void)
{
  return g_object_new (FILER_TYPE_PROBE, NULL);
}
