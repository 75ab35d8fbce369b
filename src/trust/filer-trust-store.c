/* filer-trust-store.c: the devices the user verified, and what a peer is
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-trust-store.h"

#include <glib/gi18n.h>
#include <string.h>

#include "libfiler.h"

/* The truth is the "verified-devices" key (a{ss}: key-derived id → the
 * name last seen with it); this object only reads and writes it, and
 * says "changed" when the key does, so every view asks again. A device
 * is verified only by comparing codes (FilerVerifyDialog, or the offer
 * dialog's "codes match" box): a name proves nothing, an id proves the
 * key, and only the user can tell that the key is the right person's.
 */
struct _FilerTrustStore
{
  GObject    parent_instance;

  /* Owned */
  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (FilerTrustStore, filer_trust_store, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
settings_changed_cb (FilerTrustStore *self,
                     const char      *key,
                     GSettings       *settings)
{
  if (g_strcmp0 (key, "verified-devices") == 0)
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
filer_trust_store_dispose (GObject *object)
{
  FilerTrustStore *self = (FilerTrustStore *)object;

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (filer_trust_store_parent_class)->dispose (object);
}

static void
filer_trust_store_class_init (FilerTrustStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = filer_trust_store_dispose;

  /**
   * FilerTrustStore::changed:
   *
   * A device was verified, renamed or forgotten.
   */
  signals[CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
filer_trust_store_init (FilerTrustStore *self)
{
}

FilerTrustStore *
filer_trust_store_new (GSettings *settings)
{
  FilerTrustStore *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (FILER_TYPE_TRUST_STORE, NULL);
  self->settings = g_object_ref (settings);
  g_signal_connect_object (settings, "changed", G_CALLBACK (settings_changed_cb), self,
                           G_CONNECT_SWAPPED);

  return self;
}

/**
 * filer_trust_store_new_default:
 *
 * The store of the app's own settings (APP_ID's schema, in whatever
 * GSettings backend the user has: dconf on a desktop), for a program
 * that is not the app (filer-cli): both read and write one store.
 *
 * Returns: (transfer full) (nullable): the store, or %NULL with @error
 *   set when the schema is not installed
 */
FilerTrustStore *
filer_trust_store_new_default (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettings) settings = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL || !g_settings_schema_has_key (schema, "verified-devices"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("the settings schema %s is not installed, so the verified devices cannot be read"),
                   APP_ID);
      return NULL;
    }

  settings = g_settings_new_full (schema, NULL, NULL);
  return filer_trust_store_new (settings);
}

/**
 * filer_trust_store_migrate:
 *
 * Filer 1 kept random device ids in "trusted-devices". Such an id is not
 * made from a key: nothing can prove it, so it cannot be verified and is
 * dropped (once: after that the list holds only key ids). Key ids that
 * were trusted by "Always accept" before codes existed stay listed, but
 * are not verified: nothing is accepted from them without asking until
 * the user compares codes.
 *
 * Returns: how many entries were dropped
 */
guint
filer_trust_store_migrate (FilerTrustStore *self)
{
  g_auto(GStrv) trusted = NULL;
  g_autoptr(GStrvBuilder) kept = NULL;
  g_auto(GStrv) updated = NULL;
  guint dropped = 0;

  g_return_val_if_fail (FILER_IS_TRUST_STORE (self), 0);

  trusted = g_settings_get_strv (self->settings, "trusted-devices");
  kept = g_strv_builder_new ();
  for (guint i = 0; trusted[i] != NULL; i++)
    {
      if (filer_identity_id_is_valid (trusted[i]))
        g_strv_builder_add (kept, trusted[i]);
      else
        dropped++;
    }

  if (dropped == 0)
    return 0;

  g_message ("Dropped %u trusted device(s) with an old random id: such an id is not "
             "made from a key and cannot be verified; verify those devices again",
             dropped);
  updated = g_strv_builder_end (kept);
  g_settings_set_strv (self->settings, "trusted-devices", (const char * const *)updated);

  return dropped;
}

/* Names compare as a person reads them: case and Unicode composition
 * do not make "alice" another device than "Alice". */
static char *
name_key (const char *name)
{
  g_autofree char *stripped = NULL;
  g_autofree char *normalized = NULL;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return NULL;

  stripped = g_strstrip (g_strdup (name));
  if (stripped[0] == '\0')
    return NULL;

  normalized = g_utf8_normalize (stripped, -1, G_NORMALIZE_ALL);
  return normalized ? g_utf8_casefold (normalized, -1) : NULL;
}

/**
 * filer_trust_store_lookup:
 * @id: (nullable): the peer's id
 * @name: (nullable): the name it shows
 * @verified_name: (out) (optional) (transfer full): for
 *   %FILER_TRUST_KEY_CHANGED, the name under which the other key was
 *   verified; for %FILER_TRUST_VERIFIED, the name stored with the id
 */
FilerTrust
filer_trust_store_lookup (FilerTrustStore  *self,
                          const char       *id,
                          const char       *name,
                          char            **verified_name)
{
  g_autoptr(GVariant) verified = NULL;
  g_autofree char *wanted = NULL;
  GVariantIter iter;
  const char *stored_id;
  const char *stored_name;

  g_return_val_if_fail (FILER_IS_TRUST_STORE (self), FILER_TRUST_UNVERIFIED);

  if (verified_name != NULL)
    *verified_name = NULL;

  verified = g_settings_get_value (self->settings, "verified-devices");
  if (id != NULL && filer_identity_id_is_valid (id) &&
      g_variant_lookup (verified, id, "&s", &stored_name))
    {
      if (verified_name != NULL)
        *verified_name = g_strdup (stored_name);
      return FILER_TRUST_VERIFIED;
    }

  wanted = name_key (name);
  if (wanted == NULL)
    return FILER_TRUST_UNVERIFIED;

  g_variant_iter_init (&iter, verified);
  while (g_variant_iter_next (&iter, "{&s&s}", &stored_id, &stored_name))
    {
      g_autofree char *key = name_key (stored_name);

      if (g_strcmp0 (key, wanted) == 0)
        {
          if (verified_name != NULL)
            *verified_name = g_strdup (stored_name);
          return FILER_TRUST_KEY_CHANGED;
        }
    }

  return FILER_TRUST_UNVERIFIED;
}

gboolean
filer_trust_store_is_verified (FilerTrustStore *self,
                               const char      *id)
{
  g_return_val_if_fail (FILER_IS_TRUST_STORE (self), FALSE);

  return filer_trust_store_lookup (self, id, NULL, NULL) == FILER_TRUST_VERIFIED;
}

static void
store_entry (FilerTrustStore *self,
             const char      *id,
             const char      *name,
             gboolean         add)
{
  g_autoptr(GVariant) verified = g_settings_get_value (self->settings, "verified-devices");
  GVariantBuilder builder;
  GVariantIter iter;
  const char *stored_id;
  const char *stored_name;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  g_variant_iter_init (&iter, verified);
  while (g_variant_iter_next (&iter, "{&s&s}", &stored_id, &stored_name))
    if (!g_str_equal (stored_id, id))
      g_variant_builder_add (&builder, "{ss}", stored_id, stored_name);
  if (add)
    g_variant_builder_add (&builder, "{ss}", id, name ? name : "");

  g_settings_set_value (self->settings, "verified-devices", g_variant_builder_end (&builder));
}

/**
 * filer_trust_store_trust:
 * @id: a key-derived id the user compared codes with
 * @name: (nullable): the name it showed
 *
 * Returns: FALSE (and stores nothing) if @id is not a key id
 */
gboolean
filer_trust_store_trust (FilerTrustStore *self,
                         const char      *id,
                         const char      *name)
{
  g_return_val_if_fail (FILER_IS_TRUST_STORE (self), FALSE);

  if (id == NULL || !filer_identity_id_is_valid (id))
    return FALSE;

  store_entry (self, id, name, TRUE);

  /* trusted-devices keeps the key ids the user trusted too (what older
   * readers of the key look at); it alone never makes a device trusted. */
  {
    g_auto(GStrv) trusted = g_settings_get_strv (self->settings, "trusted-devices");

    if (!g_strv_contains ((const char * const *)trusted, id))
      {
        g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
        g_auto(GStrv) updated = NULL;

        g_strv_builder_addv (builder, (const char **)trusted);
        g_strv_builder_add (builder, id);
        updated = g_strv_builder_end (builder);
        g_settings_set_strv (self->settings, "trusted-devices", (const char * const *)updated);
      }
  }
  return TRUE;
}

/**
 * filer_trust_store_note_name:
 *
 * A verified device was seen with @name: keep the name it goes by now,
 * so that the next key under that name is the one flagged. Unverified
 * ids are not stored.
 */
void
filer_trust_store_note_name (FilerTrustStore *self,
                             const char      *id,
                             const char      *name)
{
  g_autofree char *stored = NULL;

  g_return_if_fail (FILER_IS_TRUST_STORE (self));

  if (name == NULL || name[0] == '\0' ||
      filer_trust_store_lookup (self, id, NULL, &stored) != FILER_TRUST_VERIFIED ||
      g_strcmp0 (stored, name) == 0)
    return;

  store_entry (self, id, name, TRUE);
}

void
filer_trust_store_forget (FilerTrustStore *self,
                          const char      *id)
{
  g_auto(GStrv) trusted = NULL;
  g_autoptr(GStrvBuilder) kept = NULL;
  g_auto(GStrv) updated = NULL;

  g_return_if_fail (FILER_IS_TRUST_STORE (self));
  g_return_if_fail (id != NULL);

  store_entry (self, id, NULL, FALSE);

  /* And from the list of before verification, where it may be too. */
  trusted = g_settings_get_strv (self->settings, "trusted-devices");
  if (!g_strv_contains ((const char * const *)trusted, id))
    return;
  kept = g_strv_builder_new ();
  for (guint i = 0; trusted[i] != NULL; i++)
    if (!g_str_equal (trusted[i], id))
      g_strv_builder_add (kept, trusted[i]);
  updated = g_strv_builder_end (kept);
  g_settings_set_strv (self->settings, "trusted-devices", (const char * const *)updated);
}

/**
 * filer_trust_short_id:
 *
 * The first two groups of a key id ("ABCDEFG-HIJKLMN…"): enough to tell
 * two devices of one name apart in a list, not a thing to verify by.
 */
char *
filer_trust_short_id (const char *id)
{
  if (id == NULL)
    return g_strdup ("");
  if (strlen (id) <= 15)
    return g_strdup (id);

  return g_strdup_printf ("%.15s…", id);
}

const char *
filer_trust_icon_name (FilerTrust trust)
{
  switch (trust)
    {
    case FILER_TRUST_VERIFIED:
      return "security-high-symbolic";

    case FILER_TRUST_KEY_CHANGED:
      return "dialog-warning-symbolic";

    case FILER_TRUST_UNVERIFIED:
    default:
      return "security-low-symbolic";
    }
}

/* What the icon says, for a screen reader and as text where there is
 * room; the key-changed warning names the device (the caller says it). */
const char *
filer_trust_description (FilerTrust trust)
{
  switch (trust)
    {
    case FILER_TRUST_VERIFIED:
      return _("Verified");

    case FILER_TRUST_KEY_CHANGED:
      return _("Key changed");

    case FILER_TRUST_UNVERIFIED:
    default:
      return _("Not verified");
    }
}

/* For scripts (filer-cli --json): "verified", "unverified", "key-changed". */
const char *
filer_trust_nick (FilerTrust trust)
{
  switch (trust)
    {
    case FILER_TRUST_VERIFIED:
      return "verified";

    case FILER_TRUST_KEY_CHANGED:
      return "key-changed";

    case FILER_TRUST_UNVERIFIED:
    default:
      return "unverified";
    }
}
