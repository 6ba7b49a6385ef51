/* bench-nng.c: nng req/rep over ipc://
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The listener is one rep0 socket listening on ipc://ADDRESS; it answers
 * every message with its first bench_reply_size() bytes (its 8-byte tag, or
 * 16 bytes in W1r).  A one-shot round trip is a fresh req0
 * socket, dialled, used once and closed.
 */

#include "bench-common.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
nng_peer_listen (const char *address)
{
  char url[4200];
  nng_socket sock;
  int rv;

  snprintf (url, sizeof url, "ipc://%s", address);
  unlink (address);
  if ((rv = nng_rep0_open (&sock)) != 0 ||
      (rv = nng_socket_set_size (sock, NNG_OPT_RECVMAXSZ, 0)) != 0 ||
      (rv = nng_listen (sock, url, NULL, 0)) != 0)
    {
      fprintf (stderr, "%s: %s\n", url, nng_strerror (rv));
      return 1;
    }
  bench_ready ();
  for (;;)
    {
      uint8_t reply[BENCH_REPLY_SIZE];
      size_t reply_len;
      void *buf;
      size_t len;

      if (nng_recv (sock, &buf, &len, NNG_FLAG_ALLOC) != 0)
        continue;
      reply_len = bench_reply_size (buf);
      memcpy (reply, buf, reply_len);
      nng_free (buf, len);
      bench_handled ();
      nng_send (sock, reply, reply_len, 0);
    }
}

static void *
nng_peer_connect (const char *address)
{
  char url[4200];
  nng_socket *sock = malloc (sizeof (nng_socket));
  int rv;

  snprintf (url, sizeof url, "ipc://%s", address);
  if ((rv = nng_req0_open (sock)) != 0 || (rv = nng_dial (*sock, url, NULL, 0)) != 0)
    {
      fprintf (stderr, "%s: %s\n", url, nng_strerror (rv));
      free (sock);
      return NULL;
    }
  return sock;
}

static bool
nng_peer_request (void          *conn,
                  const uint8_t *msg,
                  size_t         len,
                  uint8_t       *reply)
{
  nng_socket *sock = conn;
  size_t reply_len = BENCH_REPLY_SIZE;

  if (nng_send (*sock, (void *) msg, len, 0) != 0)
    return false;
  return nng_recv (*sock, reply, &reply_len, 0) == 0 && reply_len == bench_reply_size (msg);
}

static void
nng_peer_disconnect (void *conn)
{
  nng_socket *sock = conn;

  nng_close (*sock);
  free (sock);
}

static bool
nng_peer_oneshot (const char    *address,
                  const uint8_t *msg,
                  size_t         len,
                  uint8_t       *reply)
{
  void *conn = nng_peer_connect (address);
  bool ok;

  if (conn == NULL)
    return false;
  ok = nng_peer_request (conn, msg, len, reply);
  nng_peer_disconnect (conn);
  return ok;
}

static const BenchPeer peer = {
  "nng", nng_peer_listen, nng_peer_connect, nng_peer_request, nng_peer_oneshot, nng_peer_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
