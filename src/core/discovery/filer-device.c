/* filer-device.c: this machine's identity on the network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-device.h"
#include "filer-identity.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

struct _FilerDevice
{
  GObject  parent_instance;

  FilerIdentity *identity;
  char    *id;
  char    *name;
  char    *kind;
};

G_DEFINE_FINAL_TYPE (FilerDevice, filer_device, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_IDENTITY,
  PROP_NAME,
  PROP_KIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
filer_device_constructed (GObject *object)
{
  FilerDevice *self = FILER_DEVICE (object);

  G_OBJECT_CLASS (filer_device_parent_class)->constructed (object);

  if (self->identity != NULL)
    {
      g_free (self->id);
      self->id = g_strdup (filer_identity_get_id (self->identity));
    }
}

static void
filer_device_finalize (GObject *object)
{
  FilerDevice *self = (FilerDevice *)object;

  g_clear_object (&self->identity);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->kind, g_free);

  G_OBJECT_CLASS (filer_device_parent_class)->finalize (object);
}

static void
filer_device_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FilerDevice *self = FILER_DEVICE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;

    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_KIND:
      g_value_set_string (value, self->kind);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_device_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  FilerDevice *self = FILER_DEVICE (object);

  switch (prop_id)
    {
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;

    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;

    case PROP_NAME:
      filer_device_set_name (self, g_value_get_string (value));
      break;

    case PROP_KIND:
      filer_device_set_kind (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_device_class_init (FilerDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = filer_device_constructed;
  object_class->finalize = filer_device_finalize;
  object_class->get_property = filer_device_get_property;
  object_class->set_property = filer_device_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * FilerDevice:identity: (nullable)
   *
   * The device's key and certificate; its id is the key's. %NULL only
   * for a device made from a bare id (filer_device_new()).
   */
  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL,
                         FILER_TYPE_IDENTITY,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_device_init (FilerDevice *self)
{
}

/* An empty name or kind means the machine's default. */
static FilerDevice *
device_new (const char    *id,
            FilerIdentity *identity,
            const char    *name,
            const char    *kind)
{
  g_autofree char *default_name = NULL;

  if (name == NULL || *name == '\0')
    name = default_name = filer_device_get_default_name ();

  return g_object_new (FILER_TYPE_DEVICE,
                       "id", id,
                       "identity", identity,
                       "name", name,
                       "kind", kind ? kind : filer_device_get_default_kind (),
                       NULL);
}

FilerDevice *
filer_device_new (const char *id,
                  const char *name,
                  const char *kind)
{
  g_return_val_if_fail (id != NULL && *id != '\0', NULL);

  return device_new (id, NULL, name, kind);
}

/**
 * filer_device_new_for_identity:
 * @identity: the device's key and certificate
 * @name: (nullable): the display name; %NULL for the default
 * @kind: (nullable): the kind; %NULL for the default
 *
 * A device whose id is its key's (filer_identity_get_id()).
 *
 * Returns: (transfer full): the device
 */
FilerDevice *
filer_device_new_for_identity (FilerIdentity *identity,
                               const char    *name,
                               const char    *kind)
{
  g_return_val_if_fail (FILER_IS_IDENTITY (identity), NULL);

  return device_new (NULL, identity, name, kind);
}

/**
 * filer_device_new_ephemeral:
 * @name: (nullable): the display name; %NULL for the default
 * @kind: (nullable): the kind; %NULL for the default
 *
 * A device with a fresh key kept nowhere: a throwaway peer, a test.
 *
 * Returns: (transfer full) (nullable): the device, or %NULL if GnuTLS
 *   could not make a key (with a warning)
 */
FilerDevice *
filer_device_new_ephemeral (const char *name,
                            const char *kind)
{
  g_autoptr(FilerIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  identity = filer_identity_new_ephemeral (&error);
  if (identity == NULL)
    {
      g_warning ("Cannot make a device key: %s", error->message);
      return NULL;
    }

  return filer_device_new_for_identity (identity, name, kind);
}

/* Filer 1 kept a random id in device-id. The id is now the key's; the
 * old file is renamed once to device-id.v1 (kept for reference, never
 * read again), so peers see this device under its new id from now on. */
static void
migrate_random_id (const char *dir,
                   const char *new_id)
{
  g_autofree char *path = g_build_filename (dir, "device-id", NULL);
  g_autofree char *kept = g_build_filename (dir, "device-id.v1", NULL);
  g_autofree char *old_id = NULL;

  if (!g_file_get_contents (path, &old_id, NULL, NULL))
    return;

  g_strstrip (old_id);
  if (g_rename (path, kept) != 0)
    {
      int saved_errno = errno;

      g_message ("Cannot move %s aside: %s", path, g_strerror (saved_errno));
      return;
    }

  g_message ("This device's id is now derived from its key: %s (was %s, kept in %s)",
             new_id, old_id, kept);
}

/**
 * filer_device_load_default:
 * @error: where a failure goes
 *
 * This device: its key and certificate from
 * g_get_user_config_dir()/filer (made the first time, mode 0600), the
 * default name and kind.
 *
 * Returns: (transfer full): the device, or %NULL with @error set
 */
FilerDevice *
filer_device_load_default (GError **error)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "filer", NULL);
  g_autoptr(FilerIdentity) identity = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return NULL;
    }

  identity = filer_identity_load (dir, error);
  if (identity == NULL)
    return NULL;

  migrate_random_id (dir, filer_identity_get_id (identity));
  return filer_device_new_for_identity (identity, NULL, NULL);
}

