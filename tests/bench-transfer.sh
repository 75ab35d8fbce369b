#!/bin/sh
# Transfer benchmark (not a test): filer-cli vs the Filer bench program vs
# socat (plaintext and TLS 1.3) vs scp over loopback, with every file on
# tmpfs, in one run on the same machine, so that the ratios hold even on a
# shared, noisy machine.
#
#   tests/bench-transfer.sh [BUILDDIR]        (default: build)
#
# Environment: RUNS (rounds, default 5); QUICK=1 skips the 10,000-files
# and 4 GiB RSS parts; BENCH_NETNS=0 stays in the machine's network
# namespace (by default the script re-runs itself in a private one,
# `unshare -n`, holding only `lo`: every socket is loopback, nothing
# listens on a real interface, no discovery broadcast leaves the machine,
# and no port can be taken by somebody else).
#
# Prints, for one 1 GiB random file, RUNS rounds, each running every
# contender back to back (interleaved):
#   1. filer-cli: build/src/cli/filer-cli send to a filer-cli receive
#      (--accept-all --once), both registered with a real
#      build/src/server/filer-server on 127.0.0.1, each with its own
#      HOME / XDG_CONFIG_HOME (two devices). The clock runs from starting
#      the sender until it exits 0; then the received file must equal the
#      source (cmp), otherwise the round is invalid;
#   2. tests/bench-transfer (the transfer library alone, XXH3-128 and
#      forced to SHA-256 with FILER_TRANSFER_HASHES);
#   3. socat -b131072, plaintext TCP;
#   4. socat -b131072 over TLS 1.3 (OpenSSL, throwaway ECDSA P-256 cert);
#   5. scp to a private sshd on a loopback port.
# For each: wall seconds and CPU-seconds (user + sys of the sending and
# the receiving processes together, /usr/bin/time; for scp the sshd side
# is the listener's reaped children, from /proc), per-round ratios, and
# medians; then 10,000 files of 4 KiB (files per second, first vs last
# thousand) and the peak RSS for one 4 GiB file (tests/bench-transfer).
# Needs: socat, openssl, openssh-server/-client, time, iproute2, util-linux
# (tools/install-deps has them).
set -eu
export LC_ALL=C

builddir=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)

# --- a private network namespace with only loopback ------------------------
if [ "${BENCH_NETNS:-1}" != 0 ] && [ -z "${FILER_BENCH_IN_NETNS:-}" ]; then
  if command -v unshare > /dev/null && command -v ip > /dev/null &&
     unshare -n true 2> /dev/null; then
    # shellcheck disable=SC2016
    FILER_BENCH_IN_NETNS=1 exec unshare -n -- \
      sh -c 'ip link set lo up && exec sh "$0" "$@"' "$0" "$@"
  fi
  echo "note: cannot make a private network namespace (unshare -n);" \
       "running in the machine's: filer-cli peers then connect to this" \
       "machine's own LAN address (routed over lo)" >&2
fi

runs=${RUNS:-5}
quick=${QUICK:-0}
bench="$here/$builddir/tests/bench-transfer"
cli="$here/$builddir/src/cli/filer-cli"
server="$here/$builddir/src/server/filer-server"
for f in "$bench" "$cli" "$server"; do
  [ -x "$f" ] || { echo "build first: $f missing" >&2; exit 1; }
done
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "$TIME missing: apt-get install time (tools/install-deps)" >&2; exit 1; }
for tool in socat openssl scp ssh-keygen /usr/sbin/sshd cmp awk; do
  command -v "$tool" > /dev/null || { echo "$tool missing (tools/install-deps)" >&2; exit 1; }
done
# GNU time: elapsed, user, sys (the last line of its -o file; a failing
# command adds a "Command exited with non-zero status" line before it).
tfmt='%e %U %S'

