// quickstart-sender.js: the quick start's sender, in GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
//   gjs quickstart-sender.js [--timeout=SECONDS] [NAME [MESSAGE]]

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

Gio._promisify(Pipecom, 'send_async', 'send_finish');

let timeout = 5;
const positional = [];
for (const arg of ARGV) {
    if (arg.startsWith('--timeout='))
        timeout = parseInt(arg.slice('--timeout='.length));
    else
        positional.push(arg);
}
const [name = 'my_pipe', message = 'Hello, World!'] = positional;

const loop = new GLib.MainLoop(null, false);
let status = 0;

Pipecom.send_async(name, message, timeout, 0, null).then(() => {
    print('Message sent successfully!');
}).catch(e => {
    printerr(`Failed to send message: ${e.message}`);
    status = 1;
}).finally(() => loop.quit());

loop.run();
System.exit(status);
