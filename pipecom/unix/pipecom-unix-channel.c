/* pipecom-unix-channel.c: channel directories, shared pipes, lock files
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
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pipecom-unix-private.h"

/* ---- Shared pipes (PipecomPipe:access, SECURITY.md) ----
 *
 * A shared pipe's FIFO is writable by its group or by everyone, never
 * readable. Senders of other users create their private channels in the
 * listener's channel directory PATH.d, which they can write but not list
 * (and, being sticky, where nobody removes another's files), under names
 * of 128 random bits; the listener opens only such names there. */

char *
_pipecom_unix_channel_dir_path (const char *path)
{
  return g_strconcat (path, ".d", NULL);
}

/* Whether @dir is a directory of @uid that nobody else can write. */
gboolean
_pipecom_unix_dir_is_owned_by (const char *dir,
                               uid_t       uid)
{
  struct stat st;

  return stat (dir, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == uid &&
         (st.st_mode & 0022) == 0;
}

/* Whether @chandir is the channel directory of a shared pipe of @uid. */
gboolean
_pipecom_unix_is_channel_dir (const char *chandir,
                              uid_t       uid)
{
  struct stat st;

  return lstat (chandir, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == uid &&
         (st.st_mode & S_ISVTX) != 0 && (st.st_mode & 0044) == 0;
}

gboolean
_pipecom_unix_is_shared_channel_name (const char *name)
{
  if (!g_str_has_prefix (name, SHARED_CHANNEL_PREFIX) ||
      strlen (name) != strlen (SHARED_CHANNEL_PREFIX) + SHARED_CHANNEL_HEX)
    return FALSE;

  for (const char *p = name + strlen (SHARED_CHANNEL_PREFIX); *p; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;

  return TRUE;
}

gboolean
_pipecom_unix_random_hex (char  *out,
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
void
_pipecom_unix_remove_channel_dir (const char *chandir)
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
gboolean
_pipecom_unix_make_channel_dir (const char     *chandir,
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
      _pipecom_unix_remove_channel_dir (chandir);

      /* A sender may have left a directory with files of its own in it,
       * which we cannot remove: move the old directory aside (our parent
       * directory is ours alone) rather than never listening again. */
      if (lstat (chandir, &st) == 0)
        {
          char hex[17];
          g_autofree char *aside = NULL;

          if (!_pipecom_unix_random_hex (hex, 8))
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
gboolean
_pipecom_unix_check_shareable (const char     *name,
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

  if (!_pipecom_unix_dir_is_owned_by (dir, geteuid ()))
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
gboolean
_pipecom_unix_check_existing (int          dfd,
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
 * _pipecom_unix_check_existing() accepts, whose mode is never changed. */
int
_pipecom_unix_take_lock (const char  *name,
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

          if (!_pipecom_unix_check_existing (dfd, lock_name, lock_path, FALSE, &exists, error))
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

/* Opens a descriptor of our pipe directory @dir (which check_private_dir()
 * accepted) and checks it again: a directory of ours, closed to others. */
int
_pipecom_unix_open_private_dir (const char   *dir,
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
