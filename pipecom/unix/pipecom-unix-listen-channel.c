/* pipecom-unix-listen-channel.c: checking and opening a sender's channel
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The listener's side of a sender's channel files, for
 * pipecom-unix-listen.c: whether the name an announcement gave may be
 * opened, opening it relative to our own descriptor of its directory, and
 * keeping descriptors free for the next senders. Runs where its intake is
 * used: in the thread that serves the pipe, which dispatches the
 * #GMainContext given to _pipecom_intake_start(), with funcs->reclaim
 * called there (see pipecom-transport.h). */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "pipecom-unix-private.h"

/* Whether @st is of a channel file our listener may open: a FIFO with one
 * link (so never a hard link to a file elsewhere); for a private pipe,
 * ours and closed to others too, as our senders make them. A shared
 * pipe's channels belong to their senders, of any user. */
static gboolean
channel_stat_ok (PipecomIntake     *intake,
                 const struct stat *st,
                 uid_t              euid)
{
  if (!S_ISFIFO (st->st_mode) || st->st_nlink != 1)
    return FALSE;

  return intake->chandir != NULL ||
         (st->st_uid == euid && (st->st_mode & 0077) == 0);
}

/* Opens the channel file @leaf named by a peer.
 * _pipecom_unix_channel_leaf() checked that it is in our channel
 * directory (shared) or our pipe directory (private): open it there,
 * relative to our own descriptor of that directory, whatever path named
 * it. It is checked before opening (opening a FIFO is seen at its other
 * end) and after. Sets *opened (if not %NULL) to what fstat() said of it:
 * its owner is the sender (see SECURITY.md). */
int
_pipecom_unix_open_channel (PipecomIntake *intake,
                            const char    *leaf,
                            int            flags,
                            struct stat   *opened,
                            int           *saved_errno)
{
  int dfd = intake->chandir != NULL ? intake->chandir_fd : intake->privdir_fd;
  /* Read once for this opening (a shared pipe's channels may be anyone's). */
  uid_t euid = intake->chandir != NULL ? 0 : geteuid ();
  struct stat pre, st;
  int fd;

  if (fstatat (dfd, leaf, &pre, AT_SYMLINK_NOFOLLOW) != 0)
    {
      *saved_errno = errno;
      return -1;
    }
  if (!channel_stat_ok (intake, &pre, euid))
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

  if (fstat (fd, &st) != 0 || !channel_stat_ok (intake, &st, euid) ||
      st.st_dev != pre.st_dev || st.st_ino != pre.st_ino)
    {
      close (fd);
      *saved_errno = EPERM;
      return -1;
    }

  if (opened != NULL)
    *opened = st;
  *saved_errno = 0;
  return fd;
}

/* Whether @name is a private channel's base name: .c<pid>-<n>-<8 hex>. */
static gboolean
is_private_channel_name (const char *name)
{
  const char *p = name + 2;

  if (name[0] != '.' || name[1] != 'c')
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
 * link): it is compared by device and inode, and
 * _pipecom_unix_open_channel() opens the file relative to our own
 * descriptor of it anyway. Returns the channel's name in @base, or %NULL
 * if it may not be opened. The directory is compared in place, and copied
 * only to be stat()ed. */
const char *
_pipecom_unix_channel_leaf (PipecomIntake *intake,
                            const char    *base)
{
  const char *slash = strrchr (base, '/');
  const char *dir_path = intake->chandir != NULL ? intake->chandir : intake->privdir;
  g_autofree char *dir = NULL;
  gsize dir_len;
  struct stat st;

  if (slash == NULL)
    return NULL;
  if (intake->chandir != NULL ? !_pipecom_unix_is_shared_channel_name (slash + 1)
                              : !is_private_channel_name (slash + 1))
    return NULL;

  dir_len = slash - base;
  if (strncmp (base, dir_path, dir_len) == 0 && dir_path[dir_len] == '\0')
    return slash + 1;

  dir = g_strndup (base, dir_len);
  if (stat (dir, &st) == 0 && st.st_dev == intake->dir_dev && st.st_ino == intake->dir_ino)
    return slash + 1;
  return NULL;
}

/* Descriptors a listener keeps free under RLIMIT_NOFILE for new senders:
 * with fewer, it closes its longest-idle connection (funcs->reclaim). */
#define FD_HEADROOM 8

/* Opens a channel with _pipecom_unix_open_channel(), and when out of
 * descriptors, asks the pipe to close its longest-idle connection to make
 * room, rather than refusing the new sender. */
int
_pipecom_unix_open_channel_reclaiming (PipecomPeer *peer,
                                       const char  *leaf,
                                       int          flags,
                                       struct stat *opened,
                                       int         *saved_errno)
{
  PipecomIntake *intake = peer->intake;
  int fd;

  for (guint i = 0; ; i++)
    {
      fd = _pipecom_unix_open_channel (intake, leaf, flags, opened, saved_errno);
      if (fd < 0 && (*saved_errno == EMFILE || *saved_errno == ENFILE))
        intake->nofile_read = 0;  /* the limit may have changed: read it again */
      if (fd >= 0 || (*saved_errno != EMFILE && *saved_errno != ENFILE) ||
          i == 4 || intake->funcs->reclaim == NULL ||
          !intake->funcs->reclaim (intake->user_data))
        return fd;
    }
}

/* How long _pipecom_unix_keep_fd_headroom() trusts the soft limit it last
 * read. */
#define NOFILE_CACHE_USEC G_USEC_PER_SEC

/* Descriptors are allocated lowest first: when @fd is among the last few
 * under the soft limit, at most that many are free. Make room for the next
 * senders before they are refused. The limit is read at most once a
 * second (it is not a system call worth making per sender), again at once
 * when an open failed for lack of descriptors, and always before acting on
 * it. */
void
_pipecom_unix_keep_fd_headroom (PipecomIntake *intake,
                                int            fd)
{
  struct rlimit rl;
  gint64 now;

  if (fd < 0 || intake->funcs->reclaim == NULL)
    return;

  now = g_get_monotonic_time ();
  if (intake->nofile_read != 0 && now - intake->nofile_read < NOFILE_CACHE_USEC &&
      (intake->nofile == RLIM_INFINITY || (rlim_t) fd + FD_HEADROOM < intake->nofile))
    return;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
    {
      intake->nofile_read = 0;
      return;
    }
  intake->nofile = rl.rlim_cur;
  intake->nofile_read = now;

  if (rl.rlim_cur == RLIM_INFINITY || (rlim_t) fd + FD_HEADROOM < rl.rlim_cur)
    return;

  intake->funcs->reclaim (intake->user_data);
}
