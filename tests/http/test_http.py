#!/usr/bin/env python3
"""The HTTP/JSON front end (docs/HTTP.md) against a real todo-server: every
endpoint, status and error, keep-alive, pipelining, chunked bodies,
Expect: 100-continue, HEAD, HTTP/1.0, limits (431, 413, 408, 503), and the
security checks. Usage: test_http.py PATH-TO-todo-server"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SERVER = sys.argv[1]
THREADS = os.environ.get("TODO_TEST_THREADS", "2")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


class Server:
    def __init__(self, *args):
        self.p = subprocess.Popen(
            [SERVER, "-b", "127.0.0.1", "-p", "0", "-d", ":memory:", "-t", THREADS, *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline:
            line = self.p.stdout.readline()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if not line:
                break
        if self.port is None:
            raise SystemExit("the server did not start")

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)

    def raw(self, data, wait=True, bufsize=1 << 20):
        """Sends data on a fresh socket and reads until the server closes."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        s.sendall(data)
        out = b""
        while wait:
            try:
                b = s.recv(bufsize)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
        s.close()
        return out

    def stop(self):
        """Stops it with SIGTERM; a server that does not exit 0 (a crash, or
        a sanitizer's report: a leak, an error) is a failure."""
        self.p.terminate()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        check(self.p.returncode == 0, "the server exits 0 at SIGTERM (%r)" % self.p.returncode)


def req(c, method, path, body=None, headers=None, ctype="application/json"):
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if body is not None and ctype is not None:
        h.setdefault("Content-Type", ctype)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    doc = None
    if r.getheader("Content-Type", "").startswith("application/json") and data:
        doc = json.loads(data)
    return r, doc, data


