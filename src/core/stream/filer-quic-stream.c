/* filer-quic-stream.c: a reliable byte stream over datagrams: QUIC (ngtcp2)
 *
 * One engine of FilerDatagramStream (the other is PseudoTcp,
 * filer-pseudotcp-stream.c; docs/nat-stream.md compares them): QUIC
 * v1 by ngtcp2 with TLS 1.3 by GnuTLS, CUBIC congestion control, ACK
 * ranges and pacing. Everything that touches ngtcp2 is in this file: it
 * is a pre-1.0 API.
 *
 * The connection carries one bidirectional stream, opened by the client
 * (the initiator). Packets go out through the owner's send function (a
 * punched path or the relay) and come in through receive_segment(); the
 * network path ngtcp2 sees is a constant pair of placeholder addresses,
 * since the owner, not QUIC, knows where the peer is.
 *
 * Sent data stays in a queue of chunks until QUIC reports it
 * acknowledged (ngtcp2 keeps pointers into it for retransmission).
 * Received data waits in a buffer of at most the stream window; reading
 * it opens the window again.
 *
 * Both sides present the device's certificate and check the peer's key
 * against the device id the owner expects ("the device keys" below): the
 * path is encrypted and authenticated, and the proven id is on the stream
 * (filer_datagram_stream_get_peer_id()).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-quic-stream.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>


#define ALPN                "filer/1"
#define STREAM_WINDOW       (4 * 1024 * 1024)
#define CONNECTION_WINDOW   (8 * 1024 * 1024)
#define SEND_BUFFER         (4 * 1024 * 1024)
#define MAX_PACKETS_PER_RUN 256
#define CLOSE_GRACE_US      (3 * G_USEC_PER_SEC)
#define PRIORITIES          "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE"

struct _FilerQuicStream
{
  FilerDatagramStream parent_instance;

  /* owned */
  ngtcp2_conn *conn;
  gnutls_session_t tls;
  gnutls_certificate_credentials_t credentials;   /* the identity's */
  ngtcp2_crypto_conn_ref conn_ref;
  GError *auth_error;           /* why the peer's key was refused */

  struct sockaddr_in local;     /* placeholders for ngtcp2's path */
  struct sockaddr_in remote;

  int64_t stream_id;            /* -1 until opened */
  GQueue chunks;                /* GBytes not yet acknowledged */
  guint64 chunks_base;          /* stream offset of the first chunk */
  guint64 queued;               /* bytes written by the user */
  guint64 handed;               /* bytes given to ngtcp2 */
  guint64 acked;
  GByteArray *rbuf;
  gsize rbuf_read;              /* consumed bytes at the front of rbuf */

  guint initiator : 1;
  guint peer_proven : 1;        /* verify_peer_cb accepted the peer's key */
  guint started : 1;            /* the handshake has begun */
  guint established : 1;
  guint want_fin : 1;
  guint fin_sent : 1;
  guint fin_received : 1;
  guint peer_closed : 1;        /* CONNECTION_CLOSE from the peer */
  guint closed : 1;             /* we sent CONNECTION_CLOSE */
};

G_DEFINE_FINAL_TYPE (FilerQuicStream, filer_quic_stream, FILER_TYPE_DATAGRAM_STREAM)

#define BASE(self) FILER_DATAGRAM_STREAM (self)
#define FAILED(self) (filer_datagram_stream_get_error (BASE (self)) != NULL)

static void flush (FilerQuicStream *self);

/* --- the device keys --------------------------------------------------- */

/* Both ends present their device certificate (FilerIdentity: the key
 * whose hash is the device id) and require the other's: the server asks
 * for the client's with GNUTLS_CERT_REQUIRE. The certificates are
 * self-signed, so there is no chain to check; what is checked is the only
 * thing that matters, the id the peer's public key makes
 * (filer_identity_id_for_der), against the id the owner expects. GnuTLS
 * runs the verify function after the peer's CertificateVerify, so the
 * peer has also proven it holds the key. A mismatch fails the handshake
 * before any stream data can flow: the stream is opened only once the
 * handshake completed, and handshake_completed_cb checks once more that
 * an id was proven. */

static FilerQuicStream *
stream_for_session (gnutls_session_t session)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);

  return ref ? ref->user_data : NULL;
}

