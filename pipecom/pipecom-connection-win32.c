/* pipecom-connection-win32.c: length-prefixed frames over an overlapped
 * Win32 named-pipe handle
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <windows.h>

#include "pipecom-private.h"

/* The Windows twin of pipecom-connection.c, with the same frame parser and
 * the same behaviour; only the I/O differs. A connection owns one duplex
 * pipe handle opened with FILE_FLAG_OVERLAPPED. At most one ReadFile and
 * one WriteFile are in flight; each has an OVERLAPPED with a manual-reset
 * event, and both events are polled by the connection's GSource (GLib on
 * Windows waits on HANDLEs: GPollFD.fd is the event). An event is reset
 * whenever no I/O of its kind is in flight, so an idle connection never
 * wakes its main context. Closing cancels the I/O in flight with
 * CancelIoEx() and waits for it to complete before the buffers it uses are
 * freed. A connection is used from the thread that dispatches its
 * GMainContext only. */

typedef struct
{
  GBytes *bytes;
  gsize   offset;
} Chunk;

typedef struct
{
  GSource            source;
  PipecomConnection *conn;
} ConnSource;

struct _PipecomConnection
{
  gatomicrefcount               ref_count;

  HANDLE                        handle;   /* (owned) INVALID_HANDLE_VALUE once closed */
  GSource                      *source;   /* (owned) */
  OVERLAPPED                    rov;
  OVERLAPPED                    wov;
  GPollFD                       rpoll;
  GPollFD                       wpoll;
  gboolean                      read_pending;
  gboolean                      write_pending;
  gsize                         write_len;    /* of the WriteFile in flight */

  const PipecomConnectionFuncs *funcs;
  gpointer                      user_data;
  guint64                       max_frame;

  guint8                       *rbuf;     /* (owned) (nullable) until the first read */
  gsize                         rcap;
  gsize                         rstart;
  gsize                         rend;

  guint8                       *body;     /* (owned) (nullable) large frame being read */
  gsize                         body_len;
  gsize                         body_have;
  guint8                        body_type;
  guint32                       body_id;

  guint64                       skip;

  GQueue                        wqueue;   /* of Chunk; the head may be in flight */

  GRecMutex                    *lock;     /* (nullable) held around each dispatch */

  GError                       *error;    /* (owned) (nullable) */
  guint                         closed : 1;
  guint                         notify_pending : 1;
  guint                         notified : 1;
  guint                         reading_stopped : 1;
  guint                         close_when_flushed : 1;
  guint                         direct : 1;
};

static void
chunk_free (gpointer data)
{
  Chunk *chunk = data;

  g_bytes_unref (chunk->bytes);
  g_slice_free (Chunk, chunk);
}

/* Cancels the I/O in flight, waits until it has completed (the kernel
 * writes into our buffers until then), and closes the handle. */
static void
close_handle (PipecomConnection *conn)
{
  if (conn->handle != INVALID_HANDLE_VALUE)
    {
      DWORD n;

      if (conn->read_pending || conn->write_pending)
        CancelIoEx (conn->handle, NULL);
      if (conn->read_pending)
        GetOverlappedResult (conn->handle, &conn->rov, &n, TRUE);
      if (conn->write_pending)
        GetOverlappedResult (conn->handle, &conn->wov, &n, TRUE);
      conn->read_pending = conn->write_pending = FALSE;
      CloseHandle (conn->handle);
      conn->handle = INVALID_HANDLE_VALUE;
    }
  if (conn->rov.hEvent != NULL)
    ResetEvent (conn->rov.hEvent);
  if (conn->wov.hEvent != NULL)
    ResetEvent (conn->wov.hEvent);
  g_queue_clear_full (&conn->wqueue, chunk_free);
  g_clear_pointer (&conn->body, g_free);
}

/* Marks the connection dead and arranges for funcs->closed to be called
 * from the connection's own dispatch, never from inside a caller's call. */
static void
conn_fail (PipecomConnection *conn,
           GError            *error)
{
  if (conn->closed)
    {
      g_clear_error (&error);
      return;
    }

  conn->closed = TRUE;
  conn->error = error;
  close_handle (conn);
  conn->notify_pending = TRUE;
  if (conn->source != NULL)
    g_source_set_ready_time (conn->source, 0);
}

