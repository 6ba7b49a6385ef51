/* response-pipe.c: a task processor whose results go to a response pipe
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The "Advanced Usage with Response Pipe" scenario of the original PipeCom:
 *
 *  - a response pipe collects the results;
 *  - the main pipe processes tasks, with an inactivity timeout of 30 s, at
 *    most 10 messages, the die code "SHUTDOWN", and #PipecomPipe:response-pipe-name
 *    set, so that every reply of its handler is also sent to the response pipe;
 *  - five tasks are submitted one after the other (timeout 5 s, at most 3
 *    attempts each), the results arrive on the response pipe, a summary is
 *    printed, then both pipes are shut down.
 *
 * Everything runs in one thread, in a GMainLoop: both pipes are served by
 * the main context, and the tasks are sent with the asynchronous API. Each
 * step starts when the event it waits for has happened.
 *
 *   response-pipe
 */

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <pipecom.h>

#ifdef G_OS_UNIX
# include <unistd.h>
#else
# include <process.h>
# define getpid _getpid
#endif

#define DEADLINE_SECONDS 20

static const char * const tasks[] = {
  "Generate report",
  "Process data",
  "Send email",
  "Handle error case", /* This will trigger an error result */
  "Final task",
};

typedef struct
{
  GMainLoop   *loop;
  char        *main_pipe_name;
  char        *response_pipe_name;
  GPtrArray   *responses;       /* (element-type utf8) */
  guint        next_task;
  guint        n_submitted;
  gboolean     shutting_down;
  gboolean     response_pipe_stopped;
  guint        n_sends_in_flight;
  guint        deadline_id;
  int          status;
} TaskDemo;

static void submit_next_task (TaskDemo     *demo);
static void shutdown_sent_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data);

/* Quits once the response pipe stopped and every send completed */
static void
maybe_quit (TaskDemo *demo)
{
  if (demo->response_pipe_stopped && demo->n_sends_in_flight == 0)
    g_main_loop_quit (demo->loop);
}

static void
fail (TaskDemo   *demo,
      const char *what,
      GError     *error)
{
  g_printerr ("%s: %s\n", what, error != NULL ? error->message : "failed");
  demo->status = EXIT_FAILURE;
  g_main_loop_quit (demo->loop);
}

/* The main pipe's handler: processes a task and returns its result, which
 * PipeCom sends to the sender and on to the response pipe. */
static char *
task_processor_cb (PipecomPipe    *pipe,
                   PipecomMessage *message,
                   gpointer        user_data)
{
  const char *task = pipecom_message_get_text (message);
  g_autofree char *lower = NULL;

  if (task == NULL)
    return g_strdup ("ERROR: not a text message");

  g_print ("Processing task: %s\n", task);

  lower = g_utf8_strdown (task, -1);
  if (strstr (lower, "error") != NULL)
    return g_strdup_printf ("ERROR: Failed to process %s", task);
  else
    return g_strdup_printf ("SUCCESS: Completed %s", task);
}

static void
check_all_results_in (TaskDemo *demo)
{
  if (demo->shutting_down ||
      demo->next_task < G_N_ELEMENTS (tasks) ||
      demo->responses->len < demo->n_submitted)
    return;

  demo->shutting_down = TRUE;

  g_print ("\nSummary:\n");
  g_print ("Tasks sent: %u\n", (guint) G_N_ELEMENTS (tasks));
  g_print ("Results received: %u\n", demo->responses->len);
  g_print ("Results:\n");
  for (guint i = 0; i < demo->responses->len; i++)
    g_print ("  - %s\n", (const char *) g_ptr_array_index (demo->responses, i));
  g_print ("\n");

  /* Shut down the main pipe first; the response pipe follows once the main
   * pipe has stopped (see main_pipe_stopped_cb()). */
  g_print ("Sending SHUTDOWN to the main pipe\n");
  demo->n_sends_in_flight++;
  pipecom_send_async (demo->main_pipe_name, "SHUTDOWN", 5, 3, NULL,
                      shutdown_sent_cb, demo);
}

/* The response pipe's handler: collects the results */
static char *
response_handler_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  TaskDemo *demo = user_data;
  const char *result = pipecom_message_get_text (message);

  if (result == NULL)
    result = "(binary result)";

  g_ptr_array_add (demo->responses, g_strdup (result));
  g_print ("Result received: %s\n", result);

  check_all_results_in (demo);

  return g_strdup_printf ("Result acknowledged: %s", result);
}

static void
task_sent_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  TaskDemo *demo = user_data;
  g_autoptr(GError) error = NULL;
  const char *task = tasks[demo->next_task];

  demo->n_sends_in_flight--;
  if (pipecom_send_finish (result, &error))
    {
      g_print ("Task '%s': Submitted\n", task);
      demo->n_submitted++;
    }
  else
    {
      g_print ("Error sending '%s': %s\n", task, error->message);
      demo->status = EXIT_FAILURE;
    }

  demo->next_task++;
  if (demo->next_task < G_N_ELEMENTS (tasks))
    submit_next_task (demo);
  else
    check_all_results_in (demo);
}

static void
submit_next_task (TaskDemo *demo)
{
  /* Sends one task; the callback runs once the task was processed. */
  demo->n_sends_in_flight++;
  pipecom_send_async (demo->main_pipe_name, tasks[demo->next_task],
                      5, 3, NULL, task_sent_cb, demo);
}

