# Pipecom.py: PyGObject overrides for PipeCom
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

"""Pythonic additions to the Pipecom introspection module.

With these overrides, PipeCom reads like the original Python library::

    from gi.repository import Pipecom

    def handler(message):
        print("Received:", message)
        return "thanks"             # the reply; None acknowledges only

    pipe = Pipecom.Pipe("my_pipe", handler)
    pipe.listen()                   # serves in a thread of its own: handler()
                                    # runs there (GTK programs pass
                                    # main_context=GLib.MainContext.default())

    Pipecom.send("my_pipe", "Hello, World!", timeout=5, max_attempts=3)

Everything of the plain introspected API stays usable: ``Pipecom.Pipe``
built with GObject properties only (``Pipecom.Pipe(name="my_pipe")``) is a
plain pipe, and ``Pipecom.send(name, text, timeout, max_attempts)`` with
positional arguments works as before.

Errors of the Pipecom domain are raised as :class:`PipeError`, a subclass
of :class:`GLib.Error` with the original library's ``error_code`` and
``context``.
"""

import atexit
import errno
import functools
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
import weakref

from gi.repository import Gio, GLib, GObject

from ..module import get_introspection_module
from ..overrides import override

Pipecom = get_introspection_module('Pipecom')

try:
    _library_loaded = Pipecom.Pipe.__gtype__ != GObject.TYPE_NONE
except (AssertionError, TypeError, RuntimeError):
    _library_loaded = False
if not _library_loaded:
    # The typelib was found, but not its library (gi said so on stderr)
    raise ImportError('The PipeCom library, libpipecom-1.0.so.0, could not be '
                      'loaded: set LD_LIBRARY_PATH to the directory that holds '
                      'it (a build tree: BUILDDIR/pipecom), matching '
                      'GI_TYPELIB_PATH')
del _library_loaded

__all__ = []

_log = logging.getLogger('Pipecom')

_DOMAIN = 'pipecom-error-quark'

# Pipecom.Error value -> error_code string: the enumeration's nick in upper
# case ("INVALID_PIPE", ..., "HANDLER_FAILED"). The original library's five
# codes come first, with the same names.
_CODE_NAMES = {}
for _value in sorted(Pipecom.Error.__enum_values__):
    _CODE_NAMES[_value] = Pipecom.Error(_value).value_nick.upper().replace('-', '_')
_CODE_VALUES = {name: value for value, name in _CODE_NAMES.items()}

# strerror() text -> errno name, to find the operating system error at the
# end of a message ("... “/run/user/1000/pipecom/x”: Permission denied")
_STRERRORS = {}
for _errno, _errname in sorted(errno.errorcode.items()):
    _STRERRORS.setdefault(os.strerror(_errno), (_errno, _errname))
del _value, _errno, _errname

_QUOTED_NAME_PATH = re.compile(r'“([^”]*)” \(([^()]*)\)')
_QUOTED_PATH = re.compile(r'“((?:/|\\\\)[^”]*)”')


class PipeError(GLib.Error):
    """The exception of PipeCom calls, as in the original library.

    ``PipeError(message, error_code="UNKNOWN", context=None)``

    A :class:`GLib.Error` in the ``Pipecom.error_quark()`` domain (so
    ``except GLib.Error`` and ``e.matches(Pipecom.error_quark(),
    Pipecom.Error.BUSY)`` keep working), with:

    - ``error_code``: a string, one of the class constants
      (``PipeError.TIMEOUT``, ...): the original library's five codes, then
      PipeCom's others, each the ``Pipecom.Error`` nick in upper case;
    - ``context``: a dict saying what the call was about (``pipe_name``,
      ``path``, ``timeout``, ``max_attempts``, and ``os_error`` and
      ``errno`` when the operating system gave the error);
    - ``code``: the ``Pipecom.Error`` value; ``message``: the message.

    ``error_code`` is ``"TIMEOUT"`` when no listener was reached within
    the call's ``timeout``, as in the original library, while ``code``
    stays ``Pipecom.Error.CONNECTION_FAILED``, the C library's code.
    """

    INVALID_PIPE = 'INVALID_PIPE'
    CONNECTION_FAILED = 'CONNECTION_FAILED'
    PERMISSION_DENIED = 'PERMISSION_DENIED'
    TIMEOUT = 'TIMEOUT'
    UNKNOWN = 'UNKNOWN'
    ADDRESS_IN_USE = 'ADDRESS_IN_USE'
    BUSY = 'BUSY'
    CLOSED = 'CLOSED'
    PROTOCOL = 'PROTOCOL'
    MESSAGE_TOO_LARGE = 'MESSAGE_TOO_LARGE'
    HANDLER_FAILED = 'HANDLER_FAILED'

    def __init__(self, message='unknown error', error_code=None, context=None,
                 code=None):
        if isinstance(error_code, Pipecom.Error):
            error_code = _CODE_NAMES.get(int(error_code), PipeError.UNKNOWN)
        elif error_code is None:
            error_code = (_CODE_NAMES.get(int(code), PipeError.UNKNOWN)
                          if code is not None else PipeError.UNKNOWN)
        else:
            error_code = str(error_code)
        if code is None:
            code = _CODE_VALUES.get(error_code, int(Pipecom.Error.UNKNOWN))
        super().__init__(str(message), _DOMAIN, int(code))
        self.error_code = error_code
        self.context = dict(context) if context else {}

    @classmethod
    def _from_error(cls, error, context=None, timed_out=False):
        """The PipeError for a GLib.Error of the Pipecom domain."""
        code = error.code
        error_code = _CODE_NAMES.get(code, PipeError.UNKNOWN)
        if timed_out and code == Pipecom.Error.CONNECTION_FAILED:
            error_code = PipeError.TIMEOUT
        context = dict(context or {})
        found = _QUOTED_NAME_PATH.search(error.message)
        if found:
            context['pipe_name'] = context.get('pipe_name') or found.group(1)
            context['path'] = context.get('path') or found.group(2)
        elif not context.get('path'):
            found = _QUOTED_PATH.search(error.message)
            if found:
                context['path'] = found.group(1)
        context = {k: v for k, v in context.items() if v is not None}
        tail = error.message.rsplit(': ', 1)
        if len(tail) == 2 and tail[1] in _STRERRORS:
            context['errno'], context['os_error'] = _STRERRORS[tail[1]]
        return cls(error.message, error_code, context, code=code)

    def to_dict(self):
        """The error as a dict, as in the original library."""
        return {
            'error_type': type(self).__name__,
            'message': self.message,
            'error_code': self.error_code,
            'context': dict(self.context),
        }

    def __str__(self):
        text = '%s (Code: %s): %s' % (type(self).__name__, self.error_code,
                                      self.message)
        if self.context:
            text += ' [Context: %s]' % ', '.join('%s=%s' % item for item in
                                                  self.context.items())
        return text

    def __repr__(self):
        return '%s(message=%r, error_code=%r, context=%r)' % (
            type(self).__name__, self.message, self.error_code, self.context)

    def copy(self):
        return type(self)(self.message, self.error_code, self.context,
                          code=self.code)

    def __reduce__(self):
        return (_make_pipe_error, (type(self), self.message, self.error_code,
                                   self.context, self.code))


