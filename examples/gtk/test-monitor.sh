#!/usr/bin/env bash
# test-monitor.sh: runs pipecom-monitor for real, in a window on a virtual X
# server (Xvfb), sends it three requests with the pipecom tool, checks what
# the application itself shows, and saves screenshots as artefacts:
# $ARTEFACT_DIR/pipecom-monitor.png (three messages, listening) and
# $ARTEFACT_DIR/pipecom-monitor-stopped.png (after the die code); then, in a
# second monitor, types replies into the window with xdotool (skipped when
# xdotool is missing): $ARTEFACT_DIR/pipecom-monitor-typed.png.
#
#   PIPECOM=… PIPECOM_MONITOR=… ARTEFACT_DIR=… examples/gtk/test-monitor.sh
#
# Reports in TAP. Waits poll with a deadline; nothing sleeps to synchronise.

set -uo pipefail

PIPECOM="${PIPECOM:?}"
PIPECOM_MONITOR="${PIPECOM_MONITOR:?}"
ARTEFACT_DIR="${ARTEFACT_DIR:?}"
DEADLINE=60

# Re-run under a virtual X server of our own.
if [ -z "${PIPECOM_MONITOR_IN_XVFB:-}" ]; then
  export PIPECOM_MONITOR_IN_XVFB=1
  # -a: the first free display from a number of our own, so that parallel runs
  # (other builds on the machine) rarely race for the same one.
  exec xvfb-run -a -n $((100 + $$ % 5000)) -s "-screen 0 800x600x24 -nolisten tcp" "$BASH" "${BASH_SOURCE[0]}"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pipecom-test-monitor.XXXXXX")"
export XDG_RUNTIME_DIR="$tmp/runtime"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
# No session bus, no accessibility bus, and a renderer that needs no GPU.
export GTK_A11Y=none
export GSK_RENDERER=cairo
export GDK_BACKEND=x11
unset DBUS_SESSION_BUS_ADDRESS
dump="$tmp/dump"
name="monitor-$$"
app_pid=""

