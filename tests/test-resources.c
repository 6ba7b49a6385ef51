/* test-resources.c: stopping and finalizing releases fds, threads and files
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-utils.h"

#define assert_pipecom_dir_empty() assert_pipecom_dir_empty_at (__LINE__)

static void
assert_pipecom_dir_empty_at (int line)
{
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();
  g_auto(GStrv) entries = pipecom_test_list_dir (dir);

  for (guint i = 0; entries[i] != NULL; i++)
    g_test_message ("line %d: left in %s: %s", line, dir, entries[i]);
  g_assert_cmpuint (g_strv_length (entries), ==, 0);
}

/* Channel files are removed by the client's I/O thread, which may finish its
 * cleanup just after the call returned; this waits for it. (That a process
 * exiting right after a failed send leaves nothing behind is checked by
 * /resources/files/failed-sender-exits.) */
#define wait_pipecom_dir_empty() G_STMT_START {                                   \
    g_autofree char *wdir_ = pipecom_test_get_pipecom_dir ();                      \
    PipecomTestDeadline *wdl_ = pipecom_test_deadline_new (5);                     \
    while (pipecom_test_count_dir_entries (wdir_) != 0 &&                          \
           pipecom_test_deadline_iterate (wdl_))                                   \
      ;                                                                            \
    pipecom_test_deadline_free (wdl_);                                             \
    assert_pipecom_dir_empty ();                                                   \
  } G_STMT_END

/* The library's client I/O thread (pipecom-worker.c) runs while any client,
 * one-shot sends included, exists, and lingers a little after the last one
 * went. fd tests keep it running with an idle client (pin_worker()), so that
 * their counts are comparable without waiting for it. */
static gboolean
worker_running (void)
{
  g_auto(GStrv) tasks = pipecom_test_list_dir ("/proc/self/task");

  for (guint i = 0; tasks[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", tasks[i], "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "pipecom-worker"))
        return TRUE;
    }
  return FALSE;
}

static PipecomClient *
pin_worker (void)
{
  return pipecom_client_new ("worker-pin");
}

static guint
quiescent_fds (void)
{
  return pipecom_test_count_fds ();
}

static guint
count_threads (void)
{
  return pipecom_test_count_dir_entries ("/proc/self/task");
}

/* Waits (iterating the main context, so deferred cleanups run) until the fd
 * count is back at (at most) @expected, then asserts it. Fewer is fine:
 * something opened before the test may have been closed meanwhile. */
static void
assert_fds_back_to (guint expected)
{
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (10);
  guint now;

  while ((now = quiescent_fds ()) > expected)
    if (!pipecom_test_deadline_iterate (deadline))
      break;
  pipecom_test_deadline_free (deadline);

  if (now > expected)
    {
      g_autofree char *listing = NULL;
      g_auto(GStrv) fds = pipecom_test_list_dir ("/proc/self/fd");
      GString *s = g_string_new (NULL);

      for (guint i = 0; fds[i] != NULL; i++)
        {
          g_autofree char *p = g_build_filename ("/proc/self/fd", fds[i], NULL);
          g_autofree char *target = g_file_read_link (p, NULL);

          g_string_append_printf (s, "  %s -> %s\n", fds[i], target ? target : "?");
        }
      listing = g_string_free (s, FALSE);
      g_test_message ("open fds:\n%s", listing);
    }
  g_assert_cmpuint (now, <=, expected);
}

static void
one_cycle (guint    round,
           gboolean threaded)
{
  g_autofree char *name = pipecom_test_make_name (threaded ? "cycle-t" : "cycle");
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, threaded, NULL);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *msg = g_strdup_printf ("round %u", round);
  g_autofree char *expected = g_strdup_printf ("ack:round %u", round);
  PipecomTestResult result = { 0, };

  /* one-shot send and request */
  g_assert_true (pipecom_test_send (name, msg, 20, 0, &error));
  g_assert_no_error (error);
  reply = pipecom_test_request (name, msg, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, expected);

  /* a persistent client */
  pipecom_client_request_async (client, msg, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.text, ==, expected);
  pipecom_test_result_clear (&result);
  if (round % 2 == 0)
    pipecom_client_close (client);
  g_clear_object (&client);

  /* stop by die code or by stop() */
  if (round % 2 == 0)
    {
      g_assert_true (pipecom_test_send (name, "PIPECOM_DIE", 20, 0, &error));
      g_assert_no_error (error);
      pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
    }
  else
    {
      pipecom_test_stop_and_wait (pipe);
    }
}

