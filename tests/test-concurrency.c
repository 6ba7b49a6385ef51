/* test-concurrency.c: many clients at once (suite "slow")
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"

#define N_CLIENTS  32
#define N_MESSAGES 200

typedef struct
{
  GMutex      mutex;
  GHashTable *seen;        /* payload → count */
  guint       total;
  guint       duplicates;
} Registry;

static void
registry_init (Registry *reg)
{
  g_mutex_init (&reg->mutex);
  reg->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  reg->total = 0;
  reg->duplicates = 0;
}

static void
registry_clear (Registry *reg)
{
  g_hash_table_unref (reg->seen);
  g_mutex_clear (&reg->mutex);
}

static char *
registry_cb (PipecomPipe    *pipe,
             PipecomMessage *message,
             gpointer        user_data)
{
  Registry *reg = user_data;
  const char *text = pipecom_message_get_text (message);

  g_assert_nonnull (text);
  g_mutex_lock (&reg->mutex);
  reg->total++;
  if (!g_hash_table_add (reg->seen, g_strdup (text)))
    reg->duplicates++;
  g_mutex_unlock (&reg->mutex);

  return g_strconcat ("ack:", text, NULL);
}

static PipecomPipe *
listen_registry (const char *name,
                 Registry   *reg)
{
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe;

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (registry_cb), reg);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  return pipe;
}

typedef struct
{
  const char *name;
  guint       index;
  guint       n_messages;
  gboolean    oneshot;
  guint       failures;
  char       *first_failure;
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  g_autoptr(PipecomClient) client = NULL;

  if (!w->oneshot)
    {
      client = pipecom_client_new (w->name);
      pipecom_client_set_timeout (client, 120);
    }

  for (guint i = 0; i < w->n_messages; i++)
    {
      g_autofree char *payload = g_strdup_printf ("%s%u-m%u", w->oneshot ? "o" : "t", w->index, i);
      g_autofree char *expected = g_strconcat ("ack:", payload, NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *reply = NULL;

      if (client != NULL)
        reply = pipecom_client_request (client, payload, NULL, &error);
      else
        reply = pipecom_request (w->name, payload, 120, 0, &error);

      if (g_strcmp0 (reply, expected) != 0)
        {
          if (w->failures++ == 0)
            w->first_failure = g_strdup_printf ("%s: expected %s, got %s (%s)", payload, expected,
                                                reply ? reply : "NULL",
                                                error ? error->message : "no error");
        }
    }

  if (client != NULL)
    pipecom_client_close (client);
  return NULL;
}

static void
run_threads (const char *name,
             guint       n_threads,
             guint       n_messages,
             gboolean    oneshot)
{
  g_autofree Worker *workers = g_new0 (Worker, n_threads);
  g_autofree GThread **threads = g_new0 (GThread *, n_threads);
  PipecomTestWatchdog *watchdog;
  guint failures = 0;

  watchdog = pipecom_test_watchdog_start (240, "concurrent clients");
  for (guint t = 0; t < n_threads; t++)
    {
      workers[t].name = name;
      workers[t].index = t;
      workers[t].n_messages = n_messages;
      workers[t].oneshot = oneshot;
      threads[t] = g_thread_new ("client", worker_thread, &workers[t]);
    }
  for (guint t = 0; t < n_threads; t++)
    {
      g_thread_join (threads[t]);
      if (workers[t].failures > 0)
        g_test_message ("thread %u: %u failures, first: %s", t, workers[t].failures,
                        workers[t].first_failure);
      failures += workers[t].failures;
      g_free (workers[t].first_failure);
    }
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpuint (failures, ==, 0);
}

static void
test_threads (void)
{
  g_autofree char *name = pipecom_test_make_name ("conc-threads");
  g_autoptr(PipecomPipe) pipe = NULL;
  gint64 start = g_get_monotonic_time ();
  Registry reg;

  g_test_summary ("32 threads, each with its own PipecomClient, send 200 unique requests: "
                  "each handled exactly once, each client gets its own replies");

  registry_init (&reg);
  pipe = listen_registry (name, &reg);

  run_threads (name, N_CLIENTS, N_MESSAGES, FALSE);
  g_test_message ("%u requests in %.2f s", N_CLIENTS * N_MESSAGES,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);

  g_mutex_lock (&reg.mutex);
  g_assert_cmpuint (reg.duplicates, ==, 0);
  g_assert_cmpuint (reg.total, ==, N_CLIENTS * N_MESSAGES);
  g_assert_cmpuint (g_hash_table_size (reg.seen), ==, N_CLIENTS * N_MESSAGES);
  for (guint t = 0; t < N_CLIENTS; t++)
    for (guint i = 0; i < N_MESSAGES; i++)
      {
        g_autofree char *payload = g_strdup_printf ("t%u-m%u", t, i);

        g_assert_true (g_hash_table_contains (reg.seen, payload));
      }
  g_mutex_unlock (&reg.mutex);
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, N_CLIENTS * N_MESSAGES);

  pipecom_test_stop_and_wait (pipe);
  registry_clear (&reg);
}

