#!/usr/bin/python3
"""fakeprov - a local stand-in for the providers esc-notify talks to.

Plays, on 127.0.0.1 only, with the Python standard library:

  POST /v2/enqueue (any path ending so)   PagerDuty Events API v2
  POST /services/...                      Slack incoming webhook
  POST .../conversations.create           Slack Web API (bot token)
  POST .../chat.postMessage               (channels made above only)
  POST /2010-04-01/Accounts/SID/Messages.json
                                          Twilio Messages (form, basic auth)
  POST /hook...                           a generic JSON webhook

Each request is checked against the format the provider documents; an
invalid one is answered 400 (Slack Web API: 200 with "ok": false, as
Slack does) with the reason.  Every request is recorded as one JSON line
in the --log file:

  {"t": 1764300000.123, "kind": "pagerduty", "method": "POST",
   "path": "/v2/enqueue", "headers": {...}, "body": "...",
   "status": 202, "reason": null, "fault": null}

A request whose client has closed the connection by the time it would
be answered (a sender killed mid-request) is recorded with status 499
and not processed.

Faults are injected by rules, from the command line or at run time:

  --fault MODE[:COUNT[:SECONDS]]   e.g. --fault 429:2  --fault drop:1
  POST /_control  {"mode": "429", "count": 2, "retry_after": 1,
                   "seconds": 3, "latency_ms": 200, "path": "/services/"}
  POST /_control  {"mode": "clear"}

MODE is 429 (with Retry-After: --retry-after or "retry_after" seconds),
500, drop (close the connection without an answer), slow (wait
latency_ms, then answer) or answer (answer "status", default 400, with
the "body" given, verbatim: a provider that echoes what it got).  A rule applies to COUNT requests (default
all), or for SECONDS from now, to paths starting with "path" (default
any).  --latency-ms delays every answer.  GET /_stats gives the count of
requests per kind.

Usage:
  /usr/bin/python3 t/fakeprov.py --port PORT [--log FILE] [--latency-ms N]
      [--fault SPEC] [--retry-after S] [--pd-key KEY] [--slack-token TOK]
      [--twilio-sid SID] [--twilio-token TOK]
"""

import argparse
import base64
import datetime
import json
import re
import select
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
LOG = None
RULES = []
STATS = {}
CREATED = set()


class Invalid(Exception):
    pass


def rule_take(path):
    """The fault rule that applies to this request, used up by one."""
    now = time.time()
    with LOCK:
        for r in RULES:
            if r.get("until") and now > r["until"]:
                continue
            if r.get("count") is not None and r["count"] <= 0:
                continue
            if not path.startswith(r.get("path", "")):
                continue
            if r.get("count") is not None:
                r["count"] -= 1
            return dict(r)
    return None


def json_object(body, not_json, not_object):
    """BODY as a JSON object, or Invalid with the message that says why
    not."""
    try:
        m = json.loads(body)
    except ValueError:
        raise Invalid(not_json)
    if not isinstance(m, dict):
        raise Invalid(not_object)
    return m


def check_pagerduty(h, body):
    ev = json_object(body, "body is not JSON", "event is not an object")
    rk = ev.get("routing_key")
    if not isinstance(rk, str) or not rk:
        raise Invalid("routing_key missing")
    if ARGS.pd_key and rk != ARGS.pd_key:
        raise Invalid("routing_key is not the integration key")
    act = ev.get("event_action")
    if act not in ("trigger", "acknowledge", "resolve"):
        raise Invalid("event_action must be trigger, acknowledge or resolve")
    dk = ev.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or len(dk) > 255):
        raise Invalid("dedup_key must be a string of at most 255 chars")
    if act != "trigger":
        if not dk:
            raise Invalid("dedup_key is required for " + act)
        return {"status": "success", "message": "Event processed",
                "dedup_key": dk}
    pl = ev.get("payload")
    if not isinstance(pl, dict):
        raise Invalid("payload missing")
    s = pl.get("summary")
    if not isinstance(s, str) or not s:
        raise Invalid("payload.summary missing")
    if len(s) > 1024:
        raise Invalid("payload.summary longer than 1024")
    if not isinstance(pl.get("source"), str) or not pl["source"]:
        raise Invalid("payload.source missing")
    if pl.get("severity") not in ("critical", "error", "warning", "info"):
        raise Invalid("payload.severity must be critical, error, warning "
                      "or info")
    ts = pl.get("timestamp")
    if ts is not None:
        try:
            datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            raise Invalid("payload.timestamp is not ISO 8601")
    links = ev.get("links", [])
    if not isinstance(links, list) or not all(
            isinstance(x, dict) and isinstance(x.get("href"), str)
            for x in links):
        raise Invalid("links must be objects with href")
    return {"status": "success", "message": "Event processed",
            "dedup_key": dk or "generated"}