size=1073741824
work=$(mktemp -d /dev/shm/filer-bench-XXXXXX)
pids=""        # every background process we start, for cleanup
track() { pids="$pids $1"; }
# kill_tree PID: PID's children first (a /usr/bin/time's command, an
# sshd's sessions), then PID; only processes this script started.
kill_tree() {
  for child in $(pgrep -P "$1" 2> /dev/null || true); do
    kill_tree "$child"
  done
  kill "$1" 2> /dev/null || true
}
cleanup() {
  status=$?
  trap - EXIT INT TERM
  for p in $pids; do
    if kill -0 "$p" 2> /dev/null; then kill_tree "$p"; fi
  done
  # SIGTERM first (each exits cleanly); one that is still there after
  # 3 s gets SIGKILL, and is named: a hang at exit is worth knowing.
  n=0
  while [ $n -lt 60 ]; do
    left=""
    for p in $pids; do
      if kill -0 "$p" 2> /dev/null; then left="$left $p"; fi
    done
    [ -n "$left" ] || break
    sleep 0.05; n=$(( n + 1 ))
  done
  for p in $left; do
    echo "cleanup: $(ps -o args= -p "$p" 2> /dev/null) (pid $p) ignored SIGTERM for 3 s: SIGKILL" >&2
    kill -KILL "$p" 2> /dev/null || true
  done
  for p in $pids; do
    wait "$p" 2> /dev/null || true
  done
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_base=$(( 40000 + $$ % 10000 ))
# Each run takes a fresh port from the clock (a port can still be in
# TIME_WAIT from the round before, or, outside the namespace, be taken).
next_port() { echo $(( port_base + 1 + $(date +%N | sed 's/^0*//;s/^$/0/') % 500 )); }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
mbps() { awk "BEGIN { printf \"%.0f\", $size / $1 / 1000000 }"; }
# cpu_of FILE...: user + sys summed over /usr/bin/time -o files
cpu_of() {
  for f in "$@"; do tail -n 1 "$f"; done | awk '{ s += $2 + $3 } END { printf "%.2f", s }'
}
# wait_exit PID SECONDS: waits for PID; kills it (and its children) if it
# is still running after SECONDS. Sets wrc to its exit status.
wait_exit() {
  n=0
  while kill -0 "$1" 2> /dev/null && [ $n -lt $(( $2 * 20 )) ]; do
    sleep 0.05; n=$(( n + 1 ))
  done
  kill -0 "$1" 2> /dev/null && kill_tree "$1"
  wrc=0; wait "$1" || wrc=$?
}
# wait_for FILE PATTERN PID: until FILE holds PATTERN, or PID exited, or
# 10 s passed; returns 0 if the pattern came.
wait_for() {
  n=0
  while ! grep -q "$2" "$1" 2> /dev/null && kill -0 "$3" 2> /dev/null && [ $n -lt 200 ]; do
    sleep 0.05; n=$(( n + 1 ))
  done
  grep -q "$2" "$1" 2> /dev/null
}
# A round's result: R_SECS and R_CPU, or R_OK=0 with R_WHY.
fail_round() { R_OK=0; R_WHY=$1; }
check_copy() {
  if [ "$R_OK" = 1 ] && ! cmp -s "$work/src/big.bin" "$work/dst/big.bin"; then
    fail_round "the received file differs from the source (cmp)"
  fi
}

mkdir -p "$work/src" "$work/dst"
echo "Preparing 1 GiB of random data on tmpfs ($work)…"
head -c $size /dev/urandom > "$work/src/big.bin"
if [ -n "${FILER_BENCH_IN_NETNS:-}" ]; then
  echo "Network: a private namespace holding only lo ($(ip -br addr | awk '{ printf "%s %s %s; ", $1, $3, $4 }'))"
fi

# --- 1. filer-cli, with a real filer-server ----------------------------------
# Two devices: each CLI gets its own HOME and XDG dirs (keys in
# XDG_CONFIG_HOME/filer). LC_ALL=C: the summary line is parsed.
mkdir -p "$work/cli-send/.config" "$work/cli-recv/.config"
cli_env() {   # cli_env SIDE: the environment of that side's filer-cli
  echo "HOME=$work/cli-$1 XDG_CONFIG_HOME=$work/cli-$1/.config XDG_DATA_HOME=$work/cli-$1/.local/share XDG_CACHE_HOME=$work/cli-$1/.cache LC_ALL=C"
}
recv_name="bench-receiver-$$"
send_name="bench-sender-$$"
"$server" --bind 127.0.0.1 --port 0 > "$work/server.out" 2> "$work/server.err" &
server_pid=$!; track $server_pid
wait_for "$work/server.out" "listening on" $server_pid ||
  { cat "$work/server.err" >&2; echo "filer-server did not start" >&2; exit 1; }
# "filer-server listening on HOST:PORT id SERVERID": both CLIs pin it.
server_addr=$(sed -n 's/^filer-server listening on \([^ ]*\) id \([^ ]*\)$/\1#\2/p' "$work/server.out")

# filercli_once FILE: one filer-cli transfer of FILE into $work/dst.
filercli_once() {
  R_OK=1; R_SECS=""; R_CPU=""; R_XFER="-"; R_PATH="-"
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  : > "$work/cli-recv.out"
  # shellcheck disable=SC2046
  env $(cli_env recv) "$TIME" -f "$tfmt" -o "$work/cli-recv.time" \
    "$cli" receive --server "$server_addr" --name "$recv_name" --dir "$work/dst" \
    --accept-all --once > "$work/cli-recv.out" 2> "$work/cli-recv.err" &
  rpid=$!; track $rpid
  if ! wait_for "$work/cli-recv.out" "^Receiving as" $rpid; then
    wait_exit $rpid 1
    fail_round "filer-cli receive did not start: $(head -c 300 "$work/cli-recv.err")"
    return 0
  fi
  src=$1
  start=$(now)
  src_rc=0
  # shellcheck disable=SC2046
  env $(cli_env send) "$TIME" -f "$tfmt" -o "$work/cli-send.time" \
    "$cli" send --server "$server_addr" --name "$send_name" --to "$recv_name" "$src" \
    > "$work/cli-send.out" 2> "$work/cli-send.err" || src_rc=$?
  end=$(now)
  # The receiver --once exits by itself (after a 200 ms drain); not timed.
  wait_exit $rpid 10
  if [ $src_rc -ne 0 ]; then
    fail_round "filer-cli send exited $src_rc: $(tail -n 2 "$work/cli-send.err" | tr '\n' ' ')"
  elif [ $wrc -ne 0 ]; then
    fail_round "filer-cli receive exited $wrc: $(tail -n 2 "$work/cli-recv.err" | tr '\n' ' ')"
  fi
  R_SECS=$(calc "$end - $start")
  R_CPU=$(cpu_of "$work/cli-send.time" "$work/cli-recv.time")
  R_SPLIT="$(cpu_of "$work/cli-send.time") + $(cpu_of "$work/cli-recv.time")"
  # "Sent 1 file (…) to NAME in 0.85 s, 1263.2 MB/s, path lan": the
  # CLI's own transfer time (from the offer's answer) and path.
  R_XFER=$(sed -n 's/^Sent .* in \([0-9.]*\) s, .*$/\1/p' "$work/cli-send.out")
  R_PATH=$(sed -n 's/^Sent .*, path \(.*\)$/\1/p' "$work/cli-send.out")
  [ -n "$R_XFER" ] || R_XFER="-"
  [ -n "$R_PATH" ] || R_PATH="-"
}

# Warm-up, not counted: checks the whole path once, makes both devices'
# keys (no round pays for a first-time key), and moves the 1 GiB once
# (the first 1 GiB written to tmpfs after making the source was up to 3x
# slower, in whichever contender came first).
filercli_once "$work/src/big.bin"
check_copy
if [ "$R_OK" != 1 ]; then
  echo "filer-cli warm-up failed: $R_WHY" >&2
  cat "$work/cli-send.out" "$work/cli-send.err" "$work/cli-recv.out" "$work/cli-recv.err" >&2
  exit 1
fi
echo "filer-cli: server $server_addr; warm-up (not counted) ok: $R_SECS s, path $R_PATH"

# --- 2. tests/bench-transfer ---------------------------------------------------
# start_receiver [HASHES]: a receiving bench-transfer into $work/dst; sets
# port and rpid. A port can be taken (outside the namespace): try a few.
start_receiver() {
  for _ in 1 2 3 4 5; do
    port=$(next_port)
    : > "$work/recv.out"
    FILER_TRANSFER_HASHES=${1:-} "$TIME" -f "$tfmt" -o "$work/recv.time" \
      "$bench" receive "$work/dst" "$port" > "$work/recv.out" 2> "$work/recv.err" &
    rpid=$!; track $rpid
    wait_for "$work/recv.out" listening $rpid && return 0
    wait_exit $rpid 1
  done
  cat "$work/recv.err" >&2
  echo "the receiver did not start" >&2
  exit 1
}

# filer_once PATH [HASHES]: HASHES goes to FILER_TRANSFER_HASHES on both
# sides (empty: the default negotiation, which picks XXH3-128).
filer_once() {
  R_OK=1
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  start_receiver "${2:-}"
  src_rc=0
  start=$(now)
  FILER_TRANSFER_HASHES=${2:-} "$TIME" -f "$tfmt" -o "$work/send.time" \
    "$bench" send "$port" "$1" > "$work/send.out" 2> "$work/send.err" || src_rc=$?
  # The sender exits once it has every file's "result ok", which the
  # receiver sends only after the file was verified and renamed into
  # place: the transfer is complete here. (The receiving process then
  # lingers 300 ms so that its last frames leave; that is not transfer time.)
  end=$(now)
  wait_exit $rpid 10
  [ $src_rc -eq 0 ] || fail_round "bench-transfer send exited $src_rc: $(tail -n 1 "$work/send.err")"
  [ $wrc -eq 0 ] || fail_round "bench-transfer receive exited $wrc: $(tail -n 1 "$work/recv.err")"
  R_SECS=$(calc "$end - $start")
  R_CPU=$(cpu_of "$work/send.time" "$work/recv.time")
  R_SPLIT="$(cpu_of "$work/send.time") + $(cpu_of "$work/recv.time")"
}

# --- 3. socat, plaintext ---------------------------------------------------------
socat_once() {
  R_OK=1
  port=$(next_port)
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  "$TIME" -f "$tfmt" -o "$work/socat-recv.time" \
    socat -u -b131072 TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr \
    OPEN:"$work/dst/big.bin",creat,trunc 2> "$work/socat-recv.err" &
  rpid=$!; track $rpid
  sleep 0.3
  src_rc=0
  start=$(now)
  "$TIME" -f "$tfmt" -o "$work/socat-send.time" \
    socat -u -b131072 OPEN:"$work/src/big.bin" TCP:127.0.0.1:"$port" \
    2> "$work/socat-send.err" || src_rc=$?
  wait_exit $rpid 10
  end=$(now)
  [ $src_rc -eq 0 ] || fail_round "socat send exited $src_rc: $(tail -n 1 "$work/socat-send.err")"
  [ $wrc -eq 0 ] || fail_round "socat receive exited $wrc: $(tail -n 1 "$work/socat-recv.err")"
  R_SECS=$(calc "$end - $start")
  R_CPU=$(cpu_of "$work/socat-send.time" "$work/socat-recv.time")
  R_SPLIT="$(cpu_of "$work/socat-send.time") + $(cpu_of "$work/socat-recv.time")"
}

# --- 4. socat over TLS 1.3 ---------------------------------------------------------
mkdir -p "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" -days 1 \
  -subj /CN=localhost 2> "$work/tls/req.err" ||
  { cat "$work/tls/req.err" >&2; echo "openssl req failed" >&2; exit 1; }
tls_opts="openssl-min-proto-version=TLS1.3,openssl-max-proto-version=TLS1.3"
TLS_USED="-"
# Both sides run with -d -d (a dozen notice lines, none per block): the
# sender's log says which protocol and cipher were used.
tls_once() {
  R_OK=1
  port=$(next_port)
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  "$TIME" -f "$tfmt" -o "$work/tls-recv.time" \
    socat -d -d -u -b131072 \
    "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,cert=$work/tls/cert.pem,key=$work/tls/key.pem,verify=0,$tls_opts" \
    OPEN:"$work/dst/big.bin",creat,trunc 2> "$work/tls-recv.err" &
  rpid=$!; track $rpid
  sleep 0.3
  src_rc=0
  start=$(now)
  "$TIME" -f "$tfmt" -o "$work/tls-send.time" \
    socat -d -d -u -b131072 OPEN:"$work/src/big.bin" \
    "OPENSSL:127.0.0.1:$port,verify=0,$tls_opts" 2> "$work/tls-send.err" || src_rc=$?
  wait_exit $rpid 10
  end=$(now)
  [ $src_rc -eq 0 ] || fail_round "socat TLS send exited $src_rc: $(grep ' E ' "$work/tls-send.err" | tail -n 1)"
  [ $wrc -eq 0 ] || fail_round "socat TLS receive exited $wrc: $(grep ' E ' "$work/tls-recv.err" | tail -n 1)"
  proto=$(sed -n 's/.*SSL proto version used: \(.*\)$/\1/p' "$work/tls-send.err" | head -n 1)
  cipher=$(sed -n 's/.*SSL connection using \(.*\)$/\1/p' "$work/tls-send.err" | head -n 1)
  TLS_USED="${proto:-?} ${cipher:-?}"
  [ "$R_OK" = 0 ] || [ "$proto" = TLSv1.3 ] || fail_round "socat did not use TLS 1.3: $TLS_USED"
  R_SECS=$(calc "$end - $start")
  R_CPU=$(cpu_of "$work/tls-send.time" "$work/tls-recv.time")
  R_SPLIT="$(cpu_of "$work/tls-send.time") + $(cpu_of "$work/tls-recv.time")"
}

# --- 5. scp: a private sshd, throwaway keys, nothing of the system's --------
ssh_port=$(( port_base + 600 ))
mkdir -p "$work/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/client_key"
cp "$work/ssh/client_key.pub" "$work/ssh/authorized_keys"
chmod 600 "$work/ssh/authorized_keys"
cat > "$work/ssh/sshd_config" <<CONFIG
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/ssh/host_key
AuthorizedKeysFile $work/ssh/authorized_keys
PidFile $work/ssh/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
CONFIG
[ -d /run/sshd ] || mkdir -p /run/sshd   # sshd's privilege-separation dir
/usr/sbin/sshd -f "$work/ssh/sshd_config" -D -e 2> "$work/ssh/sshd.log" &
sshd_pid=$!; track $sshd_pid
sleep 0.5
scp_opts="-q -P $ssh_port -i $work/ssh/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
clk_tck=$(getconf CLK_TCK)
# The sshd listener's own CPU plus that of its reaped children (the
# session processes), in seconds: /proc/PID/stat utime stime cutime cstime.
sshd_cpu() {
  awk -v t="$clk_tck" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13 + $14 + $15) / t }' \
    "/proc/$sshd_pid/stat"
}

