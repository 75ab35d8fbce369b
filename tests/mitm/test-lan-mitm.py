#!/usr/bin/python3
# test-lan-mitm.py: a man in the middle of the LAN transfer path (TAP).
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   test-lan-mitm.py FILER_CLI FILER_SERVER
#
# Issue 9's attack, with the real programs in network namespaces: a router
# M between the sender's network (A 192.0.2.10) and the receiver's (B
# 198.51.100.20) redirects every TCP connection from A to B into a
# transparent proxy (nft "redirect", the proxy asks SO_ORIGINAL_DST where
# it was meant to go). filer-server runs on M; A and B meet in a room.
#
#   observe  the proxy relays faithfully and keeps every byte: the file
#            arrives verified over the LAN path, and nothing the proxy saw
#            holds the file's marker or its name (all of it is TLS)
#   tamper   the proxy flips one bit once 256 KiB went by: the transfer
#            fails on both sides, never "verified", and no file gets its
#            final name in the receiver's folder
#
# UDP between A and B is dropped on M, so no other path can hide what
# happens on the TCP one. Needs root (namespaces, nft); skips otherwise.

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "mitm-proxy.py")
PROXY_PORT = 7000
SERVER = "192.0.2.1:47800"
MARKER = b"FILER-MITM-MARKER-7f3c9a"
NAME = "secret-plans-5d1e.bin"
SIZE = 3 * 1024 * 1024

prefix = "filermitm-%d" % os.getpid()
tests_run = 0
failed = False


def ns(node):
    return "%s-%s" % (prefix, node)


def sh(*args, node=None, check=True):
    argv = list(args) if node is None else ["ip", "netns", "exec", ns(node)] + list(args)
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def spawn(node, args, **kwargs):
    return subprocess.Popen(["ip", "netns", "exec", ns(node)] + args, **kwargs)


def lan_up():
    for node in ("a", "m", "b"):
        sh("ip", "netns", "add", ns(node))
        sh("ip", "link", "set", "lo", "up", node=node)
    sh("ip", "link", "add", "eth0", "netns", ns("a"), "type", "veth", "peer", "name", "eth-a", "netns", ns("m"))
    sh("ip", "link", "add", "eth0", "netns", ns("b"), "type", "veth", "peer", "name", "eth-b", "netns", ns("m"))
    for node, dev, address in (("a", "eth0", "192.0.2.10/24"), ("m", "eth-a", "192.0.2.1/24"),
                               ("m", "eth-b", "198.51.100.1/24"), ("b", "eth0", "198.51.100.20/24")):
        sh("ip", "addr", "add", address, "brd", "+", "dev", dev, node=node)
        sh("ip", "link", "set", dev, "up", node=node)
    sh("ip", "route", "add", "default", "via", "192.0.2.1", node="a")
    sh("ip", "route", "add", "default", "via", "198.51.100.1", node="b")
    sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", node="m")
    rules = """
table ip mitm {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    iifname "eth-a" ip daddr 198.51.100.20 tcp dport 1-65535 redirect to :%d
  }
  chain forward {
    type filter hook forward priority filter;
    meta l4proto udp drop
  }
}
""" % PROXY_PORT
    subprocess.run(["ip", "netns", "exec", ns("m"), "nft", "-f", "-"], input=rules, text=True, check=True)


def lan_down():
    for node in ("a", "m", "b"):
        name = ns(node)
        if not os.path.exists("/run/netns/" + name):
            continue
        pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        sh("ip", "netns", "del", name, check=False)


def ok(condition, what):
    global tests_run, failed
    tests_run += 1
    if not condition:
        failed = True
    print("%s %d - %s" % ("ok" if condition else "not ok", tests_run, what), flush=True)
    return condition


