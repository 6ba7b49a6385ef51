/* fuzz-listener.c: libFuzzer harness for a listener fed arbitrary bytes
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * One real PipecomPipe listens on a FIFO in a private directory for the
 * whole run. Each input is split in two by its first byte:
 *
 * - the first part goes to the well-known FIFO, as a stream of arbitrary
 *   writes (records, garbage, truncated records, records naming any path);
 * - then the harness connects like a client would, with a real pair of
 *   channel FIFOs, and writes the second part on the request channel as the
 *   frame stream.
 *
 * The listener must survive all of it, answer only with well-formed frames,
 * and still serve a proper request afterwards (checked after every input).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pipecom-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static PipecomPipe *listener;
static char *dir;
static guint counter;

static char *
echo_cb (PipecomPipe    *pipe,
         PipecomMessage *message,
         gpointer        user_data)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (pipecom_message_get_bytes (message), &size);

  return g_strdup_printf ("%zu:%02x", size, size > 0 ? data[0] : 0);
}

static void
iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *entry;

  if (d != NULL)
    {
      while ((entry = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, entry, NULL);
          remove_tree (child);
        }
      g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
cleanup (void)
{
  if (listener != NULL)
    pipecom_pipe_stop (listener);
  g_clear_object (&listener);
  iterate ();
  remove_tree (dir);
  g_clear_pointer (&dir, g_free);
}

static void
setup (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (listener != NULL)
    return;

  dir = g_dir_make_tmp ("pipecom-fuzz-XXXXXX", &error);
  g_assert_no_error (error);
  /* Our own channels go there too (before GLib caches the variable). */
  g_setenv ("XDG_RUNTIME_DIR", dir, TRUE);
  atexit (cleanup);
  {
    g_autofree char *pipe_dir = g_build_filename (dir, "pipecom", NULL);

    g_assert (g_mkdir (pipe_dir, 0700) == 0);
  }
  path = g_build_filename (dir, "fuzz", NULL);
  listener = g_object_new (PIPECOM_TYPE_PIPE, "name", path, "die-code", NULL,
                           "max-message-size", 65536, NULL);
  g_signal_connect (listener, "message-received", G_CALLBACK (echo_cb), NULL);
  g_assert (pipecom_pipe_listen (listener, &error));
}

/* Writes @data to the well-known FIFO in writes of at most 512 bytes,
 * serving in between. */
static void
feed_fifo (const guint8 *data,
           gsize         size)
{
  int fd = open (pipecom_pipe_get_path (listener), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  gsize off = 0;

  g_assert (fd >= 0);
  while (off < size)
    {
      ssize_t n = write (fd, data + off, MIN (size - off, 512));

      if (n > 0)
        off += n;
      iterate ();
    }
  close (fd);
  iterate ();
}

/* Reads what the listener wrote on the reply channel and checks it is made
 * of well-formed frames. */
static void
check_replies (int rep_fd)
{
  g_autoptr(GByteArray) got = g_byte_array_new ();
  guint8 buf[4096];
  ssize_t n;
  gsize off = 0;

  while ((n = read (rep_fd, buf, sizeof buf)) > 0)
    g_byte_array_append (got, buf, n);

  while (got->len - off >= PIPECOM_FRAME_HEADER_SIZE)
    {
      guint32 len = _pipecom_get_u32 (got->data + off);
      guint8 type = got->data[off + 4];

      g_assert (type >= PIPECOM_FRAME_HELLO && type <= PIPECOM_FRAME_ERROR);
      g_assert (type != PIPECOM_FRAME_MESSAGE);
      if (got->len - off - PIPECOM_FRAME_HEADER_SIZE < len)
        break;  /* the rest did not fit in the channel */
      off += PIPECOM_FRAME_HEADER_SIZE + len;
    }
}

static void
connect_and_feed (const guint8 *data,
                  gsize         size,
                  const char   *base)
{
  g_autofree char *rep = g_strconcat (base, ".rep", NULL);
  g_autofree char *req = g_strconcat (base, ".req", NULL);
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  gsize rlen = _pipecom_encode_announce (record, PIPECOM_ANNOUNCE_CONNECT, base, NULL, 0);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  int rep_fd, req_fd = -1, fifo_fd;
  gsize off = 0;

  g_assert (mkfifo (rep, 0600) == 0 && mkfifo (req, 0600) == 0);
  rep_fd = open (rep, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert (rep_fd >= 0);

  fifo_fd = open (pipecom_pipe_get_path (listener), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert (fifo_fd >= 0);
  g_assert (write (fifo_fd, record, rlen) == (ssize_t) rlen);
  close (fifo_fd);

  /* The listener opens the request channel on the record; ours follows. */
  while (req_fd < 0)
    {
      g_assert (g_get_monotonic_time () < deadline);
      g_main_context_iteration (NULL, FALSE);
      req_fd = open (req, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    }
  g_unlink (req);
  g_unlink (rep);

  while (off < size && g_get_monotonic_time () < deadline)
    {
      ssize_t n = write (req_fd, data + off, size - off);

      if (n > 0)
        off += n;
      else if (n < 0 && errno == EPIPE)
        break;  /* the listener dropped us: fine */
      iterate ();
      check_replies (rep_fd);
    }
  close (req_fd);
  iterate ();
  check_replies (rep_fd);
  close (rep_fd);
  iterate ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;
  g_autofree char *reply = NULL;
  gsize split;

  setup ();
  if (size < 1)
    return 0;

  /* A channel where and as a sender makes it: a private listener accepts
   * no other. */
  base = g_strdup_printf ("%s/pipecom/.c%d-%u-%08x", dir, (int) getpid (), counter++,
                          g_random_int ());
  split = MIN ((gsize) data[0] * 8, size - 1);
  feed_fifo (data + 1, split);
  connect_and_feed (data + 1 + split, size - 1 - split, base);

  /* Channels the records named may be left: remove them. */
  {
    g_autofree char *rep = g_strconcat (base, ".rep", NULL);
    g_autofree char *req = g_strconcat (base, ".req", NULL);
    g_unlink (rep);
    g_unlink (req);
  }

  /* Still serving. Sends from this thread are served by the listener on
   * this thread's context (the library's same-thread path). */
  reply = pipecom_request (pipecom_pipe_get_path (listener), "ping", 10, 0, &error);
  g_assert_no_error (error);
  g_assert (g_strcmp0 (reply, "4:70") == 0);
  g_assert (pipecom_pipe_get_listening (listener));
  return 0;
}