cleanup () {
  [ -n "$app_pid" ] && kill -KILL "$app_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failures=0
check () {
  local desc="$1"
  shift
  n=$((n + 1))
  if "$@"; then
    echo "ok $n - $desc"
  else
    failures=$((failures + 1))
    echo "not ok $n - $desc"
    [ -f "$dump" ] && sed 's/^/# dump: /' "$dump"
    [ -f "$tmp/app.err" ] && sed 's/^/# stderr: /' "$tmp/app.err"
  fi
}

wait_until () {
  local end=$((SECONDS + DEADLINE))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.05
  done
}

exited () {
  [ ! -e "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

dump_has () {
  [ -f "$dump" ] && grep -q -- "$1" "$dump"
}

three_replied () {
  [ -f "$dump" ] &&
    grep -qx "rows: 3" "$dump" &&
    [ "$(grep -c '^row: .*	Got it$' "$dump")" = 3 ]
}

# Not blank: a screenshot of the window has many colours, a bare X root one.
# Written aside, then renamed: concurrent runs never see half a file.
screenshot () {
  local file="$1"
  import -window root "$tmp/shot.png" 2>"$tmp/import.err" &&
    [ "$(identify -format '%k' "$tmp/shot.png")" -gt 8 ] &&
    mv -f "$tmp/shot.png" "$file" ||
    { sed 's/^/# import: /' "$tmp/import.err"; return 1; }
}

"$PIPECOM_MONITOR" --auto-reply "Got it" --dump "$dump" "$name" >"$tmp/app.out" 2>"$tmp/app.err" &
app_pid=$!

check "the application listens on the pipe" wait_until dump_has "^state: Listening on $name "
check "its window is mapped" wait_until dump_has "^window: mapped"

for i in 1 2 3; do
  reply="$(timeout $DEADLINE "$PIPECOM" request --attempts 0 --timeout $DEADLINE "$name" "message number $i")"
  check "request $i gets the auto-reply back" [ "$reply" = "Got it" ]
done

check "the list holds the three messages, each replied" wait_until three_replied
check "the rows show each message's size and text, in order" \
  bash -c 'for i in 1 2 3; do grep -q "^row: [0-9:]*	16 B	message number $i	Got it\$" "$1" || exit 1; done' _ "$dump"
check "a screenshot of the window, listening (pipecom-monitor.png)" \
  screenshot "$ARTEFACT_DIR/pipecom-monitor.png"

check "pipecom stop" timeout $DEADLINE "$PIPECOM" stop "$name"
check "the window says why the pipe stopped" wait_until dump_has "^state: Stopped: the die code arrived"
check "a screenshot of the window, stopped (pipecom-monitor-stopped.png)" \
  screenshot "$ARTEFACT_DIR/pipecom-monitor-stopped.png"
check "the stopped pipe removed its FIFO" [ ! -e "$XDG_RUNTIME_DIR/pipecom/$name" ]

kill -TERM "$app_pid"
check "SIGTERM quits the application" wait_until exited "$app_pid"
status=0
wait "$app_pid" || status=$?
app_pid=""
check "the application exits with status 0 (status $status)" [ "$status" = 0 ]
check "the application wrote no warning" [ ! -s "$tmp/app.err" ]

# --- Replies typed by the user (xdotool types into the window) -----------

if ! command -v xdotool >/dev/null; then
  echo "ok $((n += 1)) # SKIP typed replies: xdotool is not installed (Debian: xdotool)"
else
  name="typed-$$"
  dump="$tmp/dump-typed"
  "$PIPECOM_MONITOR" --dump "$dump" "$name" >"$tmp/app.out" 2>"$tmp/app.err" &
  app_pid=$!
  check "a second monitor, without auto-reply, is up" wait_until dump_has "^window: mapped"
  wait_until dump_has "^state: Listening on $name "

  type_reply () {
    local window
    window="$(timeout $DEADLINE xdotool search --sync --name "PipeCom Monitor .* $name\$" | head -1)" &&
      [ -n "$window" ] &&
      timeout $DEADLINE xdotool windowfocus --sync "$window" &&
      timeout $DEADLINE xdotool type --delay 10 "$1" &&
      timeout $DEADLINE xdotool key Return
  }

  # Typed before any message: it answers the next one.
  check "type a reply and press Enter" type_reply "Typed ahead"
  check "the reply is queued for the next message" wait_until dump_has "^queued reply: Typed ahead$"
  reply="$(timeout $DEADLINE "$PIPECOM" request --attempts 0 --timeout $DEADLINE "$name" "first")"
  check "the next message gets the typed reply" [ "$reply" = "Typed ahead" ]

  # A message with no reply ready waits for the user.
  timeout $DEADLINE "$PIPECOM" request --attempts 0 --timeout $DEADLINE "$name" "second" >"$tmp/second" &
  second_pid=$!
  check "a message without a reply ready waits for one" \
    wait_until dump_has "^row: .*	second	(waiting for a reply…)$"
  check "the sender is still waiting" [ ! -s "$tmp/second" ]
  check "type the reply to the waiting message" type_reply "Answered by hand"
  wait "$second_pid"
  check "the waiting sender gets the typed reply" [ "$(cat "$tmp/second")" = "Answered by hand" ]
  check "the list shows the typed replies" \
    wait_until bash -c 'grep -q "^row: .*	first	Typed ahead\$" "$1" && grep -q "^row: .*	second	Answered by hand\$" "$1"' _ "$dump"
  check "a screenshot of the typed replies (pipecom-monitor-typed.png)" \
    screenshot "$ARTEFACT_DIR/pipecom-monitor-typed.png"

  # Quitting answers whoever still waits (with no reply) and removes the FIFO.
  timeout $DEADLINE "$PIPECOM" request --attempts 0 --timeout $DEADLINE "$name" "third" >"$tmp/third" &
  third_pid=$!
  wait_until dump_has "^row: .*	third	(waiting for a reply…)$"
  kill -TERM "$app_pid"
  status=0
  wait "$third_pid" || status=$?
  check "quitting acknowledges a message still waiting (status $status)" [ "$status" = 0 ]
  check "SIGTERM quits the second monitor" wait_until exited "$app_pid"
  status=0
  wait "$app_pid" || status=$?
  app_pid=""
  check "the second monitor exits with status 0 (status $status)" [ "$status" = 0 ]
  check "the second monitor removed its FIFO" [ ! -e "$XDG_RUNTIME_DIR/pipecom/$name" ]
  check "the second monitor wrote no warning" [ ! -s "$tmp/app.err" ]
fi

echo "1..$n"
[ "$failures" = 0 ]
