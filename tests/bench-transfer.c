/* bench-transfer.c: one side of a Filer transfer, for tests/bench-transfer.sh
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   bench-transfer receive DIR PORT          listens on 127.0.0.1:PORT as
 *                                            "bench-receiver", accepts
 *                                            everything, exits after one
 *                                            transfer
 *   bench-transfer mkfiles DIR N SIZE        N files of SIZE distinct bytes,
 *                                            100 per folder
 *   bench-transfer send PORT PATH...         sends PATHs to it, prints
 *                                            "files bytes seconds" and, per
 *                                            thousand files, the time each
 *                                            thousand took
 *
 * Not a test: the script compares its figures with socat and scp.
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "libfiler.h"

static gboolean finished;

static void
print_rss (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  printf ("rss %ld\n", usage.ru_maxrss);
  printf ("cpu %.2f\n", usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                        usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
}

static void
state_cb (FilerTransfer *transfer,
          GParamSpec    *pspec,
          gpointer       user_data)
{
  if (filer_transfer_is_finished (transfer))
    finished = TRUE;
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(FilerTransfer) transfer = g_list_model_get_item (model, i);
      g_signal_connect (transfer, "notify::state", G_CALLBACK (state_cb), NULL);
    }
}

typedef struct
{
  gint64  start;
  gint64  last;
  guint   done;
  GArray *per_thousand;
} FileClock;

/* Per-thousand times count from the moment data flows (listing the
 * files, connecting and the offer are not "the first thousand"). */
static void
transferring_cb (FilerTransfer *transfer,
                 GParamSpec    *pspec,
                 FileClock     *clock)
{
  if (filer_transfer_get_state (transfer) == FILER_TRANSFER_STATE_TRANSFERRING)
    clock->last = g_get_monotonic_time ();
}

static void
file_finished_cb (FilerTransfer     *transfer,
                  FilerTransferFile *file,
                  FileClock         *clock)
{
  gint64 now = g_get_monotonic_time ();

  if (++clock->done % 1000 == 0)
    {
      double seconds = (now - clock->last) / 1e6;
      g_array_append_val (clock->per_thousand, seconds);
      clock->last = now;
    }
}

/* The receiving process's device key, kept in the user's cache folder:
 * the sending process reads the same folder to learn the id it must
 * reach, so the two need no channel but the transfer itself. */
static FilerIdentity *
receiver_identity (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "filer-bench", "receiver", NULL);
  g_autoptr(GError) error = NULL;
  FilerIdentity *identity;

  g_mkdir_with_parents (dir, 0700);
  identity = filer_identity_load (dir, &error);
  if (identity == NULL)
    g_error ("bench-transfer: %s", error->message);
  return identity;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  signal (SIGPIPE, SIG_IGN);

  if (argc >= 5 && g_str_equal (argv[1], "mkfiles"))
    {
      guint n = atoi (argv[3]);
      gsize size = atoi (argv[4]);
      g_autofree char *data = g_malloc (size);
      g_autoptr(GRand) rand = g_rand_new_with_seed (1);

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *folder = g_strdup_printf ("%s/d%03u", argv[2], i / 100);
          g_autofree char *path = g_strdup_printf ("%s/f%03u", folder, i % 100);

          for (gsize k = 0; k < size; k++)
            data[k] = g_rand_int (rand);
          g_mkdir_with_parents (folder, 0755);
          if (!g_file_set_contents (path, data, size, &error))
            {
              fprintf (stderr, "bench-transfer: %s\n", error->message);
              return 1;
            }
        }
      return 0;
    }

  if (argc >= 4 && g_str_equal (argv[1], "receive"))
    {
      g_autoptr(FilerIdentity) identity = receiver_identity ();
      g_autoptr(FilerTransferService) service =
        filer_transfer_service_new (identity, "Bench receiver", argv[2]);

      filer_transfer_service_set_accept_all (service, TRUE);
      if (!filer_transfer_service_listen (service, "127.0.0.1", atoi (argv[3]), &error))
        {
          fprintf (stderr, "bench-transfer: %s\n", error->message);
          return 1;
        }
      g_signal_connect (filer_transfer_service_get_transfers (service), "items-changed",
                        G_CALLBACK (items_changed_cb), NULL);
      printf ("listening\n");
      fflush (stdout);
      while (!finished)
        g_main_context_iteration (NULL, TRUE);
      /* The last results must leave before we do. */
      {
        gint64 until = g_get_monotonic_time () + 300 * 1000;
        while (g_get_monotonic_time () < until)
          if (!g_main_context_iteration (NULL, FALSE))
            g_usleep (1000);
      }
      print_rss ();
      return 0;
    }

  if (argc >= 4 && g_str_equal (argv[1], "send"))
    {
      g_autoptr(FilerIdentity) identity = filer_identity_new_ephemeral (NULL);
      g_autoptr(FilerIdentity) receiver = receiver_identity ();
      g_autoptr(FilerTransferService) service =
        filer_transfer_service_new (identity, "Bench sender", "/nonexistent");
      g_autoptr(FilerPeer) peer = filer_peer_new (filer_identity_get_id (receiver));
      const char * const addresses[] = { "127.0.0.1", NULL };
      FileClock clock = { 0, };
      FilerTransfer *transfer;
      gint64 start;
      double seconds;

      filer_peer_set_addresses (peer, addresses);
      filer_peer_set_port (peer, atoi (argv[2]));
      clock.per_thousand = g_array_new (FALSE, FALSE, sizeof (double));

      start = g_get_monotonic_time ();
      transfer = filer_transfer_service_send (service, peer, (const char * const *)argv + 3);
      g_signal_connect (transfer, "notify::state", G_CALLBACK (state_cb), NULL);
      g_signal_connect (transfer, "file-finished", G_CALLBACK (file_finished_cb), &clock);
      g_signal_connect (transfer, "notify::state", G_CALLBACK (transferring_cb), &clock);
      clock.start = clock.last = start;
      while (!finished)
        g_main_context_iteration (NULL, TRUE);
      seconds = (g_get_monotonic_time () - start) / 1e6;

      if (filer_transfer_get_state (transfer) != FILER_TRANSFER_STATE_COMPLETED)
        {
          fprintf (stderr, "bench-transfer: %s\n", filer_transfer_get_error_message (transfer));
          return 1;
        }
      printf ("%u %" G_GUINT64_FORMAT " %.3f", filer_transfer_get_n_files (transfer),
              filer_transfer_get_bytes_total (transfer), seconds);
      for (guint i = 0; i < clock.per_thousand->len; i++)
        printf (" %.3f", g_array_index (clock.per_thousand, double, i));
      printf ("\n");
      print_rss ();
      return 0;
    }

  fprintf (stderr, "usage: bench-transfer receive DIR PORT | send PORT PATH...\n");
  return 2;
}
