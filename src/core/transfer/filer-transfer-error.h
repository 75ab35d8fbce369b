/* filer-transfer-error.h: the error domain of transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define FILER_TRANSFER_ERROR (filer_transfer_error_quark ())

/**
 * FilerTransferError:
 * @FILER_TRANSFER_ERROR_FAILED: anything not listed below
 * @FILER_TRANSFER_ERROR_UNREACHABLE: no address of the peer answered
 * @FILER_TRANSFER_ERROR_WRONG_PEER: the device that answered is not the
 *   one we meant (its hello carried another device id)
 * @FILER_TRANSFER_ERROR_PROTOCOL: the peer sent something the transfer
 *   protocol does not allow at that point
 * @FILER_TRANSFER_ERROR_DECLINED: the receiver declined the offer
 * @FILER_TRANSFER_ERROR_CANCELLED: one side cancelled
 * @FILER_TRANSFER_ERROR_NO_SPACE: the offer does not fit in the free space
 *   of the download folder, so it was refused before any data flowed
 * @FILER_TRANSFER_ERROR_DISK_FULL: the disk filled up during the transfer
 * @FILER_TRANSFER_ERROR_UNSAFE_NAME: a file name from the peer could
 *   escape the download folder or is not a valid name
 * @FILER_TRANSFER_ERROR_VERIFY_FAILED: the SHA-256 of the received bytes
 *   is not the one the sender announced
 * @FILER_TRANSFER_ERROR_IO: reading or writing a local file failed
 * @FILER_TRANSFER_ERROR_CONNECTION_LOST: the connection closed before the
 *   transfer was complete
 * @FILER_TRANSFER_ERROR_IDENTITY: the peer's key does not prove the device
 *   id it claims (its certificate makes another id than the one we meant to
 *   reach, or its hello names another device than its certificate)
 * @FILER_TRANSFER_ERROR_VERSION: the peer speaks another version of the
 *   transfer protocol (a Filer 1 peer, which has no TLS)
 * @FILER_TRANSFER_ERROR_TIMED_OUT: the peer was silent past a deadline
 *   (docs/protocol.md §3.12)
 * @FILER_TRANSFER_ERROR_BUSY: the receiver has as many connections as it
 *   takes (waiting for an offer or an answer, or receiving): try later
 *
 * Errors of the transfer area. The wire codes that carry them between
 * peers are listed in docs/protocol.md, "Transfers".
 */
typedef enum
{
  FILER_TRANSFER_ERROR_FAILED,
  FILER_TRANSFER_ERROR_UNREACHABLE,
  FILER_TRANSFER_ERROR_WRONG_PEER,
  FILER_TRANSFER_ERROR_PROTOCOL,
  FILER_TRANSFER_ERROR_DECLINED,
  FILER_TRANSFER_ERROR_CANCELLED,
  FILER_TRANSFER_ERROR_NO_SPACE,
  FILER_TRANSFER_ERROR_DISK_FULL,
  FILER_TRANSFER_ERROR_UNSAFE_NAME,
  FILER_TRANSFER_ERROR_VERIFY_FAILED,
  FILER_TRANSFER_ERROR_IO,
  FILER_TRANSFER_ERROR_CONNECTION_LOST,
  FILER_TRANSFER_ERROR_IDENTITY,
  FILER_TRANSFER_ERROR_VERSION,
  FILER_TRANSFER_ERROR_TIMED_OUT,
  FILER_TRANSFER_ERROR_BUSY,
} FilerTransferError;

GQuark       filer_transfer_error_quark        (void);

/* The wire code ("disk-full") of an error code, and back. Unknown wire
 * codes map to FILER_TRANSFER_ERROR_FAILED. */
const char  *filer_transfer_error_to_wire      (FilerTransferError  code);
FilerTransferError filer_transfer_error_from_wire (const char      *wire);
GError      *filer_transfer_error_new_lost     (const GError        *cause,
                                                const char          *peer);

G_END_DECLS
