/* test-faults.c: fault injection: killed processes, floods, exhausted resources
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#if defined(__SANITIZE_ADDRESS__)
# define PIPECOM_TEST_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define PIPECOM_TEST_ASAN 1
# endif
#endif
#ifdef PIPECOM_TEST_ASAN
/* clang ships this header; gcc's AddressSanitizer has the function (in
 * libasan) but not the header: declare it then. */
# if defined(__has_include)
#  if __has_include(<sanitizer/allocator_interface.h>)
#   include <sanitizer/allocator_interface.h>
#   define PIPECOM_TEST_HAVE_ALLOCATOR_INTERFACE 1
#  endif
# endif
# ifndef PIPECOM_TEST_HAVE_ALLOCATOR_INTERFACE
size_t __sanitizer_get_current_allocated_bytes (void);
# endif
#else
# include <malloc.h>
#endif

#include "test-utils.h"
#include "pipecom-private.h"

/* The library's client I/O thread starts with its first user and lingers
 * after the last one: an idle client keeps it running so that fd counts
 * taken before and after are comparable. */
static PipecomClient *
pin_worker (void)
{
  return pipecom_client_new ("worker-pin");
}

/* Waits (iterating the main context, so deferred cleanups run) until at most
 * @expected descriptors are open, then asserts it. */
static void
assert_fds_back_to (guint expected)
{
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (PIPECOM_TEST_DEADLINE);
  guint now;

  while ((now = pipecom_test_count_fds ()) > expected)
    if (!pipecom_test_deadline_iterate (deadline))
      break;
  pipecom_test_deadline_free (deadline);
  g_assert_cmpuint (now, <=, expected);
}

static void
send_ok (const char *name,
         const char *text)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = pipecom_send (name, text, 20, 0, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

/* Sends two messages, so that what synchronous calls keep for the life of
 * the thread exists before fds are counted: a message too large to travel
 * in the announcement goes through the library's I/O thread and this
 * thread's context for synchronous calls, as any call does when the
 * listener is busy. */
static void
warm_up (const char *name)
{
  g_autofree char *large = g_strnfill (1024, 'w');

  send_ok (name, "warm-up");
  send_ok (name, large);
}

/* ------------------------------------------------------------------------ */
/* A listener killed with SIGKILL while 8 clients send                      */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *path;
  guint       no;
  GPtrArray  *acked;        /* (element-type utf8) messages the listener confirmed */
  GError     *error;        /* the error that ended the thread */
  gint64      failed_at;
  gint        stop;         /* atomic: stop sending (the test is over) */
} Sender;

#define SENDER_TIMEOUT 10

static gpointer
sender_thread (gpointer data)
{
  Sender *s = data;
  g_autoptr(PipecomClient) client = NULL;

  /* Half the senders use one-shot sends, half a persistent connection. */
  if (s->no % 2 == 1)
    {
      client = pipecom_client_new (s->path);
      pipecom_client_set_timeout (client, SENDER_TIMEOUT);
    }

  for (guint i = 0; !g_atomic_int_get (&s->stop); i++)
    {
      g_autofree char *text = g_strdup_printf ("s%u-m%u", s->no, i);
      g_autofree char *reply = NULL;
      GError *error = NULL;

      if (client != NULL)
        reply = pipecom_client_request (client, text, NULL, &error);
      else
        reply = pipecom_request (s->path, text, SENDER_TIMEOUT, 0, &error);

      if (error != NULL)
        {
          s->error = error;
          s->failed_at = g_get_monotonic_time ();
          break;
        }
      g_assert_true (g_str_has_prefix (reply, "ack:"));
      g_assert_cmpstr (reply + 4, ==, text);
      g_ptr_array_add (s->acked, g_steal_pointer (&text));
    }

  if (client != NULL)
    pipecom_client_close (client);
  return NULL;
}

static GHashTable *
read_log (const char *log)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *handled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!g_file_get_contents (log, &contents, NULL, NULL))
    return handled;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_hash_table_add (handled, g_strdup (lines[i]));
  return handled;
}

