/* pipecom-transport.h: the transport seam, between the portable code and
 * a platform
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "pipecom.h"
#include "pipecom-protocol.h"

G_BEGIN_DECLS

/* Everything the portable code (pipe, client, send, the engine) knows of a
 * platform: resolving a name, listening (an intake and its peers), dialling,
 * and the framed I/O of one connection. Implemented by unix/ (FIFOs) and
 * win32/ (named pipes), one of them per build; the framing itself is
 * portable (pipecom-connection.c, behind pipecom-connection-private.h).
 * Nothing here depends on the platform: what does lives in
 * unix/pipecom-unix-private.h and win32/pipecom-win32-private.h.
 *
 * Threads and main contexts:
 * - _pipecom_init_once(), the _pipecom_transport_resolve*() functions,
 *   _pipecom_transport_check_resolved() and
 *   _pipecom_transport_max_base_len() may be called from any thread.
 * - An intake is used by the thread that serves its pipe (the one that
 *   dispatches the #GMainContext given to _pipecom_intake_start()); its
 *   funcs run there, and a #PipecomPeer is valid only during
 *   funcs->announce.
 * - A dial is used by one thread at a time: the client worker, or a caller
 *   doing a synchronous exchange itself.
 * - A connection is dispatched in the #GMainContext it was made or attached
 *   in, and its funcs run there; besides, the thread that owns a connection
 *   without a source, or one in direct mode, drives it with
 *   _pipecom_connection_pump(), _pipecom_connection_flush() and
 *   _pipecom_connection_wait(), its funcs then running in that thread.
 *   Only the references are thread-safe (atomic): drop them anywhere. */

/* Called once per process before the first use of a transport. */
void      _pipecom_init_once            (void);

typedef struct _PipecomConnection PipecomConnection;
typedef struct _PipecomConnectionFuncs PipecomConnectionFuncs;

/* ---- What the platform allows ---- */

/* Whether the thread that owns a connection can drive it itself: accept
 * or dial it without a context and attach it later
 * (_pipecom_connection_attach()), or wait on it in a direct exchange
 * (_pipecom_connection_wait()). TRUE on Unix; on Windows a connection's
 * source, in the worker's or the listener's context, does all its
 * overlapped I/O. Any thread. */
gboolean  _pipecom_transport_drives_directly (void);

/* Whether a connection's source sees the peer's end (a hang-up) on an fd
 * it watches for no events, as it does while a thread drives the
 * connection directly: Linux's poll() reports POLLHUP whatever was asked
 * for; GLib's select()-based poll on macOS (BROKEN_POLL) reports only
 * what was asked for. Where not, an idle connection must be watched for
 * input to see its end. Any thread. */
gboolean  _pipecom_transport_sees_unwatched_hangup (void);

/* Whether the peer on @conn, a listener's connection, is the listener's
 * own user: on Unix, the owner of its channel files (unknown is not); on
 * Windows always, the pipe's DACL letting in no other user (but SYSTEM).
 * The serving thread. */
gboolean  _pipecom_transport_peer_is_self (PipecomConnection *conn);

/* ---- Names: the platform path of a pipe name ---- */

char     *_pipecom_transport_resolve    (const char  *name,
                                         GError     **error);
/* For a caller that tries the path at once: resolves as
 * _pipecom_transport_resolve() does, but for the checks that only explain
 * why the pipe cannot be opened (on Unix, that the directory of a path
 * exists and can be reached). The caller runs those with
 * _pipecom_transport_check_resolved(), and reports their error instead of
 * anything else, before doing anything but trying the path, and after a
 * try that did not reach a listener's pipe. */
char     *_pipecom_transport_resolve_to_open (const char  *name,
                                              GError     **error);
gboolean  _pipecom_transport_check_resolved  (const char  *name,
                                              const char  *path,
                                              GError     **error);
gsize     _pipecom_transport_max_base_len (const char *name,
                                           const char *path);

/* Listening side: an intake reports each announced sender (a peer) to
 * funcs->announce, which accepts or refuses it before returning. */
typedef struct _PipecomIntake PipecomIntake;
typedef struct _PipecomPeer PipecomPeer;

typedef struct
{
  void (*announce) (PipecomPeer         *peer,
                    guint8               version,
                    PipecomAnnounceKind  kind,
                    const guint8        *inline_data,
                    gsize                inline_len,
                    gpointer             user_data);
  void (*failed)   (GError              *error,
                    gpointer             user_data);
  /* Out of file descriptors, or about to be: close the longest-idle
   * connection, if any, and return whether one was. May be NULL. */
  gboolean (*reclaim) (gpointer          user_data);
} PipecomIntakeFuncs;

PipecomIntake     *_pipecom_intake_new       (const char               *name,
                                              const char               *path,
                                              guint                     buffer_size,
                                              PipecomAccess             access,
                                              const PipecomIntakeFuncs *funcs,
                                              gpointer                  user_data,
                                              GError                  **error);
