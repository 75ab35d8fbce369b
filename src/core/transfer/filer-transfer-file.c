/* filer-transfer-file.c: one file of a transfer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-file.h"
#include "filer-transfer-enums.h"
#include "filer-util.h"

/* What a row of an offer dialog or a per-file progress list binds to.
 * Only status changes notify, never bytes: per-byte progress is the
 * transfer's, throttled. */
struct _FilerTransferFile
{
  GObject                  parent_instance;

  guint                    index;
  char                    *path;
  guint64                  size;
  guint64                  offset;
  FilerTransferFileStatus  status;
  char                    *saved_as;
  char                    *error_message;
};

G_DEFINE_FINAL_TYPE (FilerTransferFile, filer_transfer_file, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INDEX,
  PROP_PATH,
  PROP_SIZE,
  PROP_OFFSET,
  PROP_STATUS,
  PROP_SAVED_AS,
  PROP_ERROR_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
filer_transfer_file_finalize (GObject *object)
{
  FilerTransferFile *self = (FilerTransferFile *)object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->saved_as, g_free);
  g_clear_pointer (&self->error_message, g_free);

  G_OBJECT_CLASS (filer_transfer_file_parent_class)->finalize (object);
}

static void
filer_transfer_file_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  FilerTransferFile *self = FILER_TRANSFER_FILE (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_OFFSET:
      g_value_set_uint64 (value, self->offset);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_SAVED_AS:
      g_value_set_string (value, self->saved_as);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_transfer_file_class_init (FilerTransferFileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = filer_transfer_file_finalize;
  object_class->get_property = filer_transfer_file_get_property;

  properties[PROP_INDEX] =
    g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_OFFSET] =
    g_param_spec_uint64 ("offset", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       FILER_TYPE_TRANSFER_FILE_STATUS, FILER_TRANSFER_FILE_STATUS_PENDING,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SAVED_AS] =
    g_param_spec_string ("saved-as", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
filer_transfer_file_init (FilerTransferFile *self)
{
}

FilerTransferFile *
filer_transfer_file_new (guint       index,
                         const char *path,
                         guint64     size)
{
  FilerTransferFile *self = g_object_new (FILER_TYPE_TRANSFER_FILE, NULL);

  self->index = index;
  self->path = g_strdup (path);
  self->size = size;
  return self;
}

guint
filer_transfer_file_get_index (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), 0);
  return self->index;
}

const char *
filer_transfer_file_get_path (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), NULL);
  return self->path;
}

guint64
filer_transfer_file_get_size (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), 0);
  return self->size;
}

FilerTransferFileStatus
filer_transfer_file_get_status (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), FILER_TRANSFER_FILE_STATUS_PENDING);
  return self->status;
}

void
filer_transfer_file_set_status (FilerTransferFile       *self,
                                FilerTransferFileStatus  status)
{
  g_return_if_fail (FILER_IS_TRANSFER_FILE (self));

  if (self->status == status)
    return;
  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

const char *
filer_transfer_file_get_saved_as (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), NULL);
  return self->saved_as;
}

void
filer_transfer_file_set_saved_as (FilerTransferFile *self,
                                  const char        *saved_as)
{
  g_return_if_fail (FILER_IS_TRANSFER_FILE (self));

  if (filer_set_string (&self->saved_as, saved_as))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SAVED_AS]);
}

const char *
filer_transfer_file_get_error_message (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), NULL);
  return self->error_message;
}

void
filer_transfer_file_set_error_message (FilerTransferFile *self,
                                       const char        *message)
{
  g_return_if_fail (FILER_IS_TRANSFER_FILE (self));

  if (filer_set_string (&self->error_message, message))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
}

guint64
filer_transfer_file_get_offset (FilerTransferFile *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_FILE (self), 0);
  return self->offset;
}

void
filer_transfer_file_set_offset (FilerTransferFile *self,
                                guint64            offset)
{
  g_return_if_fail (FILER_IS_TRANSFER_FILE (self));

  if (self->offset == offset)
    return;
  self->offset = offset;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OFFSET]);
}
