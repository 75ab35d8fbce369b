#!/bin/sh
# Transfer benchmark (not a test): Filer vs socat vs scp over loopback, with
# every file on tmpfs, in one run on the same machine, so that the ratios
# hold even on a shared, noisy machine.
#
#   tests/bench-transfer.sh [BUILDDIR]        (default: build)
#
# Prints, best of RUNS (default 3) runs each:
#   - one 1 GiB file: Filer (SHA-256 verified on both sides), socat with
#     128 KiB buffers, scp to a private sshd on a loopback port;
#   - 10,000 files of 4 KiB: files per second, first vs last thousand;
#   - receiver and sender peak RSS for one 4 GiB file.
# Needs: socat, openssh-server/-client (tools/install-deps has them).
set -eu

builddir=${1:-build}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
bench="$here/$builddir/tests/bench-transfer"
[ -x "$bench" ] || { echo "build first: $bench missing" >&2; exit 1; }

work=$(mktemp -d /dev/shm/filer-bench-XXXXXX)
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port_base=$(( 40000 + $$ % 10000 ))
# Runs happen in subshells, so a counter would not advance: each run
# takes a fresh port from the clock instead.
next_port() { echo $(( port_base + 1 + $(date +%N | sed 's/^0*//;s/^$/0/') % 500 )); }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
elapsed() { calc "$2 - $1"; echo; }
best() { sort -g | head -1; }
mbps() { awk "BEGIN { printf \"%.0f\", 1073741824 / $1 / 1000000 }"; }

mkdir -p "$work/src" "$work/dst"
echo "Preparing 1 GiB of random data on tmpfs ($work)…"
head -c 1073741824 /dev/urandom > "$work/src/big.bin"

# --- Filer ---------------------------------------------------------------
filer_once() {
  port=$(next_port)
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  "$bench" receive "$work/dst" "$port" > "$work/recv.out" &
  rpid=$!
  while ! grep -q listening "$work/recv.out" 2>/dev/null; do
    kill -0 $rpid 2>/dev/null || { echo "the receiver did not start" >&2; exit 1; }
    sleep 0.05
  done
  start=$(now)
  "$bench" send "$port" "$1" > "$work/send.out"
  wait $rpid
  end=$(now)
  elapsed "$start" "$end"
}

# --- socat ---------------------------------------------------------------
socat_once() {
  port=$(next_port)
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  socat -u -b131072 TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr \
        OPEN:"$work/dst/big.bin",creat,trunc &
  rpid=$!
  sleep 0.3
  start=$(now)
  socat -u -b131072 OPEN:"$work/src/big.bin" TCP:127.0.0.1:"$port"
  wait $rpid
  end=$(now)
  elapsed "$start" "$end"
}

# --- scp: a private sshd, throwaway keys, nothing of the system's --------
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
sshd_pid=$!
sleep 0.5
scp_opts="-q -P $ssh_port -i $work/ssh/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"

scp_once() {
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  start=$(now)
  # shellcheck disable=SC2086
  scp $scp_opts "$work/src/big.bin" "$(id -un)@127.0.0.1:$work/dst/big.bin"
  end=$(now)
  elapsed "$start" "$end"
}

echo "1 GiB file, best of $runs (seconds):"
f=$(for i in $(seq "$runs"); do filer_once "$work/src/big.bin"; done | best)
cmp -s "$work/src/big.bin" "$work/dst/big.bin" || { echo "Filer copy differs!" >&2; exit 1; }
s=$(for i in $(seq "$runs"); do socat_once; done | best)
c=$(for i in $(seq "$runs"); do scp_once; done | best)
printf '  Filer  %6.2f s  %5s MB/s  (CPU seconds: sender %s, receiver %s, of which SHA-256 ~0.6 each)\n' \
       "$f" "$(mbps "$f")" "$(grep '^cpu' "$work/send.out" | cut -d' ' -f2)" "$(grep '^cpu' "$work/recv.out" | cut -d' ' -f2)"
printf '  socat  %6.2f s  %5s MB/s\n' "$s" "$(mbps "$s")"
printf '  scp    %6.2f s  %5s MB/s\n' "$c" "$(mbps "$c")"
printf '  Filer / socat throughput: %s (goal >= 0.7)\n' "$(calc "$s / $f")"
printf '  Filer / scp throughput:   %s (goal >= 3)\n' "$(calc "$c / $f")"
rm -rf "$work/dst"

# --- 10,000 small files ----------------------------------------------------
echo "10,000 files of 4 KiB:"
"$bench" mkfiles "$work/small" 10000 4096
small_best=""
for r in $(seq "$runs"); do
  filer_once "$work/small" > /dev/null
  line=$(head -1 "$work/send.out")
  secs=$(echo "$line" | cut -d' ' -f3)
  if [ -z "$small_best" ] || [ "$(calc "$secs < $(echo "$small_best" | cut -d' ' -f3)")" = "1.000" ]; then
    small_best=$line
  fi
done
set -- $small_best
files=$1; secs=$3; shift 3
first=$1; last=$(echo "$@" | awk '{print $NF}')
printf '  %s files in %s s = %s files/s (goal: <= 5 s)\n' "$files" "$secs" "$(calc "$files / $secs")"
printf '  first thousand %s s, last thousand %s s (ratio %s; 1.0 = no slowdown)\n' \
       "$first" "$last" "$(calc "$last / $first")"
printf '  per thousand: %s\n' "$*"
rm -rf "$work/dst" "$work/small"

# --- peak RSS for 4 GiB ----------------------------------------------------
echo "One 4 GiB file (sparse source on tmpfs), peak RSS:"
truncate -s 4G "$work/src/huge.bin"
port=$(next_port)
rm -rf "$work/dst"; mkdir -p "$work/dst"
"$bench" receive "$work/dst" "$port" > "$work/recv.out" &
rpid=$!
while ! grep -q listening "$work/recv.out" 2>/dev/null; do sleep 0.05; done
"$bench" send "$port" "$work/src/huge.bin" > "$work/send.out"
wait $rpid
# Each side prints its own peak RSS (getrusage) as "rss KiB" on exit.
printf '  receiver %s KiB, sender %s KiB (goal: < 65536 KiB); %s s\n' \
       "$(grep '^rss' "$work/recv.out" | cut -d' ' -f2)" \
       "$(grep '^rss' "$work/send.out" | cut -d' ' -f2)" \
       "$(head -1 "$work/send.out" | cut -d' ' -f3)"
