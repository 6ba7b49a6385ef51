/* pipecom-unix-listen.c: the well-known FIFO, announcements, accepting
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "pipecom-unix-private.h"

static gboolean
transport_listen (const char     *name,
                  const char     *path,
                  PipecomAccess   access,
                  const char     *chandir,
                  int            *fifo_fd,
                  int            *keep_fd,
                  int            *lock_fd,
                  GError        **error)
{
  g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *leaf = g_path_get_basename (path);
  g_autofree char *lock_leaf = g_strconcat (leaf, ".lock", NULL);
  struct stat made;
  gboolean exists;
  int dfd, lfd, rfd, wfd, saved_errno;

  if (access != PIPECOM_ACCESS_PRIVATE && !_pipecom_unix_check_shareable (name, path, access, error))
    return FALSE;

  /* Everything happens relative to one descriptor of the directory, as
   * the caller named it (a symbolic link to a directory is fine there). */
  if ((dfd = open (dir, DIR_FD_FLAGS)) < 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot open the directory", dir);
      return FALSE;
    }

  if ((lfd = _pipecom_unix_take_lock (name, dfd, lock_leaf, lock_path, error)) < 0)
    goto fail;

  /* We own the name now. A FIFO of ours left at the path is stale. */
  if (!_pipecom_unix_check_existing (dfd, leaf, path, TRUE, &exists, error))
    goto fail_locked;

  if (exists && unlinkat (dfd, leaf, 0) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot remove the stale FIFO", path);
      goto fail_locked;
    }

  rfd = _pipecom_unix_make_fifo_at (dfd, leaf, O_RDONLY, 0600, geteuid (), FALSE, &made,
                                    &saved_errno);
  if (rfd < 0)
    {
      if (saved_errno == EPERM)
        g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                     "Cannot create the FIFO “%s”: it was replaced by another file", path);
      else
        _pipecom_set_error_from_errno (error, saved_errno, "Cannot create the FIFO", path);
      if (saved_errno != EEXIST)
        unlinkat (dfd, leaf, 0);
      goto fail_locked;
    }

  /* Our own writer keeps the FIFO from reporting EOF/POLLHUP forever once
   * the last client has gone (OpenRC#1055). */
  wfd = _pipecom_unix_reopen_fifo_at (dfd, leaf, O_WRONLY, &made, &saved_errno);
  if (wfd < 0)
    {
      _pipecom_set_error_from_errno (error, saved_errno, "Cannot open the FIFO", path);
      close (rfd);
      unlinkat (dfd, leaf, 0);
      goto fail_locked;
    }

  /* Shared: the channel directory first, then the FIFO's mode lets the
   * group or everyone in (writable, never readable). */
  if (chandir != NULL &&
      (!_pipecom_unix_make_channel_dir (chandir, access, error) ||
       fchmod (rfd, access == PIPECOM_ACCESS_GROUP ? 0620 : 0622) != 0))
    {
      if (error != NULL && *error == NULL)
        _pipecom_set_error_from_errno (error, errno, "Cannot set the mode of", path);
      _pipecom_unix_remove_channel_dir (chandir);
      close (wfd);
      close (rfd);
      unlinkat (dfd, leaf, 0);
      goto fail_locked;
    }

  close (dfd);
  *fifo_fd = rfd;
  *keep_fd = wfd;
  *lock_fd = lfd;

  return TRUE;

fail_locked:
  unlinkat (dfd, lock_leaf, 0);
  close (lfd);
fail:
  close (dfd);
  return FALSE;
}

static void
transport_unlisten (const char *path,
                    const char *chandir,
                    int         lock_fd)
{
  g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);

  /* Remove the FIFO first, so that new senders fail at once, then the
   * channel directory and the lock while we still hold it. */
  g_unlink (path);
  if (chandir != NULL)
    _pipecom_unix_remove_channel_dir (chandir);
  g_unlink (lock_path);
  if (lock_fd >= 0)
    close (lock_fd);
}

/* ---- Listening: the well-known FIFO and its announcements ---- */

