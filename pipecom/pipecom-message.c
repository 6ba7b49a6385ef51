/* pipecom-message.c
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "pipecom-message-private.h"
#include "pipecom-message-pool-private.h"

/**
 * SECTION:pipecom-message
 * @title: PipecomMessage
 * @short_description: a message received by a pipe
 *
 * A #PipecomMessage is what #PipecomPipe::message-received hands to its
 * handlers: the payload, as text or bytes, and the means to answer it.
 *
 * A handler usually returns its reply, or %NULL to acknowledge the
 * message without one. To answer later, for example after an asynchronous
 * operation, keep a reference to the message (g_object_ref() in C), return
 * %NULL, and call pipecom_message_reply() (from any thread) when the
 * answer is ready; a message finalized without a reply is then
 * acknowledged with no reply. The sender waits until one of these happens.
 *
 * In languages whose objects are garbage-collected, such as JavaScript, a
 * message may stay alive after its handler returned without anyone meaning
 * to answer it, so the reference held by the language's own wrapper does
 * not count: a handler there that returns %NULL acknowledges the message at
 * once. To answer later from such a language (or to make the intent plain
 * in C), call pipecom_message_hold() before the handler returns. (Python
 * frees its wrappers as soon as they are dropped, so keeping the message
 * object is enough there, as in C.)
 *
 * A message is valid during its emission, and afterwards as long as a
 * reference to it is held. The pipe may reuse a message that nobody kept
 * for a later one, so a pointer kept without a reference may come back
 * pointing to another message.
 *
 * |[<!-- language="C" -->
 * static char *
 * on_message (PipecomPipe    *pipe,
 *             PipecomMessage *message,
 *             gpointer        user_data)
 * {
 *   const char *text = pipecom_message_get_text (message);
 *
 *   if (text == NULL)
 *     return NULL;   // binary: acknowledged without a reply
 *
 *   return g_strdup_printf ("ACK: %s", text);
 * }
 * ]|
 *
 * |[<!-- language="Python" -->
 * def on_message(message):      # pipecom.Pipe(name, on_message): the text
 *     return "ACK: " + message
 *
 * def on_message_received(pipe, message):   # the "message-received" signal
 *     if message.get_text() is None:
 *         return None                       # binary: acknowledged
 *     return "ACK: " + message.get_text()
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * pipe.connect('message-received', (_pipe, message) => {
 *     const text = message.get_text();
 *     if (text === null)
 *         return null;                      // binary: acknowledged
 *     return `ACK: ${text}`;
 * });
 * ]|
 */

/**
 * PipecomMessage:
 *
 * A message received by a #PipecomPipe. Its fields are private.
 *
 * Since: 1.0
 */
struct _PipecomMessage
{
  GObject            parent_instance;

  PipecomPipe       *pipe;   /* (owned) */
  PipecomConnection *conn;   /* (owned) */
  guint              session;
  guint32            id;
  GBytes            *bytes;  /* (owned) */
  char              *text;   /* (owned) (nullable) */
  gboolean           text_checked;
  gboolean           held;
  gint               replied;  /* atomic */
};

G_DEFINE_FINAL_TYPE (PipecomMessage, pipecom_message, G_TYPE_OBJECT)

static guint notify_signal_id;

static void
pipecom_message_finalize (GObject *object)
{
  PipecomMessage *self = (PipecomMessage *)object;

  /* Dropped without a reply: acknowledge, so the sender does not wait. */
  if (!g_atomic_int_get (&self->replied))
    _pipecom_pipe_deliver_reply (self->pipe, self->conn, self->session, self->id, PIPECOM_FRAME_ACK, NULL);

  g_clear_pointer (&self->conn, _pipecom_connection_unref);
  g_clear_object (&self->pipe);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->text, g_free);

  G_OBJECT_CLASS (pipecom_message_parent_class)->finalize (object);
}

static void
pipecom_message_class_init (PipecomMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pipecom_message_finalize;

  /* The only signal a PipecomMessage has. */
  notify_signal_id = g_signal_lookup ("notify", G_TYPE_OBJECT);
}

static void
pipecom_message_init (PipecomMessage *self)
{
}

/* Whether nobody but the pipe can reach @self, so that it may be kept
 * for the next message: see pipecom-message-pool.c. */
static gboolean
nobody_can_reach (PipecomMessage *self)
{
  return g_atomic_int_get (&self->replied) &&
         _pipecom_message_pool_unreachable ((GObject *) self, notify_signal_id);
}

