/* pipecom-message-private.h: what the listener does with a PipecomMessage
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * _pipecom_message_new(), _pipecom_message_release(),
 * _pipecom_message_is_kept(), _pipecom_message_acknowledge(),
 * _pipecom_message_take_answer() and (for a handler's returned reply)
 * _pipecom_message_take_reply() are called
 * by a listener in its serving thread, around the emission of
 * PipecomPipe::message-received. A message is answered (the public
 * pipecom_message_reply*() functions, or its finalization) from any
 * thread: it then calls _pipecom_pipe_deliver_reply(), which the listener
 * implements (pipecom-listener-dispatch.c) and which hands the answer to
 * the pipe's serving context unless called in it. This is the one way from
 * a message to its pipe: pipecom-message.c needs nothing else of the
 * listener's internals. */

#pragma once

#include "pipecom-transport.h"

G_BEGIN_DECLS

PipecomMessage *_pipecom_message_new         (PipecomPipe       *pipe,
                                              PipecomConnection *conn,
                                              guint              session,
                                              guint32            id,
                                              GBytes            *payload,
                                              PipecomMessage    *spare);
void            _pipecom_message_release     (PipecomMessage    *message,
                                              PipecomMessage   **spare);
gboolean        _pipecom_message_is_kept     (PipecomMessage    *message);
void            _pipecom_message_acknowledge (PipecomMessage    *message);
gboolean        _pipecom_message_take_answer (PipecomMessage    *message);
gboolean        _pipecom_message_take_reply  (PipecomMessage    *message);

/* Implemented by the listener. */
void            _pipecom_pipe_deliver_reply  (PipecomPipe       *pipe,
                                              PipecomConnection *conn,
                                              guint              session,
                                              guint32            id,
                                              guint8             type,
                                              GBytes            *payload);

G_END_DECLS