static void
conn_fail_win32 (PipecomConnection *conn,
                 DWORD              code,
                 const char        *what)
{
  g_autofree char *text = g_win32_error_message (code);
  int err = (code == ERROR_BROKEN_PIPE || code == ERROR_NO_DATA ||
             code == ERROR_PIPE_NOT_CONNECTED) ? PIPECOM_ERROR_CLOSED : PIPECOM_ERROR_UNKNOWN;

  conn_fail (conn, g_error_new (PIPECOM_ERROR, err, "%s: %s", what, text));
}

static void
deliver (PipecomConnection *conn,
         guint8             type,
         guint32            id,
         GBytes            *payload)
{
  if (!conn->closed && !conn->reading_stopped && conn->funcs->frame != NULL)
    conn->funcs->frame (conn, type, id, payload, conn->user_data);
  g_bytes_unref (payload);
}

static void
parse_frames (PipecomConnection *conn)
{
  while (!conn->closed && !conn->reading_stopped)
    {
      gsize avail = conn->rend - conn->rstart;
      const guint8 *h = conn->rbuf + conn->rstart;
      guint32 len, id;
      guint8 type;

      if (conn->skip > 0)
        {
          gsize n = MIN (avail, conn->skip);
          conn->rstart += n;
          conn->skip -= n;
          if (conn->skip > 0)
            break;
          continue;
        }

      if (avail < PIPECOM_FRAME_HEADER_SIZE)
        break;

      len = _pipecom_get_u32 (h);
      type = h[4];
      id = _pipecom_get_u32 (h + 8);

      if (h[5] != 0 || h[6] != 0 || h[7] != 0 || type < PIPECOM_FRAME_HELLO || type > PIPECOM_FRAME_ERROR)
        {
          conn_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                                        "Malformed frame header (type %u, flags %u)",
                                        type, h[5]));
          return;
        }

      if (conn->max_frame > 0 && len > conn->max_frame)
        {
          conn->rstart += PIPECOM_FRAME_HEADER_SIZE;
          conn->skip = len;
          if (conn->funcs->oversize != NULL)
            conn->funcs->oversize (conn, type, id, len, conn->user_data);
          continue;
        }

      if (avail - PIPECOM_FRAME_HEADER_SIZE >= len)
        {
          GBytes *payload = g_bytes_new (h + PIPECOM_FRAME_HEADER_SIZE, len);
          conn->rstart += PIPECOM_FRAME_HEADER_SIZE + len;
          deliver (conn, type, id, payload);
          continue;
        }

      if (len > conn->rcap / 2)
        {
          gsize have = avail - PIPECOM_FRAME_HEADER_SIZE;

          conn->body = g_malloc (len);
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

/* Handles the outcome of one read: @n bytes (0 with @code set on error). */
static void
read_done (PipecomConnection *conn,
           DWORD              n,
           DWORD              code)
{
  if (code == ERROR_OPERATION_ABORTED)
    return;

  if (code != ERROR_SUCCESS)
    {
      if (code == ERROR_BROKEN_PIPE || code == ERROR_PIPE_NOT_CONNECTED ||
          code == ERROR_HANDLE_EOF || code == ERROR_NO_DATA)
        {
          /* The peer closed its end: end of file. */
          if (conn->body != NULL || conn->rend != conn->rstart || conn->skip > 0)
            conn_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                                          "The peer closed the connection in the middle of a frame"));
          else
            conn_fail (conn, NULL);
        }
      else
        conn_fail_win32 (conn, code, "Cannot read from the connection");
      return;
    }

  if (conn->reading_stopped)
    return;  /* nothing after the stop is handled */

  if (conn->body != NULL)
    {
      conn->body_have += n;
      if (conn->body_have == conn->body_len)
        {
          GBytes *payload = g_bytes_new_take (g_steal_pointer (&conn->body), conn->body_len);
          deliver (conn, conn->body_type, conn->body_id, payload);
        }
    }
  else
    {
      conn->rend += n;
      parse_frames (conn);
    }
}

