/* filer-nat-path-probe.c: how many hops stop short of the peer's router
 *
 * The side that opens its NAT first sends its first punches with a TTL
 * that must carry them out through its own NAT (or NATs: a carrier's in
 * front of a home's) and let them die before the peer's router: a Linux
 * router that accepts WAN input and gets one first records it in
 * conntrack, and then cannot give the peer's own first packet the port
 * it asked for (docs/protocol.md §4.4). No fixed TTL fits every path, so
 * the path is measured, as traceroute does: one UDP probe for each TTL
 * from 1 to FILER_NAT_PATH_PROBE_MAX_TTL, all at once, to the peer's
 * public address on ports no mapping uses (33435 and up, moved if the
 * peer's own port is among them); the routers on the way answer ICMP
 * time-exceeded, read here from the socket's error queue (IP_RECVERR).
 * The largest TTL a router before the peer's address answered is the
 * punch TTL: its punches die one router short of the peer's. Probes that
 * reach the peer's router itself are harmless: they name other ports
 * than the one its NAT will map for the peer. The probe ends when every
 * hop short of a port-unreachable answered, or when answers stop
 * (SETTLE: as long again as the answers took, at least SETTLE_MIN_MS),
 * or at PROBE_MAX_MS.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "filer-nat-path-probe-private.h"
#include "filer-socket.h"

#define PORT_BASE      33434
#define SETTLE_MIN_MS  30
#define PROBE_MAX_MS   600

struct _FilerNatPathProbe
{
  GSocket               *socket;
  int                    fd;
  guint16                port_base;
  gint64                 sent_us;
  gint64                 last_answer_us;
  gboolean               answered[FILER_NAT_PATH_PROBE_MAX_TTL + 1];   /* time-exceeded at hop t */
  guint                  reached;        /* the TTL that got past the last router, or 0 */
  GSource               *fd_source;
  GSource               *timer;
  FilerNatPathProbeDone  done;
  gpointer               user_data;
};

static guint
result (FilerNatPathProbe *self)
{
  guint limit = self->reached ? self->reached - 1 : FILER_NAT_PATH_PROBE_MAX_TTL;

  for (guint t = limit; t >= 1; t--)
    if (self->answered[t])
      return t;
  return 0;
}

static gboolean
complete (FilerNatPathProbe *self)
{
  if (self->reached == 0)
    return FALSE;
  for (guint t = 1; t < self->reached; t++)
    if (!self->answered[t])
      return FALSE;
  return TRUE;
}

static void
finish (FilerNatPathProbe *self)
{
  FilerNatPathProbeDone done = self->done;
  guint ttl = result (self);

  self->done = NULL;
  filer_clear_source (&self->fd_source);
  filer_clear_source (&self->timer);
  g_debug ("nat: path probe: punch TTL %u (%s, %.1f ms)", ttl,
           self->reached ? "the peer's router answered" : "answers stopped",
           (g_get_monotonic_time () - self->sent_us) / 1000.0);
  if (done != NULL)
    done (ttl, self->user_data);
}

static gboolean timer_cb (gpointer user_data);

static void
schedule (FilerNatPathProbe *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 settle = MAX ((self->last_answer_us - self->sent_us), SETTLE_MIN_MS * 1000);
  gint64 at = MIN (self->last_answer_us + settle, self->sent_us + PROBE_MAX_MS * 1000);

  if (self->last_answer_us == 0)
    at = self->sent_us + PROBE_MAX_MS * 1000;

  filer_clear_source (&self->timer);
  self->timer = g_timeout_source_new ((guint)(MAX (at - now, 0) / 1000));
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_attach (self->timer, g_main_context_get_thread_default ());
}

static gboolean
timer_cb (gpointer user_data)
{
  FilerNatPathProbe *self = user_data;

  finish (self);
  return G_SOURCE_REMOVE;
}

/* Reads the ICMP answers the kernel queued for the probes (with a NULL
 * @self: throws away what an earlier probe left). */
