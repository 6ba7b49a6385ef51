# test_introspection.py: the whole API through plain GObject introspection
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT
#
# Only the introspected API is used here, as from any language binding:
# GObject properties, signal handlers with (pipe, message) arguments, the
# functions with all their positional arguments, _async/_finish pairs with
# a GLib.MainLoop. Meson runs this file twice: without the overrides on
# the path (PIPECOM_TEST_OVERRIDES unset), where nothing of them may show,
# and with them, where all of it must still work unchanged.

import os
import threading

import pytest

from gi.repository import Gio, GLib, GObject, Pipecom

from conftest import DEADLINE, PID_VERIFIED, iterate_until, stop_and_wait, wait_stopped

TEXT = 'Hello, World!'


def test_overrides_loaded_or_not():
    with_overrides = os.environ.get('PIPECOM_TEST_OVERRIDES') == '1'
    overridden = Pipecom.Pipe.__module__ != 'gi.repository.Pipecom'
    assert overridden == with_overrides, Pipecom.Pipe.__module__
    assert hasattr(Pipecom, 'PipeError') == with_overrides


def test_types_and_constants():
    assert GObject.type_is_a(Pipecom.Pipe.__gtype__, GObject.Object.__gtype__)
    assert GObject.type_is_a(Pipecom.Client.__gtype__, GObject.Object.__gtype__)
    assert GObject.type_is_a(Pipecom.Message.__gtype__, GObject.Object.__gtype__)
    assert Pipecom.DEFAULT_DIE_CODE == 'PIPECOM_DIE'
    assert Pipecom.DEFAULT_MAX_MESSAGE_SIZE == 64 * 1024 * 1024
    assert Pipecom.MAJOR_VERSION == 1
    assert GLib.quark_to_string(Pipecom.error_quark()) == 'pipecom-error-quark'
    assert int(Pipecom.Error.TIMEOUT) == 3
    assert int(Pipecom.Error.HANDLER_FAILED) == 10
    assert Pipecom.StopReason.DIE_CODE.value_nick == 'die-code'


def test_pipe_properties(name):
    pipe = Pipecom.Pipe.new(name)
    assert pipe.get_name() == name
    assert pipe.props.name == name
    assert pipe.get_path() is None
    assert pipe.get_die_code() == 'PIPECOM_DIE'
    assert not pipe.get_threaded()
    assert not pipe.get_listening()
    assert pipe.get_message_count() == 0
    assert pipe.get_stop_reason() == Pipecom.StopReason.NONE

    pipe.set_timeout(7)
    pipe.set_max_messages(3)
    pipe.set_die_code(None)
    pipe.set_response_pipe_name('elsewhere')
    pipe.set_buffer_size(8192)
    pipe.set_max_message_size(1000)
    assert pipe.get_timeout() == 7
    assert pipe.props.max_messages == 3
    assert pipe.get_die_code() is None
    assert pipe.get_response_pipe_name() == 'elsewhere'
    pipe.set_response_pipe_name(None)
    assert pipe.get_response_pipe_name() is None
    assert pipe.get_buffer_size() == 8192
    assert pipe.get_max_message_size() == 1000
    assert pipe.get_access() == Pipecom.Access.PRIVATE
    pipe.props.access = Pipecom.Access.GROUP
    assert pipe.get_access() == Pipecom.Access.GROUP
    assert Pipecom.Access.EVERYONE.value_nick == 'everyone'

    notified = []
    pipe.connect('notify::timeout', lambda *a: notified.append(1))
    pipe.props.timeout = 9
    pipe.props.timeout = 9
    assert notified == [1]

    threaded = Pipecom.Pipe(name=name, threaded=True, timeout=2, die_code='BYE')
    assert threaded.get_threaded()
    assert threaded.props.die_code == 'BYE'


