/* test-utils.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

#ifdef G_OS_WIN32
# include <windows.h>
#endif

static char *test_runtime_dir;   /* (owned) */
static char *test_helper_path;   /* (owned) */
static guint name_counter;

/* ------------------------------------------------------------------------ */
/* Init and temporary runtime directory                                     */
/* ------------------------------------------------------------------------ */

static void
remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;

  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *entry;

      if (dir != NULL)
        {
          while ((entry = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *child = g_build_filename (path, entry, NULL);
              remove_tree (child);
            }
          g_dir_close (dir);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

/* A test that failed an assertion aborts without running atexit handlers:
 * remove the directories such runs left, once their process is gone. */
static void
remove_stale_runtime_dirs (const char *tmp)
{
#ifdef G_OS_UNIX
  GDir *dir = g_dir_open (tmp, 0, NULL);
  const char *entry;

  if (dir == NULL)
    return;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      guint64 pid;
      char *end = NULL;

      if (!g_str_has_prefix (entry, "pipecom-test-"))
        continue;
      pid = g_ascii_strtoull (entry + strlen ("pipecom-test-"), &end, 10);
      if (pid == 0 || end == NULL || *end != '-')
        continue;
      if (kill ((pid_t) pid, 0) != 0 && errno == ESRCH)
        {
          g_autofree char *path = g_build_filename (tmp, entry, NULL);
          GStatBuf st;

          if (g_lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == geteuid ())
            {
              g_chmod (path, 0700);
              remove_tree (path);
            }
        }
    }
  g_dir_close (dir);
#endif
}

/* The helper program of pipecom_test_child_spawn(): $PIPECOM_TEST_HELPER_CHILD
 * (an absolute path, set by tests/meson.build for the Unix builds), else
 * helper-child next to the test program, which is where meson builds it and
 * where it still is when the test runs under valgrind or Wine (the variable
 * would hold a Unix path there, so the Windows build does not set it). */
static char *
find_helper (const char *argv0)
{
  const char *env = g_getenv ("PIPECOM_TEST_HELPER_CHILD");
  g_autofree char *self = NULL;
  g_autofree char *dir = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  if (g_path_is_absolute (argv0))
    self = g_strdup (argv0);
  else
    self = g_canonicalize_filename (argv0, NULL);
  dir = g_path_get_dirname (self);
#ifdef G_OS_WIN32
  return g_build_filename (dir, "helper-child.exe", NULL);
#else
  return g_build_filename (dir, "helper-child", NULL);
#endif
}

static void
cleanup_runtime_dir (void)
{
  if (test_runtime_dir != NULL)
    {
      /* A test may have made the directory unusable on purpose. */
      g_chmod (test_runtime_dir, 0700);
      remove_tree (test_runtime_dir);
      g_clear_pointer (&test_runtime_dir, g_free);
    }
  g_clear_pointer (&test_helper_path, g_free);
}

void
pipecom_test_init (int    *argc,
                   char ***argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpl = NULL;

  /* Initialise the library's classes here, before any thread (helper-child
   * does the same): GType does it under a lock of its own that
   * ThreadSanitizer cannot see (GLib is not instrumented), so a class first
   * initialised by one thread and used by another is reported as a race in
   * a -Db_sanitize=thread build. */
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_PIPE));
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_CLIENT));
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_MESSAGE));

  /* Must happen before anything calls g_get_user_runtime_dir(), which
   * caches its result. */
  if (pipecom_test_macos_mode ())
    {
      /* As on macOS: no XDG_RUNTIME_DIR, so that GLib falls back to the
       * user cache directory (~/Library/Caches there), here a directory
       * of our own under $XDG_CACHE_HOME (a long path in CI, like
       * /var/folders/…), which the helper processes inherit. */
      const char *cache = g_getenv ("XDG_CACHE_HOME");
      g_autofree char *base = g_strdup (cache != NULL && g_path_is_absolute (cache) ? cache : g_get_tmp_dir ());

      if (g_mkdir_with_parents (base, 0700) != 0)
        g_error ("cannot create the cache directory %s: %s", base, g_strerror (errno));
      remove_stale_runtime_dirs (base);
      tmpl = g_strdup_printf ("%s/pipecom-test-%d-XXXXXX", base, (int) getpid ());
      if (g_mkdtemp_full (tmpl, 0700) == NULL)
        g_error ("cannot create a temporary cache directory in %s: %s", base, g_strerror (errno));
      test_runtime_dir = g_steal_pointer (&tmpl);
      g_unsetenv ("XDG_RUNTIME_DIR");
      g_setenv ("XDG_CACHE_HOME", test_runtime_dir, TRUE);
    }
  else
    {
      remove_stale_runtime_dirs (g_get_tmp_dir ());
      tmpl = g_strdup_printf ("pipecom-test-%d-XXXXXX", (int) getpid ());
      test_runtime_dir = g_dir_make_tmp (tmpl, &error);
      if (test_runtime_dir == NULL)
        g_error ("cannot create a temporary runtime directory: %s", error->message);
      g_setenv ("XDG_RUNTIME_DIR", test_runtime_dir, TRUE);
    }
  g_chmod (test_runtime_dir, 0700);
  /* Computed once by GLib, under a lock ThreadSanitizer cannot see: do it
   * before any thread. */
  (void) g_get_user_runtime_dir ();
  atexit (cleanup_runtime_dir);

  test_helper_path = find_helper ((*argv)[0]);

  g_test_init (argc, argv, NULL);

  g_assert_cmpstr (g_get_user_runtime_dir (), ==, test_runtime_dir);
}

