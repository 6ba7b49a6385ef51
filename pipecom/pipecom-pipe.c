/* pipecom-pipe.c: the listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#endif

#include "pipecom-private.h"
#include "pipecom-enums.h"

/**
 * SECTION:pipecom-pipe
 * @title: PipecomPipe
 * @short_description: listen on a named pipe
 *
 * A #PipecomPipe listens on a name and emits #PipecomPipe::message-received
 * for each message; the first handler that returns a string gives the
 * reply, and a message no handler answers or keeps is acknowledged as soon
 * as the emission ends. Each sender has a private connection, so acknowledgements and
 * replies always reach the right sender, and a slow or dead sender never
 * holds up the others.
 *
 * ## Threads and main contexts
 *
 * pipecom_pipe_listen() serves in the thread-default #GMainContext of the
 * calling thread: all signals are emitted there, so a GTK or GJS program
 * just runs its main loop. A program without a main loop calls
 * pipecom_pipe_run(), which serves until the pipe stops. To serve in the
 * background while the calling thread does blocking work, create the pipe
 * with #PipecomPipe:threaded set: it then serves in a thread of its own,
 * and the signals are emitted in that thread.
 *
 * ## Stopping
 *
 * The pipe stops when a sender sends #PipecomPipe:die-code, after
 * #PipecomPipe:max-messages messages, after #PipecomPipe:timeout seconds
 * without a message, or on pipecom_pipe_stop(). New senders are refused at
 * once; messages already received are handled, answered and forwarded to
 * the response pipe (for up to 5 seconds) before #PipecomPipe::stopped is
 * emitted and the FIFO and its lock file are removed.
 *
 * |[<!-- language="C" -->
 * static char *
 * on_message (PipecomPipe *pipe, PipecomMessage *message, gpointer user_data)
 * {
 *   g_print ("Received: %s\n", pipecom_message_get_text (message));
 *   return g_strdup ("thanks");
 * }
 *
 * int
 * main (void)
 * {
 *   g_autoptr(PipecomPipe) pipe = pipecom_pipe_new ("my_pipe");
 *   g_autoptr(GError) error = NULL;
 *
 *   g_signal_connect (pipe, "message-received", G_CALLBACK (on_message), NULL);
 *   if (!pipecom_pipe_run (pipe, &error))
 *     g_printerr ("%s\n", error->message);
 *   return error ? 1 : 0;
 * }
 * ]|
 *
 * The same in Python (the overrides serve such a pipe in a thread of its
 * own; pass `main_context=GLib.MainContext.default()` in a GTK program) and
 * in JavaScript (GJS serves in its main loop):
 *
 * |[<!-- language="Python" -->
 * import pipecom
 *
 * def on_message(message):
 *     print("Received:", message)
 *     return "thanks"
 *
 * pipe = pipecom.Pipe("my_pipe", on_message)
 * pipe.listen()
 * pipe.wait()      # until the die code, or Ctrl-C
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * const {GLib, Pipecom} = imports.gi;
 *
 * const loop = new GLib.MainLoop(null, false);
 * const pipe = new Pipecom.Pipe({name: 'my_pipe'});
 * pipe.connect('message-received', (_pipe, message) => {
 *     print(`Received: ${message.get_text()}`);
 *     return 'thanks';
 * });
 * pipe.connect('stopped', () => loop.quit());
 * pipe.listen();
 * loop.run();
 * ]|
 */

#define DEFAULT_BUFFER_SIZE 65536

gint64 _pipecom_connection_deadline_usec = PIPECOM_CONNECTION_DEADLINE_USEC;
gsize  _pipecom_min_progress_bytes = PIPECOM_MIN_PROGRESS_BYTES;
gsize  _pipecom_max_queued_bytes = PIPECOM_MAX_QUEUED_BYTES;

/**
 * PipecomPipe:
 *
 * A listener on a named pipe. Its fields are private.
 *
 * Since: 1.0
 */
struct _PipecomPipe
{
  GObject            parent_instance;

  /* configuration */
  char              *name;
  char              *path;             /* (nullable) set by listen() */
  GMutex             lock;             /* protects die_code, response_pipe_name, run() */
  GCond              cond;
  GThread           *handling_thread;  /* (atomic) (nullable) in handle_message() */
  guint              timeout;
  guint              max_messages;
  char              *die_code;         /* (nullable) */
  char              *response_pipe_name;  /* (nullable) */
  guint              buffer_size;
  guint              max_message_size;
  guint64            memory_budget;
  guint              idle_timeout;
  PipecomAccess      access;
  gboolean           threaded;

  /* state readable from any thread */
  gint               listening;        /* atomic */
  gint               message_count;    /* atomic */
  gint               stop_reason;      /* atomic */
  GError            *error;            /* (nullable) why it stopped with ERROR */

  /* serving state: only touched in the serving context */
  GMainContext      *context;          /* (owned) (nullable) */
  GMainLoop         *loop;             /* (owned) (nullable) threaded mode */
  GThread           *thread;           /* (owned) (nullable) */
  guint              session;
  PipecomIntake     *intake;           /* (owned) (nullable) */
  PipecomBudget     *budget;           /* (owned) (nullable) of the last listen() */
  gint64             idle_usec;        /* idle_timeout, as of listen() */
  PipecomAccess      serving_access;   /* the access of this listening session */
  GSource           *inactivity_source;
  GSource           *drain_source;
  GSource           *grace_source;
  GSource           *recheck_source;
  GHashTable        *connections;      /* PipecomConnection → flags */
  guint              pending;          /* messages handed out, not answered */
  guint              forwards;         /* replies being forwarded */
  gboolean           stopping;
  gboolean           draining;
  gboolean           limit_reached;
  PipecomStopReason  reason;
  PipecomClient     *response_client;  /* (owned) (nullable) */
  PipecomMessage    *spare_message;    /* (owned) (nullable) for the next message */
};

