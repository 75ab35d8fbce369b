/* filer-verify-dialog.c: compare a code with another device, then trust it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-verify-dialog.h"

#include <glib/gi18n.h>

#include "libfiler.h"

/* The code is made from both key ids, so each side computes the same six
 * digits, and a man in the middle (who has a key of his own on each
 * side) makes each side show another. Only the two people can compare
 * them: the dialog shows the code and asks, and its "trust" response is
 * answered by whoever opened it (FilerWindow stores the id). */
struct _FilerVerifyDialog
{
  AdwMessageDialog  parent_instance;

  /* Template widgets */
  GtkLabel         *code_label;
  GtkLabel         *own_label;
  GtkLabel         *peer_label;

  /* Owned */
  char             *code;
  char             *peer_id;
  char             *peer_name;
};

G_DEFINE_FINAL_TYPE (FilerVerifyDialog, filer_verify_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
filer_verify_dialog_finalize (GObject *object)
{
  FilerVerifyDialog *self = (FilerVerifyDialog *)object;

  g_clear_pointer (&self->code, g_free);
  g_clear_pointer (&self->peer_id, g_free);
  g_clear_pointer (&self->peer_name, g_free);

  G_OBJECT_CLASS (filer_verify_dialog_parent_class)->finalize (object);
}

static void
filer_verify_dialog_class_init (FilerVerifyDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = filer_verify_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-verify-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerVerifyDialog, code_label);
  gtk_widget_class_bind_template_child (widget_class, FilerVerifyDialog, own_label);
  gtk_widget_class_bind_template_child (widget_class, FilerVerifyDialog, peer_label);
}

static void
filer_verify_dialog_init (FilerVerifyDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * filer_verify_dialog_new:
 * @parent: (nullable): the window to be modal for
 * @own_name: this device's name
 * @own_id: this device's key id
 * @peer_name: (nullable): the other device's name
 * @peer_id: its id; one that is not a key id cannot be verified, and the
 *   dialog says so instead of showing a code
 */
GtkWidget *
filer_verify_dialog_new (GtkWindow  *parent,
                         const char *own_name,
                         const char *own_id,
                         const char *peer_name,
                         const char *peer_id)
{
  FilerVerifyDialog *self;
  g_autofree char *body = NULL;
  g_autofree char *heading = NULL;

  g_return_val_if_fail (own_id != NULL, NULL);
  g_return_val_if_fail (peer_id != NULL, NULL);

  if (peer_name == NULL || peer_name[0] == '\0')
    peer_name = _("Unnamed device");

  self = g_object_new (FILER_TYPE_VERIFY_DIALOG,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       NULL);
  self->peer_id = g_strdup (peer_id);
  self->peer_name = g_strdup (peer_name);
  self->code = filer_identity_verification_code_for_ids (own_id, peer_id);

  /* Translators: dialog heading, %s is a device name */
  heading = g_strdup_printf (_("Verify %s"), peer_name);
  adw_message_dialog_set_heading (ADW_MESSAGE_DIALOG (self), heading);
  gtk_label_set_label (self->own_label, own_name ? own_name : "");
  gtk_label_set_label (self->peer_label, peer_name);

  if (self->code != NULL)
    {
      /* Translators: %s is the other device's name */
      body = g_strdup_printf (_("Check that %s shows the same code. If the codes differ, "
                                "someone may be between you: do not trust it."),
                              peer_name);
      gtk_label_set_label (self->code_label, self->code);
    }
  else
    {
      /* Translators: %s is a device name */
      body = g_strdup_printf (_("%s runs an old version of Filer: its id is not made from a key, "
                                "so it cannot be verified."),
                              peer_name);
      gtk_widget_set_visible (GTK_WIDGET (self->code_label), FALSE);
      adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "trust", FALSE);
      adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "differ", FALSE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (self), "cancel");
    }
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self), body);

  return GTK_WIDGET (self);
}

/**
 * filer_verify_dialog_get_code:
 *
 * Returns: (nullable): the code shown ("123 456"), or %NULL when the
 *   peer cannot be verified
 */
const char *
filer_verify_dialog_get_code (FilerVerifyDialog *self)
{
  g_return_val_if_fail (FILER_IS_VERIFY_DIALOG (self), NULL);

  return self->code;
}

const char *
filer_verify_dialog_get_peer_id (FilerVerifyDialog *self)
{
  g_return_val_if_fail (FILER_IS_VERIFY_DIALOG (self), NULL);

  return self->peer_id;
}

const char *
filer_verify_dialog_get_peer_name (FilerVerifyDialog *self)
{
  g_return_val_if_fail (FILER_IS_VERIFY_DIALOG (self), NULL);

  return self->peer_name;
}
