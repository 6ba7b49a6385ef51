/* pipecom-session-frames.c: what a client session does with the frames of
 * the listener and with the end of its connection
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Runs where the connection is dispatched: in the worker, or in the
 * calling thread of a direct exchange, with the session's lock held either
 * way (see pipecom-session-private.h). An answer finishes its request
 * through _pipecom_session_op_complete() (pipecom-session.c). */

#include "config.h"

#include "pipecom-session-private.h"

static void session_goodbye (PipecomSession *session);

void
_pipecom_session_set_connected (PipecomSession *session,
                                gboolean        connected)
{
  g_atomic_int_set (&session->connected, connected);
}

/* What a frame from the listener of @name says: for an answer, the reply
 * (ACK: none) or the handler's error; for a refusal or an unexpected frame,
 * the error to fail the connection with. */
PipecomSessionFrame
_pipecom_session_decode_frame (const char  *name,
                               guint8       type,
                               guint32      id,
                               GBytes      *payload,
                               GBytes     **reply,
                               GError     **error)
{
  g_autofree char *text = NULL;
  guint32 code;

  *reply = NULL;
  *error = NULL;

  switch (type)
    {
    case PIPECOM_FRAME_ACK:
      return PIPECOM_SESSION_FRAME_ANSWER;
    case PIPECOM_FRAME_REPLY:
      *reply = g_bytes_ref (payload);
      return PIPECOM_SESSION_FRAME_ANSWER;
    case PIPECOM_FRAME_ERROR:
      text = _pipecom_error_payload_parse (payload, &code);
      if (id == 0)
        {
          *error = g_error_new (PIPECOM_ERROR, code,
                                "The listener of pipe “%s” refused the connection: %s",
                                name, text);
          return code == PIPECOM_ERROR_CLOSED ? PIPECOM_SESSION_FRAME_GOODBYE
                                              : PIPECOM_SESSION_FRAME_REFUSAL;
        }
      *error = g_error_new_literal (PIPECOM_ERROR, code, text);
      return PIPECOM_SESSION_FRAME_ANSWER;
    default:
      *error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                            "Unexpected frame of type %u from the listener of “%s”",
                            type, name);
      return PIPECOM_SESSION_FRAME_UNEXPECTED;
    }
}

void
_pipecom_session_frame_cb (PipecomConnection *conn,
                           guint8             type,
                           guint32            id,
                           GBytes            *payload,
                           gpointer           user_data)
{
  PipecomSession *session = user_data;
  GBytes *reply;
  GError *error;
  PipecomSessionOp *op;

  switch (_pipecom_session_decode_frame (session->name, type, id, payload, &reply, &error))
    {
    case PIPECOM_SESSION_FRAME_GOODBYE:
      if (session->state == PIPECOM_SESSION_CONNECTED)
        {
          g_debug ("Pipe “%s”: the listener said goodbye (%s): sending %u unanswered "
                   "message(s) again", session->name, error->message,
                   _pipecom_session_n_pending (session) + (session->direct_op != NULL));
          g_error_free (error);
          session_goodbye (session);
          return;
        }
      G_GNUC_FALLTHROUGH;

    case PIPECOM_SESSION_FRAME_REFUSAL:
      if (session->state == PIPECOM_SESSION_CONNECTING)
        _pipecom_connector_fail (session->connector, error);
      else
        {
          _pipecom_session_connection_closed (session, error);
          g_error_free (error);
        }
      return;

    case PIPECOM_SESSION_FRAME_UNEXPECTED:
      _pipecom_session_fail_all (session, error);
      _pipecom_session_connection_closed (session, NULL);
      g_error_free (error);
      return;

    case PIPECOM_SESSION_FRAME_ANSWER:
    default:
      if (session->direct_op != NULL && session->direct_op->id == id)
        op = session->direct_op;
      else if (session->pending != NULL)
        op = g_hash_table_lookup (session->pending, GUINT_TO_POINTER (id));
      else
        op = NULL;
      if (op != NULL)
        {
          /* A one-shot's message is answered, and nothing more comes on
           * its connection: its descriptors, and the listener's (which then
           * sees the end), are given back before the caller hears of the
           * answer, not when the session ends after that. */
          if (session->oneshot)
            _pipecom_session_connection_closed (session, NULL);
          _pipecom_session_op_complete (op, reply, error);
        }
      else
        {
          /* timed out or cancelled meanwhile */
          g_clear_pointer (&reply, g_bytes_unref);
          g_clear_error (&error);
        }
      return;
    }
}

