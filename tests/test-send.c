/* test-send.c: one-shot senders (pipecom_send(), pipecom_request() and friends)
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"
#include "pipecom-private.h"

typedef struct
{
  GMutex    mutex;
  guint     calls;
  char     *last_text;
  gboolean  last_text_was_null;
  GBytes   *last_bytes;
  gsize     last_size;
  GThread  *thread;
} Seen;

static void
seen_init (Seen *seen)
{
  memset (seen, 0, sizeof *seen);
  g_mutex_init (&seen->mutex);
}

static void
seen_clear (Seen *seen)
{
  g_clear_pointer (&seen->last_text, g_free);
  g_clear_pointer (&seen->last_bytes, g_bytes_unref);
  g_mutex_clear (&seen->mutex);
}

static guint
seen_calls (Seen *seen)
{
  guint calls;

  g_mutex_lock (&seen->mutex);
  calls = seen->calls;
  g_mutex_unlock (&seen->mutex);
  return calls;
}

static void
seen_record (Seen           *seen,
             PipecomMessage *message)
{
  const char *text = pipecom_message_get_text (message);

  g_mutex_lock (&seen->mutex);
  seen->calls++;
  g_free (seen->last_text);
  seen->last_text = g_strdup (text);
  seen->last_text_was_null = text == NULL;
  g_clear_pointer (&seen->last_bytes, g_bytes_unref);
  seen->last_bytes = g_bytes_ref (pipecom_message_get_bytes (message));
  seen->last_size = pipecom_message_get_size (message);
  seen->thread = g_thread_self ();
  g_mutex_unlock (&seen->mutex);
}

static char *
seen_ack_cb (PipecomPipe    *pipe,
             PipecomMessage *message,
             gpointer        user_data)
{
  seen_record (user_data, message);
  return pipecom_message_get_text (message) != NULL
           ? g_strconcat ("ack:", pipecom_message_get_text (message), NULL)
           : NULL;
}

static char *
seen_null_cb (PipecomPipe    *pipe,
              PipecomMessage *message,
              gpointer        user_data)
{
  seen_record (user_data, message);
  return NULL;
}

static char *
seen_empty_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  seen_record (user_data, message);
  return g_strdup ("");
}

static char *
echo_bytes_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  GBytes *bytes = pipecom_message_get_bytes (message);  /* (transfer none) */

  if (user_data != NULL)
    seen_record (user_data, message);
  pipecom_message_reply_bytes (message, bytes);
  g_assert_true (pipecom_message_get_replied (message));
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Basic send and request                                                   */
/* ------------------------------------------------------------------------ */

static void
test_basic_threaded (void)
{
  g_autofree char *name = pipecom_test_make_name ("basic");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  Seen seen;

  g_test_summary ("pipecom_send() returns TRUE only after the handler (in a threaded "
                  "listener) ran");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (seen_null_cb), &seen);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "pipecom_send()");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *msg = g_strdup_printf ("hello %u", i);

      g_assert_true (pipecom_send (name, msg, 20, 0, &error));
      g_assert_no_error (error);
      /* The handler ran before the send returned. */
      g_mutex_lock (&seen.mutex);
      g_assert_cmpuint (seen.calls, ==, i);
      g_assert_cmpstr (seen.last_text, ==, msg);
      g_assert_cmpuint (seen.last_size, ==, strlen (msg));
      g_assert_true (seen.thread != g_thread_self ());
      g_mutex_unlock (&seen.mutex);
    }
  pipecom_test_watchdog_stop (watchdog);

  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static void
test_request_reply (void)
{
  g_autofree char *name = pipecom_test_make_name ("request");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *utf8 = NULL;
  PipecomTestWatchdog *watchdog;
  Seen seen;

  g_test_summary ("pipecom_request() returns the handler's reply; UTF-8 text arrives intact");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (seen_ack_cb), &seen);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "pipecom_request()");
  reply = pipecom_request (name, "ping", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:ping");

  utf8 = pipecom_request (name, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (utf8, ==, "ack:h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac");
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpuint (seen.calls, ==, 2);
  g_assert_cmpuint (seen.last_size, ==, strlen ("h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac"));
  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static void
test_request_null_reply (void)
{
  g_autofree char *name = pipecom_test_make_name ("null-reply");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(GBytes) breply = NULL;
  g_autoptr(GBytes) msg = g_bytes_new_static ("x", 1);
  Seen seen;

  g_test_summary ("A handler returning NULL makes pipecom_request() return NULL without error");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (seen_null_cb), &seen);

  reply = pipecom_request (name, "anything", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_null (reply);

  breply = pipecom_request_bytes (name, msg, 20, 0, &error);
  g_assert_no_error (error);
  g_assert_null (breply);
  g_assert_cmpuint (seen_calls (&seen), ==, 2);

  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static void
test_request_empty_reply (void)
{
  g_autofree char *name = pipecom_test_make_name ("empty-reply");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *reply2 = NULL;
  Seen seen;

  g_test_summary ("An empty-string reply arrives as \"\", distinct from NULL; an empty "
                  "message arrives as \"\"");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (seen_empty_cb), &seen);

  reply = pipecom_request (name, "give me nothing", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpstr (reply, ==, "");

  reply2 = pipecom_request (name, "", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply2, ==, "");
  g_mutex_lock (&seen.mutex);
  g_assert_cmpstr (seen.last_text, ==, "");
  g_assert_cmpuint (seen.last_size, ==, 0);
  g_mutex_unlock (&seen.mutex);

  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static char *
first_null_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  return NULL;
}

static char *
second_two_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  return g_strdup ("two");
}

static char *
third_three_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  return g_strdup ("three");
}

static void
test_request_first_wins (void)
{
  g_autofree char *name = pipecom_test_make_name ("first-wins");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  gint first_calls = 0;

  g_test_summary ("The first handler returning non-NULL gives the reply; NULL-returning "
                  "handlers before it are still called");

  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (first_null_cb), &first_calls);
  g_signal_connect (pipe, "message-received", G_CALLBACK (second_two_cb), NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (third_three_cb), NULL);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  reply = pipecom_request (name, "who answers?", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "two");
  g_assert_cmpint (g_atomic_int_get (&first_calls), ==, 1);

  pipecom_test_stop_and_wait (pipe);
}

