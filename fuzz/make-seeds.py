#!/usr/bin/env python3
# Writes the fuzz targets' seed corpora (fuzz/corpus/NAME/): valid
# messages from docs/protocol.md, the hostile inputs that once broke or
# nearly broke a parser, and edge cases. Run again after changing it;
# the files it writes are committed.
import json, os, struct

here = os.path.dirname(os.path.abspath(__file__))

def frame(pairs, content=b""):
    header = ";".join(["CL:%d" % len(content)] + ["%s:%s" % kv for kv in pairs]).encode()
    return struct.pack("<H", len(header)) + header + content

def write(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

offer_json = json.dumps({"files": [{"path": "docs/a;b.txt", "size": 40000, "chunks": 2},
                                   {"path": "docs/empty", "size": 0, "chunks": 0}]}).encode()
frames = [
    frame([("type", "message")], b"cwsdwed"),
    frame([("type", "x"), ("name", "a%3Bb")]),
    frame([("type", "hello"), ("from", "ABCDEFG-HIJKLMN"), ("name", "Ada")]),
    frame([("type", "offer"), ("transfer", "7f3e"), ("files", "2"), ("size", "40000"),
           ("hashes", "xxh3-128,sha256")], offer_json),
    frame([("type", "chunk"), ("file", "0")], b"\0" * 32768),
    frame([("type", "end"), ("file", "0"), ("xxh3-128", "0" * 32)]),
    frame([("type", "probe")]),
]

# frame-decoder: first byte = split size - 1
write("frame-decoder", "seed-example", b"\x00" + frames[0])
write("frame-decoder", "stream-of-frames", b"\x06" + b"".join(frames))
write("frame-decoder", "byte-by-byte", b"\x00" + b"".join(frames[:4]))
write("frame-decoder", "huge-cl", b"\x10" + struct.pack("<H", 27) + b"CL:99999999999999999999;t:x")
write("frame-decoder", "empty-pair", b"\x10" + struct.pack("<H", 12) + b"CL:0;;type:x")
write("frame-decoder", "duplicate-key", b"\x10" + struct.pack("<H", 18) + b"CL:0;type:a;TYPE:b")
write("frame-decoder", "max-header", b"\xff" + struct.pack("<H", 65535) + b"CL:0;type:" + b"a" * 65525)

for i, f in enumerate(frames):
    write("datagram", "frame-%d" % i, f if len(f) < 1200 else frames[6])
write("datagram", "trailing", frames[6] + b"x")
write("datagram", "short", frames[6][:-1])
write("datagram", "nat-magic", b"\xff\xff\x01" + b"\x11" * 8 + b"payload")

def offer(files, total, content):
    return struct.pack("<IQ", files, total) + content

write("offer", "two-files", offer(2, 40000, offer_json))
write("offer", "empty-list", offer(0, 0, b'{"files":[]}'))
write("offer", "unicode", offer(1, 5, json.dumps({"files": [{"path": "报告/été.txt", "size": 5, "chunks": 1}]}).encode()))
write("offer", "dotdot", offer(1, 1, b'{"files":[{"path":"../x","size":1,"chunks":1}]}'))
write("offer", "nul-escape", offer(1, 1, b'{"files":[{"path":"a\\u0000b","size":1,"chunks":1}]}'))
write("offer", "big-number", offer(1, 2**63, b'{"files":[{"path":"a","size":9223372036854775808,"chunks":281474976710656}]}'))
# 2,049 sizes just under 2^53 (each allowed) whose sum wraps a guint64.
big = 2**53 - 1
wrap = {"files": [{"path": "f%d" % i, "size": big, "chunks": -(-big // 32768)} for i in range(2049)]}
write("offer", "size-wraps", offer(2049, (2049 * big) % 2**64, json.dumps(wrap).encode()))
# The offer that killed json-glib 1.6's recursive parser (100,000 '[').
write("offer", "deep-nesting", offer(1, 1, b"[" * 100000))
write("offer", "deep-object", offer(1, 1, b'{"files":' + b'{"a":' * 20000 + b"1" + b"}" * 20000 + b"}"))
write("offer", "duplicate-path", offer(2, 2, b'{"files":[{"path":"a","size":1,"chunks":1},{"path":"a","size":1,"chunks":1}]}'))

write("accept", "all-sha256", b"\x00" + b'{"files":[{"index":0,"offset":0},{"index":1,"offset":0},{"index":2,"offset":0}]}')
write("accept", "resume-xxh3", b"\x01" + b'{"files":[{"index":1,"offset":50,"xxh3-128":"' + b"0" * 32 + b'"}]}')
write("accept", "resume-sha256", b"\x00" + b'{"files":[{"index":2,"offset":32768,"sha256":"' + b"a" * 64 + b'"}]}')
write("accept", "offset-past-end", b"\x00" + b'{"files":[{"index":1,"offset":101,"sha256":"' + b"a" * 64 + b'"}]}')
write("accept", "repeated-index", b"\x00" + b'{"files":[{"index":1,"offset":0},{"index":1,"offset":0}]}')
write("accept", "bad-index", b"\x00" + b'{"files":[{"index":3,"offset":0}]}')
write("accept", "upper-hex", b"\x01" + b'{"files":[{"index":1,"offset":5,"xxh3-128":"' + b"A" * 32 + b'"}]}')
write("accept", "deep-nesting", b"\x00" + b"[" * 100000)

token = bytes(range(8))
write("nat-datagram", "stream", b"\xff\xff\x01" + token + b"segment")
write("nat-datagram", "quic", b"\xff\xff\x02" + token + b"\xc0" + b"\0" * 40)
write("nat-datagram", "header-only", b"\xff\xff\x01" + token)
write("nat-datagram", "short", b"\xff\xff\x01" + token[:4])
write("nat-datagram", "server-frame", frame([("type", "nat-offer"), ("token", token.hex())]))
write("nat-datagram", "token-text", token.hex().encode())

for name, path in [("plain", "a.txt"), ("nested", "photos/2024/a.jpg"), ("dotdot", "a/../../etc/passwd"),
                   ("absolute", "/etc/passwd"), ("backslash", "a\\b"), ("bidi", "a\u202eb"),
                   ("part-name", "x/.filer-0123.part"), ("trailing-slash", "a/"), ("double-slash", "a//b"),
                   ("dot", "./a"), ("control", "a\x01b"), ("c1-control", "a\u0085b"),
                   ("long-component", "a" * 256), ("deep", "/".join(["d"] * 65)), ("unicode", "报告/été.txt")]:
    write("safe-path", name, path.encode())
write("safe-path", "bad-utf8", b"a\xff\xfeb")
