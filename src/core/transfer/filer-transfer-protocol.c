/* filer-transfer-protocol.c: the transfer messages (docs/protocol.md §3)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "filer-json-check-private.h"
#include "filer-transfer-protocol.h"
#include "filer-transfer-error.h"
#include "filer-safe-path.h"

#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

static gboolean
protocol_error (GError     **error,
                const char  *message)
{
  g_set_error_literal (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL, message);
  return FALSE;
}

guint64
filer_transfer_n_chunks (guint64 size)
{
  return (size + FILER_TRANSFER_CHUNK_SIZE - 1) / FILER_TRANSFER_CHUNK_SIZE;
}

/**
 * filer_transfer_hashes_to_header:
 * @algorithms: what this sender can verify with, preferred first
 * @n_algorithms: how many
 *
 * Returns: (transfer full): the offer's "hashes" value, "xxh3-128,sha256"
 */
char *
filer_transfer_hashes_to_header (const FilerHashAlgorithm *algorithms,
                                 guint                     n_algorithms)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n_algorithms; i++)
    {
      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append (text, filer_hash_algorithm_to_string (algorithms[i]));
    }
  return g_string_free (text, FALSE);
}

/**
 * filer_transfer_choose_hash:
 * @offered: (nullable): the offer's "hashes" header
 * @chosen: (out): the receiver's pick
 *
 * The first of this receiver's allowed algorithms (filer_hash_get_allowed())
 * that the sender offered, else SHA-256; names we do not know are
 * skipped. No header means a sender from before the negotiation: SHA-256.
 *
 * Returns: %FALSE when the offer lacks SHA-256 and everything we allow
 *   (then the receiver answers with a protocol error)
 */
gboolean
filer_transfer_choose_hash (const char         *offered,
                            FilerHashAlgorithm *chosen)
{
  FilerHashAlgorithm allowed[FILER_HASH_N_ALGORITHMS];
  gboolean in_offer[FILER_HASH_N_ALGORITHMS] = { FALSE, };
  guint n_allowed = filer_hash_get_allowed (allowed);
  g_auto(GStrv) names = NULL;

  if (offered == NULL)
    in_offer[FILER_HASH_SHA256] = TRUE;
  else
    {
      names = g_strsplit (offered, ",", 16);
      for (guint i = 0; names[i] != NULL; i++)
        {
          FilerHashAlgorithm algorithm;

          if (filer_hash_algorithm_from_string (g_strstrip (names[i]), &algorithm))
            in_offer[algorithm] = TRUE;
        }
    }

  for (guint i = 0; i < n_allowed; i++)
    if (in_offer[allowed[i]])
      {
        *chosen = allowed[i];
        return TRUE;
      }
  /* Every peer must be able to verify with SHA-256, whatever it prefers. */
  *chosen = FILER_HASH_SHA256;
  return in_offer[FILER_HASH_SHA256];
}

static JsonArray *
parse_files_array (GBytes      *content,
                   JsonParser  *parser,
                   guint64      max_elements,
                   GError     **error)
{
  gsize length = 0;
  const char *text = content != NULL ? g_bytes_get_data (content, &length) : NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *problem = NULL;
  gboolean escaped_nul = FALSE;
  JsonNode *root;
  JsonNode *files;

  if (text == NULL || length == 0)
    return protocol_error (error, "The message has no content"), NULL;

  /* Checked before json-glib sees it: filer-json-check.c says why. */
  switch (filer_json_check (text, length, max_elements, &escaped_nul, &problem))
    {
    case FILER_JSON_OK:
      break;
    case FILER_JSON_TOO_DEEP:
      return protocol_error (error, "The message content nests too deeply"), NULL;
    case FILER_JSON_TOO_MANY:
      return protocol_error (error, "The message’s list holds more entries than its header announces"), NULL;
    case FILER_JSON_INVALID:
    default:
      g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                   "The message content is not valid JSON: %s", problem);
      return NULL;
    }
  if (escaped_nul)
    {
      g_set_error_literal (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_UNSAFE_NAME,
                           "Refused a file name: it holds a NUL character");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      g_set_error (error, FILER_TRANSFER_ERROR, FILER_TRANSFER_ERROR_PROTOCOL,
                   "The message content is not valid JSON: %s", local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return protocol_error (error, "The message content is not a JSON object"), NULL;
  files = json_object_get_member (json_node_get_object (root), "files");
  if (files == NULL || !JSON_NODE_HOLDS_ARRAY (files))
    return protocol_error (error, "The message content has no “files” array"), NULL;
  return json_node_get_array (files);
}

/* Reads a non-negative integer member; JSON numbers past 2^53 are not
 * exact, so sizes are capped there (8 PiB is enough). */
static gboolean
get_uint_member (JsonObject  *object,
                 const char  *name,
                 guint64     *value)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0 || v > (G_GINT64_CONSTANT (1) << 53))
    return FALSE;
  *value = (guint64)v;
  return TRUE;
}

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* The finished object in @builder as compact JSON. */
static GBytes *
builder_to_bytes (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  gsize length = 0;
  char *text;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  return g_bytes_new_take (text, length);
}