static gboolean
can_read (PipecomConnection *conn)
{
  return !conn->closed && !conn->reading_stopped && conn->handle != INVALID_HANDLE_VALUE;
}

/* Completes the read in flight, if it has, and starts the next one; a read
 * that completes at once is handled at once, up to 64 in a row. */
static void
do_read (PipecomConnection *conn)
{
  for (guint round = 0; round < 64; round++)
    {
      DWORD n = 0;
      guint8 *target;
      gsize room;

      if (conn->read_pending)
        {
          if (!GetOverlappedResult (conn->handle, &conn->rov, &n, FALSE))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_INCOMPLETE)
                return;
              conn->read_pending = FALSE;
              read_done (conn, 0, code);
            }
          else
            {
              conn->read_pending = FALSE;
              read_done (conn, n, ERROR_SUCCESS);
            }
          continue;
        }

      if (!can_read (conn))
        break;

      if (conn->body != NULL)
        {
          target = conn->body + conn->body_have;
          room = conn->body_len - conn->body_have;
        }
      else
        {
          if (G_UNLIKELY (conn->rbuf == NULL))
            conn->rbuf = g_malloc (conn->rcap);

          if (conn->rstart > 0 && conn->rcap - conn->rend < conn->rcap / 4)
            {
              memmove (conn->rbuf, conn->rbuf + conn->rstart, conn->rend - conn->rstart);
              conn->rend -= conn->rstart;
              conn->rstart = 0;
            }
          target = conn->rbuf + conn->rend;
          room = conn->rcap - conn->rend;
        }

      room = MIN (room, (gsize) G_MAXINT32);
      if (ReadFile (conn->handle, target, (DWORD) room, &n, &conn->rov))
        {
          /* Completed at once (the event is set too: reset below). */
          read_done (conn, n, ERROR_SUCCESS);
          continue;
        }
      else
        {
          DWORD code = GetLastError ();

          if (code == ERROR_IO_PENDING)
            {
              conn->read_pending = TRUE;
              return;
            }
          read_done (conn, 0, code);
        }
    }

  /* Nothing in flight: keep the event from waking the main context. */
  if (!conn->read_pending && conn->rov.hEvent != NULL)
    ResetEvent (conn->rov.hEvent);
}

static void
do_flush (PipecomConnection *conn)
{
  while (!conn->closed)
    {
      DWORD n = 0;
      Chunk *chunk;
      gsize size;
      const guint8 *data;

      if (conn->write_pending)
        {
          if (!GetOverlappedResult (conn->handle, &conn->wov, &n, FALSE))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_INCOMPLETE)
                return;
              conn->write_pending = FALSE;
              if (code != ERROR_OPERATION_ABORTED)
                conn_fail_win32 (conn, code, "Cannot write to the connection");
              return;
            }
          conn->write_pending = FALSE;
        }
      else
        {
          chunk = g_queue_peek_head (&conn->wqueue);
          if (chunk == NULL)
            break;

          data = g_bytes_get_data (chunk->bytes, &size);
          conn->write_len = MIN (size - chunk->offset, (gsize) G_MAXINT32);
          if (!WriteFile (conn->handle, data + chunk->offset, (DWORD) conn->write_len, &n, &conn->wov))
            {
              DWORD code = GetLastError ();

              if (code == ERROR_IO_PENDING)
                {
                  conn->write_pending = TRUE;
                  return;
                }
              conn_fail_win32 (conn, code, "Cannot write to the connection");
              return;
            }
        }

      /* n bytes of the head chunk went out. */
      chunk = g_queue_peek_head (&conn->wqueue);
      data = g_bytes_get_data (chunk->bytes, &size);
      chunk->offset += n;
      if (chunk->offset >= size)
        chunk_free (g_queue_pop_head (&conn->wqueue));
    }

  if (conn->closed)
    return;

  if (!conn->write_pending && conn->wov.hEvent != NULL)
    ResetEvent (conn->wov.hEvent);

  if (conn->close_when_flushed && g_queue_is_empty (&conn->wqueue))
    conn_fail (conn, NULL);
}

