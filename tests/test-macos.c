/* test-macos.c: the macOS emulation (macos-shim.c) is there when it should be
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The "macOS semantics" stage of .ci/run runs the tests with PIPECOM_TEST_MACOS=1
 * and macos-shim.c preloaded, in a -Dlinux_specific=false build. This test
 * keeps that stage from passing with the shim not loaded: in that mode each
 * check expects macOS's behaviour, natively Linux's, so that both the shim and
 * the checks are proven to tell them apart.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

#ifndef F_SETPIPE_SZ
# define F_SETPIPE_SZ 1031
#endif
#ifndef F_GETPIPE_SZ
# define F_GETPIPE_SZ 1032
#endif

typedef struct
{
  char *path;
  int   rfd;
  int   wfd;
} Fifo;

static void
fifo_open (Fifo *fifo)
{
  fifo->path = pipecom_test_make_path ("macos");
  g_assert_cmpint (mkfifo (fifo->path, 0600), ==, 0);
  fifo->rfd = open (fifo->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fifo->rfd, >=, 0);
  fifo->wfd = open (fifo->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fifo->wfd, >=, 0);
}

static void
fifo_close (Fifo *fifo)
{
  if (fifo->rfd >= 0)
    close (fifo->rfd);
  if (fifo->wfd >= 0)
    close (fifo->wfd);
  g_unlink (fifo->path);
  g_free (fifo->path);
}

static void
test_mode (void)
{
  g_test_summary ("In macOS mode the shim is loaded, the build has no Linux-specific code "
                  "and names resolve through the user cache directory");

  if (!pipecom_test_macos_mode ())
    {
      g_assert_cmpstr (g_getenv ("PIPECOM_MACOS_SHIM_ACTIVE"), ==, NULL);
      g_assert_cmpstr (g_get_user_runtime_dir (), ==, pipecom_test_get_runtime_dir ());
      return;
    }

  g_assert_cmpstr (g_getenv ("PIPECOM_MACOS_SHIM_ACTIVE"), ==, "1");
#ifdef PIPECOM_LINUX_SPECIFIC
  g_test_message ("macOS mode needs a build with -Dlinux_specific=false");
  g_test_fail ();
#endif
  g_assert_cmpstr (g_getenv ("XDG_RUNTIME_DIR"), ==, NULL);
  g_assert_cmpstr (g_get_user_runtime_dir (), ==, g_get_user_cache_dir ());
  g_assert_cmpstr (g_get_user_cache_dir (), ==, pipecom_test_get_runtime_dir ());
}

static void
test_flock (void)
{
  Fifo fifo;
  g_autofree char *lock = pipecom_test_make_path ("macos-lock");
  int lfd;

  g_test_summary ("flock() on a FIFO fails with ENOTSUP under the shim, works on a regular file");

  fifo_open (&fifo);
  if (pipecom_test_macos_mode ())
    {
      g_assert_cmpint (flock (fifo.rfd, LOCK_EX | LOCK_NB), ==, -1);
      g_assert_cmpint (errno, ==, ENOTSUP);
    }
  else
    g_assert_cmpint (flock (fifo.rfd, LOCK_EX | LOCK_NB), ==, 0);

  lfd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint (lfd, >=, 0);
  g_assert_cmpint (flock (lfd, LOCK_EX | LOCK_NB), ==, 0);
  close (lfd);
  g_unlink (lock);
  fifo_close (&fifo);
}

static void
test_pipe_size (void)
{
  Fifo fifo;

  g_test_summary ("F_SETPIPE_SZ and F_GETPIPE_SZ fail with EINVAL under the shim");

  fifo_open (&fifo);
  if (pipecom_test_macos_mode ())
    {
      g_assert_cmpint (fcntl (fifo.rfd, F_SETPIPE_SZ, 128 * 1024), ==, -1);
      g_assert_cmpint (errno, ==, EINVAL);
      g_assert_cmpint (fcntl (fifo.rfd, F_GETPIPE_SZ), ==, -1);
      g_assert_cmpint (errno, ==, EINVAL);
    }
  else
    {
      g_assert_cmpint (fcntl (fifo.rfd, F_SETPIPE_SZ, 128 * 1024), >=, 128 * 1024);
      g_assert_cmpint (fcntl (fifo.rfd, F_GETPIPE_SZ), >=, 128 * 1024);
    }
  /* Other commands still work. */
  g_assert_cmpint (fcntl (fifo.rfd, F_GETFL) & O_NONBLOCK, ==, O_NONBLOCK);
  fifo_close (&fifo);
}