/**
 * filer_transfer_offer_to_json:
 * @files: a #GListModel of #FilerTransferFile
 *
 * Returns: (transfer full): {"files":[{"path":…,"size":…,"chunks":…},…]}
 */
GBytes *
filer_transfer_offer_to_json (GListModel *files)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint n = g_list_model_get_n_items (files);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FilerTransferFile) file = g_list_model_get_item (files, i);
      guint64 size = filer_transfer_file_get_size (file);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, filer_transfer_file_get_path (file));
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64)size);
      json_builder_set_member_name (builder, "chunks");
      json_builder_add_int_value (builder, (gint64)filer_transfer_n_chunks (size));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return builder_to_bytes (builder);
}

/**
 * filer_transfer_offer_from_json:
 * @content: the offer's content
 * @expected_files: the header's "files"
 * @expected_size: the header's "size"
 * @error: %FILER_TRANSFER_ERROR_UNSAFE_NAME for a hostile name,
 *   %FILER_TRANSFER_ERROR_PROTOCOL for anything else
 *
 * Parses and checks an offer: every path passes filer_safe_path_check(),
 * no path repeats, chunks matches size, and the counts match the header.
 *
 * Returns: (transfer full) (element-type FilerTransferFile): the files
 */
GPtrArray *
filer_transfer_offer_from_json (GBytes   *content,
                                guint64   expected_files,
                                guint64   expected_size,
                                GError  **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GPtrArray) result = NULL;
  g_autoptr(GHashTable) seen = NULL;
  JsonArray *files;
  guint n;
  guint64 total = 0;

  /* Before anything is parsed: the cap (§3.3), then the list's length. */
  if (expected_files > FILER_TRANSFER_MAX_FILES)
    return protocol_error (error, "The offer lists more files than a receiver takes "
                                  "(" G_STRINGIFY (FILER_TRANSFER_MAX_FILES) ")"), NULL;
  files = parse_files_array (content, parser, expected_files, error);
  if (files == NULL)
    return NULL;

  n = json_array_get_length (files);
  /* Nothing to send is no offer: a sender with no files does not connect,
   * and the receiver must not ask its user about (or decline) nothing. */
  if (n == 0)
    return protocol_error (error, "The offer lists no files"), NULL;
  if (n != expected_files)
    return protocol_error (error, "The offer’s file count does not match its list"), NULL;

  result = g_ptr_array_new_full (n, g_object_unref);
  seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      JsonObject *object;
      const char *path;
      guint64 size, chunks;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return protocol_error (error, "An offered file is not a JSON object"), NULL;
      object = json_node_get_object (node);

      path = get_string_member (object, "path");
      if (path == NULL)
        return protocol_error (error, "An offered file has no path"), NULL;
      if (!filer_safe_path_check (path, error))
        return NULL;
      if (!get_uint_member (object, "size", &size) ||
          !get_uint_member (object, "chunks", &chunks))
        return protocol_error (error, "An offered file has no valid size or chunks"), NULL;
      if (chunks != filer_transfer_n_chunks (size))
        return protocol_error (error, "An offered file’s chunk count does not match its size"), NULL;
      if (!g_hash_table_add (seen, (gpointer)path))
        return protocol_error (error, "The offer names the same file twice"), NULL;

      /* Each size is below 2^53, but 2,048 of them can wrap a guint64 to
       * a small total that passes every check after this one. */
      if (size > G_MAXUINT64 - total)
        return protocol_error (error, "The offer’s sizes add up past 2^64 bytes"), NULL;
      total += size;
      g_ptr_array_add (result, filer_transfer_file_new (i, path, size));
    }

  if (total != expected_size)
    return protocol_error (error, "The offer’s total size does not match its list"), NULL;

  return g_steal_pointer (&result);
}

/**
 * filer_transfer_accept_to_json:
 * @entries: the accepted files, in offer order
 * @n_entries: how many
 *
 * @algorithm: the negotiated hash: names the prefix hash member
 *
 * Returns: (transfer full): {"files":[{"index":…,"offset":…[,"xxh3-128":…]},…]}
 */