/* PIPECOM_TEST_MACOS=1 (the "macOS semantics" stage of .ci/run): names
 * resolve as on macOS, where XDG_RUNTIME_DIR is unset. */
gboolean
pipecom_test_macos_mode (void)
{
  return g_strcmp0 (g_getenv ("PIPECOM_TEST_MACOS"), "1") == 0;
}

const char *
pipecom_test_get_runtime_dir (void)
{
  return test_runtime_dir;
}

const char *
pipecom_test_get_helper_path (void)
{
  return test_helper_path;
}

char *
pipecom_test_get_pipecom_dir (void)
{
  return g_build_filename (test_runtime_dir, "pipecom", NULL);
}

char *
pipecom_test_make_name (const char *tag)
{
  return g_strdup_printf ("%s-%d-%u", tag, (int) getpid (), ++name_counter);
}

/* A name in path form: a file in the private runtime directory on Unix,
 * a full \\.\pipe\ name on Windows (where the namespace is machine-wide,
 * hence the process id). */
char *
pipecom_test_make_path (const char *tag)
{
#ifdef G_OS_WIN32
  return g_strdup_printf ("\\\\.\\pipe\\%s-%d-%u", tag, (int) getpid (), ++name_counter);
#else
  g_autofree char *base = g_strdup_printf ("%s-%u", tag, ++name_counter);

  return g_build_filename (test_runtime_dir, base, NULL);
#endif
}

#ifdef G_OS_UNIX
/* Whether the FIFO that @fd writes still has a reader, asked without
 * poll(): POLLERR for "no reader" is Linux's; macOS (and GLib's poll
 * there) reports the write end as writable, and the macOS emulation does
 * the same (see macos-shim.c). Opening the FIFO again for writing, through
 * /proc (the tests run on Linux), fails with ENXIO when no reader is left;
 * @fd itself stays open, so the extra writer's close is never the last. */
gboolean
pipecom_test_fifo_has_reader (int fd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", fd);
  int wfd = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

  if (wfd >= 0)
    {
      close (wfd);
      return TRUE;
    }
  g_assert_cmpint (errno, ==, ENXIO);
  return FALSE;
}

/* Waits (at most @seconds) until the FIFO that @fd writes has no reader. */
void
pipecom_test_wait_fifo_reader_gone (int   fd,
                                    guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (pipecom_test_fifo_has_reader (fd))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      /* Not a synchronisation: a bounded wait before asking again. */
      g_usleep (10 * 1000);
    }
}
#endif

/* Whether a listener's pipe is there: its FIFO on Unix; on Windows, an
 * instance of the pipe (WaitNamedPipeW() fails with ERROR_FILE_NOT_FOUND
 * only when there is none; it connects nothing). */
gboolean
pipecom_test_pipe_exists (const char *path)
{
#ifdef G_OS_WIN32
  g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);

  return WaitNamedPipeW (wpath, 1) || GetLastError () != ERROR_FILE_NOT_FOUND;
#else
  return g_file_test (path, G_FILE_TEST_EXISTS);
#endif
}

