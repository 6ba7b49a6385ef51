/* pipecom-client.c: persistent connections to a listener
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

/* The public #PipecomClient: properties, documentation and argument
 * checks. The work is done by its session (pipecom-session.c). */

#include "config.h"

#include <string.h>

#include "pipecom-client-private.h"
#include "pipecom-session-private.h"

/**
 * SECTION:pipecom-client
 * @title: PipecomClient
 * @short_description: a persistent connection to a pipe
 *
 * A #PipecomClient keeps one private connection to the listener of a pipe
 * and sends any number of messages over it, each acknowledged by the
 * listener after its handler ran. Several asynchronous requests may be in
 * flight at once; each reply reaches the request it answers.
 *
 * The connection is made by pipecom_client_connect() or, lazily, by the
 * first message. If the listener goes away, messages in flight fail with
 * %PIPECOM_ERROR_CLOSED (they are never sent twice), and the next call
 * connects again.
 *
 * A listener closes a connection left idle for its #PipecomPipe:idle-timeout
 * with a goodbye (an `ERROR` frame with id 0 and code `CLOSED`, see
 * docs/protocol.md), after which it reads nothing more. A message written
 * just before the goodbye was then certainly not handled: the client sends
 * it again on a new connection, made as for the first message, instead of
 * failing it, and the call's #PipecomClient:timeout still counts from its
 * start. So an idle client's next call simply works, whether it comes after
 * the goodbye or races with it. Only the goodbye has this effect: any other
 * end of the connection fails the messages in flight as above. (Listeners
 * on Windows do not send the goodbye yet.)
 *
 * All methods may be called from any thread. Asynchronous calls complete in
 * the thread-default main context of the thread that started them.
 *
 * |[<!-- language="C" -->
 * g_autoptr(PipecomClient) client = pipecom_client_new ("my_pipe");
 * g_autoptr(GError) error = NULL;
 * g_autofree char *reply = NULL;
 *
 * pipecom_client_set_timeout (client, 5);
 * reply = pipecom_client_request (client, "status", NULL, &error);
 * ]|
 *
 * |[<!-- language="Python" -->
 * import pipecom
 *
 * client = pipecom.Client.new("my_pipe")
 * client.set_timeout(5)
 * reply = client.request("status", None)
 * ]|
 *
 * |[<!-- language="JavaScript" -->
 * const {Gio, Pipecom} = imports.gi;
 *
 * Gio._promisify(Pipecom.Client.prototype, 'request_async', 'request_finish');
 *
 * const client = Pipecom.Client.new('my_pipe');
 * client.set_timeout(5);
 * client.request_async('status', null).then(reply => print(reply));
 * ]|
 */

/**
 * PipecomClient:
 *
 * A persistent connection to the listener of a pipe. Its fields are
 * private.
 *
 * Since: 1.0
 */
struct _PipecomClient
{
  GObject       parent_instance;

  char         *pipe_name;
  char         *path;          /* (nullable) resolved lazily */
  GMutex        lock;
  guint         timeout;
  guint         max_attempts;
  PipecomSession *session;     /* (owned) the engine, living in the worker */
};

