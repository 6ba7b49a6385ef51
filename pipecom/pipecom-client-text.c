/* pipecom-client-text.c: the string variants of PipecomClient's calls
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* pipecom_client_send*() and pipecom_client_request*() with a string
 * message: each makes a #GBytes of the text and runs the bytes variant's
 * path (pipecom-client.c); a reply comes back cut at its first NUL. */

#include "config.h"

#include <string.h>

#include "pipecom-client-private.h"
#include "pipecom-session-private.h"
#include "pipecom-util-private.h"

/**
 * pipecom_client_send_async:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the listener handled the message
 * @user_data: (closure): data for @callback
 *
 * Sends the string @message (without its trailing NUL). See
 * pipecom_client_send_bytes_async().
 *
 * Since: 1.0
 */
void
pipecom_client_send_async (PipecomClient       *self,
                           const char          *message,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  bytes = g_bytes_new (message, strlen (message));
  _pipecom_client_start_op (self, bytes, cancellable, callback, user_data,
                            pipecom_client_send_async);
}

/**
 * pipecom_client_send_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_send_async().
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send_finish (PipecomClient  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  return pipecom_client_send_bytes_finish (self, result, error);
}

/**
 * pipecom_client_send:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends the string @message and waits until the listener handled it.
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send (PipecomClient  *self,
                     const char     *message,
                     GCancellable   *cancellable,
                     GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  bytes = g_bytes_new (message, strlen (message));
  return pipecom_client_send_bytes (self, bytes, cancellable, error);
}

/**
 * pipecom_client_request_async:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called with the listener's reply
 * @user_data: (closure): data for @callback
 *
 * Sends the string @message and completes with the handler's reply.
 *
 * Since: 1.0
 */
void
pipecom_client_request_async (PipecomClient       *self,
                              const char          *message,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  bytes = g_bytes_new (message, strlen (message));
  _pipecom_client_start_op (self, bytes, cancellable, callback, user_data,
                            pipecom_client_request_async);
}

/**
 * pipecom_client_request_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_request_async(). A reply that contains a NUL
 * byte is cut there; use pipecom_client_request_bytes() for binary replies.
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
char *
pipecom_client_request_finish (PipecomClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);

  bytes = _pipecom_session_op_finish (self, result, &ok, error);
  return _pipecom_bytes_to_string (bytes);
}

/**
 * pipecom_client_request:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends the string @message and waits for the handler's reply.
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
char *
pipecom_client_request (PipecomClient  *self,
                        const char     *message,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) reply = NULL;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);
  g_return_val_if_fail (message != NULL, NULL);

  bytes = g_bytes_new (message, strlen (message));
  reply = pipecom_client_request_bytes (self, bytes, cancellable, error);
  return _pipecom_bytes_to_string (reply);
}
