# aio.py: PipeCom for asyncio programs, with no GLib main loop
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

"""PipeCom for asyncio, with no GLib main loop to run.

::

    import asyncio
    from pipecom import aio

    async def main():
        reply = await aio.arequest("task_queue", "job 1", timeout=10)
        await aio.asend("task_queue", "job 2")
        async with aio.Client("task_queue", timeout=10) as client:
            print(await client.request("job 3"))

    asyncio.run(main())

How it works: the library's ``*_async()`` calls complete in the GLib main
context that was the thread-default one when they started. This module keeps
one such context per process, iterated by a helper thread of its own
(``pipecom-aio``): the calls are started there, and their results handed to
the asyncio loop that awaits them (``loop.call_soon_threadsafe()``). No
thread is taken per call, so any number of calls may wait at once.

Cancelling the awaiting task (``task.cancel()``, ``asyncio.wait_for()``,
``asyncio.timeout()``) cancels the call through a ``Gio.Cancellable``; the
``CancelledError`` is raised once the call has ended, so a cancelled send
is never delivered later. A ``cancellable`` of the caller's may be passed:
the call uses it (and asyncio cancellation cancels it), and cancelling it
fails the call with ``Gio.IOErrorEnum.CANCELLED``.

Listeners: ``Pipecom.Pipe(name, callback)`` (the PyGObject overrides)
accepts an ``async def`` callback. It runs on the asyncio loop that was
running when the pipe was made (or when it started listening), and the value
it returns is the reply, as for a plain callback.

Errors are those of the blocking calls: ``PipeError`` (a ``GLib.Error`` of
the Pipecom domain, with the original library's ``error_code`` and
``context``: the overrides raise it from every ``_finish()``), or a
``GLib.Error`` ``Gio.IOErrorEnum.CANCELLED`` when a caller's own cancellable
was cancelled.
"""

import asyncio
import atexit
import os
import threading

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Pipecom', '1.0')
from gi.repository import Gio, GLib, Pipecom  # noqa: E402

__all__ = ['arequest', 'asend', 'Client']


class _Bridge:
    """A GLib main context of its own, iterated by a helper thread: the
    async calls start and complete there."""

    def __init__(self):
        self.pid = os.getpid()
        self.context = GLib.MainContext.new()
        self._quit = False
        self._thread = threading.Thread(target=self._run, name='pipecom-aio', daemon=True)
        self._thread.start()

    def _run(self):
        context = self.context
        context.push_thread_default()
        try:
            while not self._quit:
                context.iteration(True)
        finally:
            context.pop_thread_default()

    def call(self, func, *args):
        """Calls func(*args) in the helper thread, soon."""
        def invoked(*unused):
            func(*args)
            return GLib.SOURCE_REMOVE
        self.context.invoke_full(GLib.PRIORITY_DEFAULT, invoked)

    def stop(self):
        self._quit = True
        self.context.wakeup()
        self._thread.join(5)


_bridge_lock = threading.Lock()
_the_bridge = None


def _bridge():
    global _the_bridge
    bridge = _the_bridge
    if bridge is not None and bridge.pid == os.getpid():
        return bridge
    with _bridge_lock:
        # A child made by fork() has no helper thread: it makes its own
        if _the_bridge is None or _the_bridge.pid != os.getpid():
            _the_bridge = _Bridge()
        return _the_bridge


@atexit.register
def _stop_bridge():
    bridge = _the_bridge
    if bridge is not None and bridge.pid == os.getpid():
        bridge.stop()


def _settle(future, value, error):
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