static void
test_fds_listen_stop_cycles (void)
{
  g_autoptr(PipecomClient) pin G_GNUC_UNUSED = pin_worker ();  /* keeps the worker running */
  guint fds_before;

  g_test_summary ("20 listen/send/request/client/stop cycles (threaded and not) leave no fd "
                  "open and no file in the per-user pipe directory");

  /* Warm up: GLib and the library create some process-wide things once. */
  one_cycle (0, FALSE);
  one_cycle (1, TRUE);
  fds_before = quiescent_fds ();

  for (guint i = 0; i < 20; i++)
    one_cycle (i, i % 2 == 1);

  assert_fds_back_to (fds_before);
  assert_pipecom_dir_empty ();
}

static void
test_fds_failures (void)
{
  g_autoptr(PipecomClient) pin G_GNUC_UNUSED = pin_worker ();  /* keeps the worker running */
  g_autofree char *missing = pipecom_test_make_name ("nobody");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  PipecomTestResult result = { 0, };
  guint fds_before;

  g_test_summary ("Failed, timed-out and cancelled sends leave no fd open and no channel "
                  "FIFO behind");

  /* Warm up */
  g_assert_false (pipecom_send (missing, "x", 0, 1, &error));
  g_clear_error (&error);
  fds_before = quiescent_fds ();

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(PipecomClient) client = pipecom_client_new (missing);

      g_assert_false (pipecom_send (missing, "x", 0, 2, &error));
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
      g_clear_error (&error);
      wait_pipecom_dir_empty ();

      pipecom_client_set_max_attempts (client, 2);
      g_assert_false (pipecom_client_connect (client, NULL, &error));
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
      g_clear_error (&error);
      wait_pipecom_dir_empty ();
    }

  g_assert_false (pipecom_send (missing, "x", 1, 0, &error));
  g_clear_error (&error);
  wait_pipecom_dir_empty ();

  pipecom_send_async (missing, "x", 0, 0, cancellable, pipecom_test_send_cb, &result);
  pipecom_test_iterate_for (100);
  g_cancellable_cancel (cancellable);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  pipecom_test_result_clear (&result);

  assert_fds_back_to (fds_before);
  wait_pipecom_dir_empty ();
}

static void
test_fds_killed_listener (void)
{
  g_autoptr(PipecomClient) pin G_GNUC_UNUSED = pin_worker ();  /* keeps the worker running */
  guint fds_before = 0;

  g_test_summary ("A client whose listener process was killed mid-request releases its fds");

  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *path = pipecom_test_make_path ("killed");
      g_autoptr(PipecomTestChild) child = NULL;
      g_autoptr(PipecomClient) client = NULL;
      g_autofree char *lock = g_strconcat (path, ".lock", NULL);
      PipecomTestResult result = { 0, };

      if (i == 1)
        fds_before = quiescent_fds ();

      child = pipecom_test_child_spawn ("--child-listener", path, NULL);
      pipecom_test_child_expect_line (child, "READY");
      client = pipecom_client_new (path);
      pipecom_client_request_async (client, "block", NULL, pipecom_test_request_cb, &result);
      pipecom_test_child_expect_line (child, "GOT block");
      pipecom_test_child_kill (child);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_error (result.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
      pipecom_test_result_clear (&result);
      g_clear_object (&client);
      g_clear_pointer (&child, pipecom_test_child_free);
      g_unlink (path);
      g_unlink (lock);
    }

  assert_fds_back_to (fds_before);
  assert_pipecom_dir_empty ();
}

static void
test_threads_released (void)
{
  guint threads_before;

  g_test_summary ("Finalizing a stopped threaded pipe ends its thread");

  /* Warm up the library's process-wide helpers. */
  one_cycle (0, TRUE);
  pipecom_test_wait_for (!worker_running (), 10);
  threads_before = count_threads ();

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = pipecom_test_make_name ("thread-count");
      g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, TRUE, NULL);

      g_assert_cmpuint (count_threads (), >, threads_before);
      pipecom_test_stop_and_wait (pipe);
    }

  pipecom_test_wait_for (!worker_running () && count_threads () <= threads_before, 10);
  g_assert_cmpuint (count_threads (), ==, threads_before);
}

static void
test_finalize_while_listening (void)
{
  g_autoptr(PipecomClient) pin G_GNUC_UNUSED = pin_worker ();  /* keeps the worker running */
  g_autofree char *name = pipecom_test_make_name ("finalize-live");
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();
  PipecomPipe *pipe;
  guint fds_before;

  g_test_summary ("Dropping the last reference to a listening pipe releases everything");

  one_cycle (0, FALSE);
  fds_before = quiescent_fds ();

  pipe = pipecom_test_listen_new (name, FALSE, NULL);
  g_assert_cmpuint (pipecom_test_count_dir_entries (dir), >=, 1);
  g_object_add_weak_pointer (G_OBJECT (pipe), (gpointer *) &pipe);
  g_object_unref (pipe);
  g_assert_null (pipe);

  assert_fds_back_to (fds_before);
  assert_pipecom_dir_empty ();
}

