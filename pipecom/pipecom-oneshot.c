/* pipecom-oneshot.c: one-shot dialling, for the functions of pipecom-send.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* A one-shot message runs on a private client session, made for it
 * (_pipecom_oneshot_async()); a synchronous one first tries the direct path
 * (_pipecom_oneshot_direct()). See pipecom-oneshot-private.h for the
 * thread contract. */

#include "config.h"

#include "pipecom-oneshot-private.h"
#include "pipecom-session-private.h"

/* Whether the one-shot message @data goes inline in the announcement to
 * @path, or else by a channel: it must be within the inline budget, fit
 * there with the channel's path and hold no record magic
 * (_pipecom_announce_inline_allowed()). */
gboolean
_pipecom_oneshot_inline_allowed (const char   *name,
                                 const char   *path,
                                 const guint8 *data,
                                 gsize         size)
{
  return size <= PIPECOM_ANNOUNCE_INLINE_MAX &&
         _pipecom_announce_inline_allowed (data, size,
                                           _pipecom_transport_max_base_len (name, path));
}

#ifdef G_OS_UNIX
typedef struct
{
  const char  *name;
  PipecomDial *dial;
  gboolean     hello;
  gboolean     done;
  GBytes      *reply;   /* (owned) (nullable) */
  GError      *error;   /* (owned) (nullable) */
} OneshotDirect;

static void
oneshot_direct_finish (OneshotDirect *od,
                       GBytes        *reply,
                       GError        *error)
{
  od->done = TRUE;
  od->reply = reply;
  od->error = error;
}

static void
oneshot_direct_frame_cb (PipecomConnection *conn,
                         guint8             type,
                         guint32            id,
                         GBytes            *payload,
                         gpointer           user_data)
{
  OneshotDirect *od = user_data;
  GBytes *reply;
  GError *error = NULL;
  guint64 max_size;

  if (od->done)
    return;

  if (!od->hello && type == PIPECOM_FRAME_HELLO)
    {
      if (_pipecom_session_parse_hello (od->name, payload, &max_size, &error) &&
          _pipecom_dial_established (od->dial, conn, &error))
        od->hello = TRUE;
      else
        oneshot_direct_finish (od, NULL, error);
      return;
    }

  switch (_pipecom_session_decode_frame (od->name, type, id, payload, &reply, &error))
    {
    case PIPECOM_SESSION_FRAME_ANSWER:
      if (!od->hello || id != 1)
        {
          g_clear_pointer (&reply, g_bytes_unref);
          g_clear_error (&error);
          error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                               "Unexpected answer to message %u from the listener of “%s”",
                               id, od->name);
        }
      oneshot_direct_finish (od, reply, error);
      return;
    case PIPECOM_SESSION_FRAME_GOODBYE:  /* a listener never closes a one-shot connection
                                          * for idling */
    case PIPECOM_SESSION_FRAME_REFUSAL:
    case PIPECOM_SESSION_FRAME_UNEXPECTED:
    default:
      oneshot_direct_finish (od, NULL, error);
      return;
    }
}

static const PipecomConnectionFuncs oneshot_direct_funcs = {
  oneshot_direct_frame_cb,
  NULL,
  NULL,
};

/* The fast path of the synchronous one-shot calls: the calling thread
 * announces the message (inline) and reads the listener's HELLO and answer
 * itself, on a connection without a source. Going through the worker
 * instead costs two thread hand-offs, a #GTask and five sources per call,
 * five times the instructions of the exchange itself (bench/README.md).
 *
 * It covers the common case, one announcement that is answered, and
 * returns %TRUE with the outcome in @ok, @reply and @error. It returns
 * %FALSE when the engine must go on: the message does not fit inline, the
 * listener is served by this thread's own context, or it was absent, busy,
 * or went away before its HELLO; then nothing was delivered, and @resume
 * says what was tried. */
