# test_pipecom.py: the pipecom package, the original library's API
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# `import pipecom` from the source tree (PYTHONPATH), with the typelib and
# library of the build tree. The original README's examples
# (original_examples/, verbatim) run in processes of their own.

import errno
import os
import pickle
import re
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import pipecom
from gi.repository import Gio, GLib

from conftest import DEADLINE, iterate_until

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'original_examples')


# -- The package ------------------------------------------------------------

def test_package_api():
    from gi.repository import Pipecom
    assert pipecom.Pipe is Pipecom.Pipe
    assert pipecom.send is Pipecom.send
    assert pipecom.request is Pipecom.request
    assert pipecom.Client is Pipecom.Client
    assert pipecom.PipeError is Pipecom.PipeError
    assert issubclass(pipecom.PipeError, GLib.Error)
    # Everything of gi.repository.Pipecom
    for name in ('Error', 'StopReason', 'Access', 'Message', 'send_async',
                 'request_finish', 'send_bytes', 'error_quark', 'DEFAULT_DIE_CODE'):
        assert getattr(pipecom, name) is getattr(Pipecom, name), name
        assert name in dir(pipecom)
    assert pipecom.__version__ == '%d.%d.%d' % (Pipecom.MAJOR_VERSION, Pipecom.MINOR_VERSION,
                                                Pipecom.MICRO_VERSION)
    with pytest.raises(AttributeError):
        pipecom.no_such_thing


def test_type_information_is_shipped():
    package = os.path.dirname(pipecom.__file__)
    assert os.path.exists(os.path.join(package, 'py.typed'))
    stub = open(os.path.join(package, '__init__.pyi')).read()
    compile(stub, '__init__.pyi', 'exec')
    for name in ('class PipeError', 'class Pipe', 'class Client', 'def send', 'def request'):
        assert name in stub


# -- PipeError --------------------------------------------------------------

def test_pipe_error_as_the_original():
    e = pipecom.PipeError('Pipe went away', 'CONNECTION_FAILED', {'pipe_name': 'x', 'attempt': 2})
    assert isinstance(e, GLib.Error) and isinstance(e, Exception)
    assert e.error_code == 'CONNECTION_FAILED' == pipecom.PipeError.CONNECTION_FAILED
    assert e.context == {'pipe_name': 'x', 'attempt': 2}
    assert e.message == 'Pipe went away'
    assert str(e) == ('PipeError (Code: CONNECTION_FAILED): Pipe went away '
                      '[Context: pipe_name=x, attempt=2]')
    assert repr(e) == ("PipeError(message='Pipe went away', error_code='CONNECTION_FAILED', "
                       "context={'pipe_name': 'x', 'attempt': 2})")
    assert e.to_dict() == {'error_type': 'PipeError', 'message': 'Pipe went away',
                           'error_code': 'CONNECTION_FAILED',
                           'context': {'pipe_name': 'x', 'attempt': 2}}
    # A GLib.Error of the Pipecom domain with the matching code
    assert e.matches(pipecom.error_quark(), pipecom.Error.CONNECTION_FAILED)
    assert e.code == pipecom.Error.CONNECTION_FAILED

    plain = pipecom.PipeError('No context', pipecom.PipeError.TIMEOUT)
    assert plain.context == {}
    assert str(plain) == 'PipeError (Code: TIMEOUT): No context'
    assert pipecom.PipeError('x').error_code == 'UNKNOWN'
    # A code of its own: UNKNOWN in the C domain, its string kept
    odd = pipecom.PipeError('x', 'MY_CODE')
    assert odd.error_code == 'MY_CODE' and odd.code == pipecom.Error.UNKNOWN
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is pipecom.PipeError and copy.to_dict() == e.to_dict()

    with pytest.raises(GLib.Error):
        raise e


