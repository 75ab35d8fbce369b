#!/usr/bin/python3
# mitm-proxy.py: a transparent TCP proxy for the man-in-the-middle test.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   mitm-proxy.py PORT CAPTURE_DIR observe|tamper
#
# Runs on the router between two hosts; an nft rule redirects the
# sender's TCP connections to PORT. For each connection it asks the kernel
# where the sender meant to go (SO_ORIGINAL_DST), connects there itself
# and relays both ways, writing everything it saw into CAPTURE_DIR
# (N.up: sender to receiver, N.down: the other way).
#
# tamper: the attack of issue 9. On a stream in clear (Filer frames) it
# cuts the offer's hash list down to sha256, flips one bit of the file
# once 256 KiB of chunks went by, and writes the SHA-256 of what it let
# through into the `end` frame, so a receiver without TLS would verify
# the altered file. On a TLS stream (it cannot read the frames) it flips
# one bit once 256 KiB went up. Either way it writes "tampered N OFFSET"
# to CAPTURE_DIR/log.
#
# Prints "listening" once it accepts connections.

import hashlib
import os
import select
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80
TAMPER_AFTER = 256 * 1024


def original_destination(conn):
    raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, = struct.unpack("!H", raw[2:4])
    address = socket.inet_ntoa(raw[4:8])
    return address, port


class FrameRewriter:
    """The issue's attacker on a plaintext Filer stream: whole frames in,
    rewritten frames out (docs/protocol.md §1.1, §3.3-3.5)."""

    def __init__(self, on_tamper):
        self.buffer = b""
        self.chunk_bytes = 0
        self.digest = None
        self.on_tamper = on_tamper

    def feed(self, data):
        self.buffer += data
        out = b""
        while len(self.buffer) >= 2:
            length = self.buffer[0] | (self.buffer[1] << 8)
            if len(self.buffer) < 2 + length:
                break
            pairs = [p.split(":", 1) for p in self.buffer[2:2 + length].decode().split(";")]
            header = {k.lower(): v for k, v in pairs}
            size = int(header.get("cl", "0"))
            if len(self.buffer) < 2 + length + size:
                break
            content = self.buffer[2 + length:2 + length + size]
            self.buffer = self.buffer[2 + length + size:]
            out += self.rewrite(pairs, header.get("type"), content)
        return out

    def rewrite(self, pairs, kind, content):
        if kind == "offer":
            pairs = [[k, "sha256"] if k.lower() == "hashes" else [k, v] for k, v in pairs]
        elif kind == "file":
            self.digest = hashlib.sha256()
        elif kind == "chunk" and self.digest is not None:
            if self.chunk_bytes <= TAMPER_AFTER < self.chunk_bytes + len(content):
                i = TAMPER_AFTER - self.chunk_bytes
                content = content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1:]
                self.on_tamper(TAMPER_AFTER)
            self.chunk_bytes += len(content)
            self.digest.update(content)
        elif kind == "end" and self.digest is not None:
            pairs = [[k, self.digest.hexdigest()] if k.lower() == "sha256" else [k, v]
                     for k, v in pairs if k.lower() in ("cl", "type", "index", "sha256")]
        header = ";".join(k + ":" + v for k, v in pairs).encode()
        return bytes([len(header) & 0xff, len(header) >> 8]) + header + content


def log(capture_dir, line):
    with open(os.path.join(capture_dir, "log"), "a") as f:
        f.write(line + "\n")


def relay(n, client, capture_dir, mode):
    destination = original_destination(client)
    log(capture_dir, "connection %d to %s:%d" % (n, destination[0], destination[1]))
    try:
        server = socket.create_connection(destination, timeout=5)
    except OSError as error:
        log(capture_dir, "connection %d: %s" % (n, error))
        client.close()
        return
    server.settimeout(None)
    up = open(os.path.join(capture_dir, "%d.up" % n), "wb")
    down = open(os.path.join(capture_dir, "%d.down" % n), "wb")
    sent_up = 0
    tampered = mode != "tamper"
    rewriter = None
    peers = {client: (server, up), server: (client, down)}
    try:
        while peers:
            readable, _, _ = select.select(list(peers), [], [], 60)
            if not readable:
                break
            for sock in readable:
                other, capture = peers[sock]
                data = sock.recv(65536)
                if not data:
                    other.shutdown(socket.SHUT_WR)
                    del peers[sock]
                    continue
                capture.write(data)
                if sock is client and not tampered and sent_up == 0 and data[:2] != b"\x16\x03":
                    rewriter = FrameRewriter(lambda at: log(capture_dir, "tampered %d %d" % (n, at)))
                    tampered = True
                if rewriter is not None and sock is client:
                    data = rewriter.feed(data)
                elif sock is client:
                    if not tampered and sent_up + len(data) > TAMPER_AFTER:
                        i = max(0, TAMPER_AFTER - sent_up)
                        data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
                        tampered = True
                        log(capture_dir, "tampered %d %d" % (n, sent_up + i))
                    sent_up += len(data)
                other.sendall(data)
    except OSError as error:
        log(capture_dir, "connection %d ended: %s" % (n, error))
    finally:
        up.close()
        down.close()
        client.close()
        server.close()


def main():
    port, capture_dir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(16)
    print("listening", flush=True)
    n = 0
    while True:
        client, _ = listener.accept()
        n += 1
        threading.Thread(target=relay, args=(n, client, capture_dir, mode), daemon=True).start()


if __name__ == "__main__":
    main()
