/* pipecom-transport-unix.c: names, directories, FIFOs and locks on Unix
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "pipecom-private.h"

#ifndef O_CLOEXEC
# define O_CLOEXEC 0
#endif

/* A descriptor of a directory that files are made and opened in with
 * mkfifoat() and openat(): O_PATH (Linux) or O_SEARCH need no read
 * permission, which senders lack on a shared pipe's channel directory. */
#if defined(O_PATH)
# define DIR_FD_FLAGS (O_PATH | O_DIRECTORY | O_CLOEXEC)
#elif defined(O_SEARCH)
# define DIR_FD_FLAGS (O_SEARCH | O_DIRECTORY | O_CLOEXEC)
#else
# define DIR_FD_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
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
  struct stat st;
  int saved_errno;

  if (!_pipecom_check_name_chars (name, error))
    return NULL;

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
      saved_errno = stat (dir, &st) != 0 ? errno : !S_ISDIR (st.st_mode) ? ENOTDIR : 0;
      if (saved_errno == EACCES || saved_errno == EPERM)
        {
          /* Inside another user's private directory: it may well exist. */
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                       "Cannot use pipe “%s”: no permission to reach the directory “%s” "
                       "(a directory on its path is closed to you)",
                       name, dir);
          return NULL;
        }
      if (saved_errno != 0)
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

/* Whether @st is of a FIFO of ours with a single name: a hard link made to
 * another FIFO of ours (by whoever can write the directory it is in) has
 * two or more, and must never be taken for the file PipeCom expects. */
static gboolean
is_own_fifo (const struct stat *st)
{
  return S_ISFIFO (st->st_mode) && st->st_uid == geteuid () && st->st_nlink == 1;
}

