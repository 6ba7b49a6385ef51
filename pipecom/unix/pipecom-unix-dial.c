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

/* Channel files live only until the listener answers; a client killed
 * before that leaves them behind. Remove those of dead processes, once per
 * process, when the first channel is made. */
static void
sweep_stale_channels (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  if (d == NULL)
    return;

  while ((entry = g_dir_read_name (d)) != NULL)
    {
      char *end = NULL;
      gint64 pid;

      if (!g_str_has_prefix (entry, ".c") ||
          !(g_str_has_suffix (entry, ".rep") || g_str_has_suffix (entry, ".req")))
        continue;

      pid = g_ascii_strtoll (entry + 2, &end, 10);
      if (end == entry + 2 || *end != '-' || pid <= 0 || pid > G_MAXINT)
        continue;

      if (kill ((pid_t) pid, 0) != 0 && errno == ESRCH)
        {
          g_autofree char *path = g_build_filename (dir, entry, NULL);
          struct stat st;

          if (lstat (path, &st) == 0 && S_ISFIFO (st.st_mode) && st.st_uid == geteuid ())
            g_unlink (path);
        }
    }
}

/* Opens a descriptor of the channel directory of a shared pipe of @uid,
 * checked as _pipecom_unix_is_channel_dir() does, on the descriptor. */
static int
open_channel_dir (const char *chandir,
                  uid_t       uid)
{
  struct stat st;
  int fd = open (chandir, DIR_FD_FLAGS | O_NOFOLLOW);

  if (fd < 0)
    return -1;

  if (fstat (fd, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != uid ||
      (st.st_mode & S_ISVTX) == 0 || (st.st_mode & 0044) != 0)
    {
      close (fd);
      errno = EPERM;
      return -1;
    }

  return fd;
}

/* Room for a channel's BASE, or its leaf, of at most
 * PIPECOM_ANNOUNCE_BASE_MAX bytes, with ".rep" or ".req". */
#define CHANNEL_FILE_NAME_SIZE (PIPECOM_ANNOUNCE_BASE_MAX + sizeof ".rep")

/* Puts @base (at most PIPECOM_ANNOUNCE_BASE_MAX bytes long, @len) and
 * @suffix (".rep" or ".req") in @buf, and returns it: on the stack, where
 * g_strconcat() cost a one-shot some 450 instructions for its two or
 * three names. */
static char *
channel_file_name (char       *buf,
                   const char *base,
                   gsize       len,
                   const char *suffix)
{
  g_assert (len <= PIPECOM_ANNOUNCE_BASE_MAX && strlen (suffix) == 4);

  memcpy (buf, base, len);
  memcpy (buf + len, suffix, 5);
  return buf;
}

typedef enum
{
  CHANNEL_MADE,
  CHANNEL_TAKEN,    /* the name exists: try another */
  CHANNEL_FAILED,
} ChannelResult;

static void
set_channel_error (GError     **error,
                   int          saved_errno,
                   const char  *what,
                   const char  *path)
{
  if (saved_errno == EPERM)
    g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                 "Cannot create the %s “%s”: it was replaced by another file while "
                 "being made (a hard link to a file of yours?)", what, path);
  else
    {
      g_autofree char *text = g_strconcat ("Cannot create the ", what, NULL);

      _pipecom_set_error_from_errno (error, saved_errno, text, path);
    }
}

/* Creates the channel FIFOs @base.rep (and @base.req if @with_req) in the
 * directory @dfd that @base names, with modes @rep_mode and @req_mode, as
 * the user @euid (geteuid(), read once per dial), and opens the reply one
 * for reading into @rep_fd. What @base.req is goes to
 * @req_made, for opening it later. @dir_private: @dfd is our pipe
 * directory, which nobody else can write (see
 * _pipecom_unix_make_fifo_at()). */
