/* filer-cli-verify.c: the "verify" subcommand
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "filer-cli.h"
#include "filer-cli-json.h"
#include "filer-cli-options.h"
#include "filer-trust-store.h"
#include "libfiler.h"

/* filer-cli verify NAME_OR_ID [--trust | --forget]
 *
 * Prints this device's id (the key in the user's config, the one
 * "filer-cli receive" and the app use), the peer's id and the code both
 * screens show for the pair (filer_identity_verification_code_for_ids():
 * the same on both ends, another one under a man in the middle). A peer
 * is named by its id (no network needed) or by the name it shows online
 * (looked up through discovery). --trust stores it as verified in the
 * app's own store (the "verified-devices" key), --forget takes it out.
 *
 *   text:  This device:        ID
 *          NAME:               ID
 *          Verification code:  123 456
 *          Status:             Not verified | Verified | Key changed …
 *   json:  {"event":"verify","device_id":…,"peer":…,"peer_id":…,
 *           "code":"123 456","trust":"unverified"|"verified"|"key-changed",
 *           "trusted":true (after --trust) / "forgotten":true}
 */

/* The peer online called or with id @wanted; NULL with @error when none
 * or more than one is. */
static FilerPeer *
find_peer (FilerDiscoveryClient  *client,
           const char            *wanted,
           GError               **error)
{
  GListModel *peers = filer_discovery_client_get_peers (client);
  const char *own = filer_device_get_id (filer_discovery_client_get_device (client));
  g_autofree char *wanted_key = g_utf8_casefold (wanted, -1);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (peers, i);
      g_autofree char *name_key = NULL;

      if (g_strcmp0 (filer_peer_get_id (peer), own) == 0)
        continue;
      if (g_strcmp0 (filer_peer_get_id (peer), wanted) == 0)
        {
          g_ptr_array_set_size (found, 0);
          g_ptr_array_add (found, g_steal_pointer (&peer));
          break;
        }
      name_key = g_utf8_casefold (filer_peer_get_name (peer) ? filer_peer_get_name (peer) : "", -1);
      if (g_str_equal (name_key, wanted_key))
        g_ptr_array_add (found, g_steal_pointer (&peer));
    }

  if (found->len == 1)
    return g_object_ref (g_ptr_array_index (found, 0));

  if (found->len == 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("no peer called “%s” is online (see “filer-cli peers”)"), wanted);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                 _("%u peers are called “%s”: give the id of the one to verify (see “filer-cli peers”)"),
                 found->len, wanted);
  return NULL;
}