def test_pipe_error_constants():
    # The original five, then PipeCom's codes, each the Pipecom.Error nick
    original = ['INVALID_PIPE', 'CONNECTION_FAILED', 'PERMISSION_DENIED', 'TIMEOUT', 'UNKNOWN']
    for code in original:
        assert getattr(pipecom.PipeError, code) == code
    for value, enum in pipecom.Error.__enum_values__.items():
        name = enum.value_nick.upper().replace('-', '_')
        assert getattr(pipecom.PipeError, name) == name
        assert pipecom.PipeError('x', name).code == value
        assert pipecom.PipeError('x', enum).error_code == name
    assert [pipecom.Error(v).value_nick.upper() for v in range(5)] == [
        c.replace('_', '-') for c in original]


def test_no_listener_within_timeout_is_timeout(name):
    # As the original: TIMEOUT; the C code stays CONNECTION_FAILED
    start = time.monotonic()
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.send(name, 'test', timeout=1)
    assert time.monotonic() - start >= 1
    e = info.value
    assert e.error_code == pipecom.PipeError.TIMEOUT
    assert e.code == pipecom.Error.CONNECTION_FAILED
    assert e.matches(pipecom.error_quark(), pipecom.Error.CONNECTION_FAILED)
    assert e.context['pipe_name'] == name
    assert e.context['timeout'] == 1 and e.context['max_attempts'] == 0
    assert e.context['path'].endswith(os.sep + name)
    assert str(e).startswith('PipeError (Code: TIMEOUT): No listener on pipe')
    assert '[Context: pipe_name=%s, path=' % name in str(e)


def test_attempts_used_up_is_connection_failed(name):
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.request(name, 'test', timeout=DEADLINE, max_attempts=1)
    assert info.value.error_code == pipecom.PipeError.CONNECTION_FAILED
    assert info.value.code == pipecom.Error.CONNECTION_FAILED
    assert info.value.context['max_attempts'] == 1


def test_errors_are_pipe_errors_everywhere(name, make_name):
    # Listen: the name is taken
    pipe = pipecom.Pipe(name, lambda message: 1 / 0)
    pipe.listen()
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.Pipe(name, None).listen()
    assert info.value.error_code == 'ADDRESS_IN_USE'
    assert info.value.context['pipe_name'] == name
    # The handler raised
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.request(name, 'x', timeout=DEADLINE)
    assert info.value.error_code == 'HANDLER_FAILED'
    assert 'ZeroDivisionError' in info.value.message
    # The plain introspected calls, a client
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.request_bytes(name, GLib.Bytes.new(b'x'), DEADLINE, 0)
    assert info.value.error_code == 'HANDLER_FAILED'
    client = pipecom.Client.new(name)
    client.set_timeout(DEADLINE)
    with pytest.raises(pipecom.PipeError) as info:
        client.send('x')
    assert info.value.error_code == 'HANDLER_FAILED'
    assert info.value.context == {'pipe_name': name, 'timeout': DEADLINE, 'max_attempts': 0,
                                  'path': pipe.get_path()}
    client.close()
    pipe.stop()
    assert pipe.wait(DEADLINE)

    # An asynchronous call's _finish()
    missing = make_name('missing')
    errors = []

    def done_cb(source, result, user_data):
        try:
            pipecom.send_finish(result)
        except GLib.Error as e:
            errors.append(e)

    pipecom.send_async(missing, 'x', 1, 0, None, done_cb, None)
    iterate_until(lambda: errors)
    assert type(errors[0]) is pipecom.PipeError
    assert errors[0].error_code == 'TIMEOUT'
    assert errors[0].context['pipe_name'] == missing
    # A client's
    client = pipecom.Client.new(missing)
    client.set_max_attempts(1)
    errors.clear()
    client.connect_async(None, lambda c, r, d: errors.append(_catch(c.connect_finish, r)), None)
    iterate_until(lambda: errors)
    assert type(errors[0]) is pipecom.PipeError
    assert errors[0].error_code == 'CONNECTION_FAILED'
    assert errors[0].context['max_attempts'] == 1

    # Cancellation stays a Gio error
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    errors.clear()
    pipecom.request_async(missing, 'x', 0, 0, cancellable,
                          lambda s, r, d: errors.append(_catch(pipecom.request_finish, r)), None)
    iterate_until(lambda: errors)
    assert not isinstance(errors[0], pipecom.PipeError)
    assert errors[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)


