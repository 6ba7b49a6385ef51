/* test-win32.c: Windows-only checks of the named-pipe transport
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include "test-utils.h"
#include "pipecom-private.h"
#include "win32/pipecom-win32-private.h"

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

/* Wine runs every process as the same user and ignores some flags: tests
 * that cannot show something there say so and skip. */
static gboolean
running_on_wine (void)
{
  HMODULE ntdll = GetModuleHandleW (L"ntdll.dll");

  return ntdll != NULL && GetProcAddress (ntdll, "wine_get_version") != NULL;
}

static HANDLE
open_raw_client (const char *path,
                 DWORD       access,
                 DWORD      *code)
{
  g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
  HANDLE h = CreateFileW (wpath, access, 0, NULL, OPEN_EXISTING,
                          FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                          NULL);

  *code = h == INVALID_HANDLE_VALUE ? GetLastError () : ERROR_SUCCESS;
  return h;
}

static HANDLE
create_rogue_instance (const char *path,
                       gboolean    first,
                       DWORD      *code)
{
  g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
  HANDLE h = CreateNamedPipeW (wpath,
                               PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                               (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                               PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                               PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);

  *code = h == INVALID_HANDLE_VALUE ? GetLastError () : ERROR_SUCCESS;
  return h;
}

static PSID
current_user_sid (void)
{
  HANDLE token;
  DWORD size = 0;
  TOKEN_USER *user;
  PSID sid;

  g_assert_true (OpenProcessToken (GetCurrentProcess (), TOKEN_QUERY, &token));
  GetTokenInformation (token, TokenUser, NULL, 0, &size);
  user = g_malloc (size);
  g_assert_true (GetTokenInformation (token, TokenUser, user, size, &size));
  size = GetLengthSid (user->User.Sid);
  sid = g_malloc (size);
  g_assert_true (CopySid (size, sid, user->User.Sid));
  g_free (user);
  CloseHandle (token);
  return sid;
}

/* An impersonation token of ours with our user SID made deny-only: it
 * stands in for another user, whom no ACE of the pipe names. */
static HANDLE
other_user_token (void)
{
  HANDLE token, restricted = NULL, imp = NULL;
  g_autofree void *sid = current_user_sid ();
  SID_AND_ATTRIBUTES deny = { sid, 0 };

  g_assert_true (OpenProcessToken (GetCurrentProcess (), TOKEN_ALL_ACCESS, &token));
  g_assert_true (CreateRestrictedToken (token, 0, 1, &deny, 0, NULL, 0, NULL, &restricted));
  g_assert_true (DuplicateToken (restricted, SecurityImpersonation, &imp));
  CloseHandle (restricted);
  CloseHandle (token);
  return imp;
}

static HANDLE
own_token (void)
{
  HANDLE token, imp = NULL;

  g_assert_true (OpenProcessToken (GetCurrentProcess (), TOKEN_ALL_ACCESS, &token));
  g_assert_true (DuplicateToken (token, SecurityImpersonation, &imp));
  CloseHandle (token);
  return imp;
}

static HANDLE
anonymous_token (void)
{
  HANDLE imp = NULL;

  if (!ImpersonateAnonymousToken (GetCurrentThread ()))
    return NULL;
  if (!OpenThreadToken (GetCurrentThread (), TOKEN_ALL_ACCESS, TRUE, &imp))
    imp = NULL;
  RevertToSelf ();
  return imp;
}

/* Whether @token is granted @desired on the object described by @sd. */
static gboolean
access_granted (PSECURITY_DESCRIPTOR  sd,
                HANDLE                token,
                DWORD                 desired)
{
  GENERIC_MAPPING mapping = { FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                              FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS };
  PRIVILEGE_SET privileges;
  DWORD privileges_len = sizeof privileges;
  DWORD granted = 0;
  BOOL status = FALSE;

  MapGenericMask (&desired, &mapping);
  if (!AccessCheck (sd, token, desired, &mapping, &privileges, &privileges_len,
                    &granted, &status))
    g_error ("AccessCheck: %lu", GetLastError ());
  return status;
}

static PipecomPipe *
listen_on (const char *name)
{
  g_autoptr(GError) error = NULL;
  PipecomPipe *pipe = pipecom_pipe_new (name);

  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  return pipe;
}

/* ------------------------------------------------------------------------ */

static void
test_names (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-name");
  g_autofree char *full = g_strconcat ("\\\\.\\pipe\\", name, NULL);
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  g_test_summary ("A simple name means \\\\.\\pipe\\NAME; the full path reaches the same "
                  "listener and is accepted as is");

  pipe = pipecom_test_listen_new (name, FALSE, NULL);
  g_assert_cmpstr (pipecom_pipe_get_path (pipe), ==, full);
  reply = pipecom_test_request (full, "via path", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "ack:via path");
  pipecom_test_stop_and_wait (pipe);
}

static void
test_error_mapping (void)
{
  const struct { DWORD code; gboolean creating; PipecomError expected; } cases[] = {
    { ERROR_ACCESS_DENIED, FALSE, PIPECOM_ERROR_PERMISSION_DENIED },
    { ERROR_ACCESS_DENIED, TRUE, PIPECOM_ERROR_ADDRESS_IN_USE },
    { ERROR_PIPE_BUSY, FALSE, PIPECOM_ERROR_BUSY },
    { ERROR_BROKEN_PIPE, FALSE, PIPECOM_ERROR_CLOSED },
    { ERROR_NO_DATA, FALSE, PIPECOM_ERROR_CLOSED },
    { ERROR_PIPE_NOT_CONNECTED, FALSE, PIPECOM_ERROR_CLOSED },
    { ERROR_SEM_TIMEOUT, FALSE, PIPECOM_ERROR_TIMEOUT },
    { WAIT_TIMEOUT, FALSE, PIPECOM_ERROR_TIMEOUT },
    { ERROR_FILE_NOT_FOUND, FALSE, PIPECOM_ERROR_CONNECTION_FAILED },
    { ERROR_INVALID_NAME, FALSE, PIPECOM_ERROR_INVALID_PIPE },
    { ERROR_NOT_ENOUGH_MEMORY, FALSE, PIPECOM_ERROR_UNKNOWN },
  };

  g_test_summary ("Win32 errors map as documented: access denied → PERMISSION_DENIED "
                  "(ADDRESS_IN_USE when creating), busy → BUSY, broken pipe → CLOSED, "
                  "semaphore/wait timeouts → TIMEOUT");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (_pipecom_error_code_from_win32 (cases[i].code, cases[i].creating),
                     ==, cases[i].expected);
}

static void
test_busy_until_attempts_used (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-busy");
  g_autofree char *path = g_strconcat ("\\\\.\\pipe\\", name, NULL);
  g_autoptr(GError) error = NULL;
  HANDLE rogue;
  DWORD code;

  g_test_summary ("A pipe whose only instance is taken is BUSY once max-attempts are used up");

  /* One instance, nobody serving it, taken by a client of ours. */
  rogue = create_rogue_instance (path, TRUE, &code);
  g_assert_true (rogue != INVALID_HANDLE_VALUE);
  {
    HANDLE taken = open_raw_client (path, GENERIC_READ | GENERIC_WRITE, &code);

    g_assert_cmpuint (code, ==, ERROR_SUCCESS);
    g_assert_false (pipecom_send (name, "x", 0, 3, &error));
    g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_BUSY);
    CloseHandle (taken);
  }
  CloseHandle (rogue);
}

