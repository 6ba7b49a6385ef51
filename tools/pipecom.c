/* pipecom.c: the pipecom command-line tool
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 *   pipecom listen NAME      print (and answer) the messages sent to NAME
 *   pipecom send NAME MSG…   send messages
 *   pipecom request NAME MSG send one message and print its reply
 *   pipecom stop NAME        send the die code
 *   pipecom list             the pipes in the user's pipe directory
 *   pipecom clean            remove the stale ones
 *
 * Every error is one line on stderr, and the exit status says which error
 * it was (see exit_statuses below, and pipecom(1)).
 */

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipecom.h>

#ifdef G_OS_UNIX
# include <fcntl.h>
# include <signal.h>
# include <sys/file.h>
# include <sys/stat.h>
# ifdef HAVE_SYS_SYSMACROS_H
#  include <sys/sysmacros.h>   /* major(), minor() on Linux; sys/types.h elsewhere */
# endif
# include <sys/types.h>
# include <unistd.h>
# include <glib-unix.h>
# include <glib/gstdio.h>
#endif
#ifdef G_OS_WIN32
# include <fcntl.h>
# include <io.h>
# include <windows.h>
# undef STATUS_TIMEOUT   /* winnt.h's NTSTATUS; ours is in the enum below */
#endif

/* The exit statuses. Keep them in step with the table below and with
 * docs/pipecom.xml. */
enum
{
  STATUS_OK = 0,
  STATUS_FAILED = 1,
  STATUS_USAGE = 2,
  STATUS_INVALID_PIPE = 3,
  STATUS_NO_LISTENER = 4,
  STATUS_PERMISSION_DENIED = 5,
  STATUS_TIMEOUT = 6,
  STATUS_ADDRESS_IN_USE = 7,
  STATUS_BUSY = 8,
  STATUS_CLOSED = 9,
  STATUS_PROTOCOL = 10,
  STATUS_MESSAGE_TOO_LARGE = 11,
  STATUS_HANDLER_FAILED = 12,
};

static const char exit_statuses[] =
  "Exit status:\n"
  "  0   success\n"
  "  1   any other failure (a system error, a file that cannot be read, ...)\n"
  "  2   usage error: unknown command or option, missing or extra argument,\n"
  "      an --allow-user that is no user\n"
  "  3   invalid pipe name, or its directory does not exist\n"
  "  4   no listener on the pipe (connection failed)\n"
  "  5   permission denied: not a FIFO of yours, a symlink, a foreign directory,\n"
  "      a directory closed to you, a shared pipe's die code from another user,\n"
  "      a listener that refuses you (--allow-user)\n"
  "  6   timeout\n"
  "  7   a live listener already owns the name (address in use)\n"
  "  8   the listener stayed busy\n"
  "  9   the peer went away mid-exchange (connection closed)\n"
  "  10  protocol error: foreign data or another protocol version\n"
  "  11  the message is larger than the listener accepts\n"
  "  12  the listener's handler answered with an error";

static const char *command_name = "pipecom";

static int
status_for_error (const GError *error)
{
  if (error->domain != PIPECOM_ERROR)
    return STATUS_FAILED;

  switch ((PipecomError) error->code)
    {
    case PIPECOM_ERROR_INVALID_PIPE:
      return STATUS_INVALID_PIPE;
    case PIPECOM_ERROR_CONNECTION_FAILED:
      return STATUS_NO_LISTENER;
    case PIPECOM_ERROR_PERMISSION_DENIED:
      return STATUS_PERMISSION_DENIED;
    case PIPECOM_ERROR_TIMEOUT:
      return STATUS_TIMEOUT;
    case PIPECOM_ERROR_ADDRESS_IN_USE:
      return STATUS_ADDRESS_IN_USE;
    case PIPECOM_ERROR_BUSY:
      return STATUS_BUSY;
    case PIPECOM_ERROR_CLOSED:
      return STATUS_CLOSED;
    case PIPECOM_ERROR_PROTOCOL:
      return STATUS_PROTOCOL;
    case PIPECOM_ERROR_MESSAGE_TOO_LARGE:
      return STATUS_MESSAGE_TOO_LARGE;
    case PIPECOM_ERROR_HANDLER_FAILED:
      return STATUS_HANDLER_FAILED;
    case PIPECOM_ERROR_UNKNOWN:
    default:
      return STATUS_FAILED;
    }
}

/* One line on stderr, whatever the message holds. */
static void
print_error_line (const char *message)
{
  g_autoptr(GString) line = g_string_new (NULL);

  g_string_append_printf (line, "%s: ", command_name);
  for (const char *p = message; *p != '\0'; p++)
    g_string_append_c (line, (*p == '\n' || *p == '\r') ? ' ' : *p);
  g_string_append_c (line, '\n');

  fputs (line->str, stderr);
  fflush (stderr);
}

static int
fail (const GError *error)
{
  print_error_line (error->message);
  return status_for_error (error);
}

G_GNUC_PRINTF (1, 2)
static int
usage_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  line = g_strdup_printf ("%s (see “%s --help”)", message, command_name);
  print_error_line (line);
  return STATUS_USAGE;
}

/* Parses argv (argv[0] being the command's name) with @entries. */
static int
parse_options (GOptionEntry  *entries,
               const char    *parameters,
               const char    *summary,
               char        ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameters);
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, exit_statuses);
  g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse_strv (context, argv, &error))
    return usage_error ("%s", error->message);

  return STATUS_OK;
}

