/* pipecom-pipe-signals.c: the signals of PipecomPipe
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The signals' definitions and documentation, and the accumulator and
 * default handler of ::authorize; pipecom-pipe.c's class_init calls
 * _pipecom_pipe_class_add_signals(). Where and when each is emitted is the
 * listener's (pipecom-listener.c, pipecom-listener-dispatch.c): always in
 * the pipe's serving context.
 *
 * Threads: _pipecom_pipe_class_add_signals() runs once, in the thread
 * that first needs the class (GType's class initialisation). */

#include "config.h"

#include "pipecom-listener-private.h"
#include "pipecom-enums.h"

/* Stops at the first handler that refuses, as GDBusAuthObserver's
 * ::authorize-authenticated-peer does. */
static gboolean
authorize_accumulator (GSignalInvocationHint *ihint,
                       GValue                *return_accu,
                       const GValue          *handler_return,
                       gpointer               data)
{
  gboolean allowed = g_value_get_boolean (handler_return);

  g_value_set_boolean (return_accu, allowed);
  return allowed;
}

static gboolean
authorize_default (PipecomPipe  *self,
                   GCredentials *credentials)
{
  return TRUE;
}

void
_pipecom_pipe_class_add_signals (PipecomPipeClass *klass)
{
  /**
   * PipecomPipe::message-received:
   * @self: the #PipecomPipe
   * @message: the message
   *
   * Emitted for each message, in the pipe's serving context. The first
   * handler that returns a string gives the reply; the sender's call
   * completes once a reply is given, or, if no handler returns one, with an
   * acknowledgement without a reply as soon as the emission ends. To reply
   * later, keep a reference to @message (or call pipecom_message_hold()),
   * return %NULL and call pipecom_message_reply() when ready.
   *
   * Returns: (transfer full) (nullable): the reply, or %NULL
   *
   * Since: 1.0
   */
  _pipecom_pipe_signals[MESSAGE_RECEIVED] =
    g_signal_new ("message-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  _pipecom_listener_first_reply_accumulator, NULL,
                  _pipecom_listener_marshal_STRING__OBJECT,
                  G_TYPE_STRING, 1, PIPECOM_TYPE_MESSAGE);
  g_signal_set_va_marshaller (_pipecom_pipe_signals[MESSAGE_RECEIVED], G_TYPE_FROM_CLASS (klass),
                              _pipecom_listener_marshal_STRING__OBJECTv);

  /**
   * PipecomPipe::stopped:
   * @self: the #PipecomPipe
   * @reason: why the pipe stopped
   *
   * Emitted in the pipe's serving context once the pipe stopped listening
   * and released its FIFO.
   *
   * Since: 1.0
   */
  _pipecom_pipe_signals[STOPPED] =
    g_signal_new ("stopped",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, PIPECOM_TYPE_STOP_REASON);

  /**
   * PipecomPipe::response-error:
   * @self: the #PipecomPipe
   * @error: what went wrong
   *
   * Emitted when a reply could not be forwarded to
   * #PipecomPipe:response-pipe-name. The pipe keeps serving.
   *
   * Since: 1.0
   */
  _pipecom_pipe_signals[RESPONSE_ERROR] =
    g_signal_new ("response-error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * PipecomPipe::authorize:
   * @self: the #PipecomPipe
   * @credentials: (nullable): the sender's credentials, as
   *   pipecom_message_get_credentials() will give them for its messages, or
   *   %NULL if the sender is unknown
   *
   * Emitted once per connection, before any of its messages is handled
   * (for a one-shot sender, its only message), in the pipe's serving
   * context, to decide whether the sender may send: return %FALSE to
   * refuse it. The sender's call then fails with
   * %PIPECOM_ERROR_PERMISSION_DENIED, none of its messages is handled (not
   * even the die code), and the pipe goes on serving the others. The first
   * handler that returns %FALSE stops the emission; with no handler (or
   * when all return %TRUE) the sender is allowed.
   *
   * The sender waits while the handlers run, and so does the pipe: decide
   * quickly. Senders that #PipecomPipe:allowed-users refuses are refused
   * before this signal. A pid in @credentials is verified (see
   * pipecom_message_get_credentials()); check the uid (Unix) or the SID
   * (Windows: pipecom_credentials_get_sid() on @credentials), not a name
   * the sender chose. Connecting no handler costs nothing: the credentials are then
   * only worked out if a message handler asks for them.
   *
   * Returns: %TRUE to allow the sender, %FALSE to refuse it
   *
   * Since: 1.1
   */
  _pipecom_pipe_signals[AUTHORIZE] =
    g_signal_new_class_handler ("authorize",
                                G_TYPE_FROM_CLASS (klass),
                                G_SIGNAL_RUN_LAST,
                                G_CALLBACK (authorize_default),
                                authorize_accumulator, NULL,
                                NULL,
                                G_TYPE_BOOLEAN, 1, G_TYPE_CREDENTIALS);
}
