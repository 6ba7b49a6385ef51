/* pipecom-listener-dispatch.c: handing messages to the handlers, and their answers back
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "pipecom-listener-private.h"

void
_pipecom_listener_send_error (PipecomConnection *conn,
                              guint32            id,
                              PipecomError       code,
                              const char        *text)
{
  g_autoptr(GBytes) payload = _pipecom_error_payload_new (code, text);

  _pipecom_connection_send (conn, PIPECOM_FRAME_ERROR, id, payload);
}

/* ------------------------------------------------------------------ */
/* Emission of ::message-received                                      */

/* The accumulator of ::message-received: the first handler that returns
 * a reply gives it. */
gboolean
_pipecom_listener_first_reply_accumulator (GSignalInvocationHint *hint,
                                           GValue                *return_accu,
                                           const GValue          *handler_return,
                                           gpointer               data)
{
  const char *reply = g_value_get_string (handler_return);

  if (reply == NULL)
    return TRUE;  /* keep asking the next handler */

  g_value_copy (handler_return, return_accu);
  return FALSE;
}

/* The marshallers of ::message-received (STRING:OBJECT): GLib's generic
 * one, used when none is given, goes through libffi and GValues for every
 * message. */
typedef char *(*MessageReceivedFunc) (gpointer data1,
                                      gpointer message,
                                      gpointer data2);

void
_pipecom_listener_marshal_STRING__OBJECT (GClosure     *closure,
                                          GValue       *return_value,
                                          guint         n_param_values,
                                          const GValue *param_values,
                                          gpointer      invocation_hint,
                                          gpointer      marshal_data)
{
  GCClosure *cc = (GCClosure *) closure;
  MessageReceivedFunc callback;
  gpointer data1, data2;
  char *ret;

  g_return_if_fail (return_value != NULL);
  g_return_if_fail (n_param_values == 2);

  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = g_value_peek_pointer (param_values + 0);
    }
  else
    {
      data1 = g_value_peek_pointer (param_values + 0);
      data2 = closure->data;
    }
  callback = (MessageReceivedFunc) (marshal_data ? marshal_data : cc->callback);

  ret = callback (data1, g_value_get_object (param_values + 1), data2);
  g_value_take_string (return_value, ret);
}

void
_pipecom_listener_marshal_STRING__OBJECTv (GClosure *closure,
                                           GValue   *return_value,
                                           gpointer  instance,
                                           va_list   args,
                                           gpointer  marshal_data,
                                           int       n_params,
                                           GType    *param_types)
{
  GCClosure *cc = (GCClosure *) closure;
  MessageReceivedFunc callback;
  gpointer data1, data2, message;
  va_list args_copy;
  char *ret;

  g_return_if_fail (return_value != NULL);

  /* No reference taken for the handler, unlike GLib's generic
   * marshallers: _pipecom_listener_handle_message() holds one for the whole emission. */
  va_copy (args_copy, args);
  message = va_arg (args_copy, gpointer);
  va_end (args_copy);

  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = instance;
    }
  else
    {
      data1 = instance;
      data2 = closure->data;
    }
  callback = (MessageReceivedFunc) (marshal_data ? marshal_data : cc->callback);

  ret = callback (data1, message, data2);
  g_value_take_string (return_value, ret);
}

/* ------------------------------------------------------------------ */
/* Serving                                                             */

/* For pipecom_pipe_run(), which acquired @context, the serving context:
 * iterates it, blocking, while @self listens. These are the steps of
 * g_main_context_iteration (@context, TRUE) (see GLib's "Customizing the
 * main loop iteration"), less what it does around them on every
 * iteration, once per message here: looking up the thread, and acquiring
 * and releasing the context. A handler may still iterate @context itself.
 *
 * Meanwhile, self->serve_thread tells _pipecom_listener_handle_message()
 * the thread it runs in, the only one that dispatches @context. Listening
 * again (in any thread, once the pipe stopped) clears it; then it is
 * looked up again per message. */
