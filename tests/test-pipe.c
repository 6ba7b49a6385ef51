/* test-pipe.c: PipecomPipe, the listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"
#include "pipecom-message-pool-private.h"

/* ------------------------------------------------------------------------ */
/* Properties                                                               */
/* ------------------------------------------------------------------------ */

static void
test_properties_defaults (void)
{
  g_autofree char *name = pipecom_test_make_name ("props");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autofree char *p_name = NULL;
  g_autofree char *p_die_code = NULL;
  g_autofree char *p_response = NULL;
  guint p_timeout = 99, p_max_messages = 99, p_max_size = 0, p_count = 99, p_buffer = 0;
  gboolean p_listening = TRUE, p_threaded = TRUE;
  PipecomStopReason p_reason = PIPECOM_STOP_REASON_ERROR;

  g_test_summary ("A new pipe has the documented default property values, "
                  "through getters and through g_object_get()");

  g_assert_cmpstr (pipecom_pipe_get_name (pipe), ==, name);
  g_assert_cmpuint (pipecom_pipe_get_timeout (pipe), ==, 0);
  g_assert_cmpuint (pipecom_pipe_get_max_messages (pipe), ==, 0);
  g_assert_cmpstr (pipecom_pipe_get_die_code (pipe), ==, "PIPECOM_DIE");
  g_assert_cmpstr (pipecom_pipe_get_die_code (pipe), ==, PIPECOM_DEFAULT_DIE_CODE);
  g_assert_null (pipecom_pipe_get_response_pipe_name (pipe));
  g_assert_cmpuint (pipecom_pipe_get_max_message_size (pipe), ==, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_cmpuint (pipecom_pipe_get_max_message_size (pipe), ==, 64u * 1024u * 1024u);
  g_assert_cmpuint (pipecom_pipe_get_buffer_size (pipe), >, 0);
  g_assert_false (pipecom_pipe_get_threaded (pipe));
  g_assert_false (pipecom_pipe_get_listening (pipe));
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 0);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_NONE);

  g_object_get (pipe,
                "name", &p_name,
                "timeout", &p_timeout,
                "max-messages", &p_max_messages,
                "die-code", &p_die_code,
                "response-pipe-name", &p_response,
                "buffer-size", &p_buffer,
                "max-message-size", &p_max_size,
                "threaded", &p_threaded,
                "listening", &p_listening,
                "message-count", &p_count,
                "stop-reason", &p_reason,
                NULL);
  g_assert_cmpstr (p_name, ==, name);
  g_assert_cmpuint (p_timeout, ==, 0);
  g_assert_cmpuint (p_max_messages, ==, 0);
  g_assert_cmpstr (p_die_code, ==, "PIPECOM_DIE");
  g_assert_null (p_response);
  g_assert_cmpuint (p_buffer, ==, pipecom_pipe_get_buffer_size (pipe));
  g_assert_cmpuint (p_max_size, ==, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_false (p_threaded);
  g_assert_false (p_listening);
  g_assert_cmpuint (p_count, ==, 0);
  g_assert_cmpint (p_reason, ==, PIPECOM_STOP_REASON_NONE);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  GHashTable *counts = user_data;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, pspec->name));

  g_hash_table_insert (counts, (gpointer) pspec->name, GUINT_TO_POINTER (n + 1));
}

static guint
notify_count (GHashTable *counts,
              const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));
}

static void
test_properties_notify (void)
{
  g_autofree char *name = pipecom_test_make_name ("notify");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);

  g_test_summary ("Setters and g_object_set() emit ::notify only when the value changes");

  g_signal_connect (pipe, "notify", G_CALLBACK (count_notify_cb), counts);

  pipecom_pipe_set_timeout (pipe, 5);
  pipecom_pipe_set_timeout (pipe, 5);
  g_object_set (pipe, "timeout", 5u, NULL);
  g_assert_cmpuint (notify_count (counts, "timeout"), ==, 1);
  g_assert_cmpuint (pipecom_pipe_get_timeout (pipe), ==, 5);
  pipecom_pipe_set_timeout (pipe, 0);
  g_assert_cmpuint (notify_count (counts, "timeout"), ==, 2);

  pipecom_pipe_set_max_messages (pipe, 3);
  pipecom_pipe_set_max_messages (pipe, 3);
  g_assert_cmpuint (notify_count (counts, "max-messages"), ==, 1);
  g_object_set (pipe, "max-messages", 4u, NULL);
  g_assert_cmpuint (notify_count (counts, "max-messages"), ==, 2);
  g_assert_cmpuint (pipecom_pipe_get_max_messages (pipe), ==, 4);

  pipecom_pipe_set_die_code (pipe, "PIPECOM_DIE");
  g_assert_cmpuint (notify_count (counts, "die-code"), ==, 0);
  pipecom_pipe_set_die_code (pipe, "SHUTDOWN");
  pipecom_pipe_set_die_code (pipe, "SHUTDOWN");
  g_assert_cmpuint (notify_count (counts, "die-code"), ==, 1);
  pipecom_pipe_set_die_code (pipe, NULL);
  pipecom_pipe_set_die_code (pipe, NULL);
  g_assert_cmpuint (notify_count (counts, "die-code"), ==, 2);
  g_assert_null (pipecom_pipe_get_die_code (pipe));

  pipecom_pipe_set_response_pipe_name (pipe, NULL);
  g_assert_cmpuint (notify_count (counts, "response-pipe-name"), ==, 0);
  pipecom_pipe_set_response_pipe_name (pipe, "answers");
  pipecom_pipe_set_response_pipe_name (pipe, "answers");
  g_assert_cmpuint (notify_count (counts, "response-pipe-name"), ==, 1);
  g_assert_cmpstr (pipecom_pipe_get_response_pipe_name (pipe), ==, "answers");
  pipecom_pipe_set_response_pipe_name (pipe, NULL);
  g_assert_cmpuint (notify_count (counts, "response-pipe-name"), ==, 2);

  pipecom_pipe_set_buffer_size (pipe, pipecom_pipe_get_buffer_size (pipe));
  g_assert_cmpuint (notify_count (counts, "buffer-size"), ==, 0);
  pipecom_pipe_set_buffer_size (pipe, 128 * 1024);
  pipecom_pipe_set_buffer_size (pipe, 128 * 1024);
  g_assert_cmpuint (notify_count (counts, "buffer-size"), ==, 1);
  g_assert_cmpuint (pipecom_pipe_get_buffer_size (pipe), ==, 128 * 1024);

  pipecom_pipe_set_max_message_size (pipe, 1024);
  pipecom_pipe_set_max_message_size (pipe, 1024);
  g_assert_cmpuint (notify_count (counts, "max-message-size"), ==, 1);
  g_assert_cmpuint (pipecom_pipe_get_max_message_size (pipe), ==, 1024);

  /* Nothing else was notified. */
  g_assert_cmpuint (g_hash_table_size (counts), ==, 6);
}

static void
test_properties_flags (void)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (PIPECOM_TYPE_PIPE);
  const char *construct_only[] = { "name", "threaded" };
  const char *read_only[] = { "listening", "message-count", "stop-reason" };
  const char *writable[] = { "timeout", "max-messages", "die-code", "response-pipe-name",
                             "buffer-size", "max-message-size" };

  g_test_summary ("name and threaded are construct-only; listening, message-count and "
                  "stop-reason are read-only; all notify explicitly");

  for (guint i = 0; i < G_N_ELEMENTS (construct_only); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), construct_only[i]);

      g_assert_nonnull (pspec);
      g_assert_true (pspec->flags & G_PARAM_CONSTRUCT_ONLY);
    }
  for (guint i = 0; i < G_N_ELEMENTS (read_only); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), read_only[i]);

      g_assert_nonnull (pspec);
      g_assert_true (pspec->flags & G_PARAM_READABLE);
      g_assert_false (pspec->flags & G_PARAM_WRITABLE);
    }
  for (guint i = 0; i < G_N_ELEMENTS (writable); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), writable[i]);

      g_assert_nonnull (pspec);
      g_assert_true (pspec->flags & G_PARAM_WRITABLE);
      g_assert_false (pspec->flags & G_PARAM_CONSTRUCT_ONLY);
      g_assert_true (pspec->flags & G_PARAM_EXPLICIT_NOTIFY);
    }
}

