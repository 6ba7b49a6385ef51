/* pipecom-unix-io.c: the I/O of a connection over a pair of FIFO fds
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pipecom-connection-private.h"
#include "pipecom-unix-private.h"

/* The Unix I/O of a connection (the rest is pipecom-connection.c):
 * two non-blocking fds in the connection's GSource. Reads are drained into
 * the core's buffer; writes try one writev() of header and payload at once
 * and the core queues only what the pipe did not take. */

#define MAX_IOV 16

/* Pipes start with 64 KiB (Linux); a frame larger than that is carried in
 * fewer rounds of write and read when the pipe is grown, up to this. Not
 * to a whole 1 MiB frame (Linux's default /proc/sys/fs/pipe-max-size): with
 * 1 MiB messages a 256 KiB pipe was measured faster (fewer pipe pages
 * alive at once, so warmer in the cache), and the extra rounds of write and
 * read cost little. Only connections that carry large frames pay for it. */
#define GROWN_PIPE_MAX (256 * 1024)
#define PIPE_DEFAULT_SIZE (64 * 1024)

typedef struct
{
  PipecomConnection core;

  int               in_fd;
  int               out_fd;
  gpointer          in_tag;
  gpointer          out_tag;
  /* The events last given to GLib for each tag: modifying a source's fd,
   * even to the same events, wakes the context it is attached to (another
   * thread's, for a client driven directly). */
  GIOCondition      in_events;
  GIOCondition      out_events;

  /* Whether in_fd is blocking, for a direct exchange that waits with no
   * limit (see wait_in_read()); made non-blocking again as the worker takes
   * the connection back. While it is, a read is never repeated without a
   * poll() in between. */
  gboolean          in_blocking;

  gsize             in_pipe_size;   /* as grown by us, 0 = default */
  gsize             out_pipe_size;
} FdConnection;

#define FD_CONNECTION(conn) ((FdConnection *) (conn))

void
_pipecom_connection_io_close (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  if (fc->in_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, fc->in_tag);
      fc->in_tag = NULL;
    }
  if (fc->out_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, fc->out_tag);
      fc->out_tag = NULL;
    }
  if (fc->in_fd >= 0)
    {
      close (fc->in_fd);
      fc->in_fd = -1;
    }
  if (fc->out_fd >= 0)
    {
      close (fc->out_fd);
      fc->out_fd = -1;
    }
}

void
_pipecom_connection_io_finalize (PipecomConnection *conn)
{
}

static void
conn_fail_errno (PipecomConnection *conn,
                 int                saved_errno,
                 const char        *what)
{
  int code = saved_errno == EPIPE ? PIPECOM_ERROR_CLOSED : PIPECOM_ERROR_UNKNOWN;

  _pipecom_connection_fail (conn, g_error_new (PIPECOM_ERROR, code, "%s: %s", what,
                                               g_strerror (saved_errno)));
}

/* Writing failed with @saved_errno. EPIPE on a connection that reads to
 * EOF (_pipecom_connection_set_read_to_eof()) closes only the writing
 * side: the peer's last frames and its EOF are still to be read. */
static void
conn_write_failed (PipecomConnection *conn,
                   int                saved_errno)
{
  FdConnection *fc = FD_CONNECTION (conn);

  if (saved_errno != EPIPE || !conn->read_to_eof || fc->in_fd < 0 || conn->reading_stopped)
    {
      conn_fail_errno (conn, saved_errno, "Cannot write to the connection");
      return;
    }

  if (fc->out_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, fc->out_tag);
      fc->out_tag = NULL;
    }
  /* See _pipecom_connection_holds_channel(). */
  g_mutex_lock (&conn->peer_lock);
  close (fc->out_fd);
  fc->out_fd = -1;
  g_mutex_unlock (&conn->peer_lock);
  _pipecom_connection_write_closed (conn);
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

void
_pipecom_connection_io_frame_coming (PipecomConnection *conn,
                                     gsize              frame_len)
{
  FdConnection *fc = FD_CONNECTION (conn);

  grow_pipe (fc->in_fd, &fc->in_pipe_size, frame_len);
}