int
filer_cli_verify (int    argc,
                  char **argv)
{
  g_auto(FilerCliOptions) options = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FilerDevice) device = NULL;
  g_autoptr(FilerTrustStore) store = NULL;
  g_autoptr(FilerPeer) peer = NULL;
  g_autofree char *code = NULL;
  g_autofree char *peer_id = NULL;
  g_autofree char *peer_name = NULL;
  g_autofree char *verified_name = NULL;
  g_autofree char *status = NULL;
  const char *wanted;
  gboolean trust = FALSE;
  gboolean forget = FALSE;
  FilerTrust state;
  const GOptionEntry entries[] = {
    { "trust", 't', 0, G_OPTION_ARG_NONE, &trust,
      N_("The codes match: store the peer as verified (its offers may then be accepted without asking)"), NULL },
    { "forget", 0, 0, G_OPTION_ARG_NONE, &forget,
      N_("No longer trust the peer"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("NAME_OR_ID — show the code to compare with a peer"));
  filer_cli_options_add_entries (&options, context);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!filer_cli_options_parse (&options, context, &argc, &argv))
    return 2;

  if (argc != 2)
    {
      filer_cli_fail ("%s", _("verify needs one peer: its name or its id"));
      return 2;
    }
  if (trust && forget)
    {
      filer_cli_fail ("%s", _("--trust and --forget cannot go together"));
      return 2;
    }
  wanted = argv[1];

  /* The store first: without it, --trust would do nothing. */
  store = filer_trust_store_new_default (&error);
  if (store == NULL)
    return filer_cli_fail ("%s", error->message);

  device = filer_device_load_default (&error);
  if (device == NULL)
    return filer_cli_fail ("%s", error->message);

  /* An id needs no network; with --server, or for a name, the peer's
   * name comes from discovery (a verified id is stored with its name,
   * which is what a changed key is noticed by). */
  if (!filer_identity_id_is_valid (wanted) || options.server != NULL)
    {
      g_autoptr(FilerDiscoveryClient) client = filer_cli_options_create_client (&options, FALSE, &error);

      if (client == NULL || !filer_cli_connect (client, &error))
        {
          if (!filer_identity_id_is_valid (wanted))
            return filer_cli_fail ("%s", error->message);
          g_clear_error (&error);
        }
      else
        {
          peer = find_peer (client, wanted, &error);
          filer_discovery_client_stop (client);
          if (peer == NULL && !filer_identity_id_is_valid (wanted))
            return filer_cli_fail ("%s", error->message);
          g_clear_error (&error);
        }
    }

  if (peer != NULL)
    {
      peer_id = g_strdup (filer_peer_get_id (peer));
      peer_name = g_strdup (filer_peer_get_name (peer));
    }
  else
    {
      peer_id = g_strdup (wanted);
      filer_trust_store_lookup (store, peer_id, NULL, &peer_name);
    }

  if (g_strcmp0 (peer_id, filer_device_get_id (device)) == 0)
    return filer_cli_fail ("%s", _("that is this device"));

  code = filer_identity_verification_code_for_ids (filer_device_get_id (device), peer_id);
  if (code == NULL)
    return filer_cli_fail (_("%s has an id that is not made from a key (an old Filer): it cannot be verified"),
                           peer_name ? peer_name : peer_id);

  if (trust)
    filer_trust_store_trust (store, peer_id, peer_name);
  else if (forget)
    filer_trust_store_forget (store, peer_id);
  /* A settings write is applied in the main context. */
  g_settings_sync ();

  state = filer_trust_store_lookup (store, peer_id, peer_name, &verified_name);

  if (options.json)
    {
      g_autoptr(JsonBuilder) builder = filer_cli_json_begin ("verify");

      filer_cli_json_string (builder, "device_id", filer_device_get_id (device));
      filer_cli_json_string (builder, "peer", peer_name);
      filer_cli_json_string (builder, "peer_id", peer_id);
      filer_cli_json_string (builder, "code", code);
      filer_cli_json_string (builder, "trust", filer_trust_nick (state));
      if (trust)
        {
          json_builder_set_member_name (builder, "trusted");
          json_builder_add_boolean_value (builder, TRUE);
        }
      if (forget)
        {
          json_builder_set_member_name (builder, "forgotten");
          json_builder_add_boolean_value (builder, TRUE);
        }
      filer_cli_json_emit (builder);
      return 0;
    }

  if (state == FILER_TRUST_KEY_CHANGED)
    /* Translators: %s is the name of a device the user verified */
    status = g_strdup_printf (_("Key changed — this is not the %s you verified"), verified_name);
  else
    status = g_strdup (filer_trust_description (state));

  printf ("%-20s %s\n", _("This device:"), filer_device_get_id (device));
  printf ("%-20s %s\n", peer_name != NULL && peer_name[0] != '\0' ? peer_name : _("Peer:"), peer_id);
  printf ("%-20s %s\n", _("Verification code:"), code);
  printf ("%-20s %s\n", _("Status:"), status);
  if (trust)
    printf ("%s\n", _("Trusted: offers from this key are accepted without asking where auto-accept is on."));
  else if (forget)
    printf ("%s\n", _("Forgotten: this peer is no longer trusted."));
  else if (state != FILER_TRUST_VERIFIED)
    printf ("%s\n", _("Compare the code with the other device’s screen; if it is the same, run this again with --trust."));
  fflush (stdout);

  return 0;
}
