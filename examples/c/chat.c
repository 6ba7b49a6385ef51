/* chat.c: a simple chat server and three clients
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The "Simple Chat Application" of the original PipeCom:
 *
 *  - the server pipe stops after 30 s without a message, after 10 messages,
 *    or on the die code "SHUTDOWN", and answers each message with "ACK: …";
 *  - three clients start 200 ms apart, each in its own thread, and send three
 *    messages each with pipecom_request(); when the server is busy they try
 *    again with an exponential backoff;
 *  - once every client is done, the server is sent "SHUTDOWN".
 *
 * The server is served by the main thread's GMainLoop; the clients are
 * threads that use the blocking API.
 *
 *   chat
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

#define N_CLIENTS 3
#define N_MESSAGES_PER_CLIENT 3
#define MAX_RETRIES 5
#define DEADLINE_SECONDS 20

typedef struct _Chat Chat;

typedef struct
{
  Chat    *chat;
  guint    id;
  GThread *thread;
  guint    n_acked;
} ChatClient;

struct _Chat
{
  GMainLoop  *loop;
  const char *server_name;
  ChatClient  clients[N_CLIENTS];
  guint       n_running;
  guint       n_received;
  guint       deadline_id;
  int         status;
};

/* The server's handler. It runs in the main thread. */
static char *
simple_chat_handler_cb (PipecomPipe    *pipe,
                        PipecomMessage *message,
                        gpointer        user_data)
{
  Chat *chat = user_data;
  const char *text = pipecom_message_get_text (message);

  if (text == NULL)
    return NULL;

  chat->n_received++;
  g_print ("Server received: %s\n", text);

  return g_strdup_printf ("ACK: %s", text);
}

/* Sends a message, and tries again with an exponential backoff while the
 * server is busy. Runs in a client thread. */
static gboolean
send_message (ChatClient *client,
              const char *message)
{
  for (guint attempt = 0; attempt < MAX_RETRIES; attempt++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *ack = NULL;

      ack = pipecom_request (client->chat->server_name, message, 5, 3, &error);
      if (error == NULL)
        {
          g_print ("Client %u got: %s\n", client->id, ack != NULL ? ack : "(no reply)");
          return ack != NULL;
        }

      if (g_error_matches (error, PIPECOM_ERROR, PIPECOM_ERROR_BUSY) &&
          attempt + 1 < MAX_RETRIES)
        {
          /* 100, 200, 400, 800 ms */
          gulong wait_ms = 100ul << attempt;

          g_print ("Client %u: server busy, retrying in %lu ms (attempt %u/%u)\n",
                   client->id, wait_ms, attempt + 1, MAX_RETRIES);
          g_usleep (wait_ms * 1000);
          continue;
        }

      g_print ("Client %u: error sending \"%s\" after %u attempt(s): %s\n",
               client->id, message, attempt + 1, error->message);
      return FALSE;
    }

  return FALSE;
}

static void
send_shutdown_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Chat *chat = user_data;
  g_autoptr(GError) error = NULL;

  if (pipecom_send_finish (result, &error))
    {
      g_print ("Shutdown signal sent\n");
    }
  else
    {
      g_print ("Error sending shutdown: %s\n", error->message);
      chat->status = EXIT_FAILURE;
      g_main_loop_quit (chat->loop);
    }
}

/* Runs in the main thread when a client thread is done */
static gboolean
client_finished_cb (gpointer user_data)
{
  ChatClient *client = user_data;
  Chat *chat = client->chat;

  g_thread_join (g_steal_pointer (&client->thread));
  g_print ("Client %u finished: %u/%u messages acknowledged\n",
           client->id, client->n_acked, N_MESSAGES_PER_CLIENT);
  if (client->n_acked != N_MESSAGES_PER_CLIENT)
    chat->status = EXIT_FAILURE;

  if (--chat->n_running == 0)
    {
      /* Every client is done: stop the server. The send is asynchronous,
       * since this thread also serves the server pipe. */
      g_print ("\nSending shutdown signal...\n");
      pipecom_send_async (chat->server_name, "SHUTDOWN", 5, 3, NULL,
                          send_shutdown_cb, chat);
    }

  return G_SOURCE_REMOVE;
}

