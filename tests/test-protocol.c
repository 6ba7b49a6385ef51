/* test-protocol.c: a hand-written peer speaking docs/protocol.md to a listener
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "test-utils.h"
#include "pipecom-private.h"
#include "unix/pipecom-unix-private.h"

enum {
  FRAME_HELLO = 1,
  FRAME_MESSAGE = 2,
  FRAME_ACK = 3,
  FRAME_REPLY = 4,
  FRAME_ERROR = 5,
};

typedef struct
{
  guint8  type;
  guint32 id;
  GBytes *payload;
} Frame;

static void
frame_clear (Frame *frame)
{
  g_clear_pointer (&frame->payload, g_bytes_unref);
}

static void
put_u16 (guint8 *p,
         guint   v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
}

static void
put_u32 (guint8  *p,
         guint32  v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static guint32
get_u32 (const guint8 *p)
{
  return p[0] | p[1] << 8 | p[2] << 16 | (guint32) p[3] << 24;
}

/* A fake client: its channel FIFO, opened for reading before announcing.
 * A persistent one (fake_client_connect()) also has its request channel. */
typedef struct
{
  char *base;
  char *rep;
  char *req;     /* (nullable) */
  int   rep_fd;
  int   req_fd;
} FakeClient;

/* A base of the form senders use, in the user's pipe directory (where a
 * private listener accepts channels). */
static char *
make_channel_base (void)
{
  static guint counter = 0;
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();

  g_assert_true (g_mkdir_with_parents (dir, 0700) == 0);
  return g_strdup_printf ("%s/.c%d-%u-%08x", dir, (int) getpid (), 1000000 + counter++,
                          g_random_int ());
}

static void
fake_client_init (FakeClient *fc)
{
  fc->base = make_channel_base ();
  fc->rep = g_strconcat (fc->base, ".rep", NULL);
  fc->req = NULL;
  fc->req_fd = -1;
  g_assert_cmpint (mkfifo (fc->rep, 0600), ==, 0);
  fc->rep_fd = open (fc->rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fc->rep_fd, >=, 0);
}

/* Closes the peer's channel ends, as its death would. */
static void
fake_client_close_fds (FakeClient *fc)
{
  if (fc->rep_fd >= 0)
    close (fc->rep_fd);
  if (fc->req_fd >= 0)
    close (fc->req_fd);
  fc->rep_fd = fc->req_fd = -1;
}

static void
fake_client_clear (FakeClient *fc)
{
  fake_client_close_fds (fc);
  g_unlink (fc->rep);
  if (fc->req != NULL)
    g_unlink (fc->req);
  g_free (fc->req);
  g_free (fc->rep);
  g_free (fc->base);
}

static void
write_record (const char *fifo_path,
              guint8      version,
              guint8      kind,
              const char *base,
              const char *message)
{
  guint8 record[512];
  gsize plen = strlen (base), mlen = message ? strlen (message) : 0, total = 12 + plen + mlen;
  ssize_t n;
  int fd;

  g_assert_cmpuint (total, <=, sizeof record);
  memcpy (record, "PCOM", 4);
  record[4] = version;
  record[5] = kind;
  put_u16 (record + 6, total);
  put_u16 (record + 8, plen);
  put_u16 (record + 10, mlen);
  memcpy (record + 12, base, plen);
  if (mlen > 0)
    memcpy (record + 12 + plen, message, mlen);

  fd = open (fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  n = write (fd, record, total);
  g_assert_cmpint (n, ==, (ssize_t) total);
  close (fd);
}

/* Reads exactly @len bytes within the deadline; returns FALSE on EOF. */
static gboolean
read_exact (int     fd,
            guint8 *buf,
            gsize   len,
            gint64  deadline)
{
  gsize got = 0;

  while (got < len)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;

      g_assert_cmpint (left, >, 0);
      if (poll (&pfd, 1, (int) MIN (left, 100)) <= 0)
        continue;
      n = read (fd, buf + got, len - got);
      if (n == 0)
        {
          /* EOF: no writer. A FIFO only reports it once a writer came and
           * went, which is what we wait for. */
          return FALSE;
        }
      if (n < 0)
        {
          g_assert_true (errno == EAGAIN || errno == EINTR);
          continue;
        }
      got += n;
    }
  return TRUE;
}

static gboolean
read_frame (int    fd,
            Frame *frame)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint8 header[12];
  guint32 len;
  guint8 *payload;

  memset (frame, 0, sizeof *frame);
  if (!read_exact (fd, header, sizeof header, deadline))
    return FALSE;
  len = get_u32 (header);
  g_assert_cmpuint (len, <, 1024 * 1024);
  frame->type = header[4];
  g_assert_cmpuint (header[5], ==, 0);
  g_assert_cmpuint (header[6], ==, 0);
  g_assert_cmpuint (header[7], ==, 0);
  frame->id = get_u32 (header + 8);
  payload = g_malloc (len + 1);
  if (len > 0)
    g_assert_true (read_exact (fd, payload, len, deadline));
  frame->payload = g_bytes_new_take (payload, len);
  return TRUE;
}

static void
assert_hello (FakeClient *fc,
              guint64     max_size)
{
  Frame hello;
  const guint8 *p;
  gsize size;
  guint64 got_max = 0;

  g_assert_true (read_frame (fc->rep_fd, &hello));
  g_assert_cmpuint (hello.type, ==, FRAME_HELLO);
  g_assert_cmpuint (hello.id, ==, 0);
  p = g_bytes_get_data (hello.payload, &size);
  g_assert_cmpuint (size, ==, 16);
  g_assert_cmpuint (get_u32 (p), ==, 1);
  for (int i = 7; i >= 0; i--)
    got_max = (got_max << 8) | p[8 + i];
  g_assert_cmpuint (got_max, ==, max_size);
  frame_clear (&hello);
}

/* Writes all of @data within @deadline; FALSE if the reader went away
 * (EPIPE; the library ignores SIGPIPE once in use). */
static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          len,
           gint64         deadline)
{
  gsize done = 0;

  while (done < len)
    {
      struct pollfd pfd = { fd, POLLOUT, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;

      g_assert_cmpint (left, >, 0);
      if (poll (&pfd, 1, (int) MIN (left, 100)) <= 0)
        continue;
      n = write (fd, data + done, len - done);
      if (n < 0)
        {
          if (errno == EPIPE)
            return FALSE;
          g_assert_true (errno == EAGAIN || errno == EINTR);
          continue;
        }
      done += n;
    }
  return TRUE;
}

static void
make_header (guint8  header[12],
             guint32 len,
             guint8  type,
             guint32 id)
{
  memset (header, 0, 12);
  put_u32 (header, len);
  header[4] = type;
  put_u32 (header + 8, id);
}

/* Writes one well-formed MESSAGE frame on the request channel. */
static void
write_message (FakeClient   *fc,
               guint32       id,
               const guint8 *data,
               gsize         len)
{
  gint64 deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
  guint8 header[12];

  make_header (header, len, FRAME_MESSAGE, id);
  g_assert_true (write_all (fc->req_fd, header, sizeof header, deadline));
  if (len > 0)
    g_assert_true (write_all (fc->req_fd, data, len, deadline));
}

static void
write_message_text (FakeClient *fc,
                    guint32     id,
                    const char *text)
{
  write_message (fc, id, (const guint8 *) text, strlen (text));
}

/* Opens a persistent connection the way docs/protocol.md says: both
 * channels created (the reply one opened for reading) before announcing,
 * HELLO read, then the request channel opened for writing and both files
 * unlinked. */
static void
fake_client_connect (FakeClient  *fc,
                     PipecomPipe *pipe,
                     guint64      max_size)
{
  fc->req = g_strconcat (fc->base, ".req", NULL);
  g_assert_cmpint (mkfifo (fc->req, 0600), ==, 0);

  write_record (pipecom_pipe_get_path (pipe), 1, 1, fc->base, NULL);
  assert_hello (fc, max_size);

  fc->req_fd = open (fc->req, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fc->req_fd, >=, 0);
  g_assert_cmpint (g_unlink (fc->req), ==, 0);
  g_assert_cmpint (g_unlink (fc->rep), ==, 0);
}

static void
assert_frame (Frame       *frame,
              guint8       type,
              guint32      id,
              const char  *payload)
{
  if (frame->type == FRAME_ERROR && type != FRAME_ERROR && g_bytes_get_size (frame->payload) >= 4)
    g_test_message ("got ERROR code %u: %.*s",
                    get_u32 (g_bytes_get_data (frame->payload, NULL)),
                    (int) g_bytes_get_size (frame->payload) - 4,
                    (const char *) g_bytes_get_data (frame->payload, NULL) + 4);
  g_assert_cmpuint (frame->type, ==, type);
  g_assert_cmpuint (frame->id, ==, id);
  if (payload != NULL)
    g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                     payload, strlen (payload));
}