void
_pipecom_listener_serve (PipecomPipe  *self,
                         GMainContext *context)
{
  GPollFD stack_fds[8];
  GPollFD *fds = stack_fds;
  gint allocated = G_N_ELEMENTS (stack_fds);

  g_atomic_pointer_set (&self->serve_thread, g_thread_self ());

  while (_pipecom_listener_is_listening (self))
    {
      GPollFunc poll_func;
      gint max_priority, timeout, nfds;

      g_main_context_prepare (context, &max_priority);
      while ((nfds = g_main_context_query (context, max_priority, &timeout,
                                           fds, allocated)) > allocated)
        {
          if (fds != stack_fds)
            g_free (fds);
          allocated = nfds;
          fds = g_new (GPollFD, allocated);
        }

      poll_func = g_main_context_get_poll_func (context);
      if (nfds > 0 || timeout != 0)
        {
          int ret = poll_func (fds, nfds, timeout);
          int errsv = errno;

          if (ret < 0 && errsv != EINTR)
            g_warning ("poll(2) failed due to: %s.", g_strerror (errsv));
        }

      g_main_context_check (context, max_priority, fds, nfds);
      g_main_context_dispatch (context);
    }

  g_atomic_pointer_set (&self->serve_thread, NULL);
  if (fds != stack_fds)
    g_free (fds);
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

void
_pipecom_listener_reset_inactivity (PipecomPipe *self)
{
  if (self->inactivity_source != NULL)
    g_source_set_ready_time (self->inactivity_source,
                             g_get_monotonic_time () + (gint64) self->serving_timeout * G_USEC_PER_SEC);
}

/* Whether the @size bytes at @data are the NUL-terminated @code. Compared
 * byte by byte rather than measuring @code first: every message is
 * compared, and one that is not the die code mostly differs from its
 * first byte, so this reads a byte or two of @code instead of all of it. */
static gboolean
equals_code (const char *code,
             const char *data,
             gsize       size)
{
  for (gsize i = 0; i < size; i++)
    {
      if (code[i] == '\0' || code[i] != data[i])
        return FALSE;
    }

  return code[size] == '\0';
}

/* Whether @payload is the die code; sets *@max_messages to
 * PipecomPipe:max-messages, read under the same lock. */
static gboolean
is_die_code (PipecomPipe *self,
             GBytes      *payload,
             guint       *max_messages)
{
  gboolean ret = FALSE;
  gsize size;
  const char *data = g_bytes_get_data (payload, &size);

  g_mutex_lock (&self->lock);
  if (self->die_code != NULL && equals_code (self->die_code, data, size))
    ret = TRUE;
  *max_messages = self->max_messages;
  g_mutex_unlock (&self->lock);

  return ret;
}

/* Whether the sender on @conn may stop the pipe with the die code: on a
 * pipe shared with a group or with everyone, only the listener's own user
 * may (other senders are not to stop a service they may only use). */
static gboolean
may_stop (PipecomPipe       *self,
          PipecomConnection *conn)
{
  if (self->serving_access != PIPECOM_ACCESS_PRIVATE)
    return _pipecom_transport_peer_is_self (conn);
  /* Private: every sender is the listener's user (on Windows, only
   * private pipes exist). */
  return TRUE;
}

static void deliver_now (PipecomPipe       *self,
                         PipecomConnection *conn,
                         guint              session,
                         guint32            id,
                         guint8             type,
                         GBytes            *payload);

void
_pipecom_listener_handle_message (PipecomPipe       *self,
                                  PipecomConnection *conn,
                                  guint32            id,
                                  GBytes            *payload)
{
  g_autoptr(PipecomMessage) message = NULL;
  g_autofree char *reply = NULL;
  GThread *previous_thread, *thread;
  PipecomListenerState state;
  guint max_messages;
  guint count;
  guint session;

  state = _pipecom_listener_get_state (self);
  if (state != PIPECOM_LISTENER_LISTENING && state != PIPECOM_LISTENER_DRAINING)
    {
      gboolean limited = state == PIPECOM_LISTENER_LIMITED || state == PIPECOM_LISTENER_CLOSING;
      g_autofree char *text =
        g_strdup_printf ("Pipe “%s” is stopping (%s) and handles no more messages",
                         self->name, limited ? "max-messages reached" : "stop requested");
      _pipecom_listener_send_error (conn, id, PIPECOM_ERROR_CLOSED, text);
      if (_pipecom_listener_is_listed_oneshot (conn))
        _pipecom_connection_close_when_flushed (conn);
      return;
    }

  if (is_die_code (self, payload, &max_messages))
    {
      gboolean oneshot = _pipecom_listener_is_listed_oneshot (conn);
      gboolean allowed = may_stop (self, conn);

      if (!allowed)
        {
          g_autofree char *text =
            g_strdup_printf ("Pipe “%s” is shared: only its own user may stop it with "
                             "the die code", self->name);

          /* Not a message for the handlers either: refused, and served on. */
          g_debug ("Pipe “%s”: refused the die code from user %" G_GINT64_FORMAT,
                   self->name, _pipecom_connection_get_peer_uid (conn));
          _pipecom_listener_send_error (conn, id, PIPECOM_ERROR_PERMISSION_DENIED, text);
        }
      else
        _pipecom_connection_send_data (conn, PIPECOM_FRAME_ACK, id, NULL, 0);

      if (oneshot)
        _pipecom_connection_close_when_flushed (conn);
      if (allowed)
        _pipecom_listener_begin_stop (self, PIPECOM_STOP_REASON_DIE_CODE);
      return;
    }

  count = g_atomic_int_add (&self->message_count, 1) + 1;
  _pipecom_listener_reset_inactivity (self);
  if (max_messages > 0 && count >= max_messages)
    _pipecom_listener_set_state (self, state == PIPECOM_LISTENER_DRAINING ?
                                       PIPECOM_LISTENER_CLOSING : PIPECOM_LISTENER_LIMITED);

  session = self->session;
  message = _pipecom_message_new (self, conn, session, id, payload,
                                  g_steal_pointer (&self->spare_message));
  self->pending++;
  _pipecom_connection_add_unanswered (conn, 1);  /* not idle until answered */

  /* A plain cast: G_OBJECT() checks the type, on every message. */
  g_object_notify_by_pspec ((GObject *) self, _pipecom_pipe_properties[PROP_MESSAGE_COUNT]);

  /* Answers given from here on go out at once (_pipecom_pipe_deliver_reply()). */
  thread = g_atomic_pointer_get (&self->serve_thread);
  if (thread == NULL)
    thread = g_thread_self ();
  previous_thread = g_atomic_pointer_exchange (&self->handling_thread, thread);
  g_signal_emit (self, _pipecom_pipe_signals[MESSAGE_RECEIVED], 0, message, &reply);

  if (reply != NULL && !pipecom_message_get_replied (message))
    {
      /* What pipecom_message_reply() would do through
       * _pipecom_pipe_deliver_reply(), which would find this thread
       * handling the message: sent at once. The payload is the returned
       * string itself, not a copy of it. */
      if (_pipecom_message_take_reply (message))
        {
          gsize len = strlen (reply);
          g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&reply), len);

          deliver_now (self, conn, session, id, PIPECOM_FRAME_REPLY, bytes);
        }
    }
  else if (!_pipecom_message_is_kept (message) && _pipecom_message_take_answer (message))
    {
      /* What _pipecom_message_acknowledge() would do through
       * _pipecom_pipe_deliver_reply(), which would find this thread
       * handling the message: sent at once. */
      deliver_now (self, conn, session, id, PIPECOM_FRAME_ACK, NULL);
    }
  g_atomic_pointer_set (&self->handling_thread, previous_thread);

  /* A message kept for later is acknowledged, if nobody answered it, when
   * its last reference goes; one nobody kept is reused. */
  _pipecom_message_release (g_steal_pointer (&message), &self->spare_message);

  if (_pipecom_listener_get_state (self) == PIPECOM_LISTENER_LIMITED)
    _pipecom_listener_begin_stop (self, PIPECOM_STOP_REASON_MAX_MESSAGES);
}

