/* pipecom-connection.c: length-prefixed frames, whatever carries them
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-connection-private.h"

/* Everything a connection does that is not platform I/O (see
 * pipecom-connection-private.h), but frame parsing and delivery, which are
 * in pipecom-connection-read.c, and who the peer is, in
 * pipecom-connection-peer.c. Writes go out at once when the platform can
 * (a Unix writev() of header and payload), and what did not is queued. */

void (*_pipecom_idle_goodbye_hook) (PipecomConnection *conn) = NULL;

static void
chunk_free (gpointer data)
{
  PipecomChunk *chunk = data;

  g_bytes_unref (chunk->bytes);
  g_slice_free (PipecomChunk, chunk);
}

/* Releases what @conn, closed, holds. It takes nothing more once closed
 * (no fd, output, body, spare buffer or charge): a one-shot's connection
 * comes here twice on its sender's side (closed, then its last unref) and
 * three times on the listener's, and each call after the first cost some
 * 100 instructions, with a lock taken. */
static void
close_all (PipecomConnection *conn)
{
  g_assert (conn->closed);

  if (conn->released)
    return;
  conn->released = TRUE;

  /* Not while a claimed pid is checked against the channel. */
  g_mutex_lock (&conn->peer_lock);
  _pipecom_connection_io_close (conn);
  g_mutex_unlock (&conn->peer_lock);
  if (!g_queue_is_empty (&conn->wqueue))
    g_queue_clear_full (&conn->wqueue, chunk_free);
  conn->wqueued = 0;
  if (conn->body != NULL)
    _pipecom_connection_io_body_free (g_steal_pointer (&conn->body), conn->body_cap);
  g_clear_pointer (&conn->small, g_free);
  _pipecom_connection_uncharge (conn, conn->charged);
}

/* Marks the connection dead and arranges for funcs->closed to be called
 * from the connection's own dispatch, never from inside a caller's call. */
void
_pipecom_connection_fail (PipecomConnection *conn,
                          GError            *error)
{
  if (conn->closed)
    {
      g_clear_error (&error);
      return;
    }

  conn->closed = TRUE;
  conn->error = error;
  close_all (conn);
  conn->notify_pending = TRUE;
  if (conn->source != NULL)
    g_source_set_ready_time (conn->source, 0);
}

static gboolean
is_reading_frame (PipecomConnection *conn)
{
  return conn->body != NULL || conn->rend != conn->rstart || conn->skip > 0;
}

/* Nothing partial, queued or unanswered (see _pipecom_connection_set_idle_timeout()). */
static gboolean
is_idle (PipecomConnection *conn)
{
  return !is_reading_frame (conn) && _pipecom_connection_wqueue_is_empty (conn) && conn->unanswered == 0;
}

/* The peer closed its end. */
void
_pipecom_connection_eof (PipecomConnection *conn)
{
  if (is_reading_frame (conn))
    _pipecom_connection_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                                                 "The peer closed the connection in the middle of a frame"));
  else
    _pipecom_connection_fail (conn, NULL);
}

/* @n bytes from the head of the queue were written. */
void
_pipecom_connection_wrote (PipecomConnection *conn,
                           gsize              n)
{
  _pipecom_connection_uncharge (conn, MIN (n, conn->wqueued));
  conn->wqueued -= MIN (n, conn->wqueued);

  /* Progress, at the minimum rate: a new window. */
  conn->write_moved += n;
  if (conn->deadline > 0 && conn->write_moved >= conn->min_progress)
    {
      conn->write_since = g_get_monotonic_time ();
      conn->write_moved = 0;
    }

  while (n > 0)
    {
      PipecomChunk *chunk = g_queue_peek_head (&conn->wqueue);
      gsize left = g_bytes_get_size (chunk->bytes) - chunk->offset;

      if (n >= left)
        {
          n -= left;
          chunk_free (g_queue_pop_head (&conn->wqueue));
        }
      else
        {
          chunk->offset += n;
          n = 0;
        }
    }
}

static void
flush (PipecomConnection *conn)
{
  _pipecom_connection_io_flush (conn);

  if (!conn->closed && conn->close_when_flushed && _pipecom_connection_wqueue_is_empty (conn))
    _pipecom_connection_fail (conn, NULL);
}

void
_pipecom_connection_fail_timeout (PipecomConnection *conn,
                                  const char        *what)
{
  _pipecom_connection_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                                               "Dropping a stalled connection: %s within %u s",
                                               what, (guint) (conn->deadline / G_USEC_PER_SEC)));
}

