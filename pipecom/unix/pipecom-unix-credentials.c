/* pipecom-unix-credentials.c: who the sender on a connection is, on Unix
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The user of a sender is the owner of its channel FIFOs: the sender made
 * them, so the kernel set their owner to its effective uid (checked with
 * fstat() when the listener opened them, pipecom-unix-listen.c). Its
 * process is only claimed, by the channel's name; on Linux the claim is
 * verified by finding the channel, which the listener still holds open,
 * among the descriptors of that process (/proc/PID/fd). Nothing here runs
 * unless someone asks (see _pipecom_connection_get_sender()), so that
 * senders nobody asks about cost no system call.
 *
 * Threads: every function may be called from any thread; the verification
 * runs with the connection's peer lock held. */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __APPLE__
# include <sys/param.h>
# include <sys/ucred.h>
#endif

#include "pipecom-connection-private.h"
#include "pipecom-unix-private.h"

gint64
_pipecom_unix_channel_claimed_pid (const char *leaf)
{
  gint64 pid = 0;

  /* Prefixes compared in place: g_str_has_prefix() measured both
   * strings for every sender. */
  if (leaf[0] == '.' && leaf[1] == 'c')
    {
      /* .c<pid>-<counter>-<8 hex>: checked by the caller. */
      for (const char *p = leaf + 2; g_ascii_isdigit (*p); p++)
        {
          pid = pid * 10 + (*p - '0');
          if (pid > G_MAXINT32)
            return -1;
        }
    }
  else if (strncmp (leaf, SHARED_CHANNEL_PREFIX, strlen (SHARED_CHANNEL_PREFIX)) == 0 &&
           strlen (leaf) >= strlen (SHARED_CHANNEL_PREFIX) + 8)
    {
      /* .s<32 hex>, the first 8 the sender's pid (senders of 1.0 put
       * random digits there: the claim then fails to verify). */
      for (const char *p = leaf + strlen (SHARED_CHANNEL_PREFIX);
           p < leaf + strlen (SHARED_CHANNEL_PREFIX) + 8; p++)
        {
          int digit = g_ascii_xdigit_value (*p);

          if (digit < 0)
            return -1;
          pid = pid * 16 + digit;
        }
      if (pid > G_MAXINT32)
        return -1;
    }

  return pid > 0 ? pid : -1;
}

/* /proc (Linux): compiled out with -Dlinux_specific=false, which takes the
 * path of the systems without it (the pid stays unverified). */
#if defined(__linux__) && defined(PIPECOM_LINUX_SPECIFIC)

