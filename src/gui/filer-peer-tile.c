/* filer-peer-tile.c: one online peer in the device grid
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-peer-tile.h"

#include <adwaita.h>
#include <glib/gi18n.h>


/* A tile shows what its FilerPeer says and nothing else: every label is
 * refreshed from the peer's properties when they notify, so the tile
 * holds no copy of the truth. Files dropped on it are handed on through
 * the "files-dropped" signal; the window decides what sending means.
 */
struct _FilerPeerTile
{
  GtkWidget      parent_instance;

  /* Template widgets */
  GtkWidget     *box;
  AdwAvatar     *avatar;
  GtkLabel      *name_label;
  GtkImage      *kind_image;
  GtkLabel      *network_label;
  GtkLabel      *activity_label;
  GtkWidget     *trust_box;
  GtkImage      *trust_image;
  GtkLabel      *trust_label;

  GtkWidget     *menu;

  /* Owned */
  FilerPeer     *peer;
  char          *activity;
  FilerTrust     trust;
  char          *verified_name;
  GtkDropTarget *drop_target;
  gulong         notify_id;
};

G_DEFINE_FINAL_TYPE (FilerPeerTile, filer_peer_tile, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_PEER,
  PROP_ACTIVITY,
  N_PROPS
};

enum {
  FILES_DROPPED,
  CHOOSE_FILES,
  VERIFY,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

const char *
filer_peer_kind_icon_name (const char *kind)
{
  if (g_strcmp0 (kind, "phone") == 0)
    return "phone-symbolic";
  if (g_strcmp0 (kind, "tablet") == 0)
    return "tablet-symbolic";
  if (g_strcmp0 (kind, "server") == 0)
    return "network-server-symbolic";
  if (g_strcmp0 (kind, "cli") == 0 || g_strcmp0 (kind, "headless") == 0)
    return "utilities-terminal-symbolic";

  return "computer-symbolic";
}

static const char *
network_description (FilerPeerNetwork network)
{
  switch (network)
    {
    case FILER_PEER_NETWORK_REMOTE:
      return _("Other network");

    case FILER_PEER_NETWORK_LAN:
    default:
      return _("This network");
    }
}

static void
update_accessible_label (FilerPeerTile *self)
{
  g_autofree char *label = NULL;

  if (self->peer == NULL)
    return;

  if (self->activity != NULL && self->activity[0] != '\0')
    /* Translators: a device tile read by a screen reader:
     * "NAME, NETWORK, TRUST, ACTIVITY", e.g. "Anna’s Laptop, This network, Verified, Sending 42 %" */
    label = g_strdup_printf (_("%s, %s, %s, %s"),
                             filer_peer_get_name (self->peer),
                             network_description (filer_peer_get_network (self->peer)),
                             gtk_label_get_label (self->trust_label),
                             self->activity);
  else
    /* Translators: a device tile read by a screen reader:
     * "NAME, NETWORK, TRUST", e.g. "Anna’s Laptop, This network, Not verified" */
    label = g_strdup_printf (_("%s, %s, %s"),
                             filer_peer_get_name (self->peer),
                             network_description (filer_peer_get_network (self->peer)),
                             gtk_label_get_label (self->trust_label));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("Drop files here, or press Enter to choose files to send"),
                                  -1);
}

/* A key under the name of a verified device is said loudly, in the
 * tile's own words, not only by an icon. */
static void
update_trust (FilerPeerTile *self)
{
  g_autofree char *text = NULL;

  if (self->trust == FILER_TRUST_KEY_CHANGED)
    /* Translators: on a device tile; %s is the name of a device the user verified */
    text = g_strdup_printf (_("Key changed — this is not the %s you verified"),
                            self->verified_name ? self->verified_name : "");
  else
    text = g_strdup (filer_trust_description (self->trust));

  gtk_image_set_from_icon_name (self->trust_image, filer_trust_icon_name (self->trust));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->trust_image),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  filer_trust_description (self->trust),
                                  -1);
  gtk_label_set_label (self->trust_label, text);

  gtk_widget_remove_css_class (self->trust_box, "error");
  gtk_widget_remove_css_class (self->trust_box, "success");
  gtk_widget_remove_css_class (self->trust_box, "dim-label");
  gtk_widget_add_css_class (self->trust_box,
                            self->trust == FILER_TRUST_KEY_CHANGED ? "error" :
                            self->trust == FILER_TRUST_VERIFIED ? "success" : "dim-label");
}

static void
update_from_peer (FilerPeerTile *self)
{
  const char *name;

  if (self->peer == NULL)
    return;

  name = filer_peer_get_name (self->peer);
  if (name == NULL || name[0] == '\0')
    name = _("Unnamed device");

  gtk_label_set_label (self->name_label, name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->name_label), name);
  adw_avatar_set_text (self->avatar, name);
  gtk_image_set_from_icon_name (self->kind_image,
                                filer_peer_kind_icon_name (filer_peer_get_kind (self->peer)));
  gtk_label_set_label (self->network_label,
                       network_description (filer_peer_get_network (self->peer)));

  update_trust (self);
  update_accessible_label (self);
}

