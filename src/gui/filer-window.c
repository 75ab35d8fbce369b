/* filer-window.c: the main window: device grid and transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-window.h"

#include <glib/gi18n.h>

#include "filer-format.h"
#include "filer-peer-tile.h"
#include "libfiler.h"
#include "filer-transfer-row.h"
#include "filer-trust-store.h"
#include "filer-verify-dialog.h"

/* The window shows two list models it is given (peers and transfers)
 * and turns user gestures into one request, the "send-files" signal.
 * It knows nothing of sockets: FilerApplication feeds it the core's
 * models and answers the signal, and tests can feed it a GListStore.
 */
struct _FilerWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack         *stack;
  GtkStack             *devices_stack;
  AdwStatusPage        *status_page;
  GtkGridView          *grid_view;
  GtkStack             *transfers_stack;
  GtkListBox           *transfers_list;
  GtkRevealer          *pending_revealer;
  GtkLabel             *pending_label;

  /* Owned */
  GListModel           *peers;
  GListModel           *transfers;
  GPtrArray            *pending_files;
  char                 *download_folder;
  GtkFileChooserNative *chooser;
  FilerPeer            *chooser_peer;
  FilerTrustStore      *trust_store;
  FilerDevice          *device;

  /* The tiles the grid made, to show what each peer is doing. Held, not
   * borrowed: GTK does not tear every list item down when the grid goes,
   * and a borrowed pointer would then dangle. */
  GPtrArray            *tiles;
};

G_DEFINE_FINAL_TYPE (FilerWindow, filer_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_PEERS,
  PROP_TRANSFERS,
  N_PROPS
};

enum {
  SEND_FILES,
  CLEAR_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
pending_revealed_cb (FilerWindow *self)
{
  if (!gtk_revealer_get_child_revealed (self->pending_revealer) &&
      !gtk_revealer_get_reveal_child (self->pending_revealer))
    gtk_widget_set_visible (GTK_WIDGET (self->pending_revealer), FALSE);
}

static void
update_devices_page (FilerWindow *self)
{
  guint n = self->peers ? g_list_model_get_n_items (self->peers) : 0;

  gtk_stack_set_visible_child_name (self->devices_stack, n > 0 ? "peers" : "empty");
}

static void
update_transfers_page (FilerWindow *self)
{
  guint n = self->transfers ? g_list_model_get_n_items (self->transfers) : 0;

  gtk_stack_set_visible_child_name (self->transfers_stack, n > 0 ? "list" : "empty");
}

/* "Clear Finished" is there to click only when something has finished. */
static void
update_clear_finished (FilerWindow *self)
{
  guint n = self->transfers ? g_list_model_get_n_items (self->transfers) : 0;
  gboolean any_finished = FALSE;

  for (guint i = 0; i < n && !any_finished; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (self->transfers, i);

      any_finished = filer_transfer_is_finished (transfer);
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.clear-finished", any_finished);
}

static void
peers_changed_cb (FilerWindow *self,
                  guint        position,
                  guint        removed,
                  guint        added,
                  GListModel  *model)
{
  update_devices_page (self);
}

/* What a tile says its peer is doing: the newest unfinished transfer
 * with that peer, in a few words. */
static char *
activity_for_peer (FilerWindow *self,
                   FilerPeer   *peer)
{
  guint n;

  if (self->transfers == NULL || peer == NULL)
    return NULL;

  n = g_list_model_get_n_items (self->transfers);
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (self->transfers, i - 1);
      gboolean sending;
      guint percent;
      guint64 total;

      if (filer_transfer_is_finished (transfer) ||
          g_strcmp0 (filer_transfer_get_peer_id (transfer), filer_peer_get_id (peer)) != 0)
        continue;

      sending = filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_SEND;
      total = filer_transfer_get_bytes_total (transfer);
      percent = total > 0 ? (guint)(filer_transfer_get_bytes_done (transfer) * 100 / total) : 0;

      switch (filer_transfer_get_state (transfer))
        {
        case FILER_TRANSFER_STATE_CONNECTING:
          return g_strdup (sending ? _("Connecting…") : _("Wants to send files"));

        case FILER_TRANSFER_STATE_WAITING_FOR_ANSWER:
          return g_strdup (sending ? _("Waiting for answer") : _("Wants to send files"));

        case FILER_TRANSFER_STATE_TRANSFERRING:
          {
            /* Translators: a tile's activity, e.g. "Sending 42 %" */
            g_autofree char *doing = g_strdup_printf (sending ? _("Sending %u %%") : _("Receiving %u %%"),
                                                      percent);
            const char *path = filer_format_path (filer_transfer_get_path (transfer));

            if (path == NULL)
              return g_steal_pointer (&doing);

            /* Translators: a tile's activity and the path it takes, e.g.
             * "Sending 42 % · Direct connection" */
            return g_strdup_printf (_("%s · %s"), doing, path);
          }

        default:
          return NULL;
        }
    }

  return NULL;
}

static FilerTrust
trust_of (FilerWindow *self,
          const char  *id,
          const char  *name,
          char       **verified_name)
{
  if (verified_name != NULL)
    *verified_name = NULL;
  if (self->trust_store == NULL)
    return FILER_TRUST_UNVERIFIED;

  return filer_trust_store_lookup (self->trust_store, id, name, verified_name);
}

static void
update_tile_trust (FilerWindow   *self,
                   FilerPeerTile *tile)
{
  FilerPeer *peer = filer_peer_tile_get_peer (tile);
  g_autofree char *verified_name = NULL;
  FilerTrust trust;

  if (peer == NULL)
    return;

  trust = trust_of (self, filer_peer_get_id (peer), filer_peer_get_name (peer), &verified_name);
  filer_peer_tile_set_trust (tile, trust, verified_name);
}

/* Who is verified changed (or a peer's name did): every tile and row
 * asks the store again. */
static void
update_trust (FilerWindow *self)
{
  if (self->tiles != NULL)
    for (guint i = 0; i < self->tiles->len; i++)
      update_tile_trust (self, g_ptr_array_index (self->tiles, i));

  if (self->transfers_list != NULL)
    for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->transfers_list));
         child != NULL;
         child = gtk_widget_get_next_sibling (child))
      if (FILER_IS_TRANSFER_ROW (child))
        {
          FilerTransfer *transfer = filer_transfer_row_get_transfer (FILER_TRANSFER_ROW (child));

          filer_transfer_row_set_trust (FILER_TRANSFER_ROW (child),
                                        trust_of (self, filer_transfer_get_peer_id (transfer),
                                                  filer_transfer_get_peer_name (transfer), NULL));
        }
}

