/* filer-application.c: the Filer application object
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-application.h"

#include <glib/gi18n.h>

#include "filer-format.h"
#include "filer-offer-dialog.h"
#include "filer-preferences-window.h"
#include "filer-resources.h"
#include "filer-trust-store.h"
#include "libfiler.h"

/* The application owns the settings and the core objects, and connects
 * them to the window: the window's models are the core's models, and
 * the window's "send-files" requests go to the core's send API. */
struct _FilerApplication
{
  AdwApplication  parent_instance;

  /* Owned */
  GSettings      *settings;
  FilerTrustStore *trust_store;
  char           *server_override;
  FilerSession   *session;
  GHashTable     *offer_dialogs;   /* transfer id → FilerOfferDialog */
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

/* --- settings → session ------------------------------------------ */

static char *
download_folder (FilerApplication *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "download-folder");

  if (folder[0] == '\0')
    return filer_get_default_download_folder ();

  return g_steal_pointer (&folder);
}

static char *
device_name (FilerApplication *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "device-name");

  if (name[0] == '\0')
    return filer_get_pretty_host_name ();

  return g_steal_pointer (&name);
}

/* "--server" wins over the settings, and is not saved. */
static void
apply_server (FilerApplication *self)
{
  g_autofree char *address = NULL;

  if (self->server_override != NULL)
    {
      filer_session_set_server (self->session, self->server_override);
      return;
    }

  if (!g_settings_get_boolean (self->settings, "server-automatic"))
    address = g_settings_get_string (self->settings, "server-address");

  filer_session_set_server (self->session, address);
}

/* The room code of the settings, if it is one (Preferences refuses a
 * code that is too short as it is typed; one stored by an older Filer,
 * or by hand, joins no room). */
static void
apply_room (FilerApplication *self)
{
  g_autofree char *text = g_settings_get_string (self->settings, "room-code");
  g_autofree char *room = NULL;
  g_autoptr(GError) error = NULL;

  if (*text != '\0')
    {
      room = filer_room_code_normalize (text, &error);
      if (room == NULL)
        g_message ("Joining no room: the room code in the settings is refused: %s",
                   error->message);
    }

  filer_session_set_room (self->session, room);
}

static void
settings_changed_cb (FilerApplication *self,
                     const char       *key,
                     GSettings        *settings)
{
  if (g_str_equal (key, "server-automatic") || g_str_equal (key, "server-address"))
    apply_server (self);
  else if (g_str_equal (key, "room-code"))
    apply_room (self);
  else if (g_str_equal (key, "allow-hosting"))
    filer_session_set_allow_hosting (self->session, g_settings_get_boolean (settings, key));
  else if (g_str_equal (key, "device-name"))
    {
      g_autofree char *name = device_name (self);

      filer_session_set_device_name (self->session, name);
    }
  else if (g_str_equal (key, "download-folder"))
    {
      g_autofree char *folder = download_folder (self);

      filer_transfer_service_set_download_dir (filer_session_get_transfer_service (self->session),
                                               folder);
      if (filer_application_get_window (self) != NULL)
        filer_window_set_download_folder (filer_application_get_window (self), folder);
    }
}

/* Offers are accepted without asking only from a device the user
 * verified (compared codes with, and trusted) and only when the user
 * allowed that. Not from an id merely listed before verification
 * existed, and never by name: a verified name under another key is what
 * an impostor looks like. */
static gboolean
auto_accept_cb (FilerTransferService *service,
                FilerTransfer        *transfer,
                gpointer              user_data)
{
  FilerApplication *self = user_data;

  if (!g_settings_get_boolean (self->settings, "auto-accept-trusted"))
    return FALSE;

  return filer_trust_store_is_verified (self->trust_store, filer_transfer_get_peer_id (transfer));
}

/* The user compared codes and said they match. */
static void
trust_device (FilerApplication *self,
              const char       *peer_id,
              const char       *peer_name)
{
  if (!filer_trust_store_trust (self->trust_store, peer_id, peer_name))
    return;
  g_settings_set_boolean (self->settings, "auto-accept-trusted", TRUE);
}

/* A verified device that shows up under a new name, or renames itself
 * while online, keeps that name in the store: the name last seen is the
 * one a new key is flagged for. */
static void
peer_renamed_cb (FilerApplication *self,
                 GParamSpec       *pspec,
                 FilerPeer        *peer)
{
  filer_trust_store_note_name (self->trust_store, filer_peer_get_id (peer),
                               filer_peer_get_name (peer));
}

static void
peers_changed_cb (FilerApplication *self,
                  guint             position,
                  guint             removed,
                  guint             added,
                  GListModel       *peers)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);

      peer_renamed_cb (self, NULL, peer);
      g_signal_connect_object (peer, "notify::name", G_CALLBACK (peer_renamed_cb), self,
                               G_CONNECT_SWAPPED);
    }
}

