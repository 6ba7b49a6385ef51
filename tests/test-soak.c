/* test-soak.c: a million messages, each handled exactly once, intact, in order
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * 8 clients (PipecomClient, one thread each) send 1,000,000 messages in all
 * (PIPECOM_SOAK_MESSAGES overrides the count, e.g. for sanitizer builds) to
 * one threaded listener.
 *
 * Sizes go from 0 B to 1 MiB. To fit CI time the distribution is skewed to
 * small messages, the way real traffic is, and log-uniform by octave: a
 * random octave [2^k, 2^(k+1)), then a uniform size in it. 99.9 % of the
 * messages take k in 0..11 (sizes 0 B to 4 KiB, mean about 510 B), 0.1 %
 * k in 12..19 (4 KiB to 1 MiB, mean about 190 KiB); every client's first
 * message is exactly 1 MiB and its second is empty. That is about 0.7 GB.
 *
 * Every size and byte is a function of (client, sequence number), so the
 * handler checks each message without keeping it: a message of 5 bytes or
 * more starts with its client and sequence number, and the rest must be
 * exactly the expected bytes; per client, sequence numbers must strictly
 * increase (in order, never twice) and every one skipped must be one of the
 * client's short messages (under 5 bytes), which are 0xA5 bytes (checked)
 * and counted. At the end each client's count of long messages and the
 * total of short ones must be exact, and every send must have been
 * acknowledged.
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"

#define N_CLIENTS 8
#define MAX_SIZE  (1024 * 1024)

static guint64
splitmix (guint64 x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static gsize
message_size (guint   client,
              guint32 seq)
{
  guint64 r = splitmix (((guint64) client << 40) | seq);
  guint k;

  if (seq == 0)
    return MAX_SIZE;
  if (seq == 1)
    return 0;
  if ((r & 1023) == 0)
    {
      k = 12 + (r >> 10) % 8;
      return ((gsize) 1 << k) + (r >> 16) % ((gsize) 1 << k);
    }
  k = (r >> 10) % 12;
  return ((gsize) 1 << k) + (r >> 16) % ((gsize) 1 << k) - 1;
}

/* The bytes of message (@client, @seq) from offset 5 on (or from 0 for a
 * short message), written to @buf. */
static void
message_fill (guint    client,
              guint32  seq,
              guint8  *buf,
              gsize    len)
{
  guint64 state = splitmix (((guint64) seq << 8) | client | (1ull << 63));

  for (gsize i = 0; i < len; i += 8)
    {
      guint64 v = splitmix (state + i);
      memcpy (buf + i, &v, MIN (8, len - i));
    }
}

static GBytes *
message_new (guint   client,
             guint32 seq)
{
  gsize size = message_size (client, seq);
  guint8 *data = g_malloc (size + 8);

  if (size >= 5)
    {
      data[0] = client;
      data[1] = seq & 0xff;
      data[2] = (seq >> 8) & 0xff;
      data[3] = (seq >> 16) & 0xff;
      data[4] = seq >> 24;
      message_fill (client, seq, data + 5, size - 5);
    }
  else
    memset (data, 0xa5, size);
  return g_bytes_new_take (data, size);
}

typedef struct
{
  /* Only touched by the listener's thread. */
  gint64   last_seq[N_CLIENTS];
  guint64  long_count[N_CLIENTS];
  guint64  short_count;
  guint64  failures;
  guint8  *scratch;
} Checker;

static char *
check_cb (PipecomPipe    *pipe,
          PipecomMessage *message,
          gpointer        user_data)
{
  Checker *c = user_data;
  gsize size;
  const guint8 *data = g_bytes_get_data (pipecom_message_get_bytes (message), &size);
  guint client;
  guint32 seq;

  if (size < 5)
    {
      for (gsize i = 0; i < size; i++)
        if (data[i] != 0xa5 && c->failures++ < 10)
          g_printerr ("soak: corrupted short message\n");
      c->short_count++;
      return NULL;
    }

  client = data[0];
  seq = data[1] | data[2] << 8 | data[3] << 16 | (guint32) data[4] << 24;
  if (client >= N_CLIENTS || seq <= c->last_seq[client] || message_size (client, seq) != size)
    {
      if (c->failures++ < 10)
        g_printerr ("soak: unexpected message: client %u seq %u (last %" G_GINT64_FORMAT
                    ") size %zu\n", client, seq,
                    client < N_CLIENTS ? c->last_seq[client] : -1, size);
      return NULL;
    }

  /* Whatever this client skipped must be short messages. */
  for (gint64 s = c->last_seq[client] + 1; s < seq; s++)
    if (message_size (client, s) >= 5)
      {
        if (c->failures++ < 10)
          g_printerr ("soak: client %u: message %" G_GINT64_FORMAT " lost\n", client, s);
      }

  message_fill (client, seq, c->scratch, size - 5);
  if (memcmp (c->scratch, data + 5, size - 5) != 0)
    {
      if (c->failures++ < 10)
        g_printerr ("soak: client %u seq %u: corrupted payload\n", client, seq);
    }

  c->last_seq[client] = seq;
  c->long_count[client]++;
  return NULL;
}

