/* filer-transfer-reader.c: the sender's file reading and hashing thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-transfer-reader-private.h"
#include "filer-transfer-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Reading and hashing (the negotiated FilerHash: XXH3-128, or SHA-256
 * through GnuTLS with the CPU's SHA instructions) happen in the sender's worker thread, in 256 KiB blocks
 * that the sender slices into 32 KiB chunk frames without copying.
 *
 * The blocks come from fixed pools of buffers. A buffer goes back to its
 * pool when the last chunk made from it has been written to the socket
 * and dropped, so the pools are also the backpressure: the thread cannot
 * run more than 16 big blocks (4 MiB) plus 256 small files (at most
 * 8 MiB) ahead of the network, and memory stays flat whatever the size or
 * number of files. Reused buffers also spare the page faults a fresh
 * 256 KiB malloc (an mmap) costs every time.
 */

#define BLOCK_SIZE       (256 * 1024)
#define POOL_SIZE        16
#define SMALL_SIZE       FILER_TRANSFER_CHUNK_SIZE
#define SMALL_POOL_SIZE  256

typedef struct
{
  guint    index;
  char    *local_path;
  guint64  size;
  guint64  offset;
  char     hash[FILER_HASH_HEX_SIZE];
} ReaderFile;

typedef struct
{
  gint         ref_count;
  GAsyncQueue *free_buffers;
  guint        n_allocated;
  guint        max_buffers;
  gsize        buffer_size;
} BufferPool;

typedef struct
{
  BufferPool *pool;
  guint8     *data;
} PoolBuffer;

struct _FilerTransferReader
{
  FilerTransferWorker *worker;
  GArray              *files;
  BufferPool          *pool;
  BufferPool          *small_pool;
  FilerHashAlgorithm   algorithm;
};

static void
reader_file_clear (gpointer data)
{
  ReaderFile *file = data;

  g_clear_pointer (&file->local_path, g_free);
}

void
_filer_read_block_free (FilerReadBlock *block)
{
  g_clear_pointer (&block->data, g_bytes_unref);
  g_clear_error (&block->error);
  g_free (block);
}

static void
pool_buffer_free (gpointer data)
{
  PoolBuffer *buffer = data;

  g_free (buffer->data);
  g_free (buffer);
}

static void
pool_unref (BufferPool *pool)
{
  if (g_atomic_int_dec_and_test (&pool->ref_count))
    {
      g_async_queue_unref (pool->free_buffers);
      g_free (pool);
    }
}

/* GBytes free func: the buffer goes home (from whatever thread drops the
 * last reference). */
static void
pool_buffer_release (gpointer data)
{
  PoolBuffer *buffer = data;
  BufferPool *pool = buffer->pool;

  g_async_queue_push (pool->free_buffers, buffer);
  pool_unref (pool);
}

/* Waits for a free buffer, or returns NULL when the worker is stopping. */
static PoolBuffer *
pool_get (BufferPool          *pool,
          FilerTransferWorker *worker)
{
  PoolBuffer *buffer = g_async_queue_try_pop (pool->free_buffers);

  if (buffer == NULL && pool->n_allocated < pool->max_buffers)
    {
      buffer = g_new0 (PoolBuffer, 1);
      buffer->pool = pool;
      buffer->data = g_malloc (pool->buffer_size);
      pool->n_allocated++;
    }

  while (buffer == NULL && !filer_transfer_worker_stopping (worker))
    buffer = g_async_queue_timeout_pop (pool->free_buffers, 100 * 1000);

  return buffer;
}

static GBytes *
pool_buffer_to_bytes (PoolBuffer *buffer,
                      gsize       length)
{
  g_atomic_int_inc (&buffer->pool->ref_count);
  return g_bytes_new_with_free_func (buffer->data, length, pool_buffer_release, buffer);
}

/* A small file would hold a whole 256 KiB block while it waits for the
 * socket: it moves to a small buffer and the block is free at once. */
static GBytes *
block_to_bytes (FilerTransferReader *self,
                FilerTransferWorker *worker,
                PoolBuffer          *buffer,
                gsize                length)
{
  PoolBuffer *small;

  if (length == 0)
    {
      g_async_queue_push (buffer->pool->free_buffers, buffer);
      return NULL;
    }
  if (length > SMALL_SIZE || (small = pool_get (self->small_pool, worker)) == NULL)
    return pool_buffer_to_bytes (buffer, length);

  memcpy (small->data, buffer->data, length);
  g_async_queue_push (buffer->pool->free_buffers, buffer);
  return pool_buffer_to_bytes (small, length);
}

static BufferPool *
pool_new (gsize buffer_size,
          guint max_buffers)
{
  BufferPool *pool = g_new0 (BufferPool, 1);

  pool->ref_count = 1;
  pool->free_buffers = g_async_queue_new_full (pool_buffer_free);
  pool->buffer_size = buffer_size;
  pool->max_buffers = max_buffers;
  return pool;
}