gboolean
_pipecom_oneshot_direct (const char            *pipe_name,
                         const char            *path,
                         GBytes                *message,
                         guint                  timeout,
                         GCancellable          *cancellable,
                         PipecomOneshotResume  *resume,
                         gboolean              *ok,
                         GBytes               **reply,
                         GError               **error)
{
  OneshotDirect od = { pipe_name, NULL, FALSE, FALSE, NULL, NULL };
  g_autoptr(PipecomConnection) conn = NULL;
  GError *local_error = NULL;
  GPollFD cancel_fd = { -1, 0, 0 };
  gint64 next_probe;
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);

  *resume = (PipecomOneshotResume) { 0, FALSE, FALSE, 0 };

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      *ok = FALSE;
      *reply = NULL;
      return TRUE;
    }

  if (!_pipecom_oneshot_inline_allowed (pipe_name, path, data, size) ||
      _pipecom_registry_is_served_here (path))
    return FALSE;

  _pipecom_init_once ();
  if (timeout > 0)
    resume->deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;

  od.dial = _pipecom_dial_new (pipe_name, path, FALSE);
  resume->attempts = 1;

  switch (_pipecom_dial_attempt (od.dial, PIPECOM_ANNOUNCE_ONESHOT, data, size, &conn,
                                 &oneshot_direct_funcs, &od, NULL, &local_error))
    {
    case PIPECOM_DIAL_ANNOUNCED:
      break;
    case PIPECOM_DIAL_BUSY:
      resume->busy = TRUE;
      _pipecom_dial_free (od.dial);
      return FALSE;
    case PIPECOM_DIAL_ABSENT:
      _pipecom_dial_free (od.dial);
      return FALSE;
    case PIPECOM_DIAL_FAILED:
    default:
      _pipecom_dial_free (od.dial);
      *ok = FALSE;
      *reply = NULL;
      g_propagate_error (error, local_error);
      return TRUE;
    }

  /* Waits as the engine does: checking every PIPECOM_SESSION_PROBE_MS, until
   * the HELLO, that the listener that read the record still lives. */
  next_probe = g_get_monotonic_time () + PIPECOM_SESSION_PROBE_MS * 1000;
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd))
    cancel_fd.events = G_IO_IN;

  while (!od.done)
    {
      gint64 now, until;

      if (g_cancellable_is_cancelled (cancellable))
        {
          /* Given up: the listener may have handled the message, but no
           * answer will come. */
          oneshot_direct_finish (&od, NULL, _pipecom_session_error_cancelled ());
          break;
        }

      if (_pipecom_connection_is_closed (conn))
        {
          if (!od.hello)
            {
              /* The listener dropped the channel without a HELLO: nothing
               * was handled, the engine announces again. */
              resume->lost = TRUE;
              break;
            }
          oneshot_direct_finish (&od, NULL,
                                 _pipecom_session_error_closed (pipe_name, path, NULL));
          break;
        }

      now = g_get_monotonic_time ();
      if (resume->deadline > 0 && now >= resume->deadline)
        {
          if (od.hello)
            local_error = _pipecom_session_error_no_answer (pipe_name, path, timeout);
          else
            local_error = _pipecom_session_error_not_accepted (pipe_name, path, timeout);
          oneshot_direct_finish (&od, NULL, local_error);
          break;
        }

      if (!od.hello && now >= next_probe)
        {
          if (_pipecom_dial_lost (od.dial, conn))
            {
              resume->lost = TRUE;
              break;
            }
          next_probe = now + PIPECOM_SESSION_PROBE_MS * 1000;
        }

      until = od.hello ? resume->deadline : next_probe;
      if (resume->deadline > 0)
        until = MIN (until, resume->deadline);

      /* A cancellation is seen at the top of the loop. */
      _pipecom_session_wait_io (conn, cancellable, &cancel_fd,
                                until > 0 ? (gint) MIN ((MAX (until - now, 0) + 999) / 1000,
                                                        G_MAXINT) : -1);
    }

  if (cancel_fd.fd >= 0)
    g_cancellable_release_fd (cancellable);
  _pipecom_connection_close (conn);
  _pipecom_dial_free (od.dial);  /* removes the channel files, if still there */

  if (!od.done)
    return FALSE;

  *ok = od.error == NULL;
  *reply = od.reply;
  if (od.error != NULL)
    g_propagate_error (error, od.error);
  return TRUE;
}
#endif

/* The one-shot functions: a private session whose first message travels in
 * the announcement when it fits. The task has no source object. @path is
 * the resolved @pipe_name when the caller already has it, or %NULL. */
void
_pipecom_oneshot_async (const char                 *pipe_name,
                        const char                 *path,
                        GBytes                     *message,
                        guint                       timeout,
                        guint                       max_attempts,
                        const PipecomOneshotResume *resume,
                        GCancellable               *cancellable,
                        GAsyncReadyCallback         callback,
                        gpointer                    user_data,
                        gpointer                    source_tag)
{
  PipecomSession *session = _pipecom_session_new (pipe_name, path, TRUE);

  if (resume != NULL)
    session->resume = *resume;  /* before the start: the worker reads it */
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