/* ------------------------------------------------------------------------ */
/* Async                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Seen              *seen;
  PipecomTestResult *result;
  gboolean           result_done_in_handler;
} OrderCheck;

static char *
order_check_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  OrderCheck *check = user_data;

  check->result_done_in_handler = check->result->done;
  seen_record (check->seen, message);
  return g_strconcat ("ack:", pipecom_message_get_text (message), NULL);
}

static void
test_async_send (void)
{
  g_autofree char *name = pipecom_test_make_name ("async-send");
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomTestResult result = { 0, };
  OrderCheck check = { 0, };
  Seen seen;

  g_test_summary ("pipecom_send_async() to a listener on the same main context completes "
                  "with TRUE after the handler ran");

  seen_init (&seen);
  check.seen = &seen;
  check.result = &result;
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (order_check_cb), &check);

  pipecom_send_async (name, "async hello", 20, 0, NULL, pipecom_test_send_cb, &result);
  g_assert_false (result.done);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_false (check.result_done_in_handler);
  g_assert_cmpstr (seen.last_text, ==, "async hello");
  g_assert_true (seen.thread == g_thread_self ());

  pipecom_test_result_clear (&result);
  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static void
test_async_request (void)
{
  g_autofree char *name = pipecom_test_make_name ("async-request");
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomTestResult results[5] = { { 0, }, };
  Seen seen;

  g_test_summary ("Several pipecom_request_async() calls at once each get their own reply");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (seen_ack_cb), &seen);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autofree char *msg = g_strdup_printf ("req-%u", i);

      pipecom_request_async (name, msg, 20, 0, NULL, pipecom_test_request_cb, &results[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autofree char *expected = g_strdup_printf ("ack:req-%u", i);

      pipecom_test_wait_for (results[i].done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (results[i].error);
      g_assert_cmpstr (results[i].text, ==, expected);
      pipecom_test_result_clear (&results[i]);
    }
  g_assert_cmpuint (seen.calls, ==, G_N_ELEMENTS (results));

  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static const guint8 binary_payload[] = {
  0x00, 0xff, 0xfe, 'a', 0x00, 0x00, 0xc3, 0x28, 0x80, 'P', 'C', 'O', 'M', 0x01, 0x02, 0x00,
  0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80, 0x00,
};

static void
test_async_bytes (void)
{
  g_autofree char *name = pipecom_test_make_name ("async-bytes");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static (binary_payload, sizeof binary_payload);
  PipecomTestResult send_result = { 0, };
  PipecomTestResult request_result = { 0, };
  Seen seen;

  g_test_summary ("Binary payloads with NUL bytes and invalid UTF-8 arrive exactly: "
                  "get_text() is NULL, get_bytes() is exact, and the bytes reply is exact");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (echo_bytes_cb), &seen);

  pipecom_send_bytes_async (name, payload, 20, 0, NULL, pipecom_test_send_bytes_cb, &send_result);
  pipecom_test_wait_for (send_result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (send_result.error);
  g_assert_true (send_result.ok);
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_true (seen.last_text_was_null);
  g_assert_nonnull (seen.last_bytes);
  g_assert_true (g_bytes_equal (seen.last_bytes, payload));
  g_assert_cmpuint (seen.last_size, ==, sizeof binary_payload);

  pipecom_request_bytes_async (name, payload, 20, 0, NULL, pipecom_test_request_bytes_cb, &request_result);
  pipecom_test_wait_for (request_result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (request_result.error);
  g_assert_nonnull (request_result.bytes);
  g_assert_cmpmem (g_bytes_get_data (request_result.bytes, NULL), g_bytes_get_size (request_result.bytes),
                   binary_payload, sizeof binary_payload);
  g_assert_cmpuint (seen.calls, ==, 2);

  pipecom_test_result_clear (&send_result);
  pipecom_test_result_clear (&request_result);
  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

static void
test_bytes_sizes (void)
{
  g_autofree char *name = pipecom_test_make_name ("sizes");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  const gsize sizes[] = { 0, 1, 400, 499, 500, 511, 512, 4095, 4096, 4097, 65535, 65536,
                          65537, 300000, 1024 * 1024 + 7 };
  PipecomTestWatchdog *watchdog;

  g_test_summary ("Binary request/reply round trips of sizes around the record, PIPE_BUF "
                  "and pipe-capacity limits are exact");

  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (echo_bytes_cb), NULL);

  watchdog = pipecom_test_watchdog_start (60, "pipecom_request_bytes() of various sizes");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) payload = pipecom_test_random_bytes (sizes[i]);
      g_autoptr(GBytes) reply = pipecom_request_bytes (name, payload, 30, 0, &error);

      g_assert_no_error (error);
      g_assert_nonnull (reply);
      g_assert_cmpuint (g_bytes_get_size (reply), ==, sizes[i]);
      g_assert_true (g_bytes_equal (reply, payload));
      g_assert_true (pipecom_send_bytes (name, payload, 30, 0, &error));
      g_assert_no_error (error);
    }
  pipecom_test_watchdog_stop (watchdog);

  pipecom_test_stop_and_wait (pipe);
}

/* ------------------------------------------------------------------------ */
/* Delayed, dropped and failed replies                                      */
/* ------------------------------------------------------------------------ */

static gboolean
delayed_reply_cb (gpointer data)
{
  PipecomMessage *message = data;

  g_assert_false (pipecom_message_get_replied (message));
  pipecom_message_reply (message, "late");
  g_assert_true (pipecom_message_get_replied (message));
  g_object_unref (message);
  return G_SOURCE_REMOVE;
}

static char *
delay_handler_cb (PipecomPipe    *pipe,
                  PipecomMessage *message,
                  gpointer        user_data)
{
  g_timeout_add (100, delayed_reply_cb, g_object_ref (message));
  return NULL;
}