guint
pipecom_test_count_dir_entries (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

char **
pipecom_test_list_dir (const char *path)
{
  GPtrArray *names = g_ptr_array_new ();
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    {
      while ((entry = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_strdup (entry));
      g_dir_close (dir);
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

guint
pipecom_test_count_fds (void)
{
#ifdef G_OS_WIN32
  /* Handles stand in for descriptors. */
  DWORD n = 0;

  g_assert_true (GetProcessHandleCount (GetCurrentProcess (), &n));
  return n;
#else
  /* g_dir_open() itself holds one descriptor while listing. */
  guint n = pipecom_test_count_dir_entries ("/proc/self/fd");

  g_assert_cmpuint (n, >, 0);
  return n - 1;
#endif
}

GBytes *
pipecom_test_random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  gsize i = 0;

  for (; i + 4 <= size; i += 4)
    {
      guint32 v = g_rand_int (rand);
      memcpy (data + i, &v, 4);
    }
  for (; i < size; i++)
    data[i] = (guint8) g_rand_int_range (rand, 0, 256);

  g_rand_free (rand);
  return g_bytes_new_take (data, size);
}

/* ------------------------------------------------------------------------ */
/* Deadlines                                                                */
/* ------------------------------------------------------------------------ */

struct _PipecomTestDeadline
{
  GMainContext *context;
  GSource      *tick;
  gint64        end;
};

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

PipecomTestDeadline *
pipecom_test_deadline_new (guint seconds)
{
  PipecomTestDeadline *deadline = g_new0 (PipecomTestDeadline, 1);

  deadline->context = g_main_context_ref_thread_default ();
  deadline->end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  /* Wake up regularly so conditions changed by other threads are seen. */
  deadline->tick = g_timeout_source_new (10);
  g_source_set_callback (deadline->tick, tick_cb, NULL, NULL);
  g_source_attach (deadline->tick, deadline->context);
  return deadline;
}

gboolean
pipecom_test_deadline_iterate (PipecomTestDeadline *deadline)
{
  if (g_get_monotonic_time () > deadline->end)
    return FALSE;
  g_main_context_iteration (deadline->context, TRUE);
  return g_get_monotonic_time () <= deadline->end;
}

void
pipecom_test_deadline_free (PipecomTestDeadline *deadline)
{
  g_source_destroy (deadline->tick);
  g_source_unref (deadline->tick);
  g_main_context_unref (deadline->context);
  g_free (deadline);
}

void
pipecom_test_iterate_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (ms / 1000 + 1);

  while (g_get_monotonic_time () < end)
    pipecom_test_deadline_iterate (deadline);
  pipecom_test_deadline_free (deadline);
}

/* ------------------------------------------------------------------------ */
/* Watchdog                                                                 */
/* ------------------------------------------------------------------------ */

struct _PipecomTestWatchdog
{
  GMutex    mutex;
  GCond     cond;
  gboolean  stopped;
  gint64    end;
  char     *what;
  GThread  *thread;
};

static gpointer
watchdog_thread (gpointer data)
{
  PipecomTestWatchdog *watchdog = data;

  g_mutex_lock (&watchdog->mutex);
  while (!watchdog->stopped)
    {
      if (!g_cond_wait_until (&watchdog->cond, &watchdog->mutex, watchdog->end) &&
          !watchdog->stopped)
        {
          g_printerr ("Bail out! watchdog: %s did not finish in time\n", watchdog->what);
          abort ();
        }
    }
  g_mutex_unlock (&watchdog->mutex);
  return NULL;
}

PipecomTestWatchdog *
pipecom_test_watchdog_start (guint       seconds,
                             const char *what)
{
  PipecomTestWatchdog *watchdog = g_new0 (PipecomTestWatchdog, 1);

  g_mutex_init (&watchdog->mutex);
  g_cond_init (&watchdog->cond);
  watchdog->what = g_strdup (what);
  watchdog->end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  watchdog->thread = g_thread_new ("watchdog", watchdog_thread, watchdog);
  return watchdog;
}

void
pipecom_test_watchdog_stop (PipecomTestWatchdog *watchdog)
{
  g_mutex_lock (&watchdog->mutex);
  watchdog->stopped = TRUE;
  g_cond_signal (&watchdog->cond);
  g_mutex_unlock (&watchdog->mutex);
  g_thread_join (watchdog->thread);
  g_mutex_clear (&watchdog->mutex);
  g_cond_clear (&watchdog->cond);
  g_free (watchdog->what);
  g_free (watchdog);
}

/* ------------------------------------------------------------------------ */
/* Async result holders                                                     */
/* ------------------------------------------------------------------------ */

void
pipecom_test_result_clear (PipecomTestResult *result)
{
  g_clear_pointer (&result->text, g_free);
  g_clear_pointer (&result->bytes, g_bytes_unref);
  g_clear_error (&result->error);
  result->done = FALSE;
  result->ok = FALSE;
}

void
pipecom_test_send_cb (GObject      *source,
                      GAsyncResult *res,
                      gpointer      user_data)
{
  PipecomTestResult *result = user_data;

  g_assert_false (result->done);
  if (PIPECOM_IS_CLIENT (source))
    result->ok = pipecom_client_send_finish (PIPECOM_CLIENT (source), res, &result->error);
  else
    result->ok = pipecom_send_finish (res, &result->error);
  g_assert_true (result->ok == (result->error == NULL));
  result->finished_at = g_get_monotonic_time ();
  result->done = TRUE;
}

void
pipecom_test_send_bytes_cb (GObject      *source,
                            GAsyncResult *res,
                            gpointer      user_data)
{
  PipecomTestResult *result = user_data;

  g_assert_false (result->done);
  if (PIPECOM_IS_CLIENT (source))
    result->ok = pipecom_client_send_bytes_finish (PIPECOM_CLIENT (source), res, &result->error);
  else
    result->ok = pipecom_send_bytes_finish (res, &result->error);
  g_assert_true (result->ok == (result->error == NULL));
  result->finished_at = g_get_monotonic_time ();
  result->done = TRUE;
}

void
pipecom_test_request_cb (GObject      *source,
                         GAsyncResult *res,
                         gpointer      user_data)
{
  PipecomTestResult *result = user_data;

  g_assert_false (result->done);
  if (PIPECOM_IS_CLIENT (source))
    result->text = pipecom_client_request_finish (PIPECOM_CLIENT (source), res, &result->error);
  else
    result->text = pipecom_request_finish (res, &result->error);
  result->ok = result->error == NULL;
  g_assert_true (result->text == NULL || result->error == NULL);
  result->finished_at = g_get_monotonic_time ();
  result->done = TRUE;
}

void
pipecom_test_request_bytes_cb (GObject      *source,
                               GAsyncResult *res,
                               gpointer      user_data)
{
  PipecomTestResult *result = user_data;

  g_assert_false (result->done);
  if (PIPECOM_IS_CLIENT (source))
    result->bytes = pipecom_client_request_bytes_finish (PIPECOM_CLIENT (source), res, &result->error);
  else
    result->bytes = pipecom_request_bytes_finish (res, &result->error);
  result->ok = result->error == NULL;
  g_assert_true (result->bytes == NULL || result->error == NULL);
  result->finished_at = g_get_monotonic_time ();
  result->done = TRUE;
}

static void
stopped_cb (PipecomPipe       *pipe,
            PipecomStopReason  reason,
            gpointer           user_data)
{
  PipecomTestStopped *stopped = user_data;

  stopped->reason = reason;
  stopped->listening_in_handler = pipecom_pipe_get_listening (pipe);
  stopped->at = g_get_monotonic_time ();
  g_atomic_int_inc (&stopped->count);
}

void
pipecom_test_connect_stopped (PipecomPipe        *pipe,
                              PipecomTestStopped *stopped)
{
  memset (stopped, 0, sizeof *stopped);
  g_signal_connect (pipe, "stopped", G_CALLBACK (stopped_cb), stopped);
}

char *
pipecom_test_ack_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        counter)
{
  const char *text = pipecom_message_get_text (message);

  if (counter != NULL)
    g_atomic_int_inc ((gint *) counter);
  return g_strconcat ("ack:", text ? text : "(binary)", NULL);
}

/* A listening pipe on @name with @handler (may be NULL) connected to
 * message-received. */
PipecomPipe *
pipecom_test_listen_with (const char *name,
                          gboolean    threaded,
                          GCallback   handler,
                          gpointer    user_data)
{
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe;

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", threaded, NULL);
  if (handler != NULL)
    g_signal_connect (pipe, "message-received", handler, user_data);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  return pipe;
}

PipecomPipe *
pipecom_test_listen_new (const char *name,
                         gboolean    threaded,
                         gint       *counter)
{
  return pipecom_test_listen_with (name, threaded, G_CALLBACK (pipecom_test_ack_cb), counter);
}

void
pipecom_test_stop_and_wait (PipecomPipe *pipe)
{
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
}

gboolean
pipecom_test_send (const char  *name,
                   const char  *message,
                   guint        timeout,
                   guint        max_attempts,
                   GError     **error)
{
  PipecomTestResult result = { 0, };
  gboolean ok;

  pipecom_send_async (name, message, timeout, max_attempts, NULL, pipecom_test_send_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  ok = result.ok;
  if (result.error != NULL)
    g_propagate_error (error, g_steal_pointer (&result.error));
  pipecom_test_result_clear (&result);
  return ok;
}

char *
pipecom_test_request (const char  *name,
                      const char  *message,
                      GError     **error)
{
  PipecomTestResult result = { 0, };
  char *reply;

  pipecom_request_async (name, message, 20, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  reply = g_steal_pointer (&result.text);
  if (result.error != NULL)
    g_propagate_error (error, g_steal_pointer (&result.error));
  pipecom_test_result_clear (&result);
  return reply;
}

/* ------------------------------------------------------------------------ */
/* Helper processes                                                         */
/* ------------------------------------------------------------------------ */

struct _PipecomTestChild
{
  GSubprocess      *process;
  GDataInputStream *out;
  gboolean          waited;
};

PipecomTestChild *
pipecom_test_child_spawn (const char *mode,
                          ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  PipecomTestChild *child;
  const char *arg;
  va_list ap;

  if (!g_file_test (test_helper_path, G_FILE_TEST_IS_REGULAR))
    g_error ("no helper program %s (build tests/helper-child, or set "
             "PIPECOM_TEST_HELPER_CHILD to its path)", test_helper_path);

  g_ptr_array_add (args, test_helper_path);
  g_ptr_array_add (args, (char *) mode);
  va_start (ap, mode);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  child = g_new0 (PipecomTestChild, 1);
  child->process = g_subprocess_newv ((const char * const *) args->pdata,
                                      G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                      G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                      &error);
  g_assert_no_error (error);
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  return child;
}

typedef struct
{
  gboolean  done;
  char     *line;
  GError   *error;
} ReadLine;

static void
read_line_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  ReadLine *rl = user_data;

  rl->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), res,
                                                        NULL, &rl->error);
  rl->done = TRUE;
}

