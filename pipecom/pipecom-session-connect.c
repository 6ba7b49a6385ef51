/* pipecom-session-connect.c: how a client session connects to a listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Announces the session's channel to the listener, retries with a backoff
 * while the pipe is absent or busy, probes the listener until its HELLO,
 * and hands the connection to the session. Runs in the worker, with the
 * session's lock held (see pipecom-session-private.h). */

#include "config.h"

#include <string.h>

#include "pipecom-session-private.h"

static void connector_attempt (PipecomConnector *connector);
static void connector_backoff (PipecomConnector *connector, gboolean busy);
static const PipecomConnectionFuncs connector_funcs;

/* Whether the one-shot message @data goes inline in the announcement to
 * @path, or else by a channel: it must be within the inline budget, fit
 * there with the channel's path and hold no record magic
 * (_pipecom_announce_inline_allowed()). */
gboolean
_pipecom_session_inline_allowed (const char   *name,
                                 const char   *path,
                                 const guint8 *data,
                                 gsize         size)
{
  return size <= PIPECOM_ANNOUNCE_INLINE_MAX &&
         _pipecom_announce_inline_allowed (data, size,
                                           _pipecom_transport_max_base_len (name, path));
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

void
_pipecom_connector_free (PipecomConnector *connector)
{
  if (connector->retry_source)
    {
      g_source_destroy (connector->retry_source);
      g_source_unref (connector->retry_source);
    }
  if (connector->probe_source)
    {
      g_source_destroy (connector->probe_source);
      g_source_unref (connector->probe_source);
    }
  if (connector->conn)
    {
      _pipecom_connection_close (connector->conn);
      _pipecom_connection_unref (connector->conn);
    }
  g_clear_pointer (&connector->dial, _pipecom_dial_free);
  /* Nothing to free: it is its session's @connector_block. */
}

void
_pipecom_connector_fail (PipecomConnector *connector,
                         GError           *error)
{
  PipecomSession *session = connector->session;

  g_assert (session->connector == connector);

  /* Remove the channel files before any caller hears of the failure. */
  session->connector = NULL;
  session->state = PIPECOM_SESSION_IDLE;
  if (connector->inline_op != NULL)
    g_queue_push_head (&session->waiting, g_steal_pointer (&connector->inline_op));
  _pipecom_connector_free (connector);

  _pipecom_session_fail_all (session, error);
  g_error_free (error);
}

static gboolean
connector_retry_cb_locked (gpointer data)
{
  PipecomConnector *connector = data;

  g_clear_pointer (&connector->retry_source, g_source_unref);
  connector_attempt (connector);
  return G_SOURCE_REMOVE;
}

static gboolean
connector_retry_cb (gpointer data)
{
  PipecomSession *session = ((PipecomConnector *) data)->session;
  gboolean ret;

  g_rec_mutex_lock (&session->lock);
  ret = connector_retry_cb_locked (data);
  g_rec_mutex_unlock (&session->lock);
  return ret;
}

/* Probes, until its HELLO, the listener that read the announcement: if it
 * is gone, announces again and returns %TRUE. Called by the probe source
 * every PIPECOM_SESSION_PROBE_MS, or by a direct path as often. */
gboolean
_pipecom_connector_check_lost (PipecomConnector *connector)
{
  if (connector->conn == NULL || !_pipecom_dial_lost (connector->dial, connector->conn))
    return FALSE;

  /* The listener that read our record is gone without answering: nothing
   * was handled, so announcing again is safe. */
  g_clear_pointer (&connector->probe_source, g_source_unref);
  _pipecom_connector_reannounce (connector);
  return TRUE;
}

static gboolean
connector_probe_cb_locked (gpointer data)
{
  return _pipecom_connector_check_lost (data) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

/* The listener that read the announcement went away before its HELLO, or
 * closed the channel: nothing was handled, announce again on a fresh
 * channel (a direct connector leaves that to the worker). */
void
_pipecom_connector_reannounce (PipecomConnector *connector)
{
  g_clear_pointer (&connector->conn, _pipecom_connection_unref);
  _pipecom_dial_reset (connector->dial);
  connector->announced = FALSE;
  if (connector->direct)
    {
      connector->lost = TRUE;
      connector->handoff = TRUE;
      return;
    }
  connector_attempt (connector);
}

static gboolean
connector_probe_cb (gpointer data)
{
  PipecomSession *session = ((PipecomConnector *) data)->session;
  gboolean ret;

  g_rec_mutex_lock (&session->lock);
  ret = connector_probe_cb_locked (data);
  g_rec_mutex_unlock (&session->lock);
  return ret;
}

static void
connector_attempt (PipecomConnector *connector)
{
  PipecomSession *session = connector->session;
  GError *error = NULL;
  gboolean busy = FALSE;
  const guint8 *data = NULL;
  gsize size = 0;
  gboolean created;

  if (session->max_attempts > 0 && connector->attempts >= session->max_attempts)
    {
      if (connector->last_busy)
        error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_BUSY,
                             "Pipe “%s” (%s) was busy for all %u attempt%s",
                             session->name, session->path, connector->attempts,
                             connector->attempts == 1 ? "" : "s");
      else
        error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED,
                             "No listener on pipe “%s” (%s) after %u attempt%s",
                             session->name, session->path, connector->attempts,
                             connector->attempts == 1 ? "" : "s");
      _pipecom_connector_fail (connector, error);
      return;
    }

  connector->attempts++;

  if (connector->dial == NULL)
    connector->dial = _pipecom_dial_new (session->name, session->path, !connector->oneshot);

  if (connector->oneshot)
    data = g_bytes_get_data (connector->inline_op->payload, &size);

  created = connector->conn == NULL;
  switch (_pipecom_dial_attempt (connector->dial,
                                 connector->oneshot ? PIPECOM_ANNOUNCE_ONESHOT : PIPECOM_ANNOUNCE_CONNECT,
                                 data, size, &connector->conn, &connector_funcs, session,
                                 session->worker, &error))
    {
    case PIPECOM_DIAL_ANNOUNCED:
      connector->announced = TRUE;
      connector->last_busy = FALSE;
      if (created)
        {
          _pipecom_connection_set_lock (connector->conn, &session->lock);
          /* EPIPE: the listener's goodbye may wait to be read. */
          _pipecom_connection_set_read_to_eof (connector->conn);
        }
      if (connector->direct)
        return;  /* its caller probes */
      connector->probe_source = g_timeout_source_new (PIPECOM_SESSION_PROBE_MS);
      g_source_set_static_name (connector->probe_source, "[pipecom] listener probe");
      g_source_set_callback (connector->probe_source, connector_probe_cb, connector, NULL);
      g_source_attach (connector->probe_source, session->worker);
      return;
    case PIPECOM_DIAL_BUSY:
      busy = TRUE;
      break;
    case PIPECOM_DIAL_ABSENT:
      break;
    case PIPECOM_DIAL_FAILED:
    default:
      _pipecom_connector_fail (connector, error);
      return;
    }

  connector_backoff (connector, busy);
}