GBytes *
filer_transfer_accept_to_json (const FilerAcceptEntry *entries,
                               guint                   n_entries,
                               FilerHashAlgorithm      algorithm)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n_entries; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "index");
      json_builder_add_int_value (builder, entries[i].index);
      json_builder_set_member_name (builder, "offset");
      json_builder_add_int_value (builder, (gint64)entries[i].offset);
      if (entries[i].offset > 0)
        {
          json_builder_set_member_name (builder, filer_hash_algorithm_to_string (algorithm));
          json_builder_add_string_value (builder, entries[i].hash);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return builder_to_bytes (builder);
}

/**
 * filer_transfer_accept_from_json:
 * @content: the accept message's content
 * @offered: the #FilerTransferFile list we offered
 * @algorithm: the negotiated hash: names the prefix hash member
 * @error: return location for an error
 *
 * Returns: (transfer full) (element-type FilerAcceptEntry): the accepted
 *   files with strictly increasing indices, offsets within their sizes
 */
GArray *
filer_transfer_accept_from_json (GBytes              *content,
                                 GListModel          *offered,
                                 FilerHashAlgorithm   algorithm,
                                 GError             **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GArray) result = g_array_new (FALSE, TRUE, sizeof (FilerAcceptEntry));
  guint n_offered = g_list_model_get_n_items (offered);
  JsonArray *files;
  gint64 previous = -1;

  files = parse_files_array (content, parser, n_offered, error);
  if (files == NULL)
    return NULL;

  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      g_autoptr(FilerTransferFile) file = NULL;
      FilerAcceptEntry entry = { 0, };
      JsonObject *object;
      guint64 index;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return protocol_error (error, "An accepted file is not a JSON object"), NULL;
      object = json_node_get_object (node);

      if (!get_uint_member (object, "index", &index) || index >= n_offered ||
          (gint64)index <= previous)
        return protocol_error (error, "An accepted file has a bad index"), NULL;
      previous = (gint64)index;
      entry.index = (guint)index;

      file = g_list_model_get_item (offered, entry.index);
      if (!get_uint_member (object, "offset", &entry.offset) ||
          entry.offset > filer_transfer_file_get_size (file))
        return protocol_error (error, "An accepted file has a bad offset"), NULL;

      if (entry.offset > 0)
        {
          const char *hash = get_string_member (object, filer_hash_algorithm_to_string (algorithm));

          if (!filer_hash_is_hex (algorithm, hash))
            return protocol_error (error, "A resumed file has no valid prefix hash"), NULL;
          g_strlcpy (entry.hash, hash, sizeof entry.hash);
        }

      g_array_append_val (result, entry);
    }

  /* A receiver that wants none of the files declines; an empty accept
   * would end the transfer as "completed" with nothing sent. */
  if (result->len == 0)
    return protocol_error (error, "The accept lists no files"), NULL;

  return g_steal_pointer (&result);
}

/**
 * filer_transfer_enable_keepalive:
 * @stream: a transfer's stream: a #GSocketConnection, or TLS over one
 *
 * A state that waits for a person (the sender waiting for the answer)
 * has no deadline of its own; TCP keepalive is what notices that the
 * peer's machine went away without closing.
 *
 * Returns: whether @stream runs over a TCP socket (and keepalive is on)
 */
gboolean
filer_transfer_enable_keepalive (GIOStream *stream)
{
  GIOStream *base = stream;
  GSocket *socket;

  /* TLS: the socket is under the TLS connection. */
  while (base != NULL && !G_IS_SOCKET_CONNECTION (base) &&
         g_object_class_find_property (G_OBJECT_GET_CLASS (base), "base-io-stream") != NULL)
    {
      GIOStream *next = NULL;

      g_object_get (base, "base-io-stream", &next, NULL);
      if (next != NULL)
        g_object_unref (next);   /* @stream holds it */
      base = next;
    }
  if (base == NULL || !G_IS_SOCKET_CONNECTION (base))
    return FALSE;

  socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (base));
  if (g_socket_get_socket_type (socket) != G_SOCKET_TYPE_STREAM ||
      (g_socket_get_family (socket) != G_SOCKET_FAMILY_IPV4 &&
       g_socket_get_family (socket) != G_SOCKET_FAMILY_IPV6))
    return FALSE;

  g_socket_set_keepalive (socket, TRUE);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPIDLE, FILER_TRANSFER_KEEPALIVE_IDLE_S, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPINTVL, FILER_TRANSFER_KEEPALIVE_INTERVAL_S, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPCNT, FILER_TRANSFER_KEEPALIVE_COUNT, NULL);
  return TRUE;
}
