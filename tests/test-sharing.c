/* test-sharing.c: pipes shared with a group or with everyone
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-utils.h"
#include "pipecom-private.h"

/* The listener of the multi-user tests runs as this unprivileged user (CI
 * creates it with useradd, see .ci/run), with its own primary group. Its
 * senders run as two numeric user IDs that have no account: a member,
 * given that group as a supplementary group, and a third party without
 * it. setpriv needs no account for either, so nothing else is created. */
#define OTHER_USER "pipecom-other"
#define DIE_CODE   "sharing-test-stop"

/* ---- Helper processes (this program run by setpriv) ---- */

static char *
child_reply_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  GString *texts = user_data;
  const char *text = pipecom_message_get_text (message);

  g_string_append_printf (texts, "%s;", text ? text : "(binary)");
  return g_strconcat ("echo:", text ? text : "(binary)", NULL);
}

/* The reply of a --sharing-listen-creds listener: what it knows of the
 * sender, "creds:UID:PID:FLAGS" (-1 for what is absent). */
static char *
describe_sender (PipecomMessage *message)
{
  GCredentials *credentials = pipecom_message_get_credentials (message);
  gint64 uid = -1, pid = -1;

  if (credentials != NULL)
    {
      uid = g_credentials_get_unix_user (credentials, NULL);
      pid = g_credentials_get_unix_pid (credentials, NULL);
    }
  return g_strdup_printf ("creds:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%u", uid, pid,
                          (guint) pipecom_message_get_sender_verified (message));
}

static char *
child_creds_cb (PipecomPipe    *pipe,
                PipecomMessage *message,
                gpointer        user_data)
{
  GString *texts = user_data;
  const char *text = pipecom_message_get_text (message);

  g_string_append_printf (texts, "%s;", text ? text : "(binary)");
  return describe_sender (message);
}

static void
child_stopped_cb (PipecomPipe       *pipe,
                  PipecomStopReason  reason,
                  gpointer           user_data)
{
  g_main_loop_quit (user_data);
}

/* --sharing-listen ACCESS PATH: prints READY (or LISTEN <error code>),
 * serves until the die code, then prints the texts it handled.
 * --sharing-listen-creds ACCESS PATH ALLOWED: the same with
 * allowed-users ALLOWED (comma-separated, "-": none), answering with
 * describe_sender(). */
static int
child_listen_main (char **argv)
{
  gboolean creds = g_str_equal (argv[1], "--sharing-listen-creds");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (argv[3]);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GString) texts = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  pipecom_pipe_set_access (pipe, (PipecomAccess) g_ascii_strtoull (argv[2], NULL, 10));
  pipecom_pipe_set_die_code (pipe, DIE_CODE);
  pipecom_pipe_set_timeout (pipe, 120);
  g_signal_connect (pipe, "message-received",
                    creds ? G_CALLBACK (child_creds_cb) : G_CALLBACK (child_reply_cb), texts);
  g_signal_connect (pipe, "stopped", G_CALLBACK (child_stopped_cb), loop);
  if (creds && !g_str_equal (argv[4], "-"))
    {
      g_auto(GStrv) allowed = g_strsplit (argv[4], ",", -1);

      pipecom_pipe_set_allowed_users (pipe, (const char * const *) allowed);
    }

  if (!pipecom_pipe_listen (pipe, &error))
    {
      g_print ("LISTEN %d %s\n", error->code, error->message);
      return 0;
    }

  g_print ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);
  g_print ("TEXTS %s\n", texts->str);
  return 0;
}

static void
print_result (const char *what,
              const char *reply,
              GError     *error)
{
  if (error != NULL)
    g_print ("%s %d %s\n", what, error->code, error->message);
  else
    g_print ("%s ok %s\n", what, reply ? reply : "");
}

/* --sharing-client PATH TEXT: a send, a request and a request on a
 * persistent client; one line for each. */
static int
child_client_main (char **argv)
{
  g_autoptr(PipecomClient) client = pipecom_client_new (argv[2]);
  const char *text = argv[3];
  GError *error = NULL;
  char *reply;

  pipecom_send (argv[2], text, 20, 2, &error);
  print_result ("SEND", NULL, error);
  g_clear_error (&error);

  reply = pipecom_request (argv[2], text, 20, 2, &error);
  print_result ("REQUEST", reply, error);
  g_clear_error (&error);
  g_free (reply);

  pipecom_client_set_timeout (client, 20);
  pipecom_client_set_max_attempts (client, 2);
  reply = pipecom_client_request (client, text, NULL, &error);
  print_result ("CLIENT", reply, error);
  g_clear_error (&error);
  g_free (reply);
  pipecom_client_close (client);

  return 0;
}

/* --sharing-stop PATH send|client: sends the die code, with pipecom_send()
 * (a one-shot message) or on a persistent client; prints one line. */
static int
child_stop_main (char **argv)
{
  GError *error = NULL;

  if (g_str_equal (argv[3], "client"))
    {
      g_autoptr(PipecomClient) client = pipecom_client_new (argv[2]);

      pipecom_client_set_timeout (client, 20);
      pipecom_client_set_max_attempts (client, 2);
      pipecom_client_send (client, DIE_CODE, NULL, &error);
      pipecom_client_close (client);
    }
  else
    pipecom_send (argv[2], DIE_CODE, 20, 2, &error);

  print_result ("STOP", NULL, error);
  g_clear_error (&error);
  return 0;
}

/* --sharing-junk CHANDIR: leaves in the channel directory a directory
 * with a file in it, neither of which its listener can remove. */
static int
child_junk_main (char **argv)
{
  g_autofree char *junk = g_build_filename (argv[2], ".junk", NULL);
  g_autofree char *file = g_build_filename (junk, "file", NULL);

  if (g_mkdir (junk, 0700) != 0 || !g_file_set_contents (file, "x", 1, NULL))
    return 1;
  g_print ("JUNK\n");
  return 0;
}

/* --sharing-link SRC DST: makes a hard link, as an attacker would; prints
 * LINK ok, or LINK and the errno. */
static int
child_link_main (char **argv)
{
  if (link (argv[2], argv[3]) == 0)
    g_print ("LINK ok\n");
  else
    g_print ("LINK %d\n", errno);
  return 0;
}

/* ---- The test process (root) ---- */

typedef struct
{
  char          *setpriv;
  struct passwd  listener;   /* OTHER_USER; pw_name etc. not kept */
  uid_t          member;
  uid_t          stranger;
  char          *top;        /* root's, 0755: a copy of this program */
  char          *binary;
  char          *dir;        /* the listener's, 0755: its pipes */
} Users;

static uid_t
free_uid (uid_t from)
{
  for (uid_t uid = from; uid < from + 1000; uid++)
    if (getpwuid (uid) == NULL)
      return uid;
  g_assert_not_reached ();
}

