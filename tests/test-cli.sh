#!/usr/bin/env bash
# test-cli.sh: runs the real pipecom tool, every command and every exit
# status, and reports in TAP.
#
#   PIPECOM=build/tools/pipecom PYTHON=python3 tests/test-cli.sh
#
# Each run has a private XDG_RUNTIME_DIR. Every command runs under a
# deadline (timeout(1)), and waits poll for their condition (a FIFO that
# appears, a line of output) with a deadline too: never a fixed sleep.

set -uo pipefail

PIPECOM="${PIPECOM:?set PIPECOM to the pipecom tool}"
PYTHON="${PYTHON:-python3}"
# Whether the tool reports a sender's verified pid: meson says it of the
# build (not of a -Dlinux_specific=false one); by hand, Linux does.
if [ -z "${PIPECOM_TEST_VERIFIED_PIDS:-}" ]; then
  [ "$(uname -s)" = Linux ] && PIPECOM_TEST_VERIFIED_PIDS=1 || PIPECOM_TEST_VERIFIED_PIDS=0
fi
verified_pids="$PIPECOM_TEST_VERIFIED_PIDS"
SRCDIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEADLINE=60
# Senders in this test wait for their listener to be up: no attempt limit,
# a generous deadline.
WAIT=(--attempts=0 --timeout=$DEADLINE)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pipecom-test-cli.XXXXXX")"
export XDG_RUNTIME_DIR="$tmp/runtime"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
dir="$XDG_RUNTIME_DIR/pipecom"
pids=()