static gint
op_compare_id (gconstpointer a,
               gconstpointer b)
{
  guint32 ia = ((const PipecomSessionOp *) a)->id, ib = ((const PipecomSessionOp *) b)->id;

  return ia < ib ? -1 : ia > ib;
}

/* The listener's goodbye (docs/protocol.md, "Idle connections"): it closes
 * the connection and read nothing after its last answer, so no message
 * still without an answer was handled. They go again, in their order, on a
 * new connection, made as for the first message; their timeouts go on. A
 * direct exchange's message is handed back to its caller for that. */
static void
session_goodbye (PipecomSession *session)
{
  GList *ops = g_list_sort (_pipecom_session_take_pending (session), op_compare_id);

  for (GList *l = g_list_last (ops); l != NULL; l = l->prev)
    {
      PipecomSessionOp *op = l->data;

      op->sent = FALSE;
      g_queue_push_head (&session->waiting, op);
    }
  g_list_free (ops);

  if (session->direct_op != NULL)
    {
      PipecomSessionOp *op = g_steal_pointer (&session->direct_op);

      op->sent = FALSE;
      op->detached = TRUE;
      op->direct->resend = TRUE;
      op->direct->done = TRUE;
    }

  _pipecom_session_connection_closed (session, NULL);
  if (!g_queue_is_empty (&session->waiting))
    _pipecom_session_start_connecting (session, NULL);
}

void
_pipecom_session_closed_cb (PipecomConnection *conn,
                            const GError      *error,
                            gpointer           user_data)
{
  PipecomSession *session = user_data;
  g_autoptr(GError) closed = NULL;

  if (session->state == PIPECOM_SESSION_CONNECTING)
    {
      /* Closed before HELLO: the listener died or refused our channel.
       * Nothing was handled: announce again on a fresh channel. */
      _pipecom_connector_reannounce (session->connector);
      return;
    }

  closed = _pipecom_session_error_closed (session->name, session->path, error);
  _pipecom_session_connection_closed (session, closed);
}

static gboolean
release_conn_cb (gpointer data)
{
  return G_SOURCE_REMOVE;  /* the destroy notify drops the reference */
}

void
_pipecom_session_connection_closed (PipecomSession *session,
                                    const GError   *error)
{
  if (session->conn != NULL)
    {
      _pipecom_connection_close (session->conn);
      if (session->worker == NULL || g_main_context_is_owner (session->worker))
        g_clear_pointer (&session->conn, _pipecom_connection_unref);
      else
        {
          /* A direct exchange closed it (a goodbye, a refusal): the
           * worker's dispatch of the connection may be waiting for the
           * session's lock right now, and must find it alive. Drop our
           * reference in the worker, after that dispatch. */
          GSource *source = g_idle_source_new ();

          g_source_set_priority (source, G_PRIORITY_DEFAULT);
          g_source_set_static_name (source, "[pipecom] release connection");
          g_source_set_callback (source, release_conn_cb, g_steal_pointer (&session->conn),
                                 (GDestroyNotify) _pipecom_connection_unref);
          g_source_attach (source, session->worker);
          g_source_unref (source);
        }
    }
  g_clear_pointer (&session->connector, _pipecom_connector_free);
  session->state = PIPECOM_SESSION_IDLE;
  _pipecom_session_set_connected (session, FALSE);
  if (error != NULL)
    _pipecom_session_fail_all (session, error);
}
