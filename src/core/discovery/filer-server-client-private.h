/* filer-server-client-private.h: one TCP client of FilerServer (private)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_DISCOVERY_COMPILATION)
# error "filer-server-client-private.h is private to src/core/discovery/."
#endif

#include <gio/gio.h>

#include "filer-frame-connection.h"
#include "filer-server.h"
#include "filer-util.h"

G_BEGIN_DECLS

/* Where connections come from (filer-server-admission.c). */
typedef struct _Origin Origin;

/* A plain struct, owned by FilerServer:clients; nothing a client sends
 * can reach past it. */
typedef struct
{
  FilerServer          *server;          /* borrowed: the server owns us */
  FilerFrameConnection *connection;      /* NULL until TLS is up (or a v1 refusal) */
  GSocketConnection    *socket_connection;
  GIOStream            *tls;             /* the TLS stream the frames run on */
  GSource              *peek_source;     /* waiting for the first bytes */
  GCancellable         *cancellable;     /* the handshake; cancelled on free */
  char                 *key_id;          /* the id the client's key proves */
  char                 *bind_secret;     /* for UDP bindings (nat-bind), hex */
  gulong                frame_handler;
  gulong                closed_handler;

  char                 *source;          /* the source IP, as text */
  guint16               source_port;
  char                 *network;         /* network group key */
  Origin               *origin;          /* counted there until it closes */
  GList                *unproven_link;   /* in origin's unproven, until it registers */
  gsize                 snapshot_bytes;  /* what its welcome and snapshot queued */
  FilerTokenBucket      updates;         /* each update reaches its whole group */

  gint64                last_seen;       /* monotonic µs of the last frame */
  gint64                dying_since;     /* 0, or when we closed it */
  char                 *kick_code;       /* kicked in its handshake: told */
  char                 *kick_message;    /* once the handshake ends */
  gboolean              drop_queued;

  /* Set by "register". */
  gboolean              registered;
  char                 *id;
  char                 *name;
  char                 *kind;
  char                 *room;
  char                 *addresses;       /* comma separated, as sent */
  guint                 port;
} Client;

Client *_filer_server_client_new       (FilerServer       *server,
                                        GSocketConnection *connection,
                                        GSocketAddress    *remote);
void    _filer_server_client_start     (Client            *client);
void    _filer_server_client_refuse    (Client            *client,
                                        const char        *code,
                                        const char        *message);
void    _filer_server_client_free      (Client            *client);
void    _filer_server_client_send      (Client            *client,
                                        FilerFrame        *frame);
void    _filer_server_client_kick      (Client            *client,
                                        const char        *code,
                                        const char        *message);
void    _filer_server_client_queue_drop (Client            *client);

G_END_DECLS
