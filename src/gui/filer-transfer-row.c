/* filer-transfer-row.c: one transfer in the transfers list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-row.h"

#include <glib/gi18n.h>

#include "filer-format.h"
#include "filer-trust-store.h"
#include "libfiler.h"

/* A row shows one FilerTransfer and refreshes when it notifies (the
 * transfer publishes progress four times a second, not per chunk). */
struct _FilerTransferRow
{
  GtkListBoxRow   parent_instance;

  /* Template widgets */
  GtkImage       *direction_image;
  GtkLabel       *title_label;
  GtkWidget      *trust_box;
  GtkImage       *trust_image;
  GtkLabel       *trust_label;
  GtkLabel       *file_label;
  GtkProgressBar *progress_bar;
  GtkLabel       *status_label;
  GtkLabel       *path_label;
  GtkWidget      *open_folder_button;
  GtkWidget      *open_file_button;
  GtkWidget      *cancel_button;

  /* Owned */
  FilerTransfer  *transfer;
  char           *download_folder;
  FilerTrust      trust;
};

G_DEFINE_FINAL_TYPE (FilerTransferRow, filer_transfer_row, GTK_TYPE_LIST_BOX_ROW)

enum {
  PROP_0,
  PROP_TRANSFER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
state_icon (FilerTransfer *transfer)
{
  switch (filer_transfer_get_state (transfer))
    {
    case FILER_TRANSFER_STATE_COMPLETED:
      return "emblem-ok-symbolic";
    case FILER_TRANSFER_STATE_FAILED:
      return "dialog-error-symbolic";
    case FILER_TRANSFER_STATE_DECLINED:
    case FILER_TRANSFER_STATE_CANCELLED:
      return "process-stop-symbolic";
    case FILER_TRANSFER_STATE_CONNECTING:
    case FILER_TRANSFER_STATE_WAITING_FOR_ANSWER:
    case FILER_TRANSFER_STATE_TRANSFERRING:
    default:
      return filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_SEND
             ? "network-transmit-symbolic" : "network-receive-symbolic";
    }
}

/* The saved file of a finished receive with one file, else NULL. The
 * receiver reports the name the file got inside the download folder. */
static GFile *
saved_file (FilerTransferRow *self)
{
  GListModel *files = filer_transfer_get_files (self->transfer);
  g_autoptr(FilerTransferFile) file = NULL;
  const char *saved_as;

  if (files == NULL || g_list_model_get_n_items (files) == 0)
    return NULL;

  file = g_list_model_get_item (files, 0);
  saved_as = filer_transfer_file_get_saved_as (file);
  if (saved_as == NULL)
    return NULL;

  if (g_path_is_absolute (saved_as))
    return g_file_new_for_path (saved_as);
  if (self->download_folder == NULL)
    return NULL;

  return g_file_new_build_filename (self->download_folder, saved_as, NULL);
}

static char *
files_summary (FilerTransfer *transfer)
{
  guint n = filer_transfer_get_n_files (transfer);
  const char *current = filer_transfer_get_current_file (transfer);
  GListModel *files;

  if (current != NULL && current[0] != '\0' && !filer_transfer_is_finished (transfer))
    return g_strdup (current);

  files = filer_transfer_get_files (transfer);
  if (n == 1 && files != NULL && g_list_model_get_n_items (files) == 1)
    {
      g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, 0);

      return g_strdup (filer_transfer_file_get_path (file));
    }

  return g_strdup_printf (ngettext ("%u file", "%u files", n), n);
}