const char *
filer_device_get_id (FilerDevice *self)
{
  g_return_val_if_fail (FILER_IS_DEVICE (self), NULL);

  return self->id;
}

/**
 * filer_device_get_identity:
 * @self: a device
 *
 * Returns: (transfer none) (nullable): the device's key, or %NULL for a
 *   device made from a bare id
 */
FilerIdentity *
filer_device_get_identity (FilerDevice *self)
{
  g_return_val_if_fail (FILER_IS_DEVICE (self), NULL);

  return self->identity;
}

const char *
filer_device_get_name (FilerDevice *self)
{
  g_return_val_if_fail (FILER_IS_DEVICE (self), NULL);

  return self->name;
}

void
filer_device_set_name (FilerDevice *self,
                       const char  *name)
{
  g_return_if_fail (FILER_IS_DEVICE (self));

  if (name == NULL || *name == '\0' || g_strcmp0 (self->name, name) == 0)
    return;

  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

const char *
filer_device_get_kind (FilerDevice *self)
{
  g_return_val_if_fail (FILER_IS_DEVICE (self), NULL);

  return self->kind;
}

void
filer_device_set_kind (FilerDevice *self,
                       const char  *kind)
{
  g_return_if_fail (FILER_IS_DEVICE (self));

  if (kind == NULL || *kind == '\0' || g_strcmp0 (self->kind, kind) == 0)
    return;

  g_free (self->kind);
  self->kind = g_strdup (kind);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KIND]);
}

/* Reads KEY=value from /etc/machine-info (the file hostnamectl writes). */
static char *
read_machine_info (const char *key)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  gsize key_length = strlen (key);

  if (!g_file_get_contents ("/etc/machine-info", &contents, NULL, NULL))
    return NULL;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (strncmp (lines[i], key, key_length) == 0 && lines[i][key_length] == '=')
        {
          const char *value = lines[i] + key_length + 1;
          g_autofree char *unquoted = NULL;

          unquoted = g_shell_unquote (value, NULL);
          if (unquoted != NULL && *unquoted != '\0' && g_utf8_validate (unquoted, -1, NULL))
            return g_steal_pointer (&unquoted);
        }
    }

  return NULL;
}

char *
filer_device_get_default_name (void)
{
  char *name = read_machine_info ("PRETTY_HOSTNAME");

  if (name != NULL)
    return name;

  return g_strdup (g_get_host_name ());
}

const char *
filer_device_get_default_kind (void)
{
  static const char *kind = NULL;

  if (g_once_init_enter (&kind))
    {
      g_autofree char *chassis = read_machine_info ("CHASSIS");
      g_autofree char *dmi = NULL;
      const char *result = "desktop";

      if (chassis != NULL)
        {
          if (g_str_equal (chassis, "laptop") || g_str_equal (chassis, "convertible"))
            result = "laptop";
          else if (g_str_equal (chassis, "server") || g_str_equal (chassis, "vm") ||
                   g_str_equal (chassis, "container"))
            result = "server";
          else if (g_str_equal (chassis, "handset"))
            result = "phone";
          else if (g_str_equal (chassis, "tablet"))
            result = "tablet";
        }
      else if (g_file_get_contents ("/sys/class/dmi/id/chassis_type", &dmi, NULL, NULL))
        {
          /* SMBIOS chassis types: portable, laptop, notebook, sub-notebook,
           * convertible, detachable. */
          switch (atoi (dmi))
            {
            case 8: case 9: case 10: case 14: case 31: case 32:
              result = "laptop";
              break;
            case 17: case 23: case 28: case 29:
              result = "server";
              break;
            default:
              break;
            }
        }

      g_once_init_leave (&kind, result);
    }

  return kind;
}