def _make_pipe_error(cls, message, error_code, context, code):
    return cls(message, error_code, context, code=code)


__all__.append('PipeError')


def _is_pipecom_error(error):
    return (isinstance(error, GLib.Error) and not isinstance(error, PipeError)
            and error.domain == _DOMAIN)


def _timed_out(context, started):
    timeout = context.get('timeout') or 0
    return timeout > 0 and time.monotonic() - started >= timeout


def _raising_pipe_error(context_of):
    """Decorates a call so that a GLib.Error of the Pipecom domain leaves
    it as a PipeError. context_of(*args, **kwargs) gives the context."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            started = time.monotonic()
            try:
                return func(*args, **kwargs)
            except GLib.Error as error:
                if not _is_pipecom_error(error):
                    raise
                context = context_of(*args, **kwargs)
                raise PipeError._from_error(
                    error, context, _timed_out(context, started)) from None
        return wrapper
    return decorate


# The context of the asynchronous call whose callback runs: its _finish()
# call raises PipeError with it.
_async_calls = threading.local()


def _finish_context():
    stack = getattr(_async_calls, 'stack', None)
    if stack:
        return stack[-1]
    return {}, None


def _raising_pipe_error_at_finish(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GLib.Error as error:
            if not _is_pipecom_error(error):
                raise
            context, started = _finish_context()
            timed_out = started is not None and _timed_out(context, started)
            raise PipeError._from_error(error, context, timed_out) from None
    return wrapper


def _with_async_context(callback, context):
    """Wraps an asynchronous call's callback so that the _finish() it calls
    knows the call's context and when it began."""
    if callback is None:
        return None
    started = time.monotonic()

    @functools.wraps(callback)
    def wrapped(*args):
        stack = getattr(_async_calls, 'stack', None)
        if stack is None:
            stack = _async_calls.stack = []
        stack.append((context, started))
        try:
            return callback(*args)
        finally:
            stack.pop()
    return wrapped


def _call_context(pipe, message=None, timeout=0, max_attempts=0, *args,
                  **kwargs):
    if isinstance(pipe, Pipecom.Pipe):
        name, path = pipe.get_name(), pipe.get_path()
    else:
        name, path = pipe, None
    return {'pipe_name': name, 'path': path or _path_of(name),
            'timeout': timeout, 'max_attempts': max_attempts}


def _path_of(name):
    """The path of the pipe @name, as pipecom resolves it: a name with a
    "/" is a path, a simple name is in the per-user pipe directory."""
    if not isinstance(name, str) or not name:
        return None
    if os.name == 'nt':
        return '\\\\.\\pipe\\' + name
    if '/' in name:
        return os.path.abspath(name)
    return os.path.join(GLib.get_user_runtime_dir(), 'pipecom', name)


def _handler_failed(message, exc):
    """Answers @message with an error saying that the handler raised."""
    error = GLib.Error.new_literal(Pipecom.error_quark(),
                                   '%s: %s' % (type(exc).__name__, exc),
                                   Pipecom.Error.HANDLER_FAILED)
    if not message.get_replied():
        message.reply_error(error)


def _guard(handler):
    """Wraps a message-received handler so that an exception it raises is
    logged with its traceback and answered with an error at once. If it
    reached PyGObject instead, the traceback (kept in sys.last_traceback)
    would keep the message alive, and the sender would wait until its
    timeout."""
    def guarded(pipe, message, *args):
        try:
            reply = handler(pipe, message, *args)
            if _is_awaitable(reply):
                # An async def handler: its result is the reply, str or bytes
                _answer_later(pipe, message, reply, _raw_reply)
                return None
            return reply
        except Exception as exc:
            try:
                _log.error('The message-received handler of pipe %r raised:\n%s',
                           pipe.get_name(), traceback.format_exc())
            finally:
                _handler_failed(message, exc)
            return None

    guarded.__wrapped__ = handler
    return guarded