static char *
status_text (FilerTransfer *transfer)
{
  gboolean sending = filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_SEND;
  const char *error = filer_transfer_get_error_message (transfer);
  g_autofree char *size = g_format_size (filer_transfer_get_bytes_total (transfer));

  switch (filer_transfer_get_state (transfer))
    {
    case FILER_TRANSFER_STATE_CONNECTING:
      return g_strdup (sending ? _("Connecting…") : _("Waiting for the list of files…"));

    case FILER_TRANSFER_STATE_WAITING_FOR_ANSWER:
      return g_strdup (sending ? _("Waiting for an answer…") : _("Waiting for your answer"));

    case FILER_TRANSFER_STATE_TRANSFERRING:
      return filer_format_progress (filer_transfer_get_bytes_done (transfer),
                                    filer_transfer_get_bytes_total (transfer),
                                    (guint64)filer_transfer_get_rate (transfer));

    case FILER_TRANSFER_STATE_COMPLETED:
      /* Translators: %s is a size, e.g. "Sent 1.2 GB" */
      return g_strdup_printf (sending ? _("Sent %s") : _("Received and verified %s"), size);

    case FILER_TRANSFER_STATE_DECLINED:
      return g_strdup (sending ? _("Declined by the other device") : _("Declined"));

    case FILER_TRANSFER_STATE_CANCELLED:
      return g_strdup (_("Cancelled"));

    case FILER_TRANSFER_STATE_FAILED:
    default:
      /* Translators: %s says why, e.g. "Failed: the disk is full" */
      return g_strdup_printf (_("Failed: %s"), error ? error : _("unknown error"));
    }
}

static void
refresh (FilerTransferRow *self)
{
  FilerTransfer *transfer = self->transfer;
  FilerTransferState state;
  gboolean finished;
  gboolean received;
  guint64 total;
  double fraction;
  g_autofree char *title = NULL;
  g_autofree char *files = NULL;
  g_autofree char *status = NULL;
  g_autofree char *accessible = NULL;
  const char *peer;
  const char *path;

  if (transfer == NULL)
    return;

  state = filer_transfer_get_state (transfer);
  finished = filer_transfer_is_finished (transfer);
  received = filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_RECEIVE;
  peer = filer_transfer_get_peer_name (transfer);
  if (peer == NULL || peer[0] == '\0')
    peer = filer_transfer_get_peer_id (transfer);
  if (peer == NULL)
    peer = _("Unnamed device");

  /* Translators: %s is a device name */
  title = g_strdup_printf (received ? _("From %s") : _("To %s"), peer);
  files = files_summary (transfer);
  status = status_text (transfer);

  total = filer_transfer_get_bytes_total (transfer);
  if (state == FILER_TRANSFER_STATE_COMPLETED)
    fraction = 1.0;
  else if (total > 0)
    fraction = (double)filer_transfer_get_bytes_done (transfer) / (double)total;
  else
    fraction = 0.0;

  gtk_image_set_from_icon_name (self->direction_image, state_icon (transfer));
  gtk_label_set_label (self->title_label, title);
  gtk_label_set_label (self->file_label, files);
  gtk_label_set_label (self->status_label, status);
  /* How it reaches the peer: the LAN, a punched path or the relay. */
  path = filer_format_path (filer_transfer_get_path (transfer));
  gtk_label_set_label (self->path_label, path ? path : "");
  gtk_widget_set_visible (GTK_WIDGET (self->path_label), path != NULL);
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0.0, 1.0));
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar),
                          !finished || state == FILER_TRANSFER_STATE_COMPLETED);

  if (state == FILER_TRANSFER_STATE_FAILED)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");

  gtk_widget_set_visible (self->cancel_button, !finished);
  gtk_widget_set_visible (self->open_folder_button,
                          received && state == FILER_TRANSFER_STATE_COMPLETED);
  gtk_widget_set_visible (self->open_file_button,
                          received && state == FILER_TRANSFER_STATE_COMPLETED &&
                          filer_transfer_get_n_files (transfer) == 1);

  /* Verified or not, as an icon, a word and in what a screen reader says. */
  gtk_image_set_from_icon_name (self->trust_image, filer_trust_icon_name (self->trust));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->trust_image),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  filer_trust_description (self->trust),
                                  -1);
  gtk_label_set_label (self->trust_label, filer_trust_description (self->trust));
  gtk_widget_remove_css_class (self->trust_box, "error");
  gtk_widget_remove_css_class (self->trust_box, "success");
  gtk_widget_remove_css_class (self->trust_box, "dim-label");
  gtk_widget_add_css_class (self->trust_box,
                            self->trust == FILER_TRUST_KEY_CHANGED ? "error" :
                            self->trust == FILER_TRUST_VERIFIED ? "success" : "dim-label");

  if (path != NULL)
    accessible = g_strdup_printf ("%s, %s, %s, %s, %s", title,
                                  filer_trust_description (self->trust), files, status, path);
  else
    accessible = g_strdup_printf ("%s, %s, %s, %s", title,
                                  filer_trust_description (self->trust), files, status);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                  -1);
}

