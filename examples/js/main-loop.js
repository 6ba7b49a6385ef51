// main-loop.js: a GTK-free GJS service on a Gio.Application main loop
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
// A Gio.Application (no GTK) that serves a control pipe while it runs,
// and quits when the pipe stops. Here it sends itself a few commands.

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

Gio._promisify(Pipecom, 'request_async', 'request_finish');

const name = `main-loop-${new Gio.Credentials().get_unix_pid()}`;
const app = new Gio.Application({
    application_id: 'org.example.PipecomService',
    flags: Gio.ApplicationFlags.NON_UNIQUE,
});
let counter = 0;
let replies = [];

app.connect('activate', () => {
    app.hold();                             // stay alive while the pipe serves
    const pipe = new Pipecom.Pipe({name, die_code: 'quit'});
    pipe.connect('message-received', (_pipe, message) => {
        switch (message.get_text()) {
        case 'increment':
            return String(++counter);
        case 'status':
            return `counter=${counter}`;
        default:
            message.reply_error(new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT,
                `unknown command “${message.get_text()}”`));
            return null;
        }
    });
    pipe.connect('stopped', () => app.release());
    pipe.listen();

    (async () => {
        for (const command of ['increment', 'increment', 'status']) {
            // eslint-disable-next-line no-await-in-loop
            replies.push(await Pipecom.request_async(name, command, 5, 0, null));
        }
        try {
            await Pipecom.request_async(name, 'dance', 5, 0, null);
        } catch (e) {
            replies.push(e.message);
        }
        await Pipecom.request_async(name, 'quit', 5, 0, null);
    })().catch(logError);
});

app.run([System.programInvocationName]);
print(replies.join('\n'));
System.exit(replies.length === 4 && replies[2] === 'counter=2' ? 0 : 1);
