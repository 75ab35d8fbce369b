/* filer-transfer-writer.c: the receiver's file writing and hashing thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-writer.h"
#include "filer-transfer-error.h"
#include "filer-safe-path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Everything the receiver does to the disk happens here, in order, in the
 * receiver's worker thread:
 *
 * - every folder is opened with openat (O_NOFOLLOW | O_DIRECTORY) from the
 *   download folder's fd (filer_safe_path_open_dir()), so a planted
 *   symlink is refused, never followed;
 * - bytes land in a hidden ".filer-<id>.part" file next to the final name.
 *   Its name is derived from the sender's device id, the relative path and
 *   the size, so a retried offer of the same file finds it again: that is
 *   the whole resume bookkeeping, no sidecar to get out of step;
 * - the running hash (the negotiated FilerHash) covers the part's existing prefix (hashed once,
 *   when answering the offer) and then every byte written;
 * - only a verified file is renamed, with RENAME_NOREPLACE, to its final
 *   name or "name (1).ext".
 */

#define PART_ID_LENGTH 16
#define IOV_MAX_BATCH  64

typedef enum
{
  JOB_PREPARE,
  JOB_OPEN,
  JOB_WRITE,
  JOB_FINISH,
  JOB_CLOSE,
} JobKind;

typedef struct
{
  JobKind     kind;
  guint       index;
  char       *path;
  guint64     size;
  guint64     offset;
  GPtrArray  *items;     /* PREPARE: FilerTransferFile; WRITE: GBytes */
  gsize       length;
  char       *hash;
  char       *sender_error;
  gboolean    discard;
} Job;

struct _FilerTransferWriter
{
  FilerTransferWorker *worker;
  int                  root_fd;
  char                *sender_id;
  FilerHashAlgorithm   algorithm;

  /* Thread-shared. */
  gsize                pending;
  gsize                drain_low_mark;   /* 0: nobody waits */

  /* Worker thread only. */
  GHashTable          *prefix_hashes;    /* index → FilerHash */
  gboolean             dead;
  gboolean             have_file;
  guint                index;
  int                  dir_fd;
  int                  fd;
  char                *part_name;
  char                *final_name;
  char                *folder;           /* "a/b" or NULL */
  FilerHash           *hash;
  GError              *file_error;
};

static void
job_free (gpointer data)
{
  Job *job = data;

  g_free (job->path);
  g_free (job->hash);
  g_free (job->sender_error);
  g_clear_pointer (&job->items, g_ptr_array_unref);
  g_free (job);
}

void
filer_write_result_free (FilerWriteResult *result)
{
  g_clear_pointer (&result->entries, g_array_unref);
  g_free (result->saved_as);
  g_clear_error (&result->error);
  g_free (result);
}

static void
post (FilerTransferWriter  *self,
      FilerWriteResultKind  kind,
      guint                 index,
      GError               *error)
{
  FilerWriteResult *result = g_new0 (FilerWriteResult, 1);

  result->kind = kind;
  result->index = index;
  result->error = error;
  filer_transfer_worker_post (self->worker, result);
}

/**
 * filer_transfer_part_name:
 * @sender_id: the sender's device id
 * @path: the offered relative path
 * @size: the offered size
 *
 * Returns: (transfer full): ".filer-<16 hex>.part", the same for the same
 *   file offered again by the same device
 */
char *
filer_transfer_part_name (const char *sender_id,
                          const char *path,
                          guint64     size)
{
  g_autofree char *key = g_strdup_printf ("%s\n%s\n%" G_GUINT64_FORMAT, sender_id, path, size);
  char hex[FILER_HASH_HEX_SIZE];

  filer_hash_hex_of (FILER_HASH_SHA256, key, strlen (key), hex);
  return g_strdup_printf (".filer-%.*s.part", PART_ID_LENGTH, hex);
}

static GError *
errno_error (int         saved,
             const char *what,
             const char *name)
{
  if (saved == ENOSPC || saved == EDQUOT || saved == EFBIG)
    return g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_DISK_FULL,
                        "The disk is full: could not write “%s”", name);
  return g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                      "Could not %s “%s”: %s", what, name, g_strerror (saved));
}

/* --- PREPARE: what is already here --- */