def test_main_loop_reply_string(name):
    pipe = Pipecom.Pipe(name=name)
    received = []

    def message_received_cb(p, message):
        assert p is pipe
        received.append((message.get_text(), message.get_size()))
        return 'ACK: ' + message.get_text()

    pipe.connect('message-received', message_received_cb)
    assert pipe.listen()
    assert pipe.get_listening()
    assert pipe.get_path().endswith('/pipecom/' + name)

    loop = GLib.MainLoop()
    replies = []

    def request_done_cb(source, result, user_data):
        assert source is None
        assert user_data == 'data'
        replies.append(Pipecom.request_finish(result))
        loop.quit()

    Pipecom.request_async(name, TEXT, DEADLINE, 3, None, request_done_cb, 'data')
    GLib.timeout_add_seconds(DEADLINE, lambda: pytest.fail('timed out'))
    loop.run()
    assert replies == ['ACK: ' + TEXT]
    assert received == [(TEXT, len(TEXT))]
    assert pipe.get_message_count() == 1

    stopped = []
    pipe.connect('stopped', lambda p, reason: stopped.append(reason))
    pipe.stop()
    iterate_until(lambda: stopped)
    assert stopped == [Pipecom.StopReason.REQUESTED]
    assert not pipe.get_listening()


def test_run_until_die_code(name):
    pipe = Pipecom.Pipe(name=name, die_code='STOP NOW')
    pipe.connect('message-received', lambda p, m: None)
    results = []

    def sender():
        results.append(Pipecom.send(name, 'one', DEADLINE, 0))
        results.append(Pipecom.send(name, 'STOP NOW', DEADLINE, 0))

    # The sender connects once run() listens; it retries until then
    thread = threading.Thread(target=sender)
    thread.start()
    assert pipe.run()
    thread.join(DEADLINE)
    assert results == [True, True]
    assert pipe.get_stop_reason() == Pipecom.StopReason.DIE_CODE
    assert pipe.get_message_count() == 1


def test_run_max_messages_and_timeout(name, make_name):
    pipe = Pipecom.Pipe(name=name, max_messages=2, threaded=True)
    assert pipe.listen()
    assert Pipecom.send(name, 'a', DEADLINE, 0)
    assert Pipecom.send(name, 'b', DEADLINE, 0)
    wait_stopped(pipe)
    assert pipe.get_stop_reason() == Pipecom.StopReason.MAX_MESSAGES

    idle = Pipecom.Pipe(name=make_name('idle'), timeout=1)
    assert idle.run()
    assert idle.get_stop_reason() == Pipecom.StopReason.TIMEOUT


def test_threaded_pipe_sync_calls(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)
    threads = []

    def message_received_cb(p, message):
        threads.append(threading.get_ident())
        return message.get_text().upper()

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    assert Pipecom.request(name, 'abc', DEADLINE, 0) == 'ABC'
    assert Pipecom.send(name, 'x', DEADLINE, 0) is True
    assert threads and threads[0] != threading.get_ident()
    stop_and_wait(pipe)


def test_no_reply_acknowledges(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)
    pipe.connect('message-received', lambda p, m: None)
    pipe.listen()
    assert Pipecom.request(name, 'anything', DEADLINE, 0) is None
    stop_and_wait(pipe)


def test_reply_later_with_hold(name):
    pipe = Pipecom.Pipe(name=name)
    later = []

    def message_received_cb(p, message):
        message.hold()
        later.append(message)
        assert not message.get_replied()
        return None

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    replies = []
    Pipecom.request_async(name, 'wait for it', DEADLINE, 0, None,
                          lambda s, r, d: replies.append(Pipecom.request_finish(r)), None)
    iterate_until(lambda: later)
    # Not answered at the end of the emission: held
    assert not replies
    later[0].reply('done later')
    assert later[0].get_replied()
    iterate_until(lambda: replies)
    assert replies == ['done later']
    pipe.stop()


