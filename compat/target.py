#!/usr/bin/env python3
"""Serve the routes of a compat case's target.json on 127.0.0.1 (Python standard library only).

    python3 compat/target.py compat/cases/http-status/target.json 18080
    python3 compat/target.py TARGET.json 0 --port-file /tmp/port    # 0 = pick a free port

target.json is a JSON list of routes, tried in order; the first match answers:

    {"method": "GET", "path": "/x", "status": 200,
     "headers": {"Content-Type": "text/plain"}, "body": "hello", "delay_ms": 0,
     "reason": "OK",                   optional; default: the standard phrase for the status
     "set_cookie": "SESSION=abc; Path=/", optional; a string or a list of strings (one header each)
     "echo": true}                     optional; body = request line + request headers, CRLF-separated

Matching: "method" is compared exactly ("*" matches any method). "path" is compared with the request
path without its query string, unless the route's path itself contains "?", then with the whole target.
A request that matches no route gets 404 "no route" (text/plain).

The server speaks HTTP/1.1 with keep-alive. Each response carries exactly the status line, the route's
headers in the given order, the Set-Cookie headers, and Content-Length; no Date or Server header, so the
byte count of every response is fixed. The request body is read (Content-Length or chunked) and ignored.
It stops on SIGTERM or SIGINT.
"""

import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time
from http import HTTPStatus


def load_routes(path):
    with open(path, encoding="utf-8") as f:
        routes = json.load(f)
    if not isinstance(routes, list):
        raise SystemExit(f"{path}: expected a JSON list of routes")
    for i, route in enumerate(routes):
        for key in ("method", "path", "status"):
            if key not in route:
                raise SystemExit(f"{path}: route {i} has no {key!r}")
    return routes


def make_handler(routes):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # the status line + headers and the body are two writes

        def log_message(self, fmt, *args):  # keep the console quiet; --verbose turns it on
            if VERBOSE:
                sys.stderr.write("target: " + (fmt % args) + "\n")

        def _read_body(self):
            te = self.headers.get("Transfer-Encoding", "")
            if te.lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _match(self):
            target = self.path
            bare = target.split("?", 1)[0]
            for route in routes:
                if route["method"] not in ("*", self.command):
                    continue
                want = route["path"]
                if want == (target if "?" in want else bare):
                    return route
            return None

        def _answer(self):
            self._read_body()
            route = self._match()
            if route is None:
                route = {"status": 404, "headers": {"Content-Type": "text/plain"}, "body": "no route"}
            delay = route.get("delay_ms", 0)
            if delay:
                time.sleep(delay / 1000.0)
            if route.get("echo"):
                lines = [self.requestline] + [f"{k}: {v}" for k, v in self.headers.items()]
                body = ("\r\n".join(lines) + "\r\n").encode("utf-8")
            else:
                body = route.get("body", "").encode("utf-8")
            status = int(route["status"])
            reason = route.get("reason")
            if reason is None:
                try:
                    reason = HTTPStatus(status).phrase
                except ValueError:
                    reason = ""
            self.log_request(status)
            self.send_response_only(status, reason)
            for name, value in route.get("headers", {}).items():
                self.send_header(name, value)
            cookies = route.get("set_cookie", [])
            if isinstance(cookies, str):
                cookies = [cookies]
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    return Handler


VERBOSE = False


def main():
    global VERBOSE
    parser = argparse.ArgumentParser(description="Serve a compat case's target.json")
    parser.add_argument("target", help="path of target.json")
    parser.add_argument("port", type=int, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--port-file", help="write the bound port to this file once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()
    VERBOSE = args.verbose

    routes = load_routes(args.target)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(routes))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
