/* pipecom-monitor.c: a GTK 4 application that monitors a pipe
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Listens on the pipe NAME and shows each message it receives in a list,
 * with its time and size. Type a reply below the list: it answers the
 * oldest message waiting for one, or, when none waits, the next message to
 * come. With "Auto-reply" on, every message gets the reply at once. The
 * line at the top tells whether the pipe listens, or why it stopped.
 *
 *   pipecom-monitor [--auto-reply=TEXT] [--dump=FILE] NAME
 *
 * The pipe serves in GTK's main context, so "message-received" runs in the
 * main thread like any other GTK signal handler; nothing here blocks it.
 * --dump writes the list (as the column view sees it) and the pipe's state
 * to FILE after every change, asynchronously: the automated test reads it.
 */

#include <stdlib.h>

#include <gtk/gtk.h>
#include <pipecom.h>

#ifdef G_OS_UNIX
# include <glib-unix.h>
#endif

/* ------------------------------------------------------------------ */
/* MonitorItem: one message of the list                                */

#define MONITOR_TYPE_ITEM (monitor_item_get_type ())
G_DECLARE_FINAL_TYPE (MonitorItem, monitor_item, MONITOR, ITEM, GObject)

struct _MonitorItem
{
  GObject         parent_instance;

  char           *time;      /* (owned) */
  char           *size;      /* (owned) */
  char           *text;      /* (owned): the payload, escaped for display */
  char           *reply;     /* (owned) */
  PipecomMessage *message;   /* (owned) (nullable): while it waits for a reply */
};