/* Sets up @users, or skips (saying why) and returns FALSE. */
static gboolean
users_init (Users *users)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *self = NULL;
  g_autofree char *contents = NULL;
  struct passwd *pw;
  gsize len;

  memset (users, 0, sizeof *users);

  if (geteuid () != 0)
    {
      g_test_skip ("needs root, to run other users with setpriv");
      return FALSE;
    }
  if ((pw = getpwnam (OTHER_USER)) == NULL)
    {
      g_test_skip ("no user " OTHER_USER " (CI creates it: useradd --system " OTHER_USER ")");
      return FALSE;
    }
  users->listener.pw_uid = pw->pw_uid;
  users->listener.pw_gid = pw->pw_gid;
  if ((users->setpriv = g_find_program_in_path ("setpriv")) == NULL)
    {
      g_test_skip ("setpriv (util-linux) is not installed");
      return FALSE;
    }

  users->member = free_uid (61000);
  users->stranger = free_uid (users->member + 1);
  g_assert_cmpuint (users->member, !=, users->listener.pw_uid);
  g_assert_cmpuint (users->stranger, !=, users->listener.pw_uid);

  users->top = g_dir_make_tmp ("pipecom-sharing-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (users->top, 0755), ==, 0);

  self = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (self, &contents, &len, NULL));
  users->binary = g_build_filename (users->top, "test-sharing", NULL);
  g_assert_true (g_file_set_contents_full (users->binary, contents, len,
                                           G_FILE_SET_CONTENTS_NONE, 0755, NULL));

  /* The listener's directory: its own, writable by nobody else. */
  users->dir = g_build_filename (users->top, "pipes", NULL);
  g_assert_cmpint (g_mkdir (users->dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (users->dir, 0755), ==, 0);
  g_assert_cmpint (chown (users->dir, users->listener.pw_uid, users->listener.pw_gid), ==, 0);

  return TRUE;
}

static void
users_clear (Users *users)
{
  if (users->top != NULL)
    {
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", users->top);
      g_assert_cmpint (system (cmd), ==, 0);
    }
  g_free (users->setpriv);
  g_free (users->top);
  g_free (users->binary);
  g_free (users->dir);
}

/* Runs this program as @uid/@gid, with the supplementary group @group
 * (or none if -1), with up to three arguments after @mode. */
static GSubprocess *
spawn_as_full (Users      *users,
               uid_t       uid,
               gid_t       gid,
               gid_t       group,
               const char *mode,
               const char *arg1,
               const char *arg2,
               const char *arg3)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *uid_arg = g_strdup_printf ("--reuid=%u", (guint) uid);
  g_autofree char *gid_arg = g_strdup_printf ("--regid=%u", (guint) gid);
  g_autofree char *groups_arg = group == (gid_t) -1 ? g_strdup ("--clear-groups")
                                                    : g_strdup_printf ("--groups=%u", (guint) group);
  g_autofree char *runtime = g_strdup_printf ("%s/run-%u", users->top, (guint) uid);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;
  const char *argv[] = { users->setpriv, uid_arg, gid_arg, groups_arg, "--",
                         users->binary, mode, arg1, arg2, arg3, NULL };

  /* A runtime directory of its own, as a session would give it: a
   * private listener takes channels only from its user's pipe directory. */
  if (g_mkdir (runtime, 0700) == 0)
    g_assert_cmpint (chown (runtime, uid, gid), ==, 0);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_set_cwd (launcher, "/");
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return process;
}

static GSubprocess *
spawn_as (Users      *users,
          uid_t       uid,
          gid_t       gid,
          gid_t       group,
          const char *mode,
          const char *arg1,
          const char *arg2)
{
  return spawn_as_full (users, uid, gid, group, mode, arg1, arg2, NULL);
}

static char *
read_line (GSubprocess *process)
{
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_autoptr(GError) error = NULL;
  char *line;

  /* One line only: leave the rest in the pipe for the next reader. */
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (in), 1);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (in), FALSE);
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  return line;
}

static char *
finish (GSubprocess *process)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  return out;
}

/* Runs a sender as @uid and returns what it printed. */
static char *
run_client (Users      *users,
            uid_t       uid,
            gid_t       group,
            const char *path,
            const char *text)
{
  g_autoptr(GSubprocess) process = spawn_as (users, uid, uid, group, "--sharing-client",
                                             path, text);
  char *out = finish (process);

  g_test_message ("sender %u (group %d) said:\n%s", (guint) uid, (int) group, out);
  return out;
}

static void
assert_client_served (const char *out,
                      const char *text)
{
  g_autofree char *request = g_strdup_printf ("REQUEST ok echo:%s\n", text);
  g_autofree char *client = g_strdup_printf ("CLIENT ok echo:%s\n", text);

  g_assert_nonnull (strstr (out, "SEND ok \n"));
  g_assert_nonnull (strstr (out, request));
  g_assert_nonnull (strstr (out, client));
}

static void
assert_client_denied (const char *out)
{
  g_autofree char *code = g_strdup_printf (" %d ", PIPECOM_ERROR_PERMISSION_DENIED);

  for (const char *what = "SEND\0REQUEST\0CLIENT\0"; *what; what += strlen (what) + 1)
    {
      g_autofree char *line = g_strconcat (what, code, NULL);
      const char *at = strstr (out, line);

      g_assert_nonnull (at);
      g_assert_true (at == out || at[-1] == '\n');
    }
}

static void
assert_mode (const char *path,
             uid_t       uid,
             gid_t       gid,
             mode_t      type,
             guint       mode)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & S_IFMT, ==, type);
  g_assert_cmpuint (st.st_uid, ==, uid);
  g_assert_cmpuint (st.st_gid, ==, gid);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static GSubprocess *
start_listener (Users         *users,
                PipecomAccess  access,
                const char    *path)
{
  g_autofree char *access_arg = g_strdup_printf ("%d", access);
  GSubprocess *process = spawn_as (users, users->listener.pw_uid, users->listener.pw_gid,
                                   (gid_t) -1, "--sharing-listen", access_arg, path);
  g_autofree char *line = read_line (process);

  g_test_message ("listener: %s", line);
  g_assert_cmpstr (line, ==, "READY");
  return process;
}

/* Sends the die code to @path as @uid/@gid (with the supplementary group
 * @group, or none if -1), by pipecom_send() or a client (@how: "send" or
 * "client"), and returns what the sender printed: "STOP ok" or "STOP
 * <error code> <message>". */
static char *
send_die_code (Users      *users,
               uid_t       uid,
               gid_t       gid,
               gid_t       group,
               const char *path,
               const char *how)
{
  g_autoptr(GSubprocess) process = spawn_as (users, uid, gid, group, "--sharing-stop", path, how);
  char *out = finish (process);

  g_test_message ("die code (%s) of user %u (group %d): %s", how, (guint) uid, (int) group, out);
  return out;
}

static void
assert_die_code_refused (const char *out)
{
  g_autofree char *denied = g_strdup_printf ("STOP %d ", PIPECOM_ERROR_PERMISSION_DENIED);

  g_assert_true (g_str_has_prefix (out, denied));
  g_assert_nonnull (strstr (out, "only its own user may stop it"));
}

/* Stops the listener with the die code, sent by its own user (the only
 * one a shared pipe obeys), and returns the texts it handled. */