void
_pipecom_connection_io_read (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  for (guint round = 0; round < 64 && !conn->closed && !conn->reading_stopped && fc->in_fd >= 0; round++)
    {
      struct iovec iov[2];
      gsize want;
      ssize_t n;

      iov[0].iov_base = _pipecom_connection_read_buffer (conn, &iov[0].iov_len);
      if (iov[0].iov_base == NULL)
        return;  /* dropped: over the memory budget */
      iov[1].iov_base = _pipecom_connection_read_buffer_next (conn, &iov[1].iov_len);
      want = iov[0].iov_len + iov[1].iov_len;

      if (iov[1].iov_base != NULL)
        n = readv (fc->in_fd, iov, 2);
      else
        n = read (fc->in_fd, iov[0].iov_base, iov[0].iov_len);

      if (n > 0)
        {
          _pipecom_connection_received (conn, n);
          /* A short read drained the pipe: poll() (level-triggered) says
           * when there is more, and a read now would most often just fail
           * with EAGAIN, one system call per message. A blocking read would
           * wait for more. */
          if ((gsize) n < want || fc->in_blocking)
            return;
          continue;
        }

      if (n == 0)
        {
          _pipecom_connection_eof (conn);
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

/* The output fd is in the source only while something waits to be
 * written: watched for no events, it would only add to every poll (and
 * its POLLERR, once the peer closed its reading end, would wake the
 * dispatch over and over, to write nothing). */
static void
update_out_interest (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);
  GIOCondition events;

  if (fc->out_fd < 0 || conn->source == NULL)
    return;

  events = conn->direct || conn->held || _pipecom_connection_wqueue_is_empty (conn) ? 0 : G_IO_OUT;
  if (events == fc->out_events)
    return;
  fc->out_events = events;
  if (events != 0)
    fc->out_tag = g_source_add_unix_fd (conn->source, fc->out_fd, events);
  else
    {
      g_source_remove_unix_fd (conn->source, fc->out_tag);
      fc->out_tag = NULL;
    }
}

/* in_fd was opened with O_NONBLOCK and no other file status flag. */
static void
set_in_blocking (FdConnection *fc,
                 gboolean      blocking)
{
  if (fc->in_fd >= 0 && fcntl (fc->in_fd, F_SETFL, blocking ? 0 : O_NONBLOCK) == 0)
    fc->in_blocking = blocking;
}

static void
update_in_interest (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);
  GIOCondition events;

  if (fc->in_tag == NULL)
    return;

  events = conn->direct || conn->held ? 0 : G_IO_IN;
  if (events == fc->in_events)
    return;
  fc->in_events = events;
  g_source_modify_unix_fd (conn->source, fc->in_tag, events);
}

void
_pipecom_connection_io_update_interest (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  if (fc->in_blocking && !conn->direct)
    set_in_blocking (fc, FALSE);
  update_in_interest (conn);
  update_out_interest (conn);
}

void
_pipecom_connection_io_flush (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  while (!conn->closed && !_pipecom_connection_wqueue_is_empty (conn))
    {
      struct iovec iov[MAX_IOV];
      guint n_iov = 0;
      ssize_t n;

      for (GList *l = conn->wqueue.head; l != NULL && n_iov < MAX_IOV; l = l->next)
        {
          PipecomChunk *chunk = l->data;
          gsize size;
          const guint8 *data = g_bytes_get_data (chunk->bytes, &size);

          iov[n_iov].iov_base = (void *) (data + chunk->offset);
          iov[n_iov].iov_len = size - chunk->offset;
          n_iov++;
        }

      n = writev (fc->out_fd, iov, n_iov);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
          conn_write_failed (conn, errno);
          return;
        }

      _pipecom_connection_wrote (conn, n);
    }

  if (conn->closed)
    return;

  update_out_interest (conn);
}

gboolean
_pipecom_connection_io_can_write (PipecomConnection *conn)
{
  return FD_CONNECTION (conn)->out_fd >= 0;
}

gssize
_pipecom_connection_io_write_now (PipecomConnection *conn,
                                  const guint8      *header,
                                  const guint8      *data,
                                  gsize              len)
{
  FdConnection *fc = FD_CONNECTION (conn);
  struct iovec iov[2] = {
    { (void *) header, PIPECOM_FRAME_HEADER_SIZE },
    { (void *) data, len },
  };
  ssize_t n;

  grow_pipe (fc->out_fd, &fc->out_pipe_size, PIPECOM_FRAME_HEADER_SIZE + len);

  if (!_pipecom_connection_wqueue_is_empty (conn))
    return 0;

  do
    n = writev (fc->out_fd, iov, len > 0 ? 2 : 1);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        {
          conn_write_failed (conn, errno);
          return -1;
        }
      n = 0;
    }

  return n;
}

