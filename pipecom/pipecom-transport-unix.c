/* pipecom-transport-unix.c: names, directories, FIFOs and locks on Unix
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pipecom-private.h"

#ifndef O_CLOEXEC
# define O_CLOEXEC 0
#endif

void
_pipecom_init_once (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      struct sigaction sa;

      /* A write to a FIFO whose reader died raises SIGPIPE. Like GSocket,
       * ignore it unless the application installed its own handler, so
       * that a dead peer gives EPIPE (PIPECOM_ERROR_CLOSED) instead of
       * killing the process. */
      if (sigaction (SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal (SIGPIPE, SIG_IGN);

      g_once_init_leave (&initialized, 1);
    }
}

void
_pipecom_set_error_from_errno (GError     **error,
                               int          saved_errno,
                               const char  *what,
                               const char  *path)
{
  PipecomError code;

  switch (saved_errno)
    {
    case EACCES:
    case EPERM:
    case ELOOP:
    case EISDIR:
    case EROFS:
      code = PIPECOM_ERROR_PERMISSION_DENIED;
      break;
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      code = PIPECOM_ERROR_INVALID_PIPE;
      break;
    case ENXIO:
    case ECONNREFUSED:
      code = PIPECOM_ERROR_CONNECTION_FAILED;
      break;
    case EPIPE:
      code = PIPECOM_ERROR_CLOSED;
      break;
    case EAGAIN:
      code = PIPECOM_ERROR_BUSY;
      break;
    case ETIMEDOUT:
      code = PIPECOM_ERROR_TIMEOUT;
      break;
    default:
      code = PIPECOM_ERROR_UNKNOWN;
      break;
    }

  g_set_error (error, PIPECOM_ERROR, code, "%s “%s”: %s",
               what, path, g_strerror (saved_errno));
}

static gboolean
check_private_dir (const char  *dir,
                   GError     **error)
{
  struct stat st;

  if (g_mkdir_with_parents (dir, 0700) != 0 && errno != EEXIST)
    {
      int saved_errno = errno;
      _pipecom_set_error_from_errno (error, saved_errno,
                                     "Cannot create the pipe directory", dir);
      return FALSE;
    }

  if (lstat (dir, &st) != 0)
    {
      int saved_errno = errno;
      _pipecom_set_error_from_errno (error, saved_errno,
                                     "Cannot use the pipe directory", dir);
      return FALSE;
    }

  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 0077) != 0)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "The pipe directory “%s” must be a directory owned by you "
                   "with mode 0700 (it is %s, owner %u, mode %04o)",
                   dir, S_ISDIR (st.st_mode) ? "a directory" : "not a directory",
                   (guint) st.st_uid, (guint) (st.st_mode & 07777));
      return FALSE;
    }

  return TRUE;
}

static char *
user_pipe_dir (GError **error)
{
  g_autofree char *dir = g_build_filename (g_get_user_runtime_dir (), "pipecom", NULL);

  if (!check_private_dir (dir, error))
    return NULL;

  return g_steal_pointer (&dir);
}

char *
_pipecom_transport_resolve (const char  *name,
                            GError     **error)
{
  g_autofree char *path = NULL;
  g_autofree char *base = NULL;
  g_autofree char *dir = NULL;
  gboolean blank = TRUE;
  struct stat st;

  for (const char *p = name; *p; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: control characters are not allowed",
                       name);
          return NULL;
        }
      if (!g_ascii_isspace (*p))
        blank = FALSE;
    }

  if (blank)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name “%s”: a name must not be empty or blank", name);
      return NULL;
    }

  if (strlen (name) > PIPECOM_MAX_PATH_LEN)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name: %zu bytes long, at most %d allowed",
                   strlen (name), PIPECOM_MAX_PATH_LEN);
      return NULL;
    }

  if (strchr (name, '/') == NULL)
    {
      if (strlen (name) > 200 || g_str_equal (name, ".") || g_str_equal (name, "..") ||
          g_str_has_suffix (name, ".lock") || name[0] == '.')
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: a simple name must be at most 200 "
                       "bytes, must not start with “.” and must not end in “.lock”",
                       name);
          return NULL;
        }

      if (!(dir = user_pipe_dir (error)))
        return NULL;

      path = g_build_filename (dir, name, NULL);
    }
  else
    {
      if (g_str_has_suffix (name, "/"))
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: a path must not end in “/”", name);
          return NULL;
        }

      if (g_path_is_absolute (name))
        path = g_strdup (name);
      else
        {
          g_autofree char *cwd = g_get_current_dir ();
          path = g_build_filename (cwd, name, NULL);
        }

      base = g_path_get_basename (path);
      if (g_str_has_suffix (base, ".lock") || g_str_equal (base, ".") || g_str_equal (base, ".."))
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: the file name must not be “.”, “..” "
                       "or end in “.lock”", name);
          return NULL;
        }

      dir = g_path_get_dirname (path);
      if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: the directory “%s” does not exist",
                       name, dir);
          return NULL;
        }
    }

  if (strlen (path) > PIPECOM_MAX_PATH_LEN)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name “%s”: its path is longer than %d bytes",
                   name, PIPECOM_MAX_PATH_LEN);
      return NULL;
    }

  return g_steal_pointer (&path);
}