/* --- status line ---------------------------------------------------- */

static void
update_status (FilerApplication *self)
{
  FilerWindow *window = filer_application_get_window (self);
  FilerDiscoveryClient *client = filer_session_get_client (self->session);
  const char *status;

  if (window == NULL)
    return;

  if (filer_session_get_hosting (self->session))
    status = _("Hosting discovery");
  else
    switch (filer_discovery_client_get_state (client))
      {
      case FILER_DISCOVERY_STATE_ONLINE:
        status = _("Connected");
        break;

      case FILER_DISCOVERY_STATE_CONNECTING:
        status = _("Looking for the server…");
        break;

      case FILER_DISCOVERY_STATE_OFFLINE:
      default:
        status = _("Offline");
        break;
      }

  filer_window_set_status (window, status);
}

static void
session_changed_cb (FilerApplication *self)
{
  update_status (self);
}

/* --- offers ----------------------------------------------------------- */

static FilerTransfer *
find_transfer (FilerApplication *self,
               const char       *id)
{
  GListModel *transfers = filer_session_get_transfers (self->session);
  guint n = g_list_model_get_n_items (transfers);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (transfers, i);

      if (g_strcmp0 (filer_transfer_get_id (transfer), id) == 0)
        return transfer;
    }

  return NULL;
}

static void
answer_offer (FilerApplication *self,
              FilerTransfer    *transfer,
              gboolean          accept,
              gboolean          always)
{
  g_autofree char *notification_id = NULL;

  if (transfer == NULL ||
      filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_WAITING_FOR_ANSWER)
    return;

  notification_id = g_strdup_printf ("offer-%s", filer_transfer_get_id (transfer));
  g_application_withdraw_notification (G_APPLICATION (self), notification_id);

  if (accept)
    {
      if (always)
        trust_device (self, filer_transfer_get_peer_id (transfer),
                      filer_transfer_get_peer_name (transfer));
      filer_transfer_accept (transfer, NULL);
    }
  else
    filer_transfer_decline (transfer, NULL);
}

static void
offer_response_cb (FilerApplication *self,
                   const char       *response,
                   FilerOfferDialog *dialog)
{
  FilerTransfer *transfer = g_object_get_data (G_OBJECT (dialog), "transfer");

  answer_offer (self, transfer, g_strcmp0 (response, "accept") == 0,
                filer_offer_dialog_get_always_accept (dialog));
  g_hash_table_remove (self->offer_dialogs, filer_transfer_get_id (transfer));
}

/* The sender gave up (cancel, lost connection): close its question. */
static void
offer_state_cb (FilerApplication *self,
                GParamSpec       *pspec,
                FilerTransfer    *transfer)
{
  GtkWindow *dialog;
  g_autofree char *notification_id = NULL;

  if (filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_WAITING_FOR_ANSWER)
    return;

  notification_id = g_strdup_printf ("offer-%s", filer_transfer_get_id (transfer));
  g_application_withdraw_notification (G_APPLICATION (self), notification_id);

  dialog = g_hash_table_lookup (self->offer_dialogs, filer_transfer_get_id (transfer));
  if (dialog != NULL)
    {
      g_hash_table_steal (self->offer_dialogs, filer_transfer_get_id (transfer));
      gtk_window_destroy (dialog);
    }
}

static char **
offered_names (FilerTransfer *transfer)
{
  GListModel *files = filer_transfer_get_files (transfer);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n = files ? g_list_model_get_n_items (files) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, i);

      g_strv_builder_add (builder, filer_transfer_file_get_path (file));
    }

  return g_strv_builder_end (builder);
}

