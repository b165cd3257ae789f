#!/usr/bin/env python3
"""Turn a cvq-vcard APDU trace into vcard-apdu fuzz inputs.

usage: trace2corpus.py TRACE OUTDIR PREFIX [CHUNK]

Command lines ("<t> > HEX") become records; redacted data (PIN, PUK, keys)
is replaced by the factory PIN/PUK pattern of the right length. The
session is cut into inputs of CHUNK APDUs (default 40), each with no
authentication and with both the management key and the PIN.
"""
import re
import sys

def commands(path):
    red = re.compile(r'^([0-9A-F]{8}) ([0-9A-F]{2}|00[0-9A-F]{4}) <redacted (\d+) bytes>$')
    for line in open(path):
        m = re.match(r'^[0-9.]+ > (.*)$', line.rstrip('\n'))
        if not m:
            continue
        body = m.group(1)
        r = red.match(body)
        if r:
            n = int(r.group(3))
            fill = (b'123456\xff\xff' + b'12345678' * 8)[:n]
            yield bytes.fromhex(r.group(1) + r.group(2)) + fill
        else:
            yield bytes.fromhex(body)

def record(apdu):
    if len(apdu) < 0xFF:
        return bytes([len(apdu)]) + apdu
    return b'\xff' + len(apdu).to_bytes(2, 'big') + apdu

def main():
    trace, out, prefix = sys.argv[1:4]
    chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    cmds = list(commands(trace))
    for i in range(0, len(cmds), chunk):
        body = b''.join(record(c) for c in cmds[i:i + chunk])
        for flags in (0, 3):
            with open(f'{out}/{prefix}-{i // chunk:02d}-f{flags}', 'wb') as f:
                f.write(bytes([flags]) + body)

main()
