/* pipecom-send.c: one-shot sends and requests
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom.h"
#include "pipecom-oneshot-private.h"
#include "pipecom-util-private.h"

/**
 * SECTION:pipecom-send
 * @title: One-shot messages
 * @short_description: send a message, get an acknowledgement or a reply
 *
 * The simplest way to talk to a pipe: pipecom_send() delivers one message
 * and returns %TRUE once the listener's handler has run;
 * pipecom_request() also returns the handler's reply. Each call uses its
 * own private connection, so replies never reach the wrong sender.
 *
 * @timeout is the whole call's budget in seconds (0: none), and
 * @max_attempts bounds the connection attempts while the listener is absent
 * or busy (0: unlimited within the timeout). With both 0, a call to a pipe
 * nobody listens on keeps trying until a listener appears. A message that
 * has been delivered is never sent twice.
 *
 * The synchronous calls take no #GCancellable argument, but, like GIO's,
 * honour the one pushed with g_cancellable_push_current() in the calling
 * thread: cancelling it (from any thread, or a signal handler's thread)
 * makes the call fail at once with %G_IO_ERROR_CANCELLED. A message the
 * listener had already taken may then have been handled; one it had not
 * taken never will be. The Python overrides use this to let Ctrl-C
 * interrupt pipecom_send() and pipecom_request().
 *
 * |[<!-- language="C" -->
 * g_autoptr(GError) error = NULL;
 * g_autofree char *reply = pipecom_request ("task_queue", "{\"id\": 1}", 10, 3, &error);
 *
 * if (error != NULL)
 *   g_printerr ("%s\n", error->message);
 * ]|
 *
 * |[<!-- language="Python" -->
 * import pipecom
 *
 * try:
 *     reply = pipecom.request("task_queue", '{"id": 1}', timeout=10, max_attempts=3)
 * except pipecom.PipeError as e:
 *     print(e)      # PipeError (Code: TIMEOUT): ... [Context: pipe_name=task_queue, ...]
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * const {Pipecom} = imports.gi;
 *
 * try {
 *     const reply = Pipecom.request('task_queue', '{"id": 1}', 10, 3);
 * } catch (e) {     // a GLib.Error
 *     printerr(e.message);
 * }
 * ]|
 */

static void
oneshot_sync (const char  *pipe_name,
              GBytes      *message,
              guint        timeout,
              guint        max_attempts,
              gboolean    *ok,
              GBytes     **reply,
              GError     **error)
{
  /* As GIO's synchronous calls without a cancellable argument do */
  _pipecom_oneshot_run_sync (pipe_name, message, timeout, max_attempts,
                             g_cancellable_get_current (), ok, reply, error);
}

/**
 * pipecom_send_bytes:
 * @pipe_name: the name or path of the pipe
 * @message: the message
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @error: return location for a #GError
 *
 * Sends @message to the listener of @pipe_name and waits until its
 * handler has run.
 *
 * It honours the current #GCancellable (see g_cancellable_push_current()).
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_send_bytes (const char  *pipe_name,
                    GBytes      *message,
                    guint        timeout,
                    guint        max_attempts,
                    GError     **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (pipe_name != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  oneshot_sync (pipe_name, message, timeout, max_attempts, &ok, &reply, error);
  return ok;
}

/**
 * pipecom_send:
 * @pipe_name: the name or path of the pipe
 * @message: the message text
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @error: return location for a #GError
 *
 * Sends the string @message (without its trailing NUL) to the listener of
 * @pipe_name and waits until its handler has run.
 *
 * It honours the current #GCancellable (see g_cancellable_push_current()).
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_send (const char  *pipe_name,
              const char  *message,
              guint        timeout,
              guint        max_attempts,
              GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (pipe_name != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  bytes = g_bytes_new_static (message, strlen (message));
  return pipecom_send_bytes (pipe_name, bytes, timeout, max_attempts, error);
}

/**
 * pipecom_request_bytes:
 * @pipe_name: the name or path of the pipe
 * @message: the message
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @error: return location for a #GError
 *
 * Sends @message to the listener of @pipe_name and waits for its
 * handler's reply.
 *
 * It honours the current #GCancellable (see g_cancellable_push_current()).
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
GBytes *
pipecom_request_bytes (const char  *pipe_name,
                       GBytes      *message,
                       guint        timeout,
                       guint        max_attempts,
                       GError     **error)
{
  GBytes *reply;
  gboolean ok;

  g_return_val_if_fail (pipe_name != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  oneshot_sync (pipe_name, message, timeout, max_attempts, &ok, &reply, error);
  return reply;
}


/**
 * pipecom_request:
 * @pipe_name: the name or path of the pipe
 * @message: the message text
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @error: return location for a #GError
 *
 * Sends the string @message to the listener of @pipe_name and waits for
 * its handler's reply. A reply containing a NUL byte is cut there; use
 * pipecom_request_bytes() for binary replies.
 *
 * It honours the current #GCancellable (see g_cancellable_push_current()).
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
char *
pipecom_request (const char  *pipe_name,
                 const char  *message,
                 guint        timeout,
                 guint        max_attempts,
                 GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) reply = NULL;

  g_return_val_if_fail (pipe_name != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  bytes = g_bytes_new_static (message, strlen (message));
  reply = pipecom_request_bytes (pipe_name, bytes, timeout, max_attempts, error);
  return _pipecom_bytes_to_string (reply);
}

/**
 * pipecom_send_bytes_async:
 * @pipe_name: the name or path of the pipe
 * @message: the message
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called once the listener handled the message
 * @user_data: (closure): data for @callback
 *
 * Sends @message to the listener of @pipe_name. @callback runs in the
 * thread-default main context of the calling thread.
 *
 * Since: 1.0
 */