static void
test_instances_waiting (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-burst");
  g_autoptr(PipecomPipe) pipe = listen_on (name);
  const char *path = pipecom_pipe_get_path (pipe);
  HANDLE a, b;
  DWORD code;

  g_test_summary ("At least two instances wait for clients: two clients connecting back to "
                  "back, with no chance for the listener to run in between, both get in");

  a = open_raw_client (path, GENERIC_READ | GENERIC_WRITE, &code);
  g_assert_cmpuint (code, ==, ERROR_SUCCESS);
  b = open_raw_client (path, GENERIC_READ | GENERIC_WRITE, &code);
  g_assert_cmpuint (code, ==, ERROR_SUCCESS);
  CloseHandle (a);
  CloseHandle (b);

  /* The listener drops the silent clients and keeps serving. */
  g_assert_true (pipecom_test_send (name, "still here", 10, 0, NULL));
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
}

static void
test_buffer_size (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-bufsize");
  g_autoptr(PipecomPipe) pipe = g_object_new (PIPECOM_TYPE_PIPE, "name", name,
                                              "buffer-size", 200000, NULL);
  g_autoptr(GError) error = NULL;
  DWORD in_size = 0, out_size = 0, flags = 0, code;
  HANDLE h;

  g_test_summary ("buffer-size sets the in and out buffer sizes of the pipe's instances");

  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  h = open_raw_client (pipecom_pipe_get_path (pipe), GENERIC_READ | GENERIC_WRITE, &code);
  g_assert_cmpuint (code, ==, ERROR_SUCCESS);
  g_assert_true (GetNamedPipeInfo (h, &flags, &out_size, &in_size, NULL));
  g_test_message ("flags 0x%lx, out %lu, in %lu", flags, out_size, in_size);
  g_assert_false (flags & PIPE_SERVER_END);
  g_assert_cmpuint (in_size, ==, 200000);
  g_assert_cmpuint (out_size, ==, 200000);
  CloseHandle (h);
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
}