static void
test_properties_construct_only (void)
{
  g_test_summary ("Setting the construct-only name after construction is refused");

  if (g_test_subprocess ())
    {
      g_autoptr(PipecomPipe) pipe = pipecom_pipe_new ("first");

      g_object_set (pipe, "name", "second", NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*construct*name*");
}

/* Sets every settable property, and reads them back, in a thread of its
 * own until told to stop, never to values that would stop the pipe or
 * refuse the test's messages. */
typedef struct
{
  PipecomPipe *pipe;
  gint         stop;    /* atomic */
  gint         rounds;  /* atomic */
} PropertyChurn;

static gpointer
property_churn_thread (gpointer data)
{
  PropertyChurn *churn = data;

  for (guint i = 0; !g_atomic_int_get (&churn->stop); i++)
    {
      g_autofree char *die_code = g_strdup_printf ("NOT-THE-DIE-CODE-%u", i);
      g_autofree char *die_code_read = NULL;
      guint timeout, max_messages;

      pipecom_pipe_set_timeout (churn->pipe, 600 + i % 2);
      pipecom_pipe_set_max_messages (churn->pipe, 100000 + i % 2);
      pipecom_pipe_set_die_code (churn->pipe, die_code);
      pipecom_pipe_set_buffer_size (churn->pipe, 65536 + (i % 2) * 4096);
      pipecom_pipe_set_max_message_size (churn->pipe, 1024 * 1024 + i % 2);
      pipecom_pipe_set_memory_budget (churn->pipe, 64 * 1024 * 1024 + i % 2);
      pipecom_pipe_set_idle_timeout (churn->pipe, 300 + i % 2);
      pipecom_pipe_set_access (churn->pipe, PIPECOM_ACCESS_PRIVATE);

      g_object_get (churn->pipe,
                    "die-code", &die_code_read,
                    "timeout", &timeout,
                    "max-messages", &max_messages,
                    NULL);
      g_assert_nonnull (die_code_read);
      g_assert_cmpuint (timeout, >=, 600);
      g_assert_cmpuint (max_messages, >=, 100000);
      g_assert_cmpuint (pipecom_pipe_get_buffer_size (churn->pipe), >=, 65536);
      g_assert_cmpuint (pipecom_pipe_get_max_message_size (churn->pipe), >=, 1024 * 1024);
      g_assert_cmpuint (pipecom_pipe_get_memory_budget (churn->pipe), >=, 64 * 1024 * 1024);
      g_assert_cmpuint (pipecom_pipe_get_idle_timeout (churn->pipe), >=, 300);
      g_atomic_int_inc (&churn->rounds);
    }

  return NULL;
}

static void
test_properties_any_thread (gconstpointer data)
{
  gboolean threaded = GPOINTER_TO_INT (data);
  g_autofree char *name = pipecom_test_make_name (threaded ? "props-thread-t" : "props-thread");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  PropertyChurn churn = { NULL, 0, 0 };
  GThread *thread;
  gint handled = 0;

  g_test_summary ("The settable properties may be set and read from another thread while "
                  "the pipe serves (the TSan stage checks for data races): every message "
                  "is answered and the pipe keeps listening");

  pipe = pipecom_test_listen_new (name, threaded, &handled);
  churn.pipe = pipe;
  thread = g_thread_new ("property-churn", property_churn_thread, &churn);
  pipecom_test_wait_for (g_atomic_int_get (&churn.rounds) > 0, PIPECOM_TEST_DEADLINE);

  client = pipecom_client_new (name);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);
      g_autofree char *expected = g_strconcat ("ack:", text, NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *reply = NULL;
      PipecomTestResult result = { 0, };

      /* A one-shot request (a new connection each time)... */
      reply = pipecom_test_request (name, text, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);

      /* ...and one on a persistent connection. */
      pipecom_client_request_async (client, text, NULL, pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_cmpstr (result.text, ==, expected);
      pipecom_test_result_clear (&result);
    }

  g_atomic_int_set (&churn.stop, TRUE);
  g_thread_join (thread);

  g_assert_cmpint (g_atomic_int_get (&handled), ==, 80);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_NONE);

  pipecom_test_stop_and_wait (pipe);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_REQUESTED);
}

static void
test_path (void)
{
  g_autofree char *name = pipecom_test_make_name ("path");
  g_autofree char *abs = pipecom_test_make_path ("path");
#ifdef G_OS_WIN32
  g_autofree char *expected = g_strconcat ("\\\\.\\pipe\\", name, NULL);
#else
  g_autofree char *expected = g_build_filename (pipecom_test_get_runtime_dir (), "pipecom", name, NULL);
  GStatBuf st;
#endif
  g_autoptr(PipecomPipe) simple = pipecom_pipe_new (name);
  g_autoptr(PipecomPipe) absolute = NULL;

  g_test_summary ("A simple name lives in $XDG_RUNTIME_DIR/pipecom, a name with / is a path; "
                  "the path is NULL before listen() and kept after stop()");

  g_assert_null (pipecom_pipe_get_path (simple));
  pipecom_pipe_stop (simple);  /* stop before listen is harmless */
  g_assert_false (pipecom_pipe_get_listening (simple));
  g_clear_object (&simple);

  simple = pipecom_test_listen_new (name, FALSE, NULL);
  g_assert_cmpstr (pipecom_pipe_get_path (simple), ==, expected);
#ifdef G_OS_UNIX
  g_assert_cmpint (g_lstat (expected, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
#endif
  pipecom_test_stop_and_wait (simple);
  g_assert_cmpstr (pipecom_pipe_get_path (simple), ==, expected);
#ifdef G_OS_UNIX
  g_assert_false (g_file_test (expected, G_FILE_TEST_EXISTS));
#endif

  absolute = pipecom_test_listen_new (abs, FALSE, NULL);
  g_assert_cmpstr (pipecom_pipe_get_path (absolute), ==, abs);
#ifdef G_OS_UNIX
  g_assert_cmpint (g_lstat (abs, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
#endif
  pipecom_test_stop_and_wait (absolute);
#ifdef G_OS_UNIX
  g_assert_false (g_file_test (abs, G_FILE_TEST_EXISTS));
#endif
}

/* ------------------------------------------------------------------------ */
/* Die code                                                                 */
/* ------------------------------------------------------------------------ */

static void
assert_path_files_removed (const char *path)
{
#ifdef G_OS_WIN32
  g_assert_nonnull (path);
  g_assert_false (pipecom_test_pipe_exists (path));
#else
  g_autofree char *lock = NULL;
  GStatBuf st;

  g_assert_nonnull (path);
  lock = g_strconcat (path, ".lock", NULL);
  g_assert_cmpint (g_lstat (path, &st), !=, 0);
  g_assert_cmpint (g_lstat (lock, &st), !=, 0);
#endif
}

static void
assert_files_removed (PipecomPipe *pipe)
{
  assert_path_files_removed (pipecom_pipe_get_path (pipe));
}

static void
test_die_code_default (void)
{
  g_autofree char *name = pipecom_test_make_name ("die");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestStopped stopped;
  gint calls = 0;

  g_test_summary ("Sending the default die code is acknowledged, never reaches handlers, "
                  "stops the pipe with DIE_CODE and removes its FIFO");

  pipe = pipecom_test_listen_new (name, FALSE, &calls);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_test_pipe_exists (pipecom_pipe_get_path (pipe)));

  g_assert_true (pipecom_test_send (name, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);

  g_assert_cmpint (calls, ==, 0);
  g_assert_cmpint (stopped.count, ==, 1);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_DIE_CODE);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_DIE_CODE);
  g_assert_false (pipecom_pipe_get_listening (pipe));
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 0);
  assert_files_removed (pipe);

  /* Nothing is emitted twice later. */
  pipecom_test_iterate_for (100);
  g_assert_cmpint (stopped.count, ==, 1);
}

static void
test_die_code_custom (void)
{
  g_autofree char *name = pipecom_test_make_name ("die-custom");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestStopped stopped;
  gint calls = 0;

  g_test_summary ("A custom die code stops the pipe; the default one is then a normal message");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "die-code", "SHUTDOWN", NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  reply = pipecom_test_request (name, "PIPECOM_DIE", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:PIPECOM_DIE");
  g_assert_cmpint (calls, ==, 1);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  g_assert_cmpint (stopped.count, ==, 0);

  g_assert_true (pipecom_test_send (name, "SHUTDOWN", 20, 0, &error));
  g_assert_no_error (error);
  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (calls, ==, 1);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_DIE_CODE);
  g_assert_false (pipecom_pipe_get_listening (pipe));
  assert_files_removed (pipe);
}

static void
test_die_code_disabled (void)
{
  g_autofree char *name = pipecom_test_make_name ("die-null");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestStopped stopped;
  gint calls = 0;

  g_test_summary ("With die-code NULL, \"PIPECOM_DIE\" is handled as a normal message");

  pipe = pipecom_pipe_new (name);
  pipecom_pipe_set_die_code (pipe, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  reply = pipecom_test_request (name, "PIPECOM_DIE", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:PIPECOM_DIE");
  g_assert_cmpint (calls, ==, 1);
  pipecom_test_iterate_for (100);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  g_assert_cmpint (stopped.count, ==, 0);

  pipecom_test_stop_and_wait (pipe);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_REQUESTED);
  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_REQUESTED);
  assert_files_removed (pipe);
}

/* ------------------------------------------------------------------------ */
/* Max messages                                                             */
/* ------------------------------------------------------------------------ */

static void
test_max_messages (void)
{
  g_autofree char *name = pipecom_test_make_name ("max");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestStopped stopped;
  gint calls = 0;

  g_test_summary ("max-messages=3: three messages are handled and acknowledged, then the "
                  "pipe stops with MAX_MESSAGES and a fourth send fails");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "max-messages", 3u, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *msg = g_strdup_printf ("m%u", i);
      g_autofree char *expected = g_strdup_printf ("ack:m%u", i);
      g_autofree char *reply = pipecom_test_request (name, msg, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);
      g_assert_cmpint (calls, ==, (gint) i + 1);
    }

  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_MAX_MESSAGES);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_MAX_MESSAGES);
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 3);
  g_assert_false (pipecom_pipe_get_listening (pipe));
  assert_files_removed (pipe);

  g_assert_false (pipecom_test_send (name, "m3", 0, 1, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_assert_cmpint (calls, ==, 3);
}

static void
test_message_count (void)
{
  g_autofree char *name = pipecom_test_make_name ("count");
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, FALSE, NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("message-count counts handled messages, not the die code");

  for (guint i = 0; i < 4; i++)
    {
      g_assert_true (pipecom_test_send (name, "x", 20, 0, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, i + 1);
    }
  g_assert_true (pipecom_test_send (name, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 4);
}

/* ------------------------------------------------------------------------ */
/* Inactivity timeout                                                       */
/* ------------------------------------------------------------------------ */

static void
test_timeout_inactivity (void)
{
  g_autofree char *name = pipecom_test_make_name ("timeout");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestStopped stopped;
  gint64 start;
  double elapsed;

  g_test_summary ("timeout=1 stops an idle pipe with TIMEOUT about one second after listen");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "timeout", 1u, NULL);
  pipecom_test_connect_stopped (pipe, &stopped);
  start = g_get_monotonic_time ();
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, 15);
  elapsed = (stopped.at - start) / (double) G_USEC_PER_SEC;
  g_test_message ("stopped after %.3f s", elapsed);
  g_assert_cmpfloat (elapsed, >=, 0.9);
  g_assert_cmpfloat (elapsed, <, 5.0);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_TIMEOUT);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_TIMEOUT);
  g_assert_false (pipecom_pipe_get_listening (pipe));
  assert_files_removed (pipe);
}