char *
pipecom_test_child_read_line (PipecomTestChild *child,
                              guint             seconds)
{
  ReadLine rl = { 0, };

  g_data_input_stream_read_line_async (child->out, G_PRIORITY_DEFAULT, NULL, read_line_cb, &rl);
  pipecom_test_wait_for (rl.done, seconds);
  g_assert_no_error (rl.error);
  return rl.line;
}

void
pipecom_test_child_expect_line (PipecomTestChild *child,
                                const char       *expected)
{
  g_autofree char *line = pipecom_test_child_read_line (child, PIPECOM_TEST_DEADLINE);

  g_assert_cmpstr (line, ==, expected);
}

GPid
pipecom_test_child_get_pid (PipecomTestChild *child)
{
  const char *id = g_subprocess_get_identifier (child->process);

  g_assert_nonnull (id);
  return (GPid) g_ascii_strtoll (id, NULL, 10);
}

static void
wait_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  *done = TRUE;
}

int
pipecom_test_child_wait (PipecomTestChild *child,
                         guint             seconds)
{
  if (!child->waited)
    {
      gboolean done = FALSE;

      g_subprocess_wait_async (child->process, NULL, wait_cb, &done);
      pipecom_test_wait_for (done, seconds);
      child->waited = TRUE;
    }

#ifdef G_OS_WIN32
  return g_subprocess_get_exit_status (child->process);
#else
  if (g_subprocess_get_if_exited (child->process))
    return g_subprocess_get_exit_status (child->process);
  g_assert_true (g_subprocess_get_if_signaled (child->process));
  return -g_subprocess_get_term_sig (child->process);
#endif
}

#ifdef G_OS_UNIX
void
pipecom_test_child_signal (PipecomTestChild *child,
                           int               signum)
{
  g_subprocess_send_signal (child->process, signum);
}
#endif

/* Kills the child outright: SIGKILL on Unix, TerminateProcess() (exit
 * code 1, as GSubprocess does it) on Windows. */
void
pipecom_test_child_kill (PipecomTestChild *child)
{
  int status;

  g_subprocess_force_exit (child->process);
  status = pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE);
#ifdef G_OS_WIN32
  g_assert_cmpint (status, ==, 1);
#else
  g_assert_cmpint (status, ==, -SIGKILL);
#endif
}

void
pipecom_test_child_free (PipecomTestChild *child)
{
  if (!child->waited)
    {
      g_subprocess_force_exit (child->process);
      g_subprocess_wait (child->process, NULL, NULL);
    }
  g_clear_object (&child->out);
  g_clear_object (&child->process);
  g_free (child);
}