/* The listener was absent or busy: back off and try again. */
static void
connector_backoff (PipecomConnector *connector,
                   gboolean   busy)
{
  PipecomSession *session = connector->session;

  connector->last_busy = busy;
  if (connector->direct)
    {
      connector->handoff = TRUE;  /* the worker backs off */
      return;
    }
  connector->backoff_ms = connector->backoff_ms ? MIN (connector->backoff_ms * 2, 250) : 5;

  if (session->max_attempts > 0 && connector->attempts >= session->max_attempts)
    {
      connector_attempt (connector);  /* reports the failure */
      return;
    }

  connector->retry_source = g_timeout_source_new (connector->backoff_ms);
  g_source_set_static_name (connector->retry_source, "[pipecom] connect retry");
  g_source_set_callback (connector->retry_source, connector_retry_cb, connector, NULL);
  g_source_attach (connector->retry_source, session->worker);
}

/* Checks a HELLO and gets the largest message the listener accepts. */
gboolean
_pipecom_session_parse_hello (const char    *name,
                              const guint8  *data,
                              gsize          size,
                              guint64       *max_size,
                              GError       **error)
{
  if (!_pipecom_decode_hello (data, size, max_size, NULL))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                   "The listener of pipe “%s” speaks an unknown protocol version", name);
      return FALSE;
    }

  return TRUE;
}