static void
test_listener_killed (void)
{
  g_autofree char *path = pipecom_test_make_path ("killed-under-load");
  g_autofree char *log = g_build_filename (pipecom_test_get_runtime_dir (), "killed.log", NULL);
  g_autofree char *log_arg = g_strconcat ("log=", log, NULL);

  g_test_summary ("A listener SIGKILLed at random points while 8 clients (one-shot and "
                  "persistent) send: every client gets an error within its timeout, no "
                  "client was told an unhandled message was handled, and a new listener on "
                  "the same name starts at once and serves");

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(PipecomTestChild) child = NULL;
      g_autoptr(GHashTable) handled = NULL;
      Sender senders[8];
      GThread *threads[8];
      gint64 killed_at, started;
      guint total_acked = 0;

      child = pipecom_test_child_spawn ("--child-listener", path,
                                        round % 2 ? "threaded" : log_arg,
                                        round % 2 ? log_arg : NULL, NULL);
      pipecom_test_child_expect_line (child, "READY");

      for (guint i = 0; i < G_N_ELEMENTS (senders); i++)
        {
          senders[i] = (Sender) { path, i, g_ptr_array_new_with_free_func (g_free), NULL, 0, 0 };
          threads[i] = g_thread_new ("sender", sender_thread, &senders[i]);
        }

      /* A random point: some tens to hundreds of milliseconds in. */
      pipecom_test_iterate_for (g_random_int_range (20, 400));
      pipecom_test_child_kill (child);
      killed_at = g_get_monotonic_time ();

      for (guint i = 0; i < G_N_ELEMENTS (senders); i++)
        g_thread_join (threads[i]);

      handled = read_log (log);
      for (guint i = 0; i < G_N_ELEMENTS (senders); i++)
        {
          Sender *s = &senders[i];

          /* An error, never a hang, within the timeout (plus scheduling slack). */
          g_assert_nonnull (s->error);
          g_assert_true (s->error->domain == PIPECOM_ERROR);
          g_assert_cmpint (s->failed_at - killed_at, <,
                           (SENDER_TIMEOUT + 10) * G_USEC_PER_SEC);
          for (guint j = 0; j < s->acked->len; j++)
            g_assert_true (g_hash_table_contains (handled, g_ptr_array_index (s->acked, j)));
          total_acked += s->acked->len;
          g_clear_error (&s->error);
          g_ptr_array_unref (s->acked);
        }
      g_test_message ("round %u: killed after %u acknowledged messages (%u logged)",
                      round, total_acked, g_hash_table_size (handled));

      /* A new listener takes the name at once and serves. */
      g_clear_pointer (&child, pipecom_test_child_free);
      started = g_get_monotonic_time ();
      child = pipecom_test_child_spawn ("--child-listener", path, NULL);
      pipecom_test_child_expect_line (child, "READY");
      g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
      send_ok (path, "after the kill");
      send_ok (path, "PIPECOM_DIE");
      {
        g_autofree char *line = pipecom_test_child_read_line (child, PIPECOM_TEST_DEADLINE);
        g_autofree char *stopped = g_strdup_printf ("STOPPED %d", PIPECOM_STOP_REASON_DIE_CODE);

        g_assert_cmpstr (line, ==, stopped);
      }
      g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
      g_unlink (log);
    }
}

/* ------------------------------------------------------------------------ */
/* Clients killed with SIGKILL at every stage                               */
/* ------------------------------------------------------------------------ */

static GPtrArray *held;   /* messages "hold" kept unanswered */

static char *
hold_or_ack_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  const char *text = pipecom_message_get_text (message);

  if (g_strcmp0 (text, "hold") == 0)
    {
      pipecom_message_hold (message);
      g_ptr_array_add (held, g_object_ref (message));
      return NULL;
    }
  return g_strconcat ("ack:", text ? text : "", NULL);
}

