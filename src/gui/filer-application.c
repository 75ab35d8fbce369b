/* filer-application.c: the Filer application object
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-application.h"

#include <glib/gi18n.h>

#include "filer-preferences-window.h"
#include "filer-resources.h"

/* The application owns the settings and the core objects, and connects
 * them to the window: the window's models are the core's models, and
 * the window's "send-files" requests go to the core's send API. */
struct _FilerApplication
{
  AdwApplication  parent_instance;

  /* Owned */
  GSettings      *settings;
  char           *server_override;
};

G_DEFINE_FINAL_TYPE (FilerApplication, filer_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "send", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Open the window with FILES ready to send to the device you pick"), NULL },
  { "server", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Use the discovery server at ADDRESS instead of looking for one"), N_("ADDRESS") },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Print the version and exit"), NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, NULL,
    NULL, N_("[FILES…]") },
  { NULL }
};

static FilerWindow *
ensure_window (FilerApplication *self)
{
  FilerWindow *window = filer_application_get_window (self);

  if (window == NULL)
    {
      window = filer_window_new (GTK_APPLICATION (self));
      g_settings_bind (self->settings, "window-width", window, "default-width",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height", window, "default-height",
                       G_SETTINGS_BIND_DEFAULT);
    }

  return window;
}

static void
filer_application_activate (GApplication *app)
{
  FilerApplication *self = FILER_APPLICATION (app);

  gtk_window_present (GTK_WINDOW (ensure_window (self)));
}

static int
filer_application_handle_local_options (GApplication *app,
                                        GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
      return 0;
    }

  return -1;
}

static int
filer_application_command_line (GApplication            *app,
                                GApplicationCommandLine *command_line)
{
  FilerApplication *self = FILER_APPLICATION (app);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree const char **remaining = NULL;
  const char *server = NULL;
  FilerWindow *window;

  if (g_variant_dict_lookup (options, "server", "&s", &server))
    {
      g_free (self->server_override);
      self->server_override = g_strdup (server);
    }

  window = ensure_window (self);

  /* Files on the command line ("filer --send a b", or "Open With")
   * wait in the window for a click on a device. */
  if (g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&ay", &remaining))
    {
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; remaining[i] != NULL; i++)
        g_ptr_array_add (files, g_application_command_line_create_file_for_arg (command_line,
                                                                                remaining[i]));
      filer_window_set_pending_files (window, files);
    }

  gtk_window_present (GTK_WINDOW (window));

  return 0;
}

static void
quit_action_cb (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
preferences_action_cb (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  FilerApplication *self = user_data;
  GtkWidget *preferences;

  preferences = filer_preferences_window_new (gtk_application_get_active_window (GTK_APPLICATION (self)),
                                              self->settings);
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_action_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  FilerApplication *self = user_data;
  static const char *developers[] = { "The Filer developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "application-icon", APP_ID,
                        "application-name", _("Filer"),
                        "developer-name", _("The Filer developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Send files to devices around you, on this network and beyond."),
                        "website", "https://github.com/filerapp/filer",
                        "issue-url", "https://github.com/filerapp/filer/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        /* Translators: your name(s), one per line, as you want them credited */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action_cb },
  { "preferences", preferences_action_cb },
  { "about", about_action_cb },
};

static void
filer_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *about_accels[] = { "F1", NULL };
  FilerApplication *self = FILER_APPLICATION (app);

  G_APPLICATION_CLASS (filer_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.about", about_accels);
}

static void
filer_application_shutdown (GApplication *app)
{
  G_APPLICATION_CLASS (filer_application_parent_class)->shutdown (app);
}

static void
filer_application_dispose (GObject *object)
{
  FilerApplication *self = (FilerApplication *)object;

  g_clear_object (&self->settings);
  g_clear_pointer (&self->server_override, g_free);

  G_OBJECT_CLASS (filer_application_parent_class)->dispose (object);
}

static void
filer_application_class_init (FilerApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = filer_application_dispose;

  app_class->activate = filer_application_activate;
  app_class->startup = filer_application_startup;
  app_class->shutdown = filer_application_shutdown;
  app_class->command_line = filer_application_command_line;
  app_class->handle_local_options = filer_application_handle_local_options;
}

static void
filer_application_init (FilerApplication *self)
{
  /* Referencing the resource keeps it linked in from the static library
   * (its constructor registers it). */
  g_assert (filer_get_resource () != NULL);

  self->settings = g_settings_new (APP_ID);

  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[FILES…]"));
}

/**
 * filer_application_new:
 * @flags: extra flags; tests pass %G_APPLICATION_NON_UNIQUE
 */
FilerApplication *
filer_application_new (GApplicationFlags flags)
{
  return g_object_new (FILER_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "resource-base-path", "/io/github/filerapp/Filer",
                       "flags", flags | G_APPLICATION_HANDLES_COMMAND_LINE,
                       NULL);
}

GSettings *
filer_application_get_settings (FilerApplication *self)
{
  g_return_val_if_fail (FILER_IS_APPLICATION (self), NULL);

  return self->settings;
}

/**
 * filer_application_get_window:
 *
 * Returns: (transfer none) (nullable): the main window, if there is one
 */
FilerWindow *
filer_application_get_window (FilerApplication *self)
{
  GList *windows;

  g_return_val_if_fail (FILER_IS_APPLICATION (self), NULL);

  windows = gtk_application_get_windows (GTK_APPLICATION (self));
  for (const GList *l = windows; l != NULL; l = l->next)
    if (FILER_IS_WINDOW (l->data))
      return l->data;

  return NULL;
}
