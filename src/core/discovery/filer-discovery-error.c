/* filer-discovery-error.c: the error domain of discovery
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-discovery-error.h"

G_DEFINE_QUARK (filer-discovery-error-quark, filer_discovery_error)