static ChannelResult
make_channel (int           dfd,
              const char   *base,
              gboolean      with_req,
              mode_t        rep_mode,
              mode_t        req_mode,
              uid_t         euid,
              gboolean      dir_private,
              int          *rep_fd,
              struct stat  *req_made,
              GError      **error)
{
  const char *leaf = strrchr (base, '/') + 1;
  char rep[CHANNEL_FILE_NAME_SIZE];
  char req[CHANNEL_FILE_NAME_SIZE];
  g_autofree char *rep_path = NULL;
  struct stat made;
  int fd, saved_errno;

  if (strlen (base) > PIPECOM_ANNOUNCE_BASE_MAX)
    {
      g_autofree char *dir = g_path_get_dirname (base);

      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "The directory “%s” has too long a path for a "
                   "connection announcement (at most %d bytes)",
                   dir, PIPECOM_ANNOUNCE_MAX);
      return CHANNEL_FAILED;
    }

  channel_file_name (rep, leaf, strlen (leaf), ".rep");
  fd = _pipecom_unix_make_fifo_at (dfd, rep, O_RDONLY, rep_mode, euid, dir_private, &made,
                                   &saved_errno);
  if (fd < 0)
    {
      if (saved_errno == EEXIST)
        return CHANNEL_TAKEN;
      rep_path = g_strconcat (base, ".rep", NULL);
      set_channel_error (error, saved_errno, "reply channel", rep_path);
      unlinkat (dfd, rep, 0);
      return CHANNEL_FAILED;
    }

  if (with_req)
    {
      int req_fd = _pipecom_unix_make_fifo_at (dfd,
                                               channel_file_name (req, leaf, strlen (leaf),
                                                                  ".req"),
                                               O_RDONLY, req_mode, euid, dir_private,
                                               req_made, &saved_errno);

      if (req_fd < 0)
        {
          close (fd);
          unlinkat (dfd, rep, 0);
          if (saved_errno == EEXIST)
            return CHANNEL_TAKEN;
          unlinkat (dfd, req, 0);
          {
            g_autofree char *req_path = g_strconcat (base, ".req", NULL);

            set_channel_error (error, saved_errno, "request channel", req_path);
          }
          return CHANNEL_FAILED;
        }
      close (req_fd);
    }

  *rep_fd = fd;
  return CHANNEL_MADE;
}

static char *
put_decimal (char    *p,
             guint64  value)
{
  char digits[20];
  guint n = 0;

  do
    digits[n++] = '0' + value % 10;
  while ((value /= 10) != 0);
  while (n > 0)
    *p++ = digits[--n];
  return p;
}

/* @dir, "/" and PRIVATE_CHANNEL_FORMAT of @pid, @n and @random, formatted
 * by hand: printf cost a one-shot some 2,000 instructions here. */
static char *
private_channel_base (const char *dir,
                      int         pid,
                      guint       n,
                      guint32     random)
{
  gsize dir_len = strlen (dir);
  char *base = g_malloc (dir_len + 1 + PRIVATE_CHANNEL_MAX + 1);
  char *p = base;

  memcpy (p, dir, dir_len);
  p += dir_len;
  *p++ = '/';
  *p++ = '.';
  *p++ = 'c';
  if (pid < 0)
    *p++ = '-';
  p = put_decimal (p, pid < 0 ? -(gint64) pid : pid);
  *p++ = '-';
  p = put_decimal (p, n);
  *p++ = '-';
  for (int shift = 28; shift >= 0; shift -= 4)
    *p++ = "0123456789abcdef"[(random >> shift) & 0xf];
  *p = '\0';
  return base;
}

/* Every name tried was taken: closes @dfd, sets @error, returns NULL. */
static char *
no_unique_channel (int          dfd,
                   const char  *dir,
                   GError     **error)
{
  close (dfd);
  g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
               "Cannot create a unique channel in “%s”", dir);
  return NULL;
}

/* Our pid, for the names of private channels: getpid() is a system call
 * every time (glibc no longer caches it), and a process keeps its pid
 * until it forks, when the child forgets the parent's. */
static int cached_pid = 0;

static void
forget_pid_in_child (void)
{
  cached_pid = 0;
}

static int
own_pid (void)
{
  static gsize registered = 0;
  int pid = g_atomic_int_get (&cached_pid);

  if (pid != 0)
    return pid;

  /* Registered before anything is cached: no child ever sees a value
   * cached before its fork() without the handler to clear it. */
  if (g_once_init_enter (&registered))
    {
      pthread_atfork (NULL, NULL, forget_pid_in_child);
      g_once_init_leave (&registered, 1);
    }

  pid = (int) getpid ();
  g_atomic_int_set (&cached_pid, pid);
  return pid;
}

/* A private channel in our own pipe directory, with its descriptor in
 * @dir_fd. */