static gboolean
conn_source_check (GSource *source)
{
  PipecomConnection *conn = ((ConnSource *) source)->conn;

  return conn->rpoll.revents != 0 || conn->wpoll.revents != 0;
}

static gboolean
conn_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  PipecomConnection *conn = ((ConnSource *) source)->conn;
  GRecMutex *lock = conn->lock;

  if (lock != NULL)
    g_rec_mutex_lock (lock);

  _pipecom_connection_ref (conn);

  if (!conn->closed && conn->write_pending && conn->wpoll.revents != 0)
    do_flush (conn);

  /* A read completed, or none is in flight yet (a new connection). */
  if (!conn->closed && (conn->rpoll.revents != 0 || !conn->read_pending))
    do_read (conn);

  conn->rpoll.revents = conn->wpoll.revents = 0;

  if (!conn->notify_pending && conn->source != NULL)
    g_source_set_ready_time (conn->source, -1);

  if (conn->notify_pending && conn->source != NULL)
    {
      conn->notify_pending = FALSE;
      g_source_set_ready_time (conn->source, -1);
      if (!conn->notified)
        {
          conn->notified = TRUE;
          if (conn->funcs->closed != NULL)
            conn->funcs->closed (conn, conn->error, conn->user_data);
        }
    }

  _pipecom_connection_unref (conn);

  if (lock != NULL)
    g_rec_mutex_unlock (lock);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = {
  NULL, conn_source_check, conn_source_dispatch, NULL, NULL, NULL,
};

/* Takes ownership of @handle, a connected duplex pipe handle opened for
 * overlapped I/O, and starts reading it in @context. */
PipecomConnection *
_pipecom_connection_new_handle (HANDLE                        handle,
                                gsize                         read_size,
                                guint64                       max_frame,
                                const PipecomConnectionFuncs *funcs,
                                gpointer                      user_data,
                                GMainContext                 *context)
{
  PipecomConnection *conn = g_new0 (PipecomConnection, 1);

  g_atomic_ref_count_init (&conn->ref_count);
  conn->handle = handle;
  conn->funcs = funcs;
  conn->user_data = user_data;
  conn->max_frame = max_frame;
  conn->rcap = MAX (read_size, 4096);  /* rbuf is allocated on the first read */
  g_queue_init (&conn->wqueue);
  conn->rov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  conn->wov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);

  conn->source = g_source_new (&conn_source_funcs, sizeof (ConnSource));
  ((ConnSource *) conn->source)->conn = conn;
  g_source_set_static_name (conn->source, "[pipecom] connection");
  g_source_set_priority (conn->source, G_PRIORITY_DEFAULT);
  conn->rpoll.fd = (gintptr) conn->rov.hEvent;
  conn->rpoll.events = G_IO_IN;
  conn->wpoll.fd = (gintptr) conn->wov.hEvent;
  conn->wpoll.events = G_IO_IN;
  g_source_add_poll (conn->source, &conn->rpoll);
  g_source_add_poll (conn->source, &conn->wpoll);
  g_source_attach (conn->source, context);

  /* The first read starts in the connection's own context. */
  g_source_set_ready_time (conn->source, 0);

  return conn;
}

PipecomConnection *
_pipecom_connection_ref (PipecomConnection *conn)
{
  g_atomic_ref_count_inc (&conn->ref_count);
  return conn;
}

void
_pipecom_connection_unref (PipecomConnection *conn)
{
  if (!g_atomic_ref_count_dec (&conn->ref_count))
    return;

  conn->closed = TRUE;
  close_handle (conn);
  if (conn->source != NULL)
    {
      g_source_destroy (conn->source);
      g_clear_pointer (&conn->source, g_source_unref);
    }
  if (conn->rov.hEvent != NULL)
    CloseHandle (conn->rov.hEvent);
  if (conn->wov.hEvent != NULL)
    CloseHandle (conn->wov.hEvent);
  g_clear_error (&conn->error);
  g_free (conn->rbuf);
  g_free (conn);
}