scp_once() {
  R_OK=1
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  before=$(sshd_cpu)
  src_rc=0
  start=$(now)
  # shellcheck disable=SC2086
  "$TIME" -f "$tfmt" -o "$work/scp.time" \
    scp $scp_opts "$work/src/big.bin" "$(id -un)@127.0.0.1:$work/dst/big.bin" || src_rc=$?
  end=$(now)
  # Until the session is over and reaped, its CPU is not in cutime.
  n=0
  while [ -n "$(pgrep -P $sshd_pid 2> /dev/null || true)" ] && [ $n -lt 200 ]; do
    sleep 0.05; n=$(( n + 1 ))
  done
  [ $src_rc -eq 0 ] || fail_round "scp exited $src_rc"
  R_SECS=$(calc "$end - $start")
  after=$(sshd_cpu)
  R_CPU=$(calc "$(cpu_of "$work/scp.time") + $after - $before")
  R_SPLIT="$(cpu_of "$work/scp.time") + $(awk "BEGIN { printf \"%.2f\", $after - $before }")"
}

# --- the rounds -----------------------------------------------------------------
contenders="cli xxh3 sha256 socat tls scp"
label() {
  case $1 in
    cli) echo "filer-cli" ;;
    xxh3) echo "bench-transfer XXH3" ;;
    sha256) echo "bench-transfer SHA256" ;;
    socat) echo "socat plaintext" ;;
    tls) echo "socat TLS 1.3" ;;
    scp) echo "scp" ;;
  esac
}
for c in $contenders; do : > "$work/res.$c"; done
invalid=0
# record KEY ROUND [EXTRA]: appends "ROUND SECS CPU" (or NA) and prints it.
record() {
  if [ "$R_OK" = 1 ]; then
    echo "$2 $R_SECS $R_CPU" >> "$work/res.$1"
    printf '    %-22s %7.2f s %6s MB/s %6.2f CPU-s (%s)%s\n' "$(label "$1")" "$R_SECS" \
           "$(mbps "$R_SECS")" "$R_CPU" "$R_SPLIT" "${3:-}"
  else
    echo "$2 NA NA" >> "$work/res.$1"
    invalid=$(( invalid + 1 ))
    printf '    %-22s INVALID: %s\n' "$(label "$1")" "$R_WHY"
  fi
}
# secs_of KEY ROUND: that round's seconds, or NA
secs_of() { awk -v r="$2" '$1 == r { print $2 }' "$work/res.$1"; }
# ratio A B: A ÷ B, or "-" if either is NA
ratio() {
  if [ "$1" = NA ] || [ "$2" = NA ]; then echo "-"; else calc "$1 / $2"; fi
}

