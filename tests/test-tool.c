/* test-tool.c: the pipecom command-line tool, run for real
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The portable part of the tool's tests: it runs on Unix and on Windows
 * (under Wine in the cross build), with the tool (pipecom.exe on Windows)
 * given as the argument, or by $PIPECOM. tests/test-cli.sh covers the rest on Unix.
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"

/* The tool's exit statuses (pipecom --help). */
#define STATUS_INVALID_PIPE 3
#define STATUS_NO_LISTENER 4

static const char *tool_path;

/* The pipe a simple @name means: its FIFO on Unix, its \\.\pipe\ name on
 * Windows. */
static char *
pipe_path_for (const char *name)
{
#ifdef G_OS_WIN32
  return g_strconcat ("\\\\.\\pipe\\", name, NULL);
#else
  g_autofree char *dir = pipecom_test_get_pipecom_dir ();

  return g_build_filename (dir, name, NULL);
#endif
}

static GSubprocess *
spawn_tool (const char * const *args,
            GSubprocessFlags     flags)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_ptr_array_add (argv, (char *) tool_path);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata, flags, &error);
  if (process == NULL)
    {
      g_autofree char *command = g_strjoinv (" ", (char **) args);

      g_error ("Cannot run “pipecom %s”: %s", command, error->message);
    }
  return process;
}

typedef struct
{
  gboolean  done;
  GBytes   *out;
  GBytes   *err;
  GError   *error;
} Communicate;

static void
communicate_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Communicate *c = user_data;

  g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &c->out, &c->err, &c->error);
  c->done = TRUE;
}

/* Runs the tool with @args (and @input on its stdin), under a deadline.
 * Returns its exit status; @out and @err get what it printed. */
static int
run_tool (const char * const  *args,
          GBytes              *input,
          GBytes             **out,
          char               **err)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  Communicate c = { 0, };
  int status;

  process = spawn_tool (args,
                        G_SUBPROCESS_FLAGS_STDIN_PIPE |
                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* GLib 2.74 wants input whenever stdin is a pipe: an empty one closes it */
  g_subprocess_communicate_async (process, input != NULL ? input : empty, NULL, communicate_cb, &c);
  pipecom_test_wait_for (c.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (c.error);
  /* communicate() returns once the process exited and its pipes closed */
  g_assert_true (g_subprocess_get_if_exited (process));
  status = g_subprocess_get_exit_status (process);

  if (out != NULL)
    *out = g_steal_pointer (&c.out);
  if (err != NULL)
    {
      gsize size;
      const char *data = g_bytes_get_data (c.err, &size);

      *err = g_strndup (size > 0 ? data : "", size);
    }
  g_clear_pointer (&c.out, g_bytes_unref);
  g_clear_pointer (&c.err, g_bytes_unref);

  return status;
}

static void
assert_bytes_equal (GBytes     *bytes,
                    const void *data,
                    gsize       size)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), data, size);
}

static void
test_version (void)
{
  const char *args[] = { "--version", NULL };
  g_autoptr(GBytes) out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = g_strdup_printf ("pipecom %s\n", PIPECOM_VERSION_S);

  g_test_summary ("pipecom --version prints the library's version and exits 0");

  g_assert_cmpint (run_tool (args, NULL, &out, &err), ==, 0);
  assert_bytes_equal (out, expected, strlen (expected));
  g_assert_cmpstr (err, ==, "");
}

typedef struct
{
  gboolean  done;
  char     *line;
  GError   *error;
} Line;

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Line *line = user_data;

  line->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, &line->error);
  line->done = TRUE;
}