static void
test_dacl (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-dacl");
  g_autoptr(PipecomPipe) pipe = listen_on (name);
  g_autofree void *user = current_user_sid ();
  BYTE system_sid[SECURITY_MAX_SID_SIZE];
  DWORD sid_size = sizeof system_sid, code;
  PSECURITY_DESCRIPTOR sd = NULL;
  SECURITY_DESCRIPTOR_CONTROL control = 0;
  DWORD revision;
  ACL_SIZE_INFORMATION info;
  PACL dacl = NULL;
  gboolean saw_user = FALSE, saw_system = FALSE;
  HANDLE h, other, self, anonymous;

  g_test_summary ("The pipe's DACL is protected and grants the current user and SYSTEM, "
                  "nobody else; another user and anonymous are denied opening it and "
                  "creating instances of it");

  g_assert_true (CreateWellKnownSid (WinLocalSystemSid, NULL, system_sid, &sid_size));

  h = open_raw_client (pipecom_pipe_get_path (pipe), GENERIC_READ | READ_CONTROL, &code);
  g_assert_cmpuint (code, ==, ERROR_SUCCESS);
  /* AccessCheck() wants the owner and group too. */
  g_assert_cmpuint (GetSecurityInfo (h, SE_KERNEL_OBJECT,
                                     OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                                     DACL_SECURITY_INFORMATION,
                                     NULL, NULL, &dacl, NULL, &sd), ==, ERROR_SUCCESS);
  CloseHandle (h);

  g_assert_nonnull (dacl);
  g_assert_true (GetSecurityDescriptorControl (sd, &control, &revision));
  g_assert_true (control & SE_DACL_PROTECTED);
  g_assert_true (GetAclInformation (dacl, &info, sizeof info, AclSizeInformation));
  g_assert_cmpuint (info.AceCount, ==, 2);
  for (DWORD i = 0; i < info.AceCount; i++)
    {
      ACCESS_ALLOWED_ACE *ace = NULL;
      PSID sid;

      g_assert_true (GetAce (dacl, i, (void **) &ace));
      g_assert_cmpuint (ace->Header.AceType, ==, ACCESS_ALLOWED_ACE_TYPE);
      sid = &ace->SidStart;
      if (EqualSid (sid, user))
        saw_user = TRUE;
      else if (EqualSid (sid, system_sid))
        saw_system = TRUE;
      else
        g_assert_not_reached ();
    }
  g_assert_true (saw_user);
  g_assert_true (saw_system);

  /* Ourselves: granted (so the checks below can fail). */
  self = own_token ();
  g_assert_true (access_granted (sd, self, GENERIC_READ | GENERIC_WRITE));
  g_assert_true (access_granted (sd, self, FILE_CREATE_PIPE_INSTANCE));
  CloseHandle (self);

  /* Another user: denied everything, creating an instance included. Wine's
   * AccessCheck() ignores deny-only SIDs (and it runs everything as one
   * user): there, only the ACEs checked above can show it. */
  other = other_user_token ();
  if (running_on_wine () && access_granted (sd, other, GENERIC_READ))
    g_test_message ("Wine cannot simulate another user: AccessCheck() ignores the "
                    "deny-only SID; the DACL's ACEs above are what can be shown");
  else
    {
      g_assert_false (access_granted (sd, other, GENERIC_READ));
      g_assert_false (access_granted (sd, other, GENERIC_WRITE));
      g_assert_false (access_granted (sd, other, FILE_CREATE_PIPE_INSTANCE));

      /* And for real. */
      g_assert_true (ImpersonateLoggedOnUser (other));
      h = open_raw_client (pipecom_pipe_get_path (pipe), GENERIC_READ | GENERIC_WRITE, &code);
      RevertToSelf ();
      g_assert_true (h == INVALID_HANDLE_VALUE);
      g_assert_cmpuint (code, ==, ERROR_ACCESS_DENIED);
    }
  CloseHandle (other);

  anonymous = anonymous_token ();
  if (anonymous == NULL && running_on_wine ())
    g_test_message ("Wine has no anonymous token (ImpersonateAnonymousToken failed)");
  else
    {
      g_assert_nonnull (anonymous);
      g_assert_false (access_granted (sd, anonymous, GENERIC_READ));
      g_assert_false (access_granted (sd, anonymous, GENERIC_WRITE));
      g_assert_false (access_granted (sd, anonymous, FILE_CREATE_PIPE_INSTANCE));
      CloseHandle (anonymous);
    }

  LocalFree (sd);
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
}

