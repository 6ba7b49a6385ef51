/* pipecom-connection.c: length-prefixed frames over a pair of FIFO fds
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pipecom-private.h"

/* A connection is used from the thread that dispatches its GMainContext
 * only; its refcount is atomic so that references may be dropped anywhere.
 *
 * Reads are drained into one buffer and parsed in place; a frame larger than
 * half the buffer gets its own allocation, into which the rest is read
 * directly (no copy); it grows as the bytes arrive. Writes try one writev() of header and
 * payload at once and queue only what the pipe did not take. */

#define MAX_IOV 16

/* Pipes start with 64 KiB (Linux); a frame larger than that is carried in
 * one pipe-full when the pipe is grown to its size, up to this (Linux's
 * default /proc/sys/fs/pipe-max-size, the most an unprivileged process may
 * ask for). Only connections that carry large frames pay for it. */
#define GROWN_PIPE_MAX (1024 * 1024)
#define PIPE_DEFAULT_SIZE (64 * 1024)

/* A large frame's body is allocated in steps, doubling from this size. */
#define BODY_CHUNK (1024 * 1024)

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

  int                           in_fd;
  int                           out_fd;
  GSource                      *source;   /* (owned) */
  gpointer                      in_tag;
  gpointer                      out_tag;

  const PipecomConnectionFuncs *funcs;
  gpointer                      user_data;
  guint64                       max_frame;

  guint8                       *rbuf;     /* (owned) (nullable) until the first read */
  gsize                         rcap;
  gsize                         rstart;
  gsize                         rend;

  guint8                       *body;     /* (owned) (nullable) large frame being read */
  gsize                         body_len;
  gsize                         body_cap;  /* allocated, grows as the body arrives */
  gsize                         body_have;
  guint8                        body_type;
  guint32                       body_id;

  guint64                       skip;

  gsize                         in_pipe_size;   /* as grown by us, 0 = default */
  gsize                         out_pipe_size;

  GQueue                        wqueue;   /* of Chunk */

  GRecMutex                    *lock;     /* (nullable) held around each dispatch */

  /* Limits against stalled peers (listener side, see
   * _pipecom_connection_set_limits()); all 0 when unset. */
  gint64                        deadline;     /* µs */
  gsize                         max_queued;
  gsize                         wqueued;      /* bytes in wqueue */
  gint64                        read_since;   /* first byte of the frame being read */
  gint64                        write_since;  /* last write progress while queued */
  guint                         frames_in;    /* frames read, to see progress */
  char                         *open_path;    /* (nullable) see set_limits() */
  gint64                        open_until;

  GError                       *error;    /* (owned) (nullable) */
  guint                         closed : 1;
  guint                         notify_pending : 1;
  guint                         notified : 1;
  guint                         reading_stopped : 1;
  guint                         close_when_flushed : 1;
  guint                         direct : 1;
  guint                         dispatching : 1;
  guint                         held : 1;
};

static void
chunk_free (gpointer data)
{
  Chunk *chunk = data;

  g_bytes_unref (chunk->bytes);
  g_slice_free (Chunk, chunk);
}

static void
close_fds (PipecomConnection *conn)
{
  if (conn->in_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, conn->in_tag);
      conn->in_tag = NULL;
    }
  if (conn->out_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, conn->out_tag);
      conn->out_tag = NULL;
    }
  if (conn->in_fd >= 0)
    {
      close (conn->in_fd);
      conn->in_fd = -1;
    }
  if (conn->out_fd >= 0)
    {
      close (conn->out_fd);
      conn->out_fd = -1;
    }
  g_queue_clear_full (&conn->wqueue, chunk_free);
  conn->wqueued = 0;
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
  close_fds (conn);
  conn->notify_pending = TRUE;
  if (conn->source != NULL)
    g_source_set_ready_time (conn->source, 0);
}

static void
conn_fail_errno (PipecomConnection *conn,
                 int                saved_errno,
                 const char        *what)
{
  int code = saved_errno == EPIPE ? PIPECOM_ERROR_CLOSED : PIPECOM_ERROR_UNKNOWN;

  conn_fail (conn, g_error_new (PIPECOM_ERROR, code, "%s: %s", what,
                                g_strerror (saved_errno)));
}

/* Grows the pipe behind @fd to hold a frame of @frame_len bytes at once
 * (see GROWN_PIPE_MAX). Failures are harmless: the frame then takes more
 * rounds of write and read. */
