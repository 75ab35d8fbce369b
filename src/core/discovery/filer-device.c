/* filer-device.c: this machine's identity on the network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct _FilerDevice
{
  GObject  parent_instance;

  char    *id;
  char    *name;
  char    *kind;
};

G_DEFINE_FINAL_TYPE (FilerDevice, filer_device, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_KIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
filer_device_finalize (GObject *object)
{
  FilerDevice *self = (FilerDevice *)object;

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

  object_class->finalize = filer_device_finalize;
  object_class->get_property = filer_device_get_property;
  object_class->set_property = filer_device_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL,
                         NULL,
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

FilerDevice *
filer_device_new (const char *id,
                  const char *name,
                  const char *kind)
{
  g_autofree char *default_name = NULL;

  g_return_val_if_fail (id != NULL && *id != '\0', NULL);

  if (name == NULL || *name == '\0')
    name = default_name = filer_device_get_default_name ();

  return g_object_new (FILER_TYPE_DEVICE,
                       "id", id,
                       "name", name,
                       "kind", kind ? kind : filer_device_get_default_kind (),
                       NULL);
}

static gboolean
is_valid_id (const char *id)
{
  gsize length = strlen (id);

  if (length < 8 || length > 64)
    return FALSE;

  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;

  return TRUE;
}

FilerDevice *
filer_device_load_default (GError **error)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "filer", NULL);
  g_autofree char *path = g_build_filename (dir, "device-id", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;

  if (g_file_get_contents (path, &contents, NULL, &local_error))
    {
      g_strstrip (contents);
      if (is_valid_id (contents))
        return filer_device_new (contents, NULL, NULL);

      g_message ("Ignoring malformed device id in %s", path);
    }
  else if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  g_clear_pointer (&contents, g_free);
  contents = g_uuid_string_random ();

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return NULL;
    }

  if (!g_file_set_contents_full (path, contents, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return NULL;

  return filer_device_new (contents, NULL, NULL);
}

const char *
filer_device_get_id (FilerDevice *self)
{
  g_return_val_if_fail (FILER_IS_DEVICE (self), NULL);

  return self->id;
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
