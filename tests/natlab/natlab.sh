#!/bin/sh
# natlab.sh: builds and removes Filer's NAT lab out of network namespaces.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   natlab.sh up PREFIX OWNER_PID FLAVOUR_A FLAVOUR_B [UDP_TIMEOUT [BETWEEN [CARRIER_B]]]
#   natlab.sh down PREFIX
#   natlab.sh sweep                     remove labs whose owner has died
#   natlab.sh shape PREFIX RATE_MBIT LOSS_PERMILLE
#   natlab.sh forward-tcp PREFIX SIDE PORT   (benchmark only)
#   natlab.sh no-icmp PREFIX            routers send no ICMP errors at all
#
# FLAVOUR is one of
#   home       masquerade; WAN input dropped except established/related
#   linux      masquerade; WAN input accepted, so an unsolicited packet
#              leaves a conntrack entry that moves the next mapping's port
#   symmetric  masquerade fully-random: a new port for every destination
#   fullcone   masquerade plus DNAT of every mapped UDP port to the host
#
# Topology (documentation ranges only, nothing else is ever routed):
#
#   A 203.0.113.2/28 -lan- RA -wan- IA ---- CORE ---- IB -wan- RB -lan- B 203.0.113.2/28
#                              198.51.100.10  |   198.51.100.14
#                                         SRV 192.0.2.2, 192.0.2.3
#
#   CORE-IA 198.51.100.0/30   CORE-IB 198.51.100.4/30
#   IA-RA   198.51.100.8/30   IB-RB   198.51.100.12/30
#   CORE-SRV 192.0.2.0/28     both LANs 203.0.113.0/28 (the same range,
#                             the same host address, as two homes would)
#
# Hops from B to A: RB, IB, CORE, IA, RA. A packet leaving B with TTL 2
# passes RB (opening B's mapping) and dies at IB, short of A's router.
#
# BETWEEN (default 3) is how many routers stand between the two NAT
# routers: 3 as drawn; 2 leaves out IB (RB's wan on CORE, the same
# addresses); 1 leaves out IA too (RA - CORE - RB). UDP_TIMEOUT 0 or
# empty keeps the kernel's. CARRIER_B (a flavour, or "none") puts a
# carrier's NAT CB in front of RB: CB takes RB's wan address
# (198.51.100.14) and RB sits behind it on 192.0.2.16/30 (RB wan
# 192.0.2.18, CB lan 192.0.2.17): B - RB - CB - IB - ...
#
# Namespaces are named PREFIX-NODE. `up` starts a guard that removes the
# lab when OWNER_PID exits, so a crashed test leaves nothing behind.

set -eu

NODES="srv core ia ib ra rb cb a b"

ns () { printf '%s-%s' "$PREFIX" "$1"; }
nsx () { n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

link () {
  # link NODE1 IF1 ADDR1 NODE2 IF2 ADDR2
  ip link add "$2" netns "$(ns "$1")" type veth peer name "$5" netns "$(ns "$4")"
  nsx "$1" ip addr add "$3" dev "$2"
  nsx "$4" ip addr add "$6" dev "$5"
  nsx "$1" ip link set "$2" up
  nsx "$4" ip link set "$5" up
}

router () {
  nsx "$1" sysctl -q -w net.ipv4.ip_forward=1
}

nat_rules () {
  # nat_rules FLAVOUR: an nft script for a router with interfaces wan, lan
  masq="masquerade"
  input_policy="drop"
  dnat=""
  case "$1" in
    home) ;;
    linux) input_policy="accept" ;;
    symmetric) masq="masquerade fully-random" ;;
    fullcone)
      dnat='chain prerouting {
    type nat hook prerouting priority dstnat;
    iifname "wan" udp dport 1024-65535 dnat to 203.0.113.2
  }'
      ;;
    *) echo "natlab: unknown flavour $1" >&2; exit 2 ;;
  esac
  cat <<EOF
table ip filer_nat {
  $dnat
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan" $masq
  }
  chain input {
    type filter hook input priority filter; policy $input_policy;
    iifname { "lo", "lan" } accept
    ct state established,related accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct status dnat accept
    iifname "lan" oifname "wan" accept
  }
}
EOF
}

