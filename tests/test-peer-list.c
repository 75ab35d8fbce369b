/* test-peer-list.c: FilerPeerList, the model the peer grid binds to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "libfiler.h"
#include "filer-test-util.h"

typedef struct
{
  guint position;
  guint removed;
  guint added;
} Change;

typedef struct
{
  FilerPeerList *list;
  GArray        *changes;   /* Change */
  GPtrArray     *added;     /* FilerPeer, from ::peer-added */
  GPtrArray     *removed;   /* FilerPeer, from ::peer-removed */
} Fixture;

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Fixture    *fixture)
{
  Change change = { position, removed, added };

  /* The model is already changed when it says so. */
  g_assert_cmpuint (g_list_model_get_n_items (model), >=, position + added);
  g_array_append_val (fixture->changes, change);
}

static void
peer_added_cb (FilerPeerList *list,
               FilerPeer     *peer,
               Fixture       *fixture)
{
  g_ptr_array_add (fixture->added, g_object_ref (peer));
}

static void
peer_removed_cb (FilerPeerList *list,
                 FilerPeer     *peer,
                 Fixture       *fixture)
{
  /* Gone from the list by the time it is announced. */
  g_assert_null (filer_peer_list_lookup (list, filer_peer_get_id (peer)));
  g_ptr_array_add (fixture->removed, g_object_ref (peer));
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->list = filer_peer_list_new ();
  fixture->changes = g_array_new (FALSE, FALSE, sizeof (Change));
  fixture->added = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->removed = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (fixture->list, "items-changed", G_CALLBACK (items_changed_cb), fixture);
  g_signal_connect (fixture->list, "peer-added", G_CALLBACK (peer_added_cb), fixture);
  g_signal_connect (fixture->list, "peer-removed", G_CALLBACK (peer_removed_cb), fixture);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_signal_handlers_disconnect_by_data (fixture->list, fixture);
  g_assert_finalize_object (g_steal_pointer (&fixture->list));
  g_array_unref (fixture->changes);
  g_ptr_array_unref (fixture->added);
  g_ptr_array_unref (fixture->removed);
}

static FilerPeer *
describe (const char *id,
          const char *name,
          guint       port)
{
  FilerPeer *peer = filer_peer_new (id);

  filer_peer_set_name (peer, name);
  filer_peer_set_port (peer, port);
  return peer;
}

static void
update (FilerPeerList *list,
        const char    *id,
        const char    *name,
        guint          port)
{
  g_autoptr(FilerPeer) peer = describe (id, name, port);

  filer_peer_list_update (list, peer);
}

static void
assert_change (Fixture *fixture,
               guint    index,
               guint    position,
               guint    removed,
               guint    added)
{
  Change *change;

  g_assert_cmpuint (index, <, fixture->changes->len);
  change = &g_array_index (fixture->changes, Change, index);
  g_assert_cmpuint (change->position, ==, position);
  g_assert_cmpuint (change->removed, ==, removed);
  g_assert_cmpuint (change->added, ==, added);
}

static void
assert_ids (FilerPeerList *list,
            const char    *expected)
{
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (list)); i++)
    {
      g_autoptr(FilerPeer) peer = g_list_model_get_item (G_LIST_MODEL (list), i);

      g_string_append_printf (ids, "%s%s", i ? "," : "", filer_peer_get_id (peer));
    }
  g_assert_cmpstr (ids->str, ==, expected);
}

static FilerPeer *
item (FilerPeerList *list,
      guint          position)
{
  g_autoptr(FilerPeer) peer = g_list_model_get_item (G_LIST_MODEL (list), position);

  return peer;   /* the list keeps it alive */
}

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          guint      *count)
{
  (*count)++;
}

/* Add, change, remove: the positions a view is told, and nothing for a
 * change (the peer notifies instead). */