static int
verify_peer_cb (gnutls_session_t session)
{
  FilerQuicStream *self = stream_for_session (session);
  const char *expected;
  g_autofree char *id = NULL;

  if (self == NULL)
    return GNUTLS_E_CERTIFICATE_ERROR;

  expected = filer_datagram_stream_get_expected_peer_id (BASE (self));
  id = filer_identity_id_for_session_peer (session);

  if (id == NULL)
    {
      g_clear_error (&self->auth_error);
      self->auth_error = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                                              "The peer presented no device certificate");
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  if (expected != NULL && g_strcmp0 (id, expected) != 0)
    {
      g_clear_error (&self->auth_error);
      self->auth_error = g_error_new (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                                      "The peer's key is device %s, not the expected %s",
                                      id, expected);
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  filer_datagram_stream_set_peer_id (BASE (self), id);
  self->peer_proven = TRUE;
  return 0;
}

/* The stream's credentials: our device certificate and key. */
static gboolean
load_credentials (FilerQuicStream  *self,
                  GError          **error)
{
  FilerIdentity *identity = filer_datagram_stream_get_identity (BASE (self));

  if (identity == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           "The QUIC stream has no device key (filer_datagram_stream_set_identity)");
      return FALSE;
    }

  if (self->credentials == NULL)
    self->credentials = filer_identity_get_gnutls_credentials (identity, error);

  return self->credentials != NULL;
}

/* --- errors and events -------------------------------------------------- */

static void
wake (FilerQuicStream *self,
      GIOCondition     condition)
{
  filer_datagram_stream_wake (BASE (self), condition);
}

static void
schedule_events (FilerQuicStream *self)
{
  filer_datagram_stream_schedule (BASE (self));
}

static void
fail (FilerQuicStream *self,
      GError          *error)
{
  filer_datagram_stream_abort (BASE (self), error);
  g_error_free (error);
}

static void
fail_ngtcp2 (FilerQuicStream *self,
             const char      *what,
             int              rv)
{
  if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_CLOSING)
    {
      /* The peer closed the connection: a clean end if its FIN came. */
      self->peer_closed = TRUE;
      if (self->fin_received && self->want_fin)
        {
          wake (self, G_IO_IN | G_IO_OUT);
          schedule_events (self);
          return;
        }
      if (!self->established)
        fail (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                         "The peer ended the handshake (it may not accept our device key)"));
      else
        fail (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                         "The peer closed the connection"));
      return;
    }

  if (rv == NGTCP2_ERR_IDLE_CLOSE)
    {
      fail (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                       "The peer stopped answering"));
      return;
    }

  fail (self, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "QUIC %s: %s", what, ngtcp2_strerror (rv)));
}

static ngtcp2_tstamp
now_ns (void)
{
  return (ngtcp2_tstamp)g_get_monotonic_time () * 1000;
}

static void send_packet (FilerQuicStream *self,
                         const uint8_t   *packet,
                         gsize            length);

/* The handshake failed here (the peer's key is not the one expected, or
 * its TLS is broken): tell the peer with a CONNECTION_CLOSE carrying the
 * TLS alert, so that it fails at once rather than at its idle timeout,
 * and end the stream with the reason. */
static void
refuse_handshake (FilerQuicStream *self,
                  int              rv)
{
  uint8_t packet[FILER_QUIC_MAX_PACKET];
  ngtcp2_path_storage storage;
  ngtcp2_pkt_info info;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_ssize written;

  if (!self->closed)
    {
      self->closed = TRUE;
      ngtcp2_path_storage_zero (&storage);
      ngtcp2_connection_close_error_default (&ccerr);
      ngtcp2_connection_close_error_set_transport_error_liberr (&ccerr, rv, NULL, 0);
      written = ngtcp2_conn_write_connection_close (self->conn, &storage.path, &info, packet, sizeof packet,
                                                    &ccerr, now_ns ());
      g_debug ("quic: refusing the handshake: close %zd", (gssize)written);
      if (written > 0)
        send_packet (self, packet, written);
    }

  if (self->auth_error)
    fail (self, g_steal_pointer (&self->auth_error));
  else
    fail (self, g_error_new (G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE, "QUIC handshake: %s", ngtcp2_strerror (rv)));
}

