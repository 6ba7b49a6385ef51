/* test-connection.c: the connection core against a raw peer, on both
 * platforms
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"
#include "pipecom-connection-private.h"

#ifdef G_OS_UNIX
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <glib-unix.h>

#include "unix/pipecom-unix-private.h"
#endif
#ifdef G_OS_WIN32
#include <windows.h>

#include "win32/pipecom-win32-private.h"
#endif

/* The frame parsing, write queue and limits are shared by the Unix and the
 * Windows connection (pipecom-connection.c); these tests drive a
 * connection of the platform's kind (a pair of pipes, or one named pipe)
 * from a raw peer that writes what it likes and reads nothing. */

typedef struct
{
  PipecomConnection *conn;
#ifdef G_OS_UNIX
  int                peer_out;   /* we write, the connection reads */
  int                peer_in;    /* the connection writes; never read */
#else
  HANDLE             peer;
#endif
  guint              frames;
  gsize              last_len;
  GBytes            *last;
  GPtrArray         *all;        /* (nullable) every payload, when set */
  gboolean           closed;
  GError            *error;
  gint64             closed_at;
} Pair;

static void
frame_cb (PipecomConnection *conn,
          guint8             type,
          guint32            id,
          GBytes            *payload,
          gpointer           user_data)
{
  Pair *pair = user_data;

  pair->frames++;
  pair->last_len = g_bytes_get_size (payload);
  g_clear_pointer (&pair->last, g_bytes_unref);
  pair->last = g_bytes_ref (payload);
  if (pair->all != NULL)
    g_ptr_array_add (pair->all, g_bytes_ref (payload));
}

static void
closed_cb (PipecomConnection *conn,
           const GError      *error,
           gpointer           user_data)
{
  Pair *pair = user_data;

  pair->closed = TRUE;
  pair->closed_at = g_get_monotonic_time ();
  pair->error = error != NULL ? g_error_copy (error) : NULL;
}

static const PipecomConnectionFuncs pair_funcs = { frame_cb, NULL, closed_cb };

/* A connection of @pair calling @funcs with @user_data. */
static void
pair_open_with (Pair                         *pair,
                guint64                       max_frame,
                const PipecomConnectionFuncs *funcs,
                gpointer                      user_data)
{
  memset (pair, 0, sizeof *pair);
#ifdef G_OS_UNIX
  {
    int to_conn[2], from_conn[2];

    g_assert_true (g_unix_open_pipe (to_conn, FD_CLOEXEC, NULL));
    g_assert_true (g_unix_open_pipe (from_conn, FD_CLOEXEC, NULL));
    g_assert_true (g_unix_set_fd_nonblocking (to_conn[0], TRUE, NULL));
    g_assert_true (g_unix_set_fd_nonblocking (from_conn[1], TRUE, NULL));
    pair->peer_out = to_conn[1];
    pair->peer_in = from_conn[0];
    pair->conn = _pipecom_connection_new (to_conn[0], from_conn[1], 65536, max_frame,
                                          funcs, user_data, g_main_context_default ());
  }
#else
  {
    g_autofree char *path = g_strdup_printf ("\\\\.\\pipe\\pipecom-test-connection-%lu-%d",
                                             GetCurrentProcessId (), g_random_int ());
    g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
    OVERLAPPED ov = { 0, };
    HANDLE server;

    server = CreateNamedPipeW (wpath, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                               FILE_FLAG_FIRST_PIPE_INSTANCE,
                               PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                               1, 4096, 4096, 0, NULL);
    g_assert_true (server != INVALID_HANDLE_VALUE);
    pair->peer = CreateFileW (wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                              FILE_FLAG_OVERLAPPED, NULL);
    g_assert_true (pair->peer != INVALID_HANDLE_VALUE);
    ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
    if (!ConnectNamedPipe (server, &ov))
      g_assert_cmpuint (GetLastError (), ==, ERROR_PIPE_CONNECTED);
    CloseHandle (ov.hEvent);
    pair->conn = _pipecom_connection_new_handle (server, 65536, max_frame,
                                                 funcs, user_data, NULL);
  }
#endif
}

