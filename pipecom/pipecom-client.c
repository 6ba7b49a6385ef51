/* pipecom-client.c: persistent connections to a listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-private.h"

#ifdef G_OS_UNIX
#include <poll.h>
#endif

/**
 * SECTION:pipecom-client
 * @title: PipecomClient
 * @short_description: a persistent connection to a pipe
 *
 * A #PipecomClient keeps one private connection to the listener of a pipe
 * and sends any number of messages over it, each acknowledged by the
 * listener after its handler ran. Several asynchronous requests may be in
 * flight at once; each reply reaches the request it answers.
 *
 * The connection is made by pipecom_client_connect() or, lazily, by the
 * first message. If the listener goes away, messages in flight fail with
 * %PIPECOM_ERROR_CLOSED (they are never sent twice), and the next call
 * connects again.
 *
 * A listener closes a connection left idle for its #PipecomPipe:idle-timeout
 * with a goodbye (an `ERROR` frame with id 0 and code `CLOSED`, see
 * docs/protocol.md), after which it reads nothing more. A message written
 * just before the goodbye was then certainly not handled: the client sends
 * it again on a new connection, made as for the first message, instead of
 * failing it, and the call's #PipecomClient:timeout still counts from its
 * start. So an idle client's next call simply works, whether it comes after
 * the goodbye or races with it. Only the goodbye has this effect: any other
 * end of the connection fails the messages in flight as above. (Listeners
 * on Windows do not send the goodbye yet.)
 *
 * All methods may be called from any thread. Asynchronous calls complete in
 * the thread-default main context of the thread that started them.
 *
 * |[<!-- language="C" -->
 * g_autoptr(PipecomClient) client = pipecom_client_new ("my_pipe");
 * g_autoptr(GError) error = NULL;
 * g_autofree char *reply = NULL;
 *
 * pipecom_client_set_timeout (client, 5);
 * reply = pipecom_client_request (client, "status", NULL, &error);
 * ]|
 *
 * |[<!-- language="Python" -->
 * import pipecom
 *
 * client = pipecom.Client.new("my_pipe")
 * client.set_timeout(5)
 * reply = client.request("status", None)
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * const {Gio, Pipecom} = imports.gi;
 *
 * Gio._promisify(Pipecom.Client.prototype, 'request_async', 'request_finish');
 *
 * const client = Pipecom.Client.new('my_pipe');
 * client.set_timeout(5);
 * client.request_async('status', null).then(reply => print(reply));
 * ]|
 */

/* Whether the one-shot message @data goes inline in the announcement to
 * @path, or else by a channel: it must be within the inline budget, fit
 * there with the channel's path and hold no record magic
 * (_pipecom_announce_inline_allowed()). */
static gboolean
oneshot_inline_allowed (const char   *name,
                        const char   *path,
                        const guint8 *data,
                        gsize         size)
{
  return size <= PIPECOM_ANNOUNCE_INLINE_MAX &&
         _pipecom_announce_inline_allowed (data, size,
                                           _pipecom_transport_max_base_len (name, path));
}

typedef enum
{
  STATE_IDLE,
  STATE_CONNECTING,
  STATE_CONNECTED,
} ClientState;

typedef struct _Core Core;
typedef struct _Op Op;

typedef struct
{
  Core              *core;
  PipecomDial       *dial;        /* (owned) the transport's side of it */
  PipecomConnection *conn;        /* reading the reply channel before HELLO */
  gboolean           oneshot;
  Op                *inline_op;
  guint              attempts;
  guint              backoff_ms;
  gboolean           announced;
  gboolean           last_busy;
  GSource           *retry_source;
  GSource           *probe_source;
} Connector;

/* Worker-side state of a client: touched in the worker thread, and by a
 * synchronous call doing a direct exchange (client_run_direct()), both
 * holding @lock. */
struct _Core
{
  GRecMutex          lock;
  GMainContext      *worker;
  char              *name;
  char              *path;
  guint              max_attempts;
  gboolean           oneshot;
  ClientState        state;
  Connector         *connector;
  PipecomConnection *conn;
  GHashTable        *pending;      /* id → Op */
  Op                *direct_op;    /* (nullable) sent by a direct exchange, not in @pending */
  GQueue             waiting;      /* Op, before the connection is up */
  guint32            next_id;
  guint64            max_size;
  gint               connected;    /* atomic, read by the client */
  PipecomOneshotResume resume;     /* one-shot: what was tried before */
};

struct _Op
{
  Core         *core;
  PipecomClient *client;       /* (owned) keeps the core alive */
  gboolean      detached;
  GTask        *task;          /* (owned) */
  GBytes       *payload;       /* (owned) (nullable): NULL for connect */
  guint32       id;
  guint         timeout;
  gint64        deadline;      /* monotonic µs the call must end by, 0: from @timeout */
  gboolean      sent;
  GSource      *timer;         /* (owned) (nullable) */
  GSource      *cancel_source; /* (owned) (nullable) */
  struct _DirectWait *direct;  /* (nullable) a direct exchange instead of @task:
                                * then on its caller's stack, @payload borrowed */
};

typedef struct _DirectWait
{
  gboolean  done;
  gboolean  resend;   /* the listener said goodbye: take the slow path */
  GBytes   *reply;    /* (owned) (nullable) */
  GError   *error;    /* (owned) (nullable) */
} DirectWait;

/**
 * PipecomClient:
 *
 * A persistent connection to the listener of a pipe. Its fields are
 * private.
 *
 * Since: 1.0
 */
struct _PipecomClient
{
  GObject       parent_instance;

  char         *pipe_name;
  char         *path;          /* (nullable) resolved lazily */
  GMutex        lock;
  guint         timeout;
  guint         max_attempts;
  gboolean      oneshot;
  Core         *core;          /* (owned) lives in the worker */
};

