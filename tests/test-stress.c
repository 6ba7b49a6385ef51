/* test-stress.c: many clients, messages of every size (suite "slow")
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * 32 clients in threads of their own (half with a persistent PipecomClient,
 * half with one-shot requests) send 200 requests each of random sizes from 0
 * to 64 KiB to one threaded listener, which echoes them. The sizes and bytes
 * come from a seed (printed; PIPECOM_STRESS_SEED sets it), so a failure can be
 * run again. The listener counts what it received by size and checksum and
 * must have handled each message exactly once, byte for byte; each client
 * checks that every reply is its message. Under the macOS emulation (see
 * macos-shim.c) this is where 512-byte atomicity, short writes and a small
 * FIFO capacity bite.
 *
 * It runs with at most STRESS_NOFILE file descriptors, the usual default
 * limit: the clients' 16 one-shot calls at a time need some 64 of them
 * (two FIFOs per message, a descriptor at either end of each), and a
 * one-shot must give its own back before its call returns, however busy
 * the process is.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test-utils.h"

#define N_CLIENTS   32
#define N_MESSAGES  200
#define MAX_SIZE    (64 * 1024)
#define STRESS_NOFILE 1024

typedef struct
{
  gsize   size;
  guint64 sum;
} Key;

static guint64 seed;

/* A small generator of the messages' sizes and bytes (xorshift64*). */
static guint64
next_random (guint64 *state)
{
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * G_GUINT64_CONSTANT (2685821657736338717);
}

static guint64
message_state (guint client,
               guint index)
{
  guint64 state = seed ^ (((guint64) client << 32) | index) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  return state != 0 ? state : 1;
}

/* Message @index of @client: its size and bytes follow from the seed. */
static guint8 *
make_message (guint  client,
              guint  index,
              gsize *size)
{
  guint64 state = message_state (client, index);
  guint8 *data;

  *size = next_random (&state) % (MAX_SIZE + 1);
  data = g_malloc (MAX (*size, 1));
  for (gsize i = 0; i < *size; i += 8)
    {
      guint64 r = next_random (&state);

      memcpy (data + i, &r, MIN (8, *size - i));
    }
  return data;
}

/* FNV-1a, 64 bits. */
static guint64
checksum (const guint8 *data,
          gsize         size)
{
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);

  for (gsize i = 0; i < size; i++)
    {
      h ^= data[i];
      h *= G_GUINT64_CONSTANT (1099511628211);
    }
  return h;
}

static guint
key_hash (gconstpointer p)
{
  const Key *k = p;

  return (guint) (k->sum ^ (k->sum >> 32) ^ k->size);
}

static gboolean
key_equal (gconstpointer a,
           gconstpointer b)
{
  const Key *ka = a, *kb = b;

  return ka->size == kb->size && ka->sum == kb->sum;
}

typedef struct
{
  GMutex      mutex;
  GHashTable *expected;  /* Key → count expected (GUINT_TO_POINTER) */
  GHashTable *received;  /* Key → count received */
  guint       total;
} Tally;

static void
tally_add (GHashTable   *table,
           const guint8 *data,
           gsize         size)
{
  Key key = { size, checksum (data, size) };
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (table, &key));

  g_hash_table_replace (table, g_memdup2 (&key, sizeof key), GUINT_TO_POINTER (count + 1));
}

static char *
echo_cb (PipecomPipe    *pipe,
         PipecomMessage *message,
         gpointer        user_data)
{
  Tally *tally = user_data;
  GBytes *bytes = pipecom_message_get_bytes (message);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  g_mutex_lock (&tally->mutex);
  tally_add (tally->received, data, size);
  tally->total++;
  g_mutex_unlock (&tally->mutex);

  pipecom_message_reply_bytes (message, bytes);
  return NULL;
}