static char *
stop_listener_full (Users       *users,
                    GSubprocess *process,
                    const char  *path,
                    gboolean     chandir_gone)
{
  g_autofree char *out = NULL;
  g_autofree char *lock = g_strconcat (path, ".lock", NULL);
  g_autofree char *chandir = g_strconcat (path, ".d", NULL);
  g_autofree char *stop = send_die_code (users, users->listener.pw_uid, users->listener.pw_gid,
                                         (gid_t) -1, path, "send");
  char *texts;

  g_assert_cmpstr (stop, ==, "STOP ok \n");
  out = finish (process);
  g_test_message ("listener at exit: %s", out);
  g_assert_true (g_str_has_prefix (out, "TEXTS "));
  texts = g_strdup (out + strlen ("TEXTS "));

  /* Nothing of the listener is left. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (chandir, G_FILE_TEST_EXISTS) != chandir_gone);
  return texts;
}

static char *
stop_listener (Users       *users,
               GSubprocess *process,
               const char  *path)
{
  return stop_listener_full (users, process, path, TRUE);
}

static void
test_group (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autofree char *member = NULL;
  g_autofree char *stranger = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("A pipe shared with its group: the FIFO is 0620 and the channel directory "
                  "3730; a member of the group sends and gets replies, others are denied");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "group-pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_GROUP, path);

  assert_mode (path, users.listener.pw_uid, users.listener.pw_gid, S_IFIFO, 0620);
  assert_mode (chandir, users.listener.pw_uid, users.listener.pw_gid, S_IFDIR, 03730);

  member = run_client (&users, users.member, users.listener.pw_gid, path, "member");
  assert_client_served (member, "member");
  stranger = run_client (&users, users.stranger, (gid_t) -1, path, "stranger");
  assert_client_denied (stranger);

  /* The senders removed their channels once connected. */
  g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);

  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "member;member;member;\n");

  users_clear (&users);
}

static void
test_everyone (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autofree char *member = NULL;
  g_autofree char *stranger = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("A pipe shared with everyone: the FIFO is 0622 and the channel directory "
                  "1733; any user sends and gets replies");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "everyone-pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_EVERYONE, path);

  assert_mode (path, users.listener.pw_uid, users.listener.pw_gid, S_IFIFO, 0622);
  assert_mode (chandir, users.listener.pw_uid, users.listener.pw_gid, S_IFDIR, 01733);

  member = run_client (&users, users.member, users.listener.pw_gid, path, "member");
  assert_client_served (member, "member");
  stranger = run_client (&users, users.stranger, (gid_t) -1, path, "stranger");
  assert_client_served (stranger, "stranger");
  g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);

  /* A user leaves what the listener cannot remove in its channel
   * directory: it stays when the listener stops... */
  {
    g_autoptr(GSubprocess) junk = spawn_as (&users, users.stranger, users.stranger, (gid_t) -1,
                                            "--sharing-junk", chandir, NULL);
    g_autofree char *out = finish (junk);

    g_assert_cmpstr (out, ==, "JUNK\n");
  }
  texts = stop_listener_full (&users, listener, path, FALSE);
  g_assert_cmpstr (texts, ==, "member;member;member;stranger;stranger;stranger;\n");
  g_clear_pointer (&texts, g_free);
  g_clear_object (&listener);

  /* ... and the next listener moves it aside instead of failing. */
  listener = start_listener (&users, PIPECOM_ACCESS_EVERYONE, path);
  assert_mode (chandir, users.listener.pw_uid, users.listener.pw_gid, S_IFDIR, 01733);
  g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);
  {
    g_auto(GStrv) entries = pipecom_test_list_dir (users.dir);
    guint aside = 0;

    for (guint i = 0; entries[i] != NULL; i++)
      if (g_str_has_prefix (entries[i], "everyone-pipe.d.stale-"))
        aside++;
    g_assert_cmpuint (aside, ==, 1);
  }
  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "\n");

  users_clear (&users);
}

/* A sender whose primary group is the listener's: its channel files get
 * that group, so their group bits, not the others' ones, decide whether the
 * listener may open them. */
static void
test_everyone_same_group (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *out = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  g_autoptr(GSubprocess) sender = NULL;

  g_test_summary ("On a pipe shared with everyone, a sender whose group is the listener's "
                  "is served too");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "everyone-group-pipe", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_EVERYONE, path);

  sender = spawn_as (&users, users.stranger, users.listener.pw_gid, (gid_t) -1,
                     "--sharing-client", path, "same-group");
  out = finish (sender);
  g_test_message ("sender %u (primary group %u) said:\n%s", (guint) users.stranger,
                  (guint) users.listener.pw_gid, out);
  assert_client_served (out, "same-group");

  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "same-group;same-group;same-group;\n");

  users_clear (&users);
}

static void
test_private (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autofree char *member = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("A private pipe (the default) stays private to its user even in a "
                  "directory fit for sharing, from a member of its group too");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "private-pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_PRIVATE, path);

  assert_mode (path, users.listener.pw_uid, users.listener.pw_gid, S_IFIFO, 0600);
  g_assert_false (g_file_test (chandir, G_FILE_TEST_EXISTS));

  member = run_client (&users, users.member, users.listener.pw_gid, path, "member");
  assert_client_denied (member);

  /* Root can open the FIFO, but refuses it: another user's, not shared. */
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (pipecom_send (path, "root", 5, 2, &error));
    g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  }

  /* The die code cannot reach it either: stop it with a signal. */
  g_subprocess_send_signal (listener, SIGTERM);
  g_assert_true (g_subprocess_wait (listener, NULL, NULL));
  texts = read_line (listener);
  g_assert_null (texts);

  users_clear (&users);
}

/* A listener cannot share a simple name, nor a pipe in a directory that
 * others can write; needs no second user. */
static void
test_listen_refused (void)
{
  g_autofree char *name = pipecom_test_make_name ("shared-simple");
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;

  g_test_summary ("Sharing a simple name, or a pipe in a directory others can write, fails "
                  "at listen() with a clear error and leaves nothing behind");

  for (PipecomAccess access = PIPECOM_ACCESS_GROUP; access <= PIPECOM_ACCESS_EVERYONE; access++)
    {
      g_clear_object (&pipe);
      pipe = pipecom_pipe_new (name);
      pipecom_pipe_set_access (pipe, access);
      g_assert_cmpint (pipecom_pipe_get_access (pipe), ==, access);
      g_assert_false (pipecom_pipe_listen (pipe, &error));
      g_test_message ("%s", error->message);
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_INVALID_PIPE);
      g_clear_error (&error);
    }

  tmp = g_dir_make_tmp ("pipecom-sharing-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (tmp, "pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);

  for (guint mode = 01777; mode != 0; mode = mode == 01777 ? 0770 : 0)
    {
      g_assert_cmpint (g_chmod (tmp, mode), ==, 0);
      g_clear_object (&pipe);
      pipe = pipecom_pipe_new (path);
      g_object_set (pipe, "access", PIPECOM_ACCESS_EVERYONE, NULL);
      g_assert_false (pipecom_pipe_listen (pipe, &error));
      g_test_message ("%s", error->message);
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);
      g_assert_cmpuint (pipecom_test_count_dir_entries (tmp), ==, 0);
    }

  /* In our own 0700 directory it works, and stopping cleans up. */
  g_assert_cmpint (g_chmod (tmp, 0700), ==, 0);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  assert_mode (path, geteuid (), getegid (), S_IFIFO, 0622);
  assert_mode (chandir, geteuid (), getegid (), S_IFDIR, 01733);
  pipecom_test_stop_and_wait (pipe);
  g_assert_cmpuint (pipecom_test_count_dir_entries (tmp), ==, 0);
  g_rmdir (tmp);
}