gboolean
_pipecom_fd_is_own_fifo (int fd)
{
  struct stat st;

  return fstat (fd, &st) == 0 && is_own_fifo (&st);
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
static int
reopen_fifo_at (int                dfd,
                const char        *name,
                int                flags,
                const struct stat *made,
                int               *saved_errno)
{
  struct stat st;
  int fd;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      *saved_errno = errno;
      return -1;
    }
  if (!is_own_fifo (&st) || st.st_dev != made->st_dev || st.st_ino != made->st_ino)
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

  if (fstat (fd, &st) != 0 || !is_own_fifo (&st) ||
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
 * name. The FIFO's device and inode go to @made. Fails with *saved_errno
 * EEXIST when the name is taken, EPERM when it was replaced (the caller
 * removes the name). */
static int
make_fifo_at (int          dfd,
              const char  *name,
              int          flags,
              mode_t       mode,
              struct stat *made,
              int         *saved_errno)
{
  int fd;

  if (mkfifoat (dfd, name, 0600) != 0)
    {
      *saved_errno = errno;
      return -1;
    }

  if (fstatat (dfd, name, made, AT_SYMLINK_NOFOLLOW) != 0 || !is_own_fifo (made))
    {
      *saved_errno = EPERM;
      return -1;
    }

  if ((fd = reopen_fifo_at (dfd, name, flags, made, saved_errno)) < 0)
    return -1;

  /* mkfifoat() applied the umask. */
  if (fchmod (fd, mode) != 0)
    {
      *saved_errno = errno;
      close (fd);
      return -1;
    }

  return fd;
}


/* ---- Shared pipes (PipecomPipe:access, SECURITY.md) ----
 *
 * A shared pipe's FIFO is writable by its group or by everyone, never
 * readable. Senders of other users create their private channels in the
 * listener's channel directory PATH.d, which they can write but not list
 * (and, being sticky, where nobody removes another's files), under names
 * of 128 random bits; the listener opens only such names there. */

#define SHARED_CHANNEL_PREFIX ".s"
#define SHARED_CHANNEL_HEX    32

static char *
channel_dir_path (const char *path)
{
  return g_strconcat (path, ".d", NULL);
}

/* Whether @dir is a directory of @uid that nobody else can write. */
static gboolean
dir_is_owned_by (const char *dir,
                 uid_t       uid)
{
  struct stat st;

  return stat (dir, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == uid &&
         (st.st_mode & 0022) == 0;
}

/* Whether @chandir is the channel directory of a shared pipe of @uid. */
static gboolean
is_channel_dir (const char *chandir,
                uid_t       uid)
{
  struct stat st;

  return lstat (chandir, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == uid &&
         (st.st_mode & S_ISVTX) != 0 && (st.st_mode & 0044) == 0;
}

static gboolean
is_shared_channel_name (const char *name)
{
  if (!g_str_has_prefix (name, SHARED_CHANNEL_PREFIX) ||
      strlen (name) != strlen (SHARED_CHANNEL_PREFIX) + SHARED_CHANNEL_HEX)
    return FALSE;

  for (const char *p = name + strlen (SHARED_CHANNEL_PREFIX); *p; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;

  return TRUE;
}

static gboolean
random_hex (char  *out,
            gsize  n_bytes)
{
  guint8 bytes[64];
  ssize_t n;
  int fd;

  g_assert (n_bytes <= sizeof bytes);

  if ((fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
    return FALSE;
  do
    n = read (fd, bytes, n_bytes);
  while (n < 0 && errno == EINTR);
  close (fd);

  if (n != (ssize_t) n_bytes)
    return FALSE;

  for (gsize i = 0; i < n_bytes; i++)
    g_snprintf (out + 2 * i, 3, "%02x", bytes[i]);

  return TRUE;
}

/* Removes a channel directory and what senders left in it. */
static void
remove_channel_dir (const char *chandir)
{
  int dfd = open (chandir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct dirent *entry;
  DIR *d;

  if (dfd < 0)
    return;

  if ((d = fdopendir (dfd)) == NULL)
    {
      close (dfd);
      return;
    }

  while ((entry = readdir (d)) != NULL)
    {
      if (g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, ".."))
        continue;
      if (unlinkat (dirfd (d), entry->d_name, 0) != 0 && errno == EISDIR)
        unlinkat (dirfd (d), entry->d_name, AT_REMOVEDIR);
    }
  closedir (d);

  if (g_rmdir (chandir) != 0)
    g_debug ("Cannot remove the channel directory “%s”: %s", chandir, g_strerror (errno));
}

/* Makes a fresh channel directory for a shared pipe at @chandir,
 * replacing a stale one of ours (we hold the lock). */
static gboolean
make_channel_dir (const char     *chandir,
                  PipecomAccess   access,
                  GError        **error)
{
  mode_t mode = access == PIPECOM_ACCESS_GROUP ? 03730 : 01733;
  struct stat st;

  if (lstat (chandir, &st) == 0)
    {
      if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid ())
        {
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                       "Refusing the channel directory “%s”: it is not a directory "
                       "of yours", chandir);
          return FALSE;
        }
      remove_channel_dir (chandir);

      /* A sender may have left a directory with files of its own in it,
       * which we cannot remove: move the old directory aside (our parent
       * directory is ours alone) rather than never listening again. */
      if (lstat (chandir, &st) == 0)
        {
          char hex[17];
          g_autofree char *aside = NULL;

          if (!random_hex (hex, 8))
            g_snprintf (hex, sizeof hex, "%08x%08x", g_random_int (), g_random_int ());
          aside = g_strconcat (chandir, ".stale-", hex, NULL);
          if (rename (chandir, aside) != 0)
            {
              _pipecom_set_error_from_errno (error, errno,
                                             "Cannot remove the stale channel directory",
                                             chandir);
              return FALSE;
            }
          g_message ("Pipe channel directory “%s” held files of another user that could "
                     "not be removed: moved it to “%s”", chandir, aside);
        }
    }

  if (g_mkdir (chandir, 0700) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot create the channel directory",
                                     chandir);
      return FALSE;
    }

  /* mkdir() applied the umask and ignores the special bits. Nobody else
   * can write the parent directory, so the path is still ours. */
  if (chmod (chandir, mode) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot set the mode of", chandir);
      g_rmdir (chandir);
      return FALSE;
    }

  return TRUE;
}

/* Whether this process is a member of the group @gid. */
static gboolean
in_group (gid_t gid)
{
  g_autofree gid_t *groups = NULL;
  int n;

  if (getegid () == gid)
    return TRUE;

  n = getgroups (0, NULL);
  if (n <= 0)
    return FALSE;
  groups = g_new (gid_t, n);
  n = getgroups (n, groups);
  for (int i = 0; i < n; i++)
    if (groups[i] == gid)
      return TRUE;

  return FALSE;
}

/* The name of the group @gid, or its number. */
static char *
group_name (gid_t gid)
{
  struct group gr, *result = NULL;
  char buf[4096];

  if (getgrgid_r (gid, &gr, buf, sizeof buf, &result) == 0 && result != NULL)
    return g_strdup_printf ("“%s” (%u)", result->gr_name, (guint) gid);
  return g_strdup_printf ("%u", (guint) gid);
}

/* A listener may share only a pipe that senders of other users accept: at
 * a path, in a directory nobody but us can write. A group's pipe in a
 * set-group-ID directory gets the directory's group, and so do its
 * channel directory and the channels of its senders, which are open to
 * that group only: the listener must be a member of it. */
static gboolean
check_shareable (const char     *name,
                 const char     *path,
                 PipecomAccess   access,
                 GError        **error)
{
  g_autofree char *dir = NULL;
  struct stat st;

  if (strchr (name, '/') == NULL)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Cannot share pipe “%s” with %s: a shared pipe must be named by a "
                   "path (a name with “/”), not live in your private directory",
                   name, access == PIPECOM_ACCESS_GROUP ? "a group" : "everyone");
      return FALSE;
    }

  dir = g_path_get_dirname (path);
  if (stat (dir, &st) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot inspect", dir);
      return FALSE;
    }

  if (!dir_is_owned_by (dir, geteuid ()))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Cannot share pipe “%s”: its directory “%s” must be yours and "
                   "writable by nobody else (owner %u, mode %04o), or senders refuse it",
                   name, dir, (guint) st.st_uid, (guint) (st.st_mode & 07777));
      return FALSE;
    }

  /* Root opens its senders' channels whatever their group. */
  if (access == PIPECOM_ACCESS_GROUP && (st.st_mode & S_ISGID) != 0 && geteuid () != 0 &&
      !in_group (st.st_gid))
    {
      g_autofree char *group = group_name (st.st_gid);

      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Cannot share pipe “%s” with a group: its directory “%s” is "
                   "set-group-ID, so the pipe and its senders' channels would belong to "
                   "group %s, of which you are not a member, and you could not open "
                   "them. Make the listener's user a member of that group, or clear the "
                   "directory's set-group-ID bit (chmod g-s) to share with your own group",
                   name, dir, group);
      return FALSE;
    }

  return TRUE;
}

