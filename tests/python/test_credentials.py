# test_credentials.py: who sent a message, and refusing senders, from Python
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# The overrides and the pipecom package: the credentials a callback asks
# for (a parameter named "credentials"), allowed_users, and an "authorize"
# handler. The senders that must be told apart from the listener are child
# processes, so that their pid can be compared.

import asyncio
import inspect
import logging
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading

import pytest

import pipecom
from pipecom import aio
from gi.repository import Gio, GLib, Pipecom

from conftest import DEADLINE, PID_VERIFIED, start_peer

LINUX = sys.platform.startswith('linux')


def child_sender(name, message='from the child'):
    """A Python process that sends @message to @name with the pipecom
    package, prints "sent" once it is acknowledged, or the error's
    error_code (and exits 1)."""
    code = textwrap.dedent('''
        import sys
        import pipecom
        try:
            pipecom.send(sys.argv[1], sys.argv[2], timeout=%d)
        except pipecom.PipeError as e:
            print(e.error_code)
            sys.exit(1)
        print("sent")
    ''' % DEADLINE)
    return start_peer([sys.executable, '-c', code, name, message])


def communicate(proc):
    try:
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def stop(pipe):
    pipe.stop()
    assert pipe.wait(DEADLINE)


# -- The callback asks for the credentials ----------------------------------

def test_callback_with_credentials_gets_the_child_sender(name):
    got = []

    def handler(message, credentials=None):
        got.append((message, credentials))
        return 'ok'

    pipe = pipecom.Pipe(name, handler)
    pipe.listen()
    try:
        proc = child_sender(name)
        status, out, err = communicate(proc)
        assert status == 0, err
        assert out == 'sent\n'
    finally:
        stop(pipe)
    [(message, credentials)] = got
    assert message == 'from the child'
    assert isinstance(credentials, Gio.Credentials)
    assert credentials.get_unix_user() == os.getuid()
    if PID_VERIFIED:
        # Verified on Linux (/proc): the child's channel is among its open files
        assert credentials.get_unix_pid() == proc.pid
        assert credentials.get_unix_pid() != os.getpid()


def test_credentials_keyword_only_and_bytes(name):
    got = []

    def handler(message, *, credentials):
        got.append((message, credentials.get_unix_user()))

    pipe = pipecom.Pipe(name, handler)
    pipe.listen()
    try:
        assert pipecom.send(name, b'\xff\x00', timeout=DEADLINE)
        assert pipecom.send(name, 'text', timeout=DEADLINE)
    finally:
        stop(pipe)
    assert got == [(b'\xff\x00', os.getuid()), ('text', os.getuid())]


def test_callback_without_credentials_is_called_as_before(name):
    calls = []

    def handler(*args, **kwargs):
        # Neither *args nor **kwargs is a parameter named "credentials"
        calls.append((args, kwargs))
        return 'plain'

    class Handler:
        def __call__(self, message):
            calls.append(((message,), {}))

    pipe = pipecom.Pipe(name, handler)
    pipe.listen()
    try:
        assert pipecom.request(name, 'one', timeout=DEADLINE) == 'plain'
    finally:
        stop(pipe)
    assert calls == [(('one',), {})]

    calls.clear()
    other = pipecom.Pipe(name, Handler())
    other.listen()
    try:
        assert pipecom.send(name, 'two', timeout=DEADLINE)
    finally:
        stop(other)
    assert calls == [(('two',), {})]

    # A callable without a signature (a builtin) gets the message alone
    seen = []
    builtin = pipecom.Pipe(name, seen.append)
    builtin.listen()
    try:
        assert pipecom.send(name, 'three', timeout=DEADLINE)
    finally:
        stop(builtin)
    assert seen == ['three']


def test_decided_once_at_construction(name):
    # What the callback's signature says when the pipe is made decides,
    # not what it says later
    got = []

    class Handler:
        def __call__(self, message, **kwargs):
            got.append(kwargs['credentials'].get_unix_user())

    callback = Handler()
    P = inspect.Parameter
    callback.__signature__ = inspect.Signature([
        P('message', P.POSITIONAL_OR_KEYWORD), P('credentials', P.KEYWORD_ONLY)])
    pipe = pipecom.Pipe(name, callback)
    callback.__signature__ = inspect.Signature([P('message', P.POSITIONAL_OR_KEYWORD)])
    pipe.listen()
    try:
        assert pipecom.send(name, 'x', timeout=DEADLINE)
    finally:
        stop(pipe)
    assert got == [os.getuid()]