static gpointer
client_thread (gpointer user_data)
{
  ChatClient *client = user_data;
  g_autoptr(GRand) rand = g_rand_new ();

  g_print ("Starting client %u\n", client->id);

  for (guint i = 0; i < N_MESSAGES_PER_CLIENT; i++)
    {
      g_autofree char *message = g_strdup_printf ("Client %u - Message %u",
                                                  client->id, i + 1);

      if (send_message (client, message))
        client->n_acked++;

      /* Some jitter, so that the clients take turns (pacing, not waiting
       * for anything) */
      if (i + 1 < N_MESSAGES_PER_CLIENT)
        g_usleep (g_rand_int_range (rand, 50, 150) * G_TIME_SPAN_MILLISECOND);
    }

  g_idle_add (client_finished_cb, client);

  return NULL;
}

static gboolean
start_client_cb (gpointer user_data)
{
  ChatClient *client = user_data;
  g_autofree char *thread_name = g_strdup_printf ("chat-client-%u", client->id);

  client->thread = g_thread_new (thread_name, client_thread, client);

  return G_SOURCE_REMOVE;
}

static void
server_stopped_cb (PipecomPipe       *pipe,
                   PipecomStopReason  reason,
                   gpointer           user_data)
{
  Chat *chat = user_data;

  g_print ("Server stopped after %u message(s)%s\n",
           pipecom_pipe_get_message_count (pipe),
           reason == PIPECOM_STOP_REASON_DIE_CODE ? ", on SHUTDOWN" : "");
  if (reason != PIPECOM_STOP_REASON_DIE_CODE ||
      chat->n_received != N_CLIENTS * N_MESSAGES_PER_CLIENT)
    chat->status = EXIT_FAILURE;

  g_main_loop_quit (chat->loop);
}

static gboolean
deadline_cb (gpointer user_data)
{
  Chat *chat = user_data;

  g_printerr ("The chat did not finish within %d seconds\n", DEADLINE_SECONDS);
  chat->deadline_id = 0;
  chat->status = EXIT_FAILURE;
  g_main_loop_quit (chat->loop);

  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PipecomPipe) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *server_name = NULL;
  Chat chat = { 0, };

  setlocale (LC_ALL, "");

  /* A name of our own, so that several chats can run at once */
  server_name = g_strdup_printf ("simple_chat_server-%d", (int) getpid ());

  chat.loop = loop;
  chat.server_name = server_name;
  chat.status = EXIT_SUCCESS;

  server = g_object_new (PIPECOM_TYPE_PIPE,
                         "name", server_name,
                         "timeout", 30,      /* stop after 30 s without a message */
                         "max-messages", 10, /* stop after handling 10 messages */
                         "die-code", "SHUTDOWN",
                         NULL);
  g_signal_connect (server, "message-received",
                    G_CALLBACK (simple_chat_handler_cb), &chat);
  g_signal_connect (server, "stopped",
                    G_CALLBACK (server_stopped_cb), &chat);

  g_print ("Starting Simple Chat Demo\n");
  g_print ("========================================\n");

  if (!pipecom_pipe_listen (server, &error))
    {
      g_printerr ("Could not listen on %s: %s\n", server_name, error->message);
      return EXIT_FAILURE;
    }
  g_print ("Chat server listening on %s\n", pipecom_pipe_get_path (server));

  /* Start the clients with staggered timing */
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      chat.clients[i].chat = &chat;
      chat.clients[i].id = i + 1;
      g_timeout_add (i * 200, start_client_cb, &chat.clients[i]);
    }
  chat.n_running = N_CLIENTS;

  chat.deadline_id = g_timeout_add_seconds (DEADLINE_SECONDS, deadline_cb, &chat);
  g_main_loop_run (loop);
  g_clear_handle_id (&chat.deadline_id, g_source_remove);

  if (chat.n_running > 0)
    {
      /* Only after a failure: the clients finish within their timeouts */
      g_signal_handlers_disconnect_by_data (server, &chat);
      pipecom_pipe_stop (server);
      for (guint i = 0; i < N_CLIENTS; i++)
        if (chat.clients[i].thread != NULL)
          g_thread_join (chat.clients[i].thread);
      return EXIT_FAILURE;
    }

  g_print ("%s\n", chat.status == EXIT_SUCCESS ? "Chat demo completed" : "Chat demo failed");

  return chat.status;
}