async def _call(start, finish, cancellable=None):
    """Runs an async call of the library: start(cancellable, callback) in
    the helper thread, then finish(result) there; returns its value."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    # The call's cancellable: the caller's, if given (asyncio cancellation
    # cancels it then)
    own = cancellable if cancellable is not None else Gio.Cancellable.new()

    def ready_cb(source, result, *unused):
        value = error = None
        try:
            value = finish(result)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
        try:
            loop.call_soon_threadsafe(_settle, done, value, error)
        except RuntimeError:
            pass  # the loop was closed: nobody awaits the result

    def begin():
        try:
            start(own, ready_cb)
        except BaseException as exc:  # noqa: BLE001
            try:
                loop.call_soon_threadsafe(_settle, done, None, exc)
            except RuntimeError:
                pass

    _bridge().call(begin)
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        # Cancel the call and wait until it has ended, so that it does not
        # go on (and deliver the message) after the task stopped
        own.cancel()
        try:
            await done
        except BaseException:  # noqa: BLE001 - the call's error, or another cancel
            pass
        raise


def _is_bytes(message):
    return isinstance(message, (bytes, bytearray, memoryview, GLib.Bytes))


def _to_bytes(message):
    if isinstance(message, GLib.Bytes):
        return message
    return GLib.Bytes.new(bytes(message))


def _check(message):
    if not isinstance(message, str) and not _is_bytes(message):
        raise TypeError('message must be str or bytes, not %s' % type(message).__name__)


def _name(pipe):
    if isinstance(pipe, Pipecom.Pipe):
        return pipe.get_path() or pipe.get_name()
    if isinstance(pipe, str):
        return pipe
    raise TypeError('pipe must be a pipe name or a Pipecom.Pipe, not %s'
                    % type(pipe).__name__)


def _bytes_data(reply):
    return None if reply is None else reply.get_data()


async def asend(pipe, message, timeout=0, max_attempts=0, *, cancellable=None):
    """Sends @message (str or bytes) to @pipe (a name, a path or a
    Pipecom.Pipe); returns True once the listener's handler has run. The
    arguments are those of ``Pipecom.send()``."""
    name = _name(pipe)
    _check(message)
    if isinstance(message, str):
        return await _call(
            lambda c, cb: Pipecom.send_async(name, message, timeout, max_attempts, c, cb),
            Pipecom.send_finish, cancellable)
    data = _to_bytes(message)
    return await _call(
        lambda c, cb: Pipecom.send_bytes_async(name, data, timeout, max_attempts, c, cb),
        Pipecom.send_bytes_finish, cancellable)


async def arequest(pipe, message, timeout=0, max_attempts=0, *, cancellable=None):
    """Like asend(), and returns the handler's reply: str for a str
    @message, bytes for a bytes one, None if the handler gave no reply."""
    name = _name(pipe)
    _check(message)
    if isinstance(message, str):
        return await _call(
            lambda c, cb: Pipecom.request_async(name, message, timeout, max_attempts, c, cb),
            Pipecom.request_finish, cancellable)
    data = _to_bytes(message)
    return await _call(
        lambda c, cb: Pipecom.request_bytes_async(name, data, timeout, max_attempts, c, cb),
        lambda result: _bytes_data(Pipecom.request_bytes_finish(result)), cancellable)


class Client:
    """A persistent connection to a pipe, for asyncio: ``Pipecom.Client``
    with awaitable calls.

    ::

        async with aio.Client("my_pipe", timeout=10) as client:
            reply = await client.request("hello")

    @timeout (seconds, 0: none) and @max_attempts (0: unlimited) are those
    of ``Pipecom.Client``. Calls may overlap: each gets its own reply.
    """

    def __init__(self, pipe_name, timeout=0, max_attempts=0):
        self._client = Pipecom.Client.new(_name(pipe_name))
        self._client.set_timeout(timeout)
        self._client.set_max_attempts(max_attempts)

    @property
    def client(self):
        """The underlying Pipecom.Client."""
        return self._client

    @property
    def pipe_name(self):
        return self._client.get_pipe_name()

    @property
    def connected(self):
        return self._client.get_connected()

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *exc_info):
        self.close()
        return False

    async def connect(self, *, cancellable=None):
        """Connects now (send() and request() connect if needed)."""
        client = self._client
        return await _call(lambda c, cb: client.connect_async(c, cb),
                           client.connect_finish, cancellable)

    async def send(self, message, *, cancellable=None):
        """Sends @message (str or bytes); returns True once the listener's
        handler has run."""
        client = self._client
        _check(message)
        if isinstance(message, str):
            return await _call(lambda c, cb: client.send_async(message, c, cb),
                               client.send_finish, cancellable)
        data = _to_bytes(message)
        return await _call(lambda c, cb: client.send_bytes_async(data, c, cb),
                           client.send_bytes_finish, cancellable)

    async def request(self, message, *, cancellable=None):
        """Sends @message and returns the reply: str for a str @message,
        bytes for a bytes one, None if the handler gave no reply."""
        client = self._client
        _check(message)
        if isinstance(message, str):
            return await _call(lambda c, cb: client.request_async(message, c, cb),
                               client.request_finish, cancellable)
        data = _to_bytes(message)
        return await _call(lambda c, cb: client.request_bytes_async(data, c, cb),
                           lambda result: _bytes_data(client.request_bytes_finish(result)),
                           cancellable)

    def close(self):
        """Closes the connection (calls still running fail)."""
        _bridge().call(self._client.close)