void
_pipecom_connection_io_queued (PipecomConnection *conn)
{
  update_out_interest (conn);
}

void
_pipecom_connection_io_stop_reading (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  if (fc->in_tag != NULL)
    {
      g_source_remove_unix_fd (conn->source, fc->in_tag);
      fc->in_tag = NULL;
    }
}

/* The peer unlinks its channel files once it opened them: a file still
 * there, the one we read, means it never did. A peer that died has no
 * reader on our output (and its files may be gone already, removed by
 * another process's sweep): Linux's poll() says so with POLLERR, macOS's
 * (and GLib's there) does not. Portably, the channel we read has no writer
 * then, and a FIFO with no writer reads as EOF (read() returns 0) whatever
 * poll() reports: read it, so that the connection ends; a peer that opened
 * it holds a writer, and the read finds nothing (EAGAIN) or its bytes. */
void
_pipecom_connection_io_check_open (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);
  struct pollfd pfd = { fc->out_fd, POLLOUT, 0 };
  struct stat pst, fst;

  if (fc->out_fd >= 0 && poll (&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) != 0)
    _pipecom_connection_fail_timeout (conn, "the peer went away before opening its channel");
  else if (lstat (conn->open_path, &pst) == 0 && fc->in_fd >= 0 &&
           fstat (fc->in_fd, &fst) == 0 && pst.st_dev == fst.st_dev &&
           pst.st_ino == fst.st_ino)
    _pipecom_connection_fail_timeout (conn, "the peer did not open its channel");
  else if (fc->in_fd >= 0 && !conn->reading_stopped)
    _pipecom_connection_io_read (conn);
}

gboolean
_pipecom_connection_io_dispatch (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  if (!conn->closed && fc->out_tag != NULL &&
      (g_source_query_unix_fd (conn->source, fc->out_tag) & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) != 0)
    _pipecom_connection_flush (conn);

  if (!conn->closed && fc->in_tag != NULL &&
      (g_source_query_unix_fd (conn->source, fc->in_tag) & (G_IO_IN | G_IO_ERR | G_IO_HUP)) != 0)
    {
      _pipecom_connection_io_read (conn);
      return TRUE;
    }

  return FALSE;
}

static GSourceFuncs conn_source_funcs = {
  NULL, NULL, _pipecom_connection_source_dispatch, NULL, NULL, NULL,
};

/* A connection reading @in_fd and writing @out_fd (either may be -1),
 * dispatched in @context, or, with a %NULL @context, driven by its owner
 * alone until _pipecom_connection_attach(). */
PipecomConnection *
_pipecom_connection_new (int                           in_fd,
                         int                           out_fd,
                         gsize                         read_size,
                         guint64                       max_frame,
                         const PipecomConnectionFuncs *funcs,
                         gpointer                      user_data,
                         GMainContext                 *context)
{
  /* Not g_new0(): glibc's calloc() bypasses its per-thread cache, and a
   * one-shot makes a connection on either side for every message. */
  FdConnection *fc = memset (g_new (FdConnection, 1), 0, sizeof (FdConnection));
  PipecomConnection *conn = &fc->core;

  _pipecom_connection_init (conn, read_size, max_frame, funcs, user_data);
  fc->in_fd = in_fd;
  fc->out_fd = -1;
  _pipecom_connection_set_out_fd (conn, out_fd);
  if (context != NULL)
    _pipecom_connection_attach (conn, context);

  return conn;
}

void
_pipecom_connection_attach (PipecomConnection *conn,
                            GMainContext      *context)
{
  FdConnection *fc = FD_CONNECTION (conn);

  _pipecom_connection_new_source (conn, &conn_source_funcs);

  /* GLib blocks a source that cannot recurse around each dispatch, which
   * removes and adds back its fds, and wakes the context up twice for each:
   * four eventfd writes and an extra iteration per message. The dispatch
   * holds the connection itself when it does recurse. */
  g_source_set_can_recurse (conn->source, TRUE);
  if (fc->in_fd >= 0 && !conn->reading_stopped)
    {
      fc->in_tag = g_source_add_unix_fd (conn->source, fc->in_fd, 0);
      fc->in_events = 0;
    }
  fc->out_events = 0;  /* the output fd goes in when there is output */
  _pipecom_connection_io_update_interest (conn);
  _pipecom_connection_arm (conn);
  g_source_attach (conn->source, context);
}

