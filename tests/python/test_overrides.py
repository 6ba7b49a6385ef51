# test_overrides.py: the Pythonic API of gi/overrides/Pipecom.py
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from gi.repository import GLib, Pipecom

from conftest import DEADLINE, run_peer, wait_stopped


def test_overrides_are_used():
    assert Pipecom.Pipe.__module__ == 'gi.overrides.Pipecom'
    assert issubclass(Pipecom.PipeError, GLib.Error)
    assert Pipecom.send.__module__ == 'gi.overrides.Pipecom'


def test_quick_start(name):
    received = []

    def message_handler(message):
        received.append(message)

    pipe = Pipecom.Pipe(name, message_handler)
    assert pipe.pipe_name == name
    assert pipe.daemon is True
    assert pipe.get_threaded()          # serves in the background
    assert pipe.get_buffer_size() == 4096
    pipe.listen()
    assert Pipecom.send(name, 'Hello, World!') is True
    assert received == ['Hello, World!']
    assert Pipecom.send(name, 'PIPECOM_DIE', timeout=5)
    assert pipe.wait(DEADLINE)
    assert pipe.get_stop_reason() == Pipecom.StopReason.DIE_CODE


def test_options_and_reply_conversion(name):
    def handler(message):
        if message == 'none':
            return None
        if message == 'number':
            return 42
        return message.upper()

    pipe = Pipecom.Pipe(pipe_name=name, callback=handler, timeout=30,
                        max_messages=4, die_code='SHUTDOWN', buffer_size=8192)
    assert pipe.get_timeout() == 30
    assert pipe.get_max_messages() == 4
    assert pipe.get_die_code() == 'SHUTDOWN'
    assert pipe.get_buffer_size() == 8192
    pipe.listen()
    assert Pipecom.request(name, 'abc', timeout=5, max_attempts=3) == 'ABC'
    assert Pipecom.request(name, 'none') is None
    assert Pipecom.request(name, 'number') == '42'
    # A Pipecom.Pipe as the destination
    assert Pipecom.request(pipe, 'last') == 'LAST'
    assert pipe.wait(DEADLINE)
    assert pipe.get_stop_reason() == Pipecom.StopReason.MAX_MESSAGES


def test_positional_options(name):
    pipe = Pipecom.Pipe(name, None, 7, 2, 'QUIT', True, None, 4096)
    assert (pipe.get_timeout(), pipe.get_max_messages(), pipe.get_die_code()) == (7, 2, 'QUIT')


def test_bytes_messages(name):
    got = []

    def handler(message):
        got.append(message)
        return 'len=%d' % len(message)

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()
    # Not UTF-8: the callback gets bytes; a bytes request gives bytes back
    assert Pipecom.request(name, b'\xff\xfe\x00') == b'len=3'
    assert Pipecom.send(name, bytearray(b'ok')) is True
    assert Pipecom.send(name, GLib.Bytes.new(b'\x80')) is True
    assert got == [b'\xff\xfe\x00', 'ok', b'\x80']
    with pytest.raises(TypeError):
        Pipecom.send(name, 12)
    with pytest.raises(TypeError):
        Pipecom.send(12, 'x')
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_exception_in_callback_answers_at_once(name, caplog):
    def handler(message):
        raise ValueError('cannot handle %s' % message)

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()
    start = time.monotonic()
    with caplog.at_level(logging.ERROR, logger='Pipecom'):
        with pytest.raises(Pipecom.PipeError) as info:
            Pipecom.request(name, 'task', timeout=DEADLINE)
    assert time.monotonic() - start < DEADLINE / 2
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED)
    assert 'ValueError: cannot handle task' in info.value.message
    assert 'Traceback' in caplog.text and 'cannot handle task' in caplog.text
    # The pipe keeps serving
    with pytest.raises(Pipecom.PipeError):
        Pipecom.send(name, 'again', timeout=DEADLINE)
    assert pipe.get_listening()
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_exception_in_raw_handler_with_overrides(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)

    def handler(p, message):
        raise KeyError('raw')

    pipe.connect_after('message-received', handler)
    pipe.listen()
    with pytest.raises(GLib.Error) as info:
        Pipecom.send(name, 'x', timeout=DEADLINE)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED)
    pipe.stop()
    wait_stopped(pipe)


def test_send_errors(name):
    with pytest.raises(Pipecom.PipeError) as info:
        Pipecom.send(name, 'test', timeout=2, max_attempts=1)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED)
    with pytest.raises(Pipecom.PipeError) as info:
        Pipecom.Pipe('', None).listen()
    assert info.value.code == Pipecom.Error.INVALID_PIPE


def test_plain_constructor_still_works(name):
    pipe = Pipecom.Pipe(name=name, timeout=3)
    assert not pipe.get_threaded()
    assert pipe.get_timeout() == 3
    assert pipe.get_buffer_size() == 65536
    pipe2 = Pipecom.Pipe.new(name)
    assert pipe2.get_name() == name
    with pytest.raises(TypeError):
        Pipecom.Pipe(callback=print)
    # Positional arguments of the plain API still work
    with pytest.raises(GLib.Error):
        Pipecom.send(name, 'x', 1, 1)


def _script(name, body):
    return textwrap.dedent('''
        import sys
        import gi
        gi.require_version('Pipecom', '1.0')
        from gi.repository import Pipecom
        name = %r
    ''' % name) + textwrap.dedent(body)


def test_daemon_pipe_stops_at_exit(name):
    # A script without a main loop: listen() returns, the script sends to
    # itself and exits; the daemon pipe goes away with it, FIFO included.
    result = run_peer([sys.executable, '-c', _script(name, '''
        pipe = Pipecom.Pipe(name, lambda m: 'echo ' + m)
        pipe.listen()
        print(Pipecom.request(name, 'hi', timeout=10))
        print(pipe.get_path())
    ''')])
    assert result.returncode == 0, result.stderr
    reply, path = result.stdout.split('\n')[:2]
    assert reply == 'echo hi'
    assert not os.path.exists(path)


def test_non_daemon_pipe_keeps_the_process_alive(name):
    proc = subprocess.Popen([sys.executable, '-c', _script(name, '''
        def handler(message):
            print('got', message, flush=True)
        pipe = Pipecom.Pipe(name, handler, daemon=False, die_code='SHUTDOWN')
        pipe.listen()
        print('main done', flush=True)
    ''')], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == 'main done\n'
        # The main thread ended, the process still serves
        assert Pipecom.send(name, 'still there', timeout=DEADLINE)
        assert proc.poll() is None
        assert Pipecom.send(name, 'SHUTDOWN', timeout=DEADLINE)
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out == 'got still there\n'


def test_background_pipe_with_threads(name):
    # Many Python threads sending to one background pipe at once
    pipe = Pipecom.Pipe(name, lambda m: m[::-1])
    pipe.listen()
    replies = {}

    def worker(i):
        replies[i] = Pipecom.request(name, 'msg %d' % i, timeout=DEADLINE)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert replies == {i: ('msg %d' % i)[::-1] for i in range(8)}
    assert pipe.get_message_count() == 8
    pipe.stop()
    assert pipe.wait(DEADLINE)
