/* pipecom-listener.c: the listening engine: connections, stopping, the serving thread
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-listener-private.h"
#include "pipecom-registry-private.h"

/* ------------------------------------------------------------------ */
/* Connections                                                         */

/* self->connections holds a reference to each of its connections, and
 * lists them by their own links (_pipecom_connection_get_owner_link()): a
 * one-shot goes in and out of it for each message, without an allocation
 * or a hash. */
static void
list_connection (PipecomPipe       *self,
                 PipecomConnection *conn,
                 guint              flags)
{
  _pipecom_connection_set_owner_flags (conn, flags | CONN_LISTED);
  g_queue_push_tail_link (&self->connections, _pipecom_connection_get_owner_link (conn));
}

/* Takes @conn out of self->connections, if it is there, and returns
 * whether it was: the caller then has the reference it held. */
static gboolean
unlist_connection (PipecomPipe       *self,
                   PipecomConnection *conn)
{
  guint flags = _pipecom_connection_get_owner_flags (conn);

  if (!(flags & CONN_LISTED))
    return FALSE;
  g_queue_unlink (&self->connections, _pipecom_connection_get_owner_link (conn));
  _pipecom_connection_set_owner_flags (conn, flags & ~CONN_LISTED);
  return TRUE;
}

static void
remove_connection (PipecomPipe       *self,
                   PipecomConnection *conn)
{
  if (unlist_connection (self, conn))
    {
      _pipecom_connection_close (conn);
      _pipecom_connection_unref (conn);
    }
}

static void
pipe_frame_cb (PipecomConnection *conn,
               guint8             type,
               guint32            id,
               GBytes            *payload,
               gpointer           user_data)
{
  PipecomPipe *self = user_data;

  if (type != PIPECOM_FRAME_MESSAGE || id == 0)
    {
      g_debug ("Pipe “%s”: dropping a connection that sent a frame of type %u",
               self->name, type);
      remove_connection (self, conn);
      _pipecom_listener_check_stop_done (self);
      return;
    }

  _pipecom_listener_handle_message (self, conn, id, payload);
}

static void
pipe_oversize_cb (PipecomConnection *conn,
                  guint8             type,
                  guint32            id,
                  guint64            length,
                  gpointer           user_data)
{
  PipecomPipe *self = user_data;
  g_autofree char *text = NULL;
  guint max;

  g_mutex_lock (&self->lock);
  max = self->max_message_size;
  g_mutex_unlock (&self->lock);
  text = g_strdup_printf ("Message of %" G_GUINT64_FORMAT " bytes is larger than the %u bytes "
                          "pipe “%s” accepts", length, max, self->name);

  _pipecom_listener_send_error (conn, id, PIPECOM_ERROR_MESSAGE_TOO_LARGE, text);
}

static void
pipe_closed_cb (PipecomConnection *conn,
                const GError      *error,
                gpointer           user_data)
{
  PipecomPipe *self = user_data;

  if (error != NULL)
    g_debug ("Pipe “%s”: connection closed: %s", self->name, error->message);

  remove_connection (self, conn);
  _pipecom_listener_check_stop_done (self);
}

static const PipecomConnectionFuncs pipe_conn_funcs = {
  pipe_frame_cb,
  pipe_oversize_cb,
  pipe_closed_cb,
};

/* Whether the sender on @conn may send: #PipecomPipe:allowed-users, then
 * ::authorize (emitted only when a handler is connected, so that the
 * credentials cost nothing otherwise). A refused sender gets ERROR (id 0)
 * PERMISSION_DENIED instead of its HELLO, so its call fails at once and
 * nothing of it is handled, and is closed. */