static void
test_finalize_threaded (void)
{
  g_autoptr(PipecomClient) pin G_GNUC_UNUSED = pin_worker ();  /* keeps the worker running */
  g_autofree char *name = pipecom_test_make_name ("finalize-threaded");
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomPipe *pipe;
  guint fds_before;

  g_test_summary ("A threaded pipe whose last reference was dropped serves until it stops "
                  "(its thread holds a reference), then releases everything");

  one_cycle (0, TRUE);
  fds_before = quiescent_fds ();

  pipe = pipecom_test_listen_new (name, TRUE, NULL);
  g_object_add_weak_pointer (G_OBJECT (pipe), (gpointer *) &pipe);
  g_object_unref (pipe);

  reply = pipecom_test_request (name, "still serving", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:still serving");

  g_assert_true (pipecom_test_send (name, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  pipecom_test_wait_for (g_atomic_pointer_get (&pipe) == NULL, PIPECOM_TEST_DEADLINE);

  assert_fds_back_to (fds_before);
  assert_pipecom_dir_empty ();
}

static void
test_failed_sender_exits (void)
{
  g_autofree char *missing = pipecom_test_make_name ("nobody-exit");

  g_test_summary ("A sender process whose send failed and which exits at once leaves no "
                  "channel FIFO behind");

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(PipecomTestChild) child = pipecom_test_child_spawn ("--child-send", missing, "x",
                                                                    "1", NULL);

      g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 1);
    }
  assert_pipecom_dir_empty ();
}

static void
test_listener_out_of_fds (void)
{
  g_autofree char *path = pipecom_test_make_path ("no-fds");
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  gint64 started, elapsed;

  g_test_summary ("A listener out of file descriptors (RLIMIT_NOFILE lowered and used up) "
                  "refuses new clients at once with BUSY through its reserved descriptor, "
                  "instead of letting them wait for their timeout, and serves again once "
                  "descriptors are back");

  child = pipecom_test_child_spawn ("--child-listener-no-fds", path, NULL);
  pipecom_test_child_expect_line (child, "FULL");

  for (guint round = 0; round < 2; round++)
    {
      /* A one-shot message and a persistent connection: refused at once. */
      started = g_get_monotonic_time ();
      g_assert_false (pipecom_send (path, "refused", 20, 1, &error));
      elapsed = g_get_monotonic_time () - started;
      g_test_message ("refused after %.3f s: %s", elapsed / (double) G_USEC_PER_SEC,
                      error ? error->message : "");
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_BUSY);
      g_assert_nonnull (strstr (error->message, "file descriptor"));
      g_assert_cmpint (elapsed, <, 10 * G_USEC_PER_SEC);
      g_clear_error (&error);

      {
        g_autoptr(PipecomClient) client = pipecom_client_new (path);

        pipecom_client_set_timeout (client, 20);
        pipecom_client_set_max_attempts (client, 1);
        g_assert_false (pipecom_client_connect (client, NULL, &error));
        g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_BUSY);
        g_clear_error (&error);
      }

      /* Descriptors are back: served. */
      pipecom_test_child_signal (child, SIGUSR1);
      pipecom_test_child_expect_line (child, "FREED");
      reply = pipecom_request (path, "served", 20, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, "ack:served");
      g_clear_pointer (&reply, g_free);

      /* And used up again: the reserve was taken back. */
      pipecom_test_child_signal (child, SIGUSR2);
      pipecom_test_child_expect_line (child, "FULL");
    }

  pipecom_test_child_signal (child, SIGUSR1);
  pipecom_test_child_expect_line (child, "FREED");
  g_assert_true (pipecom_send (path, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  {
    g_autofree char *line = pipecom_test_child_read_line (child, PIPECOM_TEST_DEADLINE);
    g_autofree char *expected = g_strdup_printf ("STOPPED %d", PIPECOM_STOP_REASON_DIE_CODE);

    g_assert_cmpstr (line, ==, expected);
  }
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
}

/* The load of test_fds_busy_worker(): N_LOAD_CLIENTS persistent clients,
 * each with an asynchronous request always in flight, in a thread of its
 * own with its own main context, so that the worker always has I/O to
 * dispatch. */
#define N_LOAD_CLIENTS 4

typedef struct
{
  const char *path;
  GMutex      mutex;
  GCond       cond;
  guint       answered;  /* (mutex) */
  GError     *error;     /* (mutex) (owned) (nullable) the first failure */
  gint        stop;      /* (atomic) */
  guint       in_flight; /* in the load thread only */
  GMainContext *context;
} Load;

typedef struct
{
  Load          *load;
  PipecomClient *client;
} LoadClient;

static void load_request (LoadClient *lc);

static void
load_request_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  LoadClient *lc = user_data;
  Load *load = lc->load;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = pipecom_client_request_finish (PIPECOM_CLIENT (object), result, &error);

  load->in_flight--;
  g_mutex_lock (&load->mutex);
  if (reply == NULL && load->error == NULL)
    load->error = g_steal_pointer (&error);
  load->answered++;
  g_cond_signal (&load->cond);
  g_mutex_unlock (&load->mutex);

  if (reply != NULL && !g_atomic_int_get (&load->stop))
    load_request (lc);
}

