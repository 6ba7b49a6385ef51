/* pipecom-pipe.c: PipecomPipe, the public shell of the listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "pipecom-listener-private.h"
#include "pipecom-registry-private.h"
#include "pipecom-enums.h"

/**
 * SECTION:pipecom-pipe
 * @title: PipecomPipe
 * @short_description: listen on a named pipe
 *
 * A #PipecomPipe listens on a name and emits #PipecomPipe::message-received
 * for each message; the first handler that returns a string gives the
 * reply, and a message no handler answers or keeps is acknowledged as soon
 * as the emission ends. Each sender has a private connection, so acknowledgements and
 * replies always reach the right sender, and a slow or dead sender never
 * holds up the others.
 *
 * ## Threads and main contexts
 *
 * pipecom_pipe_listen() serves in the thread-default #GMainContext of the
 * calling thread: all signals are emitted there, so a GTK or GJS program
 * just runs its main loop. A program without a main loop calls
 * pipecom_pipe_run(), which serves until the pipe stops. To serve in the
 * background while the calling thread does blocking work, create the pipe
 * with #PipecomPipe:threaded set: it then serves in a thread of its own,
 * and the signals are emitted in that thread.
 *
 * The properties may be set and read from any thread, also while the pipe
 * serves in another one; each says when a new value takes effect.
 * "notify" is emitted in the thread that set the property.
 *
 * ## Stopping
 *
 * The pipe stops when a sender sends #PipecomPipe:die-code, after
 * #PipecomPipe:max-messages messages, after #PipecomPipe:timeout seconds
 * without a message, or on pipecom_pipe_stop(). New senders are refused at
 * once; messages already received are handled, answered and forwarded to
 * the response pipe (for up to 5 seconds) before #PipecomPipe::stopped is
 * emitted and the FIFO and its lock file are removed.
 *
 * |[<!-- language="C" -->
 * static char *
 * on_message (PipecomPipe *pipe, PipecomMessage *message, gpointer user_data)
 * {
 *   g_print ("Received: %s\n", pipecom_message_get_text (message));
 *   return g_strdup ("thanks");
 * }
 *
 * int
 * main (void)
 * {
 *   g_autoptr(PipecomPipe) pipe = pipecom_pipe_new ("my_pipe");
 *   g_autoptr(GError) error = NULL;
 *
 *   g_signal_connect (pipe, "message-received", G_CALLBACK (on_message), NULL);
 *   if (!pipecom_pipe_run (pipe, &error))
 *     g_printerr ("%s\n", error->message);
 *   return error ? 1 : 0;
 * }
 * ]|
 *
 * The same in Python (the overrides serve such a pipe in a thread of its
 * own; pass `main_context=GLib.MainContext.default()` in a GTK program) and
 * in JavaScript (GJS serves in its main loop):
 *
 * |[<!-- language="Python" -->
 * import pipecom
 *
 * def on_message(message):
 *     print("Received:", message)
 *     return "thanks"
 *
 * pipe = pipecom.Pipe("my_pipe", on_message)
 * pipe.listen()
 * pipe.wait()      # until the die code, or Ctrl-C
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * const {GLib, Pipecom} = imports.gi;
 *
 * const loop = new GLib.MainLoop(null, false);
 * const pipe = new Pipecom.Pipe({name: 'my_pipe'});
 * pipe.connect('message-received', (_pipe, message) => {
 *     print(`Received: ${message.get_text()}`);
 *     return 'thanks';
 * });
 * pipe.connect('stopped', () => loop.quit());
 * pipe.listen();
 * loop.run();
 * ]|
 */

#define DEFAULT_BUFFER_SIZE 65536

gint64 _pipecom_connection_deadline_usec = PIPECOM_CONNECTION_DEADLINE_USEC;
gsize  _pipecom_min_progress_bytes = PIPECOM_MIN_PROGRESS_BYTES;
gsize  _pipecom_max_queued_bytes = PIPECOM_MAX_QUEUED_BYTES;

/**
 * PipecomPipe:
 *
 * A listener on a named pipe. Its fields are private.
 *
 * Since: 1.0
 */

G_DEFINE_FINAL_TYPE (PipecomPipe, pipecom_pipe, G_TYPE_OBJECT)

GParamSpec *_pipecom_pipe_properties[N_PROPS];
guint _pipecom_pipe_signals[N_SIGNALS];

