/* filer-offer-dialog.c: "Anna wants to send you 3 files"
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-offer-dialog.h"

#include <glib/gi18n.h>

#include "filer-format.h"

/* How many file names the dialog lists before "and 12 more". */
#define MAX_NAMES_SHOWN 5

/* The dialog only asks; its "response" ("accept" or "decline") is
 * answered by whoever opened it (FilerApplication), which owns the
 * transfer. */
struct _FilerOfferDialog
{
  AdwMessageDialog  parent_instance;

  /* Template widgets */
  GtkLabel         *files_label;
  GtkCheckButton   *always_check;
};

G_DEFINE_FINAL_TYPE (FilerOfferDialog, filer_offer_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
filer_offer_dialog_class_init (FilerOfferDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-offer-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, files_label);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, always_check);
}

static void
filer_offer_dialog_init (FilerOfferDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * filer_offer_dialog_new:
 * @parent: (nullable): the window to be modal for
 * @sender: the offering device's name
 * @names: the offered file names
 * @total_size: their total size in bytes
 */
GtkWidget *
filer_offer_dialog_new (GtkWindow          *parent,
                        const char         *sender,
                        const char * const *names,
                        guint64             total_size)
{
  FilerOfferDialog *self;
  g_autofree char *size = g_format_size (total_size);
  g_autofree char *body = NULL;
  g_autofree char *list = NULL;
  guint n = names ? g_strv_length ((char **)names) : 0;

  g_return_val_if_fail (sender != NULL, NULL);

  self = g_object_new (FILER_TYPE_OFFER_DIALOG,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);

  /* Translators: "Anna’s Laptop wants to send you 3 files (1.2 GB)." */
  body = g_strdup_printf (ngettext ("%s wants to send you %u file (%s).",
                                    "%s wants to send you %u files (%s).",
                                    n),
                          sender, n, size);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self), body);

  list = filer_format_file_list (names, MAX_NAMES_SHOWN);
  gtk_label_set_label (self->files_label, list);
  gtk_widget_set_visible (GTK_WIDGET (self->files_label), n > 0);

  return GTK_WIDGET (self);
}

gboolean
filer_offer_dialog_get_always_accept (FilerOfferDialog *self)
{
  g_return_val_if_fail (FILER_IS_OFFER_DIALOG (self), FALSE);

  return gtk_check_button_get_active (self->always_check);
}

const char *
filer_offer_dialog_get_files_text (FilerOfferDialog *self)
{
  g_return_val_if_fail (FILER_IS_OFFER_DIALOG (self), NULL);

  return gtk_label_get_label (self->files_label);
}