def test_reply_later_from_idle_keeping_a_reference(name):
    pipe = Pipecom.Pipe(name=name)

    def message_received_cb(p, message):
        GLib.idle_add(lambda: message.reply('from idle') and False)
        return None

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    replies = []
    Pipecom.request_async(name, 'q', DEADLINE, 0, None,
                          lambda s, r, d: replies.append(Pipecom.request_finish(r)), None)
    iterate_until(lambda: replies)
    assert replies == ['from idle']
    pipe.stop()


def test_bytes_payloads(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)
    seen = []

    def message_received_cb(p, message):
        data = message.get_bytes().get_data()
        seen.append((data, message.get_text()))
        message.reply_bytes(GLib.Bytes.new(data[::-1]))
        return None

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    payload = bytes(range(256)) * 4
    reply = Pipecom.request_bytes(name, GLib.Bytes.new(payload), DEADLINE, 0)
    assert reply.get_data() == payload[::-1]
    assert Pipecom.send_bytes(name, GLib.Bytes.new(b'\x00\xff'), DEADLINE, 0)
    assert seen[0] == (payload, None)
    assert seen[1] == (b'\x00\xff', None)

    loop = GLib.MainLoop()
    results = []

    def done_cb(source, result, finish):
        results.append(finish(result))
        if len(results) == 2:
            loop.quit()

    Pipecom.send_bytes_async(name, GLib.Bytes.new(b'abc'), DEADLINE, 0, None,
                             done_cb, Pipecom.send_bytes_finish)
    Pipecom.request_bytes_async(name, GLib.Bytes.new(b'xyz'), DEADLINE, 0, None,
                                done_cb, Pipecom.request_bytes_finish)
    GLib.timeout_add_seconds(DEADLINE, lambda: pytest.fail('timed out'))
    loop.run()
    assert True in results
    assert [r.get_data() for r in results if r is not True] == [b'zyx']
    stop_and_wait(pipe)


def test_send_async(name):
    pipe = Pipecom.Pipe(name=name)
    texts = []
    pipe.connect('message-received', lambda p, m: texts.append(m.get_text()))
    pipe.listen()
    results = []
    Pipecom.send_async(name, 'async', DEADLINE, 0, None,
                       lambda s, r, d: results.append(Pipecom.send_finish(r)), None)
    iterate_until(lambda: results)
    assert results == [True]
    assert texts == ['async']
    pipe.stop()


def test_reply_error_and_handler_failed(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)

    def message_received_cb(p, message):
        message.reply_error(GLib.Error.new_literal(Gio.io_error_quark(),
                                                   'no such task', Gio.IOErrorEnum.NOT_FOUND))
        return None

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    with pytest.raises(GLib.Error) as info:
        Pipecom.request(name, 'task', DEADLINE, 0)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED)
    assert 'no such task' in info.value.message
    stop_and_wait(pipe)


def test_errors_are_glib_errors(name, tmp_path):
    with pytest.raises(GLib.Error) as info:
        Pipecom.send(name, 'nobody listens', 2, 1)
    assert info.value.domain == 'pipecom-error-quark'
    assert info.value.code == Pipecom.Error.CONNECTION_FAILED

    with pytest.raises(GLib.Error) as info:
        Pipecom.request(str(tmp_path / 'no' / 'such' / 'dir'), 'x', 2, 1)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.INVALID_PIPE)

    with pytest.raises(GLib.Error) as info:
        Pipecom.Pipe.new('').listen()
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.INVALID_PIPE)

    pipe = Pipecom.Pipe(name=name, threaded=True)
    pipe.listen()
    with pytest.raises(GLib.Error) as info:
        Pipecom.Pipe(name=name).listen()
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.ADDRESS_IN_USE)
    stop_and_wait(pipe)