static void
test_rogue_instance (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-rogue");
  g_autoptr(PipecomPipe) pipe = listen_on (name);
  const char *path = pipecom_pipe_get_path (pipe);
  g_autoptr(PipecomPipe) second = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;
  HANDLE h, other;
  DWORD code;

  g_test_summary ("Nobody can plant a second server on a listener's name: another "
                  "listener gets ADDRESS_IN_USE, a raw CreateNamedPipeW() with "
                  "FILE_FLAG_FIRST_PIPE_INSTANCE fails, and another user cannot create "
                  "an instance");

  g_assert_false (pipecom_pipe_listen (second, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_ADDRESS_IN_USE);

  h = create_rogue_instance (path, TRUE, &code);
  if (h == INVALID_HANDLE_VALUE)
    g_assert_cmpuint (code, ==, ERROR_ACCESS_DENIED);
  else
    {
      CloseHandle (h);
      g_assert_true (running_on_wine ());
      g_test_message ("Wine ignores FILE_FLAG_FIRST_PIPE_INSTANCE (the listener counts "
                      "instances instead, shown by ADDRESS_IN_USE above)");
    }

  other = other_user_token ();
  g_assert_true (ImpersonateLoggedOnUser (other));
  h = create_rogue_instance (path, FALSE, &code);
  RevertToSelf ();
  CloseHandle (other);
  if (h == INVALID_HANDLE_VALUE)
    g_assert_cmpuint (code, ==, ERROR_ACCESS_DENIED);
  else
    {
      CloseHandle (h);
      g_assert_true (running_on_wine ());
      g_test_message ("Wine does not check FILE_CREATE_PIPE_INSTANCE; the DACL's ACEs "
                      "(/win32/dacl) are what can be shown");
    }

  /* The listener is unharmed. */
  g_assert_true (pipecom_test_send (name, "still mine", 10, 0, NULL));
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
}

static void
test_client_identification_only (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-sqos");
  g_autofree char *path = g_strconcat ("\\\\.\\pipe\\", name, NULL);
  PipecomTestResult result = { 0, };
  OVERLAPPED ov = { 0, };
  guint8 buf[PIPECOM_ANNOUNCE_HEADER_SIZE];
  SECURITY_IMPERSONATION_LEVEL level = SecurityAnonymous;
  HANDLE server, token = NULL;
  DWORD code, n = 0, size = 0;

  g_test_summary ("A client opens pipes with SECURITY_IDENTIFICATION: a rogue server that "
                  "impersonates it gets an identification token, which cannot act as the "
                  "client");

  /* A raw server, not a PipeCom listener. */
  server = create_rogue_instance (path, TRUE, &code);
  g_assert_true (server != INVALID_HANDLE_VALUE);
  ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  g_assert_false (ConnectNamedPipe (server, &ov));
  g_assert_true (GetLastError () == ERROR_IO_PENDING || GetLastError () == ERROR_PIPE_CONNECTED);

  pipecom_send_async (name, "who am i", 5, 1, NULL, pipecom_test_send_cb, &result);
  pipecom_test_wait_for (WaitForSingleObject (ov.hEvent, 0) == WAIT_OBJECT_0 ||
                         HasOverlappedIoCompleted (&ov), PIPECOM_TEST_DEADLINE);

  /* Impersonation needs something read from the client first. */
  ResetEvent (ov.hEvent);
  if (!ReadFile (server, buf, sizeof buf, &n, &ov))
    {
      g_assert_cmpuint (GetLastError (), ==, ERROR_IO_PENDING);
      g_assert_true (GetOverlappedResult (server, &ov, &n, TRUE));
    }
  g_assert_cmpmem (buf, 4, "PCOM", 4);

  g_assert_true (ImpersonateNamedPipeClient (server));
  g_assert_true (OpenThreadToken (GetCurrentThread (), TOKEN_QUERY, TRUE, &token));
  RevertToSelf ();
  g_assert_true (GetTokenInformation (token, TokenImpersonationLevel, &level,
                                      sizeof level, &size));
  g_test_message ("impersonation level %d", (int) level);
  if (level != SecurityIdentification && running_on_wine ())
    g_test_message ("Wine ignores the client's SECURITY_SQOS_PRESENT flags (it gives "
                    "level %d whatever the client asked): shown on Windows only", (int) level);
  else
    g_assert_cmpint (level, ==, SecurityIdentification);
  CloseHandle (token);

  /* The client gives up once the rogue server hangs up without a HELLO. */
  CloseHandle (server);
  CloseHandle (ov.hEvent);
  pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
  g_assert_nonnull (result.error);
  pipecom_test_result_clear (&result);
}

/* Sharing is not supported on Windows yet: it fails at listen(), clearly,
 * and leaves the pipe private and usable. */
static void
test_sharing_unsupported (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-share");
  g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
  g_autoptr(GError) error = NULL;

  g_test_summary ("PIPECOM_ACCESS_GROUP and _EVERYONE fail at listen() with "
                  "PIPECOM_ERROR_PERMISSION_DENIED on Windows; PRIVATE still listens");

  for (PipecomAccess access = PIPECOM_ACCESS_GROUP; access <= PIPECOM_ACCESS_EVERYONE; access++)
    {
      pipecom_pipe_set_access (pipe, access);
      g_assert_false (pipecom_pipe_listen (pipe, &error));
      g_test_message ("%s", error->message);
      g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, "not supported"));
      g_clear_error (&error);
      g_assert_false (pipecom_pipe_get_listening (pipe));
    }

  pipecom_pipe_set_access (pipe, PIPECOM_ACCESS_PRIVATE);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);
  pipecom_test_stop_and_wait (pipe);
}

/* Reads and drops what @h has to read; returns whether the other end
 * closed. */
static gboolean
drain_until_broken (HANDLE h)
{
  for (;;)
    {
      guint8 buf[4096];
      OVERLAPPED ov = { 0, };
      DWORD avail = 0, n = 0;
      gboolean ok;

      if (!PeekNamedPipe (h, NULL, 0, NULL, &avail, NULL))
        return GetLastError () == ERROR_BROKEN_PIPE || GetLastError () == ERROR_PIPE_NOT_CONNECTED;
      if (avail == 0)
        return FALSE;

      ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
      ok = ReadFile (h, buf, MIN (avail, sizeof buf), &n, &ov) ||
           (GetLastError () == ERROR_IO_PENDING && GetOverlappedResult (h, &ov, &n, TRUE));
      CloseHandle (ov.hEvent);
      if (!ok)
        return TRUE;
    }
}

static void
write_raw (HANDLE        h,
           const guint8 *data,
           gsize         len)
{
  OVERLAPPED ov = { 0, };
  DWORD n = 0;

  ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  if (!WriteFile (h, data, (DWORD) len, &n, &ov))
    {
      g_assert_cmpuint (GetLastError (), ==, ERROR_IO_PENDING);
      g_assert_true (GetOverlappedResult (h, &ov, &n, TRUE));
    }
  g_assert_cmpuint (n, ==, len);
  CloseHandle (ov.hEvent);
}

/* The listener's per-connection deadline (lowered from 30 s to 2 s here),
 * as on Unix: a client that writes half a frame and stalls is dropped once
 * it passes, not before, and the listener goes on serving. */
static void
test_stalled_peer_dropped (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-stall");
  gint64 saved_deadline = _pipecom_connection_deadline_usec;
  guint8 record[PIPECOM_ANNOUNCE_MAX];
  guint8 header[PIPECOM_FRAME_HEADER_SIZE];
  g_autoptr(PipecomPipe) pipe = NULL;
  gint64 started, elapsed;
  gsize len;
  HANDLE h;
  DWORD code;

  g_test_summary ("A client that writes half a frame and stalls is dropped after the "
                  "listener's per-connection deadline, and the listener goes on serving");

  _pipecom_connection_deadline_usec = 2 * G_USEC_PER_SEC;
  pipe = listen_on (name);
  h = open_raw_client (pipecom_pipe_get_path (pipe), GENERIC_READ | GENERIC_WRITE, &code);
  g_assert_cmpuint (code, ==, ERROR_SUCCESS);

  len = _pipecom_encode_announce (record, PIPECOM_ANNOUNCE_CONNECT, "-", NULL, 0);
  write_raw (h, record, len);
  _pipecom_encode_frame_header (header, 1000, PIPECOM_FRAME_MESSAGE, 1);
  write_raw (h, header, 6);
  started = g_get_monotonic_time ();

  pipecom_test_wait_for (drain_until_broken (h), PIPECOM_TEST_DEADLINE);
  elapsed = g_get_monotonic_time () - started;
  g_test_message ("dropped after %.2f s", elapsed / (double) G_USEC_PER_SEC);
  g_assert_cmpint (elapsed, >=, _pipecom_connection_deadline_usec - G_USEC_PER_SEC / 2);
  g_assert_cmpint (elapsed, <, _pipecom_connection_deadline_usec + 20 * G_USEC_PER_SEC);
  CloseHandle (h);

  g_assert_true (pipecom_test_send (name, "after", 10, 0, NULL));
  pipecom_pipe_stop (pipe);
  pipecom_test_wait_for (!pipecom_pipe_get_listening (pipe), PIPECOM_TEST_DEADLINE);
  _pipecom_connection_deadline_usec = saved_deadline;
}