/* A message for @payload: @spare (see pipecom-message-pool.c), or a new
 * one. Takes @spare. */
PipecomMessage *
_pipecom_message_new (PipecomPipe       *pipe,
                      PipecomConnection *conn,
                      guint              session,
                      guint32            id,
                      GBytes            *payload,
                      PipecomMessage    *spare)
{
  PipecomMessage *self;

  /* Nobody could reach it since (but check the cheap part again). */
  if (spare != NULL && _pipecom_message_pool_still_unreachable ((GObject *) spare))
    {
      self = spare;
      self->text_checked = FALSE;
      self->held = FALSE;
      g_atomic_int_set (&self->replied, FALSE);
    }
  else
    {
      g_clear_object (&spare);
      self = g_object_new (PIPECOM_TYPE_MESSAGE, NULL);
    }

  self->pipe = g_object_ref (pipe);
  self->conn = _pipecom_connection_ref (conn);
  self->session = session;
  self->id = id;
  self->bytes = g_bytes_ref (payload);

  return self;
}

/* Drops the pipe's reference to @self at the end of its emission: @self
 * becomes *@spare, if that is empty, reuse is on and nobody else can
 * reach @self (see pipecom-message-pool.c), or is unreferenced as usual. */
void
_pipecom_message_release (PipecomMessage  *self,
                          PipecomMessage **spare)
{
  if (*spare != NULL || !_pipecom_message_pool_enabled () ||
      !nobody_can_reach (self))
    {
      g_object_unref (self);
      return;
    }

  g_clear_pointer (&self->conn, _pipecom_connection_unref);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->text, g_free);
  *spare = self;
  /* Last: this may finalize the pipe, and the spare with it. */
  g_clear_object (&self->pipe);
}

/**
 * pipecom_message_get_bytes:
 * @self: a #PipecomMessage
 *
 * Gets the payload, exactly as sent.
 *
 * Returns: (transfer none): the payload
 *
 * Since: 1.0
 */
GBytes *
pipecom_message_get_bytes (PipecomMessage *self)
{
  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), NULL);

  return self->bytes;
}

/**
 * pipecom_message_get_size:
 * @self: a #PipecomMessage
 *
 * Gets the size of the payload in bytes.
 *
 * Returns: the size of the payload
 *
 * Since: 1.0
 */
gsize
pipecom_message_get_size (PipecomMessage *self)
{
  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), 0);

  return g_bytes_get_size (self->bytes);
}

/**
 * pipecom_message_get_text:
 * @self: a #PipecomMessage
 *
 * Gets the payload as text.
 *
 * Returns: (nullable): the payload as a NUL-terminated string, or %NULL if
 *   it is not valid UTF-8 or contains a NUL byte
 *
 * Since: 1.0
 */
const char *
pipecom_message_get_text (PipecomMessage *self)
{
  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), NULL);

  if (!self->text_checked)
    {
      gsize size;
      const char *data = g_bytes_get_data (self->bytes, &size);

      if (g_utf8_validate_len (data ? data : "", size, NULL))
        self->text = g_strndup (data ? data : "", size);
      self->text_checked = TRUE;
    }

  return self->text;
}

/**
 * pipecom_message_get_replied:
 * @self: a #PipecomMessage
 *
 * Gets whether the message has been answered.
 *
 * Returns: %TRUE once a reply, an error or an acknowledgement was given
 *
 * Since: 1.0
 */
gboolean
pipecom_message_get_replied (PipecomMessage *self)
{
  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), FALSE);

  return g_atomic_int_get (&self->replied);
}

/**
 * pipecom_message_get_credentials:
 * @self: a #PipecomMessage
 *
 * Gets who sent the message, as the system vouches for it.
 *
 * On Unix the user is the owner of the sender's channel FIFOs, which the
 * sender made, so the kernel set it: g_credentials_get_unix_user() gives
 * it. The process is set only when the listener verified it: on Linux, by
 * finding the sender's channel among the open files of the process that
 * its channel's name announces (`/proc/PID/fd`), which works when that
 * process runs as the channel's owner and the listener may read its
 * descriptors (the same user and group, or root). Otherwise, and always
 * on other Unix systems, there is no process:
 * g_credentials_get_unix_pid() then returns -1 (on Linux with no error
 * set, with GLib 2.74; check pipecom_message_get_sender_verified() rather
 * than the pid). The group in
 * the native credentials (Linux) is the channel file's, which may be its
 * directory's: it is not the sender's, do not use it. On Windows the
 * process is the pipe client's (GetNamedPipeClientProcessId()); the user
 * is pipecom_message_get_sender_sid().
 *
 * The process is verified on the first call for a connection (then
 * cached), which must come while the sender is still connected: ask while
 * handling the message (or in #PipecomPipe::authorize), not after replying.
 *
 * Returns: (transfer none) (nullable): the sender's credentials, valid as
 *   long as @self, or %NULL if the sender is unknown (a message not
 *   received by a listener, or whose two channel files belong to different
 *   users)
 *
 * Since: 1.1
 */