/* Asserts that the listener on @path (ours) replies to a request. */
static gpointer
assert_own_shared_pipe_serves (gpointer path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = pipecom_request (path, "own", 20, 2, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:own");
  return NULL;
}

static void
test_own_shared (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe;
  gint handled = 0;

  g_test_summary ("The listener's own user sends to its shared pipe through the channel "
                  "directory too, also by another path to it, and a listener that was killed leaves a stale channel "
                  "directory that the next one replaces");

  tmp = g_dir_make_tmp ("pipecom-sharing-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (tmp, "pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);

  /* A stale channel directory of ours, with a sender's leftover. */
  g_assert_cmpint (g_mkdir (chandir, 01733), ==, 0);
  {
    g_autofree char *leftover = g_build_filename (chandir, ".s0123", NULL);
    g_assert_cmpint (mkfifo (leftover, 0600), ==, 0);
  }

  pipe = pipecom_pipe_new (path);
  pipecom_pipe_set_access (pipe, PIPECOM_ACCESS_GROUP);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &handled);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);
  assert_mode (chandir, geteuid (), getegid (), S_IFDIR, 03730);

  /* Served in the main context: run it while the request waits. */
  {
    g_autoptr(GThread) thread = g_thread_new ("own", assert_own_shared_pipe_serves, path);

    while (g_atomic_int_get (&handled) == 0)
      g_main_context_iteration (NULL, TRUE);
    g_thread_join (g_steal_pointer (&thread));
  }

  /* Named by another path (like /var/run for /run): still its channels. */
  {
    g_autofree char *alias = g_strconcat (tmp, "-alias", NULL);
    g_autofree char *alias_path = g_build_filename (alias, "pipe", NULL);
    g_autoptr(GThread) thread = NULL;

    g_assert_cmpint (symlink (tmp, alias), ==, 0);
    thread = g_thread_new ("alias", assert_own_shared_pipe_serves, alias_path);
    while (g_atomic_int_get (&handled) == 1)
      g_main_context_iteration (NULL, TRUE);
    g_thread_join (g_steal_pointer (&thread));
    g_assert_cmpint (g_unlink (alias), ==, 0);
  }

  pipecom_test_stop_and_wait (pipe);
  g_object_unref (pipe);
  g_assert_cmpuint (pipecom_test_count_dir_entries (tmp), ==, 0);
  g_rmdir (tmp);
}

/* A shared FIFO planted by another user where anybody can write (like
 * /tmp), or a private FIFO of another user, is refused by senders. */
static void
test_planted (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autoptr(GError) error = NULL;
  char buf[64];
  int fd;

  g_test_summary ("Senders refuse a shared FIFO of another user in a directory others can "
                  "write (a planted one in /tmp) and a FIFO of another user that is not shared");

  if (geteuid () != 0)
    {
      g_test_skip ("needs root to create files owned by another user");
      return;
    }

  tmp = g_dir_make_tmp ("pipecom-sharing-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (tmp, "pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);

  /* A complete shared pipe of user 65534, as a listener would make it. */
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  g_assert_cmpint (chmod (path, 0622), ==, 0);
  g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
  g_assert_cmpint (g_mkdir (chandir, 0700), ==, 0);
  g_assert_cmpint (chmod (chandir, 01733), ==, 0);
  g_assert_cmpint (chown (chandir, 65534, 65534), ==, 0);
  fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);

  /* The directory: ours, sticky and writable by all (/tmp); then theirs
   * but writable by its group; then theirs, but the FIFO is not shared. */
  for (guint step = 0; step < 3; step++)
    {
      switch (step)
        {
        case 0:
          g_assert_cmpint (g_chmod (tmp, 01777), ==, 0);
          break;
        case 1:
          g_assert_cmpint (chown (tmp, 65534, 65534), ==, 0);
          g_assert_cmpint (g_chmod (tmp, 0775), ==, 0);
          break;
        default:
          g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);
          g_assert_cmpint (chmod (path, 0600), ==, 0);
          break;
        }

      g_assert_false (pipecom_send (path, "secret", 5, 2, &error));
      g_test_message ("step %u: %s", step, error->message);
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);
      g_assert_cmpint (read (fd, buf, sizeof buf), <=, 0);
      g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);
    }

  /* Control: the same pipe, shared and in a directory only its user can
   * write, is accepted (the record reaches the "listener"). */
  g_assert_cmpint (chmod (path, 0622), ==, 0);
  {
    g_autoptr(PipecomClient) client = pipecom_client_new (path);

    pipecom_client_set_timeout (client, 1);
    pipecom_client_set_max_attempts (client, 1);
    g_assert_false (pipecom_client_connect (client, NULL, &error));
    g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_TIMEOUT);
    g_clear_error (&error);
  }
  g_assert_cmpint (read (fd, buf, sizeof buf), >, 0);
  g_assert_true (memcmp (buf, "PCOM", 4) == 0);

  close (fd);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
    g_assert_cmpint (system (cmd), ==, 0);
  }
}

static void
write_record (const char          *fifo,
              PipecomAnnounceKind  kind,
              const char          *base)
{
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  gsize len = _pipecom_encode_announce (record, kind, base, (const guint8 *) "stolen",
                                        kind == PIPECOM_ANNOUNCE_ONESHOT ? 6 : 0);
  int fd = open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, record, len), ==, (gssize) len);
  close (fd);
}