static void
update_activities (FilerWindow *self)
{
  if (self->tiles == NULL)
    return;

  for (guint i = 0; i < self->tiles->len; i++)
    {
      FilerPeerTile *tile = g_ptr_array_index (self->tiles, i);
      g_autofree char *activity = activity_for_peer (self, filer_peer_tile_get_peer (tile));

      filer_peer_tile_set_activity (tile, activity);
    }
}

static void
transfer_progress_cb (FilerWindow   *self,
                      GParamSpec    *pspec,
                      FilerTransfer *transfer)
{
  update_activities (self);
}

/* Failures say why, as a toast, besides the row. */
static void
transfer_state_cb (FilerWindow   *self,
                   GParamSpec    *pspec,
                   FilerTransfer *transfer)
{
  const char *peer = filer_transfer_get_peer_name (transfer);
  gboolean sending = filer_transfer_get_direction (transfer) == FILER_TRANSFER_DIRECTION_SEND;
  g_autofree char *message = NULL;

  if (peer == NULL || peer[0] == '\0')
    peer = _("Unnamed device");

  switch (filer_transfer_get_state (transfer))
    {
    case FILER_TRANSFER_STATE_FAILED:
      /* Translators: "Sending to Anna failed: the disk is full" */
      message = g_strdup_printf (sending ? _("Sending to %s failed: %s") : _("Receiving from %s failed: %s"),
                                 peer,
                                 filer_transfer_get_error_message (transfer)
                                 ? filer_transfer_get_error_message (transfer) : _("unknown error"));
      break;

    case FILER_TRANSFER_STATE_DECLINED:
      if (sending)
        /* Translators: %s is a device name */
        message = g_strdup_printf (_("%s declined the files"), peer);
      break;

    default:
      break;
    }

  if (message != NULL)
    filer_window_add_toast (self, message);

  update_activities (self);
  update_clear_finished (self);
}

