/* test-limits.c: what a listener bounds against hostile senders: memory,
 * slow readers, idle connections, file descriptors
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"
#include "pipecom-private.h"
#include "unix/pipecom-unix-private.h"

/* The listeners run in child processes (--child-listener with options),
 * so that their memory can be measured alone and their limits set without
 * touching this process; the attackers speak the raw protocol from here. */

#define MiB (1024 * 1024)

/* A sanitizer's allocator keeps freed memory in quarantine: the listener's
 * RSS then says nothing of what it holds. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
# define RSS_IS_MEANINGFUL 0
#elif defined(__has_feature)
# if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#  define RSS_IS_MEANINGFUL 0
# endif
#endif
#ifndef RSS_IS_MEANINGFUL
# define RSS_IS_MEANINGFUL 1
#endif

typedef struct
{
  char *base;
  int   rep_fd;  /* we read the listener's frames */
  int   req_fd;  /* we write ours */
} RawConn;

static void
raw_conn_clear (RawConn *rc)
{
  if (rc->rep_fd >= 0)
    close (rc->rep_fd);
  if (rc->req_fd >= 0)
    close (rc->req_fd);
  rc->rep_fd = rc->req_fd = -1;
  g_clear_pointer (&rc->base, g_free);
}

/* Reads up to @len bytes within @timeout_ms; returns how many (fewer at EOF). */
static gsize
read_within (int     fd,
             guint8 *buf,
             gsize   len,
             gint    timeout_ms,
             gboolean *eof)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gsize have = 0;

  *eof = FALSE;
  while (have < len)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;

      if (left <= 0 || poll (&pfd, 1, (int) left) <= 0)
        break;
      n = read (fd, buf + have, len - have);
      if (n == 0)
        {
          *eof = TRUE;
          break;
        }
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          *eof = TRUE;
          break;
        }
      have += n;
    }
  return have;
}

/* Opens a CONNECT connection to @path by hand. Returns FALSE if the listener
 * refused it, with the ERROR code in @refused. */
static gboolean
raw_connect (const char *path,
             RawConn    *rc,
             guint32    *refused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *req = NULL;
  g_autofree char *rep = NULL;
  guint8 buf[PIPECOM_ANNOUNCE_MAX];
  guint8 frame[PIPECOM_FRAME_HEADER_SIZE + 512];
  gboolean eof;
  gsize len;
  int fifo_fd;

  rc->req_fd = -1;
  rc->base = _pipecom_transport_new_channel (TRUE, &rc->rep_fd, &error);
  g_assert_no_error (error);
  req = g_strconcat (rc->base, ".req", NULL);
  rep = g_strconcat (rc->base, ".rep", NULL);

  len = _pipecom_encode_announce (buf, PIPECOM_ANNOUNCE_CONNECT, rc->base, NULL, 0);
  fifo_fd = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fifo_fd, >=, 0);
  g_assert_cmpint (write (fifo_fd, buf, len), ==, len);
  close (fifo_fd);

  /* HELLO, or ERROR: both one write of the listener. */
  g_assert_cmpuint (read_within (rc->rep_fd, frame, PIPECOM_FRAME_HEADER_SIZE, 20000, &eof), ==,
                    PIPECOM_FRAME_HEADER_SIZE);
  len = _pipecom_get_u32 (frame);
  g_assert_cmpuint (len, <=, sizeof frame - PIPECOM_FRAME_HEADER_SIZE);
  g_assert_cmpuint (read_within (rc->rep_fd, frame + PIPECOM_FRAME_HEADER_SIZE, len, 20000, &eof),
                    ==, len);

  if (frame[4] != PIPECOM_FRAME_HELLO)
    {
      g_assert_cmpint (frame[4], ==, PIPECOM_FRAME_ERROR);
      *refused = _pipecom_get_u32 (frame + PIPECOM_FRAME_HEADER_SIZE);
      g_unlink (req);
      g_unlink (rep);
      raw_conn_clear (rc);
      return FALSE;
    }

  rc->req_fd = open (req, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (rc->req_fd, >=, 0);
  g_unlink (req);
  g_unlink (rep);
  return TRUE;
}