G_DEFINE_FINAL_TYPE (MonitorItem, monitor_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TIME,
  PROP_SIZE,
  PROP_TEXT,
  PROP_REPLY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
monitor_item_finalize (GObject *object)
{
  MonitorItem *self = MONITOR_ITEM (object);

  g_free (self->time);
  g_free (self->size);
  g_free (self->text);
  g_free (self->reply);
  g_clear_object (&self->message);

  G_OBJECT_CLASS (monitor_item_parent_class)->finalize (object);
}

static void
monitor_item_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  MonitorItem *self = MONITOR_ITEM (object);

  switch (prop_id)
    {
    case PROP_TIME:
      g_value_set_string (value, self->time);
      break;
    case PROP_SIZE:
      g_value_set_string (value, self->size);
      break;
    case PROP_TEXT:
      g_value_set_string (value, self->text);
      break;
    case PROP_REPLY:
      g_value_set_string (value, self->reply);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
monitor_item_class_init (MonitorItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = monitor_item_finalize;
  object_class->get_property = monitor_item_get_property;

  properties[PROP_TIME] = g_param_spec_string ("time", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] = g_param_spec_string ("size", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT] = g_param_spec_string ("text", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_REPLY] = g_param_spec_string ("reply", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                                G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
monitor_item_init (MonitorItem *self)
{
}

static MonitorItem *
monitor_item_new (PipecomMessage *message)
{
  MonitorItem *self = g_object_new (MONITOR_TYPE_ITEM, NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  const char *text = pipecom_message_get_text (message);
  gsize size = pipecom_message_get_size (message);

  self->time = g_date_time_format (now, "%H:%M:%S");
  self->size = g_strdup_printf ("%" G_GSIZE_FORMAT " B", size);
  if (text != NULL)
    self->text = g_strescape (text, "\"'");   /* keep one line */
  else
    self->text = g_strdup_printf ("(%" G_GSIZE_FORMAT " bytes of binary data)", size);
  self->reply = g_strdup ("");

  return self;
}

static void
monitor_item_set_reply (MonitorItem *self,
                        const char  *reply)
{
  if (g_strcmp0 (self->reply, reply) == 0)
    return;

  g_free (self->reply);
  self->reply = g_strdup (reply);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLY]);
}

/* ------------------------------------------------------------------ */
/* The application                                                     */

typedef struct
{
  GtkApplication *app;
  char           *name;            /* (owned) */
  char           *auto_reply;      /* (owned) (nullable) */
  GFile          *dump_file;       /* (owned) (nullable) */

  PipecomPipe    *pipe;            /* (owned) */
  GListStore     *messages;        /* (owned) (element-type MonitorItem) */
  GQueue          waiting;         /* (element-type MonitorItem): unowned, in messages */
  char           *queued_reply;    /* (owned) (nullable): for the next message */
  char           *state;           /* (owned): as shown on the state line */

  GtkWindow      *window;
  GtkLabel       *state_label;
  GtkEntry       *reply_entry;
  GtkCheckButton *auto_check;
  GtkButton      *listen_button;
  GtkColumnView  *column_view;

  GCancellable   *cancellable;     /* (owned) */
  gboolean        dump_pending;
  gboolean        dump_busy;
  gboolean        dump_dirty;
} Monitor;

static void dump_model (Monitor *monitor);
static void write_dump (Monitor *monitor);

static const char *
stop_reason_text (PipecomStopReason reason)
{
  switch (reason)
    {
    case PIPECOM_STOP_REASON_DIE_CODE:
      return "the die code arrived";
    case PIPECOM_STOP_REASON_MAX_MESSAGES:
      return "the maximum number of messages was reached";
    case PIPECOM_STOP_REASON_TIMEOUT:
      return "no message came within the timeout";
    case PIPECOM_STOP_REASON_REQUESTED:
      return "stopped from this window";
    case PIPECOM_STOP_REASON_ERROR:
      return "an error occurred";
    case PIPECOM_STOP_REASON_NONE:
    default:
      return "not started";
    }
}

static void
set_state (Monitor    *monitor,
           const char *state)
{
  g_free (monitor->state);
  monitor->state = g_strdup (state);

  if (monitor->state_label != NULL)
    gtk_label_set_text (monitor->state_label, state);
  if (monitor->listen_button != NULL && monitor->pipe != NULL)
    gtk_button_set_label (monitor->listen_button,
                          pipecom_pipe_get_listening (monitor->pipe) ? "Stop" : "Listen");
  dump_model (monitor);
}

static void
update_reply_hint (Monitor *monitor)
{
  g_autofree char *hint = NULL;
  guint n_waiting = g_queue_get_length (&monitor->waiting);

  if (monitor->reply_entry == NULL)
    return;

  if (n_waiting > 0)
    hint = g_strdup_printf ("Reply to the oldest of %u waiting message%s", n_waiting,
                            n_waiting == 1 ? "" : "s");
  else if (monitor->queued_reply != NULL)
    hint = g_strdup_printf ("“%s” will answer the next message", monitor->queued_reply);
  else
    hint = g_strdup ("Reply to the next message");

  gtk_entry_set_placeholder_text (monitor->reply_entry, hint);
}

static char *
message_received_cb (PipecomPipe    *pipe,
                     PipecomMessage *message,
                     gpointer        user_data)
{
  Monitor *monitor = user_data;
  g_autoptr(MonitorItem) item = monitor_item_new (message);
  char *reply = NULL;

  g_list_store_append (monitor->messages, item);

  if (gtk_check_button_get_active (monitor->auto_check))
    reply = g_strdup (gtk_editable_get_text (GTK_EDITABLE (monitor->reply_entry)));
  else if (monitor->queued_reply != NULL)
    reply = g_steal_pointer (&monitor->queued_reply);

  if (reply != NULL)
    {
      monitor_item_set_reply (item, reply);
    }
  else
    {
      /* Keep the message: the sender waits until the user replies. */
      item->message = g_object_ref (message);
      monitor_item_set_reply (item, "(waiting for a reply…)");
      g_queue_push_tail (&monitor->waiting, item);
    }

  update_reply_hint (monitor);
  dump_model (monitor);

  return reply;
}

static void
send_reply (Monitor *monitor)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (monitor->reply_entry));
  MonitorItem *item = g_queue_pop_head (&monitor->waiting);

  if (item != NULL)
    {
      g_autoptr(PipecomMessage) message = g_steal_pointer (&item->message);

      pipecom_message_reply (message, text);
      monitor_item_set_reply (item, text);
    }
  else
    {
      g_free (monitor->queued_reply);
      monitor->queued_reply = g_strdup (text);
    }

  gtk_editable_set_text (GTK_EDITABLE (monitor->reply_entry), "");
  update_reply_hint (monitor);
  dump_model (monitor);
}

/* Answers every waiting message with no reply (an acknowledgement). */
static void
release_waiting (Monitor *monitor)
{
  MonitorItem *item;

  while ((item = g_queue_pop_head (&monitor->waiting)) != NULL)
    {
      g_clear_object (&item->message);
      monitor_item_set_reply (item, "(acknowledged, no reply)");
    }
  update_reply_hint (monitor);
}

static void
stopped_cb (PipecomPipe       *pipe,
            PipecomStopReason  reason,
            gpointer           user_data)
{
  Monitor *monitor = user_data;
  g_autofree char *state = g_strdup_printf ("Stopped: %s", stop_reason_text (reason));

  set_state (monitor, state);
}

static void stop_monitoring (Monitor *monitor);

static void
start_listening (Monitor *monitor)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;

  if (pipecom_pipe_listen (monitor->pipe, &error))
    state = g_strdup_printf ("Listening on %s (%s)", monitor->name,
                             pipecom_pipe_get_path (monitor->pipe));
  else
    state = g_strdup_printf ("Not listening: %s", error->message);

  set_state (monitor, state);
}