/* Handles the one-shot message of @len bytes at @data, which came inline
 * with its announcement, without allocating and freeing a copy of it each
 * time: the payload is made in self->spare_inline, and given back to it
 * when nobody kept a reference (g_bytes_unref_to_data() then returns the
 * same buffer), as a connection does for its small frames
 * (deliver_small() in pipecom-connection-read.c). When a handler kept one
 * (to answer later), g_bytes_unref_to_data() returns a copy, freed here,
 * and the pipe goes back to a new #GBytes per payload: for handlers that
 * keep them, the spare buffer would only add that copy. An empty payload
 * is made as before, without data. */
void
_pipecom_listener_handle_inline (PipecomPipe       *self,
                                 PipecomConnection *conn,
                                 const guint8      *data,
                                 gsize              len)
{
  g_autoptr(GBytes) bytes = NULL;
  guint8 *buf;
  GBytes *payload;
  gpointer back;
  gsize size;

  /* A record is at most PIPECOM_ANNOUNCE_MAX bytes, whatever the sender
   * put inline. */
  if (self->inline_kept || len == 0 || len > PIPECOM_ANNOUNCE_MAX)
    {
      bytes = g_bytes_new (data, len);
      _pipecom_listener_handle_message (self, conn, 1, bytes);
      return;
    }

  buf = g_steal_pointer (&self->spare_inline);
  if (buf == NULL)
    buf = g_malloc (PIPECOM_ANNOUNCE_MAX);
  memcpy (buf, data, len);
  payload = g_bytes_new_take (buf, len);

  _pipecom_listener_handle_message (self, conn, 1, payload);

  back = g_bytes_unref_to_data (payload, &size);
  if (back != buf)
    self->inline_kept = TRUE;
  /* A handler may have stopped the pipe, and listened again, meanwhile. */
  if (back == buf && self->spare_inline == NULL)
    self->spare_inline = back;
  else
    g_free (back);
}