static gboolean
write_all (FILE          *stream,
           gconstpointer  data,
           gsize          size)
{
  return (size == 0 || fwrite (data, 1, size, stream) == size);
}

/* Reads @stream to its end. */
static GBytes *
read_stream (FILE    *stream,
             GError **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buffer[65536];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stream)) > 0)
    g_byte_array_append (data, buffer, n);

  if (ferror (stream))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot read the standard input: %s", g_strerror (errno));
      return NULL;
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* Reads one line of @stream, without its "\n" (nor a "\r" before it).
 * Returns NULL at the end of the stream. */
static GBytes *
read_line (FILE *stream)
{
  g_autoptr(GByteArray) line = g_byte_array_new ();
  int c;

  while ((c = getc (stream)) != EOF && c != '\n')
    {
      guint8 byte = (guint8) c;

      g_byte_array_append (line, &byte, 1);
    }

  if (c == EOF && line->len == 0)
    return NULL;

  if (line->len > 0 && line->data[line->len - 1] == '\r')
    g_byte_array_set_size (line, line->len - 1);

  return g_byte_array_free_to_bytes (g_steal_pointer (&line));
}

/* ------------------------------------------------------------------ */
/* pipecom send, request, stop                                         */

static int timeout = 0;
static int attempts = 3;

static gboolean
check_sender_options (int *status)
{
  if (timeout < 0 || attempts < 0)
    {
      *status = usage_error ("--timeout and --attempts must not be negative");
      return FALSE;
    }
  return TRUE;
}

/* Collects the messages of `send` and `request`: the arguments, or the
 * standard input (--stdin), or a file (--file). --lines is handled by the
 * caller, which streams its lines. */
static int
collect_messages (char       **args,
                  gboolean     from_stdin,
                  const char  *file,
                  GPtrArray   *messages)
{
  g_autoptr(GError) error = NULL;

  if (from_stdin)
    {
      GBytes *data = read_stream (stdin, &error);

      if (data == NULL)
        return fail (error);
      g_ptr_array_add (messages, data);
    }
  else if (file != NULL)
    {
      char *contents = NULL;
      gsize length = 0;

      if (!g_file_get_contents (file, &contents, &length, &error))
        return fail (error);
      g_ptr_array_add (messages, g_bytes_new_take (contents, length));
    }
  else
    {
      for (guint i = 0; args[i] != NULL; i++)
        g_ptr_array_add (messages, g_bytes_new (args[i], strlen (args[i])));
    }

  return STATUS_OK;
}

static int
command_send (char **argv)
{
  g_autoptr(PipecomClient) client = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  g_autofree char *file = NULL;
  gboolean lines = FALSE;
  gboolean from_stdin = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "lines", 'l', 0, G_OPTION_ARG_NONE, &lines, "Send each line of the standard input as a message", NULL },
    { "stdin", 0, 0, G_OPTION_ARG_NONE, &from_stdin, "Send the whole standard input as one (binary) message", NULL },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file, "Send the contents of FILE as one message", "FILE" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, "Give up on a message after SECONDS (0: no limit, the default)", "SECONDS" },
    { "attempts", 'a', 0, G_OPTION_ARG_INT, &attempts, "Connection attempts while nobody listens (0: until the timeout; default 3)", "N" },
    G_OPTION_ENTRY_NULL
  };

  if ((status = parse_options (entries, "NAME [MESSAGE…]",
                               "Send each MESSAGE to the pipe NAME, and wait until its listener handled it.",
                               &argv)) != STATUS_OK)
    return status;
  if (!check_sender_options (&status))
    return status;
  if (argv[1] == NULL)
    return usage_error ("No pipe name given");
  if ((lines ? 1 : 0) + (from_stdin ? 1 : 0) + (file != NULL ? 1 : 0) + (argv[2] != NULL ? 1 : 0) != 1)
    return usage_error ("Give either messages, or one of --lines, --stdin and --file");

  if ((status = collect_messages (&argv[2], from_stdin, file, messages)) != STATUS_OK)
    return status;

  client = pipecom_client_new (argv[1]);
  pipecom_client_set_timeout (client, (guint) timeout);
  pipecom_client_set_max_attempts (client, (guint) attempts);

  if (lines)
    {
      GBytes *line;

      while ((line = read_line (stdin)) != NULL)
        {
          gboolean sent = pipecom_client_send_bytes (client, line, NULL, &error);

          g_bytes_unref (line);
          if (!sent)
            return fail (error);
        }
    }
  else
    {
      for (guint i = 0; i < messages->len; i++)
        if (!pipecom_client_send_bytes (client, messages->pdata[i], NULL, &error))
          return fail (error);
    }

  pipecom_client_close (client);
  return STATUS_OK;
}

