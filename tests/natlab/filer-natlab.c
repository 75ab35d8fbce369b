/* filer-natlab.c: the NAT lab (network namespaces) for tests and benchmarks
 *
 * The namespaces themselves are built by natlab.sh (a few lines of ip and
 * nft per router, easy to read next to the description); this
 * file drives it, and lets one process own sockets in any of the lab's
 * namespaces by creating them after setns().
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-natlab.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

struct _FilerNatLab
{
  char *prefix;
};

static const char *
script_path (void)
{
  const char *path = g_getenv ("FILER_NATLAB_SCRIPT");

  return path ? path : FILER_NATLAB_SCRIPT;
}

static gboolean
run_script (char   **argv,
            GError **error)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, &status, error))
    return FALSE;

  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "natlab.sh %s failed: %s%s", argv[2], out, err);
      return FALSE;
    }

  return TRUE;
}

gboolean
filer_natlab_available (char **reason)
{
  static int available = -1;
  static char *why = NULL;

  if (available < 0)
    {
      g_autofree char *name = g_strdup_printf ("filerlab-%d-probe", (int)getpid ());
      g_autofree char *err = NULL;
      int status = 0;
      char *add[] = { "ip", "netns", "add", name, NULL };
      char *del[] = { "ip", "netns", "del", name, NULL };

      available = 0;
      if (geteuid () != 0)
        why = g_strdup ("NAT lab needs root (network namespaces, nft)");
      else if (!g_spawn_sync (NULL, add, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                              NULL, NULL, NULL, &err, &status, NULL))
        why = g_strdup ("NAT lab needs iproute2 (`ip` not found)");
      else if (!g_spawn_check_wait_status (status, NULL))
        why = g_strdup_printf ("network namespaces not permitted here: %s", g_strstrip (err));
      else
        {
          g_autofree char *nft = g_find_program_in_path ("nft");

          g_spawn_sync (NULL, del, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                        NULL, NULL, NULL, NULL);
          if (nft == NULL)
            why = g_strdup ("NAT lab needs nft (nftables)");
          else
            available = 1;
        }

      /* Labs whose test process crashed before its guard ran. */
      if (available)
        {
          char *sweep[] = { "sh", (char *)script_path (), "sweep", NULL };

          g_spawn_sync (NULL, sweep, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                        NULL, NULL, NULL, NULL);
        }
    }

  if (reason)
    *reason = g_strdup (why);

  return available == 1;
}

FilerNatLab *
filer_natlab_new (const char  *flavour_a,
                  const char  *flavour_b,
                  guint        udp_timeout,
                  GError     **error)
{
  return filer_natlab_new_full (flavour_a, flavour_b, udp_timeout, 3, NULL, error);
}

FilerNatLab *
filer_natlab_new_full (const char  *flavour_a,
                       const char  *flavour_b,
                       guint        udp_timeout,
                       guint        routers_between,
                       const char  *carrier_b,
                       GError     **error)
{
  static guint counter;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *owner = g_strdup_printf ("%d", (int)getpid ());
  g_autofree char *timeout = g_strdup_printf ("%u", udp_timeout);
  g_autofree char *between = g_strdup_printf ("%u", routers_between);
  FilerNatLab *lab;
  char *argv[] = { "sh", (char *)script_path (), "up", NULL, owner,
                   (char *)flavour_a, (char *)flavour_b, timeout, between,
                   (char *)(carrier_b ? carrier_b : "none"), NULL };

  lab = g_new0 (FilerNatLab, 1);
  lab->prefix = g_strdup_printf ("filerlab-%d-%u", (int)getpid (), counter++);
  argv[3] = lab->prefix;

  if (!run_script (argv, error))
    {
      g_free (lab->prefix);
      g_free (lab);
      return NULL;
    }

  return lab;
}

