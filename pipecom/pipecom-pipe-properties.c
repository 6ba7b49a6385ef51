/* pipecom-pipe-properties.c: the accessors of PipecomPipe's properties
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-listener-private.h"

/* Every property a listener reads is under self->lock: the setters and
 * getters may run in any thread while the serving thread reads them
 * (see pipecom-listener-private.h). */

static gboolean
set_string (char       **str,
            const char  *value)
{
  if (g_strcmp0 (*str, value) == 0)
    return FALSE;
  g_free (*str);
  *str = g_strdup (value);
  return TRUE;
}

/**
 * pipecom_pipe_get_name:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:name.
 *
 * Returns: the name
 *
 * Since: 1.0
 */
const char *
pipecom_pipe_get_name (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), NULL);

  return self->name;
}

/**
 * pipecom_pipe_get_path:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:path, the FIFO's path.
 *
 * Returns: (nullable): the path, or %NULL before the pipe listened
 *
 * Since: 1.0
 */
const char *
pipecom_pipe_get_path (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), NULL);

  return self->path;
}

/**
 * pipecom_pipe_get_timeout:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:timeout.
 *
 * Returns: the inactivity timeout in seconds (0: none)
 *
 * Since: 1.0
 */
guint
pipecom_pipe_get_timeout (PipecomPipe *self)
{
  guint timeout;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  g_mutex_lock (&self->lock);
  timeout = self->timeout;
  g_mutex_unlock (&self->lock);

  return timeout;
}

/**
 * pipecom_pipe_set_timeout:
 * @self: a #PipecomPipe
 * @timeout: seconds without a message before the pipe stops, 0 for never
 *
 * Sets #PipecomPipe:timeout. May be called from any thread; takes effect
 * when the pipe next listens.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_timeout (PipecomPipe *self,
                          guint        timeout)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = self->timeout != timeout;
  self->timeout = timeout;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_TIMEOUT]);
}

/**
 * pipecom_pipe_get_max_messages:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:max-messages.
 *
 * Returns: the maximum number of messages (0: no limit)
 *
 * Since: 1.0
 */
guint
pipecom_pipe_get_max_messages (PipecomPipe *self)
{
  guint max_messages;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  g_mutex_lock (&self->lock);
  max_messages = self->max_messages;
  g_mutex_unlock (&self->lock);

  return max_messages;
}

/**
 * pipecom_pipe_set_max_messages:
 * @self: a #PipecomPipe
 * @max_messages: the number of messages after which the pipe stops, 0 for no limit
 *
 * Sets #PipecomPipe:max-messages. May be called from any thread; while the
 * pipe listens, the new limit applies from the next message.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_max_messages (PipecomPipe *self,
                               guint        max_messages)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = self->max_messages != max_messages;
  self->max_messages = max_messages;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_MAX_MESSAGES]);
}

/**
 * pipecom_pipe_get_die_code:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:die-code. The string belongs to the pipe and is valid
 * until the property is next set; to read it in a thread other than the one
 * that sets it, use g_object_get(), which copies it.
 *
 * Returns: (nullable): the die code, or %NULL if disabled
 *
 * Since: 1.0
 */
const char *
pipecom_pipe_get_die_code (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), NULL);

  return self->die_code;
}

/**
 * pipecom_pipe_set_die_code:
 * @self: a #PipecomPipe
 * @die_code: (nullable): the message that stops the pipe, or %NULL to disable
 *
 * Sets #PipecomPipe:die-code. May be called from any thread; while the pipe
 * listens, the new die code applies from the next message.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_die_code (PipecomPipe *self,
                           const char  *die_code)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = set_string (&self->die_code, die_code);
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_DIE_CODE]);
}

/**
 * pipecom_pipe_get_allowed_users:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:allowed-users. The array belongs to the pipe and is
 * valid until the property is next set; to read it in a thread other than
 * the one that sets it, use g_object_get(), which copies it.
 *
 * Returns: (nullable) (array zero-terminated=1) (transfer none): the users
 *   allowed besides the listener's own, or %NULL for everyone
 *
 * Since: 1.1
 */
const char * const *
pipecom_pipe_get_allowed_users (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), NULL);

  return (const char * const *) self->allowed_users;
}