static gssize
read_full (int      fd,
           guint8  *data,
           gsize    length,
           guint64  offset)
{
  gsize done = 0;

  while (done < length)
    {
      gssize n = pread (fd, data + done, length - done, (off_t)(offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += n;
    }
  return (gssize)done;
}

static void
post_failure (FilerTransferWorker *worker,
              const ReaderFile    *file,
              gboolean             start,
              GError              *error)
{
  FilerReadBlock *block = g_new0 (FilerReadBlock, 1);

  block->index = file->index;
  block->start = start;
  block->end = TRUE;
  block->error = error;
  filer_transfer_worker_post (worker, block);
}

/* Hashes the first file->offset bytes; TRUE when they match the
 * receiver's prefix hash, and then @hash continues from there. */
static gboolean
prefix_matches (int                 fd,
                const ReaderFile   *file,
                FilerHash          *hash,
                guint8             *scratch)
{
  char hex[FILER_HASH_HEX_SIZE];
  guint64 position = 0;

  while (position < file->offset)
    {
      gsize want = MIN (BLOCK_SIZE, file->offset - position);
      gssize n = read_full (fd, scratch, want, position);

      if (n != (gssize)want)
        return FALSE;
      filer_hash_update (hash, scratch, n);
      position += n;
    }

  return filer_hash_peek_hex (hash, hex) && strcmp (hex, file->hash) == 0;
}

static void
read_file (FilerTransferReader *self,
           FilerTransferWorker *worker,
           const ReaderFile    *file)
{
  g_autoptr(FilerHash) hash = NULL;
  guint64 position = 0;
  gboolean first = TRUE;
  int fd;

  fd = open (file->local_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      post_failure (worker, file, TRUE,
                    g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                                 "Could not read “%s”: %s", file->local_path, g_strerror (saved)));
      return;
    }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  hash = filer_hash_new (self->algorithm);

  if (file->offset > 0)
    {
      PoolBuffer *scratch = pool_get (self->pool, worker);

      if (scratch == NULL)
        goto out;
      if (prefix_matches (fd, file, hash, scratch->data))
        position = file->offset;
      else
        {
          /* The receiver's partial file is not a prefix of ours: it
           * starts over and the sender says so with offset 0. */
          filer_hash_free (hash);
          hash = filer_hash_new (self->algorithm);
        }
      g_async_queue_push (self->pool->free_buffers, scratch);
    }

  for (;;)
    {
      gsize want = MIN (BLOCK_SIZE, file->size - position);
      FilerReadBlock *block;
      PoolBuffer *buffer;
      gssize n;

      buffer = pool_get (self->pool, worker);
      if (buffer == NULL)
        break;

      n = read_full (fd, buffer->data, want, position);
      if (n != (gssize)want)
        {
          int saved = errno;

          g_async_queue_push (self->pool->free_buffers, buffer);
          post_failure (worker, file, first,
                        n < 0
                        ? g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                                       "Could not read “%s”: %s",
                                       file->local_path, g_strerror (saved))
                        : g_error_new (FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                                       "“%s” got shorter while it was being sent",
                                       file->local_path));
          break;
        }

      filer_hash_update (hash, buffer->data, n);

      block = g_new0 (FilerReadBlock, 1);
      block->index = file->index;
      block->start = first;
      block->start_offset = position;
      block->data = block_to_bytes (self, worker, buffer, n);
      position += n;
      block->end = position == file->size;
      if (block->end)
        filer_hash_peek_hex (hash, block->hash);

      filer_transfer_worker_post (worker, block);
      first = FALSE;

      if (position == file->size)
        break;
    }

out:
  close (fd);
}

static void
reader_job (FilerTransferWorker *worker,
            gpointer             job,
            gpointer             user_data)
{
  FilerTransferReader *self = job;

  for (guint i = 0; i < self->files->len; i++)
    {
      if (filer_transfer_worker_stopping (worker))
        return;
      read_file (self, worker, &g_array_index (self->files, ReaderFile, i));
    }
}

FilerTransferReader *
_filer_transfer_reader_new (FilerHashAlgorithm       algorithm,
                            FilerTransferWorkerReady ready,
                            gpointer                 user_data)
{
  FilerTransferReader *self = g_new0 (FilerTransferReader, 1);

  self->algorithm = algorithm;
  self->files = g_array_new (FALSE, TRUE, sizeof (ReaderFile));
  g_array_set_clear_func (self->files, reader_file_clear);
  self->pool = pool_new (BLOCK_SIZE, POOL_SIZE);
  self->small_pool = pool_new (SMALL_SIZE, SMALL_POOL_SIZE);
  self->worker = filer_transfer_worker_new ("filer-reader", reader_job, self, NULL,
                                            ready, (GDestroyNotify)_filer_read_block_free,
                                            user_data);
  return self;
}

void
_filer_transfer_reader_add (FilerTransferReader *self,
                            guint                index,
                            const char          *local_path,
                            guint64              size,
                            guint64              offset,
                            const char          *prefix_hash)
{
  ReaderFile file = { 0, };

  file.index = index;
  file.local_path = g_strdup (local_path);
  file.size = size;
  file.offset = offset;
  if (prefix_hash != NULL)
    g_strlcpy (file.hash, prefix_hash, sizeof file.hash);
  g_array_append_val (self->files, file);
}

void
_filer_transfer_reader_start (FilerTransferReader *self)
{
  filer_transfer_worker_push (self->worker, self);
}

FilerReadBlock *
_filer_transfer_reader_pop (FilerTransferReader *self)
{
  return filer_transfer_worker_pop_result (self->worker);
}

void
_filer_transfer_reader_free (FilerTransferReader *self)
{
  if (self == NULL)
    return;

  filer_transfer_worker_free (self->worker, FALSE);
  g_array_unref (self->files);
  pool_unref (self->pool);
  pool_unref (self->small_pool);
  g_free (self);
}
