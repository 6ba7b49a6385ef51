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
    pipe.listen()                   # serves in the background

    Pipecom.send("my_pipe", "Hello, World!", timeout=5, max_attempts=3)

Everything of the plain introspected API stays usable: ``Pipecom.Pipe``
built with GObject properties only (``Pipecom.Pipe(name="my_pipe")``) is a
plain pipe, and ``Pipecom.send(name, text, timeout, max_attempts)`` with
positional arguments works as before.
"""

import atexit
import logging
import threading
import traceback
import weakref

from gi.repository import GLib

from ..module import get_introspection_module
from ..overrides import override

Pipecom = get_introspection_module('Pipecom')

__all__ = []

_log = logging.getLogger('Pipecom')

#: The exception raised by PipeCom calls: a :class:`GLib.Error` in the
#: ``Pipecom.error_quark()`` domain (``Pipecom.Error.TIMEOUT``, ...) or, on
#: cancellation, in the ``Gio.io_error_quark()`` domain.
PipeError = GLib.Error
__all__.append('PipeError')


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
            return handler(pipe, message, *args)
        except Exception as exc:
            try:
                _log.error('The message-received handler of pipe %r raised:\n%s',
                           pipe.get_name(), traceback.format_exc())
            finally:
                _handler_failed(message, exc)
            return None

    guarded.__wrapped__ = handler
    return guarded


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


def _wait_stopped(pipe, timeout=None):
    """Waits until @pipe stops listening, at most @timeout seconds.
    (pipecom_pipe_run() would listen again once the pipe stopped.)"""
    done = threading.Event()

    def stopped_cb(*args):
        done.set()

    # The pipe clears "listening" before it emits "stopped"
    handler_id = Pipecom.Pipe.connect(pipe, 'stopped', stopped_cb)
    try:
        return not pipe.get_listening() or done.wait(timeout)
    finally:
        pipe.disconnect(handler_id)


@atexit.register
def _stop_live_pipes():
    for pipe in list(_live_pipes):
        pipe.stop()
        _wait_stopped(pipe, 10)


_MESSAGE_RECEIVED = ('message-received', 'message_received')


class Pipe(Pipecom.Pipe):
    """A listener on a named pipe.

    ``Pipe(pipe_name, callback=None, timeout=0, max_messages=0,
    die_code="PIPECOM_DIE", daemon=True, response_pipe_name=None,
    buffer_size=4096)`` makes a pipe in the manner of the original library:
    ``callback(message)`` gets each message as ``str`` (``bytes`` if it is
    not UTF-8); what it returns, converted with ``str()``, is the reply, and
    ``None`` gives none. :meth:`listen` serves in a thread of the pipe's own
    (the ``threaded`` property), so a script needs no main loop. With
    ``daemon=False`` the process stays alive until the pipe stops; with
    ``daemon=True`` the pipe is stopped when the process exits.

    An exception raised by the callback, or by any ``message-received``
    handler, is logged with its traceback and the sender gets a
    ``Pipecom.Error.HANDLER_FAILED`` error.

    Called with GObject properties only, ``Pipe(name="my_pipe", ...)``, it
    is the plain introspected constructor.
    """

    _ORIGINAL_OPTIONS = (
        ('timeout', 0),
        ('max_messages', 0),
        ('die_code', Pipecom.DEFAULT_DIE_CODE),
        ('daemon', True),
        ('response_pipe_name', None),
        ('buffer_size', 4096),
    )

    def __init__(self, pipe_name=None, callback=None, *args, **kwargs):
        self._waiter = None
        if pipe_name is None:
            # The plain GObject constructor: properties only
            if callback is not None or args:
                raise TypeError('Pipe() needs a pipe_name, or GObject properties only')
            self._daemon = True
            Pipecom.Pipe.__init__(self, **kwargs)
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
        # Other keywords are GObject properties (max_message_size, ...)
        kwargs.setdefault('threaded', True)
        Pipecom.Pipe.__init__(self, name=pipe_name, **options, **kwargs)
        if callback is not None:
            self.connect('message-received', self._callback_cb, callback)

    @staticmethod
    def _callback_cb(pipe, message, callback):
        reply = callback(_payload(message))
        return None if reply is None else str(reply)

    def connect(self, signal, handler, *args):
        if signal in _MESSAGE_RECEIVED:
            handler = _guard(handler)
        return super().connect(signal, handler, *args)

    def connect_after(self, signal, handler, *args):
        if signal in _MESSAGE_RECEIVED:
            handler = _guard(handler)
        return super().connect_after(signal, handler, *args)

    @property
    def pipe_name(self):
        """The pipe's name, as given to the constructor."""
        return self.get_name()

    @property
    def daemon(self):
        """Whether the process may exit while the pipe listens."""
        return self._daemon

    def listen(self):
        """Starts listening. A pipe made with the original-style
        constructor serves in the background; otherwise the pipe serves in
        the thread-default main context, as pipecom_pipe_listen() does.

        Raises GLib.Error (PipeError) if the pipe cannot listen."""
        Pipecom.Pipe.listen(self)
        if self.get_threaded():
            if self._daemon:
                _live_pipes.add(self)
            elif self._waiter is None or not self._waiter.is_alive():
                # A non-daemon thread keeps the process alive until the pipe
                # stops.
                self._waiter = threading.Thread(target=self._wait,
                                                name='pipecom:' + self.get_name(),
                                                daemon=False)
                self._waiter.start()
        return True

    def _wait(self):
        _wait_stopped(self)

    def wait(self, timeout=None):
        """Waits until a pipe serving in another thread (or in a main loop
        that another thread runs) stops, at most @timeout seconds (None: no
        limit). Returns True if it stopped."""
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


def send(pipe, message, timeout=0, max_attempts=0):
    """Sends @message (str or bytes) to @pipe (a name, a path or a
    Pipecom.Pipe) and returns True once the listener's handler has run.

    @timeout is the whole call's budget in seconds (0: none);
    @max_attempts bounds the connection attempts (0: unlimited).
    Raises GLib.Error (PipeError) on failure."""
    name = _pipe_name(pipe)
    if isinstance(message, str):
        return Pipecom.send(name, message, timeout, max_attempts)
    if isinstance(message, (bytes, bytearray, memoryview, GLib.Bytes)):
        return Pipecom.send_bytes(name, _bytes(message), timeout, max_attempts)
    raise TypeError('message must be str or bytes, not %s'
                    % type(message).__name__)


__all__.append('send')


def request(pipe, message, timeout=0, max_attempts=0):
    """Like send(), and returns the handler's reply: str for a str
    @message, bytes for a bytes @message, or None if the handler gave no
    reply. Raises GLib.Error (PipeError) on failure."""
    name = _pipe_name(pipe)
    if isinstance(message, str):
        return Pipecom.request(name, message, timeout, max_attempts)
    if isinstance(message, (bytes, bytearray, memoryview, GLib.Bytes)):
        reply = Pipecom.request_bytes(name, _bytes(message), timeout,
                                      max_attempts)
        return None if reply is None else reply.get_data()
    raise TypeError('message must be str or bytes, not %s'
                    % type(message).__name__)


__all__.append('request')