static void
offer_received_cb (FilerApplication     *self,
                   FilerTransfer        *transfer,
                   FilerTransferService *service)
{
  FilerWindow *window = filer_application_get_window (self);
  g_auto(GStrv) names = offered_names (transfer);
  const char *sender = filer_transfer_get_peer_name (transfer);
  g_autofree char *code = NULL;
  g_autofree char *verified_name = NULL;
  FilerTrust trust;
  GtkWidget *dialog;

  if (sender == NULL || sender[0] == '\0')
    sender = _("Unnamed device");

  dialog = filer_offer_dialog_new (window ? GTK_WINDOW (window) : NULL, sender,
                                   (const char * const *)names,
                                   filer_transfer_get_bytes_total (transfer));
  trust = filer_trust_store_lookup (self->trust_store, filer_transfer_get_peer_id (transfer),
                                    filer_transfer_get_peer_name (transfer), &verified_name);
  code = filer_identity_verification_code_for_ids (filer_device_get_id (filer_session_get_device (self->session)),
                                                   filer_transfer_get_peer_id (transfer));
  filer_offer_dialog_set_trust (FILER_OFFER_DIALOG (dialog), trust, code, verified_name);
  g_object_set_data_full (G_OBJECT (dialog), "transfer", g_object_ref (transfer), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (offer_response_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (transfer, "notify::state", G_CALLBACK (offer_state_cb), self,
                           G_CONNECT_SWAPPED);
  g_hash_table_insert (self->offer_dialogs, g_strdup (filer_transfer_get_id (transfer)), dialog);
  gtk_window_present (GTK_WINDOW (dialog));

  /* Nobody looking: say it in a notification too, with the same answers. */
  if (window == NULL || !gtk_widget_get_mapped (GTK_WIDGET (window)) ||
      !gtk_window_is_active (GTK_WINDOW (window)))
    {
      g_autoptr(GNotification) notification = NULL;
      g_autofree char *title = NULL;
      g_autofree char *body = NULL;
      g_autofree char *size = g_format_size (filer_transfer_get_bytes_total (transfer));
      g_autofree char *notification_id = g_strdup_printf ("offer-%s", filer_transfer_get_id (transfer));
      g_autofree char *files = NULL;
      g_autofree char *trust_text = NULL;
      guint n = g_strv_length (names);

      /* Translators: notification title, %s is a device name */
      title = g_strdup_printf (_("%s wants to send you files"), sender);
      files = g_strdup_printf (ngettext ("%u file (%s)", "%u files (%s)", n), n, size);
      /* The notification's Accept answers without the dialog: it says
       * what the dialog would, the code or the changed key. */
      if (trust == FILER_TRUST_KEY_CHANGED)
        /* Translators: %s is the name of a device the user verified */
        trust_text = g_strdup_printf (_("Key changed — this is not the %s you verified"),
                                      verified_name ? verified_name : sender);
      else if (trust == FILER_TRUST_VERIFIED)
        trust_text = g_strdup (filer_trust_description (trust));
      else if (code != NULL)
        /* Translators: in a notification; %s is a code like "123 456" */
        trust_text = g_strdup_printf (_("Not verified — code %s"), code);
      else
        trust_text = g_strdup (filer_trust_description (trust));
      body = g_strdup_printf ("%s\n%s", files, trust_text);
      notification = g_notification_new (title);
      g_notification_set_body (notification, body);
      g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
      g_notification_set_default_action (notification, "app.activate");
      g_notification_add_button_with_target (notification, _("Decline"), "app.decline-offer",
                                             "s", filer_transfer_get_id (transfer));
      g_notification_add_button_with_target (notification, _("Accept"), "app.accept-offer",
                                             "s", filer_transfer_get_id (transfer));
      g_application_send_notification (G_APPLICATION (self), notification_id, notification);
    }
}

static void
offer_action_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  FilerApplication *self = user_data;
  const char *id = g_variant_get_string (parameter, NULL);
  FilerTransfer *transfer = find_transfer (self, id);

  answer_offer (self, transfer, g_str_equal (g_action_get_name (G_ACTION (action)), "accept-offer"),
                FALSE);
}

/* --- the window --------------------------------------------------------- */

static char **
paths_of (GPtrArray *files)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_file_get_path (g_ptr_array_index (files, i));

      /* Only local files can be sent (not a phone's MTP folder, say). */
      if (path != NULL)
        g_strv_builder_add (builder, path);
    }

  return g_strv_builder_end (builder);
}

static void
session_sent_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(FilerApplication) self = user_data;
  g_autoptr(FilerTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  GtkWindow *window;

  transfer = filer_session_send_finish (FILER_SESSION (object), result, &error);
  if (transfer != NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* No path reached the device: there is no transfer row to say so. */
  g_debug ("Send failed: %s", error->message);
  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (FILER_IS_WINDOW (window))
    {
      g_autofree char *message = g_strdup_printf (_("Cannot reach the device: %s"), error->message);

      filer_window_add_toast (FILER_WINDOW (window), message);
    }
}

static void
send_files_cb (FilerApplication *self,
               FilerPeer        *peer,
               GPtrArray        *files,
               FilerWindow      *window)
{
  g_auto(GStrv) paths = paths_of (files);

  if (paths[0] == NULL)
    {
      filer_window_add_toast (window, _("Only files on this computer can be sent"));
      return;
    }

  filer_session_send_async (self->session, peer, (const char * const *)paths,
                            NULL, session_sent_cb, g_object_ref (self));
}

static void
clear_finished_cb (FilerApplication *self,
                   FilerWindow      *window)
{
  filer_transfer_service_clear_finished (filer_session_get_transfer_service (self->session));
}

static void
activate_action_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  g_application_activate (G_APPLICATION (user_data));
}