static void
load_request (LoadClient *lc)
{
  lc->load->in_flight++;
  pipecom_client_request_async (lc->client, "load", NULL, load_request_cb, lc);
}

static gpointer
load_thread (gpointer data)
{
  Load *load = data;
  LoadClient clients[N_LOAD_CLIENTS];

  g_main_context_push_thread_default (load->context);
  for (guint i = 0; i < N_LOAD_CLIENTS; i++)
    {
      clients[i].load = load;
      clients[i].client = pipecom_client_new (load->path);
      pipecom_client_set_timeout (clients[i].client, PIPECOM_TEST_DEADLINE);
      load_request (&clients[i]);
    }
  while (load->in_flight > 0)
    g_main_context_iteration (load->context, TRUE);
  for (guint i = 0; i < N_LOAD_CLIENTS; i++)
    {
      pipecom_client_close (clients[i].client);
      g_object_unref (clients[i].client);
    }
  g_main_context_pop_thread_default (load->context);
  return NULL;
}

static void
test_fds_busy_worker (void)
{
  g_autofree char *path = pipecom_test_make_path ("busy-worker");
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GBytes) message = pipecom_test_random_bytes (8 * 1024);
  g_autoptr(GError) error = NULL;
  Load load = { 0, };
  GThread *thread;
  guint before, answered;

  g_test_summary ("A one-shot message gives its file descriptors back before its call returns, "
                  "even while the worker is kept busy by other clients: a process making "
                  "one-shot calls does not run out of them");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");

  load.path = path;
  load.context = g_main_context_new ();
  g_mutex_init (&load.mutex);
  g_cond_init (&load.cond);
  thread = g_thread_new ("load", load_thread, &load);

  /* The load runs, and a first one-shot has made what lives as long as
   * the process (the worker's wake-up descriptor, say). */
  g_mutex_lock (&load.mutex);
  while (load.answered < 50 && load.error == NULL)
    g_cond_wait (&load.cond, &load.mutex);
  g_mutex_unlock (&load.mutex);
  g_assert_no_error (load.error);
  {
    g_autoptr(GBytes) reply = pipecom_request_bytes (path, message, PIPECOM_TEST_DEADLINE, 0, &error);

    g_assert_no_error (error);
    g_assert_nonnull (reply);
  }
  before = pipecom_test_count_fds ();
  g_mutex_lock (&load.mutex);
  answered = load.answered;
  g_mutex_unlock (&load.mutex);

  /* 8 KiB do not fit in the announcement: each message goes through the
   * worker, on a connection of its own (two FIFOs, two descriptors here
   * and two in the listener). */
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GBytes) reply = pipecom_request_bytes (path, message, PIPECOM_TEST_DEADLINE, 0, &error);
      guint now;

      g_assert_no_error (error);
      g_assert_nonnull (reply);
      now = pipecom_test_count_fds ();
      if (now > before)
        g_test_message ("message %u: %u descriptors open, %u before", i, now, before);
      g_assert_cmpuint (now, <=, before);
    }

  g_mutex_lock (&load.mutex);
  g_assert_no_error (load.error);
  /* The worker was busy with the load all along. */
  g_assert_cmpuint (load.answered, >, answered);
  g_mutex_unlock (&load.mutex);

  g_atomic_int_set (&load.stop, TRUE);
  g_thread_join (thread);
  g_main_context_unref (load.context);
  g_mutex_clear (&load.mutex);
  g_cond_clear (&load.cond);
  g_clear_error (&load.error);

  pipecom_test_child_kill (child);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/resources/fds/cycles", test_fds_listen_stop_cycles);
  g_test_add_func ("/resources/fds/failures", test_fds_failures);
  g_test_add_func ("/resources/fds/killed-listener", test_fds_killed_listener);
  g_test_add_func ("/resources/threads", test_threads_released);
  g_test_add_func ("/resources/fds/listener-out-of-fds", test_listener_out_of_fds);
  g_test_add_func ("/resources/fds/busy-worker", test_fds_busy_worker);
  g_test_add_func ("/resources/finalize/listening", test_finalize_while_listening);
  g_test_add_func ("/resources/finalize/threaded", test_finalize_threaded);

  /* Last: while the library leaves channel files behind here, the abort
   * must not hide the other results. */
  g_test_add_func ("/resources/files/failed-sender-exits", test_failed_sender_exits);

  return g_test_run ();
}