G_DEFINE_FINAL_TYPE (PipecomClient, pipecom_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PIPE_NAME,
  PROP_TIMEOUT,
  PROP_MAX_ATTEMPTS,
  PROP_CONNECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void connector_attempt (Connector *connector);
static void connector_backoff (Connector *connector, gboolean busy);
static const PipecomConnectionFuncs connector_funcs;
static void core_connection_closed (Core *core, const GError *error);
static void connector_fail (Connector *connector, GError *error);
static void core_start_connecting (Core *core, Op *first);
static void core_goodbye (Core *core);

/* ------------------------------------------------------------------ */
/* Ops                                                                 */

static void
op_free (Op *op)
{
  if (op->direct != NULL)
    return;  /* nothing of its own */

  if (op->timer)
    {
      g_source_destroy (op->timer);
      g_source_unref (op->timer);
    }
  if (op->cancel_source)
    {
      g_source_destroy (op->cancel_source);
      g_source_unref (op->cancel_source);
    }
  g_clear_pointer (&op->payload, g_bytes_unref);
  g_clear_object (&op->task);
  g_clear_object (&op->client);
  g_slice_free (Op, op);
}

static void connector_free (Connector *connector);

static void
core_abort_connecting_if_unused (Core *core)
{
  if (core->state == STATE_CONNECTING && g_queue_is_empty (&core->waiting) &&
      (core->connector->inline_op == NULL))
    {
      g_clear_pointer (&core->connector, connector_free);
      core->state = STATE_IDLE;
    }
}

/* Removes @op from wherever it is. */
static void
op_detach (Op *op)
{
  Core *core = op->core;

  if (op->detached)
    return;
  if (op->sent && core->direct_op == op)
    core->direct_op = NULL;
  else if (op->sent)
    g_hash_table_remove (core->pending, GUINT_TO_POINTER (op->id));
  else if (core->connector != NULL && core->connector->inline_op == op)
    core->connector->inline_op = NULL;
  else
    g_queue_remove (&core->waiting, op);
  op->detached = TRUE;
}

/* Completes the task of a detached @op and frees it. Takes @error. Callers
 * clean up (channel files included) before, since a sync caller may exit
 * as soon as the task returns. */
static void
op_return (Op      *op,
           GBytes  *reply,
           GError  *error)
{
  if (op->direct != NULL)
    {
      op->direct->done = TRUE;
      op->direct->reply = reply;
      op->direct->error = error;
    }
  else if (error != NULL)
    g_task_return_error (op->task, error);
  else
    g_task_return_pointer (op->task, reply, (GDestroyNotify) g_bytes_unref);

  op_free (op);
}

static void
op_complete (Op      *op,
             GBytes  *reply,
             GError  *error)
{
  op_detach (op);
  op_return (op, reply, error);
}

/* Fails every op of @core: pending replies, waiting for the connection,
 * and the one inside the announcement. */
static void
fail_all (Core         *core,
          const GError *error)
{
  GList *ops = NULL;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, core->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ops = g_list_prepend (ops, value);
  g_hash_table_remove_all (core->pending);
  if (core->direct_op != NULL)
    ops = g_list_prepend (ops, g_steal_pointer (&core->direct_op));
  while (!g_queue_is_empty (&core->waiting))
    ops = g_list_prepend (ops, g_queue_pop_tail (&core->waiting));
  if (core->connector != NULL && core->connector->inline_op != NULL)
    ops = g_list_prepend (ops, g_steal_pointer (&core->connector->inline_op));

  for (GList *l = ops; l; l = l->next)
    ((Op *) l->data)->detached = TRUE;
  for (GList *l = ops; l; l = l->next)
    op_complete (l->data, NULL, g_error_copy (error));
  g_list_free (ops);
}

static void
op_send (Op *op)
{
  Core *core = op->core;

  if (op->payload == NULL)
    {
      /* connect: done as soon as the connection is up */
      op_complete (op, NULL, NULL);
      return;
    }

  if (core->max_size > 0 && g_bytes_get_size (op->payload) > core->max_size)
    {
      op_complete (op, NULL,
                   g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE,
                                "Message of %zu bytes is larger than the %" G_GUINT64_FORMAT
                                " bytes the listener of “%s” accepts",
                                g_bytes_get_size (op->payload), core->max_size, core->name));
      return;
    }

  if (++core->next_id == 0)
    core->next_id = 1;
  op->id = core->next_id;
  op->sent = TRUE;

  /* A connection left direct by a synchronous call goes back to the worker
   * for an asynchronous one (see client_run_direct()). */
  if (op->direct != NULL)
    core->direct_op = op;
  else
    {
      g_hash_table_insert (core->pending, GUINT_TO_POINTER (op->id), op);
      _pipecom_connection_set_direct (core->conn, FALSE);
    }

  /* On failure the connection reports itself closed, failing the op. */
  _pipecom_connection_send (core->conn, PIPECOM_FRAME_MESSAGE, op->id, op->payload);
}

static GError *
connecting_error (Core *core, guint timeout)
{
  Connector *connector = core->connector;
  guint attempts = connector ? connector->attempts : 0;

  if (connector != NULL && connector->announced)
    return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                        "The listener of pipe “%s” (%s) did not accept the connection "
                        "within %u s", core->name, core->path, timeout);
  if (connector != NULL && connector->last_busy)
    return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_BUSY,
                        "Pipe “%s” (%s) stayed busy for %u s (%u attempt%s)",
                        core->name, core->path, timeout, attempts, attempts == 1 ? "" : "s");
  return g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED,
                      "No listener on pipe “%s” (%s) within %u s (%u attempt%s)",
                      core->name, core->path ? core->path : core->name, timeout, attempts,
                      attempts == 1 ? "" : "s");
}

static gboolean
op_timeout_cb_locked (gpointer data)
{
  Op *op = data;
  Core *core = op->core;
  GError *error;

  if (op->sent)
    error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                         "No answer from the listener of pipe “%s” (%s) within %u s",
                         core->name, core->path, op->timeout);
  else
    error = connecting_error (core, op->timeout);

  op_detach (op);
  core_abort_connecting_if_unused (core);
  op_return (op, NULL, error);
  return G_SOURCE_REMOVE;
}

static gboolean
op_timeout_cb (gpointer data)
{
  Core *core = ((Op *) data)->core;
  gboolean ret;

  g_rec_mutex_lock (&core->lock);
  ret = op_timeout_cb_locked (data);
  g_rec_mutex_unlock (&core->lock);
  return ret;
}

static gboolean
op_cancelled_cb_locked (GCancellable *cancellable,
                 gpointer      data)
{
  Op *op = data;
  Core *core = op->core;

  op_detach (op);
  core_abort_connecting_if_unused (core);
  op_return (op, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "Operation was cancelled"));
  return G_SOURCE_REMOVE;
}

static gboolean
op_cancelled_cb (GCancellable *cancellable,
                 gpointer      data)
{
  Core *core = ((Op *) data)->core;
  gboolean ret;

  g_rec_mutex_lock (&core->lock);
  ret = op_cancelled_cb_locked (cancellable, data);
  g_rec_mutex_unlock (&core->lock);
  return ret;
}

static gboolean
op_start_cb_locked (gpointer data)
{
  Op *op = data;
  Core *core = op->core;
  GCancellable *cancellable = g_task_get_cancellable (op->task);
  g_autoptr(GError) error = NULL;

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_task_return_new_error (op->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Operation was cancelled");
      op_free (op);
      return G_SOURCE_REMOVE;
    }

  if (core->path == NULL)
    {
      core->path = _pipecom_transport_resolve (core->name, &error);
      if (core->path == NULL)
        {
          g_task_return_error (op->task, g_steal_pointer (&error));
          op_free (op);
          return G_SOURCE_REMOVE;
        }
    }

  if (op->timeout > 0)
    {
      guint ms = op->timeout * 1000;

      if (op->deadline > 0)
        ms = (guint) CLAMP ((op->deadline - g_get_monotonic_time () + 999) / 1000, 0, ms);
      else if (core->resume.deadline > 0)
        ms = (guint) CLAMP ((core->resume.deadline - g_get_monotonic_time () + 999) / 1000, 0, ms);
      op->timer = g_timeout_source_new (ms);
      g_source_set_static_name (op->timer, "[pipecom] operation timeout");
      g_source_set_callback (op->timer, op_timeout_cb, op, NULL);
      g_source_attach (op->timer, core->worker);
    }

  if (cancellable != NULL)
    {
      op->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (op->cancel_source, G_SOURCE_FUNC (op_cancelled_cb), op, NULL);
      g_source_attach (op->cancel_source, core->worker);
    }

  g_mutex_lock (&op->client->lock);
  core->max_attempts = op->client->max_attempts;
  g_mutex_unlock (&op->client->lock);

  switch (core->state)
    {
    case STATE_CONNECTED:
      op_send (op);
      break;
    case STATE_CONNECTING:
      g_queue_push_tail (&core->waiting, op);
      break;
    case STATE_IDLE:
    default:
      core_start_connecting (core, op);
      break;
    }

  return G_SOURCE_REMOVE;
}

static gboolean
op_start_cb (gpointer data)
{
  Core *core = ((Op *) data)->core;
  gboolean ret;

  g_rec_mutex_lock (&core->lock);
  ret = op_start_cb_locked (data);
  g_rec_mutex_unlock (&core->lock);
  return ret;
}

/* @deadline: the monotonic time the call must end by, within its
 * timeout; 0: the timeout from now. */