/* --- ngtcp2 callbacks: record, wake, never call back into the user ------ */

static void
rand_cb (uint8_t                *dest,
         size_t                  destlen,
         const ngtcp2_rand_ctx  *rand_ctx)
{
  gnutls_rnd (GNUTLS_RND_RANDOM, dest, destlen);
}

static int
get_new_connection_id_cb (ngtcp2_conn *conn,
                          ngtcp2_cid  *cid,
                          uint8_t     *token,
                          size_t       cidlen,
                          void        *user_data)
{
  if (gnutls_rnd (GNUTLS_RND_RANDOM, cid->data, cidlen) != 0
      || gnutls_rnd (GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;

  cid->datalen = cidlen;
  return 0;
}

static int
handshake_completed_cb (ngtcp2_conn *conn,
                        void        *user_data)
{
  FilerQuicStream *self = user_data;

  /* No stream before the peer's key is proven (verify_peer_cb). */
  if (!self->peer_proven)
    {
      if (self->auth_error == NULL)
        self->auth_error = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                                                "The peer did not prove a device key");
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }

  /* The client opens the one stream at once. */
  if (self->initiator && self->stream_id < 0)
    {
      int rv = ngtcp2_conn_open_bidi_stream (conn, &self->stream_id, NULL);

      if (rv != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }

  self->established = TRUE;
  filer_datagram_stream_set_established (BASE (self));
  return 0;
}

static int
stream_open_cb (ngtcp2_conn *conn,
                int64_t      stream_id,
                void        *user_data)
{
  FilerQuicStream *self = user_data;

  if (self->stream_id < 0)
    {
      self->stream_id = stream_id;
      wake (self, G_IO_OUT);
    }

  return 0;
}

static int
recv_stream_data_cb (ngtcp2_conn   *conn,
                     uint32_t       flags,
                     int64_t        stream_id,
                     uint64_t       offset,
                     const uint8_t *data,
                     size_t         datalen,
                     void          *user_data,
                     void          *stream_user_data)
{
  FilerQuicStream *self = user_data;

  if (stream_id != self->stream_id)
    return 0;   /* one stream only */

  g_byte_array_append (self->rbuf, data, datalen);
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN)
    self->fin_received = TRUE;

  wake (self, G_IO_IN);
  return 0;
}

static int
acked_stream_data_offset_cb (ngtcp2_conn *conn,
                             int64_t      stream_id,
                             uint64_t     offset,
                             uint64_t     datalen,
                             void        *user_data,
                             void        *stream_user_data)
{
  FilerQuicStream *self = user_data;

  self->acked = MAX (self->acked, offset + datalen);

  /* Chunks wholly acknowledged are not needed for retransmission. */
  while (!g_queue_is_empty (&self->chunks))
    {
      GBytes *chunk = g_queue_peek_head (&self->chunks);
      gsize size = g_bytes_get_size (chunk);

      if (self->chunks_base + size > self->acked)
        break;

      self->chunks_base += size;
      g_bytes_unref (g_queue_pop_head (&self->chunks));
    }

  wake (self, G_IO_OUT);
  schedule_events (self);
  return 0;
}

static ngtcp2_conn *
get_conn_cb (ngtcp2_crypto_conn_ref *ref)
{
  FilerQuicStream *self = ref->user_data;

  return self->conn;
}

static void
fill_callbacks (ngtcp2_callbacks *callbacks,
                gboolean          client)
{
  memset (callbacks, 0, sizeof *callbacks);

  if (client)
    {
      callbacks->client_initial = ngtcp2_crypto_client_initial_cb;
      callbacks->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
  else
    callbacks->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;

  callbacks->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  callbacks->encrypt = ngtcp2_crypto_encrypt_cb;
  callbacks->decrypt = ngtcp2_crypto_decrypt_cb;
  callbacks->hp_mask = ngtcp2_crypto_hp_mask_cb;
  callbacks->update_key = ngtcp2_crypto_update_key_cb;
  callbacks->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  callbacks->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  callbacks->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  callbacks->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  callbacks->rand = rand_cb;
  callbacks->get_new_connection_id = get_new_connection_id_cb;
  callbacks->handshake_completed = handshake_completed_cb;
  callbacks->stream_open = stream_open_cb;
  callbacks->recv_stream_data = recv_stream_data_cb;
  callbacks->acked_stream_data_offset = acked_stream_data_offset_cb;
}

static void
fill_settings (ngtcp2_settings         *settings,
               ngtcp2_transport_params *params)
{
  ngtcp2_settings_default (settings);
  settings->initial_ts = now_ns ();
  settings->max_tx_udp_payload_size = FILER_QUIC_MAX_PACKET;
  settings->no_tx_udp_payload_size_shaping = 1;
  settings->cc_algo = NGTCP2_CC_ALGO_CUBIC;
  settings->max_window = CONNECTION_WINDOW;
  settings->max_stream_window = STREAM_WINDOW;

  ngtcp2_transport_params_default (params);
  params->initial_max_streams_bidi = 1;
  params->initial_max_stream_data_bidi_local = STREAM_WINDOW;
  params->initial_max_stream_data_bidi_remote = STREAM_WINDOW;
  params->initial_max_data = CONNECTION_WINDOW;
  /* Our own idle clock (keepalives count, which QUIC does not see) ends
   * the stream; QUIC's is only a backstop. */
  params->max_idle_timeout = 600 * NGTCP2_SECONDS;
}

static ngtcp2_path
make_path (FilerQuicStream *self)
{
  ngtcp2_path path = {
    { (struct sockaddr *)&self->local, sizeof self->local },
    { (struct sockaddr *)&self->remote, sizeof self->remote },
    NULL,
  };

  return path;
}

static gboolean
setup_tls (FilerQuicStream  *self,
           gboolean          client,
           GError          **error)
{
  gnutls_datum_t alpn = { (unsigned char *)ALPN, sizeof ALPN - 1 };
  int rv;

  rv = gnutls_init (&self->tls, client ? GNUTLS_CLIENT : GNUTLS_SERVER);
  if (rv == 0)
    rv = gnutls_priority_set_direct (self->tls, PRIORITIES, NULL);
  if (rv == 0)
    rv = client ? ngtcp2_crypto_gnutls_configure_client_session (self->tls)
                : ngtcp2_crypto_gnutls_configure_server_session (self->tls);
  if (rv == 0)
    rv = gnutls_credentials_set (self->tls, GNUTLS_CRD_CERTIFICATE, self->credentials);
  if (rv == 0 && !client)
    gnutls_certificate_server_set_request (self->tls, GNUTLS_CERT_REQUIRE);
  if (rv == 0)
    gnutls_session_set_verify_function (self->tls, verify_peer_cb);
  if (rv == 0)
    rv = gnutls_alpn_set_protocols (self->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY);

  if (rv != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS set-up failed: %s", gnutls_strerror (rv));
      return FALSE;
    }

  self->conn_ref.get_conn = get_conn_cb;
  self->conn_ref.user_data = self;
  gnutls_session_set_ptr (self->tls, &self->conn_ref);
  ngtcp2_conn_set_tls_native_handle (self->conn, self->tls);
  return TRUE;
}

/* --- sending ------------------------------------------------------------- */

/* Points @vec at the written bytes ngtcp2 has not had yet. */
static size_t
unsent_vectors (FilerQuicStream *self,
                ngtcp2_vec      *vec,
                size_t           max)
{
  guint64 offset = self->chunks_base;
  size_t n = 0;

  for (GList *l = self->chunks.head; l && n < max; l = l->next)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (l->data, &size);

      if (offset + size > self->handed)
        {
          guint64 skip = self->handed > offset ? self->handed - offset : 0;

          vec[n].base = (uint8_t *)data + skip;
          vec[n].len = size - skip;
          n++;
        }
      offset += size;
    }

  return n;
}

static void
send_packet (FilerQuicStream *self,
             const uint8_t   *packet,
             gsize            length)
{
  filer_datagram_stream_send_segment (BASE (self), packet, length);
}

static void
arm_clock (FilerQuicStream *self)
{
  filer_datagram_stream_update_clock (BASE (self));
}

static void
flush (FilerQuicStream *self)
{
  uint8_t packet[FILER_QUIC_MAX_PACKET];
  ngtcp2_path_storage storage;
  ngtcp2_pkt_info info;
  ngtcp2_tstamp ts = now_ns ();

  if (self->conn == NULL || FAILED (self) || self->closed || self->peer_closed)
    return;

  ngtcp2_path_storage_zero (&storage);

  for (guint i = 0; i < MAX_PACKETS_PER_RUN; i++)
    {
      ngtcp2_vec vec[16];
      size_t nvec = 0;
      ngtcp2_ssize datalen = -1;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      int64_t stream_id = -1;
      ngtcp2_ssize written;

      if (self->stream_id >= 0 && (self->handed < self->queued || (self->want_fin && !self->fin_sent)))
        {
          nvec = unsent_vectors (self, vec, G_N_ELEMENTS (vec));
          stream_id = self->stream_id;
          if (self->want_fin)
            flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        }

      written = ngtcp2_conn_writev_stream (self->conn, &storage.path, &info, packet, sizeof packet,
                                           &datalen, flags, stream_id, vec, nvec, ts);
      if (written < 0)
        {
          if (written == NGTCP2_ERR_WRITE_MORE)
            {
              /* Taken into the packet, and with it the FIN if that was
               * the last of the data: offering the FIN again once the
               * stream is gone (both FINs acknowledged) would fail the
               * connection with STREAM_NOT_FOUND. */
              self->handed += datalen;
              if (self->want_fin && self->handed == self->queued)
                self->fin_sent = TRUE;
              continue;
            }
          if (written == NGTCP2_ERR_STREAM_DATA_BLOCKED || written == NGTCP2_ERR_STREAM_SHUT_WR)
            {
              /* Flow control: send what else there is (acks). */
              written = ngtcp2_conn_writev_stream (self->conn, &storage.path, &info, packet, sizeof packet,
                                                   NULL, 0, -1, NULL, 0, ts);
              if (written <= 0)
                break;
              send_packet (self, packet, written);
              continue;
            }

          fail_ngtcp2 (self, "write", (int)written);
          break;
        }

      if (datalen > 0)
        self->handed += datalen;
      if (stream_id >= 0 && self->want_fin && datalen >= 0 && self->handed == self->queued)
        self->fin_sent = TRUE;

      if (written == 0)
        break;

      send_packet (self, packet, written);
    }

  arm_clock (self);
}

static void
send_connection_close (FilerQuicStream *self)
{
  uint8_t packet[FILER_QUIC_MAX_PACKET];
  ngtcp2_path_storage storage;
  ngtcp2_pkt_info info;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_ssize written;

  if (self->conn == NULL || self->closed || self->peer_closed)
    return;

  self->closed = TRUE;
  ngtcp2_path_storage_zero (&storage);
  ngtcp2_connection_close_error_default (&ccerr);
  ngtcp2_connection_close_error_set_application_error (&ccerr, 0, NULL, 0);
  written = ngtcp2_conn_write_connection_close (self->conn, &storage.path, &info, packet, sizeof packet,
                                                &ccerr, now_ns ());
  if (written > 0)
    send_packet (self, packet, written);
}

/* --- FilerDatagramStream ---------------------------------------------------- */

static void
placeholder_address (struct sockaddr_in *address,
                     guint16             port)
{
  memset (address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_port = g_htons (port);
  address->sin_addr.s_addr = g_htonl (0x7f000001);
}

static gboolean
filer_quic_stream_start (FilerDatagramStream  *stream,
                         gboolean              initiator,
                         GError              **error)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  self->initiator = initiator;
  self->started = TRUE;
  placeholder_address (&self->local, initiator ? 1 : 2);
  placeholder_address (&self->remote, initiator ? 2 : 1);

  if (!load_credentials (self, error))
    return FALSE;

  if (initiator && self->conn == NULL)
    {
      ngtcp2_callbacks callbacks;
      ngtcp2_settings settings;
      ngtcp2_transport_params params;
      ngtcp2_cid dcid, scid;
      ngtcp2_path path = make_path (self);
      g_autoptr(GError) local_error = NULL;
      int rv;

      fill_callbacks (&callbacks, TRUE);
      fill_settings (&settings, &params);
      dcid.datalen = NGTCP2_MAX_CIDLEN;
      scid.datalen = NGTCP2_MAX_CIDLEN;
      gnutls_rnd (GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
      gnutls_rnd (GNUTLS_RND_RANDOM, scid.data, scid.datalen);

      rv = ngtcp2_conn_client_new (&self->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                                   &callbacks, &settings, &params, NULL, self);
      if (rv != 0)
        fail_ngtcp2 (self, "connect", rv);
      else if (!setup_tls (self, TRUE, &local_error))
        fail (self, g_steal_pointer (&local_error));
      else
        flush (self);
    }

  return TRUE;
}

static void
filer_quic_stream_receive (FilerDatagramStream *stream,
                           const guint8        *segment,
                           gsize                length)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);
  ngtcp2_path path;
  ngtcp2_pkt_info info = { 0, };
  int rv;

  if (self->closed || self->peer_closed)
    return;

  path = make_path (self);

  if (self->conn == NULL)
    {
      ngtcp2_pkt_hd header;
      ngtcp2_callbacks callbacks;
      ngtcp2_settings settings;
      ngtcp2_transport_params params;
      ngtcp2_cid scid;
      g_autoptr(GError) error = NULL;

      /* Only a listening server makes a connection, from an Initial. */
      if (self->initiator || !self->started || ngtcp2_accept (&header, segment, length) != 0)
        return;

      fill_callbacks (&callbacks, FALSE);
      fill_settings (&settings, &params);
      params.original_dcid = header.dcid;
      scid.datalen = NGTCP2_MAX_CIDLEN;
      gnutls_rnd (GNUTLS_RND_RANDOM, scid.data, scid.datalen);

      rv = ngtcp2_conn_server_new (&self->conn, &header.scid, &scid, &path, header.version,
                                   &callbacks, &settings, &params, NULL, self);
      if (rv != 0)
        {
          fail_ngtcp2 (self, "accept", rv);
          return;
        }
      if (!setup_tls (self, FALSE, &error))
        {
          fail (self, g_steal_pointer (&error));
          return;
        }
    }

  rv = ngtcp2_conn_read_pkt (self->conn, &path, &info, segment, length, now_ns ());
  if (rv != 0)
    {
      if (!self->established && rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_CLOSING)
        refuse_handshake (self, rv);
      else
        fail_ngtcp2 (self, "read", rv);
      return;
    }

  flush (self);
}