/* Makes a FIFO of @uid at @path and opens it for reading. */
static int
make_victim_fifo (const char *path,
                  uid_t       uid,
                  gid_t       gid)
{
  int fd;

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  g_assert_cmpint (chown (path, uid, gid), ==, 0);
  fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static void
test_bogus_base (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autofree char *elsewhere = NULL;
  g_autofree char *outside = NULL;
  g_autofree char *escape = NULL;
  g_autofree char *linked = NULL;
  g_autofree char *hardlinked = NULL;
  g_autofree char *member = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  int fds[3];
  char buf[64];

  g_test_summary ("A shared listener opens only channel names in its channel directory: "
                  "announcements naming FIFOs of its user elsewhere, escaping with “..”, or "
                  "a symbolic or hard link in the directory are refused (nothing is written to them)");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "bogus-pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_EVERYONE, path);

  /* FIFOs of the listener's user that a confused listener would write to. */
  elsewhere = g_build_filename (users.top, "victim", NULL);
  outside = g_strconcat (elsewhere, ".rep", NULL);
  fds[0] = make_victim_fifo (outside, users.listener.pw_uid, users.listener.pw_gid);
  escape = g_build_filename (users.dir, "escape.rep", NULL);
  fds[1] = make_victim_fifo (escape, users.listener.pw_uid, users.listener.pw_gid);
  linked = g_build_filename (chandir, ".s0123456789abcdef0123456789abcdef.rep", NULL);
  g_assert_cmpint (symlink (outside, linked), ==, 0);
  fds[2] = open (outside, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (fds[2], >=, 0);
  hardlinked = g_build_filename (chandir, ".sfedcba9876543210fedcba9876543210.rep", NULL);
  g_assert_cmpint (link (outside, hardlinked), ==, 0);

  for (guint kind = PIPECOM_ANNOUNCE_CONNECT; kind <= PIPECOM_ANNOUNCE_ONESHOT; kind++)
    {
      g_autofree char *dotdot = g_build_filename (chandir, "..", "escape", NULL);
      g_autofree char *link_base = g_build_filename (chandir,
                                                     ".s0123456789abcdef0123456789abcdef",
                                                     NULL);
      g_autofree char *hardlink_base = g_build_filename (chandir,
                                                         ".sfedcba9876543210fedcba9876543210",
                                                         NULL);

      write_record (path, kind, elsewhere);
      write_record (path, kind, dotdot);
      write_record (path, kind, link_base);
      write_record (path, kind, hardlink_base);
    }

  /* Records are handled in order: once a later sender is served, ours were. */
  member = run_client (&users, users.stranger, (gid_t) -1, path, "later");
  assert_client_served (member, "later");

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_assert_cmpint (read (fds[i], buf, sizeof buf), <=, 0);
      close (fds[i]);
    }

  /* The links are left for the listener to remove when it stops. */
  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "later;later;later;\n");

  users_clear (&users);
}

static void
test_die_code_other_user (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *chandir = NULL;
  g_autofree char *member = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("On a pipe shared with its group, the die code of a member of the group "
                  "(one-shot or on a client) is refused with PERMISSION_DENIED, never handed "
                  "to handlers, and the listener keeps serving that member");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "die-group-pipe", NULL);
  chandir = g_strconcat (path, ".d", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_GROUP, path);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *stop = send_die_code (&users, users.member, users.member,
                                             users.listener.pw_gid, path,
                                             i == 0 ? "send" : "client");
      assert_die_code_refused (stop);
    }

  /* Still listening, and serving the same member. */
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  member = run_client (&users, users.member, users.listener.pw_gid, path, "member");
  assert_client_served (member, "member");
  g_assert_cmpuint (pipecom_test_count_dir_entries (chandir), ==, 0);

  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "member;member;member;\n");

  users_clear (&users);
}

static void
test_die_code_owner (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *member = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("A shared pipe's own user still stops it with the die code, one-shot or "
                  "on a client; another user, root included, does not");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "die-owner-pipe", NULL);

  for (guint i = 0; i < 2; i++)
    {
      const char *how = i == 0 ? "send" : "client";
      g_autofree char *stop = NULL;
      g_autofree char *out = NULL;

      g_clear_pointer (&member, g_free);
      g_clear_object (&listener);
      listener = start_listener (&users, i == 0 ? PIPECOM_ACCESS_GROUP : PIPECOM_ACCESS_EVERYONE,
                                 path);

      /* Root is another user to the listener: refused too. */
      {
        g_autoptr(GError) error = NULL;

        g_assert_false (pipecom_send (path, DIE_CODE, 20, 2, &error));
        g_test_message ("root's die code: %s", error->message);
        g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
      }
      member = run_client (&users, users.member, users.listener.pw_gid, path, "member");
      assert_client_served (member, "member");

      stop = send_die_code (&users, users.listener.pw_uid, users.listener.pw_gid, (gid_t) -1,
                            path, how);
      g_assert_cmpstr (stop, ==, "STOP ok \n");
      out = finish (listener);
      g_test_message ("listener at exit: %s", out);
      g_assert_cmpstr (out, ==, "TEXTS member;member;member;\n");
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }

  users_clear (&users);
}

static void
test_die_code_everyone (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *stranger = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("On a pipe shared with everyone, the die code of a user of no account and "
                  "no group of the listener's is refused with PERMISSION_DENIED, and the "
                  "listener keeps serving");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "die-everyone-pipe", NULL);
  listener = start_listener (&users, PIPECOM_ACCESS_EVERYONE, path);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *stop = send_die_code (&users, users.stranger, users.stranger, (gid_t) -1,
                                             path, i == 0 ? "send" : "client");
      assert_die_code_refused (stop);
    }

  stranger = run_client (&users, users.stranger, (gid_t) -1, path, "stranger");
  assert_client_served (stranger, "stranger");

  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "stranger;stranger;stranger;\n");

  users_clear (&users);
}

static void
test_sgid_foreign_group (void)
{
  Users users;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *access_arg = g_strdup_printf ("%d", PIPECOM_ACCESS_GROUP);
  g_autofree char *gid_text = NULL;
  g_autofree char *line = NULL;
  g_autofree char *out = NULL;
  g_autofree char *denied = g_strdup_printf ("LISTEN %d ", PIPECOM_ERROR_PERMISSION_DENIED);
  g_autofree char *member = NULL;
  g_autofree char *texts = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  gid_t group;

  g_test_summary ("Sharing a pipe with its group in a set-group-ID directory of a group the "
                  "listener is not a member of fails at listen() with PERMISSION_DENIED, "
                  "naming the group and the fix, and leaves nothing behind; a member of "
                  "that group listens and serves");

  if (!users_init (&users))
    return;

  /* A group of no account, that the listener is not in. */
  for (group = 62000; getgrgid (group) != NULL; group++)
    ;
  gid_text = g_strdup_printf ("%u", (guint) group);

  dir = g_build_filename (users.top, "sgid", NULL);
  path = g_build_filename (dir, "pipe", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (chown (dir, users.listener.pw_uid, group), ==, 0);
  g_assert_cmpint (g_chmod (dir, 02755), ==, 0);
  assert_mode (dir, users.listener.pw_uid, group, S_IFDIR, 02755);

  {
    g_autoptr(GSubprocess) refused = spawn_as (&users, users.listener.pw_uid,
                                               users.listener.pw_gid, (gid_t) -1,
                                               "--sharing-listen", access_arg, path);

    line = read_line (refused);
    g_test_message ("listener not in the group: %s", line);
    g_assert_true (g_str_has_prefix (line, denied));
    g_assert_nonnull (strstr (line, "set-group-ID"));
    g_assert_nonnull (strstr (line, gid_text));
    g_assert_nonnull (strstr (line, "chmod g-s"));
    out = finish (refused);
    g_assert_cmpstr (out, ==, "");
  }
  g_assert_cmpuint (pipecom_test_count_dir_entries (dir), ==, 0);

  /* Control: a listener in that group shares the pipe with its members. */
  {
    GSubprocess *process = spawn_as (&users, users.listener.pw_uid, users.listener.pw_gid,
                                     group, "--sharing-listen", access_arg, path);

    g_clear_pointer (&line, g_free);
    line = read_line (process);
    g_test_message ("listener in the group: %s", line);
    listener = process;
    g_assert_cmpstr (line, ==, "READY");
  }
  assert_mode (path, users.listener.pw_uid, group, S_IFIFO, 0620);
  member = run_client (&users, users.member, group, path, "member");
  assert_client_served (member, "member");
  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "member;member;member;\n");
  g_assert_cmpuint (pipecom_test_count_dir_entries (dir), ==, 0);

  users_clear (&users);
}