static void
client_start_op_full (PipecomClient       *self,
                      gpointer             source_object,
                      GBytes              *payload,
                      gint64               deadline,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data,
                      gpointer             source_tag)
{
  Op *op = g_slice_new0 (Op);
  GSource *idle;

  op->core = self->core;
  op->client = g_object_ref (self);
  op->task = g_task_new (source_object, cancellable, callback, user_data);
  g_task_set_source_tag (op->task, source_tag);
  g_task_set_name (op->task, "[pipecom] message");
  op->payload = payload ? g_bytes_ref (payload) : NULL;
  g_mutex_lock (&self->lock);
  op->timeout = self->timeout;
  g_mutex_unlock (&self->lock);
  op->deadline = op->timeout > 0 ? deadline : 0;

  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_static_name (idle, "[pipecom] start operation");
  g_source_set_callback (idle, op_start_cb, op, NULL);
  g_source_attach (idle, self->core->worker);
  g_source_unref (idle);
}

static void
client_start_op (PipecomClient       *self,
                 gpointer             source_object,
                 GBytes              *payload,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data,
                 gpointer             source_tag)
{
  client_start_op_full (self, source_object, payload, 0, cancellable, callback, user_data,
                        source_tag);
}

/* ------------------------------------------------------------------ */
/* Frames from the listener                                            */

static void
core_set_connected (Core     *core,
                    gboolean  connected)
{
  g_atomic_int_set (&core->connected, connected);
}

typedef enum
{
  FRAME_ANSWER,      /* to a message: ACK, REPLY or ERROR */
  FRAME_REFUSAL,     /* ERROR with id 0: the connection was refused */
  FRAME_GOODBYE,     /* ERROR with id 0 and code CLOSED: after the HELLO, the
                      * listener's goodbye (before, a refusal) */
  FRAME_UNEXPECTED,
} FrameKind;

/* What a frame from the listener of @name says: for an answer, the reply
 * (ACK: none) or the handler's error; for a refusal or an unexpected frame,
 * the error to fail the connection with. */
static FrameKind
decode_frame (const char  *name,
              guint8       type,
              guint32      id,
              GBytes      *payload,
              GBytes     **reply,
              GError     **error)
{
  g_autofree char *text = NULL;
  guint32 code;

  *reply = NULL;
  *error = NULL;

  switch (type)
    {
    case PIPECOM_FRAME_ACK:
      return FRAME_ANSWER;
    case PIPECOM_FRAME_REPLY:
      *reply = g_bytes_ref (payload);
      return FRAME_ANSWER;
    case PIPECOM_FRAME_ERROR:
      text = _pipecom_error_payload_parse (payload, &code);
      if (id == 0)
        {
          *error = g_error_new (PIPECOM_ERROR, code,
                                "The listener of pipe “%s” refused the connection: %s",
                                name, text);
          return code == PIPECOM_ERROR_CLOSED ? FRAME_GOODBYE : FRAME_REFUSAL;
        }
      *error = g_error_new_literal (PIPECOM_ERROR, code, text);
      return FRAME_ANSWER;
    default:
      *error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                            "Unexpected frame of type %u from the listener of “%s”",
                            type, name);
      return FRAME_UNEXPECTED;
    }
}

static void
core_frame_cb (PipecomConnection *conn,
               guint8             type,
               guint32            id,
               GBytes            *payload,
               gpointer           user_data)
{
  Core *core = user_data;
  GBytes *reply;
  GError *error;
  Op *op;

  switch (decode_frame (core->name, type, id, payload, &reply, &error))
    {
    case FRAME_GOODBYE:
      if (core->state == STATE_CONNECTED)
        {
          g_debug ("Pipe “%s”: the listener said goodbye (%s): sending %u unanswered "
                   "message(s) again", core->name, error->message,
                   g_hash_table_size (core->pending) + (core->direct_op != NULL));
          g_error_free (error);
          core_goodbye (core);
          return;
        }
      G_GNUC_FALLTHROUGH;

    case FRAME_REFUSAL:
      if (core->state == STATE_CONNECTING)
        connector_fail (core->connector, error);
      else
        {
          core_connection_closed (core, error);
          g_error_free (error);
        }
      return;

    case FRAME_UNEXPECTED:
      fail_all (core, error);
      core_connection_closed (core, NULL);
      g_error_free (error);
      return;

    case FRAME_ANSWER:
    default:
      if (core->direct_op != NULL && core->direct_op->id == id)
        op = core->direct_op;
      else
        op = g_hash_table_lookup (core->pending, GUINT_TO_POINTER (id));
      if (op != NULL)
        op_complete (op, reply, error);
      else
        {
          /* timed out or cancelled meanwhile */
          g_clear_pointer (&reply, g_bytes_unref);
          g_clear_error (&error);
        }
      return;
    }
}

static gint
op_compare_id (gconstpointer a,
               gconstpointer b)
{
  guint32 ia = ((const Op *) a)->id, ib = ((const Op *) b)->id;

  return ia < ib ? -1 : ia > ib;
}

/* The listener's goodbye (docs/protocol.md, "Idle connections"): it closes
 * the connection and read nothing after its last answer, so no message
 * still without an answer was handled. They go again, in their order, on a
 * new connection, made as for the first message; their timeouts go on. A
 * direct exchange's message is handed back to its caller for that. */
static void
core_goodbye (Core *core)
{
  GList *ops = NULL;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, core->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ops = g_list_prepend (ops, value);
  g_hash_table_remove_all (core->pending);
  ops = g_list_sort (ops, op_compare_id);
  for (GList *l = g_list_last (ops); l != NULL; l = l->prev)
    {
      Op *op = l->data;

      op->sent = FALSE;
      g_queue_push_head (&core->waiting, op);
    }
  g_list_free (ops);

  if (core->direct_op != NULL)
    {
      Op *op = g_steal_pointer (&core->direct_op);

      op->sent = FALSE;
      op->detached = TRUE;
      op->direct->resend = TRUE;
      op->direct->done = TRUE;
    }

  core_connection_closed (core, NULL);
  if (!g_queue_is_empty (&core->waiting))
    core_start_connecting (core, NULL);
}

static void
core_closed_cb (PipecomConnection *conn,
                const GError      *error,
                gpointer           user_data)
{
  Core *core = user_data;
  g_autoptr(GError) closed = NULL;

  if (core->state == STATE_CONNECTING)
    {
      /* Closed before HELLO: the listener died or refused our channel.
       * Nothing was handled: announce again on a fresh channel. */
      Connector *connector = core->connector;

      g_clear_pointer (&connector->conn, _pipecom_connection_unref);
      _pipecom_dial_reset (connector->dial);
      connector->announced = FALSE;
      connector_attempt (connector);
      return;
    }

  closed = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                        "The listener of pipe “%s” (%s) closed the connection%s%s",
                        core->name, core->path, error ? ": " : "",
                        error ? error->message : "");
  core_connection_closed (core, closed);
}

static gboolean
release_conn_cb (gpointer data)
{
  return G_SOURCE_REMOVE;  /* the destroy notify drops the reference */
}

static void
core_connection_closed (Core         *core,
                        const GError *error)
{
  if (core->conn != NULL)
    {
      _pipecom_connection_close (core->conn);
      if (g_main_context_is_owner (core->worker))
        g_clear_pointer (&core->conn, _pipecom_connection_unref);
      else
        {
          /* A direct exchange closed it (a goodbye, a refusal): the
           * worker's dispatch of the connection may be waiting for the
           * core's lock right now, and must find it alive. Drop our
           * reference in the worker, after that dispatch. */
          GSource *source = g_idle_source_new ();

          g_source_set_priority (source, G_PRIORITY_DEFAULT);
          g_source_set_static_name (source, "[pipecom] release connection");
          g_source_set_callback (source, release_conn_cb, g_steal_pointer (&core->conn),
                                 (GDestroyNotify) _pipecom_connection_unref);
          g_source_attach (source, core->worker);
          g_source_unref (source);
        }
    }
  g_clear_pointer (&core->connector, connector_free);
  core->state = STATE_IDLE;
  core_set_connected (core, FALSE);
  if (error != NULL)
    fail_all (core, error);
}


/* ------------------------------------------------------------------ */
/* Connecting                                                          */