def _catch(func, *args):
    try:
        func(*args)
    except GLib.Error as e:
        return e
    return None


@pytest.mark.skipif(not os.path.isdir('/proc/self'), reason='needs Linux /proc')
def test_operating_system_error_in_context():
    # /proc exists, but no file can be made there: the lock file's open()
    # fails with ENOENT
    path = '/proc/pipecom-test-%d' % os.getpid()
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.Pipe(path, None).listen()
    context = info.value.context
    assert context['pipe_name'] == path and context['path'] == path
    assert context['os_error'] == 'ENOENT', info.value
    assert context['errno'] == errno.ENOENT
    assert info.value.message.endswith(os.strerror(errno.ENOENT))


def test_pipe_error_as_a_handler_reply(name):
    # A handler may answer with a PipeError: it travels as a GError
    def handler(p, message):
        message.reply_error(pipecom.PipeError('not now', 'BUSY'))

    pipe = pipecom.Pipe(name=name, threaded=True)
    pipe.connect('message-received', handler)
    pipe.listen()
    with pytest.raises(pipecom.PipeError) as info:
        pipecom.request(name, 'x', timeout=DEADLINE)
    assert info.value.error_code == 'HANDLER_FAILED'
    assert 'not now' in info.value.message
    pipe.stop()
    assert pipe.wait(DEADLINE)


# -- Clear errors when something is missing ---------------------------------

def _python(code, env):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=DEADLINE, env=env)


def _env(**changes):
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _installed_elsewhere():
    # Without the build tree's paths, does this machine have PipeCom?
    result = _python("import gi; gi.require_version('Pipecom', '1.0')",
                     _env(GI_TYPELIB_PATH=None, LD_LIBRARY_PATH=None, PYTHONPATH=None))
    return result.returncode == 0


def test_missing_typelib_says_what_to_do():
    if _installed_elsewhere():
        pytest.skip('PipeCom is installed on this machine: its typelib cannot go missing')
    result = _python('import pipecom', _env(GI_TYPELIB_PATH=tempfile.gettempdir()))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('ImportError: The PipeCom typelib, Pipecom-1.0.typelib, was not found')
    assert 'GI_TYPELIB_PATH' in last and 'LD_LIBRARY_PATH' in last


def test_missing_library_says_what_to_do():
    if _installed_elsewhere():
        pytest.skip('PipeCom is installed on this machine: its library cannot go missing')
    for code in ('import pipecom',
                 "import gi; gi.require_version('Pipecom', '1.0'); from gi.repository import Pipecom"):
        result = _python(code, _env(LD_LIBRARY_PATH=None))
        assert result.returncode == 1
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith('ImportError: The PipeCom library, libpipecom-1.0.so.0, '
                               'could not be loaded'), result.stderr
        assert 'LD_LIBRARY_PATH' in last


def test_missing_overrides_say_what_to_do(tmp_path):
    # The package without the overrides beside it
    import shutil
    shutil.copytree(os.path.dirname(pipecom.__file__), tmp_path / 'pipecom',
                    ignore=shutil.ignore_patterns('__pycache__'))
    result = _python('import pipecom', _env(PYTHONPATH=str(tmp_path)))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: PipeCom's PyGObject overrides (gi/overrides/Pipecom.py) "
                           "were not loaded"), result.stderr
    assert 'PYTHONPATH' in last

    # gi.repository.Pipecom imported before the overrides could be found
    code = textwrap.dedent('''
        import gi
        gi.require_version('Pipecom', '1.0')
        from gi.repository import Pipecom
        import sys
        sys.path.insert(0, %r)
        import pipecom
    ''' % os.path.dirname(os.path.dirname(pipecom.__file__)))
    result = _python(code, _env(PYTHONPATH=None))
    assert result.returncode == 1
    assert "overrides (gi/overrides/Pipecom.py) were not loaded" in result.stderr


