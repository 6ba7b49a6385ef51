// response-pipe.js: the original README's "advanced usage with response pipe"
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
// A task processor (custom timeout, max_messages=10, die code "SHUTDOWN")
// whose results are forwarded to a response pipe, all in one main loop.

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

Gio._promisify(Pipecom, 'send_async', 'send_finish');

const pid = new Gio.Credentials().get_unix_pid();
const mainPipeName = `task_processor-${pid}`;
const responsePipeName = `task_results-${pid}`;
const tasks = ['Generate report', 'Process data', 'Send email', 'Handle error case', 'Final task'];
const responses = [];
const loop = new GLib.MainLoop(null, false);
let status = 1;

const responsePipe = new Pipecom.Pipe({name: responsePipeName});
responsePipe.connect('message-received', (_pipe, message) => {
    responses.push(message.get_text());
    print(`Result received: ${message.get_text()}`);
    if (responses.length === tasks.length)
        finish();
    return `Result acknowledged: ${message.get_text()}`;
});
responsePipe.listen();

const mainPipe = new Pipecom.Pipe({
    name: mainPipeName,
    timeout: 30,                            // stop after 30 s without a message
    max_messages: 10,                       // or after 10 messages
    die_code: 'SHUTDOWN',                   // or on "SHUTDOWN"
    response_pipe_name: responsePipeName,   // forward the results there
});
mainPipe.connect('message-received', (_pipe, message) => {
    const task = message.get_text();
    print(`Processing task: ${task}`);
    return task.toLowerCase().includes('error')
        ? `ERROR: Failed to process ${task}` : `SUCCESS: Completed ${task}`;
});
mainPipe.listen();

async function submit() {
    for (const task of tasks) {
        try {
            await Pipecom.send_async(mainPipeName, task, 5, 3, null);
            print(`Task '${task}': Submitted`);
        } catch (e) {
            print(`Error sending '${task}': ${e.message}`);
        }
    }
}

async function finish() {
    print(`\nTasks sent: ${tasks.length}, results received: ${responses.length}`);
    await Pipecom.send_async(mainPipeName, 'SHUTDOWN', 5, 0, null);
    await Pipecom.send_async(responsePipeName, 'PIPECOM_DIE', 5, 0, null);
    status = responses[3].startsWith('ERROR') ? 0 : 1;
    print('Demo completed!');
    loop.quit();
}

submit().catch(logError);
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 30, () => loop.quit());
loop.run();
System.exit(status);
