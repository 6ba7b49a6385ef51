// task-queue.js: the original README's JSON task queue, in GJS
//
// Copyright 2026 The PipeCom Developers
//
// SPDX-License-Identifier: MIT
//
// Tasks go in as JSON requests; the processor answers each one later,
// when its simulated work is done, with a JSON status.

const {GLib, Gio, Pipecom} = imports.gi;
const System = imports.system;

Gio._promisify(Pipecom, 'request_async', 'request_finish');

const queue = `task_queue-${new Gio.Credentials().get_unix_pid()}`;
const tasks = [
    {id: 1, name: 'Process data', duration: 200},
    {id: 2, name: 'Generate report', duration: 100},
    {id: 3, name: 'Send email', duration: 50},
    {id: 4},                                // no name: an error status
];
const loop = new GLib.MainLoop(null, false);

const processor = new Pipecom.Pipe({name: queue, max_messages: tasks.length});
processor.connect('message-received', (_pipe, message) => {
    let task;
    try {
        task = JSON.parse(message.get_text());
        if (!task.name)
            throw new Error('a task needs a name');
    } catch (e) {
        return JSON.stringify({status: 'error', error: e.message});
    }
    print(`Processing task: ${task.name}`);
    // Reply later, without blocking the main loop
    message.hold();
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, task.duration ?? 1000, () => {
        message.reply(JSON.stringify({status: 'completed', task_id: task.id}));
        return GLib.SOURCE_REMOVE;
    });
    return null;
});
processor.listen();

let statuses = [];
(async () => {
    for (const task of tasks) {
        // eslint-disable-next-line no-await-in-loop
        const result = JSON.parse(await Pipecom.request_async(queue, JSON.stringify(task), 10, 0, null));
        print(`Task ${task.id}: ${JSON.stringify(result)}`);
        statuses.push(result.status);
    }
})().catch(logError).finally(() => loop.quit());

GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 30, () => loop.quit());
loop.run();
System.exit(statuses.join() === 'completed,completed,completed,error' ? 0 : 1);
