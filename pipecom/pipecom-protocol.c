/* pipecom-protocol.c: the wire protocol codec, shared by both transports
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-protocol.h"

/* Encoding and decoding of what travels on the wire (docs/protocol.md):
 * announcement records, frame headers, HELLO and ERROR payloads. Nothing
 * here does I/O (see pipecom-protocol.h for the contract). */

G_STATIC_ASSERT (PIPECOM_ANNOUNCE_HEADER_SIZE + PIPECOM_ANNOUNCE_BASE_MAX <= PIPECOM_ANNOUNCE_MAX);
G_STATIC_ASSERT (PIPECOM_ANNOUNCE_HEADER_SIZE + PIPECOM_ANNOUNCE_INLINE_MAX < PIPECOM_ANNOUNCE_MAX);
G_STATIC_ASSERT (sizeof PIPECOM_ANNOUNCE_MAGIC - 1 == 4);

/* ---- Frames ---- */

void
_pipecom_encode_frame_header (guint8  *buf,
                              guint32  len,
                              guint8   type,
                              guint32  id)
{
  memset (buf, 0, PIPECOM_FRAME_HEADER_SIZE);
  _pipecom_put_u32 (buf, len);
  buf[4] = type;
  _pipecom_put_u32 (buf + 8, id);
}

PipecomFrameHeaderResult
_pipecom_decode_frame_header (const guint8        *data,
                              gsize                len,
                              guint64              max_len,
                              PipecomFrameHeader  *header,
                              GError             **error)
{
  return _pipecom_decode_frame_header_inline (data, len, max_len, header, error);
}

/* A whole frame: its header, then @len bytes of @payload. */
GBytes *
_pipecom_encode_frame (guint8      type,
                       guint32     id,
                       const void *payload,
                       gsize       len)
{
  guint8 *frame;

  g_return_val_if_fail ((guint64) len <= G_MAXUINT32, NULL);

  frame = g_malloc (PIPECOM_FRAME_HEADER_SIZE + len);
  _pipecom_encode_frame_header (frame, len, type, id);
  if (len > 0)
    memcpy (frame + PIPECOM_FRAME_HEADER_SIZE, payload, len);
  return g_bytes_new_take (frame, PIPECOM_FRAME_HEADER_SIZE + len);
}

/* The HELLO payload, PIPECOM_HELLO_SIZE bytes at @buf: the version, a
 * reserved word, the largest message accepted. */
void
_pipecom_encode_hello (guint8  *buf,
                       guint64  max_message_size)
{
  memset (buf, 0, PIPECOM_HELLO_SIZE);
  _pipecom_put_u32 (buf, PIPECOM_PROTOCOL_VERSION);
  _pipecom_put_u32 (buf + 8, max_message_size & 0xffffffff);
  _pipecom_put_u32 (buf + 12, max_message_size >> 32);
}

/* Checks a HELLO payload and gets the largest message the listener
 * accepts; a short one or one of another version is a PROTOCOL error.
 * Bytes after the first PIPECOM_HELLO_SIZE are ignored. */
gboolean
_pipecom_decode_hello (const guint8  *data,
                       gsize          len,
                       guint64       *max_message_size,
                       GError       **error)
{
  guint32 version;

  if (len < PIPECOM_HELLO_SIZE)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                   "Truncated HELLO (%" G_GSIZE_FORMAT " bytes, not %d)",
                   len, PIPECOM_HELLO_SIZE);
      return FALSE;
    }

  version = _pipecom_get_u32 (data);
  if (version != PIPECOM_PROTOCOL_VERSION)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                   "Unknown protocol version %u in HELLO (expected %d)",
                   version, PIPECOM_PROTOCOL_VERSION);
      return FALSE;
    }

  *max_message_size = ((guint64) _pipecom_get_u32 (data + 12) << 32) | _pipecom_get_u32 (data + 8);
  return TRUE;
}

