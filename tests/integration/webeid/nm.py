#!/usr/bin/python3
"""Speak the native messaging protocol to a host, as a browser does.

    nm.py HOST JSON            send one command, print the replies (JSON lines)
    nm.py HOST --raw HEXLEN BODY   send a raw length (hex, native order) + body
    nm.py HOST --close         send nothing, close stdin

Prints each framed reply on its own line; exit status 0 when every byte the
host wrote was a whole frame.
"""
import json
import struct
import subprocess
import sys


def frames(data):
    out = []
    while data:
        if len(data) < 4:
            raise SystemExit("host wrote a partial length: %r" % data)
        (n,) = struct.unpack("=I", data[:4])
        if len(data) < 4 + n:
            raise SystemExit("host wrote a partial message")
        out.append(json.loads(data[4:4 + n].decode("utf-8")))
        data = data[4 + n:]
    return out


def main():
    host, args = sys.argv[1], sys.argv[2:]
    if args[0] == "--raw":
        payload = struct.pack("=I", int(args[1], 16)) + args[2].encode()
    elif args[0] == "--close":
        payload = b""
    else:
        body = args[0].encode("utf-8")
        payload = struct.pack("=I", len(body)) + body
    p = subprocess.run([host], input=payload, stdout=subprocess.PIPE)
    for f in frames(p.stdout):
        print(json.dumps(f, ensure_ascii=False))
    print(json.dumps({"exit": p.returncode}))


main()