#define CONN_ONESHOT 1

G_DEFINE_FINAL_TYPE (PipecomPipe, pipecom_pipe, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_PATH,
  PROP_TIMEOUT,
  PROP_MAX_MESSAGES,
  PROP_DIE_CODE,
  PROP_RESPONSE_PIPE_NAME,
  PROP_BUFFER_SIZE,
  PROP_MAX_MESSAGE_SIZE,
  PROP_THREADED,
  PROP_LISTENING,
  PROP_MESSAGE_COUNT,
  PROP_STOP_REASON,
  PROP_ACCESS,
  PROP_MEMORY_BUDGET,
  PROP_IDLE_TIMEOUT,
  N_PROPS
};

enum {
  MESSAGE_RECEIVED,
  STOPPED,
  RESPONSE_ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void begin_stop       (PipecomPipe       *self,
                              PipecomStopReason  reason);
static void check_stop_done  (PipecomPipe       *self);

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

static void
send_error (PipecomConnection *conn,
            guint32            id,
            PipecomError       code,
            const char        *text)
{
  g_autoptr(GBytes) payload = _pipecom_error_payload_new (code, text);

  _pipecom_connection_send (conn, PIPECOM_FRAME_ERROR, id, payload);
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

static void
reset_inactivity (PipecomPipe *self)
{
  if (self->inactivity_source != NULL)
    g_source_set_ready_time (self->inactivity_source,
                             g_get_monotonic_time () + (gint64) self->timeout * G_USEC_PER_SEC);
}

static gboolean
is_die_code (PipecomPipe *self,
             GBytes      *payload)
{
  gboolean ret = FALSE;
  gsize size;
  const char *data = g_bytes_get_data (payload, &size);

  g_mutex_lock (&self->lock);
  if (self->die_code != NULL && strlen (self->die_code) == size &&
      (size == 0 || memcmp (self->die_code, data, size) == 0))
    ret = TRUE;
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
#ifdef G_OS_UNIX
  if (self->serving_access != PIPECOM_ACCESS_PRIVATE)
    return _pipecom_connection_get_peer_uid (conn) == (gint64) geteuid ();
#endif
  /* Private: every sender is the listener's user (on Windows, only
   * private pipes exist). */
  return TRUE;
}

static void
handle_message (PipecomPipe       *self,
                PipecomConnection *conn,
                guint32            id,
                GBytes            *payload)
{
  g_autoptr(PipecomMessage) message = NULL;
  g_autofree char *reply = NULL;
  GThread *previous_thread;
  guint count;

  if (self->limit_reached || (self->stopping && !self->draining))
    {
      g_autofree char *text =
        g_strdup_printf ("Pipe “%s” is stopping (%s) and handles no more messages",
                         self->name, self->limit_reached ? "max-messages reached" : "stop requested");
      send_error (conn, id, PIPECOM_ERROR_CLOSED, text);
      if (GPOINTER_TO_UINT (g_hash_table_lookup (self->connections, conn)) & CONN_ONESHOT)
        _pipecom_connection_close_when_flushed (conn);
      return;
    }

  if (is_die_code (self, payload))
    {
      gboolean oneshot = GPOINTER_TO_UINT (g_hash_table_lookup (self->connections, conn)) & CONN_ONESHOT;
      gboolean allowed = may_stop (self, conn);

      if (!allowed)
        {
          g_autofree char *text =
            g_strdup_printf ("Pipe “%s” is shared: only its own user may stop it with "
                             "the die code", self->name);

          /* Not a message for the handlers either: refused, and served on. */
          g_debug ("Pipe “%s”: refused the die code from user %" G_GINT64_FORMAT,
                   self->name, _pipecom_connection_get_peer_uid (conn));
          send_error (conn, id, PIPECOM_ERROR_PERMISSION_DENIED, text);
        }
      else
        _pipecom_connection_send_data (conn, PIPECOM_FRAME_ACK, id, NULL, 0);

      if (oneshot)
        _pipecom_connection_close_when_flushed (conn);
      if (allowed)
        begin_stop (self, PIPECOM_STOP_REASON_DIE_CODE);
      return;
    }

  count = g_atomic_int_add (&self->message_count, 1) + 1;
  reset_inactivity (self);
  if (self->max_messages > 0 && count >= self->max_messages)
    self->limit_reached = TRUE;

  message = _pipecom_message_new (self, conn, self->session, id, payload,
                                  g_steal_pointer (&self->spare_message));
  self->pending++;
  _pipecom_connection_add_unanswered (conn, 1);  /* not idle until answered */

  /* A plain cast: G_OBJECT() checks the type, on every message. */
  g_object_notify_by_pspec ((GObject *) self, properties[PROP_MESSAGE_COUNT]);

  /* Answers given from here on go out at once (_pipecom_pipe_deliver_reply()). */
  previous_thread = g_atomic_pointer_exchange (&self->handling_thread, g_thread_self ());
  g_signal_emit (self, signals[MESSAGE_RECEIVED], 0, message, &reply);

  if (reply != NULL && !pipecom_message_get_replied (message))
    pipecom_message_reply (message, reply);
  else if (!_pipecom_message_is_kept (message))
    _pipecom_message_acknowledge (message);
  g_atomic_pointer_set (&self->handling_thread, previous_thread);

  /* A message kept for later is acknowledged, if nobody answered it, when
   * its last reference goes; one nobody kept is reused. */
  _pipecom_message_release (g_steal_pointer (&message), &self->spare_message);

  if (self->limit_reached)
    begin_stop (self, PIPECOM_STOP_REASON_MAX_MESSAGES);
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
      if (g_signal_has_handler_pending (self, signals[RESPONSE_ERROR], 0, FALSE))
        g_signal_emit (self, signals[RESPONSE_ERROR], 0, error);
      else
        g_warning ("Pipe “%s” could not forward a reply to its response pipe “%s”: %s",
                   self->name, pipecom_client_get_pipe_name (PIPECOM_CLIENT (object)),
                   error->message);
    }

  if (self->forwards > 0)
    self->forwards--;
  check_stop_done (self);
}

static void
forward_reply (PipecomPipe *self,
               GBytes      *reply)
{
  g_autofree char *target = NULL;

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
  gpointer flags;

  if (session != self->session || self->context == NULL)
    return;  /* an answer for an earlier listening session */

  _pipecom_connection_send (conn, type, id, payload);
  _pipecom_connection_add_unanswered (conn, -1);
  if (g_hash_table_lookup_extended (self->connections, conn, NULL, &flags) &&
      (GPOINTER_TO_UINT (flags) & CONN_ONESHOT))
    _pipecom_connection_close_when_flushed (conn);

  if (type == PIPECOM_FRAME_REPLY)
    forward_reply (self, payload);

  if (self->pending > 0)
    self->pending--;
  check_stop_done (self);
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
  if (context == NULL || !g_atomic_int_get (&self->listening))
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


/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void
remove_connection (PipecomPipe       *self,
                   PipecomConnection *conn)
{
  if (g_hash_table_steal (self->connections, conn))
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
      check_stop_done (self);
      return;
    }

  handle_message (self, conn, id, payload);
}

static void
pipe_oversize_cb (PipecomConnection *conn,
                  guint8             type,
                  guint32            id,
                  guint64            length,
                  gpointer           user_data)
{
  PipecomPipe *self = user_data;
  g_autofree char *text =
    g_strdup_printf ("Message of %" G_GUINT64_FORMAT " bytes is larger than the %u bytes "
                     "pipe “%s” accepts", length, self->max_message_size, self->name);

  send_error (conn, id, PIPECOM_ERROR_MESSAGE_TOO_LARGE, text);
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
  check_stop_done (self);
}

static const PipecomConnectionFuncs pipe_conn_funcs = {
  pipe_frame_cb,
  pipe_oversize_cb,
  pipe_closed_cb,
};

static void
accept_connection (PipecomPipe         *self,
                   PipecomPeer         *peer,
                   PipecomAnnounceKind  kind,
                   const guint8        *inline_data,
                   gsize                inline_len)
{
  PipecomConnection *conn;
  guint8 hello[PIPECOM_HELLO_SIZE];
  guint64 max = self->max_message_size;
  gboolean lazy = FALSE;

  if (self->stopping)
    {
      g_autofree char *text = g_strdup_printf ("pipe “%s” is stopping", self->name);
      _pipecom_peer_refuse (peer, PIPECOM_ERROR_CLOSED, text);
      return;
    }

#ifdef G_OS_UNIX
  /* A one-shot message is most often answered during its emission, and
   * its connection is then done: it gets a source (whose attaching and
   * destruction wake the context up four times) only if something is left
   * to wait for, a deferred answer or a write that would block. */
  lazy = kind == PIPECOM_ANNOUNCE_ONESHOT;
#endif

  conn = _pipecom_peer_accept (peer, kind, self->buffer_size, max,
                               &pipe_conn_funcs, self, lazy ? NULL : self->context);
  if (conn == NULL)
    {
      g_debug ("Pipe “%s”: cannot open a sender's channel", self->name);
      return;
    }

  /* Its partial frames and unread replies count against the budget; a
   * persistent connection left idle is closed (see the properties). */
  _pipecom_connection_set_budget (conn, self->budget);
  if (kind == PIPECOM_ANNOUNCE_CONNECT)
    _pipecom_connection_set_idle_timeout (conn, self->idle_usec);

  g_hash_table_insert (self->connections, conn,
                       GUINT_TO_POINTER (kind == PIPECOM_ANNOUNCE_ONESHOT ? CONN_ONESHOT : 0));
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
        {
          g_autoptr(GBytes) payload = g_bytes_new (inline_data, inline_len);
          handle_message (self, conn, 1, payload);
        }
    }

#ifdef G_OS_UNIX
  if (lazy && g_hash_table_contains (self->connections, conn))
    {
      if (_pipecom_connection_is_closed (conn))
        {
          /* What its source's dispatch would have done (pipe_closed_cb()). */
          remove_connection (self, conn);
          check_stop_done (self);
        }
      else
        _pipecom_connection_attach (conn, self->context);
    }
#endif

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

