/* bench-unix-socket.c: a Unix stream socket with length-prefixed frames
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Frames are a u32 payload length and the payload; the listener answers
 * each with a u32 length and the message's first bench_reply_size() bytes
 * (the 8-byte tag, or 16 bytes in W1r), by one write().  It serves all
 * its connections from one poll() loop, with blocking reads of whole frames.
 */

#include "bench-common.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool
make_address (const char         *address,
              struct sockaddr_un *sun)
{
  memset (sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (strlen (address) >= sizeof sun->sun_path)
    return false;
  strcpy (sun->sun_path, address);
  return true;
}

static int
unix_listen (const char *address)
{
  struct sockaddr_un sun;
  struct pollfd *fds;
  size_t n_fds = 1, fds_alloc = 64, buf_size = 4096;
  uint8_t *buf = malloc (buf_size);
  uint8_t reply[4 + BENCH_REPLY_SIZE];
  int lfd;

  unlink (address);
  lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!make_address (address, &sun) ||
      bind (lfd, (struct sockaddr *) &sun, sizeof sun) < 0 ||
      listen (lfd, 512) < 0)
    {
      perror (address);
      return 1;
    }
  fds = calloc (fds_alloc, sizeof (struct pollfd));
  fds[0].fd = lfd;
  fds[0].events = POLLIN;
  bench_ready ();

  for (;;)
    {
      if (poll (fds, n_fds, -1) < 0)
        continue;
      for (size_t i = n_fds; i-- > 1;)
        {
          uint32_t len, reply_len;

          if (fds[i].revents == 0)
            continue;
          if (!bench_read_full (fds[i].fd, &len, 4))
            {
              close (fds[i].fd);
              fds[i] = fds[--n_fds];
              continue;
            }
          if (len < BENCH_MIN_SIZE)
            return 1;
          if (len > buf_size)
            {
              buf_size = len;
              buf = realloc (buf, buf_size);
            }
          if (!bench_read_full (fds[i].fd, buf, len))
            return 1;
          bench_handled ();
          reply_len = (uint32_t) bench_reply_size (buf);
          memcpy (reply, &reply_len, 4);
          memcpy (reply + 4, buf, reply_len);
          bench_write_full (fds[i].fd, reply, 4 + reply_len);
        }
      if (fds[0].revents & POLLIN)
        {
          int cfd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);

          if (cfd >= 0)
            {
              if (n_fds == fds_alloc)
                {
                  fds_alloc *= 2;
                  fds = realloc (fds, fds_alloc * sizeof (struct pollfd));
                }
              fds[n_fds].fd = cfd;
              fds[n_fds].events = POLLIN;
              fds[n_fds].revents = 0;
              n_fds++;
            }
        }
    }
}

static void *
unix_connect (const char *address)
{
  struct sockaddr_un sun;
  int *fd = malloc (sizeof (int));

  *fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!make_address (address, &sun) ||
      connect (*fd, (struct sockaddr *) &sun, sizeof sun) < 0)
    {
      perror (address);
      close (*fd);
      free (fd);
      return NULL;
    }
  return fd;
}

static bool
unix_request (void          *conn,
              const uint8_t *msg,
              size_t         len,
              uint8_t       *reply)
{
  int fd = *(int *) conn;
  uint32_t len32 = (uint32_t) len;
  uint32_t reply_len = (uint32_t) bench_reply_size (msg);
  uint8_t buf[4 + BENCH_REPLY_SIZE];

  if (!bench_writev2 (fd, &len32, 4, msg, len) ||
      !bench_read_full (fd, buf, 4 + reply_len) || memcmp (buf, &reply_len, 4) != 0)
    return false;
  memcpy (reply, buf + 4, reply_len);
  return true;
}

static void
unix_disconnect (void *conn)
{
  close (*(int *) conn);
  free (conn);
}

static bool
unix_oneshot (const char    *address,
              const uint8_t *msg,
              size_t         len,
              uint8_t       *reply)
{
  void *conn = unix_connect (address);
  bool ok;

  if (conn == NULL)
    return false;
  ok = unix_request (conn, msg, len, reply);
  unix_disconnect (conn);
  return ok;
}

static const BenchPeer peer = {
  "unix-socket", unix_listen, unix_connect, unix_request, unix_oneshot, unix_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
