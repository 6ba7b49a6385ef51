/* pipecom-connection-read.c: frame parsing and delivery of a connection
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-connection-private.h"

/* The read side of the connection core (see pipecom-connection-private.h;
 * the rest is in pipecom-connection.c). Reads go into one buffer and are
 * parsed in place; a frame larger than half the buffer gets its own
 * allocation, into which the rest is read directly (no copy); it grows as
 * the bytes arrive. Called by the platform I/O, in the thread where the
 * connection is used (see pipecom-connection-private.h). */

/* The read buffer of the usual size (a dial's, and a pipe's by default)
 * freed last, kept for the next connection: a one-shot makes one on
 * either side for every message, and malloc(), whose per-thread cache
 * takes no block that large, cost it some 300 instructions to take the
 * 64 KiB from its heap and give them back. At most one buffer is kept in
 * the whole process; any thread may free a connection, so the slot is
 * taken and filled with atomic exchanges. Nothing in a read buffer is
 * read before it was written. */
#define SPARE_RBUF_SIZE 65536

static guint8 *spare_rbuf;  /* (atomic) (owned) (nullable) of SPARE_RBUF_SIZE bytes */

guint8 *
_pipecom_connection_rbuf_alloc (gsize size)
{
  guint8 *rbuf;

  if (size == SPARE_RBUF_SIZE && (rbuf = g_atomic_pointer_exchange (&spare_rbuf, NULL)) != NULL)
    return rbuf;
  return g_malloc (size);
}

void
_pipecom_connection_rbuf_free (guint8 *rbuf,
                               gsize   size)
{
  if (rbuf != NULL && size == SPARE_RBUF_SIZE &&
      g_atomic_pointer_compare_and_exchange (&spare_rbuf, NULL, rbuf))
    return;
  g_free (rbuf);
}

/* Grows the body of the large frame being read to @cap bytes (already
 * charged to the budget). */
void
_pipecom_connection_grow_body (PipecomConnection *conn,
                               gsize              cap)
{
  conn->body = _pipecom_connection_io_body_realloc (conn->body, conn->body_cap, cap);
  conn->body_cap = cap;
}

static void
deliver (PipecomConnection *conn,
         guint8             type,
         guint32            id,
         GBytes            *payload)
{
  conn->frames_in++;
  if (!conn->closed && !conn->reading_stopped && conn->funcs->frame != NULL)
    conn->funcs->frame (conn, type, id, payload, conn->user_data);
  g_bytes_unref (payload);
}

/* Payloads up to this size are copied out of rbuf into a buffer of this
 * size, which is used again for the next frame once nobody holds the
 * payload any more (see deliver_small()). */
#define SMALL_PAYLOAD_SIZE 256

/* One GBytes for every empty payload (every acknowledgement). */
static GBytes *
empty_bytes (void)
{
  static gsize empty = 0;

  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, (gsize) g_bytes_new (NULL, 0));
  return (GBytes *) empty;
}

/* Delivers the @len bytes at @data, a small payload, without allocating
 * its buffer each time: the payload is made in conn->small, and given
 * back to it when the handler kept no reference (g_bytes_unref_to_data()
 * then returns the same buffer). When it kept one (a client's reply goes
 * to the caller), g_bytes_unref_to_data() returns a copy, freed here, and
 * the connection goes back to a new GBytes per payload: for its owner,
 * the spare buffer would only add that copy. */
static void
deliver_small (PipecomConnection *conn,
               guint8             type,
               guint32            id,
               const guint8      *data,
               gsize              len)
{
  guint8 *buf;
  GBytes *payload;
  gpointer back;
  gsize size;

  /* The first frame (a HELLO, or a refusal) to an owner that reads it in
   * place, without a #GBytes. */
  if (G_UNLIKELY (conn->frames_in == 0) && conn->funcs->first_frame != NULL &&
      !conn->closed && !conn->reading_stopped &&
      conn->funcs->first_frame (conn, type, id, data, len, conn->user_data))
    {
      conn->frames_in++;
      return;
    }

  if (len == 0)
    {
      /* Lent, as every payload is for the call (a handler that keeps it
       * takes its own reference): no reference of ours to take and drop
       * on every acknowledgement. */
      conn->frames_in++;
      if (!conn->closed && !conn->reading_stopped && conn->funcs->frame != NULL)
        conn->funcs->frame (conn, type, id, empty_bytes (), conn->user_data);
      return;
    }

  if (conn->small_kept)
    {
      deliver (conn, type, id, g_bytes_new (data, len));
      return;
    }

  buf = g_steal_pointer (&conn->small);
  if (buf == NULL)
    buf = g_malloc (SMALL_PAYLOAD_SIZE);
  memcpy (buf, data, len);
  payload = g_bytes_new_take (buf, len);

  conn->frames_in++;
  if (!conn->closed && !conn->reading_stopped && conn->funcs->frame != NULL)
    conn->funcs->frame (conn, type, id, payload, conn->user_data);

  back = g_bytes_unref_to_data (payload, &size);
  if (back != buf)
    conn->small_kept = TRUE;
  if (back == buf && conn->small == NULL && !conn->closed)
    conn->small = back;
  else
    g_free (back);
}

