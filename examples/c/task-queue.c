/* task-queue.c: a task queue that speaks JSON
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The "Task Queue System" of the original PipeCom. Tasks are JSON objects
 * such as {"id": 1, "name": "Process data", "duration": 0.2}; the processor
 * answers {"status": "completed", "task_id": 1}, or
 * {"status": "error", "error": "…"} when it cannot read the task. It stops
 * after three messages (max-messages).
 *
 * The processor is a "threaded" pipe: it serves, and runs its handler, in a
 * thread of its own, so the main thread can submit the tasks with the
 * blocking pipecom_request() while the handler works. The JSON is read with
 * GLib alone (GRegex), to keep the example free of other dependencies; a
 * real program would use json-glib.
 *
 *   task-queue
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

#define STOP_TIMEOUT_SECONDS 5

typedef struct
{
  guint       id;
  const char *name;
  double      duration; /* seconds; kept short for the demo */
} Task;

static const Task tasks[] = {
  { 1, "Process data", 0.2 },
  { 2, "Generate report", 0.1 },
  { 3, "Send email", 0.05 },
};

/* Tells when the processor stopped; it emits "stopped" in its own thread */
typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean stopped;
  PipecomStopReason reason;
} StopWatch;

/* JSON strings: escaping and unescaping */

static char *
json_escape (const char *text)
{
  GString *out = g_string_sized_new (strlen (text) + 2);

  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if ((guchar) *p < 0x20)
            g_string_append_printf (out, "\\u%04x", (guint) (guchar) *p);
          else
            g_string_append_c (out, *p);
        }
    }

  return g_string_free (out, FALSE);
}

/* Unescapes the inside of a JSON string; returns NULL if it is malformed */
static char *
json_unescape (const char *text)
{
  g_autoptr(GString) out = g_string_sized_new (strlen (text));

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p != '\\')
        {
          g_string_append_c (out, *p);
          continue;
        }

      switch (*++p)
        {
        case '"':  g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/':  g_string_append_c (out, '/'); break;
        case 'b':  g_string_append_c (out, '\b'); break;
        case 'f':  g_string_append_c (out, '\f'); break;
        case 'n':  g_string_append_c (out, '\n'); break;
        case 'r':  g_string_append_c (out, '\r'); break;
        case 't':  g_string_append_c (out, '\t'); break;
        case 'u':
          {
            char hex[5] = { 0, };
            gunichar c;

            for (guint i = 0; i < 4; i++)
              {
                if (!g_ascii_isxdigit (p[1 + i]))
                  return NULL;
                hex[i] = p[1 + i];
              }
            c = (gunichar) g_ascii_strtoull (hex, NULL, 16);
            if (c == 0 || (c >= 0xd800 && c <= 0xdfff)) /* no surrogate pairs here */
              return NULL;
            g_string_append_unichar (out, c);
            p += 4;
            break;
          }
        default:
          return NULL;
        }
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Finds "key": VALUE in a flat JSON object, where VALUE matches
 * value_pattern; returns the value's text, or NULL. */
static char *
json_lookup (const char *json,
             const char *key,
             const char *value_pattern)
{
  g_autoptr(GRegex) regex = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *pattern = NULL;

  pattern = g_strdup_printf ("\"%s\"\\s*:\\s*(%s)", key, value_pattern);
  regex = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, NULL);
  g_assert_nonnull (regex);

  if (!g_regex_match (regex, json, 0, &match))
    return NULL;

  return g_match_info_fetch (match, 1);
}

#define JSON_INTEGER "-?\\d+"
#define JSON_NUMBER  "-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?"
#define JSON_STRING  "\"(?:[^\"\\\\]|\\\\.)*\""

static char *
json_error_reply (const char *message)
{
  g_autofree char *escaped = json_escape (message);

  return g_strdup_printf ("{\"status\": \"error\", \"error\": \"%s\"}", escaped);
}

/* The handler. It runs in the processor's thread, so it may block. */
static char *
task_processor_cb (PipecomPipe    *pipe,
                   PipecomMessage *message,
                   gpointer        user_data)
{
  const char *json = pipecom_message_get_text (message);
  g_autofree char *id_text = NULL;
  g_autofree char *name_json = NULL;
  g_autofree char *name = NULL;
  g_autofree char *duration_text = NULL;
  double duration = 1.0;
  gint64 id;

  if (json == NULL)
    return json_error_reply ("the task is not text");

  id_text = json_lookup (json, "id", JSON_INTEGER);
  name_json = json_lookup (json, "name", JSON_STRING);
  if (id_text == NULL || name_json == NULL)
    return json_error_reply ("a task needs an \"id\" and a \"name\"");

  /* Strip the quotes, then unescape */
  name_json[strlen (name_json) - 1] = '\0';
  name = json_unescape (name_json + 1);
  if (name == NULL)
    return json_error_reply ("malformed \"name\"");

  duration_text = json_lookup (json, "duration", JSON_NUMBER);
  if (duration_text != NULL)
    duration = g_ascii_strtod (duration_text, NULL);

  id = g_ascii_strtoll (id_text, NULL, 10);
  g_print ("Processing task %" G_GINT64_FORMAT ": %s\n", id, name);

  /* Simulate the work; this blocks the processor's thread only */
  g_usleep ((gulong) (CLAMP (duration, 0.0, 2.0) * G_USEC_PER_SEC));

  return g_strdup_printf ("{\"status\": \"completed\", \"task_id\": %" G_GINT64_FORMAT "}", id);
}

