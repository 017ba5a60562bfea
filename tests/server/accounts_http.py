"""Logging in as a user over HTTP (issue 18): POST /api/login with a user
and a password on a real todo-server whose database got its users from
"todo-server user add". Usage: accounts_http.py PATH-TO-todo-server"""
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


def start(db, *args):
    p = subprocess.Popen([SERVER, "-b", "127.0.0.1", "-p", "0", "-d", db, "-t", THREADS, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = p.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            return p, int(m.group(1))
        if not line:
            break
    raise SystemExit("the server did not start")


def req(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    h = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    doc = json.loads(data) if r.getheader("Content-Type", "").startswith("application/json") and data else None
    return r, doc


def sse_open(port, cookie):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n" % cookie)
              .encode())
    return s


def sse_read(s, seconds):
    """What the stream sent within seconds."""
    out = b""
    end = time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    s.close()
    return out.decode("utf-8", "replace")


def main():
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "todo.db")
    for name, pw in (("alice", "alice's pw"), ("bob", "bob pw")):
        subprocess.run([SERVER, "user", "add", name, "--db", db], input=pw + "\n", text=True,
                       check=True, stdout=subprocess.DEVNULL)
    p, port = start(db)
    try:
        r, doc = req(port, "GET", "/api/session")
        check(r.status == 200 and doc == {"password": True, "users": True, "authed": False},
              "a server with users asks for a login: %r" % doc)
        r, doc = req(port, "GET", "/api/tasks")
        check(r.status == 401, "no login, no tasks: %r" % r.status)
        # The shared password it does not have, as a Bearer or a login: refused.
        r, doc = req(port, "GET", "/api/tasks", headers={"Authorization": "Bearer alice's pw"})
        check(r.status == 401, "a Bearer is no user's login: %r" % r.status)
        time.sleep(0.3)
        r, doc = req(port, "POST", "/api/login", {"password": "alice's pw"})
        check(r.status == 401 and not r.getheader("Set-Cookie"),
              "a login without a user: %r %r" % (r.status, doc))
        time.sleep(0.5)
        # A wrong password for alice: 401, no cookie.
        r, doc = req(port, "POST", "/api/login", {"user": "alice", "password": "guess"})
        check(r.status == 401 and not r.getheader("Set-Cookie")
              and doc["error"]["message"] == "wrong user or password",
              "a wrong password: %r %r" % (r.status, doc))
        # A name that is no name: 400.
        time.sleep(1.0)
        r, doc = req(port, "POST", "/api/login", {"user": "a b", "password": "x"})
        check(r.status == 400, "a bad name: %r %r" % (r.status, doc))
        r, doc = req(port, "POST", "/api/login", {"user": 7, "password": "x"})
        check(r.status == 400, "a user that is no string: %r" % r.status)
        # bob, right: the cookie lets requests in.
        time.sleep(1.0)
        r, doc = req(port, "POST", "/api/login", {"user": "bob", "password": "bob pw"})
        cookie = r.getheader("Set-Cookie", "")
        check(r.status == 200 and cookie.startswith("todo_session=") and "HttpOnly" in cookie,
              "bob's login sets the cookie: %r %r %r" % (r.status, doc, cookie))
        token = cookie.split(";", 1)[0]
        r, doc = req(port, "POST", "/api/tasks", {"text": "from bob's browser"},
                     headers={"Cookie": token})
        check(r.status == 201, "the cookie lets a POST in: %r %r" % (r.status, doc))
        r, doc = req(port, "GET", "/api/session", headers={"Cookie": token})
        check(doc == {"password": True, "users": True, "authed": True, "user": "bob"},
              "session after login names the user: %r" % doc)
        # alice, in another browser: her own list, her own ids, and nothing
        # of bob's by any path; her cookie is hers alone.
        time.sleep(1.0)
        r, doc = req(port, "POST", "/api/login", {"user": "alice", "password": "alice's pw"})
        check(r.status == 200, "alice's login: %r %r" % (r.status, doc))
        atoken = r.getheader("Set-Cookie", "").split(";", 1)[0]
        check(atoken != token and atoken.startswith("todo_session=alice:"),
              "each user's cookie is their own: %r %r" % (atoken, token))
        events = sse_open(port, token)
        r, doc = req(port, "GET", "/api/tasks", headers={"Cookie": atoken})
        check(r.status == 200 and doc == [], "alice's list is empty: %r" % doc)
        r, doc = req(port, "GET", "/api/tasks/1", headers={"Cookie": atoken})
        check(r.status == 404, "bob's task 1 is not alice's: %r %r" % (r.status, doc))
        for method, path, body in (("PATCH", "/api/tasks/1", {"text": "alice was here"}),
                                   ("POST", "/api/tasks/1/done", None),
                                   ("DELETE", "/api/tasks/1", None)):
            r, doc = req(port, method, path, body, headers={"Cookie": atoken})
            check(r.status == 404, "%s %s as alice: %r %r" % (method, path, r.status, doc))
        r, doc = req(port, "GET", "/task_01/status", headers={"Cookie": atoken})
        check(r.status == 200, "the tutorial's GET as alice: %r" % r.status)
        r, doc = req(port, "POST", "/api/tasks", {"text": "alice's own"}, headers={"Cookie": atoken})
        check(r.status == 201 and doc["id"] == "1", "alice's first id is 1: %r %r" % (r.status, doc))
        r, doc = req(port, "GET", "/api/tasks/1", headers={"Cookie": token})
        check(r.status == 200 and doc["text"] == "from bob's browser" and doc["status"] == "pending",
              "bob's task 1 is as he left it: %r" % doc)
        r, doc = req(port, "POST", "/api/tasks", {"text": "bob's second"}, headers={"Cookie": token})
        check(r.status == 201 and doc["id"] == "2", "bob's second: %r %r" % (r.status, doc))
        got = sse_read(events, 1.5)
        check("bob's second" in got and "alice" not in got,
              "bob's event stream has his change only: %r" % got)
        r, doc = req(port, "POST", "/api/tasks", {"text": "alice's tagged", "tags": ["hers"]},
                     headers={"Cookie": atoken})
        check(r.status == 201, "alice's tagged task: %r %r" % (r.status, doc))
        r, doc = req(port, "GET", "/api/tags", headers={"Cookie": token})
        check(r.status == 200 and all(t["tag"] != "hers" for t in doc),
              "bob's tags leave out alice's: %r" % doc)
        r, doc = req(port, "GET", "/api/stats", headers={"Cookie": token})
        check(r.status == 200 and doc.get("tasks") == 2, "bob's stats count his 2 tasks: %r" % doc)
        r, doc = req(port, "POST", "/api/undo", headers={"Cookie": token})
        check(r.status == 200 and doc["id"] == "2" and doc["outcome"] == "undid add",
              "bob's undo takes back his own last add: %r %r" % (r.status, doc))
        r, doc = req(port, "GET", "/api/tasks?status=all", headers={"Cookie": atoken})
        check(r.status == 200 and sorted(t["text"] for t in doc) == ["alice's own", "alice's tagged"],
              "alice's tasks are as she left them: %r" % doc)
        # A cookie made up for alice from bob's MAC is no login.
        forged = "todo_session=alice:" + token.split(":", 1)[1]
        r, doc = req(port, "GET", "/api/tasks", headers={"Cookie": forged})
        check(r.status == 401, "a forged cookie: %r" % r.status)
    finally:
        p.terminate()
        p.wait()
    # A locked account gets no cookie.
    subprocess.run([SERVER, "user", "lock", "bob", "--db", db], check=True,
                   stdout=subprocess.DEVNULL)
    p, port = start(db)
    try:
        r, doc = req(port, "POST", "/api/login", {"user": "bob", "password": "bob pw"})
        check(r.status == 401 and not r.getheader("Set-Cookie")
              and "locked" in doc["error"]["message"], "a locked account: %r %r" % (r.status, doc))
    finally:
        p.terminate()
        p.wait()
    shutil.rmtree(tmp)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


main()