typedef struct
{
  const char        *name;
  guint              sent;
  guint              acked;
  guint              failed;
  gint64             last_ack;
} KeepAlive;

static void
keep_alive_send_cb (GObject      *source,
                    GAsyncResult *res,
                    gpointer      user_data)
{
  KeepAlive *ka = user_data;
  g_autoptr(GError) error = NULL;

  if (pipecom_send_finish (res, &error))
    {
      ka->acked++;
      ka->last_ack = g_get_monotonic_time ();
    }
  else
    {
      g_test_message ("keep-alive send failed: %s", error->message);
      ka->failed++;
    }
}

static gboolean
keep_alive_tick_cb (gpointer user_data)
{
  KeepAlive *ka = user_data;

  pipecom_send_async (ka->name, "tick", 5, 0, NULL, keep_alive_send_cb, ka);
  ka->sent++;
  return ka->sent < 4 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
test_timeout_restart (void)
{
  g_autofree char *name = pipecom_test_make_name ("timeout-restart");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestStopped stopped;
  KeepAlive ka = { 0, };
  gint calls = 0;
  gint64 start;
  double idle;

  g_test_summary ("The inactivity timer restarts on each message: messages every 0.5 s keep "
                  "a timeout=1 pipe alive for 2 s, then it stops about 1 s after the last one");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "timeout", 1u, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &calls);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  ka.name = name;
  start = g_get_monotonic_time ();
  g_timeout_add (500, keep_alive_tick_cb, &ka);

  /* At 0.5, 1.0, 1.5 and 2.0 s a message arrives; wait for the last ack. */
  pipecom_test_wait_for (ka.acked + ka.failed == 4, PIPECOM_TEST_DEADLINE);
  g_assert_cmpuint (ka.failed, ==, 0);
  g_assert_cmpuint (ka.acked, ==, 4);
  g_assert_cmpint (calls, ==, 4);
  g_test_message ("last ack after %.3f s",
                  (ka.last_ack - start) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (g_atomic_int_get (&stopped.count), ==, 0);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  /* Without the restarts it would have stopped at 1 s. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 1900 * 1000);

  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, 15);
  idle = (stopped.at - ka.last_ack) / (double) G_USEC_PER_SEC;
  g_test_message ("stopped %.3f s after the last ack", idle);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_TIMEOUT);
  g_assert_cmpfloat (idle, >=, 0.7);
  g_assert_cmpfloat (idle, <, 5.0);
}

/* ------------------------------------------------------------------------ */
/* pipecom_pipe_run()                                                       */
/* ------------------------------------------------------------------------ */

typedef struct
{
  PipecomPipe *pipe;
  const char  *name;
  char        *reply;
  gboolean     ok;
  GError      *error;
} RunThread;

static gpointer
request_then_stop_thread (gpointer data)
{
  RunThread *rt = data;

  rt->reply = pipecom_request (rt->name, "hello", 20, 0, &rt->error);
  pipecom_pipe_stop (rt->pipe);
  return NULL;
}

static void
test_run_stop_from_thread (void)
{
  g_autofree char *name = pipecom_test_make_name ("run-stop");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  RunThread rt = { 0, };
  GThread *thread;
  gboolean ok;

  g_test_summary ("pipecom_pipe_run() serves messages and returns TRUE after "
                  "pipecom_pipe_stop() is called from another thread");

  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), NULL);
  rt.pipe = pipe;
  rt.name = name;
  thread = g_thread_new ("stopper", request_then_stop_thread, &rt);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "pipecom_pipe_run()");
  ok = pipecom_pipe_run (pipe, &error);
  pipecom_test_watchdog_stop (watchdog);
  g_thread_join (thread);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_no_error (rt.error);
  g_assert_cmpstr (rt.reply, ==, "ack:hello");
  g_assert_false (pipecom_pipe_get_listening (pipe));
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_REQUESTED);
  assert_files_removed (pipe);
  g_free (rt.reply);
}

static gpointer
send_die_thread (gpointer data)
{
  RunThread *rt = data;

  rt->ok = pipecom_send (rt->name, "PIPECOM_DIE", 20, 0, &rt->error);
  return NULL;
}

static void
test_run_die_code_from_thread (void)
{
  g_autofree char *name = pipecom_test_make_name ("run-die");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  PipecomTestStopped stopped;
  RunThread rt = { 0, };
  GThread *thread;
  gboolean ok;

  g_test_summary ("pipecom_pipe_run() returns TRUE once another thread sends the die code");

  pipecom_test_connect_stopped (pipe, &stopped);
  rt.name = name;
  thread = g_thread_new ("killer", send_die_thread, &rt);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "pipecom_pipe_run()");
  ok = pipecom_pipe_run (pipe, &error);
  pipecom_test_watchdog_stop (watchdog);
  g_thread_join (thread);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_no_error (rt.error);
  g_assert_true (rt.ok);
  g_assert_cmpint (stopped.count, ==, 1);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_DIE_CODE);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_DIE_CODE);
  assert_files_removed (pipe);
}

static gpointer
run_thread (gpointer data)
{
  RunThread *rt = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  rt->ok = pipecom_pipe_run (rt->pipe, &rt->error);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static void
test_run_in_thread (void)
{
  g_autofree char *name = pipecom_test_make_name ("run-thread");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;
  RunThread rt = { 0, };
  GThread *thread;

  g_test_summary ("pipecom_pipe_run() in a worker thread serves synchronous requests from "
                  "the test thread and returns TRUE after the die code");

  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), NULL);
  rt.pipe = pipe;
  thread = g_thread_new ("runner", run_thread, &rt);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "requests to a pipe run in a thread");
  reply = pipecom_request (name, "hi", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:hi");
  g_assert_true (pipecom_send (name, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  g_thread_join (thread);
  pipecom_test_watchdog_stop (watchdog);

  g_assert_no_error (rt.error);
  g_assert_true (rt.ok);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_DIE_CODE);
  g_assert_false (pipecom_pipe_get_listening (pipe));
}

static void
test_run_die_code_from_process (void)
{
  g_autofree char *name = pipecom_test_make_name ("run-proc");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  gboolean ok;

  g_test_summary ("pipecom_pipe_run() returns TRUE when another process sends the die code");

  child = pipecom_test_child_spawn ("--child-send", name, "PIPECOM_DIE", NULL);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "pipecom_pipe_run()");
  ok = pipecom_pipe_run (pipe, &error);
  pipecom_test_watchdog_stop (watchdog);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_DIE_CODE);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
  assert_files_removed (pipe);
}

/* ------------------------------------------------------------------------ */
/* Address in use, stale FIFOs                                              */
/* ------------------------------------------------------------------------ */

static void
test_address_in_use_same_process (void)
{
  g_autofree char *name = pipecom_test_make_name ("in-use");
  g_autoptr(PipecomPipe) first = pipecom_test_listen_new (name, FALSE, NULL);
  g_autoptr(PipecomPipe) second = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  g_test_summary ("A second listener on a live name fails with ADDRESS_IN_USE and the first "
                  "one keeps serving; once the first stops, the name is free again");

  g_assert_false (pipecom_pipe_listen (second, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, name));
  g_clear_error (&error);
  g_assert_false (pipecom_pipe_get_listening (second));
  g_assert_true (pipecom_pipe_get_listening (first));
  g_assert_true (pipecom_test_pipe_exists (pipecom_pipe_get_path (first)));

  reply = pipecom_test_request (name, "still there?", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:still there?");

  pipecom_test_stop_and_wait (first);
  g_clear_object (&second);
  second = pipecom_test_listen_new (name, FALSE, NULL);
  g_clear_pointer (&reply, g_free);
  reply = pipecom_test_request (name, "new owner", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:new owner");
  pipecom_test_stop_and_wait (second);
}

static void
test_address_in_use_other_process (void)
{
  g_autofree char *name = pipecom_test_make_name ("in-use-proc");
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, FALSE, NULL);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *prefix = g_strdup_printf ("ERROR %d ", PIPECOM_ERROR_ADDRESS_IN_USE);
  g_autofree char *reply = NULL;

  g_test_summary ("A listener in another process on our live name fails with ADDRESS_IN_USE");

  child = pipecom_test_child_spawn ("--child-listener", name, NULL);
  line = pipecom_test_child_read_line (child, PIPECOM_TEST_DEADLINE);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, prefix));
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 2);

  reply = pipecom_test_request (name, "mine", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:mine");
  pipecom_test_stop_and_wait (pipe);
}

