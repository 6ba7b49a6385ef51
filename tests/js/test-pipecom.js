// test-pipecom.js: the PipeCom API from GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
// Each test is an async function run in turn in a GLib main loop, with a
// deadline; the output is TAP. GJS runs handlers in its main thread only,
// so the pipes here serve in the main loop (no "threaded" pipes).

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

const DEADLINE = 30;

Gio._promisify(Pipecom, 'send_async', 'send_finish');
Gio._promisify(Pipecom, 'send_bytes_async', 'send_bytes_finish');
Gio._promisify(Pipecom, 'request_async', 'request_finish');
Gio._promisify(Pipecom, 'request_bytes_async', 'request_bytes_finish');
Gio._promisify(Pipecom.Client.prototype, 'connect_async', 'connect_finish');
Gio._promisify(Pipecom.Client.prototype, 'send_async', 'send_finish');
Gio._promisify(Pipecom.Client.prototype, 'send_bytes_async', 'send_bytes_finish');
Gio._promisify(Pipecom.Client.prototype, 'request_async', 'request_finish');
Gio._promisify(Pipecom.Client.prototype, 'request_bytes_async', 'request_bytes_finish');

// A private runtime directory, so pipe names never collide
const runtimeDir = GLib.dir_make_tmp('pipecom-gjs-XXXXXX');
GLib.setenv('XDG_RUNTIME_DIR', runtimeDir, true);

let counter = 0;
function makeName(tag) {
    return `gjs-${new Gio.Credentials().get_unix_pid()}-${tag}-${counter++}`;
}

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

function assertEqual(actual, expected, what = '') {
    if (actual !== expected)
        throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function assertRejects(promise, domain, code, what) {
    try {
        await promise;
    } catch (e) {
        assert(e instanceof GLib.Error, `${what}: a GLib.Error, not ${e}`);
        assert(e.matches(domain, code),
            `${what}: expected ${GLib.quark_to_string(domain)} ${code}, got ${GLib.quark_to_string(e.domain)} ${e.code} (${e.message})`);
        return e;
    }
    throw new Error(`${what}: did not fail`);
}

function assertThrows(func, domain, code, what) {
    try {
        func();
    } catch (e) {
        assert(e instanceof GLib.Error, `${what}: a GLib.Error, not ${e}`);
        assert(e.matches(domain, code),
            `${what}: expected ${code}, got ${GLib.quark_to_string(e.domain)} ${e.code} (${e.message})`);
        return e;
    }
    throw new Error(`${what}: did not fail`);
}

function idle() {
    return new Promise(resolve => GLib.idle_add(GLib.PRIORITY_DEFAULT_IDLE, () => {
        resolve();
        return GLib.SOURCE_REMOVE;
    }));
}

function stopped(pipe) {
    return new Promise(resolve => {
        if (!pipe.listening) {
            resolve(pipe.stop_reason);
            return;
        }
        const id = pipe.connect('stopped', (p, reason) => {
            p.disconnect(id);
            resolve(reason);
        });
    });
}

async function waitFor(condition, what) {
    const deadline = GLib.get_monotonic_time() + DEADLINE * 1000000;
    while (!condition()) {
        if (GLib.get_monotonic_time() > deadline)
            throw new Error(`timed out waiting for: ${what}`);
        // eslint-disable-next-line no-await-in-loop
        await new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        }));
    }
}

function bytes(str) {
    return new GLib.Bytes(new TextEncoder().encode(str));
}

function text(glibBytes) {
    return new TextDecoder().decode(glibBytes.toArray());
}

const tests = [];
function test(name, func) {
    tests.push([name, func]);
}

test('types and constants', () => {
    assertEqual(Pipecom.DEFAULT_DIE_CODE, 'PIPECOM_DIE', 'die code');
    assertEqual(Pipecom.Error.TIMEOUT, 3, 'Pipecom.Error.TIMEOUT');
    assertEqual(Pipecom.Error.HANDLER_FAILED, 10, 'HANDLER_FAILED');
    assertEqual(GLib.quark_to_string(Pipecom.error_quark()), 'pipecom-error-quark', 'quark');
    assertEqual(Pipecom.StopReason.DIE_CODE, 1, 'StopReason');
});