# run_one KEY ROUND: one contender's 1 GiB transfer, checked and recorded.
run_one() {
  case $1 in
    cli) filercli_once "$work/src/big.bin"; check_copy
         if [ "$R_OK" = 1 ]; then echo "$R_XFER" >> "$work/cli-extra"; fi
         record cli "$2" "   (its own transfer time ${R_XFER} s, path ${R_PATH})" ;;
    xxh3) filer_once "$work/src/big.bin"; check_copy; record xxh3 "$2" ;;
    sha256) filer_once "$work/src/big.bin" sha256; check_copy; record sha256 "$2" ;;
    socat) socat_once; check_copy; record socat "$2" ;;
    tls) tls_once; check_copy; record tls "$2" "   ($TLS_USED)" ;;
    scp) scp_once; check_copy; record scp "$2" ;;
  esac
}

echo
echo "1 GiB file, $runs rounds; each round runs every contender back to back,"
echo "in an order that rotates by one each round."
echo "CPU-s: user + sys of the sending and the receiving processes together (sender + receiver)."
echo "Ratios: contender's seconds ÷ filer-cli's (higher = filer-cli faster)."
: > "$work/cli-extra"
for i in $(seq "$runs"); do
  # Round i starts with the i-th contender (the order rotates), so that
  # none always runs right after the same one.
  order=$contenders; k=1
  while [ $k -lt "$i" ]; do order="${order#* } ${order%% *}"; k=$(( k + 1 )); done
  echo "  round $i/$runs ($(date -u +%H:%M:%S) UTC)"
  for c in $order; do run_one "$c" "$i"; done
  f=$(secs_of cli "$i")
  printf '    ratios: socat %s (goal >= 0.8), socat-TLS %s (goal >= 1.2), scp %s (goal >= 4); bench-transfer XXH3 %s\n' \
         "$(ratio "$(secs_of socat "$i")" "$f")" "$(ratio "$(secs_of tls "$i")" "$f")" \
         "$(ratio "$(secs_of scp "$i")" "$f")" "$(ratio "$(secs_of xxh3 "$i")" "$f")"
  echo "$i $f $(secs_of socat "$i") $(secs_of tls "$i") $(secs_of scp "$i")" >> "$work/ratios"
