/* filer-server-private.h: what the pieces of FilerServer share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_DISCOVERY_COMPILATION)
# error "filer-server-private.h is private to src/core/discovery/."
#endif

#include "filer-identity.h"
#include "filer-server.h"
#include "filer-server-client-private.h"

G_BEGIN_DECLS

/* Discovery messages carry everything in the header. */
#define MAX_CONTENT_LENGTH 4096

struct _FilerServer
{
  GObject           parent_instance;

  /* Settings. */
  char             *bind_address;
  guint             port;
  guint             idle_timeout_ms;
  guint             max_per_address;
  gboolean          loopback_is_public;
  gboolean          link_is_one_network;
  FilerIdentity    *identity;            /* the server's key (TLS) */
  guint8            bind_key[32];        /* makes bind secrets; random per run */

  /* Owned while running. */
  GSocket          *tcp_socket;
  GSource          *accept_source;
  guint             accept_pause_id;     /* out of descriptors: wait, then accept again */
  GSocket          *udp_socket;
  GSource          *udp_source;
  guint             sweep_id;

  GHashTable       *clients;             /* Client* (owned) set */
  GHashTable       *by_id;               /* id -> Client* */
  GHashTable       *networks;            /* key -> GHashTable set of Client* */
  GHashTable       *rooms;               /* room -> GHashTable set of Client* */
  GHashTable       *origins;             /* key -> Origin* (filer-server-admission.c) */
  guint             n_unproven;          /* connections not registered yet */
  GHashTable       *datagram_handlers;   /* type -> DatagramHandler* */

  /* Clients whose connection closed, freed from an idle so that no
   * table changes under a loop that is sending to them. */
  GPtrArray        *drop_queue;
  guint             drop_idle_id;
  guint             busy;                /* > 0 while iterating the tables */
};

/* Updates a registered client may send: 20 at once, then 1 a second
 * (each is sent to everyone who sees it). */
#define FILER_SERVER_UPDATE_BURST 20.0
#define FILER_SERVER_UPDATE_RATE  1.0

/* filer-server-admission.c */

/* Connections not registered yet, in all. */
#define FILER_SERVER_MAX_UNPROVEN 2048
/* Registered devices behind one origin. */
#define FILER_SERVER_MAX_REGISTERED_PER_ADDRESS 1024
/* Origins remembered (connected, or recently out of tokens). */
#define FILER_SERVER_MAX_ORIGINS 65536
/* A client whose unsent frames exceed its snapshot plus this is cut off:
 * it does not read. */
#define FILER_SERVER_MAX_QUEUED_BYTES (256 * 1024)

GHashTable *_filer_server_origins_new        (void);
Origin     *_filer_server_admission_take     (FilerServer    *self,
                                              GInetAddress   *address);
void        _filer_server_admission_add      (Client         *client,
                                              Origin         *origin,
                                              GPtrArray      *too_many,
                                              GPtrArray      *busy);
gboolean    _filer_server_admission_register (Client         *client);
gboolean    _filer_server_admission_new_room (Client         *client);
void        _filer_server_admission_release  (Client         *client);
void        _filer_server_admission_sweep    (FilerServer    *self,
                                              gint64          now);

/* filer-server-visibility.c */

typedef void (*ClientFunc) (Client   *client,
                            Client   *other,
                            gpointer  user_data);

void     _filer_server_group_add             (GHashTable     *groups,
                                              const char     *key,
                                              Client         *client);
void     _filer_server_group_remove          (GHashTable     *groups,
                                              const char     *key,
                                              Client         *client);
gboolean _filer_server_clients_see_each_other (Client         *a,
                                               Client         *b);
void     _filer_server_foreach_visible       (Client         *client,
                                              ClientFunc      func,
                                              gpointer        user_data);

/* filer-server-datagram.c */

void     _filer_server_datagram_handler_free (gpointer        data);
void     _filer_server_handle_probe          (FilerServer    *self,
                                              FilerFrame     *frame,
                                              GSocketAddress *from,
                                              gpointer        user_data);
gboolean _filer_server_datagram_cb           (GSocket        *socket,
                                              const guint8   *data,
                                              gsize           length,
                                              GSocketAddress *from,
                                              gpointer        user_data);

/* At most this many datagrams a wakeup: a flood must not starve TCP. */
#define FILER_SERVER_DATAGRAMS_PER_WAKEUP 64

G_END_DECLS