cleanup () {
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failures=0

ok () {
  n=$((n + 1))
  echo "ok $n - $1"
}

not_ok () {
  n=$((n + 1))
  failures=$((failures + 1))
  echo "not ok $n - $1"
}

diag () {
  sed 's/^/# /' "$@"
}

# check DESCRIPTION COMMAND...: a test that COMMAND succeeds
check () {
  local desc="$1"
  shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run COMMAND...: pipecom under a deadline; stdout in $tmp/out, stderr in
# $tmp/err, exit status in $rc
run () {
  rc=0
  timeout $DEADLINE "$PIPECOM" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

# expect STATUS DESCRIPTION ARGS...: pipecom ARGS exits with STATUS, and
# when it failed, says why in exactly one line on stderr
expect () {
  local want="$1" desc="$2"
  shift 2
  run "$@"
  if [ "$rc" != "$want" ]; then
    not_ok "$desc: exit status $rc, expected $want"
    diag "$tmp/err"
  elif [ "$want" != 0 ] && [ "$(wc -l <"$tmp/err")" != 1 ]; then
    not_ok "$desc: exit status $rc, but stderr is not one line"
    diag "$tmp/err"
  else
    ok "$desc (exit status $rc)"
  fi
}

# wait_until COMMAND...: polls COMMAND until it succeeds, within the deadline
wait_until () {
  local end=$((SECONDS + DEADLINE))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.02
  done
}

# start NAME ARGS...: starts "pipecom listen ARGS NAME" in the background,
# output in $tmp/NAME.out and .err, and waits for its FIFO. Sets $pid.
start () {
  local name="$1"
  shift
  "$PIPECOM" listen "$@" "$name" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  if ! wait_until [ -p "$dir/$name" ]; then
    echo "Bail out! the listener of $name never created its FIFO"
    diag "$tmp/$name.err"
    exit 1
  fi
}

exited () {
  [ ! -e "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# finish PID: waits for the listener PID to exit (within the deadline;
# killed after it); sets $rc to its exit status
finish () {
  if ! wait_until exited "$1"; then
    kill -KILL "$1"
  fi
  rc=0
  wait "$1" || rc=$?
}

gone () {
  [ ! -e "$dir/$1" ] && [ ! -e "$dir/$1.lock" ]
}

# --- --version, --help --------------------------------------------------

expect 0 "--version" --version
check "--version prints the version" grep -qx 'pipecom [0-9]*\.[0-9]*\.[0-9]*' "$tmp/out"

expect 0 "--help" --help
check "--help lists the commands and exit statuses" \
  bash -c 'for w in listen send request stop list clean "Exit status" "12  the listener"; do grep -q "$w" "$1" || exit 1; done' _ "$tmp/out"

declare -A options=(
  [listen]="--json --null --reply --echo --exec --jobs --timeout --max-messages --die-code --response-pipe --max-message-size --access --allow-user"
  [send]="--lines --stdin --file --timeout --attempts"
  [request]="--stdin --file --timeout --attempts"
  [stop]="--die-code --timeout --attempts"
  [list]="--dir"
  [clean]="--dir --dry-run"
)
for command in listen send request stop list clean; do
  expect 0 "$command --help" "$command" --help
  check "$command --help lists its options and the exit statuses" \
    bash -c 'f="$1"; shift; for w in "$@" "Exit status:"; do grep -q -- "$w" "$f" || { echo "# missing $w"; exit 1; }; done' \
    _ "$tmp/out" ${options[$command]}
done

# --- the manual page documents them all ----------------------------------

if [ -n "${PIPECOM_MAN_SOURCE:-}" ]; then
  check "the manual page documents every option of --help" \
    bash -c 'f="$1"; shift; for w in "$@"; do grep -q -- "<option>$w</option>" "$f" || { echo "# missing $w"; exit 1; }; done' \
    _ "$PIPECOM_MAN_SOURCE" $(printf '%s ' "${options[@]}")
  check "the manual page documents every exit status" \
    bash -c 'for i in $(seq 0 12); do grep -q "<term>$i</term>" "$1" || exit 1; done' _ "$PIPECOM_MAN_SOURCE"
fi
if [ -n "${PIPECOM_MAN:-}" ]; then
  check "the manual page was built" grep -q '^\.SH "EXIT STATUS"' "$PIPECOM_MAN"
fi

# --- usage errors (2) --------------------------------------------------

expect 2 "no command" 
expect 2 "unknown command" frobnicate
expect 2 "unknown option" send --frobnicate name hi
expect 2 "send without a name" send
expect 2 "send with messages and --stdin" send name hi --stdin
expect 2 "request with two messages" request name one two
expect 2 "listen with --echo and --reply" listen --echo --reply=x name
expect 2 "listen --jobs 0" listen --exec=cat --jobs=0 name
expect 2 "stop with two names" stop one two
expect 2 "list with an argument" list extra

# --- listen, send, stop: the messages, in every input form ---------------

start basic
expect 0 "send two messages" send "${WAIT[@]}" basic "Hello, World!" "second"
printf 'line one\nline\\two\r\n\nlast' >"$tmp/lines"
run send "${WAIT[@]}" --lines basic <"$tmp/lines"
check "send --lines (exit status $rc)" [ "$rc" = 0 ]
printf 'binary\0\001\377data' >"$tmp/binary"
expect 0 "send --file" send "${WAIT[@]}" --file "$tmp/binary" basic
run send "${WAIT[@]}" --stdin basic <"$tmp/binary"
check "send --stdin (exit status $rc)" [ "$rc" = 0 ]
run send "${WAIT[@]}" basic "$(printf 'multi\nline')" "ünïcödé"
check "send a multi-line and a UTF-8 message (exit status $rc)" [ "$rc" = 0 ]
expect 0 "stop" stop "${WAIT[@]}" basic
finish "$pid"
check "the listener exits with 0 after the die code (exit status $rc)" [ "$rc" = 0 ]
check "the stopped listener removed its FIFO and lock" gone basic
printf '%s\n' 'Hello, World!' second 'line one' 'line\\two' '' last \
  'binary\x00\x01\xffdata' 'binary\x00\x01\xffdata' 'multi\nline' 'ünïcödé' >"$tmp/expected"
if cmp -s "$tmp/expected" "$tmp/basic.out"; then
  ok "listen prints each message on a line, escaped"
else
  not_ok "listen prints each message on a line, escaped"
  diff "$tmp/expected" "$tmp/basic.out" | diag
fi

# --- listen --json and --null ------------------------------------------

start json --json
run send "${WAIT[@]}" json "say \"hi\"" && run send "${WAIT[@]}" --file "$tmp/binary" json
# The sender itself in the background (no timeout(1) in between), so that
# $! is its pid; --timeout bounds it
"$PIPECOM" send "${WAIT[@]}" json "who" >"$tmp/sender.out" 2>"$tmp/sender.err" &
sender_pid=$!
pids+=("$sender_pid")
sender_rc=0
wait "$sender_pid" || sender_rc=$?
check "send from a background process (exit status $sender_rc)" [ "$sender_rc" = 0 ]
expect 0 "stop the JSON listener" stop "${WAIT[@]}" json
finish "$pid"
check "listen --json prints a JSON object per message, with time, size and payload" \
  "$PYTHON" -c '
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
a, b, c = (json.loads(line) for line in lines)
assert a["payload"] == "say \"hi\"" and a["size"] == 8 and a["time"].endswith("Z"), a
assert base64.b64decode(b["payload_base64"]) == open(sys.argv[2], "rb").read() and b["size"] == 13, b
assert c["payload"] == "who", c
' "$tmp/json.out" "$tmp/binary"
check "listen --json gives the sender's uid, that of id -u" \
  "$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]).read().splitlines():
    m = json.loads(line)
    assert m["uid"] == int(sys.argv[2]) and type(m["uid"]) is int, m
' "$tmp/json.out" "$(id -u)"
if [ "$verified_pids" = 1 ]; then
  check "listen --json gives the verified pid of the sending process (Linux)" \
    "$PYTHON" -c '
import json, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[2])
assert m["pid"] == int(sys.argv[2]), (m, sys.argv[2])
' "$tmp/json.out" "$sender_pid"
fi

start null --null
run send "${WAIT[@]}" null "one" "$(printf 'two\nlines')"
run send "${WAIT[@]}" --file "$tmp/binary" null
expect 0 "stop the --null listener" stop "${WAIT[@]}" null
finish "$pid"
{ printf 'one\0two\nlines\0'; cat "$tmp/binary"; printf '\0'; } >"$tmp/expected"
check "listen --null prints raw payloads, each followed by NUL" cmp -s "$tmp/expected" "$tmp/null.out"

# --- listen --allow-user ----------------------------------------------

expect 2 "listen --allow-user with an unknown user fails" \
  listen --allow-user "$(id -un)" --allow-user no-such-user-of-pipecom unknown_user
check "the error names the unknown user" grep -q "no-such-user-of-pipecom" "$tmp/err"
check "listen --allow-user with an unknown user leaves no FIFO" gone unknown_user
expect 2 "listen --allow-user with an empty user" listen --allow-user "" empty_user
expect 2 "listen --access with an unknown value" listen --access nobody bad_access

start allowed --json --allow-user "$(id -un)" --allow-user "$(id -u)"
expect 0 "send to a listener that allows your user" send "${WAIT[@]}" allowed "let in"
expect 0 "stop the --allow-user listener" stop "${WAIT[@]}" allowed
finish "$pid"
check "listen --allow-user: your user's message is printed (exit status $rc)" \
  "$PYTHON" -c '
import json, sys
[m] = [json.loads(line) for line in open(sys.argv[1])]
assert m["payload"] == "let in" and m["uid"] == int(sys.argv[2]), m
' "$tmp/allowed.out" "$(id -u)"

# A second user, on a shared pipe: only when the test runs as root, which
# can run the sender as "nobody"
other_uid="$(id -u nobody 2>/dev/null)"
if [ "$(id -u)" = 0 ] && [ -n "$other_uid" ] && command -v setpriv >/dev/null &&
   setpriv --reuid="$other_uid" --regid="$(id -g nobody)" --clear-groups "$PIPECOM" --version >/dev/null 2>&1; then
  # as_other ARGS...: pipecom ARGS as nobody, like run()
  as_other () {
    rc=0
    timeout $DEADLINE setpriv --reuid="$other_uid" --regid="$(id -g nobody)" --clear-groups \
      env XDG_RUNTIME_DIR="$tmp/other-runtime" "$PIPECOM" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  }
  mkdir -m 0700 "$tmp/other-runtime" && chown nobody "$tmp/other-runtime"
  # The shared pipes' directory: the listener's, reachable by nobody
  chmod 0711 "$tmp"
  shared="$tmp/shared"
  mkdir -m 0755 "$shared"

  "$PIPECOM" listen --json --access everyone --allow-user "$(id -un)" "$shared/guarded" \
    >"$tmp/guarded.out" 2>"$tmp/guarded.err" &
  pid=$!
  pids+=("$pid")
  wait_until [ -p "$shared/guarded" ]
  as_other send "${WAIT[@]}" "$shared/guarded" "from nobody"
  check "--allow-user: another user is refused, status 5 (exit status $rc)" [ "$rc" = 5 ]
  check "--allow-user: the refused sender is told it was refused" grep -q "refused" "$tmp/err"
  expect 0 "--allow-user: the listener serves its own user after refusing another" \
    send "${WAIT[@]}" "$shared/guarded" "from me"
  expect 0 "stop the shared --allow-user listener" stop "${WAIT[@]}" "$shared/guarded"
  finish "$pid"
  check "--allow-user: only the allowed user's message is printed, nothing on stderr (exit status $rc)" \
    bash -c '[ "$(grep -c . "$1")" = 1 ] && grep -q "\"payload\":\"from me\"" "$1" && [ ! -s "$2" ]' \
    _ "$tmp/guarded.out" "$tmp/guarded.err"

  "$PIPECOM" listen --json --access everyone "$shared/open" >"$tmp/open.out" 2>"$tmp/open.err" &
  pid=$!
  pids+=("$pid")
  wait_until [ -p "$shared/open" ]
  # In the background, so that $! is the sender's pid
  setpriv --reuid="$other_uid" --regid="$(id -g nobody)" --clear-groups \
    env XDG_RUNTIME_DIR="$tmp/other-runtime" "$PIPECOM" send "${WAIT[@]}" "$shared/open" "from nobody" \
    >"$tmp/other.out" 2>"$tmp/other.err" &
  other_pid=$!
  pids+=("$other_pid")
  rc=0
  wait "$other_pid" || rc=$?
  check "another user sends to a shared pipe (exit status $rc)" [ "$rc" = 0 ]
  expect 0 "stop the shared listener" stop "${WAIT[@]}" "$shared/open"
  finish "$pid"
  check "listen --json gives another user's uid (and, on Linux, its verified pid)" \
    "$PYTHON" -c '
import json, sys
[m] = [json.loads(line) for line in open(sys.argv[1])]
assert m["payload"] == "from nobody" and m["uid"] == int(sys.argv[2]), m
assert sys.argv[4] != "1" or m["pid"] == int(sys.argv[3]), (m, sys.argv[3])
' "$tmp/open.out" "$other_uid" "$other_pid" "$verified_pids"
  chmod 0700 "$tmp"
else
  ok "# SKIP a second user: needs root, setpriv and the user nobody"
fi

# --- request, and the reply options ------------------------------------

start replier --reply "pong" --quiet
expect 0 "request gets the --reply text" request "${WAIT[@]}" replier ping
check "request prints the reply, byte for byte" [ "$(cat "$tmp/out")" = pong ]
expect 0 "request --newline" request -n "${WAIT[@]}" replier ping
check "request --newline ends the reply with a newline" bash -c '[ "$(od -An -c "$1" | tr -d " ")" = "pong\\n" ]' _ "$tmp/out"
check "listen --quiet prints nothing" [ ! -s "$tmp/replier.out" ]
kill -TERM "$pid"
finish "$pid"
check "SIGTERM stops the listener with exit status 0 (exit status $rc)" [ "$rc" = 0 ]
check "SIGTERM: the FIFO and lock are removed" gone replier

start echo --echo
run request "${WAIT[@]}" --stdin echo <"$tmp/binary"
check "listen --echo: request --stdin gets the binary message back (exit status $rc)" cmp -s "$tmp/binary" "$tmp/out"
run request "${WAIT[@]}" --file "$tmp/binary" echo
check "request --file (exit status $rc)" cmp -s "$tmp/binary" "$tmp/out"
kill -INT "$pid"
finish "$pid"
check "SIGINT stops the listener with exit status 0 (exit status $rc)" [ "$rc" = 0 ]
check "SIGINT: the FIFO and lock are removed" gone echo

start upper --exec 'tr a-z A-Z; printf " via %s" "$PIPECOM_PIPE"'
expect 0 "listen --exec: request" request "${WAIT[@]}" upper "shout"
check "listen --exec replies with the command's output" [ "$(cat "$tmp/out")" = "SHOUT via upper" ]
expect 0 "stop the --exec listener" stop "${WAIT[@]}" upper
finish "$pid"

# --jobs: three commands that can only finish once all three have started
mkdir "$tmp/barrier"
start barrier --jobs 3 --quiet \
  --exec "touch '$tmp/barrier/'\$\$; while [ \$(ls '$tmp/barrier' | wc -l) -lt 3 ]; do sleep 0.02; done; cat"
for i in 1 2 3; do
  timeout $DEADLINE "$PIPECOM" request "${WAIT[@]}" barrier "job $i" >"$tmp/job$i" 2>&1 &
  pids+=("$!")
  job_pids[$i]=$!
done
all_ok=true
for i in 1 2 3; do
  wait "${job_pids[$i]}" && [ "$(cat "$tmp/job$i")" = "job $i" ] || all_ok=false
done
check "listen --jobs 3 runs three commands at once" $all_ok
expect 0 "stop the --jobs 3 listener" stop "${WAIT[@]}" barrier
finish "$pid"

# --jobs 2: never more than two commands at once
mkdir "$tmp/running"
start bounded --jobs 2 --quiet \
  --exec "mkdir '$tmp/running/'\$\$; ls '$tmp/running' | wc -l >>'$tmp/concurrency'; sleep 0.2; rmdir '$tmp/running/'\$\$; cat"
for i in 1 2 3 4 5; do
  timeout $DEADLINE "$PIPECOM" request "${WAIT[@]}" bounded "job $i" >/dev/null 2>&1 &
  pids+=("$!")
  job_pids[$i]=$!
done
all_ok=true
for i in 1 2 3 4 5; do
  wait "${job_pids[$i]}" || all_ok=false
done
check "listen --jobs 2: five requests answered" $all_ok
check "listen --jobs 2: at most two commands ran at once" \
  bash -c '[ "$(wc -l <"$1")" = 5 ] && [ "$(sort -n "$1" | tail -1)" -le 2 ]' _ "$tmp/concurrency"
expect 0 "stop the --jobs 2 listener" stop "${WAIT[@]}" bounded
finish "$pid"

# --- the listener's limits and options ---------------------------------

start idle --timeout 1
finish "$pid"
check "listen --timeout: stops by itself, exit status 0 (exit status $rc)" [ "$rc" = 0 ]
check "listen --timeout: the FIFO and lock are removed" gone idle

start counted --max-messages 2
expect 0 "send two messages to --max-messages 2" send "${WAIT[@]}" counted one two
finish "$pid"
check "listen --max-messages 2 stops after two messages (exit status $rc)" [ "$rc" = 0 ]
check "listen --max-messages: both messages printed" [ "$(cat "$tmp/counted.out")" = "$(printf 'one\ntwo')" ]

start custom --die-code "BYE"
expect 0 "PIPECOM_DIE is an ordinary message with --die-code BYE" send "${WAIT[@]}" custom PIPECOM_DIE
expect 0 "stop --die-code BYE" stop "${WAIT[@]}" --die-code BYE custom
finish "$pid"
check "listen --die-code: stopped by the custom code (exit status $rc)" [ "$rc" = 0 ]
check "listen --die-code: PIPECOM_DIE was printed as a message" [ "$(cat "$tmp/custom.out")" = PIPECOM_DIE ]

start responses
responses_pid=$pid
start forwarder --reply "forwarded reply" --response-pipe responses
expect 0 "request to a --response-pipe listener" request "${WAIT[@]}" forwarder "hello"
check "listen --response-pipe: the reply reaches the response pipe" \
  wait_until grep -qx "forwarded reply" "$tmp/responses.out"
run stop "${WAIT[@]}" forwarder
finish "$pid"
run stop "${WAIT[@]}" responses
finish "$responses_pid"

# --- list and clean ------------------------------------------------------

start listed
expect 0 "list" list
check "list shows the live listener, its pid and path" \
  grep -qx "listed	listening	$pid	$dir/listed" "$tmp/out"
expect 0 "clean with a live listener" clean
check "clean leaves a live listener alone" bash -c '[ ! -s "$1" ] && [ -p "$2" ]' _ "$tmp/out" "$dir/listed"

# --- every exit status ---------------------------------------------------

touch "$tmp/regular"
expect 1 "exit status 1: a file that cannot be read" send --file "$tmp/no-such-file" listed
expect 3 "exit status 3: invalid pipe name" send bad.lock hi
expect 3 "exit status 3: empty pipe name" request "" hi
expect 4 "exit status 4: nobody listens" send --attempts 1 nobody hi
expect 5 "exit status 5: not a FIFO" send "$tmp/regular" hi
expect 5 "exit status 5: listen on a file that is not a FIFO" listen "$tmp/regular"
expect 7 "exit status 7: a second listener on a live name" listen listed

# 8: a FIFO whose reader never reads, and whose buffer is full
mkfifo -m 0600 "$dir/full"
exec 3<>"$dir/full"
head -c 65536 /dev/zero >&3
expect 8 "exit status 8: the listener stayed busy" send --attempts 3 full hi
expect 0 "list shows the busy FIFO" list
check "list: a FIFO without a lock is stale, its pid unknown" grep -qx "full	stale	-	$dir/full" "$tmp/out"
exec 3>&-

# 9: the listener dies while handling the message
start doomed --exec 'kill -KILL $PPID'
expect 9 "exit status 9: the listener died mid-exchange" send "${WAIT[@]}" doomed hi
finish "$pid"

expect 0 "list after a crash" list
check "list shows the crashed listener's FIFO as stale" grep -qx "doomed	stale	-	$dir/doomed" "$tmp/out"
expect 0 "clean --dry-run" clean --dry-run
check "clean --dry-run removes nothing" bash -c 'grep -qx "$1" "$2" && [ -p "$1" ]' _ "$dir/doomed" "$tmp/out"
expect 0 "clean" clean
check "clean prints what it removed" bash -c 'grep -qx "$1/doomed" "$2" && grep -qx "$1/doomed.lock" "$2" && grep -qx "$1/full" "$2"' _ "$dir" "$tmp/out"
check "clean removed the stale FIFOs and lock" bash -c '[ ! -e "$1/doomed" ] && [ ! -e "$1/doomed.lock" ] && [ ! -e "$1/full" ]' _ "$dir"
expect 0 "list after clean" list
check "list after clean shows only the live listener" bash -c '[ "$(cut -f1 "$1")" = listed ]' _ "$tmp/out"

# a sender's private channels left behind by a dead process
( exec sleep 0 ) & dead_pid=$!
wait "$dead_pid"
mkfifo -m 0600 "$dir/.c$dead_pid-1-0000abcd.rep"
mkfifo -m 0600 "$dir/.c$$-1-0000abcd.rep"
expect 0 "clean the channels of a dead sender" clean
check "clean removes a dead sender's channel, keeps a live one's" \
  bash -c '[ ! -e "$1/.c$2-1-0000abcd.rep" ] && [ -p "$1/.c$3-1-0000abcd.rep" ] && grep -q "$2-1" "$4"' _ "$dir" "$dead_pid" "$$" "$tmp/out"
rm -f "$dir/.c$$-1-0000abcd.rep"

run stop "${WAIT[@]}" listed
finish "$pid"

# 6: the handler takes longer than the sender's timeout
start slow --exec 'exec sleep 600'
expect 6 "exit status 6: timeout" request --attempts 0 --timeout 1 slow hi
kill -TERM "$pid"
finish "$pid"
check "SIGTERM stops a listener whose command still runs (exit status $rc)" [ "$rc" = 0 ]
check "SIGTERM with a running command: FIFO and lock removed" gone slow

# 10: a listener of another protocol version
"$PYTHON" "$SRCDIR/cli-fake-listener.py" "$dir/foreign" 2>"$tmp/fake.err" &
fake_pid=$!
pids+=("$fake_pid")
wait_until [ -p "$dir/foreign" ]
expect 10 "exit status 10: protocol error" send "${WAIT[@]}" foreign hi
wait "$fake_pid" || diag "$tmp/fake.err"

# 11: larger than the listener accepts; it goes on serving
start small --max-message-size 16
expect 11 "exit status 11: message too large" send "${WAIT[@]}" small "a message of more than 16 bytes"
expect 0 "the listener goes on serving after a too large message" send "${WAIT[@]}" small "tiny"
expect 0 "stop (the die code fits in 16 bytes)" stop "${WAIT[@]}" small
finish "$pid"

# 12: the handler answers with an error
start failing --exec 'cat >/dev/null; exit 3'
expect 12 "exit status 12: handler failed" request "${WAIT[@]}" failing hi
check "the handler error names the command's status" grep -q "status 3" "$tmp/err"
run stop "${WAIT[@]}" failing
finish "$pid"

check "nothing is left in the pipe directory" bash -c '[ -z "$(ls -A "$1")" ] || { ls -A "$1" | sed "s/^/# /"; exit 1; }' _ "$dir"

echo "1..$n"
[ "$failures" = 0 ]