done
rm -rf "$work/dst"

# median COLUMN FILE: the median of a column, NA entries left out
median() {
  awk -v c="$1" '$c != "NA" && $c != "-" && $c != "" { print $c }' "$2" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "NA";
           else if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
           else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
valid() { awk '$2 != "NA"' "$work/res.$1" | wc -l | tr -d ' '; }
# Per-round ratios: contender ÷ filer-cli where both rounds are valid.
awk '$2 != "NA" { for (k = 3; k <= 5; k++) r[k] = ($k == "NA") ? "NA" : $k / $2;
                  print $1, r[3], r[4], r[5] }' "$work/ratios" > "$work/ratios.per"

echo
echo "Medians over the valid rounds (1 GiB = $size bytes):"
printf '  %-22s %7s %7s %10s %6s\n' contender seconds MB/s CPU-s/GiB valid
for c in $contenders; do
  s=$(median 2 "$work/res.$c"); u=$(median 3 "$work/res.$c")
  if [ "$s" = NA ]; then
    printf '  %-22s %7s %7s %10s %3s/%s\n' "$(label "$c")" NA NA NA "$(valid "$c")" "$runs"
  else
    printf '  %-22s %7.2f %7s %10.2f %3s/%s\n' "$(label "$c")" "$s" "$(mbps "$s")" \
           "$(calc "$u / ($size / 1073741824)")" "$(valid "$c")" "$runs"
  fi