static void
grow_pipe (int    fd,
           gsize *size,
           gsize  frame_len)
{
#ifdef HAVE_F_SETPIPE_SZ
  gsize want;
  int ret;

  if (fd < 0 || frame_len <= MAX (*size, PIPE_DEFAULT_SIZE) || *size >= GROWN_PIPE_MAX)
    return;

  want = MIN (GROWN_PIPE_MAX, MAX (frame_len, 2 * MAX (*size, PIPE_DEFAULT_SIZE)));
  ret = fcntl (fd, F_SETPIPE_SZ, (int) want);
  /* Do not try again, whatever the outcome. */
  *size = ret > 0 ? (gsize) ret : GROWN_PIPE_MAX;
#endif
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
          conn->frames_in++;
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

          grow_pipe (conn->in_fd, &conn->in_pipe_size, PIPECOM_FRAME_HEADER_SIZE + len);

          /* Allocate as the bytes arrive, not as the header claims: a
           * peer announcing 4 GiB must send them to make us hold them. */
          conn->body_cap = MIN (len, MAX (BODY_CHUNK, have));
          conn->body = g_malloc (conn->body_cap);
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

static void
do_read (PipecomConnection *conn)
{
  for (guint round = 0; round < 64 && !conn->closed && !conn->reading_stopped && conn->in_fd >= 0; round++)
    {
      ssize_t n;

      if (conn->body != NULL)
        {
          gsize want;

          if (conn->body_have == conn->body_cap)
            {
              conn->body_cap = MIN (conn->body_len, conn->body_cap * 2);
              conn->body = g_realloc (conn->body, conn->body_cap);
            }
          want = conn->body_cap - conn->body_have;
          n = read (conn->in_fd, conn->body + conn->body_have, want);
          if (n > 0)
            {
              conn->body_have += n;
              if (conn->body_have == conn->body_len)
                {
                  GBytes *payload = g_bytes_new_take (g_steal_pointer (&conn->body), conn->body_len);
                  deliver (conn, conn->body_type, conn->body_id, payload);
                }
              else if ((gsize) n < want)
                return;  /* drained: poll() says when there is more */
              continue;
            }
        }
      else
        {
          gsize want;

          if (G_UNLIKELY (conn->rbuf == NULL))
            conn->rbuf = g_malloc (conn->rcap);

          if (conn->rstart > 0 && conn->rcap - conn->rend < conn->rcap / 4)
            {
              memmove (conn->rbuf, conn->rbuf + conn->rstart, conn->rend - conn->rstart);
              conn->rend -= conn->rstart;
              conn->rstart = 0;
            }

          want = conn->rcap - conn->rend;
          n = read (conn->in_fd, conn->rbuf + conn->rend, want);
          if (n > 0)
            {
              conn->rend += n;
              parse_frames (conn);
              /* A short read drained the pipe: poll() (level-triggered)
               * says when there is more, and a read now would most often
               * just fail with EAGAIN, one system call per message. */
              if ((gsize) n < want)
                return;
              continue;
            }
        }

      if (n == 0)
        {
          if (conn->body != NULL || conn->rend != conn->rstart || conn->skip > 0)
            conn_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                                          "The peer closed the connection in the middle of a frame"));
          else
            conn_fail (conn, NULL);
          return;
        }

      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;

      conn_fail_errno (conn, errno, "Cannot read from the connection");
      return;
    }
}

static void
update_out_interest (PipecomConnection *conn)
{
  if (conn->out_tag == NULL)
    return;

  g_source_modify_unix_fd (conn->source, conn->out_tag,
                           conn->direct || conn->held || g_queue_is_empty (&conn->wqueue) ? 0 : G_IO_OUT);
}

static void
update_in_interest (PipecomConnection *conn)
{
  if (conn->in_tag == NULL)
    return;

  g_source_modify_unix_fd (conn->source, conn->in_tag, conn->direct || conn->held ? 0 : G_IO_IN);
}