/* Reads the next frame and checks it is a REPLY for @id carrying @payload. */
static void
expect_reply (FakeClient *fc,
              guint32     id,
              const char *payload)
{
  Frame frame;

  g_assert_true (read_frame (fc->rep_fd, &frame));
  assert_frame (&frame, FRAME_REPLY, id, payload);
  frame_clear (&frame);
}

static void
expect_error (FakeClient   *fc,
              guint32       id,
              PipecomError  code)
{
  Frame frame;

  g_assert_true (read_frame (fc->rep_fd, &frame));
  assert_frame (&frame, FRAME_ERROR, id, NULL);
  g_assert_cmpuint (g_bytes_get_size (frame.payload), >=, 4);
  g_assert_cmpuint (get_u32 (g_bytes_get_data (frame.payload, NULL)), ==, code);
  frame_clear (&frame);
}

static PipecomPipe *
listen_threaded_full (const char *name,
                      guint       max_message_size,
                      GCallback   handler,
                      gpointer    data)
{
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe = g_object_new (PIPECOM_TYPE_PIPE,
                                    "name", name,
                                    "threaded", TRUE,
                                    "max-message-size", max_message_size,
                                    NULL);

  g_signal_connect (pipe, "message-received", handler, data);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  return pipe;
}

static PipecomPipe *
listen_threaded (const char *name,
                 GCallback   handler,
                 gpointer    data)
{
  return listen_threaded_full (name, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE, handler, data);
}

/* Records what the handler saw (it runs in the listener's thread) and
 * answers like pipecom_test_ack_cb(). */
typedef struct
{
  GMutex     lock;
  GPtrArray *payloads;   /* (element-type GBytes) in the order handled */
} Recorder;

static void
recorder_init (Recorder *rec)
{
  g_mutex_init (&rec->lock);
  rec->payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static void
recorder_clear (Recorder *rec)
{
  g_clear_pointer (&rec->payloads, g_ptr_array_unref);
  g_mutex_clear (&rec->lock);
}

static guint
recorder_count (Recorder *rec)
{
  guint n;

  g_mutex_lock (&rec->lock);
  n = rec->payloads->len;
  g_mutex_unlock (&rec->lock);
  return n;
}

static void
recorder_assert_nth (Recorder   *rec,
                     guint       i,
                     const char *expected)
{
  GBytes *bytes;

  g_mutex_lock (&rec->lock);
  g_assert_cmpuint (i, <, rec->payloads->len);
  bytes = g_bytes_ref (g_ptr_array_index (rec->payloads, i));
  g_mutex_unlock (&rec->lock);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   expected, strlen (expected));
  g_bytes_unref (bytes);
}

static char *
recorder_cb (PipecomPipe    *pipe,
             PipecomMessage *message,
             gpointer        user_data)
{
  Recorder *rec = user_data;
  const char *text = pipecom_message_get_text (message);

  g_mutex_lock (&rec->lock);
  g_ptr_array_add (rec->payloads, g_bytes_ref (pipecom_message_get_bytes (message)));
  g_mutex_unlock (&rec->lock);
  return g_strconcat ("ack:", text ? text : "(binary)", NULL);
}

/* Waits (iterating the main context, so deferred cleanups run) until at
 * most @expected descriptors are open, then asserts it, listing them if
 * not. */
static void
assert_fds_back_to (guint expected)
{
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (10);
  guint now;

  while ((now = pipecom_test_count_fds ()) > expected)
    if (!pipecom_test_deadline_iterate (deadline))
      break;
  pipecom_test_deadline_free (deadline);

  if (now > expected)
    {
      g_auto(GStrv) fds = pipecom_test_list_dir ("/proc/self/fd");

      for (guint i = 0; fds[i] != NULL; i++)
        {
          g_autofree char *p = g_build_filename ("/proc/self/fd", fds[i], NULL);
          g_autofree char *target = g_file_read_link (p, NULL);

          g_test_message ("open fd %s -> %s", fds[i], target ? target : "?");
        }
    }
  g_assert_cmpuint (now, <=, expected);
}

/* The library's client I/O thread starts with its first user and lingers
 * after the last one (pipecom-worker.c): an idle client keeps it running so
 * that fd counts taken before and after sends are comparable. */
static PipecomClient *
pin_worker (void)
{
  return pipecom_client_new ("worker-pin");
}

/* Sends @n one-shot messages "PREFIX-i" with pipecom_send() (timeout 10 s),
 * each of which must be handled. */
static void
send_many (const char *name,
           const char *prefix,
           guint       n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("%s-%u", prefix, i);
      gboolean ok;

      ok = pipecom_send (name, text, 10, 0, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
    }
}

/* ------------------------------------------------------------------------ */

static void
test_raw_oneshot (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw");
  g_autoptr(PipecomPipe) pipe = NULL;
  FakeClient fc;
  Frame frame;
  gint calls = 0;

  g_test_summary ("A peer written from docs/protocol.md alone gets HELLO, then REPLY id 1 "
                  "for its ONESHOT message");

  pipe = listen_threaded (name, G_CALLBACK (pipecom_test_ack_cb), &calls);
  fake_client_init (&fc);

  write_record (pipecom_pipe_get_path (pipe), 1, 2, fc.base, "raw hello");
  assert_hello (&fc, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_true (read_frame (fc.rep_fd, &frame));
  g_assert_cmpuint (frame.type, ==, FRAME_REPLY);
  g_assert_cmpuint (frame.id, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (frame.payload, NULL), g_bytes_get_size (frame.payload),
                   "ack:raw hello", 13);
  frame_clear (&frame);
  g_assert_cmpint (g_atomic_int_get (&calls), ==, 1);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_bad_version (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-version");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  FakeClient fc;
  Frame frame;
  gint calls = 0;

  g_test_summary ("A record of protocol version 2 is answered with ERROR PROTOCOL (id 0), "
                  "never handled, and the listener keeps serving");

  pipe = listen_threaded (name, G_CALLBACK (pipecom_test_ack_cb), &calls);
  fake_client_init (&fc);

  write_record (pipecom_pipe_get_path (pipe), 2, 2, fc.base, "from the future");
  g_assert_true (read_frame (fc.rep_fd, &frame));
  g_assert_cmpuint (frame.type, ==, FRAME_ERROR);
  g_assert_cmpuint (frame.id, ==, 0);
  g_assert_cmpuint (g_bytes_get_size (frame.payload), >=, 4);
  g_assert_cmpuint (get_u32 (g_bytes_get_data (frame.payload, NULL)), ==, PIPECOM_ERROR_PROTOCOL);
  frame_clear (&frame);
  g_assert_cmpint (g_atomic_int_get (&calls), ==, 0);

  reply = pipecom_request (name, "still ok", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:still ok");

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_foreign_data (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-foreign");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  const char garbage[] = "GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n";
  gint calls = 0;
  int fd;

  g_test_summary ("Foreign bytes written to the well-known FIFO are dropped and the listener "
                  "keeps serving");

  pipe = listen_threaded (name, G_CALLBACK (pipecom_test_ack_cb), &calls);
  fd = open (pipecom_pipe_get_path (pipe), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, garbage, sizeof garbage - 1), ==, (ssize_t) sizeof garbage - 1);
  close (fd);

  reply = pipecom_request (name, "after garbage", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:after garbage");
  g_assert_cmpint (g_atomic_int_get (&calls), ==, 1);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  pipecom_test_stop_and_wait (pipe);
}

typedef struct
{
  gint  calls;
  char *other_base;
} QueueThenStop;

static char *
queue_then_stop_cb (PipecomPipe    *pipe,
                    PipecomMessage *message,
                    gpointer        user_data)
{
  QueueThenStop *data = user_data;

  g_atomic_int_inc (&data->calls);
  /* Another announcement is waiting in the FIFO when stop() runs. */
  write_record (pipecom_pipe_get_path (pipe), 1, 2, data->other_base, "second");
  pipecom_pipe_stop (pipe);
  return g_strdup ("bye");
}

static void
foreign_debug_cb (const char     *log_domain,
                  GLogLevelFlags  log_level,
                  const char     *message,
                  gpointer        user_data)
{
  g_test_message ("debug: %s", message);
  if (strstr (message, "foreign") != NULL)
    g_atomic_int_inc ((gint *) user_data);
}

static void
test_stop_in_handler_with_queued_record (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-stop");
  g_autoptr(PipecomPipe) pipe = NULL;
  QueueThenStop data = { 0, };
  FakeClient fc, other;
  Frame frame;
  gint foreign = 0;
  guint handler_id;

  g_test_summary ("A handler calling stop() while another record is queued: its own sender "
                  "gets exactly one answer (the REPLY), the queued one is refused, and no "
                  "valid record is taken for foreign data");

  handler_id = g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, foreign_debug_cb, &foreign);

  fake_client_init (&fc);
  fake_client_init (&other);
  data.other_base = other.base;
  pipe = listen_threaded (name, G_CALLBACK (queue_then_stop_cb), &data);

  write_record (pipecom_pipe_get_path (pipe), 1, 2, fc.base, "first");
  assert_hello (&fc, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);

  g_assert_true (read_frame (fc.rep_fd, &frame));
  if (frame.type == FRAME_ERROR)
    g_test_message ("first sender got ERROR code %u: %.*s",
                    get_u32 (g_bytes_get_data (frame.payload, NULL)),
                    (int) g_bytes_get_size (frame.payload) - 4,
                    (const char *) g_bytes_get_data (frame.payload, NULL) + 4);
  g_assert_cmpuint (frame.type, ==, FRAME_REPLY);
  g_assert_cmpuint (frame.id, ==, 1);
  frame_clear (&frame);

  /* Nothing else for the first sender: the connection just ends. */
  g_assert_false (read_frame (fc.rep_fd, &frame));

  /* The queued one is refused as CLOSED, never handled. */
  g_assert_true (read_frame (other.rep_fd, &frame));
  g_assert_cmpuint (frame.type, ==, FRAME_ERROR);
  g_assert_cmpuint (get_u32 (g_bytes_get_data (frame.payload, NULL)), ==, PIPECOM_ERROR_CLOSED);
  frame_clear (&frame);

  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (g_atomic_int_get (&data.calls), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&foreign), ==, 0);

  g_log_remove_handler (G_LOG_DOMAIN, handler_id);
  fake_client_clear (&fc);
  fake_client_clear (&other);
}

/* ------------------------------------------------------------------------ */
/* Misbehaving peers                                                        */
/* ------------------------------------------------------------------------ */

static gboolean
fd_readable_now (int fd)
{
  struct pollfd pfd = { fd, POLLIN, 0 };

  return poll (&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP)) != 0;
}

static void
test_stalled_client (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-stalled");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();  /* keeps the worker thread (and its fds) alive */
  g_autofree char *payload = NULL;
  g_autofree char *expected = NULL;
  gint64 deadline;
  PipecomPipe *pipe;
  guint8 header[12];
  guint fds_before, fds_connected;
  FakeClient fc;
  Recorder rec;

  g_test_summary ("A peer that stops in the middle of a MESSAGE frame (10 of 1000 payload bytes "
                  "written) stalls nobody: 20 pipecom_send() calls meanwhile are all handled; "
                  "the listener keeps the partial frame and answers it once completed; no fd "
                  "is left once the pipe stopped");

  recorder_init (&rec);
  payload = g_strnfill (1000, 's');
  memcpy (payload, "stalled:", 8);
  fds_before = pipecom_test_count_fds ();

  pipe = listen_threaded (name, G_CALLBACK (recorder_cb), &rec);
  fake_client_init (&fc);
  fake_client_connect (&fc, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);

  deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
  make_header (header, 1000, FRAME_MESSAGE, 1);
  g_assert_true (write_all (fc.req_fd, header, sizeof header, deadline));
  g_assert_true (write_all (fc.req_fd, (const guint8 *) payload, 10, deadline));
  fds_connected = pipecom_test_count_fds ();

  /* The stalled peer keeps its fds open; everybody else is served. */
  send_many (name, "while-stalled", 20);
  g_assert_cmpuint (recorder_count (&rec), ==, 20);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *text = g_strdup_printf ("while-stalled-%u", i);
      recorder_assert_nth (&rec, i, text);
    }
  /* The 20 one-shot connections are gone, on both sides. */
  assert_fds_back_to (fds_connected);
  /* Nothing was answered to the half-written message. */
  g_assert_false (fd_readable_now (fc.rep_fd));

  /* The rest of the payload arrives: the listener had kept the partial frame. */
  deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
  g_assert_true (write_all (fc.req_fd, (const guint8 *) payload + 10, 990, deadline));
  expected = g_strconcat ("ack:", payload, NULL);
  expect_reply (&fc, 1, expected);
  g_assert_cmpuint (recorder_count (&rec), ==, 21);
  recorder_assert_nth (&rec, 20, payload);

  /* The stream is still in step. */
  write_message_text (&fc, 2, "after the stall");
  expect_reply (&fc, 2, "ack:after the stall");
  g_assert_cmpuint (recorder_count (&rec), ==, 22);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  assert_fds_back_to (fds_before);
  recorder_clear (&rec);
}