done
x=$(median 1 "$work/cli-extra")
[ "$x" = NA ] || printf '  (filer-cli: median of its own reported transfer time %.2f s; the rest is start-up, discovery, connecting and the 200 ms exit drain)\n' "$x"

f=$(median 2 "$work/res.cli")
# goal_line NAME KEY COLUMN GOAL
goal_line() {
  m=$(median 2 "$work/res.$2")
  r=$(ratio "$m" "$f")
  pr=$(median "$3" "$work/ratios.per")
  verdict="-"
  [ "$r" = "-" ] || verdict=$(awk "BEGIN { print ($r >= $4) ? \"met\" : \"NOT met\" }")
  printf '  filer-cli vs %-16s %6s   (median of per-round ratios %s; goal >= %s: %s)\n' \
         "$1" "$r" "$pr" "$4" "$verdict"
}
echo "Ratios of the medians, contender's seconds ÷ filer-cli's (higher = filer-cli faster):"
goal_line "socat plaintext" socat 2 0.8
goal_line "socat TLS 1.3" tls 3 1.2
goal_line "scp" scp 4 4
printf '  bench-transfer XXH3 vs socat %s, vs scp %s; SHA-256 vs socat %s, vs scp %s\n' \
       "$(ratio "$(median 2 "$work/res.socat")" "$(median 2 "$work/res.xxh3")")" \
       "$(ratio "$(median 2 "$work/res.scp")" "$(median 2 "$work/res.xxh3")")" \
       "$(ratio "$(median 2 "$work/res.socat")" "$(median 2 "$work/res.sha256")")" \
       "$(ratio "$(median 2 "$work/res.scp")" "$(median 2 "$work/res.sha256")")"