static void
test_client_killed (gconstpointer data)
{
  const char *stage = data;
  /* "announced-swept": killed after announcing, and its channel files
   * removed at once (as another sender's sweep of dead senders' files
   * does), so that only the listener's descriptors tell it is gone. */
  gboolean swept = g_str_equal (stage, "announced-swept");
  const char *child_stage = swept ? "announced" : stage;
  g_autofree char *name = pipecom_test_make_name ("client-killed");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();
  gint64 saved_deadline = _pipecom_connection_deadline_usec;
  g_autoptr(PipecomTestChild) child = NULL;
  g_autofree char *expected = g_strdup_printf ("AT %s", child_stage);
  PipecomPipe *pipe;
  guint fds_before;

  g_test_summary ("A client SIGKILLed after announcing, in the middle of a frame, or while "
                  "awaiting a reply: the listener keeps serving the others and leaks no fd");

  /* A peer killed right after announcing is only noticed by the deadline
   * (its request channel is never opened): make it short. */
  _pipecom_connection_deadline_usec = 2 * G_USEC_PER_SEC;
  held = g_ptr_array_new_with_free_func (g_object_unref);

  /* Warm up: the worker, GLib's one-time things. */
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (hold_or_ack_cb), NULL);
  warm_up (name);
  fds_before = pipecom_test_count_fds ();

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *fifo = g_strdup (pipecom_pipe_get_path (pipe));

      child = pipecom_test_child_spawn ("--child-raw-client", fifo, child_stage, NULL);
      pipecom_test_child_expect_line (child, expected);
      if (swept)
        {
          g_autofree char *dir = pipecom_test_get_pipecom_dir ();
          g_autofree char *prefix = g_strdup_printf (".c%d-", (int) pipecom_test_child_get_pid (child));
          g_auto(GStrv) entries = pipecom_test_list_dir (dir);
          guint removed = 0;

          pipecom_test_child_kill (child);
          for (guint k = 0; entries != NULL && entries[k] != NULL; k++)
            if (g_str_has_prefix (entries[k], prefix))
              {
                g_autofree char *path = g_build_filename (dir, entries[k], NULL);

                g_assert_cmpint (g_unlink (path), ==, 0);
                removed++;
              }
          g_assert_cmpuint (removed, ==, 2);
        }
      else
        pipecom_test_child_kill (child);
      g_clear_pointer (&child, pipecom_test_child_free);

      /* Everybody else is served. */
      for (guint j = 0; j < 5; j++)
        send_ok (name, "meanwhile");
    }

  /* Every fd of the dead clients' connections is released by the
   * listener (a held message does not keep them). */
  assert_fds_back_to (fds_before);

  for (guint i = 0; i < held->len; i++)
    pipecom_message_reply (g_ptr_array_index (held, i), "late");
  g_clear_pointer (&held, g_ptr_array_unref);
  send_ok (name, "after");
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  _pipecom_connection_deadline_usec = saved_deadline;
}

/* ------------------------------------------------------------------------ */
/* A flood of bogus announcements                                           */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *fifo;
  const char *dir;
  guint       n;
  gint        done;   /* atomic */
} Flood;