static void
connector_free (Connector *connector)
{
  if (connector->retry_source)
    {
      g_source_destroy (connector->retry_source);
      g_source_unref (connector->retry_source);
    }
  if (connector->probe_source)
    {
      g_source_destroy (connector->probe_source);
      g_source_unref (connector->probe_source);
    }
  if (connector->conn)
    {
      _pipecom_connection_close (connector->conn);
      _pipecom_connection_unref (connector->conn);
    }
  g_clear_pointer (&connector->dial, _pipecom_dial_free);
  g_slice_free (Connector, connector);
}

static void
connector_fail (Connector *connector,
                GError    *error)
{
  Core *core = connector->core;

  g_assert (core->connector == connector);

  /* Remove the channel files before any caller hears of the failure. */
  core->connector = NULL;
  core->state = STATE_IDLE;
  if (connector->inline_op != NULL)
    g_queue_push_head (&core->waiting, g_steal_pointer (&connector->inline_op));
  connector_free (connector);

  fail_all (core, error);
  g_error_free (error);
}

static gboolean
connector_retry_cb_locked (gpointer data)
{
  Connector *connector = data;

  g_clear_pointer (&connector->retry_source, g_source_unref);
  connector_attempt (connector);
  return G_SOURCE_REMOVE;
}

static gboolean
connector_retry_cb (gpointer data)
{
  Core *core = ((Connector *) data)->core;
  gboolean ret;

  g_rec_mutex_lock (&core->lock);
  ret = connector_retry_cb_locked (data);
  g_rec_mutex_unlock (&core->lock);
  return ret;
}

static gboolean
connector_probe_cb_locked (gpointer data)
{
  Connector *connector = data;

  if (connector->conn == NULL || !_pipecom_dial_lost (connector->dial, connector->conn))
    return G_SOURCE_CONTINUE;

  /* The listener that read our record is gone without answering: nothing
   * was handled, so announcing again is safe. */
  g_clear_pointer (&connector->probe_source, g_source_unref);
  g_clear_pointer (&connector->conn, _pipecom_connection_unref);
  _pipecom_dial_reset (connector->dial);
  connector->announced = FALSE;
  connector_attempt (connector);
  return G_SOURCE_REMOVE;
}

static gboolean
connector_probe_cb (gpointer data)
{
  Core *core = ((Connector *) data)->core;
  gboolean ret;

  g_rec_mutex_lock (&core->lock);
  ret = connector_probe_cb_locked (data);
  g_rec_mutex_unlock (&core->lock);
  return ret;
}

static void
connector_attempt (Connector *connector)
{
  Core *core = connector->core;
  GError *error = NULL;
  gboolean busy = FALSE;
  const guint8 *data = NULL;
  gsize size = 0;
  gboolean created;

  if (core->max_attempts > 0 && connector->attempts >= core->max_attempts)
    {
      if (connector->last_busy)
        error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_BUSY,
                             "Pipe “%s” (%s) was busy for all %u attempt%s",
                             core->name, core->path, connector->attempts,
                             connector->attempts == 1 ? "" : "s");
      else
        error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED,
                             "No listener on pipe “%s” (%s) after %u attempt%s",
                             core->name, core->path, connector->attempts,
                             connector->attempts == 1 ? "" : "s");
      connector_fail (connector, error);
      return;
    }

  connector->attempts++;

  if (connector->dial == NULL)
    connector->dial = _pipecom_dial_new (core->name, core->path, !connector->oneshot);

  if (connector->oneshot)
    data = g_bytes_get_data (connector->inline_op->payload, &size);

  created = connector->conn == NULL;
  switch (_pipecom_dial_attempt (connector->dial,
                                 connector->oneshot ? PIPECOM_ANNOUNCE_ONESHOT : PIPECOM_ANNOUNCE_CONNECT,
                                 data, size, &connector->conn, &connector_funcs, core,
                                 core->worker, &error))
    {
    case PIPECOM_DIAL_ANNOUNCED:
      connector->announced = TRUE;
      connector->last_busy = FALSE;
      if (created)
        {
          _pipecom_connection_set_lock (connector->conn, &core->lock);
          /* EPIPE: the listener's goodbye may wait to be read. */
          _pipecom_connection_set_read_to_eof (connector->conn);
        }
      connector->probe_source = g_timeout_source_new (100);
      g_source_set_static_name (connector->probe_source, "[pipecom] listener probe");
      g_source_set_callback (connector->probe_source, connector_probe_cb, connector, NULL);
      g_source_attach (connector->probe_source, core->worker);
      return;
    case PIPECOM_DIAL_BUSY:
      busy = TRUE;
      break;
    case PIPECOM_DIAL_ABSENT:
      break;
    case PIPECOM_DIAL_FAILED:
    default:
      connector_fail (connector, error);
      return;
    }

  connector_backoff (connector, busy);
}

/* The listener was absent or busy: back off and try again. */
static void
connector_backoff (Connector *connector,
                   gboolean   busy)
{
  Core *core = connector->core;

  connector->last_busy = busy;
  connector->backoff_ms = connector->backoff_ms ? MIN (connector->backoff_ms * 2, 250) : 5;

  if (core->max_attempts > 0 && connector->attempts >= core->max_attempts)
    {
      connector_attempt (connector);  /* reports the failure */
      return;
    }

  connector->retry_source = g_timeout_source_new (connector->backoff_ms);
  g_source_set_static_name (connector->retry_source, "[pipecom] connect retry");
  g_source_set_callback (connector->retry_source, connector_retry_cb, connector, NULL);
  g_source_attach (connector->retry_source, core->worker);
}

/* Checks a HELLO and gets the largest message the listener accepts. */
static gboolean
parse_hello (const char  *name,
             GBytes      *payload,
             guint64     *max_size,
             GError     **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);

  if (!_pipecom_decode_hello (data, size, max_size, NULL))
    {
      g_set_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                   "The listener of pipe “%s” speaks an unknown protocol version", name);
      return FALSE;
    }

  return TRUE;
}

static void
connector_hello (Connector *connector,
                 GBytes    *payload)
{
  Core *core = connector->core;
  g_autoptr(GError) error = NULL;

  if (!parse_hello (core->name, payload, &core->max_size, &error))
    {
      connector_fail (connector, g_steal_pointer (&error));
      return;
    }

  if (connector->probe_source != NULL)
    {
      g_source_destroy (connector->probe_source);
      g_clear_pointer (&connector->probe_source, g_source_unref);
    }

  if (!_pipecom_dial_established (connector->dial, connector->conn, &error))
    {
      connector_fail (connector, g_steal_pointer (&error));
      return;
    }

  core->conn = g_steal_pointer (&connector->conn);
  core->state = STATE_CONNECTED;
  core_set_connected (core, TRUE);
  core->next_id = 0;

  if (connector->inline_op != NULL)
    {
      Op *op = g_steal_pointer (&connector->inline_op);
      op->id = core->next_id = 1;
      op->sent = TRUE;
      g_hash_table_insert (core->pending, GUINT_TO_POINTER (op->id), op);
    }

  core->connector = NULL;
  connector_free (connector);

  while (!g_queue_is_empty (&core->waiting) && core->state == STATE_CONNECTED)
    op_send (g_queue_pop_head (&core->waiting));
}

static void
connector_frame_cb (PipecomConnection *conn,
                    guint8             type,
                    guint32            id,
                    GBytes            *payload,
                    gpointer           user_data)
{
  Core *core = user_data;

  if (core->state == STATE_CONNECTING && type == PIPECOM_FRAME_HELLO)
    connector_hello (core->connector, payload);
  else
    core_frame_cb (conn, type, id, payload, user_data);
}

static const PipecomConnectionFuncs connector_funcs = {
  connector_frame_cb,
  NULL,
  core_closed_cb,
};