static guint64
existing_prefix (FilerTransferWriter *self,
                 const char          *path,
                 guint64              size,
                 guint                index,
                 char                *hex)
{
  g_auto(GStrv) components = filer_safe_path_split (path, NULL);
  g_autofree char *part = NULL;
  g_autofree guint8 *buffer = NULL;
  g_autoptr(FilerHash) hash = NULL;
  guint n_components;
  struct stat st;
  guint64 done = 0;
  int dir_fd, fd;

  if (components == NULL)
    return 0;
  n_components = g_strv_length (components);

  dir_fd = filer_safe_path_open_dir (self->root_fd, components, n_components - 1, FALSE, NULL);
  if (dir_fd < 0)
    return 0;

  part = filer_transfer_part_name (self->sender_id, path, size);
  fd = openat (dir_fd, part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  close (dir_fd);
  if (fd < 0)
    return 0;

  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size <= 0 ||
      (guint64)st.st_size > size)
    {
      close (fd);
      return 0;
    }

  buffer = g_malloc (256 * 1024);
  hash = filer_hash_new (self->algorithm);
  while (done < (guint64)st.st_size)
    {
      gssize n = read (fd, buffer, MIN (256 * 1024, (guint64)st.st_size - done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      filer_hash_update (hash, buffer, n);
      done += n;
    }
  close (fd);

  if (done == 0 || !filer_hash_peek_hex (hash, hex))
    {
      hex[0] = '\0';
      return 0;
    }

  g_hash_table_replace (self->prefix_hashes, GUINT_TO_POINTER (index), g_steal_pointer (&hash));
  return done;
}

static void
do_prepare (FilerTransferWriter *self,
            Job                 *job)
{
  FilerWriteResult *result = g_new0 (FilerWriteResult, 1);

  result->kind = FILER_WRITE_RESULT_PREPARED;
  result->entries = g_array_new (FALSE, TRUE, sizeof (FilerAcceptEntry));

  for (guint i = 0; i < job->items->len; i++)
    {
      FilerTransferFile *file = g_ptr_array_index (job->items, i);
      FilerAcceptEntry entry = { 0, };

      entry.index = filer_transfer_file_get_index (file);
      entry.offset = existing_prefix (self, filer_transfer_file_get_path (file),
                                      filer_transfer_file_get_size (file),
                                      entry.index, entry.hash);
      g_array_append_val (result->entries, entry);
    }

  filer_transfer_worker_post (self->worker, result);
}

/* --- one file at a time --- */

static void
close_file (FilerTransferWriter *self,
            gboolean             discard)
{
  if (!self->have_file)
    return;

  if (self->fd >= 0)
    close (self->fd);
  if (discard && self->part_name != NULL && self->dir_fd >= 0)
    unlinkat (self->dir_fd, self->part_name, 0);
  if (self->dir_fd >= 0)
    close (self->dir_fd);
  self->fd = -1;
  self->dir_fd = -1;
  g_clear_pointer (&self->hash, filer_hash_free);
  g_clear_pointer (&self->part_name, g_free);
  g_clear_pointer (&self->final_name, g_free);
  g_clear_pointer (&self->folder, g_free);
  g_clear_error (&self->file_error);
  self->have_file = FALSE;
}

static char *
current_name (FilerTransferWriter *self)
{
  if (self->folder != NULL)
    return g_strdup_printf ("%s/%s", self->folder, self->final_name);
  return g_strdup (self->final_name);
}

/* A fatal error ends the transfer: the part goes (a full disk needs the
 * space back), later jobs are ignored. */
static void
die (FilerTransferWriter *self,
     GError              *error)
{
  close_file (self, TRUE);
  self->dead = TRUE;
  post (self, FILER_WRITE_RESULT_FATAL, self->index, error);
}

static void
do_open (FilerTransferWriter *self,
         Job                 *job)
{
  g_auto(GStrv) components = NULL;
  g_autoptr(GError) error = NULL;
  guint n_components;
  struct stat st;
  FilerHash *prefix_hash = NULL;

  close_file (self, FALSE);
  self->have_file = TRUE;
  self->index = job->index;

  components = filer_safe_path_split (job->path, &error);
  if (components == NULL)
    {
      self->file_error = g_steal_pointer (&error);
      return;
    }
  n_components = g_strv_length (components);
  self->final_name = g_strdup (components[n_components - 1]);
  if (n_components > 1)
    {
      g_autofree char *last = components[n_components - 1];

      components[n_components - 1] = NULL;
      self->folder = g_strjoinv ("/", components);
      components[n_components - 1] = g_steal_pointer (&last);
    }

  self->dir_fd = filer_safe_path_open_dir (self->root_fd, components, n_components - 1, TRUE, &error);
  if (self->dir_fd < 0)
    {
      if (g_error_matches (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_DISK_FULL))
        die (self, g_steal_pointer (&error));
      else
        self->file_error = g_steal_pointer (&error);
      return;
    }

  self->part_name = filer_transfer_part_name (self->sender_id, job->path, job->size);
  self->fd = openat (self->dir_fd, self->part_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (self->fd < 0 && errno == ENOENT)
    self->fd = openat (self->dir_fd, self->part_name,
                       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (self->fd < 0)
    {
      int saved = errno;
      if (saved == ENOSPC || saved == EDQUOT)
        die (self, errno_error (saved, "create", job->path));
      else
        self->file_error = errno_error (saved, "create", job->path);
      g_clear_pointer (&self->part_name, g_free);
      return;
    }
  if (fstat (self->fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      self->file_error = g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME,
                                      "Refused to write “%s”: its partial file is not a regular file",
                                      job->path);
      close (self->fd);
      self->fd = -1;
      g_clear_pointer (&self->part_name, g_free);
      return;
    }
  fcntl (self->fd, F_SETFL, fcntl (self->fd, F_GETFL) & ~O_NONBLOCK);

  if (job->offset > 0)
    g_hash_table_steal_extended (self->prefix_hashes, GUINT_TO_POINTER (job->index),
                                 NULL, (gpointer *)&prefix_hash);

  if (job->offset > 0 && prefix_hash != NULL && (guint64)st.st_size >= job->offset)
    self->hash = prefix_hash;
  else
    {
      filer_hash_free (prefix_hash);
      if (job->offset > 0)
        {
          self->file_error = g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                                          "The sender resumed “%s” at an offset we did not offer",
                                          job->path);
          return;
        }
      self->hash = filer_hash_new (self->algorithm);
    }

  if (ftruncate (self->fd, (off_t)job->offset) < 0 ||
      lseek (self->fd, (off_t)job->offset, SEEK_SET) < 0)
    {
      int saved = errno;
      self->file_error = errno_error (saved, "write", job->path);
    }
}

/* The whole batch in as few writev() calls as the kernel allows. */
static gboolean
write_batch (int        fd,
             GPtrArray *chunks)
{
  struct iovec vectors[IOV_MAX_BATCH];
  guint next = 0;

  while (next < chunks->len)
    {
      guint n = 0;
      gsize total = 0;

      for (; n < IOV_MAX_BATCH && next + n < chunks->len; n++)
        {
          gsize length;
          vectors[n].iov_base = (void *)g_bytes_get_data (g_ptr_array_index (chunks, next + n), &length);
          vectors[n].iov_len = length;
          total += length;
        }

      while (total > 0)
        {
          gssize written = writev (fd, vectors, n);
          guint skip = 0;

          if (written < 0 && errno == EINTR)
            continue;
          if (written < 0)
            return FALSE;

          total -= written;
          /* A short write: drop what went out and go on with the rest. */
          while (skip < n && (gsize)written >= vectors[skip].iov_len)
            written -= vectors[skip++].iov_len;
          if (skip < n)
            {
              vectors[skip].iov_base = (guint8 *)vectors[skip].iov_base + written;
              vectors[skip].iov_len -= written;
            }
          memmove (vectors, vectors + skip, (n - skip) * sizeof vectors[0]);
          n -= skip;
        }
      next += IOV_MAX_BATCH < chunks->len - next ? IOV_MAX_BATCH : chunks->len - next;
    }
  return TRUE;
}

static void
do_write (FilerTransferWriter *self,
          Job                 *job)
{
  if (!self->have_file || self->file_error != NULL || self->fd < 0 || job->items->len == 0)
    return;

  if (!write_batch (self->fd, job->items))
    {
      int saved = errno;
      g_autofree char *name = current_name (self);

      if (saved == ENOSPC || saved == EDQUOT || saved == EFBIG || saved == EACCES ||
          saved == EPERM || saved == EROFS || saved == EIO)
        die (self, errno_error (saved, "write", name));
      else
        self->file_error = errno_error (saved, "write", name);
      return;
    }

  for (guint i = 0; i < job->items->len; i++)
    {
      gsize length;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (job->items, i), &length);

      filer_hash_update (self->hash, data, length);
    }
}

static void
do_finish (FilerTransferWriter *self,
           Job                 *job)
{
  char hex[FILER_HASH_HEX_SIZE];
  g_autofree char *name = NULL;
  GError *error = NULL;
  FilerWriteResult *result;

  if (!self->have_file || self->index != job->index)
    {
      post (self, FILER_WRITE_RESULT_FILE_FAILED, job->index,
            g_error_new_literal (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                                 "A file ended that never started"));
      return;
    }

  if (self->file_error != NULL)
    {
      error = g_steal_pointer (&self->file_error);
      close_file (self, TRUE);
      post (self, FILER_WRITE_RESULT_FILE_FAILED, job->index, error);
      return;
    }

  if (job->sender_error != NULL)
    {
      g_autofree char *shown = current_name (self);

      close_file (self, TRUE);
      post (self, FILER_WRITE_RESULT_FILE_FAILED, job->index,
            g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                         "The sender could not read “%s”: %s", shown, job->sender_error));
      return;
    }

  if (!filer_hash_peek_hex (self->hash, hex) || g_strcmp0 (hex, job->hash) != 0)
    {
      g_autofree char *shown = current_name (self);

      /* Corrupted bytes must not be resumed from either. */
      close_file (self, TRUE);
      post (self, FILER_WRITE_RESULT_FILE_FAILED, job->index,
            g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_VERIFY_FAILED,
                         "“%s” failed verification: its %s does not match the sender’s",
                         shown, self->algorithm == FILER_HASH_SHA256 ? "SHA-256" : "XXH3-128"));
      return;
    }

  close (self->fd);
  self->fd = -1;
  name = filer_safe_path_rename_unique (self->dir_fd, self->part_name, self->final_name, &error);
  if (name == NULL)
    {
      close_file (self, TRUE);
      post (self, FILER_WRITE_RESULT_FILE_FAILED, job->index, error);
      return;
    }

  result = g_new0 (FilerWriteResult, 1);
  result->kind = FILER_WRITE_RESULT_FILE_DONE;
  result->index = job->index;
  result->saved_as = self->folder != NULL ? g_strdup_printf ("%s/%s", self->folder, name)
                                          : g_steal_pointer (&name);
  g_clear_pointer (&self->part_name, g_free);   /* renamed: nothing to discard */
  close_file (self, FALSE);
  filer_transfer_worker_post (self->worker, result);
}

