/* helper-child.c: the helper processes of the C tests
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 *   helper-child MODE ARGS...
 *
 * Started by pipecom_test_child_spawn() (tests/test-utils.c), which finds
 * this program through $PIPECOM_TEST_HELPER_CHILD or next to the test
 * binary. MODE is one of:
 *
 *   --child-listener PATH [threaded] [log=FILE] [NAME=VALUE...]
 *   --child-listener-no-fds PATH           (Unix)
 *   --child-raw-client FIFO STAGE          (Unix)
 *   --child-other-user VICTIM              (Unix)
 *   --child-send NAME MESSAGE [MAX-ATTEMPTS]
 *   --child-clients PATH THREADS MESSAGES ID
 *
 * Each mode talks to the test on standard output, one line at a time
 * ("READY", "STOPPED 1", ...), and exits as soon as its standard input (a
 * pipe from the test) is closed, so no helper outlives a crashed test.
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

#include <pipecom.h>
#include "pipecom-private.h"
#ifdef G_OS_UNIX
# include "unix/pipecom-unix-private.h"
#endif

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

int
main (int   argc,
      char *argv[])
{
  int status;

  /* As pipecom_test_init() does in the tests: initialise the library's
   * classes before any thread, since GType does it under a lock of its own
   * that ThreadSanitizer cannot see (GLib is not instrumented). */
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_PIPE));
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_CLIENT));
  g_type_class_unref (g_type_class_ref (PIPECOM_TYPE_MESSAGE));

  /* GLib computes it once, under a lock ThreadSanitizer cannot see: do it
   * before any thread. */
  (void) g_get_user_runtime_dir ();

  if (argc < 2)
    status = 2;
  else if (g_strcmp0 (argv[1], "--child-listener") == 0)
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
