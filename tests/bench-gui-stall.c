/* bench-gui-stall.c: how long does the app's main loop stall while a
 * big transfer runs? Not a test: tools/bench-responsiveness runs it.
 *
 * A 10 ms timeout on the window's main loop measures how late it is
 * dispatched while a loopback transfer runs; the same probe on the idle
 * window is the reference. Three runs:
 *
 *   send     the window's process sends, a child process receives
 *            (what the app does when you drop a file on a tile)
 *   receive  a child process sends, the window's process receives
 *   both     both ends in the window's process and loop (harder than
 *            the app ever has it)
 *
 * Usage: bench-gui-stall [MIB [send|receive|both]]   (default 2048, all)
 *        FILER_BENCH_NO_WINDOW=1 bench-gui-stall …  (the loop without a window)
 *        bench-gui-stall --child-receive DIR
 *        bench-gui-stall --child-send PORT ID FILE
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

#include "filer-gui-test-util.h"
#include "filer-resources.h"
#include "filer-test-util.h"
#include "libfiler.h"
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

/* --- the other end, in a child process ----------------------------- */

static int
child_receive (const char *dir)
{
  g_autoptr(FilerTransferService) receiver = filer_test_service_new ("Child", dir);
  g_autoptr(GError) error = NULL;
  gboolean never = FALSE;

  filer_transfer_service_set_accept_all (receiver, TRUE);
  if (!filer_transfer_service_listen (receiver, "127.0.0.1", 0, &error))
    g_error ("%s", error->message);
  g_print ("%u %s\n", filer_transfer_service_get_port (receiver),
           filer_transfer_service_get_device_id (receiver));

  /* Until the parent kills us. */
  filer_test_wait_for (&never, G_MAXINT, "the parent");
  return 0;
}

static int
child_send (guint       port,
            const char *id,
            const char *path)
{
  g_autoptr(FilerTransferService) sender = filer_test_service_new ("Child", g_get_tmp_dir ());
  g_autoptr(FilerPeer) peer = filer_peer_new (id);
  const char *addresses[] = { "127.0.0.1", NULL };
  const char *paths[] = { path, NULL };
  FilerTransfer *transfer;

  filer_peer_set_addresses (peer, addresses);
  filer_peer_set_port (peer, port);
  transfer = filer_transfer_service_send (sender, peer, paths);
  filer_test_wait_until (finished, transfer, 30 * 60 * 1000, "the transfer");
  return 0;
}

static GSubprocess *
spawn_child (const char * const  *args,
             guint               *port,
             char               **id)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *child;

  child = g_subprocess_newv (args, port ? G_SUBPROCESS_FLAGS_STDOUT_PIPE : G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);

  if (port != NULL)
    {
      g_autoptr(GDataInputStream) lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
      g_autofree char *line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);

      char *end = NULL;

      g_assert_no_error (error);
      *port = line ? (guint)g_ascii_strtoull (line, &end, 10) : 0;
      g_assert_cmpuint (*port, >, 0);
      g_assert_true (end != NULL && *end == ' ');
      *id = g_strdup (end + 1);
    }

  return child;
}

static gboolean
has_finished_transfer (gpointer data)
{
  GListModel *transfers = data;

  for (guint i = 0; i < g_list_model_get_n_items (transfers); i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (transfers, i);

      if (filer_transfer_is_finished (transfer))
        return TRUE;
    }

  return FALSE;
}

static FilerTransfer *
first_transfer (GListModel *transfers)
{
  return g_list_model_get_n_items (transfers) > 0 ? g_list_model_get_item (transfers, 0) : NULL;
}

typedef enum { MODE_SEND, MODE_RECEIVE, MODE_BOTH } Mode;

static const char *mode_names[] = { "send", "receive", "both" };

static const char *mode_words[] = {
  "the window's process sends, a child receives",
  "a child sends, the window's process receives",
  "both ends in the window's loop",
};