def test_overrides_found_when_gi_came_first():
    # gi imported before the package's directory was on sys.path: importing
    # pipecom still brings the overrides in
    code = textwrap.dedent('''
        import gi
        import sys
        sys.path.insert(0, %r)
        import pipecom
        from gi.repository import Pipecom
        assert Pipecom.Pipe.__module__ == 'gi.overrides.Pipecom', Pipecom.Pipe.__module__
        print('ok')
    ''' % os.path.dirname(os.path.dirname(pipecom.__file__)))
    result = _python(code, _env(PYTHONPATH=None))
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'ok\n'


# -- The original README's examples, verbatim ---------------------------------

def _example_env():
    return _env(PYTHONIOENCODING='utf-8', PYTHONUNBUFFERED='1')


def _run_example(script, **kwargs):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, script)],
                          capture_output=True, text=True, encoding='utf-8',
                          timeout=DEADLINE * 2, env=_example_env(), cwd=EXAMPLES, **kwargs)


def test_original_quick_start():
    listener = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, 'quickstart_listener.py')],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, encoding='utf-8',
                                env=_example_env(), cwd=EXAMPLES)
    try:
        # send() with no timeout waits for the listener to be up
        sender = _run_example('quickstart_sender.py')
        assert sender.returncode == 0, sender.stderr
        assert sender.stdout == 'Message sent successfully!\n'
        out, err = listener.communicate('\n', timeout=DEADLINE)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    assert listener.returncode == 0, err
    assert 'Received: Hello, World!\n' in out
    assert 'Press Enter to stop...' in out


def test_original_response_pipe():
    result = _run_example('response_pipe.py')
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for task in ('Generate report', 'Process data', 'Send email', 'Final task'):
        assert "Task '%s': Submitted" % task in out
        assert '  - SUCCESS: Completed %s\n' % task in out
    assert '  - ERROR: Failed to process Handle error case\n' in out
    assert 'Results received: 5\n' in out
    assert 'Main pipe shutdown successfully' in out
    assert 'Response pipe shutdown successfully' in out
    assert 'Error' not in result.stderr


def test_original_chat():
    result = _run_example('chat.py')
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The example prints from several threads, so a line's newline may
    # come after another thread's text: match each message's own text.
    for client in (1, 2, 3):
        for i in (1, 2, 3):
            assert re.search(r'Message sent successfully: Client %d - Message %d(?!\d)' % (client, i), out)
            assert re.search(r'Received message: Client %d - Message %d(?!\d)' % (client, i), out)
        assert 'Client %d finished' % client in out
    assert 'Error sending' not in out and 'Unexpected error' not in out


def test_original_task_queue():
    result = _run_example('task_queue.py')
    assert result.returncode == 0, result.stderr
    for task in (1, 2, 3):
        assert 'Task %d submitted: Success\n' % task in result.stdout
    assert result.stdout.count('Processing task: ') == 3


def test_original_error_handling():
    start = time.monotonic()
    result = _run_example('error_handling.py')
    assert result.returncode == 0, result.stderr
    # The whole timeout of 5 s was waited for, as in the original
    assert time.monotonic() - start >= 5
    lines = result.stdout.splitlines()
    assert lines[0].startswith('Error: PipeError (Code: TIMEOUT): No listener on pipe '
                               '“nonexistent_pipe”')
    assert '[Context: pipe_name=nonexistent_pipe, path=' in lines[0]
    assert lines[1] == 'Error code: TIMEOUT'
    assert lines[2].startswith("Context: {'pipe_name': 'nonexistent_pipe', 'path': ")
    assert lines[2].endswith("'timeout': 5, 'max_attempts': 0}")
