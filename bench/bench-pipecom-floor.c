/* bench-pipecom-floor.c: PipeCom's system calls, and no other work
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A peer that makes the system calls PipeCom makes per message (as strace
 * shows them on Linux), in the same order and on the same kinds of file
 * descriptors, and does next to nothing else: what PipeCom's round trips
 * would cost if its user-space work were free.  See "The floor" in
 * bench/README.md.
 *
 * The records are those of the raw FIFO pair (bench-raw-fifo.c): a 12-byte
 * header (u32 payload length, u32 connection id, u32 kind) and the payload.
 * The listener makes the well-known FIFO ADDRESS, where clients announce
 * themselves:
 *
 *   HELLO    a persistent connection: the paths of the client's request
 *            FIFO and reply FIFO, NUL-separated; the listener opens both
 *   ONESHOT  u16 path length, a private reply FIFO path (in the directory
 *            of ADDRESS), the message
 *
 * A persistent connection's messages (MESSAGE) are on its own request FIFO,
 * as PipeCom's are.  The listener answers each message with REPLY, the
 * message's first bench_reply_size() bytes, by one writev() of the header
 * and the payload; a one-shot sender first gets a 16-byte HELLO, by a
 * writev() of its own.
 *
 * Every descriptor but a persistent client's reply FIFO is non-blocking, and
 * every other read is preceded by a poll(): the client's calls have no
 * timeout (PipeCom's default), so it waits in a blocking read() of its reply
 * FIFO, as PipeCom's does then; a one-shot sender polls its reply FIFO
 * (100 ms, again until its reply is in); the listener polls an eventfd (GLib's main-context
 * wake-up), the well-known FIFO and, per connection, its request FIFO
 * (POLLIN; its reply FIFO only while output waits, which this peer never
 * leaves), with a timeout of 29,999 ms while it has connections, none
 * without.  Reads take up to
 * 64 KiB (the well-known FIFO: 5,120 bytes) and every complete record in
 * them.  A writer that gets EAGAIN polls for POLLOUT and goes on.
 */

#include "bench-common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum { HELLO = 1, MESSAGE = 2, ONESHOT = 3, REPLY = 5 };

#define HEADER_SIZE      12
#define READ_SIZE        65536
#define ANNOUNCE_SIZE    5120
#define CLIENT_TIMEOUT   60000
#define LISTEN_TIMEOUT   29999
#define ONESHOT_TIMEOUT  100
#define LISTENER_HELLO   16

/* Writes @iov (@n_iov buffers) to the non-blocking @fd, polling for POLLOUT
 * whenever the pipe is full. */
