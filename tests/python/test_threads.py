# test_threads.py: where the callbacks of the overrides' Pipe run, and
# Ctrl-C (SIGINT) in blocking calls and in daemon=False listeners
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from gi.repository import GLib, Pipecom

from conftest import DEADLINE, iterate_until


def test_threaded_listener_serves_in_a_python_thread(name):
    # The callback runs in a thread that Python made (not a C thread that
    # gets a Python thread state made and dropped for every message): the
    # same thread, named after the pipe, for every message.
    threads = []

    def handler(message):
        threads.append(threading.current_thread())
        return message.upper()

    pipe = Pipecom.Pipe(name, handler)
    assert pipe.get_threaded()
    pipe.listen()
    for i in range(3):
        assert Pipecom.request(name, 'm%d' % i, timeout=DEADLINE) == 'M%d' % i
    assert len(threads) == 3 and len(set(threads)) == 1
    thread = threads[0]
    assert thread is not threading.main_thread()
    assert not isinstance(thread, threading._DummyThread)
    assert thread.name == 'pipecom:' + name
    pipe.stop()
    assert pipe.wait(DEADLINE)
    assert not thread.is_alive()
    assert not os.path.exists(pipe.get_path())
    # It listens again, in a new thread
    pipe.listen()
    assert Pipecom.request(name, 'again', timeout=DEADLINE) == 'AGAIN'
    assert Pipecom.send(name, 'PIPECOM_DIE', timeout=DEADLINE)
    assert pipe.wait(DEADLINE)
    assert pipe.get_stop_reason() == Pipecom.StopReason.DIE_CODE


def test_main_context_keyword_serves_in_that_context(name):
    # The rule for GUI programs: main_context= (or threaded=False) serves in
    # the caller's main context, so the callback runs in the thread that
    # runs it (here the test's, which iterates the default context).
    context = GLib.MainContext.default()
    seen = []

    def handler(message):
        seen.append(threading.current_thread())
        return 'ok ' + message

    for kwargs in ({'main_context': context}, {'threaded': False}):
        pipe = Pipecom.Pipe(name, handler, **kwargs)
        assert not pipe.get_threaded()
        pipe.listen()
        # As a GUI program does: a main loop runs the context all along
        loop = GLib.MainLoop()
        replies = []

        def send():
            try:
                replies.append(Pipecom.request(name, 'hi', timeout=DEADLINE))
            finally:
                GLib.idle_add(loop.quit)

        timeout_id = GLib.timeout_add_seconds(DEADLINE, loop.quit)
        sender = threading.Thread(target=send)
        # Started once the loop runs (owns the context), as in a GUI program
        GLib.idle_add(sender.start)
        loop.run()
        GLib.source_remove(timeout_id)
        sender.join(DEADLINE)
        assert replies == ['ok hi']
        assert seen[-1] is threading.main_thread()
        pipe.stop()
        iterate_until(lambda: not pipe.get_listening())
    with pytest.raises(TypeError):
        Pipecom.Pipe(name, handler, threaded=True, main_context=context)