static void
test_address_in_use_child_first (void)
{
  g_autofree char *path = pipecom_test_make_path ("in-use-child");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (path);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *line = NULL;
  g_autofree char *expected = g_strdup_printf ("STOPPED %d", PIPECOM_STOP_REASON_DIE_CODE);

  g_test_summary ("Listening on a name a child process serves fails with ADDRESS_IN_USE "
                  "and leaves the child serving");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");

  g_assert_false (pipecom_pipe_listen (pipe, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  reply = pipecom_test_request (path, "hi child", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:hi child");

  g_assert_true (pipecom_test_send (path, "PIPECOM_DIE", 20, 0, &error));
  g_assert_no_error (error);
  line = pipecom_test_child_read_line (child, PIPECOM_TEST_DEADLINE);
  g_assert_cmpstr (line, ==, expected);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
  /* Our pipe never listened: check the files the child served. */
  assert_path_files_removed (path);
}

#ifdef G_OS_UNIX
static void
test_stale_fifo (void)
{
  g_autofree char *path = pipecom_test_make_path ("stale");
  g_autofree char *lock = g_strconcat (path, ".lock", NULL);
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  GStatBuf st;
  gint64 start;

  g_test_summary ("A FIFO left by a listener killed with SIGKILL is stale: sends fail with "
                  "CONNECTION_FAILED, and a new listener reclaims it and serves");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");
  pipecom_test_child_kill (child);

  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_true (g_file_test (lock, G_FILE_TEST_IS_REGULAR));

  start = g_get_monotonic_time ();
  g_assert_false (pipecom_send (path, "anyone?", 0, 2, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  pipe = pipecom_test_listen_new (path, FALSE, NULL);
  reply = pipecom_test_request (path, "reclaimed", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:reclaimed");
  pipecom_test_stop_and_wait (pipe);
  assert_files_removed (pipe);
}
#endif

/* ------------------------------------------------------------------------ */
/* Threaded mode                                                            */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GMutex   mutex;
  GThread *handler_thread;
  guint    calls;
  GThread *stopped_thread;
} ThreadRecord;

static char *
record_thread_cb (PipecomPipe    *pipe,
                  PipecomMessage *message,
                  gpointer        user_data)
{
  ThreadRecord *rec = user_data;

  g_mutex_lock (&rec->mutex);
  rec->handler_thread = g_thread_self ();
  rec->calls++;
  g_mutex_unlock (&rec->mutex);
  return g_strconcat ("ack:", pipecom_message_get_text (message), NULL);
}

static void
test_threaded (void)
{
  g_autofree char *name = pipecom_test_make_name ("threaded");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  PipecomTestStopped stopped;
  ThreadRecord rec = { 0, };

  g_test_summary ("A threaded pipe runs handlers in its own thread; listening and "
                  "message-count are readable from the test thread, which may block");

  g_mutex_init (&rec.mutex);
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);
  g_assert_true (pipecom_pipe_get_threaded (pipe));
  g_signal_connect (pipe, "message-received", G_CALLBACK (record_thread_cb), &rec);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  g_assert_true (pipecom_pipe_get_listening (pipe));

  /* Blocking calls on the test thread, which nobody iterates. */
  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "requests to a threaded pipe");
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *msg = g_strdup_printf ("t%u", i);
      g_autofree char *expected = g_strdup_printf ("ack:t%u", i);
      g_autofree char *reply = pipecom_request (name, msg, 20, 0, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);
    }
  pipecom_test_watchdog_stop (watchdog);

  g_mutex_lock (&rec.mutex);
  g_assert_cmpuint (rec.calls, ==, 5);
  g_assert_nonnull (rec.handler_thread);
  g_assert_true (rec.handler_thread != g_thread_self ());
  g_mutex_unlock (&rec.mutex);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, 5);

  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe) &&
                         g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_REQUESTED);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (pipe), ==, PIPECOM_STOP_REASON_REQUESTED);
  assert_files_removed (pipe);
  g_mutex_clear (&rec.mutex);
}

static char *
answer_twice_cb (PipecomPipe    *pipe,
                 PipecomMessage *message,
                 gpointer        user_data)
{
  guint *answered = user_data;

  pipecom_message_reply (message, "first");
  /* The usual mistake behind it is in bindings (answering later without
   * hold()); answering twice gives the same critical. */
  g_test_expect_message ("Pipecom", G_LOG_LEVEL_CRITICAL,
                         "*already answered*call pipecom_message_hold()*message.hold()*");
  pipecom_message_reply (message, "second");
  g_test_assert_expected_messages ();
  (*answered)++;
  return NULL;
}

static void
test_answered_twice (void)
{
  g_autofree char *name = pipecom_test_make_name ("answered-twice");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestResult result = { 0, };
  guint answered = 0;

  g_test_summary ("Answering a message that was already answered gives a critical that "
                  "says to call pipecom_message_hold() (message.hold()), and the first "
                  "answer reaches the sender");

  g_signal_connect (pipe, "message-received", G_CALLBACK (answer_twice_cb), &answered);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_request_async (name, "x", PIPECOM_TEST_DEADLINE, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.text, ==, "first");
  g_assert_cmpuint (answered, ==, 1);

  pipecom_test_result_clear (&result);
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
}

/* ------------------------------------------------------------------------ */
/* Graceful stop                                                            */
/* ------------------------------------------------------------------------ */

typedef struct
{
  guint calls;
} GracefulData;

static char *
stop_on_first_cb (PipecomPipe    *pipe,
                  PipecomMessage *message,
                  gpointer        user_data)
{
  GracefulData *data = user_data;

  if (data->calls++ == 0)
    pipecom_pipe_stop (pipe);
  return NULL;
}

static guint
count_done (PipecomTestResult *results,
            guint              n)
{
  guint done = 0;

  for (guint i = 0; i < n; i++)
    done += results[i].done;
  return done;
}

static void
test_stop_graceful (void)
{
  g_autofree char *name = pipecom_test_make_name ("graceful");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestResult results[10] = { { 0, }, };
  PipecomTestStopped stopped;
  GracefulData data = { 0, };
  guint n_ok = 0;

  g_test_summary ("stop() from a handler: every sender told TRUE had its message handled, "
                  "the others get an error, none hangs");

  g_signal_connect (pipe, "message-received", G_CALLBACK (stop_on_first_cb), &data);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autofree char *msg = g_strdup_printf ("g%u", i);

      pipecom_send_async (name, msg, 10, 5, NULL, pipecom_test_send_cb, &results[i]);
    }

  pipecom_test_wait_for (count_done (results, G_N_ELEMENTS (results)) == G_N_ELEMENTS (results),
                         PIPECOM_TEST_DEADLINE);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      if (results[i].ok)
        n_ok++;
      else
        {
          g_test_message ("send %u failed: %s", i, results[i].error->message);
          g_assert_true (g_error_matches (results[i].error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED) ||
                         g_error_matches (results[i].error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED) ||
                         g_error_matches (results[i].error, PIPECOM_ERROR, PIPECOM_ERROR_BUSY) ||
                         g_error_matches (results[i].error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT));
        }
      pipecom_test_result_clear (&results[i]);
    }

  g_test_message ("%u of %u sends acknowledged", n_ok, (guint) G_N_ELEMENTS (results));
  g_assert_cmpuint (n_ok, >=, 1);
  g_assert_cmpuint (data.calls, ==, n_ok);
  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (stopped.count, ==, 1);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_REQUESTED);
  g_assert_false (pipecom_pipe_get_listening (pipe));
  g_assert_cmpuint (pipecom_pipe_get_message_count (pipe), ==, n_ok);
  assert_files_removed (pipe);
}

typedef struct
{
  GPtrArray *held;
  gint64     first_reply_at;
} Pending;

static gboolean
reply_all_cb (gpointer user_data)
{
  Pending *pending = user_data;

  /* ::stopped may well be emitted from inside the last reply. */
  pending->first_reply_at = g_get_monotonic_time ();
  for (guint i = 0; i < pending->held->len; i++)
    {
      PipecomMessage *m = g_ptr_array_index (pending->held, i);
      g_autofree char *reply = g_strconcat ("late:", pipecom_message_get_text (m), NULL);

      pipecom_message_reply (m, reply);
    }
  g_ptr_array_set_size (pending->held, 0);
  return G_SOURCE_REMOVE;
}

static char *
keep_cb (PipecomPipe    *pipe,
         PipecomMessage *message,
         gpointer        user_data)
{
  Pending *pending = user_data;

  g_ptr_array_add (pending->held, g_object_ref (message));
  return NULL;
}