def line_cmd(port, text):
    """One request over the line protocol, its reply lines."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(text.encode() + b"\r\nQUIT\r\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode()


def test_api(srv):
    c = srv.conn()
    r, doc, _ = req(c, "GET", "/api/tasks")
    check(r.status == 200 and isinstance(doc, list) and len(doc) == 4, "GET /api/tasks (demo and one)")
    check(r.getheader("Connection") is None, "keep-alive by default")
    r, doc, _ = req(c, "POST", "/api/tasks",
                    {"text": "buy oat milk", "tags": ["home", "shopping"], "due": "2026-12-24",
                     "priority": "high"})
    check(r.status == 201, "POST 201")
    tid = doc["id"]
    check(r.getheader("Location") == "/api/tasks/" + tid, "Location")
    check(doc["text"] == "buy oat milk" and doc["tags"] == ["home", "shopping"]
          and doc["priority"] == "high" and doc["due"] == "2026-12-24"
          and doc["status"] == "pending", "the new task")
    check(list(doc.keys()) == ["id", "text", "status", "priority", "due", "tags", "created",
                               "updated"], "the task's schema")
    r, doc, _ = req(c, "GET", "/api/tasks/" + tid)
    check(r.status == 200 and doc["text"] == "buy oat milk", "GET one")
    r, doc, _ = req(c, "PATCH", "/api/tasks/" + tid,
                    {"text": "buy soy milk", "tags": ["shopping", "errand"], "priority": None,
                     "due": None})
    check(r.status == 200 and doc["text"] == "buy soy milk"
          and sorted(doc["tags"]) == ["errand", "shopping"] and doc["priority"] is None
          and doc["due"] is None, "PATCH replaces text and tags, clears: %r" % doc)
    r, doc, _ = req(c, "PATCH", "/api/tasks/" + tid, {"tags": ["shopping", "errand"]})
    check(r.status == 200 and sorted(doc["tags"]) == ["errand", "shopping"], "PATCH no change")
    r, doc, _ = req(c, "POST", "/api/tasks/%s/done" % tid, ctype=None)
    check(r.status == 200 and doc["status"] == "done", "done")
    r, doc, _ = req(c, "GET", "/api/tasks?status=done")
    check([t["id"] for t in doc] == [tid], "list done")
    r, doc, _ = req(c, "GET", "/api/tasks?status=all&tag=shopping&tag=errand&q=soy")
    check([t["id"] for t in doc] == [tid], "list tags and words")
    r, doc, _ = req(c, "GET", "/api/tasks?status=pending&q=nothing+like+it")
    check(r.status == 200 and doc == [], "list nothing")
    r, doc, _ = req(c, "POST", "/api/tasks/%s/undone" % tid, ctype=None)
    check(r.status == 200 and doc["status"] == "pending", "undone")
    r, doc, _ = req(c, "GET", "/api/tags")
    check(r.status == 200 and {"tag": "shopping", "count": 1} in doc, "tags: %r" % doc)
    r, doc, _ = req(c, "GET", "/api/stats")
    check(r.status == 200 and doc["tasks"] == 5 and "version" in doc, "stats")
    r, doc, _ = req(c, "DELETE", "/api/tasks/" + tid)
    check(r.status == 200 and doc == {"id": tid}, "delete")
    r, doc, _ = req(c, "GET", "/api/tasks/" + tid)
    check(r.status == 404 and doc["error"]["code"] == "NOTFOUND", "404 after delete")
    r, doc, _ = req(c, "POST", "/api/undo", ctype=None)
    check(r.status == 200, "undo: %r" % doc)
    r, doc, _ = req(c, "GET", "/api/tasks/" + tid)
    check(r.status == 200 and doc["text"] == "buy soy milk", "the task back after undo")
    # Errors.
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": ""})
    check(r.status == 400 and doc["error"]["code"] == "ARGS", "empty text 400: %r" % doc)
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "x", "tags": ["bad tag"]})
    check(r.status == 400, "bad tag 400")
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "x", "priority": "urgent"})
    check(r.status == 400, "bad priority 400")
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "x", "due": "2026-02-30"})
    check(r.status == 400, "bad date 400")
    r, doc, _ = req(c, "POST", "/api/tasks", "{not json")
    check(r.status == 400 and doc["error"]["code"] == "SYNTAX", "bad JSON 400")
    r, doc, _ = req(c, "PUT", "/api/tasks/" + tid, {"text": "y"})
    check(r.status == 405 and doc["error"]["code"] == "METHOD"
          and r.getheader("Allow") == "GET, HEAD, PATCH, DELETE, OPTIONS",
          "PUT 405 with Allow: %r" % r.getheader("Allow"))
    r, doc, _ = req(c, "GET", "/api/nothing")
    check(r.status == 404, "unknown path 404")
    r, doc, _ = req(c, "GET", "/api/tasks?status=later")
    check(r.status == 400, "bad status 400")
    # A query parameter's name that is not UTF-8 is quoted in the error's
    # message, which JSON must carry: still a 400 with a body, not a close.
    r, doc, _ = req(c, "GET", "/api/tasks?stat%CFs=all")
    check(r.status == 400 and doc["error"]["code"] == "ARGS"
          and doc["error"]["message"] == "unknown query parameter: stat?s",
          "a non-UTF-8 parameter name 400: %r %r" % (r.status, doc))
    r, doc, _ = req(c, "GET", "/api/tasks/bad!id")
    check(r.status == 404, "bad id 404")
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "buy milk"}, ctype="text/plain")
    check(r.status == 415, "text/plain body 415")
    # A text that looks like a line-protocol command stays text.
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "x\r\nDEL task_01", "tags": []})
    check(r.status == 201 and doc["text"] == "x\r\nDEL task_01", "CRLF in text stays text")
    r, doc, _ = req(c, "GET", "/api/tasks/task_01")
    check(r.status == 200, "task_01 still there")
    # HEAD: the head of GET, no body.
    c.request("HEAD", "/api/tasks/task_01")
    r = c.getresponse()
    body = r.read()
    check(r.status == 200 and int(r.getheader("Content-Length")) > 0 and body == b"", "HEAD")
    c.close()


def test_tutorial(srv):
    c = srv.conn()
    r, _, data = req(c, "GET", "/task_02/status")
    check(r.status == 200 and r.getheader("Content-Type").startswith("text/plain")
          and data.strip() == b"read book", "GET /task_02/status: %r" % data)
    c.request("HEAD", "/task_02/status")
    r = c.getresponse()
    check(r.status == 200 and r.getheader("Content-Length") == "11" and r.read() == b"",
          "HEAD /task_02/status: GET's head: %r" % r.status)
    r, _, data = req(c, "POST", "/task_04=buy%20milk/status", ctype=None)
    check(r.status == 200 and data.strip() == b"submit success", "POST tutorial: %r" % data)
    r, doc, _ = req(c, "GET", "/api/tasks/task_04")
    check(r.status == 200 and doc["text"] == "buy milk", "task_04 stored")
    c.close()
    out = line_cmd(srv.port, "GET/task_01/status")
    check(out.startswith("see someone"), "nc GET/task_01/status: %r" % out)
    out = line_cmd(srv.port, "GET task_01")
    check(out.startswith("DATA 1"), "nc GET task_01: %r" % out)


def test_wire(srv):
    # Pipelined requests in one write, the last closing.
    out = srv.raw(b"GET /api/tasks/task_01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                  b"GET /api/tasks/task_02 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                  b"GET /api/tasks/task_03 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(out.count(b"HTTP/1.1 200 OK") == 3 and out.index(b"task_01") < out.index(b"task_02")
          < out.index(b"task_03"), "pipelined: %r" % out[:200])
    # Chunked body.
    body = json.dumps({"text": "chunked task"}).encode()
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (5, body[:5], len(body) - 5, body[5:])
    out = srv.raw(b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks)
    check(out.startswith(b"HTTP/1.1 201") and b"chunked task" in out, "chunked: %r" % out[:200])
    # Expect: 100-continue: the 100 comes before the body is sent.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    body = json.dumps({"text": "continued"}).encode()
    s.sendall(b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    first = s.recv(4096)
    check(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), "100 Continue: %r" % first)
    s.sendall(body)
    out = first
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    check(b"HTTP/1.1 201" in out and b"continued" in out, "after 100: %r" % out)
    # HTTP/1.0: closed after the reply; with keep-alive, kept.
    out = srv.raw(b"GET /api/tasks/task_01 HTTP/1.0\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out, "1.0 closes")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(b"GET /api/tasks/task_01 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    time.sleep(0.3)
    s.sendall(b"GET /api/tasks/task_02 HTTP/1.0\r\n\r\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    check(out.count(b"200 OK") == 2 and b"Connection: keep-alive" in out, "1.0 keep-alive")
    # Malformed.
    out = srv.raw(b"GET /api/tasks HTTP/1.1\r\nBad Header: x\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400"), "malformed 400: %r" % out[:60])
    out = srv.raw(b"GET /api/tasks HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    check(out.startswith(b"HTTP/1.1 400"), "two lengths 400")
    # Oversized head and body.
    out = srv.raw(b"GET /api/tasks HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 431"), "431: %r" % out[:60])
    out = srv.raw(b"POST /api/tasks HTTP/1.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 70000\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 413"), "413: %r" % out[:60])
    # The cross-protocol form post: a text/plain body of line commands runs
    # nothing, wherever it is sent.
    for path in (b"/", b"/api/tasks", b"/api/tasks/task_01", b"/api/undo"):
        out = srv.raw(b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                      b"DEL 1\r\n")
        check(not out.startswith(b"HTTP/1.1 2"), "form post to %r refused: %r" % (path, out[:40]))
    check(line_cmd(srv.port, "GET 1").startswith("DATA 1"), "task 1 survives the form posts")


def test_security(srv):
    c = srv.conn()
    r, doc, _ = req(c, "GET", "/api/tasks", headers={"Host": "evil.example:%d" % srv.port})
    check(r.status == 403 and doc["error"]["code"] == "FORBIDDEN", "rebinding Host 403")
    r, doc, _ = req(c, "GET", "/api/tasks", headers={"Host": "localhost:%d" % srv.port})
    check(r.status == 200, "Host localhost ok")
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "from evil"},
                    headers={"Origin": "http://evil.example"})
    check(r.status == 403, "foreign Origin 403")
    r, doc, _ = req(c, "DELETE", "/api/tasks/task_01", headers={"Sec-Fetch-Site": "cross-site"})
    check(r.status == 403, "Sec-Fetch-Site cross-site 403")
    r, doc, _ = req(c, "POST", "/api/tasks", {"text": "same origin"},
                    headers={"Origin": "http://127.0.0.1:%d" % srv.port,
                             "Sec-Fetch-Site": "same-origin"})
    check(r.status == 201, "same origin 201")
    r, doc, _ = req(c, "GET", "/api/tasks", headers={"Origin": "http://evil.example"})
    check(r.status == 200 and r.getheader("Access-Control-Allow-Origin") is None, "no CORS")
    c.close()
    # What a browser sends for a cross-site HTML form with enctype text/plain.
    out = srv.raw(b"POST /api/tasks/1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"Origin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n"
                  b"Content-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                  b"DEL 1\r\n" % srv.port)
    check(out.startswith(b"HTTP/1.1 403"), "form post DEL 1 refused: %r" % out[:40])
    check(line_cmd(srv.port, "GET 1").startswith("DATA 1"), "task 1 survives the form post")


def test_cors():
    srv = Server("--http-cors", "https://app.example", "--http-host", "todo.lan")
    try:
        c = srv.conn()
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "via cors"},
                        headers={"Origin": "https://app.example"})
        check(r.status == 201 and r.getheader("Access-Control-Allow-Origin")
              == "https://app.example", "CORS origin allowed")
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "evil"},
                        headers={"Origin": "https://other.example"})
        check(r.status == 403, "other origin still 403")
        r, doc, _ = req(c, "GET", "/api/tasks", headers={"Host": "todo.lan:%d" % srv.port})
        check(r.status == 200, "--http-host name ok")
        c.close()
    finally:
        srv.stop()


class Events:
    """A raw Server-Sent Events reader."""

    def __init__(self, srv, path="/api/events", last=None, headers=None):
        self.s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        extra = b"Last-Event-ID: %d\r\n" % last if last is not None else b""
        for k, v in (headers or {}).items():
            extra += ("%s: %s\r\n" % (k, v)).encode()
        self.s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
                       + extra + b"\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)

    def event(self):
        """The next event with data, as a dict of its fields."""
        while True:
            while b"\n\n" not in self.buf:
                b = self.s.recv(65536)
                if not b:
                    return None
                self.buf += b
            frame, self.buf = self.buf.split(b"\n\n", 1)
            fields = {}
            for line in frame.decode().split("\n"):
                if line.startswith(":") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                fields[k] = v.strip()
            if "data" in fields:
                return fields

    def close(self):
        self.s.close()


def test_events(srv):
    ev = Events(srv, "/api/events?status=all")
    check(ev.head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in ev.head, "SSE head")
    check(line_cmd(srv.port, 'ADD "seen by sse" +sse').startswith("OK"), "line ADD for SSE")
    e1 = ev.event()
    check(e1 is not None and e1.get("event") == "change", "an event: %r" % e1)
    d1 = json.loads(e1["data"])
    check(d1["kind"] == "add" and d1["task"]["text"] == "seen by sse" and e1["id"] == d1["seq"],
          "add event with id: %r" % e1)
    line_cmd(srv.port, "DEL %s" % d1["id"])
    e2 = ev.event()
    d2 = json.loads(e2["data"])
    check(d2["kind"] == "del" and int(e2["id"]) > int(e1["id"]), "del event")
    ev.close()
    # Last-Event-ID: the events after it are replayed.
    ev = Events(srv, "/api/events", last=int(e1["id"]))
    e = ev.event()
    check(e is not None and e["id"] == e2["id"], "Last-Event-ID replay: %r" % e)
    ev.close()
    # A filter: events of other tags do not come.
    ev = Events(srv, "/api/events?status=all&tag=only")
    line_cmd(srv.port, 'ADD "not this" +other')
    line_cmd(srv.port, 'ADD "this" +only')
    e = ev.event()
    check(e is not None and json.loads(e["data"])["task"]["text"] == "this", "SSE filter")
    ev.close()
    out = srv.raw(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 1\r\n\r\n")
    check(b"event: reload" in out, "expired since: -> reload event: %r" % out[-80:])


def test_slow(srv_args):
    srv = Server(*srv_args, "--line-timeout", "1")
    try:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        s.sendall(b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\n")
        t0 = time.time()
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        s.close()
        check(out.startswith(b"HTTP/1.1 408") and time.time() - t0 < 15, "408: %r" % out[:60])
    finally:
        srv.stop()


def test_busy():
    srv = Server("--max-clients", "1")
    try:
        hold = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        hold.sendall(b"PING\r\n")
        hold.recv(100)
        out = srv.raw(b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 503"), "503 at --max-clients: %r" % out[:80])
        hold.close()
    finally:
        srv.stop()

def test_password():
    """With --password-file: 401 without it, Bearer and the login cookie
    let a request in, a wrong password is answered 401 and then 429 with
    Retry-After before its turn, and the line protocol's AUTH still works."""
    with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as f:
        f.write("s3cret-pw\n")
        pwfile = f.name
    srv = Server("--password-file", pwfile)
    try:
        c = srv.conn()
        r, doc, _ = req(c, "GET", "/api/session")
        check(r.status == 200 and doc == {"password": True, "users": False, "authed": False},
              "session before login: %r" % doc)
        r, doc, _ = req(c, "GET", "/api/tasks")
        check(r.status == 401 and doc["error"]["code"] == "AUTH"
              and r.getheader("WWW-Authenticate", "").startswith("Bearer"), "401 without a password: %r %r"
              % (r.status, doc))
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "sneaky"})
        check(r.status == 401, "POST refused without a password")
        # The tutorial's GET needs the password as its POST does: a 401, not
        # a 200 whose body is the line protocol's ERR AUTH.
        r, doc, _ = req(c, "GET", "/task_01/status", ctype=None)
        check(r.status == 401 and doc["error"]["code"] == "AUTH"
              and r.getheader("WWW-Authenticate", "").startswith("Bearer"),
              "tutorial GET without a password 401: %r %r" % (r.status, doc))
        r, doc, _ = req(c, "POST", "/task_09=x/status", ctype=None)
        check(r.status == 401, "tutorial POST without a password 401: %r" % r.status)
        r, _, data = req(c, "GET", "/", ctype=None)
        check(r.status == 200 and b"<!doctype html>" in data, "the page loads without a password")
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "with bearer"},
                        headers={"Authorization": "Bearer s3cret-pw"})
        check(r.status == 201 and doc["text"] == "with bearer", "Bearer lets a POST in: %r %r"
              % (r.status, doc))
        # A request is judged on its own: the Bearer above does not stick.
        r, doc, _ = req(c, "GET", "/api/tasks")
        check(r.status == 401, "a Bearer is not remembered by the connection")
        r, doc, _ = req(c, "POST", "/api/login", {"password": "s3cret-pw"})
        cookie = r.getheader("Set-Cookie", "")
        check(r.status == 200 and cookie.startswith("todo_session=") and "HttpOnly" in cookie
              and "SameSite=Strict" in cookie, "login sets the cookie: %r" % cookie)
        token = cookie.split(";", 1)[0]
        r, doc, _ = req(c, "GET", "/api/tasks", headers={"Cookie": "a=b; " + token})
        check(r.status == 200 and [t["text"] for t in doc] == ["with bearer"],
              "the cookie lets a GET in: %r" % doc)
        r, doc, _ = req(c, "GET", "/api/session", headers={"Cookie": token})
        check(doc == {"password": True, "users": False, "authed": True}, "session after login: %r" % doc)
        r, doc, _ = req(c, "GET", "/api/tasks", headers={"Cookie": token[:-1] + "0"
                                                         if token[-1] != "0" else token[:-1] + "1"})
        check(r.status == 401, "a wrong cookie is refused")
        c.close()
        # A wrong password: 401, then 429 with Retry-After before its turn, and the right
        # password before the turn is not looked at either.
        c = srv.conn()
        r, doc, _ = req(c, "POST", "/api/login", {"password": "guess"})
        check(r.status == 401 and not r.getheader("Set-Cookie"), "wrong password 401: %r"
              % r.status)
        r, doc, _ = req(c, "POST", "/api/login", {"password": "s3cret-pw"})
        check(r.status == 429 and int(r.getheader("Retry-After", "0")) >= 1,
              "429 with Retry-After after a wrong password: %r" % r.status)
        r, doc, _ = req(c, "GET", "/api/tasks", headers={"Authorization": "Bearer s3cret-pw"})
        check(r.status == 429, "a Bearer waits its turn too: %r" % r.status)
        c.close()
        time.sleep(int(r.getheader("Retry-After", "1")) + 0.2)
        c = srv.conn()
        r, doc, _ = req(c, "POST", "/api/login", {"password": "s3cret-pw"})
        check(r.status == 200, "after Retry-After the login works: %r" % r.status)
        c.close()
        out = line_cmd(srv.port, "AUTH s3cret-pw\r\nLIST")
        check(out.startswith("OK") and "with bearer" in out, "line AUTH: %r" % out)
    finally:
        srv.stop()
        os.unlink(pwfile)


