/* pipecom-protocol.h: the wire protocol codec (docs/protocol.md)
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Every constant of the wire protocol, and the encoding and decoding of
 * every record and frame: the announcement record, the frame header, and
 * the HELLO, ACK, REPLY and ERROR frames; also the pipe name rules shared
 * by both platforms.
 *
 * Thread and main-context contract: these are pure functions. They read
 * and write only the memory they are given (and allocate what they
 * return), do no I/O, keep no state and take no lock, so any thread may
 * call them at any time; none involves a GMainContext or runs a callback.
 * Nothing here depends on the platform: the Unix and Windows transports
 * share all of it, and tests/test-codec.c checks it on both. */

#pragma once

#include <glib.h>

#include "pipecom.h"

G_BEGIN_DECLS

#define PIPECOM_PROTOCOL_VERSION     1

/* ---- The announcement record ---- */

#define PIPECOM_ANNOUNCE_MAGIC       "PCOM"
#define PIPECOM_ANNOUNCE_MAX         512   /* one atomic write: POSIX's PIPE_BUF */
#define PIPECOM_ANNOUNCE_HEADER_SIZE 12

/* The inline budget: of the PIPECOM_ANNOUNCE_MAX -
 * PIPECOM_ANNOUNCE_HEADER_SIZE bytes a record has for BASE and an inline
 * message, a BASE may take up to PIPECOM_ANNOUNCE_BASE_MAX, and a sender
 * puts a message inline only if it is at most PIPECOM_ANNOUNCE_INLINE_MAX
 * bytes and fits next to the longest BASE it may announce
 * (_pipecom_announce_inline_allowed()). */
#define PIPECOM_ANNOUNCE_BASE_MAX    432
#define PIPECOM_ANNOUNCE_INLINE_MAX  340

typedef enum
{
  PIPECOM_ANNOUNCE_CONNECT = 1,
  PIPECOM_ANNOUNCE_ONESHOT = 2,
} PipecomAnnounceKind;

/* A decoded announcement record; see _pipecom_decode_announce(). */
typedef struct
{
  guint8        version;
  guint8        kind;
  char         *base;          /* (owned) (nullable), unless decoded _into() a buffer */
  const guint8 *inline_data;   /* into the decoded bytes */
  gsize         inline_len;
} PipecomAnnounce;

gsize     _pipecom_encode_announce          (guint8              *buf,
                                             PipecomAnnounceKind  kind,
                                             const char          *base,
                                             const guint8        *inline_data,
                                             gsize                inline_len);
gsize     _pipecom_encode_announce_len      (guint8              *buf,
                                             PipecomAnnounceKind  kind,
                                             const char          *base,
                                             gsize                base_len,
                                             const guint8        *inline_data,
                                             gsize                inline_len);
gsize     _pipecom_decode_announce          (const guint8        *data,
                                             gsize                len,
                                             gboolean             at_end,
                                             PipecomAnnounce     *record);
gsize     _pipecom_decode_announce_into     (const guint8        *data,
                                             gsize                len,
                                             gboolean             at_end,
                                             PipecomAnnounce     *record,
                                             char                *base_buf);
gsize     _pipecom_announce_record_size     (const guint8        *header);
gboolean  _pipecom_announce_inline_allowed  (const guint8        *data,
                                             gsize                len,
                                             gsize                max_base_len);

/* ---- Frames ---- */

#define PIPECOM_FRAME_HEADER_SIZE    12
#define PIPECOM_HELLO_SIZE           16
#define PIPECOM_ERROR_CODE_SIZE      4    /* before an ERROR's description */

typedef enum
{
  PIPECOM_FRAME_HELLO   = 1,
  PIPECOM_FRAME_MESSAGE = 2,
  PIPECOM_FRAME_ACK     = 3,
  PIPECOM_FRAME_REPLY   = 4,
  PIPECOM_FRAME_ERROR   = 5,
} PipecomFrameType;

/* A decoded frame header. */
typedef struct
{
  guint32 length;   /* of the payload that follows */
  guint8  type;     /* a PipecomFrameType */
  guint32 id;
} PipecomFrameHeader;

typedef enum
{
  PIPECOM_FRAME_HEADER_VALID,
  PIPECOM_FRAME_HEADER_INCOMPLETE,   /* fewer bytes than a header yet */
  PIPECOM_FRAME_HEADER_OVERSIZE,     /* valid, but its payload is over the limit */
  PIPECOM_FRAME_HEADER_MALFORMED,    /* unknown type, non-zero flags or reserved bits */
} PipecomFrameHeaderResult;