typedef struct
{
  const char *name;
  guint       client;
  guint32     n;
  guint64     expected_long;
  guint64     expected_short;
  guint64     bytes;
  guint       failures;
} SoakClient;

static gpointer
soak_client_thread (gpointer data)
{
  SoakClient *s = data;
  g_autoptr(PipecomClient) client = pipecom_client_new (s->name);

  pipecom_client_set_timeout (client, 60);
  for (guint32 seq = 0; seq < s->n; seq++)
    {
      g_autoptr(GBytes) message = message_new (s->client, seq);
      g_autoptr(GError) error = NULL;
      gsize size = g_bytes_get_size (message);

      if (size >= 5)
        s->expected_long++;
      else
        s->expected_short++;
      s->bytes += size;

      if (!pipecom_client_send_bytes (client, message, NULL, &error))
        {
          if (s->failures++ < 5)
            g_printerr ("soak: client %u seq %u: %s\n", s->client, seq, error->message);
        }
    }
  pipecom_client_close (client);
  return NULL;
}

static void
test_soak (void)
{
  g_autofree char *name = pipecom_test_make_name ("soak");
  const char *env = g_getenv ("PIPECOM_SOAK_MESSAGES");
  guint64 total = env ? g_ascii_strtoull (env, NULL, 10) : 1000000;
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  SoakClient clients[N_CLIENTS];
  GThread *threads[N_CLIENTS];
  guint64 expected_short = 0, bytes = 0, handled = 0;
  gint64 started;
  Checker checker = { { 0, } };

  g_test_summary ("1,000,000 messages of 0 B to 1 MiB from 8 clients: each handled exactly "
                  "once, byte for byte, in per-client order");

  checker.scratch = g_malloc (MAX_SIZE);
  for (guint i = 0; i < N_CLIENTS; i++)
    checker.last_seq[i] = -1;

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE,
                       "max-message-size", 2 * MAX_SIZE, "die-code", NULL, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (check_cb), &checker);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  started = g_get_monotonic_time ();
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      clients[i] = (SoakClient) { name, i, total / N_CLIENTS + (i < total % N_CLIENTS), 0, 0, 0, 0 };
      threads[i] = g_thread_new ("soak-client", soak_client_thread, &clients[i]);
    }
  for (guint i = 0; i < N_CLIENTS; i++)
    g_thread_join (threads[i]);

  /* Every send was acknowledged, so every message was handled already. */
  pipecom_test_stop_and_wait (pipe);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_assert_cmpuint (clients[i].failures, ==, 0);
      g_assert_cmpuint (checker.long_count[i], ==, clients[i].expected_long);
      /* Nothing but short messages after the last long one. */
      for (gint64 s = checker.last_seq[i] + 1; s < clients[i].n; s++)
        g_assert_cmpuint (message_size (i, s), <, 5);
      expected_short += clients[i].expected_short;
      bytes += clients[i].bytes;
      handled += checker.long_count[i];
    }
  handled += checker.short_count;
  g_test_message ("%" G_GUINT64_FORMAT " messages (%" G_GUINT64_FORMAT " short), %.1f MB, "
                  "in %.1f s", handled, expected_short, bytes / 1e6,
                  (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
  g_assert_cmpuint (checker.failures, ==, 0);
  g_assert_cmpuint (checker.short_count, ==, expected_short);
  g_assert_cmpuint (handled, ==, total);
  g_free (checker.scratch);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/soak/million", test_soak);

  return g_test_run ();
}