def test_message_credentials(name):
    # The sender's credentials, a Gio.Credentials: here, this process
    pipe = Pipecom.Pipe(name=name, threaded=True)
    got = []

    def message_received_cb(p, message):
        credentials = message.get_credentials()
        got.append((credentials.get_unix_user(), credentials.get_unix_pid(),
                    message.get_sender_verified()))
        return None

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    assert Pipecom.send(name, 'who am I', DEADLINE, 0) is True
    stop_and_wait(pipe)
    [(uid, pid, verified)] = got
    assert uid == os.getuid()
    assert verified & Pipecom.SenderFlags.USER
    if verified & Pipecom.SenderFlags.PROCESS:
        assert pid == os.getpid()
    else:
        assert pid == -1
    if PID_VERIFIED:
        assert verified & Pipecom.SenderFlags.PROCESS


def test_authorize_refuses(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)
    asked = []
    received = []

    def authorize_cb(p, credentials):
        asked.append(credentials.get_unix_user())
        return len(asked) > 1       # the first connection is refused

    pipe.connect('authorize', authorize_cb)
    pipe.connect('message-received', lambda p, m: received.append(m.get_text()))
    pipe.listen()
    with pytest.raises(GLib.Error) as info:
        Pipecom.send(name, 'refused', DEADLINE, 0)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.PERMISSION_DENIED)
    assert Pipecom.send(name, 'allowed', DEADLINE, 0) is True
    stop_and_wait(pipe)
    assert asked == [os.getuid(), os.getuid()]
    assert received == ['allowed']


def test_timeout_error(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)
    held = []

    def message_received_cb(p, message):
        message.hold()      # never answered in time
        held.append(message)

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    with pytest.raises(GLib.Error) as info:
        Pipecom.request(name, 'slow', 1, 0)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.TIMEOUT)
    held[0].reply('too late')
    stop_and_wait(pipe)


def test_message_too_large(name):
    pipe = Pipecom.Pipe(name=name, threaded=True, max_message_size=16)
    pipe.listen()
    with pytest.raises(GLib.Error) as info:
        Pipecom.send_bytes(name, GLib.Bytes.new(b'x' * 100), DEADLINE, 0)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.MESSAGE_TOO_LARGE)
    stop_and_wait(pipe)


def test_cancellation(name):
    pipe = Pipecom.Pipe(name=name)
    held = []

    def message_received_cb(p, message):
        message.hold()
        held.append(message)

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    cancellable = Gio.Cancellable()
    errors = []

    def done_cb(source, result, data):
        try:
            Pipecom.request_finish(result)
        except GLib.Error as error:
            errors.append(error)

    Pipecom.request_async(name, 'cancel me', DEADLINE, 0, cancellable, done_cb, None)
    iterate_until(lambda: held)
    cancellable.cancel()
    iterate_until(lambda: errors)
    assert errors[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)

    # Cancelled before it starts
    client = Pipecom.Client.new(name)
    cancelled = Gio.Cancellable()
    cancelled.cancel()
    with pytest.raises(GLib.Error) as info:
        client.send('x', cancelled)
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    held[0].reply('late')
    pipe.stop()


def test_response_pipe_and_response_error(name, make_name):
    results_name = make_name('results')
    results = Pipecom.Pipe(name=results_name, threaded=True)
    forwarded = []
    results.connect('message-received', lambda p, m: forwarded.append(m.get_text()))
    results.listen()

    pipe = Pipecom.Pipe(name=name, response_pipe_name=results_name)
    pipe.connect('message-received', lambda p, m: 'RESULT: ' + m.get_text())
    errors = []
    pipe.connect('response-error', lambda p, error: errors.append(error))
    pipe.listen()
    done = []
    Pipecom.send_async(name, 'task', DEADLINE, 0, None,
                       lambda s, r, d: done.append(Pipecom.send_finish(r)), None)
    iterate_until(lambda: done and forwarded)
    assert forwarded == ['RESULT: task']

    # The response pipe goes away: "response-error" says so
    stop_and_wait(results)
    Pipecom.send_async(name, 'task 2', DEADLINE, 0, None,
                       lambda s, r, d: done.append(Pipecom.send_finish(r)), None)
    iterate_until(lambda: errors)
    assert isinstance(errors[0], GLib.Error)
    assert errors[0].domain == 'pipecom-error-quark'
    pipe.stop()
    iterate_until(lambda: not pipe.get_listening())