static gpointer
flood_thread (gpointer data)
{
  Flood *f = data;
  g_autofree char *regular = g_build_filename (f->dir, "regular", NULL);
  g_autofree char *regular_rep = g_strconcat (regular, ".rep", NULL);
  int fd = open (f->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  /* A channel that exists but is a regular file, not a FIFO. */
  g_assert_true (g_file_set_contents (regular_rep, "x", 1, NULL));

  for (guint i = 0; i < f->n; i++)
    {
      g_autofree char *missing = g_strdup_printf ("%s/missing-%u", f->dir, i);
      guint8 record[PIPECOM_ANNOUNCE_MAX];
      const char *base;
      gsize len;

      switch (i % 4)
        {
        case 0:
          base = missing;
          len = _pipecom_encode_announce (record, PIPECOM_ANNOUNCE_CONNECT, base, NULL, 0);
          break;
        case 1:
          base = missing;
          len = _pipecom_encode_announce (record, PIPECOM_ANNOUNCE_ONESHOT, base,
                                          (const guint8 *) "bogus", 5);
          break;
        case 2:
          base = regular;
          len = _pipecom_encode_announce (record, PIPECOM_ANNOUNCE_ONESHOT, base,
                                          (const guint8 *) "bogus", 5);
          break;
        default:
          base = "relative/not-absolute";
          len = _pipecom_encode_announce (record, PIPECOM_ANNOUNCE_CONNECT, base, NULL, 0);
          break;
        }

      for (;;)
        {
          struct pollfd pfd = { fd, POLLOUT, 0 };
          ssize_t n = write (fd, record, len);

          if (n == (ssize_t) len)
            break;
          g_assert_true (n < 0 && errno == EAGAIN);
          poll (&pfd, 1, 100);
        }
    }

  close (fd);
  g_atomic_int_set (&f->done, TRUE);
  return NULL;
}

/* Bytes allocated on the heap and not freed: from the sanitizer's
 * allocator in an ASan build (whose quarantine of freed blocks makes the
 * RSS grow), from glibc's otherwise. */
static gsize
heap_bytes (void)
{
#ifdef PIPECOM_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes ();
#else
  struct mallinfo2 mi = mallinfo2 ();

  return mi.uordblks + mi.hblkhd;
#endif
}

static void
test_flood (void)
{
  g_autofree char *name = pipecom_test_make_name ("flood");
  g_autofree char *dir = g_build_filename (pipecom_test_get_runtime_dir (), "flood", NULL);
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();
  gint handled = 0;
  gint64 worst = 0;
  guint requests = 0;
  gsize heap_before, heap_after;
  guint fds_before;
  PipecomPipe *pipe;
  GThread *thread;
  Flood flood;

  g_test_summary ("10,000 announcements naming missing, non-FIFO or relative channels are "
                  "rejected; the listener answers real requests throughout, and its memory "
                  "and fds stay bounded");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  pipe = pipecom_test_listen_new (name, TRUE, &handled);
  warm_up (name);
  fds_before = pipecom_test_count_fds ();
  heap_before = heap_bytes ();

  flood = (Flood) { pipecom_pipe_get_path (pipe), dir, 10000, FALSE };
  thread = g_thread_new ("flood", flood_thread, &flood);

  while (!g_atomic_int_get (&flood.done) || requests < 3)
    {
      gint64 started = g_get_monotonic_time ();

      send_ok (name, "real");
      worst = MAX (worst, g_get_monotonic_time () - started);
      requests++;
    }
  g_thread_join (thread);
  send_ok (name, "after");
  requests++;

  heap_after = heap_bytes ();
  g_test_message ("%u requests during the flood, the slowest took %.3f s; heap %zu -> %zu KiB",
                  requests, worst / (double) G_USEC_PER_SEC, heap_before / 1024, heap_after / 1024);
  g_assert_cmpint (g_atomic_int_get (&handled), ==, (gint) requests + 2);
  g_assert_cmpint (worst, <, 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (heap_after, <, heap_before + 16 * 1024 * 1024);
  assert_fds_back_to (fds_before);

  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
}

/* ------------------------------------------------------------------------ */
/* Exhausted resources                                                      */
/* ------------------------------------------------------------------------ */

static void
test_sender_out_of_fds (void)
{
  g_autofree char *name = pipecom_test_make_name ("sender-no-fds");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();
  g_autoptr(GArray) hog = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GError) error = NULL;
  struct rlimit saved, low;
  PipecomPipe *pipe;
  gint handled = 0;
  int fd;

  g_test_summary ("With RLIMIT_NOFILE lowered and used up, a send fails at once with an "
                  "error naming the cause, and works again once descriptors are back");

  pipe = pipecom_test_listen_new (name, TRUE, &handled);
  send_ok (name, "warm-up");

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = MIN (saved.rlim_cur, 256);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  while ((fd = dup (STDERR_FILENO)) >= 0)
    g_array_append_val (hog, fd);
  g_assert_cmpint (errno, ==, EMFILE);

  g_assert_false (pipecom_send (name, "no fds", 5, 1, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, g_strerror (EMFILE)));
  g_clear_error (&error);

  for (guint i = 0; i < hog->len; i++)
    close (g_array_index (hog, int, i));
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);

  send_ok (name, "fds are back");
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 2);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
}

/* mkfifo() failing like on a full disk or an exhausted quota: see
 * fault-shim.c, preloaded into this program by tests/meson.build. */
