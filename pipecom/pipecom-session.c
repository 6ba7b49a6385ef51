/* pipecom-session.c: the client session: send, match replies, finish requests
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The engine behind #PipecomClient and the one-shot calls. The thread and
 * main-context contract is in pipecom-session-private.h; connecting is in
 * pipecom-session-connect.c, the frames from the listener and the end of a
 * connection in pipecom-session-frames.c, synchronous calls in
 * pipecom-session-sync.c. */

#include "config.h"

#include <string.h>

#include "pipecom-session-private.h"
#include "pipecom-worker-private.h"

/* ------------------------------------------------------------------ */
/* Errors                                                              */

GError *
_pipecom_session_error_cancelled (void)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled");
}

/* The listener of @name closed the connection, because of @cause if not
 * %NULL. */
GError *
_pipecom_session_error_closed (const char   *name,
                               const char   *path,
                               const GError *cause)
{
  return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                      "The listener of pipe “%s” (%s) closed the connection%s%s",
                      name, path, cause ? ": " : "", cause ? cause->message : "");
}

/* The message was sent, but no answer came within @timeout seconds. */
GError *
_pipecom_session_error_no_answer (const char *name,
                                  const char *path,
                                  guint       timeout)
{
  return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                      "No answer from the listener of pipe “%s” (%s) within %u s",
                      name, path, timeout);
}

/* A listener read the announcement, but sent no HELLO within @timeout
 * seconds. */
GError *
_pipecom_session_error_not_accepted (const char *name,
                                     const char *path,
                                     guint       timeout)
{
  return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                      "The listener of pipe “%s” (%s) did not accept the connection "
                      "within %u s", name, path, timeout);
}

/* ------------------------------------------------------------------ */
/* Pending ops                                                         */

/* @pending is made on the first insertion: a one-shot's direct path,
 * whose op is @direct_op, needs none, and making and freeing an empty
 * table cost it some 800 instructions. */
void
_pipecom_session_add_pending (PipecomSession   *session,
                              PipecomSessionOp *op)
{
  if (session->pending == NULL)
    session->pending = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (session->pending, GUINT_TO_POINTER (op->id), op);
}

guint
_pipecom_session_n_pending (PipecomSession *session)
{
  return session->pending != NULL ? g_hash_table_size (session->pending) : 0;
}