def test_client_sync(name):
    pipe = Pipecom.Pipe(name=name, threaded=True)
    pipe.connect('message-received',
                 lambda p, m: None if m.get_text() == 'quiet' else '<%s>' % m.get_text())
    pipe.listen()
    client = Pipecom.Client.new(name)
    assert client.get_pipe_name() == name
    assert client.props.pipe_name == name
    client.set_timeout(DEADLINE)
    client.set_max_attempts(3)
    assert client.get_timeout() == DEADLINE
    assert client.get_max_attempts() == 3
    assert not client.get_connected()
    assert client.connect(None)
    assert client.get_connected()
    assert client.send('one', None)
    assert client.request('two', None) == '<two>'
    assert client.request('quiet', None) is None
    assert client.send_bytes(GLib.Bytes.new(b'\x01\x02'), None)
    assert client.request_bytes(GLib.Bytes.new(b'three'), None).get_data() == b'<three>'
    client.close()
    assert not client.get_connected()
    # A closed client reconnects on the next call
    assert client.request('four', None) == '<four>'
    client.close()
    assert pipe.get_message_count() == 6
    stop_and_wait(pipe)


def test_client_async_in_flight(name):
    pipe = Pipecom.Pipe(name=name)
    pipe.connect('message-received', lambda p, m: m.get_text() * 2)
    pipe.listen()
    client = Pipecom.Client(pipe_name=name, timeout=DEADLINE)
    results = {}

    def connected_cb(c, result, data):
        results['connect'] = c.connect_finish(result)

    client.connect_async(None, connected_cb, None)
    iterate_until(lambda: 'connect' in results)
    assert results['connect'] is True

    def store(key, finish):
        def cb(c, result, data):
            assert c is client
            results[key] = finish(result)
        return cb

    client.send_async('s', None, store('send', client.send_finish), None)
    client.send_bytes_async(GLib.Bytes.new(b'b'), None, store('send_bytes', client.send_bytes_finish), None)
    for i in range(5):
        client.request_async('r%d' % i, None, store('r%d' % i, client.request_finish), None)
    client.request_bytes_async(GLib.Bytes.new(b'rb'), None,
                               store('request_bytes', client.request_bytes_finish), None)
    iterate_until(lambda: len(results) == 9)
    assert results['send'] is True and results['send_bytes'] is True
    assert [results['r%d' % i] for i in range(5)] == ['r%dr%d' % (i, i) for i in range(5)]
    assert results['request_bytes'].get_data() == b'rbrb'
    client.close()
    pipe.stop()
    iterate_until(lambda: not pipe.get_listening())


def test_client_errors(name):
    client = Pipecom.Client(pipe_name=name, timeout=2, max_attempts=1)
    with pytest.raises(GLib.Error) as info:
        client.connect(None)
    assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED)
    errors = []

    def done_cb(c, result, data):
        try:
            c.request_finish(result)
        except GLib.Error as error:
            errors.append(error)

    client.request_async('x', None, done_cb, None)
    iterate_until(lambda: errors)
    assert errors[0].matches(Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED)


def test_raising_handler_answers_with_error_or_acknowledges(name):
    # A handler that raises through plain PyGObject: with the overrides the
    # sender gets HANDLER_FAILED at once; without them PyGObject prints the
    # exception, and the message must not make the sender wait for its
    # whole timeout either way.
    pipe = Pipecom.Pipe(name=name, threaded=True)

    def message_received_cb(p, message):
        raise RuntimeError('handler bug')

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    if os.environ.get('PIPECOM_TEST_OVERRIDES') == '1':
        with pytest.raises(GLib.Error) as info:
            Pipecom.request(name, 'x', DEADLINE, 0)
        assert info.value.matches(Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED)
        assert 'handler bug' in info.value.message
    stop_and_wait(pipe)