def check_text_object(t, where):
    if not isinstance(t, dict) or t.get("type") not in ("mrkdwn",
                                                         "plain_text"):
        raise Invalid(where + ": text object needs type mrkdwn/plain_text")
    if not isinstance(t.get("text"), str) or not t["text"]:
        raise Invalid(where + ": text missing")
    if len(t["text"]) > 3000:
        raise Invalid(where + ": text longer than 3000")


def check_slack(h, body):
    if not h.headers.get("Content-Type", "").startswith("application/json"):
        raise Invalid("invalid_payload: Content-Type must be JSON")
    m = json_object(body, "invalid_payload", "invalid_payload")
    if not isinstance(m.get("text"), str) and "blocks" not in m:
        raise Invalid("no_text")
    for i, b in enumerate(m.get("blocks", [])):
        where = "blocks[%d]" % i
        if not isinstance(b, dict) or b.get("type") not in (
                "section", "context", "divider", "header", "actions"):
            raise Invalid("invalid_blocks: " + where)
        if b["type"] == "section":
            check_text_object(b.get("text"), where)
    return "ok"


def check_slack_api(h, body):
    auth = h.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return {"ok": False, "error": "not_authed"}
    tok = auth[7:]
    if (ARGS.slack_token and tok != ARGS.slack_token) or not tok:
        return {"ok": False, "error": "invalid_auth"}
    try:
        m = json.loads(body)
    except ValueError:
        return {"ok": False, "error": "invalid_json"}
    name = m.get("name") if isinstance(m, dict) else None
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_-]{1,80}",
                                                      name):
        return {"ok": False, "error": "invalid_name_specials"}
    with LOCK:
        if name in CREATED:
            return {"ok": False, "error": "name_taken"}
        CREATED.add(name)
    return {"ok": True, "channel": {"id": "C%08d" % len(CREATED),
                                    "name": name}}


def check_slack_post(h, body):
    auth = h.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:]:
        return {"ok": False, "error": "not_authed"}
    if ARGS.slack_token and auth[7:] != ARGS.slack_token:
        return {"ok": False, "error": "invalid_auth"}
    try:
        m = json.loads(body)
        check_slack(h, body)
    except (ValueError, Invalid):
        return {"ok": False, "error": "invalid_arguments"}
    ch = m.get("channel")
    if not isinstance(ch, str) or not ch:
        return {"ok": False, "error": "channel_not_found"}
    with LOCK:
        if ch.lstrip("#") not in CREATED:
            return {"ok": False, "error": "channel_not_found"}
    return {"ok": True, "channel": ch, "ts": "%.6f" % time.time()}


def check_twilio(h, body, sid):
    auth = h.headers.get("Authorization", "")
    try:
        user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        if not auth.startswith("Basic "):
            raise ValueError
    except ValueError:
        raise Invalid("20003: authentication required")
    if user != sid or (ARGS.twilio_sid and user != ARGS.twilio_sid) or (
            ARGS.twilio_token and pw != ARGS.twilio_token):
        raise Invalid("20003: authenticate")
    if not h.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"):
        raise Invalid("Content-Type must be form-urlencoded")
    f = urllib.parse.parse_qs(body, keep_blank_values=True, strict_parsing=False)
    for k in ("To", "From", "Body"):
        if len(f.get(k, [])) != 1:
            raise Invalid("21604: '%s' is required" % k)
    to, frm, text = f["To"][0], f["From"][0], f["Body"][0]
    if not re.fullmatch(r"\+[1-9][0-9]{1,14}", to):
        raise Invalid("21211: The 'To' number is not a valid phone number")
    if not re.fullmatch(r"\+[1-9][0-9]{1,14}", frm):
        raise Invalid("21212: The 'From' number is not valid")
    if not text or len(text) > 1600:
        raise Invalid("21617: Body is empty or too long")
    return {"sid": "SM%032x" % (abs(hash(body)) % (1 << 128)),
            "status": "queued", "to": to, "from": frm, "body": text}


