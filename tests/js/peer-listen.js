// peer-listen.js: a GJS listener for the cross-process tests
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
//   gjs peer-listen.js NAME
//
// Listens on NAME in a GLib main loop, prints "listening PATH" once it
// does, replies "gjs: MESSAGE" to each message, and exits when the die
// code arrives, printing "stopped REASON COUNT". Gives up after 60 s.

const {GLib, Pipecom} = imports.gi;

const [name] = ARGV;
const loop = new GLib.MainLoop(null, false);
const pipe = new Pipecom.Pipe({name});

pipe.connect('message-received', (_pipe, message) => `gjs: ${message.get_text()}`);
pipe.connect('stopped', (p, reason) => {
    print(`stopped ${reason} ${p.message_count}`);
    loop.quit();
});
pipe.listen();
print(`listening ${pipe.get_path()}`);

GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 60, () => {
    printerr('peer-listen.js: no die code within 60 s');
    imports.system.exit(2);
});
loop.run();