static void
expect_line (GDataInputStream *stream,
             const char       *expected)
{
  Line line = { 0, };

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, NULL, read_line_cb, &line);
  pipecom_test_wait_for (line.done, PIPECOM_TEST_DEADLINE);
  g_assert_no_error (line.error);
  g_assert_cmpstr (line.line, ==, expected);
  g_free (line.line);
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static void
test_listen_request_send_stop (void)
{
  g_autofree char *name = pipecom_test_make_name ("tool");
  g_autofree char *path = pipe_path_for (name);
  /* the inactivity timeout ends the listener should the test fail */
  const char *listen_args[] = { "listen", "--echo", "--timeout=90", name, NULL };
  const char *stop_args[] = { "stop", name, NULL };
  /* a reply with bytes a text-mode stream would change on Windows */
  static const guint8 binary[] = { 'a', '\r', '\n', 'b', '\n', 0x1a, 'c', 0x00, 0xff, '\r' };
  g_autoptr(GSubprocess) listener = NULL;
  g_autoptr(GDataInputStream) listener_out = NULL;
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autofree char *err = NULL;
  gboolean exited = FALSE;

  g_test_summary ("pipecom listen --echo in the background answers pipecom request "
                  "(the reply printed byte for byte) and prints what pipecom send "
                  "sends; pipecom stop makes it exit 0 and its pipe disappear");

  listener = spawn_tool (listen_args, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  listener_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (listener));
  g_data_input_stream_set_newline_type (listener_out, G_DATA_STREAM_NEWLINE_TYPE_LF);
  pipecom_test_wait_for (pipecom_test_pipe_exists (path), PIPECOM_TEST_DEADLINE);

  /* request: the text reply, as it is, with no newline added */
    {
      const char *args[] = { "request", name, "h\303\251llo, w\303\266rld", NULL };

      g_assert_cmpint (run_tool (args, NULL, &out, &err), ==, 0);
      assert_bytes_equal (out, "h\303\251llo, w\303\266rld", strlen ("h\303\251llo, w\303\266rld"));
      g_assert_cmpstr (err, ==, "");
      g_clear_pointer (&out, g_bytes_unref);
      g_clear_pointer (&err, g_free);
      expect_line (listener_out, "h\303\251llo, w\303\266rld");
    }

  /* request --stdin: a binary message and its reply, byte for byte */
    {
      const char *args[] = { "request", "--stdin", name, NULL };

      input = g_bytes_new_static (binary, sizeof binary);
      g_assert_cmpint (run_tool (args, input, &out, &err), ==, 0);
      assert_bytes_equal (out, binary, sizeof binary);
      g_assert_cmpstr (err, ==, "");
      g_clear_pointer (&out, g_bytes_unref);
      g_clear_pointer (&err, g_free);
      /* printed escaped, on one line */
      expect_line (listener_out, "a\\r\\nb\\n\\x1ac\\x00\\xff\\r");
    }

  /* send: two messages, in order */
    {
      const char *args[] = { "send", name, "one", "two", NULL };

      g_assert_cmpint (run_tool (args, NULL, &out, &err), ==, 0);
      g_assert_cmpuint (g_bytes_get_size (out), ==, 0);
      g_assert_cmpstr (err, ==, "");
      g_clear_pointer (&out, g_bytes_unref);
      g_clear_pointer (&err, g_free);
      expect_line (listener_out, "one");
      expect_line (listener_out, "two");
    }

  /* stop: the listener exits 0 and its pipe is gone */
  g_assert_cmpint (run_tool (stop_args, NULL, NULL, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_subprocess_wait_async (listener, NULL, wait_cb, &exited);
  pipecom_test_wait_for (exited, PIPECOM_TEST_DEADLINE);
  g_assert_true (g_subprocess_get_if_exited (listener));
  g_assert_cmpint (g_subprocess_get_exit_status (listener), ==, 0);
  g_assert_false (pipecom_test_pipe_exists (path));
}

static void
test_no_listener (void)
{
  g_autofree char *name = pipecom_test_make_name ("nobody");
  const char *send_args[] = { "send", "--attempts=1", name, "hi", NULL };
  const char *request_args[] = { "request", "--attempts=1", name, "hi", NULL };
  g_autoptr(GBytes) out = NULL;
  g_autofree char *err = NULL;

  g_test_summary ("send and request to a pipe nobody listens on exit 4 with one line on stderr");

  g_assert_cmpint (run_tool (send_args, NULL, &out, &err), ==, STATUS_NO_LISTENER);
  g_assert_cmpuint (g_bytes_get_size (out), ==, 0);
  g_assert_true (g_str_has_prefix (err, "pipecom send: "));
  g_assert_nonnull (strchr (err, '\n'));
  g_assert_cmpstr (strchr (err, '\n'), ==, "\n");
  g_clear_pointer (&out, g_bytes_unref);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_tool (request_args, NULL, &out, &err), ==, STATUS_NO_LISTENER);
  g_assert_cmpuint (g_bytes_get_size (out), ==, 0);
  g_assert_true (g_str_has_prefix (err, "pipecom request: "));
}

static void
test_invalid_name (void)
{
  /* invalid on both platforms: "." and ".." are not pipe names, and
   * "no-such-dir/x" names a FIFO in a directory that does not exist on
   * Unix, an invalid name on Windows. (An empty name is tested by
   * test-cli.sh: GSubprocess loses empty arguments on Windows.) */
  const char *send_args[] = { "send", ".", "hi", NULL };
  const char *request_args[] = { "request", "no-such-dir/x", "hi", NULL };
  const char *listen_args[] = { "listen", "..", NULL };
  g_autofree char *err = NULL;

  g_test_summary ("An invalid pipe name makes send, request and listen exit 3");

  g_assert_cmpint (run_tool (send_args, NULL, NULL, &err), ==, STATUS_INVALID_PIPE);
  g_assert_true (g_str_has_prefix (err, "pipecom send: "));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (request_args, NULL, NULL, &err), ==, STATUS_INVALID_PIPE);
  g_assert_true (g_str_has_prefix (err, "pipecom request: "));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (listen_args, NULL, NULL, &err), ==, STATUS_INVALID_PIPE);
  g_assert_true (g_str_has_prefix (err, "pipecom listen: "));
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  /* the tool: the argument left after GTest's options, or $PIPECOM */
  tool_path = argc > 1 ? argv[1] : g_getenv ("PIPECOM");
  if (tool_path == NULL)
    g_error ("Usage: test-tool [GTEST-OPTION…] PIPECOM-TOOL (or set PIPECOM)");

  g_test_add_func ("/tool/version", test_version);
  g_test_add_func ("/tool/listen-request-send-stop", test_listen_request_send_stop);
  g_test_add_func ("/tool/no-listener", test_no_listener);
  g_test_add_func ("/tool/invalid-name", test_invalid_name);

  return g_test_run ();
}