static gint
compare_fds_descending (gconstpointer a,
                        gconstpointer b)
{
  int x = *(const int *) a, y = *(const int *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

/* Whether @pdir, a descriptor of /proc/@pid, is a process and not one of
 * its threads: /proc/TID works for any thread, with the descriptors of
 * its process, so a claim of a thread's id would pass for a pid. */
static gboolean
is_process (int   pdir,
            pid_t pid)
{
  char buf[1024];
  const char *tgid;
  ssize_t n;
  int fd = openat (pdir, "status", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return FALSE;
  do
    n = read (fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';

  /* "Tgid:\t<pid>\n", in the first lines. */
  tgid = strstr (buf, "\nTgid:");
  if (tgid == NULL)
    return FALSE;
  tgid += strlen ("\nTgid:");
  while (*tgid == ' ' || *tgid == '\t')
    tgid++;
  return g_ascii_strtoll (tgid, NULL, 10) == pid;
}

/* Whether the process @pid, running as @uid, has a descriptor of the file
 * @dev/@ino. The channel is usually its newest descriptor: look from the
 * highest number down. */
static gboolean
process_holds_file (pid_t   pid,
                    uid_t   uid,
                    guint64 dev,
                    guint64 ino)
{
  char path[32];
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  struct stat st;
  struct dirent *entry;
  gboolean found = FALSE;
  int pdir, fd_dir;
  DIR *dir;

  g_snprintf (path, sizeof path, "/proc/%d", (int) pid);
  /* The descriptor stands for this process from now on: if it exits and
   * its pid is reused, reading through it fails. */
  pdir = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pdir < 0)
    return FALSE;

  /* /proc/PID belongs to the effective uid of a dumpable process. */
  if (fstat (pdir, &st) != 0 || st.st_uid != uid || !is_process (pdir, pid))
    {
      close (pdir);
      return FALSE;
    }

  fd_dir = openat (pdir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  close (pdir);
  if (fd_dir < 0)
    return FALSE;  /* another user's, or not dumpable */

  dir = fdopendir (fd_dir);
  if (dir == NULL)
    {
      close (fd_dir);
      return FALSE;
    }

  while ((entry = readdir (dir)) != NULL)
    {
      char *end;
      long n = strtol (entry->d_name, &end, 10);

      if (end != entry->d_name && *end == '\0' && n >= 0 && n <= G_MAXINT)
        {
          int fd = (int) n;
          g_array_append_val (fds, fd);
        }
    }
  g_array_sort (fds, compare_fds_descending);

  for (guint i = 0; i < fds->len && !found; i++)
    {
      char name[16];

      g_snprintf (name, sizeof name, "%d", g_array_index (fds, int, i));
      found = fstatat (dirfd (dir), name, &st, 0) == 0 &&
              (guint64) st.st_dev == dev && (guint64) st.st_ino == ino;
    }

  closedir (dir);
  return found;
}

gboolean
_pipecom_transport_verify_peer_pid (PipecomConnection         *conn,
                                    const PipecomPeerIdentity *peer)
{
  /* While the listener holds the channel, no other file has its inode. */
  if (peer->uid < 0 || peer->pid <= 0 || !_pipecom_connection_holds_channel (conn))
    return FALSE;

  return process_holds_file ((pid_t) peer->pid, (uid_t) peer->uid,
                             peer->channel_dev, peer->channel_ino);
}

#else  /* no /proc */

/* No portable way to see another process's descriptors: a claimed pid is
 * never verified. */
gboolean
_pipecom_transport_verify_peer_pid (PipecomConnection         *conn,
                                    const PipecomPeerIdentity *peer)
{
  return FALSE;
}

#endif  /* no /proc */

#ifdef __linux__

GCredentials *
_pipecom_transport_credentials_new (const PipecomPeerIdentity *peer,
                                    gint64                     pid)
{
  GCredentials *credentials;
  struct ucred native;

  if (peer->uid < 0)
    return NULL;

  /* GLib's accessors refuse a ucred with no gid ((gid_t) -1): it holds
   * the channel's group, which is not verified (see
   * pipecom_message_get_credentials()). A pid of -1 is "none". */
  native.pid = pid > 0 ? (pid_t) pid : -1;
  native.uid = (uid_t) peer->uid;
  native.gid = peer->gid >= 0 ? (gid_t) peer->gid : (gid_t) -1;

  credentials = g_credentials_new ();
  g_credentials_set_native (credentials, G_CREDENTIALS_TYPE_LINUX_UCRED, &native);
  return credentials;
}

#else  /* !__linux__ */

GCredentials *
_pipecom_transport_credentials_new (const PipecomPeerIdentity *peer,
                                    gint64                     pid)
{
#ifdef __APPLE__
  GCredentials *credentials;
  struct xucred native;

  if (peer->uid < 0)
    return NULL;

  /* The uid only: no group is verified, and GLib keeps no pid in it. */
  memset (&native, 0, sizeof native);
  native.cr_version = XUCRED_VERSION;
  native.cr_uid = (uid_t) peer->uid;
  native.cr_ngroups = 0;

  credentials = g_credentials_new ();
  g_credentials_set_native (credentials, G_CREDENTIALS_TYPE_APPLE_XUCRED, &native);
  return credentials;
#else
  /* Never g_credentials_new()'s own values: no credentials. */
  return NULL;
#endif
}

#endif  /* !__linux__ */

/* ---- PipecomPipe:allowed-users ---- */

struct _PipecomUserSet
{
  uid_t  self;   /* the listener's effective uid, always allowed */
  GArray *uids;  /* of uid_t */
};

/* @entry as a uid: decimal digits, or a user name (getpwnam_r()). */
static gboolean
resolve_user (const char  *entry,
              uid_t       *uid,
              GError     **error)
{
  struct passwd pwd, *result = NULL;
  g_autofree char *buf = NULL;
  long size;
  int ret;

  if (*entry != '\0' && strspn (entry, "0123456789") == strlen (entry))
    {
      guint64 n;

      if (g_ascii_string_to_unsigned (entry, 10, 0, G_MAXUINT32 - 1, &n, NULL))
        {
          *uid = (uid_t) n;
          return TRUE;
        }
    }
  else if (*entry != '\0')
    {
      size = sysconf (_SC_GETPW_R_SIZE_MAX);
      if (size <= 0)
        size = 16384;

      for (;;)
        {
          buf = g_malloc (size);
          ret = getpwnam_r (entry, &pwd, buf, size, &result);
          if (ret != ERANGE || size > 1024 * 1024)
            break;
          g_clear_pointer (&buf, g_free);
          size *= 2;
        }

      if (result != NULL)
        {
          *uid = pwd.pw_uid;
          return TRUE;
        }
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "Unknown user “%s” in allowed-users", entry);
  return FALSE;
}

PipecomUserSet *
_pipecom_transport_resolve_users (const char * const  *users,
                                  GError             **error)
{
  PipecomUserSet *set;

  if (users == NULL || users[0] == NULL)
    return NULL;

  set = g_new0 (PipecomUserSet, 1);
  set->self = geteuid ();
  set->uids = g_array_new (FALSE, FALSE, sizeof (uid_t));
  for (guint i = 0; users[i] != NULL; i++)
    {
      uid_t uid;

      if (!resolve_user (users[i], &uid, error))
        {
          _pipecom_transport_users_free (set);
          return NULL;
        }
      g_array_append_val (set->uids, uid);
    }

  return set;
}

gboolean
_pipecom_transport_users_allow (PipecomUserSet    *set,
                                PipecomConnection *conn)
{
  gint64 uid = _pipecom_connection_get_peer_uid (conn);

  if (set == NULL)
    return TRUE;
  if (uid < 0)
    return FALSE;
  if ((uid_t) uid == set->self)
    return TRUE;
  for (guint i = 0; i < set->uids->len; i++)
    if (g_array_index (set->uids, uid_t, i) == (uid_t) uid)
      return TRUE;

  return FALSE;
}

void
_pipecom_transport_users_free (PipecomUserSet *set)
{
  if (set == NULL)
    return;
  g_array_unref (set->uids);
  g_free (set);
}
