/* filer-preferences-window.c: the settings a person may change
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-preferences-window.h"

#include <glib/gi18n.h>

#include "filer-format.h"
#include "libfiler.h"

/* Every row writes GSettings and nothing else; FilerApplication watches
 * the keys and reconnects or renames as needed. Text rows write on
 * "apply" (Enter or the check button), not on every key press, so a
 * half-typed server address does not start a connection. */
struct _FilerPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  /* Template widgets */
  AdwEntryRow          *device_name_row;
  AdwActionRow         *download_folder_row;
  GtkSwitch            *auto_accept_switch;
  AdwActionRow         *trusted_row;
  GtkWidget            *forget_trusted_button;
  GtkSwitch            *automatic_switch;
  AdwEntryRow          *server_row;
  AdwEntryRow          *room_row;
  GtkWidget            *room_copy_button;
  GtkLabel             *room_error_label;
  GtkSwitch            *hosting_switch;

  /* Owned */
  GSettings            *settings;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (FilerPreferencesWindow, filer_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_device_name (FilerPreferencesWindow *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "device-name");

  if (name[0] == '\0')
    {
      g_free (name);
      name = filer_get_pretty_host_name ();
    }

  gtk_editable_set_text (GTK_EDITABLE (self->device_name_row), name);
}

static void
update_download_folder (FilerPreferencesWindow *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "download-folder");

  if (folder[0] == '\0')
    {
      g_free (folder);
      folder = filer_get_default_download_folder ();
    }

  adw_action_row_set_subtitle (self->download_folder_row, folder);
}

static void
update_trusted (FilerPreferencesWindow *self)
{
  /* Trusted is verified: the devices in verified-devices. */
  g_autoptr(GVariant) verified = g_settings_get_value (self->settings, "verified-devices");
  guint n = g_variant_n_children (verified);
  g_autofree char *subtitle = NULL;

  if (n == 0)
    subtitle = g_strdup (_("None"));
  else
    subtitle = g_strdup_printf (ngettext ("%u device", "%u devices", n), n);

  adw_action_row_set_subtitle (self->trusted_row, subtitle);
  gtk_widget_set_sensitive (self->forget_trusted_button, n > 0);
}

/* Why a typed room code is refused, in the user's language. */
static const char *
room_problem (const GError *error)
{
  switch (error->code)
    {
    case FILER_ROOM_CODE_ERROR_TOO_SHORT:
      return _("A room code needs at least 8 letters and digits, so that nobody can guess it. Generate one instead.");
    case FILER_ROOM_CODE_ERROR_TOO_LONG:
      return _("A room code has at most 32 letters and digits.");
    case FILER_ROOM_CODE_ERROR_INVALID_CHARACTER:
    default:
      return _("A room code has only letters and digits (no U); dashes and spaces do not count.");
    }
}

/* Shows @message (nullable) under the room row, and marks the row. */
static void
show_room_problem (FilerPreferencesWindow *self,
                   const char             *message)
{
  GtkWidget *row = GTK_WIDGET (self->room_row);

  gtk_label_set_text (self->room_error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->room_error_label), message != NULL);
  if (message != NULL)
    {
      gtk_widget_add_css_class (row, "error");
      gtk_accessible_update_state (GTK_ACCESSIBLE (row),
                                   GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE,
                                   -1);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message,
                                      -1);
    }
  else
    {
      gtk_widget_remove_css_class (row, "error");
      gtk_accessible_reset_state (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_STATE_INVALID);
      gtk_accessible_reset_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
}

/* The stored room code, in the row: one stored by an older Filer or by
 * hand may be refused (FilerApplication then joins no room), and the row
 * says why. */
static void
update_room (FilerPreferencesWindow *self)
{
  g_autofree char *text = g_settings_get_string (self->settings, "room-code");
  g_autofree char *room = NULL;
  g_autoptr(GError) error = NULL;

  gtk_editable_set_text (GTK_EDITABLE (self->room_row), text);
  if (*text != '\0')
    room = filer_room_code_normalize (text, &error);
  show_room_problem (self, error != NULL ? room_problem (error) : NULL);
  gtk_widget_set_sensitive (self->room_copy_button, room != NULL);
}

static void
settings_changed_cb (FilerPreferencesWindow *self,
                     const char             *key,
                     GSettings              *settings)
{
  if (g_strcmp0 (key, "device-name") == 0)
    update_device_name (self);
  else if (g_strcmp0 (key, "download-folder") == 0)
    update_download_folder (self);
  else if (g_strcmp0 (key, "verified-devices") == 0)
    update_trusted (self);
  else if (g_strcmp0 (key, "server-address") == 0)
    {
      g_autofree char *address = g_settings_get_string (settings, key);

      gtk_editable_set_text (GTK_EDITABLE (self->server_row), address);
    }
  else if (g_strcmp0 (key, "room-code") == 0)
    update_room (self);
}