static void
test_mkfifo_fails (gconstpointer data)
{
  int err = GPOINTER_TO_INT (data);
  const char *flag = g_getenv ("PIPECOM_TEST_MKFIFO_FAIL");
  g_autofree char *name = pipecom_test_make_name ("mkfifo-fails");
  g_autofree char *other = pipecom_test_make_name ("mkfifo-fails-sender");
  g_autofree char *errno_text = g_strdup_printf ("%d", err);
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomPipe *listener;
  gint handled = 0;

  g_test_summary ("When mkfifo() fails with ENOSPC or EDQUOT, listening and sending fail "
                  "with an error naming the cause and the file, and both work once space "
                  "is back");

  if (flag == NULL || g_getenv ("LD_PRELOAD") == NULL)
    {
      g_test_skip ("fault-shim.so is not preloaded (run through meson test)");
      return;
    }

  /* A listener for the sender part, made while mkfifo() still works. */
  listener = pipecom_test_listen_new (other, TRUE, &handled);

  g_assert_true (g_file_set_contents (flag, errno_text, -1, NULL));

  g_assert_false (pipecom_pipe_listen (pipe, &error));
  g_test_message ("listen: %s", error->message);
  g_assert_nonnull (strstr (error->message, g_strerror (err)));
  g_assert_nonnull (strstr (error->message, "Cannot create the FIFO"));
  g_clear_error (&error);

  g_assert_false (pipecom_send (other, "no space", 5, 1, &error));
  g_test_message ("send: %s", error->message);
  g_assert_nonnull (strstr (error->message, g_strerror (err)));
  g_assert_nonnull (strstr (error->message, "channel"));
  g_clear_error (&error);
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 0);

  /* Space is back. */
  g_assert_cmpint (g_unlink (flag), ==, 0);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  pipecom_test_stop_and_wait (pipe);
  send_ok (other, "space is back");
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 1);
  pipecom_test_stop_and_wait (listener);
  g_clear_object (&listener);
}

/* The listener of a shared pipe owns its channel directory, so it can
 * replace a sender's fresh channel FIFO by a hard link to another FIFO of
 * the sender's (with fs.protected_hardlinks=0, or as the same user here)
 * before the sender opens it and sets its mode. fault-shim.c makes the
 * swap right after mkfifo()/mkfifoat(). */
static void
test_swap_channel (gconstpointer data)
{
  const char *suffix = data;
  const char *flag = g_getenv ("PIPECOM_TEST_SWAP");
  g_autofree char *victim_name = pipecom_test_make_name ("swap-victim");
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autofree char *victim = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  PipecomPipe *shared, *listener;
  gint handled = 0, victim_handled = 0;
  struct stat st;

  g_test_summary ("A sender whose channel FIFO is replaced by a hard link to another FIFO "
                  "of its user between its creation and its opening refuses it: it never "
                  "changes that FIFO's mode nor announces it, and the FIFO's listener "
                  "handles nothing");

  if (flag == NULL || g_getenv ("LD_PRELOAD") == NULL)
    {
      g_test_skip ("fault-shim.so is not preloaded (run through meson test)");
      return;
    }

  tmp = g_dir_make_tmp ("pipecom-swap-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (tmp, "shared", NULL);
  shared = g_object_new (PIPECOM_TYPE_PIPE, "name", path, "threaded", TRUE,
                         "access", PIPECOM_ACCESS_EVERYONE, NULL);
  g_signal_connect (shared, "message-received", G_CALLBACK (pipecom_test_ack_cb), &handled);
  g_assert_true (pipecom_pipe_listen (shared, &error));
  g_assert_no_error (error);

  /* The victim: a private listener of the same user. */
  listener = pipecom_test_listen_new (victim_name, TRUE, &victim_handled);
  victim = g_strdup (pipecom_pipe_get_path (listener));
  g_assert_cmpint (lstat (victim, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);

  contents = g_strdup_printf ("%s %s", suffix, victim);
  g_assert_true (g_file_set_contents (flag, contents, -1, NULL));
  if (g_str_equal (suffix, ".req"))
    {
      /* Only a persistent connection has a request channel. */
      g_autoptr(PipecomClient) client = pipecom_client_new (path);

      pipecom_client_set_timeout (client, 2);
      pipecom_client_set_max_attempts (client, 1);
      g_assert_false (pipecom_client_connect (client, NULL, &error));
    }
  else
    g_assert_false (pipecom_send (path, "swapped", 2, 1, &error));
  g_assert_cmpint (g_unlink (flag), ==, 0);
  g_test_message ("send: %s", error->message);

  /* The victim FIFO kept its mode and its single name. */
  g_assert_cmpint (lstat (victim, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (st.st_nlink, ==, 1);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  {
    g_autofree char *chandir = g_strconcat (path, ".d", NULL);

    g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);
  }

  /* Nobody handled anything, and both still serve. */
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&victim_handled), ==, 0);
  send_ok (path, "after");
  send_ok (victim_name, "after");
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&victim_handled), ==, 1);

  pipecom_test_stop_and_wait (listener);
  g_clear_object (&listener);
  pipecom_test_stop_and_wait (shared);
  g_clear_object (&shared);
  g_assert_cmpuint (pipecom_test_count_dir_entries (tmp), ==, 0);
  g_rmdir (tmp);
}

