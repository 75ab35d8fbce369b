/* filer-discovery-client.h: registers with filer-server, keeps the peer list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-device.h"
#include "filer-discovery-error.h"
#include "filer-peer.h"

G_BEGIN_DECLS

/**
 * FilerDiscoveryState:
 * @FILER_DISCOVERY_STATE_OFFLINE: not connected; see the error, a retry
 *   is scheduled while started
 * @FILER_DISCOVERY_STATE_CONNECTING: looking for the server, connecting
 *   or waiting for the peer list
 * @FILER_DISCOVERY_STATE_ONLINE: registered; the peer list is current
 */
typedef enum
{
  FILER_DISCOVERY_STATE_OFFLINE,
  FILER_DISCOVERY_STATE_CONNECTING,
  FILER_DISCOVERY_STATE_ONLINE,
} FilerDiscoveryState;

#define FILER_TYPE_DISCOVERY_CLIENT (filer_discovery_client_get_type ())

G_DECLARE_FINAL_TYPE (FilerDiscoveryClient, filer_discovery_client, FILER, DISCOVERY_CLIENT, GObject)

FilerDiscoveryClient *filer_discovery_client_new               (FilerDevice           *device);

void                  filer_discovery_client_start             (FilerDiscoveryClient  *self);
void                  filer_discovery_client_stop              (FilerDiscoveryClient  *self);

FilerDevice          *filer_discovery_client_get_device        (FilerDiscoveryClient  *self);
GListModel           *filer_discovery_client_get_peers         (FilerDiscoveryClient  *self);
FilerPeer            *filer_discovery_client_lookup_peer       (FilerDiscoveryClient  *self,
                                                                const char            *id_or_name,
                                                                GError               **error);

FilerDiscoveryState   filer_discovery_client_get_state         (FilerDiscoveryClient  *self);
const GError         *filer_discovery_client_get_error         (FilerDiscoveryClient  *self);
const char           *filer_discovery_client_get_public_address (FilerDiscoveryClient *self);
const char           *filer_discovery_client_get_server_address (FilerDiscoveryClient *self);

const char           *filer_discovery_client_get_server        (FilerDiscoveryClient  *self);
void                  filer_discovery_client_set_server        (FilerDiscoveryClient  *self,
                                                                const char            *server);
const char           *filer_discovery_client_get_room          (FilerDiscoveryClient  *self);
void                  filer_discovery_client_set_room          (FilerDiscoveryClient  *self,
                                                                const char            *room);
guint                 filer_discovery_client_get_transfer_port (FilerDiscoveryClient  *self);
void                  filer_discovery_client_set_transfer_port (FilerDiscoveryClient  *self,
                                                                guint                  port);
const char           *filer_discovery_client_get_local_address (FilerDiscoveryClient  *self);
void                  filer_discovery_client_set_local_address (FilerDiscoveryClient  *self,
                                                                const char            *address);
const char * const   *filer_discovery_client_get_probe_targets (FilerDiscoveryClient  *self);
void                  filer_discovery_client_set_probe_targets (FilerDiscoveryClient  *self,
                                                                const char * const    *targets);

void                  filer_discovery_client_set_remember_loopback (FilerDiscoveryClient *self,
                                                                    gboolean              remember);

const char           *filer_discovery_client_get_bind_secret (FilerDiscoveryClient *self);

G_END_DECLS