static void
test_oneshot_threads (void)
{
  g_autofree char *name = pipecom_test_make_name ("conc-oneshot");
  g_autoptr(PipecomPipe) pipe = NULL;
  gint64 start = g_get_monotonic_time ();
  Registry reg;

  g_test_summary ("32 threads send 200 one-shot requests each at once: each handled exactly "
                  "once, each reply reaches its own sender");

  registry_init (&reg);
  pipe = listen_registry (name, &reg);

  run_threads (name, N_CLIENTS, N_MESSAGES, TRUE);
  g_test_message ("%u one-shot requests in %.2f s", N_CLIENTS * N_MESSAGES,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);

  g_mutex_lock (&reg.mutex);
  g_assert_cmpuint (reg.duplicates, ==, 0);
  g_assert_cmpuint (reg.total, ==, N_CLIENTS * N_MESSAGES);
  g_assert_cmpuint (g_hash_table_size (reg.seen), ==, N_CLIENTS * N_MESSAGES);
  g_mutex_unlock (&reg.mutex);

  pipecom_test_stop_and_wait (pipe);
  registry_clear (&reg);
}

#define N_PROCESSES 8
#define N_PROCESS_THREADS (N_CLIENTS / N_PROCESSES)

static void
test_processes (void)
{
  g_autofree char *name = pipecom_test_make_name ("conc-procs");
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomTestChild *children[N_PROCESSES];
  g_autofree char *n_threads = g_strdup_printf ("%u", N_PROCESS_THREADS);
  g_autofree char *n_messages = g_strdup_printf ("%u", N_MESSAGES);
  gint64 start = g_get_monotonic_time ();
  Registry reg;

  g_test_summary ("8 processes x 4 threads, each thread with its own client, send 200 "
                  "unique requests: each handled exactly once, each gets its own replies");

  registry_init (&reg);
  pipe = listen_registry (name, &reg);

  for (guint p = 0; p < N_PROCESSES; p++)
    {
      g_autofree char *id = g_strdup_printf ("%u", p);

      children[p] = pipecom_test_child_spawn ("--child-clients", name, n_threads, n_messages,
                                              id, NULL);
    }
  for (guint p = 0; p < N_PROCESSES; p++)
    {
      g_assert_cmpint (pipecom_test_child_wait (children[p], 240), ==, 0);
      pipecom_test_child_free (children[p]);
    }
  g_test_message ("%u requests from %u processes in %.2f s", N_CLIENTS * N_MESSAGES,
                  N_PROCESSES, (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);

  g_mutex_lock (&reg.mutex);
  g_assert_cmpuint (reg.duplicates, ==, 0);
  g_assert_cmpuint (reg.total, ==, N_CLIENTS * N_MESSAGES);
  g_assert_cmpuint (g_hash_table_size (reg.seen), ==, N_CLIENTS * N_MESSAGES);
  for (guint p = 0; p < N_PROCESSES; p++)
    for (guint t = 0; t < N_PROCESS_THREADS; t++)
      for (guint i = 0; i < N_MESSAGES; i++)
        {
          g_autofree char *payload = g_strdup_printf ("proc%u-t%u-m%u", p, t, i);

          g_assert_true (g_hash_table_contains (reg.seen, payload));
        }
  g_mutex_unlock (&reg.mutex);

  pipecom_test_stop_and_wait (pipe);
  registry_clear (&reg);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/concurrency/threads", test_threads);
  g_test_add_func ("/concurrency/oneshot-threads", test_oneshot_threads);
  g_test_add_func ("/concurrency/processes", test_processes);

  return g_test_run ();
}