/* Empties @pending, returning its ops in no particular order. */
GList *
_pipecom_session_take_pending (PipecomSession *session)
{
  GList *ops = NULL;
  GHashTableIter iter;
  gpointer value;

  if (session->pending == NULL)
    return NULL;

  g_hash_table_iter_init (&iter, session->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ops = g_list_prepend (ops, value);
  g_hash_table_remove_all (session->pending);
  return ops;
}

/* ------------------------------------------------------------------ */
/* Ops                                                                 */

static void
op_free (PipecomSessionOp *op)
{
  if (op->direct != NULL)
    return;  /* nothing of its own */

  if (op->timer)
    {
      g_source_destroy (op->timer);
      g_source_unref (op->timer);
    }
  if (op->cancel_source)
    {
      g_source_destroy (op->cancel_source);
      g_source_unref (op->cancel_source);
    }
  g_clear_pointer (&op->payload, g_bytes_unref);
  g_clear_object (&op->task);
  g_clear_pointer (&op->session, _pipecom_session_unref);
  g_slice_free (PipecomSessionOp, op);
}

static void
session_abort_connecting_if_unused (PipecomSession *session)
{
  if (session->state == PIPECOM_SESSION_CONNECTING && g_queue_is_empty (&session->waiting) &&
      (session->connector->inline_op == NULL))
    {
      g_clear_pointer (&session->connector, _pipecom_connector_free);
      session->state = PIPECOM_SESSION_IDLE;
    }
}

/* Removes @op from wherever it is. */
static void
op_detach (PipecomSessionOp *op)
{
  PipecomSession *session = op->session;

  if (op->detached)
    return;
  if (op->sent && session->direct_op == op)
    session->direct_op = NULL;
  else if (op->sent)
    g_hash_table_remove (session->pending, GUINT_TO_POINTER (op->id));
  else if (session->connector != NULL && session->connector->inline_op == op)
    session->connector->inline_op = NULL;
  else
    g_queue_remove (&session->waiting, op);
  op->detached = TRUE;
}

/* Completes the task of a detached @op and frees it. Takes @error. Callers
 * clean up (channel files included) before, since a sync caller may exit
 * as soon as the task returns. */
static void
op_return (PipecomSessionOp      *op,
           GBytes  *reply,
           GError  *error)
{
  if (op->direct != NULL)
    {
      op->direct->done = TRUE;
      op->direct->reply = reply;
      op->direct->error = error;
    }
  else if (error != NULL)
    g_task_return_error (op->task, error);
  else
    g_task_return_pointer (op->task, reply, (GDestroyNotify) g_bytes_unref);

  op_free (op);
}

void
_pipecom_session_op_complete (PipecomSessionOp *op,
                              GBytes           *reply,
                              GError           *error)
{
  op_detach (op);
  op_return (op, reply, error);
}

/* Fails every op of @session: pending replies, waiting for the connection,
 * and the one inside the announcement. */
void
_pipecom_session_fail_all (PipecomSession *session,
                           const GError   *error)
{
  GList *ops = _pipecom_session_take_pending (session);

  if (session->direct_op != NULL)
    ops = g_list_prepend (ops, g_steal_pointer (&session->direct_op));
  while (!g_queue_is_empty (&session->waiting))
    ops = g_list_prepend (ops, g_queue_pop_tail (&session->waiting));
  if (session->connector != NULL && session->connector->inline_op != NULL)
    ops = g_list_prepend (ops, g_steal_pointer (&session->connector->inline_op));

  for (GList *l = ops; l; l = l->next)
    ((PipecomSessionOp *) l->data)->detached = TRUE;
  for (GList *l = ops; l; l = l->next)
    _pipecom_session_op_complete (l->data, NULL, g_error_copy (error));
  g_list_free (ops);
}

void
_pipecom_session_op_send (PipecomSessionOp *op)
{
  PipecomSession *session = op->session;

  if (op->payload == NULL)
    {
      /* connect: done as soon as the connection is up */
      _pipecom_session_op_complete (op, NULL, NULL);
      return;
    }

  if (session->max_size > 0 && g_bytes_get_size (op->payload) > session->max_size)
    {
      _pipecom_session_op_complete (op, NULL,
                                    g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE,
                                                 "Message of %zu bytes is larger than the %"
                                                 G_GUINT64_FORMAT " bytes the listener of “%s” "
                                                 "accepts", g_bytes_get_size (op->payload),
                                                 session->max_size, session->name));
      return;
    }

  if (++session->next_id == 0)
    session->next_id = 1;
  op->id = session->next_id;
  op->sent = TRUE;

  /* A connection left direct by a synchronous call goes back to the worker
   * for an asynchronous one (see _pipecom_session_run_sync()). */
  if (op->direct != NULL)
    session->direct_op = op;
  else
    {
      _pipecom_session_add_pending (session, op);
      _pipecom_connection_set_direct (session->conn, FALSE);
    }

  /* On failure the connection reports itself closed, failing the op. */
  _pipecom_connection_send (session->conn, PIPECOM_FRAME_MESSAGE, op->id, op->payload);
}

static GError *
connecting_error (PipecomSession *session, guint timeout)
{
  PipecomConnector *connector = session->connector;
  guint attempts = connector ? connector->attempts : 0;

  if (connector != NULL && connector->announced)
    return _pipecom_session_error_not_accepted (session->name, session->path, timeout);
  if (connector != NULL && connector->last_busy)
    return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_BUSY,
                        "Pipe “%s” (%s) stayed busy for %u s (%u attempt%s)",
                        session->name, session->path, timeout, attempts,
                        attempts == 1 ? "" : "s");
  return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED,
                      "No listener on pipe “%s” (%s) within %u s (%u attempt%s)",
                      session->name, session->path ? session->path : session->name, timeout,
                      attempts, attempts == 1 ? "" : "s");
}

