/* filer-transfer-error.c: the error domain of transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

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