static void
test_deltas (Fixture       *fixture,
             gconstpointer  data)
{
  FilerPeerList *list = fixture->list;
  g_autoptr(FilerPeer) first = describe ("id-a", "Alpha", 1);
  FilerPeer *b;
  guint name_notifies = 0;
  guint port_notifies = 0;

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == FILER_TYPE_PEER);

  /* A new peer: the very description becomes the item. */
  filer_peer_list_update (list, first);
  g_assert_true (item (list, 0) == first);
  update (list, "id-b", "Beta", 2);
  update (list, "id-c", "Gamma", 3);
  assert_ids (list, "id-a,id-b,id-c");
  g_assert_cmpuint (fixture->changes->len, ==, 3);
  assert_change (fixture, 0, 0, 0, 1);
  assert_change (fixture, 1, 1, 0, 1);
  assert_change (fixture, 2, 2, 0, 1);
  g_assert_cmpuint (fixture->added->len, ==, 3);
  g_assert_true (g_ptr_array_index (fixture->added, 0) == first);

  /* A change is applied to the listed object, property by property. */
  b = filer_peer_list_lookup (list, "id-b");
  g_assert_nonnull (b);
  g_signal_connect (b, "notify::name", G_CALLBACK (count_cb), &name_notifies);
  g_signal_connect (b, "notify::port", G_CALLBACK (count_cb), &port_notifies);
  update (list, "id-b", "Beta Renamed", 2);
  g_assert_true (filer_peer_list_lookup (list, "id-b") == b);
  g_assert_true (item (list, 1) == b);
  g_assert_cmpstr (filer_peer_get_name (b), ==, "Beta Renamed");
  g_assert_cmpuint (name_notifies, ==, 1);
  g_assert_cmpuint (port_notifies, ==, 0);
  g_assert_cmpuint (fixture->changes->len, ==, 3);
  g_assert_cmpuint (fixture->added->len, ==, 3);

  /* Removing the middle one says position 1. */
  g_object_ref (b);
  filer_peer_list_remove (list, "id-b");
  assert_ids (list, "id-a,id-c");
  g_assert_cmpuint (fixture->changes->len, ==, 4);
  assert_change (fixture, 3, 1, 1, 0);
  g_assert_cmpuint (fixture->removed->len, ==, 1);
  g_assert_true (g_ptr_array_index (fixture->removed, 0) == b);
  g_assert_null (filer_peer_list_lookup (list, "id-b"));
  g_signal_handlers_disconnect_by_data (b, &name_notifies);
  g_signal_handlers_disconnect_by_data (b, &port_notifies);
  g_object_unref (b);

  /* Unknown ids are no change at all. */
  filer_peer_list_remove (list, "id-zzz");
  g_assert_cmpuint (fixture->changes->len, ==, 4);

  /* Lookups by id, else by a unique name in any case. */
  g_assert_true (filer_peer_list_find (list, "GAMMA", NULL) == filer_peer_list_lookup (list, "id-c"));
  update (list, "id-d", "gamma", 4);
  {
    g_autoptr(GError) error = NULL;

    g_assert_null (filer_peer_list_find (list, "Gamma", &error));
    g_assert_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_AMBIGUOUS);
    g_clear_error (&error);
    g_assert_null (filer_peer_list_find (list, "nobody", &error));
    g_assert_error (error, FILER_DISCOVERY_ERROR, FILER_DISCOVERY_ERROR_NO_SUCH_PEER);
  }

  filer_peer_list_clear (list);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);
  g_assert_cmpuint (fixture->removed->len, ==, 4);
}

/* After a reconnect the snapshot is reconciled: who is still there keeps
 * its object, who is gone is removed, who is new is appended. */
static void
test_snapshot_keeps_identity (Fixture       *fixture,
                              gconstpointer  data)
{
  FilerPeerList *list = fixture->list;
  g_autoptr(FilerPeer) a = NULL;
  g_autoptr(FilerPeer) c = NULL;
  guint base;

  filer_peer_list_begin_snapshot (list);
  update (list, "id-a", "Alpha", 1);
  update (list, "id-b", "Beta", 2);
  update (list, "id-c", "Gamma", 3);
  filer_peer_list_end_snapshot (list);
  assert_ids (list, "id-a,id-b,id-c");
  a = g_object_ref (filer_peer_list_lookup (list, "id-a"));
  c = g_object_ref (filer_peer_list_lookup (list, "id-c"));

  /* Offline, then back: the server now lists c (on a new port), a and a
   * newcomer d; b left while we were away. */
  filer_peer_list_go_stale (list);
  base = fixture->changes->len;
  filer_peer_list_begin_snapshot (list);
  update (list, "id-c", "Gamma", 3333);
  update (list, "id-a", "Alpha", 1);
  update (list, "id-d", "Delta", 4);
  /* Nothing is removed before the snapshot is complete. */
  assert_ids (list, "id-a,id-b,id-c,id-d");
  filer_peer_list_end_snapshot (list);

  assert_ids (list, "id-a,id-c,id-d");
  g_assert_true (filer_peer_list_lookup (list, "id-a") == a);
  g_assert_true (filer_peer_list_lookup (list, "id-c") == c);
  g_assert_true (item (list, 0) == a);
  g_assert_true (item (list, 1) == c);
  g_assert_cmpuint (filer_peer_get_port (c), ==, 3333);

  /* Exactly: d appended at 3, then b removed at 1. No row of a or c was
   * removed and re-added (that is the flicker). */
  g_assert_cmpuint (fixture->changes->len, ==, base + 2);
  assert_change (fixture, base, 3, 0, 1);
  assert_change (fixture, base + 1, 1, 1, 0);
  g_assert_cmpuint (fixture->removed->len, ==, 1);
  g_assert_cmpstr (filer_peer_get_id (g_ptr_array_index (fixture->removed, 0)), ==, "id-b");

  /* The snapshot ended the stale timeout. */
  g_assert_false (filer_peer_list_is_stale (list));
}