static gboolean
sender_allowed (PipecomPipe       *self,
                PipecomConnection *conn)
{
  g_autoptr(GBytes) payload = NULL;
  g_autofree char *text = NULL;
  PipecomError code = PIPECOM_ERROR_PERMISSION_DENIED;

  if (self->serving_users != NULL && !_pipecom_transport_users_allow (self->serving_users, conn))
    {
      gint64 uid = _pipecom_connection_get_peer_uid (conn);
      const char *sid = _pipecom_connection_get_peer_sid (conn);

      if (uid >= 0)
        text = g_strdup_printf ("user %" G_GINT64_FORMAT " is not in its allowed-users", uid);
      else if (sid != NULL)
        text = g_strdup_printf ("user %s is not in its allowed-users", sid);
      else
        text = g_strdup ("the sender's user is unknown, and it has allowed-users");
    }
  else if (g_signal_has_handler_pending (self, _pipecom_pipe_signals[AUTHORIZE], 0, TRUE))
    {
      GCredentials *credentials = NULL;
      gboolean allowed = FALSE;

      _pipecom_connection_get_sender (conn, &credentials);
      g_signal_emit (self, _pipecom_pipe_signals[AUTHORIZE], 0, credentials, &allowed);
      if (!allowed)
        text = g_strdup ("the sender is not authorized");
      else if (_pipecom_listener_is_stopping (self))
        {
          /* A handler stopped the pipe. */
          code = PIPECOM_ERROR_CLOSED;
          text = g_strdup_printf ("pipe “%s” is stopping", self->name);
        }
    }

  if (text == NULL)
    return TRUE;

  /* Refusing is what the pipe is asked to do: nothing alarming. */
  g_debug ("Pipe “%s”: refusing a sender: %s", self->name, text);
  payload = _pipecom_error_payload_new (code, text);
  _pipecom_connection_send (conn, PIPECOM_FRAME_ERROR, 0, payload);
  /* Closed once the frame is out: closing a Win32 pipe with a write in
   * flight cancels it, and a sender that saw no answer would announce
   * again. */
  _pipecom_connection_close_when_flushed (conn);
  return FALSE;
}

static void
accept_connection (PipecomPipe         *self,
                   PipecomPeer         *peer,
                   PipecomAnnounceKind  kind,
                   const guint8        *inline_data,
                   gsize                inline_len)
{
  PipecomConnection *conn;
  guint8 hello[PIPECOM_HELLO_SIZE];
  guint64 max;
  guint buffer_size;
  gboolean lazy = FALSE;

  if (_pipecom_listener_is_stopping (self))
    {
      g_autofree char *text = g_strdup_printf ("pipe “%s” is stopping", self->name);
      _pipecom_peer_refuse (peer, PIPECOM_ERROR_CLOSED, text);
      return;
    }

  /* A one-shot message is most often answered during its emission, and
   * its connection is then done: it gets a source (whose attaching and
   * destruction wake the context up four times) only if something is left
   * to wait for, a deferred answer or a write that would block. */
  lazy = kind == PIPECOM_ANNOUNCE_ONESHOT && _pipecom_transport_drives_directly ();

  g_mutex_lock (&self->lock);
  max = self->max_message_size;
  buffer_size = self->buffer_size;
  g_mutex_unlock (&self->lock);

  conn = _pipecom_peer_accept (peer, kind, buffer_size, max,
                               &pipe_conn_funcs, self, lazy ? NULL : self->context);
  if (conn == NULL)
    {
      g_debug ("Pipe “%s”: cannot open a sender's channel", self->name);
      return;
    }

  if (!sender_allowed (self, conn))
    {
      if (_pipecom_connection_is_closed (conn))
        _pipecom_connection_unref (conn);
      else
        {
          /* Its refusal is still being written: served until it is out,
           * then closed (pipe_closed_cb() drops it). */
          list_connection (self, conn, CONN_ONESHOT);
          if (lazy)
            _pipecom_connection_attach (conn, self->context);
        }
      return;
    }

  /* Its partial frames and unread replies count against the budget; a
   * persistent connection left idle is closed (see the properties). */
  _pipecom_connection_set_budget (conn, self->budget);
  if (kind == PIPECOM_ANNOUNCE_CONNECT)
    _pipecom_connection_set_idle_timeout (conn, self->idle_usec);

  list_connection (self, conn, kind == PIPECOM_ANNOUNCE_ONESHOT ? CONN_ONESHOT : 0);
  /* The handler may stop the pipe, which drops every connection. */
  _pipecom_connection_ref (conn);

  _pipecom_encode_hello (hello, max);
  if (_pipecom_connection_send_data (conn, PIPECOM_FRAME_HELLO, 0, hello, sizeof hello) &&
      kind == PIPECOM_ANNOUNCE_ONESHOT)
    {
      if (max > 0 && inline_len > max)
        {
          pipe_oversize_cb (conn, PIPECOM_FRAME_MESSAGE, 1, inline_len, self);
          _pipecom_connection_close_when_flushed (conn);
        }
      else
        _pipecom_listener_handle_inline (self, conn, inline_data, inline_len);
    }

  if (lazy && (_pipecom_connection_get_owner_flags (conn) & CONN_LISTED))
    {
      if (_pipecom_connection_is_closed (conn))
        {
          /* What its source's dispatch would have done (pipe_closed_cb()). */
          remove_connection (self, conn);
          _pipecom_listener_check_stop_done (self);
        }
      else
        _pipecom_connection_attach (conn, self->context);
    }

  _pipecom_connection_unref (conn);
}