static int
command_request (char **argv)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *file = NULL;
  gboolean from_stdin = FALSE;
  gboolean newline = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "stdin", 0, 0, G_OPTION_ARG_NONE, &from_stdin, "Send the whole standard input as the (binary) message", NULL },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file, "Send the contents of FILE as the message", "FILE" },
    { "newline", 'n', 0, G_OPTION_ARG_NONE, &newline, "Print a newline after the reply", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, "Give up after SECONDS (0: no limit, the default)", "SECONDS" },
    { "attempts", 'a', 0, G_OPTION_ARG_INT, &attempts, "Connection attempts while nobody listens (0: until the timeout; default 3)", "N" },
    G_OPTION_ENTRY_NULL
  };

  if ((status = parse_options (entries, "NAME [MESSAGE]",
                               "Send MESSAGE to the pipe NAME and print the listener's reply, byte for byte.",
                               &argv)) != STATUS_OK)
    return status;
  if (!check_sender_options (&status))
    return status;
  if (argv[1] == NULL)
    return usage_error ("No pipe name given");
  if ((from_stdin ? 1 : 0) + (file != NULL ? 1 : 0) + (argv[2] != NULL ? 1 : 0) != 1 ||
      (argv[2] != NULL && argv[3] != NULL))
    return usage_error ("Give one message, or one of --stdin and --file");

  if ((status = collect_messages (&argv[2], from_stdin, file, messages)) != STATUS_OK)
    return status;

  reply = pipecom_request_bytes (argv[1], messages->pdata[0], (guint) timeout, (guint) attempts, &error);
  if (error != NULL)
    return fail (error);

  if (reply != NULL && !write_all (stdout, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply)))
    return STATUS_FAILED;
  if (newline)
    fputc ('\n', stdout);
  if (fflush (stdout) != 0)
    return STATUS_FAILED;

  return STATUS_OK;
}

static int
command_stop (char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *die_code = NULL;
  int status;
  GOptionEntry entries[] = {
    { "die-code", 'd', 0, G_OPTION_ARG_STRING, &die_code, "Send CODE (default: " PIPECOM_DEFAULT_DIE_CODE ")", "CODE" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, "Give up after SECONDS (0: no limit, the default)", "SECONDS" },
    { "attempts", 'a', 0, G_OPTION_ARG_INT, &attempts, "Connection attempts while nobody listens (0: until the timeout; default 3)", "N" },
    G_OPTION_ENTRY_NULL
  };

  if ((status = parse_options (entries, "NAME",
                               "Stop the listener of the pipe NAME by sending it its die code.",
                               &argv)) != STATUS_OK)
    return status;
  if (!check_sender_options (&status))
    return status;
  if (argv[1] == NULL || argv[2] != NULL)
    return usage_error ("Give exactly one pipe name");

  if (!pipecom_send (argv[1], die_code != NULL ? die_code : PIPECOM_DEFAULT_DIE_CODE,
                     (guint) timeout, (guint) attempts, &error))
    return fail (error);

  return STATUS_OK;
}

/* ------------------------------------------------------------------ */
/* pipecom listen                                                      */

typedef enum
{
  OUTPUT_TEXT,
  OUTPUT_JSON,
  OUTPUT_NULL,
  OUTPUT_NONE,
} OutputFormat;

typedef struct
{
  PipecomPipe    *pipe;
  OutputFormat    format;
  char           *reply;           /* (owned) (nullable) */
  gboolean        echo;
  char           *command;         /* (owned) (nullable) */
  guint           max_jobs;
  guint           running;
  GQueue          queue;           /* (element-type PipecomMessage) (owned) */
  GCancellable   *cancellable;     /* (owned): cancels the running commands */
  gboolean        interrupted;
} Listener;

typedef struct
{
  Listener       *listener;
  PipecomMessage *message;         /* (owned) */
  GSubprocess    *process;         /* (owned) */
} Job;

/* Appends @data, valid or not, as one line: backslashes, control
 * characters and invalid UTF-8 bytes escaped. */
static void
append_escaped_text (GString      *out,
                     const guint8 *data,
                     gsize         size)
{
  const char *p = (const char *) data;
  const char *end;

  /* An empty payload's data may be NULL, and NULL + 0 is undefined. */
  if (size == 0)
    return;
  end = p + size;

  while (p < end)
    {
      const char *valid_end;
      guchar c = (guchar) *p;

      if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else if (c < 0x80)
        g_string_append_c (out, (char) c);
      else
        {
          g_utf8_validate (p, end - p, &valid_end);
          if (valid_end == p)
            {
              g_string_append_printf (out, "\\x%02x", c);
            }
          else
            {
              /* A run of valid multibyte characters (stop at ASCII) */
              const char *q = p;

              while (q < valid_end && (guchar) *q >= 0x80)
                q = g_utf8_next_char (q);
              g_string_append_len (out, p, q - p);
              p = q;
              continue;
            }
        }
      p++;
    }
}

static void
append_json_string (GString    *out,
                    const char *text,
                    gsize       size)
{
  g_string_append_c (out, '"');
  for (gsize i = 0; i < size; i++)
    {
      guchar c = (guchar) text[i];

      switch (c)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
          break;
        }
    }
  g_string_append_c (out, '"');
}

/* The sender of @message, as JSON members followed by commas: "uid" when
 * the system verified it (always on Unix), "pid" only when the listener
 * verified it, and on Windows "sid", the user's SID. */