static void
test_reply_delayed (void)
{
  g_autofree char *name = pipecom_test_make_name ("delayed");
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomTestResult result = { 0, };
  gint64 start;

  g_test_summary ("A handler may keep the message, return NULL and reply 100 ms later");

  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (delay_handler_cb), NULL);

  start = g_get_monotonic_time ();
  pipecom_request_async (name, "later please", 20, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.text, ==, "late");
  g_assert_cmpint (result.finished_at - start, >=, 90 * 1000);

  pipecom_test_result_clear (&result);
  pipecom_test_stop_and_wait (pipe);
}

static gboolean
drop_later_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static char *
drop_later_handler_cb (PipecomPipe    *pipe,
                       PipecomMessage *message,
                       gpointer        user_data)
{
  g_timeout_add (100, drop_later_cb, g_object_ref (message));
  return NULL;
}

static void
test_reply_dropped (void)
{
  g_autofree char *name = pipecom_test_make_name ("dropped");
  g_autofree char *name2 = pipecom_test_make_name ("dropped-later");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomPipe) pipe2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestResult result = { 0, };
  gint64 start;
  Seen seen;

  g_test_summary ("A message dropped without reply still acknowledges: send TRUE, "
                  "request NULL without error; also when it is dropped later");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (seen_null_cb), &seen);
  g_assert_true (pipecom_test_send (name, "drop me", 20, 0, &error));
  g_assert_no_error (error);
  reply = pipecom_test_request (name, "drop me too", &error);
  g_assert_no_error (error);
  g_assert_null (reply);
  g_assert_cmpuint (seen.calls, ==, 2);

  pipe2 = pipecom_test_listen_with (name2, FALSE, G_CALLBACK (drop_later_handler_cb), NULL);
  start = g_get_monotonic_time ();
  pipecom_request_async (name2, "hold then drop", 20, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_null (result.text);
  g_assert_cmpint (result.finished_at - start, >=, 90 * 1000);

  pipecom_test_result_clear (&result);
  pipecom_test_stop_and_wait (pipe);
  pipecom_test_stop_and_wait (pipe2);
  seen_clear (&seen);
}

static gboolean
held_reply_cb (gpointer data)
{
  PipecomMessage *message = data;

  pipecom_message_reply (message, "held");
  g_object_unref (message);
  return G_SOURCE_REMOVE;
}

static char *
hold_handler_cb (PipecomPipe    *pipe,
                 PipecomMessage *message,
                 gpointer        user_data)
{
  pipecom_message_hold (message);
  if (g_strcmp0 (pipecom_message_get_text (message), "hold and reply") == 0)
    g_timeout_add (100, held_reply_cb, g_object_ref (message));
  /* "hold only": held, but nobody keeps it: finalized at the end of the
   * emission, which acknowledges it */
  return NULL;
}

static void
test_reply_held (void)
{
  g_autofree char *name = pipecom_test_make_name ("held");
  g_autoptr(PipecomPipe) pipe = NULL;
  PipecomTestResult result = { 0, };
  gint64 start;

  g_test_summary ("pipecom_message_hold() defers the answer to a later reply; a held "
                  "message finalized without one is acknowledged");

  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (hold_handler_cb), NULL);

  start = g_get_monotonic_time ();
  pipecom_request_async (name, "hold and reply", 20, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.text, ==, "held");
  g_assert_cmpint (result.finished_at - start, >=, 90 * 1000);
  pipecom_test_result_clear (&result);

  pipecom_request_async (name, "hold only", 20, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_null (result.text);
  pipecom_test_result_clear (&result);

  pipecom_test_stop_and_wait (pipe);
}

typedef struct
{
  GPtrArray *wrapped;   /* messages "wrapped" by a fake garbage-collected binding */
  gboolean   toggle;    /* TRUE: a toggle reference; FALSE: GJS's plain one */
} FakeBinding;

static void
fake_toggle_notify (gpointer  data,
                    GObject  *object,
                    gboolean  is_last_ref)
{
}

static char *
fake_binding_handler_cb (PipecomPipe    *pipe,
                         PipecomMessage *message,
                         gpointer        user_data)
{
  FakeBinding *binding = user_data;

  /* What a binding does when it hands the message to a script: tie it to
   * a wrapper that lives until its garbage collector runs. */
  if (binding->toggle)
    g_object_add_toggle_ref (G_OBJECT (message), fake_toggle_notify, NULL);
  else
    {
      g_object_set_qdata (G_OBJECT (message), g_quark_from_static_string ("gjs::private"), binding);
      g_object_ref (message);
    }
  g_ptr_array_add (binding->wrapped, message);
  return NULL;  /* the script answers nothing */
}

static void
fake_binding_collect (FakeBinding *binding)
{
  for (guint i = 0; i < binding->wrapped->len; i++)
    {
      GObject *object = binding->wrapped->pdata[i];

      if (binding->toggle)
        g_object_remove_toggle_ref (object, fake_toggle_notify, NULL);
      else
        {
          g_object_set_qdata (object, g_quark_from_static_string ("gjs::private"), NULL);
          g_object_unref (object);
        }
    }
  g_ptr_array_set_size (binding->wrapped, 0);
}

static void
test_reply_binding_wrapper (void)
{
  g_test_summary ("A handler in a garbage-collected language that returns NULL acknowledges "
                  "at once, although the binding's wrapper still holds the message "
                  "(toggle reference, and GJS's plain one); collecting the wrapper later "
                  "answers nothing twice");

  for (guint variant = 0; variant < 2; variant++)
    {
      g_autofree char *name = pipecom_test_make_name ("binding");
      g_autoptr(PipecomPipe) pipe = NULL;
      g_autoptr(GPtrArray) wrapped = g_ptr_array_new ();
      FakeBinding binding = { wrapped, variant == 0 };
      PipecomTestResult result = { 0, };

      pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (fake_binding_handler_cb), &binding);

      pipecom_request_async (name, "anyone?", 20, 0, NULL, pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_null (result.text);
      /* acknowledged while the wrapper is alive, not when it is collected */
      g_assert_cmpuint (binding.wrapped->len, ==, 1);
      g_assert_true (pipecom_message_get_replied (binding.wrapped->pdata[0]));
      pipecom_test_result_clear (&result);

      fake_binding_collect (&binding);

      /* the listener goes on serving normally */
      pipecom_request_async (name, "still there?", 20, 0, NULL, pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_null (result.text);
      pipecom_test_result_clear (&result);
      fake_binding_collect (&binding);

      pipecom_test_stop_and_wait (pipe);
    }
}

static char *
reply_error_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "disk on fire");

  pipecom_message_reply_error (message, error);
  g_assert_true (pipecom_message_get_replied (message));
  return NULL;
}