static void
listen_clicked_cb (GtkButton *button,
                   gpointer   user_data)
{
  Monitor *monitor = user_data;

  if (pipecom_pipe_get_listening (monitor->pipe))
    {
      /* The pipe stops once every message has its answer. */
      release_waiting (monitor);
      pipecom_pipe_stop (monitor->pipe);
    }
  else
    {
      start_listening (monitor);
    }
}

static void
reply_activated_cb (gpointer user_data)
{
  send_reply (user_data);
}

/* ------------------------------------------------------------------ */
/* --dump: the list and the state, written asynchronously              */

static void
dump_written_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Monitor *monitor = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_warning ("Cannot write the dump: %s", error->message);
    }

  monitor->dump_busy = FALSE;
  if (monitor->dump_dirty)
    write_dump (monitor);
}

static void
write_dump (Monitor *monitor)
{
  g_autoptr(GString) text = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GListModel *model;
  guint n_items;

  if (monitor->window == NULL)
    return;
  if (monitor->dump_busy)
    {
      monitor->dump_dirty = TRUE;
      return;
    }

  /* What the column view shows, through its own model. */
  model = G_LIST_MODEL (gtk_column_view_get_model (monitor->column_view));
  n_items = g_list_model_get_n_items (model);

  text = g_string_new (NULL);
  g_string_append_printf (text, "state: %s\n", monitor->state);
  g_string_append_printf (text, "window: %s\n",
                          gtk_widget_get_mapped (GTK_WIDGET (monitor->window)) ? "mapped" : "unmapped");
  g_string_append_printf (text, "queued reply: %s\n",
                          monitor->queued_reply != NULL ? monitor->queued_reply : "(none)");
  g_string_append_printf (text, "rows: %u\n", n_items);
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(MonitorItem) item = g_list_model_get_item (model, i);

      g_string_append_printf (text, "row: %s\t%s\t%s\t%s\n",
                              item->time, item->size, item->text, item->reply);
    }

  bytes = g_string_free_to_bytes (g_steal_pointer (&text));
  monitor->dump_busy = TRUE;
  monitor->dump_dirty = FALSE;
  g_file_replace_contents_bytes_async (monitor->dump_file, bytes, NULL, FALSE,
                                       G_FILE_CREATE_REPLACE_DESTINATION,
                                       monitor->cancellable, dump_written_cb, monitor);
}

/* The dump is written once the window painted the change, so that what it
 * says is on the screen too. */
static void
dump_model (Monitor *monitor)
{
  if (monitor->dump_file == NULL || monitor->window == NULL)
    return;

  monitor->dump_pending = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (monitor->window));
}

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  Monitor *monitor = user_data;

  if (!monitor->dump_pending)
    return;

  monitor->dump_pending = FALSE;
  write_dump (monitor);
}

static void
window_realized_cb (GtkWidget *widget,
                    gpointer   user_data)
{
  g_signal_connect (gtk_widget_get_frame_clock (widget), "after-paint",
                    G_CALLBACK (after_paint_cb), user_data);
}

static void
window_mapped_cb (GtkWidget *widget,
                  gpointer   user_data)
{
  dump_model (user_data);
}

/* ------------------------------------------------------------------ */
/* The window                                                          */