/* Checks what is at @name in the directory @dfd (@path, for messages)
 * before a listener takes it: nothing, or a file of ours with a single
 * link: a FIFO (stale, since we hold the lock), or the lock file, a
 * regular file that nobody else may access. Anything else is refused and
 * left alone: a hard link planted at our name to another file of ours
 * (one that the attacker may read and write, or any of ours where
 * fs.protected_hardlinks is 0, the default on macOS and the BSDs) must
 * not get our lock's mode nor be taken for our FIFO. */
static gboolean
check_existing (int          dfd,
                const char  *name,
                const char  *path,
                gboolean     want_fifo,
                gboolean    *exists,
                GError     **error)
{
  struct stat st;

  *exists = FALSE;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
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

  if (st.st_nlink != 1)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Refusing “%s”: it has %u names (a hard link to another file)",
                   path, (guint) st.st_nlink);
      return FALSE;
    }

  if (!want_fifo && (st.st_mode & 0077) != 0)
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "Refusing the lock file “%s”: its mode is %04o, and a lock file "
                   "of PipeCom is 0600 (not one of its lock files)",
                   path, (guint) (st.st_mode & 07777));
      return FALSE;
    }

  return TRUE;
}

static gboolean
is_own_lock (const struct stat *st)
{
  return S_ISREG (st->st_mode) && st->st_uid == geteuid () && st->st_nlink == 1 &&
         (st->st_mode & 0077) == 0;
}

/* Takes the lock file @lock_name in @dfd (@lock_path): a new one, made
 * with O_EXCL and then given mode 0600, or an existing one of ours that
 * check_existing() accepts, whose mode is never changed. */
