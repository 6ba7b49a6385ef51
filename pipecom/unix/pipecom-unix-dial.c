/* pipecom-unix-dial.c: a private channel, announced on the well-known FIFO
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pipecom-unix-private.h"

/* ---- Connecting: a private channel, announced on the well-known FIFO ---- */

/* Set by tests only (see pipecom-unix-private.h). */
void (*_pipecom_opened_pipe_fifo_hook) (const char *path) = NULL;

struct _PipecomDial
{
  const char  *name;      /* (unowned) the session's, see pipecom-transport.h */
  const char  *path;      /* (unowned) */
  gboolean     duplex;
  char        *base;      /* (nullable) the channel's files, until established: in
                           * @base_buf, or owned if it did not fit */
  gsize        base_len;  /* measured once: each step of the dial needs it */
  char        *chandir;   /* (nullable) a shared pipe's channel directory */
  int          dir_fd;    /* the channel's directory, while there is a channel */
  int          rep_fd;    /* until handed to the connection */
  struct stat  req;       /* BASE.req, as we made it */
  /* The FIFO our last announcement went to, held open until established
   * (see _pipecom_dial_lost()), and its device and inode. */
  int          fifo_fd;
  dev_t        dev;
  ino_t        ino;
  /* A private channel's BASE most often fits here: a one-shot made and
   * freed a string for it in every message. */
  char         base_buf[96];
};

static void
dial_clear_base (PipecomDial *dial)
{
  if (dial->base != dial->base_buf)
    g_free (dial->base);
  dial->base = NULL;
}

PipecomDial *
_pipecom_dial_new (const char *name,
                   const char *path,
                   gboolean    duplex)
{
  /* g_new(), not g_new0(): glibc's calloc() bypasses its per-thread
   * cache, some 250 instructions more in every one-shot. */
  PipecomDial *dial = g_new (PipecomDial, 1);

  /* Not copied: a one-shot made and freed both for every message. */
  *dial = (PipecomDial) {
    .name = name,
    .path = path,
    .duplex = duplex,
    .dir_fd = -1,
    .rep_fd = -1,
    .fifo_fd = -1,
  };
  return dial;
}

/* Opens the well-known FIFO for writing. It must have a single name (a
 * hard link to another listener's FIFO is not the pipe we were asked for)
 * and be ours, or a shared FIFO (writable by group or others) of another
 * user, named by a path, in a directory only that user can write (so that
 * nobody else can have planted it there: a FIFO in /tmp stays refused),
 * with its channel directory next to it. For a shared FIFO, *chandir is
 * set to where our channels go, and to @st what fstat() says of the
 * opened FIFO. Fails with *saved_errno EPERM (type or owner) or EMLINK
 * (several names). */
static int
open_pipe_fifo (PipecomDial  *dial,
                uid_t         euid,
                char        **chandir,
                struct stat  *st_out,
                int          *saved_errno)
{
  g_autofree char *dir = NULL;
  g_autofree char *cd = NULL;
  gboolean shared;
  struct stat st;
  int fd;

  if (chandir != NULL)
    *chandir = NULL;

  do
    fd = open (dial->path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);

  if (fd < 0)
    {
      *saved_errno = errno;
      return -1;
    }

  if (G_UNLIKELY (_pipecom_opened_pipe_fifo_hook != NULL))
    _pipecom_opened_pipe_fifo_hook (dial->path);

  if (fstat (fd, &st) != 0 || !S_ISFIFO (st.st_mode))
    goto refuse;

  /* No name left: a stopping listener removed it after we opened it, so
   * nobody listens there any more. */
  if (st.st_nlink == 0)
    {
      close (fd);
      *saved_errno = ENOENT;
      return -1;
    }

  if (st.st_nlink != 1)
    {
      close (fd);
      *saved_errno = EMLINK;
      return -1;
    }

  shared = (st.st_mode & 0022) != 0 && strchr (dial->name, '/') != NULL;
  if (shared)
    {
      dir = g_path_get_dirname (dial->path);
      cd = _pipecom_unix_channel_dir_path (dial->path);
      shared = _pipecom_unix_dir_is_owned_by (dir, st.st_uid) && _pipecom_unix_is_channel_dir (cd, st.st_uid);
    }

  if (st.st_uid != euid && !shared)
    goto refuse;

  if (shared && chandir != NULL)
    *chandir = g_steal_pointer (&cd);

  if (st_out != NULL)
    *st_out = st;
  *saved_errno = 0;
  return fd;

refuse:
  close (fd);
  *saved_errno = EPERM;
  return -1;
}