static void
add_column (GtkColumnView *view,
            const char    *title,
            const char    *property,
            gboolean       expand)
{
  g_autofree char *ui = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GtkListItemFactory) factory = NULL;
  g_autoptr(GtkColumnViewColumn) column = NULL;

  /* A label bound to the item's property: it follows its changes. */
  ui = g_strdup_printf (
    "<interface>"
    "  <template class=\"GtkListItem\">"
    "    <property name=\"child\">"
    "      <object class=\"GtkLabel\">"
    "        <property name=\"xalign\">0</property>"
    "        <property name=\"ellipsize\">end</property>"
    "        <binding name=\"label\">"
    "          <lookup name=\"%s\" type=\"MonitorItem\">"
    "            <lookup name=\"item\">GtkListItem</lookup>"
    "          </lookup>"
    "        </binding>"
    "      </object>"
    "    </property>"
    "  </template>"
    "</interface>", property);
  bytes = g_bytes_new (ui, strlen (ui));
  factory = gtk_builder_list_item_factory_new_from_bytes (NULL, bytes);
  column = gtk_column_view_column_new (title, g_steal_pointer (&factory));
  gtk_column_view_column_set_expand (column, expand);
  gtk_column_view_column_set_resizable (column, TRUE);
  gtk_column_view_append_column (view, column);
}

static void
activate_cb (GApplication *app,
             gpointer      user_data)
{
  Monitor *monitor = user_data;
  g_autofree char *title = NULL;
  GtkWidget *box, *scrolled, *bottom, *header, *send;
  GtkNoSelection *selection;

  if (monitor->window != NULL)
    {
      gtk_window_present (monitor->window);
      return;
    }

  title = g_strdup_printf ("PipeCom Monitor — %s", monitor->name);
  monitor->window = GTK_WINDOW (gtk_application_window_new (GTK_APPLICATION (app)));
  gtk_window_set_title (monitor->window, title);
  gtk_window_set_default_size (monitor->window, 720, 420);

  header = gtk_header_bar_new ();
  monitor->listen_button = GTK_BUTTON (gtk_button_new_with_label ("Stop"));
  g_signal_connect (monitor->listen_button, "clicked", G_CALLBACK (listen_clicked_cb), monitor);
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), GTK_WIDGET (monitor->listen_button));
  gtk_window_set_titlebar (monitor->window, header);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 12);

  monitor->state_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (monitor->state_label, 0);
  gtk_label_set_wrap (monitor->state_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (monitor->state_label), "heading");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (monitor->state_label));

  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (monitor->messages)));
  monitor->column_view = GTK_COLUMN_VIEW (gtk_column_view_new (GTK_SELECTION_MODEL (selection)));
  gtk_column_view_set_show_row_separators (monitor->column_view, TRUE);
  add_column (monitor->column_view, "Time", "time", FALSE);
  add_column (monitor->column_view, "Size", "size", FALSE);
  add_column (monitor->column_view, "Message", "text", TRUE);
  add_column (monitor->column_view, "Reply", "reply", TRUE);

  scrolled = gtk_scrolled_window_new ();
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (monitor->column_view));
  gtk_box_append (GTK_BOX (box), scrolled);

  bottom = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  monitor->reply_entry = GTK_ENTRY (gtk_entry_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (monitor->reply_entry), TRUE);
  g_signal_connect_swapped (monitor->reply_entry, "activate", G_CALLBACK (reply_activated_cb), monitor);
  send = gtk_button_new_with_label ("Reply");
  g_signal_connect_swapped (send, "clicked", G_CALLBACK (reply_activated_cb), monitor);
  monitor->auto_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label ("Auto-reply"));
  gtk_box_append (GTK_BOX (bottom), GTK_WIDGET (monitor->reply_entry));
  gtk_box_append (GTK_BOX (bottom), send);
  gtk_box_append (GTK_BOX (bottom), GTK_WIDGET (monitor->auto_check));
  gtk_box_append (GTK_BOX (box), bottom);

  gtk_window_set_child (monitor->window, box);
  gtk_window_set_focus (monitor->window, GTK_WIDGET (monitor->reply_entry));

  if (monitor->auto_reply != NULL)
    {
      gtk_editable_set_text (GTK_EDITABLE (monitor->reply_entry), monitor->auto_reply);
      gtk_check_button_set_active (monitor->auto_check, TRUE);
    }
  update_reply_hint (monitor);

  g_signal_connect (monitor->window, "realize", G_CALLBACK (window_realized_cb), monitor);
  g_signal_connect (monitor->window, "map", G_CALLBACK (window_mapped_cb), monitor);
  g_signal_connect_swapped (monitor->window, "destroy", G_CALLBACK (stop_monitoring), monitor);

  /* The pipe serves in the main context GTK runs: its signals come in the
   * main thread, as any widget's do. */
  monitor->pipe = pipecom_pipe_new (monitor->name);
  g_signal_connect (monitor->pipe, "message-received", G_CALLBACK (message_received_cb), monitor);
  g_signal_connect (monitor->pipe, "stopped", G_CALLBACK (stopped_cb), monitor);
  start_listening (monitor);
  gtk_window_present (monitor->window);
}