void
_pipecom_connection_set_out_fd (PipecomConnection *conn,
                                int                out_fd)
{
  FdConnection *fc = FD_CONNECTION (conn);

  g_assert (fc->out_fd < 0);

  if (out_fd < 0)
    return;

  if (conn->closed)
    {
      close (out_fd);
      return;
    }

  fc->out_fd = out_fd;
  fc->out_events = 0;
  update_out_interest (conn);
}

/* Whether a listener's connection still holds its peer's reply channel
 * (BASE.rep) open, so that the file is the one it opened. Call with
 * conn->peer_lock held: the channel is closed under it. */
gboolean
_pipecom_connection_holds_channel (PipecomConnection *conn)
{
  return FD_CONNECTION (conn)->out_fd >= 0;
}

/* The fds to poll for a direct exchange: @in_fd for reading, and @out_fd
 * (-1 when nothing waits to be written) for writing. */
void
_pipecom_connection_get_poll_fds (PipecomConnection *conn,
                                  int               *in_fd,
                                  int               *out_fd)
{
  FdConnection *fc = FD_CONNECTION (conn);

  *in_fd = fc->in_fd;
  *out_fd = _pipecom_connection_wqueue_is_empty (conn) ? -1 : fc->out_fd;
}

/* The thread that owns a connection polls its fds itself. */
gboolean
_pipecom_transport_drives_directly (void)
{
  return TRUE;
}

/* Asked of g_poll(), which GLib's main loop uses, once per process: a
 * pipe whose writer is gone, watched for no events. */
gboolean
_pipecom_transport_sees_unwatched_hangup (void)
{
  static gsize probed = 0;
  static gboolean sees;

  if (g_once_init_enter (&probed))
    {
      int fds[2];

      sees = FALSE;
      if (pipe (fds) == 0)
        {
          GPollFD pfd = { fds[0], 0, 0 };

          close (fds[1]);
          sees = g_poll (&pfd, 1, 0) == 1 && (pfd.revents & G_IO_HUP) != 0;
          close (fds[0]);
        }
      g_once_init_leave (&probed, 1);
    }

  return sees;
}

/* A direct exchange that waits with no limit, no cancellable and nothing to
 * write waits in read() itself, as a plain FIFO reader does, rather than in
 * poll() and then read(): one system call fewer per reply. in_fd is made
 * blocking for it once, and stays so while the connection is direct, which
 * on Linux lasts from one synchronous call to the next; where the worker
 * takes a connection back after every call (see
 * _pipecom_transport_sees_unwatched_hangup()), switching would cost more
 * than it saves. Returns whether it read (or saw the end). */
static gboolean
wait_in_read (PipecomConnection *conn)
{
  FdConnection *fc = FD_CONNECTION (conn);

  if (!conn->direct || fc->in_fd < 0 || !_pipecom_transport_sees_unwatched_hangup ())
    return FALSE;
  if (!fc->in_blocking)
    set_in_blocking (fc, TRUE);
  if (!fc->in_blocking)
    return FALSE;

  _pipecom_connection_pump (conn);
  return TRUE;
}

gboolean
_pipecom_connection_wait (PipecomConnection *conn,
                          GCancellable      *cancellable,
                          gint64             until,
                          gint64             now,
                          GError           **error)
{
  GPollFD fds[3];
  GPollFD cancel_fd = { -1, 0, 0 };
  guint n_fds = 0;
  gint timeout = -1;
  gboolean ret = TRUE;
  int in_fd, out_fd;

  if (until > 0)
    {
      /* Once: MIN() and MAX() evaluate their arguments more than once. */
      gint64 left = until - (now > 0 ? now : g_get_monotonic_time ());

      left = MAX (left, 0);

      timeout = (gint) MIN ((left + 999) / 1000, G_MAXINT);
    }

  _pipecom_connection_get_poll_fds (conn, &in_fd, &out_fd);

  if (until <= 0 && cancellable == NULL && out_fd < 0 && wait_in_read (conn))
    return TRUE;

  fds[n_fds++] = (GPollFD) { in_fd, G_IO_IN, 0 };
  if (out_fd >= 0)
    fds[n_fds++] = (GPollFD) { out_fd, G_IO_OUT, 0 };
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd))
    {
      cancel_fd.events = G_IO_IN;
      fds[n_fds++] = cancel_fd;
    }

  if (g_poll (fds, n_fds, timeout) > 0)
    {
      if (cancel_fd.fd >= 0 && fds[n_fds - 1].revents != 0 &&
          g_cancellable_set_error_if_cancelled (cancellable, error))
        ret = FALSE;
      else
        {
          if (out_fd >= 0 && fds[1].revents != 0)
            _pipecom_connection_flush (conn);
          if (fds[0].revents != 0)
            _pipecom_connection_pump (conn);
        }
    }

  if (cancel_fd.fd >= 0)
    g_cancellable_release_fd (cancellable);

  return ret;
}