/* ---- Who a client is ---- */

static char *
current_user_sid_string (void)
{
  g_autofree void *sid = current_user_sid ();
  gunichar2 *wide = NULL;
  char *text;

  g_assert_true (ConvertSidToStringSidW (sid, &wide));
  text = g_utf16_to_utf8 (wide, -1, NULL, NULL, NULL);
  LocalFree (wide);
  return text;
}

/* "S-1-" then dash-separated decimal numbers, and a SID Windows parses. */
static void
assert_sid_string (const char *text)
{
  g_autofree gunichar2 *wide = NULL;
  PSID sid = NULL;

  g_assert_nonnull (text);
  g_assert_true (g_str_has_prefix (text, "S-1-"));
  for (const char *p = text + 4; *p != '\0'; p++)
    g_assert_true (g_ascii_isdigit (*p) || (*p == '-' && g_ascii_isdigit (p[1])));
  wide = g_utf8_to_utf16 (text, -1, NULL, NULL, NULL);
  g_assert_true (ConvertStringSidToSidW (wide, &sid));
  g_assert_true (IsValidSid (sid));
  LocalFree (sid);
}

/* The pid of a running test child: GSubprocess's identifier, a number on
 * Windows too (pipecom_test_child_get_pid() returns it as a GPid, a
 * HANDLE). */
static DWORD
child_pid (PipecomTestChild *child)
{
  return (DWORD) (gintptr) pipecom_test_child_get_pid (child);
}

static void
test_identify_client (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-ident");
  g_autofree char *path = g_strconcat ("\\\\.\\pipe\\", name, NULL);
  g_autofree char *own_sid = current_user_sid_string ();
  g_autofree void *own = current_user_sid ();
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(GCredentials) credentials = NULL;
  PipecomWin32Identity identity;
  OVERLAPPED ov = { 0, };
  guint8 buf[PIPECOM_ANNOUNCE_HEADER_SIZE];
  HANDLE server;
  DWORD code, n = 0, *native;

  g_test_summary ("A listener identifies the client of a pipe instance after reading its "
                  "announcement: the pid of the sending process (a child), and its user's "
                  "SID, equal to this process's token user; the thread's own token is "
                  "restored");

  server = create_rogue_instance (path, TRUE, &code);
  g_assert_true (server != INVALID_HANDLE_VALUE);
  ov.hEvent = CreateEventW (NULL, TRUE, FALSE, NULL);
  g_assert_false (ConnectNamedPipe (server, &ov));
  g_assert_true (GetLastError () == ERROR_IO_PENDING || GetLastError () == ERROR_PIPE_CONNECTED);

  child = pipecom_test_child_spawn ("--child-send", name, "who am i", "1", NULL);
  pipecom_test_wait_for (WaitForSingleObject (ov.hEvent, 0) == WAIT_OBJECT_0,
                         PIPECOM_TEST_DEADLINE);

  /* As the listener does: the record first. */
  ResetEvent (ov.hEvent);
  if (!ReadFile (server, buf, sizeof buf, &n, &ov))
    {
      g_assert_cmpuint (GetLastError (), ==, ERROR_IO_PENDING);
      g_assert_true (GetOverlappedResult (server, &ov, &n, TRUE));
    }
  g_assert_cmpmem (buf, 4, "PCOM", 4);

  _pipecom_win32_identify_client (server, name, &identity);
  g_test_message ("client pid %lu (child %lu), SID %s", identity.pid, child_pid (child),
                  identity.sid_string);
  g_assert_cmpuint (identity.pid, ==, child_pid (child));
  g_assert_cmpuint (identity.pid, !=, GetCurrentProcessId ());
  assert_sid_string (identity.sid_string);
  g_assert_cmpstr (identity.sid_string, ==, own_sid);
  g_assert_true (EqualSid (identity.sid, own));

  /* The thread is itself again. */
  {
    HANDLE token = NULL;

    g_assert_false (OpenThreadToken (GetCurrentThread (), TOKEN_QUERY, TRUE, &token));
    g_assert_cmpuint (GetLastError (), ==, ERROR_NO_TOKEN);
  }

  /* What it costs, once per connection (for the record). */
  {
    gint64 start = g_get_monotonic_time ();

    for (guint i = 0; i < 200; i++)
      {
        PipecomWin32Identity again;

        _pipecom_win32_identify_client (server, name, &again);
        _pipecom_win32_identity_clear (&again);
      }
    g_test_message ("identifying a client: %.1f µs",
                    (g_get_monotonic_time () - start) / 200.0);
  }

  /* A thread that impersonates someone itself gets its token back. */
  {
    PipecomWin32Identity again;
    HANDLE mine = own_token (), token = NULL;
    TOKEN_STATISTICS before, after;
    DWORD size;

    g_assert_true (GetTokenInformation (mine, TokenStatistics, &before, sizeof before, &size));
    g_assert_true (SetThreadToken (NULL, mine));
    _pipecom_win32_identify_client (server, name, &again);
    g_assert_cmpuint (again.pid, ==, identity.pid);
    g_assert_cmpstr (again.sid_string, ==, identity.sid_string);
    _pipecom_win32_identity_clear (&again);

    g_assert_true (OpenThreadToken (GetCurrentThread (), TOKEN_QUERY, TRUE, &token));
    g_assert_true (GetTokenInformation (token, TokenStatistics, &after, sizeof after, &size));
    g_assert_true (before.TokenId.LowPart == after.TokenId.LowPart &&
                   before.TokenId.HighPart == after.TokenId.HighPart);
    CloseHandle (token);
    g_assert_true (RevertToSelf ());
    CloseHandle (mine);
  }

  {
    PipecomPeerIdentity peer = { -1, -1, identity.pid, TRUE, 0, 0 };

    credentials = _pipecom_transport_credentials_new (&peer, identity.pid);
  }
  g_assert_nonnull (credentials);
  native = g_credentials_get_native (credentials, G_CREDENTIALS_TYPE_WIN32_PID);
  g_assert_nonnull (native);
  g_assert_cmpuint (*native, ==, identity.pid);
  {
    g_autofree char *text = g_credentials_to_string (credentials);
    g_autofree char *expected = g_strdup_printf ("GCredentials:win32-pid:pid=%lu",
                                                  identity.pid);

    g_assert_cmpstr (text, ==, expected);
  }
  _pipecom_win32_identity_clear (&identity);

  /* The child gives up once the raw server hangs up without a HELLO. */
  CloseHandle (server);
  CloseHandle (ov.hEvent);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 1);
}