G_DEFINE_FINAL_TYPE (PipecomClient, pipecom_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PIPE_NAME,
  PROP_TIMEOUT,
  PROP_MAX_ATTEMPTS,
  PROP_CONNECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
pipecom_client_constructed (GObject *object)
{
  PipecomClient *self = (PipecomClient *)object;

  G_OBJECT_CLASS (pipecom_client_parent_class)->constructed (object);

  self->session = _pipecom_session_new (self->pipe_name, NULL, FALSE);
}

static void
pipecom_client_finalize (GObject *object)
{
  PipecomClient *self = (PipecomClient *)object;

  g_clear_pointer (&self->session, _pipecom_session_unref);

  g_free (self->pipe_name);
  g_free (self->path);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (pipecom_client_parent_class)->finalize (object);
}

static void
pipecom_client_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PipecomClient *self = PIPECOM_CLIENT (object);

  switch (prop_id)
    {
    case PROP_PIPE_NAME:
      g_value_set_string (value, self->pipe_name);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, pipecom_client_get_timeout (self));
      break;
    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, pipecom_client_get_max_attempts (self));
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, pipecom_client_get_connected (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_client_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PipecomClient *self = PIPECOM_CLIENT (object);

  switch (prop_id)
    {
    case PROP_PIPE_NAME:
      self->pipe_name = g_value_dup_string (value);
      break;
    case PROP_TIMEOUT:
      pipecom_client_set_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_ATTEMPTS:
      pipecom_client_set_max_attempts (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pipecom_client_class_init (PipecomClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pipecom_client_constructed;
  object_class->finalize = pipecom_client_finalize;
  object_class->get_property = pipecom_client_get_property;
  object_class->set_property = pipecom_client_set_property;

  /**
   * PipecomClient:pipe-name:
   *
   * The name of the pipe to talk to: a simple name in the per-user pipe
   * directory, or a path if it contains a “/”.
   *
   * Since: 1.0
   */
  properties[PROP_PIPE_NAME] =
    g_param_spec_string ("pipe-name",
                         "Pipe name",
                         "The name or path of the pipe to talk to",
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomClient:timeout:
   *
   * The time budget of each operation in seconds, connecting included;
   * 0 means no limit.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout",
                         "Timeout",
                         "Time budget of each operation in seconds (0: none)",
                       0, G_MAXUINT / 1000, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomClient:max-attempts:
   *
   * How many times to try to connect while the listener is absent or busy,
   * with a short backoff in between; 0 means no limit (within the timeout).
   *
   * Since: 1.0
   */
  properties[PROP_MAX_ATTEMPTS] =
    g_param_spec_uint ("max-attempts",
                         "Max attempts",
                         "Connection attempts while the listener is absent or busy (0: unlimited)",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * PipecomClient:connected:
   *
   * Whether the client currently has a connection to the listener. It may
   * be read from any thread; it is not notified, since it changes in the
   * client's I/O thread.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected",
                         "Connected",
                         "Whether the client has a connection",
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pipecom_client_init (PipecomClient *self)
{
  g_mutex_init (&self->lock);
}

/**
 * pipecom_client_new:
 * @pipe_name: the name or path of the pipe
 *
 * Creates a client for the pipe @pipe_name. Nothing is opened until
 * pipecom_client_connect() or the first message.
 *
 * Returns: (transfer full): a new #PipecomClient
 *
 * Since: 1.0
 */
PipecomClient *
pipecom_client_new (const char *pipe_name)
{
  g_return_val_if_fail (pipe_name != NULL, NULL);

  return g_object_new (PIPECOM_TYPE_CLIENT, "pipe-name", pipe_name, NULL);
}

/**
 * pipecom_client_get_pipe_name:
 * @self: a #PipecomClient
 *
 * Gets the name of the pipe the client talks to.
 *
 * Returns: the pipe name
 *
 * Since: 1.0
 */
const char *
pipecom_client_get_pipe_name (PipecomClient *self)
{
  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);

  return self->pipe_name;
}

/**
 * pipecom_client_get_timeout:
 * @self: a #PipecomClient
 *
 * Gets #PipecomClient:timeout.
 *
 * Returns: the time budget of each operation, in seconds (0: none)
 *
 * Since: 1.0
 */
guint
pipecom_client_get_timeout (PipecomClient *self)
{
  guint ret;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), 0);

  g_mutex_lock (&self->lock);
  ret = self->timeout;
  g_mutex_unlock (&self->lock);

  return ret;
}

/**
 * pipecom_client_set_timeout:
 * @self: a #PipecomClient
 * @timeout: seconds, 0 for no limit
 *
 * Sets #PipecomClient:timeout, the time budget of each later operation.
 *
 * Since: 1.0
 */
void
pipecom_client_set_timeout (PipecomClient *self,
                            guint          timeout)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));

  g_mutex_lock (&self->lock);
  changed = self->timeout != timeout;
  self->timeout = timeout;
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

/**
 * pipecom_client_get_max_attempts:
 * @self: a #PipecomClient
 *
 * Gets #PipecomClient:max-attempts.
 *
 * Returns: the maximum number of connection attempts (0: unlimited)
 *
 * Since: 1.0
 */
guint
pipecom_client_get_max_attempts (PipecomClient *self)
{
  guint ret;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), 0);

  g_mutex_lock (&self->lock);
  ret = self->max_attempts;
  g_mutex_unlock (&self->lock);

  return ret;
}