/* Announces a channel once. On ANNOUNCED, *conn (created on the first
 * announcement of this channel) reads the listener's answer, dispatched in
 * @context, or (%NULL) driven by the caller. */
PipecomDialResult
_pipecom_dial_attempt (PipecomDial                  *dial,
                       PipecomAnnounceKind           kind,
                       const guint8                 *inline_data,
                       gsize                         inline_len,
                       PipecomConnection           **conn,
                       const PipecomConnectionFuncs *funcs,
                       gpointer                      user_data,
                       GMainContext                 *context,
                       GError                      **error)
{
  g_autofree char *chandir = NULL;
  uid_t euid = geteuid ();  /* once for this attempt */
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  gsize len;
  ssize_t n;
  int saved_errno;
  int fd;
  struct stat st;

  fd = open_pipe_fifo (dial, euid, &chandir, &st, &saved_errno);
  if (fd < 0)
    {
      if (saved_errno == ENXIO || saved_errno == ENOENT)
        return PIPECOM_DIAL_ABSENT;

      if (saved_errno == EMLINK)
        g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                     "Refusing pipe “%s”: “%s” has several names (a hard link to "
                     "another FIFO)", dial->name, dial->path);
      else if (saved_errno == EPERM || saved_errno == ELOOP || saved_errno == EISDIR)
        g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                     "Refusing pipe “%s”: “%s” is not a FIFO owned by you, nor a shared "
                     "one in a directory only its owner can write (%s)",
                     dial->name, dial->path,
                     saved_errno == ELOOP ? "a symbolic link" :
                     saved_errno == EISDIR ? "a directory" : "wrong type or owner");
      else
        _pipecom_set_error_from_errno (error, saved_errno, "Cannot open pipe", dial->path);
      return PIPECOM_DIAL_FAILED;
    }

  dial->dev = st.st_dev;
  dial->ino = st.st_ino;

  /* A channel made for another listener (private, or shared elsewhere)
   * cannot be announced to this one: start afresh, unless a connection
   * already reads it. */
  if (dial->base != NULL && *conn == NULL && g_strcmp0 (chandir, dial->chandir) != 0)
    _pipecom_dial_reset (dial);

  if (dial->base == NULL)
    {
      if (chandir != NULL)
        dial->base = _pipecom_unix_new_shared_channel (chandir, st.st_uid,
                                                       (st.st_mode & 0002) != 0, dial->duplex,
                                                       euid, &dial->dir_fd, &dial->rep_fd,
                                                       &dial->req, &dial->base_len, error);
      else
        dial->base = _pipecom_unix_new_private_channel (dial->duplex, euid, &dial->dir_fd,
                                                        &dial->rep_fd, &dial->req,
                                                        dial->base_buf, sizeof dial->base_buf,
                                                        &dial->base_len, error);
      if (dial->base == NULL)
        {
          close (fd);
          return PIPECOM_DIAL_FAILED;
        }
      g_free (dial->chandir);
      dial->chandir = g_strdup (chandir);
    }

  /* Callers keep to _pipecom_transport_max_base_len(); never abort. */
  if (PIPECOM_ANNOUNCE_HEADER_SIZE + dial->base_len + inline_len > PIPECOM_ANNOUNCE_MAX)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                   "An announcement on pipe “%s” (%s) would exceed %d bytes",
                   dial->name, dial->path, PIPECOM_ANNOUNCE_MAX);
      close (fd);
      return PIPECOM_DIAL_FAILED;
    }

  len = _pipecom_encode_announce_len (record, kind, dial->base, dial->base_len, inline_data,
                                      inline_len);

  do
    n = write (fd, record, len);
  while (n < 0 && errno == EINTR);
  saved_errno = errno;

  if (n == (ssize_t) len)
    {
      if (dial->fifo_fd >= 0)
        close (dial->fifo_fd);
      dial->fifo_fd = fd;
      if (*conn == NULL)
        {
          *conn = _pipecom_connection_new (dial->rep_fd, -1, 65536, 0,
                                           funcs, user_data, context);
          dial->rep_fd = -1;
        }
      return PIPECOM_DIAL_ANNOUNCED;
    }

  close (fd);
  if (n < 0 && saved_errno == EAGAIN)
    return PIPECOM_DIAL_BUSY;
  if (n < 0 && saved_errno == EPIPE)
    return PIPECOM_DIAL_ABSENT;

  _pipecom_set_error_from_errno (error, n < 0 ? saved_errno : EIO,
                                 "Cannot announce a connection on", dial->path);
  return PIPECOM_DIAL_FAILED;
}