test('pipe properties', () => {
    const name = makeName('props');
    const pipe = new Pipecom.Pipe({name, timeout: 3, max_messages: 2, die_code: 'BYE'});
    assertEqual(pipe.name, name, 'name');
    assertEqual(pipe.get_name(), name, 'get_name');
    assertEqual(pipe.timeout, 3, 'timeout');
    assertEqual(pipe.max_messages, 2, 'max_messages');
    assertEqual(pipe.die_code, 'BYE', 'die_code');
    assertEqual(pipe.threaded, false, 'threaded');
    assertEqual(pipe.path, null, 'path');
    pipe.set_die_code(null);
    assertEqual(pipe.get_die_code(), null, 'die code disabled');
    pipe.response_pipe_name = 'results';
    assertEqual(pipe.get_response_pipe_name(), 'results', 'response pipe');
    pipe.set_buffer_size(8192);
    assertEqual(pipe.buffer_size, 8192, 'buffer size');
    pipe.max_message_size = 100;
    assertEqual(pipe.get_max_message_size(), 100, 'max message size');
    let notified = 0;
    pipe.connect('notify::timeout', () => notified++);
    pipe.timeout = 9;
    pipe.timeout = 9;
    assertEqual(notified, 1, 'notify once');
    assertEqual(Pipecom.Pipe.new(name).get_listening(), false, 'new');
});

test('main loop: reply string, send and request async', async () => {
    const name = makeName('reply');
    const pipe = new Pipecom.Pipe({name});
    const received = [];
    pipe.connect('message-received', (p, message) => {
        received.push(message.get_text());
        if (message.get_text() === 'quiet')
            return null;
        return `ACK: ${message.get_text()} (${message.get_size()})`;
    });
    assert(pipe.listen(), 'listen');
    assert(pipe.path.endsWith(`/pipecom/${name}`), 'path');
    assertEqual(await Pipecom.request_async(name, 'Hello', DEADLINE, 3, null), 'ACK: Hello (5)', 'reply');
    assertEqual(await Pipecom.request_async(name, 'quiet', DEADLINE, 3, null), null, 'no reply');
    assertEqual(await Pipecom.send_async(name, 'sent', DEADLINE, 3, null), true, 'send_async');
    // The callback is (nullable): fire and forget
    Pipecom.send_async(name, 'forget', DEADLINE, 3, null, null);
    await waitFor(() => received.length === 4, 'fire and forget');
    assertEqual(received.join(','), 'Hello,quiet,sent,forget', 'received');
    assertEqual(pipe.message_count, 4, 'message count');
    pipe.stop();
    assertEqual(await stopped(pipe), Pipecom.StopReason.REQUESTED, 'stop reason');
});

test('sync calls to a pipe the same thread serves', async () => {
    const name = makeName('sync');
    const pipe = new Pipecom.Pipe({name});
    pipe.connect('message-received', (p, m) => m.get_text().toUpperCase());
    pipe.listen();
    assertEqual(Pipecom.request(name, 'sync', DEADLINE, 0), 'SYNC', 'request');
    assertEqual(Pipecom.send(name, 'x', DEADLINE, 0), true, 'send');
    assertEqual(text(Pipecom.request_bytes(name, bytes('b'), DEADLINE, 0)), 'B', 'request_bytes');
    assertEqual(Pipecom.send_bytes(name, bytes('b'), DEADLINE, 0), true, 'send_bytes');
    pipe.stop();
    await stopped(pipe);
});

test('run() until the die code', async () => {
    const name = makeName('run');
    const pipe = new Pipecom.Pipe({name, die_code: 'SHUTDOWN'});
    const results = [];
    pipe.connect('message-received', () => null);
    // Sent from the main context that run() iterates. (Not with promises:
    // GJS runs their reactions only once control is back in JavaScript's
    // own loop, not while run() blocks.)
    GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
        results.push(Pipecom.send(name, 'one', DEADLINE, 0));
        results.push(Pipecom.send(name, 'SHUTDOWN', DEADLINE, 0));
        return GLib.SOURCE_REMOVE;
    });
    assert(pipe.run(), 'run');
    assertEqual(pipe.stop_reason, Pipecom.StopReason.DIE_CODE, 'stop reason');
    assertEqual(pipe.message_count, 1, 'count');
    await idle();
    assertEqual(results.join(), 'true,true', 'results');
});

test('max messages and inactivity timeout', async () => {
    const name = makeName('max');
    const pipe = new Pipecom.Pipe({name, max_messages: 2});
    pipe.listen();
    await Pipecom.send_async(name, 'a', DEADLINE, 0, null);
    await Pipecom.send_async(name, 'b', DEADLINE, 0, null);
    assertEqual(await stopped(pipe), Pipecom.StopReason.MAX_MESSAGES, 'max messages');

    const idlePipe = new Pipecom.Pipe({name: makeName('idle'), timeout: 1});
    assert(idlePipe.run(), 'run');
    assertEqual(idlePipe.stop_reason, Pipecom.StopReason.TIMEOUT, 'timeout');
});

