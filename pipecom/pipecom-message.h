/* pipecom-message.h
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
 * PipecomSenderFlags:
 * @PIPECOM_SENDER_NONE: nothing about the sender is verified.
 * @PIPECOM_SENDER_USER: the sender's user is verified by the system: its
 *   uid on Unix (the owner of its channel), its SID on Windows.
 * @PIPECOM_SENDER_PROCESS: the sender's process id is verified.
 *
 * What the listener verified about the sender of a #PipecomMessage; see
 * pipecom_message_get_sender_verified(). A field whose flag is not set is
 * absent: PipeCom never fills it from the sender's own word.
 *
 * Since: 1.1
 */
typedef enum /*< flags >*/
{
  PIPECOM_SENDER_NONE    = 0,
  PIPECOM_SENDER_USER    = 1 << 0,
  PIPECOM_SENDER_PROCESS = 1 << 1,
} PipecomSenderFlags;

/**
 * PIPECOM_TYPE_MESSAGE:
 *
 * The #GType of #PipecomMessage.
 *
 * Since: 1.0
 */
#define PIPECOM_TYPE_MESSAGE (pipecom_message_get_type ())

PIPECOM_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PipecomMessage, pipecom_message, PIPECOM, MESSAGE, GObject)

PIPECOM_AVAILABLE_IN_ALL
GBytes     *pipecom_message_get_bytes   (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
const char *pipecom_message_get_text    (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
gsize       pipecom_message_get_size    (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
gboolean    pipecom_message_get_replied (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
GCredentials       *pipecom_message_get_credentials     (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
PipecomSenderFlags  pipecom_message_get_sender_verified (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
const char         *pipecom_message_get_sender_sid      (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
const char         *pipecom_credentials_get_sid         (GCredentials   *credentials);
PIPECOM_AVAILABLE_IN_ALL
void        pipecom_message_hold        (PipecomMessage *self);
PIPECOM_AVAILABLE_IN_ALL
void        pipecom_message_reply       (PipecomMessage *self,
                                         const char     *reply);
PIPECOM_AVAILABLE_IN_ALL
void        pipecom_message_reply_bytes (PipecomMessage *self,
                                         GBytes         *reply);
PIPECOM_AVAILABLE_IN_ALL
void        pipecom_message_reply_error (PipecomMessage *self,
                                         const GError   *error);

G_END_DECLS