static void
do_flush (PipecomConnection *conn)
{
  while (!conn->closed && !g_queue_is_empty (&conn->wqueue))
    {
      struct iovec iov[MAX_IOV];
      guint n_iov = 0;
      ssize_t n;

      for (GList *l = conn->wqueue.head; l != NULL && n_iov < MAX_IOV; l = l->next)
        {
          Chunk *chunk = l->data;
          gsize size;
          const guint8 *data = g_bytes_get_data (chunk->bytes, &size);

          iov[n_iov].iov_base = (void *) (data + chunk->offset);
          iov[n_iov].iov_len = size - chunk->offset;
          n_iov++;
        }

      n = writev (conn->out_fd, iov, n_iov);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
          conn_fail_errno (conn, errno, "Cannot write to the connection");
          return;
        }

      conn->wqueued -= MIN ((gsize) n, conn->wqueued);
      if (conn->deadline > 0)
        conn->write_since = g_get_monotonic_time ();

      while (n > 0)
        {
          Chunk *chunk = g_queue_peek_head (&conn->wqueue);
          gsize left = g_bytes_get_size (chunk->bytes) - chunk->offset;

          if ((gsize) n >= left)
            {
              n -= left;
              chunk_free (g_queue_pop_head (&conn->wqueue));
            }
          else
            {
              chunk->offset += n;
              n = 0;
            }
        }
    }

  if (conn->closed)
    return;

  update_out_interest (conn);

  if (conn->close_when_flushed && g_queue_is_empty (&conn->wqueue))
    conn_fail (conn, NULL);
}

static void
fail_timeout (PipecomConnection *conn,
              const char        *what)
{
  conn_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                                "Dropping a stalled connection: %s within %u s",
                                what, (guint) (conn->deadline / G_USEC_PER_SEC)));
}

static gboolean
is_reading_frame (PipecomConnection *conn)
{
  return conn->body != NULL || conn->rend != conn->rstart || conn->skip > 0;
}

/* Enforces the limits of _pipecom_connection_set_limits(). */
static void
check_deadlines (PipecomConnection *conn,
                 gint64             now)
{
  if (conn->read_since > 0 && now >= conn->read_since + conn->deadline)
    fail_timeout (conn, "the peer did not complete a frame");
  else if (conn->write_since > 0 && now >= conn->write_since + conn->deadline)
    fail_timeout (conn, "the peer read nothing");
  else if (conn->open_path != NULL && now >= conn->open_until)
    {
      struct pollfd pfd = { conn->out_fd, POLLOUT, 0 };
      struct stat pst, fst;

      /* The peer unlinks its channel files once it opened them: a file
       * still there, the one we read, means it never did. A peer that died
       * has no reader on our output (and its files may be gone already,
       * removed by another process's sweep). */
      if (conn->out_fd >= 0 && poll (&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) != 0)
        fail_timeout (conn, "the peer went away before opening its channel");
      else if (lstat (conn->open_path, &pst) == 0 && conn->in_fd >= 0 &&
               fstat (conn->in_fd, &fst) == 0 && pst.st_dev == fst.st_dev &&
               pst.st_ino == fst.st_ino)
        fail_timeout (conn, "the peer did not open its channel");
      g_clear_pointer (&conn->open_path, g_free);
    }
}

/* Wakes the dispatch at the next deadline. */
static void
update_deadline_timer (PipecomConnection *conn)
{
  gint64 next = -1;

  if (conn->deadline <= 0 || conn->closed || conn->notify_pending || conn->source == NULL)
    return;

  if (conn->read_since > 0)
    next = conn->read_since + conn->deadline;
  if (conn->write_since > 0 && (next < 0 || conn->write_since + conn->deadline < next))
    next = conn->write_since + conn->deadline;
  if (conn->open_path != NULL && (next < 0 || conn->open_until < next))
    next = conn->open_until;

  g_source_set_ready_time (conn->source, next);
}