void
pipecom_send_bytes_async (const char          *pipe_name,
                          GBytes              *message,
                          guint                timeout,
                          guint                max_attempts,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (pipe_name != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  _pipecom_oneshot_async (pipe_name, message, timeout, max_attempts, cancellable,
                          callback, user_data, pipecom_send_bytes_async);
}

/**
 * pipecom_send_bytes_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_send_bytes_async().
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_send_bytes_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  reply = _pipecom_oneshot_finish (result, &ok, error);
  return ok;
}

/**
 * pipecom_send_async:
 * @pipe_name: the name or path of the pipe
 * @message: the message text
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called once the listener handled the message
 * @user_data: (closure): data for @callback
 *
 * Sends the string @message to the listener of @pipe_name.
 *
 * Since: 1.0
 */
void
pipecom_send_async (const char          *pipe_name,
                    const char          *message,
                    guint                timeout,
                    guint                max_attempts,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (pipe_name != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  bytes = g_bytes_new (message, strlen (message));
  _pipecom_oneshot_async (pipe_name, bytes, timeout, max_attempts, cancellable,
                          callback, user_data, pipecom_send_async);
}

/**
 * pipecom_send_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_send_async().
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_send_finish (GAsyncResult  *result,
                     GError       **error)
{
  return pipecom_send_bytes_finish (result, error);
}

/**
 * pipecom_request_bytes_async:
 * @pipe_name: the name or path of the pipe
 * @message: the message
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called with the handler's reply
 * @user_data: (closure): data for @callback
 *
 * Sends @message to the listener of @pipe_name and gets its reply.
 *
 * Since: 1.0
 */
void
pipecom_request_bytes_async (const char          *pipe_name,
                             GBytes              *message,
                             guint                timeout,
                             guint                max_attempts,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (pipe_name != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  _pipecom_oneshot_async (pipe_name, message, timeout, max_attempts, cancellable,
                          callback, user_data, pipecom_request_bytes_async);
}

/**
 * pipecom_request_bytes_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_request_bytes_async().
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
GBytes *
pipecom_request_bytes_finish (GAsyncResult  *result,
                              GError       **error)
{
  gboolean ok;

  return _pipecom_oneshot_finish (result, &ok, error);
}

/**
 * pipecom_request_async:
 * @pipe_name: the name or path of the pipe
 * @message: the message text
 * @timeout: the time budget in seconds, 0 for none
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called with the handler's reply
 * @user_data: (closure): data for @callback
 *
 * Sends the string @message to the listener of @pipe_name and gets its
 * reply.
 *
 * Since: 1.0
 */
void
pipecom_request_async (const char          *pipe_name,
                       const char          *message,
                       guint                timeout,
                       guint                max_attempts,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (pipe_name != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  bytes = g_bytes_new (message, strlen (message));
  _pipecom_oneshot_async (pipe_name, bytes, timeout, max_attempts, cancellable,
                          callback, user_data, pipecom_request_async);
}

/**
 * pipecom_request_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_request_async().
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
char *
pipecom_request_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_autoptr(GBytes) reply = pipecom_request_bytes_finish (result, error);

  return _pipecom_bytes_to_string (reply);
}