static void
test_stop_pending_replies (void)
{
  g_autofree char *name = pipecom_test_make_name ("stop-pending");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestResult results[5] = { { 0, }, };
  PipecomTestResult late = { 0, };
  PipecomTestStopped stopped;
  Pending pending = { 0, };
  gint64 stop_at;

  g_test_summary ("Messages received before stop() and answered later still get their "
                  "replies before ::stopped; a new sender is refused at once");

  pending.held = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (pipe, "message-received", G_CALLBACK (keep_cb), &pending);
  pipecom_test_connect_stopped (pipe, &stopped);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autofree char *msg = g_strdup_printf ("p%u", i);

      pipecom_request_async (name, msg, 20, 0, NULL, pipecom_test_request_cb, &results[i]);
    }
  pipecom_test_wait_for (pending.held->len == G_N_ELEMENTS (results), PIPECOM_TEST_DEADLINE);

  stop_at = g_get_monotonic_time ();
  pipecom_pipe_stop (pipe);
  g_timeout_add (300, reply_all_cb, &pending);

  pipecom_send_async (name, "too late", 10, 1, NULL, pipecom_test_send_cb, &late);
  pipecom_test_wait_for (late.done, PIPECOM_TEST_DEADLINE);
  g_test_message ("new sender: %s", late.error ? late.error->message : "(no error)");
  g_assert_true (g_error_matches (late.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED) ||
                 g_error_matches (late.error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED));
  g_assert_cmpint (late.finished_at - stop_at, <, 2 * G_USEC_PER_SEC);

  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (pending.first_reply_at, >, 0);
  g_assert_cmpint (stopped.at, >=, pending.first_reply_at);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_REQUESTED);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autofree char *expected = g_strdup_printf ("late:p%u", i);

      pipecom_test_wait_for (results[i].done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (results[i].error);
      g_assert_cmpstr (results[i].text, ==, expected);
      pipecom_test_result_clear (&results[i]);
    }
  pipecom_test_result_clear (&late);
  g_ptr_array_unref (pending.held);
  assert_files_removed (pipe);
}

static char *
stop_in_handler_cb (PipecomPipe    *pipe,
                    PipecomMessage *message,
                    gpointer        user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  pipecom_pipe_stop (pipe);
  return g_strdup ("bye");
}

static void
test_stop_from_handler (void)
{
  g_test_summary ("A handler that calls stop() still answers its own sender: the reply "
                  "arrives, and ::stopped follows");

  for (guint round = 0; round < 20; round++)
    {
      g_autofree char *name = pipecom_test_make_name ("stop-in-handler");
      g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
      g_autoptr(GError) error = NULL;
      g_autofree char *reply = NULL;
      PipecomTestStopped stopped;
      gint calls = 0;

      g_signal_connect (pipe, "message-received", G_CALLBACK (stop_in_handler_cb), &calls);
      pipecom_test_connect_stopped (pipe, &stopped);
      g_assert_true (pipecom_pipe_listen (pipe, &error));
      g_assert_no_error (error);

      reply = pipecom_test_request (name, "last words", &error);
      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, "bye");
      g_assert_cmpint (calls, ==, 1);
      pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
      g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_REQUESTED);
    }
}

static void
test_stop_idempotent (void)
{
  g_autofree char *name = pipecom_test_make_name ("stop-twice");
  g_autoptr(PipecomPipe) pipe = pipecom_test_listen_new (name, FALSE, NULL);
  PipecomTestStopped stopped;

  g_test_summary ("Calling stop() twice emits ::stopped once");

  pipecom_test_connect_stopped (pipe, &stopped);
  pipecom_pipe_stop (pipe);
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (g_atomic_int_get (&stopped.count) > 0, PIPECOM_TEST_DEADLINE);
  pipecom_pipe_stop (pipe);
  pipecom_test_iterate_for (100);
  g_assert_cmpint (stopped.count, ==, 1);
  g_assert_cmpint (stopped.reason, ==, PIPECOM_STOP_REASON_REQUESTED);
  g_assert_false (stopped.listening_in_handler);
}

/* ------------------------------------------------------------------------ */
/* Response pipe                                                            */
/* ------------------------------------------------------------------------ */

static char *
prefix_r_cb (PipecomPipe    *pipe,
             PipecomMessage *message,
             gpointer        user_data)
{
  return g_strconcat ("R:", pipecom_message_get_text (message), NULL);
}

static char *
record_text_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  GPtrArray *received = user_data;

  g_ptr_array_add (received, g_strdup (pipecom_message_get_text (message)));
  return NULL;
}

static void
test_response_pipe_forward (void)
{
  g_autofree char *name_a = pipecom_test_make_name ("resp-a");
  g_autofree char *name_b = pipecom_test_make_name ("resp-b");
  g_autoptr(PipecomPipe) a = NULL;
  g_autoptr(PipecomPipe) b = pipecom_pipe_new (name_b);
  g_autoptr(GPtrArray) received = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Each non-NULL reply of pipe A is sent on, in order, to its response pipe B");

  g_signal_connect (b, "message-received", G_CALLBACK (record_text_cb), received);
  g_assert_true (pipecom_pipe_listen (b, &error));
  g_assert_no_error (error);

  a = g_object_new (PIPECOM_TYPE_PIPE, "name", name_a, "response-pipe-name", name_b, NULL);
  g_signal_connect (a, "message-received", G_CALLBACK (prefix_r_cb), NULL);
  g_assert_true (pipecom_pipe_listen (a, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *msg = g_strdup_printf ("msg%u", i);
      g_autofree char *expected = g_strdup_printf ("R:msg%u", i);
      g_autofree char *reply = pipecom_test_request (name_a, msg, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);
    }

  pipecom_test_wait_for (received->len >= 5, PIPECOM_TEST_DEADLINE);
  pipecom_test_iterate_for (100);
  g_assert_cmpuint (received->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *expected = g_strdup_printf ("R:msg%u", i);

      g_assert_cmpstr (g_ptr_array_index (received, i), ==, expected);
    }

  pipecom_test_stop_and_wait (a);
  pipecom_test_stop_and_wait (b);
}

static void
response_error_cb (PipecomPipe  *pipe,
                   const GError *error,
                   gpointer      user_data)
{
  GPtrArray *errors = user_data;

  g_ptr_array_add (errors, g_error_copy (error));
}

static void
serve_with_missing_response_pipe (PipecomPipe *a,
                                  const char  *name_a)
{
  g_autoptr(GError) error = NULL;

  g_signal_connect (a, "message-received", G_CALLBACK (prefix_r_cb), NULL);
  g_assert_true (pipecom_pipe_listen (a, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *msg = g_strdup_printf ("x%u", i);
      g_autofree char *expected = g_strdup_printf ("R:x%u", i);
      g_autofree char *reply = pipecom_test_request (name_a, msg, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply, ==, expected);
      g_assert_true (pipecom_pipe_get_listening (a));
    }
}

static void
test_response_pipe_missing (void)
{
  g_autofree char *name_a = pipecom_test_make_name ("resp-missing");
  g_autofree char *missing = pipecom_test_make_name ("nobody-listens");
  g_autoptr(PipecomPipe) a = NULL;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);

  g_test_summary ("A response pipe without listener is reported through ::response-error "
                  "and never stops the pipe from serving");

  a = g_object_new (PIPECOM_TYPE_PIPE, "name", name_a, "response-pipe-name", missing, NULL);
  g_signal_connect (a, "response-error", G_CALLBACK (response_error_cb), errors);
  serve_with_missing_response_pipe (a, name_a);

  pipecom_test_wait_for (errors->len == 3, PIPECOM_TEST_DEADLINE);
  for (guint i = 0; i < errors->len; i++)
    {
      GError *e = g_ptr_array_index (errors, i);

      g_test_message ("response-error: %s", e->message);
      g_assert_true (e->domain == PIPECOM_ERROR);
    }
  g_assert_true (pipecom_pipe_get_listening (a));
  pipecom_test_stop_and_wait (a);
  g_assert_cmpint (pipecom_pipe_get_stop_reason (a), ==, PIPECOM_STOP_REASON_REQUESTED);
}

static void
count_warning_cb (const char     *log_domain,
                  GLogLevelFlags  log_level,
                  const char     *message,
                  gpointer        user_data)
{
  g_test_message ("warning: %s", message);
  if (strstr (message, "forward") != NULL)
    (*(guint *) user_data)++;
}

static gboolean
not_fatal_cb (const char     *log_domain,
              GLogLevelFlags  log_level,
              const char     *message,
              gpointer        user_data)
{
  /* Only our domain's warnings are expected here. */
  return !(g_strcmp0 (log_domain, G_LOG_DOMAIN) == 0 && (log_level & G_LOG_LEVEL_WARNING) != 0);
}

static void
test_response_pipe_missing_warning (void)
{
  g_autofree char *name_a = pipecom_test_make_name ("resp-missing-warn");
  g_autofree char *missing = pipecom_test_make_name ("nobody-listens");
  g_autoptr(PipecomPipe) a = NULL;
  guint warnings = 0;
  guint handler_id;

  g_test_summary ("Without a ::response-error handler, a failed forward is a warning and the "
                  "pipe keeps serving");

  handler_id = g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                                  count_warning_cb, &warnings);
  g_test_log_set_fatal_handler (not_fatal_cb, NULL);

  a = g_object_new (PIPECOM_TYPE_PIPE, "name", name_a, "response-pipe-name", missing, NULL);
  serve_with_missing_response_pipe (a, name_a);
  pipecom_test_wait_for (warnings == 3, PIPECOM_TEST_DEADLINE);
  g_assert_true (pipecom_pipe_get_listening (a));
  pipecom_test_stop_and_wait (a);

  g_test_log_set_fatal_handler (NULL, NULL);
  g_log_remove_handler (G_LOG_DOMAIN, handler_id);
}

typedef struct
{
  guint              depth;
  guint              max_depth;
  GString           *order;
  PipecomClient     *client;
  PipecomTestResult *two;
} NestedLoop;

static char *
nested_loop_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  NestedLoop *nl = user_data;
  const char *text = pipecom_message_get_text (message);

  nl->depth++;
  nl->max_depth = MAX (nl->max_depth, nl->depth);
  g_string_append_printf (nl->order, "%s;", text);
  /* A handler that runs the pipe's own main context while it waits, as a
   * blocking call to a pipe served by the same thread does; meanwhile a
   * second message arrives on the same connection. */
  if (g_strcmp0 (text, "one") == 0)
    {
      pipecom_client_request_async (nl->client, "two", NULL, pipecom_test_request_cb, nl->two);
      pipecom_test_iterate_for (300);
    }
  nl->depth--;

  return g_strdup_printf ("ack:%s", text);
}