/* The payload of an ERROR frame: the code, then the text (no NUL). */
GBytes *
_pipecom_error_payload_new (guint32     code,
                            const char *text)
{
  gsize len = strlen (text);
  guint8 *data = g_malloc (PIPECOM_ERROR_CODE_SIZE + len);

  _pipecom_put_u32 (data, code);
  memcpy (data + PIPECOM_ERROR_CODE_SIZE, text, len);
  return g_bytes_new_take (data, PIPECOM_ERROR_CODE_SIZE + len);
}

/* Parses an ERROR payload: returns its text, and its code in @code
 * (PIPECOM_ERROR_PROTOCOL if the payload is too short to have one). */
char *
_pipecom_error_payload_parse (GBytes  *payload,
                              guint32 *code)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);

  if (size < PIPECOM_ERROR_CODE_SIZE)
    {
      *code = PIPECOM_ERROR_PROTOCOL;
      return g_strdup ("malformed error");
    }

  *code = _pipecom_get_u32 (data);
  return g_strndup ((const char *) data + PIPECOM_ERROR_CODE_SIZE, size - PIPECOM_ERROR_CODE_SIZE);
}

/* Checks what every platform requires of a pipe name: no control
 * characters, not empty or blank. */
gboolean
_pipecom_check_name_chars (const char  *name,
                           GError     **error)
{
  gboolean blank = TRUE;

  for (const char *p = name; *p; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: control characters are not allowed",
                       name);
          return FALSE;
        }
      if (!g_ascii_isspace (*p))
        blank = FALSE;
    }

  if (blank)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name “%s”: a name must not be empty or blank", name);
      return FALSE;
    }

  return TRUE;
}

/* ---- The announcement record ---- */

/* Writes the record announcing @kind for the channel @base (with
 * @inline_len bytes of @inline_data for a ONESHOT) at @buf, which has room
 * for PIPECOM_ANNOUNCE_MAX bytes, and returns its length. The record must
 * fit: callers keep to PIPECOM_ANNOUNCE_BASE_MAX and
 * _pipecom_announce_inline_allowed(). */
gsize
_pipecom_encode_announce (guint8              *buf,
                          PipecomAnnounceKind  kind,
                          const char          *base,
                          const guint8        *inline_data,
                          gsize                inline_len)
{
  return _pipecom_encode_announce_len (buf, kind, base, strlen (base), inline_data, inline_len);
}

/* As _pipecom_encode_announce(), for a @base of @plen bytes, which a
 * sender knows from making it. */
gsize
_pipecom_encode_announce_len (guint8              *buf,
                              PipecomAnnounceKind  kind,
                              const char          *base,
                              gsize                plen,
                              const guint8        *inline_data,
                              gsize                inline_len)
{
  gsize total = PIPECOM_ANNOUNCE_HEADER_SIZE + plen + inline_len;

  g_assert (total <= PIPECOM_ANNOUNCE_MAX);

  memcpy (buf, PIPECOM_ANNOUNCE_MAGIC, 4);
  buf[4] = PIPECOM_PROTOCOL_VERSION;
  buf[5] = kind;
  _pipecom_put_u16 (buf + 6, total);
  _pipecom_put_u16 (buf + 8, plen);
  _pipecom_put_u16 (buf + 10, inline_len);
  memcpy (buf + PIPECOM_ANNOUNCE_HEADER_SIZE, base, plen);
  if (inline_len)
    memcpy (buf + PIPECOM_ANNOUNCE_HEADER_SIZE + plen, inline_data, inline_len);

  return total;
}

/* The size of the record whose PIPECOM_ANNOUNCE_HEADER_SIZE-byte header is
 * at @header, or 0 if it is not a valid record header. */
gsize
_pipecom_announce_record_size (const guint8 *header)
{
  guint16 total = _pipecom_get_u16 (header + 6);
  guint16 plen = _pipecom_get_u16 (header + 8);
  guint16 mlen = _pipecom_get_u16 (header + 10);

  if (memcmp (header, PIPECOM_ANNOUNCE_MAGIC, 4) != 0 || total < PIPECOM_ANNOUNCE_HEADER_SIZE ||
      total > PIPECOM_ANNOUNCE_MAX || total != PIPECOM_ANNOUNCE_HEADER_SIZE + plen + mlen ||
      plen == 0 || (header[5] != PIPECOM_ANNOUNCE_CONNECT && header[5] != PIPECOM_ANNOUNCE_ONESHOT))
    return 0;

  return total;
}