static void
writer_job (FilerTransferWorker *worker,
            gpointer             data,
            gpointer             func_data)
{
  FilerTransferWriter *self = func_data;
  Job *job = data;

  if (job->kind == JOB_WRITE)
    __atomic_sub_fetch (&self->pending, job->length, __ATOMIC_SEQ_CST);

  if (!self->dead)
    {
      switch (job->kind)
        {
        case JOB_PREPARE:
          do_prepare (self, job);
          break;
        case JOB_OPEN:
          do_open (self, job);
          break;
        case JOB_WRITE:
          do_write (self, job);
          break;
        case JOB_FINISH:
          do_finish (self, job);
          break;
        case JOB_CLOSE:
          close_file (self, job->discard);
          break;
        default:
          g_assert_not_reached ();
        }
    }

  /* The receiver paused reading until we catch up: tell it once. */
  if (job->kind == JOB_WRITE)
    {
      gsize low_mark = __atomic_load_n (&self->drain_low_mark, __ATOMIC_SEQ_CST);

      if (low_mark != 0 && __atomic_load_n (&self->pending, __ATOMIC_SEQ_CST) <= low_mark &&
          __atomic_compare_exchange_n (&self->drain_low_mark, &low_mark, 0, FALSE,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        post (self, FILER_WRITE_RESULT_DRAINED, 0, NULL);
    }
}

/**
 * filer_transfer_writer_new:
 * @root_fd: the download folder (duplicated)
 * @sender_id: the sending device, part of every partial file's name
 * @ready: called on this thread's main context when results wait
 * @user_data: for @ready
 */
FilerTransferWriter *
filer_transfer_writer_new (int                       root_fd,
                           const char               *sender_id,
                           FilerHashAlgorithm        algorithm,
                           FilerTransferWorkerReady  ready,
                           gpointer                  user_data)
{
  FilerTransferWriter *self = g_new0 (FilerTransferWriter, 1);

  self->root_fd = dup (root_fd);
  self->sender_id = g_strdup (sender_id);
  self->algorithm = algorithm;
  self->fd = -1;
  self->dir_fd = -1;
  self->prefix_hashes = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)filer_hash_free);
  self->worker = filer_transfer_worker_new ("filer-writer", writer_job, self, job_free,
                                            ready, (GDestroyNotify)filer_write_result_free,
                                            user_data);
  return self;
}

