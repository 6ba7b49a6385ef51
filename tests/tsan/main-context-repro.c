/* main-context-repro.c: GLib's GMainContext lock is invisible to ThreadSanitizer
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Plain GLib, no PipeCom: the evidence behind the GMainContext entries of
 * suppressions.txt. A worker thread runs a GMainLoop, as PipeCom's shared
 * worker does; the main thread uses the documented thread-safe calls on
 * that context, as PipecomClient does from its callers' threads: it attaches
 * idle sources and drops its reference to them (the worker dispatches and
 * destroys them), and changes the unix fds of a source that lives in the
 * worker's context, as _pipecom_connection_set_direct() does.
 *
 * GLib does all of that under the context's internal mutex, so the program
 * has no data race. Built with -fsanitize=thread and linked with
 * glib-sync-annotations.c, it nevertheless gets reports on memory that only
 * GLib touches (the context's source table, its poll records), because
 * Debian's libglib is linked with -Bsymbolic-functions: GLib's own calls
 * to g_mutex_lock() are bound inside the library and never reach the
 * annotating wrappers. With a GLib built with -Dbsymbolic_functions=false
 * (same sources, same wrappers, LD_LIBRARY_PATH pointing at it) the same
 * program gets no report. Run it without suppressions to see the reports:
 *
 *   TSAN_OPTIONS=halt_on_error=0 G_SLICE=always-malloc \
 *     build-tsan/tests/tsan/main-context-repro
 *
 * It exits 0 whatever TSan says; TSan's own exit code (66) tells.
 */

#include <glib.h>
#include <errno.h>
#include <unistd.h>

#define ROUNDS 5000

static gboolean
idle_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static int read_fd;

static gboolean
fd_source_dispatch (GSource     *source,
                    GSourceFunc  callback,
                    gpointer     user_data)
{
  char byte;

  if (read (read_fd, &byte, 1) < 0)
    g_error ("read: %s", g_strerror (errno));
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_source_funcs = { NULL, NULL, fd_source_dispatch, NULL, NULL, NULL };

static gpointer
worker_main (gpointer data)
{
  GMainLoop *loop = data;

  g_main_context_push_thread_default (g_main_loop_get_context (loop));
  g_main_loop_run (loop);
  g_main_context_pop_thread_default (g_main_loop_get_context (loop));
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  /* "idle" or "fds" runs one half only. */
  gboolean idle_half = argc < 2 || g_str_equal (argv[1], "idle");
  gboolean fds_half = argc < 2 || g_str_equal (argv[1], "fds");
  GMainContext *context = g_main_context_new ();
  GMainLoop *loop = g_main_loop_new (context, FALSE);
  GThread *thread;
  GSource *fd_source;
  GSource *quit;
  gpointer tag;
  int fds[2];

  if (pipe (fds) < 0)
    return 1;
  read_fd = fds[0];

  /* A source with an fd in the worker's context, like a connection. */
  fd_source = g_source_new (&fd_source_funcs, sizeof (GSource));
  tag = g_source_add_unix_fd (fd_source, fds[0], G_IO_IN);
  g_source_attach (fd_source, context);

  thread = g_thread_new ("repro-worker", worker_main, loop);

  for (guint i = 0; i < ROUNDS; i++)
    {
      if (idle_half)
        {
          GSource *idle = g_idle_source_new ();

          g_source_set_callback (idle, idle_cb, NULL, NULL);
          g_source_attach (idle, context);
          g_source_unref (idle);
        }

      if (fds_half)
        {
          /* What _pipecom_connection_set_direct() and close_fds() do. */
          g_source_modify_unix_fd (fd_source, tag, i % 2 ? G_IO_IN : 0);
          if (i % 16 == 0)
            {
              g_source_remove_unix_fd (fd_source, tag);
              tag = g_source_add_unix_fd (fd_source, fds[0], G_IO_IN);
            }
          /* Keep the worker iterating: the fd is readable half the time. */
          if (i % 64 == 0 && write (fds[1], "x", 1) != 1)
            return 1;
        }
    }

  quit = g_idle_source_new ();
  g_source_set_callback (quit, quit_cb, loop, NULL);
  g_source_attach (quit, context);
  g_source_unref (quit);
  g_thread_join (thread);

  g_source_destroy (fd_source);
  g_source_unref (fd_source);
  g_main_loop_unref (loop);
  g_main_context_unref (context);
  close (fds[0]);
  close (fds[1]);
  return 0;
}