/**
 * pipecom_pipe_set_allowed_users:
 * @self: a #PipecomPipe
 * @allowed_users: (nullable) (array zero-terminated=1): user names or
 *   decimal uids, or %NULL for everyone
 *
 * Sets #PipecomPipe:allowed-users. May be called from any thread; it
 * applies from the next pipecom_pipe_listen().
 *
 * Since: 1.1
 */
void
pipecom_pipe_set_allowed_users (PipecomPipe        *self,
                                const char * const *allowed_users)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = !((self->allowed_users == NULL && allowed_users == NULL) ||
              (self->allowed_users != NULL && allowed_users != NULL &&
               g_strv_equal ((const char * const *) self->allowed_users, allowed_users)));
  if (changed)
    {
      g_strfreev (self->allowed_users);
      self->allowed_users = g_strdupv ((char **) allowed_users);
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_ALLOWED_USERS]);
}

/**
 * pipecom_pipe_get_response_pipe_name:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:response-pipe-name. The string belongs to the pipe and
 * is valid until the property is next set; to read it in a thread other
 * than the one that sets it, use g_object_get(), which copies it.
 *
 * Returns: (nullable): the response pipe's name, or %NULL
 *
 * Since: 1.0
 */
const char *
pipecom_pipe_get_response_pipe_name (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), NULL);

  return self->response_pipe_name;
}

/**
 * pipecom_pipe_set_response_pipe_name:
 * @self: a #PipecomPipe
 * @response_pipe_name: (nullable): where to forward replies, or %NULL
 *
 * Sets #PipecomPipe:response-pipe-name. May be called from any thread;
 * while the pipe listens, replies are forwarded to the new pipe from the
 * next reply.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_response_pipe_name (PipecomPipe *self,
                                     const char  *response_pipe_name)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = set_string (&self->response_pipe_name, response_pipe_name);
  g_atomic_int_set (&self->has_response_pipe, self->response_pipe_name != NULL);
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_RESPONSE_PIPE_NAME]);
}

/**
 * pipecom_pipe_get_buffer_size:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:buffer-size.
 *
 * Returns: the buffer size in bytes
 *
 * Since: 1.0
 */
guint
pipecom_pipe_get_buffer_size (PipecomPipe *self)
{
  guint buffer_size;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  g_mutex_lock (&self->lock);
  buffer_size = self->buffer_size;
  g_mutex_unlock (&self->lock);

  return buffer_size;
}

/**
 * pipecom_pipe_set_buffer_size:
 * @self: a #PipecomPipe
 * @buffer_size: the buffer size in bytes (at least 4096)
 *
 * Sets #PipecomPipe:buffer-size. May be called from any thread; applies to
 * the connections accepted after the call.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_buffer_size (PipecomPipe *self,
                              guint        buffer_size)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  buffer_size = CLAMP (buffer_size, 4096, 64 * 1024 * 1024);
  g_mutex_lock (&self->lock);
  changed = self->buffer_size != buffer_size;
  self->buffer_size = buffer_size;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_BUFFER_SIZE]);
}

/**
 * pipecom_pipe_get_max_message_size:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:max-message-size.
 *
 * Returns: the largest accepted message in bytes (0: no limit)
 *
 * Since: 1.0
 */
guint
pipecom_pipe_get_max_message_size (PipecomPipe *self)
{
  guint max_message_size;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  g_mutex_lock (&self->lock);
  max_message_size = self->max_message_size;
  g_mutex_unlock (&self->lock);

  return max_message_size;
}

/**
 * pipecom_pipe_set_max_message_size:
 * @self: a #PipecomPipe
 * @max_message_size: the largest accepted message in bytes, 0 for no limit
 *
 * Sets #PipecomPipe:max-message-size. May be called from any thread;
 * applies to the connections accepted after the call.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_max_message_size (PipecomPipe *self,
                                   guint        max_message_size)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = self->max_message_size != max_message_size;
  self->max_message_size = max_message_size;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * pipecom_pipe_get_memory_budget:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:memory-budget.
 *
 * Returns: the memory budget in bytes (0: no limit)
 *
 * Since: 1.1
 */
guint64
pipecom_pipe_get_memory_budget (PipecomPipe *self)
{
  guint64 memory_budget;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  g_mutex_lock (&self->lock);
  memory_budget = self->memory_budget;
  g_mutex_unlock (&self->lock);

  return memory_budget;
}