void
_pipecom_connection_close (PipecomConnection *conn)
{
  conn->closed = TRUE;
  conn->notified = TRUE;
  close_handle (conn);
  if (conn->source != NULL)
    g_source_destroy (conn->source);
}

/* Queues one frame and starts writing it if nothing is in flight. Small
 * frames travel as one buffer with their header; large payloads are
 * referenced from @keep when given (never copied), and copied otherwise. */
static gboolean
send_frame (PipecomConnection *conn,
            guint8             type,
            guint32            id,
            const guint8      *data,
            gsize              len,
            GBytes            *keep)
{
  Chunk *chunk;

  if (conn->closed || conn->handle == INVALID_HANDLE_VALUE)
    return FALSE;

  g_return_val_if_fail (len <= G_MAXUINT32, FALSE);

  if (keep == NULL)
    {
      guint8 *buf = g_malloc (PIPECOM_FRAME_HEADER_SIZE + len);

      _pipecom_encode_frame_header (buf, len, type, id);
      if (len > 0)
        memcpy (buf + PIPECOM_FRAME_HEADER_SIZE, data, len);
      chunk = g_slice_new (Chunk);
      chunk->bytes = g_bytes_new_take (buf, PIPECOM_FRAME_HEADER_SIZE + len);
      chunk->offset = 0;
      g_queue_push_tail (&conn->wqueue, chunk);
    }
  else
    {
      guint8 header[PIPECOM_FRAME_HEADER_SIZE];

      _pipecom_encode_frame_header (header, len, type, id);
      chunk = g_slice_new (Chunk);
      chunk->bytes = g_bytes_new (header, sizeof header);
      chunk->offset = 0;
      g_queue_push_tail (&conn->wqueue, chunk);
      chunk = g_slice_new (Chunk);
      chunk->bytes = g_bytes_ref (keep);
      chunk->offset = 0;
      g_queue_push_tail (&conn->wqueue, chunk);
    }

  if (!conn->write_pending)
    do_flush (conn);

  return !(conn->closed && conn->error != NULL);
}

gboolean
_pipecom_connection_send_data (PipecomConnection *conn,
                               guint8             type,
                               guint32            id,
                               const void        *data,
                               gsize              len)
{
  return send_frame (conn, type, id, data, len, NULL);
}

gboolean
_pipecom_connection_send (PipecomConnection *conn,
                          guint8             type,
                          guint32            id,
                          GBytes            *payload)
{
  gsize len = 0;
  const guint8 *data = payload ? g_bytes_get_data (payload, &len) : NULL;

  return send_frame (conn, type, id, data, len, len > 4096 ? payload : NULL);
}

void
_pipecom_connection_set_lock (PipecomConnection *conn,
                              GRecMutex         *lock)
{
  conn->lock = lock;
}

void
_pipecom_connection_set_direct (PipecomConnection *conn,
                                gboolean           direct)
{
  conn->direct = direct;
}

void
_pipecom_connection_flush (PipecomConnection *conn)
{
  if (!conn->closed)
    do_flush (conn);
}

gboolean
_pipecom_connection_is_closed (PipecomConnection *conn)
{
  return conn->closed;
}

void
_pipecom_connection_pump (PipecomConnection *conn)
{
  if (!conn->closed)
    do_read (conn);
}

void
_pipecom_connection_stop_reading (PipecomConnection *conn)
{
  conn->reading_stopped = TRUE;
  if (conn->read_pending && conn->handle != INVALID_HANDLE_VALUE)
    {
      DWORD n;

      CancelIoEx (conn->handle, &conn->rov);
      GetOverlappedResult (conn->handle, &conn->rov, &n, TRUE);
      conn->read_pending = FALSE;
    }
  if (conn->rov.hEvent != NULL)
    ResetEvent (conn->rov.hEvent);
}

void
_pipecom_connection_close_when_flushed (PipecomConnection *conn)
{
  conn->close_when_flushed = TRUE;
  if (!conn->closed && g_queue_is_empty (&conn->wqueue))
    conn_fail (conn, NULL);
}

gboolean
_pipecom_connection_is_flushed (PipecomConnection *conn)
{
  return conn->closed || g_queue_is_empty (&conn->wqueue);
}