static void
test_runtime_dir_broken (void)
{
  const char *runtime = pipecom_test_get_runtime_dir ();
  g_autofree char *moved = g_strconcat (runtime, ".moved", NULL);
  g_autofree char *name = pipecom_test_make_name ("broken-runtime");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A runtime directory that is missing (its place taken by a file) or not "
                  "writable gives clear errors for listeners and senders, and both work "
                  "again once it is repaired");

  /* Missing: a regular file where the directory should be. */
  g_assert_cmpint (g_rename (runtime, moved), ==, 0);
  g_assert_true (g_file_set_contents (runtime, "not a directory", -1, NULL));

  g_assert_false (pipecom_pipe_listen (pipe, &error));
  g_test_message ("listen: %s", error->message);
  g_assert_true (error->domain == PIPECOM_ERROR);
  g_assert_nonnull (strstr (error->message, "pipe directory"));
  g_clear_error (&error);
  g_assert_false (pipecom_send (name, "x", 5, 1, &error));
  g_assert_nonnull (strstr (error->message, "pipe directory"));
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (runtime), ==, 0);
  g_assert_cmpint (g_rename (moved, runtime), ==, 0);

  /* Not writable: the pipe directory cannot be created (root bypasses
   * permissions, so only for other users). */
  if (geteuid () != 0)
    {
      g_autofree char *dir = pipecom_test_get_pipecom_dir ();
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);

      g_assert_cmpint (system (cmd), ==, 0);
      g_assert_cmpint (g_chmod (runtime, 0500), ==, 0);
      g_assert_false (pipecom_pipe_listen (pipe, &error));
      g_test_message ("listen: %s", error->message);
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);
      g_assert_cmpint (g_chmod (runtime, 0700), ==, 0);
    }
  else
    g_test_message ("running as root: the not-writable case is not checked");

  /* Repaired. */
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  send_ok (name, "repaired");
  pipecom_test_stop_and_wait (pipe);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/faults/listener-killed", test_listener_killed);
  g_test_add_data_func ("/faults/client-killed/announced", "announced", test_client_killed);
  g_test_add_data_func ("/faults/client-killed/announced-swept", "announced-swept", test_client_killed);
  g_test_add_data_func ("/faults/client-killed/mid-frame", "mid-frame", test_client_killed);
  g_test_add_data_func ("/faults/client-killed/awaiting-reply", "awaiting", test_client_killed);
  g_test_add_func ("/faults/flood", test_flood);
  g_test_add_func ("/faults/resources/sender-out-of-fds", test_sender_out_of_fds);
  g_test_add_data_func ("/faults/resources/mkfifo-enospc", GINT_TO_POINTER (ENOSPC),
                        test_mkfifo_fails);
  g_test_add_data_func ("/faults/resources/mkfifo-edquot", GINT_TO_POINTER (EDQUOT),
                        test_mkfifo_fails);
  g_test_add_func ("/faults/resources/runtime-dir", test_runtime_dir_broken);
  g_test_add_data_func ("/faults/hardlink/swap-rep", ".rep", test_swap_channel);
  g_test_add_data_func ("/faults/hardlink/swap-req", ".req", test_swap_channel);

  return g_test_run ();
}