static gint64
run (Mode        mode,
     const char *self_path,
     const char *source,
     guint64     mib)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("filer-bench-stall-XXXXXX", &error);
  g_autofree char *inbox = g_build_filename (tmp, "inbox", NULL);
  g_autofree char *received = g_build_filename (inbox, "big.bin", NULL);
  g_autoptr(FilerTransferService) mine = NULL;
  g_autoptr(FilerTransferService) other = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(FilerPeer) peer = NULL;
  g_autofree char *child_id = NULL;
  g_autoptr(GListStore) peers = g_list_store_new (FILER_TYPE_PEER);
  g_autoptr(FilerTransfer) transfer = NULL;
  const char *addresses[] = { "127.0.0.1", NULL };
  const char *paths[] = { source, NULL };
  Probe idle = { 0, g_array_new (FALSE, FALSE, sizeof (gint64)), NULL, 0 };
  Probe busy = { 0, g_array_new (FALSE, FALSE, sizeof (gint64)), NULL, 0 };
  FilerWindow *window;
  guint probe_id;
  guint port = 0;
  gint64 start, elapsed, max_busy, max_idle;

  g_assert_no_error (error);
  g_mkdir_with_parents (inbox, 0700);

  mine = filer_test_service_new ("Window", mode == MODE_RECEIVE ? inbox : tmp);

  if (mode == MODE_SEND)
    {
      const char *args[] = { self_path, "--child-receive", inbox, NULL };

      child = spawn_child (args, &port, &child_id);
      peer = filer_peer_new (child_id);
      filer_peer_set_port (peer, port);
    }
  else if (mode == MODE_RECEIVE)
    {
      /* The child sends; the window's tile stands for it. */
      g_autoptr(FilerIdentity) child_key = filer_test_identity_new ();

      peer = filer_peer_new (filer_identity_get_id (child_key));
      filer_transfer_service_set_accept_all (mine, TRUE);
      filer_transfer_service_listen (mine, "127.0.0.1", 0, &error);
      g_assert_no_error (error);
    }
  else
    {
      other = filer_test_service_new ("Other", inbox);
      filer_transfer_service_set_accept_all (other, TRUE);
      filer_transfer_service_listen (other, "127.0.0.1", 0, &error);
      g_assert_no_error (error);
      peer = filer_test_peer_for (other);
    }
  filer_peer_set_name (peer, "Other");
  filer_peer_set_addresses (peer, addresses);
  g_list_store_append (peers, peer);

  window = g_object_new (FILER_TYPE_WINDOW, NULL);
  filer_window_set_peers (window, G_LIST_MODEL (peers));
  filer_window_set_transfers (window, filer_transfer_service_get_transfers (mine));
  filer_window_show_page (window, "transfers");
  /* FILER_BENCH_NO_WINDOW=1: the same loop with nothing drawn, to tell
   * GTK's share of a stall from the transfer's. */
  if (g_getenv ("FILER_BENCH_NO_WINDOW") == NULL)
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
  if (mode == MODE_RECEIVE)
    {
      g_autofree char *port_text = g_strdup_printf ("%u", filer_transfer_service_get_port (mine));
      const char *args[] = { self_path, "--child-send", port_text,
                             filer_transfer_service_get_device_id (mine), source, NULL };

      child = spawn_child (args, NULL, NULL);
    }
  else
    busy.transfer = filer_transfer_service_send (mine, peer, paths);

  filer_test_wait_until (has_finished_transfer, filer_transfer_service_get_transfers (mine),
                         30 * 60 * 1000, "the transfer");
  elapsed = g_get_monotonic_time () - start;
  g_source_remove (probe_id);

  transfer = first_transfer (filer_transfer_service_get_transfers (mine));
  if (filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_COMPLETED)
    g_error ("transfer ended in state %d: %s", filer_transfer_get_state (transfer),
             filer_transfer_get_error_message (transfer));

  g_print ("\n%s: %s\n", mode_names[mode], mode_words[mode]);
  g_print ("transfer: %" G_GUINT64_FORMAT " MiB in %.1f s (%.0f MB/s)\n",
           mib, elapsed / 1e6, (mib * 1024.0 * 1024.0) / (elapsed / 1e6) / 1e6);
  report ("idle window (reference):", idle.lateness_us);
  report ("window during the transfer:", busy.lateness_us);
  max_busy = g_array_index (busy.lateness_us, gint64, busy.lateness_us->len - 1);
  max_idle = g_array_index (idle.lateness_us, gint64, idle.lateness_us->len - 1);
  g_print ("longest stall: %.1f ms (%.1fx the idle reference); goal < 50 ms: %s\n",
           max_busy / 1000.0, max_idle > 0 ? (double)max_busy / max_idle : 0.0,
           max_busy < 50000 ? "met" : "NOT met");

  if (child != NULL)
    {
      g_subprocess_force_exit (child);
      g_subprocess_wait (child, NULL, NULL);
    }
  gtk_window_destroy (GTK_WINDOW (window));
  filer_test_spin (100);
  g_unlink (received);
  g_rmdir (inbox);
  g_rmdir (tmp);
  g_array_unref (idle.lateness_us);
  g_array_unref (busy.lateness_us);
  return max_busy;
}

int
main (int   argc,
      char *argv[])
{
  guint64 mib = 2048;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *source = NULL;
  g_autofree char *self_path = NULL;
  const char *only = argc > 2 ? argv[2] : NULL;

  /* A child never outlives the benchmark. */
  if (argc > 1 && g_str_has_prefix (argv[1], "--child-"))
    prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (argc == 3 && g_str_equal (argv[1], "--child-receive"))
    return child_receive (argv[2]);
  if (argc == 5 && g_str_equal (argv[1], "--child-send"))
    return child_send ((guint)g_ascii_strtoull (argv[2], NULL, 10), argv[3], argv[4]);

  if (argc > 1)
    mib = g_ascii_strtoull (argv[1], NULL, 10);

  if (!gtk_init_check ())
    g_error ("no display: run under xvfb-run (tools/bench-responsiveness does)");
  adw_init ();
  (void)filer_get_resource ();

  self_path = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  dir = g_dir_make_tmp ("filer-bench-source-XXXXXX", &error);
  g_assert_no_error (error);
  source = g_build_filename (dir, "big.bin", NULL);

  g_print ("writing a %" G_GUINT64_FORMAT " MiB source file…\n", mib);
  write_source (source, mib * 1024 * 1024);

  for (Mode mode = MODE_SEND; mode <= MODE_BOTH; mode++)
    if (only == NULL || g_str_equal (only, mode_names[mode]))
      run (mode, self_path, source, mib);

  g_unlink (source);
  g_rmdir (dir);
  return 0;
}