void      _pipecom_encode_frame_header  (guint8              *buf,
                                         guint32              len,
                                         guint8               type,
                                         guint32              id);
PipecomFrameHeaderResult
          _pipecom_decode_frame_header  (const guint8        *data,
                                         gsize                len,
                                         guint64              max_len,
                                         PipecomFrameHeader  *header,
                                         GError             **error);
GBytes   *_pipecom_encode_frame         (guint8               type,
                                         guint32              id,
                                         const void          *payload,
                                         gsize                len);

/* HELLO: the listener's greeting, with the largest message it accepts
 * (0: no limit). */
void      _pipecom_encode_hello         (guint8              *buf,
                                         guint64              max_message_size);
gboolean  _pipecom_decode_hello         (const guint8        *data,
                                         gsize                len,
                                         guint64             *max_message_size,
                                         GError             **error);

/* ERROR: a PipecomError code, then a description (no NUL). ACK has an
 * empty payload and REPLY the reply itself: they need no encoding. */
GBytes   *_pipecom_error_payload_new    (guint32              code,
                                         const char          *text);
char     *_pipecom_error_payload_parse  (GBytes              *payload,
                                         guint32             *code);

/* The goodbye (docs/protocol.md, "Idle connections"): an ERROR frame with
 * id 0 and code CLOSED, after the HELLO, whose description starts with
 * this. The listener read nothing after it; see
 * _pipecom_connection_say_goodbye(). */
#define PIPECOM_GOODBYE_TEXT "idle"

/* ---- Pipe names ---- */

/* The longest path a Unix pipe name may resolve to. */
#define PIPECOM_MAX_PATH_LEN         4000

gboolean  _pipecom_check_name_chars     (const char          *name,
                                         GError             **error);

/* ---- Little-endian integers, as everywhere on the wire ---- */

static inline guint16
_pipecom_get_u16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static inline void
_pipecom_put_u16 (guint8  *p,
                  guint16  v)
{
  p[0] = v & 0xff;
  p[1] = v >> 8;
}

static inline guint32
_pipecom_get_u32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static inline void
_pipecom_put_u32 (guint8  *p,
                  guint32  v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

/* _pipecom_decode_frame_header:
 * @data: the bytes received, starting with a frame header
 * @len: their length
 * @max_len: the largest payload accepted, 0 for any
 * @header: (out): the header decoded, unless the result is
 *   %PIPECOM_FRAME_HEADER_INCOMPLETE or %PIPECOM_FRAME_HEADER_MALFORMED
 * @error: set to a %PIPECOM_ERROR_PROTOCOL error when the header is
 *   malformed, to %PIPECOM_ERROR_MESSAGE_TOO_LARGE when it is oversize
 *
 * Decodes the frame header at the start of @data. An oversize frame is
 * still a valid one: its payload is to be skipped, and the connection
 * goes on; a malformed one ends the connection.
 *
 * The function, and this inline body of it for the read side of every
 * connection, which decodes one per frame.
 */
static inline PipecomFrameHeaderResult
_pipecom_decode_frame_header_inline (const guint8        *data,
                                     gsize                len,
                                     guint64              max_len,
                                     PipecomFrameHeader  *header,
                                     GError             **error)
{
  guint8 type;

  if (len < PIPECOM_FRAME_HEADER_SIZE)
    return PIPECOM_FRAME_HEADER_INCOMPLETE;

  type = data[4];
  if (data[5] != 0 || data[6] != 0 || data[7] != 0 ||
      type < PIPECOM_FRAME_HELLO || type > PIPECOM_FRAME_ERROR)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                   "Malformed frame header (type %u, flags %u)", type, data[5]);
      return PIPECOM_FRAME_HEADER_MALFORMED;
    }

  header->length = _pipecom_get_u32 (data);
  header->type = type;
  header->id = _pipecom_get_u32 (data + 8);

  if (max_len > 0 && header->length > max_len)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE,
                   "A frame of %u bytes exceeds the limit of %" G_GUINT64_FORMAT " bytes",
                   header->length, max_len);
      return PIPECOM_FRAME_HEADER_OVERSIZE;
    }

  return PIPECOM_FRAME_HEADER_VALID;
}

G_END_DECLS