/* The time of @op is up: fails it, as the worker's timer or a direct
 * exchange's wait does. */
void
_pipecom_session_op_timeout (PipecomSessionOp *op)
{
  PipecomSession *session = op->session;
  GError *error;

  if (op->sent)
    error = _pipecom_session_error_no_answer (session->name, session->path, op->timeout);
  else
    error = connecting_error (session, op->timeout);

  op_detach (op);
  session_abort_connecting_if_unused (session);
  op_return (op, NULL, error);
}

static gboolean
op_timeout_cb (gpointer data)
{
  PipecomSession *session = ((PipecomSessionOp *) data)->session;

  g_rec_mutex_lock (&session->lock);
  _pipecom_session_op_timeout (data);
  g_rec_mutex_unlock (&session->lock);
  return G_SOURCE_REMOVE;
}

/* The cancellable of @op was cancelled: fails it. */
void
_pipecom_session_op_cancel (PipecomSessionOp *op)
{
  PipecomSession *session = op->session;

  op_detach (op);
  session_abort_connecting_if_unused (session);
  op_return (op, NULL, _pipecom_session_error_cancelled ());
}

static gboolean
op_cancelled_cb (GCancellable *cancellable,
                 gpointer      data)
{
  PipecomSession *session = ((PipecomSessionOp *) data)->session;

  g_rec_mutex_lock (&session->lock);
  _pipecom_session_op_cancel (data);
  g_rec_mutex_unlock (&session->lock);
  return G_SOURCE_REMOVE;
}

static gboolean
op_start_cb_locked (gpointer data)
{
  PipecomSessionOp *op = data;
  PipecomSession *session = op->session;
  GCancellable *cancellable = g_task_get_cancellable (op->task);
  g_autoptr(GError) error = NULL;

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_task_return_error (op->task, _pipecom_session_error_cancelled ());
      op_free (op);
      return G_SOURCE_REMOVE;
    }

  if (session->path == NULL)
    {
      session->path = _pipecom_transport_resolve (session->name, &error);
      if (session->path == NULL)
        {
          g_task_return_error (op->task, g_steal_pointer (&error));
          op_free (op);
          return G_SOURCE_REMOVE;
        }
    }

  if (op->timeout > 0)
    {
      guint ms = op->timeout * 1000;

      if (op->deadline > 0)
        ms = (guint) CLAMP ((op->deadline - g_get_monotonic_time () + 999) / 1000, 0, ms);
      else if (session->resume.deadline > 0)
        ms = (guint) CLAMP ((session->resume.deadline - g_get_monotonic_time () + 999) / 1000,
                            0, ms);
      op->timer = g_timeout_source_new (ms);
      g_source_set_static_name (op->timer, "[pipecom] operation timeout");
      g_source_set_callback (op->timer, op_timeout_cb, op, NULL);
      g_source_attach (op->timer, session->worker);
    }

  if (cancellable != NULL)
    {
      op->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (op->cancel_source, G_SOURCE_FUNC (op_cancelled_cb), op, NULL);
      g_source_attach (op->cancel_source, session->worker);
    }

  session->max_attempts = op->max_attempts;

  switch (session->state)
    {
    case PIPECOM_SESSION_CONNECTED:
      _pipecom_session_op_send (op);
      break;
    case PIPECOM_SESSION_CONNECTING:
      g_queue_push_tail (&session->waiting, op);
      break;
    case PIPECOM_SESSION_IDLE:
    default:
      _pipecom_session_start_connecting (session, op);
      break;
    }

  return G_SOURCE_REMOVE;
}

static gboolean
op_start_cb (gpointer data)
{
  PipecomSession *session = ((PipecomSessionOp *) data)->session;
  gboolean ret;

  g_rec_mutex_lock (&session->lock);
  ret = op_start_cb_locked (data);
  g_rec_mutex_unlock (&session->lock);
  return ret;
}

