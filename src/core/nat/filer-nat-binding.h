/* filer-nat-binding.h: our binding with the rendezvous server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define FILER_TYPE_NAT_BINDING (filer_nat_binding_get_type ())

G_DECLARE_FINAL_TYPE (FilerNatBinding, filer_nat_binding, FILER, NAT_BINDING, GObject)

/* FilerNatClient creates and drives it (filer-nat-binding-private.h);
 * others may read it. Both notify when they change. */

/* The address the server saw us at; NULL until it answered. */
const char *filer_nat_binding_get_public_address (FilerNatBinding *self);
/* "independent", "dependent" or NULL while unknown. */
const char *filer_nat_binding_get_mapping        (FilerNatBinding *self);

G_END_DECLS
