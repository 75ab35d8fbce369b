#!/bin/sh
# Transfer benchmark (not a test): Filer vs socat vs scp over loopback, with
# every file on tmpfs, in one run on the same machine, so that the ratios
# hold even on a shared, noisy machine.
#
#   tests/bench-transfer.sh [BUILDDIR]        (default: build)
#
# Prints, over RUNS (default 3) rounds:
#   - one 1 GiB file: Filer (verified on both sides with the negotiated
#     XXH3-128, and again forced to SHA-256 with FILER_TRANSFER_HASHES),
#     socat with 128 KiB buffers, scp to a private sshd on a loopback port;
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
# start_receiver [HASHES]: a receiving bench-transfer into $work/dst; sets
# port and rpid. The machine is shared: a port can be taken; try a few.
start_receiver() {
  for attempt in 1 2 3 4 5; do
    port=$(next_port)
    : > "$work/recv.out"
    FILER_TRANSFER_HASHES=${1:-} "$bench" receive "$work/dst" "$port" > "$work/recv.out" 2> "$work/recv.err" &
    rpid=$!
    while ! grep -q listening "$work/recv.out" 2>/dev/null && kill -0 $rpid 2>/dev/null; do
      sleep 0.05
    done
    grep -q listening "$work/recv.out" && return 0
    wait $rpid || true
  done
  cat "$work/recv.err" >&2
  echo "the receiver did not start" >&2
  exit 1
}

# filer_once PATH [HASHES]: HASHES goes to FILER_TRANSFER_HASHES on both
# sides (empty: the default negotiation, which picks XXH3-128).
filer_once() {
  rm -rf "$work/dst"; mkdir -p "$work/dst"
  start_receiver "${2:-}"
  start=$(now)
  FILER_TRANSFER_HASHES=${2:-} "$bench" send "$port" "$1" > "$work/send.out"
  # The sender exits once it has every file's "result ok", which the
  # receiver sends only after the file was verified and renamed into
  # place: the transfer is complete here. (The receiving process then
  # lingers 300 ms so that its last frames leave; that is not transfer time.)
  end=$(now)
  wait $rpid
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

echo "1 GiB file, $runs rounds; each round runs all four back to back (seconds):"
# Interleaved, so that a busy moment on the shared machine hits every
# contender of that round alike; each round's ratios are printed, and the
# summary takes the best time of each.
printf '  %-5s %8s %8s %8s %8s   %s\n' round Filer Filer-sha socat scp "Filer/socat Filer/scp"
: > "$work/rounds"
for i in $(seq "$runs"); do
  f=$(filer_once "$work/src/big.bin")
  cmp -s "$work/src/big.bin" "$work/dst/big.bin" || { echo "Filer copy differs!" >&2; exit 1; }
  fcpu="$(grep '^cpu' "$work/send.out" | cut -d' ' -f2) + $(grep '^cpu' "$work/recv.out" | cut -d' ' -f2)"
  h=$(filer_once "$work/src/big.bin" sha256)
  cmp -s "$work/src/big.bin" "$work/dst/big.bin" || { echo "Filer (SHA-256) copy differs!" >&2; exit 1; }
  hcpu="$(grep '^cpu' "$work/send.out" | cut -d' ' -f2) + $(grep '^cpu' "$work/recv.out" | cut -d' ' -f2)"
  s=$(socat_once)
  c=$(scp_once)
  echo "$f $h $s $c" >> "$work/rounds"
  printf '  %-5s %8s %8s %8s %8s   %.2f %.2f   (CPU s, sender + receiver: xxh3 %s, sha256 %s)\n' \
         "$i" "$f" "$h" "$s" "$c" "$(calc "$s / $f")" "$(calc "$c / $f")" "$fcpu" "$hcpu"
done
f=$(cut -d' ' -f1 "$work/rounds" | best)
h=$(cut -d' ' -f2 "$work/rounds" | best)
s=$(cut -d' ' -f3 "$work/rounds" | best)
c=$(cut -d' ' -f4 "$work/rounds" | best)
echo "Best of $runs:"
printf '  Filer (XXH3-128) %6.2f s  %5s MB/s\n' "$f" "$(mbps "$f")"
printf '  Filer (SHA-256)  %6.2f s  %5s MB/s\n' "$h" "$(mbps "$h")"
printf '  socat            %6.2f s  %5s MB/s\n' "$s" "$(mbps "$s")"
printf '  scp              %6.2f s  %5s MB/s\n' "$c" "$(mbps "$c")"
printf '  Filer / socat throughput: %s with XXH3-128, %s with SHA-256 (goal >= 0.7)\n' \
       "$(calc "$s / $f")" "$(calc "$s / $h")"
printf '  Filer / scp throughput:   %s with XXH3-128, %s with SHA-256 (goal >= 3)\n' \
       "$(calc "$c / $f")" "$(calc "$c / $h")"
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
rm -rf "$work/dst"; mkdir -p "$work/dst"
start_receiver
"$bench" send "$port" "$work/src/huge.bin" > "$work/send.out"
wait $rpid
# Each side prints its own peak RSS (getrusage) as "rss KiB" on exit.
printf '  receiver %s KiB, sender %s KiB (goal: < 65536 KiB); %s s\n' \
       "$(grep '^rss' "$work/recv.out" | cut -d' ' -f2)" \
       "$(grep '^rss' "$work/send.out" | cut -d' ' -f2)" \
       "$(head -1 "$work/send.out" | cut -d' ' -f3)"