def test_async_callback_with_credentials(name):
    seen = {}

    async def handler(message, credentials=None):
        await asyncio.sleep(0.01)
        seen['uid'] = credentials.get_unix_user()
        seen['pid'] = credentials.get_unix_pid()
        return 'async ' + message

    async def main():
        pipe = pipecom.Pipe(name, handler)
        pipe.listen()
        try:
            return pipe, await aio.arequest(name, 'hi', timeout=DEADLINE)
        finally:
            pipe.stop()

    pipe, reply = asyncio.run(main())
    assert pipe.wait(DEADLINE)
    assert reply == 'async hi'
    assert seen['uid'] == os.getuid()
    if PID_VERIFIED:
        assert seen['pid'] == os.getpid()


def test_message_received_handler_reads_the_credentials(name):
    got = []

    def message_received_cb(pipe, message):
        credentials = message.get_credentials()
        got.append((credentials.get_unix_user(), message.get_sender_verified()))
        return None

    pipe = Pipecom.Pipe(name)
    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    try:
        proc = child_sender(name)
        status, out, err = communicate(proc)
        assert status == 0, err
    finally:
        stop(pipe)
    [(uid, verified)] = got
    assert uid == os.getuid()
    assert verified & Pipecom.SenderFlags.USER
    if PID_VERIFIED:
        assert verified & Pipecom.SenderFlags.PROCESS


# -- allowed_users ----------------------------------------------------------

def test_allowed_users_keyword_and_property(name):
    me = pwd.getpwuid(os.getuid()).pw_name
    pipe = pipecom.Pipe(name, lambda message: 'ok ' + message,
                        allowed_users=[me, os.getuid()])
    assert pipe.props.allowed_users == [me, str(os.getuid())]
    pipe.set_allowed_users([os.getuid()])
    assert pipe.get_allowed_users() == [str(os.getuid())]
    pipe.set_allowed_users(None)
    assert not pipe.get_allowed_users()     # None: everyone (PyGObject gives [])
    pipe.props.allowed_users = [me]
    assert pipe.props.allowed_users == [me]
    pipe.listen()
    try:
        # The pipe's own user is allowed, whatever the list says
        assert pipecom.request(name, 'me', timeout=DEADLINE) == 'ok me'
    finally:
        stop(pipe)

    with pytest.raises(TypeError):
        pipecom.Pipe(name, None, allowed_users=me)
    with pytest.raises(TypeError):
        pipecom.Pipe(name, None, allowed_users=[1.5])


def test_allowed_users_unknown_name_fails_listen(name):
    pipe = pipecom.Pipe(name, lambda message: None,
                        allowed_users=['no-such-user-of-pipecom-tests'])
    # The library's error, of GIO's domain, as for a cancelled call
    with pytest.raises(GLib.Error) as info:
        pipe.listen()
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.INVALID_ARGUMENT)
    assert 'no-such-user-of-pipecom-tests' in info.value.message
    assert not pipe.get_listening()


# -- authorize --------------------------------------------------------------

def test_authorize_false_refuses_the_sender(name):
    asked = []
    received = []

    def authorize_cb(pipe, credentials):
        asked.append((credentials.get_unix_user(), credentials.get_unix_pid(),
                      threading.current_thread()))
        return False

    pipe = pipecom.Pipe(name, received.append)
    handler_id = pipe.connect('authorize', authorize_cb)
    pipe.listen()
    try:
        with pytest.raises(pipecom.PipeError) as info:
            pipecom.send(name, 'refused', timeout=DEADLINE)
        assert info.value.error_code == pipecom.PipeError.PERMISSION_DENIED
        assert info.value.code == Pipecom.Error.PERMISSION_DENIED

        # A child process is refused the same way
        status, out, err = communicate(child_sender(name))
        assert (status, out) == (1, 'PERMISSION_DENIED\n'), err

        # The listener goes on serving those it lets in
        pipe.disconnect(handler_id)
        assert pipecom.send(name, 'allowed', timeout=DEADLINE)
    finally:
        stop(pipe)
    assert received == ['allowed']
    assert len(asked) == 2
    assert asked[0][0] == os.getuid()
    if PID_VERIFIED:
        assert asked[0][1] == os.getpid()
    # Asked in the thread that serves the pipe, where the callback runs
    assert asked[0][2] is not threading.current_thread()


