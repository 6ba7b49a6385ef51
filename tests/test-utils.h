/* test-utils.h
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <pipecom.h>

G_BEGIN_DECLS

/* Timeouts (seconds) used for every wait in the suite. They are generous on
 * purpose: a passing test never waits for them, a failing one fails instead
 * of hanging. */
#define PIPECOM_TEST_DEADLINE 30

void          pipecom_test_init               (int          *argc,
                                               char       ***argv);

gboolean      pipecom_test_macos_mode         (void);
const char   *pipecom_test_get_runtime_dir    (void);
const char   *pipecom_test_get_helper_path    (void);
char         *pipecom_test_get_pipecom_dir    (void);
char         *pipecom_test_make_name          (const char   *tag);
char         *pipecom_test_make_path          (const char   *tag);
guint         pipecom_test_count_fds          (void);
gboolean      pipecom_test_pipe_exists        (const char   *path);
#ifdef G_OS_UNIX
gboolean      pipecom_test_fifo_has_reader    (int           fd);
void          pipecom_test_wait_fifo_reader_gone (int        fd,
                                               guint         seconds);
#endif
guint         pipecom_test_count_dir_entries  (const char   *dir);
char        **pipecom_test_list_dir           (const char   *dir);
GBytes       *pipecom_test_random_bytes       (gsize         size);

/* Deadlines: iterate the calling thread's thread-default main context until a
 * condition holds, failing the test when the deadline passes. */
typedef struct _PipecomTestDeadline PipecomTestDeadline;

PipecomTestDeadline *pipecom_test_deadline_new     (guint                seconds);
gboolean             pipecom_test_deadline_iterate (PipecomTestDeadline *deadline);
void                 pipecom_test_deadline_free    (PipecomTestDeadline *deadline);

#define pipecom_test_wait_for(expr, seconds)                                      \
  G_STMT_START {                                                                  \
    PipecomTestDeadline *pt_deadline_ = pipecom_test_deadline_new ((seconds));    \
    while (!(expr))                                                               \
      {                                                                           \
        if (!pipecom_test_deadline_iterate (pt_deadline_))                        \
          {                                                                       \
            if (expr)                                                             \
              break;                                                              \
            g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC,     \
                                 "timed out after " #seconds                      \
                                 " s waiting for: " #expr);                       \
          }                                                                       \
      }                                                                           \
    pipecom_test_deadline_free (pt_deadline_);                                    \
  } G_STMT_END

/* Iterates the thread-default main context for @ms milliseconds. Not a
 * synchronisation primitive: only used to give something the chance to happen
 * that the test then asserts did NOT happen. */
void          pipecom_test_iterate_for        (guint         ms);

/* Watchdog for blocking calls that cannot be driven by a main loop: aborts the
 * process with a message if not stopped within @seconds. */
typedef struct _PipecomTestWatchdog PipecomTestWatchdog;

PipecomTestWatchdog *pipecom_test_watchdog_start (guint                seconds,
                                                  const char          *what);
void                 pipecom_test_watchdog_stop  (PipecomTestWatchdog *watchdog);

/* Result holder for async calls. */
typedef struct
{
  gboolean  done;
  gboolean  ok;
  char     *text;
  GBytes   *bytes;
  GError   *error;
  gint64    finished_at;
} PipecomTestResult;

void          pipecom_test_result_clear       (PipecomTestResult *result);
void          pipecom_test_send_cb            (GObject      *source,
                                               GAsyncResult *res,
                                               gpointer      user_data);
void          pipecom_test_send_bytes_cb      (GObject      *source,
                                               GAsyncResult *res,
                                               gpointer      user_data);
void          pipecom_test_request_cb         (GObject      *source,
                                               GAsyncResult *res,
                                               gpointer      user_data);
void          pipecom_test_request_bytes_cb   (GObject      *source,
                                               GAsyncResult *res,
                                               gpointer      user_data);

/* Stopped-signal recorder. */
typedef struct
{
  gint              count;    /* atomic */
  PipecomStopReason reason;
  gboolean          listening_in_handler;
  gint64            at;
} PipecomTestStopped;

void          pipecom_test_connect_stopped    (PipecomPipe        *pipe,
                                               PipecomTestStopped *stopped);

/* Listener helpers. */
char         *pipecom_test_ack_cb             (PipecomPipe    *pipe,
                                               PipecomMessage *message,
                                               gpointer        counter);
PipecomPipe  *pipecom_test_listen_with        (const char     *name,
                                               gboolean        threaded,
                                               GCallback       handler,
                                               gpointer        user_data);
PipecomPipe  *pipecom_test_listen_new         (const char     *name,
                                               gboolean        threaded,
                                               gint           *counter);
void          pipecom_test_stop_and_wait      (PipecomPipe    *pipe);

/* One-shot calls driven by the thread-default main context (so listeners on
 * that context are served meanwhile), with a deadline. */
gboolean      pipecom_test_send               (const char     *name,
                                               const char     *message,
                                               guint           timeout,
                                               guint           max_attempts,
                                               GError        **error);
char         *pipecom_test_request            (const char     *name,
                                               const char     *message,
                                               GError        **error);

/* Helper processes: the program helper-child (tests/helper-child.c) started
 * with a mode as its first argument ("--child-listener", ...), its standard
 * input a pipe from the test and its standard output read line by line.
 * pipecom_test_get_helper_path() gives the program's path. */
typedef struct _PipecomTestChild PipecomTestChild;

PipecomTestChild *pipecom_test_child_spawn     (const char       *mode,
                                                ...) G_GNUC_NULL_TERMINATED;
char             *pipecom_test_child_read_line (PipecomTestChild *child,
                                                guint             seconds);
void              pipecom_test_child_expect_line (PipecomTestChild *child,
                                                  const char       *expected);
GPid              pipecom_test_child_get_pid   (PipecomTestChild *child);
int               pipecom_test_child_wait      (PipecomTestChild *child,
                                                guint             seconds);
#ifdef G_OS_UNIX
void              pipecom_test_child_signal    (PipecomTestChild *child,
                                                int               signum);
#endif
void              pipecom_test_child_kill      (PipecomTestChild *child);
void              pipecom_test_child_free      (PipecomTestChild *child);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PipecomTestChild, pipecom_test_child_free)

G_END_DECLS
