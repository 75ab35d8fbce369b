/* filer-nat-client-private.h: what the pieces of FilerNatClient share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_NAT_COMPILATION)
# error "filer-nat-client-private.h is private to src/core/nat/."
#endif

#include "filer-frame.h"
#include "filer-nat-client.h"
#include "filer-nat-datagram.h"

G_BEGIN_DECLS

#define PUNCH_INTERVAL_MS      100
#define RETRY_INTERVAL_MS      250
#define CONNECT_TIMEOUT_MS     5000   /* for the server's nat-session */
#define SESSION_GIVE_UP_MS     10000  /* a passive session never used */
#define FULL_TTL               64
#define SHORT_TTL_US           (1000 * 1000)
#define MAX_FRAME_CONTENT      (FILER_NAT_MAX_DATAGRAM)

typedef enum
{
  PATH_NONE,
  PATH_DIRECT,
  PATH_RELAY,
} Path;

typedef struct
{
  gatomicrefcount ref;
  FilerNatClient *client;       /* NULL once the client is gone */

  guint8 token[FILER_NAT_TOKEN_SIZE];
  char *token_hex;
  char *peer_id;
  gboolean initiator;           /* we asked: we send the stream's SYN */
  gboolean first;               /* our role: open our NAT first */
  gboolean go;                  /* may punch now */
  gboolean relay_only;          /* the server said punching cannot work */
  gboolean heard;               /* a punch or ack came directly */
  gboolean confirmed;           /* an ack came: both directions work */
  gboolean accepted;            /* the server knows we got the offer */
  gboolean listening;           /* the passive handshake has begun */
  Path path;

  GSocketAddress *peer_public;  /* as the server saw it */
  GSocketAddress *peer_direct;  /* where the peer's packets come from */
  gint64 started_us;
  gint64 last_ready_us;

  guint punch_id;
  guint keepalive_id;

  gboolean quic;                /* the stream engine: QUIC, or PseudoTcp */
  GIOStream *stream;            /* weak once handed over */
  GIOStream *pending;           /* strong while the passive side waits */
  GTask *task;                  /* the initiator's connect */
} Session;

struct _FilerNatClient
{
  GObject parent_instance;

  char *peer_id;
  char *server_text;
  GSocketAddress *server;
  GSocketAddress *server2;      /* the server's second port */
  GSocket *socket;
  GSource *source;
  guint bind_id;

  char *public_address;
  char *public_address2;
  char *mapping;

  guint keepalive_ms;
  guint relay_after_ms;
  guint punch_ttl;
  guint current_ttl;            /* what the socket is set to now */
  gboolean force_relay;
  const char *stream_engine;    /* "quic" or "pseudotcp" */

  GHashTable *sessions;         /* token hex -> Session* */
  GHashTable *connects;         /* attempt -> GTask* waiting for nat-session */
};

/* filer-nat-client.c */
void      filer_nat_client_emit_incoming         (FilerNatClient *self,
                                                  GIOStream      *stream,
                                                  const char     *peer_id,
                                                  const char     *path);

/* filer-nat-binding.c: the socket's TTL, frames to the server, the binding */
void      filer_nat_client_set_ttl               (FilerNatClient *self,
                                                  guint           ttl);
void      filer_nat_client_send_frame            (FilerNatClient *self,
                                                  GSocketAddress *to,
                                                  FilerFrame     *frame);
gboolean  filer_nat_client_bind_cb               (gpointer        user_data);
void      filer_nat_client_handle_bound          (FilerNatClient *self,
                                                  FilerFrame     *frame,
                                                  gboolean        from_second_port);

/* filer-nat-relay.c: peer datagrams out (direct or relayed), relay frames in */
void      filer_nat_client_send_peer             (FilerNatClient *self,
                                                  Session        *session,
                                                  Path            path,
                                                  FilerNatKind    kind,
                                                  const guint8   *payload,
                                                  gsize           length,
                                                  guint           ttl);
void      filer_nat_client_handle_relay          (FilerNatClient *self,
                                                  FilerFrame     *frame);
void      filer_nat_client_handle_relay_closed   (FilerNatClient *self,
                                                  FilerFrame     *frame);

/* filer-nat-punch.c: a session, its punching and its stream */
Session  *filer_nat_session_new                  (FilerNatClient *self,
                                                  FilerFrame     *frame,
                                                  gboolean        initiator);
void      filer_nat_session_unref                (gpointer        data);
void      filer_nat_session_fail                 (Session        *session,
                                                  GError         *error);
void      filer_nat_session_remove               (Session        *session);
gboolean  filer_nat_session_punch_cb             (gpointer        user_data);
gboolean  filer_nat_valid_session_frame          (FilerFrame     *frame);
void      filer_nat_client_stream_abort          (GIOStream      *stream,
                                                  const GError   *error);
void      filer_nat_client_handle_peer_datagram  (FilerNatClient *self,
                                                  const guint8   *data,
                                                  gsize           length,
                                                  GSocketAddress *from,
                                                  gboolean        relayed);
void      filer_nat_client_handle_offer          (FilerNatClient *self,
                                                  FilerFrame     *frame);

G_END_DECLS
