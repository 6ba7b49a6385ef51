/* test-message-pool.c: the GObject layout message reuse relies on
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-private.h"
#include "pipecom-message-pool-private.h"
#include "test-utils.h"

/* Message reuse (pipecom-message-pool.c) reads GObject's reference count
 * and qdata list directly. Each case checks those reads against what
 * GObject's own API does, so that a GLib that lays GObject out otherwise,
 * or keeps weak or toggle references elsewhere, fails here rather than
 * making the pipe reuse a message somebody still holds. */

static void
test_ref_count (void)
{
  g_autoptr(GObject) object = g_object_new (G_TYPE_OBJECT, NULL);

  g_test_summary ("The reference count read directly follows g_object_ref() and g_object_unref()");

  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 1);
  g_object_ref (object);
  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 2);
  g_object_ref (object);
  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 3);
  g_object_unref (object);
  g_object_unref (object);
  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 1);
}

static void
test_qdata (void)
{
  g_autoptr(GObject) object = g_object_new (G_TYPE_OBJECT, NULL);
  GQuark quark = g_quark_from_static_string ("pipecom-test-qdata");
  int value;

  g_test_summary ("The qdata list read directly is empty exactly when no data is set, "
                  "and empties again when the last datum is removed");

  g_assert_false (_pipecom_object_has_qdata (object));
  g_object_set_qdata (object, quark, &value);
  g_assert_true (_pipecom_object_has_qdata (object));
  g_object_set_qdata (object, quark, NULL);
  g_assert_false (_pipecom_object_has_qdata (object));

  g_object_set_data (object, "pipecom-test", &value);
  g_assert_true (_pipecom_object_has_qdata (object));
  g_object_set_data (object, "pipecom-test", NULL);
  g_assert_false (_pipecom_object_has_qdata (object));
}

static void
weak_notify_cb (gpointer  data,
                GObject  *where_the_object_was)
{
}

static void
toggle_notify_cb (gpointer  data,
                  GObject  *object,
                  gboolean  is_last_ref)
{
}

static void
test_weak_and_toggle (void)
{
  g_autoptr(GObject) object = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr(GObject) other = g_object_new (G_TYPE_OBJECT, NULL);
  GWeakRef weak;

  g_test_summary ("GWeakRef, g_object_weak_ref() and toggle references live in the qdata "
                  "list, under the quark _pipecom_message_is_kept() looks for");

  g_weak_ref_init (&weak, object);
  g_assert_true (_pipecom_object_has_qdata (object));
  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 1);
  g_weak_ref_clear (&weak);
  g_assert_false (_pipecom_object_has_qdata (object));

  /* GLib 2.74 keeps an emptied stack of weak or toggle references in the
   * qdata: such an object is then never reused, which is safe. */
  g_object_weak_ref (other, weak_notify_cb, NULL);
  g_assert_true (_pipecom_object_has_qdata (other));
  g_assert_cmpuint (_pipecom_object_peek_ref_count (other), ==, 1);
  g_object_weak_unref (other, weak_notify_cb, NULL);

  g_object_add_toggle_ref (object, toggle_notify_cb, NULL);
  g_assert_true (_pipecom_object_has_qdata (object));
  g_assert_nonnull (g_object_get_qdata (object, g_quark_from_static_string ("GObject-toggle-references")));
  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 2);
  g_object_remove_toggle_ref (object, toggle_notify_cb, NULL);
  g_assert_cmpuint (_pipecom_object_peek_ref_count (object), ==, 1);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
}

static void
test_unreachable (void)
{
  g_autoptr(GObject) object = g_object_new (G_TYPE_OBJECT, NULL);
  guint notify_id = g_signal_lookup ("notify", G_TYPE_OBJECT);
  GWeakRef weak;
  gulong handler;

  g_test_summary ("An object counts as unreachable only with one reference, no qdata "
                  "and no signal handler");

  g_assert_true (_pipecom_message_pool_unreachable (object, notify_id));
  g_assert_true (_pipecom_message_pool_still_unreachable (object));

  g_object_ref (object);
  g_assert_false (_pipecom_message_pool_unreachable (object, notify_id));
  g_assert_false (_pipecom_message_pool_still_unreachable (object));
  g_object_unref (object);

  g_weak_ref_init (&weak, object);
  g_assert_false (_pipecom_message_pool_unreachable (object, notify_id));
  g_assert_false (_pipecom_message_pool_still_unreachable (object));
  g_weak_ref_clear (&weak);

  handler = g_signal_connect (object, "notify", G_CALLBACK (notify_cb), NULL);
  g_assert_false (_pipecom_message_pool_unreachable (object, notify_id));
  g_signal_handler_disconnect (object, handler);

  g_assert_true (_pipecom_message_pool_unreachable (object, notify_id));
}

