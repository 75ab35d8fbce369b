/* filer-safe-path.c: names from a peer, checked before they touch disk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* renameat2 () and RENAME_NOREPLACE are GNU extensions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "config.h"

#include "filer-safe-path.h"
#include "filer-transfer-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every name a peer sends is hostile until this file says otherwise.
 *
 * filer_safe_path_check() is the whole policy for the *text* of a name:
 * a relative path of '/'-separated components, each a valid, printable
 * file name. What the text cannot tell (a symlink planted in the download
 * folder, a component that exists as a file) is handled by opening every
 * directory with openat (O_NOFOLLOW | O_DIRECTORY) relative to the folder's
 * own fd, and by never replacing an existing name.
 */

static gboolean
fail (GError     **error,
      const char  *path,
      const char  *why)
{
  g_autofree char *shown = NULL;

  /* The name may hold anything; show it escaped. */
  shown = g_strescape (path != NULL ? path : "(null)", NULL);
  if (strlen (shown) > 80)
    strcpy (shown + 77, "...");
  g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME,
               "Refused the file name “%s”: %s", shown, why);
  return FALSE;
}

/* Our own partial files are hidden and named ".filer-<hex>.part"; a peer
 * must not be able to name a file that collides with one. */
static gboolean
is_part_name (const char *component,
              gsize       length)
{
  return length >= 11 &&
         strncmp (component, ".filer-", 7) == 0 &&
         strncmp (component + length - 5, ".part", 5) == 0;
}

static gboolean
check_component (const char  *path,
                 const char  *start,
                 gsize        length,
                 GError     **error)
{
  const char *end = start + length;

  if (length == 0)
    return fail (error, path, "empty component (leading, trailing or double “/”)");
  if ((length == 1 && start[0] == '.') || (length == 2 && start[0] == '.' && start[1] == '.'))
    return fail (error, path, "“.” and “..” are not allowed");
  if (length > FILER_SAFE_PATH_MAX_COMPONENT)
    return fail (error, path, "a component is longer than 255 bytes");
  if (is_part_name (start, length))
    return fail (error, path, "the name is reserved for partial files");

  for (const char *p = start; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* C0 and C1 control characters, DEL, and the Windows separator
       * (a Windows peer's "a\..\b" must not become a name here). */
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f))
        return fail (error, path, "control characters are not allowed");
      if (c == '\\')
        return fail (error, path, "“\\” is not allowed");
      /* Bidirectional overrides make a name display as something else. */
      if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        return fail (error, path, "bidirectional control characters are not allowed");
    }

  return TRUE;
}

/**
 * filer_safe_path_check:
 * @path: a relative path as a peer sent it
 * @error: set to %FILER_TRANSFER_ERROR_UNSAFE_NAME when it is refused
 *
 * Decides whether @path may name a file inside the download folder: valid
 * UTF-8, not empty, relative, at most %FILER_SAFE_PATH_MAX_LENGTH bytes and
 * %FILER_SAFE_PATH_MAX_DEPTH components, no empty, "." or ".." component,
 * no component over 255 bytes, no control character, backslash or
 * bidirectional override, and not one of our own ".filer-*.part" names.
 *
 * Returns: %TRUE when @path is acceptable
 */
gboolean
filer_safe_path_check (const char  *path,
                       GError     **error)
{
  const char *start;
  gsize length;
  guint depth = 0;

  if (path == NULL)
    return fail (error, path, "no name");

  length = strlen (path);
  if (length == 0)
    return fail (error, path, "empty name");
  if (length > FILER_SAFE_PATH_MAX_LENGTH)
    return fail (error, path, "the path is longer than 4095 bytes");
  if (!g_utf8_validate (path, length, NULL))
    return fail (error, path, "not valid UTF-8");
  if (path[0] == '/')
    return fail (error, path, "absolute paths are not allowed");

  start = path;
  for (;;)
    {
      const char *slash = strchr (start, '/');
      gsize component_length = slash != NULL ? (gsize)(slash - start) : strlen (start);

      if (!check_component (path, start, component_length, error))
        return FALSE;
      if (++depth > FILER_SAFE_PATH_MAX_DEPTH)
        return fail (error, path, "too many nested folders");
      if (slash == NULL)
        break;
      start = slash + 1;
    }

  return TRUE;
}

/**
 * filer_safe_path_split:
 * @path: a relative path as a peer sent it
 * @error: return location for an error
 *
 * Checks @path with filer_safe_path_check() and splits it into components.
 *
 * Returns: (transfer full): the components, or %NULL with @error set
 */
char **
filer_safe_path_split (const char  *path,
                       GError     **error)
{
  if (!filer_safe_path_check (path, error))
    return NULL;
  return g_strsplit (path, "/", -1);
}