static void
transfer_notify_cb (FilerTransferRow *self,
                    GParamSpec       *pspec,
                    FilerTransfer    *transfer)
{
  refresh (self);
}

static void
cancel_clicked_cb (FilerTransferRow *self)
{
  if (self->transfer != NULL && !filer_transfer_is_finished (self->transfer))
    filer_transfer_cancel (self->transfer);
}

static void
launch_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    g_message ("Could not open: %s", error->message);
}

static void
open_uri (FilerTransferRow *self,
          GFile            *file)
{
  g_autofree char *uri = g_file_get_uri (file);
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  g_autoptr(GdkAppLaunchContext) context = gdk_display_get_app_launch_context (display);

  g_app_info_launch_default_for_uri_async (uri, G_APP_LAUNCH_CONTEXT (context), NULL,
                                           launch_cb, NULL);
}

static void
open_folder_clicked_cb (FilerTransferRow *self)
{
  g_autoptr(GFile) file = saved_file (self);
  g_autoptr(GFile) folder = file ? g_file_get_parent (file) : NULL;

  if (folder != NULL)
    open_uri (self, folder);
}

static void
open_file_clicked_cb (FilerTransferRow *self)
{
  g_autoptr(GFile) file = saved_file (self);

  if (file != NULL)
    open_uri (self, file);
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
  g_clear_pointer (&self->download_folder, g_free);

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
                         FILER_TYPE_TRANSFER,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-transfer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, direction_image);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, trust_box);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, trust_image);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, trust_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, file_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, FilerTransferRow, path_label);
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
filer_transfer_row_new (FilerTransfer *transfer)
{
  g_return_val_if_fail (FILER_IS_TRANSFER (transfer), NULL);

  return g_object_new (FILER_TYPE_TRANSFER_ROW, "transfer", transfer, NULL);
}

/**
 * filer_transfer_row_set_download_folder:
 * @folder: (nullable): the folder a received transfer was saved in: the
 *   names the receiver reports are inside it
 */
void
filer_transfer_row_set_download_folder (FilerTransferRow *self,
                                        const char       *folder)
{
  g_return_if_fail (FILER_IS_TRANSFER_ROW (self));

  g_free (self->download_folder);
  self->download_folder = g_strdup (folder);
}

FilerTransfer *
filer_transfer_row_get_transfer (FilerTransferRow *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_ROW (self), NULL);

  return self->transfer;
}

/**
 * filer_transfer_row_set_trust:
 *
 * Whether the peer of the row's transfer is a device the user verified.
 */
void
filer_transfer_row_set_trust (FilerTransferRow *self,
                              FilerTrust        trust)
{
  g_return_if_fail (FILER_IS_TRANSFER_ROW (self));

  if (self->trust == trust)
    return;

  self->trust = trust;
  refresh (self);
}

FilerTrust
filer_transfer_row_get_trust (FilerTransferRow *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_ROW (self), FILER_TRUST_UNVERIFIED);

  return self->trust;
}

/**
 * filer_transfer_row_get_trust_image:
 *
 * Returns: (transfer none): the verified / not verified icon
 */
GtkWidget *
filer_transfer_row_get_trust_image (FilerTransferRow *self)
{
  g_return_val_if_fail (FILER_IS_TRANSFER_ROW (self), NULL);

  return GTK_WIDGET (self->trust_image);
}