static void
test_nested_loop_in_handler (void)
{
  g_autofree char *name = pipecom_test_make_name ("nested-loop");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestResult one = { 0, }, two = { 0, };
  NestedLoop nl = { 0, 0, g_string_new (NULL), client, &two };

  g_test_summary ("A handler that iterates the pipe's main context while the same connection "
                  "has another message in flight is not re-entered: messages are handled one "
                  "after the other, in order, and both are answered");

  g_signal_connect (pipe, "message-received", G_CALLBACK (nested_loop_cb), &nl);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_request_async (client, "one", NULL, pipecom_test_request_cb, &one);
  pipecom_test_wait_for (one.done && two.done, PIPECOM_TEST_DEADLINE);

  g_assert_no_error (one.error);
  g_assert_no_error (two.error);
  g_assert_cmpstr (one.text, ==, "ack:one");
  g_assert_cmpstr (two.text, ==, "ack:two");
  g_assert_cmpuint (nl.max_depth, ==, 1);
  g_assert_cmpstr (nl.order->str, ==, "one;two;");

  pipecom_test_result_clear (&one);
  pipecom_test_result_clear (&two);
  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  g_string_free (nl.order, TRUE);
}

typedef struct
{
  guint              depth;
  guint              max_depth;
  GString           *order;
  const char        *name;
  PipecomTestResult *two;
} NestedOneshot;

static char *
nested_oneshot_cb (PipecomPipe    *pipe,
                   PipecomMessage *message,
                   gpointer        user_data)
{
  NestedOneshot *no = user_data;
  const char *text = pipecom_message_get_text (message);

  no->depth++;
  no->max_depth = MAX (no->max_depth, no->depth);
  g_string_append_printf (no->order, "%s;", text);
  /* A one-shot handler that runs the pipe's own main context while it
   * waits; meanwhile another sender announces a one-shot on the FIFO. */
  if (g_strcmp0 (text, "one") == 0)
    {
      pipecom_send_async (no->name, "two", 10, 1, NULL, pipecom_test_send_cb, no->two);
      pipecom_test_iterate_for (300);
    }
  no->depth--;

  return NULL;
}

static void
test_nested_loop_in_oneshot_handler (void)
{
  g_autofree char *name = pipecom_test_make_name ("nested-oneshot");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestResult one = { 0, }, two = { 0, };
  NestedOneshot no = { 0, 0, g_string_new (NULL), name, &two };

  g_test_summary ("A one-shot handler that iterates the pipe's main context while another "
                  "sender announces is not re-entered: the announcements are handled one "
                  "after the other, in order, and both senders are answered");

  g_signal_connect (pipe, "message-received", G_CALLBACK (nested_oneshot_cb), &no);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_send_async (name, "one", 10, 1, NULL, pipecom_test_send_cb, &one);
  pipecom_test_wait_for (one.done && two.done, PIPECOM_TEST_DEADLINE);

  g_assert_no_error (one.error);
  g_assert_no_error (two.error);
  g_assert_true (one.ok);
  g_assert_true (two.ok);
  g_assert_cmpuint (no.max_depth, ==, 1);
  g_assert_cmpstr (no.order->str, ==, "one;two;");

  pipecom_test_result_clear (&one);
  pipecom_test_result_clear (&two);
  pipecom_test_stop_and_wait (pipe);
  g_string_free (no.order, TRUE);
}

/* ------------------------------------------------------------------------ */
/* Reuse of the messages nobody kept                                        */
/* ------------------------------------------------------------------------ */

/* The pipe reuses a PipecomMessage that nobody but itself holds once its
 * emission is over. These tests keep messages in every way a handler can,
 * and check that a kept message is never handed out again, never changes,
 * and is finalized exactly when it would be without the reuse. */

typedef struct
{
  GPtrArray *kept;              /* (element-type PipecomMessage) (owned) */
  gint       kept_seen_again;   /* atomic: a kept message emitted again */
  gint       plain;             /* atomic: plain messages handled */
  GWeakRef   weak;
  gpointer   weak_target;       /* not a reference: only compared */
  gboolean   weak_notified;
  gboolean   handler_destroyed;
  gint       checked;           /* "after" messages that found all of it done */
  gint       failed_checks;
  GString   *log;
} Reuse;

static void
reuse_init (Reuse *r)
{
  memset (r, 0, sizeof *r);
  r->kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_weak_ref_init (&r->weak, NULL);
  r->log = g_string_new (NULL);
}

static void
reuse_clear (Reuse *r)
{
  g_ptr_array_unref (r->kept);
  g_weak_ref_clear (&r->weak);
  g_string_free (r->log, TRUE);
}

static gboolean
reuse_is_kept (Reuse          *r,
               PipecomMessage *message)
{
  for (guint i = 0; i < r->kept->len; i++)
    if (r->kept->pdata[i] == message)
      return TRUE;
  return FALSE;
}

/* Sends @text on @client and waits for the answer. */
static char *
reuse_request (PipecomClient *client,
               const char    *text)
{
  PipecomTestResult result = { 0, };
  char *reply;

  pipecom_client_request_async (client, text, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  reply = g_steal_pointer (&result.text);
  pipecom_test_result_clear (&result);
  return reply;
}

static char *
reuse_keep_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  Reuse *r = user_data;
  const char *text = pipecom_message_get_text (message);

  if (reuse_is_kept (r, message))
    g_atomic_int_inc (&r->kept_seen_again);
  g_assert_false (pipecom_message_get_replied (message));

  if (g_str_has_prefix (text, "keep-answered"))
    {
      /* Answered at once, and kept (say, for a log). */
      g_ptr_array_add (r->kept, g_object_ref (message));
      return g_strdup_printf ("ack:%s", text);
    }
  if (g_str_has_prefix (text, "keep"))
    {
      g_ptr_array_add (r->kept, g_object_ref (message));
      return NULL;
    }
  g_atomic_int_inc (&r->plain);
  return g_strdup_printf ("ack:%s", text);
}

static void
test_reuse_kept (void)
{
  g_autofree char *name = pipecom_test_make_name ("reuse-kept");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  PipecomClient *keepers[3];
  PipecomTestResult late[3] = { { 0, }, };
  Reuse r;
  guint n_answered = 0;

  g_test_summary ("A message a handler keeps a reference to is never reused: while more "
                  "messages come and go, it keeps its payload, it is not emitted again, "
                  "and the answer given later reaches its own sender");

  reuse_init (&r);
  g_signal_connect (pipe, "message-received", G_CALLBACK (reuse_keep_cb), &r);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (keepers); i++)
    {
      g_autofree char *text = g_strdup_printf ("keep:%u", i);

      keepers[i] = pipecom_client_new (name);
      pipecom_client_request_async (keepers[i], text, NULL, pipecom_test_request_cb, &late[i]);
      pipecom_test_wait_for (r.kept->len == i + 1 + n_answered, PIPECOM_TEST_DEADLINE);

      /* Plain messages in between, each one a candidate for reuse, and
       * answered ones that the handler keeps too. */
      for (guint j = 0; j < 10; j++)
        {
          g_autofree char *plain = g_strdup_printf ("plain:%u:%u", i, j);
          g_autofree char *expected = g_strdup_printf ("ack:%s", plain);
          g_autofree char *reply = NULL;

          if (j % 3 == 0)
            {
              g_autofree char *answered = g_strdup_printf ("keep-answered:%u:%u", i, j);
              g_autofree char *expected_answered = g_strdup_printf ("ack:%s", answered);
              g_autofree char *reply_answered = reuse_request (client, answered);

              g_assert_cmpstr (reply_answered, ==, expected_answered);
              n_answered++;
            }
          reply = reuse_request (client, plain);
          g_assert_cmpstr (reply, ==, expected);
        }
    }

  g_assert_cmpint (g_atomic_int_get (&r.kept_seen_again), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&r.plain), ==, 30);
  g_assert_cmpuint (r.kept->len, ==, G_N_ELEMENTS (keepers) + n_answered);

  /* Every kept message is still itself: no two are the same object, and
   * each has its own payload. */
  for (guint k = 0; k < r.kept->len; k++)
    {
      PipecomMessage *message = r.kept->pdata[k];
      const char *text = pipecom_message_get_text (message);

      for (guint j = 0; j < k; j++)
        g_assert_true (r.kept->pdata[j] != message);
      g_assert_nonnull (text);
      g_assert_cmpuint (pipecom_message_get_size (message), ==, strlen (text));
      if (g_str_has_prefix (text, "keep-answered:"))
        g_assert_true (pipecom_message_get_replied (message));
      else
        g_assert_false (pipecom_message_get_replied (message));
    }

  for (guint i = 0; i < G_N_ELEMENTS (keepers); i++)
    {
      g_autofree char *text = g_strdup_printf ("keep:%u", i);
      g_autofree char *answer = g_strdup_printf ("late:%s", text);
      PipecomMessage *message = NULL;

      for (guint k = 0; k < r.kept->len; k++)
        if (g_strcmp0 (pipecom_message_get_text (r.kept->pdata[k]), text) == 0)
          message = r.kept->pdata[k];
      g_assert_nonnull (message);
      g_assert_false (late[i].done);
      pipecom_message_reply (message, answer);
    }

  for (guint i = 0; i < G_N_ELEMENTS (keepers); i++)
    {
      g_autofree char *expected = g_strdup_printf ("late:keep:%u", i);

      pipecom_test_wait_for (late[i].done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (late[i].error);
      g_assert_cmpstr (late[i].text, ==, expected);
      pipecom_test_result_clear (&late[i]);
      pipecom_client_close (keepers[i]);
      g_object_unref (keepers[i]);
    }

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  reuse_clear (&r);
}