static void
peer_notify_cb (FilerPeerTile *self,
                GParamSpec    *pspec,
                FilerPeer     *peer)
{
  update_from_peer (self);
}

static gboolean
drop_cb (FilerPeerTile *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  GSList *files;
  g_autoptr(GPtrArray) array = NULL;

  if (self->peer == NULL || !G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;

  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;

  array = g_ptr_array_new_with_free_func (g_object_unref);
  for (const GSList *l = files; l != NULL; l = l->next)
    g_ptr_array_add (array, g_object_ref (l->data));
  g_slist_free (files);

  g_signal_emit (self, signals[FILES_DROPPED], 0, self->peer, array);

  return TRUE;
}

static void
send_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  g_signal_emit (widget, signals[CHOOSE_FILES], 0,
                 g_str_equal (action_name, "tile.send-folder"));
}

static void
verify_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  FilerPeerTile *self = FILER_PEER_TILE (widget);

  if (self->peer != NULL)
    g_signal_emit (self, signals[VERIFY], 0, self->peer);
}

static void
show_context_menu (FilerPeerTile *self,
                   double         x,
                   double         y)
{
  GdkRectangle rect = { (int)x, (int)y, 1, 1 };

  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu), &rect);
  gtk_popover_popup (GTK_POPOVER (self->menu));
}

static void
context_menu_action_cb (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  show_context_menu (FILER_PEER_TILE (widget),
                     gtk_widget_get_width (widget) / 2.0,
                     gtk_widget_get_height (widget) / 2.0);
}

static void
secondary_click_cb (FilerPeerTile   *self,
                    int              n_press,
                    double           x,
                    double           y,
                    GtkGestureClick *gesture)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  show_context_menu (self, x, y);
}

/* Not a GtkBinLayout: the context menu is a popover, and a popover
 * child must be presented in size_allocate. */
static void
filer_peer_tile_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  FilerPeerTile *self = FILER_PEER_TILE (widget);

  gtk_widget_measure (self->box, orientation, for_size,
                      minimum, natural, minimum_baseline, natural_baseline);
}

static void
filer_peer_tile_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  FilerPeerTile *self = FILER_PEER_TILE (widget);

  gtk_widget_allocate (self->box, width, height, baseline, NULL);
  gtk_popover_present (GTK_POPOVER (self->menu));
}

static void
filer_peer_tile_dispose (GObject *object)
{
  FilerPeerTile *self = (FilerPeerTile *)object;

  filer_peer_tile_set_peer (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), FILER_TYPE_PEER_TILE);

  G_OBJECT_CLASS (filer_peer_tile_parent_class)->dispose (object);
}

static void
filer_peer_tile_finalize (GObject *object)
{
  FilerPeerTile *self = (FilerPeerTile *)object;

  g_clear_pointer (&self->activity, g_free);
  g_clear_pointer (&self->verified_name, g_free);

  G_OBJECT_CLASS (filer_peer_tile_parent_class)->finalize (object);
}

static void
filer_peer_tile_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FilerPeerTile *self = FILER_PEER_TILE (object);

  switch (prop_id)
    {
    case PROP_PEER:
      g_value_set_object (value, self->peer);
      break;

    case PROP_ACTIVITY:
      g_value_set_string (value, self->activity);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_peer_tile_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FilerPeerTile *self = FILER_PEER_TILE (object);

  switch (prop_id)
    {
    case PROP_PEER:
      filer_peer_tile_set_peer (self, g_value_get_object (value));
      break;

    case PROP_ACTIVITY:
      filer_peer_tile_set_activity (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
filer_peer_tile_class_init (FilerPeerTileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = filer_peer_tile_dispose;
  object_class->finalize = filer_peer_tile_finalize;
  object_class->get_property = filer_peer_tile_get_property;
  object_class->set_property = filer_peer_tile_set_property;

  properties[PROP_PEER] =
    g_param_spec_object ("peer", NULL, NULL,
                         FILER_TYPE_PEER,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_ACTIVITY] =
    g_param_spec_string ("activity", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FilerPeerTile::files-dropped:
   * @peer: the tile's #FilerPeer
   * @files: (element-type GFile): what was dropped
   */
  signals[FILES_DROPPED] =
    g_signal_new ("files-dropped",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, FILER_TYPE_PEER, G_TYPE_PTR_ARRAY);

  /**
   * FilerPeerTile::choose-files:
   * @folders: %TRUE to pick folders, %FALSE to pick files
   *
   * The user asked to pick something to send to this peer (from the
   * tile's context menu).
   */
  signals[CHOOSE_FILES] =
    g_signal_new ("choose-files",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  /**
   * FilerPeerTile::verify:
   * @peer: the tile's #FilerPeer
   *
   * The user asked to compare codes with this peer ("Verify…").
   */
  signals[VERIFY] =
    g_signal_new ("verify",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FILER_TYPE_PEER);

  gtk_widget_class_install_action (widget_class, "tile.verify", NULL, verify_action_cb);
  gtk_widget_class_install_action (widget_class, "tile.send-files", NULL, send_action_cb);
  gtk_widget_class_install_action (widget_class, "tile.send-folder", NULL, send_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK,
                                       "tile.context-menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0,
                                       "tile.context-menu", NULL);
  gtk_widget_class_install_action (widget_class, "tile.context-menu", NULL, context_menu_action_cb);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/filerapp/Filer/filer-peer-tile.ui");
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, box);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, avatar);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, name_label);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, kind_image);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, network_label);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, activity_label);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, trust_box);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, trust_image);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, trust_label);
  gtk_widget_class_bind_template_child (widget_class, FilerPeerTile, menu);

  widget_class->measure = filer_peer_tile_measure;
  widget_class->size_allocate = filer_peer_tile_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "filer-peer-tile");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