static void
core_start_connecting (Core *core,
                       Op   *first)
{
  Connector *connector = g_slice_new0 (Connector);

  connector->core = core;
  core->connector = connector;
  core->state = STATE_CONNECTING;

  /* A one-shot message small enough travels inside the announcement.
   * Without @first, the ops wait already (see core_goodbye()). */
  if (first == NULL)
    ;
  else if (core->oneshot && first->payload != NULL &&
      oneshot_inline_allowed (core->name, core->path,
                              g_bytes_get_data (first->payload, NULL),
                              g_bytes_get_size (first->payload)))
    {
      connector->oneshot = TRUE;
      connector->inline_op = first;
    }
  else
    g_queue_push_tail (&core->waiting, first);

  /* Taking over from _pipecom_oneshot_direct(), which made the first
   * attempt. */
  if (core->resume.attempts > 0)
    {
      connector->attempts = core->resume.attempts;
      core->resume.attempts = 0;
      if (!core->resume.lost)
        {
          connector_backoff (connector, core->resume.busy);
          return;
        }
    }

  connector_attempt (connector);
}

/* ------------------------------------------------------------------ */
/* Core lifetime                                                       */

static Core *
core_new (PipecomClient *self)
{
  Core *core = g_slice_new0 (Core);

  g_rec_mutex_init (&core->lock);
  core->worker = _pipecom_worker_ref ();
  core->name = g_strdup (self->pipe_name);
  core->oneshot = self->oneshot;
  core->pending = g_hash_table_new (NULL, NULL);
  g_queue_init (&core->waiting);
  return core;
}

static gboolean
core_free_cb (gpointer data)
{
  Core *core = data;

  /* No op can be pending, and no direct exchange running: each holds a
   * reference to the client. */
  g_rec_mutex_lock (&core->lock);
  if (core->conn != NULL)
    {
      _pipecom_connection_close (core->conn);
      g_clear_pointer (&core->conn, _pipecom_connection_unref);
    }
  g_clear_pointer (&core->connector, connector_free);
  g_rec_mutex_unlock (&core->lock);

  g_rec_mutex_clear (&core->lock);
  g_hash_table_unref (core->pending);
  g_free (core->name);
  g_free (core->path);
  g_slice_free (Core, core);
  _pipecom_worker_unref ();

  return G_SOURCE_REMOVE;
}

static gboolean
core_close_cb_locked (gpointer data)
{
  PipecomClient *self = data;
  Core *core = self->core;
  g_autoptr(GError) error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                                         "The connection to pipe “%s” was closed",
                                         core->name);

  core_connection_closed (core, error);
  return G_SOURCE_REMOVE;
}

static gboolean
core_close_cb (gpointer data)
{
  Core *core = PIPECOM_CLIENT (data)->core;
  gboolean ret;

  g_rec_mutex_lock (&core->lock);
  ret = core_close_cb_locked (data);
  g_rec_mutex_unlock (&core->lock);
  return ret;
}

typedef struct
{
  PipecomClient *client;
  GMutex         lock;
  GCond          cond;
  gboolean       done;
} CloseWait;

static gboolean
close_wait_cb (gpointer data)
{
  CloseWait *wait = data;

  core_close_cb (wait->client);

  g_mutex_lock (&wait->lock);
  wait->done = TRUE;
  g_cond_signal (&wait->cond);
  g_mutex_unlock (&wait->lock);

  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
pipecom_client_constructed (GObject *object)
{
  PipecomClient *self = (PipecomClient *)object;

  G_OBJECT_CLASS (pipecom_client_parent_class)->constructed (object);

  _pipecom_init_once ();
  self->core = core_new (self);
}

static void
pipecom_client_finalize (GObject *object)
{
  PipecomClient *self = (PipecomClient *)object;
  GMainContext *worker = self->core->worker;
  GSource *source;

  /* Tear the worker-side state down in the worker, where it lives. No op
   * can be pending: each holds a reference to the client. */
  source = g_idle_source_new ();
  g_source_set_static_name (source, "[pipecom] free client");
  g_source_set_callback (source, core_free_cb, g_steal_pointer (&self->core), NULL);
  g_source_attach (source, worker);
  g_source_unref (source);

  g_free (self->pipe_name);
  g_free (self->path);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (pipecom_client_parent_class)->finalize (object);
}

static void
pipecom_client_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PipecomClient *self = PIPECOM_CLIENT (object);

  switch (prop_id)
    {
    case PROP_PIPE_NAME:
      g_value_set_string (value, self->pipe_name);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, pipecom_client_get_timeout (self));
      break;
    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, pipecom_client_get_max_attempts (self));
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, pipecom_client_get_connected (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_client_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PipecomClient *self = PIPECOM_CLIENT (object);

  switch (prop_id)
    {
    case PROP_PIPE_NAME:
      self->pipe_name = g_value_dup_string (value);
      break;
    case PROP_TIMEOUT:
      pipecom_client_set_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_ATTEMPTS:
      pipecom_client_set_max_attempts (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_client_class_init (PipecomClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pipecom_client_constructed;
  object_class->finalize = pipecom_client_finalize;
  object_class->get_property = pipecom_client_get_property;
  object_class->set_property = pipecom_client_set_property;

  /**
   * PipecomClient:pipe-name:
   *
   * The name of the pipe to talk to: a simple name in the per-user pipe
   * directory, or a path if it contains a “/”.
   *
   * Since: 1.0
   */
  properties[PROP_PIPE_NAME] =
    g_param_spec_string ("pipe-name",
                         "Pipe name",
                         "The name or path of the pipe to talk to",
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomClient:timeout:
   *
   * The time budget of each operation in seconds, connecting included;
   * 0 means no limit.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout",
                         "Timeout",
                         "Time budget of each operation in seconds (0: none)",
                       0, G_MAXUINT / 1000, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomClient:max-attempts:
   *
   * How many times to try to connect while the listener is absent or busy,
   * with a short backoff in between; 0 means no limit (within the timeout).
   *
   * Since: 1.0
   */
  properties[PROP_MAX_ATTEMPTS] =
    g_param_spec_uint ("max-attempts",
                         "Max attempts",
                         "Connection attempts while the listener is absent or busy (0: unlimited)",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomClient:connected:
   *
   * Whether the client currently has a connection to the listener. It may
   * be read from any thread; it is not notified, since it changes in the
   * client's I/O thread.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected",
                         "Connected",
                         "Whether the client has a connection",
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pipecom_client_init (PipecomClient *self)
{
  g_mutex_init (&self->lock);
}

/**
 * pipecom_client_new:
 * @pipe_name: the name or path of the pipe
 *
 * Creates a client for the pipe @pipe_name. Nothing is opened until
 * pipecom_client_connect() or the first message.
 *
 * Returns: (transfer full): a new #PipecomClient
 *
 * Since: 1.0
 */
PipecomClient *
pipecom_client_new (const char *pipe_name)
{
  g_return_val_if_fail (pipe_name != NULL, NULL);

  return g_object_new (PIPECOM_TYPE_CLIENT, "pipe-name", pipe_name, NULL);
}

/**
 * pipecom_client_get_pipe_name:
 * @self: a #PipecomClient
 *
 * Gets the name of the pipe the client talks to.
 *
 * Returns: the pipe name
 *
 * Since: 1.0
 */
const char *
pipecom_client_get_pipe_name (PipecomClient *self)
{
  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);

  return self->pipe_name;
}

/**
 * pipecom_client_get_timeout:
 * @self: a #PipecomClient
 *
 * Gets #PipecomClient:timeout.
 *
 * Returns: the time budget of each operation, in seconds (0: none)
 *
 * Since: 1.0
 */
guint
pipecom_client_get_timeout (PipecomClient *self)
{
  guint ret;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), 0);

  g_mutex_lock (&self->lock);
  ret = self->timeout;
  g_mutex_unlock (&self->lock);

  return ret;
}

/**
 * pipecom_client_set_timeout:
 * @self: a #PipecomClient
 * @timeout: seconds, 0 for no limit
 *
 * Sets #PipecomClient:timeout, the time budget of each later operation.
 *
 * Since: 1.0
 */
void
pipecom_client_set_timeout (PipecomClient *self,
                            guint          timeout)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));

  g_mutex_lock (&self->lock);
  changed = self->timeout != timeout;
  self->timeout = timeout;
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

/**
 * pipecom_client_get_max_attempts:
 * @self: a #PipecomClient
 *
 * Gets #PipecomClient:max-attempts.
 *
 * Returns: the maximum number of connection attempts (0: unlimited)
 *
 * Since: 1.0
 */
guint
pipecom_client_get_max_attempts (PipecomClient *self)
{
  guint ret;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), 0);

  g_mutex_lock (&self->lock);
  ret = self->max_attempts;
  g_mutex_unlock (&self->lock);

  return ret;
}

