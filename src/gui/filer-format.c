/* filer-format.c: sizes, speeds and times for people to read
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-format.h"

#include <gio/gio.h>
#include <glib/gi18n.h>

/* The path a transfer took (filer_transfer_get_path()) in words, or
 * NULL while it has none. */
const char *
filer_format_path (const char *path)
{
  if (g_strcmp0 (path, "lan") == 0)
    return _("On this network");
  if (g_strcmp0 (path, "direct") == 0)
    return _("Direct connection");
  if (g_strcmp0 (path, "relay") == 0)
    return _("Through the relay");

  return NULL;
}

char *
filer_format_time_left (guint64 seconds)
{
  if (seconds < 60)
    return g_strdup_printf (ngettext ("%u second left", "%u seconds left", (gulong)seconds),
                            (guint)seconds);

  if (seconds < 3600)
    {
      guint minutes = (guint)((seconds + 30) / 60);

      return g_strdup_printf (ngettext ("%u minute left", "%u minutes left", minutes), minutes);
    }

  {
    guint hours = (guint)(seconds / 3600);
    guint minutes = (guint)((seconds % 3600) / 60);

    /* Translators: time left, hours and minutes, e.g. "2 h 05 min left" */
    return g_strdup_printf (_("%u h %02u min left"), hours, minutes);
  }
}

/**
 * filer_format_progress:
 * @bytes_per_second: 0 when unknown
 *
 * Returns: e.g. "12.3 MB of 1.0 GB — 45.6 MB/s — 21 seconds left"
 */
char *
filer_format_progress (guint64 done,
                       guint64 total,
                       guint64 bytes_per_second)
{
  g_autofree char *done_str = g_format_size (done);
  g_autofree char *total_str = g_format_size (total);
  g_autofree char *speed_str = NULL;
  g_autofree char *left_str = NULL;

  if (bytes_per_second == 0 || done >= total)
    /* Translators: bytes transferred, e.g. "12.3 MB of 1.0 GB" */
    return g_strdup_printf (_("%s of %s"), done_str, total_str);

  speed_str = g_format_size (bytes_per_second);
  left_str = filer_format_time_left ((total - done) / bytes_per_second);

  /* Translators: "12.3 MB of 1.0 GB — 45.6 MB/s — 21 seconds left" */
  return g_strdup_printf (_("%s of %s — %s/s — %s"), done_str, total_str, speed_str, left_str);
}

/**
 * filer_format_file_list:
 * @names: file names
 * @max_shown: how many to name before "and N more"
 *
 * Returns: one name per line, then "and 12 more" if there are more
 */
char *
filer_format_file_list (const char * const *names,
                        guint               max_shown)
{
  GString *str = g_string_new (NULL);
  guint n = names ? g_strv_length ((char **)names) : 0;

  for (guint i = 0; i < n && i < max_shown; i++)
    {
      if (str->len > 0)
        g_string_append_c (str, '\n');
      g_string_append (str, names[i]);
    }

  if (n > max_shown)
    {
      guint more = n - max_shown;

      g_string_append_c (str, '\n');
      g_string_append_printf (str, ngettext ("and %u more", "and %u more", more), more);
    }

  return g_string_free (str, FALSE);
}

/* The name people gave this computer ("Anna’s Laptop"), from
 * /etc/machine-info as systemd-hostnamed keeps it; the host name
 * otherwise. A small local file, so reading it does not stall the loop. */
char *
filer_get_pretty_host_name (void)
{
  g_autofree char *contents = NULL;

  if (g_file_get_contents ("/etc/machine-info", &contents, NULL, NULL))
    {
      g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (g_str_has_prefix (lines[i], "PRETTY_HOSTNAME="))
            {
              g_autofree char *value = NULL;

              value = g_shell_unquote (lines[i] + strlen ("PRETTY_HOSTNAME="), NULL);
              if (value != NULL && value[0] != '\0')
                return g_steal_pointer (&value);
            }
        }
    }

  return g_strdup (g_get_host_name ());
}

char *
filer_get_default_download_folder (void)
{
  const char *dir = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);

  if (dir != NULL)
    return g_strdup (dir);

  return g_build_filename (g_get_home_dir (), "Downloads", NULL);
}
