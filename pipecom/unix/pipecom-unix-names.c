/* pipecom-unix-names.c: names, the private pipe directory, FIFO checks
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
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pipecom-unix-private.h"

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

  /* Most often it is there: one lstat(), where creating it first would
   * take a mkdir() and a system call for each component of its path. */
  if (lstat (dir, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT &&
          g_mkdir_with_parents (dir, 0700) != 0 && errno != EEXIST)
        {
          saved_errno = errno;
          _pipecom_set_error_from_errno (error, saved_errno,
                                         "Cannot create the pipe directory", dir);
          return FALSE;
        }

      if (saved_errno != ENOENT || lstat (dir, &st) != 0)
        {
          saved_errno = saved_errno != ENOENT ? saved_errno : errno;
          _pipecom_set_error_from_errno (error, saved_errno,
                                         "Cannot use the pipe directory", dir);
          return FALSE;
        }
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

/* The path of the user's pipe directory for the runtime directory
 * @runtime: what g_build_filename (runtime, "pipecom", NULL) returns (the
 * runtime directory without its trailing slashes, then "/pipecom"), made
 * without its cost, some 1,200 instructions in every one-shot. */
static char *
build_pipe_dir_path (const char *runtime)
{
  static const char leaf[] = "pipecom";
  gsize leading = strspn (runtime, "/");
  gsize len = strlen (runtime);
  char *path;

  while (len > leading && runtime[len - 1] == '/')
    len--;

  /* Nothing but slashes (or nothing): g_build_filename() keeps them and
   * adds no separator of its own. */
  path = g_malloc (len + 1 + sizeof leaf);
  memcpy (path, runtime, len);
  if (len > leading)
    path[len++] = '/';
  memcpy (path + len, leaf, sizeof leaf);
  return path;
}

typedef struct _PipeDirPath PipeDirPath;

struct _PipeDirPath
{
  char        *runtime;   /* (owned) what the path was made of */
  char        *path;      /* (owned) */
  PipeDirPath *previous;  /* (owned) (nullable) kept: a thread may still use it */
};

static PipeDirPath *pipe_dir_path = NULL;

/* The path of the user's pipe directory, not checked, made once: GLib
 * caches g_get_user_runtime_dir(), and a one-shot building the path again
 * cost some 250 instructions with its g_free(). Should GLib's value ever
 * change, the path is made again; the old one is kept, as another thread
 * may still be using it. Any thread; the path lives as long as the
 * process. */
const char *
_pipecom_unix_user_pipe_dir_path (void)
{
  const char *runtime = g_get_user_runtime_dir ();

  for (;;)
    {
      PipeDirPath *cached = g_atomic_pointer_get (&pipe_dir_path);
      PipeDirPath *made;

      if (cached != NULL && strcmp (cached->runtime, runtime) == 0)
        return cached->path;

      made = g_new (PipeDirPath, 1);
      made->runtime = g_strdup (runtime);
      made->path = build_pipe_dir_path (runtime);
      made->previous = cached;
      if (g_atomic_pointer_compare_and_exchange (&pipe_dir_path, cached, made))
        return made->path;

      /* Another thread was first: use its path if it is the same. */
      g_free (made->runtime);
      g_free (made->path);
      g_free (made);
    }
}

char *
_pipecom_unix_user_pipe_dir (GError **error)
{
  const char *dir = _pipecom_unix_user_pipe_dir_path ();

  if (!check_private_dir (dir, error))
    return NULL;

  return g_strdup (dir);
}

/* Whether the directory of @path, the pipe named by the path @name, exists
 * and can be reached: if not, says so, rather than leaving it to the
 * failure to open the FIFO in it, which would not tell it apart from an
 * absent listener. */
static gboolean
check_pipe_dir (const char  *name,
                const char  *path,
                GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;
  int saved_errno;

  saved_errno = stat (dir, &st) != 0 ? errno : !S_ISDIR (st.st_mode) ? ENOTDIR : 0;
  if (saved_errno == EACCES || saved_errno == EPERM)
    {
      /* Inside another user's private directory: it may well exist. */
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Cannot use pipe “%s”: no permission to reach the directory “%s” "
                   "(a directory on its path is closed to you)",
                   name, dir);
      return FALSE;
    }
  if (saved_errno != 0)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name “%s”: the directory “%s” does not exist",
                   name, dir);
      return FALSE;
    }

  return TRUE;
}

