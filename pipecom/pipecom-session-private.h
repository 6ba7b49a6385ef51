/* pipecom-session-private.h: the client session, one connection to a listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* Thread and main-context contract
 *
 * A #PipecomSession is the engine behind a #PipecomClient and behind the
 * one-shot calls: it connects (pipecom-session-connect.c), sends each
 * request with an id, matches the listener's answers to them and finishes
 * the requests (pipecom-session.c).
 *
 * - Its state lives in the client worker thread (_pipecom_worker_ref()):
 *   every source of a session (connection, timers, probes, retries,
 *   cancellation) is attached to @worker and runs there, holding @lock.
 * - _pipecom_session_new(), _pipecom_session_ref(), _pipecom_session_unref(),
 *   _pipecom_session_start(), _pipecom_session_run_sync(),
 *   _pipecom_session_close() and _pipecom_session_get_connected() may be
 *   called from any thread. The last unref frees the session in the worker.
 * - _pipecom_session_start() completes its #GTask, so its callback runs in
 *   the thread-default main context of the thread that called it.
 * - _pipecom_session_run_sync() may do the exchange in the calling thread
 *   (the direct path, where _pipecom_transport_drives_directly()), with
 *   @lock held, so that the worker's dispatch of the same connection
 *   waits; else it waits for the worker.
 * - A one-shot session (pipecom-oneshot.c) has no @worker until it is first
 *   started: a synchronous call first runs one in the calling thread, on
 *   its stack (_pipecom_session_init_direct()), with a direct connector
 *   (no sources, one attempt) and a connection without a source, waited
 *   on with _pipecom_connection_wait(); the same functions then connect,
 *   match the answer and finish the request as in the worker. No other
 *   thread ever sees that one: what it could not finish goes to a new
 *   session, which has @lock once it joins the worker.
 * - Every other function here is internal to the session's files and is
 *   called with @lock held, in the worker or in a caller doing a direct
 *   exchange, or in the only thread that can see a one-shot session not
 *   yet started.
 * - The _pipecom_session_error_*() helpers only build errors, and
 *   _pipecom_session_inline_allowed() only computes: any thread.
 */

#pragma once

#include "pipecom-transport.h"

G_BEGIN_DECLS

/* How often, until its HELLO, a dialler checks that the listener that read
 * its announcement still lives. */
#define PIPECOM_SESSION_PROBE_MS 100

typedef enum
{
  PIPECOM_SESSION_IDLE,
  PIPECOM_SESSION_CONNECTING,
  PIPECOM_SESSION_CONNECTED,
} PipecomSessionState;

typedef struct _PipecomSession PipecomSession;
typedef struct _PipecomSessionOp PipecomSessionOp;
typedef struct _PipecomSessionDirectWait PipecomSessionDirectWait;

typedef struct
{
  PipecomSession    *session;
  PipecomDial       *dial;        /* (owned) the transport's side of it */
  PipecomConnection *conn;        /* reading the reply channel before HELLO */
  gboolean           oneshot;
  PipecomSessionOp  *inline_op;
  guint              attempts;
  guint              backoff_ms;
  gboolean           announced;
  gboolean           last_busy;
  GSource           *retry_source;
  GSource           *probe_source;
  gboolean           direct;      /* driven by its caller's thread (a one-shot
                                   * call's direct path): no sources; what
                                   * would wait sets @handoff instead */
  gboolean           handoff;     /* direct: the worker must go on */
  gboolean           lost;        /* direct: the listener went away before its HELLO */
} PipecomConnector;

/* What the direct path of a synchronous one-shot call tried before it
 * left the call to the worker (nothing was delivered). */
typedef struct
{
  guint    attempts;   /* attempts made; 0: none, the rest is unused */
  gboolean busy;       /* the last one found the pipe busy */
  gboolean lost;       /* the listener went away before its HELLO */
  gint64   deadline;   /* monotonic µs the call must end by, 0: none */
} PipecomSessionResume;

/* Worker-side state of a client: touched in the worker thread, and by a
 * synchronous call doing a direct exchange (_pipecom_session_run_sync()),
 * both holding @lock. */
struct _PipecomSession
{
  gint                 ref_count;    /* atomic */
  GRecMutex            lock;         /* made with @worker: a one-shot's when first started */
  GMainContext        *worker;       /* (nullable) only for a one-shot session never started */
  const char          *name;         /* in the session's block, after it */
  char                *path;
  guint                max_attempts;
  gboolean             oneshot;
  PipecomSessionState  state;
  PipecomConnector    *connector;    /* (nullable) in @connector_block: there is one at most */
  PipecomConnection   *conn;
  GHashTable          *pending;      /* (nullable) id → PipecomSessionOp, made on the first
                                      * insertion (_pipecom_session_add_pending()) */
  PipecomSessionOp    *direct_op;    /* (nullable) sent by a direct exchange, not in @pending */
  GQueue               waiting;      /* PipecomSessionOp, before the connection is up */
  guint32              next_id;
  guint64              max_size;
  gint                 connected;    /* atomic, read by the client */
  PipecomSessionResume resume;       /* one-shot: what its direct path tried */
  PipecomConnector     connector_block;  /* a one-shot connects for every message */
};

struct _PipecomSessionOp
{
  PipecomSession *session;       /* (owned), borrowed by a direct exchange */
  gboolean        detached;
  GTask          *task;          /* (owned) */
  GBytes         *payload;       /* (owned) (nullable): NULL for connect */
  guint32         id;
  guint           timeout;
  guint           max_attempts;
  gint64          deadline;      /* monotonic µs the call must end by, 0: from @timeout */
  gboolean        sent;
  GSource        *timer;         /* (owned) (nullable) */
  GSource        *cancel_source; /* (owned) (nullable) */
  PipecomSessionDirectWait *direct;  /* (nullable) a direct exchange instead of @task:
                                      * then on its caller's stack, @payload borrowed */
  gboolean        fits_inline;   /* one-shot: @payload is known to go inline
                                  * (_pipecom_session_inline_allowed()) */
};