/* Copies the built command-line tool and its library next to @users'
 * copy of this program, where other users can run them; NULL if the tool
 * was not built. */
static char *
copy_tool (Users *users)
{
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "pipecom", NULL);
  g_autofree char *lib = g_test_build_filename (G_TEST_BUILT, "..", "pipecom",
                                                "libpipecom-1.0.so.0", NULL);
  g_autofree char *tool_dir = g_build_filename (users->top, "tools", NULL);
  g_autofree char *lib_dir = g_build_filename (users->top, "pipecom", NULL);
  char *copy = g_build_filename (tool_dir, "pipecom", NULL);
  g_autofree char *lib_copy = g_build_filename (lib_dir, "libpipecom-1.0.so.0", NULL);
  g_autofree char *cmd = NULL;

  if (!g_file_test (tool, G_FILE_TEST_IS_EXECUTABLE) || !g_file_test (lib, G_FILE_TEST_EXISTS))
    {
      g_free (copy);
      return NULL;
    }

  /* The tool finds its library at $ORIGIN/../pipecom, as in the build tree. */
  cmd = g_strdup_printf ("mkdir -p '%s' '%s' && cp -L '%s' '%s' && cp -L '%s' '%s' && "
                         "chmod 0755 '%s' '%s' '%s'", tool_dir, lib_dir, tool, copy, lib,
                         lib_copy, tool_dir, lib_dir, copy);
  g_assert_cmpint (system (cmd), ==, 0);
  return copy;
}

static void
test_private_dir_eacces (void)
{
  Users users;
  g_autofree char *private_dir = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *nested = NULL;
  g_autofree char *direct = NULL;
  g_autofree char *tool = NULL;
  g_autoptr(GSubprocess) listener = NULL;

  g_test_summary ("Another user sending to a pipe inside the listener's 0700 directory, "
                  "directly or further down, gets PERMISSION_DENIED (exit status 5 from "
                  "`pipecom send`), not INVALID_PIPE for a directory that “does not exist”");

  if (!users_init (&users))
    return;

  private_dir = g_build_filename (users.dir, "private", NULL);
  sub = g_build_filename (private_dir, "sub", NULL);
  nested = g_build_filename (sub, "pipe", NULL);
  direct = g_build_filename (private_dir, "pipe", NULL);
  g_assert_cmpint (g_mkdir (private_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_cmpint (chown (private_dir, users.listener.pw_uid, users.listener.pw_gid), ==, 0);
  g_assert_cmpint (chown (sub, users.listener.pw_uid, users.listener.pw_gid), ==, 0);
  g_assert_cmpint (g_chmod (private_dir, 0700), ==, 0);
  g_assert_cmpint (g_chmod (sub, 0755), ==, 0);

  listener = start_listener (&users, PIPECOM_ACCESS_PRIVATE, nested);

  for (guint i = 0; i < 2; i++)
    {
      const char *path = i == 0 ? nested : direct;
      g_autofree char *out = run_client (&users, users.member, users.listener.pw_gid, path, "x");

      assert_client_denied (out);
      g_assert_null (strstr (out, "does not exist"));
    }

  tool = copy_tool (&users);
  if (tool == NULL)
    g_test_message ("the pipecom tool was not built: not checking its exit status");
  else
    {
      g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_autofree char *uid_arg = g_strdup_printf ("--reuid=%u", (guint) users.member);
      g_autofree char *gid_arg = g_strdup_printf ("--regid=%u", (guint) users.member);
      g_autofree char *groups_arg = g_strdup_printf ("--groups=%u",
                                                     (guint) users.listener.pw_gid);
      g_autoptr(GSubprocess) send = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *err = NULL;
      const char *argv[] = { users.setpriv, uid_arg, gid_arg, groups_arg, "--", tool,
                             "send", "-t", "20", nested, "x", NULL };

      g_subprocess_launcher_set_cwd (launcher, "/");
      send = g_subprocess_launcher_spawnv (launcher, argv, &error);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_communicate_utf8 (send, NULL, NULL, NULL, &err, &error));
      g_assert_no_error (error);
      g_test_message ("pipecom send: %s", err);
      g_assert_true (g_subprocess_get_if_exited (send));
      g_assert_cmpint (g_subprocess_get_exit_status (send), ==, 5);
    }

  /* Private: only a signal stops it. */
  g_subprocess_send_signal (listener, SIGTERM);
  g_assert_true (g_subprocess_wait (listener, NULL, NULL));

  users_clear (&users);
}

/* Has @uid make the hard link @dst to @src; whether it could. Only
 * fs.protected_hardlinks=1 may forbid it. */
static gboolean
link_as (Users      *users,
         uid_t       uid,
         const char *src,
         const char *dst)
{
  g_autoptr(GSubprocess) process = spawn_as (users, uid, uid, (gid_t) -1, "--sharing-link",
                                             src, dst);
  g_autofree char *out = finish (process);
  g_autofree char *eperm = g_strdup_printf ("LINK %d\n", EPERM);
  g_autofree char *protected = NULL;

  g_test_message ("user %u: link %s → %s: %s", (guint) uid, dst, src, out);
  if (g_str_equal (out, "LINK ok\n"))
    return TRUE;

  g_assert_cmpstr (out, ==, eperm);
  g_assert_true (g_file_get_contents ("/proc/sys/fs/protected_hardlinks", &protected, NULL,
                                      NULL));
  g_assert_cmpstr (g_strstrip (protected), !=, "0");
  return FALSE;
}

static void
assert_file_mode (const char *path,
                  guint       mode)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static void
test_hardlink_lock (void)
{
  Users users;
  g_autofree char *sticky = NULL;
  g_autofree char *ctl = NULL;
  g_autofree char *lock = NULL;
  g_autofree char *svc_a = NULL;
  g_autofree char *svc_b = NULL;
  g_autofree char *denied = NULL;
  static const guint modes[] = { 0666, 0755 };
  gboolean checked_0755 = FALSE;

  g_test_summary ("Another user hard-links the owner's files into a sticky directory "
                  "like /tmp: a 0666 or 0755 file as PATH.lock makes the owner's listen() "
                  "fail with PERMISSION_DENIED, never change the file's mode; a link to "
                  "the owner's live private FIFO as another pipe is refused by the "
                  "owner's senders (the parts that fs.protected_hardlinks=1 forbids are "
                  "checked where it is 0)");

  if (!users_init (&users))
    return;

  sticky = g_build_filename (users.top, "tmp", NULL);
  g_assert_cmpint (g_mkdir (sticky, 01777), ==, 0);
  g_assert_cmpint (g_chmod (sticky, 01777), ==, 0);
  ctl = g_build_filename (sticky, "ctl", NULL);
  lock = g_strconcat (ctl, ".lock", NULL);
  denied = g_strdup_printf ("LISTEN %d ", PIPECOM_ERROR_PERMISSION_DENIED);

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *file = g_strdup_printf ("%s/tool-%o", users.dir, modes[i]);
      g_autofree char *access_arg = g_strdup_printf ("%d", PIPECOM_ACCESS_PRIVATE);
      g_autoptr(GSubprocess) listener = NULL;
      g_autofree char *line = NULL;

      g_assert_true (g_file_set_contents (file, "#!/bin/sh\n", -1, NULL));
      g_assert_cmpint (chown (file, users.listener.pw_uid, users.listener.pw_gid), ==, 0);
      g_assert_cmpint (g_chmod (file, modes[i]), ==, 0);

      if (!link_as (&users, users.stranger, file, lock))
        {
          /* Anybody may link a file they can read and write. */
          g_assert_cmpuint (modes[i], !=, 0666);
          g_test_message ("fs.protected_hardlinks forbids linking the %o file", modes[i]);
          continue;
        }
      checked_0755 |= modes[i] == 0755;

      listener = spawn_as (&users, users.listener.pw_uid, users.listener.pw_gid, (gid_t) -1,
                           "--sharing-listen", access_arg, ctl);
      line = read_line (listener);
      g_test_message ("listener: %s", line);
      g_assert_true (g_str_has_prefix (line, denied));
      g_free (finish (listener));

      assert_file_mode (file, modes[i]);
      assert_file_mode (lock, modes[i]);
      g_assert_false (g_file_test (ctl, G_FILE_TEST_EXISTS));
      g_assert_cmpint (g_unlink (lock), ==, 0);
    }

  /* The owner's live private FIFO, linked as another pipe. */
  svc_a = g_build_filename (users.dir, "svcA", NULL);
  svc_b = g_build_filename (sticky, "svcB", NULL);
  {
    g_autoptr(GSubprocess) listener = start_listener (&users, PIPECOM_ACCESS_PRIVATE, svc_a);
    g_autoptr(GSubprocess) stop = NULL;

    if (link_as (&users, users.stranger, svc_a, svc_b))
      {
        g_autofree char *out = run_client (&users, users.listener.pw_uid, (gid_t) -1, svc_b,
                                           "alias");

        assert_client_denied (out);
        /* While the link is there, svcA has two names too: its own
         * senders refuse it as well (the price of the check). */
        g_assert_cmpint (g_unlink (svc_b), ==, 0);
      }
    else
      g_test_message ("fs.protected_hardlinks forbids linking the FIFO");

    /* The owner stops it: it handled nothing. */
    stop = spawn_as (&users, users.listener.pw_uid, users.listener.pw_gid, (gid_t) -1,
                     "--sharing-client", svc_a, DIE_CODE);
    g_free (finish (stop));
    {
      g_autofree char *texts = finish (listener);

      g_assert_cmpstr (texts, ==, "TEXTS \n");
    }
  }

  if (!checked_0755)
    g_test_message ("run with fs.protected_hardlinks=0 too (as CI does) for the 0755 file "
                    "and the FIFO");

  users_clear (&users);
}