def check_webhook(h, body):
    m = json_object(body, "body is not JSON",
                    "not a record (an object with a type)")
    if not isinstance(m.get("type"), str):
        raise Invalid("not a record (an object with a type)")
    return {"ok": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without this, Nagle and delayed
    # ACKs stall every keep-alive answer by 40 ms.
    disable_nagle_algorithm = True
    server_version = "fakeprov/1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="application/json", extra=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def record(self, kind, body, status, reason, fault):
        with LOCK:
            STATS[kind] = STATS.get(kind, 0) + 1
            if LOG is None:
                return
            LOG.write(json.dumps({
                "t": time.time(), "kind": kind, "method": self.command,
                "path": self.path, "headers": dict(self.headers),
                "body": body, "status": status, "reason": reason,
                "fault": fault}) + "\n")
            LOG.flush()

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                self.answer(200, dict(STATS))
            return
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        path = self.path.split("?")[0]
        if path == "/_control":
            self.control(body)
            return
        m = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", path)
        if path.endswith("/v2/enqueue"):
            kind = "pagerduty"
        elif path.startswith("/services/"):
            kind = "slack"
        elif path.endswith("/conversations.create"):
            kind = "slack_api"
        elif path.endswith("/chat.postMessage"):
            kind = "slack_post"
        elif m:
            kind = "twilio"
        elif path.startswith("/hook"):
            kind = "webhook"
        else:
            self.record("unknown", body, 404, "no such endpoint", None)
            self.answer(404, {"error": "no such endpoint"})
            return
        if ARGS.latency_ms:
            time.sleep(ARGS.latency_ms / 1000.0)
        r = rule_take(path)
        if r is not None:
            mode = r["mode"]
            if mode == "slow":
                time.sleep(r.get("latency_ms", 1000) / 1000.0)
            elif mode == "drop":
                self.record(kind, body, 0, "dropped", "drop")
                self.close_connection = True
                return
            elif mode == "429":
                ra = str(r.get("retry_after", ARGS.retry_after))
                self.record(kind, body, 429, "rate limited", "429")
                self.answer(429, {"error": "rate_limited"},
                            extra={"Retry-After": ra})
                return
            elif mode == "500":
                self.record(kind, body, 500, "server error", "500")
                self.answer(500, {"error": "internal"})
                return
            elif mode == "answer":
                st = int(r.get("status", 400))
                self.record(kind, body, st, "canned answer", "answer")
                self.answer(st, r.get("body", ""),
                            r.get("ctype", "text/plain"))
                return
        fault = r["mode"] if r else None
        if self.client_gone():
            # Like a provider that drops a request whose client hung up
            # before the answer: a killed sender's request is not
            # processed, so its retry is not a duplicate.
            self.record(kind, body, 499, "client closed the connection "
                        "before the answer", fault)
            self.close_connection = True
            return
        try:
            if kind == "pagerduty":
                res, status, ctype = check_pagerduty(self, body), 202, \
                    "application/json"
            elif kind == "slack":
                res, status, ctype = check_slack(self, body), 200, \
                    "text/plain"
            elif kind == "slack_api":
                res, status, ctype = check_slack_api(self, body), 200, \
                    "application/json"
            elif kind == "slack_post":
                res, status, ctype = check_slack_post(self, body), 200, \
                    "application/json"
            elif kind == "twilio":
                res, status, ctype = check_twilio(self, body, m.group(1)), \
                    201, "application/json"
            else:
                res, status, ctype = check_webhook(self, body), 200, \
                    "application/json"
        except Invalid as e:
            reason = str(e)
            self.record(kind, body, 400, reason, fault)
            if kind == "slack":
                self.answer(400, reason, "text/plain")
            elif kind == "pagerduty":
                self.answer(400, {"status": "invalid event",
                                  "message": "Event object is invalid",
                                  "errors": [reason]})
            else:
                self.answer(400, {"status": 400, "message": reason})
            return
        reason = None
        if kind in ("slack_api", "slack_post") and not res.get("ok"):
            reason = res.get("error")
        self.record(kind, body, status, reason, fault)
        self.answer(status, res, ctype)

    def client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def control(self, body):
        try:
            c = json.loads(body or "{}")
            with LOCK:
                if c.get("mode") == "clear":
                    RULES.clear()
                else:
                    RULES.insert(0, make_rule(c))
        except (ValueError, KeyError, TypeError) as e:
            self.answer(400, {"error": str(e)})
            return
        self.answer(200, {"ok": True})


class Server(ThreadingHTTPServer):
    # listen(2) backlog: the default of 5 drops the SYNs of a burst of
    # parallel connections, and the retransmits stall them for seconds.
    request_queue_size = 1024
    daemon_threads = True


def make_rule(c):
    if c["mode"] not in ("429", "500", "drop", "slow", "answer"):
        raise ValueError("mode must be 429, 500, drop, slow, answer or "
                         "clear")
    r = {"mode": c["mode"], "path": c.get("path", "")}
    if c.get("count") is not None:
        r["count"] = int(c["count"])
    if c.get("seconds") is not None:
        r["until"] = time.time() + float(c["seconds"])
    for k in ("retry_after", "latency_ms", "status", "body", "ctype"):
        if k in c:
            r[k] = c[k]
    return r


def main():
    global ARGS, LOG
    ap = argparse.ArgumentParser(description="fake providers for esc-notify")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--fault", action="append", default=[],
                    help="MODE[:COUNT[:SECONDS]]")
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--pd-key")
    ap.add_argument("--slack-token")
    ap.add_argument("--twilio-sid")
    ap.add_argument("--twilio-token")
    ARGS = ap.parse_args()
    for spec in ARGS.fault:
        p = spec.split(":")
        c = {"mode": p[0]}
        if len(p) > 1 and p[1]:
            c["count"] = p[1]
        if len(p) > 2 and p[2]:
            c["seconds"] = p[2]
        RULES.append(make_rule(c))
    if ARGS.log:
        LOG = open(ARGS.log, "a", encoding="utf-8")
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    print("fakeprov: listening on 127.0.0.1:%d" % srv.server_address[1],
          file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