/* An announcement from a new sender. */
static void
intake_announce_cb (PipecomPeer         *peer,
                    guint8               version,
                    PipecomAnnounceKind  kind,
                    const guint8        *inline_data,
                    gsize                inline_len,
                    gpointer             user_data)
{
  PipecomPipe *self = user_data;

  if (version != PIPECOM_PROTOCOL_VERSION)
    {
      g_autofree char *text = g_strdup_printf ("pipe “%s” speaks protocol version %d, not %d",
                                               self->name, PIPECOM_PROTOCOL_VERSION, version);
      _pipecom_peer_refuse (peer, PIPECOM_ERROR_PROTOCOL, text);
    }
  else
    accept_connection (self, peer, kind, inline_data, inline_len);
}

static void
intake_failed_cb (GError   *error,
                  gpointer  user_data)
{
  PipecomPipe *self = user_data;

  if (_pipecom_listener_is_stopping (self))
    {
      g_error_free (error);
      return;
    }

  g_clear_error (&self->error);
  self->error = error;
  _pipecom_listener_begin_stop (self, PIPECOM_STOP_REASON_ERROR);
}

/* Out of file descriptors, or nearly: close the persistent connection
 * that has been idle the longest, to serve a new sender rather than refuse
 * it. */
static gboolean
intake_reclaim_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;
  PipecomConnection *oldest = NULL;
  gint64 oldest_since = G_MAXINT64;

  for (GList *l = self->connections.head; l != NULL; l = l->next)
    {
      gint64 since;

      if (_pipecom_connection_get_owner_flags (l->data) & CONN_ONESHOT)
        continue;
      since = _pipecom_connection_get_idle_since (l->data);
      if (since >= 0 && since < oldest_since)
        {
          oldest = l->data;
          oldest_since = since;
        }
    }

  if (oldest == NULL)
    return FALSE;

  g_debug ("Pipe “%s”: closing the connection idle the longest (%.1f s) to free its file descriptors",
           self->name, (g_get_monotonic_time () - oldest_since) / (double) G_USEC_PER_SEC);
  /* Idle: the goodbye lets its client send again what we did not read. */
  _pipecom_connection_say_goodbye (oldest, g_strdup ("Closing the connection idle the longest "
                                                     "to free file descriptors"));
  remove_connection (self, oldest);
  return TRUE;
}

static const PipecomIntakeFuncs pipe_intake_funcs = {
  intake_announce_cb,
  intake_failed_cb,
  intake_reclaim_cb,
};

/* ------------------------------------------------------------------ */
/* Stopping                                                            */

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