/* Enforces the limits of _pipecom_connection_set_limits() and
 * _pipecom_connection_set_idle_timeout(). */
static void
check_deadlines (PipecomConnection *conn,
                 gint64             now)
{
  if (conn->read_since > 0 && now >= conn->read_since + conn->deadline)
    _pipecom_connection_fail_timeout (conn, conn->min_progress > 0 ?
                                      "a partial frame did not arrive at the minimum rate" :
                                      "the peer did not complete a frame");
  else if (conn->write_since > 0 && now >= conn->write_since + conn->deadline)
    _pipecom_connection_fail_timeout (conn, conn->min_progress > 0 ?
                                      "the peer did not read its replies at the minimum rate" :
                                      "the peer read nothing");
  else if (conn->open_path != NULL && now >= conn->open_until)
    {
      _pipecom_connection_io_check_open (conn);
      g_clear_pointer (&conn->open_path, g_free);
    }
  else if (conn->idle_timeout > 0 && is_idle (conn) && now >= conn->idle_since + conn->idle_timeout)
    {
      guint frames_in = conn->frames_in;

      /* Something may have arrived since the poll: then it is not idle. */
      _pipecom_connection_io_read (conn);
      if (conn->closed)
        return;
      if (conn->frames_in != frames_in || !is_idle (conn))
        {
          conn->idle_since = now;
          if (conn->deadline > 0 && is_reading_frame (conn) && conn->read_since == 0)
            {
              conn->read_since = now;
              conn->read_moved = 0;
            }
          return;
        }
      if (G_UNLIKELY (_pipecom_idle_goodbye_hook != NULL))
        _pipecom_idle_goodbye_hook (conn);
      _pipecom_connection_say_goodbye (conn, g_strdup_printf ("Closing a connection idle for %u s",
                                                              (guint) (conn->idle_timeout / G_USEC_PER_SEC)));
    }
}

/* Closes @conn, which is idle (is_idle()), with the goodbye of
 * docs/protocol.md ("Idle connections"): an ERROR frame with id 0 and code
 * CLOSED, which tells the peer that nothing it wrote after the last
 * answer was read, so that it may send those messages again. Nothing is
 * read after it: both ends are closed at once. The frame is smaller than
 * PIPE_BUF, so it goes out whole or not at all (a peer that does not read
 * its pipe then just sees EOF). Takes @text. */
void
_pipecom_connection_say_goodbye (PipecomConnection *conn,
                                 char              *text_owned)
{
  g_autofree char *text = text_owned;

  if (conn->closed)
    return;

  g_debug ("%s", text);
  if (is_idle (conn) && _pipecom_connection_io_can_write (conn))
    {
      g_autofree char *wire = g_strconcat (PIPECOM_GOODBYE_TEXT ": ", text, NULL);
      g_autoptr(GBytes) payload = _pipecom_error_payload_new (PIPECOM_ERROR_CLOSED, wire);
      guint8 header[PIPECOM_FRAME_HEADER_SIZE];
      gsize len;
      const guint8 *data = g_bytes_get_data (payload, &len);

      _pipecom_encode_frame_header (header, len, PIPECOM_FRAME_ERROR, 0);
      if (_pipecom_connection_io_write_now (conn, header, data, len) < 0)
        return;  /* failed, and closed */
    }

  _pipecom_connection_fail (conn, g_error_new_literal (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT, text));
}

/* Wakes the dispatch at the next deadline, or before it; @now is the
 * monotonic time if the caller has it, or -1. */
static void
update_deadline_timer_at (PipecomConnection *conn,
                          gint64             now)
{
  gint64 next = -1, armed;

  if ((conn->deadline <= 0 && conn->idle_timeout <= 0) ||
      conn->closed || conn->notify_pending || conn->source == NULL)
    return;

  if (conn->read_since > 0)
    next = conn->read_since + conn->deadline;
  if (conn->write_since > 0 && (next < 0 || conn->write_since + conn->deadline < next))
    next = conn->write_since + conn->deadline;
  if (conn->open_path != NULL && (next < 0 || conn->open_until < next))
    next = conn->open_until;
  if (conn->idle_timeout > 0 && is_idle (conn) &&
      (next < 0 || conn->idle_since + conn->idle_timeout < next))
    next = conn->idle_since + conn->idle_timeout;

  /* Moving the timer wakes the context (GLib writes its eventfd, and the
   * next poll() returns at once), and the idle deadline moves with every
   * message: so the timer is only ever brought forward. One armed for an
   * earlier time that has not come yet stays; when it fires,
   * check_deadlines() finds nothing due, and this sets the next one. */
  armed = g_source_get_ready_time (conn->source);
  if (armed >= 0 && (next < 0 || next > armed) &&
      armed > (now >= 0 ? now : g_get_monotonic_time ()))
    return;

  g_source_set_ready_time (conn->source, next);
}

