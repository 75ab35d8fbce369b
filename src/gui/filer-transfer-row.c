/* filer-transfer-row.c: one transfer in the transfers list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-row.h"

#include <glib/gi18n.h>

#include "filer-format.h"

/* A row shows one transfer object and refreshes when it notifies. */
struct _FilerTransferRow
{
  GtkListBoxRow   parent_instance;

  /* Template widgets */
  GtkImage       *direction_image;
  GtkLabel       *title_label;
  GtkLabel       *file_label;
  GtkProgressBar *progress_bar;
  GtkLabel       *status_label;
  GtkWidget      *open_folder_button;
  GtkWidget      *open_file_button;
  GtkWidget      *cancel_button;

  /* Owned */
  GObject        *transfer;
};

G_DEFINE_FINAL_TYPE (FilerTransferRow, filer_transfer_row, GTK_TYPE_LIST_BOX_ROW)

enum {
  PROP_0,
  PROP_TRANSFER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
refresh (FilerTransferRow *self)
{
}

static void
transfer_notify_cb (FilerTransferRow *self,
                    GParamSpec       *pspec,
                    GObject          *transfer)
{
  refresh (self);
}

static void
cancel_clicked_cb (FilerTransferRow *self)
{
}

static void
open_folder_clicked_cb (FilerTransferRow *self)
{
}

static void
open_file_clicked_cb (FilerTransferRow *self)
{
}

static void
filer_transfer_row_constructed (GObject *object)
{
  FilerTransferRow *self = (FilerTransferRow *)object;

  G_OBJECT_CLASS (filer_transfer_row_parent_class)->constructed (object);

  if (self->transfer != NULL)
    g_signal_connect_object (self->transfer, "notify",
                             G_CALLBACK (transfer_notify_cb), self,
                             G_CONNECT_SWAPPED);
  refresh (self);
}

static void
filer_transfer_row_dispose (GObject *object)
{
  FilerTransferRow *self = (FilerTransferRow *)object;

  gtk_widget_dispose_template (GTK_WIDGET (self), FILER_TYPE_TRANSFER_ROW);
  g_clear_object (&self->transfer);

  G_OBJECT_CLASS (filer_transfer_row_parent_class)->dispose (object);
}

static void
filer_transfer_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  FilerTransferRow *self = FILER_TRANSFER_ROW (object);

  switch (prop_id)
    {
    case PROP_TRANSFER:
      g_value_set_object (value, self->transfer);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_transfer_row_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  FilerTransferRow *self = FILER_TRANSFER_ROW (object);

  switch (prop_id)
    {
    case PROP_TRANSFER:
      self->transfer = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_transfer_row_class_init (FilerTransferRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = filer_transfer_row_constructed;
  object_class->dispose = filer_transfer_row_dispose;
  object_class->get_property = filer_transfer_row_get_property;
  object_class->set_property = filer_transfer_row_set_property;

  properties[PROP_TRANSFER] =
    g_param_spec_object ("transfer", NULL, NULL,
                         G_TYPE_OBJECT,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-transfer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, direction_image);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, file_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, open_folder_button);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, open_file_button);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, cancel_button);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, open_folder_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, open_file_clicked_cb);
}

static void
filer_transfer_row_init (FilerTransferRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
filer_transfer_row_new (gpointer transfer)
{
  g_return_val_if_fail (G_IS_OBJECT (transfer), NULL);

  return g_object_new (FILER_TYPE_TRANSFER_ROW, "transfer", transfer, NULL);
}

gpointer
filer_transfer_row_get_transfer (FilerTransferRow *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_ROW (self), NULL);

  return self->transfer;
}