void
_pipecom_listener_finish_stop (PipecomPipe *self,
                               gboolean     emit)
{
  PipecomStopReason reason = self->reason;
  GList *link;

  destroy_source (&self->inactivity_source);
  destroy_source (&self->drain_source);
  destroy_source (&self->grace_source);
  destroy_source (&self->recheck_source);

  while ((link = self->connections.head) != NULL)
    remove_connection (self, link->data);

  _pipecom_registry_remove (self->path);
  g_clear_pointer (&self->intake, _pipecom_intake_free);
  g_clear_object (&self->response_client);
  g_clear_object (&self->spare_message);
  g_clear_pointer (&self->spare_inline, g_free);
  self->session++;
  self->pending = self->forwards = 0;

  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->stop_reason, reason);
  _pipecom_listener_set_state (self, PIPECOM_LISTENER_STOPPED);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (self->loop != NULL)
    g_main_loop_quit (self->loop);

  if (emit)
    {
      g_object_ref (self);
      g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_LISTENING]);
      g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_STOP_REASON]);
      g_signal_emit (self, _pipecom_pipe_signals[STOPPED], 0, reason);
      g_object_unref (self);
    }

  if (self->loop == NULL)
    {
      g_mutex_lock (&self->lock);
      g_clear_pointer (&self->context, g_main_context_unref);
      g_mutex_unlock (&self->lock);
    }
}

static gboolean
grace_expired_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;

  g_debug ("Pipe “%s”: %u answers still pending after the grace period",
           self->name, self->pending);
  _pipecom_listener_finish_stop (self, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
recheck_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;

  g_clear_pointer (&self->recheck_source, g_source_unref);
  _pipecom_listener_check_stop_done (self);
  return G_SOURCE_REMOVE;
}

void
_pipecom_listener_check_stop_done (PipecomPipe *self)
{
  if (!_pipecom_listener_is_stopping (self) || self->drain_source != NULL || self->pending > 0 || self->forwards > 0)
    return;

  for (GList *l = self->connections.head; l != NULL; l = l->next)
    {
      if (!_pipecom_connection_is_flushed (l->data))
        {
          /* A sender is slow to read its answer: look again shortly. */
          if (self->recheck_source == NULL)
            {
              self->recheck_source = g_timeout_source_new (10);
              g_source_set_callback (self->recheck_source, recheck_cb, self, NULL);
              g_source_attach (self->recheck_source, self->context);
            }
          return;
        }
    }

  _pipecom_listener_finish_stop (self, TRUE);
}

static gboolean
drain_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;
  g_autoptr(GPtrArray) conns = g_ptr_array_new_with_free_func ((GDestroyNotify) _pipecom_connection_unref);

  g_clear_pointer (&self->drain_source, g_source_unref);

  for (GList *l = self->connections.head; l != NULL; l = l->next)
    g_ptr_array_add (conns, _pipecom_connection_ref (l->data));

  /* Handle what senders had already written when the stop began... */
  if (self->reason != PIPECOM_STOP_REASON_MAX_MESSAGES)
    {
      if (_pipecom_listener_get_state (self) == PIPECOM_LISTENER_STOPPING)
        _pipecom_listener_set_state (self, PIPECOM_LISTENER_DRAINING);
      for (guint i = 0; i < conns->len; i++)
        _pipecom_connection_pump (conns->pdata[i]);
    }
  if (_pipecom_listener_is_stopping (self))
    _pipecom_listener_set_state (self, PIPECOM_LISTENER_FLUSHING);

  /* ...and nothing after. */
  for (guint i = 0; i < conns->len; i++)
    _pipecom_connection_stop_reading (conns->pdata[i]);

  _pipecom_listener_check_stop_done (self);
  return G_SOURCE_REMOVE;
}