/* Starts a message (@payload, or a connection if %NULL) in the worker;
 * the task, of @source_object, completes in the caller's thread-default
 * main context. @deadline: the monotonic time the call must end by, within
 * its @timeout; 0: the timeout from now. */
void
_pipecom_session_start (PipecomSession      *session,
                        gpointer             source_object,
                        GBytes              *payload,
                        guint                timeout,
                        guint                max_attempts,
                        gint64               deadline,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data,
                        gpointer             source_tag)
{
  PipecomSessionOp *op = g_slice_new0 (PipecomSessionOp);
  GSource *idle;

  op->session = _pipecom_session_ref (session);
  op->task = g_task_new (source_object, cancellable, callback, user_data);
  g_task_set_source_tag (op->task, source_tag);
  g_task_set_name (op->task, "[pipecom] message");
  op->payload = payload ? g_bytes_ref (payload) : NULL;
  op->timeout = timeout;
  op->max_attempts = max_attempts;
  op->deadline = op->timeout > 0 ? deadline : 0;

  /* A one-shot session joins the worker when first started there, and
   * needs its lock from then on: until now, only the calling thread could
   * see it. The idle source's attaching publishes the lock to the worker. */
  if (session->worker == NULL)
    {
      g_rec_mutex_init (&session->lock);
      session->worker = _pipecom_worker_ref ();
    }

  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_static_name (idle, "[pipecom] start operation");
  g_source_set_callback (idle, op_start_cb, op, NULL);
  g_source_attach (idle, session->worker);
  g_source_unref (idle);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */

/* @path: (transfer full) (nullable): @name resolved, if the caller has it
 * already, or %NULL; taken rather than copied, as a one-shot makes it
 * for its session alone. A one-shot session joins the worker only when
 * first started there (the direct path of pipecom-oneshot.c has a
 * session of its own, see _pipecom_session_init_direct()). */
PipecomSession *
_pipecom_session_new (const char *name,
                      char       *path,
                      gboolean    oneshot)
{
  /* As the connector (pipecom-session-connect.c): a one-shot makes both
   * for every message, so the name's copy shares the session's block. */
  gsize name_size = strlen (name) + 1;
  PipecomSession *session = memset (g_malloc (sizeof (PipecomSession) + name_size), 0,
                                    sizeof (PipecomSession));

  _pipecom_init_once ();
  session->ref_count = 1;
  if (!oneshot)
    {
      g_rec_mutex_init (&session->lock);
      session->worker = _pipecom_worker_ref ();
    }
  session->name = memcpy ((char *) (session + 1), name, name_size);
  session->path = path;
  session->oneshot = oneshot;
  g_queue_init (&session->waiting);
  return session;
}

PipecomSession *
_pipecom_session_ref (PipecomSession *session)
{
  g_atomic_int_inc (&session->ref_count);
  return session;
}

/* A one-shot session for the direct path of a synchronous call
 * (pipecom-oneshot.c), in @session, the caller's: nobody but the calling
 * thread ever sees it, and it ends with _pipecom_session_clear_direct()
 * before the call returns, never started. @name is borrowed, @path taken.
 * A one-shot sends one message per session: the allocation of its
 * session, and the copy of its name, cost it some 150 instructions. */
void
_pipecom_session_init_direct (PipecomSession *session,
                              const char     *name,
                              char           *path)
{
  memset (session, 0, sizeof (PipecomSession));
  _pipecom_init_once ();
  session->ref_count = 1;
  session->name = name;
  session->path = path;
  session->oneshot = TRUE;
  g_queue_init (&session->waiting);
}

/* Releases what @session holds, in the worker if it has one. */
static void
session_release (PipecomSession *session)
{
  /* Without a worker, a one-shot session was never seen by another
   * thread, and has no lock (_pipecom_session_start()). */
  gboolean shared = session->worker != NULL;

  /* No op can be pending, and no direct exchange running: each holds a
   * reference to the session. */
  if (shared)
    g_rec_mutex_lock (&session->lock);
  if (session->conn != NULL)
    {
      _pipecom_connection_close (session->conn);
      g_clear_pointer (&session->conn, _pipecom_connection_unref);
    }
  g_clear_pointer (&session->connector, _pipecom_connector_free);
  if (shared)
    {
      g_rec_mutex_unlock (&session->lock);
      g_rec_mutex_clear (&session->lock);
    }
  g_clear_pointer (&session->pending, g_hash_table_unref);
  g_free (session->path);  /* @name is in the session's block, or borrowed */
  if (session->worker != NULL)
    _pipecom_worker_unref ();
}

void
_pipecom_session_clear_direct (PipecomSession *session)
{
  g_assert (session->worker == NULL && session->ref_count == 1);
  session_release (session);
}

static gboolean
session_free_cb (gpointer data)
{
  PipecomSession *session = data;

  session_release (session);
  g_free (session);

  return G_SOURCE_REMOVE;
}

/* Tears the session down in the worker, where it lives. */
void
_pipecom_session_unref (PipecomSession *session)
{
  GSource *source;

  if (!g_atomic_int_dec_and_test (&session->ref_count))
    return;

  if (session->worker == NULL)
    {
      session_free_cb (session);  /* it never had a source */
      return;
    }

  /* At the priority of the worker's I/O: an idle source of the default
   * idle priority runs only once no I/O is ready, and a busy worker would
   * keep what the session holds (a one-shot's connection, four descriptors
   * with the listener's side) for as long as it stays busy. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[pipecom] free client");
  g_source_set_callback (source, session_free_cb, session, NULL);
  g_source_attach (source, session->worker);
  g_source_unref (source);
}

gboolean
_pipecom_session_get_connected (PipecomSession *session)
{
  return g_atomic_int_get (&session->connected);
}

static gboolean
session_close_cb (gpointer data)
{
  PipecomSession *session = data;
  g_autoptr(GError) error = NULL;

  g_rec_mutex_lock (&session->lock);
  error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                       "The connection to pipe “%s” was closed", session->name);
  _pipecom_session_connection_closed (session, error);
  g_rec_mutex_unlock (&session->lock);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  PipecomSession *session;
  GMutex          lock;
  GCond           cond;
  gboolean        done;
} CloseWait;

static gboolean
close_wait_cb (gpointer data)
{
  CloseWait *wait = data;

  session_close_cb (wait->session);

  g_mutex_lock (&wait->lock);
  wait->done = TRUE;
  g_cond_signal (&wait->cond);
  g_mutex_unlock (&wait->lock);

  return G_SOURCE_REMOVE;
}

/* Closes the connection and fails what is in flight; returns once done. */
void
_pipecom_session_close (PipecomSession *session)
{
  CloseWait wait = { session, { 0 }, { 0 }, FALSE };
  GSource *source;

  /* The connection lives in the worker thread: close it there, and wait,
   * as nothing of the caller's runs in the worker that could hold it up. */
  if (g_main_context_is_owner (session->worker))
    {
      session_close_cb (session);
      return;
    }

  g_mutex_init (&wait.lock);
  g_cond_init (&wait.cond);

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_static_name (source, "[pipecom] close client");
  g_source_set_callback (source, close_wait_cb, &wait, NULL);
  g_source_attach (source, session->worker);
  g_source_unref (source);

  g_mutex_lock (&wait.lock);
  while (!wait.done)
    g_cond_wait (&wait.cond, &wait.lock);
  g_mutex_unlock (&wait.lock);

  g_mutex_clear (&wait.lock);
  g_cond_clear (&wait.cond);
}

/* Gets the outcome of a task of _pipecom_session_start(): @ok says whether
 * it succeeded, whether or not it has a reply. */
GBytes *
_pipecom_session_op_finish (gpointer       source_object,
                            GAsyncResult  *result,
                            gboolean      *ok,
                            GError       **error)
{
  GError *local_error = NULL;
  GBytes *ret;

  g_return_val_if_fail (g_task_is_valid (result, source_object), NULL);

  ret = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      *ok = FALSE;
      return NULL;
    }

  *ok = TRUE;
  return ret;
}
