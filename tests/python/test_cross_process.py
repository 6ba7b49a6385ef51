# test_cross_process.py: Python, C and GJS processes talking to each other
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# PIPECOM_TEST_HELPER is the C peer (tests/helper-request), PIPECOM_TEST_GJS
# the gjs interpreter and PIPECOM_TEST_JS_DIR the directory of the GJS
# peers; meson sets them.

import os
import sys

from gi.repository import Pipecom

from conftest import DEADLINE, env_path, run_peer, start_peer, wait_stopped


def python_listener(name, **options):
    received = []

    def handler(message):
        received.append(message)
        return 'py: %s' % message

    pipe = Pipecom.Pipe(name, handler, **options)
    pipe.listen()
    return pipe, received


def test_c_sender_to_python_listener(name):
    helper = env_path('PIPECOM_TEST_HELPER')
    pipe, received = python_listener(name)
    result = run_peer([helper, name, 'from C'])
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'py: from C\n'
    result = run_peer([helper, '--send', name, 'plain'])
    assert result.stdout == 'sent\n'
    assert received == ['from C', 'plain']
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_c_sender_gets_handler_error(name):
    helper = env_path('PIPECOM_TEST_HELPER')

    def handler(message):
        raise RuntimeError('python handler failed')

    pipe = Pipecom.Pipe(name, handler)
    pipe.listen()
    result = run_peer([helper, name, 'x'])
    assert result.returncode == 1
    assert result.stderr.startswith('error pipecom-error-quark %d:' % Pipecom.Error.HANDLER_FAILED)
    assert 'python handler failed' in result.stderr
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_python_sender_to_python_listener(name):
    pipe, received = python_listener(name)
    code = ('import gi; gi.require_version("Pipecom", "1.0"); '
            'from gi.repository import Pipecom; '
            'print(Pipecom.request(%r, "from another Python", timeout=%d))' % (name, DEADLINE))
    result = run_peer([sys.executable, '-c', code])
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'py: from another Python\n'
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_gjs_sender_to_python_listener(name):
    gjs = env_path('PIPECOM_TEST_GJS')
    js_dir = env_path('PIPECOM_TEST_JS_DIR')
    pipe, received = python_listener(name)
    result = run_peer([gjs, os.path.join(js_dir, 'peer-send.js'), name, 'from GJS'])
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'py: from GJS\n'
    assert received == ['from GJS']
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_gjs_sender_sees_errors(name):
    gjs = env_path('PIPECOM_TEST_GJS')
    js_dir = env_path('PIPECOM_TEST_JS_DIR')
    pipe, received = python_listener(name, max_message_size=4)
    result = run_peer([gjs, os.path.join(js_dir, 'peer-send.js'), name, 'too long'])
    assert result.returncode == 1
    assert result.stderr.startswith('error pipecom-error-quark %d:' % Pipecom.Error.MESSAGE_TOO_LARGE)
    pipe.stop()
    assert pipe.wait(DEADLINE)


def test_python_sender_to_gjs_listener(name):
    gjs = env_path('PIPECOM_TEST_GJS')
    js_dir = env_path('PIPECOM_TEST_JS_DIR')
    proc = start_peer([gjs, os.path.join(js_dir, 'peer-listen.js'), name])
    try:
        line = proc.stdout.readline()
        assert line.startswith('listening '), proc.stderr.read()
        path = line.split(' ', 1)[1].strip()
        assert Pipecom.request(name, 'from Python', timeout=DEADLINE) == 'gjs: from Python'
        assert Pipecom.request(name, b'bytes', timeout=DEADLINE) == b'gjs: bytes'
        assert Pipecom.send(name, 'PIPECOM_DIE', timeout=DEADLINE)
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out == 'stopped %d 2\n' % int(Pipecom.StopReason.DIE_CODE)
    assert not os.path.exists(path)