/* Whether the @len bytes at @s end in ".lock". */
static inline gboolean
ends_in_lock (const char *s,
              gsize       len)
{
  return len >= 5 && memcmp (s + len - 5, ".lock", 5) == 0;
}

/* _pipecom_transport_resolve() with @check_dir, else
 * _pipecom_transport_resolve_to_open(): the same checks but
 * check_pipe_dir(), which still comes first when a later one (the
 * length of the path) fails. Each string is measured once: a one-shot
 * resolves its pipe's name for every message. */
static char *
resolve (const char  *name,
         gboolean     check_dir,
         GError     **error)
{
  g_autofree char *path = NULL;
  const char *base;
  gboolean has_slash;
  gsize name_len, path_len, base_len;

  if (!_pipecom_check_name_chars (name, error))
    return NULL;

  name_len = strlen (name);
  if (name_len > PIPECOM_MAX_PATH_LEN)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name: %zu bytes long, at most %d allowed",
                   name_len, PIPECOM_MAX_PATH_LEN);
      return NULL;
    }

  has_slash = memchr (name, '/', name_len) != NULL;
  if (!has_slash)
    {
      g_autofree char *dir = NULL;

      if (name_len > 200 || g_str_equal (name, ".") || g_str_equal (name, "..") ||
          ends_in_lock (name, name_len) || name[0] == '.')
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: a simple name must be at most 200 "
                       "bytes, must not start with “.” and must not end in “.lock”",
                       name);
          return NULL;
        }

      if (!(dir = _pipecom_unix_user_pipe_dir (error)))
        return NULL;

      path = g_build_filename (dir, name, NULL);
      path_len = strlen (path);
    }
  else
    {
      /* Not empty: _pipecom_check_name_chars() refuses that. */
      if (name[name_len - 1] == '/')
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: a path must not end in “/”", name);
          return NULL;
        }

      if (g_path_is_absolute (name))
        {
          path = g_malloc (name_len + 1);
          memcpy (path, name, name_len + 1);
          path_len = name_len;
        }
      else
        {
          g_autofree char *cwd = g_get_current_dir ();
          path = g_build_filename (cwd, name, NULL);
          path_len = strlen (path);
        }

      /* What g_path_get_basename() returns, without a copy: @path is
       * absolute and does not end in "/". */
      base = strrchr (path, '/') + 1;
      base_len = path + path_len - base;
      if (ends_in_lock (base, base_len) || (base_len == 1 && base[0] == '.') ||
          (base_len == 2 && base[0] == '.' && base[1] == '.'))
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                       "Invalid pipe name “%s”: the file name must not be “.”, “..” "
                       "or end in “.lock”", name);
          return NULL;
        }

      if (check_dir && !check_pipe_dir (name, path, error))
        return NULL;
    }

  if (path_len > PIPECOM_MAX_PATH_LEN)
    {
      if (!check_dir && has_slash && !check_pipe_dir (name, path, error))
        return NULL;
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Invalid pipe name “%s”: its path is longer than %d bytes",
                   name, PIPECOM_MAX_PATH_LEN);
      return NULL;
    }

  return g_steal_pointer (&path);
}

char *
_pipecom_transport_resolve (const char  *name,
                            GError     **error)
{
  return resolve (name, TRUE, error);
}

/* The directory of a path is stat()ed only when the FIFO in it could not
 * be opened: a one-shot's system call in every message otherwise. */
char *
_pipecom_transport_resolve_to_open (const char  *name,
                                    GError     **error)
{
  return resolve (name, FALSE, error);
}

gboolean
_pipecom_transport_check_resolved (const char  *name,
                                   const char  *path,
                                   GError     **error)
{
  return strchr (name, '/') == NULL || check_pipe_dir (name, path, error);
}

/* Whether @st is of a FIFO of ours with a single name: a hard link made to
 * another FIFO of ours (by whoever can write the directory it is in) has
 * two or more, and must never be taken for the file PipeCom expects. */
static gboolean
is_own_fifo (const struct stat *st,
             uid_t              euid)
{
  return S_ISFIFO (st->st_mode) && st->st_uid == euid && st->st_nlink == 1;
}