void               _pipecom_intake_start     (PipecomIntake            *intake,
                                              GMainContext             *context);
void               _pipecom_intake_unpublish (PipecomIntake            *intake);
void               _pipecom_intake_close     (PipecomIntake            *intake);
void               _pipecom_intake_free      (PipecomIntake            *intake);
PipecomConnection *_pipecom_peer_accept      (PipecomPeer              *peer,
                                              PipecomAnnounceKind       kind,
                                              guint                     buffer_size,
                                              guint64                   max_frame,
                                              const PipecomConnectionFuncs *funcs,
                                              gpointer                  user_data,
                                              GMainContext             *context);
void               _pipecom_peer_refuse      (PipecomPeer              *peer,
                                              PipecomError              code,
                                              const char               *text);

/* Connecting side: one dial per connection attempt sequence. Its @name
 * and @path must outlive it: they are the session's, which frees its dial
 * first, and a platform may keep them without a copy. */
typedef struct _PipecomDial PipecomDial;

typedef enum
{
  PIPECOM_DIAL_ANNOUNCED,
  PIPECOM_DIAL_ABSENT,
  PIPECOM_DIAL_BUSY,
  PIPECOM_DIAL_FAILED,
} PipecomDialResult;

PipecomDial       *_pipecom_dial_new         (const char               *name,
                                              const char               *path,
                                              gboolean                  duplex);
PipecomDialResult  _pipecom_dial_attempt     (PipecomDial              *dial,
                                              PipecomAnnounceKind       kind,
                                              const guint8             *inline_data,
                                              gsize                     inline_len,
                                              PipecomConnection       **conn,
                                              const PipecomConnectionFuncs *funcs,
                                              gpointer                  user_data,
                                              GMainContext             *context,
                                              GError                  **error);
gboolean           _pipecom_dial_lost        (PipecomDial              *dial,
                                              PipecomConnection        *conn);
void               _pipecom_dial_reset       (PipecomDial              *dial);
gboolean           _pipecom_dial_established (PipecomDial              *dial,
                                              PipecomConnection        *conn,
                                              GError                  **error);
void               _pipecom_dial_free        (PipecomDial              *dial);

/* ---- A framed connection ----
 *
 * Frames over a pair of non-blocking fds on Unix (unix/pipecom-unix-io.c),
 * over one overlapped pipe handle on Windows (win32/pipecom-win32-io.c);
 * the framing, limits and budget are portable. Made by
 * _pipecom_peer_accept() and _pipecom_dial_attempt(). */

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

struct _PipecomConnectionFuncs
{
  void (*frame)    (PipecomConnection *conn,
                    guint8             type,
                    guint32            id,
                    GBytes            *payload,
                    gpointer           user_data);
  void (*oversize) (PipecomConnection *conn,
                    guint8             type,
                    guint32            id,
                    guint64            length,
                    gpointer           user_data);
  void (*closed)   (PipecomConnection *conn,
                    const GError      *error,
                    gpointer           user_data);
  /* (optional) The connection's first frame, when small (see
   * pipecom-connection-read.c), in place: returns whether it took it,
   * else it goes to frame as any other. */
  gboolean (*first_frame) (PipecomConnection *conn,
                           guint8             type,
                           guint32            id,
                           const guint8      *data,
                           gsize              len,
                           gpointer           user_data);
};

PipecomConnection *_pipecom_connection_ref         (PipecomConnection *conn);
void               _pipecom_connection_unref       (PipecomConnection *conn);
gboolean           _pipecom_connection_send        (PipecomConnection *conn,
                                                    guint8             type,
                                                    guint32            id,
                                                    GBytes            *payload);
gboolean           _pipecom_connection_send_data   (PipecomConnection *conn,
                                                    guint8             type,
                                                    guint32            id,
                                                    const void        *data,
                                                    gsize              len);
void               _pipecom_connection_pump        (PipecomConnection *conn);
void               _pipecom_connection_set_limits  (PipecomConnection *conn,
                                                    gint64             deadline,
                                                    gsize              max_queued,
                                                    const char        *open_path);
void               _pipecom_connection_set_budget  (PipecomConnection *conn,
                                                    PipecomBudget     *budget);
void               _pipecom_connection_set_idle_timeout (PipecomConnection *conn,
                                                         gint64             timeout);
void               _pipecom_connection_add_unanswered (PipecomConnection *conn,
                                                       gint               delta);
gint64             _pipecom_connection_get_idle_since (PipecomConnection *conn);
void               _pipecom_connection_set_owner_flags (PipecomConnection *conn,
                                                        guint              flags);
guint              _pipecom_connection_get_owner_flags (PipecomConnection *conn);
GList             *_pipecom_connection_get_owner_link (PipecomConnection *conn);
void               _pipecom_connection_say_goodbye (PipecomConnection *conn,
                                                    char              *text);

/* For tests only: when set, called by a listener's connection at idle
 * expiry, after its last read and before its goodbye, in the thread that
 * dispatches it. */
