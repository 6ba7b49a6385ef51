// credentials.js: who sent each message, and refusing other users, in GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
//   gjs credentials.js [NAME]
//
// A listener that prints the user (and, where the system lets the listener
// verify it, the process) that sent each message, and refuses the senders
// of other users. It sends itself a message, then the die code, so that it
// runs on its own; send it more from elsewhere:
//
//   pipecom send NAME "Hello"

const {GLib, Gio, Pipecom} = imports.gi;

Gio._promisify(Pipecom, 'send_async', 'send_finish');

const name = ARGV[0] ?? `credentials-js-${new Gio.Credentials().get_unix_pid()}`;
const myUid = new Gio.Credentials().get_unix_user();
const loop = new GLib.MainLoop(null, false);

// A private pipe, as here, is reached by its own user only. One that other
// users may reach is named by a path, in a directory of the listener's,
// with access: Pipecom.Access.GROUP (or EVERYONE): the authorize handler
// below then lets in the pipe's own user only. (For a fixed list, the
// allowed_users property does it without a handler: allowed_users:
// ['alice', '1001'], names or uids; the pipe's own user is always allowed.)
const pipe = new Pipecom.Pipe({name});

// Asked once per connection, before its first message: false refuses it,
// and the sender gets Pipecom.Error.PERMISSION_DENIED
pipe.connect('authorize', (_pipe, credentials) => {
    const uid = credentials.get_unix_user();
    if (uid !== myUid)
        print(`Refusing a sender of uid ${uid}`);
    return uid === myUid;
});

pipe.connect('message-received', (_pipe, message) => {
    const credentials = message.get_credentials();
    let who = `uid ${credentials.get_unix_user()}`;
    // The pid only when the listener verified it (else it is -1)
    if (message.get_sender_verified() & Pipecom.SenderFlags.PROCESS)
        who += `, pid ${credentials.get_unix_pid()}`;
    print(`From ${who}: ${message.get_text()}`);
    return null;
});

pipe.connect('stopped', () => loop.quit());

pipe.listen();
print(`Listening on ${name} (${pipe.path}).`);

(async () => {
    try {
        await Pipecom.send_async(name, 'Hello from myself', 10, 0, null);
        await Pipecom.send_async(name, Pipecom.DEFAULT_DIE_CODE, 10, 0, null);
    } catch (e) {
        printerr(`Error: ${e.message}`);
        pipe.stop();
        imports.system.exit(1);
    }
})();

loop.run();
print('Stopped.');