static void
pair_open (Pair    *pair,
           guint64  max_frame)
{
  pair_open_with (pair, max_frame, &pair_funcs, pair);
}

/* Writes all of @data, blocking (from any thread). */
static void
peer_write (Pair         *pair,
            const guint8 *data,
            gsize         len)
{
#ifdef G_OS_UNIX
  while (len > 0)
    {
      ssize_t n = write (pair->peer_out, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      data += n;
      len -= n;
    }
#else
  OVERLAPPED ov = { 0, };

  ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  while (len > 0)
    {
      DWORD n = 0;

      if (!WriteFile (pair->peer, data, (DWORD) MIN (len, 1024 * 1024), &n, &ov))
        {
          g_assert_cmpuint (GetLastError (), ==, ERROR_IO_PENDING);
          g_assert_true (GetOverlappedResult (pair->peer, &ov, &n, TRUE));
        }
      g_assert_cmpuint (n, >, 0);
      data += n;
      len -= n;
    }
  CloseHandle (ov.hEvent);
#endif
}

static void
peer_close (Pair *pair)
{
#ifdef G_OS_UNIX
  if (pair->peer_out >= 0)
    close (pair->peer_out);
  if (pair->peer_in >= 0)
    close (pair->peer_in);
  pair->peer_out = pair->peer_in = -1;
#else
  if (pair->peer != INVALID_HANDLE_VALUE)
    CloseHandle (pair->peer);
  pair->peer = INVALID_HANDLE_VALUE;
#endif
}

static void
pair_clear (Pair *pair)
{
  peer_close (pair);
  _pipecom_connection_close (pair->conn);
  g_clear_pointer (&pair->conn, _pipecom_connection_unref);
  g_clear_pointer (&pair->last, g_bytes_unref);
  g_clear_error (&pair->error);
}

static void
write_header (Pair    *pair,
              guint32  len,
              gsize    how_much)
{
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];

  _pipecom_encode_frame_header (header, len, PIPECOM_FRAME_MESSAGE, 1);
  peer_write (pair, header, how_much);
}

typedef struct
{
  Pair    *pair;
  GBytes  *frame;
  GThread *thread;
} Writer;

static gpointer
writer_thread (gpointer user_data)
{
  Writer *writer = user_data;

  peer_write (writer->pair, g_bytes_get_data (writer->frame, NULL),
              g_bytes_get_size (writer->frame));
  return NULL;
}

/* Writes a frame claiming @claimed bytes, then @payload, from a thread:
 * more than a pipe holds, written while the test reads. */
static void
writer_start (Writer  *writer,
              Pair    *pair,
              guint32  claimed,
              GBytes  *payload)
{
  GByteArray *frame = g_byte_array_new ();
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];

  _pipecom_encode_frame_header (header, claimed, PIPECOM_FRAME_MESSAGE, 1);
  g_byte_array_append (frame, header, sizeof header);
  g_byte_array_append (frame, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
  writer->pair = pair;
  writer->frame = g_byte_array_free_to_bytes (frame);
  writer->thread = g_thread_new ("writer", writer_thread, writer);
}

static void
writer_join (Writer *writer)
{
  g_thread_join (writer->thread);
  g_bytes_unref (writer->frame);
}

/* A header claiming 4 GiB (found by fuzzing, see
 * tests/fuzz/frames/regress-4gib-header-no-limit) with no frame size limit:
 * the connection holds what arrived, in a body of at most
 * PIPECOM_BODY_CHUNK, not the 4 GiB claimed. */
