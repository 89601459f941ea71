#!/usr/bin/python3
"""Catches webhook bodies on 127.0.0.1: every POST body is appended, as one
JSON line, to the file named by --out; answers 200.  Used to capture what a
real Alertmanager sends.  Usage: hookcatch.py --port N --out FILE"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--out", required=True)
args = ap.parse_args()


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n))
        with open(args.out, "a") as f:
            f.write(json.dumps(body, separators=(",", ":")) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