static void
test_enabled (void)
{
  const char *value = g_getenv ("PIPECOM_MESSAGE_REUSE");

  g_test_summary ("PIPECOM_MESSAGE_REUSE=0 turns reuse off; anything else leaves it on");

  g_assert_cmpint (_pipecom_message_pool_enabled (), ==, g_strcmp0 (value, "0") != 0);
  /* Read once: changing the variable later changes nothing. */
  g_setenv ("PIPECOM_MESSAGE_REUSE", g_strcmp0 (value, "0") == 0 ? "1" : "0", TRUE);
  g_assert_cmpint (_pipecom_message_pool_enabled (), ==, g_strcmp0 (value, "0") != 0);
  if (value != NULL)
    g_setenv ("PIPECOM_MESSAGE_REUSE", value, TRUE);
  else
    g_unsetenv ("PIPECOM_MESSAGE_REUSE");
}

typedef struct
{
  gpointer seen[2];   /* not references: only compared */
  guint    n_seen;
} Seen;

static char *
remember_cb (PipecomPipe    *pipe,
             PipecomMessage *message,
             gpointer        user_data)
{
  Seen *seen = user_data;

  if (seen->n_seen < G_N_ELEMENTS (seen->seen))
    seen->seen[seen->n_seen++] = message;
  return g_strdup (pipecom_message_get_text (message));
}

static void
test_pipe_reuses (void)
{
  g_autofree char *name = pipecom_test_make_name ("pool-reuse");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GError) error = NULL;
  Seen seen = { { NULL, }, 0 };

  g_test_summary ("A message nobody kept is reused for the next one when reuse is on; "
                  "either way every request gets its own reply");

  pipe = pipecom_pipe_new (name);
  g_signal_connect (pipe, "message-received", G_CALLBACK (remember_cb), &seen);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  client = pipecom_client_new (name);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);
      PipecomTestResult result = { 0, };

      pipecom_client_request_async (client, text, NULL, pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_cmpstr (result.text, ==, text);
      pipecom_test_result_clear (&result);
    }

  g_assert_cmpuint (seen.n_seen, ==, 2);
  if (_pipecom_message_pool_enabled ())
    g_assert_true (seen.seen[0] == seen.seen[1]);

  pipecom_test_stop_and_wait (pipe);
}

/* Every payload seen, and, from the fourth message on, a reference to it. */
typedef struct
{
  GPtrArray *texts;  /* of char * */
  GPtrArray *kept;   /* of GBytes */
} Payloads;

static char *
keep_payload_cb (PipecomPipe    *pipe,
                 PipecomMessage *message,
                 gpointer        user_data)
{
  Payloads *payloads = user_data;
  GBytes *bytes = pipecom_message_get_bytes (message);

  g_ptr_array_add (payloads->texts, g_strndup (g_bytes_get_data (bytes, NULL),
                                               g_bytes_get_size (bytes)));
  if (payloads->texts->len > 3)
    g_ptr_array_add (payloads->kept, g_bytes_ref (bytes));
  return NULL;
}

static void
test_pipe_inline_payloads (void)
{
  g_autofree char *name = pipecom_test_make_name ("pool-inline");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func (g_free);
  Payloads payloads;

  g_test_summary ("Each one-shot message, whose payload comes inline with its announcement, "
                  "has its own payload, whether the handler keeps it or not");

  payloads.texts = g_ptr_array_new_with_free_func (g_free);
  payloads.kept = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  pipe = pipecom_pipe_new (name);
  g_signal_connect (pipe, "message-received", G_CALLBACK (keep_payload_cb), &payloads);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  /* Of different lengths, so that one written over another shows. */
  for (guint i = 0; i < 7; i++)
    {
      PipecomTestResult result = { 0, };
      char *text = g_strnfill (1 + (i * 5) % 11, 'a' + i);

      g_ptr_array_add (sent, text);
      pipecom_send_async (name, text, 10, 1, NULL, pipecom_test_send_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      g_assert_true (result.ok);
      pipecom_test_result_clear (&result);
    }

  g_assert_cmpuint (payloads.texts->len, ==, sent->len);
  for (guint i = 0; i < sent->len; i++)
    g_assert_cmpstr (payloads.texts->pdata[i], ==, sent->pdata[i]);
  g_assert_cmpuint (payloads.kept->len, ==, sent->len - 3);
  for (guint i = 0; i < payloads.kept->len; i++)
    {
      gsize size;
      const char *data = g_bytes_get_data (payloads.kept->pdata[i], &size);

      g_assert_cmpmem (data, size, sent->pdata[i + 3], strlen (sent->pdata[i + 3]));
    }

  pipecom_test_stop_and_wait (pipe);
  g_ptr_array_unref (payloads.texts);
  g_ptr_array_unref (payloads.kept);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/message-pool/layout/ref-count", test_ref_count);
  g_test_add_func ("/message-pool/layout/qdata", test_qdata);
  g_test_add_func ("/message-pool/layout/weak-and-toggle", test_weak_and_toggle);
  g_test_add_func ("/message-pool/unreachable", test_unreachable);
  g_test_add_func ("/message-pool/enabled", test_enabled);
  g_test_add_func ("/message-pool/pipe/reuses", test_pipe_reuses);
  g_test_add_func ("/message-pool/pipe/inline-payloads", test_pipe_inline_payloads);

  return g_test_run ();
}
