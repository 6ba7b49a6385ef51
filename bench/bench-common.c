/* bench-common.c: the work items W1-W5, shared by every peer program
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A peer program is run as
 *
 *   bench-PEER listen ADDRESS
 *   bench-PEER W1|W1r|W2|W3|W4|W5|W5idle ADDRESS [COUNT [SIZE [PROCS]]]
 *
 * The listener prints "ready" once it serves, and "handled=N" when it gets
 * SIGTERM.  A client prints one line of "key=value" results, or fails with
 * a non-zero exit status when a message was not acknowledged or got a reply
 * that was not its own.  W1r is W1 with a 16-byte reply to every request
 * (BENCH_WANT_REPLY).  W5 and W5idle print "mark" lines and wait for a
 * line on stdin at each, so that bench/run can read the listener's memory
 * there.
 */

#include "bench-common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled_count;

void
bench_handled (void)
{
  handled_count++;
}

static void
term_handler (int sig)
{
  char buf[64] = "handled=";
  char digits[24];
  unsigned long n = (unsigned long) handled_count;
  size_t len = strlen (buf);
  int i = 0;

  (void) sig;
  do
    {
      digits[i++] = (char) ('0' + n % 10);
      n /= 10;
    }
  while (n > 0);
  while (i > 0)
    buf[len++] = digits[--i];
  buf[len++] = '\n';
  (void) !write (STDOUT_FILENO, buf, len);
  _exit (0);
}

void
bench_ready (void)
{
  printf ("ready\n");
  fflush (stdout);
}

static double
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
fill_random (uint8_t *buf,
             size_t   len)
{
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t) getpid ();

  for (size_t i = 0; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = (uint8_t) x;
    }
}

static void
set_tag (uint8_t  *msg,
         uint32_t  client,
         uint32_t  seq,
         uint8_t   want)
{
  memcpy (msg, &client, 4);
  memcpy (msg + 4, &seq, 4);
  msg[BENCH_TAG_SIZE] = want;
}