static int
take_lock (const char  *name,
           int          dfd,
           const char  *lock_name,
           const char  *lock_path,
           GError     **error)
{
  for (guint tries = 0; tries < 16; tries++)
    {
      struct stat fst, pst;
      gboolean created = FALSE;
      int fd;

      do
        fd = openat (dfd, lock_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      while (fd < 0 && errno == EINTR);

      if (fd >= 0)
        created = TRUE;
      else if (errno == EEXIST)
        {
          gboolean exists;

          if (!check_existing (dfd, lock_name, lock_path, FALSE, &exists, error))
            return -1;
          if (!exists)
            continue;  /* removed meanwhile */

          do
            fd = openat (dfd, lock_name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
          while (fd < 0 && errno == EINTR);
          if (fd < 0 && errno == ENOENT)
            continue;
        }

      if (fd < 0)
        {
          _pipecom_set_error_from_errno (error, errno, "Cannot open the lock file", lock_path);
          return -1;
        }

      /* Ours alone, and the umask may have left less than 0600. */
      if (created && fchmod (fd, 0600) != 0)
        g_debug ("fchmod(%s): %s", lock_path, g_strerror (errno));

      if (fstat (fd, &fst) != 0 || !is_own_lock (&fst))
        {
          close (fd);
          g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                       "Refusing the lock file “%s”: not a regular file of yours with one "
                       "name and mode 0600", lock_path);
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
      if (fstatat (dfd, lock_name, &pst, AT_SYMLINK_NOFOLLOW) == 0 &&
          pst.st_dev == fst.st_dev && pst.st_ino == fst.st_ino)
        return fd;

      close (fd);
    }

  g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE,
               "Pipe “%s” (%s): could not take its lock, listeners keep replacing it",
               name, lock_path);
  return -1;
}

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

  if (access != PIPECOM_ACCESS_PRIVATE && !check_shareable (name, path, access, error))
    return FALSE;

  /* Everything happens relative to one descriptor of the directory, as
   * the caller named it (a symbolic link to a directory is fine there). */
  if ((dfd = open (dir, DIR_FD_FLAGS)) < 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot open the directory", dir);
      return FALSE;
    }

  if ((lfd = take_lock (name, dfd, lock_leaf, lock_path, error)) < 0)
    goto fail;

  /* We own the name now. A FIFO of ours left at the path is stale. */
  if (!check_existing (dfd, leaf, path, TRUE, &exists, error))
    goto fail_locked;

  if (exists && unlinkat (dfd, leaf, 0) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot remove the stale FIFO", path);
      goto fail_locked;
    }

  rfd = make_fifo_at (dfd, leaf, O_RDONLY, 0600, &made, &saved_errno);
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
  wfd = reopen_fifo_at (dfd, leaf, O_WRONLY, &made, &saved_errno);
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
      (!make_channel_dir (chandir, access, error) ||
       fchmod (rfd, access == PIPECOM_ACCESS_GROUP ? 0620 : 0622) != 0))
    {
      if (error != NULL && *error == NULL)
        _pipecom_set_error_from_errno (error, errno, "Cannot set the mode of", path);
      remove_channel_dir (chandir);
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
    remove_channel_dir (chandir);
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

/* Opens a descriptor of our pipe directory @dir (which check_private_dir()
 * accepted) and checks it again: a directory of ours, closed to others. */
static int
open_private_dir (const char   *dir,
                  struct stat  *st,
                  GError      **error)
{
  int fd = open (dir, DIR_FD_FLAGS | O_NOFOLLOW);

  if (fd < 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot open the pipe directory", dir);
      return -1;
    }

  if (fstat (fd, st) != 0 || !S_ISDIR (st->st_mode) || st->st_uid != geteuid () ||
      (st->st_mode & 0077) != 0)
    {
      close (fd);
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED,
                   "The pipe directory “%s” must be a directory owned by you with mode 0700",
                   dir);
      return -1;
    }

  return fd;
}

/* Opens a descriptor of the channel directory of a shared pipe of @uid,
 * checked as is_channel_dir() does, on the descriptor. */
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
 * directory @dfd that @base names, with modes @rep_mode and @req_mode, and
 * opens the reply one for reading into @rep_fd. What @base.req is goes to
 * @req_made, for opening it later. */
