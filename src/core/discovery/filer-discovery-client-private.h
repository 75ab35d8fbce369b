/* filer-discovery-client-private.h: what the pieces of FilerDiscoveryClient share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_DISCOVERY_COMPILATION)
# error "filer-discovery-client-private.h is private to src/core/discovery/."
#endif

#include "filer-discovery-client.h"
#include "filer-frame-connection.h"

G_BEGIN_DECLS

#define STALE_TIMEOUT_MS     5000
#define DEFAULT_KEEPALIVE_MS 5000

struct _FilerDiscoveryClient
{
  GObject               parent_instance;

  /* Settings. */
  FilerDevice          *device;
  char                 *server;          /* "host:port", or NULL: auto-find */
  char                 *room;
  guint                 transfer_port;
  char                 *local_address;
  char                **probe_targets;   /* NULL: loopback + broadcast */

  /* The peer list. */
  GListStore           *peers;
  GHashTable           *peers_by_id;     /* id -> FilerPeer* (borrowed from the store) */

  /* State. */
  gboolean              started;
  FilerDiscoveryState   state;
  GError               *error;
  char                 *public_address;
  char                 *server_address;

  /* One attempt at a time; cancelled by stop and dispose. */
  GCancellable         *cancellable;
  GSocket              *probe_socket;
  GSource              *probe_source;
  guint                 probe_resend_id;
  guint                 probe_timeout_id;
  FilerFrameConnection *connection;
  gboolean              registered;      /* welcome received */
  guint                 snapshot_left;
  GHashTable           *snapshot_ids;

  guint                 keepalive_ms;
  guint                 keepalive_id;
  gint64                last_received;

  guint                 backoff_ms;
  guint                 retry_id;
  guint                 stale_id;
};

enum {
  PROP_0,
  PROP_DEVICE,
  PROP_SERVER,
  PROP_ROOM,
  PROP_TRANSFER_PORT,
  PROP_LOCAL_ADDRESS,
  PROP_PROBE_TARGETS,
  PROP_STATE,
  PROP_ERROR,
  PROP_PUBLIC_ADDRESS,
  PROP_SERVER_ADDRESS,
  N_PROPS
};

/* filer-discovery-client.c */

void     filer_discovery_client_set_state           (FilerDiscoveryClient  *self,
                                                     FilerDiscoveryState    state,
                                                     GError                *error);
void     filer_discovery_client_set_string_property (FilerDiscoveryClient  *self,
                                                     char                 **field,
                                                     const char            *value,
                                                     guint                  prop_id);
void     filer_discovery_client_emit_peer_joined    (FilerDiscoveryClient  *self,
                                                     FilerPeer             *peer);
void     filer_discovery_client_emit_peer_left      (FilerDiscoveryClient  *self,
                                                     FilerPeer             *peer);
void     filer_discovery_client_fail                (FilerDiscoveryClient  *self,
                                                     GError                *error);

/* filer-discovery-peers.c */

void     filer_discovery_client_remove_peer         (FilerDiscoveryClient  *self,
                                                     FilerPeer             *peer);
void     filer_discovery_client_clear_peers         (FilerDiscoveryClient  *self);
gboolean filer_discovery_client_upsert_peer         (FilerDiscoveryClient  *self,
                                                     FilerFrame            *frame,
                                                     GError               **error);
void     filer_discovery_client_finish_snapshot     (FilerDiscoveryClient  *self);
gboolean filer_discovery_client_stale_cb            (gpointer               user_data);

/* filer-discovery-connection.c */

void     filer_discovery_client_drop_connection     (FilerDiscoveryClient  *self);
void     filer_discovery_client_send_update         (FilerDiscoveryClient  *self);
void     filer_discovery_client_connect_to          (FilerDiscoveryClient  *self,
                                                     const char            *host,
                                                     guint16                port);

/* filer-discovery-probe.c */

void     filer_discovery_client_stop_probe          (FilerDiscoveryClient  *self);
void     filer_discovery_client_start_probe         (FilerDiscoveryClient  *self);

G_END_DECLS