/**
 * pipecom_pipe_listen:
 * @self: a #PipecomPipe
 * @error: return location for a #GError
 *
 * Starts listening: creates the FIFO (mode 0600, in a 0700 per-user
 * directory for simple names) and serves senders in the thread-default main
 * context of the calling thread, or in a thread of its own if
 * #PipecomPipe:threaded is set. Returns at once.
 *
 * Fails with %PIPECOM_ERROR_ADDRESS_IN_USE if a live listener owns the name,
 * %PIPECOM_ERROR_PERMISSION_DENIED if something that is not a FIFO of the
 * user (a symbolic link, a regular file, another user's FIFO) is at the
 * path, and %PIPECOM_ERROR_INVALID_PIPE for unusable names, and for a
 * #PipecomPipe:threaded pipe with JavaScript (GJS) signal handlers, which
 * could not run in the pipe's thread. A FIFO left by
 * a listener that crashed is reclaimed. Listening again after the pipe
 * stopped is allowed; calling this while listening does nothing.
 *
 * On Windows, creates the named pipe `\\.\pipe\NAME` instead, open to
 * the current user and SYSTEM only.
 *
 * Returns: %TRUE if the pipe is listening
 *
 * Since: 1.0
 */
gboolean
pipecom_pipe_listen (PipecomPipe  *self,
                     GError      **error)
{
  g_return_val_if_fail (PIPECOM_IS_PIPE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _pipecom_listener_start (self, error);
}


/**
 * pipecom_pipe_stop:
 * @self: a #PipecomPipe
 *
 * Stops listening, gracefully: new senders are refused at once, messages
 * already received are handled and answered, then #PipecomPipe::stopped is
 * emitted with %PIPECOM_STOP_REASON_REQUESTED. May be called from any
 * thread and from a handler; does nothing if the pipe is not listening.
 *
 * Since: 1.0
 */
void
pipecom_pipe_stop (PipecomPipe *self)
{
  g_return_if_fail (PIPECOM_IS_PIPE (self));

  _pipecom_listener_request_stop (self);
}


/**
 * pipecom_pipe_run:
 * @self: a #PipecomPipe
 * @error: return location for a #GError
 *
 * Listens if needed, then serves until the pipe stops (die code, max
 * messages, inactivity timeout or pipecom_pipe_stop()). This is for
 * programs without a main loop: it iterates the pipe's main context itself
 * (or, if another thread runs that context or the pipe is
 * #PipecomPipe:threaded, waits for the pipe to stop).
 *
 * Like pipecom_pipe_listen(), it starts a pipe that has stopped over
 * again; to wait for a pipe to stop, use #PipecomPipe::stopped or
 * #PipecomPipe:listening instead.
 *
 * Returns: %TRUE if the pipe stopped normally, %FALSE if it could not
 *   listen or stopped because of an error
 *
 * Since: 1.0
 */
gboolean
pipecom_pipe_run (PipecomPipe  *self,
                  GError      **error)
{
  g_autoptr(GMainContext) context = NULL;

  g_return_val_if_fail (PIPECOM_IS_PIPE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pipecom_pipe_listen (self, error))
    return FALSE;

  g_object_ref (self);
  context = self->context ? g_main_context_ref (self->context) : NULL;

  if (context != NULL && !self->threaded && g_main_context_acquire (context))
    {
      _pipecom_listener_serve (self, context);
      g_main_context_release (context);
    }
  else
    {
      g_mutex_lock (&self->lock);
      while (_pipecom_listener_is_listening (self))
        g_cond_wait (&self->cond, &self->lock);
      g_mutex_unlock (&self->lock);
    }

  g_object_unref (self);

  if (g_atomic_int_get (&self->stop_reason) == PIPECOM_STOP_REASON_ERROR && self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
pipecom_pipe_dispose (GObject *object)
{
  PipecomPipe *self = (PipecomPipe *)object;

  /* Not threaded (a threaded pipe is kept alive by its thread): release
   * everything now, without signals. */
  if (_pipecom_listener_is_listening (self))
    {
      _pipecom_registry_remove (self->path);
      _pipecom_listener_finish_stop (self, FALSE);
    }

  G_OBJECT_CLASS (pipecom_pipe_parent_class)->dispose (object);
}

static void
pipecom_pipe_finalize (GObject *object)
{
  PipecomPipe *self = (PipecomPipe *)object;

  _pipecom_listener_reap_thread (self);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->budget, _pipecom_budget_unref);
  g_clear_object (&self->spare_message);
  g_clear_pointer (&self->spare_inline, g_free);
  g_clear_error (&self->error);
  g_free (self->name);
  g_free (self->path);
  g_free (self->die_code);
  g_free (self->response_pipe_name);
  g_strfreev (self->allowed_users);
  g_clear_pointer (&self->serving_users, _pipecom_transport_users_free);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (pipecom_pipe_parent_class)->finalize (object);
}

static void
pipecom_pipe_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PipecomPipe *self = PIPECOM_PIPE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, pipecom_pipe_get_timeout (self));
      break;
    case PROP_MAX_MESSAGES:
      g_value_set_uint (value, pipecom_pipe_get_max_messages (self));
      break;
    case PROP_DIE_CODE:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->die_code);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_RESPONSE_PIPE_NAME:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->response_pipe_name);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_ALLOWED_USERS:
      g_mutex_lock (&self->lock);
      g_value_set_boxed (value, self->allowed_users);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_BUFFER_SIZE:
      g_value_set_uint (value, pipecom_pipe_get_buffer_size (self));
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, pipecom_pipe_get_max_message_size (self));
      break;
    case PROP_ACCESS:
      g_value_set_enum (value, pipecom_pipe_get_access (self));
      break;
    case PROP_MEMORY_BUDGET:
      g_value_set_uint64 (value, pipecom_pipe_get_memory_budget (self));
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, pipecom_pipe_get_idle_timeout (self));
      break;
    case PROP_THREADED:
      g_value_set_boolean (value, self->threaded);
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, pipecom_pipe_get_listening (self));
      break;
    case PROP_MESSAGE_COUNT:
      g_value_set_uint (value, pipecom_pipe_get_message_count (self));
      break;
    case PROP_STOP_REASON:
      g_value_set_enum (value, pipecom_pipe_get_stop_reason (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_pipe_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  PipecomPipe *self = PIPECOM_PIPE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;
    case PROP_TIMEOUT:
      pipecom_pipe_set_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_MESSAGES:
      pipecom_pipe_set_max_messages (self, g_value_get_uint (value));
      break;
    case PROP_DIE_CODE:
      pipecom_pipe_set_die_code (self, g_value_get_string (value));
      break;
    case PROP_RESPONSE_PIPE_NAME:
      pipecom_pipe_set_response_pipe_name (self, g_value_get_string (value));
      break;
    case PROP_ALLOWED_USERS:
      pipecom_pipe_set_allowed_users (self, g_value_get_boxed (value));
      break;
    case PROP_BUFFER_SIZE:
      pipecom_pipe_set_buffer_size (self, g_value_get_uint (value));
      break;
    case PROP_MAX_MESSAGE_SIZE:
      pipecom_pipe_set_max_message_size (self, g_value_get_uint (value));
      break;
    case PROP_ACCESS:
      pipecom_pipe_set_access (self, g_value_get_enum (value));
      break;
    case PROP_MEMORY_BUDGET:
      pipecom_pipe_set_memory_budget (self, g_value_get_uint64 (value));
      break;
    case PROP_IDLE_TIMEOUT:
      pipecom_pipe_set_idle_timeout (self, g_value_get_uint (value));
      break;
    case PROP_THREADED:
      self->threaded = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_pipe_class_init (PipecomPipeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pipecom_pipe_dispose;
  object_class->finalize = pipecom_pipe_finalize;
  object_class->get_property = pipecom_pipe_get_property;
  object_class->set_property = pipecom_pipe_set_property;

  /**
   * PipecomPipe:name:
   *
   * The name to listen on: a simple name lives in the per-user pipe
   * directory (`$XDG_RUNTIME_DIR/pipecom`); a name containing a “/” is a
   * path, absolute or relative to the current directory. On Windows, a
   * simple name means `\\.\pipe\NAME`, and a full `\\.\pipe\…` name is
   * used as is.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_NAME] =
    g_param_spec_string ("name",
                         "Name",
                         "The name or path to listen on",
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:path:
   *
   * The path of the FIFO (on Windows, the full name of the named pipe),
   * known once the pipe listened.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_PATH] =
    g_param_spec_string ("path",
                         "Path",
                         "The path of the FIFO",
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:timeout:
   *
   * Stop after this many seconds without a message; 0 means never. The
   * count restarts with each message. Takes effect at the next
   * pipecom_pipe_listen().
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout",
                         "Timeout",
                         "Seconds without a message before the pipe stops (0: never)",
                       0, G_MAXUINT / 1000, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:max-messages:
   *
   * Stop after handling this many messages; 0 means no limit. The last
   * message is handled and answered before the pipe stops. While the pipe
   * listens, a new limit applies from the next message.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_MAX_MESSAGES] =
    g_param_spec_uint ("max-messages",
                         "Max messages",
                         "Messages to handle before the pipe stops (0: no limit)",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:die-code:
   *
   * A message that stops the pipe: it is acknowledged, never handed to
   * handlers. %NULL disables it.
   *
   * On a pipe shared with a group or with everyone (#PipecomPipe:access),
   * only the listener's own user can stop it this way: the die code of
   * another user is answered with %PIPECOM_ERROR_PERMISSION_DENIED (the
   * sender's call fails with it), is not handed to handlers either, and
   * the pipe goes on serving. See #PipecomAccess.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_DIE_CODE] =
    g_param_spec_string ("die-code",
                         "Die code",
                         "The message that stops the pipe",
                         PIPECOM_DEFAULT_DIE_CODE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:response-pipe-name:
   *
   * If set, every reply of the handlers is also sent, in order, to this
   * pipe. A failure to do so is reported by #PipecomPipe::response-error
   * (or a warning if nobody is connected to it), and never stops the pipe.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_RESPONSE_PIPE_NAME] =
    g_param_spec_string ("response-pipe-name",
                         "Response pipe name",
                         "Where every reply is forwarded",
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:buffer-size:
   *
   * The read buffer size of each connection, and the capacity requested for
   * its pipes when larger than the system's default (Linux). Takes effect
   * for new connections.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_BUFFER_SIZE] =
    g_param_spec_uint ("buffer-size",
                         "Buffer size",
                         "Read buffer and pipe capacity of each connection",
                       4096, 64 * 1024 * 1024, DEFAULT_BUFFER_SIZE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:max-message-size:
   *
   * Larger messages are refused with %PIPECOM_ERROR_MESSAGE_TOO_LARGE; the
   * pipe keeps serving. 0 means no limit. Takes effect for new connections.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint ("max-message-size",
                         "Max message size",
                         "The largest accepted message in bytes (0: no limit)",
                       0, G_MAXUINT, PIPECOM_DEFAULT_MAX_MESSAGE_SIZE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:threaded:
   *
   * Serve in a thread of the pipe's own, in the manner of
   * #GThreadedSocketService: the signals are then emitted in that thread,
   * and the calling thread is free to block. The thread keeps a reference
   * to the pipe until it stops.
   *
   * Handlers must be able to run in that thread: C and Python ones can,
   * but GJS runs JavaScript in its main thread only, so from JavaScript
   * leave this %FALSE and run a main loop: pipecom_pipe_listen() refuses a
   * threaded pipe with JavaScript handlers (%PIPECOM_ERROR_INVALID_PIPE).
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_THREADED] =
    g_param_spec_boolean ("threaded",
                         "Threaded",
                         "Serve in a thread of the pipe's own",
                          FALSE,
                          (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:listening:
   *
   * Whether the pipe is listening.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening",
                         "Listening",
                         "Whether the pipe is listening",
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:message-count:
   *
   * How many messages were handed to the handlers since the pipe last
   * started listening (the die code does not count).
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_MESSAGE_COUNT] =
    g_param_spec_uint ("message-count",
                         "Message count",
                         "Messages handled since the pipe started listening",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:stop-reason:
   *
   * Why the pipe last stopped, or %PIPECOM_STOP_REASON_NONE.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_STOP_REASON] =
    g_param_spec_enum ("stop-reason",
                         "Stop reason",
                         "Why the pipe last stopped",
                       PIPECOM_TYPE_STOP_REASON, PIPECOM_STOP_REASON_NONE,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:access:
   *
   * Who may send to the pipe: only its user (%PIPECOM_ACCESS_PRIVATE, the
   * default), the members of its group, or everyone. Takes effect at the
   * next pipecom_pipe_listen().
   *
   * A shared pipe must be named by a path (a name with a “/”) in a
   * directory that only the listener's user (or root, when the listener
   * runs as root) can write: pipecom_pipe_listen() fails with
   * %PIPECOM_ERROR_INVALID_PIPE for a simple name and with
   * %PIPECOM_ERROR_PERMISSION_DENIED for a directory others can write,
   * since senders of other users would refuse it, and for a group's pipe
   * in a set-group-ID directory of a group the listener is not a member
   * of, since it could not open its senders' channels. On Unix the FIFO is
   * made writable (never readable) by the group (0620) or by everyone
   * (0622), and the listener keeps a channel directory “PATH.d” (mode
   * 3730 or 1733) where senders create their private channels. On
   * Windows, sharing is not supported yet and pipecom_pipe_listen() fails
   * with %PIPECOM_ERROR_PERMISSION_DENIED.
   *
   * Senders are not authenticated: read the risks in #PipecomAccess.
   *
   * Since: 1.0
   */
  _pipecom_pipe_properties[PROP_ACCESS] =
    g_param_spec_enum ("access",
                       "Access",
                       "Who may send to the pipe",
                       PIPECOM_TYPE_ACCESS, PIPECOM_ACCESS_PRIVATE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:memory-budget:
   *
   * The most memory, in bytes, the pipe's connections together may hold
   * for partial incoming messages and for replies their senders have not
   * read yet; 0 means no limit. When a sender's bytes would exceed it, the
   * connection holding the most is dropped (its sender gets
   * %PIPECOM_ERROR_BUSY when it can be told, else sees the connection
   * closed), the one asking only if it holds the most, so that one sender
   * cannot make the listener grow past the budget, and a flood of partial
   * messages costs its senders their connections rather than the pipe its
   * other senders.
   *
   * A message is always allowed its whole size while it arrives: keep the
   * budget well above #PipecomPipe:max-message-size (a budget below it
   * refuses the messages it cannot hold). Once a message has arrived, it
   * belongs to the handlers and no longer counts. Besides, each connection
   * has a read buffer of #PipecomPipe:buffer-size bytes that does not
   * count.
   *
   * Takes effect at the next pipecom_pipe_listen().
   *
   * Since: 1.1
   */
  _pipecom_pipe_properties[PROP_MEMORY_BUDGET] =
    g_param_spec_uint64 ("memory-budget",
                         "Memory budget",
                         "Bytes all connections may hold for partial messages and unread replies (0: no limit)",
                         0, G_MAXUINT64, PIPECOM_DEFAULT_MEMORY_BUDGET,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:idle-timeout:
   *
   * Close a persistent connection (a #PipecomClient's) after this many
   * seconds with nothing partial, queued or unanswered on it; 0 means
   * never. Its sender sees the connection closed; a #PipecomClient connects
   * again at its next call. One-shot sends are not affected: their
   * connection ends with their answer.
   *
   * Independently of this, a listener that runs out of file descriptors
   * (or nearly: a few under `RLIMIT_NOFILE`) closes the persistent
   * connection idle the longest to serve a new sender, rather than
   * refusing it.
   *
   * Takes effect at the next pipecom_pipe_listen().
   *
   * Since: 1.1
   */
  _pipecom_pipe_properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout",
                       "Idle timeout",
                       "Seconds before an idle persistent connection is closed (0: never)",
                       0, G_MAXUINT / 1000, PIPECOM_DEFAULT_IDLE_TIMEOUT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomPipe:allowed-users: (type GStrv)
   *
   * The users who may send to the pipe, besides the listener's own
   * effective user, who always may: user names or decimal uids, resolved
   * when the pipe starts listening (pipecom_pipe_listen() fails with
   * %G_IO_ERROR_INVALID_ARGUMENT if a name is not a known user). A sender
   * of another user is refused before #PipecomPipe::authorize: its call
   * fails with %PIPECOM_ERROR_PERMISSION_DENIED, none of its messages is
   * handled, and the pipe goes on serving the others.
   *
   * %NULL or empty (the default): everyone who can reach the pipe (see
   * #PipecomPipe:access). Read at pipecom_pipe_listen(): a change applies
   * from the next one. On Windows the entries are account names
   * (`DOMAIN\user` or `user`) or SID strings (`S-1-5-…`), compared with
   * the user of the sender's token; as only the listener's user and SYSTEM
   * can reach a pipe there, it matters only for SYSTEM for now.
   *
   * Since: 1.1
   */
  _pipecom_pipe_properties[PROP_ALLOWED_USERS] =
    g_param_spec_boxed ("allowed-users",
                        "Allowed users",
                        "The users who may send, besides the listener's own",
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, _pipecom_pipe_properties);
  _pipecom_pipe_class_add_signals (klass);
}

static void
pipecom_pipe_init (PipecomPipe *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->die_code = g_strdup (PIPECOM_DEFAULT_DIE_CODE);
  self->buffer_size = DEFAULT_BUFFER_SIZE;
  self->max_message_size = PIPECOM_DEFAULT_MAX_MESSAGE_SIZE;
  self->memory_budget = PIPECOM_DEFAULT_MEMORY_BUDGET;
  self->idle_timeout = PIPECOM_DEFAULT_IDLE_TIMEOUT;
  g_queue_init (&self->connections);
}

/**
 * pipecom_pipe_new:
 * @name: the name or path to listen on
 *
 * Creates a pipe that will listen on @name. See #PipecomPipe:name.
 *
 * Returns: (transfer full): a new #PipecomPipe
 *
 * Since: 1.0
 */
PipecomPipe *
pipecom_pipe_new (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  return g_object_new (PIPECOM_TYPE_PIPE, "name", name, NULL);
}

