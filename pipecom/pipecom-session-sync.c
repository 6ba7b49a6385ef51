/* pipecom-session-sync.c: synchronous calls of a client session
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* A synchronous call either does the exchange in the calling thread (the
 * direct path, with the session's lock held) or waits for the worker to do
 * it. See pipecom-session-private.h for the thread contract. */

#include "config.h"

#include "pipecom-session-private.h"
#include "pipecom-worker-private.h"

/* Drives @op, a direct exchange on @conn, in the calling thread with
 * @session's lock held (a one-shot's session not yet started has none: no
 * other thread can see it), until it is done or, for a direct connector
 * (pipecom-oneshot.c), until the worker must go on (its @handoff). Before
 * the HELLO it probes the listener as the connector's probe source would.
 * @deadline: the monotonic µs the call must end by, 0: none; @now: the
 * time, read just before, if @deadline or a connector needs it. */
void
_pipecom_session_run_direct_op (PipecomSession    *session,
                                PipecomSessionOp  *op,
                                PipecomConnection *conn,
                                GCancellable      *cancellable,
                                gint64             deadline,
                                gint64             now)
{
  PipecomSessionDirectWait *wait = op->direct;
  gint64 next_probe = now + PIPECOM_SESSION_PROBE_MS * 1000;

  while (!wait->done && !(session->connector != NULL && session->connector->handoff))
    {
      gboolean hello = session->state != PIPECOM_SESSION_CONNECTING;
      gint64 until;

      if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
        {
          /* Given up: the listener may have handled the message, but no
           * answer will come. */
          _pipecom_session_op_cancel (op);
          break;
        }

      /* The worker hears of the end of a connection with a source later;
       * one without a source never reports it. */
      if (_pipecom_connection_is_closed (conn))
        {
          if (!hello)
            _pipecom_connector_reannounce (session->connector);  /* nothing was handled */
          else
            _pipecom_session_op_complete (op, NULL,
                                          _pipecom_session_error_closed (session->name,
                                                                         session->path, NULL));
          continue;
        }

      if (deadline > 0 && now >= deadline)
        {
          _pipecom_session_op_timeout (op);
          break;
        }

      if (!hello && now >= next_probe)
        {
          if (_pipecom_connector_check_lost (session->connector))
            continue;
          next_probe = now + PIPECOM_SESSION_PROBE_MS * 1000;
        }

      until = hello ? deadline : next_probe;
      if (deadline > 0)
        until = MIN (until, deadline);

      /* A cancellation is seen at the top of the loop. @now was read
       * just before (or before the send, for the first wait): the wait
       * need not read the time again. */
      _pipecom_connection_wait (conn, cancellable, until, now, NULL);
      if (until > 0 && !wait->done)
        now = g_get_monotonic_time ();  /* not needed when the loop ends */
    }
}

/* The fast path of a synchronous call: when the client is connected and
 * idle, the calling thread does the exchange itself, with the session's lock
 * held (the worker's dispatch of this connection takes it too, so the two
 * never touch the fds at once). This saves two thread hand-offs per
 * message. Returns FALSE when the slow path must be taken: having done
 * nothing, or after the listener's goodbye (see session_goodbye()), which
 * means that it did not handle the message; @deadline is then when the
 * call must end (0: no limit, or nothing done). */
static gboolean
session_run_direct (PipecomSession  *session,
                    GBytes          *message,
                    guint            timeout,
                    GCancellable    *cancellable,
                    GBytes         **reply,
                    gboolean        *ok,
                    gint64          *resend_deadline,
                    GError         **error)
{
  g_autoptr(PipecomConnection) conn = NULL;
  PipecomSessionDirectWait wait = { FALSE, FALSE, NULL, NULL };
  gint64 now = 0, deadline = 0;
  PipecomSessionOp direct_op = { NULL, };
  PipecomSessionOp *op = &direct_op;

  g_rec_mutex_lock (&session->lock);

  if (session->state != PIPECOM_SESSION_CONNECTED || session->conn == NULL ||
      session->oneshot || session->direct_op != NULL ||
      (session->pending != NULL && g_hash_table_size (session->pending) > 0) ||
      session->waiting.head != NULL ||
      (session->max_size > 0 && g_bytes_get_size (message) > session->max_size))
    {
      g_rec_mutex_unlock (&session->lock);
      return FALSE;
    }

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_rec_mutex_unlock (&session->lock);
      *ok = FALSE;
      *reply = NULL;
      return TRUE;
    }

  conn = _pipecom_connection_ref (session->conn);
  if (timeout > 0)
    {
      now = g_get_monotonic_time ();
      deadline = now + (gint64) timeout * G_USEC_PER_SEC;
    }

  _pipecom_connection_set_direct (conn, TRUE);

  op->session = session;
  op->payload = message;
  op->timeout = timeout;
  op->direct = &wait;
  _pipecom_session_op_send (op);
  _pipecom_session_run_direct_op (session, op, conn, cancellable, deadline, now);

  /* An idle connection stays direct for the next synchronous call:
   * switching back and forth would wake the worker up four times per call.
   * The worker still sees a hang-up where poll() reports it for an fd
   * watched for no events (Linux), and _pipecom_session_op_send() hands
   * the connection back to it for an asynchronous call. Elsewhere (GLib's
   * select()-based poll on macOS reports only what was asked for), and
   * after a call that failed or left bytes to write, it goes back to the
   * worker at once, which then watches it for input and so sees its end. */
  if (wait.error != NULL || !_pipecom_connection_is_flushed (conn) ||
      !_pipecom_transport_sees_unwatched_hangup ())
    _pipecom_connection_set_direct (conn, FALSE);
  g_rec_mutex_unlock (&session->lock);

  if (wait.resend)
    {
      *resend_deadline = deadline;
      return FALSE;
    }

  *reply = wait.reply;
  *ok = wait.error == NULL;
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return TRUE;
}

/* Runs one operation synchronously: directly when possible, otherwise as
 * in _pipecom_sync_wait_begin(). @path is the session's
 * pipe name resolved, or %NULL. */
GBytes *
_pipecom_session_run_sync (PipecomSession  *session,
                           const char      *path,
                           GBytes          *message,
                           guint            timeout,
                           guint            max_attempts,
                           GCancellable    *cancellable,
                           gpointer         source_object,
                           gpointer         source_tag,
                           gboolean        *ok,
                           GError         **error)
{
  PipecomSyncWait wait;
  gint64 deadline = 0;
  GBytes *ret;

  /* Drives the connection itself where the platform lets it; on Windows,
   * the worker does all overlapped I/O. */
  if (_pipecom_transport_drives_directly () && message != NULL &&
      !_pipecom_registry_is_served_here (path) &&
      session_run_direct (session, message, timeout, cancellable, &ret, ok, &deadline, error))
    return ret;

  _pipecom_sync_wait_begin (&wait, path);
  _pipecom_session_start (session, source_object, message, timeout, max_attempts, deadline,
                          cancellable, _pipecom_sync_wait_cb, &wait, source_tag);
  _pipecom_sync_wait_run (&wait);
  ret = _pipecom_session_op_finish (source_object, wait.result, ok, error);
  _pipecom_sync_wait_end (&wait);

  return ret;
}