static void
parse_frames (PipecomConnection *conn)
{
  while (!conn->closed && !conn->reading_stopped)
    {
      gsize avail = conn->rend - conn->rstart;
      const guint8 *h = conn->rbuf + conn->rstart;
      PipecomFrameHeaderResult result;
      PipecomFrameHeader header;
      GError *error = NULL;
      guint32 len, id;
      guint8 type;

      if (conn->skip > 0)
        {
          gsize n = MIN (avail, conn->skip);
          conn->rstart += n;
          conn->skip -= n;
          if (conn->skip > 0)
            break;
          conn->frames_in++;
          continue;
        }

      /* The usual end of the loop: every frame read was delivered (what
       * _pipecom_decode_frame_header() would find as well, one call later). */
      if (avail < PIPECOM_FRAME_HEADER_SIZE)
        break;

      result = _pipecom_decode_frame_header_inline (h, avail, conn->max_frame, &header, &error);
      if (result == PIPECOM_FRAME_HEADER_INCOMPLETE)
        break;
      if (result == PIPECOM_FRAME_HEADER_MALFORMED)
        {
          _pipecom_connection_fail (conn, error);
          return;
        }

      len = header.length;
      type = header.type;
      id = header.id;

      if (result == PIPECOM_FRAME_HEADER_OVERSIZE)
        {
          /* Skipped, and answered by funcs->oversize. */
          g_clear_error (&error);
          conn->rstart += PIPECOM_FRAME_HEADER_SIZE;
          conn->skip = len;
          if (conn->funcs->oversize != NULL)
            conn->funcs->oversize (conn, type, id, len, conn->user_data);
          continue;
        }

      if (avail - PIPECOM_FRAME_HEADER_SIZE >= len)
        {
          conn->rstart += PIPECOM_FRAME_HEADER_SIZE + len;
          if (len <= SMALL_PAYLOAD_SIZE)
            deliver_small (conn, type, id, h + PIPECOM_FRAME_HEADER_SIZE, len);
          else
            deliver (conn, type, id, g_bytes_new (h + PIPECOM_FRAME_HEADER_SIZE, len));
          continue;
        }

      if (len > conn->rcap / 2)
        {
          gsize have = avail - PIPECOM_FRAME_HEADER_SIZE;

          _pipecom_connection_io_frame_coming (conn, PIPECOM_FRAME_HEADER_SIZE + len);

          /* Allocate as the bytes arrive, not as the header claims: a
           * peer announcing 4 GiB must send them to make us hold them. */
          conn->body_cap = MIN (len, MAX (PIPECOM_BODY_CHUNK, have));
          if (!_pipecom_connection_charge_full (conn, conn->body_cap, TRUE, id))
            return;  /* dropped: over the memory budget */
          conn->body = _pipecom_connection_io_body_alloc (conn->body_cap);
          conn->body_len = len;
          conn->body_have = have;
          conn->body_type = type;
          conn->body_id = id;
          memcpy (conn->body, h + PIPECOM_FRAME_HEADER_SIZE, have);
          conn->rstart = conn->rend = 0;
        }
      break;
    }

  if (conn->rstart == conn->rend)
    conn->rstart = conn->rend = 0;
}

/* @n bytes were read into _pipecom_connection_read_buffer(), and then
 * into _pipecom_connection_read_buffer_next() if it gave a place. */
void
_pipecom_connection_received (PipecomConnection *conn,
                              gsize              n)
{
  if (conn->reading_stopped)
    return;  /* nothing after the stop is handled */

  conn->read_moved += n;

  if (conn->body != NULL)
    {
      gsize k = MIN (n, conn->body_len - conn->body_have);

      conn->body_have += k;
      /* The next frame's header, if it came with the body's end: counted
       * now, parsed after the body was delivered. */
      conn->rend += n - k;
      if (conn->body_have == conn->body_len)
        {
          /* All of it: the body grows to body_len at most. */
          GBytes *payload = _pipecom_connection_io_body_to_bytes (g_steal_pointer (&conn->body),
                                                                  conn->body_len);

          /* The handler's from now on. */
          _pipecom_connection_uncharge (conn, conn->body_cap);
          deliver (conn, conn->body_type, conn->body_id, payload);
          if (n > k)
            parse_frames (conn);
        }
    }
  else
    {
      conn->rend += n;
      parse_frames (conn);
    }
}