static void
processor_stopped_cb (PipecomPipe       *pipe,
                      PipecomStopReason  reason,
                      gpointer           user_data)
{
  StopWatch *watch = user_data;

  g_mutex_lock (&watch->mutex);
  watch->stopped = TRUE;
  watch->reason = reason;
  g_cond_signal (&watch->cond);
  g_mutex_unlock (&watch->mutex);
}

static gboolean
wait_for_stop (StopWatch *watch)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_SECONDS * G_TIME_SPAN_SECOND;
  gboolean stopped;

  g_mutex_lock (&watch->mutex);
  while (!watch->stopped)
    if (!g_cond_wait_until (&watch->cond, &watch->mutex, deadline))
      break;
  stopped = watch->stopped;
  g_mutex_unlock (&watch->mutex);

  return stopped;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PipecomPipe) processor = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *queue_name = NULL;
  StopWatch watch = { 0, };
  guint n_completed = 0;

  setlocale (LC_ALL, "");

  g_mutex_init (&watch.mutex);
  g_cond_init (&watch.cond);

  /* A name of our own, so that several task queues can run at once */
  queue_name = g_strdup_printf ("task_queue-%d", (int) getpid ());

  /* Start the task processor, in a thread of its own */
  processor = g_object_new (PIPECOM_TYPE_PIPE,
                            "name", queue_name,
                            "max-messages", 3,
                            "threaded", TRUE,
                            NULL);
  g_signal_connect (processor, "message-received",
                    G_CALLBACK (task_processor_cb), NULL);
  g_signal_connect (processor, "stopped",
                    G_CALLBACK (processor_stopped_cb), &watch);
  if (!pipecom_pipe_listen (processor, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", queue_name, error->message);
      return EXIT_FAILURE;
    }

  /* Submit the tasks. pipecom_request() returns once the task is done. */
  for (guint i = 0; i < G_N_ELEMENTS (tasks); i++)
    {
      g_autofree char *name = json_escape (tasks[i].name);
      g_autofree char *task = NULL;
      g_autofree char *result = NULL;
      g_autofree char *status = NULL;
      g_autofree char *task_id = NULL;
      char duration[G_ASCII_DTOSTR_BUF_SIZE];

      g_ascii_dtostr (duration, sizeof duration, tasks[i].duration);
      task = g_strdup_printf ("{\"id\": %u, \"name\": \"%s\", \"duration\": %s}",
                              tasks[i].id, name, duration);

      result = pipecom_request (queue_name, task, 10, 0, &error);
      if (result == NULL)
        {
          g_print ("Task %u submitted: Failed (%s)\n", tasks[i].id,
                   error != NULL ? error->message : "no reply");
          g_clear_error (&error);
          continue;
        }

      status = json_lookup (result, "status", JSON_STRING);
      task_id = json_lookup (result, "task_id", JSON_INTEGER);
      if (g_strcmp0 (status, "\"completed\"") == 0 &&
          task_id != NULL && g_ascii_strtoull (task_id, NULL, 10) == tasks[i].id)
        {
          n_completed++;
          g_print ("Task %u submitted: Success, %s\n", tasks[i].id, result);
        }
      else
        {
          g_print ("Task %u submitted: Failed, %s\n", tasks[i].id, result);
        }
    }

  /* max-messages is 3: the processor stops by itself after the third task */
  if (!wait_for_stop (&watch))
    {
      g_printerr ("The processor did not stop within %d seconds\n", STOP_TIMEOUT_SECONDS);
      return EXIT_FAILURE;
    }
  g_print ("The processor stopped after %u tasks%s\n",
           pipecom_pipe_get_message_count (processor),
           watch.reason == PIPECOM_STOP_REASON_MAX_MESSAGES ? " (max-messages)" : "");

  g_clear_object (&processor);
  g_mutex_clear (&watch.mutex);
  g_cond_clear (&watch.cond);

  if (n_completed != G_N_ELEMENTS (tasks) ||
      watch.reason != PIPECOM_STOP_REASON_MAX_MESSAGES)
    return EXIT_FAILURE;

  return EXIT_SUCCESS;
}
