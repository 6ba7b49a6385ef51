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
#ifdef G_OS_UNIX
# include <poll.h>
# include <sys/resource.h>
# include <glib-unix.h>
#endif
#ifndef O_CLOEXEC
# define O_CLOEXEC 0
#endif

#include "test-utils.h"
#include "pipecom-private.h"

#ifdef G_OS_WIN32
# include <windows.h>
#endif

static char *test_runtime_dir;   /* (owned) */
static char *test_self_path;     /* (owned) */
static guint name_counter;

/* ------------------------------------------------------------------------ */
/* Helper-process modes                                                     */
/* ------------------------------------------------------------------------ */

/* The child watches its stdin (a pipe from the parent test) and exits as soon
 * as the parent goes away, so no helper outlives a crashed test. */
static gpointer
child_stdin_watch_thread (gpointer data)
{
  char buf[64];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, buf, sizeof buf);

      if (n == 0 || (n < 0 && errno != EINTR))
        _exit (3);
    }

  return NULL;
}

static gboolean
child_watchdog_cb (gpointer data)
{
  g_printerr ("child helper: watchdog expired, exiting\n");
  _exit (4);
  return G_SOURCE_REMOVE;
}

static void
child_common_setup (void)
{
  g_thread_unref (g_thread_new ("stdin-watch", child_stdin_watch_thread, NULL));
  /* Last resort: never outlive the suite's own timeout. */
  g_timeout_add_seconds_full (G_PRIORITY_HIGH, 240, child_watchdog_cb, NULL, NULL);
}

static int child_log_fd = -1;

static char *
child_listener_message_cb (PipecomPipe    *pipe,
                           PipecomMessage *message,
                           gpointer        user_data)
{
  const char *text = pipecom_message_get_text (message);

  /* "log=FILE": every message handled is logged, before it is answered
   * (one write(): it survives a SIGKILL of this process). */
  if (child_log_fd >= 0 && text != NULL)
    {
      g_autofree char *line = g_strconcat (text, "\n", NULL);
      g_assert (write (child_log_fd, line, strlen (line)) == (ssize_t) strlen (line));
    }

  if (g_strcmp0 (text, "block") == 0)
    {
      /* Simulates a handler stuck forever: the parent kills us. */
      g_print ("GOT block\n");
      fflush (stdout);
      for (;;)
        g_usleep (G_USEC_PER_SEC / 10);
    }

  /* "big:N": a reply of N bytes. */
  if (text != NULL && g_str_has_prefix (text, "big:"))
    return g_strnfill ((gsize) g_ascii_strtoull (text + 4, NULL, 10), 'r');

  /* The most memory the pipe's budget held at once. */
  if (g_strcmp0 (text, "memory-peak") == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, _pipecom_pipe_get_memory_peak (pipe));

  if (g_strcmp0 (text, "hold") == 0)
    {
      /* Keep the message, never answer it. */
      g_object_ref (message);
      g_print ("GOT hold\n");
      fflush (stdout);
      return NULL;
    }

  return g_strconcat ("ack:", text ? text : "(binary)", NULL);
}

/* "NAME=VALUE" for --child-listener: "deadline=S" sets the connection
 * deadline, "nofile=N" lowers RLIMIT_NOFILE (Unix), anything else is an
 * unsigned integer property of the pipe; one this version of the library
 * does not have is skipped with a note on stderr, so that a test can show
 * what a build without it does. */
static void
child_listener_option (PipecomPipe *pipe,
                       const char  *option)
{
  g_auto(GStrv) kv = g_strsplit (option, "=", 2);
  guint64 value = g_ascii_strtoull (kv[1], NULL, 10);
  GParamSpec *pspec;

  if (g_str_equal (kv[0], "deadline"))
    _pipecom_connection_deadline_usec = (gint64) value * G_USEC_PER_SEC;
#ifdef G_OS_UNIX
  else if (g_str_equal (kv[0], "nofile"))
    {
      struct rlimit rl = { value, value };

      g_assert (setrlimit (RLIMIT_NOFILE, &rl) == 0);
    }
#endif
  else if ((pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (pipe), kv[0])) == NULL)
    g_printerr ("child listener: no property %s, ignored\n", kv[0]);
  else if (pspec->value_type == G_TYPE_UINT64)
    g_object_set (pipe, kv[0], value, NULL);
  else
    g_object_set (pipe, kv[0], (guint) value, NULL);
}