/* Records dropped incomplete (or foreign bytes ending a read) once the
 * FIFO read empty. */
gint _pipecom_truncated_records = 0;

/* Room for a peer's BASE, which came in a record (so it is shorter than
 * PIPECOM_ANNOUNCE_MAX bytes), with ".rep" or ".req". */
#define PEER_FILE_NAME_SIZE (PIPECOM_ANNOUNCE_MAX + sizeof ".rep")

/* Puts the path of @peer's channel file with @suffix (".rep" or ".req")
 * in @buf, of PEER_FILE_NAME_SIZE bytes, and returns the file's name in
 * it, for _pipecom_unix_open_channel(): g_strconcat() cost every sender an
 * allocation per name. */
static const char *
peer_file_name (char              *buf,
                const PipecomPeer *peer,
                const char        *suffix)
{
  g_assert (peer->base_len < PIPECOM_ANNOUNCE_MAX && strlen (suffix) == 4);

  memcpy (buf, peer->base, peer->base_len);
  memcpy (buf + peer->base_len, suffix, sizeof ".rep");
  return buf + (peer->leaf - peer->base);
}

static void
set_pipe_size (int   fd,
               guint size)
{
#ifdef HAVE_F_SETPIPE_SZ
  if (fd >= 0 && size > 65536 && fcntl (fd, F_SETPIPE_SZ, (int) size) < 0)
    g_debug ("F_SETPIPE_SZ(%u): %s", size, g_strerror (errno));
#endif
}

/* Answers a record when no connection is possible: the listener is
 * stopping, or the record is of another version. */
void
_pipecom_peer_refuse (PipecomPeer  *peer,
                      PipecomError  code,
                      const char   *text)
{
  char rep[PEER_FILE_NAME_SIZE];
  g_autoptr(GBytes) payload = _pipecom_error_payload_new (code, text);
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];
  struct iovec iov[2];
  int saved_errno;
  int fd;

  fd = _pipecom_unix_open_channel (peer->intake, peer_file_name (rep, peer, ".rep"), O_WRONLY,
                                   NULL, &saved_errno);
  if (fd < 0)
    return;

  _pipecom_encode_frame_header (header, g_bytes_get_size (payload), PIPECOM_FRAME_ERROR, 0);
  iov[0].iov_base = header;
  iov[0].iov_len = sizeof header;
  iov[1].iov_base = (void *) g_bytes_get_data (payload, &iov[1].iov_len);
  if (writev (fd, iov, 2) < 0)
    g_debug ("Cannot refuse a connection on “%s”: %s", rep, g_strerror (errno));
  close (fd);
}

