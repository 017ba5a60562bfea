#!/usr/bin/env python3
"""relay.py PORTFILE TARGET_PORT CONTROL: a TCP relay on 127.0.0.1 between
todo-cli and a real todo-server, which a test can cut to drop the
connections without stopping the server.

It writes the port it listens on to PORTFILE (renamed into place, so that
a reader never sees half of it). While the file CONTROL exists, every
connection is closed and new ones are closed as soon as they come; once it
is removed, connections are relayed again. Bytes are passed on unchanged.
"""
import os
import select
import socket
import sys

portfile, target, control = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", 0))
lsock.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(lsock.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)

peer = {}  # socket -> the socket its bytes go to


def drop(s):
    other = peer.pop(s, None)
    s.close()
    if other is not None:
        peer.pop(other, None)
        other.close()


while True:
    cut = os.path.exists(control)
    if cut:
        for s in list(peer):
            if s in peer:
                drop(s)
    ready, _, _ = select.select([lsock] + list(peer), [], [], 0.05)
    for s in ready:
        if s is lsock:
            c, _ = lsock.accept()
            if cut:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", target))
            except OSError:
                c.close()
                continue
            peer[c], peer[u] = u, c
            continue
        if s not in peer:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            drop(s)
            continue
        try:
            peer[s].sendall(data)
        except OSError:
            drop(s)