void
filer_natlab_free (FilerNatLab *lab)
{
  char *argv[] = { "sh", (char *)script_path (), "down", lab->prefix, NULL };
  g_autoptr(GError) error = NULL;

  if (!run_script (argv, &error))
    g_printerr ("natlab: %s\n", error->message);

  g_free (lab->prefix);
  g_free (lab);
}

const char *
filer_natlab_get_prefix (FilerNatLab *lab)
{
  return lab->prefix;
}

char *
filer_natlab_ns_name (FilerNatLab *lab,
                      const char  *node)
{
  return g_strdup_printf ("%s-%s", lab->prefix, node);
}

void
filer_natlab_run_in (FilerNatLab *lab,
                     const char  *node,
                     GFunc        func,
                     gpointer     user_data)
{
  g_autofree char *name = filer_natlab_ns_name (lab, node);
  g_autofree char *path = g_strdup_printf ("/run/netns/%s", name);
  int self;
  int target;

  self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  target = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (self, >=, 0);
  if (target < 0)
    g_error ("natlab: cannot open %s: %s", path, g_strerror (errno));

  if (setns (target, CLONE_NEWNET) != 0)
    g_error ("natlab: setns %s: %s", name, g_strerror (errno));

  func (user_data, NULL);

  if (setns (self, CLONE_NEWNET) != 0)
    g_error ("natlab: setns back: %s", g_strerror (errno));

  close (target);
  close (self);
}

typedef struct
{
  const char *ip;
  guint16 port;
  GSocket *socket;
  GError *error;
} SocketRequest;

static void
make_socket (gpointer data,
             gpointer unused)
{
  SocketRequest *request = data;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, &request->error);
  if (!socket)
    return;

  inet = g_inet_address_new_from_string (request->ip ? request->ip : "0.0.0.0");
  address = g_inet_socket_address_new (inet, request->port);
  if (!g_socket_bind (socket, address, FALSE, &request->error))
    return;

  request->socket = g_steal_pointer (&socket);
}

GSocket *
filer_natlab_udp_socket (FilerNatLab *lab,
                         const char  *node,
                         const char  *ip,
                         guint16      port,
                         GError     **error)
{
  SocketRequest request = { ip, port, NULL, NULL };

  filer_natlab_run_in (lab, node, make_socket, &request);
  if (request.error)
    g_propagate_error (error, request.error);

  return request.socket;
}

static GPtrArray *
collect_args (const char *first_arg,
              va_list     args)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;

  for (arg = first_arg; arg; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));

  return argv;
}

GSubprocess *
filer_natlab_spawn (FilerNatLab      *lab,
                    const char       *node,
                    GSubprocessFlags  flags,
                    GError          **error,
                    const char       *first_arg,
                    ...)
{
  g_autoptr(GPtrArray) argv = NULL;
  va_list args;

  va_start (args, first_arg);
  argv = collect_args (first_arg, args);
  va_end (args);

  g_ptr_array_insert (argv, 0, g_strdup ("ip"));
  g_ptr_array_insert (argv, 1, g_strdup ("netns"));
  g_ptr_array_insert (argv, 2, g_strdup ("exec"));
  g_ptr_array_insert (argv, 3, filer_natlab_ns_name (lab, node));
  g_ptr_array_add (argv, NULL);

  return g_subprocess_newv ((const char * const *)argv->pdata, flags, error);
}

gboolean
filer_natlab_script (FilerNatLab  *lab,
                     GError      **error,
                     const char   *first_arg,
                     ...)
{
  g_autoptr(GPtrArray) argv = NULL;
  va_list args;

  va_start (args, first_arg);
  argv = collect_args (first_arg, args);
  va_end (args);

  g_ptr_array_insert (argv, 0, g_strdup ("sh"));
  g_ptr_array_insert (argv, 1, g_strdup (script_path ()));
  g_ptr_array_insert (argv, 3, g_strdup (lab->prefix));
  g_ptr_array_add (argv, NULL);

  return run_script ((char **)argv->pdata, error);
}