def _is_awaitable(value):
    return value is not None and hasattr(type(value), '__await__')


def _raw_reply(value):
    return value


def _str_reply(value):
    return None if value is None else str(value)


def _running_loop():
    """The asyncio loop running in this thread, or None."""
    asyncio = sys.modules.get('asyncio')
    if asyncio is None:
        return None         # nobody imported asyncio: no loop runs
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_background_loop_lock = threading.Lock()
_background = None


def _background_loop():
    """An asyncio loop of the process's own, running in a daemon thread:
    for the async def callbacks of pipes made where no loop runs."""
    global _background
    import asyncio
    import os
    with _background_loop_lock:
        if _background is None or _background[0] != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name='pipecom-asyncio',
                                      daemon=True)
            thread.start()
            _background = (os.getpid(), loop)
        return _background[1]


async def _await(awaitable):
    return await awaitable


def _answer_later(pipe, message, awaitable, convert):
    """Runs @awaitable, the result of an async def handler, on the asyncio
    loop of @pipe, and answers @message with its result (converted by
    @convert; None: no reply) or with its exception."""
    import asyncio
    loop = getattr(pipe, '_loop', None)
    if loop is None or loop.is_closed():
        loop = _background_loop()
    message.hold()
    name = pipe.get_name()
    # The only reference to the message: dropped once answered, so that a
    # message answered with no reply is acknowledged at once
    box = [message]
    del message

    def done_cb(future):
        message = box.pop()
        try:
            if future.cancelled():
                raise asyncio.CancelledError('the handler was cancelled')
            error = future.exception()
            if error is not None:
                raise error
            reply = convert(future.result())
            if reply is None:
                return      # acknowledged as the message goes away
            if isinstance(reply, str):
                message.reply(reply)
            elif isinstance(reply, GLib.Bytes):
                message.reply_bytes(reply)
            elif isinstance(reply, (bytes, bytearray, memoryview)):
                message.reply_bytes(GLib.Bytes.new(bytes(reply)))
            else:
                raise TypeError('a message-received handler must give str, bytes '
                                'or None, not %s' % type(reply).__name__)
        except BaseException as exc:  # noqa: BLE001 - the sender gets it
            _log.error('The async message-received handler of pipe %r raised:\n%s',
                       name, ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            if not message.get_replied():
                _handler_failed(message, exc)
        finally:
            del message

    if not asyncio.iscoroutine(awaitable):
        awaitable = _await(awaitable)
    asyncio.run_coroutine_threadsafe(awaitable, loop).add_done_callback(done_cb)


def _payload(message):
    """The payload of a PipecomMessage: str if UTF-8, else bytes."""
    text = message.get_text()
    if text is not None:
        return text
    return message.get_bytes().get_data()


# Pipes served in the background that the process must not leave running:
# at exit, daemon pipes are stopped (and their FIFOs removed) before Python
# goes away, so that no handler runs in a dying interpreter.
_live_pipes = weakref.WeakSet()

# Pipes made with daemon=False: the process waits for them to stop before it
# exits (see _wait_foreground_pipes()).
_foreground_pipes = set()
_foreground_lock = threading.Lock()

# How long a wait of the main thread blocks in C at most before Python gets
# a chance to run its signal handlers (Ctrl-C): a signal may be delivered to
# any thread, and only the main thread runs Python's handlers.
_SLICE = 0.05


def _wait_stopped(pipe, timeout=None):
    """Waits until @pipe stops listening, at most @timeout seconds.
    (pipecom_pipe_run() would listen again once the pipe stopped.)"""
    done = threading.Event()

    def stopped_cb(*args):
        done.set()

    # The pipe clears "listening" before it emits "stopped"
    handler_id = Pipecom.Pipe.connect(pipe, 'stopped', stopped_cb)
    try:
        return not pipe.get_listening() or _wait_event(done, timeout)
    finally:
        pipe.disconnect(handler_id)


def _wait_event(event, timeout=None):
    """event.wait(@timeout), in slices, so that Ctrl-C interrupts it."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = _SLICE if deadline is None else min(_SLICE, deadline - time.monotonic())
        if remaining <= 0:
            return event.is_set()
        if event.wait(remaining):
            return True


# How long the process waits at exit for its pipes' stops: a stop takes
# milliseconds, at most the library's 5 s grace period for the answers still
# due; the bound is for a handler that never returns.
_STOP_BOUND = 10


def _stop_and_wait(pipes, timeout):
    """Stops @pipes and waits until their stops are complete (FIFOs and lock
    files removed), at most @timeout seconds in all."""
    deadline = time.monotonic() + timeout
    for pipe in pipes:
        pipe.stop()
    for pipe in pipes:
        pipe.wait(max(0, deadline - time.monotonic()))


@atexit.register
def _stop_live_pipes():
    _stop_and_wait(list(_live_pipes), _STOP_BOUND)


def _wait_foreground_pipes():
    """Keeps the process alive, once its main thread is done, until every
    daemon=False pipe stopped. Ctrl-C (or an earlier KeyboardInterrupt that
    ends the program) stops them cleanly: their FIFOs are removed, nothing
    is left running."""
    if isinstance(getattr(sys, 'last_value', None), KeyboardInterrupt):
        # The program ends because of Ctrl-C: do not serve on
        with _foreground_lock:
            pipes = list(_foreground_pipes)
        _stop_and_wait(pipes, _STOP_BOUND)
        return
    try:
        while True:
            with _foreground_lock:
                pipes = list(_foreground_pipes)
            if not pipes:
                return
            for pipe in pipes:
                pipe.wait()
                with _foreground_lock:
                    _foreground_pipes.discard(pipe)
    except KeyboardInterrupt:
        with _foreground_lock:
            pipes = list(_foreground_pipes)
        _stop_and_wait(pipes, _STOP_BOUND)


# threading calls these before it waits for the non-daemon threads; a
# KeyboardInterrupt there would print "Exception ignored in: <module
# 'threading'>" and leave the pipes running while Python goes away.
_register_threading_atexit = getattr(threading, '_register_atexit', None)
if _register_threading_atexit is not None:
    _register_threading_atexit(_wait_foreground_pipes)


_MESSAGE_RECEIVED = ('message-received', 'message_received')
_AUTHORIZE = ('authorize',)


def _wants_credentials(callback):
    """Whether @callback declares a parameter named "credentials" that can
    be passed by keyword (decided once, when the pipe is made)."""
    import inspect
    try:
        parameter = inspect.signature(callback).parameters.get('credentials')
    except (TypeError, ValueError):
        return False    # no signature to read (some builtins): callback(message)
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _allowed_users(users):
    """@users (user names, and uids as int or str) as the strings of the
    "allowed-users" property; None stays None."""
    if users is None:
        return None
    if isinstance(users, (str, int)):
        raise TypeError('allowed_users must be a list of user names or uids, not %s'
                        % type(users).__name__)
    result = []
    for user in users:
        if isinstance(user, bool) or not isinstance(user, (str, int)):
            raise TypeError('allowed_users: a user name (str) or a uid (int), not %r' % (user,))
        result.append(str(user))
    return result


def _allowed_users_option(kwargs):
    """@kwargs, GObject properties, with allowed_users made strings."""
    for key in ('allowed_users', 'allowed-users'):
        if key in kwargs:
            kwargs = dict(kwargs)
            kwargs[key] = _allowed_users(kwargs[key])
    return kwargs


def _guard_authorize(handler):
    """Wraps an authorize handler so that an exception it raises is logged
    with its traceback and refuses the connection (as returning False
    does): a handler that fails does not let a sender in."""
    def guarded(pipe, credentials, *args):
        try:
            return bool(handler(pipe, credentials, *args))
        except Exception:
            _log.error('The authorize handler of pipe %r raised (the connection is refused):\n%s',
                       pipe.get_name(), traceback.format_exc())
            return False

    guarded.__wrapped__ = handler
    return guarded


class Pipe(Pipecom.Pipe):
    """A listener on a named pipe.

    ``Pipe(pipe_name, callback=None, timeout=0, max_messages=0,
    die_code="PIPECOM_DIE", daemon=True, response_pipe_name=None,
    buffer_size=4096, *, threaded=True, main_context=None,
    allowed_users=None)`` makes a pipe in the manner of the original
    library: ``callback(message)`` gets each message as ``str`` (``bytes``
    if it is not UTF-8); what it returns, converted with ``str()``, is the
    reply, and ``None`` gives none.

    Who sent it (new in PipeCom): if the callback declares a parameter
    named ``credentials`` (``def callback(message, credentials=None)``,
    ``async def`` callbacks too; decided once, when the pipe is made), it
    is called as ``callback(message, credentials=creds)``, ``creds`` being
    the sender's :class:`Gio.Credentials` (``Message.get_credentials()``),
    or ``None`` where the system gives none. On Unix its uid
    (``creds.get_unix_user()``) is always the sender's, checked by the
    kernel; its pid (``creds.get_unix_pid()``) only when the listener
    verified it, else -1 (``Message.get_sender_verified()`` says which).
    Other callbacks are called as ``callback(message)``, as before.

    Refusing senders: ``allowed_users=["alice", 1001]`` (user names or
    uids; the ``allowed-users`` property; resolved when the pipe starts
    listening, and the pipe's own user is always allowed) refuses the other
    users' connections, and an ``authorize`` handler,
    ``pipe.connect("authorize", lambda pipe, credentials: ...)``, is asked
    once per connection, with its :class:`Gio.Credentials` (``None`` if
    the sender is unknown): returning ``False`` (or raising) refuses it. A
    refused sender gets ``PipeError`` ``PERMISSION_DENIED``, and its
    messages never reach the callback.

    Threads: :meth:`listen` serves in a Python thread of the pipe's own, so
    a script needs no main loop, and **the callback runs in that thread**,
    not in the one that called :meth:`listen`. A GUI program (GTK) must not
    touch its widgets there: it passes ``main_context=GLib.MainContext.default()``
    (or ``threaded=False``, for the thread-default main context of the
    thread that calls :meth:`listen`), and the pipe then serves, and calls
    the callback, in that main context, which the program's main loop runs.

    asyncio: the callback may be an ``async def``; it then runs on the
    asyncio loop that was running when the pipe was made (else the one
    running when it starts listening, else a loop of the process's own, in
    a thread), and the value it returns is the reply. (A raw
    ``message-received`` handler may be ``async def`` as well, its result,
    str or bytes, being the reply.) For the sending side, see
    ``pipecom.aio``: ``await arequest()``, ``await asend()``, ``Client``.

    With ``daemon=False`` the process stays alive until the pipe stops (and
    Ctrl-C stops it cleanly, its FIFO removed); with ``daemon=True`` the pipe
    is stopped when the process exits. (A pipe that serves in a main context
    lives as long as the program runs that context's loop.)

    An exception raised by the callback, or by any ``message-received``
    handler, is logged with its traceback and the sender gets a
    ``Pipecom.Error.HANDLER_FAILED`` error.

    Called with GObject properties only, ``Pipe(name="my_pipe", ...)``, it
    is the plain introspected constructor (``threaded=True`` there serves in
    a thread that the library makes: the handlers of a Python program are
    faster in the pipe's Python thread, which the original-style constructor
    gives).
    """

    _ORIGINAL_OPTIONS = (
        ('timeout', 0),
        ('max_messages', 0),
        ('die_code', Pipecom.DEFAULT_DIE_CODE),
        ('daemon', True),
        ('response_pipe_name', None),
        ('buffer_size', 4096),
    )

    # Defaults for pipes that __init__() did not make (Pipecom.Pipe.new())
    _daemon = True
    _waiter = None
    _server = None
    _served = None
    _serve_in_thread = False
    _main_context = None
    _loop = None

    def __init__(self, pipe_name=None, callback=None, *args, **kwargs):
        if pipe_name is None:
            # The plain GObject constructor: properties only
            if callback is not None or args:
                raise TypeError('Pipe() needs a pipe_name, or GObject properties only')
            Pipecom.Pipe.__init__(self, **_allowed_users_option(kwargs))
            return

        if not isinstance(pipe_name, str):
            raise TypeError('pipe_name must be a str, not %s'
                            % type(pipe_name).__name__)
        if callback is not None and not callable(callback):
            raise TypeError('callback must be callable')
        if len(args) > len(self._ORIGINAL_OPTIONS):
            raise TypeError('Pipe() takes at most %d positional arguments'
                            % (2 + len(self._ORIGINAL_OPTIONS)))
        options = dict(self._ORIGINAL_OPTIONS)
        for (key, _), value in zip(self._ORIGINAL_OPTIONS, args):
            options[key] = value
        for key in options:
            if key in kwargs:
                options[key] = kwargs.pop(key)
        self._daemon = bool(options.pop('daemon'))
        main_context = kwargs.pop('main_context', None)
        if main_context is not None and not isinstance(main_context, GLib.MainContext):
            raise TypeError('main_context must be a GLib.MainContext')
        threaded = bool(kwargs.pop('threaded', main_context is None))
        if threaded and main_context is not None:
            raise TypeError('Pipe(): threaded=True and a main_context exclude each other')
        self._serve_in_thread = threaded
        self._main_context = main_context
        # Other keywords are GObject properties (max_message_size, ...).
        # The library's own "threaded" mode is not used: a callback called
        # in a thread that Python does not know costs a Python thread state
        # made and dropped per message; the pipe serves in a Python thread
        # instead (see listen()).
        Pipecom.Pipe.__init__(self, name=pipe_name, threaded=False, **options,
                              **_allowed_users_option(kwargs))
        # The loop of async def callbacks: the one running now, else the one
        # running when the pipe starts listening
        self._loop = _running_loop()
        if callback is not None:
            # Not through _guard(): this handler is on every message's path,
            # and does the same itself
            Pipecom.Pipe.connect(self, 'message-received',
                                 self._callback_handler(callback, _wants_credentials(callback)))

    @staticmethod
    def _callback_handler(callback, credentials=False):
        """The message-received handler that calls @callback, as
        callback(payload), or callback(payload, credentials=...) if
        @credentials. It is on the path of every message, between the
        listener's wake-up and its answer: a closure (no user data for
        PyGObject to append to the arguments), and the methods it calls
        looked up once."""
        get_text = Pipecom.Message.get_text
        get_credentials = Pipecom.Message.get_credentials if credentials else None

        def callback_cb(pipe, message):
            try:
                text = get_text(message)
                payload = text if text is not None else message.get_bytes().get_data()
                if credentials:
                    reply = callback(payload, credentials=get_credentials(message))
                else:
                    reply = callback(payload)
                if reply is None or type(reply) is str:
                    return reply
                if hasattr(type(reply), '__await__'):
                    # An async def callback: it runs on the pipe's asyncio loop
                    _answer_later(pipe, message, reply, _str_reply)
                    return None
                return str(reply)
            except Exception as exc:
                try:
                    _log.error('The callback of pipe %r raised:\n%s',
                               pipe.get_name(), traceback.format_exc())
                finally:
                    _handler_failed(message, exc)
                return None
        return callback_cb

    def connect(self, signal, handler, *args):
        if signal in _MESSAGE_RECEIVED:
            handler = _guard(handler)
        elif signal in _AUTHORIZE:
            handler = _guard_authorize(handler)
        return super().connect(signal, handler, *args)

    def connect_after(self, signal, handler, *args):
        if signal in _MESSAGE_RECEIVED:
            handler = _guard(handler)
        elif signal in _AUTHORIZE:
            handler = _guard_authorize(handler)
        return super().connect_after(signal, handler, *args)

    def set_allowed_users(self, users):
        """Sets the ``allowed-users`` property: user names (str) or uids
        (int or str), or None for everyone."""
        Pipecom.Pipe.set_allowed_users(self, _allowed_users(users))

    @property
    def pipe_name(self):
        """The pipe's name, as given to the constructor."""
        return self.get_name()

    @property
    def daemon(self):
        """Whether the process may exit while the pipe listens."""
        return self._daemon

    def get_threaded(self):
        """Whether the pipe serves in a thread of its own: a Python thread
        for the original-style constructor, else the library's (the
        ``threaded`` property)."""
        return self._serve_in_thread or Pipecom.Pipe.get_threaded(self)

    def _context(self):
        return {'pipe_name': self.get_name(),
                'path': self.get_path() or _path_of(self.get_name()),
                'timeout': self.get_timeout()}

    @_raising_pipe_error(lambda self: self._context())
    def listen(self):
        """Starts listening. A pipe made with the original-style
        constructor serves in a thread of its own (or in its
        ``main_context``); otherwise the pipe serves in the thread-default
        main context, as pipecom_pipe_listen() does.

        Raises PipeError if the pipe cannot listen."""
        if self._loop is None or self._loop.is_closed():
            self._loop = _running_loop()
        if self._serve_in_thread:
            self._listen_in_thread()
        elif self._main_context is not None:
            self._listen_in_context(self._main_context)
        else:
            Pipecom.Pipe.listen(self)
        if self.get_threaded():
            if self._daemon:
                _live_pipes.add(self)
            elif self._server is not None:
                with _foreground_lock:
                    _foreground_pipes.add(self)
            elif self._waiter is None or not self._waiter.is_alive():
                # A non-daemon thread keeps the process alive until the pipe
                # stops.
                self._waiter = threading.Thread(target=self._wait,
                                                name='pipecom:' + self.get_name(),
                                                daemon=False)
                self._waiter.start()
        return True

    @_raising_pipe_error(lambda self: self._context())
    def run(self):
        """Listens and serves until the pipe stops (pipecom_pipe_run()).
        Raises PipeError if the pipe cannot listen."""
        # In the main thread, Ctrl-C stops the pipe, gracefully, then
        # raises KeyboardInterrupt
        return _on_sigint(self.stop, Pipecom.Pipe.run, self)

    def _listen_in_context(self, context):
        # pipecom_pipe_listen() serves in the thread-default main context
        if not context.acquire():
            raise RuntimeError('Pipe.listen(): the main_context of pipe %r is run by '
                               'another thread: call listen() in that thread'
                               % self.get_name())
        context.push_thread_default()
        try:
            Pipecom.Pipe.listen(self)
        finally:
            context.pop_thread_default()
            context.release()

    def _listen_in_thread(self):
        if self.get_listening() and self._served is not None and not self._served.is_set():
            return
        if self._server is not None:
            # Stopped: its thread returns at once, if it has not yet
            _wait_event(self._served)
            self._server.join()
        context = GLib.MainContext.new()
        self._listen_in_context(context)
        # A daemon thread even for daemon=False pipes: the process waits for
        # those in _wait_foreground_pipes(), where Ctrl-C stops them cleanly.
        daemon = self._daemon or _register_threading_atexit is not None
        # Set by the thread once it served: wait() waits for it, not for the
        # thread's end. A Thread.join() that KeyboardInterrupt interrupts
        # marks the thread ended while it runs on (CPython 3.11 does), so the
        # process would exit before the thread ran the stop, leaving the FIFO.
        self._served = threading.Event()
        self._server = threading.Thread(target=self._serve, args=(context, self._served),
                                        name='pipecom:' + self.get_name(),
                                        daemon=daemon)
        self._server.start()

    def _serve(self, context, served):
        context.push_thread_default()
        try:
            # Iterates the pipe's context until the pipe stops. Nothing can
            # stop the pipe before: stopping happens in this context.
            if self.get_listening():
                Pipecom.Pipe.run(self)
        except GLib.Error as error:
            _log.warning('Pipe %r stopped on an error: %s', self.get_name(), error.message)
        finally:
            context.pop_thread_default()
            with _foreground_lock:
                _foreground_pipes.discard(self)
            # The stop is complete (FIFO and lock file removed)
            served.set()

    def _wait(self):
        _wait_stopped(self)

    def wait(self, timeout=None):
        """Waits until a pipe serving in another thread (or in a main loop
        that another thread runs) stops, at most @timeout seconds (None: no
        limit). Returns True if it stopped. Ctrl-C interrupts the wait."""
        server = self._server
        if server is not None and server is not threading.current_thread():
            if not _wait_event(self._served, timeout):
                return False
            # Returns at once: it is done serving
            server.join()
            return True
        return _wait_stopped(self, timeout)


Pipe = override(Pipe)
__all__.append('Pipe')


def _pipe_name(pipe):
    if isinstance(pipe, Pipecom.Pipe):
        # The path reaches the pipe whatever XDG_RUNTIME_DIR the caller has
        return pipe.get_path() or pipe.get_name()
    if isinstance(pipe, str):
        return pipe
    raise TypeError('pipe must be a pipe name or a Pipecom.Pipe, not %s'
                    % type(pipe).__name__)


def _bytes(message):
    if isinstance(message, GLib.Bytes):
        return message
    return GLib.Bytes.new(bytes(message))


# Python runs its signal handlers in the main thread only (and never while a
# C call blocks): the blocking calls made there let Ctrl-C through.
_MAIN_THREAD = threading.main_thread().ident
_get_ident = threading.get_ident
_monotonic = time.monotonic


class _SigintWatch:
    """Turns Ctrl-C into an action of our own while the main thread blocks
    in C, where Python cannot run its SIGINT handler: Python's C-level
    handler writes the signal's number to the wakeup fd
    (signal.set_wakeup_fd()), and a thread of ours, blocked reading it, runs
    the action (cancelling the call's GCancellable, or stopping the pipe).
    The C call then returns, and Python's handler raises KeyboardInterrupt
    as usual."""

    def __init__(self):
        import socket
        self._lock = threading.Lock()
        self._action = None
        self._fired = False
        self._excepthook = None
        self._checked = -1.0
        self._read, self._write = socket.socketpair()
        self._read.setblocking(True)
        self._write.setblocking(False)
        self._fd = self._write.fileno()
        threading.Thread(target=self._watch, name='pipecom-sigint', daemon=True).start()

    def _watch(self):
        while True:
            data = self._read.recv(64)
            if not data:
                return
            if (signal.SIGINT not in data or
                    signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
                continue
            with self._lock:
                action = self._action
                if action is None or self._fired:
                    continue
                self._fired = True
                # PyGObject prints (with sys.excepthook) a KeyboardInterrupt
                # that meets its making of the call's error, then raises
                # RuntimeError: run() raises the KeyboardInterrupt instead
                self._excepthook = sys.excepthook
                sys.excepthook = self._quiet_excepthook
            action()

    def _quiet_excepthook(self, kind, value, traceback):
        if not issubclass(kind, KeyboardInterrupt):
            (self._excepthook or sys.__excepthook__)(kind, value, traceback)

    def run(self, action, call, *args, cancellable=None):
        """Returns call(*args), during which Ctrl-C runs action() (from
        another thread), then resets @cancellable if it did. Just
        call(*args) if Python's wakeup fd is another's (an asyncio loop
        runs in this thread)."""
        return self.call(action, call, args, cancellable, _monotonic())

    def call(self, action, call, args, cancellable, now):
        """run(action, call, *args, cancellable=cancellable), @now being
        the time.monotonic() of the call's start."""
        # Ours stays set between calls (Python writes there the signals it
        # handles; _watch() acts on SIGINT only), and is checked again at
        # most every 100 ms: setting it costs a system call
        if now - self._checked > 0.1:
            try:
                previous = signal.set_wakeup_fd(self._fd, warn_on_full_buffer=False)
            except ValueError:
                return call(*args)
            if previous not in (-1, self._fd):
                # An asyncio loop's: leave it alone
                signal.set_wakeup_fd(previous)
                return call(*args)
            self._checked = now
        self._action = action
        try:
            return call(*args)
        except RuntimeError:
            if not self._fired:
                raise
            # PyGObject met the KeyboardInterrupt making the call's error
            raise KeyboardInterrupt from None
        except GLib.Error:
            if not self._fired:
                raise
            # The call was cancelled: Python's handler is due, let it raise
            try:
                _run_signal_handlers()
            except KeyboardInterrupt as interrupt:
                raise interrupt from None
            raise
        finally:
            with self._lock:
                self._action = None
                fired = self._fired
                if fired:
                    sys.excepthook = self._excepthook
                    self._excepthook = None
                    self._fired = False
            if fired and cancellable is not None:
                cancellable.reset()


def _run_signal_handlers():
    """Python runs the signal handlers due when a function starts."""
    pass


_sigint_watch = None
_sigint_watch_lock = threading.Lock()


def _sigint_watch_get():
    global _sigint_watch
    if _sigint_watch is None:
        with _sigint_watch_lock:
            if _sigint_watch is None:
                _sigint_watch = _SigintWatch()
    return _sigint_watch


def _on_sigint(action, call, *args):
    """call(*args); in the main thread, Ctrl-C runs action() meanwhile (see
    _SigintWatch)."""
    if threading.get_ident() != _MAIN_THREAD:
        return call(*args)
    return _sigint_watch_get().run(action, call, *args)


def _cancelled_by_sigint(call, *args):
    """call(*args), a synchronous PipeCom call, which Ctrl-C interrupts at
    any point: it cancels the call's current GCancellable
    (g_cancellable_push_current(), which the library's synchronous calls
    honour), and the call returns (G_IO_ERROR_CANCELLED) before Python
    raises KeyboardInterrupt."""
    if threading.get_ident() != _MAIN_THREAD:
        return call(*args)
    cancellable = _main_thread_cancellable()
    cancellable.push_current()
    try:
        return _sigint_watch_get().run(_main_cancel, call, *args, cancellable=cancellable)
    finally:
        cancellable.pop_current()


_main_cancellable = None
_main_cancel = None


def _main_thread_cancellable():
    """The main thread's cancellable for its blocking calls, reset after
    each that Ctrl-C cancelled. Its file descriptor stays open, so that the
    calls that poll it do not make and close one each."""
    global _main_cancellable, _main_cancel
    if _main_cancellable is None:
        _main_cancellable = Gio.Cancellable.new()
        _main_cancellable.get_fd()
        _main_cancel = _main_cancellable.cancel
    return _main_cancellable


def _oneshot(call, name, message, timeout, max_attempts):
    """A blocking one-shot call, call(name, message, timeout, max_attempts),
    which Ctrl-C interrupts in the main thread, whether it waits for a
    listener (the message is then not delivered) or for the answer of one
    that took the message."""
    return _cancelled_by_sigint(call, name, message, timeout, max_attempts)


@_raising_pipe_error(_call_context)
def send(pipe, message, timeout=0, max_attempts=0):
    """Sends @message (str or bytes) to @pipe (a name, a path or a
    Pipecom.Pipe) and returns True once the listener's handler has run.

    @timeout is the whole call's budget in seconds (0: none);
    @max_attempts bounds the connection attempts (0: unlimited).
    Raises PipeError on failure (error_code "TIMEOUT" if no listener was
    reached within @timeout). In the main thread, Ctrl-C interrupts the call
    (KeyboardInterrupt): while it waits for a listener, the message is then
    not delivered; once a listener took it, its handler may still run."""
    name = _pipe_name(pipe)
    if isinstance(message, str):
        return _oneshot(Pipecom.send, name, message, timeout, max_attempts)
    if isinstance(message, (bytes, bytearray, memoryview, GLib.Bytes)):
        return _oneshot(Pipecom.send_bytes, name, _bytes(message), timeout, max_attempts)
    raise TypeError('message must be str or bytes, not %s'
                    % type(message).__name__)


__all__.append('send')


@_raising_pipe_error(_call_context)
def request(pipe, message, timeout=0, max_attempts=0):
    """Like send(), and returns the handler's reply: str for a str
    @message, bytes for a bytes @message, or None if the handler gave no
    reply. Raises PipeError on failure; in the main thread, Ctrl-C
    interrupts the call (KeyboardInterrupt), as for send()."""
    name = _pipe_name(pipe)
    if isinstance(message, str):
        return _oneshot(Pipecom.request, name, message, timeout, max_attempts)
    if isinstance(message, (bytes, bytearray, memoryview, GLib.Bytes)):
        reply = _oneshot(Pipecom.request_bytes, name, _bytes(message), timeout, max_attempts)
        return None if reply is None else reply.get_data()
    raise TypeError('message must be str or bytes, not %s'
                    % type(message).__name__)


__all__.append('request')


# The rest of the introspected calls, unchanged but for their errors

def _wrap_sync(name):
    func = getattr(Pipecom, name)
    wrapper = _raising_pipe_error(_call_context)(func)
    wrapper.__module__ = __name__
    globals()[name] = wrapper
    __all__.append(name)


def _wrap_async(name):
    func = getattr(Pipecom, name)

    @functools.wraps(func)
    def wrapper(pipe_name, message, timeout, max_attempts, cancellable=None,
                callback=None, *user_data):
        context = _call_context(pipe_name, message, timeout, max_attempts)
        return func(pipe_name, message, timeout, max_attempts, cancellable,
                    _with_async_context(callback, context), *user_data)
    wrapper.__module__ = __name__
    globals()[name] = wrapper
    __all__.append(name)


def _wrap_finish(name):
    wrapper = _raising_pipe_error_at_finish(getattr(Pipecom, name))
    wrapper.__module__ = __name__
    globals()[name] = wrapper
    __all__.append(name)


for _name in ('send_bytes', 'request_bytes'):
    _wrap_sync(_name)
for _name in ('send', 'send_bytes', 'request', 'request_bytes'):
    _wrap_async(_name + '_async')
    _wrap_finish(_name + '_finish')
del _name


def _client_context(self, *args, **kwargs):
    return {'pipe_name': self.get_pipe_name(),
            'path': _path_of(self.get_pipe_name()),
            'timeout': self.get_timeout(),
            'max_attempts': self.get_max_attempts()}


class Client(Pipecom.Client):
    """A connection to a listener (PipecomClient), whose calls raise
    PipeError."""


def _client_async(func, callback_position):
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        args = list(args)
        if len(args) > callback_position:
            args[callback_position] = _with_async_context(
                args[callback_position], _client_context(self))
        elif 'callback' in kwargs:
            kwargs['callback'] = _with_async_context(kwargs['callback'],
                                                     _client_context(self))
        return func(self, *args, **kwargs)
    return wrapper


# name: position of the callback among the _async() call's arguments
def _positional(args, kwargs, position):
    """Moves a cancellable= keyword (the argument at @position) among @args."""
    kwargs = dict(kwargs)
    if 'cancellable' in kwargs and len(args) == position:
        args = args + (kwargs.pop('cancellable'),)
    return args, kwargs


def _client_sync(func, position):
    """A synchronous call of the client, func(self, [message,] cancellable),
    @position being the cancellable's among the arguments after self, which
    raises PipeError, and which Ctrl-C interrupts at any point in the main
    thread (through a cancellable of ours when the caller passed none).

    It is on the path of every message of a client: one Python frame around
    the call (and the Ctrl-C guard's), not a decorator's frame per concern.
    A round trip waits for two wake-ups of a process (the listener's, then
    the caller's), and what runs between a wake-up and the next write
    delays the round trip, whatever the cores do meanwhile."""
    def wrapper(self, *args, **kwargs):
        started = _monotonic()
        try:
            if kwargs:
                args, kwargs = _positional(args, kwargs, position)
            if kwargs or _get_ident() != _MAIN_THREAD:
                return func(self, *args, **kwargs)
            given = args[position] if len(args) > position else None
            watch = _sigint_watch if _sigint_watch is not None else _sigint_watch_get()
            if given is not None:
                return watch.call(given.cancel, func, (self,) + args, None, started)
            cancellable = (_main_cancellable if _main_cancellable is not None
                           else _main_thread_cancellable())
            if position == 1 and len(args) <= 2:
                args = (self, args[0], cancellable) if args else (self, cancellable)
            else:
                args = (self,) + args[:position] + (cancellable,) + args[position + 1:]
            return watch.call(_main_cancel, func, args, cancellable, started)
        except GLib.Error as error:
            if not _is_pipecom_error(error):
                raise
            context = _client_context(self)
            raise PipeError._from_error(
                error, context, _timed_out(context, started)) from None
    return functools.wraps(func)(wrapper)


for _name, _position in (('connect', 1), ('send', 2), ('send_bytes', 2),
                         ('request', 2), ('request_bytes', 2)):
    setattr(Client, _name, _client_sync(getattr(Pipecom.Client, _name), _position - 1))
    setattr(Client, _name + '_async', _client_async(
        getattr(Pipecom.Client, _name + '_async'), _position))
    setattr(Client, _name + '_finish', _raising_pipe_error_at_finish(
        getattr(Pipecom.Client, _name + '_finish')))
del _name, _position

Client = override(Client)
__all__.append('Client')
