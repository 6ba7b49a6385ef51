/* pipecom-private.h: internal interfaces shared by the library's units
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "pipecom.h"
#include "pipecom-protocol.h"

G_BEGIN_DECLS

/* What a listener allows each connection (docs/protocol.md, "Limits"):
 * a partial frame or a queue of replies must move PIPECOM_MIN_PROGRESS_BYTES
 * (or be done) every PIPECOM_CONNECTION_DEADLINE_USEC, or the peer is
 * dropped; so is one that does not read its replies once
 * PIPECOM_MAX_QUEUED_BYTES wait to be written. The variables hold the
 * values in force; only tests change them. */
#define PIPECOM_CONNECTION_DEADLINE_USEC (30 * G_USEC_PER_SEC)
#define PIPECOM_MIN_PROGRESS_BYTES       (64 * 1024)
#define PIPECOM_MAX_QUEUED_BYTES         (16 * 1024 * 1024)

extern gint64 _pipecom_connection_deadline_usec;
extern gsize  _pipecom_min_progress_bytes;
extern gsize  _pipecom_max_queued_bytes;

/* Defaults of PipecomPipe:memory-budget and PipecomPipe:idle-timeout. */
#define PIPECOM_DEFAULT_MEMORY_BUDGET    (G_GUINT64_CONSTANT (256) * 1024 * 1024)
#define PIPECOM_DEFAULT_IDLE_TIMEOUT     300

/* A listener's memory budget: the bytes of incoming partial frames and of
 * queued, unwritten replies of all its connections together (see
 * pipecom-connection-budget.c). A charge that would exceed it drops the
 * connection holding the most, the charging one only if it is that one.
 * The connections charging one budget must all be dispatched by one
 * thread (a listener's serving thread); the counters may be read from any. */
typedef struct _PipecomBudget PipecomBudget;

PipecomBudget *_pipecom_budget_new      (guint64        limit);
PipecomBudget *_pipecom_budget_ref      (PipecomBudget *budget);
void           _pipecom_budget_unref    (PipecomBudget *budget);
guint64        _pipecom_budget_get_used (PipecomBudget *budget);
guint64        _pipecom_budget_get_peak (PipecomBudget *budget);

/* The most the budget of @pipe's current (or last) listening session held
 * at once (for tests). */
guint64        _pipecom_pipe_get_memory_peak (PipecomPipe *pipe);

/* How long a stopping listener waits for pending replies and forwards. */
#define PIPECOM_STOP_GRACE_USEC (5 * G_USEC_PER_SEC)

#include "pipecom-transport.h"


/* ---- In-process registry of listeners (same-thread sync sends) ---- */

void          _pipecom_registry_add     (const char   *path,
                                         GMainContext *context);
void          _pipecom_registry_remove  (const char   *path);
GMainContext *_pipecom_registry_lookup  (const char   *path);

/* ---- The worker thread that runs client I/O ---- */

GMainContext *_pipecom_worker_ref       (void);
void          _pipecom_worker_unref     (void);

/* ---- Sync-over-async helper ---- */

typedef struct
{
  GMainContext *context;
  GAsyncResult *result;
  gboolean      pushed;
} PipecomSyncWait;

void          _pipecom_sync_wait_begin  (PipecomSyncWait *wait,
                                         const char      *target_path);
void          _pipecom_sync_wait_run    (PipecomSyncWait *wait);
void          _pipecom_sync_wait_end    (PipecomSyncWait *wait);
gboolean      _pipecom_registry_is_served_here (const char *target_path);
void          _pipecom_sync_wait_cb     (GObject         *object,
                                         GAsyncResult    *result,
                                         gpointer         user_data);

/* A reply as a string, cut at its first NUL byte if any. Any thread. */
static inline char *
_pipecom_bytes_to_string (GBytes *bytes)
{
  gsize size;
  const char *data;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  return g_strndup (data ? data : "", size);
}

G_END_DECLS