static void
append_json_sender (GString        *out,
                    PipecomMessage *message)
{
  GCredentials *credentials = pipecom_message_get_credentials (message);
  PipecomSenderFlags verified = pipecom_message_get_sender_verified (message);
#ifdef G_OS_UNIX
  uid_t uid;
  pid_t pid;

  if (credentials == NULL)
    return;

  if ((verified & PIPECOM_SENDER_USER) != 0 &&
      (uid = g_credentials_get_unix_user (credentials, NULL)) != (uid_t) -1)
    g_string_append_printf (out, "\"uid\":%lu,", (gulong) uid);
  if ((verified & PIPECOM_SENDER_PROCESS) != 0 &&
      (pid = g_credentials_get_unix_pid (credentials, NULL)) > 0)
    g_string_append_printf (out, "\"pid\":%ld,", (glong) pid);
#else
  const char *sid = pipecom_message_get_sender_sid (message);

  if (credentials != NULL && (verified & PIPECOM_SENDER_PROCESS) != 0)
    {
      const DWORD *pid = g_credentials_get_native (credentials, G_CREDENTIALS_TYPE_WIN32_PID);

      if (pid != NULL && *pid != 0)
        g_string_append_printf (out, "\"pid\":%lu,", (gulong) *pid);
    }
  if (sid != NULL && (verified & PIPECOM_SENDER_USER) != 0)
    {
      g_string_append (out, "\"sid\":");
      append_json_string (out, sid, strlen (sid));
      g_string_append_c (out, ',');
    }
#endif
}

static void
print_message (Listener       *listener,
               PipecomMessage *message)
{
  GBytes *bytes = pipecom_message_get_bytes (message);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autoptr(GString) out = g_string_new (NULL);

  switch (listener->format)
    {
    case OUTPUT_NONE:
      return;

    case OUTPUT_NULL:
      g_string_append_len (out, (const char *) data, size);
      g_string_append_c (out, '\0');
      break;

    case OUTPUT_JSON:
      {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
        g_autofree char *time = g_date_time_format_iso8601 (now);

        g_string_append (out, "{\"time\":");
        append_json_string (out, time, strlen (time));
        g_string_append_printf (out, ",\"size\":%" G_GSIZE_FORMAT ",", size);
        append_json_sender (out, message);
        if (pipecom_message_get_text (message) != NULL)
          {
            g_string_append (out, "\"payload\":");
            append_json_string (out, (const char *) data, size);
          }
        else
          {
            g_autofree char *base64 = g_base64_encode (data, size);

            g_string_append (out, "\"payload_base64\":");
            append_json_string (out, base64, strlen (base64));
          }
        g_string_append (out, "}\n");
      }
      break;

    case OUTPUT_TEXT:
    default:
      append_escaped_text (out, data, size);
      g_string_append_c (out, '\n');
      break;
    }

  write_all (stdout, out->str, out->len);
  fflush (stdout);
}

static void start_jobs (Listener *listener);

static void
job_free (Job *job)
{
  g_clear_object (&job->message);
  g_clear_object (&job->process);
  g_free (job);
}

static void
communicate_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Job *job = user_data;
  Listener *listener = job->listener;
  g_autoptr(GBytes) output = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &output, NULL, &error))
    {
      g_autoptr(GError) reply_error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED,
                                                   "The command failed: %s", error->message);

      g_subprocess_force_exit (job->process);
      pipecom_message_reply_error (job->message, reply_error);
    }
  else if (g_subprocess_get_successful (job->process))
    {
      pipecom_message_reply_bytes (job->message, output);
    }
  else
    {
      g_autoptr(GError) reply_error = NULL;

#ifdef G_OS_UNIX
      if (g_subprocess_get_if_signaled (job->process))
        reply_error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED,
                                   "The command was killed by signal %d",
                                   g_subprocess_get_term_sig (job->process));
      else
#endif
        reply_error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED,
                                   "The command exited with status %d",
                                   g_subprocess_get_exit_status (job->process));
      pipecom_message_reply_error (job->message, reply_error);
    }

  job_free (job);
  listener->running--;
  start_jobs (listener);
}

static void
start_jobs (Listener *listener)
{
  while (listener->running < listener->max_jobs && !g_queue_is_empty (&listener->queue))
    {
      g_autoptr(PipecomMessage) message = g_queue_pop_head (&listener->queue);
      g_autoptr(GSubprocessLauncher) launcher = NULL;
      g_autoptr(GError) error = NULL;
      GSubprocess *process;
      Job *job;

      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
      g_subprocess_launcher_setenv (launcher, "PIPECOM_PIPE", pipecom_pipe_get_name (listener->pipe), TRUE);
#ifdef G_OS_WIN32
      process = g_subprocess_launcher_spawn (launcher, &error, "cmd.exe", "/c", listener->command, NULL);
#else
      process = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", listener->command, NULL);
#endif
      if (process == NULL)
        {
          g_autoptr(GError) reply_error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED,
                                                       "Cannot run the command: %s", error->message);

          pipecom_message_reply_error (message, reply_error);
          continue;
        }

      job = g_new0 (Job, 1);
      job->listener = listener;
      job->message = g_steal_pointer (&message);
      job->process = process;
      listener->running++;
      g_subprocess_communicate_async (process,
                                      pipecom_message_get_bytes (job->message),
                                      listener->cancellable,
                                      communicate_cb,
                                      job);
    }
}

static char *
message_received_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  Listener *listener = user_data;

  print_message (listener, message);

  if (listener->echo)
    {
      pipecom_message_reply_bytes (message, pipecom_message_get_bytes (message));
      return NULL;
    }

  if (listener->command != NULL)
    {
      /* Reply once the command is done: keep the message until then. */
      pipecom_message_hold (message);
      g_queue_push_tail (&listener->queue, g_object_ref (message));
      start_jobs (listener);
      return NULL;
    }

  return g_strdup (listener->reply);
}

