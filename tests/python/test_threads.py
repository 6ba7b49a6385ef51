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