static void
update_deadline_timer (PipecomConnection *conn)
{
  update_deadline_timer_at (conn, -1);
}

/* The time of this dispatch, read once. Not g_source_get_time(): it locks
 * the context to read the same clock. */
static inline gint64
dispatch_time (gint64 *now)
{
  if (*now < 0)
    *now = g_get_monotonic_time ();
  return *now;
}

gboolean
_pipecom_connection_source_dispatch (GSource     *source,
                                     GSourceFunc  callback,
                                     gpointer     user_data)
{
  PipecomConnection *conn = ((PipecomConnectionSource *) source)->conn;
  GRecMutex *lock = conn->lock;
  guint frames_in;
  gsize rend, body_have, wqueued;
  gint64 now = -1;

  /* The owner may also do I/O on this connection from another thread
   * (see _pipecom_connection_set_lock()). Take the lock before reading any
   * flag: the flags are bit-fields sharing one memory location, which that
   * thread writes (closed, direct) while holding the lock. */
  if (lock != NULL)
    g_rec_mutex_lock (lock);

  /* The source may recurse (see _pipecom_connection_new()): a main loop run
   * from inside this dispatch, by a handler that waits for something, gets
   * here again, in this thread, which already holds the lock. Hold the
   * connection, as GLib holds a source that cannot recurse, until the outer
   * dispatch returns. */
  if (conn->dispatching)
    {
      if (!conn->held)
        {
          conn->held = TRUE;
          _pipecom_connection_io_update_interest (conn);
        }
      g_source_set_ready_time (source, -1);
      if (lock != NULL)
        g_rec_mutex_unlock (lock);
      return G_SOURCE_CONTINUE;
    }

  _pipecom_connection_ref (conn);
  conn->dispatching = TRUE;

  frames_in = conn->frames_in;
  rend = conn->rend;
  body_have = conn->body_have;
  wqueued = conn->wqueued;

  if (_pipecom_connection_io_dispatch (conn) && conn->deadline > 0 && !conn->closed)
    {
      /* Any byte read means the peer opened its channel. */
      if (conn->frames_in != frames_in || conn->rend != rend || conn->body_have != body_have)
        g_clear_pointer (&conn->open_path, g_free);
      /* A partial frame must move min_progress bytes (or complete) in
       * each window of the deadline: a trickle does not keep it. */
      if (!is_reading_frame (conn))
        conn->read_since = 0;
      else if (conn->read_since == 0 || conn->frames_in != frames_in ||
               conn->read_moved >= conn->min_progress)
        {
          conn->read_since = dispatch_time (&now);
          conn->read_moved = 0;
        }
    }

  if (conn->idle_tracked && !conn->closed &&
      (!is_idle (conn) || conn->frames_in != frames_in || conn->rend != rend ||
       conn->body_have != body_have || conn->wqueued != wqueued))
    conn->idle_since = dispatch_time (&now);

  if ((conn->deadline > 0 || conn->idle_timeout > 0) && !conn->closed)
    {
      if (_pipecom_connection_wqueue_is_empty (conn))
        conn->write_since = 0;
      check_deadlines (conn, dispatch_time (&now));
      update_deadline_timer_at (conn, now);
    }

  if (conn->notify_pending && conn->source != NULL)
    {
      conn->notify_pending = FALSE;
      g_source_set_ready_time (conn->source, -1);
      if (!conn->notified)
        {
          conn->notified = TRUE;
          if (conn->funcs->closed != NULL)
            conn->funcs->closed (conn, conn->error, conn->user_data);
        }
    }

  conn->dispatching = FALSE;
  if (conn->held)
    {
      conn->held = FALSE;
      _pipecom_connection_io_update_interest (conn);
      if (conn->notify_pending && conn->source != NULL)
        g_source_set_ready_time (conn->source, 0);
    }

  _pipecom_connection_unref (conn);

  if (lock != NULL)
    g_rec_mutex_unlock (lock);

  return G_SOURCE_CONTINUE;
}

