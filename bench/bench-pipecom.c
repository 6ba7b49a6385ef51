/* bench-pipecom.c: PipeCom, as a normal user writes it
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The listener is a PipecomPipe on the path ADDRESS with a
 * "message-received" handler, served by pipecom_pipe_run() (the default
 * build), or by a pipe of its own thread ("threaded", built with
 * BENCH_THREADED).  The handler acknowledges each message by returning NULL,
 * or, when the client asks for a reply (byte 8: BENCH_WANT_TAG in W4,
 * BENCH_WANT_REPLY in W1r), replies with pipecom_message_reply_bytes() and
 * the message's first bench_reply_size() bytes (8 or 16), which the client
 * checks.
 *
 * Persistent connections are PipecomClient (pipecom_client_send_bytes(), or
 * pipecom_client_request_bytes() when a reply is wanted); one-shot round
 * trips are pipecom_send_bytes(). Calls have the default time budget, none,
 * or, built with BENCH_TIMEOUT=60 ("pipecom-timeout"), 60 seconds.
 */

#include "bench-common.h"

#include <pipecom.h>
#include <string.h>
#include <unistd.h>

/* The time budget of each call, in seconds: the default, 0 (none), as the
 * other peers' calls have none; bench-pipecom-timeout sets 60. */
#ifndef BENCH_TIMEOUT
#define BENCH_TIMEOUT 0
#endif

static char *
message_received_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  GBytes *bytes = pipecom_message_get_bytes (message);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  bench_handled ();
  if (len >= BENCH_MIN_SIZE && data[BENCH_TAG_SIZE] != BENCH_WANT_ACK)
    {
      g_autoptr(GBytes) reply = g_bytes_new_from_bytes (bytes, 0, bench_reply_size (data));

      pipecom_message_reply_bytes (message, reply);
    }
  return NULL;
}

static int
bench_pipecom_listen (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;

  unlink (address);
  pipe = g_object_new (PIPECOM_TYPE_PIPE,
                       "name", address,
#ifdef BENCH_THREADED
                       "threaded", TRUE,
#endif
                       NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (message_received_cb), NULL);
#ifdef BENCH_THREADED
  if (!pipecom_pipe_listen (pipe, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  bench_ready ();
  for (;;)
    pause ();
#else
  /* pipecom_pipe_run() listens, then serves: say "ready" from its loop. */
  g_idle_add_once ((GSourceOnceFunc) bench_ready, NULL);
  if (!pipecom_pipe_run (pipe, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return 0;
#endif
}

static void *
bench_pipecom_connect (const char *address)
{
  g_autoptr(GError) error = NULL;
  PipecomClient *client = pipecom_client_new (address);

  pipecom_client_set_timeout (client, BENCH_TIMEOUT);
  if (!pipecom_client_connect (client, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      g_object_unref (client);
      return NULL;
    }
  return client;
}

static bool
bench_pipecom_request (void          *conn,
                       const uint8_t *msg,
                       size_t         len,
                       uint8_t       *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new_static (msg, len);
  size_t reply_size = bench_reply_size (msg);

  if (msg[BENCH_TAG_SIZE] != BENCH_WANT_ACK)
    {
      g_autoptr(GBytes) answer = pipecom_client_request_bytes (conn, bytes, NULL, &error);

      if (answer == NULL || g_bytes_get_size (answer) != reply_size)
        {
          g_printerr ("%s\n", error != NULL ? error->message : "no reply, or a wrong one");
          return false;
        }
      memcpy (reply, g_bytes_get_data (answer, NULL), reply_size);
      return true;
    }
  if (!pipecom_client_send_bytes (conn, bytes, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return false;
    }
  /* The acknowledgement was matched to this message by its id. */
  memcpy (reply, msg, reply_size);
  return true;
}

static void
bench_pipecom_disconnect (void *conn)
{
  pipecom_client_close (conn);
  g_object_unref (conn);
}

static bool
bench_pipecom_oneshot (const char    *address,
                       const uint8_t *msg,
                       size_t         len,
                       uint8_t       *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new_static (msg, len);

  if (!pipecom_send_bytes (address, bytes, BENCH_TIMEOUT, 3, &error))
    {
      g_printerr ("%s\n", error->message);
      return false;
    }
  memcpy (reply, msg, bench_reply_size (msg));
  return true;
}

static const BenchPeer peer = {
  "pipecom", bench_pipecom_listen, bench_pipecom_connect, bench_pipecom_request,
  bench_pipecom_oneshot, bench_pipecom_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
