/* pipecom-pipe.h
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
#include "pipecom-message.h"

G_BEGIN_DECLS

/**
 * PipecomStopReason:
 * @PIPECOM_STOP_REASON_NONE: the pipe has not stopped.
 * @PIPECOM_STOP_REASON_DIE_CODE: a sender sent the #PipecomPipe:die-code.
 * @PIPECOM_STOP_REASON_MAX_MESSAGES: #PipecomPipe:max-messages messages were handled.
 * @PIPECOM_STOP_REASON_TIMEOUT: no message arrived for #PipecomPipe:timeout seconds.
 * @PIPECOM_STOP_REASON_REQUESTED: pipecom_pipe_stop() was called.
 * @PIPECOM_STOP_REASON_ERROR: the listener failed; pipecom_pipe_run() reports the error.
 *
 * Why a #PipecomPipe stopped listening.
 *
 * Since: 1.0
 */
typedef enum
{
  PIPECOM_STOP_REASON_NONE,
  PIPECOM_STOP_REASON_DIE_CODE,
  PIPECOM_STOP_REASON_MAX_MESSAGES,
  PIPECOM_STOP_REASON_TIMEOUT,
  PIPECOM_STOP_REASON_REQUESTED,
  PIPECOM_STOP_REASON_ERROR,
} PipecomStopReason;

/**
 * PipecomAccess:
 * @PIPECOM_ACCESS_PRIVATE: only the user running the listener can send
 *   (the default).
 * @PIPECOM_ACCESS_GROUP: the members of the pipe's group can send too. The
 *   group is the one the FIFO gets when it is created: the listener's
 *   effective group, or the directory's group if the directory has the
 *   set-group-ID bit.
 * @PIPECOM_ACCESS_EVERYONE: every local user can send.
 *
 * Who may send to a #PipecomPipe; see #PipecomPipe:access.
 *
 * Sharing has risks: every allowed user can send any message (refuse the
 * users you do not trust with #PipecomPipe:allowed-users or
 * #PipecomPipe::authorize; pipecom_message_get_credentials() tells who sent
 * a message), every allowed user can fill the listener with
 * messages and its channel directory with files, and the pipe's name is
 * only as trustworthy as its directory. Only the listener reads messages
 * and only the sender reads its replies. See SECURITY.md.
 *
 * The #PipecomPipe:die-code of a shared pipe stops it only when the
 * listener's own user sends it (on Unix, the owner of the sender's channel
 * FIFO, which the kernel vouches for): from any other user, root included,
 * it is refused with %PIPECOM_ERROR_PERMISSION_DENIED, not handed to
 * handlers, and the pipe goes on serving. Set the die code to %NULL to
 * stop the pipe with pipecom_pipe_stop() or a signal only.
 *
 * A pipe shared with its group in a set-group-ID directory gets the
 * directory's group: pipecom_pipe_listen() fails with
 * %PIPECOM_ERROR_PERMISSION_DENIED unless the listener is a member of it
 * (it could not open its senders' channels) or runs as root.
 *
 * Since: 1.0
 */
typedef enum
{
  PIPECOM_ACCESS_PRIVATE,
  PIPECOM_ACCESS_GROUP,
  PIPECOM_ACCESS_EVERYONE,
} PipecomAccess;

/**
 * PIPECOM_DEFAULT_DIE_CODE:
 *
 * The default value of #PipecomPipe:die-code.
 *
 * Since: 1.0
 */
#define PIPECOM_DEFAULT_DIE_CODE "PIPECOM_DIE"

/**
 * PIPECOM_DEFAULT_MAX_MESSAGE_SIZE:
 *
 * The default value of #PipecomPipe:max-message-size: 64 MiB.
 *
 * Since: 1.0
 */
#define PIPECOM_DEFAULT_MAX_MESSAGE_SIZE (64u * 1024u * 1024u)

/**
 * PIPECOM_TYPE_PIPE:
 *
 * The #GType of #PipecomPipe.
 *
 * Since: 1.0
 */
#define PIPECOM_TYPE_PIPE (pipecom_pipe_get_type ())

PIPECOM_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PipecomPipe, pipecom_pipe, PIPECOM, PIPE, GObject)

PIPECOM_AVAILABLE_IN_ALL
PipecomPipe       *pipecom_pipe_new                    (const char   *name);
PIPECOM_AVAILABLE_IN_ALL
const char        *pipecom_pipe_get_name               (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
const char        *pipecom_pipe_get_path               (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
guint              pipecom_pipe_get_timeout            (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_timeout            (PipecomPipe  *self,
                                                        guint         timeout);
PIPECOM_AVAILABLE_IN_ALL
guint              pipecom_pipe_get_max_messages       (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_max_messages       (PipecomPipe  *self,
                                                        guint         max_messages);
PIPECOM_AVAILABLE_IN_ALL
const char        *pipecom_pipe_get_die_code           (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_die_code           (PipecomPipe  *self,
                                                        const char   *die_code);
PIPECOM_AVAILABLE_IN_ALL
const char        *pipecom_pipe_get_response_pipe_name (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_response_pipe_name (PipecomPipe  *self,
                                                        const char   *response_pipe_name);
PIPECOM_AVAILABLE_IN_ALL
guint              pipecom_pipe_get_buffer_size        (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_buffer_size        (PipecomPipe  *self,
                                                        guint         buffer_size);
PIPECOM_AVAILABLE_IN_ALL
guint              pipecom_pipe_get_max_message_size   (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_max_message_size   (PipecomPipe  *self,
                                                        guint         max_message_size);
PIPECOM_AVAILABLE_IN_ALL
guint64            pipecom_pipe_get_memory_budget      (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_memory_budget      (PipecomPipe  *self,
                                                        guint64       memory_budget);
PIPECOM_AVAILABLE_IN_ALL
guint              pipecom_pipe_get_idle_timeout       (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_idle_timeout       (PipecomPipe  *self,
                                                        guint         idle_timeout);
PIPECOM_AVAILABLE_IN_ALL
PipecomAccess      pipecom_pipe_get_access             (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_access             (PipecomPipe  *self,
                                                        PipecomAccess access);
PIPECOM_AVAILABLE_IN_ALL
const char * const *pipecom_pipe_get_allowed_users     (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_set_allowed_users      (PipecomPipe        *self,
                                                        const char * const *allowed_users);
PIPECOM_AVAILABLE_IN_ALL
gboolean           pipecom_pipe_get_threaded           (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
gboolean           pipecom_pipe_get_listening          (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
guint              pipecom_pipe_get_message_count      (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
PipecomStopReason  pipecom_pipe_get_stop_reason        (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
gboolean           pipecom_pipe_listen                 (PipecomPipe  *self,
                                                        GError      **error);
PIPECOM_AVAILABLE_IN_ALL
void               pipecom_pipe_stop                   (PipecomPipe  *self);
PIPECOM_AVAILABLE_IN_ALL
gboolean           pipecom_pipe_run                    (PipecomPipe  *self,
                                                        GError      **error);

G_END_DECLS
