/* pipecom-oneshot.c: one-shot dialling, for the functions of pipecom-send.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* A one-shot message runs on a private client session, made for it, with
 * the session's code wherever it runs: in the worker, or first in the
 * calling thread for a synchronous call (oneshot_run_direct(), on a
 * session of its own on the stack). See pipecom-oneshot-private.h for the
 * thread contract. */

#include "config.h"

#include "pipecom-oneshot-private.h"
#include "pipecom-session-private.h"
#include "pipecom-worker-private.h"

/* The checks that _pipecom_transport_resolve_to_open() left out, for an
 * outcome of the direct path that did not come from the listener's pipe:
 * if they fail, their error is the outcome, as it would have been from
 * _pipecom_transport_resolve(), and any other error is dropped. Returns
 * whether they passed; else *@ok and *@reply are set. */
static gboolean
oneshot_check_resolved (PipecomSession  *session,
                        gboolean        *ok,
                        GBytes         **reply,
                        GError         **error)
{
  if (_pipecom_transport_check_resolved (session->name, session->path, error))
    return TRUE;

  *ok = FALSE;
  *reply = NULL;
  return FALSE;
}

/* The fast path of the synchronous one-shot calls: the calling thread runs
 * the session's connector and answer matching itself, announcing the
 * message inline and reading the listener's HELLO and answer on a
 * connection without a source, and waiting in
 * _pipecom_session_run_direct_op() as the persistent client's direct path
 * does. Going through the worker instead costs two thread hand-offs, a
 * #GTask and five sources per call, five times the instructions of the
 * exchange itself (bench/README.md).
 *
 * It covers the common case, one announcement that is answered, and
 * returns %TRUE with the outcome in @ok, @reply and @error. It returns
 * %FALSE when the worker must go on: the message does not fit inline, the
 * listener is served by this thread's own context, or it was absent, busy,
 * or went away before its HELLO; then nothing was delivered, and the
 * session's @resume says what was tried. Either way, unless the pipe was
 * reached, the checks that resolving left out have been made (see
 * _pipecom_oneshot_run_sync()). */
static gboolean
oneshot_run_direct (PipecomSession  *session,
                    GBytes          *message,
                    guint            timeout,
                    guint            max_attempts,
                    GCancellable    *cancellable,
                    gboolean        *ok,
                    GBytes         **reply,
                    GError         **error)
{
  PipecomSessionDirectWait wait = { FALSE, FALSE, NULL, NULL };
  PipecomSessionOp direct_op = { NULL, };
  PipecomSessionOp *op = &direct_op;
  PipecomConnector *connector;
  g_autoptr(PipecomConnection) conn = NULL;
  g_autoptr(GError) cancelled = NULL;
  gint64 deadline = 0;
  gboolean reached;
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);

  if (g_cancellable_set_error_if_cancelled (cancellable, &cancelled))
    {
      *ok = FALSE;
      *reply = NULL;
      if (_pipecom_transport_check_resolved (session->name, session->path, error))
        g_propagate_error (error, g_steal_pointer (&cancelled));
      return TRUE;
    }

  if (!_pipecom_session_inline_allowed (session->name, session->path, data, size) ||
      _pipecom_registry_is_served_here (session->path))
    return !oneshot_check_resolved (session, ok, reply, error);

  if (timeout > 0)
    deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;

  op->session = session;
  op->payload = message;
  op->timeout = timeout;
  op->direct = &wait;
  op->fits_inline = TRUE;  /* checked above */

  /* Not started yet, the session is seen by no other thread, and has no
   * lock to take: see _pipecom_session_start(). */
  g_assert (session->worker == NULL);
  session->max_attempts = max_attempts;
  _pipecom_session_start_connecting (session, op);  /* a direct connector: one attempt */
  /* Announced, or found busy: the FIFO was opened, so its directory is
   * there. */
  reached = session->connector != NULL &&
            (session->connector->announced || session->connector->last_busy);
  if (!wait.done && !session->connector->handoff)
    conn = _pipecom_connection_ref (session->connector->conn);

  if (conn != NULL)
    _pipecom_session_run_direct_op (session, op, conn, cancellable, deadline,
                                    g_get_monotonic_time ());

  if (!wait.done || wait.resend)
    {
      /* Nothing was delivered: the worker goes on from here. */
      connector = session->connector;
      session->resume = (PipecomSessionResume) {
        connector ? connector->attempts : 1,
        connector ? connector->last_busy : FALSE,
        connector ? connector->lost : TRUE,
        deadline,
      };
      if (connector != NULL)
        connector->inline_op = NULL;
    }

  /* Closes the connection, and removes the channel files if still there. */
  _pipecom_session_connection_closed (session, NULL);

  /* Not reached: absent, or it could not be opened. Nothing came from a
   * listener (wait.reply is NULL). */
  if (!reached && !oneshot_check_resolved (session, ok, reply, error))
    {
      g_clear_error (&wait.error);
      return TRUE;
    }

  if (!wait.done || wait.resend)
    return FALSE;

  *ok = wait.error == NULL;
  *reply = wait.reply;
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return TRUE;
}

