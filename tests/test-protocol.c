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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"

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

static guint32
get_u32 (const guint8 *p)
{
  return p[0] | p[1] << 8 | p[2] << 16 | (guint32) p[3] << 24;
}

/* A fake client: its channel FIFO, opened for reading before announcing. */
typedef struct
{
  char *base;
  char *rep;
  int   rep_fd;
} FakeClient;

static void
fake_client_init (FakeClient *fc)
{
  fc->base = pipecom_test_make_path ("raw-client");
  fc->rep = g_strconcat (fc->base, ".rep", NULL);
  g_assert_cmpint (mkfifo (fc->rep, 0600), ==, 0);
  fc->rep_fd = open (fc->rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fc->rep_fd, >=, 0);
}

static void
fake_client_clear (FakeClient *fc)
{
  if (fc->rep_fd >= 0)
    close (fc->rep_fd);
  g_unlink (fc->rep);
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

static PipecomPipe *
listen_threaded (const char *name,
                 GCallback   handler,
                 gpointer    data)
{
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);

  g_signal_connect (pipe, "message-received", handler, data);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  return pipe;
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

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/protocol/oneshot", test_raw_oneshot);
  g_test_add_func ("/protocol/bad-version", test_bad_version);
  g_test_add_func ("/protocol/foreign-data", test_foreign_data);
  g_test_add_func ("/protocol/stop-in-handler", test_stop_in_handler_with_queued_record);

  return g_test_run ();
}
