// error-handling.js: what PipeCom's errors look like from GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
// Errors are GLib.Error in the Pipecom domain, with a code from
// Pipecom.Error; a cancelled call fails with Gio.IOErrorEnum.CANCELLED.

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

Gio._promisify(Pipecom, 'send_async', 'send_finish');

const pid = new Gio.Credentials().get_unix_pid();
const loop = new GLib.MainLoop(null, false);
let failures = 0;

function expect(e, domain, code) {
    print(`Error: ${e.message}`);
    print(`Error code: ${e.code} (${GLib.quark_to_string(e.domain)})`);
    if (!e.matches(domain, code))
        failures++;
}

(async () => {
    // A pipe with no listener
    try {
        await Pipecom.send_async(`nonexistent_pipe-${pid}`, 'test', 2, 2, null);
        failures++;
    } catch (e) {
        expect(e, Pipecom.error_quark(), Pipecom.Error.CONNECTION_FAILED);
    }

    // Cancelled while waiting for a listener
    const cancellable = new Gio.Cancellable();
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, 100, () => {
        cancellable.cancel();
        return GLib.SOURCE_REMOVE;
    });
    try {
        await Pipecom.send_async(`nonexistent_pipe-${pid}`, 'test', 30, 0, cancellable);
        failures++;
    } catch (e) {
        expect(e, Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED);
    }
})().catch(logError).finally(() => loop.quit());

loop.run();
System.exit(failures ? 1 : 0);