static char *
new_private_channel (gboolean      with_req,
                     uid_t         euid,
                     int          *dir_fd,
                     int          *rep_fd,
                     struct stat  *req_made,
                     GError      **error)
{
  static guint counter = 0;
  static gsize swept = 0;
  g_autofree char *dir = NULL;
  struct stat st;
  int dfd;

  /* Most often our pipe directory is there and right: its descriptor,
   * checked with fstat(), is the check that counts. Anything else goes
   * the long way, which makes the directory or says what is wrong. */
  dir = _pipecom_unix_user_pipe_dir_path ();
  if ((dfd = open (dir, DIR_FD_FLAGS | O_NOFOLLOW)) >= 0 &&
      (fstat (dfd, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != euid ||
       (st.st_mode & 0077) != 0))
    {
      close (dfd);
      dfd = -1;
    }

  if (dfd < 0)
    {
      g_clear_pointer (&dir, g_free);
      if (!(dir = _pipecom_unix_user_pipe_dir (error)))
        return NULL;

      if ((dfd = _pipecom_unix_open_private_dir (dir, &st, error)) < 0)
        return NULL;
    }

  if (g_once_init_enter (&swept))
    {
      sweep_stale_channels (dir);
      g_once_init_leave (&swept, 1);
    }

  for (guint tries = 0; tries < 8; tries++)
    {
      g_autofree char *base = private_channel_base (dir, own_pid (),
                                                    g_atomic_int_add (&counter, 1),
                                                    g_random_int ());
      int fd;

      switch (make_channel (dfd, base, with_req, 0600, 0600, euid, TRUE, &fd, req_made, error))
        {
        case CHANNEL_TAKEN:
          continue;
        case CHANNEL_FAILED:
          close (dfd);
          return NULL;
        case CHANNEL_MADE:
        default:
          break;
        }

      *dir_fd = dfd;
      *rep_fd = fd;
      return g_steal_pointer (&base);
    }

  return no_unique_channel (dfd, dir, error);
}

char *
_pipecom_transport_new_channel (gboolean   with_req,
                                int       *rep_fd,
                                GError   **error)
{
  struct stat req_made;
  int dir_fd;
  char *base = new_private_channel (with_req, geteuid (), &dir_fd, rep_fd, &req_made, error);

  if (base != NULL)
    close (dir_fd);
  return base;
}

/* A private channel in the channel directory of a shared pipe of @owner:
 * a name of 128 random bits, readable (request) or writable (reply) by the
 * group or by everyone, as the pipe is, so that its listener can open it.
 * The directory is the listener's, which could swap our files: they are
 * made and opened relative to a descriptor of it (in @dir_fd), and their
 * modes set only through descriptors of the FIFOs we made. */
static char *
new_shared_channel (const char   *chandir,
                    uid_t         owner,
                    gboolean      everyone,
                    gboolean      with_req,
                    uid_t         euid,
                    int          *dir_fd,
                    int          *rep_fd,
                    struct stat  *req_made,
                    GError      **error)
{
  int dfd = open_channel_dir (chandir, owner);

  if (dfd < 0)
    {
      if (errno == EPERM)
        g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                     "Refusing the channel directory “%s”: not the channel directory "
                     "of a shared pipe", chandir);
      else
        _pipecom_set_error_from_errno (error, errno, "Cannot open the channel directory",
                                       chandir);
      return NULL;
    }

  for (guint tries = 0; tries < 8; tries++)
    {
      char hex[2 * (SHARED_CHANNEL_HEX / 2) + 1];
      g_autofree char *base = NULL;
      int fd;

      /* The first 8 digits are our pid, for the listener to verify (see
       * pipecom-unix-credentials.c), the rest random: still 32 lowercase
       * hex digits, as listeners of 1.0 require. */
      g_snprintf (hex, 9, "%08x", (guint) getpid ());
      if (!_pipecom_unix_random_hex (hex + 8, SHARED_CHANNEL_HEX / 2 - 4))
        {
          close (dfd);
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                       "Cannot read random bytes for a channel name from /dev/urandom");
          return NULL;
        }

      base = g_strconcat (chandir, "/" SHARED_CHANNEL_PREFIX, hex, NULL);

      /* For everyone, the group bits equal the others' ones: the channel
       * gets the sender's group, and a listener in that group is judged by
       * the group bits. */
      switch (make_channel (dfd, base, with_req, everyone ? 0622 : 0620,
                            everyone ? 0644 : 0640, euid, FALSE, &fd, req_made, error))
        {
        case CHANNEL_TAKEN:
          continue;
        case CHANNEL_FAILED:
          close (dfd);
          return NULL;
        case CHANNEL_MADE:
        default:
          break;
        }

      *dir_fd = dfd;
      *rep_fd = fd;
      return g_steal_pointer (&base);
    }

  return no_unique_channel (dfd, chandir, error);
}