static gboolean
read_answers (FilerNatPathProbe *self,
              int                fd)
{
  gboolean any = FALSE;

  for (;;)
    {
      struct sockaddr_in to;
      char control[512];
      char data[64];
      struct iovec iov = { data, sizeof data };
      struct msghdr msg = {
        .msg_name = &to, .msg_namelen = sizeof to,
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof control,
      };

      if (recvmsg (fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
        break;

      for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
        {
          struct sock_extended_err error;
          guint t;

          if (self == NULL || c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR)
            continue;
          memcpy (&error, CMSG_DATA (c), sizeof error);
          if (error.ee_origin != SO_EE_ORIGIN_ICMP || msg.msg_namelen < sizeof to)
            continue;
          t = (guint)ntohs (to.sin_port) - self->port_base;
          if (t < 1 || t > FILER_NAT_PATH_PROBE_MAX_TTL)
            continue;

          {
            struct sockaddr_in *offender = (struct sockaddr_in *)SO_EE_OFFENDER ((struct sock_extended_err *)CMSG_DATA (c));
            char text[INET_ADDRSTRLEN] = "?";

            if (offender->sin_family == AF_INET)
              inet_ntop (AF_INET, &offender->sin_addr, text, sizeof text);
            g_debug ("nat: path probe: TTL %u: ICMP type %u code %u from %s", t, error.ee_type, error.ee_code, text);
          }
          if (error.ee_type == ICMP_TIME_EXCEEDED)
            self->answered[t] = TRUE;
          else if (error.ee_type == ICMP_DEST_UNREACH && (self->reached == 0 || t < self->reached))
            self->reached = t;
          any = TRUE;
        }
    }

  /* Anything that came as data (nothing should) is thrown away. */
  while (recv (fd, (char[1]){ 0 }, 1, MSG_DONTWAIT) >= 0)
    ;

  return any;
}

static gboolean
readable_cb (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  FilerNatPathProbe *self = user_data;

  if (read_answers (self, fd))
    {
      self->last_answer_us = g_get_monotonic_time ();
      if (complete (self))
        {
          finish (self);
          return G_SOURCE_REMOVE;
        }
      schedule (self);
    }

  return G_SOURCE_CONTINUE;
}

static GQuark
busy_quark (void)
{
  return g_quark_from_static_string ("filer-nat-path-probe-busy");
}

/**
 * _filer_nat_path_probe_new_socket:
 *
 * Returns: (transfer full) (nullable): a UDP socket for probes, in the
 *   caller's network namespace, or %NULL
 */
GSocket *
_filer_nat_path_probe_new_socket (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  int on = 1;

  if (socket == NULL || setsockopt (g_socket_get_fd (socket), SOL_IP, IP_RECVERR, &on, sizeof on) != 0)
    return NULL;
  return g_steal_pointer (&socket);
}

/**
 * _filer_nat_path_probe_start:
 * @socket: from _filer_nat_path_probe_new_socket(); one probe at a time
 * @peer: the peer's public address (IPv4)
 * @done: called once, from the thread-default main context
 * @user_data: for @done
 *
 * Returns: (transfer full) (nullable): the probe (free it after @done, or
 *   to stop it), or %NULL if it cannot run (not IPv4, or @socket is busy
 *   with another probe)
 */
FilerNatPathProbe *
_filer_nat_path_probe_start (GSocket               *socket,
                             GInetSocketAddress    *peer,
                             FilerNatPathProbeDone  done,
                             gpointer               user_data)
{
  FilerNatPathProbe *self;
  struct sockaddr_in to;
  guint16 peer_port;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (peer), NULL);

  if (g_socket_address_get_family (G_SOCKET_ADDRESS (peer)) != G_SOCKET_FAMILY_IPV4 ||
      !g_socket_address_to_native (G_SOCKET_ADDRESS (peer), &to, sizeof to, NULL) ||
      g_object_get_qdata (G_OBJECT (socket), busy_quark ()) != NULL)
    return NULL;

  self = g_new0 (FilerNatPathProbe, 1);
  self->socket = g_object_ref (socket);
  self->fd = g_socket_get_fd (socket);
  g_object_set_qdata (G_OBJECT (socket), busy_quark (), self);
  read_answers (NULL, self->fd);   /* late answers to an earlier probe */

  /* Never the port the peer's NAT maps for it. */
  peer_port = ntohs (to.sin_port);
  self->port_base = PORT_BASE;
  if (peer_port > PORT_BASE && peer_port <= PORT_BASE + FILER_NAT_PATH_PROBE_MAX_TTL)
    self->port_base = PORT_BASE + 2 * FILER_NAT_PATH_PROBE_MAX_TTL;

  self->done = done;
  self->user_data = user_data;
  self->sent_us = g_get_monotonic_time ();
  for (guint t = 1; t <= FILER_NAT_PATH_PROBE_MAX_TTL; t++)
    {
      static const char probe[] = "filer path probe";
      int ttl = (int)t;

      gssize sent = -1;

      to.sin_port = htons (self->port_base + t);
      if (setsockopt (self->fd, SOL_IP, IP_TTL, &ttl, sizeof ttl) == 0)
        {
          /* An answer to an earlier probe that came meanwhile is
           * reported by this send (the error is then cleared): again. */
          for (guint attempt = 0; attempt < 3 && sent < 0; attempt++)
            sent = sendto (self->fd, probe, sizeof probe - 1, 0, (struct sockaddr *)&to, sizeof to);
        }
      if (sent < 0)
        g_debug ("nat: path probe: TTL %u not sent: %s", t, g_strerror (errno));
    }

  self->fd_source = g_unix_fd_source_new (self->fd, G_IO_IN | G_IO_ERR);
  g_source_set_callback (self->fd_source, G_SOURCE_FUNC (readable_cb), self, NULL);
  g_source_attach (self->fd_source, g_main_context_get_thread_default ());
  schedule (self);
  return self;
}

void
_filer_nat_path_probe_free (FilerNatPathProbe *self)
{
  if (self == NULL)
    return;

  filer_clear_source (&self->fd_source);
  filer_clear_source (&self->timer);
  g_object_set_qdata (G_OBJECT (self->socket), busy_quark (), NULL);
  g_object_unref (self->socket);
  g_free (self);
}
