/* pipecom-listener-private.h: the listening engine of PipecomPipe
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * A listening pipe is served in one main context, its serving context:
 * the thread-default context of the thread that called
 * pipecom_pipe_listen(), or the context of the pipe's own thread for a
 * #PipecomPipe:threaded pipe (created by _pipecom_listener_start() and
 * joined by _pipecom_listener_reap_thread()). Every callback of the
 * intake and of the connections, every source of the stop sequence, and
 * so every signal emission (::message-received, ::stopped,
 * ::response-error, notify) runs there, in that thread.
 *
 * Functions of this header run in the serving thread, holding no lock,
 * except:
 *  - _pipecom_listener_start(): in the thread calling
 *    pipecom_pipe_listen(), while the pipe is not listening;
 *  - _pipecom_listener_request_stop() and _pipecom_pipe_deliver_reply():
 *    from any thread; they hand the work to the serving context (through
 *    g_main_context_invoke_full()) unless called in it;
 *  - _pipecom_listener_finish_stop (self, FALSE) from dispose, and
 *    _pipecom_listener_reap_thread() from finalize or listen(), when no
 *    other thread serves the pipe any more.
 * self->lock protects the settable properties (which the accessors in
 * pipecom-pipe-properties.c read and write from any thread), the budget
 * pointer and self->context (read by pipecom_pipe_stop() and
 * _pipecom_pipe_deliver_reply() in any thread); the serving thread takes
 * it to read the properties it applies: once per message (die-code,
 * max-messages), per new connection (buffer-size, max-message-size), per
 * reply when there is a response pipe (response-pipe-name: whether there
 * is one, self->has_response_pipe, is atomic and read without the lock),
 * and at listen() for the rest (timeout, access, memory-budget,
 * idle-timeout). No callback runs under it.
 * self->cond signals the end of listening to pipecom_pipe_run(). */

#pragma once

#include "pipecom-transport.h"
#include "pipecom-message-private.h"
#include "pipecom-enums.h"

G_BEGIN_DECLS

/* Defaults of PipecomPipe:memory-budget and PipecomPipe:idle-timeout. */
#define PIPECOM_DEFAULT_MEMORY_BUDGET    (G_GUINT64_CONSTANT (256) * 1024 * 1024)
#define PIPECOM_DEFAULT_IDLE_TIMEOUT     300

/* How long a stopping listener waits for pending replies and forwards. */
#define PIPECOM_STOP_GRACE_USEC (5 * G_USEC_PER_SEC)

/* The most the budget of @pipe's current (or last) listening session held
 * at once (for tests). Any thread. */
guint64        _pipecom_pipe_get_memory_peak (PipecomPipe *pipe);

/* Defines the signals of PipecomPipe (pipecom-pipe-signals.c); called by
 * its class_init only. */
void           _pipecom_pipe_class_add_signals (PipecomPipeClass *klass);

/* The flags the listener keeps on its connections
 * (_pipecom_connection_set_owner_flags()): whether it is a one-shot, and
 * whether it is in self->connections. */
#define CONN_ONESHOT 1
#define CONN_LISTED  2

/* Whether @conn is one of its pipe's connections, and a one-shot one. */
static inline gboolean
_pipecom_listener_is_listed_oneshot (PipecomConnection *conn)
{
  return (_pipecom_connection_get_owner_flags (conn) & (CONN_LISTED | CONN_ONESHOT)) ==
         (CONN_LISTED | CONN_ONESHOT);
}

/* The life of a listening session, and its stop sequence. Only
 * _pipecom_listener_set_state() changes it, in the serving thread (or in
 * listen() and dispose, when nobody serves the pipe); any thread may read
 * it.
 *
 *   IDLE ─┐
 *         ├─ listen() ─▶ LISTENING ─ max-messages ─▶ LIMITED
 * STOPPED ┘                  │                          │
 *                     begin_stop()               begin_stop()
 *                            ▼                          ▼
 *                        STOPPING ─ drain ─▶ DRAINING ─ max-messages ─▶ CLOSING
 *                            └────────── drain ─┐ │ drained      drain ─┘ │
 *                                               ▼ ▼                      ▼
 *                                             FLUSHING ◀───── drained ───┘
 *                                                 │ answered and written,
 *                                                 ▼ or the grace period
 *                                              STOPPED
 *
 * Each state from LISTENING to FLUSHING also goes to STOPPED when the
 * pipe is disposed. Messages are handled in LISTENING and DRAINING only,
 * refused in the others; new senders are accepted in LISTENING and
 * LIMITED only. */
typedef enum
{
  PIPECOM_LISTENER_IDLE,       /* never listened */
  PIPECOM_LISTENER_LISTENING,  /* serving */
  PIPECOM_LISTENER_LIMITED,    /* max-messages reached: the stop begins once
                                * the message that reached it is handled */
  PIPECOM_LISTENER_STOPPING,   /* senders refused, the drain to come */
  PIPECOM_LISTENER_DRAINING,   /* handling what senders wrote before the stop */
  PIPECOM_LISTENER_CLOSING,    /* stopping after max-messages: no more
                                * messages, the drain to come or under way */
  PIPECOM_LISTENER_FLUSHING,   /* reading stopped: waiting for the answers,
                                * forwards and writes, or the grace period */
  PIPECOM_LISTENER_STOPPED,    /* stopped: may listen again */
} PipecomListenerState;