void
_pipecom_listener_begin_stop (PipecomPipe       *self,
                              PipecomStopReason  reason)
{
  PipecomListenerState state = _pipecom_listener_get_state (self);

  if (state != PIPECOM_LISTENER_LISTENING && state != PIPECOM_LISTENER_LIMITED)
    return;

  _pipecom_listener_set_state (self, state == PIPECOM_LISTENER_LIMITED ?
                                     PIPECOM_LISTENER_CLOSING : PIPECOM_LISTENER_STOPPING);
  self->reason = reason;
  destroy_source (&self->inactivity_source);

  /* Refuse new senders at once: remove the FIFO, then answer the records
   * already queued in it. */
  _pipecom_registry_remove (self->path);
  _pipecom_intake_unpublish (self->intake);
  _pipecom_intake_close (self->intake);  /* refuses what is queued, then closes */

  self->drain_source = g_idle_source_new ();
  g_source_set_priority (self->drain_source, G_PRIORITY_HIGH);
  g_source_set_static_name (self->drain_source, "[pipecom] drain");
  g_source_set_callback (self->drain_source, drain_cb, self, NULL);
  g_source_attach (self->drain_source, self->context);

  self->grace_source = g_timeout_source_new (PIPECOM_STOP_GRACE_USEC / 1000);
  g_source_set_static_name (self->grace_source, "[pipecom] stop grace period");
  g_source_set_callback (self->grace_source, grace_expired_cb, self, NULL);
  g_source_attach (self->grace_source, self->context);
}

static gboolean
inactivity_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs inactivity_funcs = {
  NULL, NULL, inactivity_dispatch, NULL, NULL, NULL,
};