static ChannelResult
make_channel (int           dfd,
              const char   *base,
              gboolean      with_req,
              mode_t        rep_mode,
              mode_t        req_mode,
              int          *rep_fd,
              struct stat  *req_made,
              GError      **error)
{
  const char *leaf = strrchr (base, '/') + 1;
  g_autofree char *rep = g_strconcat (leaf, ".rep", NULL);
  g_autofree char *req = g_strconcat (leaf, ".req", NULL);
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

  fd = make_fifo_at (dfd, rep, O_RDONLY, rep_mode, &made, &saved_errno);
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
      int req_fd = make_fifo_at (dfd, req, O_RDONLY, req_mode, req_made, &saved_errno);

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

/* A private channel's name in the user's pipe directory, and its longest
 * length: pid, counter, random. */
#define PRIVATE_CHANNEL_FORMAT ".c%d-%u-%08x"
#define PRIVATE_CHANNEL_MAX    (2 + 11 + 1 + 10 + 1 + 8)

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

/* A private channel in our own pipe directory, with its descriptor in
 * @dir_fd. */
static char *
new_private_channel (gboolean      with_req,
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

  if (!(dir = user_pipe_dir (error)))
    return NULL;

  if ((dfd = open_private_dir (dir, &st, error)) < 0)
    return NULL;

  if (g_once_init_enter (&swept))
    {
      sweep_stale_channels (dir);
      g_once_init_leave (&swept, 1);
    }

  for (guint tries = 0; tries < 8; tries++)
    {
      g_autofree char *base = g_strdup_printf ("%s/" PRIVATE_CHANNEL_FORMAT, dir, (int) getpid (),
                                               g_atomic_int_add (&counter, 1),
                                               g_random_int ());
      int fd;

      switch (make_channel (dfd, base, with_req, 0600, 0600, &fd, req_made, error))
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

  close (dfd);
  g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
               "Cannot create a unique channel in “%s”", dir);
  return NULL;
}

char *
_pipecom_transport_new_channel (gboolean   with_req,
                                int       *rep_fd,
                                GError   **error)
{
  struct stat req_made;
  int dir_fd;
  char *base = new_private_channel (with_req, &dir_fd, rep_fd, &req_made, error);

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

      if (!random_hex (hex, SHARED_CHANNEL_HEX / 2))
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
                            everyone ? 0644 : 0640, &fd, req_made, error))
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

  close (dfd);
  g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_UNKNOWN,
               "Cannot create a unique channel in “%s”", chandir);
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

/* ---- Listening: the well-known FIFO and its announcements ---- */

/* Records dropped incomplete (or foreign bytes ending a read) once the
 * FIFO read empty. */
gint _pipecom_truncated_records = 0;
/* Set by tests only (see pipecom-private.h). */
void (*_pipecom_opened_pipe_fifo_hook) (const char *path) = NULL;

struct _PipecomIntake
{
  char                     *name;
  char                     *path;
  guint                     buffer_size;
  const PipecomIntakeFuncs *funcs;
  gpointer                  user_data;
  int                       fifo_fd;
  int                       keep_fd;
  int                       lock_fd;
  int                       spare_fd; /* reserved for refusing at EMFILE */
  char                     *chandir;  /* (nullable) a shared pipe's channel directory */
  int                       chandir_fd;
  char                     *privdir;  /* (nullable) a private pipe's: our pipe directory */
  int                       privdir_fd;
  dev_t                     dir_dev;  /* of chandir or privdir */
  ino_t                     dir_ino;
  GSource                  *source;   /* (owned) (nullable) */
  gboolean                  in_records;
  gboolean                  closing;
  guint8                    abuf[2 * PIPECOM_ANNOUNCE_MAX + 4096];
  gsize                     alen;
};

struct _PipecomPeer
{
  PipecomIntake *intake;
  const char    *base;
};

static void
set_pipe_size (int   fd,
               guint size)
{
#ifdef HAVE_F_SETPIPE_SZ
  if (fd >= 0 && size > 65536 && fcntl (fd, F_SETPIPE_SZ, (int) size) < 0)
    g_debug ("F_SETPIPE_SZ(%u): %s", size, g_strerror (errno));
#endif
}

/* Whether @st is of a channel file our listener may open: a FIFO with one
 * link (so never a hard link to a file elsewhere); for a private pipe,
 * ours and closed to others too, as our senders make them. A shared
 * pipe's channels belong to their senders, of any user. */
static gboolean
channel_stat_ok (PipecomIntake     *intake,
                 const struct stat *st)
{
  if (!S_ISFIFO (st->st_mode) || st->st_nlink != 1)
    return FALSE;

  return intake->chandir != NULL ||
         (st->st_uid == geteuid () && (st->st_mode & 0077) == 0);
}

/* Opens a channel file named by a peer. channel_allowed() checked that it
 * is in our channel directory (shared) or our pipe directory (private):
 * open it there, relative to our own descriptor of that directory,
 * whatever path named it. It is checked before opening (opening a FIFO is
 * seen at its other end) and after. Sets *owner (if not %NULL) to the user
 * the FIFO belongs to: the sender (see SECURITY.md). */
