/* filer-device.h: this machine's identity on the network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <gio/gio.h>

#include "filer-identity.h"

G_BEGIN_DECLS

#define FILER_TYPE_DEVICE (filer_device_get_type ())

G_DECLARE_FINAL_TYPE (FilerDevice, filer_device, FILER, DEVICE, GObject)

/* A device is what we register as: its key (FilerIdentity), the id
 * derived from that key, a display name and a kind ("desktop",
 * "laptop", "server", "cli", …).
 *
 * filer_device_load_default() reads the key from
 * g_get_user_config_dir()/filer, making it the first time (and moving a
 * Filer 1 random id in device-id aside, once); the name defaults to the
 * host's pretty name (/etc/machine-info PRETTY_HOSTNAME, else the host
 * name) and the kind to the machine's chassis. filer_device_new() makes
 * a device from a bare id with no key: it cannot prove who it is. */
FilerDevice   *filer_device_new               (const char    *id,
                                               const char    *name,
                                               const char    *kind);
FilerDevice   *filer_device_new_for_identity  (FilerIdentity *identity,
                                               const char    *name,
                                               const char    *kind);
FilerDevice   *filer_device_new_ephemeral     (const char    *name,
                                               const char    *kind);
FilerDevice   *filer_device_load_default      (GError       **error);
FilerIdentity *filer_device_get_identity      (FilerDevice   *self);
const char  *filer_device_get_id            (FilerDevice  *self);
const char  *filer_device_get_name          (FilerDevice  *self);
void         filer_device_set_name          (FilerDevice  *self,
                                             const char   *name);
const char  *filer_device_get_kind          (FilerDevice  *self);
void         filer_device_set_kind          (FilerDevice  *self,
                                             const char   *kind);

char        *filer_device_get_default_name  (void);
const char  *filer_device_get_default_kind  (void);

G_END_DECLS
