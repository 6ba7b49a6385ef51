/* bench-zmq.c: ZeroMQ REQ/REP over ipc://
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The listener is one REP socket bound to ipc://ADDRESS; it answers every
 * message with its first bench_reply_size() bytes (its 8-byte tag, or 16
 * bytes in W1r).  A one-shot round trip is a fresh REQ socket
 * (in the process's one context), connected, used once and closed.
 */

#include "bench-common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void *context;

static void *
get_context (void)
{
  if (context == NULL)
    context = zmq_ctx_new ();
  return context;
}

static int
zmq_peer_listen (const char *address)
{
  char endpoint[4200];
  void *sock = zmq_socket (get_context (), ZMQ_REP);
  zmq_msg_t msg;

  snprintf (endpoint, sizeof endpoint, "ipc://%s", address);
  unlink (address);
  if (zmq_bind (sock, endpoint) < 0)
    {
      fprintf (stderr, "%s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
      return 1;
    }
  bench_ready ();
  zmq_msg_init (&msg);
  for (;;)
    {
      uint8_t reply[BENCH_REPLY_SIZE];
      size_t len;

      if (zmq_msg_recv (&msg, sock, 0) < 0)
        continue;
      len = bench_reply_size (zmq_msg_data (&msg));
      memcpy (reply, zmq_msg_data (&msg), len);
      bench_handled ();
      zmq_send (sock, reply, len, 0);
    }
}

static void *
zmq_peer_connect (const char *address)
{
  char endpoint[4200];
  void *sock = zmq_socket (get_context (), ZMQ_REQ);
  int linger = 0;

  snprintf (endpoint, sizeof endpoint, "ipc://%s", address);
  zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_connect (sock, endpoint) < 0)
    {
      fprintf (stderr, "%s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
      zmq_close (sock);
      return NULL;
    }
  return sock;
}

static bool
zmq_peer_request (void          *conn,
                  const uint8_t *msg,
                  size_t         len,
                  uint8_t       *reply)
{
  if (zmq_send (conn, msg, len, 0) < 0)
    return false;
  return zmq_recv (conn, reply, BENCH_REPLY_SIZE, 0) == (int) bench_reply_size (msg);
}

static void
zmq_peer_disconnect (void *conn)
{
  zmq_close (conn);
}

static bool
zmq_peer_oneshot (const char    *address,
                  const uint8_t *msg,
                  size_t         len,
                  uint8_t       *reply)
{
  void *conn = zmq_peer_connect (address);
  bool ok;

  if (conn == NULL)
    return false;
  ok = zmq_peer_request (conn, msg, len, reply);
  zmq_peer_disconnect (conn);
  return ok;
}

static const BenchPeer peer = {
  "zmq", zmq_peer_listen, zmq_peer_connect, zmq_peer_request, zmq_peer_oneshot, zmq_peer_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
