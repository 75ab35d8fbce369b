/* filer-transfer-error.c: the error domain of transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>

#include "filer-transfer-error.h"

G_DEFINE_QUARK (filer-transfer-error-quark, filer_transfer_error)

/* Indexed by FilerTransferError. */
static const char * const wire_codes[] = {
  "failed",
  "unreachable",
  "wrong-peer",
  "protocol",
  "declined",
  "cancelled",
  "no-space",
  "disk-full",
  "unsafe-name",
  "hash-mismatch",
  "io",
  "connection-lost",
  "identity",
  "version",
  "timeout",
  "busy",
};

const char *
filer_transfer_error_to_wire (FilerTransferError code)
{
  if ((guint)code >= G_N_ELEMENTS (wire_codes))
    return "failed";
  return wire_codes[code];
}

FilerTransferError
filer_transfer_error_from_wire (const char *wire)
{
  for (guint i = 0; wire != NULL && i < G_N_ELEMENTS (wire_codes); i++)
    if (g_str_equal (wire, wire_codes[i]))
      return (FilerTransferError)i;
  return FILER_TRANSFER_ERROR_FAILED;
}

/**
 * filer_transfer_error_new_lost:
 * @cause: (nullable): why the connection closed, as the stream said
 * @peer: who was at the other end: "sender" or "receiver"
 *
 * A connection that ended before its transfer did. Under TLS a record
 * that fails its integrity check (bytes altered on the way, or a stream
 * broken mid-record) is not a plain loss: the user is told so. A TLS
 * close without its closing message (%G_TLS_ERROR_EOF) is just a loss.
 *
 * Returns: (transfer full): a %FILER_TRANSFER_ERROR_CONNECTION_LOST
 */
GError *
filer_transfer_error_new_lost (const GError *cause,
                               const char   *peer)
{
  if (cause != NULL && cause->domain == G_TLS_ERROR && cause->code != G_TLS_ERROR_EOF)
    return g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CONNECTION_LOST,
                        "The encrypted connection to the %s failed its integrity check: "
                        "something on the way altered or broke it (%s)", peer, cause->message);

  return g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_CONNECTION_LOST,
                      "The connection to the %s was lost", peer);
}