static void
test_identify_nothing_read (void)
{
  PipecomWin32Identity identity = { 0, };
  PipecomPeerIdentity peer = { -1, -1, -1, FALSE, 0, 0 };

  g_test_summary ("What the system cannot say is absent: a handle that is no pipe gives no "
                  "pid and no SID, and no credentials (never g_credentials_new()'s, which "
                  "would hold the listener's own pid)");

  _pipecom_win32_identify_client (GetCurrentProcess (), "none", &identity);
  g_assert_cmpuint (identity.pid, ==, 0);
  g_assert_null (identity.sid);
  g_assert_null (identity.sid_string);
  g_assert_null (_pipecom_transport_credentials_new (&peer, -1));
  g_assert_null (_pipecom_transport_credentials_new (&peer, 0));
  _pipecom_win32_identity_clear (&identity);
}

/* DOMAIN\user of this process's token user. */
static char *
current_account_name (char **user_only)
{
  g_autofree void *sid = current_user_sid ();
  gunichar2 user[256], domain[256];
  DWORD user_len = G_N_ELEMENTS (user), domain_len = G_N_ELEMENTS (domain);
  SID_NAME_USE use;
  g_autofree char *u = NULL, *d = NULL;

  g_assert_true (LookupAccountSidW (NULL, sid, user, &user_len, domain, &domain_len, &use));
  u = g_utf16_to_utf8 (user, -1, NULL, NULL, NULL);
  d = g_utf16_to_utf8 (domain, -1, NULL, NULL, NULL);
  *user_only = g_strdup (u);
  return g_strconcat (d, "\\", u, NULL);
}

static void
test_resolve_users (void)
{
  g_autofree void *own = current_user_sid ();
  g_autofree char *own_sid = current_user_sid_string ();
  g_autofree char *user = NULL;
  g_autofree char *account = current_account_name (&user);
  BYTE system_sid[SECURITY_MAX_SID_SIZE];
  DWORD sid_size = sizeof system_sid;
  const char *users[] = { account, user, own_sid, "S-1-5-18", NULL };
  const char *unknown[] = { user, "pipecom-no-such-user-4711", NULL };
  const char *bad_sid[] = { "S-1-x-18", NULL };
  g_autoptr(GPtrArray) sids = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("allowed-users entries resolve on Windows: DOMAIN\\user, user and SID "
                  "strings; the listener's own user is always in the list; an unknown "
                  "account or a malformed SID fails");

  g_test_message ("own account %s (%s)", account, own_sid);
  g_assert_true (CreateWellKnownSid (WinLocalSystemSid, NULL, system_sid, &sid_size));

  sids = _pipecom_win32_resolve_users (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sids->len, ==, 1);
  g_assert_true (_pipecom_win32_users_contain (sids, own));
  g_assert_false (_pipecom_win32_users_contain (sids, system_sid));
  g_assert_false (_pipecom_win32_users_contain (sids, NULL));
  g_clear_pointer (&sids, g_ptr_array_unref);

  sids = _pipecom_win32_resolve_users (users, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sids->len, ==, 5);
  for (guint i = 0; i < 4; i++)
    g_assert_true (EqualSid (sids->pdata[i], own));
  g_assert_true (EqualSid (sids->pdata[4], system_sid));
  g_clear_pointer (&sids, g_ptr_array_unref);

  sids = _pipecom_win32_resolve_users (unknown, &error);
  g_assert_null (sids);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "pipecom-no-such-user-4711"));
  g_clear_error (&error);

  sids = _pipecom_win32_resolve_users (bad_sid, &error);
  g_assert_null (sids);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

/* ---- Credentials through a listener ---- */