static FilerWindow *
ensure_window (FilerApplication *self)
{
  FilerWindow *window = filer_application_get_window (self);

  if (window == NULL)
    {
      g_autoptr(GError) error = NULL;

      window = filer_window_new (GTK_APPLICATION (self));
      filer_window_set_download_folder (window,
                                        filer_transfer_service_get_download_dir (filer_session_get_transfer_service (self->session)));
      filer_window_set_peers (window, filer_session_get_peers (self->session));
      filer_window_set_transfers (window, filer_session_get_transfers (self->session));
      filer_window_set_device (window, filer_session_get_device (self->session));
      filer_window_set_trust_store (window, self->trust_store);
      g_signal_connect_object (window, "send-files", G_CALLBACK (send_files_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (window, "clear-finished", G_CALLBACK (clear_finished_cb), self,
                               G_CONNECT_SWAPPED);

      if (!filer_session_start (self->session, &error))
        {
          g_autofree char *message = NULL;

          /* Translators: %s is a system error message */
          message = g_strdup_printf (_("Cannot receive files: %s"), error->message);
          filer_window_add_toast (window, message);
        }
      update_status (self);
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
      apply_server (self);
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
  /* An application window, so that the app's shortcuts work in it. */
  gtk_window_set_application (GTK_WINDOW (preferences), GTK_APPLICATION (self));
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
                        "application", self,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action_cb },
  { "preferences", preferences_action_cb },
  { "about", about_action_cb },
  { "activate", activate_action_cb },
  { "accept-offer", offer_action_cb, "s" },
  { "decline-offer", offer_action_cb, "s" },
};

static void
filer_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *about_accels[] = { "F1", NULL };
  static const char *devices_accels[] = { "<Alt>1", NULL };
  static const char *transfers_accels[] = { "<Alt>2", NULL };
  FilerApplication *self = FILER_APPLICATION (app);

  g_autoptr(FilerDevice) device = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *folder = NULL;
  FilerTransferService *service;

  G_APPLICATION_CLASS (filer_application_parent_class)->startup (app);

  /* Old random ids cannot be verified: they go before anything asks. */
  filer_trust_store_migrate (self->trust_store);

  /* Who we are: the key kept in the user's config (the id is the
   * key's), our name from the settings (or the host's pretty name). */
  device = filer_device_load_default (&error);
  if (device == NULL)
    {
      g_message ("Using a temporary device key: %s", error->message);
      device = filer_device_new_ephemeral (NULL, NULL);
    }
  name = device_name (self);
  filer_device_set_name (device, name);

  folder = download_folder (self);
  self->session = filer_session_new (device, folder);
  apply_room (self);
  filer_session_set_allow_hosting (self->session,
                                   g_settings_get_boolean (self->settings, "allow-hosting"));
  apply_server (self);

  service = filer_session_get_transfer_service (self->session);
  filer_transfer_service_set_auto_accept_func (service, auto_accept_cb, self, NULL);
  g_signal_connect_object (service, "offer-received", G_CALLBACK (offer_received_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::hosting", G_CALLBACK (session_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (filer_session_get_client (self->session), "notify::state",
                           G_CALLBACK (session_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (filer_session_get_peers (self->session), "items-changed",
                           G_CALLBACK (peers_changed_cb), self,
                           G_CONNECT_SWAPPED);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.about", about_accels);
  /* Application accels, not the window class's key bindings: the
   * shortcuts window shows the keys GtkApplication knows for an action,
   * and nothing for a binding only the window knows. */
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-devices", devices_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-transfers", transfers_accels);
}

static void
filer_application_shutdown (GApplication *app)
{
  FilerApplication *self = FILER_APPLICATION (app);

  g_hash_table_remove_all (self->offer_dialogs);
  if (self->session != NULL)
    filer_session_stop (self->session);

  G_APPLICATION_CLASS (filer_application_parent_class)->shutdown (app);
}

static void
filer_application_dispose (GObject *object)
{
  FilerApplication *self = (FilerApplication *)object;

  g_clear_object (&self->session);
  g_clear_object (&self->trust_store);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->server_override, g_free);
  g_clear_pointer (&self->offer_dialogs, g_hash_table_unref);

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
  self->trust_store = filer_trust_store_new (self->settings);
  self->offer_dialogs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

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

/**
 * filer_application_get_trust_store:
 *
 * Returns: (transfer none): who the user verified
 */
FilerTrustStore *
filer_application_get_trust_store (FilerApplication *self)
{
  g_return_val_if_fail (FILER_IS_APPLICATION (self), NULL);

  return self->trust_store;
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

/**
 * filer_application_get_session:
 *
 * Returns: (transfer none) (nullable): the network session, once the
 *   application is registered (tests configure it before activating)
 */
FilerSession *
filer_application_get_session (FilerApplication *self)
{
  g_return_val_if_fail (FILER_IS_APPLICATION (self), NULL);

  return self->session;
}