/* Whether the listener that read our announcement is gone without
 * answering (then nothing was handled, and announcing again is safe).
 * The path must still name the FIFO announced on: dial->fifo_fd keeps that
 * one alive, else its inode number, once freed, could be given to the
 * FIFO of a new listener at the same path, which never read our
 * announcement, and we would wait for its HELLO until the timeout. */
gboolean
_pipecom_dial_lost (PipecomDial       *dial,
                    PipecomConnection *conn)
{
  struct pollfd pfd = { -1, POLLIN, 0 };
  struct stat st;
  int out_fd;

  _pipecom_connection_get_poll_fds (conn, &pfd.fd, &out_fd);
  if (poll (&pfd, 1, 0) > 0)
    return FALSE;  /* the HELLO is there, let it be read */

  if (stat (dial->path, &st) != 0 || st.st_dev != dial->dev || st.st_ino != dial->ino)
    return TRUE;
  else
    {
      int saved_errno;
      int fd = open_pipe_fifo (dial, geteuid (), NULL, NULL, &saved_errno);

      if (fd >= 0)
        close (fd);
      else if (saved_errno == ENXIO || saved_errno == ENOENT)
        return TRUE;
    }

  return FALSE;
}

/* Forgets the channel (its connection was dropped): the next attempt
 * announces a fresh one. */
void
_pipecom_dial_reset (PipecomDial *dial)
{
  if (dial->fifo_fd >= 0)
    close (dial->fifo_fd);
  dial->fifo_fd = -1;
  if (dial->rep_fd >= 0)
    close (dial->rep_fd);
  dial->rep_fd = -1;
  if (dial->base != NULL)
    /* A one-way one has no BASE.req. */
    _pipecom_unix_remove_channel (dial->base, dial->base_len, dial->duplex);
  dial_clear_base (dial);
  if (dial->dir_fd >= 0)
    close (dial->dir_fd);
  dial->dir_fd = -1;
}

/* The listener answered on @conn: open our writing end, if any. */
gboolean
_pipecom_dial_established (PipecomDial        *dial,
                           PipecomConnection  *conn,
                           GError            **error)
{
  if (dial->duplex)
    {
      const char *leaf = strrchr (dial->base, '/') + 1;
      gsize leaf_len = dial->base + dial->base_len - leaf;
      char req[CHANNEL_FILE_NAME_SIZE];
      int saved_errno;
      int fd;

      /* Still the FIFO we made: a shared pipe's listener could have
       * replaced it by a link to another FIFO of ours, to read what we
       * write to it. */
      fd = _pipecom_unix_reopen_fifo_at (dial->dir_fd,
                                         _pipecom_unix_channel_file_name (req, leaf, leaf_len,
                                                                          ".req"),
                                         O_WRONLY, &dial->req, &saved_errno);

      if (fd < 0 && saved_errno == EPERM)
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                       "The request channel of pipe “%s” was replaced by another file "
                       "while connecting", dial->name);
          return FALSE;
        }
      if (fd < 0)
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                       "The listener of pipe “%s” went away while connecting (%s)",
                       dial->name, g_strerror (saved_errno));
          return FALSE;
        }
      _pipecom_connection_set_out_fd (conn, fd);
    }

  /* Both ends of both channels are open: the files are no longer needed,
   * nor the listener's FIFO. */
  if (dial->fifo_fd >= 0)
    close (dial->fifo_fd);
  dial->fifo_fd = -1;
  _pipecom_unix_remove_channel (dial->base, dial->base_len, dial->duplex);
  dial_clear_base (dial);
  if (dial->dir_fd >= 0)
    close (dial->dir_fd);
  dial->dir_fd = -1;
  return TRUE;
}

void
_pipecom_dial_free (PipecomDial *dial)
{
  _pipecom_dial_reset (dial);
  g_free (dial->chandir);
  g_free (dial);
}