static void
test_huge_header (void)
{
  g_autoptr(GBytes) some = pipecom_test_random_bytes (100000);
  Writer writer;
  Pair pair;

  g_test_summary ("A frame header claiming 4 GiB makes the connection allocate as the "
                  "bytes arrive, not what the header claims");

  pair_open (&pair, 0);
  writer_start (&writer, &pair, G_MAXUINT32, some);
  pipecom_test_wait_for (pair.conn->body != NULL && pair.conn->body_have == g_bytes_get_size (some), 30);
  writer_join (&writer);
  g_assert_cmpuint (pair.conn->body_len, ==, G_MAXUINT32);
  g_assert_cmpuint (pair.conn->body_cap, <=, PIPECOM_BODY_CHUNK);
  g_assert_cmpmem (pair.conn->body, g_bytes_get_size (some),
                   g_bytes_get_data (some, NULL), g_bytes_get_size (some));

  /* The peer dies in the middle of it. */
  peer_close (&pair);
  pipecom_test_wait_for (pair.closed, 30);
  g_assert_error (pair.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
  g_assert_cmpuint (pair.frames, ==, 0);

  pair_clear (&pair);
}

/* A large frame's body grows as it arrives (doubling from
 * PIPECOM_BODY_CHUNK) and is delivered whole. */
static void
test_large_body (void)
{
  g_autoptr(GBytes) payload = pipecom_test_random_bytes (5 * PIPECOM_BODY_CHUNK + 12345);
  Writer writer;
  Pair pair;

  g_test_summary ("A frame larger than the read buffer is read into a body that grows "
                  "as it arrives, and delivered intact");

  pair_open (&pair, 0);
  writer_start (&writer, &pair, g_bytes_get_size (payload), payload);
  pipecom_test_wait_for (pair.frames == 1 || pair.closed, 60);
  writer_join (&writer);

  g_assert_false (pair.closed);
  g_assert_true (g_bytes_equal (pair.last, payload));

  pair_clear (&pair);
}

/* Frames written back to back, large and small: the end of a large body
 * and the next header are read in one call (the header alone, so that a
 * large body after it is read straight into its own allocation). */
static void
test_large_then_next (void)
{
  const gsize sizes[] = { 200000, 300001, 10, 70000, 0, 1 << 20, 65536 - 12, 5, 100000 };
  g_autoptr(GPtrArray) payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GByteArray *stream = g_byte_array_new ();
  Writer writer;
  Pair pair;

  g_test_summary ("Large and small frames written back to back arrive whole and in order");

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      GBytes *payload = pipecom_test_random_bytes (sizes[i]);
      guint8 header[PIPECOM_FRAME_HEADER_SIZE];

      _pipecom_encode_frame_header (header, sizes[i], PIPECOM_FRAME_MESSAGE, i + 1);
      g_byte_array_append (stream, header, sizeof header);
      g_byte_array_append (stream, g_bytes_get_data (payload, NULL), sizes[i]);
      g_ptr_array_add (payloads, payload);
    }

  pair_open (&pair, 0);
  pair.all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  writer.pair = &pair;
  writer.frame = g_byte_array_free_to_bytes (stream);
  writer.thread = g_thread_new ("writer", writer_thread, &writer);
  pipecom_test_wait_for (pair.frames == G_N_ELEMENTS (sizes) || pair.closed, 60);
  writer_join (&writer);

  g_assert_false (pair.closed);
  g_assert_cmpuint (pair.all->len, ==, G_N_ELEMENTS (sizes));
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    g_assert_true (g_bytes_equal (pair.all->pdata[i], payloads->pdata[i]));
  g_assert_null (pair.conn->body);

  g_clear_pointer (&pair.all, g_ptr_array_unref);
  pair_clear (&pair);
}

/* Small payloads are made in a buffer the connection uses again once
 * nobody holds them (see deliver_small()): what a handler keeps must stay
 * intact whatever arrives after it, and what it drops must not be seen
 * again. */
typedef struct
{
  GPtrArray *kept;     /* of GBytes */
  GPtrArray *seen;     /* of GBytes, copies of every payload as delivered */
  guint      frames;
} SmallSink;

static void
small_frame_cb (PipecomConnection *conn,
                guint8             type,
                guint32            id,
                GBytes            *payload,
                gpointer           user_data)
{
  SmallSink *sink = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  g_ptr_array_add (sink->seen, g_bytes_new (data, len));
  /* Drop the first 20 payloads (the buffer is used again for each), then
   * keep every third one. */
  if (sink->frames >= 20 && sink->frames % 3 == 1)
    g_ptr_array_add (sink->kept, g_bytes_ref (payload));
  sink->frames++;
}