static bool
writev_all (int           fd,
            struct iovec *iov,
            int           n_iov)
{
  while (n_iov > 0)
    {
      ssize_t n = writev (fd, iov, n_iov);

      if (n < 0 && errno == EAGAIN)
        {
          struct pollfd pfd = { fd, POLLOUT, 0 };
          int r = poll (&pfd, 1, CLIENT_TIMEOUT);

          if (r == 0 || (r < 0 && errno != EINTR))
            return false;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return false;
      while (n_iov > 0 && (size_t) n >= iov->iov_len)
        {
          n -= (ssize_t) iov->iov_len;
          iov++;
          n_iov--;
        }
      if (n_iov > 0)
        {
          iov->iov_base = (uint8_t *) iov->iov_base + n;
          iov->iov_len -= (size_t) n;
        }
    }
  return true;
}

static bool
send_record (int         fd,
             uint32_t    kind,
             uint32_t    id,
             const void *payload,
             size_t      len)
{
  uint32_t hdr[3] = { (uint32_t) len, id, kind };
  struct iovec iov[2] = { { hdr, HEADER_SIZE }, { (void *) payload, len } };

  return writev_all (fd, iov, 2);
}

/* A growing buffer of received bytes: @len of them, from @data. */
typedef struct
{
  uint8_t *data;
  size_t   len;
  size_t   alloc;
} Buffer;

/* One read() of up to @max bytes into @buf: its result. */
static ssize_t
buffer_read (Buffer *buf,
             int     fd,
             size_t  max)
{
  ssize_t n;

  if (buf->alloc < buf->len + max)
    {
      buf->alloc = buf->len + max;
      buf->data = realloc (buf->data, buf->alloc);
    }
  n = read (fd, buf->data + buf->len, max);
  if (n > 0)
    buf->len += (size_t) n;
  return n;
}

/* The next complete record of @buf from @offset: its header in @hdr and its
 * payload, or NULL. */
static const uint8_t *
next_record (const Buffer *buf,
             size_t       *offset,
             uint32_t     *hdr)
{
  const uint8_t *p = buf->data + *offset;

  if (buf->len - *offset < HEADER_SIZE)
    return NULL;
  memcpy (hdr, p, HEADER_SIZE);
  if (buf->len - *offset - HEADER_SIZE < hdr[0])
    return NULL;
  *offset += HEADER_SIZE + hdr[0];
  return p + HEADER_SIZE;
}

/* Drops the first @offset bytes of @buf, the records taken. */
static void
buffer_consume (Buffer *buf,
                size_t  offset)
{
  if (offset == 0)
    return;
  buf->len -= offset;
  memmove (buf->data, buf->data + offset, buf->len);
}

/* Splits @path into its directory (in @dir, 4096 bytes) and its last
 * component (returned). */
static const char *
split_path (const char *path,
            char       *dir)
{
  const char *slash = strrchr (path, '/');

  if (slash == NULL)
    {
      strcpy (dir, ".");
      return path;
    }
  snprintf (dir, 4096, "%.*s", (int) (slash == path ? 1 : slash - path), path);
  return slash + 1;
}

/* The listener. */

typedef struct
{
  uint32_t id;
  int      in_fd;
  int      out_fd;
  Buffer   in;
} Conn;

static Conn **conns;
static size_t n_conns, conns_alloc;

static void
add_conn (int         dir_fd,
          uint32_t    id,
          const char *paths)
{
  char dir[4096];
  const char *req = split_path (paths, dir);
  const char *rep = split_path (paths + strlen (paths) + 1, dir);
  Conn *c = calloc (1, sizeof (Conn));

  c->id = id;
  c->in_fd = openat (dir_fd, req, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  c->out_fd = openat (dir_fd, rep, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (c->in_fd < 0 || c->out_fd < 0)
    {
      perror ("a client's FIFO");
      if (c->in_fd >= 0)
        close (c->in_fd);
      if (c->out_fd >= 0)
        close (c->out_fd);
      free (c);
      return;
    }
  if (n_conns == conns_alloc)
    {
      conns_alloc = conns_alloc ? conns_alloc * 2 : 16;
      conns = realloc (conns, conns_alloc * sizeof (Conn *));
    }
  conns[n_conns++] = c;
}

/* A one-shot message: PipeCom's checks of the sender's reply FIFO, its
 * HELLO, the reply. */
static void
oneshot (int            dir_fd,
         const uint8_t *payload,
         size_t         len)
{
  static const uint8_t hello[LISTENER_HELLO] = { 1 };
  char dir[4096], path[4096];
  const char *leaf;
  const uint8_t *msg;
  uint16_t plen;
  struct stat st, fst;
  uid_t uid;
  int fd;

  memcpy (&plen, payload, 2);
  if (2u + plen + BENCH_MIN_SIZE > len)
    return;
  msg = payload + 2 + plen;
  bench_handled ();
  memcpy (path, payload + 2, plen);
  path[plen] = 0;
  leaf = split_path (path, dir);

  uid = geteuid ();
  if (fstatat (dir_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
      !S_ISFIFO (st.st_mode) || st.st_uid != uid)
    return;
  fd = openat (dir_fd, leaf, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  if (fstat (fd, &fst) == 0 && fst.st_ino == st.st_ino && fst.st_dev == st.st_dev &&
      send_record (fd, HELLO, 0, hello, sizeof hello))
    send_record (fd, REPLY, 0, msg, bench_reply_size (msg));
  close (fd);
}

static void
handle_announcements (int     dir_fd,
                      Buffer *buf)
{
  size_t offset = 0;
  const uint8_t *payload;
  uint32_t hdr[3];

  while ((payload = next_record (buf, &offset, hdr)) != NULL)
    {
      if (hdr[2] == ONESHOT)
        oneshot (dir_fd, payload, hdr[0]);
      else if (hdr[2] == HELLO && hdr[0] > 0 && payload[hdr[0] - 1] == 0)
        add_conn (dir_fd, hdr[1], (const char *) payload);
      else
        fprintf (stderr, "bad announcement\n");
    }
  buffer_consume (buf, offset);
}

/* Reads what @c has sent and answers every complete message; false once it
 * is gone. */
static bool
serve_conn (Conn *c)
{
  size_t offset = 0;
  const uint8_t *msg;
  uint32_t hdr[3];
  ssize_t n = buffer_read (&c->in, c->in_fd, READ_SIZE);

  if (n < 0)
    return errno == EAGAIN || errno == EINTR;
  if (n == 0)
    return false;
  while ((msg = next_record (&c->in, &offset, hdr)) != NULL)
    {
      if (hdr[2] != MESSAGE || hdr[0] < BENCH_MIN_SIZE)
        return false;
      bench_handled ();
      if (!send_record (c->out_fd, REPLY, c->id, msg, bench_reply_size (msg)))
        return false;
    }
  buffer_consume (&c->in, offset);
  return true;
}

static void
close_conn (Conn *c)
{
  close (c->in_fd);
  close (c->out_fd);
  free (c->in.data);
  free (c);
}

static int
floor_listen (const char *address)
{
  char dir[4096];
  struct pollfd *fds = NULL;
  size_t fds_alloc = 0;
  Buffer announcements = { NULL, 0, 0 };
  int efd, fd, dir_fd;

  unlink (address);
  split_path (address, dir);
  if (mkfifo (address, 0600) < 0 ||
      (fd = open (address, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0 ||
      (dir_fd = open (dir, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_PATH | O_DIRECTORY)) < 0 ||
      (efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
    {
      perror (address);
      return 1;
    }
  bench_ready ();

  for (;;)
    {
      size_t nfds = 2 + n_conns, kept = 0;
      int n;

      if (nfds > fds_alloc)
        {
          fds_alloc = nfds * 2;
          fds = realloc (fds, fds_alloc * sizeof (struct pollfd));
        }
      fds[0] = (struct pollfd) { efd, POLLIN, 0 };
      fds[1] = (struct pollfd) { fd, POLLIN, 0 };
      for (size_t i = 0; i < n_conns; i++)
        fds[2 + i] = (struct pollfd) { conns[i]->in_fd, POLLIN, 0 };

      n = poll (fds, nfds, n_conns > 0 ? LISTEN_TIMEOUT : -1);
      if (n < 0 && errno != EINTR)
        {
          perror ("poll");
          return 1;
        }
      if (n <= 0)
        continue;

      /* The connections first: an announcement may add one. */
      for (size_t i = 0; i < n_conns; i++)
        {
          Conn *c = conns[i];
          short in = fds[2 + i].revents;
          bool alive = !(in & POLLNVAL);

          if (alive && (in & (POLLIN | POLLHUP | POLLERR)))
            alive = serve_conn (c);
          if (alive)
            conns[kept++] = c;
          else
            close_conn (c);
        }
      n_conns = kept;

      if (fds[1].revents & POLLIN)
        {
          ssize_t r = buffer_read (&announcements, fd, ANNOUNCE_SIZE);

          if (r < 0 && errno != EAGAIN && errno != EINTR)
            {
              perror (address);
              return 1;
            }
          handle_announcements (dir_fd, &announcements);
        }
    }
}

/* The client. */

typedef struct
{
  int      req_fd;
  int      rep_fd;
  bool     rep_blocking;   /* rep_fd, after the first reply */
  uint32_t id;
  Buffer   in;
  char     req_path[4096];
  char     rep_path[4096];
} FloorConn;

static unsigned counter;

static int
get_pid (void)
{
  static int pid;

  if (pid == 0)
    pid = (int) getpid ();
  return pid;
}

/* Polls @fd (@timeout_ms again and again, until 60 s have passed; -1: reads
 * the blocking @fd without a poll) and reads it into @buf until it holds a
 * complete record; that record in @hdr and its payload, the bytes of records
 * before it consumed. */
static const uint8_t *
read_record (int       fd,
             Buffer   *buf,
             int       timeout_ms,
             uint32_t *hdr)
{
  int waits = timeout_ms > 0 ? CLIENT_TIMEOUT / timeout_ms : 0;

  for (;;)
    {
      size_t offset = 0;
      const uint8_t *p = next_record (buf, &offset, hdr);
      struct pollfd pfd = { fd, POLLIN, 0 };
      int n;
      ssize_t r;

      if (p != NULL)
        return p;
      if (timeout_ms < 0)
        {
          r = buffer_read (buf, fd, READ_SIZE);
          if (r == 0 || (r < 0 && errno != EINTR))
            return NULL;
          continue;
        }
      n = poll (&pfd, 1, timeout_ms);
      if (n < 0 && errno != EINTR)
        return NULL;
      if (n == 0 && --waits <= 0)
        {
          fprintf (stderr, "error: no reply in %d ms\n", CLIENT_TIMEOUT);
          return NULL;
        }
      if (n <= 0)
        continue;
      r = buffer_read (buf, fd, READ_SIZE);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        return NULL;
    }
}

/* Takes @buf's first record, a REPLY to @msg, into @reply. */
static bool
take_reply (Buffer         *buf,
            const uint32_t *hdr,
            const uint8_t  *payload,
            const uint8_t  *msg,
            uint8_t        *reply)
{
  size_t len = bench_reply_size (msg);

  if (hdr[2] != REPLY || hdr[0] != len)
    {
      fprintf (stderr, "error: not a reply\n");
      return false;
    }
  memcpy (reply, payload, len);
  buffer_consume (buf, HEADER_SIZE + hdr[0]);
  return true;
}

static void *
floor_connect (const char *address)
{
  FloorConn *c = calloc (1, sizeof (FloorConn));
  char paths[8192];
  size_t req_len, rep_len;
  int fd, flags;

  c->id = (uint32_t) get_pid () * 1024u + counter;
  snprintf (c->req_path, sizeof c->req_path, "%s.q%d-%u", address, get_pid (), counter);
  snprintf (c->rep_path, sizeof c->rep_path, "%s.r%d-%u", address, get_pid (), counter++);
  req_len = strlen (c->req_path);
  rep_len = strlen (c->rep_path);
  memcpy (paths, c->req_path, req_len + 1);
  memcpy (paths + req_len + 1, c->rep_path, rep_len + 1);
  unlink (c->req_path);
  unlink (c->rep_path);
  if (mkfifo (c->req_path, 0600) < 0 || mkfifo (c->rep_path, 0600) < 0 ||
      (c->rep_fd = open (c->rep_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
      (fd = open (address, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
    {
      perror (address);
      return NULL;
    }
  if (!send_record (fd, HELLO, c->id, paths, req_len + rep_len + 2))
    return NULL;
  close (fd);
  /* Blocks until the listener has opened it. */
  c->req_fd = open (c->req_path, O_WRONLY | O_CLOEXEC);
  if (c->req_fd < 0 || (flags = fcntl (c->req_fd, F_GETFL)) < 0 ||
      fcntl (c->req_fd, F_SETFL, flags | O_NONBLOCK) < 0)
    {
      perror (c->req_path);
      return NULL;
    }
  return c;
}

static bool
floor_request (void          *conn,
               const uint8_t *msg,
               size_t         len,
               uint8_t       *reply)
{
  FloorConn *c = conn;
  const uint8_t *payload;
  uint32_t hdr[3];

  if (!send_record (c->req_fd, MESSAGE, c->id, msg, len))
    return false;
  payload = read_record (c->rep_fd, &c->in, c->rep_blocking ? -1 : CLIENT_TIMEOUT, hdr);
  if (payload == NULL || !take_reply (&c->in, hdr, payload, msg, reply))
    return false;

  /* A reply came: the listener holds the reply FIFO open, and a blocking
   * read() of it now waits for the next one rather than seeing no writer
   * (EOF). PipeCom's client, connected once the listener's HELLO came on
   * it, makes it blocking in its first call. */
  if (!c->rep_blocking)
    {
      int flags = fcntl (c->rep_fd, F_GETFL);

      if (flags < 0 || fcntl (c->rep_fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        {
          perror (c->rep_path);
          return false;
        }
      c->rep_blocking = true;
    }
  return true;
}

static void
floor_disconnect (void *conn)
{
  FloorConn *c = conn;

  close (c->req_fd);
  close (c->rep_fd);
  unlink (c->req_path);
  unlink (c->rep_path);
  free (c->in.data);
  free (c);
}

/* PipeCom's one-shot send: its checks of the listener's FIFO and of the
 * directory, a reply FIFO made there, one write() of the announcement with
 * the message, the listener's HELLO and reply read, everything closed. */
static bool
floor_oneshot (const char    *address,
               const uint8_t *msg,
               size_t         len,
               uint8_t       *reply)
{
  char dir[4096], path[4096];
  const char *base, *leaf;
  uint8_t *rec;
  uint32_t hdr[3];
  uint16_t plen;
  Buffer in = { NULL, 0, 0 };
  const uint8_t *payload;
  struct stat st;
  uid_t uid;
  int fd, dir_fd = -1, rep_fd = -1;
  bool ok = false;

  base = split_path (address, dir);
  snprintf (path, sizeof path, "%s.o%d-%u", address, get_pid (), counter++);
  leaf = path + (base - address);
  plen = (uint16_t) strlen (path);
  rec = malloc (HEADER_SIZE + 2 + plen + len);
  hdr[0] = (uint32_t) (2 + plen + len);
  hdr[1] = 0;
  hdr[2] = ONESHOT;
  memcpy (rec, hdr, HEADER_SIZE);
  memcpy (rec + HEADER_SIZE, &plen, 2);
  memcpy (rec + HEADER_SIZE + 2, path, plen);
  memcpy (rec + HEADER_SIZE + 2 + plen, msg, len);

  uid = geteuid ();
  fd = openat (AT_FDCWD, address, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISFIFO (st.st_mode))
    goto out;
  dir_fd = openat (AT_FDCWD, dir, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_PATH | O_DIRECTORY);
  if (dir_fd < 0 || fstat (dir_fd, &st) < 0 || st.st_uid != uid)
    goto out;
  if (mknodat (dir_fd, leaf, S_IFIFO | 0600, 0) < 0)
    goto out;
  rep_fd = openat (dir_fd, leaf, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (rep_fd < 0 || fstat (rep_fd, &st) < 0 || !S_ISFIFO (st.st_mode) ||
      write (fd, rec, HEADER_SIZE + hdr[0]) != (ssize_t) (HEADER_SIZE + hdr[0]))
    goto out;
  /* The listener's HELLO, then the reply. */
  payload = read_record (rep_fd, &in, ONESHOT_TIMEOUT, hdr);
  if (payload == NULL || hdr[2] != HELLO || hdr[0] != LISTENER_HELLO)
    goto out;
  buffer_consume (&in, HEADER_SIZE + hdr[0]);
  payload = read_record (rep_fd, &in, ONESHOT_TIMEOUT, hdr);
  ok = payload != NULL && take_reply (&in, hdr, payload, msg, reply);

out:
  if (fd >= 0)
    close (fd);
  if (dir_fd >= 0)
    {
      unlinkat (dir_fd, leaf, 0);
      close (dir_fd);
    }
  if (rep_fd >= 0)
    close (rep_fd);
  free (in.data);
  free (rec);
  return ok;
}

static const BenchPeer peer = {
  "pipecom-floor", floor_listen, floor_connect, floor_request, floor_oneshot, floor_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
