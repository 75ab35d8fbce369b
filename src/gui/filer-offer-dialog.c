/* filer-offer-dialog.c: "Anna wants to send you 3 files"
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-offer-dialog.h"

#include <glib/gi18n.h>

#include "filer-format.h"
#include "libfiler.h"

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
  GtkLabel         *warning_label;
  GtkWidget        *trust_box;
  GtkImage         *trust_image;
  GtkLabel         *trust_label;
  GtkLabel         *code_label;
  GtkLabel         *compare_label;
  GtkCheckButton   *always_check;

  /* Owned */
  char             *sender;
  FilerTrust        trust;
};

G_DEFINE_FINAL_TYPE (FilerOfferDialog, filer_offer_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
filer_offer_dialog_finalize (GObject *object)
{
  FilerOfferDialog *self = (FilerOfferDialog *)object;

  g_clear_pointer (&self->sender, g_free);

  G_OBJECT_CLASS (filer_offer_dialog_parent_class)->finalize (object);
}

static void
filer_offer_dialog_class_init (FilerOfferDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = filer_offer_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-offer-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, files_label);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, warning_label);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, trust_box);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, trust_image);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, trust_label);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, code_label);
  gtk_widget_class_bind_template_child (widget_class, FilerOfferDialog, compare_label);
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
  self->sender = g_strdup (sender);

  /* Translators: "Anna’s Laptop wants to send you 3 files (1.2 GB)." */
  body = g_strdup_printf (ngettext ("%s wants to send you %u file (%s).",
                                    "%s wants to send you %u files (%s).",
                                    n),
                          sender, n, size);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self), body);

  list = filer_format_file_list (names, MAX_NAMES_SHOWN);
  gtk_label_set_label (self->files_label, list);
  gtk_widget_set_visible (GTK_WIDGET (self->files_label), n > 0);
  filer_offer_dialog_set_trust (self, FILER_TRUST_UNVERIFIED, NULL, NULL);

  return GTK_WIDGET (self);
}

/**
 * filer_offer_dialog_set_trust:
 * @trust: what the sender is to us
 * @code: (nullable): the verification code with the sender, shown when it
 *   is not verified (%NULL: its id is not a key id, it cannot be verified)
 * @verified_name: (nullable): for %FILER_TRUST_KEY_CHANGED, the name the
 *   other key was verified under
 *
 * A verified sender is said to be one; any other shows the code to
 * compare, and the check box becomes "the codes match: trust": ticking
 * it and accepting is verifying. A changed key is said loudly, and the
 * dialog then defaults to Decline.
 */
void
filer_offer_dialog_set_trust (FilerOfferDialog *self,
                              FilerTrust        trust,
                              const char       *code,
                              const char       *verified_name)
{
  g_autofree char *compare = NULL;

  g_return_if_fail (FILER_IS_OFFER_DIALOG (self));

  self->trust = trust;
  gtk_image_set_from_icon_name (self->trust_image, filer_trust_icon_name (trust));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->trust_image),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, filer_trust_description (trust),
                                  -1);
  gtk_label_set_label (self->trust_label, filer_trust_description (trust));
  gtk_widget_remove_css_class (self->trust_box, "error");
  gtk_widget_remove_css_class (self->trust_box, "success");
  gtk_widget_remove_css_class (self->trust_box, "dim-label");
  gtk_widget_add_css_class (self->trust_box,
                            trust == FILER_TRUST_KEY_CHANGED ? "error" :
                            trust == FILER_TRUST_VERIFIED ? "success" : "dim-label");

  if (trust == FILER_TRUST_KEY_CHANGED)
    {
      g_autofree char *warning = NULL;

      /* Translators: %s is the name of a device the user verified */
      warning = g_strdup_printf (_("Key changed — this is not the %s you verified"),
                                 verified_name ? verified_name : self->sender);
      gtk_label_set_label (self->warning_label, warning);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->warning_label), trust == FILER_TRUST_KEY_CHANGED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (self),
                                           trust == FILER_TRUST_KEY_CHANGED ? "decline" : "accept");
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (self), "accept",
                                              trust == FILER_TRUST_KEY_CHANGED
                                              ? ADW_RESPONSE_DEFAULT : ADW_RESPONSE_SUGGESTED);

  gtk_label_set_label (self->code_label, code ? code : "");
  gtk_widget_set_visible (GTK_WIDGET (self->code_label),
                          trust != FILER_TRUST_VERIFIED && code != NULL);
  if (code != NULL)
    /* Translators: %s is the sending device's name */
    compare = g_strdup_printf (_("Check that %s shows the same code."), self->sender);
  else
    compare = g_strdup (_("This device runs an old version of Filer and cannot be verified."));
  gtk_label_set_label (self->compare_label, compare);
  gtk_widget_set_visible (GTK_WIDGET (self->compare_label), trust != FILER_TRUST_VERIFIED);

  gtk_check_button_set_active (self->always_check, FALSE);
  gtk_check_button_set_label (self->always_check,
                              trust == FILER_TRUST_VERIFIED
                              ? _("Al_ways accept from this device")
                              : _("The codes match: _trust this device and always accept from it"));
  gtk_widget_set_visible (GTK_WIDGET (self->always_check),
                          trust == FILER_TRUST_VERIFIED || code != NULL);
}

FilerTrust
filer_offer_dialog_get_trust (FilerOfferDialog *self)
{
  g_return_val_if_fail (FILER_IS_OFFER_DIALOG (self), FILER_TRUST_UNVERIFIED);

  return self->trust;
}

/**
 * filer_offer_dialog_get_code:
 *
 * Returns: (nullable): the code shown, if one is
 */
const char *
filer_offer_dialog_get_code (FilerOfferDialog *self)
{
  g_return_val_if_fail (FILER_IS_OFFER_DIALOG (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->code_label)))
    return NULL;

  return gtk_label_get_label (self->code_label);
}

/**
 * filer_offer_dialog_get_warning:
 *
 * Returns: (nullable): the key-changed warning, if shown
 */
const char *
filer_offer_dialog_get_warning (FilerOfferDialog *self)
{
  g_return_val_if_fail (FILER_IS_OFFER_DIALOG (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->warning_label)))
    return NULL;

  return gtk_label_get_label (self->warning_label);
}

const char *
filer_offer_dialog_get_trust_text (FilerOfferDialog *self)
{
  g_return_val_if_fail (FILER_IS_OFFER_DIALOG (self), NULL);

  return gtk_label_get_label (self->trust_label);
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