gboolean
_pipecom_fd_is_own_fifo (int fd)
{
  struct stat st;

  return fstat (fd, &st) == 0 && is_own_fifo (&st, geteuid ());
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

/* Opens the FIFO @name in @dfd with @flags, if it is still the FIFO
 * @made (same device and inode, ours, one link). It is checked before
 * opening too: opening a FIFO is seen by the processes at its other end. */
int
_pipecom_unix_reopen_fifo_at (int                dfd,
                              const char        *name,
                              int                flags,
                              const struct stat *made,
                              int               *saved_errno)
{
  uid_t euid = geteuid ();  /* once for this opening */
  struct stat st;
  int fd;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      *saved_errno = errno;
      return -1;
    }
  if (!is_own_fifo (&st, euid) || st.st_dev != made->st_dev || st.st_ino != made->st_ino)
    {
      *saved_errno = EPERM;
      return -1;
    }

  do
    fd = openat (dfd, name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);

  if (fd < 0)
    {
      *saved_errno = errno;
      return -1;
    }

  if (fstat (fd, &st) != 0 || !is_own_fifo (&st, euid) ||
      st.st_dev != made->st_dev || st.st_ino != made->st_ino)
    {
      close (fd);
      *saved_errno = EPERM;
      return -1;
    }

  *saved_errno = 0;
  return fd;
}

/* Creates the FIFO @name in the directory @dfd and opens it with @flags
 * (O_RDONLY: it has no reader yet). The descriptor is checked to be of the
 * FIFO just made, ours, with one link, and only then gets the mode @mode
 * with fchmod(): whoever can write the directory may have replaced the
 * name by a link to another file meanwhile, and nothing is ever changed by
 * name. "Ours" is owned by @euid, the caller's geteuid(), read once for
 * the operation. The FIFO's device and inode go to @made. @dir_private:
 * @dfd was checked to be a directory of @euid that nobody else can write
 * (our pipe directory). Fails with *saved_errno EEXIST when the name is
 * taken, EPERM when it was replaced (the caller removes the name). */
int
_pipecom_unix_make_fifo_at (int          dfd,
                            const char  *name,
                            int          flags,
                            mode_t       mode,
                            uid_t        euid,
                            gboolean     dir_private,
                            struct stat *made,
                            int         *saved_errno)
{
  struct stat st;
  int fd;

  if (mkfifoat (dfd, name, 0600) != 0)
    {
      *saved_errno = errno;
      return -1;
    }

  /* Checked before opening (opening a FIFO is seen at its other end), as
   * _pipecom_unix_reopen_fifo_at() does, and after. Where nobody else can
   * write the directory, nobody else can have put another file at @name
   * before we open it: the checks of the descriptor are enough, and save a
   * one-shot a system call. */
  if (!dir_private &&
      (fstatat (dfd, name, made, AT_SYMLINK_NOFOLLOW) != 0 || !is_own_fifo (made, euid)))
    {
      *saved_errno = EPERM;
      return -1;
    }

  do
    fd = openat (dfd, name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);

  if (fd < 0)
    {
      *saved_errno = errno;
      return -1;
    }

  if (fstat (fd, &st) != 0 || !is_own_fifo (&st, euid) ||
      (!dir_private && (st.st_dev != made->st_dev || st.st_ino != made->st_ino)))
    {
      close (fd);
      *saved_errno = EPERM;
      return -1;
    }
  if (dir_private)
    *made = st;

  /* mkfifoat() applied the umask, which can only have taken bits away:
   * set the mode unless it is already exactly @mode. */
  if ((st.st_mode & 07777) != mode && fchmod (fd, mode) != 0)
    {
      *saved_errno = errno;
      close (fd);
      return -1;
    }

  return fd;
}

/* The longest BASE a sender to the pipe @name at @path can announce: a
 * private channel's, or for a path a shared channel's in PATH.d. Senders
 * decide with it whether a message fits inline before knowing which. */
gsize
_pipecom_transport_max_base_len (const char *name,
                                 const char *path)
{
  gsize len = strlen (g_get_user_runtime_dir ()) + strlen ("/pipecom/") + PRIVATE_CHANNEL_MAX;

  if (strchr (name, '/') != NULL)
    len = MAX (len, strlen (path) + strlen (".d/" SHARED_CHANNEL_PREFIX) + SHARED_CHANNEL_HEX);

  return len;
}