  if (self->stopping)
    {
      g_error_free (error);
      return;
    }

  g_clear_error (&self->error);
  self->error = error;
  begin_stop (self, PIPECOM_STOP_REASON_ERROR);
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
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gint64 since;

      if (GPOINTER_TO_UINT (value) & CONN_ONESHOT)
        continue;
      since = _pipecom_connection_get_idle_since (key);
      if (since >= 0 && since < oldest_since)
        {
          oldest = key;
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

static void
finish_stop (PipecomPipe *self,
             gboolean     emit)
{
  PipecomStopReason reason = self->reason;
  GHashTableIter iter;
  gpointer key;

  destroy_source (&self->inactivity_source);
  destroy_source (&self->drain_source);
  destroy_source (&self->grace_source);
  destroy_source (&self->recheck_source);

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      _pipecom_connection_close (key);
      _pipecom_connection_unref (key);
      g_hash_table_iter_remove (&iter);
    }

  _pipecom_registry_remove (self->path);
  g_clear_pointer (&self->intake, _pipecom_intake_free);
  g_clear_object (&self->response_client);
  g_clear_object (&self->spare_message);
  self->session++;
  self->pending = self->forwards = 0;
  self->stopping = FALSE;

  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->stop_reason, reason);
  g_atomic_int_set (&self->listening, FALSE);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (self->loop != NULL)
    g_main_loop_quit (self->loop);