static Job *
job_new (JobKind kind)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  return job;
}

/* @files: the accepted #FilerTransferFile; answers PREPARED. */
void
filer_transfer_writer_prepare (FilerTransferWriter *self,
                               GPtrArray           *files)
{
  Job *job = job_new (JOB_PREPARE);

  job->items = g_ptr_array_ref (files);
  filer_transfer_worker_push (self->worker, job);
}

void
filer_transfer_writer_open (FilerTransferWriter *self,
                            guint                index,
                            const char          *path,
                            guint64              size,
                            guint64              offset)
{
  Job *job = job_new (JOB_OPEN);

  job->index = index;
  job->path = g_strdup (path);
  job->size = size;
  job->offset = offset;
  filer_transfer_worker_push (self->worker, job);
}

/* @chunks: (transfer full): GBytes to append, @length bytes in all */
void
filer_transfer_writer_write (FilerTransferWriter *self,
                             GPtrArray           *chunks,
                             gsize                length)
{
  Job *job = job_new (JOB_WRITE);

  job->items = chunks;
  job->length = length;
  __atomic_add_fetch (&self->pending, length, __ATOMIC_SEQ_CST);
  filer_transfer_worker_push (self->worker, job);
}

/* Verifies against @hash (or fails with the sender's @sender_error) and
 * answers FILE_DONE or FILE_FAILED. */