def test_authorize_true_lets_in_once_per_connection(name):
    asked = []

    def authorize_cb(pipe, credentials):
        asked.append(credentials.get_unix_user())
        return True

    pipe = pipecom.Pipe(name, lambda message: message.upper())
    pipe.connect('authorize', authorize_cb)
    pipe.listen()
    try:
        client = pipecom.Client.new(name)
        client.set_timeout(DEADLINE)
        assert client.request('a') == 'A'
        assert client.request('b') == 'B'
        client.close()
    finally:
        stop(pipe)
    assert asked == [os.getuid()]


def test_authorize_handler_that_raises_refuses(name, caplog):
    def authorize_cb(pipe, credentials):
        raise RuntimeError('authorize failed')

    received = []
    pipe = pipecom.Pipe(name, received.append)
    pipe.connect('authorize', authorize_cb)
    pipe.listen()
    try:
        with caplog.at_level(logging.ERROR, logger='Pipecom'):
            with pytest.raises(pipecom.PipeError) as info:
                pipecom.send(name, 'x', timeout=DEADLINE)
    finally:
        stop(pipe)
    assert info.value.error_code == 'PERMISSION_DENIED'
    assert received == []
    assert 'authorize failed' in caplog.text


# -- Another user ---------------------------------------------------------------

def _other_user():
    """The uid and gid of "nobody", if this test may run senders as them."""
    if not LINUX or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam('nobody')
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def shared_dir():
    """A directory of ours that another user may reach, for shared pipes."""
    path = tempfile.mkdtemp(prefix='pipecom-shared-')
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def other_user_sender(path, other, runtime_dir):
    code = textwrap.dedent('''
        import sys
        import pipecom
        try:
            pipecom.send(sys.argv[1], "from another user", timeout=%d)
        except pipecom.PipeError as e:
            print(e.error_code)
            sys.exit(1)
        print("sent")
    ''' % DEADLINE)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime_dir)
    return subprocess.Popen([sys.executable, '-c', code, path], env=env,
                            user=other[0], group=other[1], extra_groups=[],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(_other_user() is None, reason='needs root on Linux and the user nobody')
def test_another_user_refused_by_allowed_users_and_seen_without(shared_dir):
    other = _other_user()
    runtime_dir = os.path.join(shared_dir, 'runtime')
    os.mkdir(runtime_dir, 0o700)
    os.chown(runtime_dir, other[0], other[1])
    me = pwd.getpwuid(os.getuid()).pw_name
    path = os.path.join(shared_dir, 'ctl')
    got = []

    def handler(message, credentials=None):
        got.append((message, credentials.get_unix_user(), credentials.get_unix_pid()))

    pipe = pipecom.Pipe(path, handler, access=Pipecom.Access.EVERYONE, allowed_users=[me])
    pipe.listen()
    try:
        status, out, err = communicate(other_user_sender(path, other, runtime_dir))
        assert (status, out) == (1, 'PERMISSION_DENIED\n'), err
        # The pipe serves its own user on
        assert pipecom.send(path, 'mine', timeout=DEADLINE)
    finally:
        stop(pipe)
    assert [g[:2] for g in got] == [('mine', os.getuid())]

    got.clear()
    pipe = pipecom.Pipe(path, handler, access=Pipecom.Access.EVERYONE)
    pipe.listen()
    try:
        proc = other_user_sender(path, other, runtime_dir)
        status, out, err = communicate(proc)
        assert (status, out) == (0, 'sent\n'), err
    finally:
        stop(pipe)
    assert got == [('from another user', other[0], proc.pid if PID_VERIFIED else -1)]
