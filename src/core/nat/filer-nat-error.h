/* filer-nat-error.h: errors of NAT traversal (rendezvous, punching, relay)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define FILER_NAT_ERROR (filer_nat_error_quark ())

/**
 * FilerNatError:
 * @FILER_NAT_ERROR_FAILED: anything else
 * @FILER_NAT_ERROR_NO_SERVER: the rendezvous server did not answer
 * @FILER_NAT_ERROR_REFUSED: the server refused the attempt (the peer is
 *   unknown, not visible to us, or not bound to a UDP endpoint)
 * @FILER_NAT_ERROR_UNREACHABLE: neither a punched path nor the relay
 *   carried the handshake
 * @FILER_NAT_ERROR_RELAY_CLOSED: the server ended the relayed session
 *   (its byte limit, or it stopped)
 * @FILER_NAT_ERROR_WRONG_PEER: the device that answered did not prove the
 *   key of the device we meant to reach (its QUIC certificate makes
 *   another id, or it presented none): someone else answered, a relay
 *   that sits in the middle, or a device that changed its key
 *
 * Errors of the stream itself (a peer gone quiet) are GIOErrors.
 */
typedef enum
{
  FILER_NAT_ERROR_FAILED,
  FILER_NAT_ERROR_NO_SERVER,
  FILER_NAT_ERROR_REFUSED,
  FILER_NAT_ERROR_UNREACHABLE,
  FILER_NAT_ERROR_RELAY_CLOSED,
  FILER_NAT_ERROR_WRONG_PEER,
} FilerNatError;

GQuark filer_nat_error_quark (void);

G_END_DECLS