/* ---- Large frame bodies ----
 *
 * Where mremap() is (Linux), a large frame's body is a mapping of its own,
 * not heap memory: it grows without a copy, and freeing it (a connection
 * dropped over the memory budget, or the message done with) gives the
 * memory back to the system at once. From malloc(), the first bodies would
 * be mapped too, but each one freed raises glibc's mmap threshold, so the
 * next ones come from the heap, where a realloc() that moves holds the old
 * and the new block at once, and what is freed stays in the process: the
 * process then grew by several MiB more than the budget allowed. */

#if defined(MREMAP_MAYMOVE) && defined(PIPECOM_LINUX_SPECIFIC)

typedef struct
{
  gpointer data;
  gsize    size;
} BodyMapping;

/* One mapping freed last, kept for the next large body: a fresh mapping
 * costs a page fault per 4 KiB page as the body is read into it, and
 * unmapping it a TLB flush, which together halved the throughput of 1 MiB
 * messages. At most BODY_SPARE_MAX bytes are kept, in the whole process,
 * outside the memory budget; any thread may free a body, so the slot is
 * taken and filled with atomic exchanges. */
#define BODY_SPARE_MAX (2 * PIPECOM_BODY_CHUNK)

static BodyMapping *body_spare;  /* (atomic) (owned) (nullable) */

static void
body_unmap (BodyMapping *mapping)
{
  munmap (mapping->data, mapping->size);
  g_free (mapping);
}

/* Keeps @mapping as the spare when it is small enough and the slot is
 * free; unmaps it otherwise. Takes @mapping. */
static void
body_release (BodyMapping *mapping)
{
  if (mapping->size <= BODY_SPARE_MAX &&
      g_atomic_pointer_compare_and_exchange (&body_spare, NULL, mapping))
    return;
  body_unmap (mapping);
}

static gpointer
body_resize (gpointer body,
             gsize    old_size,
             gsize    new_size)
{
  void *data = mremap (body, old_size, new_size, MREMAP_MAYMOVE);

  if (data == MAP_FAILED)
    g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes", G_STRLOC, new_size);
  return data;
}

guint8 *
_pipecom_connection_io_body_alloc (gsize size)
{
  BodyMapping *spare = g_atomic_pointer_exchange (&body_spare, NULL);
  void *data;

  if (spare != NULL)
    {
      data = spare->size == size ? spare->data : body_resize (spare->data, spare->size, size);
      g_free (spare);
      return data;
    }

  data = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED)
    g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes", G_STRLOC, size);
  return data;
}

guint8 *
_pipecom_connection_io_body_realloc (guint8 *body,
                                     gsize   old_size,
                                     gsize   new_size)
{
  return body_resize (body, old_size, new_size);
}

void
_pipecom_connection_io_body_free (guint8 *body,
                                  gsize   size)
{
  BodyMapping *mapping;

  if (body == NULL)
    return;
  mapping = g_new (BodyMapping, 1);
  mapping->data = body;
  mapping->size = size;
  body_release (mapping);
}

static void
body_mapping_free (gpointer data)
{
  body_release (data);
}

GBytes *
_pipecom_connection_io_body_to_bytes (guint8 *body,
                                      gsize   size)
{
  BodyMapping *mapping = g_new (BodyMapping, 1);

  mapping->data = body;
  mapping->size = size;
  return g_bytes_new_with_free_func (body, size, body_mapping_free, mapping);
}

#else

guint8 *
_pipecom_connection_io_body_alloc (gsize size)
{
  return g_malloc (size);
}

guint8 *
_pipecom_connection_io_body_realloc (guint8 *body,
                                     gsize   old_size,
                                     gsize   new_size)
{
  return g_realloc (body, new_size);
}

void
_pipecom_connection_io_body_free (guint8 *body,
                                  gsize   size)
{
  g_free (body);
}

GBytes *
_pipecom_connection_io_body_to_bytes (guint8 *body,
                                      gsize   size)
{
  return g_bytes_new_take (body, size);
}

#endif