def test_shared_lists():
    """list=NAME (docs/HTTP.md, Users): bob works in alice's list once she
    has shared it with him, and only then; carol, with nothing shared, is
    refused alike whether or not the list's user exists; a bad name is 400;
    a caller who is no user is refused; events of list=alice are alice's
    list's only, and the stream ends once the share is taken back."""
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "todo.db")
    for name in ("alice", "bob", "carol"):
        subprocess.run([SERVER, "user", "add", name, "--db", db], input="pw-" + name + "\n",
                       text=True, check=True, stdout=subprocess.DEVNULL)
    srv = Server("-d", db)
    try:
        c = srv.conn()
        ck = {}
        for name in ("alice", "bob", "carol"):
            r, doc, _ = req(c, "POST", "/api/login", {"user": name, "password": "pw-" + name})
            check(r.status == 200, "%s's login: %r %r" % (name, r.status, doc))
            ck[name] = {"Cookie": r.getheader("Set-Cookie", "").split(";", 1)[0]}
        alice, bob, carol = ck["alice"], ck["bob"], ck["carol"]
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "alice's first", "tags": ["hers"]},
                        headers=alice)
        check(r.status == 201 and doc["id"] == "1", "alice's task: %r %r" % (r.status, doc))
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "bob's own"}, headers=bob)
        check(r.status == 201 and doc["id"] == "1", "bob's task: %r %r" % (r.status, doc))
        # Before alice shares: bob is refused as carol is.
        r, doc, _ = req(c, "GET", "/api/tasks?list=alice", headers=bob)
        check(r.status == 403 and doc["error"]["code"] == "AUTH",
              "bob before the share: %r %r" % (r.status, doc))
        out = line_cmd(srv.port, "AUTH alice pw-alice\r\nSHARE bob")
        check(out.splitlines()[:2] == ["OK", "OK"], "alice SHAREs with bob: %r" % out)
        r, doc, _ = req(c, "GET", "/api/shares", headers=bob)
        check(r.status == 200 and doc == [{"list": "alice", "user": "bob"}],
              "bob's shares: %r %r" % (r.status, doc))
        # bob reads, lists, adds and edits in alice's list.
        r, doc, _ = req(c, "GET", "/api/tasks?list=alice&status=all", headers=bob)
        check(r.status == 200 and [t["text"] for t in doc] == ["alice's first"],
              "bob lists alice's tasks: %r %r" % (r.status, doc))
        r, doc, _ = req(c, "GET", "/api/tasks/1?list=alice", headers=bob)
        check(r.status == 200 and doc["text"] == "alice's first",
              "bob reads alice's task 1: %r %r" % (r.status, doc))
        r, doc, _ = req(c, "GET", "/api/tasks/1", headers=bob)
        check(r.status == 200 and doc["text"] == "bob's own", "without list=, bob's own: %r" % doc)
        events = Events(srv, "/api/events?list=alice&status=all", headers=bob)
        check(events.head.startswith(b"HTTP/1.1 200"), "bob's stream of alice's list: %r"
              % events.head)
        own = Events(srv, "/api/events?status=all", headers=bob)
        r, doc, _ = req(c, "POST", "/api/tasks?list=alice", {"text": "bob for alice"}, headers=bob)
        check(r.status == 201 and doc["id"] == "2"
              and r.getheader("Location") == "/api/tasks/2?list=alice",
              "bob adds to alice's list: %r %r %r" % (r.status, doc, r.getheader("Location")))
        r, doc, _ = req(c, "PATCH", "/api/tasks/2?list=alice", {"tags": ["shared"]}, headers=bob)
        check(r.status == 200 and doc["tags"] == ["shared"], "bob edits it: %r %r" % (r.status, doc))
        out = line_cmd(srv.port, "AUTH alice pw-alice\r\nLIST all")
        check(re.search(r"^2 pending .* shared .*\"bob for alice\"", out, re.M),
              "alice sees bob's task: %r" % out)
        r, doc, _ = req(c, "GET", "/api/tags?list=alice", headers=bob)
        check(r.status == 200 and sorted(t["tag"] for t in doc) == ["hers", "shared"],
              "alice's tags through bob: %r" % doc)
        r, doc, _ = req(c, "GET", "/api/stats?list=alice", headers=bob)
        check(r.status == 200 and doc.get("tasks") == 2, "alice's count through bob: %r" % doc)
        r, doc, _ = req(c, "GET", "/api/tasks?status=all", headers=bob)
        check([t["text"] for t in doc] == ["bob's own"], "bob's own list is untouched: %r" % doc)
        # bob's own change goes to his own stream, not to the one of alice's.
        r, doc, _ = req(c, "POST", "/api/tasks", {"text": "bob's second"}, headers=bob)
        line_cmd(srv.port, 'AUTH carol pw-carol\r\nADD "carol\'s"')
        line_cmd(srv.port, 'AUTH alice pw-alice\r\nADD "alice by line"')
        texts = []
        for _ in range(3):
            e = events.event()
            if e is None:
                break
            texts.append(json.loads(e["data"])["task"]["text"])
        check(texts == ["bob for alice", "bob for alice", "alice by line"],
              "list=alice's events are alice's list's only: %r" % texts)
        e = own.event()
        check(e is not None and json.loads(e["data"])["task"]["text"] == "bob's second",
              "bob's own stream has his own change: %r" % e)
        own.close()
        # carol: the same refusal for alice's list as for a list of nobody.
        r1, d1, b1 = req(c, "GET", "/api/tasks?list=alice", headers=carol)
        r2, d2, b2 = req(c, "GET", "/api/tasks?list=nobody", headers=carol)
        check(r1.status == 403 and r2.status == 403 and d1["error"]["code"] == "AUTH"
              and "not shared" in d1["error"]["message"],
              "carol refused: %r %r / %r %r" % (r1.status, d1, r2.status, d2))
        check(b1.replace(b"alice", b"nobody") == b2,
              "the same body whether or not the user exists: %r %r" % (b1, b2))
        for m, p, body in (("GET", "/api/tasks/1", None), ("PATCH", "/api/tasks/1", {"text": "x"}),
                           ("DELETE", "/api/tasks/1", None), ("POST", "/api/tasks", {"text": "x"}),
                           ("POST", "/api/undo", None), ("GET", "/api/tags", None)):
            r, doc, _ = req(c, m, p + "?list=alice", body, headers=carol,
                            ctype="application/json" if body is not None else None)
            check(r.status == 403, "carol %s %s?list=alice: %r %r" % (m, p, r.status, doc))
        out = srv.raw(("GET /api/events?list=alice HTTP/1.1\r\nHost: localhost\r\n"
                       "Cookie: %s\r\nConnection: close\r\n\r\n" % carol["Cookie"]).encode())
        check(out.startswith(b"HTTP/1.1 403"), "carol's stream of alice's list: %r" % out[:80])
        # Bad names: 400, before any command runs.
        for q in ("list=a%20b", "list=", "list=-x", "list=%2Fetc", "list=" + "x" * 65,
                  "list=alice&list=bob"):
            r, doc, _ = req(c, "GET", "/api/tasks?" + q, headers=bob)
            check(r.status == 400 and doc["error"]["code"] == "ARGS", "%s: %r %r"
                  % (q, r.status, doc))
        # alice takes it back: bob's requests are refused, and his stream ends.
        out = line_cmd(srv.port, "AUTH alice pw-alice\r\nUNSHARE bob")
        check(out.splitlines()[:2] == ["OK", "OK"], "alice UNSHAREs: %r" % out)
        line_cmd(srv.port, 'AUTH alice pw-alice\r\nADD "after the unshare"')
        e = events.event()
        check(e is not None and e.get("event") == "reload"
              and json.loads(e["data"]) == {"kind": "unshared"},
              "the stream is told, and ends: %r" % e)
        check(events.event() is None, "nothing after it")
        events.close()
        r, doc, _ = req(c, "GET", "/api/tasks?list=alice", headers=bob)
        check(r.status == 403 and doc["error"]["code"] == "AUTH",
              "bob after the unshare: %r %r" % (r.status, doc))
        r, doc, _ = req(c, "POST", "/api/tasks?list=alice", {"text": "too late"}, headers=bob)
        check(r.status == 403, "no add after the unshare: %r" % r.status)
        r, doc, _ = req(c, "GET", "/api/tasks?list=bob", headers=bob)
        check(r.status == 200 and len(doc) == 2, "list= of one's own list: %r %r"
              % (r.status, doc))
        c.close()
    finally:
        srv.stop()
        shutil.rmtree(tmp)
    # Without a user (a server without accounts): list= is refused, clearly.
    srv = Server()
    try:
        c = srv.conn()
        r, doc, _ = req(c, "GET", "/api/tasks?list=alice")
        check(r.status == 403 and doc["error"]["code"] == "AUTH"
              and "for users" in doc["error"]["message"], "list= without a user: %r %r"
              % (r.status, doc))
        r, doc, _ = req(c, "GET", "/api/shares")
        check(r.status == 403 and "for users" in doc["error"]["message"],
              "/api/shares without a user: %r %r" % (r.status, doc))
        c.close()
    finally:
        srv.stop()


def main():
    srv = Server("--demo")
    try:
        check(line_cmd(srv.port, 'ADD "task one"').startswith("OK 1"), "line ADD")
        test_api(srv)
        test_tutorial(srv)
        test_wire(srv)
        test_security(srv)
        test_events(srv)
    finally:
        srv.stop()
    test_slow(["--demo"])
    test_busy()
    test_cors()
    test_password()
    test_shared_lists()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("all HTTP checks passed")


if __name__ == "__main__":
    main()