/* Reads and drops what comes until EOF, which must come within @seconds;
 * returns how many bytes came before it. */
static gsize
drain_until_eof (int   fd,
                 guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  guint8 buf[65536];
  gsize total = 0;

  for (;;)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;

      if (left <= 0)
        g_error ("no end of file within %u s", seconds);
      if (poll (&pfd, 1, (int) MIN (left, 100)) <= 0)
        continue;
      n = read (fd, buf, sizeof buf);
      if (n == 0)
        return total;
      if (n < 0)
        {
          g_assert_true (errno == EAGAIN || errno == EINTR);
          continue;
        }
      total += n;
    }
}

typedef enum
{
  STALL_HALF_FRAME,
  STALL_NEVER_OPENS,
  STALL_NEVER_READS,
} StallKind;

static const StallKind stall_half_frame = STALL_HALF_FRAME;
static const StallKind stall_never_opens = STALL_NEVER_OPENS;
static const StallKind stall_never_reads = STALL_NEVER_READS;

static char *
big_reply_cb (PipecomPipe    *pipe,
              PipecomMessage *message,
              gpointer        user_data)
{
  return g_strnfill (32 * 1024, 'r');
}

/* The per-connection deadline (lowered from its documented 30 s to 2 s
 * here): a peer that writes half a frame, never opens its request channel
 * or never reads its replies is dropped once it passes, not before, and
 * serves nobody else meanwhile. */