  if (emit)
    {
      g_object_ref (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STOP_REASON]);
      g_signal_emit (self, signals[STOPPED], 0, reason);
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
  finish_stop (self, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
recheck_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;

  g_clear_pointer (&self->recheck_source, g_source_unref);
  check_stop_done (self);
  return G_SOURCE_REMOVE;
}

static void
check_stop_done (PipecomPipe *self)
{
  GHashTableIter iter;
  gpointer key;

  if (!self->stopping || self->drain_source != NULL || self->pending > 0 || self->forwards > 0)
    return;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      if (!_pipecom_connection_is_flushed (key))
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

  finish_stop (self, TRUE);
}

static gboolean
drain_cb (gpointer user_data)
{
  PipecomPipe *self = user_data;
  g_autoptr(GPtrArray) conns = g_ptr_array_new_with_free_func ((GDestroyNotify) _pipecom_connection_unref);
  GHashTableIter iter;
  gpointer key;

  g_clear_pointer (&self->drain_source, g_source_unref);

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (conns, _pipecom_connection_ref (key));

  /* Handle what senders had already written when the stop began... */
  if (self->reason != PIPECOM_STOP_REASON_MAX_MESSAGES)
    {
      self->draining = TRUE;
      for (guint i = 0; i < conns->len; i++)
        _pipecom_connection_pump (conns->pdata[i]);
      self->draining = FALSE;
    }

  /* ...and nothing after. */
  for (guint i = 0; i < conns->len; i++)
    _pipecom_connection_stop_reading (conns->pdata[i]);

  check_stop_done (self);
  return G_SOURCE_REMOVE;
}

static void
begin_stop (PipecomPipe       *self,
            PipecomStopReason  reason)
{
  if (self->stopping || !g_atomic_int_get (&self->listening))
    return;

  self->stopping = TRUE;
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
  begin_stop (self, PIPECOM_STOP_REASON_TIMEOUT);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_requested_cb (gpointer user_data)
{
  begin_stop (user_data, PIPECOM_STOP_REASON_REQUESTED);
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

static void
reap_thread (PipecomPipe *self)
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

  return g_signal_has_handler_pending (self, signals[MESSAGE_RECEIVED], 0, TRUE) ||
         g_signal_has_handler_pending (self, signals[STOPPED], 0, TRUE) ||
         g_signal_has_handler_pending (self, signals[RESPONSE_ERROR], 0, TRUE);
}

/**
 * pipecom_pipe_listen:
 * @self: a #PipecomPipe
 * @error: return location for a #GError
 *
 * Starts listening: creates the FIFO (mode 0600, in a 0700 per-user
 * directory for simple names) and serves senders in the thread-default main
 * context of the calling thread, or in a thread of its own if
 * #PipecomPipe:threaded is set. Returns at once.
 *
 * Fails with %PIPECOM_ERROR_ADDRESS_IN_USE if a live listener owns the name,
 * %PIPECOM_ERROR_PERMISSION_DENIED if something that is not a FIFO of the
 * user (a symbolic link, a regular file, another user's FIFO) is at the
 * path, and %PIPECOM_ERROR_INVALID_PIPE for unusable names, and for a
 * #PipecomPipe:threaded pipe with JavaScript (GJS) signal handlers, which
 * could not run in the pipe's thread. A FIFO left by
 * a listener that crashed is reclaimed. Listening again after the pipe
 * stopped is allowed; calling this while listening does nothing.
 *
 * On Windows, creates the named pipe `\\.\pipe\NAME` instead, open to
 * the current user and SYSTEM only.
 *
 * Returns: %TRUE if the pipe is listening
 *
 * Since: 1.0
 */
gboolean
pipecom_pipe_listen (PipecomPipe  *self,
                     GError      **error)
{
  g_autofree char *path = NULL;
  PipecomIntake *intake;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_atomic_int_get (&self->listening))
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
  reap_thread (self);

  if (!(path = _pipecom_transport_resolve (self->name, error)))
    return FALSE;

  intake = _pipecom_intake_new (self->name, path, self->buffer_size, self->access,
                                &pipe_intake_funcs, self, error);
  if (intake == NULL)
    return FALSE;

  if (g_strcmp0 (self->path, path) != 0)
    {
      g_free (self->path);
      self->path = g_steal_pointer (&path);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH]);
    }

  self->intake = intake;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->budget, _pipecom_budget_unref);
  self->budget = _pipecom_budget_new (self->memory_budget);
  g_mutex_unlock (&self->lock);
  self->idle_usec = (gint64) self->idle_timeout * G_USEC_PER_SEC;
  self->serving_access = self->access;
  self->pending = self->forwards = 0;
  self->stopping = self->limit_reached = FALSE;
  self->reason = PIPECOM_STOP_REASON_NONE;
  g_clear_error (&self->error);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = self->threaded ? g_main_context_new () : g_main_context_ref_thread_default ();
  g_mutex_unlock (&self->lock);

  _pipecom_intake_start (self->intake, self->context);

  if (self->timeout > 0)
    {
      self->inactivity_source = g_source_new (&inactivity_funcs, sizeof (GSource));
      g_source_set_static_name (self->inactivity_source, "[pipecom] inactivity timeout");
      g_source_set_callback (self->inactivity_source, inactivity_cb, self, NULL);
      reset_inactivity (self);
      g_source_attach (self->inactivity_source, self->context);
    }

  _pipecom_registry_add (self->path, self->context);

  g_atomic_int_set (&self->message_count, 0);
  g_atomic_int_set (&self->stop_reason, PIPECOM_STOP_REASON_NONE);
  g_atomic_int_set (&self->listening, TRUE);

  if (self->threaded)
    {
      self->loop = g_main_loop_new (self->context, FALSE);
      self->thread = g_thread_new ("pipecom-listener", listener_thread, g_object_ref (self));
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE_COUNT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STOP_REASON]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);

  return TRUE;
}