[ $invalid -eq 0 ] || echo "  $invalid invalid round(s) above, left out of the medians"

if [ "$quick" = 1 ]; then
  echo "QUICK=1: skipping the 10,000-files and 4 GiB RSS parts"
else
  # --- 10,000 small files (tests/bench-transfer) ---------------------------------
  echo "10,000 files of 4 KiB:"
  "$bench" mkfiles "$work/small" 10000 4096
  small_best=""
  for r in $(seq "$runs"); do
    filer_once "$work/small"
    [ "$R_OK" = 1 ] || { echo "  round $r invalid: $R_WHY"; invalid=$(( invalid + 1 )); continue; }
    line=$(head -1 "$work/send.out")
    secs=$(echo "$line" | cut -d' ' -f3)
    if [ -z "$small_best" ] || [ "$(calc "$secs < $(echo "$small_best" | cut -d' ' -f3)")" = "1.000" ]; then
      small_best=$line
    fi
  done
  if [ -n "$small_best" ]; then
    # shellcheck disable=SC2086
    set -- $small_best
    files=$1; secs=$3; shift 3
    first=$1; last=$(echo "$@" | awk '{print $NF}')
    printf '  best of %s: %s files in %s s = %s files/s (goal: <= 5 s)\n' "$runs" "$files" "$secs" "$(calc "$files / $secs")"
    printf '  first thousand %s s, last thousand %s s (ratio %s; 1.0 = no slowdown)\n' \
           "$first" "$last" "$(calc "$last / $first")"
    printf '  per thousand: %s\n' "$*"
  fi
  rm -rf "$work/dst" "$work/small"

  # --- peak RSS for 4 GiB ----------------------------------------------------------
  echo "One 4 GiB file (sparse source on tmpfs), peak RSS:"
  truncate -s 4G "$work/src/huge.bin"
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  start_receiver
  "$bench" send "$port" "$work/src/huge.bin" > "$work/send.out"
  wait_exit $rpid 10
  # Each side prints its own peak RSS (getrusage) as "rss KiB" on exit.
  printf '  receiver %s KiB, sender %s KiB (goal: < 65536 KiB); %s s\n' \
         "$(grep '^rss' "$work/recv.out" | cut -d' ' -f2)" \
         "$(grep '^rss' "$work/send.out" | cut -d' ' -f2)" \
         "$(head -1 "$work/send.out" | cut -d' ' -f3)"
  rm -rf "$work/dst" "$work/src/huge.bin"
fi

if [ $invalid -ne 0 ]; then
  echo "$invalid invalid round(s): exit 1" >&2
  exit 1
fi
