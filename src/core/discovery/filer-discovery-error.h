/* filer-discovery-error.h: the error domain of discovery
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define FILER_DISCOVERY_ERROR (filer_discovery_error_quark ())

/**
 * FilerDiscoveryError:
 * @FILER_DISCOVERY_ERROR_NOT_FOUND: no discovery server answered the
 *   LAN probe
 * @FILER_DISCOVERY_ERROR_PROTOCOL: the other side sent a frame that is
 *   valid as a frame but not as a discovery message
 * @FILER_DISCOVERY_ERROR_REJECTED: the server answered with an error
 *   frame (the message holds its code and text)
 * @FILER_DISCOVERY_ERROR_TIMEOUT: nothing arrived within the keepalive
 *   window
 * @FILER_DISCOVERY_ERROR_CLOSED: the server closed the connection
 * @FILER_DISCOVERY_ERROR_AMBIGUOUS: a name matches more than one peer
 * @FILER_DISCOVERY_ERROR_NO_SUCH_PEER: no online peer has that id or name
 * @FILER_DISCOVERY_ERROR_SERVER_KEY: the server's key is not the one we
 *   expect (a pinned id, or the one remembered for its address)
 * @FILER_DISCOVERY_ERROR_NO_KEY: our device has no key to prove its id
 *
 * Errors of the discovery client and server.
 */
typedef enum
{
  FILER_DISCOVERY_ERROR_NOT_FOUND,
  FILER_DISCOVERY_ERROR_PROTOCOL,
  FILER_DISCOVERY_ERROR_REJECTED,
  FILER_DISCOVERY_ERROR_TIMEOUT,
  FILER_DISCOVERY_ERROR_CLOSED,
  FILER_DISCOVERY_ERROR_AMBIGUOUS,
  FILER_DISCOVERY_ERROR_NO_SUCH_PEER,
  FILER_DISCOVERY_ERROR_SERVER_KEY,
  FILER_DISCOVERY_ERROR_NO_KEY,
} FilerDiscoveryError;

GQuark filer_discovery_error_quark (void);

/* The default port of filer-server, TCP and UDP. */
#define FILER_DISCOVERY_DEFAULT_PORT 47800

G_END_DECLS