/**
 * pipecom_pipe_stop:
 * @self: a #PipecomPipe
 *
 * Stops listening, gracefully: new senders are refused at once, messages
 * already received are handled and answered, then #PipecomPipe::stopped is
 * emitted with %PIPECOM_STOP_REASON_REQUESTED. May be called from any
 * thread and from a handler; does nothing if the pipe is not listening.
 *
 * Since: 1.0
 */
void
pipecom_pipe_stop (PipecomPipe *self)
{
  g_autoptr(GMainContext) context = NULL;

  g_return_if_fail (PIPECOM_IS_PIPE (self));

  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->listening) && self->context != NULL)
    context = g_main_context_ref (self->context);
  g_mutex_unlock (&self->lock);

  if (context == NULL)
    return;

  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, stop_requested_cb,
                              g_object_ref (self), g_object_unref);
}

/**
 * pipecom_pipe_run:
 * @self: a #PipecomPipe
 * @error: return location for a #GError
 *
 * Listens if needed, then serves until the pipe stops (die code, max
 * messages, inactivity timeout or pipecom_pipe_stop()). This is for
 * programs without a main loop: it iterates the pipe's main context itself
 * (or, if another thread runs that context or the pipe is
 * #PipecomPipe:threaded, waits for the pipe to stop).
 *
 * Like pipecom_pipe_listen(), it starts a pipe that has stopped over
 * again; to wait for a pipe to stop, use #PipecomPipe::stopped or
 * #PipecomPipe:listening instead.
 *
 * Returns: %TRUE if the pipe stopped normally, %FALSE if it could not
 *   listen or stopped because of an error
 *
 * Since: 1.0
 */
gboolean
pipecom_pipe_run (PipecomPipe  *self,
                  GError      **error)
{
  g_autoptr(GMainContext) context = NULL;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pipecom_pipe_listen (self, error))
    return FALSE;

  g_object_ref (self);
  context = self->context ? g_main_context_ref (self->context) : NULL;

  if (context != NULL && !self->threaded && g_main_context_acquire (context))
    {
      while (g_atomic_int_get (&self->listening))
        g_main_context_iteration (context, TRUE);
      g_main_context_release (context);
    }
  else
    {
      g_mutex_lock (&self->lock);
      while (g_atomic_int_get (&self->listening))
        g_cond_wait (&self->cond, &self->lock);
      g_mutex_unlock (&self->lock);
    }

  g_object_unref (self);

  if (g_atomic_int_get (&self->stop_reason) == PIPECOM_STOP_REASON_ERROR && self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
pipecom_pipe_dispose (GObject *object)
{
  PipecomPipe *self = (PipecomPipe *)object;

  /* Not threaded (a threaded pipe is kept alive by its thread): release
   * everything now, without signals. */
  if (g_atomic_int_get (&self->listening))
    {
      _pipecom_registry_remove (self->path);
      finish_stop (self, FALSE);
    }

  G_OBJECT_CLASS (pipecom_pipe_parent_class)->dispose (object);
}

static void
pipecom_pipe_finalize (GObject *object)
{
  PipecomPipe *self = (PipecomPipe *)object;

  reap_thread (self);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->budget, _pipecom_budget_unref);
  g_clear_object (&self->spare_message);
  g_clear_error (&self->error);
  g_free (self->name);
  g_free (self->path);
  g_free (self->die_code);
  g_free (self->response_pipe_name);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (pipecom_pipe_parent_class)->finalize (object);
}