static void
response_error_cb (PipecomPipe  *pipe,
                   const GError *error,
                   gpointer      user_data)
{
  g_autofree char *line = g_strdup_printf ("Cannot forward a reply to the response pipe: %s",
                                           error->message);

  print_error_line (line);
}

/* SIGINT and SIGTERM (Ctrl+C and Ctrl+Break on Windows): stop at once.
 * The commands still running are killed, and their messages (and those
 * waiting for a job) answered with an error, so that the pipe may stop
 * and remove its FIFO. */
static gboolean
signal_cb (gpointer user_data)
{
  Listener *listener = user_data;
  g_autoptr(GError) error = NULL;
  PipecomMessage *message;

  if (listener->interrupted)
    return G_SOURCE_CONTINUE;
  listener->interrupted = TRUE;

  error = g_error_new (PIPECOM_ERROR, PIPECOM_ERROR_HANDLER_FAILED,
                       "The listener was interrupted");
  while ((message = g_queue_pop_head (&listener->queue)) != NULL)
    {
      pipecom_message_reply_error (message, error);
      g_object_unref (message);
    }
  g_cancellable_cancel (listener->cancellable);

  pipecom_pipe_stop (listener->pipe);
  return G_SOURCE_CONTINUE;
}

#ifdef G_OS_WIN32
/* Ctrl+C and Ctrl+Break. The handler runs on a thread of its own: it
 * only schedules signal_cb() in the main context, which runs the pipe.
 * Other events (closing the console, logging off) keep their default:
 * the process ends. */
static GMutex ctrl_lock;
static Listener *ctrl_listener;   /* (nullable) (unowned) */
static GSource *ctrl_source;      /* (nullable) (owned) */

static gboolean
ctrl_cb (gpointer user_data)
{
  signal_cb (user_data);
  return G_SOURCE_REMOVE;
}

static BOOL WINAPI
console_ctrl_handler (DWORD ctrl_type)
{
  BOOL handled = FALSE;

  if (ctrl_type != CTRL_C_EVENT && ctrl_type != CTRL_BREAK_EVENT)
    return FALSE;

  g_mutex_lock (&ctrl_lock);
  if (ctrl_listener != NULL)
    {
      if (ctrl_source == NULL)
        {
          ctrl_source = g_idle_source_new ();
          g_source_set_priority (ctrl_source, G_PRIORITY_DEFAULT);
          g_source_set_callback (ctrl_source, ctrl_cb, ctrl_listener, NULL);
          g_source_set_static_name (ctrl_source, "[pipecom] console control");
          g_source_attach (ctrl_source, NULL);
        }
      handled = TRUE;
    }
  g_mutex_unlock (&ctrl_lock);

  return handled;
}

static void
watch_console_ctrl (Listener *listener)
{
  g_mutex_lock (&ctrl_lock);
  ctrl_listener = listener;
  g_mutex_unlock (&ctrl_lock);
  SetConsoleCtrlHandler (console_ctrl_handler, TRUE);
}

static void
unwatch_console_ctrl (void)
{
  SetConsoleCtrlHandler (console_ctrl_handler, FALSE);
  g_mutex_lock (&ctrl_lock);
  ctrl_listener = NULL;
  if (ctrl_source != NULL)
    {
      g_source_destroy (ctrl_source);
      g_clear_pointer (&ctrl_source, g_source_unref);
    }
  g_mutex_unlock (&ctrl_lock);
}
#endif

static gboolean
parse_access (const char    *text,
              PipecomAccess *access)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PIPECOM_TYPE_ACCESS);
  GEnumValue *value = g_enum_get_value_by_nick (klass, text);

  if (value == NULL)
    return FALSE;
  *access = (PipecomAccess) value->value;
  return TRUE;
}

