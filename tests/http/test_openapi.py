#!/usr/bin/env python3
"""docs/openapi.json against a real todo-server, both ways, so that the file
cannot drift from the server:

- for every path and method in the file, real requests (the success and the
  errors that can be made on demand); each answer's status must be one the
  file lists for that operation, its body must validate against the file's
  schema for that status (jsonschema, draft 2020-12, which OpenAPI 3.1
  uses), and the headers the file marks required must be there and match;
  every operation must have been answered with a success status at least
  once;
- every route the server has (the paths server/http-front.c routes, the
  page's files server/CMakeLists.txt embeds, the tutorial's GET/POST) must
  be a path of the file, and every method the file does not list for a path
  must be refused (404 or 405), never served.

Usage: test_openapi.py PATH-TO-todo-server SOURCE-DIR"""
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

try:
    import jsonschema
except ImportError:
    # scripts/deps installs Debian's python3-jsonschema; without it this
    # test cannot check anything, which must not pass for a success.
    raise SystemExit("test_openapi: needs python3-jsonschema (scripts/deps installs it)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http  # noqa: E402  (the same real server the other test starts)
from test_http import Server  # noqa: E402

SOURCE = sys.argv[2]
SPEC = json.load(open(os.path.join(SOURCE, "docs", "openapi.json")))
METHODS = ["get", "head", "post", "put", "patch", "delete", "options"]
failures = []
answered = {}  # (path template, method) -> set of statuses seen


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def validate(schema, instance, what):
    """instance against schema, whose $refs point into the file's components."""
    root = dict(schema)
    root["components"] = SPEC["components"]
    errors = list(jsonschema.Draft202012Validator(root).iter_errors(instance))
    for e in errors[:3]:
        check(False, "%s: %s at %s" % (what, e.message, list(e.absolute_path)))
    return not errors


def deref(obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = SPEC
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def template_of(path):
    """The file's path template that a concrete path matches."""
    plain = path.split("?", 1)[0]
    for t in SPEC["paths"]:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"
        if re.match(rx, plain):
            # A concrete path beats a template (/app.js is not /{key}/{field}).
            if t == plain or "{" in t:
                return t
    return None


def call(srv, method, path, body=None, ctype="application/json", headers=None, expect=None):
    """One real request, checked against the file; returns (status, headers, body)."""
    h = {"Host": "127.0.0.1:%d" % srv.port}
    h.update(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if body is not None and ctype is not None:
        h["Content-Type"] = ctype
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    what = "%s %s -> %d" % (method, path, r.status)
    if expect is not None:
        check(r.status == expect, "%s: expected %d (%r)" % (what, expect, data[:200]))
    t = template_of(path)
    op = SPEC["paths"].get(t, {}).get(method.lower()) if t else None
    if op is None:
        check(False, "%s: the file has no %s %s" % (what, method, t or path))
        return r.status, r, data
    answered.setdefault((t, method.lower()), set()).add(r.status)
    resp = op["responses"].get(str(r.status))
    if resp is None:
        check(False, "%s: status not in the file for %s %s (%s)" % (what, method, t,
                                                                     sorted(op["responses"])))
        return r.status, r, data
    resp = deref(resp)
    for name, hdr in resp.get("headers", {}).items():
        hdr = deref(hdr)
        v = r.getheader(name)
        if hdr.get("required"):
            check(v is not None, "%s: no %s header" % (what, name))
        if v is not None and "schema" in hdr:
            validate(hdr["schema"], v, "%s: header %s %r" % (what, name, v))
    content = resp.get("content")
    got = (r.getheader("Content-Type") or "").split(";")[0].strip()
    if method == "HEAD" or not content:
        check(data == b"", "%s: a body where the file has none: %r" % (what, data[:80]))
        if content and method == "HEAD":
            check(got in content, "%s: Content-Type %r not in %s" % (what, got, list(content)))
        return r.status, r, data
    check(got in content, "%s: Content-Type %r not in %s" % (what, got, list(content)))
    if got == "application/json" and got in content:
        try:
            doc = json.loads(data)
        except ValueError:
            check(False, "%s: not JSON: %r" % (what, data[:80]))
            return r.status, r, data
        validate(content[got]["schema"], doc, what)
        if path.startswith("/api/"):
            check(r.getheader("Cache-Control") == "no-store", "%s: Cache-Control" % what)
        return r.status, r, doc
    return r.status, r, data


def events(srv, path="/api/events?status=all", headers=b""):
    """A raw event stream: (socket, head, rest of the bytes read)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head, rest


def next_event(s, buf):
    """The next event with data: (fields, rest)."""
    while True:
        while b"\n\n" not in buf:
            b = s.recv(65536)
            if not b:
                return None, buf
            buf += b
        frame, buf = buf.split(b"\n\n", 1)
        fields = {}
        for line in frame.decode().split("\n"):
            if line and not line.startswith(":") and ":" in line:
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        if "data" in fields:
            return fields, buf


def test_events(srv):
    sse = SPEC["paths"]["/api/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    s, head, buf = events(srv)
    check(head.startswith(b"HTTP/1.1 200") and b"Content-Type: text/event-stream" in head,
          "SSE head: %r" % head)
    answered.setdefault(("/api/events", "get"), set()).add(int(head.split()[1]))
    st, _, t = call(srv, "POST", "/api/tasks", {"text": "seen live", "tags": ["live"]}, expect=201)
    tid = t["id"]
    call(srv, "PATCH", "/api/tasks/" + tid, {"priority": "low"}, expect=200)
    call(srv, "POST", "/api/tasks/%s/done" % tid, ctype=None, expect=200)
    call(srv, "POST", "/api/tasks/%s/undone" % tid, ctype=None, expect=200)
    call(srv, "DELETE", "/api/tasks/" + tid, ctype=None, expect=200)
    kinds = []
    for _ in range(5):
        ev, buf = next_event(s, buf)
        if ev is None:
            break
        check(ev.get("event") == "change", "event: change: %r" % ev)
        doc = json.loads(ev["data"])
        validate(sse["x-events"]["change"], doc, "change event %r" % doc)
        check(ev.get("id") == doc.get("seq"), "id: is the seq: %r" % ev)
        kinds.append(doc["kind"])
    s.close()
    check(kinds == ["add", "edit", "done", "undone", "del"], "the five kinds: %r" % kinds)
    # An id the server no longer holds: one reload event, as the file says.
    s, head, buf = events(srv, "/api/events", b"Last-Event-ID: 1\r\n")
    ev, buf = next_event(s, buf)
    s.close()
    check(ev is not None and ev.get("event") == "reload", "reload event: %r" % ev)
    if ev is not None:
        validate(sse["x-events"]["reload"], json.loads(ev["data"]), "reload event")
    call(srv, "GET", "/api/events?q=words", expect=400)
    call(srv, "GET", "/api/events?status=later", expect=400)


def test_open(srv):
    """Every operation of a server without a password."""
    call(srv, "GET", "/api/tasks", expect=200)
    call(srv, "GET", "/api/tasks?status=all&tag=home&tag=shopping&q=milk", expect=200)
    call(srv, "HEAD", "/api/tasks", expect=200)
    call(srv, "GET", "/api/tasks?status=later", expect=400)
    call(srv, "GET", "/api/tasks?colour=red", expect=400)
    call(srv, "GET", "/api/tasks", headers={"Host": "evil.example"}, expect=403)
    _, r, t = call(srv, "POST", "/api/tasks", {"text": "buy oat milk", "tags": ["home", "shopping"],
                                              "due": "2026-12-24", "priority": "high"}, expect=201)
    tid = t["id"]
    check(r.getheader("Location") == "/api/tasks/" + tid, "Location names the task")
    call(srv, "POST", "/api/tasks", {"text": "due word", "due": "fri", "priority": None}, expect=201)
    call(srv, "POST", "/api/tasks", {}, expect=400)
    call(srv, "POST", "/api/tasks", {"text": "x", "tags": ["bad tag"]}, expect=400)
    call(srv, "POST", "/api/tasks", "{not json", expect=400)
    call(srv, "POST", "/api/tasks", {"text": "buy milk"}, ctype="text/plain", expect=415)
    call(srv, "POST", "/api/tasks", {"text": "x" * 5000}, expect=413)
    call(srv, "POST", "/api/tasks", {"text": "from evil"}, headers={"Origin": "http://evil.example"},
         expect=403)
    call(srv, "GET", "/api/tasks/" + tid, expect=200)
    call(srv, "HEAD", "/api/tasks/" + tid, expect=200)
    call(srv, "GET", "/api/tasks/nope9", expect=404)
    call(srv, "GET", "/api/tasks/bad!id", expect=404)
    call(srv, "PATCH", "/api/tasks/" + tid, {"text": "buy soy milk", "tags": ["errand"],
                                            "due": None, "priority": "low"}, expect=200)
    call(srv, "PATCH", "/api/tasks/" + tid, {}, expect=400)
    call(srv, "PATCH", "/api/tasks/" + tid, {"priority": "urgent"}, expect=400)
    call(srv, "PATCH", "/api/tasks/" + tid, {"text": "y"}, ctype="text/plain", expect=415)
    call(srv, "PATCH", "/api/tasks/nope9", {"text": "y"}, expect=404)
    for word in ("done", "undone"):
        call(srv, "POST", "/api/tasks/%s/%s" % (tid, word), ctype=None, expect=200)
        call(srv, "POST", "/api/tasks/%s/%s" % (tid, word), {}, expect=200)
        call(srv, "POST", "/api/tasks/nope9/" + word, ctype=None, expect=404)
        call(srv, "POST", "/api/tasks/%s/%s" % (tid, word), "DEL 1\r\n", ctype="text/plain",
             expect=415)
        call(srv, "POST", "/api/tasks/%s/%s" % (tid, word), "[1]", expect=400)
    call(srv, "DELETE", "/api/tasks/" + tid, ctype=None, expect=200)
    call(srv, "DELETE", "/api/tasks/" + tid, ctype=None, expect=404)
    call(srv, "DELETE", "/api/tasks/task_01", "DEL 1", ctype="text/plain", expect=415)
    call(srv, "DELETE", "/api/tasks/task_01", ctype=None,
         headers={"Sec-Fetch-Site": "cross-site"}, expect=403)
    call(srv, "POST", "/api/undo", ctype=None, expect=200)
    call(srv, "POST", "/api/undo", "x", ctype="text/plain", expect=415)
    for _ in range(200):
        st, _, _ = call(srv, "POST", "/api/undo", ctype=None)
        if st != 200:
            break
    check(st == 404, "undo until nothing is left: 404, not %d" % st)
    for p in ("/api/tags", "/api/stats", "/api/session"):
        call(srv, "GET", p, expect=200)
        call(srv, "HEAD", p, expect=200)
    call(srv, "GET", "/api/stats", headers={"Host": "evil.example"}, expect=403)
    # list= and /api/shares are a user's: this server has none.
    call(srv, "GET", "/api/tasks?list=alice", expect=403)
    call(srv, "GET", "/api/tasks?list=a%20b", expect=400)
    call(srv, "GET", "/api/shares", expect=403)
    call(srv, "POST", "/api/shares", {"user": "bob"}, expect=403)
    call(srv, "POST", "/api/login", {"password": "x"}, expect=401)  # no password on this server
    call(srv, "POST", "/api/login", {"pass": "x"}, expect=400)
    call(srv, "POST", "/api/login", "x", ctype="text/plain", expect=415)
    for p in ("/", "/app.js", "/words.js", "/style.css"):
        call(srv, "GET", p, expect=200)
        call(srv, "HEAD", p, expect=200)
    _, _, data = call(srv, "GET", "/task_02/status", ctype=None, expect=200)
    check(data.strip() == b"read book", "tutorial GET: %r" % data)
    _, r, _ = call(srv, "HEAD", "/task_02/status", ctype=None, expect=200)
    check(r.getheader("Content-Length") == str(len(data)), "tutorial HEAD: GET's length")
    _, _, data = call(srv, "POST", "/task_04=buy%20milk/status", ctype=None, expect=200)
    check(data.strip() == b"submit success", "tutorial POST: %r" % data)
    call(srv, "GET", "/a%20b/status", ctype=None, expect=404)
    call(srv, "POST", "/task_09/status", ctype=None, expect=404)
    for p in SPEC["paths"]:
        concrete = concrete_path(p)
        _, r, _ = call(srv, "OPTIONS", concrete, ctype=None, expect=204)
    test_events(srv)


def concrete_path(p):
    """A path of the file's with its templates filled in."""
    return (p.replace("{id}", "task_01").replace("{key}", "task_01").replace("{field}", "status")
            .replace("{user}", "bob"))


def test_users(source_server):
    """list= and /api/shares, on a server with users (alice shares her list
    with bob; carol has nothing shared with her), and refused without one."""
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "todo.db")
    for name in ("alice", "bob", "carol"):
        subprocess.run([source_server, "user", "add", name, "--db", db], input="pw-" + name + "\n",
                       text=True, check=True, stdout=subprocess.DEVNULL)
    srv = Server("-d", db)
    try:
        cookies = {}
        for name in ("alice", "bob", "carol"):
            _, r, _ = call(srv, "POST", "/api/login", {"user": name, "password": "pw-" + name},
                           expect=200)
            cookies[name] = {"Cookie": (r.getheader("Set-Cookie") or "").split(";", 1)[0]}
        a, b, c = cookies["alice"], cookies["bob"], cookies["carol"]
        _, _, doc = call(srv, "GET", "/api/session", headers=b, expect=200)
        check(doc == {"password": True, "users": True, "authed": True, "user": "bob"},
              "a user's session names the user: %r" % doc)
        call(srv, "GET", "/api/shares", headers=a, expect=200)
        call(srv, "POST", "/api/shares", {"user": "bob"}, headers=a, expect=200)
        call(srv, "POST", "/api/shares", {"user": "nobody"}, headers=a, expect=404)
        call(srv, "POST", "/api/shares", {"user": "a b"}, headers=a, expect=400)
        call(srv, "POST", "/api/shares", {"user": "bob"}, ctype="text/plain", headers=a, expect=415)
        call(srv, "POST", "/api/shares", {"user": "bob"}, expect=401)
        _, _, doc = call(srv, "GET", "/api/shares", headers=b, expect=200)
        check(doc == [{"list": "alice", "user": "bob"}], "bob's shares: %r" % doc)
        call(srv, "HEAD", "/api/shares", headers=b, expect=200)
        call(srv, "GET", "/api/shares", expect=401)
        _, r, t = call(srv, "POST", "/api/tasks?list=alice", {"text": "bob in alice's"}, headers=b,
                       expect=201)
        check(r.getheader("Location") == "/api/tasks/%s?list=alice" % t["id"],
              "Location in the list: %r" % r.getheader("Location"))
        tid = t["id"]
        for m, p in (("GET", "/api/tasks"), ("HEAD", "/api/tasks"), ("GET", "/api/tasks/" + tid),
                     ("HEAD", "/api/tasks/" + tid), ("GET", "/api/tags"), ("HEAD", "/api/tags"),
                     ("GET", "/api/stats"), ("HEAD", "/api/stats")):
            call(srv, m, p + "?list=alice", headers=b, expect=200)
            call(srv, m, p + "?list=alice", headers=c, expect=403)
            call(srv, m, p + "?list=nobody", headers=c, expect=403)
            call(srv, m, p + "?list=a%20b", headers=b, expect=400)
        call(srv, "PATCH", "/api/tasks/%s?list=alice" % tid, {"priority": "low"}, headers=b,
             expect=200)
        call(srv, "PATCH", "/api/tasks/%s?list=alice" % tid, {"priority": "low"}, headers=c,
             expect=403)
        for word in ("done", "undone"):
            call(srv, "POST", "/api/tasks/%s/%s?list=alice" % (tid, word), ctype=None, headers=b,
                 expect=200)
            call(srv, "POST", "/api/tasks/%s/%s?list=alice" % (tid, word), ctype=None, headers=c,
                 expect=403)
        call(srv, "DELETE", "/api/tasks/%s?list=alice" % tid, ctype=None, headers=c, expect=403)
        call(srv, "DELETE", "/api/tasks/%s?list=alice" % tid, ctype=None, headers=b, expect=200)
        call(srv, "POST", "/api/undo?list=alice", ctype=None, headers=c, expect=403)
        call(srv, "POST", "/api/undo?list=alice", ctype=None, headers=b, expect=200)
        call(srv, "GET", "/api/events?list=a%20b", headers=b, expect=400)
        call(srv, "GET", "/api/events?list=alice", headers=c, expect=403)
        s, head, buf = events(srv, "/api/events?list=alice",
                              ("Cookie: %s\r\n" % b["Cookie"]).encode())
        check(head.startswith(b"HTTP/1.1 200"), "bob's stream of alice's list: %r" % head)
        call(srv, "DELETE", "/api/shares/bob", ctype=None, headers=a, expect=200)
        call(srv, "DELETE", "/api/shares/bob", ctype=None, headers=a, expect=404)
        call(srv, "DELETE", "/api/shares/a%20b", ctype=None, headers=a, expect=404)
        call(srv, "POST", "/api/tasks", {"text": "after the unshare"}, headers=a, expect=201)
        ev, buf = next_event(s, buf)
        s.close()
        sse = SPEC["paths"]["/api/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
        check(ev is not None and ev.get("event") == "reload", "unshared: reload event: %r" % ev)
        if ev is not None:
            doc = json.loads(ev["data"])
            validate(sse["x-events"]["reload"], doc, "unshared reload event")
            check(doc == {"kind": "unshared"}, "the reload says why: %r" % doc)
        call(srv, "GET", "/api/tasks?list=alice", headers=b, expect=403)
    finally:
        srv.stop()
        shutil.rmtree(tmp)


def test_password(srv, pw):
    call(srv, "GET", "/api/session", expect=200)
    _, r, _ = call(srv, "GET", "/api/tasks", expect=401)
    for p in ("/api/tasks/task_01", "/api/tags", "/api/stats", "/api/events", "/task_01/status"):
        call(srv, "GET", p, ctype=None, expect=401)
    for m, p in (("POST", "/api/tasks/task_01/done"), ("POST", "/api/tasks/task_01/undone"),
                 ("DELETE", "/api/tasks/task_01"), ("POST", "/api/undo"),
                 ("POST", "/task_05=x/status")):
        call(srv, m, p, ctype=None, expect=401)
    call(srv, "POST", "/api/tasks", {"text": "sneaky"}, expect=401)
    call(srv, "PATCH", "/api/tasks/task_01", {"text": "sneaky"}, expect=401)
    call(srv, "GET", "/", expect=200)
    _, r, _ = call(srv, "POST", "/api/login", {"password": pw}, expect=200)
    token = (r.getheader("Set-Cookie") or "").split(";", 1)[0]
    _, _, doc = call(srv, "GET", "/api/session", headers={"Cookie": token}, expect=200)
    check(doc == {"password": True, "users": False, "authed": True}, "session with the cookie: %r" % doc)
    call(srv, "GET", "/api/tasks", headers={"Cookie": token}, expect=200)
    call(srv, "GET", "/api/tasks", headers={"Authorization": "Bearer " + pw}, expect=200)
    call(srv, "POST", "/api/login", {"password": "guess"}, expect=401)
    _, r, _ = call(srv, "POST", "/api/login", {"password": pw}, expect=429)


def test_busy():
    srv = Server("--max-clients", "1")
    try:
        hold = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        hold.sendall(b"PING\r\n")
        hold.recv(100)
        call(srv, "GET", "/api/tasks", expect=503)
        hold.close()
    finally:
        srv.stop()


def routes_of_server():
    """The paths the server routes, read from its sources."""
    front = open(os.path.join(SOURCE, "server", "http-front.c")).read()
    paths = {"/api/" + p for p in re.findall(r'path_is\(sub, "([a-z]+)"\)', front)}
    if '"tasks/"' in front:
        paths.add("/api/tasks/{id}")
    if '"shares/"' in front:
        paths.add("/api/shares/{user}")
    paths |= {"/api/tasks/{id}" + t for t in re.findall(r'path_is\(tail, "(/[a-z]+)"\)', front)}
    if "HTTP_R_LEGACY" in front:
        paths.add("/{key}/{field}")
    cm = open(os.path.join(SOURCE, "server", "CMakeLists.txt")).read()
    files = re.search(r"set\(TODO_WEB_FILES ([^)]*)\)", cm).group(1).split()
    paths |= {"/" if f == "index.html" else "/" + f for f in files}
    return paths


def test_coverage(srv):
    server_paths = routes_of_server()
    check(len(server_paths) >= 14, "the routes read from the sources: %r" % sorted(server_paths))
    for p in sorted(server_paths - set(SPEC["paths"])):
        check(False, "the server routes %s, which docs/openapi.json does not describe" % p)
    for p in sorted(set(SPEC["paths"]) - server_paths):
        check(False, "docs/openapi.json describes %s, which the server does not route" % p)
    # Methods the file does not list are refused by the server.
    for p, item in SPEC["paths"].items():
        concrete = concrete_path(p)
        for m in METHODS:
            if m in item:
                continue
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
            c.request(m.upper(), concrete, headers={"Host": "localhost"})
            r = c.getresponse()
            data = r.read()
            c.close()
            check(r.status in (404, 405), "%s %s, not in the file, answered %d"
                  % (m.upper(), concrete, r.status))
            if r.status != 405:
                continue
            # The 405 as the file has it, and its Allow: under /api/ exactly the
            # path's methods in the file; elsewhere (the page's files and the
            # tutorial share one route) at least those.
            if m != "head":
                validate(deref(SPEC["components"]["responses"]["MethodNotAllowed"])
                         ["content"]["application/json"]["schema"], json.loads(data),
                         "%s %s 405" % (m.upper(), concrete))
            allow = {w.strip().lower() for w in (r.getheader("Allow") or "").split(",")}
            listed = {k for k in item if k in METHODS}
            check(allow == listed if p.startswith("/api/") else allow >= listed,
                  "%s %s: Allow %r, the file %r" % (m.upper(), concrete, r.getheader("Allow"),
                                                    sorted(listed)))


def test_answered():
    """Every operation was answered, once at least with a success status."""
    for p, item in SPEC["paths"].items():
        for m in METHODS:
            if m not in item:
                continue
            seen = answered.get((p, m), set())
            check(any(200 <= s < 300 for s in seen), "%s %s: no success answered (saw %s)"
                  % (m.upper(), p, sorted(seen)))


def main():
    jsonschema.Draft202012Validator.check_schema({"$defs": SPEC["components"]["schemas"]})
    check(SPEC["openapi"].startswith("3.1"), "OpenAPI 3.1")
    srv = Server("--demo", "--max-line", "4096")
    try:
        test_open(srv)
        test_coverage(srv)
    finally:
        srv.stop()
    with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as f:
        f.write("open-sesame\n")
        pwfile = f.name
    srv = Server("--demo", "--password-file", pwfile)
    try:
        test_password(srv, "open-sesame")
    finally:
        srv.stop()
        os.unlink(pwfile)
    test_busy()
    test_users(sys.argv[1])
    test_answered()
    ops = sum(1 for item in SPEC["paths"].values() for m in METHODS if m in item)
    failures.extend(test_http.failures)  # the servers' exits (Server.stop)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("docs/openapi.json: %d paths, %d operations, %d (operation, status) pairs answered; "
          "all agree with the server" % (len(SPEC["paths"]), ops,
                                         sum(len(v) for v in answered.values())))


if __name__ == "__main__":
    main()