/**
 * pipecom_pipe_set_memory_budget:
 * @self: a #PipecomPipe
 * @memory_budget: bytes all connections may hold for partial messages and
 *   unread replies, 0 for no limit
 *
 * Sets #PipecomPipe:memory-budget. May be called from any thread; takes
 * effect when the pipe next listens.
 *
 * Since: 1.1
 */
void
pipecom_pipe_set_memory_budget (PipecomPipe *self,
                                guint64      memory_budget)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  changed = self->memory_budget != memory_budget;
  self->memory_budget = memory_budget;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_MEMORY_BUDGET]);
}

/**
 * pipecom_pipe_get_idle_timeout:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:idle-timeout.
 *
 * Returns: the idle timeout in seconds (0: never)
 *
 * Since: 1.1
 */
guint
pipecom_pipe_get_idle_timeout (PipecomPipe *self)
{
  guint idle_timeout;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  g_mutex_lock (&self->lock);
  idle_timeout = self->idle_timeout;
  g_mutex_unlock (&self->lock);

  return idle_timeout;
}

/**
 * pipecom_pipe_set_idle_timeout:
 * @self: a #PipecomPipe
 * @idle_timeout: seconds after which an idle persistent connection is
 *   closed, 0 for never
 *
 * Sets #PipecomPipe:idle-timeout. May be called from any thread; takes
 * effect when the pipe next listens.
 *
 * Since: 1.1
 */
void
pipecom_pipe_set_idle_timeout (PipecomPipe *self,
                               guint        idle_timeout)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  idle_timeout = MIN (idle_timeout, G_MAXUINT / 1000);
  g_mutex_lock (&self->lock);
  changed = self->idle_timeout != idle_timeout;
  self->idle_timeout = idle_timeout;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_IDLE_TIMEOUT]);
}

/* For tests. */
guint64
_pipecom_pipe_get_memory_peak (PipecomPipe *self)
{
  guint64 peak = 0;

  g_mutex_lock (&self->lock);
  if (self->budget != NULL)
    peak = _pipecom_budget_get_peak (self->budget);
  g_mutex_unlock (&self->lock);
  return peak;
}

/**
 * pipecom_pipe_get_access:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:access.
 *
 * Returns: who may send to the pipe
 *
 * Since: 1.0
 */
PipecomAccess
pipecom_pipe_get_access (PipecomPipe *self)
{
  PipecomAccess access;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), PIPECOM_ACCESS_PRIVATE);

  g_mutex_lock (&self->lock);
  access = self->access;
  g_mutex_unlock (&self->lock);

  return access;
}

/**
 * pipecom_pipe_set_access:
 * @self: a #PipecomPipe
 * @access: who may send to the pipe
 *
 * Sets #PipecomPipe:access. Read its risks first. May be called from any
 * thread; takes effect when the pipe next listens.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_access (PipecomPipe   *self,
                         PipecomAccess  access)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_PIPE (self));
  g_return_if_fail (access <= PIPECOM_ACCESS_EVERYONE);

  g_mutex_lock (&self->lock);
  changed = self->access != access;
  self->access = access;
  g_mutex_unlock (&self->lock);
  if (!changed)
    return;
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_ACCESS]);
}

/**
 * pipecom_pipe_get_threaded:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:threaded.
 *
 * Returns: %TRUE if the pipe serves in a thread of its own
 *
 * Since: 1.0
 */
gboolean
pipecom_pipe_get_threaded (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), FALSE);

  return self->threaded;
}

/**
 * pipecom_pipe_get_listening:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:listening. May be called from any thread.
 *
 * Returns: %TRUE if the pipe is listening
 *
 * Since: 1.0
 */
gboolean
pipecom_pipe_get_listening (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), FALSE);

  return _pipecom_listener_is_listening (self);
}

/**
 * pipecom_pipe_get_message_count:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:message-count. May be called from any thread.
 *
 * Returns: the number of messages handled since the pipe started listening
 *
 * Since: 1.0
 */
guint
pipecom_pipe_get_message_count (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return g_atomic_int_get (&self->message_count);
}

/**
 * pipecom_pipe_get_stop_reason:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:stop-reason. May be called from any thread.
 *
 * Returns: why the pipe last stopped
 *
 * Since: 1.0
 */
PipecomStopReason
pipecom_pipe_get_stop_reason (PipecomPipe *self)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), PIPECOM_STOP_REASON_NONE);

  return g_atomic_int_get (&self->stop_reason);
}