static void
watch_transfers (FilerWindow *self,
                 guint        position,
                 guint        added)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (self->transfers, i);

      g_signal_connect_object (transfer, "notify::state",
                               G_CALLBACK (transfer_state_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (transfer, "notify::bytes-done",
                               G_CALLBACK (transfer_progress_cb), self,
                               G_CONNECT_SWAPPED);
    }
}

static void
transfers_changed_cb (FilerWindow *self,
                      guint        position,
                      guint        removed,
                      guint        added,
                      GListModel  *model)
{
  AdwViewStackPage *page;

  update_transfers_page (self);
  watch_transfers (self, position, added);
  update_activities (self);
  update_clear_finished (self);

  /* A new transfer while the user looks at the devices: badge the tab. */
  page = adw_view_stack_get_page (self->stack,
                                  adw_view_stack_get_child_by_name (self->stack, "transfers"));
  if (added > 0 &&
      g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "transfers") != 0)
    adw_view_stack_page_set_needs_attention (page, TRUE);
}

static void
visible_page_changed_cb (FilerWindow *self)
{
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "transfers") == 0)
    {
      AdwViewStackPage *page;

      page = adw_view_stack_get_page (self->stack,
                                      adw_view_stack_get_visible_child (self->stack));
      adw_view_stack_page_set_needs_attention (page, FALSE);
    }
}

static void
tile_files_dropped_cb (FilerWindow   *self,
                       FilerPeer     *peer,
                       GPtrArray     *files,
                       FilerPeerTile *tile)
{
  filer_window_send_files (self, peer, files);
}

static void
tile_choose_files_cb (FilerWindow   *self,
                      gboolean       folders,
                      FilerPeerTile *tile)
{
  FilerPeer *peer = filer_peer_tile_get_peer (tile);

  if (peer != NULL)
    filer_window_choose_files (self, peer, folders);
}

static void
verify_response_cb (FilerWindow       *self,
                    const char        *response,
                    FilerVerifyDialog *dialog)
{
  const char *name = filer_verify_dialog_get_peer_name (dialog);
  g_autofree char *message = NULL;

  if (g_strcmp0 (response, "trust") == 0 && self->trust_store != NULL &&
      filer_trust_store_trust (self->trust_store, filer_verify_dialog_get_peer_id (dialog), name))
    /* Translators: a toast, %s is a device name */
    message = g_strdup_printf (_("%s is verified"), name);
  else if (g_strcmp0 (response, "differ") == 0)
    /* Translators: a toast, %s is a device name */
    message = g_strdup_printf (_("Not trusted: the codes differ, so this may not be %s"), name);

  if (message != NULL)
    filer_window_add_toast (self, message);
}

static void
tile_verify_cb (FilerWindow   *self,
                FilerPeer     *peer,
                FilerPeerTile *tile)
{
  filer_window_verify_peer (self, peer);
}

static void
peer_name_cb (FilerWindow *self,
              GParamSpec  *pspec,
              FilerPeer   *peer)
{
  update_trust (self);
}

