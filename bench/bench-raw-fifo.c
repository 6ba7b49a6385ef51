/* bench-raw-fifo.c: the baseline, two FIFOs with length-prefixed frames
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The listener reads the well-known FIFO ADDRESS with blocking I/O.  Every
 * record there is a 12-byte header (u32 payload length, u32 connection id,
 * u32 kind) and its payload, written with one writev(), so records of at
 * most PIPE_BUF bytes from many clients never interleave:
 *
 *   HELLO    the client's reply FIFO path: the listener opens it and keeps it
 *   MESSAGE  a message: answered on the connection's FIFO
 *   ONESHOT  u16 path length, a private reply FIFO path, the message
 *   BYE      the listener closes the connection's reply FIFO
 *
 * Replies are a u32 length and the message's first bench_reply_size()
 * bytes (the 8-byte tag, or 16 bytes in W1r), by one write().
 */

#include "bench-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { HELLO = 1, MESSAGE = 2, ONESHOT = 3, BYE = 4 };

typedef struct
{
  uint32_t id;
  int      fd;
} Conn;

static Conn *conns;
static size_t n_conns, conns_alloc;

static int
find_conn (uint32_t id)
{
  static size_t last;

  if (last < n_conns && conns[last].id == id)
    return conns[last].fd;
  for (size_t i = 0; i < n_conns; i++)
    if (conns[i].id == id)
      {
        last = i;
        return conns[i].fd;
      }
  return -1;
}

/* Fills @reply with the reply to @msg; returns its size. */
static size_t
make_reply (uint8_t       *reply,
            const uint8_t *msg)
{
  uint32_t len = (uint32_t) bench_reply_size (msg);

  memcpy (reply, &len, 4);
  memcpy (reply + 4, msg, len);
  return 4 + len;
}

static int
raw_listen (const char *address)
{
  size_t buf_size = 4096;
  uint8_t *buf = malloc (buf_size);
  uint8_t reply[4 + BENCH_REPLY_SIZE];
  int fd;

  unlink (address);
  if (mkfifo (address, 0600) < 0 || (fd = open (address, O_RDWR)) < 0)
    {
      perror (address);
      return 1;
    }
  bench_ready ();

  for (;;)
    {
      uint32_t hdr[3];

      if (!bench_read_full (fd, hdr, sizeof hdr))
        return 1;
      if (hdr[0] + 1 > buf_size)
        {
          buf_size = hdr[0] + 1;
          buf = realloc (buf, buf_size);
        }
      if (!bench_read_full (fd, buf, hdr[0]))
        return 1;

      switch (hdr[2])
        {
        case HELLO:
          buf[hdr[0]] = 0;
          if (n_conns == conns_alloc)
            {
              conns_alloc = conns_alloc ? conns_alloc * 2 : 16;
              conns = realloc (conns, conns_alloc * sizeof (Conn));
            }
          conns[n_conns].id = hdr[1];
          conns[n_conns].fd = open ((char *) buf, O_WRONLY);
          n_conns++;
          break;
        case MESSAGE:
          bench_handled ();
          bench_write_full (find_conn (hdr[1]), reply, make_reply (reply, buf));
          break;
        case ONESHOT:
          {
            uint16_t plen;
            size_t reply_len;
            int rfd;

            memcpy (&plen, buf, 2);
            bench_handled ();
            reply_len = make_reply (reply, buf + 2 + plen);
            memmove (buf, buf + 2, plen);
            buf[plen] = 0;
            rfd = open ((char *) buf, O_WRONLY | O_NONBLOCK);
            if (rfd >= 0)
              {
                bench_write_full (rfd, reply, reply_len);
                close (rfd);
              }
          }
          break;
        case BYE:
          for (size_t i = 0; i < n_conns; i++)
            if (conns[i].id == hdr[1])
              {
                close (conns[i].fd);
                conns[i] = conns[--n_conns];
                break;
              }
          break;
        default:
          fprintf (stderr, "bad record\n");
          return 1;
        }
    }
}