static void
reuse_weak_notify (gpointer  data,
                   GObject  *where_the_object_was)
{
  Reuse *r = data;

  g_assert_true ((gpointer) where_the_object_was == r->weak_target);
  r->weak_notified = TRUE;
}

static void
reuse_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  g_assert_not_reached ();
}

static void
reuse_handler_destroyed (gpointer  data,
                         GClosure *closure)
{
  ((Reuse *) data)->handler_destroyed = TRUE;
}

static void
reuse_data_destroyed (gpointer data)
{
  ((Reuse *) data)->weak_notified = TRUE;
}

static char *
reuse_weak_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  Reuse *r = user_data;
  const char *text = pipecom_message_get_text (message);

  g_string_append_printf (r->log, "%s;", text);

  if (g_strcmp0 (text, "gweakref") == 0)
    {
      /* Only a GWeakRef: the message must die now, and the GWeakRef with it. */
      r->weak_target = message;
      g_weak_ref_set (&r->weak, message);
    }
  else if (g_strcmp0 (text, "weakref") == 0)
    {
      r->weak_target = message;
      r->weak_notified = FALSE;
      g_object_weak_ref (G_OBJECT (message), reuse_weak_notify, r);
    }
  else if (g_strcmp0 (text, "handler") == 0)
    {
      r->weak_target = message;
      r->handler_destroyed = FALSE;
      g_signal_connect_data (message, "notify", G_CALLBACK (reuse_notify_cb), r,
                             reuse_handler_destroyed, 0);
    }
  else if (g_strcmp0 (text, "data") == 0)
    {
      r->weak_notified = FALSE;
      g_object_set_data_full (G_OBJECT (message), "reuse-test", r, reuse_data_destroyed);
    }
  else if (g_str_has_prefix (text, "after:"))
    {
      /* The message before this one was finalized as soon as its emission
       * ended, not reused: everything attached to it was released. */
      g_autoptr(PipecomMessage) alive = g_weak_ref_get (&r->weak);
      const char *what = text + strlen ("after:");
      gboolean ok = FALSE;

      if (g_strcmp0 (what, "gweakref") == 0)
        ok = alive == NULL;
      else if (g_strcmp0 (what, "weakref") == 0 || g_strcmp0 (what, "data") == 0)
        ok = r->weak_notified;
      else if (g_strcmp0 (what, "handler") == 0)
        ok = r->handler_destroyed;

      if (ok)
        r->checked++;
      else
        r->failed_checks++;
    }

  return g_strdup_printf ("ack:%s", text);
}

static void
test_reuse_weak (void)
{
  g_autofree char *name = pipecom_test_make_name ("reuse-weak");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  const char *kinds[] = { "gweakref", "weakref", "handler", "data" };
  Reuse r;

  g_test_summary ("A message with a GWeakRef, a weak reference, a signal handler or data "
                  "on it is finalized as soon as its emission ends, as "
                  "without the reuse: the GWeakRef is cleared, and the weak notification "
                  "and the handler's and the data's destroy notifications run before the "
                  "next message");

  reuse_init (&r);
  g_signal_connect (pipe, "message-received", G_CALLBACK (reuse_weak_cb), &r);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
      {
        g_autofree char *after = g_strdup_printf ("after:%s", kinds[i]);
        g_autofree char *reply = NULL;
        g_autofree char *reply_after = NULL;

        /* A plain one first, so that a reusable message is at hand. */
        g_free (reuse_request (client, "plain"));
        reply = reuse_request (client, kinds[i]);
        g_assert_true (g_str_has_prefix (reply, "ack:"));
        reply_after = reuse_request (client, after);
        g_assert_cmpstr (reply_after + 4, ==, after);
      }

  g_test_message ("log: %s", r.log->str);
  g_assert_cmpint (r.failed_checks, ==, 0);
  g_assert_cmpint (r.checked, ==, 3 * G_N_ELEMENTS (kinds));

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  reuse_clear (&r);
}

/* What PyGObject leaves on an object once its wrapper is gone. */
#define REUSE_PYGOBJECT_DATA "PyGObject::instance-data"

static char *
reuse_binding_cb (PipecomPipe    *pipe,
                  PipecomMessage *message,
                  gpointer        user_data)
{
  Reuse *r = user_data;
  GQuark quark = g_quark_from_static_string (REUSE_PYGOBJECT_DATA);
  const char *text = pipecom_message_get_text (message);

  if (g_object_get_qdata (G_OBJECT (message), quark) == r)
    r->checked++;  /* reused, with it */
  else
    g_object_set_qdata_full (G_OBJECT (message), quark, r, reuse_data_destroyed);
  if (g_str_has_prefix (text, "data:"))
    g_object_set_data (G_OBJECT (message), "reuse-test", r);
  return g_strdup_printf ("ack:%s", text);
}

static void
test_reuse_binding_data (void)
{
  g_autofree char *name = pipecom_test_make_name ("reuse-binding");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  Reuse r;

  g_test_summary ("PyGObject's instance data, which it leaves on a message once its "
                  "wrapper is gone, does not keep the message from being reused; "
                  "any other data with it does");

  reuse_init (&r);
  g_signal_connect (pipe, "message-received", G_CALLBACK (reuse_binding_cb), &r);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 4; i++)
    g_free (reuse_request (client, "plain"));
  if (!_pipecom_message_pool_enabled ())
    {
      /* PIPECOM_MESSAGE_REUSE=0: every message is a new one */
      g_assert_cmpint (r.checked, ==, 0);
      pipecom_client_close (client);
      pipecom_test_stop_and_wait (pipe);
      reuse_clear (&r);
      return;
    }
  /* The first made the data, the next three found it */
  g_assert_cmpint (r.checked, ==, 3);
  g_assert_false (r.weak_notified);

  /* Reused too, but finalized with the other data: the next one is new */
  g_free (reuse_request (client, "data:"));
  g_assert_cmpint (r.checked, ==, 4);
  g_assert_true (r.weak_notified);
  g_free (reuse_request (client, "plain"));
  g_assert_cmpint (r.checked, ==, 4);

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  reuse_clear (&r);
}

static char *
reuse_fresh_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  Reuse *r = user_data;
  GBytes *bytes = pipecom_message_get_bytes (message);
  const char *text;

  /* Nothing of the message before shows through. */
  if (pipecom_message_get_replied (message))
    r->failed_checks++;
  text = pipecom_message_get_text (message);
  if (bytes == NULL || g_bytes_get_size (bytes) != pipecom_message_get_size (message))
    r->failed_checks++;
  g_string_append_printf (r->log, "%s;", text ? text : "(binary)");

  if (text == NULL)
    return NULL;  /* acknowledged */
  if (g_str_has_prefix (text, "hold-reply:"))
    {
      /* Held, then answered at once: nothing is left to do for it. */
      pipecom_message_hold (message);
      pipecom_message_reply (message, text);
      return NULL;
    }
  if (g_str_has_prefix (text, "hold-only:"))
    {
      /* Held, but nobody keeps it: acknowledged when it is finalized. */
      pipecom_message_hold (message);
      return NULL;
    }
  if (g_str_has_prefix (text, "ack:"))
    return NULL;
  return g_strdup_printf ("re:%s", text);
}

static void
test_reuse_fresh (void)
{
  g_autofree char *name = pipecom_test_make_name ("reuse-fresh");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  static const guint8 binary[] = { 0xff, 0x00, 0xfe };
  g_autoptr(GBytes) binary_bytes = g_bytes_new_static (binary, sizeof binary);
  Reuse r;

  g_test_summary ("Every message a handler gets looks new: its own payload and text, not "
                  "answered, not held, whatever the handler of the one before did; a held "
                  "message nobody keeps is acknowledged, not reused");

  reuse_init (&r);
  g_signal_connect (pipe, "message-received", G_CALLBACK (reuse_fresh_cb), &r);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *hold = g_strdup_printf ("hold-reply:%u", i);
      g_autofree char *text = g_strdup_printf ("text:%u", i);
      g_autofree char *ack = g_strdup_printf ("ack:%u", i);
      g_autofree char *expected = g_strdup_printf ("re:%s", text);
      g_autofree char *reply = NULL;
      g_autofree char *reply_hold = NULL;
      g_autofree char *hold_only = g_strdup_printf ("hold-only:%u", i);
      g_autofree char *reply_ack = NULL;
      g_autofree char *reply_hold_only = NULL;
      g_autoptr(GBytes) reply_binary = NULL;

      reply_hold = reuse_request (client, hold);
      g_assert_cmpstr (reply_hold, ==, hold);
      /* Held before: this one, answered by no handler, is acknowledged at once. */
      reply_ack = reuse_request (client, ack);
      g_assert_null (reply_ack);
      reply = reuse_request (client, text);
      g_assert_cmpstr (reply, ==, expected);
      /* The cached text of the one before must not show. */
      reply_binary = pipecom_client_request_bytes (client, binary_bytes, NULL, &error);
      g_assert_no_error (error);
      g_assert_null (reply_binary);
      reply_hold_only = reuse_request (client, hold_only);
      g_assert_null (reply_hold_only);
    }

  g_test_message ("log: %s", r.log->str);
  g_assert_cmpint (r.failed_checks, ==, 0);

  pipecom_client_close (client);
  pipecom_test_stop_and_wait (pipe);
  reuse_clear (&r);
}

