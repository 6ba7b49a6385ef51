/* pipecom-client.h
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#if !defined(PIPECOM_INSIDE) && !defined(PIPECOM_COMPILATION)
# error "Only <pipecom.h> can be included directly."
#endif

#include <gio/gio.h>

#include "pipecom-version-macros.h"

G_BEGIN_DECLS

/**
 * PIPECOM_TYPE_CLIENT:
 *
 * The #GType of #PipecomClient.
 *
 * Since: 1.0
 */
#define PIPECOM_TYPE_CLIENT (pipecom_client_get_type ())

PIPECOM_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PipecomClient, pipecom_client, PIPECOM, CLIENT, GObject)

PIPECOM_AVAILABLE_IN_ALL
PipecomClient *pipecom_client_new                  (const char           *pipe_name);
PIPECOM_AVAILABLE_IN_ALL
const char    *pipecom_client_get_pipe_name        (PipecomClient        *self);
PIPECOM_AVAILABLE_IN_ALL
guint          pipecom_client_get_timeout          (PipecomClient        *self);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_set_timeout          (PipecomClient        *self,
                                                    guint                 timeout);
PIPECOM_AVAILABLE_IN_ALL
guint          pipecom_client_get_max_attempts     (PipecomClient        *self);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_set_max_attempts     (PipecomClient        *self,
                                                    guint                 max_attempts);
PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_get_connected        (PipecomClient        *self);

PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_connect              (PipecomClient        *self,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_connect_async        (PipecomClient        *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_connect_finish       (PipecomClient        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_send                 (PipecomClient        *self,
                                                    const char           *message,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_send_async           (PipecomClient        *self,
                                                    const char           *message,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_send_finish          (PipecomClient        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_send_bytes           (PipecomClient        *self,
                                                    GBytes               *message,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_send_bytes_async     (PipecomClient        *self,
                                                    GBytes               *message,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
gboolean       pipecom_client_send_bytes_finish    (PipecomClient        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

PIPECOM_AVAILABLE_IN_ALL
char          *pipecom_client_request              (PipecomClient        *self,
                                                    const char           *message,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_request_async        (PipecomClient        *self,
                                                    const char           *message,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
char          *pipecom_client_request_finish       (PipecomClient        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
GBytes        *pipecom_client_request_bytes        (PipecomClient        *self,
                                                    GBytes               *message,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_request_bytes_async  (PipecomClient        *self,
                                                    GBytes               *message,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PIPECOM_AVAILABLE_IN_ALL
GBytes        *pipecom_client_request_bytes_finish (PipecomClient        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

PIPECOM_AVAILABLE_IN_ALL
void           pipecom_client_close                (PipecomClient        *self);

G_END_DECLS
