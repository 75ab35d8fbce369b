/* fuzz-nat-datagram.c: peer datagrams on the NAT socket (docs/protocol.md §4.3)
 *
 * A datagram is a peer datagram (magic, kind, token, payload) or, if
 * not, a frame from the server; whichever the parser says, the pieces it
 * hands back must lie inside the input.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  FilerNatKind kind;
  const guint8 *token = NULL;
  const guint8 *payload = NULL;
  gsize payload_length = 0;

  if (filer_nat_datagram_parse (data, size, &kind, &token, &payload, &payload_length))
    {
      char hex[FILER_NAT_TOKEN_HEX_SIZE];
      guint8 back[FILER_NAT_TOKEN_SIZE];

      FUZZ_ASSERT (token >= data && token + FILER_NAT_TOKEN_SIZE <= data + size);
      FUZZ_ASSERT (payload >= data && payload + payload_length == data + size);

      /* The token's text form reads back to the same bytes. */
      filer_nat_token_format (token, hex);
      FUZZ_ASSERT (filer_nat_token_from_hex (hex, back));
      FUZZ_ASSERT (memcmp (back, token, FILER_NAT_TOKEN_SIZE) == 0);
    }
  else
    {
      g_autoptr(GError) error = NULL;
      FilerFrame *frame = filer_frame_decode_datagram (data, size, 1200, &error);

      if (frame != NULL)
        filer_frame_unref (frame);
    }

  /* And as text, as a token in a frame. */
  {
    g_autofree char *text = g_strndup ((const char *) data, size);
    guint8 token_bytes[FILER_NAT_TOKEN_SIZE];

    if (filer_nat_token_from_hex (text, token_bytes))
      FUZZ_ASSERT (strlen (text) == 2 * FILER_NAT_TOKEN_SIZE);
  }

  return 0;
}