/**
 * pipecom_client_set_max_attempts:
 * @self: a #PipecomClient
 * @max_attempts: the maximum number of connection attempts, 0 for unlimited
 *
 * Sets #PipecomClient:max-attempts.
 *
 * Since: 1.0
 */
void
pipecom_client_set_max_attempts (PipecomClient *self,
                                 guint          max_attempts)
{
  gboolean changed;

  g_return_if_fail (PIPECOM_IS_CLIENT (self));

  g_mutex_lock (&self->lock);
  changed = self->max_attempts != max_attempts;
  self->max_attempts = max_attempts;
  g_mutex_unlock (&self->lock);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ATTEMPTS]);
}

/**
 * pipecom_client_get_connected:
 * @self: a #PipecomClient
 *
 * Gets whether the client has a connection to the listener right now.
 *
 * Returns: %TRUE if connected
 *
 * Since: 1.0
 */
gboolean
pipecom_client_get_connected (PipecomClient *self)
{
  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);

  return _pipecom_session_get_connected (self->session);
}

/* The timeout and attempts of a call, read together; with @path, also
 * the pipe name resolved (or %NULL), under the same lock. */
static void
client_get_budget (PipecomClient  *self,
                   guint          *timeout,
                   guint          *max_attempts,
                   const char    **path)
{
  g_mutex_lock (&self->lock);
  *timeout = self->timeout;
  *max_attempts = self->max_attempts;
  if (path != NULL)
    {
      if (self->path == NULL)
        self->path = _pipecom_transport_resolve (self->pipe_name, NULL);
      *path = self->path;
    }
  g_mutex_unlock (&self->lock);
}

void
_pipecom_client_start_op (PipecomClient       *self,
                          GBytes              *payload,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data,
                          gpointer             source_tag)
{
  guint timeout, max_attempts;

  client_get_budget (self, &timeout, &max_attempts, NULL);
  _pipecom_session_start (self->session, self, payload, timeout, max_attempts, 0, cancellable,
                          callback, user_data, source_tag);
}

static GBytes *
client_run_sync (PipecomClient  *self,
                 GBytes         *message,
                 GCancellable   *cancellable,
                 gpointer        source_tag,
                 gboolean       *ok,
                 GError        **error)
{
  guint timeout, max_attempts;
  const char *path;

  client_get_budget (self, &timeout, &max_attempts, &path);
  return _pipecom_session_run_sync (self->session, path, message, timeout,
                                    max_attempts, cancellable, self, source_tag, ok, error);
}

/**
 * pipecom_client_connect_async:
 * @self: a #PipecomClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when connected, or on failure
 * @user_data: (closure): data for @callback
 *
 * Connects to the listener, retrying while it is absent or busy within
 * #PipecomClient:max-attempts and #PipecomClient:timeout. Does nothing if
 * already connected.
 *
 * Since: 1.0
 */
void
pipecom_client_connect_async (PipecomClient       *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  _pipecom_client_start_op (self, NULL, cancellable, callback, user_data,
                            pipecom_client_connect_async);
}

/**
 * pipecom_client_connect_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_connect_async().
 *
 * Returns: %TRUE if connected
 *
 * Since: 1.0
 */