typedef struct
{
  int      req_fd;
  int      rep_fd;
  int      keep_fd;
  uint32_t id;
  char     path[4096];
} RawConn;

static unsigned counter;

/* A reply FIFO, open for reading; @keep_fd holds a write end so that reads
 * block instead of seeing end of file before the listener opens it. */
static bool
make_reply_fifo (const char *address,
                 char       *path,
                 int        *rep_fd,
                 int        *keep_fd)
{
  snprintf (path, 4096, "%s.r%d-%u", address, (int) getpid (), counter++);
  unlink (path);
  if (mkfifo (path, 0600) < 0)
    return false;
  *rep_fd = open (path, O_RDONLY | O_NONBLOCK);
  *keep_fd = open (path, O_WRONLY);
  if (*rep_fd < 0 || *keep_fd < 0)
    return false;
  fcntl (*rep_fd, F_SETFL, 0);
  return true;
}

static void *
raw_connect (const char *address)
{
  RawConn *c = calloc (1, sizeof (RawConn));
  uint32_t hdr[3];

  c->id = (uint32_t) getpid () * 1024u + counter;
  if (!make_reply_fifo (address, c->path, &c->rep_fd, &c->keep_fd) ||
      (c->req_fd = open (address, O_WRONLY)) < 0)
    {
      perror (address);
      return NULL;
    }
  hdr[0] = (uint32_t) strlen (c->path);
  hdr[1] = c->id;
  hdr[2] = HELLO;
  if (!bench_writev2 (c->req_fd, hdr, sizeof hdr, c->path, hdr[0]))
    return NULL;
  return c;
}

static bool
read_reply (int            fd,
            const uint8_t *msg,
            uint8_t       *reply)
{
  uint8_t buf[4 + BENCH_REPLY_SIZE];
  uint32_t len = (uint32_t) bench_reply_size (msg);

  /* The listener writes a reply with one write(): read it at once. */
  if (!bench_read_full (fd, buf, 4 + len) || memcmp (buf, &len, 4) != 0)
    return false;
  memcpy (reply, buf + 4, len);
  return true;
}

static bool
raw_request (void          *conn,
             const uint8_t *msg,
             size_t         len,
             uint8_t       *reply)
{
  RawConn *c = conn;
  uint32_t hdr[3] = { (uint32_t) len, c->id, MESSAGE };

  return bench_writev2 (c->req_fd, hdr, sizeof hdr, msg, len) && read_reply (c->rep_fd, msg, reply);
}

static void
raw_disconnect (void *conn)
{
  RawConn *c = conn;
  uint32_t hdr[3] = { 0, c->id, BYE };

  bench_write_full (c->req_fd, hdr, sizeof hdr);
  close (c->req_fd);
  close (c->rep_fd);
  close (c->keep_fd);
  unlink (c->path);
  free (c);
}

static bool
raw_oneshot (const char    *address,
             const uint8_t *msg,
             size_t         len,
             uint8_t       *reply)
{
  char path[4096];
  uint8_t *rec;
  uint16_t plen;
  uint32_t hdr[3];
  int rep_fd = -1, keep_fd = -1, req_fd;
  bool ok;

  if (!make_reply_fifo (address, path, &rep_fd, &keep_fd))
    return false;
  plen = (uint16_t) strlen (path);
  rec = malloc (2 + plen + len);
  memcpy (rec, &plen, 2);
  memcpy (rec + 2, path, plen);
  memcpy (rec + 2 + plen, msg, len);
  hdr[0] = (uint32_t) (2 + plen + len);
  hdr[1] = 0;
  hdr[2] = ONESHOT;
  req_fd = open (address, O_WRONLY);
  ok = req_fd >= 0 &&
       bench_writev2 (req_fd, hdr, sizeof hdr, rec, hdr[0]) &&
       read_reply (rep_fd, msg, reply);
  if (req_fd >= 0)
    close (req_fd);
  close (rep_fd);
  close (keep_fd);
  unlink (path);
  free (rec);
  return ok;
}

static const BenchPeer peer = {
  "raw-fifo", raw_listen, raw_connect, raw_request, raw_oneshot, raw_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