static void
filer_quic_stream_tick (FilerDatagramStream *stream)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  if (self->conn && !FAILED (self) && !self->closed && !self->peer_closed
      && ngtcp2_conn_get_expiry (self->conn) <= now_ns ())
    {
      int rv = ngtcp2_conn_handle_expiry (self->conn, now_ns ());

      if (rv != 0)
        fail_ngtcp2 (self, "timer", rv);
    }

  flush (self);
}

static gboolean
filer_quic_stream_next_timeout (FilerDatagramStream *stream,
                                gint64              *ready_us)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  if (self->conn && !self->closed)
    {
      ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry (self->conn);

      if (expiry != UINT64_MAX)
        *ready_us = (gint64)(expiry / 1000);
    }

  return TRUE;
}

/* --- what the halves use ------------------------------------------------ */

static gboolean
filer_quic_stream_check (FilerDatagramStream *stream,
                         GIOCondition         condition)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  if (condition & G_IO_IN)
    return self->rbuf->len > self->rbuf_read || self->fin_received || self->peer_closed;

  if (condition & G_IO_OUT)
    return self->want_fin || self->peer_closed
           || (self->established && self->queued - self->acked < SEND_BUFFER);

  return FALSE;
}

static gssize
filer_quic_stream_read (FilerDatagramStream  *stream,
                        void                 *buffer,
                        gsize                 count,
                        GError              **error)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);
  const GError *failed = filer_datagram_stream_get_error (stream);
  gsize available = self->rbuf->len - self->rbuf_read;
  gsize n = MIN (count, available);

  /* What arrived before the stream failed can still be read. */
  if (n > 0)
    {
      memcpy (buffer, self->rbuf->data + self->rbuf_read, n);
      self->rbuf_read += n;
      if (self->rbuf_read == self->rbuf->len || self->rbuf_read > 1024 * 1024)
        {
          g_byte_array_remove_range (self->rbuf, 0, self->rbuf_read);
          self->rbuf_read = 0;
        }

      /* Reading opens the window again. */
      if (self->conn && !failed && !self->closed && !self->peer_closed)
        {
          ngtcp2_conn_extend_max_stream_offset (self->conn, self->stream_id, n);
          ngtcp2_conn_extend_max_offset (self->conn, n);
          flush (self);
        }
      return n;
    }

  if (count == 0 || self->fin_received)
    return 0;

  if (failed)
    {
      g_propagate_error (error, g_error_copy (failed));
      return -1;
    }

  if (self->peer_closed)
    return 0;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No data yet");
  return -1;
}