gboolean
_pipecom_fd_is_own_fifo (int fd)
{
  struct stat st;

  return fstat (fd, &st) == 0 && S_ISFIFO (st.st_mode) && st.st_uid == geteuid ();
}

int
_pipecom_transport_open_fifo (const char *path,
                              int         flags,
                              int        *saved_errno)
{
  int fd;

  do
    fd = open (path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);

  if (fd < 0)
    {
      *saved_errno = errno;
      return -1;
    }

  if (!_pipecom_fd_is_own_fifo (fd))
    {
      close (fd);
      *saved_errno = EPERM;
      return -1;
    }

  *saved_errno = 0;
  return fd;
}

/* Checks what is at @path before a listener takes it: nothing, or a FIFO of
 * ours (stale, since we hold the lock). Anything else is refused. */
static gboolean
check_existing (const char  *path,
                gboolean     want_fifo,
                gboolean    *exists,
                GError     **error)
{
  struct stat st;

  *exists = FALSE;

  if (lstat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      _pipecom_set_error_from_errno (error, errno, "Cannot inspect", path);
      return FALSE;
    }

  *exists = TRUE;

  if (S_ISLNK (st.st_mode))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Refusing “%s”: it is a symbolic link", path);
      return FALSE;
    }

  if (want_fifo ? !S_ISFIFO (st.st_mode) : !S_ISREG (st.st_mode))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Refusing “%s”: it is not a %s", path,
                   want_fifo ? "FIFO" : "regular file");
      return FALSE;
    }

  if (st.st_uid != geteuid ())
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Refusing “%s”: it belongs to user %u, not to you (%u)",
                   path, (guint) st.st_uid, (guint) geteuid ());
      return FALSE;
    }

  return TRUE;
}

static int
take_lock (const char  *name,
           const char  *lock_path,
           GError     **error)
{
  for (guint tries = 0; tries < 16; tries++)
    {
      struct stat fst, pst;
      gboolean exists;
      int fd;

      if (!check_existing (lock_path, FALSE, &exists, error))
        return -1;

      fd = open (lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          _pipecom_set_error_from_errno (error, errno, "Cannot open the lock file", lock_path);
          return -1;
        }

      if (fstat (fd, &fst) != 0 || !S_ISREG (fst.st_mode) || fst.st_uid != geteuid ())
        {
          close (fd);
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                       "Refusing the lock file “%s”: not a regular file of yours", lock_path);
          return -1;
        }

      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          int saved_errno = errno;

          close (fd);
          if (saved_errno == EWOULDBLOCK)
            g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE,
                         "Pipe “%s” (%s) already has a live listener", name, lock_path);
          else
            _pipecom_set_error_from_errno (error, saved_errno, "Cannot lock", lock_path);
          return -1;
        }

      /* The previous owner may have unlinked the lock file between our open
       * and our flock: then we hold a lock nobody else sees. Try again. */
      if (stat (lock_path, &pst) == 0 && pst.st_dev == fst.st_dev && pst.st_ino == fst.st_ino)
        {
          if (fchmod (fd, 0600) != 0)
            g_debug ("fchmod(%s): %s", lock_path, g_strerror (errno));
          return fd;
        }

      close (fd);
    }

  g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE,
               "Pipe “%s” (%s): could not take its lock, listeners keep replacing it",
               name, lock_path);
  return -1;
}

gboolean
_pipecom_transport_listen (const char  *name,
                           const char  *path,
                           int         *fifo_fd,
                           int         *keep_fd,
                           int         *lock_fd,
                           GError     **error)
{
  g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);
  gboolean exists;
  int lfd, rfd, wfd, saved_errno;

  if ((lfd = take_lock (name, lock_path, error)) < 0)
    return FALSE;

  /* We own the name now. A FIFO of ours left at the path is stale. */
  if (!check_existing (path, TRUE, &exists, error))
    {
      g_unlink (lock_path);
      close (lfd);
      return FALSE;
    }

  if (exists && g_unlink (path) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot remove the stale FIFO", path);
      g_unlink (lock_path);
      close (lfd);
      return FALSE;
    }

  if (mkfifo (path, 0600) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot create the FIFO", path);
      g_unlink (lock_path);
      close (lfd);
      return FALSE;
    }

  rfd = _pipecom_transport_open_fifo (path, O_RDONLY, &saved_errno);
  if (rfd < 0)
    {
      _pipecom_set_error_from_errno (error, saved_errno, "Cannot open the FIFO", path);
      g_unlink (path);
      g_unlink (lock_path);
      close (lfd);
      return FALSE;
    }

  /* mkfifo() applied the umask; make the mode exactly 0600. */
  if (fchmod (rfd, 0600) != 0)
    g_debug ("fchmod(%s): %s", path, g_strerror (errno));

  /* Our own writer keeps the FIFO from reporting EOF/POLLHUP forever once
   * the last client has gone (OpenRC#1055). */
  wfd = _pipecom_transport_open_fifo (path, O_WRONLY, &saved_errno);
  if (wfd < 0)
    {
      _pipecom_set_error_from_errno (error, saved_errno, "Cannot open the FIFO", path);
      close (rfd);
      g_unlink (path);
      g_unlink (lock_path);
      close (lfd);
      return FALSE;
    }

  *fifo_fd = rfd;
  *keep_fd = wfd;
  *lock_fd = lfd;

  return TRUE;
}