test('reply later from an async handler', async () => {
    const name = makeName('later');
    const pipe = new Pipecom.Pipe({name});
    pipe.connect('message-received', (p, message) => {
        message.hold();
        (async () => {
            await idle();
            assertEqual(message.get_replied(), false, 'not replied yet');
            message.reply(`later: ${message.get_text()}`);
            assertEqual(message.get_replied(), true, 'replied');
        })();
        return null;
    });
    pipe.listen();
    const replies = await Promise.all([
        Pipecom.request_async(name, 'a', DEADLINE, 0, null),
        Pipecom.request_async(name, 'b', DEADLINE, 0, null),
    ]);
    assertEqual(replies.join(), 'later: a,later: b', 'replies');
    pipe.stop();
    await stopped(pipe);
});

test('kept messages stay themselves while others come and go', async () => {
    // The pipe reuses a message nobody kept once its handler returned: the
    // ones JavaScript keeps (held, answered later; or answered and kept)
    // must keep their payloads and reach their own senders.
    const name = makeName('kept');
    const pipe = new Pipecom.Pipe({name});
    const later = [];
    const answered = [];
    pipe.connect('message-received', (p, message) => {
        const t = message.get_text();
        assert(!later.includes(message) && !answered.includes(message), `${t}: a kept message again`);
        if (t.startsWith('later:')) {
            message.hold();
            later.push(message);
            return null;
        }
        if (t.startsWith('answered:'))
            answered.push(message);
        return `ack:${t}`;
    });
    pipe.listen();
    const client = new Pipecom.Client({pipe_name: name, timeout: DEADLINE});
    const pending = [];
    for (let i = 0; i < 5; i++) {
        pending.push(Pipecom.request_async(name, `later:${i}`, DEADLINE, 0, null));
        // eslint-disable-next-line no-await-in-loop
        await waitFor(() => later.length === i + 1, 'the held message');
        for (const kind of ['plain', 'answered', 'plain']) {
            // eslint-disable-next-line no-await-in-loop
            assertEqual(await client.request_async(`${kind}:${i}`, null), `ack:${kind}:${i}`, kind);
        }
    }
    assertEqual(later.map(m => m.get_text()).join(), [0, 1, 2, 3, 4].map(i => `later:${i}`).join(), 'held');
    assertEqual(answered.map(m => m.get_text()).join(), [0, 1, 2, 3, 4].map(i => `answered:${i}`).join(), 'answered');
    assert(answered.every(m => m.get_replied()), 'answered ones are answered');
    assert(later.every(m => !m.get_replied()), 'held ones are not');
    later.forEach(m => m.reply(`late:${m.get_text()}`));
    const replies = await Promise.all(pending);
    assertEqual(replies.join(), [0, 1, 2, 3, 4].map(i => `late:later:${i}`).join(), 'late replies');
    client.close();
    pipe.stop();
    await stopped(pipe);
});

test('bytes payloads', async () => {
    const name = makeName('bytes');
    const pipe = new Pipecom.Pipe({name});
    const seen = [];
    pipe.connect('message-received', (p, message) => {
        const data = message.get_bytes().toArray();
        seen.push([data.length, message.get_text()]);
        message.reply_bytes(new GLib.Bytes(data.reverse()));
        return null;
    });
    pipe.listen();
    const payload = new Uint8Array(1000).map((_, i) => i % 256);
    const reply = await Pipecom.request_bytes_async(name, new GLib.Bytes(payload), DEADLINE, 0, null);
    const back = reply.toArray();
    assertEqual(back.length, 1000, 'length');
    assert(back.every((b, i) => b === payload[999 - i]), 'reversed payload');
    assertEqual(await Pipecom.send_bytes_async(name, new GLib.Bytes([0xff]), DEADLINE, 0, null), true, 'send_bytes');
    assertEqual(seen[0][1], null, 'not UTF-8: no text');
    pipe.stop();
    await stopped(pipe);
});

