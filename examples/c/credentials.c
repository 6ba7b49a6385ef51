/* credentials.c: who sent each message, and refusing other users
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A control pipe that the members of its group may reach (with --group),
 * but that only obeys its own user: the #PipecomPipe::authorize handler
 * refuses the connections of every other user (they fail with
 * PIPECOM_ERROR_PERMISSION_DENIED, and their messages are never handled),
 * and each message that gets through is printed with who sent it: the
 * user, which the system verified, and the process when the listener could
 * verify it too (pipecom_message_get_sender_verified()).
 *
 *   credentials [--group] [--demo] [NAME]
 *
 * NAME defaults to "control". With --group, the members of the pipe's
 * group may reach it: NAME must then be a path, in a directory of yours
 * that only you may write. Send it messages from another terminal, as
 * yourself and as someone else of the group:
 *
 *   mkdir -m 0755 /tmp/ctl
 *   ./build/examples/c/credentials --group /tmp/ctl/control
 *   pipecom send /tmp/ctl/control "Hello"
 *
 * With --demo, it sends itself a message and then the die code, from a
 * thread of its own, and exits: the smoke test.
 *
 * (For a fixed list of users, no handler is needed: set
 * #PipecomPipe:allowed-users, user names or uids, and the pipe refuses the
 * others before any authorize handler runs.)
 */

#include <locale.h>
#include <stdlib.h>

#include <pipecom.h>

#ifdef G_OS_UNIX
# include <unistd.h>
# include <glib-unix.h>
#else
# include <process.h>
# define getpid _getpid
#endif

#define DEADLINE_SECONDS 20

static gboolean
authorize_cb (PipecomPipe  *pipe,
              GCredentials *credentials,
              gpointer      user_data)
{
#ifdef G_OS_UNIX
  uid_t uid = g_credentials_get_unix_user (credentials, NULL);

  /* Emitted once per connection, before its first message: the
   * credentials' uid is the sender's, checked by the kernel. */
  if (uid == getuid ())
    return TRUE;

  g_print ("Refused a connection of uid %lu\n", (gulong) uid);
  return FALSE;
#else
  /* Windows: GCredentials holds the client's pid only; the pipe's access
   * control already keeps other users out of a private pipe. Its user's
   * SID is pipecom_message_get_sender_sid() of each message. */
  return TRUE;
#endif
}

static char *
message_received_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  GCredentials *credentials = pipecom_message_get_credentials (message);
  PipecomSenderFlags verified = pipecom_message_get_sender_verified (message);
  const char *text = pipecom_message_get_text (message);
  g_autoptr(GString) who = g_string_new (NULL);

  if (credentials == NULL || (verified & PIPECOM_SENDER_USER) == 0)
    g_string_append (who, "an unknown sender");
#ifdef G_OS_UNIX
  else
    g_string_append_printf (who, "uid %lu",
                            (gulong) g_credentials_get_unix_user (credentials, NULL));
  /* The pid is set only when the listener verified it (on Linux, for
   * example); otherwise it is -1 and the flag is not set. */
  if (credentials != NULL && (verified & PIPECOM_SENDER_PROCESS) != 0)
    g_string_append_printf (who, ", pid %ld",
                            (glong) g_credentials_get_unix_pid (credentials, NULL));
#else
  else
    g_string_append_printf (who, "SID %s", pipecom_message_get_sender_sid (message) != NULL
                                           ? pipecom_message_get_sender_sid (message) : "?");
#endif

  g_print ("From %s: %s\n", who->str, text != NULL ? text : "(binary data)");

  return NULL; /* acknowledge, no reply */
}

/* --demo: a sender of our own, in another thread */
static gpointer
demo_thread (gpointer user_data)
{
  const char *name = user_data;
  g_autoptr(GError) error = NULL;

  if (!pipecom_send (name, "Hello from myself", DEADLINE_SECONDS, 0, &error) ||
      !pipecom_send (name, PIPECOM_DEFAULT_DIE_CODE, DEADLINE_SECONDS, 0, &error))
    {
      g_printerr ("The demo sender failed: %s\n", error->message);
      exit (EXIT_FAILURE);
    }

  return NULL;
}

#ifdef G_OS_UNIX
static gboolean
interrupted_cb (gpointer user_data)
{
  pipecom_pipe_stop (PIPECOM_PIPE (user_data));
  return G_SOURCE_REMOVE;
}
#endif

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) sender = NULL;
  g_autofree char *name = NULL;
  gboolean demo = FALSE;
  gboolean group = FALSE;
  const GOptionEntry entries[] = {
    { "group", 0, 0, G_OPTION_ARG_NONE, &group,
      "Let the members of the pipe's group reach it (NAME must be a path)", NULL },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo,
      "Send a message and the die code to ourselves, then exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");

  context = g_option_context_new ("[NAME] - print who sent each message, refuse other users");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc > 2)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "Usage: credentials [--group] [--demo] [NAME]");
      return EXIT_FAILURE;
    }
  if (argc == 2)
    name = g_strdup (argv[1]);
  else if (demo)
    name = g_strdup_printf ("credentials-example-%d", (int) getpid ());
  else
    name = g_strdup ("control");

  pipe = pipecom_pipe_new (name);
  /* Other users of the group can reach the pipe: authorize_cb() decides */
  if (group)
    pipecom_pipe_set_access (pipe, PIPECOM_ACCESS_GROUP);
  g_signal_connect (pipe, "authorize", G_CALLBACK (authorize_cb), NULL);
  g_signal_connect (pipe, "message-received", G_CALLBACK (message_received_cb), NULL);

#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, interrupted_cb, pipe);
#endif

  if (!pipecom_pipe_listen (pipe, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", name, error->message);
      return EXIT_FAILURE;
    }
  g_print ("Listening on %s (%s). Send \"%s\" or press Ctrl+C to stop.\n",
           name, pipecom_pipe_get_path (pipe), pipecom_pipe_get_die_code (pipe));

  if (demo)
    sender = g_thread_new ("demo-sender", demo_thread, name);

  if (!pipecom_pipe_run (pipe, &error))
    {
      g_printerr ("The listener failed: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (sender != NULL)
    g_thread_join (g_steal_pointer (&sender));

  g_print ("Stopped after %u message(s)\n", pipecom_pipe_get_message_count (pipe));
  return EXIT_SUCCESS;
}
