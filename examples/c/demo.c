/* demo.c: the quick start, end to end
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Starts quickstart-listener as a separate process, runs quickstart-sender
 * against it, sends a few requests and prints the replies, then stops the
 * listener with the die code and waits for it to exit.
 *
 *   demo
 *
 * quickstart-listener and quickstart-sender are looked up next to this
 * program. The pipe's name contains the process id, so several demos can
 * run at once.
 */

#include <locale.h>
#include <stdlib.h>

#include <pipecom.h>

#ifdef G_OS_UNIX
# include <unistd.h>
#else
# include <process.h>
# define getpid _getpid
#endif

#define LISTENER_EXIT_TIMEOUT_SECONDS 10

typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gboolean   timed_out;
} WaitData;

static void
listener_exited_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  WaitData *data = user_data;

  g_subprocess_wait_check_finish (G_SUBPROCESS (object), result, &data->error);
  g_main_loop_quit (data->loop);
}

static gboolean
listener_exit_timeout_cb (gpointer user_data)
{
  WaitData *data = user_data;

  data->timed_out = TRUE;
  g_main_loop_quit (data->loop);

  return G_SOURCE_REMOVE;
}

/* Waits for the listener to exit, for at most
 * LISTENER_EXIT_TIMEOUT_SECONDS. */
static gboolean
wait_for_listener (GSubprocess  *listener,
                   GError      **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  WaitData data = { loop, NULL, FALSE };
  guint timeout_id;

  g_subprocess_wait_check_async (listener, cancellable, listener_exited_cb, &data);
  timeout_id = g_timeout_add_seconds (LISTENER_EXIT_TIMEOUT_SECONDS,
                                      listener_exit_timeout_cb, &data);
  g_main_loop_run (loop);

  if (data.timed_out)
    {
      /* Let the pending wait finish (cancelled) before data goes away */
      g_cancellable_cancel (cancellable);
      g_main_loop_run (loop);
      g_clear_error (&data.error);
      g_subprocess_force_exit (listener);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "The listener did not exit within %d seconds",
                   LISTENER_EXIT_TIMEOUT_SECONDS);
      return FALSE;
    }

  g_source_remove (timeout_id);

  if (data.error != NULL)
    {
      g_propagate_error (error, data.error);
      return FALSE;
    }

  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  static const char * const requests[] = {
    "How are you?",
    "PipeCom speaks GLib",
    "Acknowledged, and answered",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  g_autoptr(GSubprocess) sender = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *listener_path = NULL;
  g_autofree char *sender_path = NULL;
  g_autofree char *name = NULL;

  setlocale (LC_ALL, "");

  if (argc > 1)
    {
      g_printerr ("Usage: %s\n", argv[0]);
      return EXIT_FAILURE;
    }

  /* The two quick start programs are built next to this one */
  dir = g_path_get_dirname (argv[0]);
#ifdef G_OS_WIN32
# define EXE_SUFFIX ".exe"
#else
# define EXE_SUFFIX ""
#endif
  listener_path = g_build_filename (dir, "quickstart-listener" EXE_SUFFIX, NULL);
  sender_path = g_build_filename (dir, "quickstart-sender" EXE_SUFFIX, NULL);
  if (!g_file_test (listener_path, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test (sender_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("demo: quickstart-listener and quickstart-sender must be in %s\n", dir);
      return EXIT_FAILURE;
    }

  /* A name of our own, so that several demos can run at once */
  name = g_strdup_printf ("demo-%d", (int) getpid ());

  /* 1. Start the listener. Its output goes to our terminal. */
  g_print ("demo: starting %s %s\n", listener_path, name);
  listener = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                               listener_path, name, NULL);
  if (listener == NULL)
    {
      g_printerr ("demo: could not start the listener: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* 2. Run the sender. No need to wait for the listener to be ready:
   * while it is not there yet, the sender tries again with a short backoff,
   * within its timeout of 10 seconds. */
  g_print ("demo: running %s %s \"Hello, World!\"\n", sender_path, name);
  sender = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                             sender_path, "--timeout=10", name, "Hello, World!", NULL);
  if (sender == NULL || !g_subprocess_wait_check (sender, NULL, &error))
    {
      g_printerr ("demo: the sender failed: %s\n", error->message);
      g_subprocess_force_exit (listener);
      return EXIT_FAILURE;
    }

  /* 3. Requests: like sends, but they return the listener's reply */
  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autofree char *reply = NULL;

      g_print ("demo: request \"%s\"\n", requests[i]);
      reply = pipecom_request (name, requests[i], 5, 3, &error);
      if (error != NULL)
        {
          g_printerr ("demo: the request failed: %s\n", error->message);
          g_subprocess_force_exit (listener);
          return EXIT_FAILURE;
        }
      g_print ("demo: reply \"%s\"\n", reply != NULL ? reply : "(none)");
    }

  /* 4. The die code is acknowledged, then the listener stops */
  g_print ("demo: sending the die code \"%s\"\n", PIPECOM_DEFAULT_DIE_CODE);
  if (!pipecom_send (name, PIPECOM_DEFAULT_DIE_CODE, 5, 3, &error))
    {
      g_printerr ("demo: could not stop the listener: %s\n", error->message);
      g_subprocess_force_exit (listener);
      return EXIT_FAILURE;
    }

  if (!wait_for_listener (listener, &error))
    {
      g_printerr ("demo: %s\n", error->message);
      return EXIT_FAILURE;
    }

  g_print ("demo: done, the listener exited cleanly\n");

  return EXIT_SUCCESS;
}