void
filer_transfer_writer_finish (FilerTransferWriter *self,
                              guint                index,
                              const char          *hash,
                              const char          *sender_error)
{
  Job *job = job_new (JOB_FINISH);

  job->index = index;
  job->hash = g_strdup (hash);
  job->sender_error = g_strdup (sender_error);
  filer_transfer_worker_push (self->worker, job);
}

/* Closes the current file; @discard deletes its partial file (cancel),
 * otherwise it stays for a resume. */
void
filer_transfer_writer_close (FilerTransferWriter *self,
                             gboolean             discard)
{
  Job *job = job_new (JOB_CLOSE);

  job->discard = discard;
  filer_transfer_worker_push (self->worker, job);
}

/* Bytes handed to write() that the thread has not written yet. */
gsize
filer_transfer_writer_get_pending (FilerTransferWriter *self)
{
  return __atomic_load_n (&self->pending, __ATOMIC_SEQ_CST);
}

/* Asks for one DRAINED result once pending bytes fall to @low_mark. */
void
filer_transfer_writer_want_drain (FilerTransferWriter *self,
                                  gsize                low_mark)
{
  g_assert (low_mark > 0);
  __atomic_store_n (&self->drain_low_mark, low_mark, __ATOMIC_SEQ_CST);
  /* It may have drained meanwhile: a job-less check would race, so an
   * empty write wakes the thread to look. */
  filer_transfer_writer_write (self, g_ptr_array_new (), 0);
}

FilerWriteResult *
filer_transfer_writer_pop (FilerTransferWriter *self)
{
  return filer_transfer_worker_pop_result (self->worker);
}

void
filer_transfer_writer_free (FilerTransferWriter *self,
                            gboolean             drain)
{
  if (self == NULL)
    return;

  if (drain)
    filer_transfer_writer_close (self, FALSE);
  filer_transfer_worker_free (self->worker, drain);
  /* Without drain the thread may have stopped mid-file. */
  close_file (self, FALSE);
  g_hash_table_unref (self->prefix_hashes);
  close (self->root_fd);
  g_free (self->sender_id);
  g_free (self);
}