typedef struct
{
  const char *name;
  guint       index;
  gboolean    oneshot;
  guint       ok;
  char       *first_failure;  /* (owned) (nullable) */
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  g_autoptr(PipecomClient) client = NULL;

  if (!w->oneshot)
    {
      client = pipecom_client_new (w->name);
      pipecom_client_set_timeout (client, 300);
    }

  for (guint i = 0; i < N_MESSAGES; i++)
    {
      gsize size;
      g_autofree guint8 *msg = make_message (w->index, i, &size);
      g_autoptr(GBytes) bytes = g_bytes_new (msg, size);
      g_autoptr(GBytes) reply = NULL;
      g_autoptr(GError) error = NULL;

      if (client != NULL)
        reply = pipecom_client_request_bytes (client, bytes, NULL, &error);
      else
        reply = pipecom_request_bytes (w->name, bytes, 300, 0, &error);

      if (reply != NULL && g_bytes_equal (reply, bytes))
        w->ok++;
      else if (w->first_failure == NULL)
        w->first_failure = g_strdup_printf ("client %u message %u (%" G_GSIZE_FORMAT " bytes): %s",
                                            w->index, i, size,
                                            error != NULL ? error->message :
                                            reply != NULL ? "a different reply" : "no reply");
    }

  if (client != NULL)
    pipecom_client_close (client);
  return NULL;
}

static void
test_stress (void)
{
  g_autofree char *name = pipecom_test_make_name ("stress");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  Worker workers[N_CLIENTS] = { { 0 } };
  GThread *threads[N_CLIENTS];
  PipecomTestWatchdog *watchdog;
  GHashTableIter iter;
  gpointer key, value;
  Tally tally;
  gsize bytes = 0;

  g_test_summary ("32 clients × 200 messages of random sizes up to 64 KiB: each handled "
                  "exactly once, byte for byte, and each reply its message");

  g_mutex_init (&tally.mutex);
  tally.expected = g_hash_table_new_full (key_hash, key_equal, g_free, NULL);
  tally.received = g_hash_table_new_full (key_hash, key_equal, g_free, NULL);
  tally.total = 0;
  for (guint c = 0; c < N_CLIENTS; c++)
    for (guint i = 0; i < N_MESSAGES; i++)
      {
        gsize size;
        g_autofree guint8 *msg = make_message (c, i, &size);

        tally_add (tally.expected, msg, size);
        bytes += size;
      }
  g_test_message ("seed %" G_GUINT64_FORMAT " (PIPECOM_STRESS_SEED): %u messages, %" G_GSIZE_FORMAT
                  " bytes", seed, N_CLIENTS * N_MESSAGES, bytes);

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (echo_cb), &tally);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  /* Generous: a loaded 2-core machine under the emulation. */
  watchdog = pipecom_test_watchdog_start (540, "the stress test");
  for (guint c = 0; c < N_CLIENTS; c++)
    {
      workers[c].name = name;
      workers[c].index = c;
      workers[c].oneshot = c % 2 == 1;
      threads[c] = g_thread_new ("stress-client", worker_thread, &workers[c]);
    }
  for (guint c = 0; c < N_CLIENTS; c++)
    g_thread_join (threads[c]);
  pipecom_test_watchdog_stop (watchdog);

  for (guint c = 0; c < N_CLIENTS; c++)
    {
      if (workers[c].first_failure != NULL)
        g_test_message ("%s", workers[c].first_failure);
      g_assert_cmpuint (workers[c].ok, ==, N_MESSAGES);
      g_free (workers[c].first_failure);
    }

  pipecom_test_stop_and_wait (pipe);

  g_assert_cmpuint (tally.total, ==, N_CLIENTS * N_MESSAGES);
  g_assert_cmpuint (g_hash_table_size (tally.received), ==, g_hash_table_size (tally.expected));
  g_hash_table_iter_init (&iter, tally.expected);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (tally.received, key)), ==,
                      GPOINTER_TO_UINT (value));

  g_hash_table_unref (tally.expected);
  g_hash_table_unref (tally.received);
  g_mutex_clear (&tally.mutex);
}

int
main (int   argc,
      char *argv[])
{
  const char *env;

  pipecom_test_init (&argc, &argv);

  env = g_getenv ("PIPECOM_STRESS_SEED");
  if (env != NULL && *env != '\0')
    seed = g_ascii_strtoull (env, NULL, 10);
  else
    seed = ((guint64) g_random_int () << 32) | g_random_int ();
  /* On stderr too: visible in the test log even without --verbose. */
  g_printerr ("# test-stress: seed %" G_GUINT64_FORMAT "\n", seed);

  {
    struct rlimit rl;

    /* Lowered only: a lower limit of the caller's stays. */
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > STRESS_NOFILE)
      {
        rl.rlim_cur = STRESS_NOFILE;
        if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
          g_printerr ("# test-stress: cannot lower RLIMIT_NOFILE to %d: %s\n", STRESS_NOFILE,
                      g_strerror (errno));
      }
  }

  g_test_add_func ("/stress/sizes", test_stress);

  return g_test_run ();
}