struct _PipecomPipe
{
  GObject            parent_instance;

  /* configuration */
  char              *name;
  char              *path;             /* (nullable) set by listen() */
  GMutex             lock;             /* protects the settable properties, budget, context, run() */
  GCond              cond;
  GThread           *handling_thread;  /* (atomic) (nullable) in handle_message() */
  GThread           *serve_thread;     /* (atomic) (nullable) in _pipecom_listener_serve() */
  gint               has_response_pipe;  /* (atomic) response_pipe_name != NULL, set under lock */
  gboolean           threaded;         /* construct-only */

  /* the settable properties: read and written under lock only */
  guint              timeout;
  guint              max_messages;
  char              *die_code;         /* (owned) (nullable) */
  char              *response_pipe_name;  /* (owned) (nullable) */
  guint              buffer_size;
  guint              max_message_size;
  guint64            memory_budget;
  guint              idle_timeout;
  PipecomAccess      access;
  char             **allowed_users;    /* (owned) (nullable) */

  /* state readable from any thread */
  gint               state;            /* atomic PipecomListenerState */
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
  guint              serving_timeout;  /* timeout, as of listen() */
  PipecomAccess      serving_access;   /* the access of this listening session */
  PipecomUserSet    *serving_users;    /* (owned) (nullable) allowed-users, as of listen() */
  GSource           *inactivity_source;
  GSource           *drain_source;
  GSource           *grace_source;
  GSource           *recheck_source;
  GQueue             connections;      /* of PipecomConnection, by their owner links */
  guint              pending;          /* messages handed out, not answered */
  guint              forwards;         /* replies being forwarded */
  PipecomStopReason  reason;
  PipecomClient     *response_client;  /* (owned) (nullable) */
  PipecomMessage    *spare_message;    /* (owned) (nullable) for the next message */
  guint8            *spare_inline;     /* (owned) (nullable) see _pipecom_listener_handle_inline() */
  gboolean           inline_kept;      /* a handler kept an inline payload */
};

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
  PROP_ALLOWED_USERS,
  N_PROPS
};

enum {
  MESSAGE_RECEIVED,
  STOPPED,
  RESPONSE_ERROR,
  AUTHORIZE,
  N_SIGNALS
};

extern GParamSpec *_pipecom_pipe_properties[N_PROPS];
extern guint       _pipecom_pipe_signals[N_SIGNALS];

/* pipecom-listener-state.c */
void     _pipecom_listener_set_state        (PipecomPipe          *self,
                                             PipecomListenerState  state);

static inline PipecomListenerState
_pipecom_listener_get_state (PipecomPipe *self)
{
  return (PipecomListenerState) g_atomic_int_get (&self->state);
}

/* Whether @self is listening: from listen() to the end of its stop. Any
 * thread. */
static inline gboolean
_pipecom_listener_is_listening (PipecomPipe *self)
{
  PipecomListenerState state = _pipecom_listener_get_state (self);

  return state != PIPECOM_LISTENER_IDLE && state != PIPECOM_LISTENER_STOPPED;
}

/* Whether @self's stop has begun and not ended. */
static inline gboolean
_pipecom_listener_is_stopping (PipecomPipe *self)
{
  PipecomListenerState state = _pipecom_listener_get_state (self);

  return state >= PIPECOM_LISTENER_STOPPING && state <= PIPECOM_LISTENER_FLUSHING;
}

gboolean _pipecom_listener_start            (PipecomPipe       *self,
                                             GError           **error);
void     _pipecom_listener_request_stop     (PipecomPipe       *self);
void     _pipecom_listener_begin_stop       (PipecomPipe       *self,
                                             PipecomStopReason  reason);
void     _pipecom_listener_check_stop_done  (PipecomPipe       *self);
void     _pipecom_listener_finish_stop      (PipecomPipe       *self,
                                             gboolean           emit);
void     _pipecom_listener_reap_thread      (PipecomPipe       *self);

/* pipecom-listener-dispatch.c */
gboolean _pipecom_listener_first_reply_accumulator (GSignalInvocationHint *hint,
                                                    GValue                *return_accu,
                                                    const GValue          *handler_return,
                                                    gpointer               data);
void     _pipecom_listener_marshal_STRING__OBJECT  (GClosure              *closure,
                                                    GValue                *return_value,
                                                    guint                  n_param_values,
                                                    const GValue          *param_values,
                                                    gpointer               invocation_hint,
                                                    gpointer               marshal_data);
void     _pipecom_listener_marshal_STRING__OBJECTv (GClosure              *closure,
                                                    GValue                *return_value,
                                                    gpointer               instance,
                                                    va_list                args,
                                                    gpointer               marshal_data,
                                                    int                    n_params,
                                                    GType                 *param_types);
void     _pipecom_listener_send_error       (PipecomConnection *conn,
                                             guint32            id,
                                             PipecomError       code,
                                             const char        *text);
void     _pipecom_listener_reset_inactivity (PipecomPipe       *self);
void     _pipecom_listener_handle_message   (PipecomPipe       *self,
                                             PipecomConnection *conn,
                                             guint32            id,
                                             GBytes            *payload);
void     _pipecom_listener_handle_inline    (PipecomPipe       *self,
                                             PipecomConnection *conn,
                                             const guint8      *data,
                                             gsize              len);
void     _pipecom_listener_serve            (PipecomPipe       *self,
                                             GMainContext      *context);

G_END_DECLS
