/* bench-gdbus.c: GDBus peer-to-peer method calls
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * The listener is a GDBusServer on unix:path=ADDRESS that exports, on every
 * connection, the method org.pipecom.Bench.Ack(ay) -> (ay), answering with
 * the message's first bench_reply_size() bytes (its 8-byte tag, or 16 bytes
 * in W1r).  A one-shot round trip is a fresh connection.
 */

#include "bench-common.h"

#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

#define BENCH_PATH  "/org/pipecom/Bench"
#define BENCH_IFACE "org.pipecom.Bench"

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" BENCH_IFACE "'>"
  "    <method name='Ack'>"
  "      <arg type='ay' name='message' direction='in'/>"
  "      <arg type='ay' name='tag' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static GDBusNodeInfo *node_info;

static void
method_call_cb (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  g_autoptr(GVariant) message = g_variant_get_child_value (parameters, 0);
  gsize len = 0;
  const guint8 *data = g_variant_get_fixed_array (message, &len, 1);

  if (len < BENCH_MIN_SIZE)
    {
      g_dbus_method_invocation_return_error (invocation, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                             "message too short");
      return;
    }
  bench_handled ();
  g_dbus_method_invocation_return_value (invocation,
                                        g_variant_new ("(@ay)",
                                                       g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                                  data, bench_reply_size (data), 1)));
}

static const GDBusInterfaceVTable vtable = { method_call_cb, NULL, NULL, { 0 } };

static gboolean
new_connection_cb (GDBusServer     *server,
                   GDBusConnection *connection,
                   gpointer         user_data)
{
  g_autoptr(GError) error = NULL;

  if (g_dbus_connection_register_object (connection, BENCH_PATH, node_info->interfaces[0],
                                         &vtable, NULL, NULL, &error) == 0)
    {
      g_printerr ("%s\n", error->message);
      return FALSE;
    }
  g_object_ref (connection);
  g_signal_connect (connection, "closed", G_CALLBACK (g_object_unref), NULL);
  return TRUE;
}

static int
gdbus_listen (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autofree char *dbus_address = NULL;
  g_autoptr(GDBusServer) server = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  node_info = g_dbus_node_info_new_for_xml (introspection_xml, NULL);
  unlink (address);
  dbus_address = g_strdup_printf ("unix:path=%s", address);
  server = g_dbus_server_new_sync (dbus_address, G_DBUS_SERVER_FLAGS_NONE, guid, NULL, NULL, &error);
  if (server == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), NULL);
  g_dbus_server_start (server);
  bench_ready ();
  g_main_loop_run (loop);
  return 0;
}

static void *
gdbus_connect (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dbus_address = g_strdup_printf ("unix:path=%s", address);
  GDBusConnection *conn = NULL;

  /* GDBusServer accepts in a thread of its own with a backlog of 10: a
   * client that connects quickly enough finds it full (EAGAIN) and, as a
   * real client would, tries again. */
  for (guint attempt = 0; conn == NULL && attempt < 1000; attempt++)
    {
      g_clear_error (&error);
      conn = g_dbus_connection_new_for_address_sync (dbus_address,
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                     NULL, NULL, &error);
      if (conn == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (conn == NULL)
        g_usleep (1000);
    }
  if (conn == NULL)
    g_printerr ("%s\n", error->message);
  return conn;
}

static bool
gdbus_request (void          *conn,
               const uint8_t *msg,
               size_t         len,
               uint8_t       *reply)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) ret = NULL;
  g_autoptr(GVariant) out = NULL;
  const guint8 *data;
  gsize out_len = 0;

  ret = g_dbus_connection_call_sync (conn, NULL, BENCH_PATH, BENCH_IFACE, "Ack",
                                     g_variant_new ("(@ay)",
                                                    g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                               msg, len, 1)),
                                     G_VARIANT_TYPE ("(ay)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                     NULL, &error);
  if (ret == NULL)
    {
      g_printerr ("%s\n", error->message);
      return false;
    }
  out = g_variant_get_child_value (ret, 0);
  data = g_variant_get_fixed_array (out, &out_len, 1);
  if (out_len != bench_reply_size (msg))
    return false;
  memcpy (reply, data, out_len);
  return true;
}

static void
gdbus_disconnect (void *conn)
{
  g_dbus_connection_close_sync (conn, NULL, NULL);
  g_object_unref (conn);
}

static bool
gdbus_oneshot (const char    *address,
               const uint8_t *msg,
               size_t         len,
               uint8_t       *reply)
{
  void *conn = gdbus_connect (address);
  bool ok;

  if (conn == NULL)
    return false;
  ok = gdbus_request (conn, msg, len, reply);
  gdbus_disconnect (conn);
  return ok;
}

static const BenchPeer peer = {
  "gdbus", gdbus_listen, gdbus_connect, gdbus_request, gdbus_oneshot, gdbus_disconnect,
};

int
main (int    argc,
      char **argv)
{
  return bench_main (&peer, argc, argv);
}
