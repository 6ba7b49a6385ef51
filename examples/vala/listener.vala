/* listener.vala: PipeCom from Vala
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * A listener in a main loop that replies to each message, and requests
 * sent to it with the async API, the Vala way (yield).
 */

int
main (string[] args)
{
  var name = "vala-%d".printf ((int) Posix.getpid ());
  var loop = new MainLoop ();
  var pipe = new Pipecom.Pipe (name);
  var status = 1;

  pipe.message_received.connect ((message) => {
    print ("Received: %s\n", message.get_text ());
    return "Hello from Vala, %s".printf (message.get_text ());
  });
  pipe.stopped.connect ((reason) => loop.quit ());

  try {
    pipe.listen ();
  } catch (Error e) {
    printerr ("%s\n", e.message);
    return 1;
  }

  send_all.begin (name, (obj, res) => {
    status = send_all.end (res) ? 0 : 1;
    pipe.stop ();
  });

  Timeout.add_seconds (30, () => { loop.quit (); return Source.REMOVE; });
  loop.run ();
  return status;
}

async bool
send_all (string name)
{
  try {
    var reply = yield Pipecom.request_async (name, "world", 5, 0, null);
    print ("Reply: %s\n", reply);

    var client = new Pipecom.Client (name);
    var bytes_reply = yield client.request_bytes_async (new Bytes ("bytes".data), null);
    print ("Reply: %s\n", (string) bytes_reply.get_data ());
    client.close ();

    yield Pipecom.send_async ("vala-nobody-listens-%d".printf ((int) Posix.getpid ()), "x", 1, 1, null);
    return false;
  } catch (Pipecom.Error e) {
    print ("Expected error: %s\n", e.message);
    return e is Pipecom.Error.CONNECTION_FAILED;
  } catch (Error e) {
    printerr ("%s\n", e.message);
    return false;
  }
}