def _child(body):
    """A Python child process running @body with Pipecom imported; SIGINT
    raises KeyboardInterrupt there whatever the parent ignores."""
    script = textwrap.dedent('''
        import signal
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import gi
        gi.require_version('Pipecom', '1.0')
        from gi.repository import Pipecom
    ''') + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_main_thread_blocks(proc, wchan):
    """Waits until the main thread of @proc sleeps in the kernel in a
    function whose name contains @wchan ('poll': the wait of a blocking
    call; 'futex': a lock of Python's), three looks in a row, 10 ms apart
    (a short wait for the GIL is not what the test means)."""
    deadline = time.monotonic() + DEADLINE
    task = '/proc/%d/task/%d/' % (proc.pid, proc.pid)
    seen = 0
    while time.monotonic() < deadline:
        with open(task + 'stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        with open(task + 'wchan') as f:
            where = f.read()
        # Some kernels hide wchan ('0'): then the state has to do
        known = where not in ('', '0')
        seen = seen + 1 if state == 'S' and (wchan in where or not known) else 0
        if seen == 3:
            return
        time.sleep(0.01)
    pytest.fail('the child never blocked in %s' % wchan)


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
@pytest.mark.parametrize('call', [
    "Pipecom.send(name, 'x')",
    "Pipecom.send(name, b'x', timeout=0, max_attempts=0)",
    "Pipecom.request(name, 'x')",
    "Pipecom.request(name, b'x', 0, 0)",
])
def test_ctrl_c_interrupts_a_blocking_call(name, call):
    # Nobody listens, timeout 0 and attempts 0: the call would wait forever
    proc = _child('''
        name = %r
        print('calling', flush=True)
        %s
        print('returned', flush=True)
    ''' % (name, call))
    try:
        assert proc.stdout.readline() == 'calling\n'
        _wait_main_thread_blocks(proc, 'poll')
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert err.rstrip().endswith('KeyboardInterrupt'), err
    assert proc.returncode == -signal.SIGINT
    assert out == ''
    assert elapsed < 1, 'exited %.2f s after SIGINT' % elapsed


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
@pytest.mark.parametrize('tail', ['', 'pipe.wait()'])
def test_ctrl_c_stops_a_non_daemon_listener(name, tail):
    # The main thread is done (or waits for the pipe): Ctrl-C stops the pipe
    # cleanly, FIFO removed, without "Exception ignored in: <module
    # 'threading'>"
    proc = _child('''
        pipe = Pipecom.Pipe(%r, lambda m: 'got ' + m, daemon=False)
        pipe.listen()
        print(pipe.get_path(), flush=True)
        %s
        print('main done', flush=True)
    ''' % (name, tail or 'pass'))
    try:
        path = proc.stdout.readline().strip()
        assert os.path.exists(path)
        assert Pipecom.request(name, 'ping', timeout=DEADLINE) == 'got ping'
        if not tail:
            # The main thread is done: Python waits for the pipe at exit
            assert proc.stdout.readline() == 'main done\n'
        _wait_main_thread_blocks(proc, 'futex')
        assert proc.poll() is None
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert 'Exception ignored' not in err, err
    assert not os.path.exists(path), err
    assert not os.path.exists(path + '.lock')
    assert elapsed < 5, 'exited %.2f s after SIGINT' % elapsed
    if not tail:
        assert err == ''


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
@pytest.mark.parametrize('tail', ['', 'pipe.wait()'])
def test_ctrl_c_stop_is_complete_before_atexit(name, tail):
    # The stop that Ctrl-C makes is complete, FIFO and lock file removed,
    # before the process goes on to exit (its atexit functions run after
    # the pipes' waits): not left to the pipe's thread, which may run it
    # too late, or never, on a loaded machine. (Python marks a thread whose
    # join() Ctrl-C interrupted as ended, while it runs on.)
    proc = _child('''
        import atexit, os
        pipe = Pipecom.Pipe(%r, lambda m: 'got ' + m, daemon=False)
        pipe.listen()
        path = pipe.get_path()

        def report():
            print('at exit: listening=%%s fifo=%%s lock=%%s' %% (
                pipe.get_listening(), os.path.exists(path),
                os.path.exists(path + '.lock')), flush=True)

        atexit.register(report)
        print(path, flush=True)
        %s
    ''' % (name, tail or 'pass'))
    try:
        path = proc.stdout.readline().strip()
        assert os.path.exists(path)
        _wait_main_thread_blocks(proc, 'futex')
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        proc.kill()
        proc.wait()
    assert out == 'at exit: listening=False fifo=False lock=False\n', err
    assert not os.path.exists(path)


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
@pytest.mark.parametrize('call', [
    "Pipecom.send(name, 'x')",
    "Pipecom.request(name, b'x', 0, 0)",
    "Pipecom.Client.new(name).request('x', None)",
    "Pipecom.Client.new(name).send_bytes(GLib.Bytes.new(b'x'))",
])
def test_ctrl_c_interrupts_a_call_the_listener_holds(name, call):
    # The listener took the message and does not answer (no timeout): Ctrl-C
    # still interrupts the wait for its answer
    entered = threading.Event()
    release = threading.Event()

    def handler(message):
        entered.set()
        release.wait(DEADLINE)
        return 'late'

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()
    proc = _child('''
        from gi.repository import GLib
        name = %r
        print('calling', flush=True)
        %s
        print('returned', flush=True)
    ''' % (name, call))
    try:
        assert proc.stdout.readline() == 'calling\n'
        assert entered.wait(DEADLINE)
        _wait_main_thread_blocks(proc, 'poll')
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
        elapsed = time.monotonic() - start
    finally:
        release.set()
        proc.kill()
        proc.wait()
        pipe.stop()
        pipe.wait(DEADLINE)
    assert err.rstrip().endswith('KeyboardInterrupt'), err
    assert proc.returncode == -signal.SIGINT
    assert out == ''
    assert elapsed < 1, 'exited %.2f s after SIGINT' % elapsed


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
def test_ctrl_c_stops_a_pipe_run_in_the_main_thread(name):
    # pipecom_pipe_run() blocks in C: Ctrl-C stops the pipe, which removes
    # its FIFO, then raises KeyboardInterrupt
    proc = _child('''
        pipe = Pipecom.Pipe(name=%r)
        pipe.connect('message-received', lambda pipe, message: pipe.get_path())
        print('running', flush=True)
        pipe.run()
        print('returned', flush=True)
    ''' % name)
    try:
        assert proc.stdout.readline() == 'running\n'
        path = Pipecom.request(name, 'path?', timeout=DEADLINE)
        assert os.path.exists(path)
        _wait_main_thread_blocks(proc, 'poll')
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert err.rstrip().endswith('KeyboardInterrupt'), err
    assert proc.returncode == -signal.SIGINT
    assert out == ''
    assert not os.path.exists(path)
    assert not os.path.exists(path + '.lock')
    assert elapsed < 1, 'exited %.2f s after SIGINT' % elapsed


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='needs /proc')
def test_ctrl_c_leaves_a_handler_of_the_programs_own(name):
    # With a SIGINT handler of its own, a program gets it called once the
    # call returned, and the call is not cancelled
    entered = threading.Event()
    release = threading.Event()

    def handler(message):
        entered.set()
        release.wait(DEADLINE)
        return 'answer'

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()
    proc = subprocess.Popen([sys.executable, '-c', textwrap.dedent('''
        import signal, sys
        import gi
        gi.require_version('Pipecom', '1.0')
        from gi.repository import Pipecom
        signal.signal(signal.SIGINT, lambda signum, frame: print('handler', flush=True))
        print('calling', flush=True)
        print(Pipecom.request(sys.argv[1], 'x'), flush=True)
    '''), name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == 'calling\n'
        assert entered.wait(DEADLINE)
        _wait_main_thread_blocks(proc, 'poll')
        proc.send_signal(signal.SIGINT)
        # The SIGINT reached the process before the answer is let go
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            with open('/proc/%d/status' % proc.pid) as f:
                pending = [line for line in f if line.startswith(('ShdPnd:', 'SigPnd:'))]
            if all(int(line.split()[1], 16) == 0 for line in pending):
                break
            time.sleep(0.01)
        release.set()
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        release.set()
        proc.kill()
        proc.wait()
        pipe.stop()
        pipe.wait(DEADLINE)
    assert proc.returncode == 0, err
    # (Python runs the handler between the call's return and the print)
    assert out in ('handler\nanswer\n', 'answer\nhandler\n'), out