static int
open_spare_fd (void)
{
  return open ("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of file descriptors (EMFILE, ENFILE): the client would wait for its
 * timeout. Give back the one we keep in reserve to answer it at once with
 * BUSY, then take it again. */
static void
refuse_if_out_of_fds (PipecomPeer *peer,
                      int          saved_errno)
{
  PipecomIntake *intake = peer->intake;
  g_autofree char *text = NULL;

  if (saved_errno != EMFILE && saved_errno != ENFILE)
    return;

  text = g_strdup_printf ("pipe “%s” has no file descriptor left for a new connection: %s",
                          intake->name, g_strerror (saved_errno));
  g_debug ("%s", text);
  if (intake->spare_fd >= 0)
    close (intake->spare_fd);
  _pipecom_peer_refuse (peer, PIPECOM_ERROR_BUSY, text);
  intake->spare_fd = open_spare_fd ();
}

PipecomConnection *
_pipecom_peer_accept (PipecomPeer                  *peer,
                      PipecomAnnounceKind           kind,
                      guint                         buffer_size,
                      guint64                       max_frame,
                      const PipecomConnectionFuncs *funcs,
                      gpointer                      user_data,
                      GMainContext                 *context)
{
  char rep[PEER_FILE_NAME_SIZE], req[PEER_FILE_NAME_SIZE];
  const char *rep_leaf = peer_file_name (rep, peer, ".rep");
  PipecomConnection *conn;
  PipecomPeerIdentity identity;
  struct stat in_st, out_st;
  int in_fd = -1, out_fd, saved_errno;

  if (kind == PIPECOM_ANNOUNCE_CONNECT)
    {
      in_fd = _pipecom_unix_open_channel_reclaiming (peer, peer_file_name (req, peer, ".req"),
                                                     O_RDONLY, &in_st, &saved_errno);
      if (in_fd < 0)
        {
          g_debug ("Cannot open channel “%s”: %s", req, g_strerror (saved_errno));
          refuse_if_out_of_fds (peer, saved_errno);
          return NULL;
        }
    }

  out_fd = _pipecom_unix_open_channel_reclaiming (peer, rep_leaf, O_WRONLY, &out_st,
                                                  &saved_errno);
  if (out_fd < 0)
    {
      g_debug ("Cannot open channel “%s”: %s", rep, g_strerror (saved_errno));
      if (in_fd >= 0)
        close (in_fd);
      refuse_if_out_of_fds (peer, saved_errno);
      return NULL;
    }
  _pipecom_unix_keep_fd_headroom (peer->intake, MAX (in_fd, out_fd));

  set_pipe_size (in_fd, buffer_size);
  set_pipe_size (out_fd, buffer_size);

  conn = _pipecom_connection_new (in_fd, out_fd, MAX (buffer_size, 4096), max_frame,
                                  funcs, user_data, context);

  /* Who the sender is, for what only the listener's own user may do (the
   * die code of a shared pipe) and for its credentials: the owner of its
   * channel, unknown if its two files belong to different users; the pid
   * its channel's name claims, verified only if someone asks, against the
   * reply channel (which the sender opened before announcing). */
  identity.uid = in_fd >= 0 && in_st.st_uid != out_st.st_uid ? -1 : (gint64) out_st.st_uid;
  identity.gid = (gint64) out_st.st_gid;
  identity.pid = _pipecom_unix_channel_claimed_pid (peer->leaf);
  identity.pid_verified = FALSE;
  identity.channel_dev = (guint64) out_st.st_dev;
  identity.channel_ino = (guint64) out_st.st_ino;
  _pipecom_connection_set_peer (conn, &identity);

  /* A listener drops peers that stall, or that never open their request
   * channel (seen as its file still being there) or never read. */
  _pipecom_connection_set_limits (conn, _pipecom_connection_deadline_usec,
                                  _pipecom_max_queued_bytes,
                                  kind == PIPECOM_ANNOUNCE_CONNECT ? req : NULL);

  return conn;
}

/* Parses the announcement records read from the well-known FIFO; @at_end
 * once it read empty, when no byte of a record already written can still
 * come: then every byte is used or dropped. */
static void
process_records (PipecomIntake *intake,
                 gboolean       at_end)
{
  gsize off = 0, dropped = 0;

  for (;;)
    {
      PipecomAnnounce record;
      char base[PIPECOM_ANNOUNCE_MAX];
      const char *leaf;
      gsize used = _pipecom_decode_announce_into (intake->abuf + off, intake->alen - off,
                                                  at_end, &record, base);

      if (used == 0)
        break;

      if (record.base == NULL)
        {
          /* Counted, and logged once per read: a flood of foreign bytes
           * must not cost a log line each. */
          dropped += used;
          if (at_end && off + used == intake->alen)
            g_atomic_int_inc (&_pipecom_truncated_records);
        }
      else if ((leaf = _pipecom_unix_channel_leaf (intake, record.base)) == NULL)
        g_debug ("Pipe “%s”: refusing a channel outside its %s directory (or misnamed)",
                 intake->name, intake->chandir != NULL ? "channel" : "user's pipe");
      else if (record.version != PIPECOM_PROTOCOL_VERSION || g_path_is_absolute (record.base))
        {
          PipecomPeer peer = { intake, record.base, strlen (record.base), leaf };

          intake->funcs->announce (&peer, record.version, record.kind,
                                   record.inline_data, record.inline_len,
                                   intake->user_data);
        }

      off += used;
    }

  if (dropped > 0)
    g_debug ("Pipe “%s”: dropping %zu bytes of foreign data", intake->name, dropped);

  if (off > 0)
    {
      memmove (intake->abuf, intake->abuf + off, intake->alen - off);
      intake->alen -= off;
    }
}

static void
close_fifo (PipecomIntake *intake)
{
  if (intake->source != NULL)
    {
      g_source_destroy (intake->source);
      g_clear_pointer (&intake->source, g_source_unref);
    }
  if (intake->fifo_fd >= 0)
    close (intake->fifo_fd);
  if (intake->keep_fd >= 0)
    close (intake->keep_fd);
  intake->fifo_fd = intake->keep_fd = -1;
}

/* Reads and handles announcement records until the FIFO is empty. A
 * handler may close the intake meanwhile: the loop then hands on the
 * records still queued and closes the FIFO itself
 * (_pipecom_intake_close() must not re-enter it). */
static void
read_records (PipecomIntake *intake)
{
  intake->in_records = TRUE;

  while (intake->fifo_fd >= 0)
    {
      gsize room = sizeof intake->abuf - intake->alen;
      ssize_t n = read (intake->fifo_fd, intake->abuf + intake->alen, room);

      if (n > 0)
        {
          intake->alen += n;
          process_records (intake, FALSE);
          /* What is left is shorter than two records (see
           * _pipecom_decode_announce()), so the next read has room. */
          g_assert (intake->alen < sizeof intake->abuf);
          /* A read of a pipe returns less than asked only when it emptied
           * the pipe: no need for another read to see EAGAIN. */
          if ((gsize) n == room || intake->closing)
            continue;
        }
      else if (n < 0 && errno == EINTR)
        continue;

      if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
        {
          /* A record is one atomic write: a part left once the FIFO is
           * empty will never be completed, and would swallow the next
           * sender's record. Decide what is left knowing that. */
          if (intake->alen > 0)
            process_records (intake, TRUE);
          g_assert (intake->alen == 0);
          break;
        }

      /* EOF cannot happen while we hold our own writer; anything else is fatal. */
      if (!intake->closing)
        {
          GError *error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                                       "Cannot read pipe “%s” (%s): %s",
                                       intake->name, intake->path,
                                       n == 0 ? "unexpected end of file" : g_strerror (errno));
          intake->in_records = FALSE;
          intake->funcs->failed (error, intake->user_data);
          return;
        }
      break;
    }

  intake->in_records = FALSE;
  if (intake->closing)
    close_fifo (intake);
}

/* The intake's source watches the well-known FIFO. It may recurse, so
 * that GLib does not block it around each dispatch: blocking removes and
 * adds back its fd, which wakes the context up twice (two eventfd writes
 * and an extra iteration per announcement). A main loop run from inside
 * the dispatch (by a handler that waits for something) gets here again:
 * the source then holds itself, as GLib holds a source that cannot
 * recurse, until the outer dispatch returns. */
typedef struct
{
  GSource        source;
  PipecomIntake *intake;
  gpointer       tag;
  gboolean       dispatching;
  gboolean       held;
} IntakeSource;

static gboolean
intake_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  IntakeSource *is = (IntakeSource *) source;

  if (is->dispatching || is->intake->in_records)
    {
      if (!is->held)
        {
          is->held = TRUE;
          g_source_modify_unix_fd (source, is->tag, 0);
        }
      return G_SOURCE_CONTINUE;
    }

  is->dispatching = TRUE;
  read_records (is->intake);
  is->dispatching = FALSE;

  /* The intake may be closed (its source destroyed) by now. */
  if (is->held && !g_source_is_destroyed (source))
    {
      is->held = FALSE;
      g_source_modify_unix_fd (source, is->tag, G_IO_IN);
    }

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs intake_source_funcs = {
  NULL, NULL, intake_source_dispatch, NULL, NULL, NULL,
};

PipecomIntake *
_pipecom_intake_new (const char               *name,
                     const char               *path,
                     guint                     buffer_size,
                     PipecomAccess             access,
                     const PipecomIntakeFuncs *funcs,
                     gpointer                  user_data,
                     GError                  **error)
{
  g_autofree char *chandir = NULL;
  PipecomIntake *intake;
  int fifo_fd, keep_fd, lock_fd;

  if (access != PIPECOM_ACCESS_PRIVATE)
    chandir = _pipecom_unix_channel_dir_path (path);

  if (!transport_listen (name, path, access, chandir, &fifo_fd, &keep_fd, &lock_fd, error))
    return NULL;

  intake = g_new0 (PipecomIntake, 1);
  intake->name = g_strdup (name);
  intake->path = g_strdup (path);
  intake->buffer_size = buffer_size;
  intake->funcs = funcs;
  intake->user_data = user_data;
  intake->fifo_fd = fifo_fd;
  intake->keep_fd = keep_fd;
  intake->lock_fd = lock_fd;
  intake->spare_fd = open_spare_fd ();
  intake->chandir = g_steal_pointer (&chandir);
  intake->chandir_fd = -1;
  intake->privdir_fd = -1;

  if (intake->chandir != NULL)
    {
      struct stat st;

      if ((intake->chandir_fd = open (intake->chandir, DIR_FD_FLAGS | O_NOFOLLOW)) < 0 ||
          fstat (intake->chandir_fd, &st) != 0)
        {
          _pipecom_set_error_from_errno (error, errno, "Cannot open the channel directory",
                                         intake->chandir);
          _pipecom_intake_free (intake);
          return NULL;
        }
      intake->dir_dev = st.st_dev;
      intake->dir_ino = st.st_ino;
    }
  else
    {
      struct stat st;

      /* Our senders make their channels in our (their) pipe directory:
       * the only place a private listener accepts channels from. */
      if ((intake->privdir = _pipecom_unix_user_pipe_dir (error)) == NULL ||
          (intake->privdir_fd = _pipecom_unix_open_private_dir (intake->privdir, &st, error)) < 0)
        {
          _pipecom_intake_free (intake);
          return NULL;
        }
      intake->dir_dev = st.st_dev;
      intake->dir_ino = st.st_ino;
    }

  return intake;
}

void
_pipecom_intake_start (PipecomIntake *intake,
                       GMainContext  *context)
{
  IntakeSource *is;

  intake->source = g_source_new (&intake_source_funcs, sizeof (IntakeSource));
  is = (IntakeSource *) intake->source;
  is->intake = intake;
  is->tag = g_source_add_unix_fd (intake->source, intake->fifo_fd, G_IO_IN);
  g_source_set_static_name (intake->source, "[pipecom] announcements");
  g_source_set_can_recurse (intake->source, TRUE);
  g_source_attach (intake->source, context);
}

/* New senders fail at once from now on. */
void
_pipecom_intake_unpublish (PipecomIntake *intake)
{
  g_unlink (intake->path);
}

/* Hands on the records already queued (the announce callback refuses them
 * when it is stopping), then stops reading. */
void
_pipecom_intake_close (PipecomIntake *intake)
{
  intake->closing = TRUE;
  if (!intake->in_records)
    read_records (intake);
}

void
_pipecom_intake_free (PipecomIntake *intake)
{
  close_fifo (intake);
  if (intake->spare_fd >= 0)
    close (intake->spare_fd);
  if (intake->chandir_fd >= 0)
    close (intake->chandir_fd);
  if (intake->privdir_fd >= 0)
    close (intake->privdir_fd);
  transport_unlisten (intake->path, intake->chandir, intake->lock_fd);
  g_free (intake->chandir);
  g_free (intake->privdir);
  g_free (intake->name);
  g_free (intake->path);
  g_free (intake);
}

/* See _pipecom_connection_set_peer() in _pipecom_peer_accept(). */
gboolean
_pipecom_transport_peer_is_self (PipecomConnection *conn)
{
  return _pipecom_connection_get_peer_uid (conn) == (gint64) geteuid ();
}