up () {
  PREFIX=$1 owner=$2 flavour_a=$3 flavour_b=$4 udp_timeout=${5:-0} between=${6:-3} carrier_b=${7:-none}
  [ "$carrier_b" = none ] || nat_rules "$carrier_b" >/dev/null
  case "$between" in
    1|2|3) ;;
    *) echo "natlab: BETWEEN must be 1, 2 or 3, not $between" >&2; exit 2 ;;
  esac

  # Check the flavours before touching anything.
  nat_rules "$flavour_a" >/dev/null
  nat_rules "$flavour_b" >/dev/null

  for n in $NODES; do
    ip netns add "$(ns "$n")"
    nsx "$n" ip link set lo up
  done

  # The guard outlives this script and removes the lab with its owner.
  nohup sh "$0" guard "$PREFIX" "$owner" </dev/null >/dev/null 2>&1 &

  link core srv 192.0.2.1/28      srv  eth0 192.0.2.2/28
  nsx srv ip addr add 192.0.2.3/28 dev eth0
  if [ "$between" -ge 2 ]; then
    link core ia  198.51.100.1/30   ia   core 198.51.100.2/30
    link ia   ra  198.51.100.9/30   ra   wan  198.51.100.10/30
    nsx core ip route add 198.51.100.8/30 via 198.51.100.2
    nsx ia   ip route add default via 198.51.100.1
    router ia
  else
    link core ra  198.51.100.9/30   ra   wan  198.51.100.10/30
  fi
  # B's outermost router: RB, or the carrier's CB in front of it.
  outer_b=rb
  [ "$carrier_b" = none ] || outer_b=cb
  if [ "$between" -ge 3 ]; then
    link core ib  198.51.100.5/30   ib   core 198.51.100.6/30
    link ib   "$outer_b" 198.51.100.13/30  "$outer_b" wan  198.51.100.14/30
    nsx core ip route add 198.51.100.12/30 via 198.51.100.6
    nsx ib   ip route add default via 198.51.100.5
    router ib
  else
    link core "$outer_b" 198.51.100.13/30  "$outer_b" wan  198.51.100.14/30
  fi
  if [ "$carrier_b" != none ]; then
    link cb   lan 192.0.2.17/30     rb   wan  192.0.2.18/30
    nsx cb ip route add default via 198.51.100.13
    router cb
  fi
  link ra   lan 203.0.113.1/28    a    eth0 203.0.113.2/28
  link rb   lan 203.0.113.1/28    b    eth0 203.0.113.2/28

  for n in core ra rb; do router "$n"; done

  nsx srv  ip route add default via 192.0.2.1
  nsx ra   ip route add default via 198.51.100.9
  if [ "$carrier_b" = none ]; then
    nsx rb ip route add default via 198.51.100.13
  else
    nsx rb ip route add default via 192.0.2.17
  fi
  nsx a    ip route add default via 203.0.113.1
  nsx b    ip route add default via 203.0.113.1

  nat_rules "$flavour_a" | nsx ra nft -f -
  nat_rules "$flavour_b" | nsx rb nft -f -
  [ "$carrier_b" = none ] || nat_rules "$carrier_b" | nsx cb nft -f -

  if [ "$udp_timeout" != 0 ]; then
    for r in ra rb cb; do
      nsx "$r" sysctl -q -w net.netfilter.nf_conntrack_udp_timeout="$udp_timeout"
      nsx "$r" sysctl -q -w net.netfilter.nf_conntrack_udp_timeout_stream="$udp_timeout"
    done
  fi
}

down () {
  PREFIX=$1
  for n in $NODES; do
    name=$(ns "$n")
    [ -e "/run/netns/$name" ] || continue
    # Processes left inside would keep the namespace alive.
    for pid in $(ip netns pids "$name" 2>/dev/null); do
      kill -9 "$pid" 2>/dev/null || true
    done
    ip netns del "$name" 2>/dev/null || true
  done
}

guard () {
  PREFIX=$1 owner=$2
  while kill -0 "$owner" 2>/dev/null && [ -e "/run/netns/$PREFIX-core" ]; do
    sleep 1
  done
  down "$PREFIX"
}

sweep () {
  # Labs are named filerlab-PID-N-NODE; remove those whose PID is gone.
  for name in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    case "$name" in
      filerlab-*-core) ;;
      *) continue ;;
    esac
    prefix=${name%-core}
    pid=$(echo "$prefix" | cut -d- -f2)
    kill -0 "$pid" 2>/dev/null || down "$prefix"
  done
}

shape () {
  # Rate limit (tbf) and random loss on both of CORE's links toward the
  # NAT sides, in both directions.
  PREFIX=$1 rate=$2 loss=$3
  for pair in "core ia" "core ib" "ia core" "ib core"; do
    set -- $pair
    nsx "$1" tc qdisc replace dev "$2" root tbf rate "${rate}mbit" burst 256kb latency 50ms
  done
  if [ "$loss" -gt 0 ]; then
    nsx core nft -f - <<EOF
table ip filer_loss {
  chain forward {
    type filter hook forward priority filter - 10;
    meta l4proto udp numgen random mod 1000 < $loss drop
    meta l4proto tcp numgen random mod 1000 < $loss drop
  }
}
EOF
  fi
}

no_icmp () {
  # Routers that never answer a probe: no time-exceeded, no unreachable
  # (as many on the internet are). Only what they send themselves.
  PREFIX=$1
  for n in core ia ib ra rb cb; do
    nsx "$n" nft -f - <<EOF
table ip filer_no_icmp {
  chain output {
    type filter hook output priority filter;
    icmp type { time-exceeded, destination-unreachable } drop
  }
}
EOF
  done
}

forward_tcp () {
  PREFIX=$1 side=$2 port=$3
  nsx "r$side" nft -f - <<EOF
table ip filer_bench {
  chain prerouting {
    type nat hook prerouting priority dstnat - 10;
    iifname "wan" tcp dport $port dnat to 203.0.113.2
  }
}
EOF
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) [ $# -ge 4 ] || { echo "usage: $0 up PREFIX OWNER_PID FA FB [UDP_TIMEOUT [BETWEEN [CARRIER_B]]]" >&2; exit 2; }
      # A half-built lab is removed before reporting the failure. (A new
      # shell, so that set -e still holds inside.)
      sh "$0" up-unguarded "$@" || { PREFIX=$1; down "$1"; exit 1; } ;;
  up-unguarded) up "$@" ;;
  down) [ $# -eq 1 ] || exit 2; down "$1" ;;
  guard) guard "$@" ;;
  sweep) sweep ;;
  shape) shape "$@" ;;
  forward-tcp) forward_tcp "$@" ;;
  no-icmp) [ $# -eq 1 ] || exit 2; no_icmp "$1" ;;
  *) sed -n '3,12p' "$0" >&2; exit 2 ;;
esac