static void
device_name_apply_cb (FilerPreferencesWindow *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->device_name_row))));
  g_autofree char *pretty = filer_get_pretty_host_name ();

  /* Keep following the host name unless the user picked another one. */
  g_settings_set_string (self->settings, "device-name",
                         g_strcmp0 (text, pretty) == 0 ? "" : text);
}

static void
server_apply_cb (FilerPreferencesWindow *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->server_row))));

  g_settings_set_string (self->settings, "server-address", text);
}

/* A typed code is kept only if it is safe, in its canonical form
 * ("7kq2 m9xd" becomes "7KQ2-M9XD"); else the row says why and the room
 * stays as it was. */
static void
room_apply_cb (FilerPreferencesWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->room_row));
  g_autofree char *room = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;

  if (*text != '\0' && (room = filer_room_code_normalize (text, &error)) == NULL)
    {
      show_room_problem (self, room_problem (error));
      return;
    }

  stored = g_settings_get_string (self->settings, "room-code");
  if (g_strcmp0 (stored, room ? room : "") == 0)
    update_room (self);
  else
    g_settings_set_string (self->settings, "room-code", room ? room : "");
}

/* Typing again: the complaint was about the old text. */
static void
room_changed_cb (FilerPreferencesWindow *self)
{
  show_room_problem (self, NULL);
}

static void
room_generate_clicked_cb (FilerPreferencesWindow *self)
{
  g_autofree char *room = filer_room_code_generate ();

  g_settings_set_string (self->settings, "room-code", room);
}

static void
room_copy_clicked_cb (FilerPreferencesWindow *self)
{
  g_autofree char *room = g_settings_get_string (self->settings, "room-code");

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), room);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    adw_toast_new (_("Room code copied")));
}

static void
forget_trusted_clicked_cb (FilerPreferencesWindow *self)
{
  g_settings_reset (self->settings, "verified-devices");
  g_settings_reset (self->settings, "trusted-devices");
}

static void
chooser_response_cb (FilerPreferencesWindow *self,
                     int                     response,
                     GtkFileChooserNative   *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "download-folder", path);
    }

  g_clear_object (&self->chooser);
}

static void
choose_folder_clicked_cb (FilerPreferencesWindow *self)
{
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  self->chooser = gtk_file_chooser_native_new (_("Download Folder"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response",
                           G_CALLBACK (chooser_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
filer_preferences_window_constructed (GObject *object)
{
  FilerPreferencesWindow *self = (FilerPreferencesWindow *)object;

  G_OBJECT_CLASS (filer_preferences_window_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));

  g_settings_bind (self->settings, "auto-accept-trusted",
                   self->auto_accept_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "server-automatic",
                   self->automatic_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "server-automatic",
                   self->server_row, "sensitive",
                   G_SETTINGS_BIND_GET | G_SETTINGS_BIND_INVERT_BOOLEAN);
  g_settings_bind (self->settings, "allow-hosting",
                   self->hosting_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "server-automatic",
                   self->hosting_switch, "sensitive",
                   G_SETTINGS_BIND_GET);

  g_signal_connect_object (self->settings, "changed",
                           G_CALLBACK (settings_changed_cb), self,
                           G_CONNECT_SWAPPED);

  update_device_name (self);
  update_download_folder (self);
  update_trusted (self);
  settings_changed_cb (self, "server-address", self->settings);
  settings_changed_cb (self, "room-code", self->settings);
}

static void
filer_preferences_window_dispose (GObject *object)
{
  FilerPreferencesWindow *self = (FilerPreferencesWindow *)object;

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  gtk_widget_dispose_template (GTK_WIDGET (self), FILER_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (filer_preferences_window_parent_class)->dispose (object);
}

static void
filer_preferences_window_get_property (GObject    *object,
                                       guint       prop_id,
                                       GValue     *value,
                                       GParamSpec *pspec)
{
  FilerPreferencesWindow *self = FILER_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_preferences_window_set_property (GObject      *object,
                                       guint         prop_id,
                                       const GValue *value,
                                       GParamSpec   *pspec)
{
  FilerPreferencesWindow *self = FILER_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_preferences_window_class_init (FilerPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = filer_preferences_window_constructed;
  object_class->dispose = filer_preferences_window_dispose;
  object_class->get_property = filer_preferences_window_get_property;
  object_class->set_property = filer_preferences_window_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, device_name_row);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, download_folder_row);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, auto_accept_switch);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, trusted_row);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, forget_trusted_button);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, automatic_switch);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, server_row);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, room_row);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, room_copy_button);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, room_error_label);
  gtk_widget_class_bind_template_child (widget_class, FilerPreferencesWindow, hosting_switch);
  gtk_widget_class_bind_template_callback (widget_class, device_name_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, server_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, room_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, room_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, room_generate_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, room_copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, forget_trusted_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, choose_folder_clicked_cb);
}

static void
filer_preferences_window_init (FilerPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
filer_preferences_window_new (GtkWindow *parent,
                              GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (FILER_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "settings", settings,
                       NULL);
}