static void
test_capacity (void)
{
  Fifo fifo;
  g_autofree guint8 *buf = g_malloc0 (64 * 1024);
  struct pollfd pfd;
  ssize_t n;

  g_test_summary ("A non-blocking FIFO takes 8 KiB under the shim (64 KiB on Linux), "
                  "then fails with EAGAIN and polls as not writable; a write of at most 512 "
                  "bytes is whole or nothing");

  fifo_open (&fifo);
  n = write (fifo.wfd, buf, 64 * 1024);
  if (pipecom_test_macos_mode ())
    {
      g_assert_cmpint (n, ==, 8192);
      g_assert_cmpint (write (fifo.wfd, buf, 1), ==, -1);
      g_assert_cmpint (errno, ==, EAGAIN);
      /* Full: not writable either. */
      pfd = (struct pollfd) { fifo.wfd, POLLOUT, 0 };
      g_assert_cmpint (poll (&pfd, 1, 0), ==, 0);
      /* Room for 100 bytes: a write of 200 (atomic) gets nothing. */
      g_assert_cmpint (read (fifo.rfd, buf, 100), ==, 100);
      g_assert_cmpint (write (fifo.wfd, buf, 200), ==, -1);
      g_assert_cmpint (errno, ==, EAGAIN);
      g_assert_cmpint (write (fifo.wfd, buf, 100), ==, 100);
    }
  else
    g_assert_cmpint (n, ==, 64 * 1024);
  fifo_close (&fifo);
}

static void
test_poll_eof (void)
{
  Fifo fifo;
  struct pollfd pfd;
  char c;

  g_test_summary ("A FIFO whose writer left polls as readable, never POLLHUP, under the shim; "
                  "read() returns 0");

  fifo_open (&fifo);
  close (fifo.wfd);
  fifo.wfd = -1;

  pfd = (struct pollfd) { fifo.rfd, POLLIN, 0 };
  g_assert_cmpint (poll (&pfd, 1, 1000), ==, 1);
  if (pipecom_test_macos_mode ())
    g_assert_cmpint (pfd.revents, ==, POLLIN);
  else
    g_assert_cmpint (pfd.revents & POLLHUP, ==, POLLHUP);
  g_assert_cmpint (read (fifo.rfd, &c, 1), ==, 0);

  /* Not asked for POLLIN: nothing is ready at all. */
  pfd = (struct pollfd) { fifo.rfd, 0, 0 };
  g_assert_cmpint (poll (&pfd, 1, 0), ==, pipecom_test_macos_mode () ? 0 : 1);
  fifo_close (&fifo);
}

static void
test_poll_no_reader (void)
{
  Fifo fifo;
  struct pollfd pfd;
  struct sigaction sa = { 0 }, old;

  g_test_summary ("A FIFO whose reader left polls as writable, never POLLERR, under the shim; "
                  "write() fails with EPIPE");

  fifo_open (&fifo);
  close (fifo.rfd);
  fifo.rfd = -1;

  pfd = (struct pollfd) { fifo.wfd, POLLOUT, 0 };
  g_assert_cmpint (poll (&pfd, 1, 1000), ==, 1);
  if (pipecom_test_macos_mode ())
    g_assert_cmpint (pfd.revents, ==, POLLOUT);
  else
    g_assert_cmpint (pfd.revents & POLLERR, ==, POLLERR);

  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, &old);
  g_assert_cmpint (write (fifo.wfd, "x", 1), ==, -1);
  g_assert_cmpint (errno, ==, EPIPE);
  sigaction (SIGPIPE, &old, NULL);
  fifo_close (&fifo);
}

/* The regression tests of what the emulation found, run natively too:
 * each test path of another test program runs in a process with the
 * shim preloaded (the library as built here, without PIPECOM_TEST_MACOS),
 * so that the portable code path each fix took is exercised on every
 * build, not only in the "macOS semantics" stage. */
static const char * const regressions[][2] = {
  /* An idle client on the direct path saw the listener stop only through
   * a POLLHUP on an fd watched for no events. */
  { "test-client", "/client/direct/idle-notices-stop" },
  /* A listener saw a sender killed after announcing, whose channel files
   * another sender had swept away, only through POLLERR. */
  { "test-faults", "/faults/client-killed/announced-swept" },
};

static void
test_regression (gconstpointer data)
{
  const char * const *regression = data;
  const char *shim = g_getenv ("PIPECOM_TEST_MACOS_SHIM");
  g_autofree char *program = g_test_build_filename (G_TEST_BUILT, regression[0], NULL);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_test_summary ("A test of a bug the macOS emulation found, run with the shim preloaded "
                  "in a native build");

  if (pipecom_test_macos_mode ())
    {
      g_test_skip ("the whole suite runs under the shim in this mode");
      return;
    }
  if (shim == NULL)
    {
      g_test_skip ("PIPECOM_TEST_MACOS_SHIM is not set");
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", shim, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "PIPECOM_TEST_MACOS");
  proc = g_subprocess_launcher_spawn (launcher, &error, program, "-p", regression[1], NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s", out);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_assert_nonnull (strstr (out, "ok 1 "));
  g_assert_null (strstr (out, "# SKIP"));
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/macos/mode", test_mode);
  g_test_add_func ("/macos/flock", test_flock);
  g_test_add_func ("/macos/pipe-size", test_pipe_size);
  g_test_add_func ("/macos/capacity", test_capacity);
  g_test_add_func ("/macos/poll-eof", test_poll_eof);
  g_test_add_func ("/macos/poll-no-reader", test_poll_no_reader);

  for (guint i = 0; i < G_N_ELEMENTS (regressions); i++)
    {
      g_autofree char *path = g_strconcat ("/macos/native", regressions[i][1], NULL);

      g_test_add_data_func (path, regressions[i], test_regression);
    }

  return g_test_run ();
}