/* Sets up the core of @conn, a zeroed platform connection. It has no
 * source until _pipecom_connection_new_source(). */
void
_pipecom_connection_init (PipecomConnection            *conn,
                          gsize                         read_size,
                          guint64                       max_frame,
                          const PipecomConnectionFuncs *funcs,
                          gpointer                      user_data)
{
  g_atomic_ref_count_init (&conn->ref_count);
  conn->funcs = funcs;
  conn->user_data = user_data;
  conn->max_frame = max_frame;
  conn->rcap = MAX (read_size, 4096);  /* rbuf is allocated on the first read */
  conn->peer.uid = -1;
  conn->peer.gid = -1;
  conn->peer.pid = -1;
  g_mutex_init (&conn->peer_lock);
  g_queue_init (&conn->wqueue);
  conn->owner_link.data = conn;
}

/* Creates the source of @conn, for the platform to add what it polls and
 * attach. A connection without one is driven by its owner alone, with
 * _pipecom_connection_pump() and _pipecom_connection_flush(); it never
 * calls funcs->closed (see _pipecom_connection_is_closed()). */
void
_pipecom_connection_new_source (PipecomConnection *conn,
                                GSourceFuncs      *source_funcs)
{
  g_assert (conn->source == NULL);

  conn->source = g_source_new (source_funcs, sizeof (PipecomConnectionSource));
  ((PipecomConnectionSource *) conn->source)->conn = conn;
  g_source_set_static_name (conn->source, "[pipecom] connection");
  g_source_set_priority (conn->source, G_PRIORITY_DEFAULT);
}

/* The source was just created: make it wake for what happened before. */
void
_pipecom_connection_arm (PipecomConnection *conn)
{
  if (conn->notify_pending)
    g_source_set_ready_time (conn->source, 0);
  else
    update_deadline_timer (conn);
}

/* Taken and dropped several times per message (the dispatch, the
 * message): with the atomic built-ins, as GLib's own GSource does, not
 * through the calls g_atomic_ref_count_inc() and _dec() are. */
PipecomConnection *
_pipecom_connection_ref (PipecomConnection *conn)
{
  g_assert (g_atomic_int_get (&conn->ref_count) > 0);
  g_atomic_int_inc (&conn->ref_count);
  return conn;
}

void
_pipecom_connection_unref (PipecomConnection *conn)
{
  g_assert (g_atomic_int_get (&conn->ref_count) > 0);
  if (!g_atomic_int_dec_and_test (&conn->ref_count))
    return;

  conn->closed = TRUE;
  close_all (conn);
  g_clear_pointer (&conn->budget, _pipecom_budget_unref);
  if (conn->source != NULL)
    {
      g_source_destroy (conn->source);
      g_clear_pointer (&conn->source, g_source_unref);
    }
  _pipecom_connection_io_finalize (conn);
  g_clear_error (&conn->error);
  /* Most are never made (a one-shot's listener side reads nothing). */
  g_clear_pointer (&conn->open_path, g_free);
  _pipecom_connection_rbuf_free (g_steal_pointer (&conn->rbuf), conn->rcap);
  g_clear_object (&conn->peer_credentials);
  g_clear_pointer (&conn->peer_sid, g_free);
  g_mutex_clear (&conn->peer_lock);
  g_free (conn);
}

void
_pipecom_connection_close (PipecomConnection *conn)
{
  conn->closed = TRUE;
  conn->notified = TRUE;
  close_all (conn);
  if (conn->source != NULL)
    g_source_destroy (conn->source);
}

/* Writes one frame: at once when nothing is queued and the platform can
 * (one writev() of header and payload on Unix), and queues what did not go
 * out. Queued payload bytes are referenced from @keep when given (large
 * payloads are never copied), and copied otherwise, with the header when
 * none of it went out. */