static int
open_channel (PipecomIntake *intake,
              const char    *path,
              int            flags,
              uid_t         *owner,
              int           *saved_errno)
{
  int dfd = intake->chandir != NULL ? intake->chandir_fd : intake->privdir_fd;
  const char *leaf = strrchr (path, '/') + 1;
  struct stat pre, st;
  int fd;

  if (fstatat (dfd, leaf, &pre, AT_SYMLINK_NOFOLLOW) != 0)
    {
      *saved_errno = errno;
      return -1;
    }
  if (!channel_stat_ok (intake, &pre))
    {
      *saved_errno = EPERM;
      return -1;
    }

  do
    fd = openat (dfd, leaf, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);

  if (fd < 0)
    {
      *saved_errno = errno;
      return -1;
    }

  if (fstat (fd, &st) != 0 || !channel_stat_ok (intake, &st) ||
      st.st_dev != pre.st_dev || st.st_ino != pre.st_ino)
    {
      close (fd);
      *saved_errno = EPERM;
      return -1;
    }

  if (owner != NULL)
    *owner = st.st_uid;
  *saved_errno = 0;
  return fd;
}

/* Whether @name is a private channel's base name: .c<pid>-<n>-<8 hex>. */
static gboolean
is_private_channel_name (const char *name)
{
  const char *p = name + 2;

  if (!g_str_has_prefix (name, ".c"))
    return FALSE;

  for (guint part = 0; part < 2; part++)
    {
      const char *digits = p;

      while (g_ascii_isdigit (*p))
        p++;
      if (p == digits || *p != '-')
        return FALSE;
      p++;
    }

  for (guint i = 0; i < 8; i++, p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;

  return *p == '\0';
}

/* Whether the listener may open the channel @base names: only a channel
 * name directly in its channel directory (shared) or in its user's pipe
 * directory (private), so that no sender makes it open another file of
 * its user's. The directory may be named by another path (a sender that
 * named the pipe /var/run/… for /run/…, or its pipe directory through a
 * link): it is compared by device and inode, and open_channel() opens the
 * file relative to our own descriptor of it anyway. */
static gboolean
channel_allowed (PipecomIntake *intake,
                 const char    *base)
{
  const char *slash = strrchr (base, '/');
  const char *dir_path = intake->chandir != NULL ? intake->chandir : intake->privdir;
  g_autofree char *dir = NULL;
  struct stat st;

  if (slash == NULL)
    return FALSE;
  if (intake->chandir != NULL ? !is_shared_channel_name (slash + 1)
                              : !is_private_channel_name (slash + 1))
    return FALSE;

  dir = g_strndup (base, slash - base);
  if (g_str_equal (dir, dir_path))
    return TRUE;

  return stat (dir, &st) == 0 && st.st_dev == intake->dir_dev && st.st_ino == intake->dir_ino;
}

/* Answers a record when no connection is possible: the listener is
 * stopping, or the record is of another version. */
void
_pipecom_peer_refuse (PipecomPeer  *peer,
                      PipecomError  code,
                      const char   *text)
{
  g_autofree char *rep = g_strconcat (peer->base, ".rep", NULL);
  g_autoptr(GBytes) payload = _pipecom_error_payload_new (code, text);
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];
  struct iovec iov[2];
  int saved_errno;
  int fd;

  fd = open_channel (peer->intake, rep, O_WRONLY, NULL, &saved_errno);
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

/* Descriptors a listener keeps free under RLIMIT_NOFILE for new senders:
 * with fewer, it closes its longest-idle connection (funcs->reclaim). */
#define FD_HEADROOM 8

/* Opens a channel with open_channel(), and when out of descriptors, asks
 * the pipe to close its longest-idle connection to make room, rather than
 * refusing the new sender. */
static int
open_channel_reclaiming (PipecomPeer *peer,
                         const char  *path,
                         int          flags,
                         uid_t       *owner,
                         int         *saved_errno)
{
  PipecomIntake *intake = peer->intake;
  int fd;

  for (guint i = 0; ; i++)
    {
      fd = open_channel (intake, path, flags, owner, saved_errno);
      if (fd >= 0 || (*saved_errno != EMFILE && *saved_errno != ENFILE) ||
          i == 4 || intake->funcs->reclaim == NULL ||
          !intake->funcs->reclaim (intake->user_data))
        return fd;
    }
}

/* Descriptors are allocated lowest first: when @fd is among the last few
 * under the soft limit, at most that many are free. Make room for the next
 * senders before they are refused. */
static void
keep_fd_headroom (PipecomIntake *intake,
                  int            fd)
{
  struct rlimit rl;

  if (fd < 0 || intake->funcs->reclaim == NULL || getrlimit (RLIMIT_NOFILE, &rl) != 0 ||
      rl.rlim_cur == RLIM_INFINITY || (rlim_t) fd + FD_HEADROOM < rl.rlim_cur)
    return;

  intake->funcs->reclaim (intake->user_data);
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
  g_autofree char *rep = g_strconcat (peer->base, ".rep", NULL);
  PipecomConnection *conn;
  uid_t in_owner = 0, out_owner = 0;
  int in_fd = -1, out_fd, saved_errno;

  if (kind == PIPECOM_ANNOUNCE_CONNECT)
    {
      g_autofree char *req = g_strconcat (peer->base, ".req", NULL);

      in_fd = open_channel_reclaiming (peer, req, O_RDONLY, &in_owner, &saved_errno);
      if (in_fd < 0)
        {
          g_debug ("Cannot open channel “%s”: %s", req, g_strerror (saved_errno));
          refuse_if_out_of_fds (peer, saved_errno);
          return NULL;
        }
    }

  out_fd = open_channel_reclaiming (peer, rep, O_WRONLY, &out_owner, &saved_errno);
  if (out_fd < 0)
    {
      g_debug ("Cannot open channel “%s”: %s", rep, g_strerror (saved_errno));
      if (in_fd >= 0)
        close (in_fd);
      refuse_if_out_of_fds (peer, saved_errno);
      return NULL;
    }
  keep_fd_headroom (peer->intake, MAX (in_fd, out_fd));

  set_pipe_size (in_fd, buffer_size);
  set_pipe_size (out_fd, buffer_size);

  conn = _pipecom_connection_new (in_fd, out_fd, MAX (buffer_size, 4096), max_frame,
                                  funcs, user_data, context);

  /* Who the sender is, for what only the listener's own user may do (the
   * die code of a shared pipe): the owner of its channel, unknown if its
   * two files belong to different users. */
  _pipecom_connection_set_peer_uid (conn, in_fd >= 0 && in_owner != out_owner
                                          ? -1 : (gint64) out_owner);

  /* A listener drops peers that stall, or that never open their request
   * channel (seen as its file still being there) or never read. */
  if (kind == PIPECOM_ANNOUNCE_CONNECT)
    {
      g_autofree char *req = g_strconcat (peer->base, ".req", NULL);

      _pipecom_connection_set_limits (conn, _pipecom_connection_deadline_usec,
                                      _pipecom_max_queued_bytes, req);
    }
  else
    _pipecom_connection_set_limits (conn, _pipecom_connection_deadline_usec,
                                    _pipecom_max_queued_bytes, NULL);

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
      gsize used = _pipecom_decode_announce (intake->abuf + off, intake->alen - off, at_end,
                                             &record);

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
      else if (!channel_allowed (intake, record.base))
        g_debug ("Pipe “%s”: refusing a channel outside its %s directory (or misnamed)",
                 intake->name, intake->chandir != NULL ? "channel" : "user's pipe");
      else if (record.version != PIPECOM_PROTOCOL_VERSION || g_path_is_absolute (record.base))
        {
          PipecomPeer peer = { intake, record.base };

          intake->funcs->announce (&peer, record.version, record.kind,
                                   record.inline_data, record.inline_len,
                                   intake->user_data);
        }

      g_free (record.base);
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
      ssize_t n = read (intake->fifo_fd, intake->abuf + intake->alen,
                        sizeof intake->abuf - intake->alen);

      if (n > 0)
        {
          intake->alen += n;
          process_records (intake, FALSE);
          /* What is left is shorter than two records (see
           * _pipecom_decode_announce()), so the next read has room. */
          g_assert (intake->alen < sizeof intake->abuf);
          continue;
        }

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
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

static gboolean
fifo_readable_cb (int          fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  read_records (user_data);
  return G_SOURCE_CONTINUE;
}

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
    chandir = channel_dir_path (path);

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
      if ((intake->privdir = user_pipe_dir (error)) == NULL ||
          (intake->privdir_fd = open_private_dir (intake->privdir, &st, error)) < 0)
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
  intake->source = g_unix_fd_source_new (intake->fifo_fd, G_IO_IN);
  g_source_set_static_name (intake->source, "[pipecom] announcements");
  g_source_set_callback (intake->source, G_SOURCE_FUNC (fifo_readable_cb), intake, NULL);
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

/* ---- Connecting: a private channel, announced on the well-known FIFO ---- */

struct _PipecomDial
{
  char     *name;
  char     *path;
  gboolean  duplex;
  char     *base;      /* (nullable) the channel's files, until established */
  char     *chandir;   /* (nullable) a shared pipe's channel directory */
  int       dir_fd;    /* the channel's directory, while there is a channel */
  int       rep_fd;    /* until handed to the connection */
  struct stat req;     /* BASE.req, as we made it */
  dev_t     dev;
  ino_t     ino;
};

PipecomDial *
_pipecom_dial_new (const char *name,
                   const char *path,
                   gboolean    duplex)
{
  PipecomDial *dial = g_new0 (PipecomDial, 1);

  dial->name = g_strdup (name);
  dial->path = g_strdup (path);
  dial->duplex = duplex;
  dial->dir_fd = -1;
  dial->rep_fd = -1;
  return dial;
}

/* Opens the well-known FIFO for writing. It must have a single name (a
 * hard link to another listener's FIFO is not the pipe we were asked for)
 * and be ours, or a shared FIFO (writable by group or others) of another
 * user, named by a path, in a directory only that user can write (so that
 * nobody else can have planted it there: a FIFO in /tmp stays refused),
 * with its channel directory next to it. For a shared FIFO, *chandir is
 * set to where our channels go. Fails with *saved_errno EPERM (type or
 * owner) or EMLINK (several names). */
static int
open_pipe_fifo (PipecomDial  *dial,
                char        **chandir,
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
      cd = channel_dir_path (dial->path);
      shared = dir_is_owned_by (dir, st.st_uid) && is_channel_dir (cd, st.st_uid);
    }

  if (st.st_uid != geteuid () && !shared)
    goto refuse;

  if (shared && chandir != NULL)
    *chandir = g_steal_pointer (&cd);

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
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  gsize len;
  ssize_t n;
  int saved_errno;
  int fd;
  struct stat st;

  fd = open_pipe_fifo (dial, &chandir, &saved_errno);
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

  if (fstat (fd, &st) != 0)
    {
      _pipecom_set_error_from_errno (error, errno, "Cannot inspect pipe", dial->path);
      close (fd);
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
                                         dial->duplex, &dial->dir_fd, &dial->rep_fd,
                                         &dial->req, error);
      else
        dial->base = new_private_channel (dial->duplex, &dial->dir_fd, &dial->rep_fd,
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
  close (fd);

  if (n == (ssize_t) len)
    {
      if (*conn == NULL)
        {
          *conn = _pipecom_connection_new (dial->rep_fd, -1, 65536, 0,
                                           funcs, user_data, context);
          dial->rep_fd = -1;
        }
      return PIPECOM_DIAL_ANNOUNCED;
    }

  if (n < 0 && saved_errno == EAGAIN)
    return PIPECOM_DIAL_BUSY;
  if (n < 0 && saved_errno == EPIPE)
    return PIPECOM_DIAL_ABSENT;

  _pipecom_set_error_from_errno (error, n < 0 ? saved_errno : EIO,
                                 "Cannot announce a connection on", dial->path);
  return PIPECOM_DIAL_FAILED;
}

/* Whether the listener that read our announcement is gone without
 * answering (then nothing was handled, and announcing again is safe). */
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
      int fd = open_pipe_fifo (dial, NULL, &saved_errno);

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
  if (dial->rep_fd >= 0)
    close (dial->rep_fd);
  dial->rep_fd = -1;
  if (dial->base != NULL)
    _pipecom_transport_remove_channel (dial->base);
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
      g_autofree char *req = g_strconcat (strrchr (dial->base, '/') + 1, ".req", NULL);
      int saved_errno;
      /* Still the FIFO we made: a shared pipe's listener could have
       * replaced it by a link to another FIFO of ours, to read what we
       * write to it. */
      int fd = reopen_fifo_at (dial->dir_fd, req, O_WRONLY, &dial->req, &saved_errno);

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

  /* Both ends of both channels are open: the files are no longer needed. */
  _pipecom_transport_remove_channel (dial->base);
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
  g_free (dial->name);
  g_free (dial->path);
  g_free (dial);
}