static const char *
stop_reason_nick (PipecomStopReason reason)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PIPECOM_TYPE_STOP_REASON);
  GEnumValue *value = g_enum_get_value (klass, reason);

  return value != NULL ? value->value_nick : "?";
}

static void
response_sent_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TaskDemo *demo = user_data;
  g_autoptr(GError) error = NULL;

  demo->n_sends_in_flight--;
  if (pipecom_send_finish (result, &error))
    g_print ("Response pipe shutdown successfully\n");
  else
    fail (demo, "Error shutting down the response pipe", error);

  maybe_quit (demo);
}

static void
shutdown_sent_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TaskDemo *demo = user_data;
  g_autoptr(GError) error = NULL;

  demo->n_sends_in_flight--;
  if (pipecom_send_finish (result, &error))
    g_print ("Main pipe shutdown successfully\n");
  else
    fail (demo, "Error shutting down the main pipe", error);
}

static void
main_pipe_stopped_cb (PipecomPipe       *pipe,
                      PipecomStopReason  reason,
                      gpointer           user_data)
{
  TaskDemo *demo = user_data;

  g_print ("Main pipe stopped (%s) after %u message(s)\n",
           stop_reason_nick (reason), pipecom_pipe_get_message_count (pipe));
  if (reason != PIPECOM_STOP_REASON_DIE_CODE)
    demo->status = EXIT_FAILURE;

  /* Now the response pipe: it listens to the default die code */
  demo->n_sends_in_flight++;
  pipecom_send_async (demo->response_pipe_name, PIPECOM_DEFAULT_DIE_CODE,
                      5, 0, NULL, response_sent_cb, demo);
}

static void
response_pipe_stopped_cb (PipecomPipe       *pipe,
                          PipecomStopReason  reason,
                          gpointer           user_data)
{
  TaskDemo *demo = user_data;

  g_print ("Response pipe stopped (%s) after %u message(s)\n",
           stop_reason_nick (reason), pipecom_pipe_get_message_count (pipe));
  if (reason != PIPECOM_STOP_REASON_DIE_CODE)
    demo->status = EXIT_FAILURE;

  demo->response_pipe_stopped = TRUE;
  maybe_quit (demo);
}

static gboolean
deadline_cb (gpointer user_data)
{
  TaskDemo *demo = user_data;

  g_printerr ("The demo did not finish within %d seconds\n", DEADLINE_SECONDS);
  demo->deadline_id = 0;
  demo->status = EXIT_FAILURE;
  g_main_loop_quit (demo->loop);

  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GPtrArray) responses = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PipecomPipe) response_pipe = NULL;
  g_autoptr(PipecomPipe) main_pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *main_pipe_name = NULL;
  g_autofree char *response_pipe_name = NULL;
  TaskDemo demo = { 0, };

  setlocale (LC_ALL, "");

  /* Names of our own, so that several demos can run at once */
  main_pipe_name = g_strdup_printf ("task_processor-%d", (int) getpid ());
  response_pipe_name = g_strdup_printf ("task_results-%d", (int) getpid ());

  demo.loop = loop;
  demo.main_pipe_name = main_pipe_name;
  demo.response_pipe_name = response_pipe_name;
  demo.responses = responses;
  demo.status = EXIT_SUCCESS;

  /* Start the response pipe listener first. pipecom_pipe_listen() returns
   * once the pipe accepts senders: no need to wait. */
  response_pipe = pipecom_pipe_new (response_pipe_name);
  g_signal_connect (response_pipe, "message-received",
                    G_CALLBACK (response_handler_cb), &demo);
  g_signal_connect (response_pipe, "stopped",
                    G_CALLBACK (response_pipe_stopped_cb), &demo);
  if (!pipecom_pipe_listen (response_pipe, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", response_pipe_name, error->message);
      return EXIT_FAILURE;
    }

  /* The main pipe, with custom configuration and the response pipe */
  main_pipe = g_object_new (PIPECOM_TYPE_PIPE,
                            "name", main_pipe_name,
                            "timeout", 30,      /* stop after 30 s without a message */
                            "max-messages", 10, /* stop after handling 10 messages */
                            "die-code", "SHUTDOWN",
                            "response-pipe-name", response_pipe_name,
                            NULL);
  g_signal_connect (main_pipe, "message-received",
                    G_CALLBACK (task_processor_cb), &demo);
  g_signal_connect (main_pipe, "stopped",
                    G_CALLBACK (main_pipe_stopped_cb), &demo);
  if (!pipecom_pipe_listen (main_pipe, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", main_pipe_name, error->message);
      return EXIT_FAILURE;
    }

  /* Send the tasks, one after the other */
  submit_next_task (&demo);

  demo.deadline_id = g_timeout_add_seconds (DEADLINE_SECONDS, deadline_cb, &demo);
  g_main_loop_run (loop);
  g_clear_handle_id (&demo.deadline_id, g_source_remove);

  /* After a failure the pipes may still be listening: stop them quietly */
  g_signal_handlers_disconnect_by_data (main_pipe, &demo);
  g_signal_handlers_disconnect_by_data (response_pipe, &demo);
  pipecom_pipe_stop (main_pipe);
  pipecom_pipe_stop (response_pipe);

  if (demo.status == EXIT_SUCCESS && responses->len != G_N_ELEMENTS (tasks))
    demo.status = EXIT_FAILURE;

  g_print ("\n%s\n", demo.status == EXIT_SUCCESS ? "Demo completed!" : "Demo failed");

  return demo.status;
}
