#!/bin/sh
# lanhost.sh: one LAN out of network namespaces, for the zero-setup test.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   lanhost.sh up PREFIX OWNER_PID
#   lanhost.sh down PREFIX
#   lanhost.sh sweep            remove LANs whose owner has died
#   lanhost.sh cable PREFIX NODE in|out   plug NODE's cable in or out
#
# Topology: three hosts on one switch (a bridge), as three machines
# plugged into one home router's switch would be. Documentation range
# only; nothing is routed anywhere else.
#
#        A 192.0.2.10/24      B 192.0.2.20/24      C 192.0.2.30/24
#             eth0                 eth0                 eth0
#               \                   |                   /
#             port-a ------------ br0 ----------- port-c     (SW)
#                                   |
#                                 port-b
#
# Every host has loopback up and a real broadcast address (192.0.2.255),
# so an app's LAN probe goes where it goes on a real network.
#
# Namespaces are named PREFIX-NODE. `up` starts a guard that removes the
# LAN when OWNER_PID exits, so a crashed test leaves nothing behind.

set -eu

NODES="sw a b c"

ns () { printf '%s-%s' "$PREFIX" "$1"; }
nsx () { n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

host () {
  # host NODE ADDRESS: a veth from NODE's eth0 to a port of the switch
  ip link add eth0 netns "$(ns "$1")" type veth peer name "port-$1" netns "$(ns sw)"
  nsx sw ip link set dev "port-$1" master br0
  nsx sw ip link set dev "port-$1" up
  nsx "$1" ip addr add "$2/24" brd + dev eth0
  nsx "$1" ip link set eth0 up
}

up () {
  PREFIX=$1 owner=$2

  for n in $NODES; do
    ip netns add "$(ns "$n")"
    nsx "$n" ip link set lo up
  done

  # The guard outlives this script and removes the LAN with its owner.
  nohup sh "$0" guard "$PREFIX" "$owner" </dev/null >/dev/null 2>&1 &

  # A plain switch: no spanning tree, ports forward at once.
  nsx sw ip link add br0 type bridge stp_state 0 forward_delay 0
  nsx sw ip link set br0 up

  host a 192.0.2.10
  host b 192.0.2.20
  host c 192.0.2.30
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
  while kill -0 "$owner" 2>/dev/null && [ -e "/run/netns/$PREFIX-sw" ]; do
    sleep 1
  done
  down "$PREFIX"
}

sweep () {
  # LANs are named filerlan-PID-N-NODE; remove those whose PID is gone.
  for name in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    case "$name" in
      filerlan-*-sw) ;;
      *) continue ;;
    esac
    prefix=${name%-sw}
    pid=$(echo "$prefix" | cut -d- -f2)
    kill -0 "$pid" 2>/dev/null || down "$prefix"
  done
}

cable () {
  # The switch's port goes down: NODE's eth0 loses its carrier, as with
  # a cable pulled out; its address and broadcast address stay.
  PREFIX=$1
  case "$3" in
    in) nsx sw ip link set dev "port-$2" up ;;
    out) nsx sw ip link set dev "port-$2" down ;;
    *) exit 2 ;;
  esac
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) [ $# -eq 2 ] || { echo "usage: $0 up PREFIX OWNER_PID" >&2; exit 2; }
      # A half-built LAN is removed before reporting the failure.
      sh "$0" up-unguarded "$@" || { down "$1"; exit 1; } ;;
  up-unguarded) up "$@" ;;
  down) [ $# -eq 1 ] || exit 2; down "$1" ;;
  guard) guard "$@" ;;
  sweep) sweep ;;
  cable) [ $# -eq 3 ] || exit 2; cable "$@" ;;
  *) sed -n '3,10p' "$0" >&2; exit 2 ;;
esac