GCredentials *
pipecom_message_get_credentials (PipecomMessage *self)
{
  GCredentials *credentials = NULL;

  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), NULL);

  if (self->conn != NULL)
    _pipecom_connection_get_sender (self->conn, &credentials);

  return credentials;
}

/**
 * pipecom_message_get_sender_verified:
 * @self: a #PipecomMessage
 *
 * Gets what the system verified of the sender, that is which fields of
 * pipecom_message_get_credentials() (and pipecom_message_get_sender_sid())
 * are set: a field whose flag is missing is absent, never taken from the
 * sender's word. Like pipecom_message_get_credentials(), ask while
 * handling the message.
 *
 * Returns: %PIPECOM_SENDER_USER when the user is known,
 *   %PIPECOM_SENDER_PROCESS when the process is, or %PIPECOM_SENDER_NONE
 *
 * Since: 1.1
 */
PipecomSenderFlags
pipecom_message_get_sender_verified (PipecomMessage *self)
{
  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), PIPECOM_SENDER_NONE);

  if (self->conn == NULL)
    return PIPECOM_SENDER_NONE;

  return _pipecom_connection_get_sender (self->conn, NULL);
}

/**
 * pipecom_message_get_sender_sid:
 * @self: a #PipecomMessage
 *
 * Gets the sender's user on Windows, as a SID string such as
 * `S-1-5-21-…-1001` (#GCredentials holds no SID). Always %NULL on Unix,
 * where pipecom_message_get_credentials() gives the uid.
 *
 * Returns: (nullable): the sender's SID, valid as long as @self, or %NULL
 *
 * Since: 1.1
 */
const char *
pipecom_message_get_sender_sid (PipecomMessage *self)
{
  g_return_val_if_fail (PIPECOM_IS_MESSAGE (self), NULL);

  return self->conn != NULL ? _pipecom_connection_get_peer_sid (self->conn) : NULL;
}

/**
 * pipecom_credentials_get_sid:
 * @credentials: a #GCredentials
 *
 * Gets the Windows user SID of credentials that PipeCom made for a sender
 * (those of pipecom_message_get_credentials() and of
 * #PipecomPipe::authorize), since #GCredentials itself holds no SID: this
 * is how an ::authorize handler on Windows tells who is connecting. The
 * same string as pipecom_message_get_sender_sid(). %NULL on Unix, and for
 * credentials that PipeCom did not make.
 *
 * Returns: (nullable): the SID string, valid as long as @credentials, or
 *   %NULL
 *
 * Since: 1.1
 */
const char *
pipecom_credentials_get_sid (GCredentials *credentials)
{
  g_return_val_if_fail (G_IS_CREDENTIALS (credentials), NULL);

  return g_object_get_data (G_OBJECT (credentials), _PIPECOM_CREDENTIALS_SID_KEY);
}

/**
 * pipecom_message_hold:
 * @self: a #PipecomMessage
 *
 * Tells the pipe that @self will be answered after its handler returns,
 * with pipecom_message_reply(), pipecom_message_reply_bytes() or
 * pipecom_message_reply_error(); a held message that is finalized without a
 * reply is acknowledged with none. Call it from the
 * #PipecomPipe::message-received handler. In C, keeping a reference has
 * the same effect; in garbage-collected languages this call is needed.
 *
 * Since: 1.0
 */
void
pipecom_message_hold (PipecomMessage *self)
{
  g_return_if_fail (PIPECOM_IS_MESSAGE (self));

  self->held = TRUE;
}

/* Whether anybody but the pipe means to answer @self later: it was held,
 * or someone kept a reference. The one reference by which a binding with
 * a garbage collector ties the object to its wrapper does not count: the
 * wrapper may outlive the handler by any time without any intent to reply,
 * and the sender would wait for the collector. Such references are
 * recognised by GObject's toggle references (used by bindings in general)
 * and by GJS's wrapper data (GJS 1.74 holds a plain reference until it
 * needs a toggle one). PyGObject's wrappers are freed as soon as Python
 * code drops them, so they count, as a C reference does. */