static void
test_reply_error (void)
{
  g_autofree char *name = pipecom_test_make_name ("reply-error");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  g_test_summary ("pipecom_message_reply_error() reaches the sender as HANDLER_FAILED "
                  "carrying the handler's message");

  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (reply_error_cb), NULL);

  reply = pipecom_test_request (name, "burn", &error);
  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED);
  g_assert_nonnull (strstr (error->message, "disk on fire"));
  g_clear_error (&error);

  g_assert_false (pipecom_test_send (name, "burn", 20, 0, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED);
  g_assert_nonnull (strstr (error->message, "disk on fire"));

  g_assert_true (pipecom_pipe_get_listening (pipe));
  pipecom_test_stop_and_wait (pipe);
}

/* ------------------------------------------------------------------------ */
/* Invalid names, missing listeners                                         */
/* ------------------------------------------------------------------------ */

static void
assert_invalid_everywhere (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(PipecomClient) client = NULL;
  PipecomTestResult result = { 0, };
  g_autofree char *escaped = g_strescape (name, NULL);

  g_test_message ("checking name \"%.40s%s\" (%zu bytes)", escaped,
                  strlen (escaped) > 40 ? "..." : "", strlen (name));

  g_assert_false (pipecom_send (name, "x", 2, 1, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
  g_clear_error (&error);

  reply = pipecom_request (name, "x", 2, 1, &error);
  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
  g_clear_error (&error);

  pipecom_send_async (name, "x", 2, 1, NULL, pipecom_test_send_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (result.error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
  pipecom_test_result_clear (&result);

  pipe = pipecom_pipe_new (name);
  g_assert_false (pipecom_pipe_listen (pipe, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
  g_assert_false (pipecom_pipe_get_listening (pipe));
  g_clear_error (&error);

  client = pipecom_client_new (name);
  pipecom_client_set_max_attempts (client, 1);
  g_assert_false (pipecom_client_connect (client, NULL, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
}

static void
test_invalid_names (void)
{
  g_autofree char *long_name = g_strnfill (5000, 'a');
  g_autofree char *long_path = NULL;
  g_autofree char *missing_dir = g_build_filename (pipecom_test_get_runtime_dir (),
                                                   "no-such-dir", "pipe", NULL);
  const char *names[] = { "", "   ", "\t \n", "a\nb", "a\x01z", "dir/", "/tmp/", ".", "..",
#ifdef G_OS_WIN32
                          /* A simple name or a full \\.\pipe\ path, nothing else. */
                          "a\\b", "C:\\pipes\\x", "\\\\.\\pipe\\",
#else
                          "x.lock",
#endif
                        };
#ifdef G_OS_WIN32
  /* 9 bytes of prefix + 248 > the 256 characters Windows allows. */
  g_autofree char *win_long = g_strnfill (248, 'w');
  g_autofree char *win_ok = g_strnfill (247, 'w');
  g_autoptr(GError) error = NULL;
#endif

  g_test_summary ("Empty, blank, control-character, overlong and trailing-slash names, "
                  "and paths in missing directories give INVALID_PIPE everywhere");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    assert_invalid_everywhere (names[i]);
  assert_invalid_everywhere (long_name);
  long_path = g_strconcat (pipecom_test_get_runtime_dir (), "/", long_name, NULL);
  assert_invalid_everywhere (long_path);
  assert_invalid_everywhere (missing_dir);
#ifdef G_OS_WIN32
  assert_invalid_everywhere (win_long);
  /* One character less is a valid name (nobody listens on it). */
  g_assert_false (pipecom_send (win_ok, "x", 0, 1, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
#endif
}

static void
test_no_listener_attempts (void)
{
  g_autofree char *name = pipecom_test_make_name ("nobody");
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  gint64 start;

  g_test_summary ("A send to a missing listener with max_attempts=3 fails quickly with "
                  "CONNECTION_FAILED, naming the pipe and the attempts");

  start = g_get_monotonic_time ();
  g_assert_false (pipecom_send (name, "hello?", 0, 3, &error));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, name));
  g_assert_nonnull (strstr (error->message, "attempt"));
  g_assert_nonnull (strstr (error->message, "3"));
  g_clear_error (&error);

  reply = pipecom_request (name, "hello?", 0, 1, &error);
  g_assert_null (reply);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_assert_nonnull (strstr (error->message, "after 1 attempt"));
}

#ifdef G_OS_UNIX
static void
test_no_listener_fifo_without_reader (void)
{
  g_autofree char *path = pipecom_test_make_path ("no-reader");
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_test_summary ("A FIFO nobody reads (ENXIO) gives CONNECTION_FAILED, never blocks");

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  start = g_get_monotonic_time ();
  g_assert_false (pipecom_send (path, "hello?", 0, 3, &error));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED);
  g_assert_nonnull (strstr (error->message, path));
  /* A sender never removes files. */
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  g_unlink (path);
}
#endif

static void
test_no_listener_timeout (void)
{
  g_autofree char *name = pipecom_test_make_name ("nobody-timeout");
  g_autoptr(GError) error = NULL;
  gint64 start;
  double elapsed;

  g_test_summary ("A send to a missing listener with timeout=1 and unlimited attempts gives "
                  "up after about a second with CONNECTION_FAILED or TIMEOUT");

  start = g_get_monotonic_time ();
  g_assert_false (pipecom_send (name, "hello?", 1, 0, &error));
  elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("failed after %.3f s: %s", elapsed, error->message);
  g_assert_true (g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_CONNECTION_FAILED) ||
                 g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT));
  g_assert_cmpfloat (elapsed, >=, 0.8);
  g_assert_cmpfloat (elapsed, <, 3.5);
}

/* ------------------------------------------------------------------------ */
/* Listener killed mid-exchange                                             */
/* ------------------------------------------------------------------------ */

static void
test_listener_killed (void)
{
  g_autofree char *path = pipecom_test_make_path ("killed");
  g_autoptr(PipecomTestChild) child = NULL;
  PipecomTestResult result = { 0, };
  gint64 killed_at;

  g_test_summary ("A listener killed with SIGKILL while handling our request gives CLOSED "
                  "(no hang, although the request has no timeout)");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");

  pipecom_request_async (path, "block", 0, 0, NULL, pipecom_test_request_cb, &result);
  pipecom_test_child_expect_line (child, "GOT block");
  g_assert_false (result.done);

  killed_at = g_get_monotonic_time ();
  pipecom_test_child_kill (child);
  pipecom_test_wait_for (result.done, 20);
  g_test_message ("request failed %.3f s after the kill: %s",
                  (result.finished_at - killed_at) / (double) G_USEC_PER_SEC,
                  result.error ? result.error->message : "(no error)");
  g_assert_error (result.error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
  g_assert_null (result.text);
  pipecom_test_result_clear (&result);
}

#ifdef G_OS_UNIX
/* ------------------------------------------------------------------------ */
/* Synchronous one-shot calls, done by the calling thread                   */
/* ------------------------------------------------------------------------ */

/* A synchronous one-shot call, in a thread of its own, so that the test's
 * thread can play the listener. */
typedef struct
{
  char    *path;
  char    *text;
  guint    timeout;
  GThread *thread;
  char    *reply;
  GError  *error;
  gint64   elapsed;
} SyncCall;

static gpointer
sync_call_thread (gpointer data)
{
  SyncCall *call = data;
  gint64 start = g_get_monotonic_time ();

  call->reply = pipecom_request (call->path, call->text, call->timeout, 0, &call->error);
  call->elapsed = g_get_monotonic_time () - start;
  return NULL;
}

static SyncCall *
sync_call_start (const char *path,
                 const char *text,
                 guint       timeout)
{
  SyncCall *call = g_new0 (SyncCall, 1);

  call->path = g_strdup (path);
  call->text = g_strdup (text);
  call->timeout = timeout;
  call->thread = g_thread_new ("sync-call", sync_call_thread, call);
  return call;
}

static void
sync_call_join (SyncCall *call)
{
  g_thread_join (call->thread);
}

static void
sync_call_free (SyncCall *call)
{
  g_free (call->path);
  g_free (call->text);
  g_free (call->reply);
  g_clear_error (&call->error);
  g_free (call);
}

/* A listener's FIFO at @path that nobody serves: returns its read end. */
static int
fake_listener_open (const char *path)
{
  int fd;

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

/* Reads one announcement record of a one-shot message from @fd, the read
 * end of a listener's FIFO, and returns the path of the reply channel it
 * names. */
static char *
read_record (int fd)
{
  PipecomTestDeadline *deadline = pipecom_test_deadline_new (PIPECOM_TEST_DEADLINE);
  g_autofree char *base = NULL;
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  ssize_t n = -1;

  /* Until a sender has written, the FIFO reads empty (0: no writer). */
  while ((n = read (fd, record, sizeof record)) == 0 ||
         (n < 0 && (errno == EAGAIN || errno == EINTR)))
    g_assert_true (pipecom_test_deadline_iterate (deadline));
  pipecom_test_deadline_free (deadline);

  g_assert_cmpint (n, >=, PIPECOM_ANNOUNCE_HEADER_SIZE);
  g_assert_cmpmem (record, 4, "PCOM", 4);
  g_assert_cmpint (record[5], ==, PIPECOM_ANNOUNCE_ONESHOT);
  g_assert_cmpint (n, ==, _pipecom_get_u16 (record + 6));
  base = g_strndup ((const char *) record + PIPECOM_ANNOUNCE_HEADER_SIZE,
                    _pipecom_get_u16 (record + 8));
  return g_strconcat (base, ".rep", NULL);
}

static void
test_direct_lost_before_hello (void)
{
  g_autofree char *path = pipecom_test_make_path ("direct-lost");
  g_autofree char *rep = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  SyncCall *call;
  gint handled = 0;
  int fd;

  g_test_summary ("A synchronous send whose announcement was read by a listener that went "
                  "away without answering announces again, to the next listener: it is "
                  "handled exactly once");

  /* A listener that reads the record, then dies without a HELLO. */
  fd = fake_listener_open (path);
  call = sync_call_start (path, "again", 20);
  rep = read_record (fd);
  g_unlink (path);
  close (fd);

  pipe = pipecom_test_listen_new (path, TRUE, &handled);
  sync_call_join (call);

  g_test_message ("answered after %.3f s", call->elapsed / (double) G_USEC_PER_SEC);
  g_assert_no_error (call->error);
  g_assert_cmpstr (call->reply, ==, "ack:again");
  g_assert_cmpint (g_atomic_int_get (&handled), ==, 1);
  /* The first channel is gone with the attempt. */
  g_assert_false (pipecom_test_pipe_exists (rep));

  sync_call_free (call);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_direct_no_hello_timeout (void)
{
  g_autofree char *path = pipecom_test_make_path ("direct-silent");
  g_autofree char *rep = NULL;
  SyncCall *call;
  int fd;

  g_test_summary ("A synchronous send to a listener that reads the announcement and never "
                  "answers fails with TIMEOUT after its timeout, and leaves no channel file");

  fd = fake_listener_open (path);
  call = sync_call_start (path, "anyone?", 1);
  rep = read_record (fd);
  sync_call_join (call);
  close (fd);

  g_test_message ("failed after %.3f s: %s", call->elapsed / (double) G_USEC_PER_SEC,
                  call->error ? call->error->message : "(no error)");
  g_assert_error (call->error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (call->error->message, path));
  g_assert_cmpint (call->elapsed, >=, G_USEC_PER_SEC * 8 / 10);
  g_assert_cmpint (call->elapsed, <, G_USEC_PER_SEC * 7 / 2);
  g_assert_false (pipecom_test_pipe_exists (rep));

  sync_call_free (call);
  g_unlink (path);
}

static char *
large_reply_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                GBytes         *reply)
{
  pipecom_message_reply_bytes (message, reply);
  return NULL;
}

static void
test_direct_large_reply (void)
{
  g_autofree char *name = pipecom_test_make_name ("direct-large");
  g_autoptr(GBytes) reply = pipecom_test_random_bytes (4 * 1024 * 1024 + 3);
  g_autoptr(GBytes) message = g_bytes_new_static ("big?", 4);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestResult result = { 0, };

  g_test_summary ("A short one-shot request answered with 4 MiB, more than a pipe holds "
                  "(the listener waits for the sender to read), arrives whole, "
                  "synchronously and asynchronously");

  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (large_reply_cb), reply);

  got = pipecom_request_bytes (name, message, 60, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_true (g_bytes_equal (got, reply));

  pipecom_request_bytes_async (name, message, 60, 0, NULL, pipecom_test_request_bytes_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (result.error);
  g_assert_nonnull (result.bytes);
  g_assert_true (g_bytes_equal (result.bytes, reply));
  pipecom_test_result_clear (&result);

  pipecom_test_stop_and_wait (pipe);
}

static void
test_direct_listener_killed (void)
{
  g_autofree char *path = pipecom_test_make_path ("direct-killed");
  g_autoptr(PipecomTestChild) child = NULL;
  SyncCall *call;

  g_test_summary ("A synchronous request whose listener is killed while handling it gives "
                  "CLOSED (no hang, although the request has no timeout)");

  child = pipecom_test_child_spawn ("--child-listener", path, NULL);
  pipecom_test_child_expect_line (child, "READY");

  call = sync_call_start (path, "block", 0);
  pipecom_test_child_expect_line (child, "GOT block");
  pipecom_test_child_kill (child);
  sync_call_join (call);

  g_test_message ("failed: %s", call->error ? call->error->message : "(no error)");
  g_assert_error (call->error, PIPECOM_ERROR, PIPECOM_ERROR_CLOSED);
  g_assert_null (call->reply);
  sync_call_free (call);
}
#endif

/* ------------------------------------------------------------------------ */
/* Oversize messages                                                        */
/* ------------------------------------------------------------------------ */

static void
test_oversize (void)
{
  g_autofree char *name = pipecom_test_make_name ("oversize");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = pipecom_test_random_bytes (2048);
  g_autoptr(GBytes) exact = pipecom_test_random_bytes (1024);
  g_autoptr(GBytes) huge = pipecom_test_random_bytes (300 * 1024);
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;
  Seen seen;

  g_test_summary ("With max-message-size=1024 a 2048-byte message fails with "
                  "MESSAGE_TOO_LARGE, never reaches handlers, and the pipe keeps serving");

  seen_init (&seen);
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name, "threaded", TRUE,
                       "max-message-size", 1024u, NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (seen_ack_cb), &seen);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "oversize sends");
  g_assert_false (pipecom_send_bytes (name, big, 20, 0, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpuint (seen_calls (&seen), ==, 0);

  g_assert_false (pipecom_send_bytes (name, huge, 20, 0, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpuint (seen_calls (&seen), ==, 0);

  g_assert_true (pipecom_send_bytes (name, exact, 20, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seen_calls (&seen), ==, 1);

  reply = pipecom_request (name, "small", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:small");
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpuint (seen_calls (&seen), ==, 2);
  g_assert_true (pipecom_pipe_get_listening (pipe));
  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

/* ------------------------------------------------------------------------ */
/* Cancellation                                                             */
/* ------------------------------------------------------------------------ */

static char *
hold_cb (PipecomPipe    *pipe,
         PipecomMessage *message,
         gpointer        user_data)
{
  PipecomMessage **held = user_data;

  if (g_strcmp0 (pipecom_message_get_text (message), "hold") == 0)
    {
      g_assert_null (*held);
      *held = g_object_ref (message);
      return NULL;
    }
  return g_strconcat ("ack:", pipecom_message_get_text (message), NULL);
}

static void
test_cancel_pending_request (void)
{
  g_autofree char *name = pipecom_test_make_name ("cancel-pending");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomMessage *held = NULL;
  PipecomTestResult result = { 0, };
  gint64 cancelled_at;

  g_test_summary ("Cancelling a request whose handler never replies gives CANCELLED "
                  "promptly; the late answer is dropped and the listener keeps serving");

  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (hold_cb), &held);

  pipecom_request_async (name, "hold", 0, 0, cancellable, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (held != NULL, PIPECOM_TEST_DEADLINE);
  g_assert_false (result.done);

  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result.finished_at - cancelled_at, <, 2 * G_USEC_PER_SEC);
  pipecom_test_result_clear (&result);

  /* Answering now goes to a client that left. */
  pipecom_message_reply (held, "too late");
  g_clear_object (&held);
  pipecom_test_iterate_for (50);

  reply = pipecom_test_request (name, "after", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:after");
  g_assert_true (pipecom_pipe_get_listening (pipe));
  pipecom_test_stop_and_wait (pipe);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_no_listener (void)
{
  g_autofree char *name = pipecom_test_make_name ("cancel-nobody");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancellable2 = g_cancellable_new ();
  PipecomTestResult result = { 0, };
  PipecomTestResult result2 = { 0, };
  gint64 start;

  g_test_summary ("A send retrying forever for a missing listener ends with CANCELLED "
                  "promptly when cancelled");

  start = g_get_monotonic_time ();
  pipecom_send_async (name, "anyone?", 0, 0, cancellable, pipecom_test_send_cb, &result);
  pipecom_request_async (name, "anyone?", 0, 0, cancellable2, pipecom_test_request_cb, &result2);
  g_timeout_add (300, cancel_cb, cancellable);
  g_timeout_add (300, cancel_cb, cancellable2);
  pipecom_test_wait_for (result.done && result2.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (result2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result.finished_at - start, >=, 250 * 1000);
  g_assert_cmpint (result.finished_at - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (result2.finished_at - start, <, 2 * G_USEC_PER_SEC);
  pipecom_test_result_clear (&result);
  pipecom_test_result_clear (&result2);
}

static void
test_cancel_before (void)
{
  g_autofree char *name = pipecom_test_make_name ("cancel-before");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PipecomTestResult result = { 0, };
  Seen seen;

  g_test_summary ("An already cancelled send fails with CANCELLED and is never delivered");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (seen_ack_cb), &seen);
  g_cancellable_cancel (cancellable);

  pipecom_request_async (name, "never", 20, 0, cancellable, pipecom_test_request_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  pipecom_test_iterate_for (200);
  g_assert_cmpuint (seen.calls, ==, 0);

  pipecom_test_result_clear (&result);
  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

/* Unix only: registered with the direct-path tests below. */
#ifdef G_OS_UNIX
typedef struct
{
  GCancellable   *cancellable;
  PipecomMessage *held;       /* (owned) */
  guint           calls;
} HoldAndCancel;

/* In the listener's thread: keeps the message unanswered, and cancels the
 * sender's current cancellable, as a Ctrl-C handler would. */
static char *
hold_and_cancel_cb (PipecomPipe    *pipe,
                    PipecomMessage *message,
                    gpointer        user_data)
{
  HoldAndCancel *hc = user_data;

  hc->calls++;
  if (g_strcmp0 (pipecom_message_get_text (message), "hold") != 0)
    return g_strconcat ("ack:", pipecom_message_get_text (message), NULL);
  g_clear_object (&hc->held);
  hc->held = g_object_ref (message);
  g_cancellable_cancel (hc->cancellable);
  return NULL;
}

static void
test_cancel_current_sync (void)
{
  g_autofree char *name = pipecom_test_make_name ("cancel-current");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  HoldAndCancel hc = { cancellable, NULL, 0 };
  PipecomTestWatchdog *watchdog;

  g_test_summary ("The synchronous calls honour the current cancellable "
                  "(g_cancellable_push_current()): cancelled while the listener "
                  "holds the message, a request with no timeout fails with CANCELLED");

  pipe = pipecom_test_listen_with (name, TRUE, G_CALLBACK (hold_and_cancel_cb), &hc);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "cancelled pipecom_request()");
  g_cancellable_push_current (cancellable);
  reply = pipecom_request (name, "hold", 0, 0, &error);
  g_cancellable_pop_current (cancellable);
  pipecom_test_watchdog_stop (watchdog);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (reply);
  g_clear_error (&error);

  /* The same with pipecom_send(), and an already cancelled one: nothing
   * is delivered. */
  g_cancellable_reset (cancellable);
  g_cancellable_push_current (cancellable);
  g_assert_false (pipecom_send (name, "hold", 0, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (pipecom_send (name, "never", 20, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_cancellable_pop_current (cancellable);

  /* Without a current cancellable nothing changes; the listener serves on. */
  reply = pipecom_request (name, "after", 20, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:after");

  pipecom_test_stop_and_wait (pipe);
  g_assert_cmpuint (hc.calls, ==, 3);
  g_clear_object (&hc.held);
}

/* Fails a synchronous send of @message to @name, with the current
 * cancellable @cancellable if not %NULL, and asserts that its error is
 * the asynchronous send's, which resolves the name before anything. */
static void
assert_sync_error_as_async (const char   *name,
                            GBytes       *message,
                            GCancellable *cancellable,
                            const char   *text)
{
  g_autoptr(GError) error = NULL;
  PipecomTestResult result = { 0, };

  pipecom_send_bytes_async (name, message, 1, 1, NULL, pipecom_test_send_bytes_cb, &result);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_nonnull (result.error);
  g_assert_nonnull (strstr (result.error->message, text));

  if (cancellable != NULL)
    g_cancellable_push_current (cancellable);
  g_assert_false (pipecom_send_bytes (name, message, 1, 1, &error));
  if (cancellable != NULL)
    g_cancellable_pop_current (cancellable);
  g_assert_error (error, result.error->domain, result.error->code);
  g_assert_cmpstr (error->message, ==, result.error->message);

  pipecom_test_result_clear (&result);
}

static void
test_direct_dir_errors (void)
{
  g_autofree char *missing = g_build_filename (pipecom_test_get_runtime_dir (),
                                               "no-such-dir", "pipe", NULL);
  g_autofree char *file = g_build_filename (pipecom_test_get_runtime_dir (),
                                            "not-a-dir", NULL);
  g_autofree char *in_file = g_build_filename (file, "pipe", NULL);
  g_autofree char *large = g_strnfill (PIPECOM_ANNOUNCE_INLINE_MAX + 1, 'x');
  g_autoptr(GBytes) small_message = g_bytes_new_static ("x", 1);
  g_autoptr(GBytes) large_message = g_bytes_new_static (large, strlen (large));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  const char *names[] = { missing, in_file, "no-such-relative-dir/pipe" };

  g_test_summary ("A synchronous one-shot to a path whose directory is missing, or not a "
                  "directory, fails as the asynchronous one does, with the error of "
                  "resolving the name, whether it goes inline or not, and cancelled or not, "
                  "though the direct path looks at the directory only after the pipe could "
                  "not be opened");

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_cancellable_cancel (cancellable);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      assert_sync_error_as_async (names[i], small_message, NULL, "does not exist");
      assert_sync_error_as_async (names[i], large_message, NULL, "does not exist");
      assert_sync_error_as_async (names[i], small_message, cancellable, "does not exist");
    }

  g_assert_cmpint (g_unlink (file), ==, 0);
}
#endif

/* ------------------------------------------------------------------------ */
/* Synchronous sends on the listener's own thread                           */
/* ------------------------------------------------------------------------ */

static void
test_same_thread_sync (void)
{
  g_autofree char *name = pipecom_test_make_name ("same-thread");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;
  gint64 start;
  Seen seen;

  g_test_summary ("A synchronous send/request from the thread that dispatches the listener "
                  "works instead of hanging");

  seen_init (&seen);
  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (seen_ack_cb), &seen);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "same-thread pipecom_send()");
  start = g_get_monotonic_time ();
  g_assert_true (pipecom_send (name, "sync one", 10, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpstr (seen.last_text, ==, "sync one");

  reply = pipecom_request (name, "sync two", 10, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:sync two");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  pipecom_test_watchdog_stop (watchdog);

  pipecom_test_stop_and_wait (pipe);
  seen_clear (&seen);
}

#define OTHER_THREAD_ROUNDS 200
#define OTHER_THREAD_SENDS  5

static gpointer
other_thread_sends (gpointer user_data)
{
  const char *name = user_data;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < OTHER_THREAD_SENDS; i++)
    {
      g_assert_true (pipecom_send (name, "from another thread", PIPECOM_TEST_DEADLINE, 0,
                                   &error));
      g_assert_no_error (error);
    }
  g_assert_true (pipecom_send (name, PIPECOM_DEFAULT_DIE_CODE, PIPECOM_TEST_DEADLINE, 0,
                               &error));
  g_assert_no_error (error);

  return NULL;
}

static void
test_other_thread_default_context (void)
{
  PipecomTestWatchdog *watchdog;

  g_test_summary ("Synchronous sends from a thread with no main context of its own, started "
                  "before this thread serves the listener with pipecom_pipe_run() in the "
                  "global default context, all complete: the sender never iterates the "
                  "listener's context, which the serving thread holds (both waited for each "
                  "other for ever when the sender caught the context still free)");

  watchdog = pipecom_test_watchdog_start (4 * PIPECOM_TEST_DEADLINE,
                                          "sends from another thread to pipecom_pipe_run()");
  for (guint round = 0; round < OTHER_THREAD_ROUNDS; round++)
    {
      g_autofree char *name = pipecom_test_make_name ("other-thread");
      g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
      g_autoptr(GError) error = NULL;
      GThread *sender;
      gint handled = 0;

      g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &handled);
      g_assert_true (pipecom_pipe_listen (pipe, &error));
      g_assert_no_error (error);

      sender = g_thread_new ("sender", other_thread_sends, name);
      g_assert_true (pipecom_pipe_run (pipe, &error));
      g_assert_no_error (error);
      g_thread_join (sender);

      g_assert_cmpint (g_atomic_int_get (&handled), ==, OTHER_THREAD_SENDS);
    }
  pipecom_test_watchdog_stop (watchdog);
}

static char *
forward_sync_cb (PipecomPipe    *pipe,
                 PipecomMessage *message,
                 gpointer        user_data)
{
  const char *target = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  reply = pipecom_request (target, pipecom_message_get_text (message), 10, 0, &error);
  if (error != NULL)
    return g_strdup_printf ("error:%s", error->message);
  return g_strdup_printf ("A(%s)", reply);
}

static void
test_same_thread_from_handler (void)
{
  g_autofree char *name_a = pipecom_test_make_name ("handler-a");
  g_autofree char *name_b = pipecom_test_make_name ("handler-b");
  g_autoptr(PipecomPipe) a = NULL;
  g_autoptr(PipecomPipe) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  PipecomTestWatchdog *watchdog;

  g_test_summary ("A handler of pipe A may make a synchronous request to pipe B served by "
                  "the same thread");

  b = pipecom_test_listen_new (name_b, FALSE, NULL);
  a = pipecom_test_listen_with (name_a, FALSE, G_CALLBACK (forward_sync_cb), name_b);

  watchdog = pipecom_test_watchdog_start (PIPECOM_TEST_DEADLINE, "sync request from a handler");
  reply = pipecom_test_request (name_a, "x", &error);
  pipecom_test_watchdog_stop (watchdog);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "A(ack:x)");

  pipecom_test_stop_and_wait (a);
  pipecom_test_stop_and_wait (b);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/send/basic/threaded", test_basic_threaded);
  g_test_add_func ("/send/request/reply", test_request_reply);
  g_test_add_func ("/send/request/null-reply", test_request_null_reply);
  g_test_add_func ("/send/request/empty-reply", test_request_empty_reply);
  g_test_add_func ("/send/request/first-wins", test_request_first_wins);
  g_test_add_func ("/send/async/send", test_async_send);
  g_test_add_func ("/send/async/request", test_async_request);
  g_test_add_func ("/send/async/bytes", test_async_bytes);
  g_test_add_func ("/send/bytes/sizes", test_bytes_sizes);
  g_test_add_func ("/send/reply/delayed", test_reply_delayed);
  g_test_add_func ("/send/reply/dropped", test_reply_dropped);
  g_test_add_func ("/send/reply/held", test_reply_held);
  g_test_add_func ("/send/reply/binding-wrapper", test_reply_binding_wrapper);
  g_test_add_func ("/send/reply/error", test_reply_error);
  g_test_add_func ("/send/invalid-name", test_invalid_names);
  g_test_add_func ("/send/no-listener/attempts", test_no_listener_attempts);
#ifdef G_OS_UNIX
  g_test_add_func ("/send/no-listener/fifo-without-reader", test_no_listener_fifo_without_reader);
#endif
  g_test_add_func ("/send/no-listener/timeout", test_no_listener_timeout);
  g_test_add_func ("/send/listener-killed", test_listener_killed);
#ifdef G_OS_UNIX
  g_test_add_func ("/send/direct/lost-before-hello", test_direct_lost_before_hello);
  g_test_add_func ("/send/cancel/current-sync", test_cancel_current_sync);
  g_test_add_func ("/send/direct/no-hello-timeout", test_direct_no_hello_timeout);
  g_test_add_func ("/send/direct/listener-killed", test_direct_listener_killed);
  g_test_add_func ("/send/direct/large-reply", test_direct_large_reply);
  g_test_add_func ("/send/direct/dir-errors", test_direct_dir_errors);
#endif
  g_test_add_func ("/send/oversize", test_oversize);
  g_test_add_func ("/send/cancel/pending-request", test_cancel_pending_request);
  g_test_add_func ("/send/cancel/no-listener", test_cancel_no_listener);
  g_test_add_func ("/send/cancel/before", test_cancel_before);
  g_test_add_func ("/send/same-thread/sync", test_same_thread_sync);
  g_test_add_func ("/send/same-thread/from-handler", test_same_thread_from_handler);
  g_test_add_func ("/send/other-thread/default-context", test_other_thread_default_context);

  return g_test_run ();
}
