// quickstart-listener.js: the quick start's listener, in GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
//   gjs quickstart-listener.js [--timeout=SECONDS] [NAME]
//
// Prints each message until "PIPECOM_DIE" arrives (or, with --timeout,
// until no message came for SECONDS). GJS serves in its main loop.

const {GLib, Pipecom} = imports.gi;

let timeout = 0;
let name = 'my_pipe';
for (const arg of ARGV) {
    if (arg.startsWith('--timeout='))
        timeout = parseInt(arg.slice('--timeout='.length));
    else
        name = arg;
}

const loop = new GLib.MainLoop(null, false);
const pipe = new Pipecom.Pipe({name, timeout});

pipe.connect('message-received', (_pipe, message) => {
    print(`Received: ${message.get_text()}`);
    return null;                            // acknowledge, no reply
});
pipe.connect('stopped', (p, reason) => {
    print(`Stopped (${reason === Pipecom.StopReason.TIMEOUT ? 'timeout' : reason}) after ${p.message_count} message(s)`);
    loop.quit();
});

pipe.listen();
print(`Listening on ${name}. Send "PIPECOM_DIE" to stop.`);
loop.run();