filer_peer_tile_init (FilerPeerTile *self)
{
  GtkGesture *click;

  gtk_widget_init_template (GTK_WIDGET (self));
  update_trust (self);

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  g_signal_connect_object (click, "pressed",
                           G_CALLBACK (secondary_click_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  self->drop_target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_object (self->drop_target, "drop",
                           G_CALLBACK (drop_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self),
                             GTK_EVENT_CONTROLLER (self->drop_target));
}

GtkWidget *
filer_peer_tile_new (void)
{
  return g_object_new (FILER_TYPE_PEER_TILE, NULL);
}

FilerPeer *
filer_peer_tile_get_peer (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), NULL);

  return self->peer;
}

void
filer_peer_tile_set_peer (FilerPeerTile *self,
                          FilerPeer     *peer)
{
  g_return_if_fail (FILER_IS_PEER_TILE (self));
  g_return_if_fail (peer == NULL || FILER_IS_PEER (peer));

  if (self->peer == peer)
    return;

  if (self->peer != NULL)
    {
      g_clear_signal_handler (&self->notify_id, self->peer);
      g_clear_object (&self->peer);
    }

  if (peer != NULL)
    {
      self->peer = g_object_ref (peer);
      self->notify_id = g_signal_connect_object (peer, "notify",
                                                 G_CALLBACK (peer_notify_cb), self,
                                                 G_CONNECT_SWAPPED);
      update_from_peer (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER]);
}

const char *
filer_peer_tile_get_activity (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), NULL);

  return self->activity;
}

/**
 * filer_peer_tile_set_activity:
 * @activity: (nullable): what is going on with this peer now, e.g.
 *   "Sending 42 %", or %NULL for nothing
 */
void
filer_peer_tile_set_activity (FilerPeerTile *self,
                              const char    *activity)
{
  g_return_if_fail (FILER_IS_PEER_TILE (self));

  if (g_strcmp0 (self->activity, activity) == 0)
    return;

  g_free (self->activity);
  self->activity = g_strdup (activity);

  gtk_label_set_label (self->activity_label, activity ? activity : "");
  gtk_widget_set_visible (GTK_WIDGET (self->activity_label),
                          activity != NULL && activity[0] != '\0');
  update_accessible_label (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVITY]);
}

/**
 * filer_peer_tile_get_drop_target:
 *
 * Returns: (transfer none): the tile's drop target, so that tests can
 *   drive a drop without a real drag and drop
 */
GtkDropTarget *
filer_peer_tile_get_drop_target (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), NULL);

  return self->drop_target;
}

/**
 * filer_peer_tile_set_trust:
 * @verified_name: (nullable): for %FILER_TRUST_KEY_CHANGED, the name the
 *   other key was verified under
 */
void
filer_peer_tile_set_trust (FilerPeerTile *self,
                           FilerTrust     trust,
                           const char    *verified_name)
{
  g_return_if_fail (FILER_IS_PEER_TILE (self));

  self->trust = trust;
  g_free (self->verified_name);
  self->verified_name = g_strdup (verified_name);
  update_trust (self);
  update_accessible_label (self);
}

FilerTrust
filer_peer_tile_get_trust (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), FILER_TRUST_UNVERIFIED);

  return self->trust;
}

/**
 * filer_peer_tile_get_trust_text:
 *
 * Returns: what the tile says about the peer's key, e.g. "Verified"
 */
const char *
filer_peer_tile_get_trust_text (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), NULL);

  return gtk_label_get_label (self->trust_label);
}

/**
 * filer_peer_tile_get_trust_image:
 *
 * Returns: (transfer none): the verified / not verified icon, for tests
 *   that read its accessible label
 */
GtkWidget *
filer_peer_tile_get_trust_image (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), NULL);

  return GTK_WIDGET (self->trust_image);
}

/**
 * filer_peer_tile_get_menu:
 *
 * Returns: (transfer none): the context menu popover
 */
GtkWidget *
filer_peer_tile_get_menu (FilerPeerTile *self)
{
  g_return_val_if_fail (FILER_IS_PEER_TILE (self), NULL);

  return self->menu;
}