static const PipecomConnectionFuncs small_funcs = { small_frame_cb, NULL, NULL };

static void
test_small_payloads (void)
{
  SmallSink sink = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref),
                     g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  Pair pair;
  guint i;

  g_test_summary ("Small and empty payloads are delivered intact, and the ones a "
                  "handler keeps stay intact as later frames arrive");

  pair_open_with (&pair, 0, &small_funcs, &sink);

  /* 0 to 300 bytes: empty, small (the reused buffer) and over its size. */
  for (i = 0; i < 60; i++)
    {
      gsize len = (i * 37) % 301;
      g_autoptr(GBytes) payload = pipecom_test_random_bytes (len);
      guint8 header[PIPECOM_FRAME_HEADER_SIZE];

      _pipecom_encode_frame_header (header, len, PIPECOM_FRAME_MESSAGE, i + 1);
      peer_write (&pair, header, sizeof header);
      if (len > 0)
        peer_write (&pair, g_bytes_get_data (payload, NULL), len);
      g_ptr_array_add (sent, g_steal_pointer (&payload));
      if (i % 7 == 0)
        pipecom_test_wait_for (sink.frames == i + 1, 30);
    }
  pipecom_test_wait_for (sink.frames == 60, 30);
  g_assert_cmpuint (sink.kept->len, ==, 13);

  for (i = 0; i < 60; i++)
    {
      GBytes *seen = g_ptr_array_index (sink.seen, i);

      g_assert_cmpmem (g_bytes_get_data (seen, NULL), g_bytes_get_size (seen),
                       g_bytes_get_data (g_ptr_array_index (sent, i), NULL),
                       g_bytes_get_size (g_ptr_array_index (sent, i)));
      if (i >= 20 && i % 3 == 1)
        {
          GBytes *kept = g_ptr_array_index (sink.kept, (i - 22) / 3);

          g_assert_true (g_bytes_equal (kept, g_ptr_array_index (sent, i)));
        }
    }

  pair_clear (&pair);
  g_ptr_array_unref (sink.kept);
  g_ptr_array_unref (sink.seen);
}

/* The per-connection deadline: half a frame header, then nothing. */
static void
test_deadline (void)
{
  gint64 started, elapsed;
  Pair pair;

  g_test_summary ("A peer that writes half a frame and stalls is dropped once the "
                  "connection's deadline passes, not before");

  pair_open (&pair, 0);
  _pipecom_connection_set_limits (pair.conn, G_USEC_PER_SEC, 0, NULL);
  write_header (&pair, 1000, 6);
  started = g_get_monotonic_time ();

  pipecom_test_wait_for (pair.closed, 30);
  elapsed = pair.closed_at - started;
  g_test_message ("dropped after %.2f s", elapsed / (double) G_USEC_PER_SEC);
  g_assert_error (pair.error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT);
  g_assert_cmpint (elapsed, >=, G_USEC_PER_SEC / 2);
  g_assert_cmpint (elapsed, <, 25 * G_USEC_PER_SEC);

  pair_clear (&pair);
}

/* The bound on bytes queued for a peer that does not read. */
static void
test_queue_bound (void)
{
  g_autoptr(GBytes) reply = pipecom_test_random_bytes (32 * 1024);
  guint sent = 0;
  Pair pair;

  g_test_summary ("Sending to a peer that reads nothing fails, and closes the connection, "
                  "once the queue bound is reached");

  pair_open (&pair, 0);
  _pipecom_connection_set_limits (pair.conn, 0, 256 * 1024, NULL);

  /* 2 MiB of replies: far more than the pipe holds and the bound allows. */
  for (guint i = 1; i <= 64; i++)
    {
      if (!_pipecom_connection_send (pair.conn, PIPECOM_FRAME_REPLY, i, reply))
        break;
      sent++;
    }

  g_test_message ("%u replies accepted before the drop", sent);
  g_assert_cmpuint (sent, <, 64);
  g_assert_true (_pipecom_connection_is_closed (pair.conn));
  pipecom_test_wait_for (pair.closed, 30);
  g_assert_error (pair.error, PIPECOM_ERROR, PIPECOM_ERROR_BUSY);

  pair_clear (&pair);
}