static void
connector_hello (PipecomConnector *connector,
                 const guint8     *data,
                 gsize             size)
{
  PipecomSession *session = connector->session;
  g_autoptr(GError) error = NULL;

  if (!_pipecom_session_parse_hello (session->name, data, size, &session->max_size, &error))
    {
      _pipecom_connector_fail (connector, g_steal_pointer (&error));
      return;
    }

  if (connector->probe_source != NULL)
    {
      g_source_destroy (connector->probe_source);
      g_clear_pointer (&connector->probe_source, g_source_unref);
    }

  if (!_pipecom_dial_established (connector->dial, connector->conn, &error))
    {
      _pipecom_connector_fail (connector, g_steal_pointer (&error));
      return;
    }

  session->conn = g_steal_pointer (&connector->conn);
  session->state = PIPECOM_SESSION_CONNECTED;
  _pipecom_session_set_connected (session, TRUE);
  session->next_id = 0;

  if (connector->inline_op != NULL)
    {
      PipecomSessionOp *op = g_steal_pointer (&connector->inline_op);
      op->id = session->next_id = 1;
      op->sent = TRUE;
      if (op->direct != NULL)
        session->direct_op = op;
      else
        _pipecom_session_add_pending (session, op);
    }

  session->connector = NULL;
  _pipecom_connector_free (connector);

  while (!g_queue_is_empty (&session->waiting) && session->state == PIPECOM_SESSION_CONNECTED)
    _pipecom_session_op_send (g_queue_pop_head (&session->waiting));
}

static void
connector_frame_cb (PipecomConnection *conn,
                    guint8             type,
                    guint32            id,
                    GBytes            *payload,
                    gpointer           user_data)
{
  PipecomSession *session = user_data;

  if (session->state == PIPECOM_SESSION_CONNECTING && type == PIPECOM_FRAME_HELLO)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (payload, &size);

      connector_hello (session->connector, data, size);
    }
  else
    _pipecom_session_frame_cb (conn, type, id, payload, user_data);
}

/* The HELLO read in place: a one-shot connects for every message, and
 * the #GBytes of its HELLO cost it some 400 instructions. */
static gboolean
connector_first_frame_cb (PipecomConnection *conn,
                          guint8             type,
                          guint32            id,
                          const guint8      *data,
                          gsize              len,
                          gpointer           user_data)
{
  PipecomSession *session = user_data;

  if (session->state != PIPECOM_SESSION_CONNECTING || type != PIPECOM_FRAME_HELLO)
    return FALSE;

  connector_hello (session->connector, data, len);
  return TRUE;
}

static const PipecomConnectionFuncs connector_funcs = {
  connector_frame_cb,
  NULL,
  _pipecom_session_closed_cb,
  connector_first_frame_cb,
};

void
_pipecom_session_start_connecting (PipecomSession   *session,
                                   PipecomSessionOp *first)
{
  /* In the session's block, not allocated: a session has one connector at
   * most (each is freed before the next is made), and a one-shot makes
   * one for every message, for some 140 instructions of malloc() and
   * free(). */
  PipecomConnector *connector = &session->connector_block;

  g_assert (session->connector == NULL);
  memset (connector, 0, sizeof (PipecomConnector));
  connector->session = session;
  connector->direct = first != NULL && first->direct != NULL;
  session->connector = connector;
  session->state = PIPECOM_SESSION_CONNECTING;

  /* A one-shot message small enough travels inside the announcement.
   * Without @first, the ops wait already (see session_goodbye()). The
   * direct path of a one-shot call has checked its message already. */
  if (first == NULL)
    ;
  else if (session->oneshot && first->payload != NULL &&
           (first->fits_inline ||
            _pipecom_session_inline_allowed (session->name, session->path,
                                             g_bytes_get_data (first->payload, NULL),
                                             g_bytes_get_size (first->payload))))
    {
      connector->oneshot = TRUE;
      connector->inline_op = first;
    }
  else
    g_queue_push_tail (&session->waiting, first);

  /* Taking over from the direct path of a one-shot call (pipecom-oneshot.c),
   * which made the first attempt. */
  if (session->resume.attempts > 0)
    {
      connector->attempts = session->resume.attempts;
      session->resume.attempts = 0;
      if (!session->resume.lost)
        {
          connector_backoff (connector, session->resume.busy);
          return;
        }
    }

  connector_attempt (connector);
}
