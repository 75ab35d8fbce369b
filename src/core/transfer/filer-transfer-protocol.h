/* filer-transfer-protocol.h: the transfer messages (docs/protocol.md §3)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-hash.h"
#include "filer-transfer-file.h"

G_BEGIN_DECLS

#define FILER_TRANSFER_PROTOCOL_VERSION 2
#define FILER_TRANSFER_CHUNK_SIZE       32768
/* The most files one offer may list (docs/protocol.md §3.3): checked on
 * the header and on the list's length before the JSON is parsed. */
#define FILER_TRANSFER_MAX_FILES        100000

/* Deadlines (docs/protocol.md §3.12, "Limits and deadlines"), all in one
 * place. The listening side's hello deadline is
 * FILER_TRANSFER_HELLO_TIMEOUT_MS (filer-transfer-hello.h). Tests shorten
 * the receiver's two through filer_transfer_testing_set_deadlines(). */
/* After the hellos, the sender's offer must arrive within this. */
#define FILER_TRANSFER_OFFER_TIMEOUT_MS 30000
/* While an accepted file is still to come (file, chunks, its end), the
 * sender may be silent at most this long between two frames. */
#define FILER_TRANSFER_IDLE_TIMEOUT_MS  60000
/* The side that sent `cancel` or `decline` keeps reading this long at
 * most for the other side to close first (§3.7). */
#define FILER_TRANSFER_LINGER_MS        5000
/* Caps on a receiving process (§3.12): connections whose hello is done
 * and whose offer has not been answered yet (waiting for the offer, or for
 * the user), and transfers receiving data. A connection over either is
 * answered `error` code `busy` and closed; the others go on. */
#define FILER_TRANSFER_MAX_UNANSWERED   64
#define FILER_TRANSFER_MAX_RECEIVING    16
/* Connections not yet past their hello (still silent, in the TLS
 * handshake or in the hello; §3.13): at most this many in all, and this
 * many from one source address. One over is closed at once, unanswered:
 * a stranger's connections cost nothing until its key is proven, and
 * each of these states has its deadline. */
#define FILER_TRANSFER_MAX_UNPROVEN             128
#define FILER_TRANSFER_MAX_UNPROVEN_PER_ADDRESS 16
/* TCP keepalive on a transfer's socket, both sides: a peer that vanished
 * without a FIN (power cut, cable, NAT state lost) is noticed after
 * IDLE + INTERVAL * COUNT seconds of silence, 60 s, even in a state that
 * waits for a person (the sender waiting for the answer). */
#define FILER_TRANSFER_KEEPALIVE_IDLE_S     30
#define FILER_TRANSFER_KEEPALIVE_INTERVAL_S 10
#define FILER_TRANSFER_KEEPALIVE_COUNT      3

/* The offer's "hashes" header: what the sender can verify with, in its
 * order of preference; the accept's "hash" header: the receiver's pick.
 * Absent: "sha256" (a peer from before the negotiation). */
char      *filer_transfer_hashes_to_header (const FilerHashAlgorithm *algorithms,
                                            guint                     n_algorithms);
gboolean   filer_transfer_choose_hash      (const char               *offered,
                                            FilerHashAlgorithm       *chosen);

/* The offer's file list travels as JSON in the frame content: thousands
 * of paths do not fit a 64 KiB header. */
GBytes    *filer_transfer_offer_to_json    (GListModel   *files);
GPtrArray *filer_transfer_offer_from_json  (GBytes       *content,
                                            guint64       expected_files,
                                            guint64       expected_size,
                                            GError      **error);

/* One line of the receiver's answer. */
typedef struct
{
  guint   index;
  guint64 offset;
  char    hash[FILER_HASH_HEX_SIZE];   /* of the first offset bytes; "" when 0 */
} FilerAcceptEntry;

GBytes    *filer_transfer_accept_to_json   (const FilerAcceptEntry *entries,
                                            guint                   n_entries,
                                            FilerHashAlgorithm      algorithm);
GArray    *filer_transfer_accept_from_json (GBytes                 *content,
                                            GListModel             *offered,
                                            FilerHashAlgorithm      algorithm,
                                            GError                **error);

guint64    filer_transfer_n_chunks         (guint64                 size);

/* Turns on TCP keepalive (the FILER_TRANSFER_KEEPALIVE_* values) when
 * @stream is, or wraps (TLS), a TCP socket; other streams (a NAT path,
 * a socketpair) keep their own liveness. Returns whether it did. */
gboolean   filer_transfer_enable_keepalive (GIOStream              *stream);

G_END_DECLS
