/* test-security.c: what PipeCom refuses to trust
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"
#include "pipecom-private.h"
#include "unix/pipecom-unix-private.h"

/* The unprivileged user of /security/second-user; CI creates it with
 * useradd (see .ci/run). */
#define OTHER_USER "pipecom-other"

static void
assert_listen_denied (const char *name)
{
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;

  g_assert_false (pipecom_pipe_listen (pipe, &error));
  g_test_message ("listen on %s: %s", name, error ? error->message : "(no error)");
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  g_assert_false (pipecom_pipe_get_listening (pipe));
}

static void
assert_send_denied (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autofree char *reply = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_false (pipecom_test_send (name, "secret", 5, 2, &error));
  g_test_message ("send to %s: %s", name, error ? error->message : "(no error)");
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  reply = pipecom_test_request (name, "secret", &error);
  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  pipecom_client_set_max_attempts (client, 2);
  pipecom_client_set_timeout (client, 5);
  g_assert_false (pipecom_client_connect (client, NULL, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);

  /* Refused at once, not after retrying. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);
}

static void
assert_is_symlink_to (const char *link,
                      const char *target)
{
  g_autofree char *read = g_file_read_link (link, NULL);
  GStatBuf st;

  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpstr (read, ==, target);
}

static void
test_symlink_to_live_fifo (void)
{
  g_autofree char *real = pipecom_test_make_path ("real");
  g_autofree char *link = pipecom_test_make_path ("link");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  gint calls = 0;

  g_test_summary ("A symlink to a live listener's FIFO is refused with PERMISSION_DENIED by "
                  "listeners and senders; nothing reaches the real listener");

  pipe = pipecom_test_listen_new (real, FALSE, &calls);
  g_assert_cmpint (symlink (real, link), ==, 0);

  assert_listen_denied (link);
  assert_send_denied (link);
  g_assert_cmpint (calls, ==, 0);

  /* Nothing was removed or replaced. */
  assert_is_symlink_to (link, real);
  g_assert_cmpint (g_lstat (real, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_true (pipecom_pipe_get_listening (pipe));

  reply = pipecom_test_request (real, "direct", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:direct");

  pipecom_test_stop_and_wait (pipe);
  g_unlink (link);
}

static void
test_symlink_to_file (void)
{
  g_autofree char *file = pipecom_test_make_path ("victim");
  g_autofree char *link = pipecom_test_make_path ("link-file");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A symlink to a regular file is refused, and the file is left untouched");

  g_assert_true (g_file_set_contents (file, "precious", -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (symlink (file, link), ==, 0);

  assert_listen_denied (link);
  assert_send_denied (link);

  assert_is_symlink_to (link, file);
  g_assert_true (g_file_get_contents (file, &contents, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "precious");
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
  g_unlink (link);
  g_unlink (file);
}

static void
test_symlink_dangling (void)
{
  g_autofree char *target = pipecom_test_make_path ("not-yet");
  g_autofree char *link = pipecom_test_make_path ("dangling");
  GStatBuf st;

  g_test_summary ("A dangling symlink is refused and the listener creates nothing at its "
                  "target");

  g_assert_cmpint (symlink (target, link), ==, 0);
  assert_listen_denied (link);
  assert_send_denied (link);
  assert_is_symlink_to (link, target);
  g_assert_cmpint (g_lstat (target, &st), !=, 0);
  g_unlink (link);
}

static void
test_symlink_simple_name (void)
{
  g_autofree char *name = pipecom_test_make_name ("simple-link");
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();
  g_autofree char *link = g_build_filename (dir, name, NULL);
  g_autofree char *fifo = pipecom_test_make_path ("elsewhere");

  g_test_summary ("A symlink in the per-user pipe directory under a simple name is refused");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink (fifo, link), ==, 0);

  assert_listen_denied (name);
  assert_send_denied (name);
  assert_is_symlink_to (link, fifo);
  g_unlink (link);
  g_unlink (fifo);
}

static void
test_lock_symlink (void)
{
  g_autofree char *path = pipecom_test_make_path ("lock-attack");
  g_autofree char *lock = g_strconcat (path, ".lock", NULL);
  g_autofree char *victim = pipecom_test_make_path ("lock-victim");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A symlink planted at the lock file's path is refused and its target left "
                  "untouched");

  g_assert_true (g_file_set_contents (victim, "precious", -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (symlink (victim, lock), ==, 0);

  assert_listen_denied (path);
  assert_is_symlink_to (lock, victim);
  g_assert_true (g_file_get_contents (victim, &contents, NULL, &error));
  g_assert_cmpstr (contents, ==, "precious");
  g_unlink (lock);
  g_unlink (victim);
  g_unlink (path);
}

static void
test_regular_file (void)
{
  g_autofree char *path = pipecom_test_make_path ("regular");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A regular file at the pipe's path is refused and left untouched");

  g_assert_true (g_file_set_contents (path, "not a fifo", -1, &error));
  g_assert_no_error (error);

  assert_listen_denied (path);
  assert_send_denied (path);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_cmpstr (contents, ==, "not a fifo");
  g_unlink (path);
}

static void
test_directory (void)
{
  g_autofree char *path = pipecom_test_make_path ("a-directory");

  g_test_summary ("A directory at the pipe's path is refused");

  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  assert_listen_denied (path);
  assert_send_denied (path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  g_rmdir (path);
}

static void
test_modes (void)
{
  g_autofree char *name = pipecom_test_make_name ("modes");
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();
  g_autofree char *abs = pipecom_test_make_path ("modes-abs");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomPipe) pipe_abs = NULL;
  g_autofree char *lock = NULL;
  mode_t old_umask;
  GStatBuf st;

  g_test_summary ("Even with umask 0, the per-user pipe directory is created 0700 and FIFOs "
                  "and lock files 0600, owned by us");

  old_umask = umask (0);
  /* Let the library create the directory itself, if nothing is in it. */
  if (pipecom_test_count_dir_entries (dir) == 0)
    g_rmdir (dir);

  pipe = pipecom_test_listen_new (name, FALSE, NULL);
  pipe_abs = pipecom_test_listen_new (abs, FALSE, NULL);

  g_assert_cmpint (g_lstat (dir, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());

  g_assert_cmpint (g_lstat (pipecom_pipe_get_path (pipe), &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());

  lock = g_strconcat (pipecom_pipe_get_path (pipe), ".lock", NULL);
  g_assert_cmpint (g_lstat (lock, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);

  g_assert_cmpint (g_lstat (abs, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);

  umask (old_umask);
  pipecom_test_stop_and_wait (pipe);
  pipecom_test_stop_and_wait (pipe_abs);
}

static void
test_insecure_directory (void)
{
  g_autofree char *name = pipecom_test_make_name ("insecure-dir");
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();

  g_test_summary ("A per-user pipe directory readable by others is refused with "
                  "PERMISSION_DENIED for listeners and senders");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);

  assert_listen_denied (name);
  assert_send_denied (name);

  g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
}

static void
test_foreign_owner (void)
{
  g_autofree char *path = pipecom_test_make_path ("foreign");
  g_autofree char *name = pipecom_test_make_name ("foreign-simple");
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();
  g_autofree char *simple_path = g_build_filename (dir, name, NULL);
  char buf[64];
  GStatBuf st;
  int fd;

  g_test_summary ("A FIFO created 0666 by another user is refused by listeners (and not "
                  "reclaimed) and by senders (who write nothing into it)");

  if (geteuid () != 0)
    {
      g_test_skip ("needs root to create a file owned by another user");
      return;
    }

  g_assert_cmpint (mkfifo (path, 0666), ==, 0);
  g_assert_cmpint (chmod (path, 0666), ==, 0);
  g_assert_cmpint (chown (path, 65534, 65534), ==, 0);

  assert_listen_denied (path);
  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpuint (st.st_uid, ==, 65534);

  /* The foreign "listener" reads the FIFO, so a careless sender would
   * connect and hand it our message. */
  fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  assert_send_denied (path);
  g_assert_cmpint (read (fd, buf, sizeof buf), <=, 0);
  close (fd);
  g_unlink (path);

  /* Same with a simple name in the per-user directory. */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (simple_path, 0666), ==, 0);
  g_assert_cmpint (chown (simple_path, 65534, 65534), ==, 0);
  assert_listen_denied (name);
  fd = open (simple_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  assert_send_denied (name);
  g_assert_cmpint (read (fd, buf, sizeof buf), <=, 0);
  close (fd);
  g_assert_true (g_file_test (simple_path, G_FILE_TEST_EXISTS));
  g_unlink (simple_path);
}

/* O_CLOEXEC on the listener's, the client's and the channels' fds, and
 * 0600 channel FIFOs even with umask 0. */
static gboolean
fd_is_cloexec (const char *fd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fdinfo/%s", fd);
  g_autofree char *info = NULL;
  const char *flags;

  g_assert_true (g_file_get_contents (path, &info, NULL, NULL));
  flags = strstr (info, "flags:");
  g_assert_nonnull (flags);
  return (g_ascii_strtoull (flags + 6, NULL, 8) & O_CLOEXEC) != 0;
}

static guint
assert_fds_cloexec (const char *needle)
{
  g_auto(GStrv) fds = pipecom_test_list_dir ("/proc/self/fd");
  guint n = 0;

  for (guint i = 0; fds[i] != NULL; i++)
    {
      g_autofree char *p = g_build_filename ("/proc/self/fd", fds[i], NULL);
      g_autofree char *target = g_file_read_link (p, NULL);

      if (target == NULL || strstr (target, needle) == NULL)
        continue;
      g_test_message ("fd %s -> %s", fds[i], target);
      g_assert_true (fd_is_cloexec (fds[i]));
      n++;
    }
  return n;
}

static void
test_defaults (void)
{
  g_autofree char *name = pipecom_test_make_name ("defaults");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;
  g_autofree char *rep = NULL;
  g_autofree char *req = NULL;
  mode_t old_umask;
  GStatBuf st;
  int fd;

  g_test_summary ("Channel FIFOs are created 0600 even with umask 0, and every fd the "
                  "library opens (well-known FIFO, lock, channels) has O_CLOEXEC");

  old_umask = umask (0);
  base = _pipecom_transport_new_channel (TRUE, &fd, &error);
  g_assert_no_error (error);
  rep = g_strconcat (base, ".rep", NULL);
  req = g_strconcat (base, ".req", NULL);
  g_assert_cmpint (g_lstat (rep, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());
  g_assert_cmpint (g_lstat (req, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (assert_fds_cloexec (rep), ==, 1);
  close (fd);
  _pipecom_transport_remove_channel (base);
  umask (old_umask);

  pipe = pipecom_test_listen_new (name, TRUE, NULL);
  /* The well-known FIFO twice (reader and our own writer), and the lock. */
  g_assert_cmpuint (assert_fds_cloexec (pipecom_pipe_get_path (pipe)), ==, 3);

  /* A connected client's channels, on both sides (unlinked by now). */
  client = pipecom_client_new (name);
  g_assert_true (pipecom_client_connect (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (assert_fds_cloexec ("/.c"), >=, 4);

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
}

/* A record naming channels that another user planted (FIFOs of theirs,
 * or symbolic links to somewhere of ours) is refused: the listener writes
 * nothing to them and handles nothing. */
static void
test_hijack_channels (gconstpointer data)
{
  gboolean symlinks = GPOINTER_TO_INT (data);
  g_autofree char *name = pipecom_test_make_name ("hijack-channel");
  g_autofree char *shared = NULL;
  g_autofree char *base = NULL;
  g_autofree char *rep = NULL;
  g_autofree char *req = NULL;
  g_autofree char *own = NULL;
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe;
  guint8 record[PIPECOM_ANNOUNCE_MAX], buf[64];
  gsize len;
  gint handled = 0;
  int rep_fd, own_fd, fifo_fd;

  g_test_summary ("Channels planted in a shared directory by another user (their FIFOs, or "
                  "symbolic links to a FIFO of ours) are refused by the listener");

  if (!symlinks && geteuid () != 0)
    {
      g_test_skip ("needs root to create FIFOs owned by another user");
      return;
    }

  shared = g_dir_make_tmp ("pipecom-shared-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (shared, 01777), ==, 0);
  base = g_build_filename (shared, ".c1-1-hijack", NULL);
  rep = g_strconcat (base, ".rep", NULL);
  req = g_strconcat (base, ".req", NULL);
  own = g_build_filename (shared, "own-fifo", NULL);

  g_assert_cmpint (mkfifo (own, 0600), ==, 0);
  own_fd = open (own, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (own_fd, >=, 0);
  if (symlinks)
    {
      g_assert_cmpint (symlink (own, rep), ==, 0);
      g_assert_cmpint (symlink (own, req), ==, 0);
      rep_fd = open (own, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
  else
    {
      g_assert_cmpint (mkfifo (rep, 0666), ==, 0);
      g_assert_cmpint (mkfifo (req, 0666), ==, 0);
      g_assert_cmpint (chown (rep, 65534, 65534), ==, 0);
      g_assert_cmpint (chown (req, 65534, 65534), ==, 0);
      rep_fd = open (rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
  g_assert_cmpint (rep_fd, >=, 0);

  pipe = pipecom_test_listen_new (name, TRUE, &handled);
  for (guint kind = PIPECOM_ANNOUNCE_CONNECT; kind <= PIPECOM_ANNOUNCE_ONESHOT; kind++)
    {
      len = _pipecom_encode_announce (record, kind, base, (const guint8 *) "stolen",
                                      kind == PIPECOM_ANNOUNCE_ONESHOT ? 6 : 0);
      fifo_fd = open (pipecom_pipe_get_path (pipe), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      g_assert_cmpint (fifo_fd, >=, 0);
      g_assert_cmpint (write (fifo_fd, record, len), ==, (gssize) len);
      close (fifo_fd);
    }

  /* Records are handled in order: once a later send is served, ours were. */
  g_assert_true (pipecom_test_send (name, "later", 20, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 1);
  g_assert_cmpint (read (rep_fd, buf, sizeof buf), <=, 0);
  g_assert_cmpint (read (own_fd, buf, sizeof buf), <=, 0);

  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  close (rep_fd);
  close (own_fd);
  g_unlink (rep);
  g_unlink (req);
  g_unlink (own);
  g_rmdir (shared);
}

/* A file of ours hard-linked as PATH.lock (by anyone who can write the
 * directory: with fs.protected_hardlinks=1 another user can do it for a
 * file they may read and write, with 0 for any file). The listener must
 * refuse it and leave its mode alone; it used to fchmod() it to 0600. */
static void
test_hardlink_lock (gconstpointer data)
{
  guint mode = GPOINTER_TO_UINT (data);
  g_autofree char *tmp = NULL;
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *lock = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  struct stat st;

  g_test_summary ("A regular file of the owner hard-linked as PATH.lock is refused with "
                  "PERMISSION_DENIED, and its mode is left as it was");

  tmp = g_dir_make_tmp ("pipecom-hardlink-XXXXXX", &error);
  g_assert_no_error (error);
  file = g_build_filename (tmp, "tool", NULL);
  path = g_build_filename (tmp, "ctl", NULL);
  lock = g_strconcat (path, ".lock", NULL);
  g_assert_true (g_file_set_contents (file, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (file, mode), ==, 0);
  g_assert_cmpint (link (file, lock), ==, 0);

  assert_listen_denied (path);
  g_assert_cmpint (lstat (file, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* A lock file of ours alone but open to others is not one of ours either. */
  g_assert_cmpint (g_unlink (file), ==, 0);
  assert_listen_denied (path);
  g_assert_cmpint (lstat (lock, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);

  /* Without it, listening works. */
  g_assert_cmpint (g_unlink (lock), ==, 0);
  pipe = pipecom_pipe_new (path);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lstat (lock, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);
  pipecom_test_stop_and_wait (pipe);
  g_assert_cmpuint (pipecom_test_count_dir_entries (tmp), ==, 0);
  g_rmdir (tmp);
}

/* Hard links to a live private FIFO of ours: as another pipe's name, a
 * sender must not deliver to the listener of the first (nor may a
 * listener take the name); as a channel, a listener must not write to it. */
/* Removes the pipe's FIFO once, as its listener does when it stops, right
 * after the sender opened it. */
static void
unlink_once_cb (const char *path)
{
  _pipecom_opened_pipe_fifo_hook = NULL;
  g_assert_cmpint (g_unlink (path), ==, 0);
}

static void
test_fifo_removed_while_opening (void)
{
  g_autofree char *name = pipecom_test_make_name ("removed");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A FIFO removed (no name left, not several) between a sender's open() and "
                  "its fstat() means no listener, not a hard link");

  pipe = pipecom_test_listen_new (name, FALSE, NULL);
  _pipecom_opened_pipe_fifo_hook = unlink_once_cb;
  g_assert_false (pipecom_send (name, "anyone?", 0, 1, &error));
  g_assert_null (_pipecom_opened_pipe_fifo_hook);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_hardlink_fifo (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *svc_a = NULL;
  g_autofree char *svc_b = NULL;
  g_autofree char *victim = NULL;
  g_autofree char *pipe_dir = pipecom_test_get_pipecom_dir ();
  g_autofree char *base = NULL;
  g_autofree char *rep = NULL;
  g_autofree char *req = NULL;
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe;
  guint8 record[PIPECOM_ANNOUNCE_MAX], buf[64];
  gint handled = 0;
  struct stat st;
  int victim_fd;

  g_test_summary ("A hard link to a live private FIFO of the owner is refused as a pipe "
                  "name (by senders and listeners) and as a channel: nothing reaches or "
                  "is written to the FIFO it links to");

  tmp = g_dir_make_tmp ("pipecom-hardlink-XXXXXX", &error);
  g_assert_no_error (error);
  svc_a = g_build_filename (tmp, "svcA", NULL);
  svc_b = g_build_filename (tmp, "svcB", NULL);
  pipe = pipecom_test_listen_new (svc_a, TRUE, &handled);

  /* As a pipe name. */
  g_assert_cmpint (link (svc_a, svc_b), ==, 0);
  assert_send_denied (svc_b);
  assert_listen_denied (svc_b);
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 0);
  g_assert_cmpint (lstat (svc_b, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  g_assert_cmpint (g_unlink (svc_b), ==, 0);

  /* As a channel, named as our senders name theirs, in our pipe directory. */
  victim = g_build_filename (tmp, "victim", NULL);
  g_assert_cmpint (mkfifo (victim, 0600), ==, 0);
  victim_fd = open (victim, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (victim_fd, >=, 0);
  base = g_strdup_printf ("%s/.c%d-1-0badf00d", pipe_dir, (int) getpid ());
  rep = g_strconcat (base, ".rep", NULL);
  req = g_strconcat (base, ".req", NULL);
  g_assert_cmpint (link (victim, rep), ==, 0);
  g_assert_cmpint (link (victim, req), ==, 0);

  for (guint kind = PIPECOM_ANNOUNCE_CONNECT; kind <= PIPECOM_ANNOUNCE_ONESHOT; kind++)
    {
      gsize len = _pipecom_encode_announce (record, kind, base, (const guint8 *) "stolen",
                                            kind == PIPECOM_ANNOUNCE_ONESHOT ? 6 : 0);
      int fifo_fd = open (svc_a, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

      g_assert_cmpint (fifo_fd, >=, 0);
      g_assert_cmpint (write (fifo_fd, record, len), ==, (gssize) len);
      close (fifo_fd);
    }

  /* Records are handled in order: once a later send is served, ours were. */
  g_assert_true (pipecom_test_send (svc_a, "later", 20, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 1);
  g_assert_cmpint (read (victim_fd, buf, sizeof buf), <=, 0);

  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  close (victim_fd);
  g_unlink (rep);
  g_unlink (req);
  g_unlink (victim);
  g_assert_cmpuint (pipecom_test_count_dir_entries (tmp), ==, 0);
  g_rmdir (tmp);
}

/* Another, unprivileged user (OTHER_USER, run with setpriv) against our
 * pipe in a shared, sticky directory like /tmp. */
static void
test_second_user (void)
{
  g_autofree char *shared = NULL;
  g_autofree char *victim = NULL;
  g_autofree char *binary = NULL;
  g_autofree char *runtime = NULL;
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *uid_arg = NULL;
  g_autofree char *gid_arg = NULL;
  g_autofree char *env_arg = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *helper = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  struct passwd *pw;
  gint handled = 0;
  int status;

  g_test_summary ("A second, unprivileged user cannot send to, listen on, read or replace "
                  "our pipe in a shared sticky directory, and gets PERMISSION_DENIED");

  if (geteuid () != 0)
    {
      g_test_skip ("needs root, to run a second user with setpriv");
      return;
    }
  if ((pw = getpwnam (OTHER_USER)) == NULL)
    {
      g_test_skip ("no user " OTHER_USER " (CI creates it: useradd --system " OTHER_USER ")");
      return;
    }
  if (setpriv == NULL)
    {
      g_test_skip ("setpriv (util-linux) is not installed");
      return;
    }

  shared = g_dir_make_tmp ("pipecom-shared-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (shared, 01777), ==, 0);
  victim = g_build_filename (shared, "victim", NULL);

  /* Our listener, with its FIFO in the shared directory. */
  pipe = pipecom_test_listen_new (victim, TRUE, &handled);

  /* The other user needs a runtime directory of its own, and a copy of
   * the helper program it may execute. */
  runtime = g_build_filename (shared, "other-runtime", NULL);
  g_assert_cmpint (g_mkdir (runtime, 0700), ==, 0);
  g_assert_cmpint (chown (runtime, pw->pw_uid, pw->pw_gid), ==, 0);
  binary = g_build_filename (shared, "helper-child", NULL);
  helper = pipecom_test_get_helper_path ();
  {
    g_autofree char *contents = NULL;
    gsize len;

    g_assert_true (g_file_get_contents (helper, &contents, &len, NULL));
    g_assert_true (g_file_set_contents_full (binary, contents, len, G_FILE_SET_CONTENTS_NONE,
                                             0755, NULL));
  }

  uid_arg = g_strdup_printf ("--reuid=%u", (guint) pw->pw_uid);
  gid_arg = g_strdup_printf ("--regid=%u", (guint) pw->pw_gid);
  env_arg = g_strconcat ("XDG_RUNTIME_DIR=", runtime, NULL);
  {
    const char *argv[] = { setpriv, uid_arg, gid_arg, "--clear-groups", "--",
                           "env", env_arg, binary, "--child-other-user", victim, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &out, &err, &status, &error));
    g_assert_no_error (error);
  }
  g_test_message ("other user said:\n%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  {
    g_autofree char *denied = g_strdup_printf ("%d", PIPECOM_ERROR_PERMISSION_DENIED);
    g_autofree char *send = g_strconcat ("SEND ", denied, "\n", NULL);
    g_autofree char *request = g_strconcat ("REQUEST ", denied, "\n", NULL);
    g_autofree char *connect = g_strconcat ("CONNECT ", denied, "\n", NULL);
    g_autofree char *listen = g_strconcat ("LISTEN ", denied, "\n", NULL);

    g_assert_nonnull (strstr (out, send));
    g_assert_nonnull (strstr (out, request));
    g_assert_nonnull (strstr (out, connect));
    g_assert_nonnull (strstr (out, listen));
    g_assert_nonnull (strstr (out, "READ denied\n"));
    g_assert_nonnull (strstr (out, "UNLINK denied\n"));
    g_assert_nonnull (strstr (out, "RENAME denied\n"));
    g_assert_nonnull (strstr (out, "LOCK denied\n"));
  }

  /* Nothing reached us, our files are intact, and we still serve. */
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 0);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  g_assert_true (pipecom_test_send (victim, "still mine", 20, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 1);
  pipecom_test_stop_and_wait (pipe);

  g_unlink (binary);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", shared);
    g_assert_cmpint (system (cmd), ==, 0);
  }
}

/* A sender whose own pipe directory has a long path: the names of its
 * private channels do not fit the buffer they are most often made in
 * (pipecom-unix-dial.c), and are made as strings of their own. Both ends
 * are helpers with that runtime directory: a private channel must be in
 * the listener's own pipe directory. */
static void
test_long_private_channel (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autofree char *pad = NULL;
  g_autofree char *runtime = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autoptr(GDataInputStream) out = NULL;

  g_test_summary ("A one-shot message between processes whose runtime directory has a long "
                  "path is delivered through a private channel, and acknowledged");

  tmp = g_dir_make_tmp ("pipecom-long-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (tmp, "pipe", NULL);
  pad = g_strnfill (120, 'r');
  runtime = g_build_filename (tmp, pad, NULL);
  g_assert_cmpint (g_mkdir (runtime, 0700), ==, 0);

  /* Their stdin a pipe held open: the helper exits when it is closed. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  listener = g_subprocess_launcher_spawn (launcher, &error, pipecom_test_get_helper_path (),
                                          "--child-listener", path, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (listener));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "READY");

  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE);
  sender = g_subprocess_launcher_spawn (launcher, &error, pipecom_test_get_helper_path (),
                                        "--child-send", path, "from a long runtime directory",
                                        NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (sender, NULL, &error);
  g_assert_no_error (error);

  g_subprocess_force_exit (listener);
  g_subprocess_wait (listener, NULL, NULL);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
    g_assert_cmpint (system (cmd), ==, 0);
  }
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/security/symlink/live-fifo", test_symlink_to_live_fifo);
  g_test_add_func ("/security/symlink/file", test_symlink_to_file);
  g_test_add_func ("/security/symlink/dangling", test_symlink_dangling);
  g_test_add_func ("/security/symlink/simple-name", test_symlink_simple_name);
  g_test_add_func ("/security/symlink/lock-file", test_lock_symlink);
  g_test_add_func ("/security/regular-file", test_regular_file);
  g_test_add_func ("/security/directory", test_directory);
  g_test_add_func ("/security/modes", test_modes);
  g_test_add_func ("/security/insecure-directory", test_insecure_directory);
  g_test_add_func ("/security/foreign-owner", test_foreign_owner);
  g_test_add_func ("/security/defaults", test_defaults);
  g_test_add_data_func ("/security/hijack/channel-foreign-fifo", GINT_TO_POINTER (FALSE),
                        test_hijack_channels);
  g_test_add_data_func ("/security/hijack/channel-symlink", GINT_TO_POINTER (TRUE),
                        test_hijack_channels);
  g_test_add_data_func ("/security/hardlink/lock-file-0666", GUINT_TO_POINTER (0666),
                        test_hardlink_lock);
  g_test_add_data_func ("/security/hardlink/lock-file-0755", GUINT_TO_POINTER (0755),
                        test_hardlink_lock);
  g_test_add_func ("/security/hardlink/fifo", test_hardlink_fifo);
  g_test_add_func ("/security/hardlink/removed-while-opening", test_fifo_removed_while_opening);
  g_test_add_func ("/security/second-user", test_second_user);
  g_test_add_func ("/security/long-private-channel", test_long_private_channel);

  return g_test_run ();
}