static gboolean
conn_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  PipecomConnection *conn = ((ConnSource *) source)->conn;
  GRecMutex *lock = conn->lock;

  /* The source may recurse (see _pipecom_connection_new()): a main loop run
   * from inside this dispatch, by a handler that waits for something, gets
   * here again. Hold the connection, as GLib holds a source that cannot
   * recurse, until the outer dispatch returns. */
  if (conn->dispatching)
    {
      if (!conn->held)
        {
          conn->held = TRUE;
          update_in_interest (conn);
          update_out_interest (conn);
        }
      g_source_set_ready_time (source, -1);
      return G_SOURCE_CONTINUE;
    }

  /* The owner may also do I/O on this connection from another thread
   * (see _pipecom_connection_set_lock()). */
  if (lock != NULL)
    g_rec_mutex_lock (lock);

  _pipecom_connection_ref (conn);
  conn->dispatching = TRUE;

  if (!conn->closed && conn->out_tag != NULL &&
      (g_source_query_unix_fd (source, conn->out_tag) & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) != 0)
    do_flush (conn);

  if (!conn->closed && conn->in_tag != NULL &&
      (g_source_query_unix_fd (source, conn->in_tag) & (G_IO_IN | G_IO_ERR | G_IO_HUP)) != 0)
    {
      guint frames_in = conn->frames_in;
      gsize rend = conn->rend;
      gsize body_have = conn->body_have;

      do_read (conn);

      if (conn->deadline > 0 && !conn->closed)
        {
          /* Any byte read means the peer opened its channel. */
          if (conn->frames_in != frames_in || conn->rend != rend || conn->body_have != body_have)
            g_clear_pointer (&conn->open_path, g_free);
          if (!is_reading_frame (conn))
            conn->read_since = 0;
          else if (conn->read_since == 0 || conn->frames_in != frames_in)
            conn->read_since = g_source_get_time (source);
        }
    }

  if (conn->deadline > 0 && !conn->closed)
    {
      if (g_queue_is_empty (&conn->wqueue))
        conn->write_since = 0;
      check_deadlines (conn, g_source_get_time (source));
      update_deadline_timer (conn);
    }

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

  conn->dispatching = FALSE;
  if (conn->held)
    {
      conn->held = FALSE;
      update_in_interest (conn);
      update_out_interest (conn);
      if (conn->notify_pending && conn->source != NULL)
        g_source_set_ready_time (conn->source, 0);
    }

  _pipecom_connection_unref (conn);

  if (lock != NULL)
    g_rec_mutex_unlock (lock);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = {
  NULL, NULL, conn_source_dispatch, NULL, NULL, NULL,
};

PipecomConnection *
_pipecom_connection_new (int                           in_fd,
                         int                           out_fd,
                         gsize                         read_size,
                         guint64                       max_frame,
                         const PipecomConnectionFuncs *funcs,
                         gpointer                      user_data,
                         GMainContext                 *context)
{
  PipecomConnection *conn = g_new0 (PipecomConnection, 1);

  g_atomic_ref_count_init (&conn->ref_count);
  conn->in_fd = in_fd;
  conn->out_fd = -1;
  conn->funcs = funcs;
  conn->user_data = user_data;
  conn->max_frame = max_frame;
  conn->rcap = MAX (read_size, 4096);  /* rbuf is allocated on the first read */
  g_queue_init (&conn->wqueue);

  conn->source = g_source_new (&conn_source_funcs, sizeof (ConnSource));
  ((ConnSource *) conn->source)->conn = conn;
  g_source_set_static_name (conn->source, "[pipecom] connection");
  g_source_set_priority (conn->source, G_PRIORITY_DEFAULT);
  /* GLib blocks a source that cannot recurse around each dispatch, which
   * removes and adds back its fds, and wakes the context up twice for each:
   * four eventfd writes and an extra iteration per message. The dispatch
   * holds the connection itself when it does recurse. */
  g_source_set_can_recurse (conn->source, TRUE);
  if (in_fd >= 0)
    conn->in_tag = g_source_add_unix_fd (conn->source, in_fd, G_IO_IN);
  _pipecom_connection_set_out_fd (conn, out_fd);
  g_source_attach (conn->source, context);

  return conn;
}

void
_pipecom_connection_set_out_fd (PipecomConnection *conn,
                                int                out_fd)
{
  g_assert (conn->out_fd < 0);

  if (out_fd < 0)
    return;

  if (conn->closed)
    {
      close (out_fd);
      return;
    }

  conn->out_fd = out_fd;
  conn->out_tag = g_source_add_unix_fd (conn->source, out_fd, 0);
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
  close_fds (conn);
  if (conn->source != NULL)
    {
      g_source_destroy (conn->source);
      g_clear_pointer (&conn->source, g_source_unref);
    }
  g_clear_error (&conn->error);
  g_free (conn->open_path);
  g_free (conn->rbuf);
  g_free (conn);
}

void
_pipecom_connection_close (PipecomConnection *conn)
{
  conn->closed = TRUE;
  conn->notified = TRUE;
  close_fds (conn);
  if (conn->source != NULL)
    g_source_destroy (conn->source);
}

/* Writes one frame: one writev() of header and payload when nothing is
 * queued, and queues what the pipe did not take. Queued payload bytes are
 * referenced from @keep when given (large payloads are never copied), and
 * copied otherwise. */
