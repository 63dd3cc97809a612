"""A small app that logs users in and runs jobs, written with the Python
standard library only (http.server), for rtbench's scenario tests: a server
rtbench's own mock did not write.

  POST /login          {"user":U,"password":"secret"} -> {"token":T,"user":U}; 401 otherwise
  POST /api/jobs       Authorization: Bearer T; ?ms=N (default 300) -> 202,
                       Location: /api/jobs/ID, {"job_id":ID,"status":"queued"}
  GET  /api/jobs/ID    Authorization: Bearer T -> {"job_id":ID,"status":"running"|"done",
                       "created_at":epoch seconds,"finished_at":epoch seconds|null},
                       ETag: "<status>" (304 when If-None-Match matches); ?wait=SECONDS
                       (or 20s, 1.5s, 500ms) holds the request while the job is in the
                       state the client holds (its If-None-Match, else the state at
                       arrival), at most that long: a long poll
  GET  /api/jobs/ID/events  Authorization: Bearer T: SSE, the job's state at once, then
                       the done state when it finishes; the stream then ends
  GET  /events         Authorization: Bearer T (or ?token=T): SSE, {"n":i,"msg":"hello U"}
                       every 50 ms; 401 without a valid token

Usage: python3 app.py -> prints {"port":N} on stdout, serves 127.0.0.1:N
until its stdin ends.
"""
import json
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

tokens = {}
jobs = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        with lock:
            return tokens.get(auth[len("Bearer "):])

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path == "/login":
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.reply(400, {"error": "want JSON"})
            if body.get("password") != "secret" or not body.get("user"):
                return self.reply(401, {"error": "bad user or password"})
            token = uuid.uuid4().hex
            with lock:
                tokens[token] = body["user"]
            return self.reply(200, {"token": token, "user": body["user"]})
        if url.path == "/api/jobs":
            if self.user() is None:
                return self.reply(401, {"error": "log in first"})
            ms = float(urllib.parse.parse_qs(url.query).get("ms", ["300"])[0])
            job_id = uuid.uuid4().hex[:12]
            now = time.time()
            with lock:
                jobs[job_id] = (now, now + ms / 1000)
            return self.reply(202, {"job_id": job_id, "status": "queued"}, {"Location": "/api/jobs/" + job_id})
        self.reply(404, {"error": "no such route"})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/api/jobs/"):
            if self.user() is None:
                return self.reply(401, {"error": "log in first"})
            job_id = url.path[len("/api/jobs/"):]
            events = job_id.endswith("/events")
            if events:
                job_id = job_id[:-len("/events")]
            with lock:
                job = jobs.get(job_id)
            if job is None:
                return self.reply(404, {"error": "no such job"})
            if events:
                return self.job_events(job_id, job)
            try:
                wait = parse_wait(urllib.parse.parse_qs(url.query).get("wait", ["0"])[0])
            except ValueError:
                return self.reply(400, {"error": "wait: want seconds, or 20s, 1.5s, 500ms"})
            held = self.headers.get("If-None-Match") or etag(job_state(job_id, job))
            state = job_state(job_id, job)
            if wait > 0 and etag(state) == held and state["status"] != "done":
                # Hold until the job finishes (its only change) or the wait ends.
                time.sleep(max(min(job[1] - time.time(), wait), 0))
                state = job_state(job_id, job)
            tag = etag(state)
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
            return self.reply(200, state, {"ETag": tag})
        if url.path == "/events":
            token = urllib.parse.parse_qs(url.query).get("token", [""])[0]
            with lock:
                user = tokens.get(token)
            if user is None:
                user = self.user()
            if user is None:
                return self.reply(401, {"error": "log in first"})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            n = 0
            try:
                while True:
                    n += 1
                    self.wfile.write(("data: " + json.dumps({"n": n, "msg": "hello " + user}) + "\n\n").encode())
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                return
        self.reply(404, {"error": "no such route"})


    def job_events(self, job_id, job):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            while True:
                state = job_state(job_id, job)
                self.wfile.write(("data: " + json.dumps(state) + "\n\n").encode())
                self.wfile.flush()
                if state["status"] == "done":
                    break
                time.sleep(max(job[1] - time.time(), 0))
        except (BrokenPipeError, ConnectionResetError):
            return
        self.close_connection = True


def job_state(job_id, job):
    created, finished = job
    done = time.time() >= finished
    return {
        "job_id": job_id,
        "status": "done" if done else "running",
        "created_at": created,
        "finished_at": finished if done else None,
    }


def etag(state):
    return '"' + state["status"] + '"'


def parse_wait(v):
    for suffix, scale in (("ms", 0.001), ("s", 1.0)):
        if v.endswith(suffix):
            return float(v[:-len(suffix)]) * scale
    return float(v)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the test closes stdin


if __name__ == "__main__":
    main()