/* How many bytes of @data (which does not start with a valid record) to
 * drop: up to the next "PCOM", or all but a tail that may begin one. */
static gsize
resync_offset (const guint8 *data,
               gsize         len)
{
  for (gsize i = 1; i < len; i++)
    {
      gsize left = len - i;

      if (memcmp (data + i, PIPECOM_ANNOUNCE_MAGIC, MIN (left, 4)) == 0)
        return i;
    }

  return len;
}

/* The size of the complete valid record at the start of @data (its header
 * valid, all its bytes there, no NUL byte in its base), or 0. */
static gsize
complete_record_size (const guint8 *data,
                      gsize         len)
{
  gsize total;

  if (len < PIPECOM_ANNOUNCE_HEADER_SIZE)
    return 0;

  total = _pipecom_announce_record_size (data);
  if (total == 0 || len < total ||
      memchr (data + PIPECOM_ANNOUNCE_HEADER_SIZE, 0, _pipecom_get_u16 (data + 8)) != NULL)
    return 0;

  return total;
}

typedef enum
{
  INNER_NONE,
  INNER_COMPLETE,   /* a complete valid record starts there */
  INNER_PENDING,    /* one may, once more bytes come */
} InnerRecord;

/* Looks for a record starting inside the first @extent bytes of @data (at
 * an offset above 0), and sets *@offset to the first complete valid one,
 * if any. */
static InnerRecord
find_inner_record (const guint8 *data,
                   gsize         len,
                   gsize         extent,
                   gsize        *offset)
{
  InnerRecord found = INNER_NONE;

  for (gsize i = 1; i < MIN (extent, len); i++)
    {
      const guint8 *p = memchr (data + i, 'P', MIN (extent, len) - i);
      gsize left;

      if (p == NULL)
        break;

      i = p - data;
      left = len - i;
      if (memcmp (p, PIPECOM_ANNOUNCE_MAGIC, MIN (left, 4)) != 0)
        continue;

      if (complete_record_size (p, left) > 0)
        {
          *offset = i;
          return INNER_COMPLETE;
        }

      /* Too short to tell yet, or a valid header whose bytes have not all
       * come. */
      if (left < PIPECOM_ANNOUNCE_HEADER_SIZE || _pipecom_announce_record_size (p) > left)
        found = INNER_PENDING;
    }

  return found;
}

/* What _pipecom_decode_announce() and _pipecom_decode_announce_into() do:
 * the base goes to @base_buf when given, or to a new string. */
static gsize
decode_announce (const guint8     *data,
                 gsize             len,
                 gboolean          at_end,
                 PipecomAnnounce  *record,
                 char             *base_buf)
{
  gsize total, inner = 0;
  guint16 plen, mlen;

  memset (record, 0, sizeof *record);

  if (len < PIPECOM_ANNOUNCE_HEADER_SIZE)
    return at_end ? len : 0;

  total = _pipecom_announce_record_size (data);
  if (total == 0)
    {
      /* Foreign data: skip to the next magic, so that a valid record read
       * together with the garbage is not lost with it. */
      return resync_offset (data, len);
    }

  switch (find_inner_record (data, len, total, &inner))
    {
    case INNER_COMPLETE:
      /* The inner record wins: a genuine one never holds another. */
      return inner;
    case INNER_PENDING:
      if (!at_end)
        return 0;
      break;
    case INNER_NONE:
    default:
      break;
    }

  if (len < total)
    {
      /* A record is one atomic write: once the FIFO reads empty, the rest
       * of this one can never come. */
      return at_end ? len : 0;
    }

  plen = _pipecom_get_u16 (data + 8);
  mlen = _pipecom_get_u16 (data + 10);
  if (memchr (data + PIPECOM_ANNOUNCE_HEADER_SIZE, 0, plen) == NULL)
    {
      record->version = data[4];
      record->kind = data[5];
      if (base_buf != NULL)
        {
          /* plen < total ≤ PIPECOM_ANNOUNCE_MAX: it fits, with its NUL. */
          memcpy (base_buf, data + PIPECOM_ANNOUNCE_HEADER_SIZE, plen);
          base_buf[plen] = '\0';
          record->base = base_buf;
        }
      else
        record->base = g_strndup ((const char *) data + PIPECOM_ANNOUNCE_HEADER_SIZE, plen);
      record->inline_data = data + PIPECOM_ANNOUNCE_HEADER_SIZE + plen;
      record->inline_len = mlen;
    }

  return total;
}