test('PipecomClient', async () => {
    const name = makeName('client');
    const pipe = new Pipecom.Pipe({name});
    pipe.connect('message-received', (p, m) => (m.get_text() ?? 'bytes') + '!');
    pipe.listen();
    const client = new Pipecom.Client({pipe_name: name, timeout: DEADLINE, max_attempts: 3});
    assertEqual(client.pipe_name, name, 'pipe name');
    assertEqual(client.get_timeout(), DEADLINE, 'timeout');
    assertEqual(client.get_max_attempts(), 3, 'max attempts');
    assertEqual(client.connected, false, 'not connected');
    assertEqual(await client.connect_async(null), true, 'connect_async');
    assertEqual(client.get_connected(), true, 'connected');
    const replies = await Promise.all([1, 2, 3, 4].map(i => client.request_async(`r${i}`, null)));
    assertEqual(replies.join(), 'r1!,r2!,r3!,r4!', 'requests in flight');
    assertEqual(await client.send_async('s', null), true, 'send_async');
    assertEqual(await client.send_bytes_async(bytes('sb'), null), true, 'send_bytes_async');
    assertEqual(text(await client.request_bytes_async(bytes('rb'), null)), 'rb!', 'request_bytes_async');
    client.close();
    assertEqual(client.connected, false, 'closed at once');
    const sync = Pipecom.Client.new(name);
    sync.set_timeout(DEADLINE);
    sync.set_max_attempts(0);
    assert(sync.connect(null), 'connect');
    assertEqual(sync.request('sync', null), 'sync!', 'request');
    assertEqual(sync.send('x', null), true, 'send');
    assertEqual(sync.send_bytes(bytes('x'), null), true, 'send_bytes');
    assertEqual(text(sync.request_bytes(bytes('y'), null)), 'y!', 'request_bytes');
    sync.close();
    pipe.stop();
    await stopped(pipe);
});

test('errors are GLib.Errors in the Pipecom domain', async () => {
    const name = makeName('errors');
    const e = assertThrows(() => Pipecom.send(name, 'x', 2, 1),
        Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED, 'no listener');
    assert(e.message.includes(name), 'message names the pipe');
    await assertRejects(Pipecom.request_async(name, 'x', 2, 1, null),
        Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED, 'async, no listener');
    assertThrows(() => Pipecom.Pipe.new('').listen(),
        Pipecom.error_quark(), Pipecom.Error.INVALID_PIPE, 'empty name');

    const pipe = new Pipecom.Pipe({name, max_message_size: 4});
    pipe.connect('message-received', (p, message) => {
        if (message.get_text() === 'fail')
            message.reply_error(new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND, 'no such task'));
        else
            message.hold();     // never answered in time
        return null;
    });
    pipe.listen();
    assertThrows(() => new Pipecom.Pipe({name}).listen(),
        Pipecom.error_quark(), Pipecom.Error.ADDRESS_IN_USE, 'second listener');
    const failed = await assertRejects(Pipecom.request_async(name, 'fail', DEADLINE, 0, null),
        Pipecom.error_quark(), Pipecom.Error.HANDLER_FAILED, 'reply_error');
    assert(failed.message.includes('no such task'), 'handler error message');
    await assertRejects(Pipecom.send_async(name, 'too large', DEADLINE, 0, null),
        Pipecom.error_quark(), Pipecom.Error.MESSAGE_TOO_LARGE, 'too large');
    await assertRejects(Pipecom.request_async(name, 'slow', 1, 0, null),
        Pipecom.error_quark(), Pipecom.Error.TIMEOUT, 'timeout');
    pipe.stop();
    await stopped(pipe);
});

test('a threaded pipe with JavaScript handlers is refused', async () => {
    // GJS runs JavaScript in its main thread only: in the pipe's thread the
    // handler would not run and the sender would get no reply.
    const name = makeName('threaded');
    const pipe = new Pipecom.Pipe({name, threaded: true});
    pipe.connect('message-received', () => 'never');
    const e = assertThrows(() => pipe.listen(),
        Pipecom.error_quark(), Pipecom.Error.INVALID_PIPE, 'threaded, JS handler');
    assert(e.message.includes('JavaScript') && e.message.includes('threaded'),
        `message says why: ${e.message}`);
    assertEqual(pipe.listening, false, 'not listening');
    assertThrows(() => pipe.run(),
        Pipecom.error_quark(), Pipecom.Error.INVALID_PIPE, 'run()');
    // Nothing was left behind, and the name is free for a main-loop pipe
    const plain = new Pipecom.Pipe({name});
    plain.connect('message-received', (p, message) => message.get_text().toUpperCase());
    plain.listen();
    assertEqual(await Pipecom.request_async(name, 'ok', DEADLINE, 0, null), 'OK', 'reply');
    plain.stop();
    await stopped(plain);
    // A threaded pipe with no handler of JavaScript only acknowledges: allowed
    const bare = new Pipecom.Pipe({name: makeName('threaded-bare'), threaded: true});
    assert(bare.listen(), 'threaded, no handler');
    const barePath = bare.path;
    bare.stop();
    // It stops in its own thread (no JavaScript "stopped" handler allowed)
    while (bare.listening || GLib.file_test(barePath, GLib.FileTest.EXISTS))
        await idle();
});