static int
command_listen (char **argv)
{
  Listener listener = { 0, };
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *command = NULL;
  g_autofree char *die_code = NULL;
  g_autofree char *response_pipe = NULL;
  g_autofree char *access = NULL;
  g_auto(GStrv) allow_users = NULL;
  gboolean json = FALSE;
  gboolean null = FALSE;
  gboolean quiet = FALSE;
  gboolean echo = FALSE;
  gboolean no_die_code = FALSE;
  int jobs = 1;
  int listen_timeout = 0;
  int max_messages = 0;
  gint64 max_message_size = PIPECOM_DEFAULT_MAX_MESSAGE_SIZE;
  PipecomAccess access_value = PIPECOM_ACCESS_PRIVATE;
  int status;
  gboolean ok;
#ifdef G_OS_UNIX
  guint sigint_id, sigterm_id;
#endif
  GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print each message as a line of JSON: time, size, the sender's uid (and pid when verified) and payload", NULL },
    { "null", '0', 0, G_OPTION_ARG_NONE, &null, "Print each message's raw payload followed by a NUL byte", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print the messages", NULL },
    { "reply", 'r', 0, G_OPTION_ARG_STRING, &reply, "Reply TEXT to every message", "TEXT" },
    { "echo", 'e', 0, G_OPTION_ARG_NONE, &echo, "Reply with the message itself", NULL },
    { "exec", 'x', 0, G_OPTION_ARG_STRING, &command, "Reply with the output of COMMAND, run by the shell for each message with the message as input (failing: an error reply)", "COMMAND" },
    { "jobs", 'J', 0, G_OPTION_ARG_INT, &jobs, "Run up to N commands at once (default 1)", "N" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &listen_timeout, "Stop after SECONDS without a message (0: never, the default)", "SECONDS" },
    { "max-messages", 'm', 0, G_OPTION_ARG_INT, &max_messages, "Stop after N messages (0: no limit, the default)", "N" },
    { "die-code", 'd', 0, G_OPTION_ARG_STRING, &die_code, "Stop on the message CODE (default: " PIPECOM_DEFAULT_DIE_CODE ")", "CODE" },
    { "no-die-code", 0, 0, G_OPTION_ARG_NONE, &no_die_code, "Have no die code", NULL },
    { "response-pipe", 'R', 0, G_OPTION_ARG_STRING, &response_pipe, "Also send every reply to the pipe NAME", "NAME" },
    { "max-message-size", 0, 0, G_OPTION_ARG_INT64, &max_message_size, "Refuse messages larger than BYTES (0: no limit; default 64 MiB)", "BYTES" },
    { "access", 0, 0, G_OPTION_ARG_STRING, &access, "Who may send: private (the default), group or everyone (then NAME must be a path)", "WHO" },
    { "allow-user", 'u', 0, G_OPTION_ARG_STRING_ARRAY, &allow_users, "Accept only the senders of USER, a name or uid, and your own (repeatable)", "USER" },
    G_OPTION_ENTRY_NULL
  };

  if ((status = parse_options (entries, "NAME",
                               "Listen on the pipe NAME and print each message it receives, one per line\n"
                               "(backslashes, control characters and invalid UTF-8 escaped), until the die\n"
#ifdef G_OS_WIN32
                               "code arrives, a limit is reached, or Ctrl+C or Ctrl+Break.",
#else
                               "code arrives, a limit is reached, or SIGINT or SIGTERM.",
#endif
                               &argv)) != STATUS_OK)
    return status;
  if (argv[1] == NULL || argv[2] != NULL)
    return usage_error ("Give exactly one pipe name");
  if ((json ? 1 : 0) + (null ? 1 : 0) + (quiet ? 1 : 0) > 1)
    return usage_error ("Give at most one of --json, --null and --quiet");
  if ((reply != NULL ? 1 : 0) + (echo ? 1 : 0) + (command != NULL ? 1 : 0) > 1)
    return usage_error ("Give at most one of --reply, --echo and --exec");
  if (jobs < 1)
    return usage_error ("--jobs must be at least 1");
  if (listen_timeout < 0 || max_messages < 0)
    return usage_error ("--timeout and --max-messages must not be negative");
  if (max_message_size < 0 || max_message_size > G_MAXUINT)
    return usage_error ("--max-message-size must be between 0 and %u", G_MAXUINT);
  if (no_die_code && die_code != NULL)
    return usage_error ("Give either --die-code or --no-die-code");
  if (access != NULL && !parse_access (access, &access_value))
    return usage_error ("--access must be private, group or everyone, not “%s”", access);
  for (guint i = 0; allow_users != NULL && allow_users[i] != NULL; i++)
    if (allow_users[i][0] == '\0')
      return usage_error ("--allow-user needs a user name or uid");

  pipe = pipecom_pipe_new (argv[1]);
  pipecom_pipe_set_timeout (pipe, (guint) listen_timeout);
  pipecom_pipe_set_max_messages (pipe, (guint) max_messages);
  pipecom_pipe_set_max_message_size (pipe, (guint) max_message_size);
  if (no_die_code)
    pipecom_pipe_set_die_code (pipe, NULL);
  else if (die_code != NULL)
    pipecom_pipe_set_die_code (pipe, die_code);
  if (response_pipe != NULL)
    pipecom_pipe_set_response_pipe_name (pipe, response_pipe);
  pipecom_pipe_set_access (pipe, access_value);
  if (allow_users != NULL)
    pipecom_pipe_set_allowed_users (pipe, (const char * const *) allow_users);

  listener.pipe = pipe;
  listener.format = json ? OUTPUT_JSON : null ? OUTPUT_NULL : quiet ? OUTPUT_NONE : OUTPUT_TEXT;
  listener.reply = g_steal_pointer (&reply);
  listener.echo = echo;
  listener.command = g_steal_pointer (&command);
  listener.max_jobs = (guint) jobs;
  listener.cancellable = g_cancellable_new ();
  g_queue_init (&listener.queue);

  g_signal_connect (pipe, "message-received", G_CALLBACK (message_received_cb), &listener);
  g_signal_connect (pipe, "response-error", G_CALLBACK (response_error_cb), &listener);

#ifdef G_OS_UNIX
  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &listener);
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &listener);
#else
  watch_console_ctrl (&listener);
#endif

  ok = pipecom_pipe_run (pipe, &error);

#ifdef G_OS_UNIX
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
#else
  unwatch_console_ctrl ();
#endif

  g_signal_handlers_disconnect_by_data (pipe, &listener);
  g_queue_clear_full (&listener.queue, g_object_unref);
  g_clear_object (&listener.cancellable);
  g_free (listener.reply);
  g_free (listener.command);

  /* A name of --allow-user that is no user: a usage error */
  if (!ok && allow_users != NULL &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    {
      g_autofree char *line = g_strdup_printf ("%s (see --allow-user)", error->message);

      print_error_line (line);
      return STATUS_USAGE;
    }
  if (!ok)
    return fail (error);

  return STATUS_OK;
}

