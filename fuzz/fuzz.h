/* fuzz.h: what every fuzz target shares
 *
 * Each target defines LLVMFuzzerTestOneInput(). Built with
 * -Dfuzzing=true (clang) it links libFuzzer; otherwise fuzz-run.c's
 * main() feeds it every file of its seed corpus, as an ordinary test.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test: a violation is a finding, so it
 * aborts (libFuzzer then keeps the input as a crash). */
#define FUZZ_ASSERT(expr)                                                   \
  do {                                                                      \
    if (!(expr))                                                            \
      {                                                                     \
        fprintf (stderr, "%s:%d: invariant failed: %s\n",                   \
                 __FILE__, __LINE__, #expr);                                \
        abort ();                                                           \
      }                                                                     \
  } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);
