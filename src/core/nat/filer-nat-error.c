/* filer-nat-error.c: errors of NAT traversal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-nat-error.h"

G_DEFINE_QUARK (filer-nat-error-quark, filer_nat_error)