static gboolean
send_frame (PipecomConnection *conn,
            guint8             type,
            guint32            id,
            const guint8      *data,
            gsize              len,
            GBytes            *keep)
{
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];
  gssize n;

  if (conn->closed || !_pipecom_connection_io_can_write (conn))
    return FALSE;

  g_return_val_if_fail (len <= G_MAXUINT32, FALSE);

  if (conn->max_queued > 0 && conn->wqueued >= conn->max_queued)
    {
      _pipecom_connection_fail (conn, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_BUSY,
                                                   "Dropping a connection whose peer does not read: "
                                                   "%zu bytes are waiting to be written, at most %zu allowed",
                                                   conn->wqueued, conn->max_queued));
      return FALSE;
    }

  _pipecom_encode_frame_header (header, len, type, id);

  n = _pipecom_connection_io_write_now (conn, header, data, len);
  if (n < 0)
    return FALSE;
  if ((gsize) n == PIPECOM_FRAME_HEADER_SIZE + len)
    return TRUE;

  /* What waits to be written counts against the memory budget. */
  if (!_pipecom_connection_charge_full (conn, PIPECOM_FRAME_HEADER_SIZE + len - n, n == 0, id))
    return FALSE;

  if (conn->deadline > 0 && _pipecom_connection_wqueue_is_empty (conn))
    {
      conn->write_since = g_get_monotonic_time ();
      conn->write_moved = 0;
      update_deadline_timer (conn);
    }
  conn->wqueued += PIPECOM_FRAME_HEADER_SIZE + len - n;

  if ((gsize) n < PIPECOM_FRAME_HEADER_SIZE && keep == NULL)
    {
      gsize hlen = PIPECOM_FRAME_HEADER_SIZE - n;
      guint8 *buf = g_malloc (hlen + len);
      PipecomChunk *chunk = g_slice_new (PipecomChunk);

      memcpy (buf, header + n, hlen);
      if (len > 0)
        memcpy (buf + hlen, data, len);
      chunk->bytes = g_bytes_new_take (buf, hlen + len);
      chunk->offset = 0;
      g_queue_push_tail (&conn->wqueue, chunk);
    }
  else
    {
      if ((gsize) n < PIPECOM_FRAME_HEADER_SIZE)
        {
          PipecomChunk *chunk = g_slice_new (PipecomChunk);
          chunk->bytes = g_bytes_new (header, PIPECOM_FRAME_HEADER_SIZE);
          chunk->offset = n;
          g_queue_push_tail (&conn->wqueue, chunk);
          n = 0;
        }
      else
        n -= PIPECOM_FRAME_HEADER_SIZE;

      if ((gsize) n < len)
        {
          PipecomChunk *chunk = g_slice_new (PipecomChunk);
          if (keep != NULL)
            {
              chunk->bytes = g_bytes_ref (keep);
              chunk->offset = n;
            }
          else
            {
              chunk->bytes = g_bytes_new (data + n, len - n);
              chunk->offset = 0;
            }
          g_queue_push_tail (&conn->wqueue, chunk);
        }
    }

  _pipecom_connection_io_queued (conn);
  return !(conn->closed && conn->error != NULL);
}

gboolean
_pipecom_connection_send_data (PipecomConnection *conn,
                               guint8             type,
                               guint32            id,
                               const void        *data,
                               gsize              len)
{
  return send_frame (conn, type, id, data, len, NULL);
}

gboolean
_pipecom_connection_send (PipecomConnection *conn,
                          guint8             type,
                          guint32            id,
                          GBytes            *payload)
{
  gsize len = 0;
  const guint8 *data = payload ? g_bytes_get_data (payload, &len) : NULL;

  return send_frame (conn, type, id, data, len, len > 4096 ? payload : NULL);
}

/* Limits a listener puts on its connections against peers that stall:
 * a partial frame, and queued output, must move _pipecom_min_progress_bytes
 * (or be done) in each window of @deadline µs, and (when @open_path is
 * given: the channel file the peer must open, then unlink; Unix only) the
 * peer must have opened it within @deadline. Sending fails, and closes the
 * connection, once @max_queued bytes wait to be written. 0 means no limit. */
void
_pipecom_connection_set_limits (PipecomConnection *conn,
                                gint64             deadline,
                                gsize              max_queued,
                                const char        *open_path)
{
  conn->deadline = deadline;
  conn->min_progress = _pipecom_min_progress_bytes;
  conn->max_queued = max_queued;
  g_clear_pointer (&conn->open_path, g_free);
  if (deadline > 0 && open_path != NULL)
    {
      conn->open_path = g_strdup (open_path);
      conn->open_until = g_get_monotonic_time () + deadline;
    }
  if (deadline > 0 && !g_queue_is_empty (&conn->wqueue) && conn->write_since == 0)
    conn->write_since = g_get_monotonic_time ();
  update_deadline_timer (conn);
}

/* Closes the connection once it has been idle (nothing partial, queued or
 * unanswered, see _pipecom_connection_add_unanswered()) for @timeout µs;
 * 0: never, but _pipecom_connection_get_idle_since() is kept anyway. */
