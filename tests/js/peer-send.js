// peer-send.js: a GJS sender for the cross-process tests
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
//   gjs peer-send.js NAME MESSAGE
//
// Requests MESSAGE of the pipe NAME, asynchronously in a main loop, and
// prints the reply ("(none)" if there is none). On failure, prints
// "error DOMAIN CODE: MESSAGE" and exits with status 1.

const {GLib, Gio, Pipecom} = imports.gi;

Gio._promisify(Pipecom, 'request_async', 'request_finish');

const [name, text] = ARGV;
const loop = new GLib.MainLoop(null, false);
let status = 0;

Pipecom.request_async(name, text, 30, 0, null).then(reply => {
    print(reply ?? '(none)');
}).catch(e => {
    printerr(`error ${GLib.quark_to_string(e.domain)} ${e.code}: ${e.message}`);
    status = 1;
}).finally(() => loop.quit());

loop.run();
imports.system.exit(status);