/**
 * pipecom_client_set_max_attempts:
 * @self: a #PipecomClient
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 *
 * Sets #PipecomClient:max-attempts.
 *
 * Since: 1.0
 */
void
pipecom_client_set_max_attempts (PipecomClient *self,
                                 guint          max_attempts)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));

  g_mutex_lock (&self->lock);
  changed = self->max_attempts != max_attempts;
  self->max_attempts = max_attempts;
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ATTEMPTS]);
}

/**
 * pipecom_client_get_connected:
 * @self: a #PipecomClient
 *
 * Gets whether the client has a connection to the listener right now.
 *
 * Returns: %TRUE if connected
 *
 * Since: 1.0
 */
gboolean
pipecom_client_get_connected (PipecomClient *self)
{
  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);

  return g_atomic_int_get (&self->core->connected);
}

static const char *
client_target_path (PipecomClient *self)
{
  const char *path;

  g_mutex_lock (&self->lock);
  if (self->path == NULL)
    self->path = _pipecom_transport_resolve (self->pipe_name, NULL);
  path = self->path;
  g_mutex_unlock (&self->lock);

  return path;
}

static GBytes *
op_finish (gpointer       source_object,
           GAsyncResult  *result,
           gboolean      *ok,
           GError       **error)
{
  GError *local_error = NULL;
  GBytes *ret;

  g_return_val_if_fail (g_task_is_valid (result, source_object), NULL);

  ret = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      *ok = FALSE;
      return NULL;
    }

  *ok = TRUE;
  return ret;
}


#ifdef G_OS_UNIX
/* The fast path of a synchronous call: when the client is connected and
 * idle, the calling thread does the exchange itself, with the core's lock
 * held (the worker's dispatch of this connection takes it too, so the two
 * never touch the fds at once). This saves two thread hand-offs per
 * message. Returns FALSE when the slow path must be taken: having done
 * nothing, or after the listener's goodbye (see core_goodbye()), which
 * means that it did not handle the message; @deadline is then when the
 * call must end (0: no limit, or nothing done). */
static gboolean
client_run_direct (PipecomClient  *self,
                   GBytes         *message,
                   GCancellable   *cancellable,
                   GBytes        **reply,
                   gboolean       *ok,
                   gint64         *resend_deadline,
                   GError        **error)
{
  Core *core = self->core;
  g_autoptr(PipecomConnection) conn = NULL;
  DirectWait wait = { FALSE, FALSE, NULL, NULL };
  GPollFD cancel_fd = { -1, 0, 0 };
  gint64 now = 0, deadline = -1;
  gboolean first = TRUE;
  guint timeout;
  Op direct_op = { NULL, };
  Op *op = &direct_op;

  g_mutex_lock (&self->lock);
  timeout = self->timeout;
  g_mutex_unlock (&self->lock);

  g_rec_mutex_lock (&core->lock);

  if (core->state != STATE_CONNECTED || core->conn == NULL || core->oneshot ||
      core->direct_op != NULL ||
      g_hash_table_size (core->pending) > 0 || !g_queue_is_empty (&core->waiting) ||
      (core->max_size > 0 && g_bytes_get_size (message) > core->max_size))
    {
      g_rec_mutex_unlock (&core->lock);
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_rec_mutex_unlock (&core->lock);
      *ok = FALSE;
      *reply = NULL;
      return TRUE;
    }

  conn = _pipecom_connection_ref (core->conn);
  if (timeout > 0)
    {
      now = g_get_monotonic_time ();
      deadline = now + (gint64) timeout * G_USEC_PER_SEC;
    }
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd))
    cancel_fd.events = G_IO_IN;

  _pipecom_connection_set_direct (conn, TRUE);

  op->core = core;
  op->payload = message;
  op->timeout = timeout;
  op->direct = &wait;
  op_send (op);

  while (!wait.done)
    {
      GPollFD fds[3];
      guint n_fds = 0;
      int in_fd, out_fd;
      gint wait_ms = -1;

      if (_pipecom_connection_is_closed (conn))
        {
          op_complete (op, NULL, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                                              "The listener of pipe “%s” (%s) closed the connection",
                                              core->name, core->path));
          break;
        }

      if (deadline >= 0)
        {
          gint64 left;

          if (!first)
            now = g_get_monotonic_time ();
          left = deadline - now;

          if (left <= 0)
            {
              op_complete (op, NULL, g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                                                  "No answer from the listener of pipe “%s” (%s) "
                                                  "within %u s", core->name, core->path, timeout));
              break;
            }
          wait_ms = (gint) MIN ((left + 999) / 1000, G_MAXINT);
        }

      _pipecom_connection_get_poll_fds (conn, &in_fd, &out_fd);
      fds[n_fds++] = (GPollFD) { in_fd, G_IO_IN, 0 };
      if (out_fd >= 0)
        fds[n_fds++] = (GPollFD) { out_fd, G_IO_OUT, 0 };
      if (cancel_fd.fd >= 0)
        fds[n_fds++] = cancel_fd;

      first = FALSE;
      if (g_poll (fds, n_fds, wait_ms) < 0)
        continue;  /* EINTR */

      if (cancel_fd.fd >= 0 && fds[n_fds - 1].revents != 0 &&
          g_cancellable_is_cancelled (cancellable))
        {
          op_complete (op, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                      "Operation was cancelled"));
          break;
        }

      if (out_fd >= 0 && fds[1].revents != 0)
        _pipecom_connection_flush (conn);
      if (fds[0].revents != 0)
        _pipecom_connection_pump (conn);
    }

  /* An idle connection stays direct for the next synchronous call:
   * switching back and forth would wake the worker up four times per call.
   * The worker still sees a hang-up (poll() reports it for an fd watched
   * for no events), and op_send() hands the connection back to it for an
   * asynchronous call. A call that failed, or left bytes to write, hands
   * it back at once. */
  if (wait.error != NULL || !_pipecom_connection_is_flushed (conn))
    _pipecom_connection_set_direct (conn, FALSE);
  g_rec_mutex_unlock (&core->lock);

  if (cancel_fd.fd >= 0)
    g_cancellable_release_fd (cancellable);

  if (wait.resend)
    {
      *resend_deadline = MAX (deadline, 0);
      return FALSE;
    }

  *reply = wait.reply;
  *ok = wait.error == NULL;
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return TRUE;
}
#endif

/* Runs one operation synchronously: directly when possible, otherwise as
 * in _pipecom_sync_wait_begin(). */
static GBytes *
client_run_sync (PipecomClient  *self,
                 GBytes         *message,
                 GCancellable   *cancellable,
                 gpointer        source_tag,
                 gboolean       *ok,
                 GError        **error)
{
  PipecomSyncWait wait;
  const char *path = client_target_path (self);
  gint64 deadline = 0;
  GBytes *ret;

#ifdef G_OS_UNIX
  /* Polls the connection's fds itself; on Windows, the worker does all
   * overlapped I/O. */
  if (message != NULL && !_pipecom_registry_is_served_here (path) &&
      client_run_direct (self, message, cancellable, &ret, ok, &deadline, error))
    return ret;
#endif

  _pipecom_sync_wait_begin (&wait, path);
  client_start_op_full (self, self, message, deadline, cancellable, _pipecom_sync_wait_cb, &wait,
                        source_tag);
  _pipecom_sync_wait_run (&wait);
  ret = op_finish (self, wait.result, ok, error);
  _pipecom_sync_wait_end (&wait);

  return ret;
}