extern void (*_pipecom_idle_goodbye_hook) (PipecomConnection *conn);
void               _pipecom_connection_set_read_to_eof (PipecomConnection *conn);
void               _pipecom_connection_set_lock    (PipecomConnection *conn,
                                                    GRecMutex         *lock);
void               _pipecom_connection_flush       (PipecomConnection *conn);
void               _pipecom_connection_set_direct  (PipecomConnection *conn,
                                                    gboolean           direct);

/* Who the peer of a listener's connection is, as the platform found it
 * when accepting it. Set once, by _pipecom_peer_accept(), before the
 * connection is used. */
typedef struct
{
  gint64  uid;          /* the owner of its channel (Unix), -1: unknown */
  gint64  gid;          /* the channel's group, not verified, -1: unknown */
  gint64  pid;          /* the process, -1: none; a claim unless pid_verified */
  gboolean pid_verified;  /* the system gave @pid (Windows) */
  guint64 channel_dev;  /* the channel file the listener holds open */
  guint64 channel_ino;  /* (Unix), to verify a claimed @pid */
} PipecomPeerIdentity;

void               _pipecom_connection_set_peer    (PipecomConnection         *conn,
                                                    const PipecomPeerIdentity *peer);
/* The Windows user SID of the peer, as a string ("S-1-5-…"); also kept on
 * its GCredentials as this data (pipecom_credentials_get_sid()). */
#define _PIPECOM_CREDENTIALS_SID_KEY "pipecom-sender-sid"
void               _pipecom_connection_set_peer_sid (PipecomConnection *conn,
                                                     const char        *sid);
const char        *_pipecom_connection_get_peer_sid (PipecomConnection *conn);
gint64             _pipecom_connection_get_peer_uid (PipecomConnection *conn);
/* What is verified about the peer, and its credentials (transfer none,
 * NULL when nothing is), worked out on the first call (verifying a claimed
 * pid then, while the channel is open) and cached. Any thread. */
PipecomSenderFlags _pipecom_connection_get_sender  (PipecomConnection  *conn,
                                                    GCredentials      **credentials);

/* ---- Credentials: the platform side of _pipecom_connection_get_sender() ---- */

/* Whether a process with the claimed pid of @peer holds @conn's channel,
 * which the listener still holds open (so it is that file). Called with
 * the connection's peer lock held, from any thread. */
gboolean           _pipecom_transport_verify_peer_pid (PipecomConnection         *conn,
                                                       const PipecomPeerIdentity *peer);
/* Credentials for @peer with @pid (-1: not verified), or NULL if the
 * platform has none to give. Any thread. */
GCredentials      *_pipecom_transport_credentials_new (const PipecomPeerIdentity *peer,
                                                       gint64                     pid);

/* A set of users allowed on a pipe (#PipecomPipe:allowed-users), resolved
 * at listen() (from the thread calling it); allows() is called in the
 * serving thread. The listener's own user is always allowed. */
typedef struct _PipecomUserSet PipecomUserSet;

PipecomUserSet    *_pipecom_transport_resolve_users (const char * const  *users,
                                                     GError             **error);
gboolean           _pipecom_transport_users_allow  (PipecomUserSet     *set,
                                                    PipecomConnection  *conn);
void               _pipecom_transport_users_free   (PipecomUserSet     *set);
gboolean           _pipecom_connection_is_closed   (PipecomConnection *conn);
void               _pipecom_connection_stop_reading (PipecomConnection *conn);
void               _pipecom_connection_close_when_flushed (PipecomConnection *conn);
gboolean           _pipecom_connection_is_flushed  (PipecomConnection *conn);
void               _pipecom_connection_close       (PipecomConnection *conn);

/* Gives a connection made without a context (see
 * _pipecom_transport_drives_directly()) its source in @context: from then
 * on it is dispatched there, reporting its closing to funcs->closed (at
 * once if it is closed already). */
void               _pipecom_connection_attach      (PipecomConnection *conn,
                                                    GMainContext      *context);
/* Waits, in the calling thread, until @conn has bytes to read or can write
 * what it queued, @cancellable is cancelled or the monotonic time @until
 * (µs; 0 or less: no limit) comes, then does that I/O (flush and pump,
 * which may run its funcs in this thread). For a connection its owner
 * drives: made without a context, or direct. Returns %FALSE with
 * %G_IO_ERROR_CANCELLED when cancelled (and then does no I/O), else
 * %TRUE, also when @until came or a signal interrupted the wait: the
 * caller checks its own state and deadline. @now: the monotonic time, as
 * the caller read it just before (it has it to check its deadline), for
 * the time left until @until; 0: read here. */
gboolean           _pipecom_connection_wait        (PipecomConnection *conn,
                                                    GCancellable      *cancellable,
                                                    gint64             until,
                                                    gint64             now,
                                                    GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PipecomConnection, _pipecom_connection_unref)

G_END_DECLS