static void
remove_channel (const char *base,
                gboolean    with_req)
{
  gsize len = strlen (base);
  char buf[CHANNEL_FILE_NAME_SIZE];

  if (len > PIPECOM_ANNOUNCE_BASE_MAX)
    {
      /* Not one of ours (make_channel() refuses such a BASE), but what
       * _pipecom_transport_remove_channel() is given is removed all the
       * same. */
      g_autofree char *rep = g_strconcat (base, ".rep", NULL);

      g_unlink (rep);
      if (with_req)
        {
          g_autofree char *req = g_strconcat (base, ".req", NULL);

          g_unlink (req);
        }
      return;
    }

  g_unlink (channel_file_name (buf, base, len, ".rep"));
  if (with_req)
    g_unlink (channel_file_name (buf, base, len, ".req"));
}

void
_pipecom_transport_remove_channel (const char *base)
{
  remove_channel (base, TRUE);
}

struct _PipecomDial
{
  const char  *name;      /* (unowned) the session's, see pipecom-transport.h */
  const char  *path;      /* (unowned) */
  gboolean     duplex;
  char        *base;      /* (nullable) the channel's files, until established */
  char        *chandir;   /* (nullable) a shared pipe's channel directory */
  int          dir_fd;    /* the channel's directory, while there is a channel */
  int          rep_fd;    /* until handed to the connection */
  struct stat  req;       /* BASE.req, as we made it */
  /* The FIFO our last announcement went to, held open until established
   * (see _pipecom_dial_lost()), and its device and inode. */
  int          fifo_fd;
  dev_t        dev;
  ino_t        ino;
};

PipecomDial *
_pipecom_dial_new (const char *name,
                   const char *path,
                   gboolean    duplex)
{
  PipecomDial *dial = g_new0 (PipecomDial, 1);

  /* Not copied: a one-shot made and freed both for every message. */
  dial->name = name;
  dial->path = path;
  dial->duplex = duplex;
  dial->dir_fd = -1;
  dial->rep_fd = -1;
  dial->fifo_fd = -1;
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
        dial->base = new_shared_channel (chandir, st.st_uid, (st.st_mode & 0002) != 0,
                                         dial->duplex, euid, &dial->dir_fd, &dial->rep_fd,
                                         &dial->req, error);
      else
        dial->base = new_private_channel (dial->duplex, euid, &dial->dir_fd, &dial->rep_fd,
                                          &dial->req, error);
      if (dial->base == NULL)
        {
          close (fd);
          return PIPECOM_DIAL_FAILED;
        }
      g_free (dial->chandir);
      dial->chandir = g_strdup (chandir);
    }

  /* Callers keep to _pipecom_transport_max_base_len(); never abort. */
  if (PIPECOM_ANNOUNCE_HEADER_SIZE + strlen (dial->base) + inline_len > PIPECOM_ANNOUNCE_MAX)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
                   "An announcement on pipe “%s” (%s) would exceed %d bytes",
                   dial->name, dial->path, PIPECOM_ANNOUNCE_MAX);
      close (fd);
      return PIPECOM_DIAL_FAILED;
    }

  len = _pipecom_encode_announce (record, kind, dial->base, inline_data, inline_len);

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
    remove_channel (dial->base, dial->duplex);  /* a one-way one has no BASE.req */
  g_clear_pointer (&dial->base, g_free);
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
      char req[CHANNEL_FILE_NAME_SIZE];
      int saved_errno;
      /* Still the FIFO we made: a shared pipe's listener could have
       * replaced it by a link to another FIFO of ours, to read what we
       * write to it. */
      int fd = _pipecom_unix_reopen_fifo_at (dial->dir_fd,
                                             channel_file_name (req, leaf, strlen (leaf), ".req"),
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
  remove_channel (dial->base, dial->duplex);
  g_clear_pointer (&dial->base, g_free);
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