/**
 * pipecom_client_connect_async:
 * @self: a #PipecomClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when connected, or on failure
 * @user_data: (closure): data for @callback
 *
 * Connects to the listener, retrying while it is absent or busy within
 * #PipecomClient:max-attempts and #PipecomClient:timeout. Does nothing if
 * already connected.
 *
 * Since: 1.0
 */
void
pipecom_client_connect_async (PipecomClient       *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  client_start_op (self, self, NULL, cancellable, callback, user_data,
                   pipecom_client_connect_async);
}

/**
 * pipecom_client_connect_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_connect_async().
 *
 * Returns: %TRUE if connected
 *
 * Since: 1.0
 */
gboolean
pipecom_client_connect_finish (PipecomClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);

  reply = op_finish (self, result, &ok, error);
  return ok;
}

/**
 * pipecom_client_connect:
 * @self: a #PipecomClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Synchronously connects to the listener. See
 * pipecom_client_connect_async().
 *
 * Returns: %TRUE if connected
 *
 * Since: 1.0
 */
gboolean
pipecom_client_connect (PipecomClient  *self,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), FALSE);

  reply = client_run_sync (self, NULL, cancellable, pipecom_client_connect, &ok, error);
  return ok;
}

/**
 * pipecom_client_send_bytes_async:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the listener handled the message
 * @user_data: (closure): data for @callback
 *
 * Sends @message, connecting first if needed, and completes once the
 * listener's handlers ran.
 *
 * Since: 1.0
 */
void
pipecom_client_send_bytes_async (PipecomClient       *self,
                                 GBytes              *message,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  client_start_op (self, self, message, cancellable, callback, user_data,
                   pipecom_client_send_bytes_async);
}

/**
 * pipecom_client_send_bytes_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_send_bytes_async().
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send_bytes_finish (PipecomClient  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);

  reply = op_finish (self, result, &ok, error);
  return ok;
}

/**
 * pipecom_client_send_bytes:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends @message and waits until the listener handled it.
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send_bytes (PipecomClient  *self,
                           GBytes         *message,
                           GCancellable   *cancellable,
                           GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), FALSE);

  reply = client_run_sync (self, message, cancellable, pipecom_client_send_bytes, &ok, error);
  return ok;
}

/**
 * pipecom_client_send_async:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the listener handled the message
 * @user_data: (closure): data for @callback
 *
 * Sends the string @message (without its trailing NUL). See
 * pipecom_client_send_bytes_async().
 *
 * Since: 1.0
 */
void
pipecom_client_send_async (PipecomClient       *self,
                           const char          *message,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  bytes = g_bytes_new (message, strlen (message));
  client_start_op (self, self, bytes, cancellable, callback, user_data,
                   pipecom_client_send_async);
}

/**
 * pipecom_client_send_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_send_async().
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send_finish (PipecomClient  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  return pipecom_client_send_bytes_finish (self, result, error);
}

/**
 * pipecom_client_send:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends the string @message and waits until the listener handled it.
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send (PipecomClient  *self,
                     const char     *message,
                     GCancellable   *cancellable,
                     GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  bytes = g_bytes_new (message, strlen (message));
  return pipecom_client_send_bytes (self, bytes, cancellable, error);
}

/**
 * pipecom_client_request_bytes_async:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called with the listener's reply
 * @user_data: (closure): data for @callback
 *
 * Sends @message and completes with the reply of the listener's handler.
 *
 * Since: 1.0
 */
void
pipecom_client_request_bytes_async (PipecomClient       *self,
                                    GBytes              *message,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  client_start_op (self, self, message, cancellable, callback, user_data,
                   pipecom_client_request_bytes_async);
}

/**
 * pipecom_client_request_bytes_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_request_bytes_async().
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
GBytes *
pipecom_client_request_bytes_finish (PipecomClient  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);

  return op_finish (self, result, &ok, error);
}

/**
 * pipecom_client_request_bytes:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends @message and waits for the reply of the listener's handler.
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
GBytes *
pipecom_client_request_bytes (PipecomClient  *self,
                              GBytes         *message,
                              GCancellable   *cancellable,
                              GError        **error)
{
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);
  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), NULL);

  return client_run_sync (self, message, cancellable, pipecom_client_request_bytes, &ok, error);
}

/**
 * pipecom_client_request_async:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called with the listener's reply
 * @user_data: (closure): data for @callback
 *
 * Sends the string @message and completes with the handler's reply.
 *
 * Since: 1.0
 */
void
pipecom_client_request_async (PipecomClient       *self,
                              const char          *message,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  bytes = g_bytes_new (message, strlen (message));
  client_start_op (self, self, bytes, cancellable, callback, user_data,
                   pipecom_client_request_async);
}

/**
 * pipecom_client_request_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_request_async(). A reply that contains a NUL
 * byte is cut there; use pipecom_client_request_bytes() for binary replies.
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
char *
pipecom_client_request_finish (PipecomClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);

  bytes = op_finish (self, result, &ok, error);
  return _pipecom_bytes_to_string (bytes);
}

/**
 * pipecom_client_request:
 * @self: a #PipecomClient
 * @message: the message text
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends the string @message and waits for the handler's reply.
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
char *
pipecom_client_request (PipecomClient  *self,
                        const char     *message,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) reply = NULL;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);
  g_return_val_if_fail (message != NULL, NULL);

  bytes = g_bytes_new (message, strlen (message));
  reply = pipecom_client_request_bytes (self, bytes, cancellable, error);
  return _pipecom_bytes_to_string (reply);
}

/**
 * pipecom_client_close:
 * @self: a #PipecomClient
 *
 * Closes the connection. Operations in flight fail with
 * %PIPECOM_ERROR_CLOSED; a later call connects again.
 *
 * The connection is closed when this returns: #PipecomClient:connected is
 * %FALSE. The callbacks of the failed operations run later, as usual, in
 * the thread-default main contexts of their callers.
 *
 * Since: 1.0
 */
void
pipecom_client_close (PipecomClient *self)
{
  CloseWait wait = { self, { 0 }, { 0 }, FALSE };
  GSource *source;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));

  /* The connection lives in the worker thread: close it there, and wait,
   * as nothing of the caller's runs in the worker that could hold it up. */
  if (g_main_context_is_owner (self->core->worker))
    {
      core_close_cb (self);
      return;
    }

  g_mutex_init (&wait.lock);
  g_cond_init (&wait.cond);

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_static_name (source, "[pipecom] close client");
  g_source_set_callback (source, close_wait_cb, &wait, NULL);
  g_source_attach (source, self->core->worker);
  g_source_unref (source);

  g_mutex_lock (&wait.lock);
  while (!wait.done)
    g_cond_wait (&wait.cond, &wait.lock);
  g_mutex_unlock (&wait.lock);

  g_mutex_clear (&wait.lock);
  g_cond_clear (&wait.cond);
}

#ifdef G_OS_UNIX
typedef struct
{
  const char  *name;
  PipecomDial *dial;
  gboolean     hello;
  gboolean     done;
  GBytes      *reply;   /* (owned) (nullable) */
  GError      *error;   /* (owned) (nullable) */
} OneshotDirect;

static void
oneshot_direct_finish (OneshotDirect *od,
                       GBytes        *reply,
                       GError        *error)
{
  od->done = TRUE;
  od->reply = reply;
  od->error = error;
}