static void
forward_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(PipecomPipe) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pipecom_client_send_bytes_finish (PIPECOM_CLIENT (object), result, &error))
    {
      if (g_signal_has_handler_pending (self, _pipecom_pipe_signals[RESPONSE_ERROR], 0, FALSE))
        g_signal_emit (self, _pipecom_pipe_signals[RESPONSE_ERROR], 0, error);
      else
        g_warning ("Pipe “%s” could not forward a reply to its response pipe “%s”: %s",
                   self->name, pipecom_client_get_pipe_name (PIPECOM_CLIENT (object)),
                   error->message);
    }

  if (self->forwards > 0)
    self->forwards--;
  _pipecom_listener_check_stop_done (self);
}

static void
forward_reply (PipecomPipe *self,
               GBytes      *reply)
{
  g_autofree char *target = NULL;

  /* Most pipes forward nothing: no lock, and no copy of the name, for them. */
  if (!g_atomic_int_get (&self->has_response_pipe))
    return;

  g_mutex_lock (&self->lock);
  target = g_strdup (self->response_pipe_name);
  g_mutex_unlock (&self->lock);

  if (target == NULL)
    return;

  if (self->response_client == NULL ||
      g_strcmp0 (pipecom_client_get_pipe_name (self->response_client), target) != 0)
    {
      g_clear_object (&self->response_client);
      self->response_client = pipecom_client_new (target);
      pipecom_client_set_timeout (self->response_client, 10);
      pipecom_client_set_max_attempts (self->response_client, 5);
    }

  /* One connection carries all forwards, so they arrive in order. */
  self->forwards++;
  pipecom_client_send_bytes_async (self->response_client, reply, NULL,
                                   forward_done_cb, g_object_ref (self));
}

typedef struct
{
  GWeakRef           pipe;   /* weak: a queued answer must not keep a stopped pipe alive */
  PipecomConnection *conn;
  guint              session;
  guint32            id;
  guint8             type;
  GBytes            *payload;
} Delivery;

static void
delivery_free (gpointer data)
{
  Delivery *delivery = data;

  g_weak_ref_clear (&delivery->pipe);
  _pipecom_connection_unref (delivery->conn);
  g_clear_pointer (&delivery->payload, g_bytes_unref);
  g_slice_free (Delivery, delivery);
}

static void
deliver_now (PipecomPipe       *self,
             PipecomConnection *conn,
             guint              session,
             guint32            id,
             guint8             type,
             GBytes            *payload)
{
  if (session != self->session || self->context == NULL)
    return;  /* an answer for an earlier listening session */

  _pipecom_connection_send (conn, type, id, payload);
  _pipecom_connection_add_unanswered (conn, -1);
  if (_pipecom_listener_is_listed_oneshot (conn))
    _pipecom_connection_close_when_flushed (conn);

  if (type == PIPECOM_FRAME_REPLY)
    forward_reply (self, payload);

  if (self->pending > 0)
    self->pending--;
  _pipecom_listener_check_stop_done (self);
}

static gboolean
delivery_cb (gpointer data)
{
  Delivery *delivery = data;
  g_autoptr(PipecomPipe) self = g_weak_ref_get (&delivery->pipe);

  if (self != NULL)
    deliver_now (self, delivery->conn, delivery->session, delivery->id,
                 delivery->type, delivery->payload);
  return G_SOURCE_REMOVE;
}

void
_pipecom_pipe_deliver_reply (PipecomPipe       *self,
                             PipecomConnection *conn,
                             guint              session,
                             guint32            id,
                             guint8             type,
                             GBytes            *payload)
{
  g_autoptr(GMainContext) context = NULL;
  Delivery *delivery;

  /* Answered by a handler, during its emission: this thread serves the
   * pipe, no need to look at the context. */
  if (g_atomic_pointer_get (&self->handling_thread) == g_thread_self ())
    {
      deliver_now (self, conn, session, id, type, payload);
      return;
    }

  /* The serving thread may be clearing the context as it stops. */
  g_mutex_lock (&self->lock);
  if (self->context != NULL)
    context = g_main_context_ref (self->context);
  g_mutex_unlock (&self->lock);

  if (context != NULL && g_main_context_is_owner (context))
    {
      deliver_now (self, conn, session, id, type, payload);
      return;
    }

  /* After the pipe stopped there is nobody to answer to: the connection
   * is closed, and a stopped threaded pipe's context is never iterated. */
  if (context == NULL || !_pipecom_listener_is_listening (self))
    return;

  /* Answered from another thread: hand it to the serving context. */
  delivery = g_slice_new0 (Delivery);
  g_weak_ref_init (&delivery->pipe, self);
  delivery->conn = _pipecom_connection_ref (conn);
  delivery->session = session;
  delivery->id = id;
  delivery->type = type;
  delivery->payload = payload ? g_bytes_ref (payload) : NULL;
  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, delivery_cb, delivery, delivery_free);
}