/* A handler in the pipe's thread hands messages to a thread of its own,
 * which answers one during its emission and one only once many more
 * messages were handled. (A GMutex and a GCond, not a GAsyncQueue, whose
 * internal lock ThreadSanitizer cannot see.) */
typedef struct
{
  GMutex          lock;
  GCond           cond;
  PipecomMessage *later;            /* (owned) (nullable) handed to the worker */
  PipecomMessage *early;            /* (owned) (nullable) handed to the worker */
  gboolean        early_answered;
  gboolean        go;
  gint            later_handled;    /* atomic */
  gint            kept_seen_again;  /* atomic */
  gpointer        kept[2];          /* (atomic) not references: only compared */
  char           *early_text;       /* "early"'s text, read after the "go" */
} ThreadReuse;

static gpointer
reuse_worker (gpointer data)
{
  ThreadReuse *tr = data;
  g_autoptr(PipecomMessage) later = NULL;
  g_autoptr(PipecomMessage) early = NULL;
  g_autofree char *answer = NULL;

  g_mutex_lock (&tr->lock);
  while (tr->later == NULL || tr->early == NULL)
    g_cond_wait (&tr->cond, &tr->lock);
  later = g_steal_pointer (&tr->later);
  early = g_steal_pointer (&tr->early);
  g_mutex_unlock (&tr->lock);

  /* "early" is answered at once, during its emission, but kept. */
  pipecom_message_reply (early, "early");
  g_mutex_lock (&tr->lock);
  tr->early_answered = TRUE;
  g_cond_broadcast (&tr->cond);
  while (!tr->go)
    g_cond_wait (&tr->cond, &tr->lock);
  g_mutex_unlock (&tr->lock);

  answer = g_strdup_printf ("late:%s", pipecom_message_get_text (later));
  g_assert_false (pipecom_message_get_replied (later));
  pipecom_message_reply (later, answer);

  g_assert_true (pipecom_message_get_replied (early));
  tr->early_text = g_strdup (pipecom_message_get_text (early));
  return NULL;
}

static char *
reuse_thread_cb (PipecomPipe    *pipe,
                 PipecomMessage *message,
                 gpointer        user_data)
{
  ThreadReuse *tr = user_data;
  const char *text = pipecom_message_get_text (message);

  if (g_atomic_pointer_get (&tr->kept[0]) == message ||
      g_atomic_pointer_get (&tr->kept[1]) == message)
    g_atomic_int_inc (&tr->kept_seen_again);

  if (g_strcmp0 (text, "later") == 0)
    {
      g_atomic_pointer_set (&tr->kept[0], message);
      g_mutex_lock (&tr->lock);
      tr->later = g_object_ref (message);
      g_cond_broadcast (&tr->cond);
      g_mutex_unlock (&tr->lock);
      g_atomic_int_set (&tr->later_handled, TRUE);
      return NULL;
    }
  if (g_strcmp0 (text, "early") == 0)
    {
      /* Returns once the other thread answered it. */
      g_atomic_pointer_set (&tr->kept[1], message);
      g_mutex_lock (&tr->lock);
      tr->early = g_object_ref (message);
      g_cond_broadcast (&tr->cond);
      while (!tr->early_answered)
        g_cond_wait (&tr->cond, &tr->lock);
      g_mutex_unlock (&tr->lock);
      return NULL;
    }
  return g_strdup_printf ("ack:%s", text);
}

static void
test_reuse_reply_from_thread (void)
{
  g_autofree char *name = pipecom_test_make_name ("reuse-thread");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = pipecom_client_new (name);
  g_autoptr(PipecomClient) waiter = pipecom_client_new (name);
  g_autoptr(GError) error = NULL;
  PipecomTestResult late = { 0, };
  ThreadReuse tr = { { 0, }, };
  GThread *worker;

  g_test_summary ("A threaded pipe's messages handed (with a reference) to another thread "
                  "are not reused while that thread holds them: one is answered from there "
                  "with its own payload, to its own sender, after many more messages; one "
                  "answered from there during its emission keeps its payload meanwhile");

  g_mutex_init (&tr.lock);
  g_cond_init (&tr.cond);
  worker = g_thread_new ("reuse-worker", reuse_worker, &tr);
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (reuse_thread_cb), &tr);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  pipecom_client_request_async (waiter, "later", NULL, pipecom_test_request_cb, &late);
  /* "early"'s handler blocks the pipe's thread until the worker answered
   * it, and the worker starts once it has both messages: "later" must be
   * handled first. The two clients' connections give no order between
   * their messages, so "early" is sent only then. */
  pipecom_test_wait_for (g_atomic_int_get (&tr.later_handled), PIPECOM_TEST_DEADLINE);
  {
    g_autofree char *reply = pipecom_client_request (client, "early", NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (reply, ==, "early");
  }
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *text = g_strdup_printf ("plain:%u", i);
      g_autofree char *reply = pipecom_client_request (client, text, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (reply + 4, ==, text);
    }
  g_assert_false (late.done);
  g_mutex_lock (&tr.lock);
  tr.go = TRUE;
  g_cond_broadcast (&tr.cond);
  g_mutex_unlock (&tr.lock);

  pipecom_test_wait_for (late.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (late.error);
  g_assert_cmpstr (late.text, ==, "late:later");
  g_assert_cmpint (g_atomic_int_get (&tr.kept_seen_again), ==, 0);

  g_thread_join (worker);
  g_assert_cmpstr (tr.early_text, ==, "early");
  g_free (tr.early_text);
  pipecom_test_result_clear (&late);
  pipecom_client_close (client);
  pipecom_client_close (waiter);
  pipecom_test_stop_and_wait (pipe);
  g_mutex_clear (&tr.lock);
  g_cond_clear (&tr.cond);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/pipe/properties/defaults", test_properties_defaults);
  g_test_add_func ("/pipe/properties/notify", test_properties_notify);
  g_test_add_func ("/pipe/properties/flags", test_properties_flags);
  g_test_add_func ("/pipe/properties/construct-only", test_properties_construct_only);
  g_test_add_data_func ("/pipe/properties/any-thread/main-context", GINT_TO_POINTER (FALSE), test_properties_any_thread);
  g_test_add_data_func ("/pipe/properties/any-thread/threaded", GINT_TO_POINTER (TRUE), test_properties_any_thread);
  g_test_add_func ("/pipe/path", test_path);
  g_test_add_func ("/pipe/die-code/default", test_die_code_default);
  g_test_add_func ("/pipe/die-code/custom", test_die_code_custom);
  g_test_add_func ("/pipe/die-code/disabled", test_die_code_disabled);
  g_test_add_func ("/pipe/max-messages", test_max_messages);
  g_test_add_func ("/pipe/message-count", test_message_count);
  g_test_add_func ("/pipe/timeout/inactivity", test_timeout_inactivity);
  g_test_add_func ("/pipe/timeout/restart", test_timeout_restart);
  g_test_add_func ("/pipe/run/stop-from-thread", test_run_stop_from_thread);
  g_test_add_func ("/pipe/run/die-code-from-thread", test_run_die_code_from_thread);
  g_test_add_func ("/pipe/run/in-thread", test_run_in_thread);
  g_test_add_func ("/pipe/run/die-code-from-process", test_run_die_code_from_process);
  g_test_add_func ("/pipe/address-in-use/same-process", test_address_in_use_same_process);
  g_test_add_func ("/pipe/address-in-use/other-process", test_address_in_use_other_process);
  g_test_add_func ("/pipe/address-in-use/child-first", test_address_in_use_child_first);
#ifdef G_OS_UNIX
  g_test_add_func ("/pipe/stale-fifo", test_stale_fifo);
#endif
  g_test_add_func ("/pipe/threaded", test_threaded);
  g_test_add_func ("/pipe/answered-twice", test_answered_twice);
  g_test_add_func ("/pipe/stop/graceful", test_stop_graceful);
  g_test_add_func ("/pipe/stop/from-handler", test_stop_from_handler);
  g_test_add_func ("/pipe/stop/pending-replies", test_stop_pending_replies);
  g_test_add_func ("/pipe/stop/idempotent", test_stop_idempotent);
  g_test_add_func ("/pipe/response-pipe/forward", test_response_pipe_forward);
  g_test_add_func ("/pipe/response-pipe/missing", test_response_pipe_missing);
  g_test_add_func ("/pipe/response-pipe/missing-warning", test_response_pipe_missing_warning);
  g_test_add_func ("/pipe/nested-loop-in-handler", test_nested_loop_in_handler);
  g_test_add_func ("/pipe/nested-loop-in-oneshot-handler", test_nested_loop_in_oneshot_handler);
  g_test_add_func ("/pipe/message-reuse/kept", test_reuse_kept);
  g_test_add_func ("/pipe/message-reuse/weak", test_reuse_weak);
  g_test_add_func ("/pipe/message-reuse/fresh", test_reuse_fresh);
  g_test_add_func ("/pipe/message-reuse/binding-data", test_reuse_binding_data);
  g_test_add_func ("/pipe/message-reuse/reply-from-thread", test_reuse_reply_from_thread);

  return g_test_run ();
}