def wait_line(process, word, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return False
        if word in line:
            return True
    return False


def captured(capture):
    up = b""
    down = b""
    for name in sorted(os.listdir(capture)):
        with open(os.path.join(capture, name), "rb") as f:
            if name.endswith(".up"):
                up += f.read()
            elif name.endswith(".down"):
                down += f.read()
    return up, down


def run_case(mode, cli, server_bin, root):
    work = os.path.join(root, mode)
    capture = os.path.join(work, "capture")
    inbox = os.path.join(work, "inbox")
    source = os.path.join(work, NAME)
    for path in (capture, inbox, os.path.join(work, "home-a"), os.path.join(work, "home-b")):
        os.makedirs(path)
    # Random bytes with the marker every 64 KiB, so any plaintext window
    # a proxy sees holds it.
    with open(source, "wb") as f:
        for _ in range(SIZE // 65536):
            f.write(MARKER + os.urandom(65536 - len(MARKER)))
    with open(source, "rb") as f:
        ok(MARKER in f.read(), "%s: the marker search finds the marker in the plain file" % mode)

    def env(home):
        e = dict(os.environ)
        for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            e.pop(key, None)
        e["HOME"] = home
        e["XDG_DOWNLOAD_DIR"] = inbox
        return e

    processes = []
    try:
        server = spawn("m", [server_bin, "--bind", "192.0.2.1", "--port", "47800"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        processes.append(server)
        if not ok(wait_line(server, "listening", 10), "%s: filer-server is up on the router" % mode):
            return
        proxy = spawn("m", [PROXY, str(PROXY_PORT), capture, mode],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        processes.append(proxy)
        if not ok(wait_line(proxy, "listening", 10), "%s: the proxy is up on the router" % mode):
            return
        receiver = spawn("b", [cli, "receive", "--server", SERVER, "--room", "MITM-LAB-42", "--name", "Bob",
                               "--dir", inbox, "--accept-all"],
                         env=env(os.path.join(work, "home-b")), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        processes.append(receiver)
        time.sleep(1.0)
        sender = spawn("a", [cli, "send", "--server", SERVER, "--room", "MITM-LAB-42", "--name", "Ann",
                             "--to", "Bob", "--timeout", "20", source],
                       env=env(os.path.join(work, "home-a")), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
        processes.append(sender)
        try:
            out, _ = sender.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            sender.kill()
            out, _ = sender.communicate()
        for line in out.splitlines():
            print("# sender: " + line)
        time.sleep(0.5)
        receiver.send_signal(signal.SIGINT)
        try:
            rout, _ = receiver.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            receiver.kill()
            rout, _ = receiver.communicate()
        for line in rout.splitlines():
            print("# receiver: " + line)
        with open(os.path.join(capture, "log")) as f:
            log = f.read()
        for line in log.splitlines():
            print("# proxy: " + line)

        up, down = captured(capture)
        target = os.path.join(inbox, NAME)
        ok("connection 1 to 198.51.100.20:" in log, "%s: the sender's TCP connection went through the proxy" % mode)
        ok(len(up) > 0 and up[:2] == b"\x16\x03", "%s: what the proxy saw starts as a TLS record" % mode)
        ok(MARKER not in up and MARKER not in down, "%s: the proxy saw no byte of the file in clear" % mode)
        ok(NAME.encode() not in up and NAME.encode() not in down, "%s: the proxy never saw the file's name" % mode)
        if mode == "observe":
            ok(sender.returncode == 0, "observe: the sender exited 0")
            ok("path lan" in out, "observe: it went the LAN path (through the proxy)")
            ok(len(up) > SIZE, "observe: the whole file crossed the proxy (%d bytes up)" % len(up))
            same = os.path.exists(target) and open(target, "rb").read() == open(source, "rb").read()
            ok(same, "observe: the received file equals the source")
        else:
            ok("tampered 1 " in log, "tamper: the proxy flipped a bit of the sender's stream")
            ok(sender.returncode != 0, "tamper: the sender did not exit 0 (exit %d)" % sender.returncode)
            ok("Sent " not in out, "tamper: the sender never says sent")
            ok(not os.path.exists(target), "tamper: no file got its final name in the receiver's folder")
            ok("Received " not in rout, "tamper: the receiver never says received")
            ok("integrity check" in rout, "tamper: the receiver says the connection failed its integrity check")
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()


def main():
    if len(sys.argv) != 3:
        print("usage: test-lan-mitm.py FILER_CLI FILER_SERVER", file=sys.stderr)
        return 2
    cli, server_bin = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        print("1..0 # SKIP needs root, iproute2 and nft (network namespaces)")
        return 0
    root = tempfile.mkdtemp(prefix="filer-mitm-")
    try:
        lan_up()
        run_case("observe", cli, server_bin, root)
        run_case("tamper", cli, server_bin, root)
    finally:
        lan_down()
        shutil.rmtree(root, ignore_errors=True)
    print("1..%d" % tests_run)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