test('credentials of the sender, and authorize', async () => {
    const name = makeName('creds');
    const self = new Gio.Credentials();
    const uid = self.get_unix_user();
    const pipe = new Pipecom.Pipe({name, allowed_users: [GLib.get_user_name(), `${uid}`]});
    assertEqual(pipe.allowed_users.join(), `${GLib.get_user_name()},${uid}`, 'allowed-users');
    const seen = [];
    pipe.connect('message-received', (p, message) => {
        const credentials = message.get_credentials();
        const verified = message.get_sender_verified();
        seen.push([credentials.get_unix_user(), credentials.get_unix_pid(), verified]);
        return `uid ${credentials.get_unix_user()}`;
    });
    pipe.listen();
    assertEqual(await Pipecom.request_async(name, 'who', DEADLINE, 0, null), `uid ${uid}`, 'reply');
    const [[seenUid, seenPid, verified]] = seen;
    assertEqual(seenUid, uid, 'uid');
    assert(verified & Pipecom.SenderFlags.USER, 'the user is verified');
    // The pid is there only when the listener verified it (on Linux, it does)
    assertEqual(seenPid, verified & Pipecom.SenderFlags.PROCESS ? self.get_unix_pid() : -1, 'pid');

    // authorize: asked once per connection; false refuses it
    const asked = [];
    const id = pipe.connect('authorize', (p, credentials) => {
        asked.push(credentials.get_unix_user());
        return false;
    });
    await assertRejects(Pipecom.send_async(name, 'refused', DEADLINE, 0, null),
        Pipecom.error_quark(), Pipecom.Error.PERMISSION_DENIED, 'authorize returned false');
    assertEqual(asked.join(), `${uid}`, 'asked once');
    assertEqual(seen.length, 1, 'the refused message was not handled');
    pipe.disconnect(id);
    assertEqual(await Pipecom.send_async(name, 'allowed', DEADLINE, 0, null), true, 'served on');
    assertEqual(seen.length, 2, 'handled');
    pipe.stop();
    await stopped(pipe);
});

test('cancellation', async () => {
    const name = makeName('cancel');
    const pipe = new Pipecom.Pipe({name});
    let held = null;
    pipe.connect('message-received', (p, message) => {
        message.hold();
        held = message;
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            cancellable.cancel();
            return GLib.SOURCE_REMOVE;
        });
        return null;
    });
    pipe.listen();
    const cancellable = new Gio.Cancellable();
    await assertRejects(Pipecom.request_async(name, 'cancel me', DEADLINE, 0, cancellable),
        Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED, 'cancelled request');
    assert(held !== null, 'message arrived');

    const cancelled = new Gio.Cancellable();
    cancelled.cancel();
    const client = Pipecom.Client.new(name);
    await assertRejects(client.send_async('x', cancelled),
        Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED, 'cancelled beforehand');
    held.reply('late');
    pipe.stop();
    await stopped(pipe);
});

// The harness: TAP, a deadline per test, a non-zero status on failure
const loop = new GLib.MainLoop(null, false);
let failures = 0;

async function main() {
    print(`1..${tests.length}`);
    for (const [i, [name, func]] of tests.entries()) {
        let timeoutId = 0;
        try {
            await Promise.race([
                Promise.resolve().then(func),
                new Promise((_, reject) => {
                    timeoutId = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, DEADLINE * 2, () => {
                        timeoutId = 0;
                        reject(new Error(`timed out after ${DEADLINE * 2} s`));
                        return GLib.SOURCE_REMOVE;
                    });
                }),
            ]);
            print(`ok ${i + 1} - ${name}`);
        } catch (e) {
            failures++;
            print(`not ok ${i + 1} - ${name}`);
            printerr(`# ${name}: ${e}\n${e.stack ?? ''}`);
        } finally {
            if (timeoutId)
                GLib.source_remove(timeoutId);
        }
    }
}

main().finally(() => loop.quit());
loop.run();

// No FIFO may be left behind
const dir = Gio.File.new_for_path(`${runtimeDir}/pipecom`);
if (dir.query_exists(null)) {
    const children = dir.enumerate_children('standard::name', 0, null);
    let info;
    while ((info = children.next_file(null)) !== null) {
        if (!info.get_name().startsWith('.')) {
            printerr(`# left behind: ${info.get_name()}`);
            failures++;
        }
    }
}
System.exit(failures > 0 ? 1 : 0);
