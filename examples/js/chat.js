// chat.js: the original README's simple chat, in GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
// A chat server and three clients started 0.2 s apart, each sending three
// messages and retrying with an exponential backoff while the server is
// busy. Everything runs in one main loop, with promises.

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

Gio._promisify(Pipecom, 'request_async', 'request_finish');

const server = `simple_chat_server-${new Gio.Credentials().get_unix_pid()}`;
const CLIENTS = 3, MESSAGES = 3;
const loop = new GLib.MainLoop(null, false);

const wait = ms => new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
    resolve();
    return GLib.SOURCE_REMOVE;
}));

const serverPipe = new Pipecom.Pipe({
    name: server, timeout: 30, max_messages: CLIENTS * MESSAGES, die_code: 'SHUTDOWN',
});
serverPipe.connect('message-received', (_pipe, message) => {
    print(`Received message: ${message.get_text()}`);
    return `ACK: ${message.get_text()}`;
});
serverPipe.listen();

async function sendMessage(message, maxRetries = 5) {
    for (let attempt = 0; attempt < maxRetries; attempt++) {
        try {
            // eslint-disable-next-line no-await-in-loop
            const reply = await Pipecom.request_async(server, message, 5, 3, null);
            print(`Message sent: ${message} -> ${reply}`);
            return true;
        } catch (e) {
            if (!e.matches(Pipecom.error_quark(), Pipecom.Error.BUSY) || attempt === maxRetries - 1) {
                print(`Error sending message after ${attempt + 1} attempts: ${e.message}`);
                return false;
            }
            const waitTime = 2 ** attempt * 100;    // 100, 200, 400, 800 ms
            print(`Pipe busy, retrying in ${waitTime} ms...`);
            // eslint-disable-next-line no-await-in-loop
            await wait(waitTime);
        }
    }
    return false;
}

async function exampleClient(clientId) {
    await wait((clientId - 1) * 200);           // staggered start
    const results = [];
    for (let i = 1; i <= MESSAGES; i++) {
        // eslint-disable-next-line no-await-in-loop
        results.push(await sendMessage(`Client ${clientId} - Message ${i}`));
        // eslint-disable-next-line no-await-in-loop
        await wait(50 + Math.random() * 100);
    }
    print(`Client ${clientId} finished`);
    return results.every(r => r);
}

let ok = false;
const stopped = new Promise(resolve => serverPipe.connect('stopped', resolve));
Promise.all([1, 2, 3].map(exampleClient)).then(async results => {
    ok = results.every(r => r);
    await stopped;          // max_messages reached
}).finally(() => loop.quit());
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 30, () => loop.quit());
loop.run();
print(`Server stopped after ${serverPipe.message_count} message(s)`);
System.exit(ok && serverPipe.message_count === CLIENTS * MESSAGES ? 0 : 1);