static void
oneshot_direct_frame_cb (PipecomConnection *conn,
                         guint8             type,
                         guint32            id,
                         GBytes            *payload,
                         gpointer           user_data)
{
  OneshotDirect *od = user_data;
  GBytes *reply;
  GError *error = NULL;
  guint64 max_size;

  if (od->done)
    return;

  if (!od->hello && type == PIPECOM_FRAME_HELLO)
    {
      if (parse_hello (od->name, payload, &max_size, &error) &&
          _pipecom_dial_established (od->dial, conn, &error))
        od->hello = TRUE;
      else
        oneshot_direct_finish (od, NULL, error);
      return;
    }

  switch (decode_frame (od->name, type, id, payload, &reply, &error))
    {
    case FRAME_ANSWER:
      if (!od->hello || id != 1)
        {
          g_clear_pointer (&reply, g_bytes_unref);
          g_clear_error (&error);
          error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_PROTOCOL,
                               "Unexpected answer to message %u from the listener of “%s”",
                               id, od->name);
        }
      oneshot_direct_finish (od, reply, error);
      return;
    case FRAME_GOODBYE:  /* a listener never closes a one-shot connection for idling */
    case FRAME_REFUSAL:
    case FRAME_UNEXPECTED:
    default:
      oneshot_direct_finish (od, NULL, error);
      return;
    }
}

static const PipecomConnectionFuncs oneshot_direct_funcs = {
  oneshot_direct_frame_cb,
  NULL,
  NULL,
};

/* The fast path of the synchronous one-shot calls: the calling thread
 * announces the message (inline) and reads the listener's HELLO and answer
 * itself, on a connection without a source. Going through the worker
 * instead costs two thread hand-offs, a #GTask and five sources per call,
 * five times the instructions of the exchange itself (bench/README.md).
 *
 * It covers the common case, one announcement that is answered, and
 * returns %TRUE with the outcome in @ok, @reply and @error. It returns
 * %FALSE when the engine must go on: the message does not fit inline, the
 * listener is served by this thread's own context, or it was absent, busy,
 * or went away before its HELLO; then nothing was delivered, and @resume
 * says what was tried. */
gboolean
_pipecom_oneshot_direct (const char            *pipe_name,
                         const char            *path,
                         GBytes                *message,
                         guint                  timeout,
                         GCancellable          *cancellable,
                         PipecomOneshotResume  *resume,
                         gboolean              *ok,
                         GBytes               **reply,
                         GError               **error)
{
  OneshotDirect od = { pipe_name, NULL, FALSE, FALSE, NULL, NULL };
  g_autoptr(PipecomConnection) conn = NULL;
  GError *local_error = NULL;
  GPollFD cancel_fd = { -1, 0, 0 };
  gint64 next_probe;
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);

  *resume = (PipecomOneshotResume) { 0, FALSE, FALSE, 0 };

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      *ok = FALSE;
      *reply = NULL;
      return TRUE;
    }

  if (!oneshot_inline_allowed (pipe_name, path, data, size) ||
      _pipecom_registry_is_served_here (path))
    return FALSE;

  _pipecom_init_once ();
  if (timeout > 0)
    resume->deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;

  od.dial = _pipecom_dial_new (pipe_name, path, FALSE);
  resume->attempts = 1;

  switch (_pipecom_dial_attempt (od.dial, PIPECOM_ANNOUNCE_ONESHOT, data, size, &conn,
                                 &oneshot_direct_funcs, &od, NULL, &local_error))
    {
    case PIPECOM_DIAL_ANNOUNCED:
      break;
    case PIPECOM_DIAL_BUSY:
      resume->busy = TRUE;
      _pipecom_dial_free (od.dial);
      return FALSE;
    case PIPECOM_DIAL_ABSENT:
      _pipecom_dial_free (od.dial);
      return FALSE;
    case PIPECOM_DIAL_FAILED:
    default:
      _pipecom_dial_free (od.dial);
      *ok = FALSE;
      *reply = NULL;
      g_propagate_error (error, local_error);
      return TRUE;
    }

  /* Waits as the engine does: checking every 100 ms, until the HELLO, that
   * the listener that read the record still lives. */
  next_probe = g_get_monotonic_time () + 100 * 1000;
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd))
    cancel_fd.events = G_IO_IN;

  while (!od.done)
    {
      struct pollfd pfd[2] = { { -1, POLLIN, 0 }, { cancel_fd.fd, POLLIN, 0 } };
      gint64 now, until;
      int out_fd;

      if (g_cancellable_is_cancelled (cancellable))
        {
          /* Given up: the listener may have handled the message, but no
           * answer will come. */
          g_cancellable_set_error_if_cancelled (cancellable, &local_error);
          oneshot_direct_finish (&od, NULL, local_error);
          break;
        }

      if (_pipecom_connection_is_closed (conn))
        {
          if (!od.hello)
            {
              /* The listener dropped the channel without a HELLO: nothing
               * was handled, the engine announces again. */
              resume->lost = TRUE;
              break;
            }
          oneshot_direct_finish (&od, NULL,
                                 g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_CLOSED,
                                              "The listener of pipe “%s” (%s) closed the connection",
                                              pipe_name, path));
          break;
        }

      now = g_get_monotonic_time ();
      if (resume->deadline > 0 && now >= resume->deadline)
        {
          if (od.hello)
            local_error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                                       "No answer from the listener of pipe “%s” (%s) within %u s",
                                       pipe_name, path, timeout);
          else
            local_error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT,
                                       "The listener of pipe “%s” (%s) did not accept the "
                                       "connection within %u s", pipe_name, path, timeout);
          oneshot_direct_finish (&od, NULL, local_error);
          break;
        }

      if (!od.hello && now >= next_probe)
        {
          if (_pipecom_dial_lost (od.dial, conn))
            {
              resume->lost = TRUE;
              break;
            }
          next_probe = now + 100 * 1000;
        }

      until = od.hello ? resume->deadline : next_probe;
      if (resume->deadline > 0)
        until = MIN (until, resume->deadline);

      _pipecom_connection_get_poll_fds (conn, &pfd[0].fd, &out_fd);
      if (poll (pfd, cancel_fd.fd >= 0 ? 2 : 1,
                until > 0 ? (int) MIN ((MAX (until - now, 0) + 999) / 1000, G_MAXINT) : -1) > 0 &&
          pfd[0].revents != 0)
        _pipecom_connection_pump (conn);
    }

  if (cancel_fd.fd >= 0)
    g_cancellable_release_fd (cancellable);
  _pipecom_connection_close (conn);
  _pipecom_dial_free (od.dial);  /* removes the channel files, if still there */

  if (!od.done)
    return FALSE;

  *ok = od.error == NULL;
  *reply = od.reply;
  if (od.error != NULL)
    g_propagate_error (error, od.error);
  return TRUE;
}
#endif

/* The one-shot functions: a private client whose first message travels in
 * the announcement when it fits. The task has no source object. @path is
 * the resolved @pipe_name when the caller already has it, or %NULL. */
void
_pipecom_client_oneshot_async (const char                 *pipe_name,
                               const char                 *path,
                               GBytes                     *message,
                               guint                       timeout,
                               guint                       max_attempts,
                               const PipecomOneshotResume *resume,
                               GCancellable               *cancellable,
                               GAsyncReadyCallback         callback,
                               gpointer                    user_data,
                               gpointer                    source_tag)
{
  g_autoptr(PipecomClient) client = NULL;

  client = g_object_new (PIPECOM_TYPE_CLIENT,
                         "pipe-name", pipe_name,
                         "timeout", timeout,
                         "max-attempts", max_attempts,
                         NULL);
  client->core->oneshot = TRUE;
  if (path != NULL)
    client->core->path = g_strdup (path);  /* already resolved by the caller */
  if (resume != NULL)
    client->core->resume = *resume;
  client_start_op (client, NULL, message, cancellable, callback, user_data, source_tag);
}

GBytes *
_pipecom_client_op_finish (GAsyncResult  *result,
                           gboolean      *ok,
                           GError       **error)
{
  return op_finish (NULL, result, ok, error);
}