static gssize
filer_quic_stream_write (FilerDatagramStream  *stream,
                         const void           *buffer,
                         gsize                 count,
                         GError              **error)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);
  gsize room;

  if (self->want_fin || self->peer_closed || self->closed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The stream is closed for writing");
      return -1;
    }

  room = self->established ? SEND_BUFFER - MIN (SEND_BUFFER, self->queued - self->acked) : 0;
  if (room == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Send buffer full");
      return -1;
    }

  count = MIN (count, room);
  g_queue_push_tail (&self->chunks, g_bytes_new (buffer, count));
  self->queued += count;
  flush (self);

  return count;
}

static void
filer_quic_stream_shutdown_write (FilerDatagramStream *stream)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  if (self->want_fin)
    return;

  self->want_fin = TRUE;
  flush (self);
}

/* --- closing -------------------------------------------------------------- */

static void
filer_quic_stream_close (FilerDatagramStream *stream)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  /* Synchronous close: FIN and CONNECTION_CLOSE now, no waiting. */
  if (self->conn)
    {
      filer_quic_stream_shutdown_write (stream);
      send_connection_close (self);
    }
}

static void
filer_quic_stream_close_start (FilerDatagramStream *stream)
{
  filer_quic_stream_shutdown_write (stream);
}

static gboolean
filer_quic_stream_close_done (FilerDatagramStream *stream,
                              gint64               closing_us)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  /* Everything written (and the FIN) acknowledged, or a grace period. */
  return self->peer_closed || self->conn == NULL
         || (self->fin_sent && self->acked >= self->queued)
         || closing_us >= CLOSE_GRACE_US;
}