gboolean
_pipecom_message_is_kept (PipecomMessage *self)
{
  static GQuark toggle_refs_quark = 0;
  static GQuark gjs_wrapper_quark = 0;
  guint refs = _pipecom_object_peek_ref_count ((GObject *) self);

  if (self->held)
    return TRUE;

  /* The common case, the emission's own reference only: no qdata lookups. */
  if (refs <= 1)
    return FALSE;

  if (G_UNLIKELY (toggle_refs_quark == 0))
    {
      toggle_refs_quark = g_quark_from_static_string ("GObject-toggle-references");
      gjs_wrapper_quark = g_quark_from_static_string ("gjs::private");
    }

  if (g_object_get_qdata ((GObject *) self, toggle_refs_quark) != NULL ||
      g_object_get_qdata ((GObject *) self, gjs_wrapper_quark) != NULL)
    refs--;

  return refs > 1;
}

/* Answers @self with a plain acknowledgement, now. */
void
_pipecom_message_acknowledge (PipecomMessage *self)
{
  if (_pipecom_message_take_answer (self))
    _pipecom_pipe_deliver_reply (self->pipe, self->conn, self->session, self->id,
                                 PIPECOM_FRAME_ACK, NULL);
}

/* Marks @self answered, as _pipecom_message_acknowledge() does, without
 * delivering anything: for the listener, which sends the acknowledgement
 * itself. FALSE if it was answered already. */
gboolean
_pipecom_message_take_answer (PipecomMessage *self)
{
  return g_atomic_int_compare_and_exchange (&self->replied, FALSE, TRUE);
}

/* Marks @self answered by a reply or an error; FALSE, with a critical
 * warning, if it was answered already. The listener calls it too, to send
 * a handler's returned reply itself. */
gboolean
_pipecom_message_take_reply (PipecomMessage *self)
{
  if (!g_atomic_int_compare_and_exchange (&self->replied, FALSE, TRUE))
    {
      /* The usual cause: a handler that answers later (from a callback, a
       * promise, an async function) without holding the message, which
       * was then acknowledged with no reply when the handler returned. */
      g_critical ("The message of pipe “%s” was already answered. To answer "
                  "a message after its handler returned, call "
                  "pipecom_message_hold() (message.hold() in GJS and Python) "
                  "in the handler",
                  pipecom_pipe_get_name (self->pipe));
      return FALSE;
    }
  return TRUE;
}

/**
 * pipecom_message_reply_bytes:
 * @self: a #PipecomMessage
 * @reply: the reply
 *
 * Answers the message with @reply; the sender's request completes with it.
 * May be called from any thread, once per message.
 *
 * Since: 1.0
 */
void
pipecom_message_reply_bytes (PipecomMessage *self,
                             GBytes         *reply)
{
  g_return_if_fail (PIPECOM_IS_MESSAGE (self));
  g_return_if_fail (reply != NULL);

  if (_pipecom_message_take_reply (self))
    _pipecom_pipe_deliver_reply (self->pipe, self->conn, self->session, self->id, PIPECOM_FRAME_REPLY, reply);
}

/**
 * pipecom_message_reply:
 * @self: a #PipecomMessage
 * @reply: the reply text
 *
 * Answers the message with the string @reply (without its trailing NUL).
 * May be called from any thread, once per message.
 *
 * Since: 1.0
 */
void
pipecom_message_reply (PipecomMessage *self,
                       const char     *reply)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (PIPECOM_IS_MESSAGE (self));
  g_return_if_fail (reply != NULL);

  bytes = g_bytes_new (reply, strlen (reply));
  pipecom_message_reply_bytes (self, bytes);
}

/**
 * pipecom_message_reply_error:
 * @self: a #PipecomMessage
 * @error: what went wrong
 *
 * Answers the message with an error: the sender's call fails with
 * %PIPECOM_ERROR_HANDLER_FAILED and the message of @error. May be called
 * from any thread, once per message.
 *
 * Since: 1.0
 */
void
pipecom_message_reply_error (PipecomMessage *self,
                             const GError   *error)
{
  g_autoptr(GBytes) payload = NULL;

  g_return_if_fail (PIPECOM_IS_MESSAGE (self));
  g_return_if_fail (error != NULL);

  if (!_pipecom_message_take_reply (self))
    return;

  payload = _pipecom_error_payload_new (PIPECOM_ERROR_HANDLER_FAILED, error->message);
  _pipecom_pipe_deliver_reply (self->pipe, self->conn, self->session, self->id,
                               PIPECOM_FRAME_ERROR, payload);
}
