/* bench-gui-stall.c: how long does the app's main loop stall while a
 * big transfer runs? Not a test: tools/bench-responsiveness runs it.
 *
 * The window (its transfers row, a tile) and both ends of a loopback
 * transfer share this one GLib main loop, which is harder than the real
 * app has it (it runs only one end). A 10 ms timeout measures how late
 * it is dispatched; the same probe on the idle window is the reference.
 *
 * Usage: bench-gui-stall [MIB]   (default 2048)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "filer-gui-test-util.h"
#include "filer-resources.h"
#include "filer-test-util.h"
#include "filer-transfer-service.h"
#include "filer-window.h"

#define PROBE_MS 10

typedef struct
{
  gint64         last;
  GArray        *lateness_us;
  FilerTransfer *transfer;
  gint64         start;
} Probe;

static const char *state_names[] = {
  "connecting", "waiting-for-answer", "transferring", "completed",
  "declined", "cancelled", "failed",
};

static gboolean
probe_cb (gpointer data)
{
  Probe *probe = data;
  gint64 now = g_get_monotonic_time ();

  if (probe->last != 0)
    {
      gint64 late = MAX (0, now - probe->last - PROBE_MS * 1000);

      g_array_append_val (probe->lateness_us, late);

      /* Say when the long ones happen, to know whom to blame. */
      if (late > 20000)
        g_print ("  stall of %.1f ms at %.2f s, transfer %s\n", late / 1000.0,
                 (now - probe->start) / 1e6,
                 probe->transfer ? state_names[filer_transfer_get_state (probe->transfer)] : "not started");
    }
  probe->last = now;
  return G_SOURCE_CONTINUE;
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

  return (x > y) - (x < y);
}

static void
report (const char *what,
        GArray     *lateness_us)
{
  guint over_50 = 0;
  gint64 p99, max;

  g_array_sort (lateness_us, compare_int64);
  max = g_array_index (lateness_us, gint64, lateness_us->len - 1);
  p99 = g_array_index (lateness_us, gint64, (lateness_us->len * 99) / 100);
  for (guint i = 0; i < lateness_us->len; i++)
    over_50 += g_array_index (lateness_us, gint64, i) > 50000;

  g_print ("%-34s %6u wakeups  p99 %6.1f ms  max %6.1f ms  over 50 ms: %u\n",
           what, lateness_us->len, p99 / 1000.0, max / 1000.0, over_50);
}

static void
write_source (const char *path,
              guint64     size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) out = NULL;
  guint32 *block = g_new (guint32, 256 * 1024);
  guint32 state = 0x12345678;

  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);

  for (guint64 written = 0; written < size; written += 1024 * 1024)
    {
      for (guint i = 0; i < 256 * 1024; i++)
        {
          state ^= state << 13; state ^= state >> 17; state ^= state << 5;
          block[i] = state;
        }
      g_output_stream_write_all (G_OUTPUT_STREAM (out), block,
                                 MIN (1024 * 1024, size - written), NULL, NULL, &error);
      g_assert_no_error (error);
    }

  g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error);
  g_assert_no_error (error);
  g_free (block);
}

static gboolean
finished (gpointer data)
{
  return filer_transfer_is_finished (data);
}

int
main (int   argc,
      char *argv[])
{
  guint64 mib = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 2048;
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *inbox = NULL;
  g_autofree char *source = NULL;
  g_autofree char *received = NULL;
  g_autoptr(FilerTransferService) sender = NULL;
  g_autoptr(FilerTransferService) receiver = NULL;
  g_autoptr(FilerPeer) peer = filer_peer_new ("receiver");
  g_autoptr(GListStore) peers = g_list_store_new (FILER_TYPE_PEER);
  const char *addresses[] = { "127.0.0.1", NULL };
  const char *paths[2] = { NULL, NULL };
  Probe idle = { 0, g_array_new (FALSE, FALSE, sizeof (gint64)) };
  Probe busy = { 0, g_array_new (FALSE, FALSE, sizeof (gint64)) };
  FilerTransfer *transfer;
  FilerWindow *window;
  guint probe_id;
  gint64 start, elapsed;

  if (!gtk_init_check ())
    g_error ("no display: run under xvfb-run (tools/bench-responsiveness does)");
  adw_init ();
  (void)filer_get_resource ();

  tmp = g_dir_make_tmp ("filer-bench-stall-XXXXXX", &error);
  g_assert_no_error (error);
  inbox = g_build_filename (tmp, "inbox", NULL);
  g_mkdir_with_parents (inbox, 0700);
  source = g_build_filename (tmp, "big.bin", NULL);
  received = g_build_filename (inbox, "big.bin", NULL);
  paths[0] = source;

  g_print ("writing a %" G_GUINT64_FORMAT " MiB source file…\n", mib);
  write_source (source, mib * 1024 * 1024);

  sender = filer_transfer_service_new ("sender", "Sender", tmp);
  receiver = filer_transfer_service_new ("receiver", "Receiver", inbox);
  filer_transfer_service_set_accept_all (receiver, TRUE);
  filer_transfer_service_listen (receiver, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  filer_peer_set_name (peer, "Receiver");
  filer_peer_set_addresses (peer, addresses);
  filer_peer_set_port (peer, filer_transfer_service_get_port (receiver));
  g_list_store_append (peers, peer);

  window = g_object_new (FILER_TYPE_WINDOW, NULL);
  filer_window_set_peers (window, G_LIST_MODEL (peers));
  filer_window_set_transfers (window, filer_transfer_service_get_transfers (sender));
  gtk_window_present (GTK_WINDOW (window));
  filer_test_spin (500);

  /* Reference: the same window, idle, for 3 s. */
  idle.start = g_get_monotonic_time ();
  probe_id = g_timeout_add (PROBE_MS, probe_cb, &idle);
  filer_test_spin (3000);
  g_source_remove (probe_id);

  /* Now with the transfer on the loop. */
  probe_id = g_timeout_add (PROBE_MS, probe_cb, &busy);
  start = busy.start = g_get_monotonic_time ();
  transfer = busy.transfer = filer_transfer_service_send (sender, peer, paths);
  filer_test_wait_until (finished, transfer, 30 * 60 * 1000, "the transfer");
  elapsed = g_get_monotonic_time () - start;
  g_source_remove (probe_id);

  if (filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_COMPLETED)
    g_error ("transfer ended in state %d: %s", filer_transfer_get_state (transfer),
             filer_transfer_get_error_message (transfer));

  g_print ("transfer: %" G_GUINT64_FORMAT " MiB in %.1f s (%.0f MB/s), sender and receiver in this loop\n",
           mib, elapsed / 1e6, (mib * 1024.0 * 1024.0) / (elapsed / 1e6) / 1e6);
  report ("idle window (reference):", idle.lateness_us);
  report ("window during the transfer:", busy.lateness_us);
  {
    gint64 max_busy = g_array_index (busy.lateness_us, gint64, busy.lateness_us->len - 1);
    gint64 max_idle = g_array_index (idle.lateness_us, gint64, idle.lateness_us->len - 1);

    g_print ("longest stall during the transfer: %.1f ms (%.1fx the idle reference); "
             "the goal is < 50 ms: %s\n",
             max_busy / 1000.0, max_idle > 0 ? (double)max_busy / max_idle : 0.0,
             max_busy < 50000 ? "met" : "NOT met");
  }

  gtk_window_destroy (GTK_WINDOW (window));
  g_unlink (received);
  g_unlink (source);
  g_rmdir (inbox);
  g_rmdir (tmp);
  return 0;
}