/* ------------------------------------------------------------------ */
/* pipecom list, clean: Unix only, from the layout of docs/protocol.md */

#ifdef G_OS_UNIX

typedef enum
{
  LOCK_FREE,      /* nobody holds it: stale */
  LOCK_HELD,      /* a live listener */
  LOCK_MISSING,   /* no lock file: stale */
} LockState;

/* The pid holding an flock() on the file (@dev, @ino), from Linux's
 * /proc/locks; 0 when unknown or not held. */
static int
find_lock_owner (dev_t    dev,
                 ino_t    ino,
                 gboolean *known)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *wanted = g_strdup_printf ("%02x:%02x:%lu", major (dev), minor (dev),
                                             (unsigned long) ino);

  *known = g_file_get_contents ("/proc/locks", &contents, NULL, NULL);
  if (!*known)
    return 0;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (lines[i], " ", -1);
      const char *f[8];
      guint n = 0;

      for (guint j = 0; fields[j] != NULL && n < G_N_ELEMENTS (f); j++)
        if (fields[j][0] != '\0')
          f[n++] = fields[j];

      /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters have "->" */
      if (n >= 6 && g_str_equal (f[1], "FLOCK") && g_str_equal (f[5], wanted))
        return atoi (f[4]);
    }

  return 0;
}

/* Whether a listener holds @lock_path, without taking the lock when Linux
 * tells through /proc/locks. */
static LockState
probe_lock (const char *lock_path,
            int        *pid)
{
  struct stat st;
  gboolean known;
  LockState state;
  int fd;

  *pid = 0;
  if (lstat (lock_path, &st) != 0 || !S_ISREG (st.st_mode))
    return LOCK_MISSING;

  *pid = find_lock_owner (st.st_dev, st.st_ino, &known);
  if (known)
    return *pid > 0 ? LOCK_HELD : LOCK_FREE;

  /* No /proc/locks (macOS, BSD): try a shared lock, at once released. */
  fd = open (lock_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return LOCK_MISSING;
  if (flock (fd, LOCK_SH | LOCK_NB) != 0)
    state = (errno == EWOULDBLOCK) ? LOCK_HELD : LOCK_FREE;
  else
    state = LOCK_FREE;
  close (fd);

  return state;
}

static char *
user_pipe_dir (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "pipecom", NULL);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static GPtrArray *
sorted_entries (const char  *dir,
                GError     **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  if (d == NULL)
    return NULL;
  while ((entry = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);

  return g_steal_pointer (&names);
}

static gboolean
is_our_fifo (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISFIFO (st.st_mode) && st.st_uid == geteuid ();
}

static int
command_list (char **argv)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  int status;
  GOptionEntry entries[] = {
    { "dir", 'D', 0, G_OPTION_ARG_FILENAME, &dir, "List the pipes of DIR instead of the user's pipe directory", "DIR" },
    G_OPTION_ENTRY_NULL
  };

  if ((status = parse_options (entries, NULL,
                               "List the pipes of the user's pipe directory ($XDG_RUNTIME_DIR/pipecom),\n"
                               "one per line: name, state (listening or stale), the listener's pid (or -\n"
                               "when unknown) and path, separated by tabs.",
                               &argv)) != STATUS_OK)
    return status;
  if (argv[1] != NULL)
    return usage_error ("Unexpected argument “%s”", argv[1]);

  if (dir == NULL)
    dir = user_pipe_dir ();

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return STATUS_OK;
  if ((names = sorted_entries (dir, &error)) == NULL)
    return fail (error);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);
      g_autofree char *pid_text = NULL;
      LockState state;
      int pid;

      if (name[0] == '.' || g_str_has_suffix (name, ".lock") || !is_our_fifo (path))
        continue;

      state = probe_lock (lock_path, &pid);
      pid_text = pid > 0 ? g_strdup_printf ("%d", pid) : g_strdup ("-");
      g_print ("%s\t%s\t%s\t%s\n", name, state == LOCK_HELD ? "listening" : "stale", pid_text, path);
    }

  return STATUS_OK;
}

/* Removes a FIFO (and its lock file) whose lock is free, holding the lock
 * meanwhile so that no listener starts on it then. */
static gboolean
remove_stale_pipe (const char *path,
                   const char *lock_path,
                   gboolean    dry_run)
{
  struct stat st;
  int fd = -1;

  if (lstat (lock_path, &st) == 0)
    {
      if (!S_ISREG (st.st_mode) || st.st_uid != geteuid ())
        return FALSE;
      fd = open (lock_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return FALSE;
      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          close (fd);
          return FALSE;
        }
    }

  if (!dry_run)
    {
      if (is_our_fifo (path))
        g_unlink (path);
      if (fd >= 0)
        g_unlink (lock_path);
    }
  if (fd >= 0)
    close (fd);

  return TRUE;
}

