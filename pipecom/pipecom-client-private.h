/* pipecom-client-private.h: what the files of PipecomClient share
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * _pipecom_client_start_op() may be called from any thread, as the public
 * _async() calls that use it: it reads the client's settings under its
 * lock and starts the operation on the client's session, whose callback
 * runs in the thread-default main context of the calling thread (see
 * pipecom-session-private.h). */

#pragma once

#include "pipecom.h"

G_BEGIN_DECLS

/* Starts sending @payload (or only connecting, if %NULL) on @self's
 * session with the client's timeout and attempts; used by
 * pipecom-client.c and pipecom-client-text.c. */
void _pipecom_client_start_op (PipecomClient       *self,
                               GBytes              *payload,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data,
                               gpointer             source_tag);

G_END_DECLS
