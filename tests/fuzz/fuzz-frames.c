/* fuzz-frames.c: libFuzzer harness for the frame header and body reader
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The input is the byte stream a peer writes on a channel. It goes through
 * a real pipe into a PipecomConnection (the reader both listeners and clients
 * use), in the chunks the first input byte selects, with a maximum frame
 * size the second byte selects (so that oversized frames are skipped too).
 * Every frame delivered is checked, ERROR payloads are parsed like the
 * client does, and the connection must end (EOF or a protocol error)
 * without leaking anything.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pipecom-private.h"
#include "unix/pipecom-unix-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

typedef struct
{
  gboolean closed;
  guint64  max_frame;
  guint    frames;
} State;

static void
frame_cb (PipecomConnection *conn,
          guint8             type,
          guint32            id,
          GBytes            *payload,
          gpointer           user_data)
{
  State *state = user_data;

  g_assert (type >= PIPECOM_FRAME_HELLO && type <= PIPECOM_FRAME_ERROR);
  g_assert (state->max_frame == 0 || g_bytes_get_size (payload) <= state->max_frame);
  state->frames++;

  if (type == PIPECOM_FRAME_ERROR)
    {
      guint32 code;
      g_autofree char *text = _pipecom_error_payload_parse (payload, &code);

      g_assert (text != NULL);
    }
}

static void
oversize_cb (PipecomConnection *conn,
             guint8             type,
             guint32            id,
             guint64            length,
             gpointer           user_data)
{
  State *state = user_data;

  g_assert (state->max_frame > 0 && length > state->max_frame);
}

static void
closed_cb (PipecomConnection *conn,
           const GError      *error,
           gpointer           user_data)
{
  State *state = user_data;

  state->closed = TRUE;
}

static const PipecomConnectionFuncs funcs = { frame_cb, oversize_cb, closed_cb };

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static const guint64 max_frames[] = { 0, 16, 4096, 100000 };
  g_autoptr(GMainContext) context = g_main_context_new ();
  PipecomConnection *conn;
  State state = { 0, };
  gsize chunk, off = 2;
  int fds[2];

  if (size < 2)
    return 0;

  chunk = 1 + data[0] * 7;
  state.max_frame = max_frames[data[1] % G_N_ELEMENTS (max_frames)];

  g_assert (pipe2 (fds, O_NONBLOCK | O_CLOEXEC) == 0);
  conn = _pipecom_connection_new (fds[0], -1, 4096, state.max_frame, &funcs, &state, context);

  while (off < size && !state.closed)
    {
      gsize n = MIN (chunk, size - off);
      ssize_t w = write (fds[1], data + off, n);

      if (w > 0)
        off += w;
      else
        g_assert (w < 0 && errno == EAGAIN);
      while (g_main_context_iteration (context, FALSE))
        ;
    }

  close (fds[1]);
  while (!state.closed)
    g_main_context_iteration (context, TRUE);

  _pipecom_connection_close (conn);
  _pipecom_connection_unref (conn);
  while (g_main_context_iteration (context, FALSE))
    ;
  return 0;
}
