/* pipecom-unix-dial-channel.c: a sender's channel files, made, named and
 * removed
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The FIFOs a sender reads its answers from (BASE.rep) and, for a
 * persistent connection, writes its messages to (BASE.req): made in our
 * own pipe directory, or in a shared pipe's channel directory, for
 * pipecom-unix-dial.c, and removed once the listener opened them. Paths
 * and descriptors only, no state but the process's pid and counters: any
 * thread may call these (see pipecom-unix-private.h). */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pipecom-unix-private.h"

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

/* Puts @base (at most PIPECOM_ANNOUNCE_BASE_MAX bytes long, @len) and
 * @suffix (".rep" or ".req") in @buf, and returns it: on the stack, where
 * g_strconcat() cost a one-shot some 450 instructions for its two or
 * three names. */
char *
_pipecom_unix_channel_file_name (char       *buf,
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
 * directory @dfd that @base (@base_len bytes, its file name at @leaf)
 * names, with modes @rep_mode and @req_mode, as the user @euid
 * (geteuid(), read once per dial), and opens the reply one for reading
 * into @rep_fd. What @base.req is goes to
 * @req_made, for opening it later. @dir_private: @dfd is our pipe
 * directory, which nobody else can write (see
 * _pipecom_unix_make_fifo_at()). */
static ChannelResult
make_channel (int           dfd,
              const char   *base,
              gsize         base_len,
              const char   *leaf,
              gboolean      with_req,
              mode_t        rep_mode,
              mode_t        req_mode,
              uid_t         euid,
              gboolean      dir_private,
              int          *rep_fd,
              struct stat  *req_made,
              GError      **error)
{
  gsize leaf_len = base + base_len - leaf;
  char rep[CHANNEL_FILE_NAME_SIZE];
  char req[CHANNEL_FILE_NAME_SIZE];
  g_autofree char *rep_path = NULL;
  struct stat made;
  int fd, saved_errno;

  if (base_len > PIPECOM_ANNOUNCE_BASE_MAX)
    {
      g_autofree char *dir = g_path_get_dirname (base);

      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "The directory “%s” has too long a path for a "
                   "connection announcement (at most %d bytes)",
                   dir, PIPECOM_ANNOUNCE_MAX);
      return CHANNEL_FAILED;
    }

  _pipecom_unix_channel_file_name (rep, leaf, leaf_len, ".rep");
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
      int req_fd;

      _pipecom_unix_channel_file_name (req, leaf, leaf_len, ".req");
      req_fd = _pipecom_unix_make_fifo_at (dfd, req, O_RDONLY, req_mode, euid, dir_private,
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

/* In 32 bits, where a division by 10 is a cheaper multiplication: what a
 * private channel's name holds fits (a pid's magnitude, a counter). */
static char *
put_decimal (char    *p,
             guint32  value)
{
  char digits[10];
  guint n = 0;

  do
    digits[n++] = '0' + value % 10;
  while ((value /= 10) != 0);
  while (n > 0)
    *p++ = digits[--n];
  return p;
}

/* What the names of a process's private channels say of it: its pid,
 * which tells them from those of the other processes alive, and a random
 * number, which tells them from those a dead process of the same pid may
 * have left behind (their counter tells them apart). */
typedef struct
{
  char  pid[12];     /* "-" and 10 digits at most */
  gsize pid_len;
  char  random[8];   /* hex digits */
} OwnName;

/* @dir, "/" and PRIVATE_CHANNEL_FORMAT of @own's pid and random number
 * and of @n, formatted by hand: printf cost a one-shot some 2,000
 * instructions here. Written to @buf if it has room (@buf_size bytes),
 * else to a new string; its length goes to @len. */
static char *
private_channel_base (const char     *dir,
                      gsize           dir_len,
                      const OwnName  *own,
                      guint           n,
                      char           *buf,
                      gsize           buf_size,
                      gsize          *len)
{
  gsize size = dir_len + 1 + PRIVATE_CHANNEL_MAX + 1;
  char *base = buf != NULL && size <= buf_size ? buf : g_malloc (size);
  char *p = base;

  memcpy (p, dir, dir_len);
  p += dir_len;
  *p++ = '/';
  *p++ = '.';
  *p++ = 'c';
  memcpy (p, own->pid, own->pid_len);
  p += own->pid_len;
  *p++ = '-';
  p = put_decimal (p, n);
  *p++ = '-';
  memcpy (p, own->random, sizeof own->random);
  p += sizeof own->random;
  *p = '\0';
  *len = p - base;
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

/* This process's OwnName, made once: getpid() is a system call every
 * time (glibc no longer caches it), and formatting it and a number of
 * g_random_int(), which takes a lock, for every channel cost a one-shot
 * some 200 instructions. A process keeps its pid until it forks, when the
 * child forgets the parent's name. @own_name is written under
 * @own_name_lock before @own_name_pid, and read once @own_name_pid is not
 * 0; fork() waits for the lock, which the child would otherwise find held
 * forever by a thread it does not have. */
static OwnName own_name;
static int own_name_pid = 0;  /* (atomic) */
G_LOCK_DEFINE_STATIC (own_name_lock);

static void
own_name_prepare_fork (void)
{
  G_LOCK (own_name_lock);
}

static void
own_name_parent_forked (void)
{
  G_UNLOCK (own_name_lock);
}

static void
own_name_child_forked (void)
{
  g_atomic_int_set (&own_name_pid, 0);
  G_UNLOCK (own_name_lock);
}

static const OwnName *
get_own_name (void)
{
  static gsize registered = 0;

  if (g_atomic_int_get (&own_name_pid) != 0)
    return &own_name;

  /* Registered before anything is made: no child ever sees a name made
   * before its fork() without the handler to clear it. */
  if (g_once_init_enter (&registered))
    {
      pthread_atfork (own_name_prepare_fork, own_name_parent_forked, own_name_child_forked);
      g_once_init_leave (&registered, 1);
    }

  G_LOCK (own_name_lock);
  if (g_atomic_int_get (&own_name_pid) == 0)
    {
      int pid = (int) getpid ();
      guint32 random = g_random_int ();
      char *p = own_name.pid;

      if (pid < 0)
        *p++ = '-';
      p = put_decimal (p, pid < 0 ? (guint32) 0 - (guint32) pid : (guint32) pid);
      own_name.pid_len = p - own_name.pid;
      for (guint i = 0; i < sizeof own_name.random; i++)
        own_name.random[i] = "0123456789abcdef"[(random >> (28 - 4 * i)) & 0xf];
      g_atomic_int_set (&own_name_pid, pid);
    }
  G_UNLOCK (own_name_lock);

  return &own_name;
}

/* A private channel in our own pipe directory, with its descriptor in
 * @dir_fd. Its BASE is written to @buf (nullable) if it has room for it
 * (@buf_size bytes), else returned as a new string; its length goes to
 * @base_len, as the dial needs it several times. */
char *
_pipecom_unix_new_private_channel (gboolean      with_req,
                                   uid_t         euid,
                                   int          *dir_fd,
                                   int          *rep_fd,
                                   struct stat  *req_made,
                                   char         *buf,
                                   gsize         buf_size,
                                   gsize        *base_len,
                                   GError      **error)
{
  static guint counter = 0;
  static gsize swept = 0;
  g_autofree char *checked = NULL;
  const char *dir;
  gsize dir_len;
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
      if (!(dir = checked = _pipecom_unix_user_pipe_dir (error)))
        return NULL;

      if ((dfd = _pipecom_unix_open_private_dir (dir, &st, error)) < 0)
        return NULL;
    }

  if (g_once_init_enter (&swept))
    {
      sweep_stale_channels (dir);
      g_once_init_leave (&swept, 1);
    }

  dir_len = strlen (dir);
  for (guint tries = 0; tries < 8; tries++)
    {
      char *base = private_channel_base (dir, dir_len, get_own_name (),
                                         g_atomic_int_add (&counter, 1), buf, buf_size,
                                         base_len);
      int fd;

      switch (make_channel (dfd, base, *base_len, base + dir_len + 1, with_req, 0600, 0600,
                            euid, TRUE, &fd, req_made, error))
        {
        case CHANNEL_TAKEN:
          if (base != buf)
            g_free (base);
          continue;
        case CHANNEL_FAILED:
          if (base != buf)
            g_free (base);
          close (dfd);
          return NULL;
        case CHANNEL_MADE:
        default:
          break;
        }

      *dir_fd = dfd;
      *rep_fd = fd;
      return base;
    }

  return no_unique_channel (dfd, dir, error);
}

char *
_pipecom_transport_new_channel (gboolean   with_req,
                                int       *rep_fd,
                                GError   **error)
{
  struct stat req_made;
  gsize base_len;
  int dir_fd;
  char *base = _pipecom_unix_new_private_channel (with_req, geteuid (), &dir_fd, rep_fd,
                                                  &req_made, NULL, 0, &base_len, error);

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
char *
_pipecom_unix_new_shared_channel (const char   *chandir,
                                  uid_t         owner,
                                  gboolean      everyone,
                                  gboolean      with_req,
                                  uid_t         euid,
                                  int          *dir_fd,
                                  int          *rep_fd,
                                  struct stat  *req_made,
                                  gsize        *base_len,
                                  GError      **error)
{
  int dfd = open_channel_dir (chandir, owner);
  gsize chandir_len = strlen (chandir);

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
      *base_len = strlen (base);

      /* For everyone, the group bits equal the others' ones: the channel
       * gets the sender's group, and a listener in that group is judged by
       * the group bits. */
      switch (make_channel (dfd, base, *base_len, base + chandir_len + 1, with_req,
                            everyone ? 0622 : 0620,
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

void
_pipecom_unix_remove_channel (const char *base,
                              gsize       len,
                              gboolean    with_req)
{
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

  g_unlink (_pipecom_unix_channel_file_name (buf, base, len, ".rep"));
  if (with_req)
    g_unlink (_pipecom_unix_channel_file_name (buf, base, len, ".req"));
}

void
_pipecom_transport_remove_channel (const char *base)
{
  _pipecom_unix_remove_channel (base, strlen (base), TRUE);
}