static gboolean
is_empty (gpointer user_data)
{
  return g_list_model_get_n_items (user_data) == 0;
}

static void
test_stale_clear (Fixture       *fixture,
                  gconstpointer  data)
{
  FilerPeerList *list = fixture->list;
  gint64 start;
  gint64 elapsed_ms;

  /* What the product promises: the list survives 5 s offline. */
  g_assert_cmpuint (filer_peer_list_get_stale_timeout (list), ==, 5000);
  filer_peer_list_set_stale_timeout (list, 300);

  update (list, "id-a", "Alpha", 1);
  update (list, "id-b", "Beta", 2);

  /* Offline, and back before the timeout: nothing is lost. */
  filer_peer_list_go_stale (list);
  g_assert_true (filer_peer_list_is_stale (list));
  filer_test_spin (100);
  filer_peer_list_begin_snapshot (list);
  update (list, "id-a", "Alpha", 1);
  update (list, "id-b", "Beta", 2);
  filer_peer_list_end_snapshot (list);
  filer_test_spin (500);
  assert_ids (list, "id-a,id-b");

  /* Offline for good: cleared once the timeout has passed, not before;
   * going stale again meanwhile does not extend it. */
  filer_peer_list_set_stale_timeout (list, 400);
  start = g_get_monotonic_time ();
  filer_peer_list_go_stale (list);
  filer_test_spin (300);
  /* The client's next failed retry: offline since the first one. */
  filer_peer_list_go_stale (list);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 2);
  filer_test_wait_until (is_empty, list, 5000, "the stale list to be cleared");
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("cleared after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 390);
  /* Extended by the second call, it would be 700 ms. */
  g_assert_cmpint (elapsed_ms, <, 650);
  g_assert_false (filer_peer_list_is_stale (list));
  g_assert_cmpuint (fixture->removed->len, ==, 2);
}

/* A snapshot cut short (the connection failed halfway) removes nobody. */
static void
test_snapshot_cut_short (Fixture       *fixture,
                         gconstpointer  data)
{
  FilerPeerList *list = fixture->list;

  update (list, "id-a", "Alpha", 1);
  update (list, "id-b", "Beta", 2);
  filer_peer_list_begin_snapshot (list);
  update (list, "id-b", "Beta", 2);
  filer_peer_list_go_stale (list);
  filer_peer_list_begin_snapshot (list);
  update (list, "id-a", "Alpha", 1);
  update (list, "id-b", "Beta", 2);
  filer_peer_list_end_snapshot (list);
  assert_ids (list, "id-a,id-b");
}

int
main (int   argc,
      char *argv[])
{
  filer_test_init (&argc, &argv);

  g_test_add ("/filer/peer-list/deltas", Fixture, NULL,
              fixture_setup, test_deltas, fixture_teardown);
  g_test_add ("/filer/peer-list/snapshot-keeps-identity", Fixture, NULL,
              fixture_setup, test_snapshot_keeps_identity, fixture_teardown);
  g_test_add ("/filer/peer-list/stale-clear", Fixture, NULL,
              fixture_setup, test_stale_clear, fixture_teardown);
  g_test_add ("/filer/peer-list/snapshot-cut-short", Fixture, NULL,
              fixture_setup, test_snapshot_cut_short, fixture_teardown);

  return g_test_run ();
}