/* ---- Credentials of other users ---- */

static GSubprocess *
start_creds_listener (Users         *users,
                      PipecomAccess  access,
                      const char    *path,
                      const char    *allowed)
{
  g_autofree char *access_arg = g_strdup_printf ("%d", access);
  GSubprocess *process = spawn_as_full (users, users->listener.pw_uid, users->listener.pw_gid,
                                        (gid_t) -1, "--sharing-listen-creds", access_arg, path,
                                        allowed);
  g_autofree char *line = read_line (process);

  g_test_message ("listener: %s", line);
  g_assert_cmpstr (line, ==, "READY");
  return process;
}

/* Asserts that the three calls of a --sharing-client sender were answered
 * with @creds (see describe_sender()). */
static void
assert_client_creds (const char *out,
                     const char *creds)
{
  g_autofree char *request = g_strdup_printf ("REQUEST ok %s\n", creds);
  g_autofree char *client = g_strdup_printf ("CLIENT ok %s\n", creds);

  g_assert_nonnull (strstr (out, "SEND ok \n"));
  g_assert_nonnull (strstr (out, request));
  g_assert_nonnull (strstr (out, client));
}

/* Runs a --sharing-client sender as @uid/@gid (no other group) and
 * returns what it printed, and its pid in *@pid. */
static char *
run_client_pid (Users      *users,
                uid_t       uid,
                gid_t       gid,
                const char *path,
                const char *text,
                GPid       *pid)
{
  g_autoptr(GSubprocess) process = spawn_as (users, uid, gid, (gid_t) -1, "--sharing-client",
                                             path, text);
  char *out;

  /* setpriv execs this program: the same process. */
  *pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (process), NULL, 10);
  out = finish (process);
  g_test_message ("sender %u (pid %d) said:\n%s", (guint) uid, (int) *pid, out);
  return out;
}

static void
test_credentials_other_user (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *root_path = NULL;
  g_autofree char *stranger = NULL;
  g_autofree char *texts = NULL;
  g_autofree char *creds = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  GPid pid;

  g_test_summary ("A message of another user carries that user's uid, verified; its pid only "
                  "where the listener can read the sender's descriptors (root, on Linux), "
                  "never otherwise");

  if (!users_init (&users))
    return;

  /* An unprivileged listener cannot look into another user's process. */
  path = g_build_filename (users.dir, "creds-pipe", NULL);
  listener = start_creds_listener (&users, PIPECOM_ACCESS_EVERYONE, path, "-");
  stranger = run_client_pid (&users, users.stranger, users.stranger, path, "stranger", &pid);
  creds = g_strdup_printf ("creds:%u:-1:%u", (guint) users.stranger, PIPECOM_SENDER_USER);
  assert_client_creds (stranger, creds);
  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "stranger;stranger;stranger;\n");

  /* Root can, on Linux: the pid is the sender's own. */
  root_path = g_build_filename (users.top, "creds-root-pipe", NULL);
  {
    g_autoptr(PipecomPipe) pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", root_path,
                                                "threaded", TRUE,
                                                "access", PIPECOM_ACCESS_EVERYONE, NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *expected = NULL;
    g_autoptr(GString) handled = g_string_new (NULL);

    g_signal_connect (pipe, "message-received", G_CALLBACK (child_creds_cb), handled);
    g_assert_true (pipecom_pipe_listen (pipe, &error));
    g_assert_no_error (error);

    out = run_client_pid (&users, users.stranger, users.stranger, root_path, "stranger", &pid);
#if defined(__linux__) && defined(PIPECOM_LINUX_SPECIFIC)
    expected = g_strdup_printf ("creds:%u:%d:%u", (guint) users.stranger, (int) pid,
                                PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
#else
    expected = g_strdup_printf ("creds:%u:-1:%u", (guint) users.stranger, PIPECOM_SENDER_USER);
#endif
    assert_client_creds (out, expected);
    pipecom_test_stop_and_wait (pipe);
    g_assert_cmpstr (handled->str, ==, "stranger;stranger;stranger;");
  }

  users_clear (&users);
}

