/* filer-discovery-connection.h: one TCP connection to the discovery server
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

#define FILER_DISCOVERY_CONNECTION_DEFAULT_KEEPALIVE_MS 5000

#define FILER_TYPE_DISCOVERY_CONNECTION (filer_discovery_connection_get_type ())

G_DECLARE_FINAL_TYPE (FilerDiscoveryConnection, filer_discovery_connection, FILER, DISCOVERY_CONNECTION, GObject)

FilerDiscoveryConnection *filer_discovery_connection_new               (FilerDevice              *device,
                                                                        const char               *room,
                                                                        const char               *local_address,
                                                                        guint                     transfer_port);
void                      filer_discovery_connection_connect           (FilerDiscoveryConnection *self,
                                                                        const char               *host,
                                                                        guint16                   port,
                                                                        const char               *server_id);
void                      filer_discovery_connection_close             (FilerDiscoveryConnection *self);

void                      filer_discovery_connection_set_transfer_port (FilerDiscoveryConnection *self,
                                                                        guint                     port);
void                      filer_discovery_connection_send_update       (FilerDiscoveryConnection *self);

gboolean                  filer_discovery_connection_get_replaced      (FilerDiscoveryConnection *self);
const char               *filer_discovery_connection_get_server_id     (FilerDiscoveryConnection *self);
const char               *filer_discovery_connection_get_bind_secret   (FilerDiscoveryConnection *self);

G_END_DECLS