struct _PipecomSessionDirectWait
{
  gboolean  done;
  gboolean  resend;   /* the listener said goodbye: take the slow path */
  GBytes   *reply;    /* (owned) (nullable) */
  GError   *error;    /* (owned) (nullable) */
};

typedef enum
{
  PIPECOM_SESSION_FRAME_ANSWER,      /* to a message: ACK, REPLY or ERROR */
  PIPECOM_SESSION_FRAME_REFUSAL,     /* ERROR with id 0: the connection was refused */
  PIPECOM_SESSION_FRAME_GOODBYE,     /* ERROR with id 0 and code CLOSED: after the HELLO, the
                                      * listener's goodbye (before, a refusal) */
  PIPECOM_SESSION_FRAME_UNEXPECTED,
} PipecomSessionFrame;

/* ---- Any thread ---- */

PipecomSession *_pipecom_session_new           (const char          *name,
                                                char                *path,
                                                gboolean             oneshot);
void            _pipecom_session_init_direct   (PipecomSession      *session,
                                                const char          *name,
                                                char                *path);
void            _pipecom_session_clear_direct  (PipecomSession      *session);
PipecomSession *_pipecom_session_ref           (PipecomSession      *session);
void            _pipecom_session_unref         (PipecomSession      *session);
void            _pipecom_session_start         (PipecomSession      *session,
                                                gpointer             source_object,
                                                GBytes              *payload,
                                                guint                timeout,
                                                guint                max_attempts,
                                                gint64               deadline,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data,
                                                gpointer             source_tag);
GBytes         *_pipecom_session_run_sync      (PipecomSession      *session,
                                                const char          *path,
                                                GBytes              *message,
                                                guint                timeout,
                                                guint                max_attempts,
                                                GCancellable        *cancellable,
                                                gpointer             source_object,
                                                gpointer             source_tag,
                                                gboolean            *ok,
                                                GError             **error);
GBytes         *_pipecom_session_op_finish     (gpointer             source_object,
                                                GAsyncResult        *result,
                                                gboolean            *ok,
                                                GError             **error);
void            _pipecom_session_close         (PipecomSession      *session);
gboolean        _pipecom_session_get_connected (PipecomSession      *session);

/* Every error text of the session, written once. */
GError *_pipecom_session_error_cancelled    (void);
GError *_pipecom_session_error_closed       (const char   *name,
                                             const char   *path,
                                             const GError *cause);
GError *_pipecom_session_error_no_answer    (const char   *name,
                                             const char   *path,
                                             guint         timeout);
GError *_pipecom_session_error_not_accepted (const char   *name,
                                             const char   *path,
                                             guint         timeout);

/* ---- With the session's lock held ---- */

void     _pipecom_session_add_pending       (PipecomSession    *session,
                                             PipecomSessionOp  *op);
guint    _pipecom_session_n_pending         (PipecomSession    *session);
GList   *_pipecom_session_take_pending      (PipecomSession    *session);
void     _pipecom_session_op_send           (PipecomSessionOp  *op);
void     _pipecom_session_op_timeout        (PipecomSessionOp  *op);
void     _pipecom_session_op_cancel         (PipecomSessionOp  *op);
void     _pipecom_session_op_complete       (PipecomSessionOp  *op,
                                             GBytes            *reply,
                                             GError            *error);
void     _pipecom_session_fail_all          (PipecomSession    *session,
                                             const GError      *error);
void     _pipecom_session_set_connected     (PipecomSession    *session,
                                             gboolean           connected);
void     _pipecom_session_connection_closed (PipecomSession    *session,
                                             const GError      *error);
void     _pipecom_session_frame_cb          (PipecomConnection *conn,
                                             guint8             type,
                                             guint32            id,
                                             GBytes            *payload,
                                             gpointer           user_data);
void     _pipecom_session_closed_cb         (PipecomConnection *conn,
                                             const GError      *error,
                                             gpointer           user_data);
PipecomSessionFrame _pipecom_session_decode_frame (const char  *name,
                                                   guint8       type,
                                                   guint32      id,
                                                   GBytes      *payload,
                                                   GBytes     **reply,
                                                   GError     **error);
gboolean _pipecom_session_parse_hello       (const char        *name,
                                             const guint8      *data,
                                             gsize              size,
                                             guint64           *max_size,
                                             GError           **error);

/* pipecom-session-connect.c */
gboolean _pipecom_session_inline_allowed    (const char        *name,
                                             const char        *path,
                                             const guint8      *data,
                                             gsize              size);
void     _pipecom_session_start_connecting  (PipecomSession    *session,
                                             PipecomSessionOp  *first);
void     _pipecom_connector_free            (PipecomConnector  *connector);
void     _pipecom_connector_fail            (PipecomConnector  *connector,
                                             GError            *error);
void     _pipecom_connector_reannounce      (PipecomConnector  *connector);
gboolean _pipecom_connector_check_lost      (PipecomConnector  *connector);

/* pipecom-session-sync.c: the one place a caller's thread waits for I/O */
void     _pipecom_session_run_direct_op     (PipecomSession    *session,
                                             PipecomSessionOp  *op,
                                             PipecomConnection *conn,
                                             GCancellable      *cancellable,
                                             gint64             deadline,
                                             gint64             now);

G_END_DECLS