void
_pipecom_connection_set_idle_timeout (PipecomConnection *conn,
                                      gint64             timeout)
{
  conn->idle_timeout = timeout;
  conn->idle_since = g_get_monotonic_time ();
  conn->idle_tracked = TRUE;
  update_deadline_timer (conn);
}

/* The owner handed a message out (+1) or answered it (-1). */
void
_pipecom_connection_add_unanswered (PipecomConnection *conn,
                                    gint               delta)
{
  if (delta < 0 && conn->unanswered < (guint) -delta)
    conn->unanswered = 0;
  else
    conn->unanswered += delta;

  /* Answered during the connection's own dispatch, which sees the
   * activity and sets the timer itself: nothing to do per message. */
  if (conn->unanswered == 0 && conn->idle_tracked && !conn->closed && !conn->dispatching)
    {
      conn->idle_since = g_get_monotonic_time ();
      update_deadline_timer (conn);
    }
}

/* Since when @conn has been idle (monotonic µs), or -1 if it is not (or
 * is closed, or is not tracked: see _pipecom_connection_set_idle_timeout()). */
gint64
_pipecom_connection_get_idle_since (PipecomConnection *conn)
{
  if (conn->closed || !conn->idle_tracked || !is_idle (conn))
    return -1;
  return conn->idle_since;
}

/* Flags the owner keeps on @conn for itself (the listener: whether it is
 * a one-shot), read back without a look-up in the owner's tables. The
 * connection never reads them. */
void
_pipecom_connection_set_owner_flags (PipecomConnection *conn,
                                     guint              flags)
{
  conn->owner_flags = flags;
}

guint
_pipecom_connection_get_owner_flags (PipecomConnection *conn)
{
  return conn->owner_flags;
}

/* A list link, whose data is @conn, for the owner to list @conn in a
 * #GQueue of its own (the listener: its connections) without allocating a
 * link or looking it up. The connection never touches it. */
GList *
_pipecom_connection_get_owner_link (PipecomConnection *conn)
{
  return &conn->owner_link;
}

/* When the peer closes its reading end (EPIPE), @conn stops writing
 * but reads on, up to the peer's EOF, which then closes it: frames the peer
 * wrote before closing (answers, a goodbye) are not lost. For a client's
 * connections: the listener closes both ends at once. */
void
_pipecom_connection_set_read_to_eof (PipecomConnection *conn)
{
  conn->read_to_eof = TRUE;
}

/* The platform stopped writing (see _pipecom_connection_set_read_to_eof()):
 * what waits to be written never will be. */
void
_pipecom_connection_write_closed (PipecomConnection *conn)
{
  g_queue_clear_full (&conn->wqueue, chunk_free);
  _pipecom_connection_uncharge (conn, MIN (conn->wqueued, conn->charged));
  conn->wqueued = 0;
}

/* Makes the dispatch hold @lock, so that a thread holding it may call
 * _pipecom_connection_send(), _pipecom_connection_flush() and
 * _pipecom_connection_pump() on the connection directly. */
void
_pipecom_connection_set_lock (PipecomConnection *conn,
                              GRecMutex         *lock)
{
  conn->lock = lock;
}

/* While a thread does I/O on the connection directly, the dispatch has
 * nothing to watch: it would only wake up to wait for the lock. */
void
_pipecom_connection_set_direct (PipecomConnection *conn,
                                gboolean           direct)
{
  if (conn->direct == (direct != FALSE))
    return;
  conn->direct = direct;
  if (conn->closed)
    return;
  _pipecom_connection_io_update_interest (conn);
}

void
_pipecom_connection_flush (PipecomConnection *conn)
{
  if (!conn->closed)
    flush (conn);
}

gboolean
_pipecom_connection_is_closed (PipecomConnection *conn)
{
  return conn->closed;
}

void
_pipecom_connection_pump (PipecomConnection *conn)
{
  if (!conn->closed)
    _pipecom_connection_io_read (conn);
}

void
_pipecom_connection_stop_reading (PipecomConnection *conn)
{
  conn->reading_stopped = TRUE;
  _pipecom_connection_io_stop_reading (conn);
}

void
_pipecom_connection_close_when_flushed (PipecomConnection *conn)
{
  conn->close_when_flushed = TRUE;
  if (!conn->closed && g_queue_is_empty (&conn->wqueue))
    _pipecom_connection_fail (conn, NULL);
}

gboolean
_pipecom_connection_is_flushed (PipecomConnection *conn)
{
  return conn->closed || _pipecom_connection_wqueue_is_empty (conn);
}
