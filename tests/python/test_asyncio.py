# test_asyncio.py: pipecom.aio (asyncio without a GLib main loop) and the
# async def callbacks of the overrides' Pipe
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

import asyncio
import threading
import time

import pytest

from gi.repository import Gio, GLib, Pipecom

from conftest import DEADLINE

from pipecom import aio


def run(coro):
    """Runs @coro in a new asyncio loop, bounded by the suite's deadline."""
    return asyncio.run(asyncio.wait_for(coro, DEADLINE))


def test_arequest_and_asend(name):
    got = []

    def handler(message):
        got.append(message)
        return None if message == 'quiet' else 'got %r' % (message,)

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()

    async def main():
        assert await aio.arequest(name, 'hello', timeout=DEADLINE) == "got 'hello'"
        assert await aio.arequest(name, b'\xff\x00') == b"got b'\\xff\\x00'"
        assert await aio.arequest(pipe, 'quiet') is None
        assert await aio.asend(name, 'sent') is True
        assert await aio.asend(name, bytearray(b'raw'), timeout=DEADLINE, max_attempts=3) is True
        with pytest.raises(TypeError):
            await aio.asend(name, 42)
        with pytest.raises(GLib.Error) as info:
            await aio.asend(name + '-nobody', 'x', timeout=2, max_attempts=1)
        assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED)

    run(main())
    assert got == ['hello', b'\xff\x00', 'quiet', 'sent', 'raw']
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_async_client(name):
    pipe = Pipecom.Pipe(name, lambda m: m[::-1])
    pipe.listen()

    async def main():
        async with aio.Client(name, timeout=DEADLINE) as client:
            assert client.connected
            assert await client.request('abc') == 'cba'
            assert await client.request(b'xyz') == b'zyx'
            assert await client.send('one way') is True
            # Calls may overlap on one client, each gets its own reply
            replies = await asyncio.gather(*(client.request('m%02d' % i) for i in range(20)))
            assert replies == [('m%02d' % i)[::-1] for i in range(20)]

    run(main())
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_cancellation_cancels_the_call(name):
    # Nobody listens, and the call would try forever (timeout 0, attempts 0):
    # cancelling the task cancels the call (its Gio.Cancellable), and the
    # CancelledError comes once the call has ended.
    cancellable = Gio.Cancellable.new()

    async def cancel_a_send():
        task = asyncio.ensure_future(aio.asend(name, 'never', cancellable=cancellable))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        start = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - start < DEADLINE / 2
        assert cancellable.is_cancelled()

    run(cancel_a_send())

    got = []
    release = threading.Event()

    def handler(message):
        got.append(message)
        if message == 'slow':
            release.wait(DEADLINE)

    async def with_listener():
        pipe = Pipecom.Pipe(name, handler)
        pipe.listen()
        try:
            # The cancelled send was never delivered: the first message the
            # listener sees is the next one
            assert await aio.asend(name, 'after') is True
            # asyncio.wait_for() cancels a request whose handler is too slow
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(aio.arequest(name, 'slow'), 0.5)
        finally:
            release.set()
            pipe.stop()
        return pipe

    assert run(with_listener()).wait(DEADLINE)
    assert got == ['after', 'slow']

    # A caller's cancellable, cancelled, fails the call with CANCELLED
    async def cancelled_before():
        mine = Gio.Cancellable.new()
        mine.cancel()
        with pytest.raises(GLib.Error) as info:
            await aio.asend(name, 'x', cancellable=mine)
        assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)

    run(cancelled_before())


def test_100_concurrent_requests_to_an_async_handler(name):
    # No thread pool caps the concurrency: 100 requests whose handler
    # awaits 0.5 s each complete together.
    async def handler(message):
        await asyncio.sleep(0.5)
        return 'done ' + message

    async def main():
        pipe = Pipecom.Pipe(name, handler)
        pipe.listen()
        try:
            start = time.monotonic()
            replies = await asyncio.gather(
                *(aio.arequest(name, str(i), timeout=DEADLINE) for i in range(100)))
            elapsed = time.monotonic() - start
        finally:
            pipe.stop()
        assert replies == ['done %d' % i for i in range(100)]
        assert elapsed < 3, '100 concurrent requests took %.2f s' % elapsed
        return pipe

    pipe = run(main())
    assert pipe.wait(DEADLINE)


def test_async_def_callback_replies_with_its_result(name, caplog):
    # The coroutine runs on the loop that made the pipe, and what it returns
    # is the reply (it used to be '<coroutine object ...>')
    seen = {}

    async def handler(message):
        seen['loop'] = asyncio.get_running_loop()
        seen['thread'] = threading.current_thread()
        await asyncio.sleep(0.01)
        if message == 'none':
            return None
        if message == 'fail':
            raise ValueError('async failure')
        if message == 'number':
            return 7
        return message.upper()

    async def main():
        pipe = Pipecom.Pipe(name, handler)
        pipe.listen()
        try:
            assert await aio.arequest(name, 'abc', timeout=DEADLINE) == 'ABC'
            assert seen['loop'] is asyncio.get_running_loop()
            assert seen['thread'] is threading.current_thread()
            assert await aio.arequest(name, 'number') == '7'
            assert await aio.arequest(name, 'none') is None
            with pytest.raises(GLib.Error) as info:
                await aio.arequest(name, 'fail', timeout=DEADLINE)
            assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED)
            assert 'ValueError: async failure' in info.value.message
        finally:
            pipe.stop()
        return pipe

    pipe = run(main())
    assert pipe.wait(DEADLINE)
    assert 'async failure' in caplog.text


def test_async_def_callback_blocking_sender(name):
    # A pipe made where no asyncio loop runs still serves an async def
    # callback (on a loop of the process's own); the blocking API gets the
    # reply too.
    async def handler(message):
        await asyncio.sleep(0)
        return 'async ' + message

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()
    assert Pipecom.request(name, 'hi', timeout=DEADLINE) == 'async hi'

    # A raw message-received handler may be async def as well
    raw_name = name + '-raw'
    raw = Pipecom.Pipe(name=raw_name)

    async def raw_handler(p, message):
        return message.get_bytes().get_data()[::-1]

    raw.connect('message-received', raw_handler)
    raw.listen()
    replies = []
    sender = threading.Thread(
        target=lambda: replies.append(Pipecom.request(raw_name, b'123', timeout=DEADLINE)))
    sender.start()
    context = GLib.MainContext.default()
    deadline = time.monotonic() + DEADLINE
    while not replies and time.monotonic() < deadline:
        context.iteration(False)
        sender.join(0.01)
    assert replies == [b'321']
    raw.stop()
    while raw.get_listening() and time.monotonic() < deadline:
        context.iteration(False)
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_pipecom_package_exports_aio():
    # import pipecom gives arequest() and asend() (imported when first used)
    import os
    import pipecom
    assert pipecom.arequest is aio.arequest
    assert pipecom.asend is aio.asend
    assert 'arequest' in dir(pipecom)
    stub = os.path.join(os.path.dirname(aio.__file__), 'aio.pyi')
    compile(open(stub).read(), 'aio.pyi', 'exec')