void
_pipecom_transport_unlisten (const char *path,
                             int         lock_fd)
{
  g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);

  /* Remove the FIFO first, so that new senders fail at once, then the lock
   * while we still hold it. */
  g_unlink (path);
  g_unlink (lock_path);
  if (lock_fd >= 0)
    close (lock_fd);
}

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

char *
_pipecom_transport_new_channel (gboolean   with_req,
                                int       *rep_fd,
                                GError   **error)
{
  static guint counter = 0;
  static gsize swept = 0;
  g_autofree char *dir = NULL;

  if (!(dir = user_pipe_dir (error)))
    return NULL;

  if (g_once_init_enter (&swept))
    {
      sweep_stale_channels (dir);
      g_once_init_leave (&swept, 1);
    }

  for (guint tries = 0; tries < 8; tries++)
    {
      g_autofree char *base = g_strdup_printf ("%s/.c%d-%u-%08x", dir, (int) getpid (),
                                               g_atomic_int_add (&counter, 1),
                                               g_random_int ());
      g_autofree char *rep = g_strconcat (base, ".rep", NULL);
      g_autofree char *req = NULL;
      int saved_errno;
      int fd;

      if (strlen (base) + 4 + PIPECOM_ANNOUNCE_HEADER_SIZE > PIPECOM_ANNOUNCE_MAX - 64)
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "The pipe directory “%s” has too long a path for a "
                       "connection announcement (at most %d bytes)",
                       dir, PIPECOM_ANNOUNCE_MAX);
          return NULL;
        }

      if (mkfifo (rep, 0600) != 0)
        {
          if (errno == EEXIST)
            continue;
          _pipecom_set_error_from_errno (error, errno, "Cannot create the reply channel", rep);
          return NULL;
        }

      if (with_req)
        {
          req = g_strconcat (base, ".req", NULL);
          if (mkfifo (req, 0600) != 0)
            {
              saved_errno = errno;
              g_unlink (rep);
              if (saved_errno == EEXIST)
                continue;
              _pipecom_set_error_from_errno (error, saved_errno,
                                             "Cannot create the request channel", req);
              return NULL;
            }
        }

      fd = _pipecom_transport_open_fifo (rep, O_RDONLY, &saved_errno);
      if (fd < 0)
        {
          _pipecom_set_error_from_errno (error, saved_errno, "Cannot open the reply channel", rep);
          _pipecom_transport_remove_channel (base);
          return NULL;
        }

      *rep_fd = fd;
      return g_steal_pointer (&base);
    }

  g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
               "Cannot create a unique channel in “%s”", dir);
  return NULL;
}

void
_pipecom_transport_remove_channel (const char *base)
{
  g_autofree char *rep = g_strconcat (base, ".rep", NULL);
  g_autofree char *req = g_strconcat (base, ".req", NULL);

  g_unlink (rep);
  g_unlink (req);
}

gsize
_pipecom_encode_announce (guint8              *buf,
                          PipecomAnnounceKind  kind,
                          const char          *base,
                          const guint8        *inline_data,
                          gsize                inline_len)
{
  gsize plen = strlen (base);
  gsize total = PIPECOM_ANNOUNCE_HEADER_SIZE + plen + inline_len;

  g_assert (total <= PIPECOM_ANNOUNCE_MAX);

  memcpy (buf, "PCOM", 4);
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

/* ---- Registry of listeners in this process ---- */

static GMutex registry_lock;
static GHashTable *registry;

void
_pipecom_registry_add (const char   *path,
                       GMainContext *context)
{
  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_main_context_unref);
  g_hash_table_replace (registry, g_strdup (path), g_main_context_ref (context));
  g_mutex_unlock (&registry_lock);
}

void
_pipecom_registry_remove (const char *path)
{
  g_mutex_lock (&registry_lock);
  if (registry != NULL)
    {
      g_hash_table_remove (registry, path);
      if (g_hash_table_size (registry) == 0)
        g_clear_pointer (&registry, g_hash_table_unref);
    }
  g_mutex_unlock (&registry_lock);
}

GMainContext *
_pipecom_registry_lookup (const char *path)
{
  GMainContext *ret = NULL;

  g_mutex_lock (&registry_lock);
  if (registry != NULL)
    {
      GMainContext *context = g_hash_table_lookup (registry, path);
      if (context)
        ret = g_main_context_ref (context);
    }
  g_mutex_unlock (&registry_lock);

  return ret;
}