static void
pipecom_pipe_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PipecomPipe *self = PIPECOM_PIPE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;
    case PROP_MAX_MESSAGES:
      g_value_set_uint (value, self->max_messages);
      break;
    case PROP_DIE_CODE:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->die_code);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_RESPONSE_PIPE_NAME:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->response_pipe_name);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_BUFFER_SIZE:
      g_value_set_uint (value, self->buffer_size);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_ACCESS:
      g_value_set_enum (value, self->access);
      break;
    case PROP_MEMORY_BUDGET:
      g_value_set_uint64 (value, self->memory_budget);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, self->idle_timeout);
      break;
    case PROP_THREADED:
      g_value_set_boolean (value, self->threaded);
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, pipecom_pipe_get_listening (self));
      break;
    case PROP_MESSAGE_COUNT:
      g_value_set_uint (value, pipecom_pipe_get_message_count (self));
      break;
    case PROP_STOP_REASON:
      g_value_set_enum (value, pipecom_pipe_get_stop_reason (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_pipe_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  PipecomPipe *self = PIPECOM_PIPE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;
    case PROP_TIMEOUT:
      pipecom_pipe_set_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_MESSAGES:
      pipecom_pipe_set_max_messages (self, g_value_get_uint (value));
      break;
    case PROP_DIE_CODE:
      pipecom_pipe_set_die_code (self, g_value_get_string (value));
      break;
    case PROP_RESPONSE_PIPE_NAME:
      pipecom_pipe_set_response_pipe_name (self, g_value_get_string (value));
      break;
    case PROP_BUFFER_SIZE:
      pipecom_pipe_set_buffer_size (self, g_value_get_uint (value));
      break;
    case PROP_MAX_MESSAGE_SIZE:
      pipecom_pipe_set_max_message_size (self, g_value_get_uint (value));
      break;
    case PROP_ACCESS:
      pipecom_pipe_set_access (self, g_value_get_enum (value));
      break;
    case PROP_MEMORY_BUDGET:
      pipecom_pipe_set_memory_budget (self, g_value_get_uint64 (value));
      break;
    case PROP_IDLE_TIMEOUT:
      pipecom_pipe_set_idle_timeout (self, g_value_get_uint (value));
      break;
    case PROP_THREADED:
      self->threaded = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
first_reply_accumulator (GSignalInvocationHint *hint,
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

static void
marshal_STRING__OBJECT (GClosure     *closure,
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

static void
marshal_STRING__OBJECTv (GClosure *closure,
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
   * marshallers: handle_message() holds one for the whole emission. */
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

static void
pipecom_pipe_class_init (PipecomPipeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pipecom_pipe_dispose;
  object_class->finalize = pipecom_pipe_finalize;
  object_class->get_property = pipecom_pipe_get_property;
  object_class->set_property = pipecom_pipe_set_property;

  /**
   * PipecomPipe:name:
   *
   * The name to listen on: a simple name lives in the per-user pipe
   * directory (`$XDG_RUNTIME_DIR/pipecom`); a name containing a “/” is a
   * path, absolute or relative to the current directory. On Windows, a
   * simple name means `\\.\pipe\NAME`, and a full `\\.\pipe\…` name is
   * used as is.
   *
   * Since: 1.0
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name",
                         "Name",
                         "The name or path to listen on",
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:path:
   *
   * The path of the FIFO (on Windows, the full name of the named pipe),
   * known once the pipe listened.
   *
   * Since: 1.0
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path",
                         "Path",
                         "The path of the FIFO",
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:timeout:
   *
   * Stop after this many seconds without a message; 0 means never. The
   * count restarts with each message.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout",
                         "Timeout",
                         "Seconds without a message before the pipe stops (0: never)",
                       0, G_MAXUINT / 1000, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:max-messages:
   *
   * Stop after handling this many messages; 0 means no limit. The last
   * message is handled and answered before the pipe stops.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_MESSAGES] =
    g_param_spec_uint ("max-messages",
                         "Max messages",
                         "Messages to handle before the pipe stops (0: no limit)",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:die-code:
   *
   * A message that stops the pipe: it is acknowledged, never handed to
   * handlers. %NULL disables it.
   *
   * On a pipe shared with a group or with everyone (#PipecomPipe:access),
   * only the listener's own user can stop it this way: the die code of
   * another user is answered with %PIPECOM_ERROR_PERMISSION_DENIED (the
   * sender's call fails with it), is not handed to handlers either, and
   * the pipe goes on serving. See #PipecomAccess.
   *
   * Since: 1.0
   */
  properties[PROP_DIE_CODE] =
    g_param_spec_string ("die-code",
                         "Die code",
                         "The message that stops the pipe",
                         PIPECOM_DEFAULT_DIE_CODE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:response-pipe-name:
   *
   * If set, every reply of the handlers is also sent, in order, to this
   * pipe. A failure to do so is reported by #PipecomPipe::response-error
   * (or a warning if nobody is connected to it), and never stops the pipe.
   *
   * Since: 1.0
   */
  properties[PROP_RESPONSE_PIPE_NAME] =
    g_param_spec_string ("response-pipe-name",
                         "Response pipe name",
                         "Where every reply is forwarded",
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:buffer-size:
   *
   * The read buffer size of each connection, and the capacity requested for
   * its pipes when larger than the system's default (Linux). Takes effect
   * for new connections.
   *
   * Since: 1.0
   */
  properties[PROP_BUFFER_SIZE] =
    g_param_spec_uint ("buffer-size",
                         "Buffer size",
                         "Read buffer and pipe capacity of each connection",
                       4096, 64 * 1024 * 1024, DEFAULT_BUFFER_SIZE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:max-message-size:
   *
   * Larger messages are refused with %PIPECOM_ERROR_MESSAGE_TOO_LARGE; the
   * pipe keeps serving. 0 means no limit. Takes effect for new connections.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint ("max-message-size",
                         "Max message size",
                         "The largest accepted message in bytes (0: no limit)",
                       0, G_MAXUINT, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:threaded:
   *
   * Serve in a thread of the pipe's own, in the manner of
   * #GThreadedSocketService: the signals are then emitted in that thread,
   * and the calling thread is free to block. The thread keeps a reference
   * to the pipe until it stops.
   *
   * Handlers must be able to run in that thread: C and Python ones can,
   * but GJS runs JavaScript in its main thread only, so from JavaScript
   * leave this %FALSE and run a main loop: pipecom_pipe_listen() refuses a
   * threaded pipe with JavaScript handlers (%PIPECOM_ERROR_INVALID_PIPE).
   *
   * Since: 1.0
   */
  properties[PROP_THREADED] =
    g_param_spec_boolean ("threaded",
                         "Threaded",
                         "Serve in a thread of the pipe's own",
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:listening:
   *
   * Whether the pipe is listening.
   *
   * Since: 1.0
   */
  properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening",
                         "Listening",
                         "Whether the pipe is listening",
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:message-count:
   *
   * How many messages were handed to the handlers since the pipe last
   * started listening (the die code does not count).
   *
   * Since: 1.0
   */
  properties[PROP_MESSAGE_COUNT] =
    g_param_spec_uint ("message-count",
                         "Message count",
                         "Messages handled since the pipe started listening",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:stop-reason:
   *
   * Why the pipe last stopped, or %PIPECOM_STOP_REASON_NONE.
   *
   * Since: 1.0
   */
  properties[PROP_STOP_REASON] =
    g_param_spec_enum ("stop-reason",
                         "Stop reason",
                         "Why the pipe last stopped",
                       PIPECOM_TYPE_STOP_REASON, PIPECOM_STOP_REASON_NONE,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:access:
   *
   * Who may send to the pipe: only its user (%PIPECOM_ACCESS_PRIVATE, the
   * default), the members of its group, or everyone. Takes effect at the
   * next pipecom_pipe_listen().
   *
   * A shared pipe must be named by a path (a name with a “/”) in a
   * directory that only the listener's user (or root, when the listener
   * runs as root) can write: pipecom_pipe_listen() fails with
   * %PIPECOM_ERROR_INVALID_PIPE for a simple name and with
   * %PIPECOM_ERROR_PERMISSION_DENIED for a directory others can write,
   * since senders of other users would refuse it, and for a group's pipe
   * in a set-group-ID directory of a group the listener is not a member
   * of, since it could not open its senders' channels. On Unix the FIFO is
   * made writable (never readable) by the group (0620) or by everyone
   * (0622), and the listener keeps a channel directory “PATH.d” (mode
   * 3730 or 1733) where senders create their private channels. On
   * Windows, sharing is not supported yet and pipecom_pipe_listen() fails
   * with %PIPECOM_ERROR_PERMISSION_DENIED.
   *
   * Senders are not authenticated: read the risks in #PipecomAccess.
   *
   * Since: 1.0
   */
  properties[PROP_ACCESS] =
    g_param_spec_enum ("access",
                       "Access",
                       "Who may send to the pipe",
                       PIPECOM_TYPE_ACCESS, PIPECOM_ACCESS_PRIVATE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:memory-budget:
   *
   * The most memory, in bytes, the pipe's connections together may hold
   * for partial incoming messages and for replies their senders have not
   * read yet; 0 means no limit. When a sender's bytes would exceed it, the
   * connection holding the most is dropped (its sender gets
   * %PIPECOM_ERROR_BUSY when it can be told, else sees the connection
   * closed), the one asking only if it holds the most, so that one sender
   * cannot make the listener grow past the budget, and a flood of partial
   * messages costs its senders their connections rather than the pipe its
   * other senders.
   *
   * A message is always allowed its whole size while it arrives: keep the
   * budget well above #PipecomPipe:max-message-size (a budget below it
   * refuses the messages it cannot hold). Once a message has arrived, it
   * belongs to the handlers and no longer counts. Besides, each connection
   * has a read buffer of #PipecomPipe:buffer-size bytes that does not
   * count.
   *
   * Takes effect at the next pipecom_pipe_listen().
   *
   * Since: 1.1
   */
  properties[PROP_MEMORY_BUDGET] =
    g_param_spec_uint64 ("memory-budget",
                         "Memory budget",
                         "Bytes all connections may hold for partial messages and unread replies (0: no limit)",
                         0, G_MAXUINT64, PIPECOM_DEFAULT_MEMORY_BUDGET,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:idle-timeout:
   *
   * Close a persistent connection (a #PipecomClient's) after this many
   * seconds with nothing partial, queued or unanswered on it; 0 means
   * never. Its sender sees the connection closed; a #PipecomClient connects
   * again at its next call. One-shot sends are not affected: their
   * connection ends with their answer.
   *
   * Independently of this, a listener that runs out of file descriptors
   * (or nearly: a few under `RLIMIT_NOFILE`) closes the persistent
   * connection idle the longest to serve a new sender, rather than
   * refusing it.
   *
   * Takes effect at the next pipecom_pipe_listen().
   *
   * Since: 1.1
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout",
                       "Idle timeout",
                       "Seconds before an idle persistent connection is closed (0: never)",
                       0, G_MAXUINT / 1000, PIPECOM_DEFAULT_IDLE_TIMEOUT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

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
  signals[MESSAGE_RECEIVED] =
    g_signal_new ("message-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  first_reply_accumulator, NULL,
                  marshal_STRING__OBJECT,
                  G_TYPE_STRING, 1, PIPECOM_TYPE_MESSAGE);
  g_signal_set_va_marshaller (signals[MESSAGE_RECEIVED], G_TYPE_FROM_CLASS (klass),
                              marshal_STRING__OBJECTv);

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
  signals[STOPPED] =
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
  signals[RESPONSE_ERROR] =
    g_signal_new ("response-error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
pipecom_pipe_init (PipecomPipe *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->die_code = g_strdup (PIPECOM_DEFAULT_DIE_CODE);
  self->buffer_size = DEFAULT_BUFFER_SIZE;
  self->max_message_size = PIPECOM_DEFAULT_MAX_MESSAGE_SIZE;
  self->memory_budget = PIPECOM_DEFAULT_MEMORY_BUDGET;
  self->idle_timeout = PIPECOM_DEFAULT_IDLE_TIMEOUT;
  self->connections = g_hash_table_new (NULL, NULL);
}

/**
 * pipecom_pipe_new:
 * @name: the name or path to listen on
 *
 * Creates a pipe that will listen on @name. See #PipecomPipe:name.
 *
 * Returns: (transfer full): a new #PipecomPipe
 *
 * Since: 1.0
 */
PipecomPipe *
pipecom_pipe_new (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  return g_object_new (PIPECOM_TYPE_PIPE, "name", name, NULL);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return self->timeout;
}

/**
 * pipecom_pipe_set_timeout:
 * @self: a #PipecomPipe
 * @timeout: seconds without a message before the pipe stops, 0 for never
 *
 * Sets #PipecomPipe:timeout. Takes effect when the pipe next listens.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_timeout (PipecomPipe *self,
                          guint        timeout)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  if (self->timeout == timeout)
    return;
  self->timeout = timeout;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return self->max_messages;
}

/**
 * pipecom_pipe_set_max_messages:
 * @self: a #PipecomPipe
 * @max_messages: the number of messages after which the pipe stops, 0 for no limit
 *
 * Sets #PipecomPipe:max-messages.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_max_messages (PipecomPipe *self,
                               guint        max_messages)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  if (self->max_messages == max_messages)
    return;
  self->max_messages = max_messages;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGES]);
}

/**
 * pipecom_pipe_get_die_code:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:die-code.
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
 * Sets #PipecomPipe:die-code.
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
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIE_CODE]);
}

/**
 * pipecom_pipe_get_response_pipe_name:
 * @self: a #PipecomPipe
 *
 * Gets #PipecomPipe:response-pipe-name.
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
 * Sets #PipecomPipe:response-pipe-name.
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
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESPONSE_PIPE_NAME]);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return self->buffer_size;
}

/**
 * pipecom_pipe_set_buffer_size:
 * @self: a #PipecomPipe
 * @buffer_size: the buffer size in bytes (at least 4096)
 *
 * Sets #PipecomPipe:buffer-size.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_buffer_size (PipecomPipe *self,
                              guint        buffer_size)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  buffer_size = CLAMP (buffer_size, 4096, 64 * 1024 * 1024);
  if (self->buffer_size == buffer_size)
    return;
  self->buffer_size = buffer_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUFFER_SIZE]);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return self->max_message_size;
}

/**
 * pipecom_pipe_set_max_message_size:
 * @self: a #PipecomPipe
 * @max_message_size: the largest accepted message in bytes, 0 for no limit
 *
 * Sets #PipecomPipe:max-message-size.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_max_message_size (PipecomPipe *self,
                                   guint        max_message_size)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  if (self->max_message_size == max_message_size)
    return;
  self->max_message_size = max_message_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return self->memory_budget;
}

/**
 * pipecom_pipe_set_memory_budget:
 * @self: a #PipecomPipe
 * @memory_budget: bytes all connections may hold for partial messages and
 *   unread replies, 0 for no limit
 *
 * Sets #PipecomPipe:memory-budget. Takes effect when the pipe next listens.
 *
 * Since: 1.1
 */
void
pipecom_pipe_set_memory_budget (PipecomPipe *self,
                                guint64      memory_budget)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  if (self->memory_budget == memory_budget)
    return;
  self->memory_budget = memory_budget;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEMORY_BUDGET]);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), 0);

  return self->idle_timeout;
}

/**
 * pipecom_pipe_set_idle_timeout:
 * @self: a #PipecomPipe
 * @idle_timeout: seconds after which an idle persistent connection is
 *   closed, 0 for never
 *
 * Sets #PipecomPipe:idle-timeout. Takes effect when the pipe next listens.
 *
 * Since: 1.1
 */
void
pipecom_pipe_set_idle_timeout (PipecomPipe *self,
                               guint        idle_timeout)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  idle_timeout = MIN (idle_timeout, G_MAXUINT / 1000);
  if (self->idle_timeout == idle_timeout)
    return;
  self->idle_timeout = idle_timeout;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
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
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), PIPECOM_ACCESS_PRIVATE);

  return self->access;
}

/**
 * pipecom_pipe_set_access:
 * @self: a #PipecomPipe
 * @access: who may send to the pipe
 *
 * Sets #PipecomPipe:access. Read its risks first.
 *
 * Since: 1.0
 */
void
pipecom_pipe_set_access (PipecomPipe   *self,
                         PipecomAccess  access)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));
  g_return_if_fail (access <= PIPECOM_ACCESS_EVERYONE);

  if (self->access == access)
    return;
  self->access = access;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCESS]);
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

  return g_atomic_int_get (&self->listening);
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