static gboolean
inactivity_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;

  g_clear_pointer (&self->inactivity_source, g_source_unref);
  _pipecom_listener_begin_stop (self, PIPECOM_STOP_REASON_TIMEOUT);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_requested_cb (gpointer user_data)
{
  _pipecom_listener_begin_stop (user_data, PIPECOM_STOP_REASON_REQUESTED);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* Listening                                                           */

static gpointer
listener_thread (gpointer data)
{
  PipecomPipe *self = data;
  GMainContext *context = g_main_context_ref (self->context);
  GMainLoop *loop = g_main_loop_ref (self->loop);

  g_main_context_push_thread_default (context);
  g_main_loop_run (loop);
  g_main_context_pop_thread_default (context);

  g_main_loop_unref (loop);
  g_main_context_unref (context);
  g_object_unref (self);

  return NULL;
}

void
_pipecom_listener_reap_thread (PipecomPipe *self)
{
  GThread *thread = g_steal_pointer (&self->thread);

  if (thread == NULL)
    return;
  if (thread == g_thread_self ())
    g_thread_unref (thread);
  else
    g_thread_join (thread);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_unlock (&self->lock);
}

/* Whether @self is threaded and some of its signals have handlers while a
 * GJS wrapper is attached to it: those handlers are JavaScript ones, which
 * GJS refuses to run outside its main thread (it logs a critical and the
 * handler returns nothing, so senders would get no reply instead of the
 * handler's answer). GJS marks the objects it wraps with the "gjs::private"
 * qdata (see _pipecom_message_is_kept()); PyGObject does not, and Python
 * handlers run in any thread. */
static gboolean
has_javascript_handlers_in_thread (PipecomPipe *self)
{
  static GQuark gjs_wrapper_quark = 0;

  if (!self->threaded)
    return FALSE;

  if (G_UNLIKELY (gjs_wrapper_quark == 0))
    gjs_wrapper_quark = g_quark_from_static_string ("gjs::private");

  if (g_object_get_qdata ((GObject *) self, gjs_wrapper_quark) == NULL)
    return FALSE;

  return g_signal_has_handler_pending (self, _pipecom_pipe_signals[MESSAGE_RECEIVED], 0, TRUE) ||
         g_signal_has_handler_pending (self, _pipecom_pipe_signals[STOPPED], 0, TRUE) ||
         g_signal_has_handler_pending (self, _pipecom_pipe_signals[RESPONSE_ERROR], 0, TRUE) ||
         g_signal_has_handler_pending (self, _pipecom_pipe_signals[AUTHORIZE], 0, TRUE);
}

/* What pipecom_pipe_listen() does once its arguments are checked. */
gboolean
_pipecom_listener_start (PipecomPipe  *self,
                         GError      **error)
{
  g_autofree char *path = NULL;
  g_auto(GStrv) allowed_users = NULL;
  PipecomUserSet *users = NULL;
  GError *local_error = NULL;
  PipecomIntake *intake;
  guint buffer_size, idle_timeout, timeout;
  guint64 memory_budget;
  PipecomAccess access;

  if (_pipecom_listener_is_listening (self))
    return TRUE;

  if (has_javascript_handlers_in_thread (self))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE,
                   "Pipe “%s” is threaded, but its signal handlers are JavaScript, "
                   "which GJS runs in its main thread only: make the pipe without "
                   "“threaded” and run a main loop",
                   self->name);
      return FALSE;
    }

  _pipecom_init_once ();
  _pipecom_listener_reap_thread (self);

  if (!(path = _pipecom_transport_resolve (self->name, error)))
    return FALSE;

  /* The properties this listening session applies as they are now. */
  g_mutex_lock (&self->lock);
  buffer_size = self->buffer_size;
  access = self->access;
  memory_budget = self->memory_budget;
  idle_timeout = self->idle_timeout;
  timeout = self->timeout;
  allowed_users = g_strdupv (self->allowed_users);
  g_mutex_unlock (&self->lock);

  /* Before anything is made: a name that is no user is an error. */
  users = _pipecom_transport_resolve_users ((const char * const *) allowed_users, &local_error);
  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, local_error, "Cannot listen on pipe “%s”: ", self->name);
      return FALSE;
    }

  intake = _pipecom_intake_new (self->name, path, buffer_size, access,
                                &pipe_intake_funcs, self, error);
  if (intake == NULL)
    {
      _pipecom_transport_users_free (users);
      return FALSE;
    }

  if (g_strcmp0 (self->path, path) != 0)
    {
      g_free (self->path);
      self->path = g_steal_pointer (&path);
      g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_PATH]);
    }

  self->intake = intake;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->budget, _pipecom_budget_unref);
  self->budget = _pipecom_budget_new (memory_budget);
  g_mutex_unlock (&self->lock);
  self->idle_usec = (gint64) idle_timeout * G_USEC_PER_SEC;
  self->serving_access = access;
  g_clear_pointer (&self->serving_users, _pipecom_transport_users_free);
  self->serving_users = users;
  self->serving_timeout = timeout;
  self->pending = self->forwards = 0;
  self->reason = PIPECOM_STOP_REASON_NONE;
  g_clear_error (&self->error);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = self->threaded ? g_main_context_new () : g_main_context_ref_thread_default ();
  g_mutex_unlock (&self->lock);

  _pipecom_intake_start (self->intake, self->context);

  if (timeout > 0)
    {
      self->inactivity_source = g_source_new (&inactivity_funcs, sizeof (GSource));
      g_source_set_static_name (self->inactivity_source, "[pipecom] inactivity timeout");
      g_source_set_callback (self->inactivity_source, inactivity_cb, self, NULL);
      _pipecom_listener_reset_inactivity (self);
      g_source_attach (self->inactivity_source, self->context);
    }

  _pipecom_registry_add (self->path, self->context);

  g_atomic_pointer_set (&self->serve_thread, NULL);  /* see _pipecom_listener_serve() */
  g_atomic_int_set (&self->message_count, 0);
  g_atomic_int_set (&self->stop_reason, PIPECOM_STOP_REASON_NONE);
  _pipecom_listener_set_state (self, PIPECOM_LISTENER_LISTENING);

  if (self->threaded)
    {
      self->loop = g_main_loop_new (self->context, FALSE);
      self->thread = g_thread_new ("pipecom-listener", listener_thread, g_object_ref (self));
    }

  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_MESSAGE_COUNT]);
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_STOP_REASON]);
  g_object_notify_by_pspec (G_OBJECT (self), _pipecom_pipe_properties[PROP_LISTENING]);

  return TRUE;
}

/* What pipecom_pipe_stop() does once its argument is checked. */
void
_pipecom_listener_request_stop (PipecomPipe *self)
{
  g_autoptr(GMainContext) context = NULL;

  g_mutex_lock (&self->lock);
  if (_pipecom_listener_is_listening (self) && self->context != NULL)
    context = g_main_context_ref (self->context);
  g_mutex_unlock (&self->lock);

  if (context == NULL)
    return;

  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, stop_requested_cb,
                              g_object_ref (self), g_object_unref);
}