/* The synchronous one-shot functions: a private session whose message
 * travels in the announcement when it fits, run directly when possible,
 * else by the worker. */
void
_pipecom_oneshot_run_sync (const char    *pipe_name,
                           GBytes        *message,
                           guint          timeout,
                           guint          max_attempts,
                           GCancellable  *cancellable,
                           gboolean      *ok,
                           GBytes       **reply,
                           GError       **error)
{
  PipecomSession direct;
  char *path;
  PipecomSession *session;
  PipecomSyncWait wait;

  *ok = FALSE;
  *reply = NULL;

  /* The checks that only explain why the pipe cannot be opened are made
   * only if it cannot, by oneshot_run_direct(): on Unix, a stat() of the
   * pipe's directory in every message otherwise. */
  if (!(path = _pipecom_transport_resolve_to_open (pipe_name, error)))
    return;

  /* The calling thread does the exchange itself when it can, on a session
   * of its own, which borrows @pipe_name; the worker goes on from what it
   * tried, on a session it can share. */
  if (_pipecom_transport_drives_directly ())
    {
      _pipecom_session_init_direct (&direct, pipe_name, path);  /* takes @path */
      if (oneshot_run_direct (&direct, message, timeout, max_attempts, cancellable, ok, reply,
                              error))
        {
          _pipecom_session_clear_direct (&direct);
          return;
        }
      session = _pipecom_session_new (pipe_name, g_steal_pointer (&direct.path), TRUE);
      session->resume = direct.resume;
      _pipecom_session_clear_direct (&direct);
    }
  else
    {
      session = _pipecom_session_new (pipe_name, path, TRUE);  /* takes @path */
      if (!_pipecom_transport_check_resolved (pipe_name, session->path, error))
        {
          _pipecom_session_unref (session);
          return;
        }
    }

  _pipecom_sync_wait_begin (&wait, session->path);
  _pipecom_session_start (session, NULL, message, timeout, max_attempts, 0, cancellable,
                          _pipecom_sync_wait_cb, &wait, _pipecom_oneshot_run_sync);
  _pipecom_session_unref (session);
  _pipecom_sync_wait_run (&wait);
  *reply = _pipecom_session_op_finish (NULL, wait.result, ok, error);
  _pipecom_sync_wait_end (&wait);
}

/* The asynchronous one-shot functions: a private session whose message
 * travels in the announcement when it fits. The task has no source
 * object. */
void
_pipecom_oneshot_async (const char          *pipe_name,
                        GBytes              *message,
                        guint                timeout,
                        guint                max_attempts,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data,
                        gpointer             source_tag)
{
  PipecomSession *session = _pipecom_session_new (pipe_name, NULL, TRUE);

  _pipecom_session_start (session, NULL, message, timeout, max_attempts, 0, cancellable,
                          callback, user_data, source_tag);
  _pipecom_session_unref (session);
}

GBytes *
_pipecom_oneshot_finish (GAsyncResult  *result,
                         gboolean      *ok,
                         GError       **error)
{
  return _pipecom_session_op_finish (NULL, result, ok, error);
}