static gboolean
send_frame (PipecomConnection *conn,
            guint8             type,
            guint32            id,
            const guint8      *data,
            gsize              len,
            GBytes            *keep)
{
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];
  ssize_t n = 0;

  if (conn->closed || conn->out_fd < 0)
    return FALSE;

  g_return_val_if_fail (len <= G_MAXUINT32, FALSE);

  if (conn->max_queued > 0 && conn->wqueued >= conn->max_queued)
    {
      conn_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_BUSY,
                                    "Dropping a connection whose peer does not read: "
                                    "%zu bytes are waiting to be written, at most %zu allowed",
                                    conn->wqueued, conn->max_queued));
      return FALSE;
    }

  _pipecom_encode_frame_header (header, len, type, id);
  grow_pipe (conn->out_fd, &conn->out_pipe_size, PIPECOM_FRAME_HEADER_SIZE + len);

  if (g_queue_is_empty (&conn->wqueue))
    {
      struct iovec iov[2] = {
        { header, PIPECOM_FRAME_HEADER_SIZE },
        { (void *) data, len },
      };

      do
        n = writev (conn->out_fd, iov, len > 0 ? 2 : 1);
      while (n < 0 && errno == EINTR);

      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK)
            {
              conn_fail_errno (conn, errno, "Cannot write to the connection");
              return FALSE;
            }
          n = 0;
        }

      if ((gsize) n == PIPECOM_FRAME_HEADER_SIZE + len)
        return TRUE;
    }

  if (conn->deadline > 0 && g_queue_is_empty (&conn->wqueue))
    {
      conn->write_since = g_get_monotonic_time ();
      update_deadline_timer (conn);
    }
  conn->wqueued += PIPECOM_FRAME_HEADER_SIZE + len - n;

  if ((gsize) n < PIPECOM_FRAME_HEADER_SIZE)
    {
      Chunk *chunk = g_slice_new (Chunk);
      chunk->bytes = g_bytes_new (header, PIPECOM_FRAME_HEADER_SIZE);
      chunk->offset = n;
      g_queue_push_tail (&conn->wqueue, chunk);
      n = 0;
    }
  else
    n -= PIPECOM_FRAME_HEADER_SIZE;

  if ((gsize) n < len)
    {
      Chunk *chunk = g_slice_new (Chunk);
      if (keep != NULL)
        {
          chunk->bytes = g_bytes_ref (keep);
          chunk->offset = n;
        }
      else
        {
          chunk->bytes = g_bytes_new (data + n, len - n);
          chunk->offset = 0;
        }
      g_queue_push_tail (&conn->wqueue, chunk);
    }

  update_out_interest (conn);
  return TRUE;
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

/* Limits a listener puts on its connections against peers that stall:
 * a frame must be read completely within @deadline µs of its first byte,
 * queued output must make progress within @deadline, and (when @open_path is
 * given: the channel file the peer must open, then unlink) the peer must
 * have opened it within @deadline. Sending fails, and closes the
 * connection, once @max_queued bytes wait to be written. 0 means no limit. */
void
_pipecom_connection_set_limits (PipecomConnection *conn,
                                gint64             deadline,
                                gsize              max_queued,
                                const char        *open_path)
{
  conn->deadline = deadline;
  conn->max_queued = max_queued;
  g_clear_pointer (&conn->open_path, g_free);
  if (deadline > 0 && open_path != NULL)
    {
      conn->open_path = g_strdup (open_path);
      conn->open_until = g_get_monotonic_time () + deadline;
    }
  if (deadline > 0 && !g_queue_is_empty (&conn->wqueue) && conn->write_since == 0)
    conn->write_since = g_get_monotonic_time ();
  update_deadline_timer (conn);
}

/* Makes the dispatch hold @lock, so that a thread holding it may call
 * _pipecom_connection_send(), _pipecom_connection_flush() and
 * _pipecom_connection_pump() on the connection directly. */
void
_pipecom_connection_set_lock (PipecomConnection *conn,
                              GRecMutex         *lock)
{
  conn->lock = lock;
}

/* While a thread does I/O on the connection directly, the dispatch has
 * nothing to watch: it would only wake up to wait for the lock. */
void
_pipecom_connection_set_direct (PipecomConnection *conn,
                                gboolean           direct)
{
  if (conn->direct == (direct != FALSE))
    return;
  conn->direct = direct;
  if (conn->closed)
    return;
  update_in_interest (conn);
  update_out_interest (conn);
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

/* The fds to poll for a direct exchange: @in_fd for reading, and @out_fd
 * (-1 when nothing waits to be written) for writing. */
void
_pipecom_connection_get_poll_fds (PipecomConnection *conn,
                                  int               *in_fd,
                                  int               *out_fd)
{
  *in_fd = conn->in_fd;
  *out_fd = g_queue_is_empty (&conn->wqueue) ? -1 : conn->out_fd;
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
  if (conn->in_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, conn->in_tag);
      conn->in_tag = NULL;
    }
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