static int
child_listener_main (int    argc,
                     char **argv)
{
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  gboolean threaded = FALSE;

  if (argc < 3)
    return 2;
  for (int i = 3; i < argc; i++)
    {
      if (g_strcmp0 (argv[i], "threaded") == 0)
        threaded = TRUE;
      else if (g_str_has_prefix (argv[i], "log="))
        child_log_fd = g_open (argv[i] + 4, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    }

  child_common_setup ();

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", argv[2], "threaded", threaded, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (child_listener_message_cb), NULL);
  for (int i = 3; i < argc; i++)
    if (strchr (argv[i], '=') != NULL && !g_str_has_prefix (argv[i], "log="))
      child_listener_option (pipe, argv[i]);

  if (!pipecom_pipe_listen (pipe, &error))
    {
      g_print ("ERROR %d %s\n", error->code, error->message);
      fflush (stdout);
      return 2;
    }

  g_print ("READY\n");
  fflush (stdout);

  if (!pipecom_pipe_run (pipe, &error))
    {
      g_print ("RUN-ERROR %d %s\n", error->code, error->message);
      fflush (stdout);
      return 1;
    }

  g_print ("STOPPED %d\n", pipecom_pipe_get_stop_reason (pipe));
  fflush (stdout);
  return 0;
}

#ifdef G_OS_UNIX
/* A listener in a process out of file descriptors: RLIMIT_NOFILE lowered to
 * 64, then every free descriptor taken once it listens ("FULL"). SIGUSR1
 * gives them back ("FREED"), SIGUSR2 takes them again ("FULL"). */
static GArray *child_hog_fds;

static void
child_hog_fds_take (void)
{
  int fd;

  while ((fd = dup (STDERR_FILENO)) >= 0)
    g_array_append_val (child_hog_fds, fd);
  g_assert (errno == EMFILE);
}

static gboolean
child_hog_signal_cb (gpointer user_data)
{
  if (GPOINTER_TO_INT (user_data) == SIGUSR1)
    {
      for (guint i = 0; i < child_hog_fds->len; i++)
        close (g_array_index (child_hog_fds, int, i));
      g_array_set_size (child_hog_fds, 0);
      g_print ("FREED\n");
    }
  else
    {
      child_hog_fds_take ();
      g_print ("FULL\n");
    }
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static int
child_listener_no_fds_main (int    argc,
                            char **argv)
{
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit rl = { 64, 64 };

  if (argc < 3)
    return 2;

  child_common_setup ();
  g_assert (setrlimit (RLIMIT_NOFILE, &rl) == 0);

  pipe = pipecom_pipe_new (argv[2]);
  g_signal_connect (pipe, "message-received", G_CALLBACK (child_listener_message_cb), NULL);
  if (!pipecom_pipe_listen (pipe, &error))
    {
      g_print ("ERROR %d %s\n", error->code, error->message);
      fflush (stdout);
      return 2;
    }

  g_unix_signal_add_full (G_PRIORITY_HIGH, SIGUSR1, child_hog_signal_cb,
                          GINT_TO_POINTER (SIGUSR1), NULL);
  g_unix_signal_add_full (G_PRIORITY_HIGH, SIGUSR2, child_hog_signal_cb,
                          GINT_TO_POINTER (SIGUSR2), NULL);
  child_hog_fds = g_array_new (FALSE, FALSE, sizeof (int));
  child_hog_fds_take ();
  g_print ("FULL\n");
  fflush (stdout);

  if (!pipecom_pipe_run (pipe, &error))
    {
      g_print ("RUN-ERROR %d %s\n", error->code, error->message);
      fflush (stdout);
      return 1;
    }

  g_print ("STOPPED %d\n", pipecom_pipe_get_stop_reason (pipe));
  fflush (stdout);
  return 0;
}

/* A client speaking the raw protocol that stops at a stage (argv[3]) and
 * waits there to be killed: "announced" (record written, HELLO not read),
 * "mid-frame" (connected, 10 of a 1000-byte MESSAGE written) or "awaiting"
 * (a whole MESSAGE "hold" written, waiting for its reply). */
static int
child_raw_client_main (int    argc,
                       char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;
  g_autofree char *req = NULL;
  g_autofree char *rep = NULL;
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  gsize len;
  int rep_fd, req_fd, fifo_fd;

  if (argc < 4)
    return 2;
  child_common_setup ();

  base = _pipecom_transport_new_channel (TRUE, &rep_fd, &error);
  g_assert_no_error (error);
  req = g_strconcat (base, ".req", NULL);
  rep = g_strconcat (base, ".rep", NULL);

  len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, base, NULL, 0);
  fifo_fd = open (argv[2], O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert (fifo_fd >= 0);
  g_assert (write (fifo_fd, buf, len) == (ssize_t) len);
  close (fifo_fd);

  if (g_strcmp0 (argv[3], "announced") != 0)
    {
      struct pollfd pfd = { rep_fd, POLLIN, 0 };
      guint8 hello[PIPECOM_FRAME_HEADER_SIZE + PIPECOM_HELLO_SIZE];

      g_assert (poll (&pfd, 1, 30000) == 1);
      g_assert (read (rep_fd, hello, sizeof hello) == sizeof hello);
      req_fd = open (req, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      g_assert (req_fd >= 0);
      g_unlink (req);
      g_unlink (rep);

      if (g_strcmp0 (argv[3], "mid-frame") == 0)
        {
          memset (buf, 'x', sizeof buf);
          _pipecom_encode_frame_header (buf, 1000, PIPECOM_FRAME_MESSAGE, 1);
          g_assert (write (req_fd, buf, PIPECOM_FRAME_HEADER_SIZE + 10) == PIPECOM_FRAME_HEADER_SIZE + 10);
        }
      else
        {
          _pipecom_encode_frame_header (buf, 4, PIPECOM_FRAME_MESSAGE, 1);
          memcpy (buf + PIPECOM_FRAME_HEADER_SIZE, "hold", 4);
          g_assert (write (req_fd, buf, PIPECOM_FRAME_HEADER_SIZE + 4) == PIPECOM_FRAME_HEADER_SIZE + 4);
        }
    }

  g_print ("AT %s\n", argv[3]);
  fflush (stdout);
  for (;;)
    pause ();
  return 0;
}

/* Run as another user against argv[2], a pipe of the test's user in a
 * shared directory: reports what each attempt gave ("SEND <code>", ...,
 * "READ denied" when the FIFO could not be opened for reading, ...). */
static void
report_error (const char *what,
              GError     *error)
{
  g_print ("%s %d%s\n", what, error ? error->code : -1, error ? "" : " (succeeded!)");
  if (error)
    g_printerr ("%s: %s\n", what, error->message);
}

static void
report_errno (const char *what,
              int         ret)
{
  g_print ("%s %s\n", what, ret < 0 && (errno == EACCES || errno == EPERM) ? "denied" : "ALLOWED");
}

static int
child_other_user_main (int    argc,
                       char **argv)
{
  g_autofree char *lock = NULL;
  g_autofree char *mine = NULL;
  const char *victim;
  GError *error = NULL;
  int fd;

  if (argc < 3)
    return 2;
  victim = argv[2];
  lock = g_strconcat (victim, ".lock", NULL);

  pipecom_send (victim, "from another user", 5, 1, &error);
  report_error ("SEND", error);
  g_clear_error (&error);

  g_free (pipecom_request (victim, "from another user", 5, 1, &error));
  report_error ("REQUEST", error);
  g_clear_error (&error);

  {
    g_autoptr(PipecomClient) client = pipecom_client_new (victim);

    pipecom_client_set_timeout (client, 5);
    pipecom_client_set_max_attempts (client, 1);
    pipecom_client_connect (client, NULL, &error);
    report_error ("CONNECT", error);
    g_clear_error (&error);
  }

  {
    g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (victim);

    pipecom_pipe_listen (pipe, &error);
    report_error ("LISTEN", error);
    g_clear_error (&error);
  }

  fd = open (victim, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  report_errno ("READ", fd);
  if (fd >= 0)
    close (fd);

  fd = open (lock, O_RDWR | O_CLOEXEC);
  report_errno ("LOCK", fd);
  if (fd >= 0)
    close (fd);

  report_errno ("UNLINK", unlink (victim));

  mine = g_strconcat (victim, ".mine", NULL);
  g_assert (mkfifo (mine, 0666) == 0);
  report_errno ("RENAME", rename (mine, victim));
  unlink (mine);

  return 0;
}

#endif /* G_OS_UNIX */

static int
child_send_main (int    argc,
                 char **argv)
{
  g_autoptr(GError) error = NULL;
  guint max_attempts = 0;

  if (argc < 4)
    return 2;
  if (argc > 4)
    max_attempts = (guint) g_ascii_strtoull (argv[4], NULL, 10);

  child_common_setup ();

  if (!pipecom_send (argv[2], argv[3], 20, max_attempts, &error))
    {
      g_print ("child send: %s\n", error->message);
      return 1;
    }
  return 0;
}

typedef struct
{
  const char *path;
  const char *id;
  guint       thread_no;
  guint       n_messages;
  guint       failures;
} ChildClientThread;

static gpointer
child_client_thread (gpointer data)
{
  ChildClientThread *t = data;
  g_autoptr(PipecomClient) client = pipecom_client_new (t->path);
  g_autoptr(GError) error = NULL;

  pipecom_client_set_timeout (client, 120);

  if (!pipecom_client_connect (client, NULL, &error))
    {
      g_printerr ("child client %s/%u: connect: %s\n", t->id, t->thread_no, error->message);
      t->failures = t->n_messages;
      return NULL;
    }

  for (guint i = 0; i < t->n_messages; i++)
    {
      g_autofree char *payload = g_strdup_printf ("proc%s-t%u-m%u", t->id, t->thread_no, i);
      g_autofree char *expected = g_strconcat ("ack:", payload, NULL);
      g_autofree char *reply = NULL;

      reply = pipecom_client_request (client, payload, NULL, &error);
      if (g_strcmp0 (reply, expected) != 0)
        {
          g_printerr ("child client %s/%u: message %u: expected %s, got %s (%s)\n",
                      t->id, t->thread_no, i, expected, reply ? reply : "NULL",
                      error ? error->message : "no error");
          g_clear_error (&error);
          t->failures++;
        }
    }

  pipecom_client_close (client);
  return NULL;
}

static int
child_clients_main (int    argc,
                    char **argv)
{
  guint n_threads, n_messages, failures = 0;
  g_autofree ChildClientThread *threads = NULL;
  g_autofree GThread **handles = NULL;

  if (argc < 6)
    return 2;

  child_common_setup ();

  n_threads = (guint) g_ascii_strtoull (argv[3], NULL, 10);
  n_messages = (guint) g_ascii_strtoull (argv[4], NULL, 10);
  threads = g_new0 (ChildClientThread, n_threads);
  handles = g_new0 (GThread *, n_threads);

  for (guint i = 0; i < n_threads; i++)
    {
      threads[i].path = argv[2];
      threads[i].id = argv[5];
      threads[i].thread_no = i;
      threads[i].n_messages = n_messages;
      handles[i] = g_thread_new ("child-client", child_client_thread, &threads[i]);
    }

  for (guint i = 0; i < n_threads; i++)
    {
      g_thread_join (handles[i]);
      failures += threads[i].failures;
    }

  return failures == 0 ? 0 : 1;
}

static void
maybe_run_child (int    argc,
                 char **argv)
{
  int status;

  if (argc < 2 || !g_str_has_prefix (argv[1], "--child-"))
    return;

  /* GLib computes it once, under a lock ThreadSanitizer cannot see: do it
   * before any thread. */
  (void) g_get_user_runtime_dir ();

  if (g_strcmp0 (argv[1], "--child-listener") == 0)
    status = child_listener_main (argc, argv);
#ifdef G_OS_UNIX
  else if (g_strcmp0 (argv[1], "--child-listener-no-fds") == 0)
    status = child_listener_no_fds_main (argc, argv);
  else if (g_strcmp0 (argv[1], "--child-other-user") == 0)
    status = child_other_user_main (argc, argv);
  else if (g_strcmp0 (argv[1], "--child-raw-client") == 0)
    status = child_raw_client_main (argc, argv);
#endif
  else if (g_strcmp0 (argv[1], "--child-send") == 0)
    status = child_send_main (argc, argv);
  else if (g_strcmp0 (argv[1], "--child-clients") == 0)
    status = child_clients_main (argc, argv);
  else
    {
      g_printerr ("unknown helper mode %s\n", argv[1]);
      status = 2;
    }

  fflush (stdout);
  _exit (status);
}

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
remove_stale_runtime_dirs (void)
{
#ifdef G_OS_UNIX
  const char *tmp = g_get_tmp_dir ();
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
  g_clear_pointer (&test_self_path, g_free);
}

void
pipecom_test_init (int    *argc,
                   char ***argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpl = NULL;

  /* Initialise the library's classes here, before any thread (in helper
   * processes too): GType does it under a lock of its own that
   * ThreadSanitizer cannot see (GLib is not instrumented), so a class first
   * initialised by one thread and used by another is reported as a race in
   * a -Db_sanitize=thread build. */
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_PIPE));
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_CLIENT));
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_MESSAGE));

  maybe_run_child (*argc, *argv);

  /* Must happen before anything calls g_get_user_runtime_dir(), which
   * caches its result. */
  remove_stale_runtime_dirs ();
  tmpl = g_strdup_printf ("pipecom-test-%d-XXXXXX", (int) getpid ());
  test_runtime_dir = g_dir_make_tmp (tmpl, &error);
  if (test_runtime_dir == NULL)
    g_error ("cannot create a temporary runtime directory: %s", error->message);
  g_chmod (test_runtime_dir, 0700);
  g_setenv ("XDG_RUNTIME_DIR", test_runtime_dir, TRUE);
  /* Computed once by GLib, under a lock ThreadSanitizer cannot see: do it
   * before any thread. */
  (void) g_get_user_runtime_dir ();
  atexit (cleanup_runtime_dir);

  if (g_path_is_absolute ((*argv)[0]))
    test_self_path = g_strdup ((*argv)[0]);
  else
    test_self_path = g_canonicalize_filename ((*argv)[0], NULL);

  g_test_init (argc, argv, NULL);

  g_assert_cmpstr (g_get_user_runtime_dir (), ==, test_runtime_dir);
}

const char *
pipecom_test_get_runtime_dir (void)
{
  return test_runtime_dir;
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

  g_ptr_array_add (args, test_self_path);
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