#ifdef G_OS_UNIX
typedef struct
{
  int      fd;
  gsize    want;
  gsize    got;
  gint     done;  /* atomic */
  GThread *thread;
} Reader;

static gpointer
reader_thread (gpointer user_data)
{
  Reader *reader = user_data;
  guint8 buf[16 * 1024];
  int flags = fcntl (reader->fd, F_GETFL);

  g_assert_cmpint (fcntl (reader->fd, F_SETFL, flags & ~O_NONBLOCK), ==, 0);
  while (reader->got < reader->want)
    {
      ssize_t n = read (reader->fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      reader->got += n;
    }
  g_atomic_int_set (&reader->done, TRUE);
  return NULL;
}

/* The output that did not fit in the pipe, written as the peer reads. */
static void
test_queued_output (void)
{
  g_autoptr(GBytes) reply = pipecom_test_random_bytes (32 * 1024);
  gsize frame = PIPECOM_FRAME_HEADER_SIZE + g_bytes_get_size (reply);
  Reader reader = { 0, };
  Pair pair;

  g_test_summary ("Replies queued for a peer that reads late all go out once it reads, "
                  "and so do the next ones");

  pair_open (&pair, 0);
  for (guint i = 1; i <= 16; i++)
    g_assert_true (_pipecom_connection_send (pair.conn, PIPECOM_FRAME_REPLY, i, reply));
  g_assert_false (_pipecom_connection_is_flushed (pair.conn));

  reader.fd = pair.peer_in;
  reader.want = 17 * frame;
  reader.thread = g_thread_new ("reader", reader_thread, &reader);
  pipecom_test_wait_for (_pipecom_connection_is_flushed (pair.conn), 30);
  /* Written at once, or queued behind what the peer did not read yet. */
  g_assert_true (_pipecom_connection_send (pair.conn, PIPECOM_FRAME_REPLY, 17, reply));
  pipecom_test_wait_for (g_atomic_int_get (&reader.done), 30);
  g_thread_join (reader.thread);
  g_assert_cmpuint (reader.got, ==, 17 * frame);
  g_assert_false (pair.closed);

  pair_clear (&pair);
}

/* A peer that closes its reading end, and writes on. */
static void
test_reader_gone (void)
{
  guint8 frame[PIPECOM_FRAME_HEADER_SIZE + 4] = { 0, };
  guint spins = 0;
  Pair pair;

  g_test_summary ("A connection whose peer stopped reading is not woken for it while it "
                  "has nothing to write, reads on, and fails when it writes");

  signal (SIGPIPE, SIG_IGN);
  pair_open (&pair, 0);
  close (pair.peer_in);
  pair.peer_in = -1;

  /* Nothing to do: poll() says POLLERR for the output, which waits for
   * nothing. */
  while (spins < 100 && g_main_context_iteration (NULL, FALSE))
    spins++;
  g_assert_cmpuint (spins, ==, 0);

  _pipecom_encode_frame_header (frame, 4, PIPECOM_FRAME_MESSAGE, 1);
  peer_write (&pair, frame, sizeof frame);
  pipecom_test_wait_for (pair.frames == 1, 30);

  g_assert_false (_pipecom_connection_send_data (pair.conn, PIPECOM_FRAME_ACK, 1, NULL, 0));
  pipecom_test_wait_for (pair.closed, 30);
  g_assert_error (pair.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);

  pair_clear (&pair);
}
#endif

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/connection/huge-header", test_huge_header);
  g_test_add_func ("/connection/large-body", test_large_body);
  g_test_add_func ("/connection/large-then-next", test_large_then_next);
  g_test_add_func ("/connection/small-payloads", test_small_payloads);
  g_test_add_func ("/connection/deadline", test_deadline);
  g_test_add_func ("/connection/queue-bound", test_queue_bound);
#ifdef G_OS_UNIX
  g_test_add_func ("/connection/queued-output", test_queued_output);
  g_test_add_func ("/connection/reader-gone", test_reader_gone);
#endif

  return g_test_run ();
}