/**
 * filer_safe_path_open_dir:
 * @root_fd: the download folder
 * @components: checked components (from filer_safe_path_split())
 * @n_components: how many of @components name folders
 * @create: create missing folders
 * @error: return location for an error
 *
 * Opens the folder @components[0]/…/@components[n-1] below @root_fd one
 * level at a time with O_NOFOLLOW | O_DIRECTORY, so that a symlink at any
 * level (planted by anyone) is refused rather than followed out of the
 * download folder.
 *
 * Returns: a new directory fd (a dup of @root_fd when @n_components is
 *   0), or -1 with @error set
 */
int
filer_safe_path_open_dir (int           root_fd,
                          char * const *components,
                          guint         n_components,
                          gboolean      create,
                          GError      **error)
{
  int fd = dup (root_fd);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                   "Could not open the download folder: %s", g_strerror (saved));
      return -1;
    }

  for (guint i = 0; i < n_components; i++)
    {
      int next;

      g_assert (components[i] != NULL);

      next = openat (fd, components[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT && create)
        {
          if (mkdirat (fd, components[i], 0755) < 0 && errno != EEXIST)
            {
              int saved = errno;
              close (fd);
              g_set_error (error, FILER_TRANSFER_ERROR,
                           saved == ENOSPC ? FILER_TRANSFER_ERROR_DISK_FULL : FILER_TRANSFER_ERROR_IO,
                           "Could not create the folder “%s”: %s",
                           components[i], g_strerror (saved));
              return -1;
            }
          next = openat (fd, components[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }

      if (next < 0)
        {
          int saved = errno;

          close (fd);
          /* ELOOP: a symlink; ENOTDIR: a file (or a symlink to one). */
          if (saved == ELOOP || saved == ENOTDIR)
            g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME,
                         "Refused the folder “%s”: it exists and is not a folder "
                         "(a symlink is never followed)", components[i]);
          else
            g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                         "Could not open the folder “%s”: %s",
                         components[i], g_strerror (saved));
          return -1;
        }

      close (fd);
      fd = next;
    }

  return fd;
}

/**
 * filer_safe_path_numbered:
 * @name: a file name
 * @n: the number to add, at least 1
 *
 * Builds the name a copy gets when @name is taken: "photo (1).jpg",
 * "archive (2).tar.gz" keeps the double extension, "README (3)" has
 * none, ".bashrc (1)" is hidden and has none.
 *
 * Returns: (transfer full): the numbered name
 */
char *
filer_safe_path_numbered (const char *name,
                          guint       n)
{
  const char *base = name;
  const char *dot;

  /* A leading dot makes a hidden file, not an extension. */
  while (*base == '.')
    base++;

  dot = strrchr (base, '.');
  if (dot == NULL || dot == base || dot[1] == '\0')
    dot = NULL;
  else if (dot - base > 4 && strncmp (dot - 4, ".tar", 4) == 0)
    dot -= 4;   /* "backup.tar.gz" becomes "backup (1).tar.gz" */

  if (dot == NULL)
    return g_strdup_printf ("%s (%u)", name, n);
  return g_strdup_printf ("%.*s (%u)%s", (int)(dot - name), name, n, dot);
}

/**
 * filer_safe_path_rename_unique:
 * @dir_fd: the folder that holds @from and will hold the result
 * @from: the partial file's name
 * @wanted: the final name
 * @error: return location for an error
 *
 * Gives @from its final name without ever replacing anything: @wanted if
 * it is free, else "@wanted (1)", "(2)", … renameat2 (RENAME_NOREPLACE)
 * makes the check and the rename one atomic step, so a file that appears
 * meanwhile (or a planted symlink) is never overwritten.
 *
 * Returns: (transfer full): the name the file got, or %NULL
 */
char *
filer_safe_path_rename_unique (int          dir_fd,
                               const char  *from,
                               const char  *wanted,
                               GError     **error)
{
  for (guint n = 0; n < 10000; n++)
    {
      g_autofree char *candidate = n == 0 ? g_strdup (wanted) : filer_safe_path_numbered (wanted, n);

      if (strlen (candidate) > FILER_SAFE_PATH_MAX_COMPONENT)
        break;

      if (renameat2 (dir_fd, from, dir_fd, candidate, RENAME_NOREPLACE) == 0)
        return g_steal_pointer (&candidate);

      if (errno == EINVAL)
        {
          /* A filesystem without RENAME_NOREPLACE: link + unlink is just
           * as atomic about never replacing. */
          if (linkat (dir_fd, from, dir_fd, candidate, 0) == 0)
            {
              unlinkat (dir_fd, from, 0);
              return g_steal_pointer (&candidate);
            }
        }

      if (errno != EEXIST)
        {
          int saved = errno;
          g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
                       "Could not name the file “%s”: %s", wanted, g_strerror (saved));
          return NULL;
        }
    }

  g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_IO,
               "Could not find a free name for “%s”", wanted);
  return NULL;
}