static gboolean
filer_quic_stream_close_finish (FilerDatagramStream *stream)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (stream);

  send_connection_close (self);
  return self->acked >= self->queued;
}

/* --- GObject -------------------------------------------------------------- */

static void
filer_quic_stream_dispose (GObject *object)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (object);

  g_clear_pointer (&self->conn, ngtcp2_conn_del);
  g_clear_pointer (&self->tls, gnutls_deinit);
  g_queue_clear_full (&self->chunks, (GDestroyNotify)g_bytes_unref);

  G_OBJECT_CLASS (filer_quic_stream_parent_class)->dispose (object);
}

static void
filer_quic_stream_finalize (GObject *object)
{
  FilerQuicStream *self = FILER_QUIC_STREAM (object);

  g_clear_pointer (&self->rbuf, g_byte_array_unref);
  g_clear_error (&self->auth_error);

  G_OBJECT_CLASS (filer_quic_stream_parent_class)->finalize (object);
}

static void
filer_quic_stream_class_init (FilerQuicStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FilerDatagramStreamClass *stream_class = FILER_DATAGRAM_STREAM_CLASS (klass);

  object_class->dispose = filer_quic_stream_dispose;
  object_class->finalize = filer_quic_stream_finalize;

  stream_class->start = filer_quic_stream_start;
  stream_class->receive = filer_quic_stream_receive;
  stream_class->tick = filer_quic_stream_tick;
  stream_class->next_timeout = filer_quic_stream_next_timeout;
  stream_class->read = filer_quic_stream_read;
  stream_class->write = filer_quic_stream_write;
  stream_class->check = filer_quic_stream_check;
  stream_class->shutdown_write = filer_quic_stream_shutdown_write;
  stream_class->close = filer_quic_stream_close;
  stream_class->close_start = filer_quic_stream_close_start;
  stream_class->close_done = filer_quic_stream_close_done;
  stream_class->close_finish = filer_quic_stream_close_finish;
}

static void
filer_quic_stream_init (FilerQuicStream *self)
{
  self->stream_id = -1;
  self->rbuf = g_byte_array_new ();
  g_queue_init (&self->chunks);
}