static void
test_allowed_users_other_user (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autofree char *allowed = NULL;
  g_autofree char *stranger = NULL;
  g_autofree char *member = NULL;
  g_autofree char *own = NULL;
  g_autofree char *texts = NULL;
  g_autofree char *creds = NULL;
  g_autoptr(GSubprocess) listener = NULL;
  GPid pid;

  g_test_summary ("A user not in allowed-users gets PERMISSION_DENIED and nothing of it is "
                  "handled, while the users listed (by uid or by name) and the listener's own "
                  "are served, with their uid reported");

  if (!users_init (&users))
    return;

  path = g_build_filename (users.dir, "allowed-pipe", NULL);
  /* The member by uid, root by name; the stranger is not listed. */
  allowed = g_strdup_printf ("%u,root", (guint) users.member);
  listener = start_creds_listener (&users, PIPECOM_ACCESS_EVERYONE, path, allowed);

  stranger = run_client_pid (&users, users.stranger, users.stranger, path, "stranger", &pid);
  assert_client_denied (stranger);
  g_assert_nonnull (strstr (stranger, "allowed-users"));

  member = run_client_pid (&users, users.member, users.member, path, "member", &pid);
  creds = g_strdup_printf ("creds:%u:-1:%u", (guint) users.member, PIPECOM_SENDER_USER);
  assert_client_creds (member, creds);

  /* Root, by name, from this process. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *reply = pipecom_request (path, "root", 20, 2, &error);
    g_autofree char *expected = g_strdup_printf ("creds:0:-1:%u", PIPECOM_SENDER_USER);

    g_assert_no_error (error);
    g_assert_cmpstr (reply, ==, expected);
  }

  /* The listener's own user, not listed. Of the same user and group, its
   * process is one the listener may look into: the pid is verified. */
  own = run_client_pid (&users, users.listener.pw_uid, users.listener.pw_gid, path, "own", &pid);
  g_clear_pointer (&creds, g_free);
#if defined(__linux__) && defined(PIPECOM_LINUX_SPECIFIC)
  creds = g_strdup_printf ("creds:%u:%d:%u", (guint) users.listener.pw_uid, (int) pid,
                           PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
#else
  creds = g_strdup_printf ("creds:%u:-1:%u", (guint) users.listener.pw_uid, PIPECOM_SENDER_USER);
#endif
  assert_client_creds (own, creds);

  texts = stop_listener (&users, listener, path);
  g_assert_cmpstr (texts, ==, "member;member;member;root;own;own;own;\n");

  users_clear (&users);
}

typedef struct
{
  uid_t refused;
  gint  refusals;  /* atomic */
  gint  handled;   /* atomic */
  gint  foreign;   /* atomic: messages of the refused user handled */
} Gate;

static gboolean
gate_authorize_cb (PipecomPipe  *pipe,
                   GCredentials *credentials,
                   gpointer      user_data)
{
  Gate *gate = user_data;

  if (credentials != NULL && g_credentials_get_unix_user (credentials, NULL) != gate->refused)
    return TRUE;
  g_atomic_int_inc (&gate->refusals);
  return FALSE;
}

static char *
gate_message_cb (PipecomPipe    *pipe,
                 PipecomMessage *message,
                 gpointer        user_data)
{
  Gate *gate = user_data;
  GCredentials *credentials = pipecom_message_get_credentials (message);

  if (credentials == NULL || g_credentials_get_unix_user (credentials, NULL) == gate->refused)
    g_atomic_int_inc (&gate->foreign);
  g_atomic_int_inc (&gate->handled);
  return describe_sender (message);
}

static void
test_authorize_other_user (void)
{
  Users users;
  g_autofree char *path = NULL;
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stranger = NULL;
  g_autofree char *member = NULL;
  Gate gate = { 0, };
  GPid pid;

  g_test_summary ("A user that ::authorize refuses gets PERMISSION_DENIED on every call, none "
                  "of its messages is handled, and the listener goes on serving the others");

  if (!users_init (&users))
    return;

  gate.refused = users.stranger;
  path = g_build_filename (users.top, "authorize-pipe", NULL);
  pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", path, "threaded", TRUE,
                       "access", PIPECOM_ACCESS_EVERYONE, NULL);
  g_signal_connect (pipe, "authorize", G_CALLBACK (gate_authorize_cb), &gate);
  g_signal_connect (pipe, "message-received", G_CALLBACK (gate_message_cb), &gate);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  stranger = run_client_pid (&users, users.stranger, users.stranger, path, "stranger", &pid);
  assert_client_denied (stranger);
  g_assert_nonnull (strstr (stranger, "not authorized"));
  g_assert_cmpint (g_atomic_int_get (&gate.refusals), ==, 3);

  member = run_client_pid (&users, users.member, users.member, path, "member", &pid);
  g_assert_nonnull (strstr (member, "SEND ok \n"));
  g_assert_nonnull (strstr (member, "REQUEST ok creds:"));
  g_assert_nonnull (strstr (member, "CLIENT ok creds:"));

  g_assert_cmpint (g_atomic_int_get (&gate.handled), ==, 3);
  g_assert_cmpint (g_atomic_int_get (&gate.foreign), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&gate.refusals), ==, 3);
  g_assert_true (pipecom_pipe_get_listening (pipe));

  pipecom_test_stop_and_wait (pipe);
  users_clear (&users);
}

int
main (int   argc,
      char *argv[])
{
  if (argc >= 4 && g_str_equal (argv[1], "--sharing-listen"))
    return child_listen_main (argv);
  if (argc >= 5 && g_str_equal (argv[1], "--sharing-listen-creds"))
    return child_listen_main (argv);
  if (argc >= 4 && g_str_equal (argv[1], "--sharing-client"))
    return child_client_main (argv);
  if (argc >= 4 && g_str_equal (argv[1], "--sharing-stop"))
    return child_stop_main (argv);
  if (argc >= 3 && g_str_equal (argv[1], "--sharing-junk"))
    return child_junk_main (argv);
  if (argc >= 4 && g_str_equal (argv[1], "--sharing-link"))
    return child_link_main (argv);

  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/sharing/listen-refused", test_listen_refused);
  g_test_add_func ("/sharing/own-user", test_own_shared);
  g_test_add_func ("/sharing/planted", test_planted);
  g_test_add_func ("/sharing/group", test_group);
  g_test_add_func ("/sharing/everyone", test_everyone);
  g_test_add_func ("/sharing/everyone-same-group", test_everyone_same_group);
  g_test_add_func ("/sharing/private", test_private);
  g_test_add_func ("/sharing/bogus-base", test_bogus_base);
  g_test_add_func ("/sharing/die-code/other-user", test_die_code_other_user);
  g_test_add_func ("/sharing/die-code/owner", test_die_code_owner);
  g_test_add_func ("/sharing/die-code/everyone", test_die_code_everyone);
  g_test_add_func ("/sharing/sgid-foreign-group", test_sgid_foreign_group);
  g_test_add_func ("/sharing/private-dir-eacces", test_private_dir_eacces);
  g_test_add_func ("/sharing/hardlink-lock", test_hardlink_lock);
  g_test_add_func ("/sharing/credentials/other-user", test_credentials_other_user);
  g_test_add_func ("/sharing/allowed-users/other-user", test_allowed_users_other_user);
  g_test_add_func ("/sharing/authorize/other-user", test_authorize_other_user);

  return g_test_run ();
}