static void
raw_send_message (RawConn    *rc,
                  guint32     id,
                  const char *text)
{
  gsize len = strlen (text);
  g_autofree guint8 *frame = g_malloc (PIPECOM_FRAME_HEADER_SIZE + len);

  _pipecom_encode_frame_header (frame, len, PIPECOM_FRAME_MESSAGE, id);
  memcpy (frame + PIPECOM_FRAME_HEADER_SIZE, text, len);
  g_assert_cmpint (write (rc->req_fd, frame, PIPECOM_FRAME_HEADER_SIZE + len), ==,
                   PIPECOM_FRAME_HEADER_SIZE + len);
}

/* A line "KEY:   N kB" of /proc/PID/status, in bytes. */
static guint64
proc_status_bytes (GPid        pid,
                   const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *contents = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  line = strstr (contents, key);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (key) + 1, NULL, 10) * 1024;
}

/* A legitimate request, answered: returns how long it took, in ms. */
static double
timed_request (const char *path,
               const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *expected = g_strconcat ("ack:", text, NULL);
  gint64 started = g_get_monotonic_time ();

  reply = pipecom_request (path, text, 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, expected);
  return (g_get_monotonic_time () - started) / 1000.0;
}

static void
stop_child (PipecomTestChild *child,
            const char       *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *expected = g_strdup_printf ("STOPPED %d", PIPECOM_STOP_REASON_DIE_CODE);

  g_assert_true (pipecom_send (path, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  line = pipecom_test_child_read_line (child, PIPECOM_TEST_DEADLINE);
  g_assert_cmpstr (line, ==, expected);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
}

/* ------------------------------------------------------------------ */

#define BUDGET     (8 * MiB)
#define FRAME_SIZE (2 * MiB)
#define N_ATTACKERS 12

static void
test_memory_budget (void)
{
  g_autofree char *path = pipecom_test_make_path ("budget");
  g_autofree char *budget_opt = g_strdup_printf ("memory-budget=%u", BUDGET);
  g_autofree char *max_opt = g_strdup_printf ("max-message-size=%u", FRAME_SIZE);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *peak_text = NULL;
  g_autofree guint8 *chunk = g_malloc0 (64 * 1024);
  RawConn conns[N_ATTACKERS];
  gsize sent[N_ATTACKERS] = { 0, };
  gboolean done[N_ATTACKERS] = { FALSE, };
  guint32 len = FRAME_SIZE - 64;
  guint64 rss_quiet, rss_attack, hwm;
  guint dropped = 0, told_busy = 0, left;
  double quiet_ms, attack_ms;
  GPid pid;

  g_test_summary ("Senders that each leave a partial message just under max-message-size "
                  "cannot make the listener hold more than its memory budget: the largest "
                  "offenders are dropped (told BUSY), and a legitimate request is still "
                  "answered at once");

  child = pipecom_test_child_spawn ("--child-listener", path, budget_opt, max_opt, NULL);
  pipecom_test_child_expect_line (child, "READY");
  pid = pipecom_test_child_get_pid (child);

  quiet_ms = timed_request (path, "quiet");
  rss_quiet = proc_status_bytes (pid, "VmRSS:");

  for (guint i = 0; i < N_ATTACKERS; i++)
    {
      guint32 refused = 0;
      guint8 header[PIPECOM_FRAME_HEADER_SIZE];

      g_assert_true (raw_connect (path, &conns[i], &refused));
      _pipecom_encode_frame_header (header, len, PIPECOM_FRAME_MESSAGE, 1);
      g_assert_cmpint (write (conns[i].req_fd, header, sizeof header), ==, sizeof header);
    }

  /* Each sends all of its message but its last byte, as fast as the
   * listener reads, until done or dropped (EPIPE). */
  left = N_ATTACKERS;
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while (left > 0)
      {
        struct pollfd pfds[N_ATTACKERS];
        guint map[N_ATTACKERS];
        guint n = 0;

        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        for (guint i = 0; i < N_ATTACKERS; i++)
          if (!done[i])
            {
              pfds[n] = (struct pollfd) { conns[i].req_fd, POLLOUT, 0 };
              map[n++] = i;
            }
        g_assert_cmpint (poll (pfds, n, 1000), >=, 0);

        for (guint k = 0; k < n; k++)
          {
            guint i = map[k];
            gsize want = MIN (64 * 1024, len - 1 - sent[i]);
            ssize_t w;

            if (pfds[k].revents == 0)
              continue;
            w = write (conns[i].req_fd, chunk, want);
            if (w < 0 && errno == EAGAIN)
              continue;
            if (w < 0)
              {
                g_assert_cmpint (errno, ==, EPIPE);
                done[i] = TRUE;
                left--;
                continue;
              }
            sent[i] += w;
            if (sent[i] == len - 1)
              {
                done[i] = TRUE;
                left--;
              }
          }
      }
  }

  rss_attack = proc_status_bytes (pid, "VmRSS:");
  attack_ms = timed_request (path, "under attack");

  /* Who was dropped: the listener closed its end (and told BUSY, when it
   * could). */
  for (guint i = 0; i < N_ATTACKERS; i++)
    {
      guint8 frame[PIPECOM_FRAME_HEADER_SIZE + 8];
      gboolean eof = FALSE;
      gsize n = read_within (conns[i].rep_fd, frame, sizeof frame, 200, &eof);

      if (n >= PIPECOM_FRAME_HEADER_SIZE + 4 && frame[4] == PIPECOM_FRAME_ERROR &&
          _pipecom_get_u32 (frame + PIPECOM_FRAME_HEADER_SIZE) == PIPECOM_ERROR_BUSY)
        told_busy++;
      if (eof || n > 0)
        dropped++;
    }

  peak_text = pipecom_request (path, "memory-peak", 20, 0, &error);
  g_assert_no_error (error);
  hwm = proc_status_bytes (pid, "VmHWM:");

  g_test_message ("memory attack (%u x %u-byte partial messages, budget %u): "
                  "%u dropped (%u told BUSY); budget peak %s bytes; listener VmRSS quiet %.1f MiB, "
                  "under attack %.1f MiB, VmHWM %.1f MiB; legitimate request %.2f ms quiet, "
                  "%.2f ms under attack",
                  N_ATTACKERS, len, BUDGET, dropped, told_busy, peak_text,
                  rss_quiet / (double) MiB, rss_attack / (double) MiB, hwm / (double) MiB,
                  quiet_ms, attack_ms);

  /* At most BUDGET / FRAME_SIZE of them fit. */
  g_assert_cmpuint (dropped, >=, N_ATTACKERS - BUDGET / FRAME_SIZE);
  g_assert_cmpuint (dropped, <, N_ATTACKERS);
  g_assert_cmpuint (told_busy, >, 0);
  g_assert_cmpuint (g_ascii_strtoull (peak_text, NULL, 10), <=, BUDGET);
  g_assert_cmpuint (g_ascii_strtoull (peak_text, NULL, 10), >, BUDGET / 2);
  /* The process, too: what it grew by is the budget, and some slack for
   * its read buffers and the allocator (without a budget, it grows by
   * N_ATTACKERS * FRAME_SIZE, 24 MiB). */
  if (RSS_IS_MEANINGFUL)
    g_assert_cmpuint (hwm, <=, rss_quiet + BUDGET + 6 * MiB);
  g_assert_cmpfloat (attack_ms, <, 2000);

  for (guint i = 0; i < N_ATTACKERS; i++)
    raw_conn_clear (&conns[i]);
  stop_child (child, path);
}

/* ------------------------------------------------------------------ */

#define BIG_REPLY (4 * MiB)

static void
test_slow_reader (void)
{
  g_autofree char *path = pipecom_test_make_path ("trickle");
  g_autoptr(PipecomTestChild) child = NULL;
  g_autofree guint8 *buf = g_malloc (BIG_REPLY + PIPECOM_FRAME_HEADER_SIZE);
  g_autofree char *request = g_strdup_printf ("big:%u", BIG_REPLY);
  gsize total = 0;
  gboolean eof = FALSE;
  gint64 started;
  RawConn rc;
  guint32 refused = 0;

  g_test_summary ("A sender that reads its large reply a few KiB at a time, below the "
                  "minimum rate, is dropped by the stall deadline: a trickle of progress no "
                  "longer keeps the reply queued");

  /* A 2 s deadline: the minimum rate is then 64 KiB per 2 s. */
  child = pipecom_test_child_spawn ("--child-listener", path, "deadline=2", NULL);
  pipecom_test_child_expect_line (child, "READY");

  g_assert_true (raw_connect (path, &rc, &refused));
  raw_send_message (&rc, 1, request);
  started = g_get_monotonic_time ();

  /* 4 KiB every 0.5 s: 16 KiB per deadline, for 8 s. */
  for (guint i = 0; i < 16 && !eof; i++)
    {
      pipecom_test_iterate_for (500);
      total += read_within (rc.rep_fd, buf + total, 4096, 1000, &eof);
    }

  /* Then as fast as possible: what the pipe still holds, then EOF if the
   * listener dropped us, or the whole reply if it did not. */
  while (!eof && total < BIG_REPLY + PIPECOM_FRAME_HEADER_SIZE)
    {
      gsize n = read_within (rc.rep_fd, buf + total, BIG_REPLY + PIPECOM_FRAME_HEADER_SIZE - total,
                             20000, &eof);
      if (n == 0)
        break;
      total += n;
    }

  g_test_message ("slow reader: read %zu of %u bytes, %s after %.1f s", total,
                  BIG_REPLY + PIPECOM_FRAME_HEADER_SIZE, eof ? "dropped" : "not dropped",
                  (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
  g_assert_true (eof);
  g_assert_cmpuint (total, <, BIG_REPLY + PIPECOM_FRAME_HEADER_SIZE);

  timed_request (path, "still serving");
  raw_conn_clear (&rc);
  stop_child (child, path);
}

/* ------------------------------------------------------------------ */

static void
test_idle_timeout (void)
{
  g_autofree char *path = pipecom_test_make_path ("idle");
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  guint8 byte;
  guint8 frame[PIPECOM_FRAME_HEADER_SIZE + 512];
  gsize len;
  gboolean eof = FALSE;
  gint64 started, elapsed;
  RawConn rc;
  guint32 refused = 0;

  g_test_summary ("With idle-timeout 1 s, an idle persistent connection is closed (its peer "
                  "gets the goodbye, ERROR id 0 CLOSED, then EOF), and a PipecomClient idle past it connects again for its next "
                  "request");

  child = pipecom_test_child_spawn ("--child-listener", path, "idle-timeout=1", NULL);
  pipecom_test_child_expect_line (child, "READY");

  g_assert_true (raw_connect (path, &rc, &refused));
  started = g_get_monotonic_time ();
  /* The goodbye: ERROR, id 0, code CLOSED, "idle: …", then EOF. */
  g_assert_cmpuint (read_within (rc.rep_fd, frame, PIPECOM_FRAME_HEADER_SIZE, 15000, &eof), ==,
                    PIPECOM_FRAME_HEADER_SIZE);
  len = _pipecom_get_u32 (frame);
  g_assert_cmpint (frame[4], ==, PIPECOM_FRAME_ERROR);
  g_assert_cmpuint (_pipecom_get_u32 (frame + 8), ==, 0);
  g_assert_cmpuint (len, >=, 4 + strlen (PIPECOM_GOODBYE_TEXT));
  g_assert_cmpuint (len, <=, sizeof frame - PIPECOM_FRAME_HEADER_SIZE);
  g_assert_cmpuint (read_within (rc.rep_fd, frame + PIPECOM_FRAME_HEADER_SIZE, len, 15000, &eof),
                    ==, len);
  g_assert_cmpuint (_pipecom_get_u32 (frame + PIPECOM_FRAME_HEADER_SIZE), ==, PIPECOM_ERROR_CLOSED);
  g_assert_cmpmem (frame + PIPECOM_FRAME_HEADER_SIZE + 4, strlen (PIPECOM_GOODBYE_TEXT),
                   PIPECOM_GOODBYE_TEXT, strlen (PIPECOM_GOODBYE_TEXT));
  g_assert_cmpuint (read_within (rc.rep_fd, &byte, 1, 15000, &eof), ==, 0);
  elapsed = g_get_monotonic_time () - started;
  g_test_message ("idle connection closed after %.2f s", elapsed / (double) G_USEC_PER_SEC);
  g_assert_true (eof);
  g_assert_cmpint (elapsed, >=, G_USEC_PER_SEC / 2);
  raw_conn_clear (&rc);

  client = pipecom_client_new (path);
  pipecom_client_set_timeout (client, 20);
  reply = pipecom_client_request (client, "first", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:first");
  g_clear_pointer (&reply, g_free);

  pipecom_test_wait_for (!pipecom_client_get_connected (client), 15);

  reply = pipecom_client_request (client, "after idle", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:after idle");

  pipecom_client_close (client);
  stop_child (child, path);
}

/* ------------------------------------------------------------------ */

#define N_IDLE 40

static void
test_low_fds (void)
{
  g_autofree char *path = pipecom_test_make_path ("low-fds");
  g_autoptr(PipecomTestChild) child = NULL;
  RawConn conns[N_IDLE];
  guint accepted = 0, refused_busy = 0, closed = 0;
  guint64 rss_quiet, rss_attack;
  double quiet_ms, attack_ms;
  GPid pid;

  g_test_summary ("A listener with 64 file descriptors (RLIMIT_NOFILE), held full by idle "
                  "persistent connections, closes the longest-idle one to serve new senders "
                  "instead of refusing them with BUSY");

  child = pipecom_test_child_spawn ("--child-listener", path, "nofile=64", NULL);
  pipecom_test_child_expect_line (child, "READY");
  pid = pipecom_test_child_get_pid (child);

  quiet_ms = timed_request (path, "quiet");
  rss_quiet = proc_status_bytes (pid, "VmRSS:");

  /* Twice what the listener can hold. */
  for (guint i = 0; i < N_IDLE; i++)
    {
      guint32 code = 0;

      if (raw_connect (path, &conns[i], &code))
        accepted++;
      else
        {
          g_assert_cmpuint (code, ==, PIPECOM_ERROR_BUSY);
          refused_busy++;
        }
    }

  rss_attack = proc_status_bytes (pid, "VmRSS:");
  {
    /* The same request as pipecom_request() makes, timed, but without
     * failing at once: report what main does too. */
    g_autoptr(GError) error = NULL;
    g_autofree char *reply = NULL;
    gint64 started = g_get_monotonic_time ();

    reply = pipecom_request (path, "under attack", 20, 1, &error);
    attack_ms = (g_get_monotonic_time () - started) / 1000.0;
    g_test_message ("idle-fd attack (%u idle connections, RLIMIT_NOFILE 64): %u accepted, "
                    "%u refused BUSY; legitimate request %.2f ms quiet, %.2f ms under attack (%s); "
                    "listener VmRSS quiet %.1f MiB, under attack %.1f MiB",
                    N_IDLE, accepted, refused_busy, quiet_ms, attack_ms,
                    error ? error->message : "served",
                    rss_quiet / (double) MiB, rss_attack / (double) MiB);
    g_assert_no_error (error);
    g_assert_cmpstr (reply, ==, "ack:under attack");
  }

  /* The oldest ones made room. */
  for (guint i = 0; i < N_IDLE; i++)
    {
      struct pollfd pfd = { conns[i].rep_fd, POLLIN, 0 };

      /* Readable: the goodbye, then EOF (macOS reports no POLLHUP, only
       * POLLIN); an idle connection left open has nothing to read. */
      if (conns[i].rep_fd >= 0 && poll (&pfd, 1, 0) == 1 &&
          (pfd.revents & (POLLIN | POLLHUP)) != 0)
        {
          guint8 header[PIPECOM_FRAME_HEADER_SIZE + 4];
          gboolean eof;

          /* Idle, so closed with the goodbye (ERROR, id 0, CLOSED). */
          g_assert_cmpuint (read_within (conns[i].rep_fd, header, sizeof header, 5000, &eof), ==,
                            sizeof header);
          g_assert_cmpint (header[4], ==, PIPECOM_FRAME_ERROR);
          g_assert_cmpuint (_pipecom_get_u32 (header + 8), ==, 0);
          g_assert_cmpuint (_pipecom_get_u32 (header + PIPECOM_FRAME_HEADER_SIZE), ==,
                            PIPECOM_ERROR_CLOSED);
          closed++;
        }
    }
  g_test_message ("%u of the idle connections were closed to make room", closed);
  g_assert_cmpuint (refused_busy, ==, 0);
  g_assert_cmpuint (accepted, ==, N_IDLE);
  g_assert_cmpuint (closed, >, 0);
  g_assert_cmpfloat (attack_ms, <, 2000);

  for (guint i = 0; i < N_IDLE; i++)
    raw_conn_clear (&conns[i]);
  stop_child (child, path);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);
  /* A dropped attacker's next write fails with EPIPE, not a signal. */
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/limits/memory/budget", test_memory_budget);
  g_test_add_func ("/limits/deadline/slow-reader", test_slow_reader);
  g_test_add_func ("/limits/idle/timeout", test_idle_timeout);
  g_test_add_func ("/limits/fds/reclaim-idle", test_low_fds);

  return g_test_run ();
}