static void
test_deadline (gconstpointer data)
{
  StallKind kind = *(const StallKind *) data;
  g_autofree char *name = pipecom_test_make_name ("raw-deadline");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();
  gint64 saved_deadline = _pipecom_connection_deadline_usec;
  gint64 started, deadline, elapsed;
  guint fds_before;
  PipecomPipe *pipe;
  FakeClient fc;
  Recorder rec;

  g_test_summary ("A stalled peer (half a frame written, request channel never opened, or "
                  "replies never read) is dropped after the per-connection deadline, while "
                  "other clients are served");

  _pipecom_connection_deadline_usec = 2 * G_USEC_PER_SEC;
  recorder_init (&rec);
  fds_before = pipecom_test_count_fds ();
  if (kind == STALL_NEVER_READS)
    pipe = listen_threaded (name, G_CALLBACK (big_reply_cb), NULL);
  else
    pipe = listen_threaded (name, G_CALLBACK (recorder_cb), &rec);
  fake_client_init (&fc);

  deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
  switch (kind)
    {
    case STALL_HALF_FRAME:
      {
        guint8 header[12];

        fake_client_connect (&fc, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
        make_header (header, 1000, FRAME_MESSAGE, 1);
        g_assert_true (write_all (fc.req_fd, header, 6, deadline));
        started = g_get_monotonic_time ();
      }
      break;
    case STALL_NEVER_OPENS:
      fc.req = g_strconcat (fc.base, ".req", NULL);
      g_assert_cmpint (mkfifo (fc.req, 0600), ==, 0);
      write_record (pipecom_pipe_get_path (pipe), 1, 1, fc.base, NULL);
      assert_hello (&fc, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
      started = g_get_monotonic_time ();
      break;
    case STALL_NEVER_READS:
      fake_client_connect (&fc, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
      /* 8 replies of 32 KiB: more than the channel holds. */
      for (guint i = 1; i <= 8; i++)
        write_message_text (&fc, i, "give me a lot");
      started = g_get_monotonic_time ();
      break;
    default:
      g_assert_not_reached ();
    }

  /* Others are served at once meanwhile. */
  if (kind != STALL_NEVER_READS)
    {
      send_many (name, "meanwhile", 5);
      g_assert_cmpuint (recorder_count (&rec), ==, 5);
    }
  else
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *reply = pipecom_request (name, "meanwhile", 10, 0, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (strlen (reply), ==, 32 * 1024);
    }

  /* Nothing about the stalled peer before its deadline... */
  if (kind != STALL_NEVER_READS)
    g_assert_false (fd_readable_now (fc.rep_fd));

  /* ...then the listener closes its ends: our request channel has no
   * reader left, and reading gives EOF after what it had written. */
  if (kind == STALL_NEVER_READS)
    {
      pipecom_test_wait_fifo_reader_gone (fc.req_fd, PIPECOM_TEST_DEADLINE);
      elapsed = g_get_monotonic_time () - started;
      drain_until_eof (fc.rep_fd, PIPECOM_TEST_DEADLINE);
    }
  else
    {
      drain_until_eof (fc.rep_fd, PIPECOM_TEST_DEADLINE);
      elapsed = g_get_monotonic_time () - started;
    }
  g_test_message ("dropped after %.2f s", elapsed / (double) G_USEC_PER_SEC);
  g_assert_cmpint (elapsed, >=, _pipecom_connection_deadline_usec - G_USEC_PER_SEC / 2);
  g_assert_cmpint (elapsed, <, _pipecom_connection_deadline_usec + 20 * G_USEC_PER_SEC);

  /* The listener goes on serving. */
  send_many (name, "after", 2);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  assert_fds_back_to (fds_before);
  recorder_clear (&rec);
  _pipecom_connection_deadline_usec = saved_deadline;
}

/* A peer that sends requests but never reads the replies makes the
 * listener queue them; once _pipecom_max_queued_bytes wait (lowered to
 * 256 KiB here, 16 MiB by default) the connection is dropped, long before
 * the deadline. */
static void
test_write_queue_bound (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-unread");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();
  gsize saved_max = _pipecom_max_queued_bytes;
  guint fds_before;
  PipecomPipe *pipe;
  FakeClient fc;
  gsize got;

  g_test_summary ("A client that never reads its replies is dropped once the listener has "
                  "PIPECOM_MAX_QUEUED_BYTES queued for it; its queue does not grow further "
                  "and other clients are served");

  _pipecom_max_queued_bytes = 256 * 1024;
  fds_before = pipecom_test_count_fds ();
  pipe = listen_threaded (name, G_CALLBACK (big_reply_cb), NULL);
  fake_client_init (&fc);
  fake_client_connect (&fc, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);

  /* 64 requests of 32 KiB replies: 2 MiB the peer never reads. On a slow
   * machine (valgrind) the listener may drop us while we still write them:
   * a write then fails with EPIPE, which is the drop, after at least the
   * 8 requests whose replies exceed the bound. */
  for (guint i = 1; i <= 64; i++)
    {
      gint64 deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
      const char *text = "give me a lot";
      guint8 frame[12 + 13];

      make_header (frame, strlen (text), FRAME_MESSAGE, i);
      memcpy (frame + 12, text, strlen (text));
      if (!write_all (fc.req_fd, frame, sizeof frame, deadline))
        {
          g_test_message ("dropped while writing request %u", i);
          g_assert_cmpuint (i, >, 8);
          break;
        }
    }

  /* Dropped by the bound (the 30 s deadline would come much later): the
   * listener closes its end of our request channel (no reader left) while
   * we read nothing; then what it had written is followed by EOF. */
  pipecom_test_wait_fifo_reader_gone (fc.req_fd, 15);
  got = drain_until_eof (fc.rep_fd, 15);
  g_test_message ("%zu bytes were written before the drop", got);
  g_assert_cmpuint (got, <, 1024 * 1024);

  send_many (name, "after", 2);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  assert_fds_back_to (fds_before);
  _pipecom_max_queued_bytes = saved_max;
}

typedef struct
{
  guint32  announced;   /* payload length in the header */
  gsize    written;     /* bytes of the frame (header included) written before dying */
  gboolean killed;      /* die for real: a forked child killed with SIGKILL */
} DeathCase;

static const DeathCase death_mid_payload = { 1000, 12 + 10, FALSE };
static const DeathCase death_mid_header = { 1000, 6, FALSE };
static const DeathCase death_large_body = { 100000, 12 + 40000, FALSE };
static const DeathCase death_killed = { 1000, 12 + 10, TRUE };

/* Hands the client ends of @fc's channels to a forked child, which writes
 * @len bytes of @data on the request channel and is then killed. */
static void
write_then_die_in_child (FakeClient   *fc,
                         const guint8 *data,
                         gsize         len)
{
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
  int ready[2], hold[2];
  gint status = -1;
  guint8 c;
  pid_t pid;

  g_assert_true (g_unix_open_pipe (ready, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  g_assert_true (g_unix_open_pipe (hold, FD_CLOEXEC, &error));
  g_assert_no_error (error);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      /* Only async-signal-safe calls here: the parent has threads. */
      close (ready[0]);
      close (hold[1]);
      if (write (fc->req_fd, data, len) != (ssize_t) len)
        _exit (1);
      if (write (ready[1], "w", 1) != 1)
        _exit (1);
      /* Wait to be killed; leave if the parent went away instead. */
      while (read (hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }

  close (ready[1]);
  close (hold[0]);
  /* From now on the child holds the only client ends of the channels. */
  fake_client_close_fds (fc);

  g_assert_true (read_exact (ready[0], &c, 1, deadline));
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  /* waitpid() rather than a child watch: without pidfd_open() (under
   * valgrind) GLib's child watch starts its worker thread, whose fds would
   * count as left over by the listener. */
  pipecom_test_wait_for (waitpid (pid, &status, WNOHANG) == pid, PIPECOM_TEST_DEADLINE);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

  close (ready[0]);
  close (hold[1]);
}

static void
test_client_dies_mid_frame (gconstpointer data)
{
  const DeathCase *dc = data;
  g_autofree char *name = pipecom_test_make_name ("raw-dies");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();  /* keeps the worker thread (and its fds) alive */
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *frame = NULL;
  PipecomPipe *pipe;
  guint fds_before, fds_listening;
  FakeClient fc;
  gint calls = 0;
  gboolean ok;

  g_test_summary ("A persistent peer that dies in the middle of a frame (its channel ends "
                  "closed, or the process killed) costs the listener only that connection: "
                  "both its channel ends are closed, nothing is handled, later senders are "
                  "served and no fd is left");

  frame = g_malloc (12 + dc->announced);
  make_header (frame, dc->announced, FRAME_MESSAGE, 1);
  for (guint32 i = 0; i < dc->announced; i++)
    frame[12 + i] = 'a' + i % 26;
  g_assert_cmpuint (dc->written, <, 12 + dc->announced);

  fds_before = pipecom_test_count_fds ();
  pipe = listen_threaded (name, G_CALLBACK (pipecom_test_ack_cb), &calls);
  fds_listening = pipecom_test_count_fds ();

  fake_client_init (&fc);
  fake_client_connect (&fc, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);

  if (dc->killed)
    {
      write_then_die_in_child (&fc, frame, dc->written);
    }
  else
    {
      gint64 deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;

      g_assert_true (write_all (fc.req_fd, frame, dc->written, deadline));
      fake_client_close_fds (&fc);
    }

  /* The listener noticed, and closed its two ends of that connection. */
  assert_fds_back_to (fds_listening);
  g_assert_true (pipecom_pipe_get_listening (pipe));

  ok = pipecom_send (name, "after the death", 10, 0, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (g_atomic_int_get (&calls), ==, 1);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  assert_fds_back_to (fds_before);
}

/* A payload made of complete, valid MESSAGE frames (id 7, "evil"): a
 * listener that parsed inside a skipped payload would handle them. */
static guint8 *
evil_payload (gsize len)
{
  guint8 *data = g_malloc0 (len);
  guint8 unit[16];

  make_header (unit, 4, FRAME_MESSAGE, 7);
  memcpy (unit + 12, "evil", 4);
  for (gsize off = 0; off + sizeof unit <= len; off += sizeof unit)
    memcpy (data + off, unit, sizeof unit);
  return data;
}

static void
test_oversize_raw (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-oversize");
  g_autofree guint8 *big = evil_payload (5000);
  g_autofree guint8 *huge = evil_payload (300000);
  g_autofree char *at_limit = g_strnfill (1024, 'l');
  g_autofree char *at_limit_reply = g_strconcat ("ack:", at_limit, NULL);
  g_autofree char *over_limit = g_strnfill (1025, 'o');
  PipecomPipe *pipe;
  FakeClient fc;
  Recorder rec;

  g_test_summary ("A peer ignoring the HELLO's limit: a MESSAGE over max-message-size is "
                  "skipped (never parsed, never handled) and answered with ERROR "
                  "MESSAGE_TOO_LARGE, and the next MESSAGE on the same connection is handled; "
                  "the limit itself is accepted, and skips longer than the pipe buffer work");

  g_assert_cmpint (PIPECOM_ERROR_MESSAGE_TOO_LARGE, ==, 9);

  recorder_init (&rec);
  pipe = listen_threaded_full (name, 1024, G_CALLBACK (recorder_cb), &rec);
  fake_client_init (&fc);
  fake_client_connect (&fc, pipe, 1024);

  write_message (&fc, 1, big, 5000);
  write_message_text (&fc, 2, "small one");
  expect_error (&fc, 1, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  expect_reply (&fc, 2, "ack:small one");
  g_assert_cmpuint (recorder_count (&rec), ==, 1);
  recorder_assert_nth (&rec, 0, "small one");

  /* The limit is inclusive. */
  write_message_text (&fc, 3, at_limit);
  expect_reply (&fc, 3, at_limit_reply);
  write_message_text (&fc, 4, over_limit);
  expect_error (&fc, 4, PIPECOM_ERROR_MESSAGE_TOO_LARGE);

  /* A skip much longer than the pipe buffer, consumed over many reads. */
  write_message (&fc, 5, huge, 300000);
  write_message_text (&fc, 6, "last");
  expect_error (&fc, 5, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  expect_reply (&fc, 6, "ack:last");

  g_assert_cmpuint (recorder_count (&rec), ==, 3);
  recorder_assert_nth (&rec, 1, at_limit);
  recorder_assert_nth (&rec, 2, "last");
  g_assert_false (fd_readable_now (fc.rep_fd));

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  recorder_clear (&rec);
}

typedef struct
{
  const char *what;
  guint8      type;
  guint8      flags;
  guint8      reserved[2];
  guint32     id;
} BadFrame;

static const BadFrame bad_frames[] = {
  { "unknown type 99", 99, 0, { 0, 0 }, 1 },
  { "type 0", 0, 0, { 0, 0 }, 1 },
  { "non-zero flags", FRAME_MESSAGE, 0x01, { 0, 0 }, 1 },
  { "non-zero reserved bytes", FRAME_MESSAGE, 0, { 0, 0x80 }, 1 },
  { "a listener-to-client type (REPLY)", FRAME_REPLY, 0, { 0, 0 }, 1 },
  { "MESSAGE with id 0", FRAME_MESSAGE, 0, { 0, 0 }, 0 },
};

static void
test_malformed_frame (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-malformed");
  G_GNUC_UNUSED g_autoptr(PipecomClient) pin = pin_worker ();  /* keeps the worker thread (and its fds) alive */
  const char *poison = "never handled";
  PipecomPipe *pipe;
  FakeClient other;
  Recorder rec;
  guint fds_before;

  g_test_summary ("A malformed frame (unknown type, non-zero flags or reserved bytes, wrong "
                  "direction, id 0) makes the listener close that connection only: the peer "
                  "reads EOF, nothing is handled, another open connection and new senders "
                  "are still served");

  recorder_init (&rec);
  fds_before = pipecom_test_count_fds ();
  pipe = listen_threaded (name, G_CALLBACK (recorder_cb), &rec);
  fake_client_init (&other);
  fake_client_connect (&other, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);

  for (guint i = 0; i < G_N_ELEMENTS (bad_frames); i++)
    {
      const BadFrame *bad = &bad_frames[i];
      g_autoptr(GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("after %s", bad->what);
      g_autofree char *reply = g_strconcat ("ack:", text, NULL);
      gint64 deadline = g_get_monotonic_time () + PIPECOM_TEST_DEADLINE * G_USEC_PER_SEC;
      guint8 frame_bytes[64];
      FakeClient fc;
      Frame frame;
      gboolean ok;

      g_test_message ("malformed frame: %s", bad->what);
      fake_client_init (&fc);
      fake_client_connect (&fc, pipe, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);

      /* One write: the listener may close as soon as it saw the header. */
      make_header (frame_bytes, strlen (poison), bad->type, bad->id);
      frame_bytes[5] = bad->flags;
      frame_bytes[6] = bad->reserved[0];
      frame_bytes[7] = bad->reserved[1];
      memcpy (frame_bytes + 12, poison, strlen (poison));
      g_assert_true (write_all (fc.req_fd, frame_bytes, 12 + strlen (poison), deadline));

      /* EOF on the reply channel (an ERROR PROTOCOL first is tolerated). */
      if (read_frame (fc.rep_fd, &frame))
        {
          assert_frame (&frame, FRAME_ERROR, 0, NULL);
          g_assert_cmpuint (get_u32 (g_bytes_get_data (frame.payload, NULL)), ==,
                            PIPECOM_ERROR_PROTOCOL);
          frame_clear (&frame);
          g_assert_false (read_frame (fc.rep_fd, &frame));
        }
      /* ...and the request channel lost its reader too. */
      g_assert_false (pipecom_test_fifo_has_reader (fc.req_fd));
      fake_client_clear (&fc);

      write_message_text (&other, i + 1, text);
      expect_reply (&other, i + 1, reply);
      ok = pipecom_send (name, text, 10, 0, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpuint (recorder_count (&rec), ==, 2 * (i + 1));
      recorder_assert_nth (&rec, 2 * i, text);
      recorder_assert_nth (&rec, 2 * i + 1, text);
    }

  fake_client_clear (&other);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  assert_fds_back_to (fds_before);
  recorder_clear (&rec);
}

typedef struct
{
  const char *what;
  guint8      kind;
  gboolean    no_base;    /* P = 0 instead of the peer's base */
  guint       mlen;       /* M, or with pad_to: enough for 12 + P + M = pad_to */
  guint       pad_to;
  /* The header's total and the bytes written, as offsets from the
   * consistent 12 + P + M (total is absolute when abs_total). */
  int         total;
  gboolean    abs_total;
  int         written;
} BadRecord;

static const BadRecord bad_records[] = {
  { "total longer than 12+P+M", 2, FALSE, 4, 0, 8, FALSE, 8 },
  { "total shorter than 12+P+M", 2, FALSE, 4, 0, -4, FALSE, 0 },
  { "total below the header size", 2, FALSE, 4, 0, 8, TRUE, 0 },
  { "P = 0 (ONESHOT)", 2, TRUE, 4, 0, 0, FALSE, 0 },
  { "P = 0 (CONNECT)", 1, TRUE, 0, 0, 0, FALSE, 0 },
  { "total above 512", 2, FALSE, 0, 520, 0, FALSE, 0 },
};

static const BadRecord truncated_record =
  { "fewer bytes than its total (truncated write)", 2, FALSE, 4, 0, 0, FALSE, -20 };

/* Waits until the listener has read everything queued in its FIFO. */
static void
wait_fifo_drained (int fd)
{
  int queued = -1;

  pipecom_test_wait_for (ioctl (fd, FIONREAD, &queued) == 0 && queued == 0,
                         PIPECOM_TEST_DEADLINE);
}

/* Writes @bad (naming @fc's base, with an inline message "evil") to the
 * well-known FIFO in one write(), and waits until the listener read it. */
static void
write_bad_record (PipecomPipe     *pipe,
                  FakeClient      *fc,
                  const BadRecord *bad)
{
  guint8 record[1024];
  gsize plen, mlen, consistent, total, written;
  int fd;

  plen = bad->no_base ? 0 : strlen (fc->base);
  mlen = bad->pad_to > 0 ? bad->pad_to - 12 - plen : bad->mlen;
  consistent = 12 + plen + mlen;
  total = bad->abs_total ? (gsize) bad->total : consistent + bad->total;
  written = consistent + bad->written;
  g_assert_cmpuint (written, <=, sizeof record);
  g_assert_cmpuint (total, <=, G_MAXUINT16);

  /* The peer's base, then the inline message, then filler. */
  memset (record, 'x', sizeof record);
  memcpy (record, "PCOM", 4);
  record[4] = 1;
  record[5] = bad->kind;
  put_u16 (record + 6, total);
  put_u16 (record + 8, plen);
  put_u16 (record + 10, mlen);
  if (plen > 0)
    memcpy (record + 12, fc->base, plen);
  memcpy (record + 12 + plen, "evil", MIN (mlen, 4));

  fd = open (pipecom_pipe_get_path (pipe), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, record, written), ==, (ssize_t) written);
  wait_fifo_drained (fd);
  close (fd);
}

/* The record was not taken as a connection: no HELLO. (docs/protocol.md
 * allows an ERROR PROTOCOL when BASE could be parsed.) */
static void
assert_not_accepted (FakeClient *fc)
{
  Frame frame;

  if (!fd_readable_now (fc->rep_fd) || !read_frame (fc->rep_fd, &frame))
    return;
  g_test_message ("answered with a frame of type %u", frame.type);
  assert_frame (&frame, FRAME_ERROR, 0, NULL);
  g_assert_cmpuint (get_u32 (g_bytes_get_data (frame.payload, NULL)), ==, PIPECOM_ERROR_PROTOCOL);
  frame_clear (&frame);
}

static void
test_bad_record_lengths (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-records");
  PipecomPipe *pipe;
  Recorder rec;

  g_test_summary ("Announcement records whose lengths are inconsistent (total != 12+P+M, "
                  "P = 0, total < 12 or > 512) are dropped: never accepted as a connection, "
                  "never handled, and a following pipecom_send() succeeds");

  recorder_init (&rec);
  pipe = listen_threaded (name, G_CALLBACK (recorder_cb), &rec);

  for (guint i = 0; i < G_N_ELEMENTS (bad_records); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("after %s", bad_records[i].what);
      FakeClient fc;
      gboolean ok;

      g_test_message ("bad record: %s", bad_records[i].what);
      fake_client_init (&fc);
      write_bad_record (pipe, &fc, &bad_records[i]);

      ok = pipecom_send (name, text, 10, 0, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpuint (recorder_count (&rec), ==, i + 1);
      recorder_assert_nth (&rec, i, text);

      assert_not_accepted (&fc);
      fake_client_clear (&fc);
    }

  g_assert_true (pipecom_pipe_get_listening (pipe));
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  recorder_clear (&rec);
}

static void
test_truncated_record (void)
{
  g_autofree char *name = pipecom_test_make_name ("raw-truncated");
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe;
  FakeClient fc;
  Recorder rec;
  gboolean ok;
  gint dropped;

  g_test_summary ("A record written with fewer bytes than its total says is dropped: records "
                  "are single atomic writes, so once the FIFO is drained its rest can never "
                  "come, and the next sender's record must not be taken for it");

  recorder_init (&rec);
  pipe = listen_threaded (name, G_CALLBACK (recorder_cb), &rec);
  fake_client_init (&fc);
  dropped = g_atomic_int_get (&_pipecom_truncated_records);
  write_bad_record (pipe, &fc, &truncated_record);

  /* Only once the listener found the FIFO empty does it know the record
   * is truncated: a record written before that would be read with it. */
  pipecom_test_wait_for (g_atomic_int_get (&_pipecom_truncated_records) > dropped,
                         PIPECOM_TEST_DEADLINE);

  ok = pipecom_send (name, "after a truncated record", 10, 0, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (recorder_count (&rec), ==, 1);
  recorder_assert_nth (&rec, 0, "after a truncated record");
  assert_not_accepted (&fc);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  recorder_clear (&rec);
}

/* ------------------------------------------------------------------------ */
/* Foreign prefixes must never swallow a record (issue 13, item 3). */

/* What an attacker with write access to a shared pipe's FIFO loops
 * writing: a 38-byte record header whose lengths promise 500 bytes that
 * never come. */
#define BOGUS_HEADER_SIZE 38

static void
make_bogus_header (guint8 buf[BOGUS_HEADER_SIZE])
{
  const char base[] = "/tmp/attacker-aaaaaaaaaaaa";   /* 26 bytes */

  memcpy (buf, "PCOM", 4);
  buf[4] = 1;
  buf[5] = 2;
  put_u16 (buf + 6, 500);
  put_u16 (buf + 8, sizeof base - 1);
  put_u16 (buf + 10, 500 - 12 - (sizeof base - 1));
  memcpy (buf + 12, base, sizeof base - 1);
}

/* Appends a record (see write_record()) to @buf. */
static void
append_record (GByteArray *buf,
               guint8      kind,
               const char *base,
               const char *message)
{
  gsize plen = strlen (base), mlen = message ? strlen (message) : 0, total = 12 + plen + mlen;
  guint8 header[12];

  memcpy (header, "PCOM", 4);
  header[4] = 1;
  header[5] = kind;
  put_u16 (header + 6, total);
  put_u16 (header + 8, plen);
  put_u16 (header + 10, mlen);
  g_byte_array_append (buf, header, sizeof header);
  g_byte_array_append (buf, (const guint8 *) base, plen);
  if (mlen > 0)
    g_byte_array_append (buf, (const guint8 *) message, mlen);
}

static void
append_bogus_headers (GByteArray *buf,
                      guint       n)
{
  guint8 bogus[BOGUS_HEADER_SIZE];

  make_bogus_header (bogus);
  for (guint i = 0; i < n; i++)
    g_byte_array_append (buf, bogus, sizeof bogus);
}

static void
append_filler (GByteArray *buf,
               guint8      c,
               gsize       n)
{
  for (gsize i = 0; i < n; i++)
    g_byte_array_append (buf, &c, 1);
}

/* Feeds @data to the decoder as the listener does: as the reads that
 * end at each of @cuts (then at @len), record after record, and once more
 * after the last as when the FIFO read empty. Returns the records served,
 * as "BASE|MESSAGE". */
static GPtrArray *
decode_reads (const guint8 *data,
              gsize         len,
              const gsize  *cuts,
              guint         n_cuts)
{
  GPtrArray *served = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  gsize fed = 0;

  for (guint read = 0; read <= n_cuts + 1; read++)
    {
      gboolean at_end = read == n_cuts + 1;
      gsize upto = read < n_cuts ? cuts[read] : len;
      gsize off = 0;

      g_byte_array_append (buf, data + fed, upto - fed);
      fed = upto;

      for (;;)
        {
          PipecomAnnounce record;
          gsize used = _pipecom_decode_announce (buf->data + off, buf->len - off, at_end,
                                                 &record);

          if (used == 0)
            break;
          if (record.base != NULL)
            g_ptr_array_add (served, g_strdup_printf ("%s|%.*s", record.base,
                                                      (int) record.inline_len,
                                                      (const char *) record.inline_data));
          g_free (record.base);
          off += used;
        }
      g_byte_array_remove_range (buf, 0, off);
      /* The listener's buffer relies on it. */
      g_assert_cmpuint (buf->len, <, 2 * PIPECOM_ANNOUNCE_MAX);
    }

  g_assert_cmpuint (buf->len, ==, 0);
  return served;
}

static void
assert_served (GPtrArray  *served,
               const char *expected)
{
  for (guint i = 0; i < served->len; i++)
    g_test_message ("served: %s", (const char *) g_ptr_array_index (served, i));
  g_assert_cmpuint (served->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (served, 0), ==, expected);
}

static void
test_swallow_decode_incomplete_prefix (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GPtrArray) served = NULL;

  g_test_summary ("A foreign header promising 500 bytes, read together with a complete "
                  "record, does not take the record for its missing bytes: the record is "
                  "served");

  append_bogus_headers (buf, 1);
  append_record (buf, 2, "/run/pipecom/.c1-0-00000000", "genuine");
  append_bogus_headers (buf, 1);

  served = decode_reads (buf->data, buf->len, NULL, 0);
  assert_served (served, "/run/pipecom/.c1-0-00000000|genuine");
}

static void
test_swallow_decode_crafted_extent (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GPtrArray) served = NULL;
  guint8 header[12];

  g_test_summary ("A complete foreign record whose extent covers the start of a complete "
                  "valid record loses to it: the inner record is served, not the foreign one");

  /* A consistent header of 200 bytes, its 14th byte on filler, then a
   * genuine record, then filler up to past the foreign extent. */
  memcpy (header, "PCOM", 4);
  header[4] = 1;
  header[5] = 2;
  put_u16 (header + 6, 200);
  put_u16 (header + 8, 2);
  put_u16 (header + 10, 186);
  g_byte_array_append (buf, header, sizeof header);
  g_byte_array_append (buf, (const guint8 *) "/x", 2);
  append_filler (buf, 'y', 40 - buf->len);
  append_record (buf, 2, "/run/pipecom/.c1-0-00000000", "genuine");
  append_filler (buf, 'z', 240 - buf->len);

  served = decode_reads (buf->data, buf->len, NULL, 0);
  assert_served (served, "/run/pipecom/.c1-0-00000000|genuine");
}

static void
test_swallow_decode_split (void)
{
  const char *genuine = "/run/pipecom/.c1-0-00000000";
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  gsize record_len;

  g_test_summary ("A record read in two parts behind a foreign header (the listener's "
                  "buffer cut it) is waited for, not swallowed, whether the foreign header's "
                  "extent completes later or never");

  append_bogus_headers (buf, 1);
  append_record (buf, 2, genuine, "genuine");
  record_len = buf->len - BOGUS_HEADER_SIZE;

  for (guint trailing = 0; trailing <= 13; trailing += 13)
    {
      /* Cut inside the magic, inside the header, inside the base, inside
       * the message, and right after the foreign header. */
      const gsize cuts[] = { 2, 9, 20, record_len - 3, 0 };
      g_autoptr(GByteArray) data = g_byte_array_new ();

      g_byte_array_append (data, buf->data, buf->len);
      /* With 13 more headers the first one's extent completes. */
      append_bogus_headers (data, trailing);

      for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
        {
          g_autoptr(GPtrArray) served = NULL;
          gsize cut = BOGUS_HEADER_SIZE + cuts[i];

          g_test_message ("%u headers after, cut at %zu", trailing, cut);
          served = decode_reads (data->data, data->len, &cut, 1);
          assert_served (served, "/run/pipecom/.c1-0-00000000|genuine");
        }
    }
}

/* Reads the first announcement record written to the fake listener FIFO
 * @fd and checks it holds no "PCOM" but its magic (the message went by a
 * channel, or inline without one). */
static void
assert_record_has_one_magic (int fd)
{
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (PIPECOM_TEST_DEADLINE);
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  ssize_t n;

  while ((n = read (fd, record, sizeof record)) == 0 ||
         (n < 0 && (errno == EAGAIN || errno == EINTR)))
    g_assert_true (pipecom_test_deadline_iterate (deadline));
  pipecom_test_deadline_free (deadline);

  g_assert_cmpint (n, >=, PIPECOM_ANNOUNCE_HEADER_SIZE);
  g_assert_cmpmem (record, 4, "PCOM", 4);
  g_test_message ("record of kind %u, %zd bytes, message of %u bytes inline",
                  record[5], n, _pipecom_get_u16 (record + 10));
  for (gssize i = 1; i + 4 <= n; i++)
    g_assert_false (memcmp (record + i, "PCOM", 4) == 0);
}

/* A message that holds a complete valid record, as a relay of records
 * would send. */
static GBytes *
make_magic_message (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();

  g_byte_array_append (buf, (const guint8 *) "relay:", 6);
  append_record (buf, 2, "/tmp/elsewhere", "inner");
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

static gpointer
send_to_fake_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = make_magic_message ();

  /* The fake listener goes away: the send fails, quickly. */
  g_assert_false (pipecom_send_bytes (data, message, PIPECOM_TEST_DEADLINE, 1, &error));
  g_assert_nonnull (error);
  return NULL;
}

static void
test_swallow_inline_magic (gconstpointer data)
{
  gboolean async = GPOINTER_TO_INT (data);
  g_autofree char *fake = pipecom_test_make_path ("magic-fake");
  g_autofree char *name = pipecom_test_make_name ("magic");
  g_autoptr(GBytes) message = make_magic_message ();
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  Recorder rec;
  int fd;

  g_test_summary ("A one-shot message holding a record of its own is never carried inline "
                  "(a listener would take the inner record for the one that wins), and is "
                  "delivered intact");

  /* What the sender writes on the well-known FIFO. */
  g_assert_cmpint (mkfifo (fake, 0600), ==, 0);
  fd = open (fake, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  if (async)
    {
      PipecomTestResult result = { 0 };

      pipecom_send_bytes_async (fake, message, PIPECOM_TEST_DEADLINE, 1, NULL,
                                pipecom_test_send_bytes_cb, &result);
      assert_record_has_one_magic (fd);
      g_unlink (fake);
      close (fd);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_false (result.ok);
      pipecom_test_result_clear (&result);
    }
  else
    {
      g_autoptr(GThread) thread = g_thread_new ("send", send_to_fake_thread, fake);

      assert_record_has_one_magic (fd);
      g_unlink (fake);
      close (fd);
      g_thread_join (g_steal_pointer (&thread));
    }

  /* And a listener gets it whole. */
  recorder_init (&rec);
  pipe = listen_threaded (name, G_CALLBACK (recorder_cb), &rec);
  if (async)
    {
      PipecomTestResult result = { 0 };

      pipecom_request_bytes_async (name, message, PIPECOM_TEST_DEADLINE, 0, NULL,
                                   pipecom_test_request_bytes_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      reply = g_steal_pointer (&result.bytes);
      pipecom_test_result_clear (&result);
    }
  else
    reply = pipecom_request_bytes (name, message, PIPECOM_TEST_DEADLINE, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpuint (recorder_count (&rec), ==, 1);
  g_mutex_lock (&rec.lock);
  g_assert_true (g_bytes_equal (g_ptr_array_index (rec.payloads, 0), message));
  g_mutex_unlock (&rec.lock);
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  recorder_clear (&rec);
}

static void
test_swallow_end_to_end (void)
{
  g_autofree char *name = pipecom_test_make_name ("swallow");
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(PipecomPipe) pipe = NULL;
  FakeClient fc;
  Frame frame;
  gint calls = 0;
  int fd;

  g_test_summary ("A foreign header promising 500 bytes and a sender's record read by the "
                  "listener in the same read: the record is served");

  pipe = listen_threaded (name, G_CALLBACK (pipecom_test_ack_cb), &calls);
  fake_client_init (&fc);

  /* One write, so one read. */
  append_bogus_headers (buf, 1);
  append_record (buf, 2, fc.base, "behind garbage");
  g_assert_cmpuint (buf->len, <=, PIPECOM_ANNOUNCE_MAX);
  fd = open (pipecom_pipe_get_path (pipe), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, buf->data, buf->len), ==, (ssize_t) buf->len);
  close (fd);

  assert_hello (&fc, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_true (read_frame (fc.rep_fd, &frame));
  assert_frame (&frame, FRAME_REPLY, 1, "ack:behind garbage");
  frame_clear (&frame);
  g_assert_cmpint (g_atomic_int_get (&calls), ==, 1);

  fake_client_clear (&fc);
  pipecom_test_stop_and_wait (pipe);
}

typedef struct
{
  char *path;
  gint  stop;       /* atomic */
  gint  writes;     /* atomic */
} Flood;

static gpointer
flood_thread (gpointer data)
{
  Flood *flood = data;
  guint8 bogus[BOGUS_HEADER_SIZE];
  int fd;

  make_bogus_header (bogus);
  fd = open (flood->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);

  while (!g_atomic_int_get (&flood->stop))
    {
      ssize_t n = write (fd, bogus, sizeof bogus);

      if (n == (ssize_t) sizeof bogus)
        g_atomic_int_inc (&flood->writes);
      else
        {
          /* Full: wait for room, as a looping attacker would. */
          struct pollfd pfd = { fd, POLLOUT, 0 };

          g_assert_true (n < 0 && (errno == EAGAIN || errno == EINTR));
          poll (&pfd, 1, 10);
        }
    }

  close (fd);
  return NULL;
}

static int
cmp_gint64 (gconstpointer a,
            gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Sends 20 requests (timeout 5 s), which must all succeed, and reports
 * their latency. Under a @flood, each waits until the flood has gone on
 * for another 2000 headers, so that the requests are spread over it. */
static void
timed_requests (const char *path,
                Flood      *flood,
                const char *what)
{
  gint64 latency[20];

  for (guint i = 0; i < G_N_ELEMENTS (latency); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("%s-%u", what, i);
      g_autofree char *expected = g_strconcat ("ack:", text, NULL);
      g_autofree char *reply = NULL;
      gint64 start;

      if (flood != NULL)
        {
          gint until = g_atomic_int_get (&flood->writes) + 2000;

          pipecom_test_wait_for (g_atomic_int_get (&flood->writes) >= until,
                                 PIPECOM_TEST_DEADLINE);
        }

      start = g_get_monotonic_time ();
      reply = pipecom_request (path, text, 5, 0, &error);
      latency[i] = g_get_monotonic_time () - start;
      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);
    }

  qsort (latency, G_N_ELEMENTS (latency), sizeof latency[0], cmp_gint64);
  g_test_message ("request latency %s: median %.3f ms, max %.3f ms", what,
                  (latency[9] + latency[10]) / 2000.0,
                  latency[G_N_ELEMENTS (latency) - 1] / 1000.0);
}

static void
test_swallow_flood (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GThread) thread = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *chandir = NULL;
  Flood flood = { NULL, 0, 0 };
  gint64 start;
  gint calls = 0;

  g_test_summary ("While the FIFO of a shared pipe is flooded with 38-byte headers "
                  "promising 500 bytes, 20 requests with a timeout of 5 s all succeed "
                  "(latency reported with and without the flood)");

  tmp = g_dir_make_tmp ("pipecom-flood-XXXXXX", &error);
  g_assert_no_error (error);
  flood.path = g_build_filename (tmp, "svc", NULL);
  chandir = g_strconcat (flood.path, ".d", NULL);

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", flood.path, "threaded", TRUE,
                       "access", PIPECOM_ACCESS_GROUP, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  timed_requests (flood.path, NULL, "without flood");

  thread = g_thread_new ("flood", flood_thread, &flood);
  start = g_get_monotonic_time ();
  timed_requests (flood.path, &flood, "under flood");
  g_atomic_int_set (&flood.stop, 1);
  g_thread_join (g_steal_pointer (&thread));
  g_test_message ("%d bogus headers (%.1f MB) written in %.3f s", flood.writes,
                  flood.writes * (double) BOGUS_HEADER_SIZE / 1e6,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (flood.writes, >=, 40000);

  g_assert_cmpint (g_atomic_int_get (&calls), ==, 40);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  pipecom_test_stop_and_wait (pipe);
  g_clear_object (&pipe);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
  g_free (flood.path);
}

/* A shared pipe whose channel paths are about 200 bytes long. */
static char *
make_long_shared_path (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  gsize base_len;

  dir = g_build_filename (pipecom_test_get_runtime_dir (), "long-", NULL);
  base_len = strlen (dir) + strlen ("/pipe") + strlen (".d/.s") + 32;
  g_assert_cmpuint (base_len, <, 200);
  {
    g_autofree char *pad = g_strnfill (200 - base_len, 'l');
    g_autofree char *padded = g_strconcat (dir, pad, NULL);

    g_assert_cmpint (g_mkdir (padded, 0700), ==, 0);
    path = g_build_filename (padded, "pipe", NULL);
  }
  return g_steal_pointer (&path);
}

static void
test_oneshot_long_base (gconstpointer data)
{
  gboolean async = GPOINTER_TO_INT (data);

  g_test_summary ("A one-shot message of 330 bytes to a shared pipe whose channel paths are "
                  "200 bytes long (too long for both in one record) is delivered, through "
                  "a channel, and the sender does not abort");

  if (!g_test_subprocess ())
    {
      /* The sender aborted in _pipecom_encode_announce(). */
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  {
    g_autofree char *path = make_long_shared_path ();
    g_autofree char *dir = g_path_get_dirname (path);
    g_autoptr(GError) error = NULL;
    g_autoptr(PipecomPipe) pipe = NULL;
    gint calls = 0;

    pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", path, "threaded", TRUE,
                         "access", PIPECOM_ACCESS_GROUP, NULL);
    g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
    g_assert_true (pipecom_pipe_listen (pipe, &error));
    g_assert_no_error (error);

    for (gsize size = 200; size <= 330; size += 130)
      {
        g_autofree char *message = g_strnfill (size, 'm');
        g_autofree char *expected = g_strconcat ("ack:", message, NULL);
        g_autofree char *reply = NULL;

        if (async)
          {
            PipecomTestResult result = { 0 };

            pipecom_request_async (path, message, PIPECOM_TEST_DEADLINE, 0, NULL,
                                   pipecom_test_request_cb, &result);
            pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
            g_assert_no_error (result.error);
            reply = g_steal_pointer (&result.text);
            pipecom_test_result_clear (&result);
          }
        else
          {
            reply = pipecom_request (path, message, PIPECOM_TEST_DEADLINE, 0, &error);
            g_assert_no_error (error);
          }
        g_assert_cmpstr (reply, ==, expected);
      }

    g_assert_cmpint (g_atomic_int_get (&calls), ==, 2);
    pipecom_test_stop_and_wait (pipe);
    g_clear_object (&pipe);
    g_assert_cmpint (g_rmdir (dir), ==, 0);
  }
}

/* ------------------------------------------------------------------------ */

/* Channels a private listener must ignore: it opens only FIFOs that its
 * user's senders make, in their pipe directory. */
typedef enum
{
  PRIVATE_OUTSIDE,  /* a proper name, outside the user's pipe directory */
  PRIVATE_NAME,     /* in the pipe directory, not named .c<pid>-<n>-<hex> */
  PRIVATE_LINKS,    /* a hard link to another FIFO of the user's */
  PRIVATE_MODE,     /* group-accessible */
} PrivateChannelCase;

/* Makes the FIFO @path as @what says (@other: for PRIVATE_LINKS, the FIFO
 * it is a hard link to). */
static void
make_bad_fifo (const char         *path,
               const char         *other,
               PrivateChannelCase  what)
{
  if (what == PRIVATE_LINKS)
    {
      if (!g_file_test (other, G_FILE_TEST_EXISTS))
        g_assert_cmpint (mkfifo (other, 0600), ==, 0);
      g_assert_cmpint (link (other, path), ==, 0);
    }
  else
    {
      g_assert_cmpint (mkfifo (path, 0600), ==, 0);
      if (what == PRIVATE_MODE)
        g_assert_cmpint (chmod (path, 0620), ==, 0);
    }
}

static void
test_private_channel (gconstpointer data)
{
  PrivateChannelCase what = GPOINTER_TO_INT (data);
  g_autofree char *name = pipecom_test_make_name ("raw-private");
  g_autofree char *pipe_dir = pipecom_test_get_pipecom_dir ();
  g_autofree char *leaf = g_strdup_printf (".c%d-7-0badcafe", (int) getpid ());
  g_autofree char *base = NULL;
  g_autofree char *rep = NULL;
  g_autofree char *req = NULL;
  g_autofree char *other = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  FakeClient fc;
  Frame frame;
  gint calls = 0;
  int bad_fd;

  g_test_summary ("A private listener ignores records whose channel is outside its user's "
                  "pipe directory, not named as senders name them, a hard link, or open "
                  "to the group: it writes nothing to it, handles nothing, and serves the "
                  "next sender");

  pipe = listen_threaded (name, G_CALLBACK (pipecom_test_ack_cb), &calls);

  switch (what)
    {
    case PRIVATE_OUTSIDE:
      base = g_build_filename (pipecom_test_get_runtime_dir (), leaf, NULL);
      break;
    case PRIVATE_NAME:
      base = g_build_filename (pipe_dir, "raw-channel", NULL);
      break;
    case PRIVATE_LINKS:
    case PRIVATE_MODE:
    default:
      base = g_build_filename (pipe_dir, leaf, NULL);
      break;
    }
  rep = g_strconcat (base, ".rep", NULL);
  req = g_strconcat (base, ".req", NULL);
  other = g_build_filename (pipe_dir, "other-fifo", NULL);
  make_bad_fifo (rep, other, what);
  make_bad_fifo (req, other, what);
  bad_fd = open (rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (bad_fd, >=, 0);

  write_record (pipecom_pipe_get_path (pipe), 1, 2, base, "evil");
  write_record (pipecom_pipe_get_path (pipe), 1, 1, base, NULL);

  /* Records are handled in order: once a later one is served, ours were. */
  fake_client_init (&fc);
  write_record (pipecom_pipe_get_path (pipe), 1, 2, fc.base, "good");
  assert_hello (&fc, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_true (read_frame (fc.rep_fd, &frame));
  g_assert_cmpuint (frame.type, ==, FRAME_REPLY);
  g_assert_cmpmem (g_bytes_get_data (frame.payload, NULL), g_bytes_get_size (frame.payload),
                   "ack:good", 8);
  frame_clear (&frame);

  g_assert_cmpint (g_atomic_int_get (&calls), ==, 1);
  g_assert_false (fd_readable_now (bad_fd));
  g_assert_true (pipecom_pipe_get_listening (pipe));

  close (bad_fd);
  fake_client_clear (&fc);
  g_unlink (rep);
  g_unlink (req);
  g_unlink (other);
  pipecom_test_stop_and_wait (pipe);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/protocol/oneshot", test_raw_oneshot);
  g_test_add_data_func ("/protocol/private-channel/outside", GINT_TO_POINTER (PRIVATE_OUTSIDE),
                        test_private_channel);
  g_test_add_data_func ("/protocol/private-channel/name", GINT_TO_POINTER (PRIVATE_NAME),
                        test_private_channel);
  g_test_add_data_func ("/protocol/private-channel/links", GINT_TO_POINTER (PRIVATE_LINKS),
                        test_private_channel);
  g_test_add_data_func ("/protocol/private-channel/mode", GINT_TO_POINTER (PRIVATE_MODE),
                        test_private_channel);
  g_test_add_func ("/protocol/bad-version", test_bad_version);
  g_test_add_func ("/protocol/foreign-data", test_foreign_data);
  g_test_add_func ("/protocol/stop-in-handler", test_stop_in_handler_with_queued_record);
  g_test_add_func ("/protocol/stalled-client", test_stalled_client);
  g_test_add_data_func ("/protocol/client-dies-mid-frame/mid-payload", &death_mid_payload,
                        test_client_dies_mid_frame);
  g_test_add_data_func ("/protocol/client-dies-mid-frame/mid-header", &death_mid_header,
                        test_client_dies_mid_frame);
  g_test_add_data_func ("/protocol/client-dies-mid-frame/large-body", &death_large_body,
                        test_client_dies_mid_frame);
  g_test_add_data_func ("/protocol/client-dies-mid-frame/killed", &death_killed,
                        test_client_dies_mid_frame);
  g_test_add_data_func ("/protocol/deadline/half-frame", &stall_half_frame, test_deadline);
  g_test_add_data_func ("/protocol/deadline/never-opens", &stall_never_opens, test_deadline);
  g_test_add_data_func ("/protocol/deadline/never-reads", &stall_never_reads, test_deadline);
  g_test_add_func ("/protocol/write-queue-bound", test_write_queue_bound);
  g_test_add_func ("/protocol/oversize-raw", test_oversize_raw);
  g_test_add_func ("/protocol/malformed-frame", test_malformed_frame);
  g_test_add_func ("/protocol/bad-record-lengths", test_bad_record_lengths);
  /* A sub-path, so that it runs after the client-dies-mid-frame cases. */
  g_test_add_func ("/protocol/bad-record-lengths/truncated", test_truncated_record);
  g_test_add_func ("/protocol/swallow/decode-incomplete-prefix",
                   test_swallow_decode_incomplete_prefix);
  g_test_add_func ("/protocol/swallow/decode-crafted-extent", test_swallow_decode_crafted_extent);
  g_test_add_func ("/protocol/swallow/decode-split", test_swallow_decode_split);
  g_test_add_data_func ("/protocol/swallow/inline-magic/sync", GINT_TO_POINTER (FALSE),
                        test_swallow_inline_magic);
  g_test_add_data_func ("/protocol/swallow/inline-magic/async", GINT_TO_POINTER (TRUE),
                        test_swallow_inline_magic);
  g_test_add_func ("/protocol/swallow/end-to-end", test_swallow_end_to_end);
  g_test_add_func ("/protocol/swallow/flood", test_swallow_flood);
  g_test_add_data_func ("/protocol/oneshot-long-base/sync", GINT_TO_POINTER (FALSE),
                        test_oneshot_long_base);
  g_test_add_data_func ("/protocol/oneshot-long-base/async", GINT_TO_POINTER (TRUE),
                        test_oneshot_long_base);

  return g_test_run ();
}