def test_async_without_callback(name):
    # The callbacks are (nullable): fire and forget
    pipe = Pipecom.Pipe(name=name)
    texts = []
    pipe.connect('message-received', lambda p, m: texts.append(m.get_text()))
    pipe.listen()
    Pipecom.send_async(name, 'fire', DEADLINE, 0, None, None, None)
    Pipecom.request_bytes_async(name, GLib.Bytes.new(b'and forget'), DEADLINE, 0, None, None, None)
    client = Pipecom.Client.new(name)
    client.send_async('from a client', None, None, None)
    iterate_until(lambda: len(texts) == 3)
    assert sorted(texts) == ['and forget', 'fire', 'from a client']
    client.close()
    pipe.stop()
    iterate_until(lambda: not pipe.get_listening())


def test_kept_messages_stay_themselves(name):
    # The pipe reuses a message that nobody kept once its handler returned:
    # one that Python code keeps (in a list, or through an attribute set on
    # its wrapper) must stay the same object with the same payload while
    # many more messages are handled, and be answered to its own sender.
    pipe = Pipecom.Pipe(name=name, threaded=True)
    kept = []
    tagged = []
    lock = threading.Lock()

    def message_received_cb(p, message):
        text = message.get_text()
        with lock:
            # A kept message is never handed out again.
            assert all(m is not message for m in kept)
            assert not hasattr(message, 'tag'), message.tag
            if text.startswith('keep:'):
                kept.append(message)
            elif text.startswith('tag:'):
                message.tag = text
                tagged.append(text)
        return 'ack:' + text

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    client = Pipecom.Client.new(name)
    client.set_timeout(DEADLINE)
    sent = []
    for i in range(20):
        for kind in ('keep', 'plain', 'tag', 'plain'):
            text = '%s:%d' % (kind, i)
            assert client.request(text, None) == 'ack:' + text
            if kind == 'keep':
                sent.append(text)
    with lock:
        assert [m.get_text() for m in kept] == sent
        assert [m.get_size() for m in kept] == [len(t) for t in sent]
        assert all(m.get_replied() for m in kept)
        assert len(set(id(m) for m in kept)) == len(sent)
        assert len(tagged) == 20
    client.close()
    stop_and_wait(pipe)


def test_messages_kept_unanswered_are_answered_later(name):
    # Kept and unanswered, while other senders' messages come and go: each
    # answer given later reaches its own sender.
    pipe = Pipecom.Pipe(name=name)
    kept = []

    def message_received_cb(p, message):
        text = message.get_text()
        if text.startswith('later:'):
            kept.append(message)
            return None
        return 'ack:' + text

    pipe.connect('message-received', message_received_cb)
    pipe.listen()
    replies = {}

    def done_cb(source, result, text):
        replies[text] = source.request_finish(result)

    waiters = []
    plain = Pipecom.Client.new(name)
    for i in range(5):
        text = 'later:%d' % i
        waiter = Pipecom.Client.new(name)
        waiters.append(waiter)
        waiter.request_async(text, None, done_cb, text)
        iterate_until(lambda: len(kept) == i + 1)
        for j in range(5):
            other = 'plain:%d:%d' % (i, j)
            plain.request_async(other, None, done_cb, other)
            iterate_until(lambda: other in replies)
            assert replies[other] == 'ack:' + other
    assert [m.get_text() for m in kept] == ['later:%d' % i for i in range(5)]
    assert not any(m.get_replied() for m in kept)
    for message in kept:
        message.reply('late:' + message.get_text())
    iterate_until(lambda: all(('later:%d' % i) in replies for i in range(5)))
    for i in range(5):
        assert replies['later:%d' % i] == 'late:later:%d' % i
    for client in waiters + [plain]:
        client.close()
    pipe.stop()
    iterate_until(lambda: not pipe.get_listening())