/* What the handler saw of the last message's sender. */
typedef struct
{
  guint               count;
  gboolean            had_credentials;
  DWORD               pid;
  char               *sid;
  PipecomSenderFlags  flags;
} WinSender;

static void
win_sender_clear (WinSender *s)
{
  g_clear_pointer (&s->sid, g_free);
}

static char *
record_win_sender_cb (PipecomPipe    *pipe,
                      PipecomMessage *message,
                      gpointer        user_data)
{
  WinSender *s = user_data;
  GCredentials *credentials = pipecom_message_get_credentials (message);

  s->flags = pipecom_message_get_sender_verified (message);
  s->had_credentials = credentials != NULL;
  s->pid = 0;
  if (credentials != NULL)
    {
      DWORD *native = g_credentials_get_native (credentials, G_CREDENTIALS_TYPE_WIN32_PID);

      g_assert_nonnull (native);
      s->pid = *native;
    }
  g_free (s->sid);
  s->sid = g_strdup (pipecom_message_get_sender_sid (message));
  s->count++;
  return g_strdup ("ok");
}

static void
test_message_credentials (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-creds");
  g_autofree char *own_sid = current_user_sid_string ();
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(PipecomTestChild) child = NULL;
  g_autoptr(PipecomClient) client = NULL;
  PipecomTestResult result = { 0, };
  WinSender s = { 0, };
  DWORD pid;

  g_test_summary ("Every message carries its sender as the system says it: the pid of the "
                  "sending process (a child's for a one-shot send, ours for a persistent "
                  "client), our token user's SID, and flags USER | PROCESS");

  pipe = pipecom_test_listen_with (name, FALSE, G_CALLBACK (record_win_sender_cb), &s);

  /* A one-shot send from another process. */
  child = pipecom_test_child_spawn ("--child-send", name, "from a child", NULL);
  pid = child_pid (child);  /* while it runs: GSubprocess forgets it at exit */
  pipecom_test_wait_for (s.count == 1, PIPECOM_TEST_DEADLINE);
  g_assert_cmpint (pipecom_test_child_wait (child, PIPECOM_TEST_DEADLINE), ==, 0);
  g_test_message ("child %lu: pid %lu, SID %s, flags 0x%x", pid, s.pid, s.sid, s.flags);
  g_assert_true (s.had_credentials);
  g_assert_cmpuint (s.pid, ==, pid);
  assert_sid_string (s.sid);
  g_assert_cmpstr (s.sid, ==, own_sid);
  g_assert_cmpint (s.flags, ==, PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);

  /* A persistent client of this process, two messages on one connection. */
  client = pipecom_client_new (name);
  for (guint i = 0; i < 2; i++)
    {
      pipecom_client_request_async (client, "from a client", NULL,
                                    pipecom_test_request_cb, &result);
      pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
      g_assert_no_error (result.error);
      pipecom_test_result_clear (&result);
      g_assert_cmpuint (s.count, ==, 2 + i);
      g_assert_cmpuint (s.pid, ==, GetCurrentProcessId ());
      g_assert_cmpstr (s.sid, ==, own_sid);
      g_assert_cmpint (s.flags, ==, PIPECOM_SENDER_USER | PIPECOM_SENDER_PROCESS);
    }
  g_clear_object (&client);

  pipecom_test_stop_and_wait (pipe);
  win_sender_clear (&s);
}

typedef struct
{
  gboolean allow;
  guint    calls;
  DWORD    pid;
  char    *sid;
} Authorize;

static gboolean
authorize_cb (PipecomPipe  *pipe,
              GCredentials *credentials,
              gpointer      user_data)
{
  Authorize *a = user_data;

  a->calls++;
  a->pid = 0;
  g_clear_pointer (&a->sid, g_free);
  if (credentials != NULL)
    {
      a->pid = *(DWORD *) g_credentials_get_native (credentials, G_CREDENTIALS_TYPE_WIN32_PID);
      a->sid = g_strdup (pipecom_credentials_get_sid (credentials));
    }
  return a->allow;
}