static int
command_clean (char **argv)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  gboolean dry_run = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "dir", 'D', 0, G_OPTION_ARG_FILENAME, &dir, "Clean DIR instead of the user's pipe directory", "DIR" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Only print what would be removed", NULL },
    G_OPTION_ENTRY_NULL
  };

  if ((status = parse_options (entries, NULL,
                               "Remove the stale pipes of the user's pipe directory: FIFOs and lock files\n"
                               "that no listener holds, and the private channels of dead senders. Prints\n"
                               "the path of each pipe or channel removed.",
                               &argv)) != STATUS_OK)
    return status;
  if (argv[1] != NULL)
    return usage_error ("Unexpected argument “%s”", argv[1]);

  if (dir == NULL)
    dir = user_pipe_dir ();

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return STATUS_OK;
  if ((names = sorted_entries (dir, &error)) == NULL)
    return fail (error);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_str_has_prefix (name, ".c") &&
          (g_str_has_suffix (name, ".rep") || g_str_has_suffix (name, ".req")))
        {
          /* A private channel ".c<pid>-<counter>-<random>.rep" */
          char *end = NULL;
          gint64 pid = g_ascii_strtoll (name + 2, &end, 10);

          if (end == name + 2 || *end != '-' || pid <= 0 || pid > G_MAXINT)
            continue;
          if ((kill ((pid_t) pid, 0) == 0 || errno != ESRCH) || !is_our_fifo (path))
            continue;
          if (!dry_run)
            g_unlink (path);
          g_print ("%s\n", path);
        }
      else if (name[0] == '.')
        {
          continue;
        }
      else if (g_str_has_suffix (name, ".lock"))
        {
          /* A lock file left without its FIFO */
          g_autofree char *fifo = g_strndup (path, strlen (path) - strlen (".lock"));
          struct stat st;

          if (lstat (fifo, &st) == 0 || errno != ENOENT)
            continue;
          if (remove_stale_pipe (fifo, path, dry_run))
            g_print ("%s\n", path);
        }
      else if (is_our_fifo (path))
        {
          g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);
          int pid;

          if (probe_lock (lock_path, &pid) == LOCK_HELD)
            continue;
          if (remove_stale_pipe (path, lock_path, dry_run))
            g_print ("%s\n", path);
        }
    }

  return STATUS_OK;
}

#else /* !G_OS_UNIX */

static int
command_list (char **argv)
{
  print_error_line ("“list” is not available on this platform yet");
  return STATUS_FAILED;
}

static int
command_clean (char **argv)
{
  print_error_line ("“clean” is not available on this platform yet");
  return STATUS_FAILED;
}

#endif /* G_OS_UNIX */

/* ------------------------------------------------------------------ */

static const struct
{
  const char *name;
  int       (*run) (char **argv);
  const char *description;
} commands[] = {
  { "listen", command_listen, "Listen on a pipe and print (and answer) its messages" },
  { "send", command_send, "Send messages to a pipe" },
  { "request", command_request, "Send a message and print the reply" },
  { "stop", command_stop, "Stop a pipe's listener (send its die code)" },
  { "list", command_list, "List the pipes of the user's pipe directory" },
  { "clean", command_clean, "Remove stale pipes" },
};

static void
print_help (FILE *stream)
{
  g_autoptr(GString) help = g_string_new (NULL);

  g_string_append (help,
                   "Usage:\n"
                   "  pipecom COMMAND [OPTION…] [ARGUMENT…]\n"
                   "  pipecom --version\n"
                   "\n"
                   "Send and receive messages over named pipes (PipeCom).\n"
                   "\n"
                   "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (help, "  %-9s %s\n", commands[i].name, commands[i].description);
  g_string_append (help,
                   "\n"
                   "Run “pipecom COMMAND --help” for the options of a command.\n"
#ifdef G_OS_WIN32
                   "A simple NAME is the named pipe \\\\.\\pipe\\NAME; a full \\\\.\\pipe\\… name is\n"
                   "used as is. “list” and “clean” are not available on Windows.\n"
#else
                   "A simple NAME is a pipe of the user's pipe directory, $XDG_RUNTIME_DIR/pipecom;\n"
                   "a NAME with a “/” is a path.\n"
#endif
                   "\n");
  g_string_append (help, exit_statuses);
  g_string_append_c (help, '\n');

  fputs (help->str, stream);
}

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) args = NULL;
#ifdef G_OS_WIN32
  g_auto(GStrv) utf8_argv = NULL;
#endif

  setlocale (LC_ALL, "");

#ifdef G_OS_WIN32
  /* main()'s argv is in the ANSI code page: take the arguments as UTF-8,
   * as GLib wants them. And messages are bytes: no text-mode stdio
   * turning "\n" into "\r\n" or stopping at ^Z. */
  utf8_argv = g_win32_get_command_line ();
  argv = utf8_argv;
  argc = (int) g_strv_length (utf8_argv);
  _setmode (_fileno (stdin), _O_BINARY);
  _setmode (_fileno (stdout), _O_BINARY);
#endif

  if (argc < 2)
    return usage_error ("No command given");

  if (g_str_equal (argv[1], "--version") || g_str_equal (argv[1], "-V"))
    {
      g_print ("pipecom %s\n", PIPECOM_VERSION_S);
      return STATUS_OK;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_help (stdout);
      return STATUS_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (argv[1], commands[i].name))
        {
          g_autofree char *name = g_strconcat ("pipecom ", commands[i].name, NULL);

          /* argv[0] of the command is its name, for --help and errors */
          args = g_new0 (char *, argc);
          args[0] = g_strdup (name);
          for (int j = 2; j < argc; j++)
            args[j - 1] = g_strdup (argv[j]);

          g_set_prgname (name);
          command_name = name;
          return commands[i].run (args);
        }
    }

  return usage_error ("Unknown command “%s”", argv[1]);
}