/* The window is gone, or the application quits: answer whoever waits,
 * and stop the pipe (it removes its FIFO). */
static void
stop_monitoring (Monitor *monitor)
{
  if (monitor->window == NULL)
    return;

  monitor->window = NULL;
  monitor->state_label = NULL;
  monitor->reply_entry = NULL;
  monitor->auto_check = NULL;
  monitor->listen_button = NULL;
  monitor->column_view = NULL;

  release_waiting (monitor);
  g_cancellable_cancel (monitor->cancellable);
  if (monitor->pipe != NULL)
    {
      g_signal_handlers_disconnect_by_data (monitor->pipe, monitor);
      pipecom_pipe_stop (monitor->pipe);
    }
}

static void
shutdown_cb (GApplication *app,
             gpointer      user_data)
{
  stop_monitoring (user_data);
}

#ifdef G_OS_UNIX
static gboolean
quit_signal_cb (gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
  return G_SOURCE_CONTINUE;
}
#endif

static int
handle_local_options_cb (GApplication *app,
                         GVariantDict *options,
                         gpointer      user_data)
{
  Monitor *monitor = user_data;
  g_autofree const char **names = NULL;
  const char *dump = NULL;

  g_variant_dict_lookup (options, "auto-reply", "s", &monitor->auto_reply);
  if (g_variant_dict_lookup (options, "dump", "^&ay", &dump))
    monitor->dump_file = g_file_new_for_commandline_arg (dump);

  if (!g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&s", &names) ||
      names[0] == NULL || names[1] != NULL)
    {
      g_printerr ("Usage: pipecom-monitor [--auto-reply=TEXT] [--dump=FILE] NAME\n");
      return 2;
    }
  monitor->name = g_strdup (names[0]);

  return -1;   /* go on: activate */
}

int
main (int   argc,
      char *argv[])
{
  Monitor monitor = { 0, };
  g_autoptr(GtkApplication) app = NULL;
  int status;
  const GOptionEntry entries[] = {
    { "auto-reply", 'a', 0, G_OPTION_ARG_STRING, NULL, "Reply TEXT to every message", "TEXT" },
    { "dump", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Write the list and the state to FILE on every change", "FILE" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, NULL, NULL, "NAME" },
    G_OPTION_ENTRY_NULL
  };

  g_type_ensure (MONITOR_TYPE_ITEM);

  app = gtk_application_new ("org.pipecom.Monitor", G_APPLICATION_NON_UNIQUE);
  g_application_add_main_option_entries (G_APPLICATION (app), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (app), "NAME");
  g_application_set_option_context_summary (G_APPLICATION (app),
                                            "Show the messages sent to the pipe NAME, and answer them.");

  monitor.app = app;
  monitor.messages = g_list_store_new (MONITOR_TYPE_ITEM);
  monitor.cancellable = g_cancellable_new ();
  monitor.state = g_strdup ("Not started");
  g_queue_init (&monitor.waiting);

  g_signal_connect (app, "handle-local-options", G_CALLBACK (handle_local_options_cb), &monitor);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), &monitor);
  g_signal_connect (app, "shutdown", G_CALLBACK (shutdown_cb), &monitor);

#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, quit_signal_cb, app);
  g_unix_signal_add (SIGTERM, quit_signal_cb, app);
#endif

  status = g_application_run (G_APPLICATION (app), argc, argv);

  g_clear_object (&monitor.pipe);
  g_clear_object (&monitor.messages);
  g_clear_object (&monitor.cancellable);
  g_clear_object (&monitor.dump_file);
  g_free (monitor.name);
  g_free (monitor.auto_reply);
  g_free (monitor.queued_reply);
  g_free (monitor.state);

  return status;
}