gboolean
pipecom_client_connect_finish (PipecomClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);

  reply = _pipecom_session_op_finish (self, result, &ok, error);
  return ok;
}

/**
 * pipecom_client_connect:
 * @self: a #PipecomClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Synchronously connects to the listener. See
 * pipecom_client_connect_async().
 *
 * Returns: %TRUE if connected
 *
 * Since: 1.0
 */
gboolean
pipecom_client_connect (PipecomClient  *self,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), FALSE);

  reply = client_run_sync (self, NULL, cancellable, pipecom_client_connect, &ok, error);
  return ok;
}

/**
 * pipecom_client_send_bytes_async:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the listener handled the message
 * @user_data: (closure): data for @callback
 *
 * Sends @message, connecting first if needed, and completes once the
 * listener's handlers ran.
 *
 * Since: 1.0
 */
void
pipecom_client_send_bytes_async (PipecomClient       *self,
                                 GBytes              *message,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  _pipecom_client_start_op (self, message, cancellable, callback, user_data,
                            pipecom_client_send_bytes_async);
}

/**
 * pipecom_client_send_bytes_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_send_bytes_async().
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send_bytes_finish (PipecomClient  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);

  reply = _pipecom_session_op_finish (self, result, &ok, error);
  return ok;
}

/**
 * pipecom_client_send_bytes:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends @message and waits until the listener handled it.
 *
 * Returns: %TRUE if the listener handled the message
 *
 * Since: 1.0
 */
gboolean
pipecom_client_send_bytes (PipecomClient  *self,
                           GBytes         *message,
                           GCancellable   *cancellable,
                           GError        **error)
{
  g_autoptr(GBytes) reply = NULL;
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), FALSE);

  reply = client_run_sync (self, message, cancellable, pipecom_client_send_bytes, &ok, error);
  return ok;
}

/**
 * pipecom_client_request_bytes_async:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called with the listener's reply
 * @user_data: (closure): data for @callback
 *
 * Sends @message and completes with the reply of the listener's handler.
 *
 * Since: 1.0
 */
void
pipecom_client_request_bytes_async (PipecomClient       *self,
                                    GBytes              *message,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  _pipecom_client_start_op (self, message, cancellable, callback, user_data,
                            pipecom_client_request_bytes_async);
}

/**
 * pipecom_client_request_bytes_finish:
 * @self: a #PipecomClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes pipecom_client_request_bytes_async().
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
GBytes *
pipecom_client_request_bytes_finish (PipecomClient  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);

  return _pipecom_session_op_finish (self, result, &ok, error);
}

/**
 * pipecom_client_request_bytes:
 * @self: a #PipecomClient
 * @message: the message
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends @message and waits for the reply of the listener's handler.
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL if the handler
 *   gave none (then @error is not set) or on error
 *
 * Since: 1.0
 */
GBytes *
pipecom_client_request_bytes (PipecomClient  *self,
                              GBytes         *message,
                              GCancellable   *cancellable,
                              GError        **error)
{
  gboolean ok;

  g_return_val_if_fail (PIPECOM_IS_CLIENT (self), NULL);
  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), NULL);

  return client_run_sync (self, message, cancellable, pipecom_client_request_bytes, &ok, error);
}

/**
 * pipecom_client_close:
 * @self: a #PipecomClient
 *
 * Closes the connection. Operations in flight fail with
 * %PIPECOM_ERROR_CLOSED; a later call connects again.
 *
 * The connection is closed when this returns: #PipecomClient:connected is
 * %FALSE. The callbacks of the failed operations run later, as usual, in
 * the thread-default main contexts of their callers.
 *
 * Since: 1.0
 */
void
pipecom_client_close (PipecomClient *self)
{
  g_return_if_fail (PIPECOM_IS_CLIENT (self));

  _pipecom_session_close (self->session);
}