static bool
check_tag (const uint8_t *msg,
           const uint8_t *reply)
{
  if (memcmp (msg, reply, bench_reply_size (msg)) == 0)
    return true;
  fprintf (stderr, "error: got a reply that is not for this message\n");
  return false;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
wait_for_go (void)
{
  char line[16];

  printf ("mark\n");
  fflush (stdout);
  if (fgets (line, sizeof line, stdin) == NULL)
    exit (1);
}

static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* W1, W1r, W3, W5: COUNT round trips of SIZE bytes on one connection. */
static int
run_persistent (const BenchPeer *peer,
                const char      *item,
                const char      *address,
                long             count,
                size_t           size)
{
  uint8_t *msg = malloc (size);
  double *times = NULL;
  uint8_t reply[BENCH_REPLY_SIZE];
  bool with_reply = strcmp (item, "W1r") == 0;
  bool latency = with_reply || strcmp (item, "W1") == 0;
  bool w5 = strcmp (item, "W5") == 0;
  long mark = count < 10000 ? count / 100 : 10000;
  void *conn;
  double t0, t1;

  fill_random (msg, size);
  conn = peer->connect (address);
  if (conn == NULL)
    return 1;
  if (latency)
    times = malloc (sizeof (double) * count);

  t0 = now_us ();
  for (long i = 0; i < count; i++)
    {
      double s = latency ? now_us () : 0;

      set_tag (msg, 1, (uint32_t) i, with_reply ? BENCH_WANT_REPLY : BENCH_WANT_ACK);
      if (!peer->request (conn, msg, size, reply) || !check_tag (msg, reply))
        {
          fprintf (stderr, "error: message %ld failed\n", i);
          return 1;
        }
      if (latency)
        times[i] = now_us () - s;
      if (w5 && i + 1 == mark)
        wait_for_go ();
    }
  t1 = now_us ();
  if (w5)
    wait_for_go ();
  peer->disconnect (conn);

  if (latency)
    {
      qsort (times, count, sizeof (double), compare_double);
      printf ("p50_us=%.3f p99_us=%.3f mean_us=%.3f\n",
              times[count / 2], times[(long) (count * 0.99)], (t1 - t0) / count);
    }
  else
    printf ("us_per_msg=%.3f mb_per_s=%.1f messages=%ld\n",
            (t1 - t0) / count, (double) size * count / (t1 - t0), count);
  free (times);
  free (msg);
  return 0;
}

/* W2: COUNT round trips, each on a fresh connection. */
static int
run_oneshot (const BenchPeer *peer,
             const char      *address,
             long             count,
             size_t           size)
{
  uint8_t *msg = malloc (size);
  uint8_t reply[BENCH_REPLY_SIZE];
  double t0, t1;

  fill_random (msg, size);
  t0 = now_us ();
  for (long i = 0; i < count; i++)
    {
      set_tag (msg, 1, (uint32_t) i, BENCH_WANT_ACK);
      if (!peer->oneshot (address, msg, size, reply) || !check_tag (msg, reply))
        {
          fprintf (stderr, "error: one-shot message %ld failed\n", i);
          return 1;
        }
    }
  t1 = now_us ();
  printf ("us_per_msg=%.3f\n", (t1 - t0) / count);
  free (msg);
  return 0;
}

/* W4: PROCS processes of COUNT round trips each, started together. */
static int
run_concurrent (const BenchPeer *peer,
                const char      *address,
                long             count,
                size_t           size,
                int              procs)
{
  int ready[2], go[2];
  pid_t *pids = calloc (procs, sizeof (pid_t));
  int failed = 0;
  double t0, t1;
  char c;

  if (pipe (ready) < 0 || pipe (go) < 0)
    return 1;

  for (int p = 0; p < procs; p++)
    {
      pids[p] = fork ();
      if (pids[p] < 0)
        return 1;
      if (pids[p] == 0)
        {
          uint8_t *msg = malloc (size);
          uint8_t reply[BENCH_REPLY_SIZE];
          void *conn;

          close (ready[0]);
          close (go[1]);
          fill_random (msg, size);
          conn = peer->connect (address);
          /* "f": the parent must not wait for the others to get ready. */
          (void) !write (ready[1], conn != NULL ? "r" : "f", 1);
          if (conn == NULL)
            _exit (1);
          (void) !read (go[0], &c, 1);
          for (long i = 0; i < count; i++)
            {
              set_tag (msg, (uint32_t) p + 100, (uint32_t) i, BENCH_WANT_TAG);
              if (!peer->request (conn, msg, size, reply) || !check_tag (msg, reply))
                {
                  fprintf (stderr, "error: client %d: message %ld failed\n", p, i);
                  _exit (1);
                }
            }
          peer->disconnect (conn);
          _exit (0);
        }
    }
  close (ready[1]);
  close (go[0]);
  for (int p = 0; p < procs; p++)
    if (read (ready[0], &c, 1) != 1 || c != 'r')
      {
        failed = 1;
        break;
      }
  t0 = now_us ();
  close (go[1]);
  for (int p = 0; p < procs; p++)
    {
      int status;

      if (waitpid (pids[p], &status, 0) < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
        failed = 1;
    }
  t1 = now_us ();
  if (failed)
    {
      fprintf (stderr, "error: a client failed\n");
      return 1;
    }
  printf ("msg_per_s=%.0f messages=%ld\n", procs * count / ((t1 - t0) / 1e6), procs * count);
  free (pids);
  return 0;
}

/* W5idle: one connection, then COUNT more, idle after one round trip each. */
static int
run_idle (const BenchPeer *peer,
          const char      *address,
          long             count,
          size_t           size)
{
  uint8_t *msg = malloc (size);
  uint8_t reply[BENCH_REPLY_SIZE];
  void **conns = calloc (count + 1, sizeof (void *));

  raise_fd_limit ();
  fill_random (msg, size);
  for (long i = 0; i <= count; i++)
    {
      conns[i] = peer->connect (address);
      set_tag (msg, 1, (uint32_t) i, BENCH_WANT_ACK);
      if (conns[i] == NULL || !peer->request (conns[i], msg, size, reply) || !check_tag (msg, reply))
        {
          fprintf (stderr, "error: connection %ld failed\n", i);
          return 1;
        }
      if (i == 0)
        wait_for_go ();
    }
  wait_for_go ();
  for (long i = 0; i <= count; i++)
    peer->disconnect (conns[i]);
  printf ("connections=%ld\n", count);
  free (conns);
  free (msg);
  return 0;
}

int
bench_main (const BenchPeer *peer,
            int              argc,
            char           **argv)
{
  const char *item, *address;
  long count;
  size_t size;
  int procs;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s listen|W1|W1r|W2|W3|W4|W5|W5idle ADDRESS [COUNT [SIZE [PROCS]]]\n", argv[0]);
      return 2;
    }
  item = argv[1];
  address = argv[2];
  count = argc > 3 ? atol (argv[3]) : 1000;
  size = argc > 4 ? (size_t) atol (argv[4]) : 64;
  procs = argc > 5 ? atoi (argv[5]) : 16;
  if (size < BENCH_MIN_SIZE)
    size = BENCH_MIN_SIZE;
  signal (SIGPIPE, SIG_IGN);

  if (strcmp (item, "listen") == 0)
    {
      struct sigaction sa = { 0 };

      raise_fd_limit ();
      sa.sa_handler = term_handler;
      sigaction (SIGTERM, &sa, NULL);
      return peer->listen (address);
    }
  if (strcmp (item, "W1") == 0 || strcmp (item, "W1r") == 0 ||
      strcmp (item, "W3") == 0 || strcmp (item, "W5") == 0)
    return run_persistent (peer, item, address, count, size);
  if (strcmp (item, "W2") == 0)
    return run_oneshot (peer, address, count, size);
  if (strcmp (item, "W4") == 0)
    return run_concurrent (peer, address, count, size, procs);
  if (strcmp (item, "W5idle") == 0)
    return run_idle (peer, address, count, size);
  fprintf (stderr, "unknown work item %s\n", item);
  return 2;
}

bool
bench_read_full (int     fd,
                 void   *buf,
                 size_t  len)
{
  uint8_t *p = buf;

  while (len > 0)
    {
      ssize_t n = read (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      p += n;
      len -= (size_t) n;
    }
  return true;
}

bool
bench_write_full (int         fd,
                  const void *buf,
                  size_t      len)
{
  const uint8_t *p = buf;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      p += n;
      len -= (size_t) n;
    }
  return true;
}

/* One writev() of two buffers (atomic on a pipe up to PIPE_BUF bytes). */
bool
bench_writev2 (int         fd,
               const void *a,
               size_t      alen,
               const void *b,
               size_t      blen)
{
  struct iovec iov[2] = { { (void *) a, alen }, { (void *) b, blen } };
  ssize_t n;

  do
    n = writev (fd, iov, 2);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return false;
  if ((size_t) n < alen)
    return bench_write_full (fd, (const uint8_t *) a + n, alen - n) &&
           bench_write_full (fd, b, blen);
  return bench_write_full (fd, (const uint8_t *) b + (n - alen), blen - (n - alen));
}