static void
tile_setup_cb (FilerWindow              *self,
               GtkListItem              *item,
               GtkSignalListItemFactory *factory)
{
  GtkWidget *tile = filer_peer_tile_new ();

  g_signal_connect_object (tile, "files-dropped",
                           G_CALLBACK (tile_files_dropped_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (tile, "choose-files",
                           G_CALLBACK (tile_choose_files_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (tile, "verify",
                           G_CALLBACK (tile_verify_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_list_item_set_child (item, tile);
  g_ptr_array_add (self->tiles, g_object_ref (tile));
}

static void
tile_teardown_cb (FilerWindow              *self,
                  GtkListItem              *item,
                  GtkSignalListItemFactory *factory)
{
  if (self->tiles != NULL)
    g_ptr_array_remove (self->tiles, gtk_list_item_get_child (item));
}

static void
tile_bind_cb (FilerWindow              *self,
              GtkListItem              *item,
              GtkSignalListItemFactory *factory)
{
  FilerPeerTile *tile = FILER_PEER_TILE (gtk_list_item_get_child (item));
  g_autofree char *activity = NULL;

  filer_peer_tile_set_peer (tile, gtk_list_item_get_item (item));
  update_tile_trust (self, tile);
  /* A peer that renames itself may take a verified device's name. */
  g_signal_connect_object (gtk_list_item_get_item (item), "notify::name",
                           G_CALLBACK (peer_name_cb), self, G_CONNECT_SWAPPED);
  activity = activity_for_peer (self, gtk_list_item_get_item (item));
  filer_peer_tile_set_activity (tile, activity);
}

static void
tile_unbind_cb (FilerWindow              *self,
                GtkListItem              *item,
                GtkSignalListItemFactory *factory)
{
  FilerPeerTile *tile = FILER_PEER_TILE (gtk_list_item_get_child (item));

  if (gtk_list_item_get_item (item) != NULL)
    g_signal_handlers_disconnect_by_func (gtk_list_item_get_item (item), peer_name_cb, self);
  filer_peer_tile_set_peer (tile, NULL);
  filer_peer_tile_set_activity (tile, NULL);
}

static void
grid_activate_cb (FilerWindow *self,
                  guint        position,
                  GtkGridView *grid_view)
{
  g_autoptr(FilerPeer) peer = NULL;

  if (self->peers == NULL)
    return;

  peer = g_list_model_get_item (self->peers, position);
  if (peer == NULL)
    return;

  /* "filer --send FILE": the files wait for a click on a peer. */
  if (self->pending_files != NULL && self->pending_files->len > 0)
    {
      g_autoptr(GPtrArray) files = g_ptr_array_ref (self->pending_files);

      filer_window_set_pending_files (self, NULL);
      filer_window_send_files (self, peer, files);
      return;
    }

  filer_window_choose_files (self, peer, FALSE);
}

static GtkWidget *
create_transfer_row_cb (gpointer item,
                        gpointer user_data)
{
  FilerWindow *self = user_data;
  GtkWidget *row = filer_transfer_row_new (FILER_TRANSFER (item));

  /* A row is made when its transfer starts: it was saved in the folder
   * downloads go to now. */
  filer_transfer_row_set_download_folder (FILER_TRANSFER_ROW (row), self->download_folder);
  filer_transfer_row_set_trust (FILER_TRANSFER_ROW (row),
                                trust_of (self, filer_transfer_get_peer_id (item),
                                          filer_transfer_get_peer_name (item), NULL));
  return row;
}

static void
chooser_response_cb (FilerWindow          *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  g_autoptr(FilerPeer) peer = g_steal_pointer (&self->chooser_peer);

  if (response == GTK_RESPONSE_ACCEPT && peer != NULL)
    {
      g_autoptr(GListModel) chosen = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
      guint n = g_list_model_get_n_items (chosen);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (files, g_list_model_get_item (chosen, i));

      if (files->len > 0)
        filer_window_send_files (self, peer, files);
    }

  g_clear_object (&self->chooser);
}

static void
show_page_action_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  filer_window_show_page (FILER_WINDOW (widget),
                          g_str_equal (action_name, "win.show-transfers") ? "transfers" : "devices");
}

static void
forget_pending_action_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  filer_window_set_pending_files (FILER_WINDOW (widget), NULL);
}

static void
clear_finished_action_cb (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  g_signal_emit (widget, signals[CLEAR_FINISHED], 0);
}

static void
filer_window_dispose (GObject *object)
{
  FilerWindow *self = (FilerWindow *)object;

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->chooser_peer);
  if (self->trust_store != NULL)
    g_signal_handlers_disconnect_by_func (self->trust_store, update_trust, self);
  g_clear_object (&self->trust_store);
  g_clear_object (&self->device);

  g_clear_pointer (&self->tiles, g_ptr_array_unref);
  filer_window_set_peers (self, NULL);
  filer_window_set_transfers (self, NULL);
  g_clear_pointer (&self->pending_files, g_ptr_array_unref);
  g_clear_pointer (&self->download_folder, g_free);

  gtk_widget_dispose_template (GTK_WIDGET (self), FILER_TYPE_WINDOW);

  G_OBJECT_CLASS (filer_window_parent_class)->dispose (object);
}

static void
filer_window_finalize (GObject *object)
{
  FilerWindow *self = (FilerWindow *)object;

  g_clear_pointer (&self->tiles, g_ptr_array_unref);

  G_OBJECT_CLASS (filer_window_parent_class)->finalize (object);
}

static void
filer_window_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FilerWindow *self = FILER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PEERS:
      g_value_set_object (value, self->peers);
      break;

    case PROP_TRANSFERS:
      g_value_set_object (value, self->transfers);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_window_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  FilerWindow *self = FILER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PEERS:
      filer_window_set_peers (self, g_value_get_object (value));
      break;

    case PROP_TRANSFERS:
      filer_window_set_transfers (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_window_class_init (FilerWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = filer_window_dispose;
  object_class->finalize = filer_window_finalize;
  object_class->get_property = filer_window_get_property;
  object_class->set_property = filer_window_set_property;

  properties[PROP_PEERS] =
    g_param_spec_object ("peers", NULL, NULL,
                         G_TYPE_LIST_MODEL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_TRANSFERS] =
    g_param_spec_object ("transfers", NULL, NULL,
                         G_TYPE_LIST_MODEL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FilerWindow::send-files:
   * @peer: who to send to
   * @files: (element-type GFile): files and folders to send
   *
   * The user asked to send @files to @peer, by a drop, the file chooser
   * or a pending "--send" list.
   */
  signals[SEND_FILES] =
    g_signal_new ("send-files",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, FILER_TYPE_PEER, G_TYPE_PTR_ARRAY);

  /**
   * FilerWindow::clear-finished:
   *
   * The user asked to take the finished transfers off the list (the
   * window shows a model it does not own: its owner removes them).
   */
  signals[CLEAR_FINISHED] =
    g_signal_new ("clear-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-window.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, devices_stack);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, status_page);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, grid_view);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, transfers_stack);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, transfers_list);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, pending_revealer);
  gtk_widget_class_bind_template_child (widget_class, FilerWindow, pending_label);

  gtk_widget_class_install_action (widget_class, "win.show-devices", NULL, show_page_action_cb);
  gtk_widget_class_install_action (widget_class, "win.show-transfers", NULL, show_page_action_cb);
  gtk_widget_class_install_action (widget_class, "win.forget-pending", NULL, forget_pending_action_cb);
  gtk_widget_class_install_action (widget_class, "win.clear-finished", NULL, clear_finished_action_cb);
  /* Alt+1 and Alt+2 are the application's accels for these two. */
}

static void
filer_window_init (FilerWindow *self)
{
  GtkListItemFactory *factory;

  self->tiles = g_ptr_array_new_with_free_func (g_object_unref);

  gtk_widget_init_template (GTK_WIDGET (self));

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect_object (factory, "setup", G_CALLBACK (tile_setup_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (factory, "bind", G_CALLBACK (tile_bind_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (factory, "unbind", G_CALLBACK (tile_unbind_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (factory, "teardown", G_CALLBACK (tile_teardown_cb), self, G_CONNECT_SWAPPED);
  gtk_grid_view_set_factory (self->grid_view, factory);
  g_object_unref (factory);

  g_signal_connect_object (self->grid_view, "activate",
                           G_CALLBACK (grid_activate_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->pending_revealer, "notify::child-revealed",
                           G_CALLBACK (pending_revealed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->stack, "notify::visible-child",
                           G_CALLBACK (visible_page_changed_cb), self,
                           G_CONNECT_SWAPPED);

  update_devices_page (self);
  update_transfers_page (self);
  update_clear_finished (self);

#ifdef DEVELOPMENT_BUILD
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
}

FilerWindow *
filer_window_new (GtkApplication *application)
{
  return g_object_new (FILER_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

GListModel *
filer_window_get_peers (FilerWindow *self)
{
  g_return_val_if_fail (FILER_IS_WINDOW (self), NULL);

  return self->peers;
}

/**
 * filer_window_set_peers:
 * @peers: (nullable): a #GListModel of #FilerPeer
 */
void
filer_window_set_peers (FilerWindow *self,
                        GListModel  *peers)
{
  g_autoptr(GtkNoSelection) selection = NULL;

  g_return_if_fail (FILER_IS_WINDOW (self));
  g_return_if_fail (peers == NULL || G_IS_LIST_MODEL (peers));

  if (self->peers == peers)
    return;

  if (self->peers != NULL)
    g_signal_handlers_disconnect_by_func (self->peers, peers_changed_cb, self);

  g_set_object (&self->peers, peers);

  if (peers != NULL)
    {
      g_signal_connect_object (peers, "items-changed",
                               G_CALLBACK (peers_changed_cb), self,
                               G_CONNECT_SWAPPED);
      selection = gtk_no_selection_new (g_object_ref (peers));
    }

  if (self->grid_view != NULL)
    gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (selection));

  if (self->devices_stack != NULL)
    update_devices_page (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEERS]);
}

GListModel *
filer_window_get_transfers (FilerWindow *self)
{
  g_return_val_if_fail (FILER_IS_WINDOW (self), NULL);

  return self->transfers;
}

/**
 * filer_window_set_transfers:
 * @transfers: (nullable): a #GListModel of transfers; each becomes a
 *   #FilerTransferRow
 */
void
filer_window_set_transfers (FilerWindow *self,
                            GListModel  *transfers)
{
  g_return_if_fail (FILER_IS_WINDOW (self));
  g_return_if_fail (transfers == NULL || G_IS_LIST_MODEL (transfers));

  if (self->transfers == transfers)
    return;

  if (self->transfers != NULL)
    g_signal_handlers_disconnect_by_func (self->transfers, transfers_changed_cb, self);

  g_set_object (&self->transfers, transfers);

  if (self->transfers_list != NULL)
    gtk_list_box_bind_model (self->transfers_list, transfers,
                             transfers ? create_transfer_row_cb : NULL,
                             self, NULL);

  if (transfers != NULL)
    {
      g_signal_connect_object (transfers, "items-changed",
                               G_CALLBACK (transfers_changed_cb), self,
                               G_CONNECT_SWAPPED);
      watch_transfers (self, 0, g_list_model_get_n_items (transfers));
    }

  if (self->transfers_stack != NULL)
    update_transfers_page (self);
  update_clear_finished (self);
  /* Tiles already shown say what the new model's transfers are doing
   * (not on the way out: dispose drops the model after the tiles). */
  if (transfers != NULL && self->tiles != NULL)
    update_activities (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSFERS]);
}

/**
 * filer_window_set_pending_files:
 * @files: (nullable) (element-type GFile): files waiting for a peer
 *
 * Files given with "filer --send": the next activated tile gets them.
 */
void
filer_window_set_pending_files (FilerWindow *self,
                                GPtrArray   *files)
{
  g_return_if_fail (FILER_IS_WINDOW (self));

  g_clear_pointer (&self->pending_files, g_ptr_array_unref);

  if (files != NULL && files->len > 0)
    {
      g_autofree char *text = NULL;

      self->pending_files = g_ptr_array_ref (files);

      if (files->len == 1)
        {
          g_autofree char *name = g_file_get_basename (g_ptr_array_index (files, 0));

          /* Translators: %s is a file name */
          text = g_strdup_printf (_("Choose a device to send “%s” to"), name);
        }
      else
        text = g_strdup_printf (ngettext ("Choose a device to send %u file to",
                                          "Choose a device to send %u files to",
                                          files->len),
                                files->len);

      gtk_label_set_label (self->pending_label, text);
      filer_window_show_page (self, "devices");
    }

  /* Hidden, not just folded away: a screen reader must not find the
   * bar's Cancel button when there is nothing pending. */
  if (self->pending_files != NULL)
    gtk_widget_set_visible (GTK_WIDGET (self->pending_revealer), TRUE);
  gtk_revealer_set_reveal_child (self->pending_revealer, self->pending_files != NULL);
}

/**
 * filer_window_get_pending_files:
 *
 * Returns: (transfer none) (nullable) (element-type GFile): the files
 *   waiting for a peer
 */
GPtrArray *
filer_window_get_pending_files (FilerWindow *self)
{
  g_return_val_if_fail (FILER_IS_WINDOW (self), NULL);

  return self->pending_files;
}

/**
 * filer_window_set_download_folder:
 * @folder: (nullable): where received files are saved; rows made from
 *   now on open their files there
 */
void
filer_window_set_download_folder (FilerWindow *self,
                                  const char  *folder)
{
  g_return_if_fail (FILER_IS_WINDOW (self));

  g_free (self->download_folder);
  self->download_folder = g_strdup (folder);
}

/**
 * filer_window_set_status:
 * @status: (nullable): one line about the connection, shown under the title
 */
void
filer_window_set_status (FilerWindow *self,
                         const char  *status)
{
  g_return_if_fail (FILER_IS_WINDOW (self));

  adw_view_switcher_title_set_subtitle (self->switcher_title, status ? status : "");
}

void
filer_window_add_toast (FilerWindow *self,
                        const char  *message)
{
  g_return_if_fail (FILER_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

void
filer_window_show_page (FilerWindow *self,
                        const char  *name)
{
  g_return_if_fail (FILER_IS_WINDOW (self));

  adw_view_stack_set_visible_child_name (self->stack, name);
}

/**
 * filer_window_send_files:
 * @files: (element-type GFile): what to send
 *
 * Emits #FilerWindow::send-files and shows the transfers.
 */
void
filer_window_send_files (FilerWindow *self,
                         FilerPeer   *peer,
                         GPtrArray   *files)
{
  g_return_if_fail (FILER_IS_WINDOW (self));
  g_return_if_fail (FILER_IS_PEER (peer));
  g_return_if_fail (files != NULL);

  if (files->len == 0)
    return;

  g_signal_emit (self, signals[SEND_FILES], 0, peer, files);
}

/**
 * filer_window_choose_files:
 * @folders: pick folders instead of files
 *
 * Opens a native file chooser; what is picked goes to @peer.
 */
void
filer_window_choose_files (FilerWindow *self,
                           FilerPeer   *peer,
                           gboolean     folders)
{
  g_autofree char *title = NULL;

  g_return_if_fail (FILER_IS_WINDOW (self));
  g_return_if_fail (FILER_IS_PEER (peer));

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  /* Translators: file chooser title, %s is a device name */
  title = g_strdup_printf (folders ? _("Send Folders to %s") : _("Send Files to %s"),
                           filer_peer_get_name (peer));

  self->chooser = gtk_file_chooser_native_new (title,
                                               GTK_WINDOW (self),
                                               folders ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                       : GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Send"),
                                               _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_set_object (&self->chooser_peer, peer);
  g_signal_connect_object (self->chooser, "response",
                           G_CALLBACK (chooser_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/**
 * filer_window_set_trust_store:
 * @store: (nullable): who the user verified; tiles and rows say it
 */
void
filer_window_set_trust_store (FilerWindow     *self,
                              FilerTrustStore *store)
{
  g_return_if_fail (FILER_IS_WINDOW (self));
  g_return_if_fail (store == NULL || FILER_IS_TRUST_STORE (store));

  if (self->trust_store != NULL)
    g_signal_handlers_disconnect_by_func (self->trust_store, update_trust, self);
  g_set_object (&self->trust_store, store);
  if (store != NULL)
    g_signal_connect_object (store, "changed", G_CALLBACK (update_trust), self,
                             G_CONNECT_SWAPPED);
  update_trust (self);
}

/**
 * filer_window_set_device:
 * @device: (nullable): this device: its name and id are the "this
 *   device" half of a verification code
 */
void
filer_window_set_device (FilerWindow *self,
                         FilerDevice *device)
{
  g_return_if_fail (FILER_IS_WINDOW (self));

  g_set_object (&self->device, device);
}

/**
 * filer_window_verify_peer:
 *
 * Opens the dialog to compare codes with @peer; "Codes Match — Trust"
 * stores it as verified.
 *
 * Returns: (transfer none) (nullable): the dialog, or %NULL when the
 *   window has no device to verify from
 */
GtkWidget *
filer_window_verify_peer (FilerWindow *self,
                          FilerPeer   *peer)
{
  GtkWidget *dialog;

  g_return_val_if_fail (FILER_IS_WINDOW (self), NULL);
  g_return_val_if_fail (FILER_IS_PEER (peer), NULL);

  if (self->device == NULL)
    return NULL;

  dialog = filer_verify_dialog_new (GTK_WINDOW (self),
                                    filer_device_get_name (self->device),
                                    filer_device_get_id (self->device),
                                    filer_peer_get_name (peer),
                                    filer_peer_get_id (peer));
  g_signal_connect_object (dialog, "response", G_CALLBACK (verify_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));

  return dialog;
}
