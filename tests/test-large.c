/* test-large.c: 16 MiB binary round trips (suite "slow")
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"

#define LARGE_SIZE (16 * 1024 * 1024)

static char *
echo_bytes_cb (PipecomPipe    *pipe,
               PipecomMessage *message,
               gpointer        user_data)
{
  GBytes *bytes = pipecom_message_get_bytes (message);  /* (transfer none) */

  g_atomic_int_inc ((gint *) user_data);
  g_assert_cmpuint (pipecom_message_get_size (message), ==, g_bytes_get_size (bytes));
  pipecom_message_reply_bytes (message, bytes);
  return NULL;
}

static PipecomPipe *
listen_echo (const char *name,
             gboolean    threaded,
             gint       *calls)
{
  return pipecom_test_listen_with (name, threaded, G_CALLBACK (echo_bytes_cb), calls);
}

static void
assert_same_bytes (GBytes *a,
                   GBytes *b)
{
  gsize la, lb;
  const guint8 *da = g_bytes_get_data (a, &la);
  const guint8 *db = g_bytes_get_data (b, &lb);

  g_assert_cmpuint (la, ==, lb);
  if (memcmp (da, db, la) != 0)
    {
      for (gsize i = 0; i < la; i++)
        if (da[i] != db[i])
          g_error ("first difference at byte %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, i, la);
    }
}

static void
test_request_bytes (void)
{
  g_autofree char *name = pipecom_test_make_name ("large");
  g_autoptr(GBytes) payload = pipecom_test_random_bytes (LARGE_SIZE);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  gint64 start;
  gint calls = 0;

  g_test_summary ("A 16 MiB random binary message and its echo via pipecom_request_bytes() "
                  "are identical byte for byte");

  pipe = listen_echo (name, TRUE, &calls);

  watchdog = pipecom_test_watchdog_start (120, "16 MiB pipecom_request_bytes()");
  start = g_get_monotonic_time ();
  reply = pipecom_request_bytes (name, payload, 120, 0, &error);
  g_test_message ("16 MiB round trip in %.3f s",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  assert_same_bytes (reply, payload);

  g_assert_true (pipecom_send_bytes (name, payload, 120, 0, &error));
  g_assert_no_error (error);
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpint (g_atomic_int_get (&calls), ==, 2);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_client_bytes (void)
{
  g_autofree char *name = pipecom_test_make_name ("large-client");
  g_autoptr(GBytes) payload = pipecom_test_random_bytes (LARGE_SIZE);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  PipecomTestWatchdog *watchdog;
  gint calls = 0;

  g_test_summary ("A 16 MiB random binary round trip via PipecomClient (sync, twice on one "
                  "connection) is identical byte for byte");

  pipe = listen_echo (name, TRUE, &calls);
  client = pipecom_client_new (name);
  pipecom_client_set_timeout (client, 120);

  watchdog = pipecom_test_watchdog_start (120, "16 MiB pipecom_client_request_bytes()");
  for (guint i = 0; i < 2; i++)
    {
      reply = pipecom_client_request_bytes (client, payload, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (reply);
      assert_same_bytes (reply, payload);
      g_clear_pointer (&reply, g_bytes_unref);
    }
  pipecom_test_watchdog_stop (watchdog);

  g_assert_cmpint (g_atomic_int_get (&calls), ==, 2);
  pipecom_test_stop_and_wait (pipe);
}

static void
test_client_bytes_async_same_context (void)
{
  g_autofree char *name = pipecom_test_make_name ("large-async");
  g_autoptr(GBytes) payload = pipecom_test_random_bytes (LARGE_SIZE);
  g_autoptr(GBytes) small = g_bytes_new_static ("tiny", 4);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  PipecomTestResult big = { 0, };
  PipecomTestResult little = { 0, };
  gint calls = 0;

  g_test_summary ("A 16 MiB async client round trip with the listener on the same main "
                  "context, with a small request in flight behind it");

  pipe = listen_echo (name, FALSE, &calls);
  client = pipecom_client_new (name);

  pipecom_client_request_bytes_async (client, payload, NULL, pipecom_test_request_bytes_cb, &big);
  pipecom_client_request_bytes_async (client, small, NULL, pipecom_test_request_bytes_cb, &little);
  pipecom_test_wait_for (big.done && little.done, 120);

  g_assert_no_error (big.error);
  assert_same_bytes (big.bytes, payload);
  g_assert_no_error (little.error);
  assert_same_bytes (little.bytes, small);
  g_assert_cmpint (calls, ==, 2);

  pipecom_test_result_clear (&big);
  pipecom_test_result_clear (&little);
  pipecom_test_stop_and_wait (pipe);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/large/request-bytes", test_request_bytes);
  g_test_add_func ("/large/client", test_client_bytes);
  g_test_add_func ("/large/client-async", test_client_bytes_async_same_context);

  return g_test_run ();
}