/**
 * _pipecom_decode_announce:
 * @data: the bytes read from the well-known FIFO, not yet consumed
 * @len: their length
 * @at_end: whether the FIFO read empty after them (no byte of a record
 *   already written can still come)
 * @record: (out): the record decoded
 *
 * Decodes the announcement record at the start of @data (docs/protocol.md).
 *
 * Every genuine record is one atomic write of at most 512 bytes starting
 * with "PCOM" and holding no other "PCOM" (see
 * _pipecom_announce_inline_allowed()), but what comes before it may be
 * anything, including a header whose lengths cover it. So a candidate
 * record at the start loses to a complete valid record starting inside it:
 * when the candidate is incomplete, or its extent covers another "PCOM"
 * that starts a complete valid record, the bytes before that one are
 * dropped. A candidate whose extent covers a record that may still be
 * completing is decided only once more bytes came or @at_end.
 *
 * Returns: how many bytes to consume: 0 when more are needed (never when
 * @at_end and @len > 0, and never with @len ≥ 2 × PIPECOM_ANNOUNCE_MAX);
 * otherwise @record is filled in and its base is %NULL when those bytes
 * were foreign data or a record naming a base with a NUL byte.
 */
gsize
_pipecom_decode_announce (const guint8     *data,
                          gsize             len,
                          gboolean          at_end,
                          PipecomAnnounce  *record)
{
  return decode_announce (data, len, at_end, record, NULL);
}

/* As _pipecom_decode_announce(), but the base is put in @base_buf, of
 * PIPECOM_ANNOUNCE_MAX bytes, which record->base then points to (not to
 * be freed): a listener decodes a record for each sender, and needs its
 * base only while it handles it. */
gsize
_pipecom_decode_announce_into (const guint8     *data,
                               gsize             len,
                               gboolean          at_end,
                               PipecomAnnounce  *record,
                               char             *base_buf)
{
  return decode_announce (data, len, at_end, record, base_buf);
}

/* Whether a sender may carry @len bytes of @data inline in its record,
 * with a BASE of at most @max_base_len bytes: the message must be within
 * the inline budget (PIPECOM_ANNOUNCE_INLINE_MAX), the record must fit in
 * PIPECOM_ANNOUNCE_MAX bytes, and hold no "PCOM" but its magic, not even
 * one completed by the bytes of the next writer, or a listener could take
 * it for an inner record and drop the start of this one
 * (_pipecom_decode_announce()). So the message must neither contain
 * "PCOM" nor end in "P", "PC" or "PCO". A BASE cannot start a record: it
 * is a path ending in a channel name of digits, lowercase hex and
 * punctuation, so at least 8 bytes follow any "PCOM" in it and its kind
 * byte is no valid kind; and the fixed header holds none. Other messages
 * go by a channel. */
gboolean
_pipecom_announce_inline_allowed (const guint8 *data,
                                  gsize         len,
                                  gsize         max_base_len)
{
  if (len > PIPECOM_ANNOUNCE_INLINE_MAX ||
      PIPECOM_ANNOUNCE_HEADER_SIZE + max_base_len + len > PIPECOM_ANNOUNCE_MAX)
    return FALSE;

  /* memchr() finds each "P" a word or more at a time: a byte-by-byte loop
   * cost a one-shot of 64 bytes some 300 instructions, twice. */
  for (gsize i = 0; i < len; i++)
    {
      const guint8 *p = memchr (data + i, 'P', len - i);

      if (p == NULL)
        break;
      i = p - data;
      if (memcmp (p, PIPECOM_ANNOUNCE_MAGIC, MIN (len - i, 4)) == 0)
        return FALSE;
    }

  return TRUE;
}