static void
test_authorize_refused (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-authz");
  g_autoptr(PipecomPipe) pipe = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *own_sid = current_user_sid_string ();
  Authorize a = { FALSE, 0, 0, NULL };
  gint handled = 0;

  g_test_summary ("authorize returning FALSE refuses a one-shot sender and a persistent "
                  "client with PERMISSION_DENIED, nothing is handled, and the listener "
                  "serves the next sender; its credentials carry the sender's pid and "
                  "(pipecom_credentials_get_sid()) its user's SID");

  pipe = pipecom_pipe_new (name);
  g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &handled);
  g_signal_connect (pipe, "authorize", G_CALLBACK (authorize_cb), &a);
  g_assert_true (pipecom_pipe_listen (pipe, &error));
  g_assert_no_error (error);

  g_assert_false (pipecom_test_send (name, "refused", 10, 1, &error));
  g_assert_error (error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (a.pid, ==, GetCurrentProcessId ());
  g_assert_cmpstr (a.sid, ==, own_sid);
  g_assert_cmpint (handled, ==, 0);
  g_assert_true (pipecom_pipe_get_listening (pipe));

  /* A persistent client too. */
  {
    g_autoptr(PipecomClient) client = pipecom_client_new (name);
    PipecomTestResult result = { 0, };

    pipecom_client_request_async (client, "refused too", NULL, pipecom_test_request_cb,
                                  &result);
    pipecom_test_wait_for (result.done, PIPECOM_TEST_DEADLINE);
    g_assert_error (result.error, PIPECOM_ERROR, PIPECOM_ERROR_PERMISSION_DENIED);
    pipecom_test_result_clear (&result);
    g_assert_cmpuint (a.calls, ==, 2);
    g_assert_cmpint (handled, ==, 0);
  }

  a.allow = TRUE;
  g_assert_true (pipecom_test_send (name, "allowed", 10, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (a.calls, ==, 3);
  g_assert_cmpint (handled, ==, 1);

  pipecom_test_stop_and_wait (pipe);
  g_free (a.sid);
}

static void
test_allowed_users (void)
{
  g_autofree char *name = pipecom_test_make_name ("w32-allow");
  g_autofree char *user = NULL;
  g_autofree char *account = current_account_name (&user);
  g_autofree char *own_sid = current_user_sid_string ();
  const char *by_name[] = { account, NULL };
  const char *by_user[] = { user, NULL };
  const char *by_sid[] = { own_sid, NULL };
  const char *system_only[] = { "S-1-5-18", NULL };
  const char *unknown[] = { "S-1-5-18", "pipecom-no-such-user-4711", NULL };
  const char * const *lists[] = { by_name, by_user, by_sid, system_only };
  g_autoptr(GError) error = NULL;

  g_test_summary ("allowed-users on Windows: the own user's DOMAIN\\user, user or SID "
                  "lets it in (and so does a list without it: the listener's own user "
                  "is always allowed); an unknown account fails listen()");

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);
      gint handled = 0;

      g_object_set (pipe, "allowed-users", lists[i], NULL);
      g_signal_connect (pipe, "message-received", G_CALLBACK (pipecom_test_ack_cb), &handled);
      g_assert_true (pipecom_pipe_listen (pipe, &error));
      g_assert_no_error (error);
      g_assert_true (pipecom_test_send (name, "allowed", 10, 1, &error));
      g_assert_no_error (error);
      g_assert_cmpint (handled, ==, 1);
      pipecom_test_stop_and_wait (pipe);
    }

  {
    g_autoptr(PipecomPipe) pipe = pipecom_pipe_new (name);

    g_object_set (pipe, "allowed-users", unknown, NULL);
    g_assert_false (pipecom_pipe_listen (pipe, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "pipecom-no-such-user-4711"));
    g_clear_error (&error);
    g_assert_false (pipecom_pipe_get_listening (pipe));
  }
}

/* The refusal of a user the list does not name, shown at the seam: under
 * Wine (one user) and on Windows (the pipe's DACL lets no other user
 * reach a private pipe) no such client can be made. */
static void
test_users_allow_other_sid (void)
{
  g_autofree char *own_sid = current_user_sid_string ();
  const char *users[] = { "S-1-5-18", NULL };
  g_autoptr(GError) error = NULL;
  PipecomUserSet *set;
  PipecomConnection *conn;
  HANDLE a, b;

  g_test_summary ("A connection whose token user is neither listed nor the listener's own "
                  "is not allowed; one of a listed user, or of the own user, is; a client "
                  "whose user is unknown is not");

  g_assert_true (CreatePipe (&a, &b, NULL, 0));
  CloseHandle (b);
  conn = _pipecom_connection_new_handle (a, 4096, 0, NULL, NULL, NULL);

  set = _pipecom_transport_resolve_users (users, &error);
  g_assert_no_error (error);
  g_assert_nonnull (set);

  g_assert_false (_pipecom_transport_users_allow (set, conn));  /* unknown user */
  _pipecom_connection_set_peer_sid (conn, "S-1-5-21-1-2-3-1001");
  g_assert_false (_pipecom_transport_users_allow (set, conn));
  _pipecom_connection_set_peer_sid (conn, "S-1-5-18");
  g_assert_true (_pipecom_transport_users_allow (set, conn));
  _pipecom_connection_set_peer_sid (conn, own_sid);
  g_assert_true (_pipecom_transport_users_allow (set, conn));
  /* No list: everyone who can reach the pipe. */
  g_assert_true (_pipecom_transport_users_allow (NULL, conn));

  _pipecom_transport_users_free (set);
  _pipecom_connection_close (conn);
  _pipecom_connection_unref (conn);
}

int
main (int   argc,
      char *argv[])
{
  pipecom_test_init (&argc, &argv);

  g_test_add_func ("/win32/names", test_names);
  g_test_add_func ("/win32/error-mapping", test_error_mapping);
  g_test_add_func ("/win32/busy", test_busy_until_attempts_used);
  g_test_add_func ("/win32/instances-waiting", test_instances_waiting);
  g_test_add_func ("/win32/buffer-size", test_buffer_size);
  g_test_add_func ("/win32/sharing-unsupported", test_sharing_unsupported);
  g_test_add_func ("/win32/dacl", test_dacl);
  g_test_add_func ("/win32/rogue-instance", test_rogue_instance);
  g_test_add_func ("/win32/client-identification-only", test_client_identification_only);
  g_test_add_func ("/win32/stalled-peer-dropped", test_stalled_peer_dropped);
  g_test_add_func ("/win32/credentials/identify-client", test_identify_client);
  g_test_add_func ("/win32/credentials/identify-nothing", test_identify_nothing_read);
  g_test_add_func ("/win32/credentials/resolve-users", test_resolve_users);
  g_test_add_func ("/win32/credentials/message", test_message_credentials);
  g_test_add_func ("/win32/credentials/users-allow", test_users_allow_other_sid);
  g_test_add_func ("/win32/credentials/authorize-refused", test_authorize_refused);
  g_test_add_func ("/win32/credentials/allowed-users", test_allowed_users);

  return g_test_run ();
}
