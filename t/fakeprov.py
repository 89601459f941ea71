#!/usr/bin/python3
"""fakeprov - a local stand-in for the providers esc talks to.

Plays, on 127.0.0.1 only, with the Python standard library:

  POST /v2/enqueue (any path ending so)   PagerDuty Events API v2
  GET, POST, PUT .../incidents...         PagerDuty REST API v2: incidents,
  GET .../log_entries, .../users...       log entries, users (stateful)
  POST /services/...                      Slack incoming webhook
  POST .../conversations.create           Slack Web API (bot token)
  POST .../chat.postMessage               (channels made above only)
  POST /slack/response/...                a Slack interaction's response_url
  POST, GET /2010-04-01/Accounts/SID/Messages.json
                                          Twilio Messages: send (form,
                                          basic auth), list (inbound too)
  POST /hook...                           a generic JSON webhook

t/fakeprov.md documents the formats, the control hooks that play the
responders (/_control/pagerduty/act, /_control/twilio/messages,
/_control/clock, ...), GET /_state, and the sources followed.

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

MODE is 429 (with Retry-After: --retry-after or "retry_after" seconds;
PagerDuty REST: ratelimit-reset, "reset"), 500, drop (close the
connection without an answer), slow (wait latency_ms, then answer) or
answer (answer "status", default 400, with the "body" given, verbatim: a
provider that echoes what it got).  A rule applies to COUNT requests
(default all), or for SECONDS from now, to paths starting with "path"
(default any).  --latency-ms delays every answer.  GET /_stats gives the
count of requests per kind.

Usage:
  /usr/bin/python3 t/fakeprov.py --port PORT [--log FILE] [--latency-ms N]
      [--fault SPEC] [--retry-after S] [--pd-key KEY] [--slack-token TOK]
      [--twilio-sid SID] [--twilio-token TOK] [--now TIME]
      [--pd-token TOK]... [--pd-read-token TOK]... [--pd-service ID]
      [--pd-user ID:EMAIL[:NAME]]... [--pd-time-zone TZ]
      [--pd-events-rate N/SECONDS]
"""

import argparse
import base64
import datetime
import email.utils
import json
import re
import select
import socket
import sys
import threading
import time
import urllib.parse
import uuid
import zoneinfo
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
    # Without a dedup_key PagerDuty makes one and answers it.
    return {"status": "success", "message": "Event processed",
            "dedup_key": dk or uuid.uuid4().hex}


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
        elif b["type"] == "actions":
            check_actions(b, where)
    return "ok"


def check_actions(b, where):
    """An actions block of buttons (Block Kit: at most 25 elements; a
    button's text plain_text of at most 75 characters, action_id up to
    255, value up to 2000, style primary or danger)."""
    els = b.get("elements")
    if not isinstance(els, list) or not 0 < len(els) <= 25:
        raise Invalid("invalid_blocks: " + where + ": elements")
    for j, e in enumerate(els):
        w = "%s.elements[%d]" % (where, j)
        if not isinstance(e, dict) or e.get("type") != "button":
            raise Invalid("invalid_blocks: " + w + ": not a button")
        t = e.get("text")
        if not isinstance(t, dict) or t.get("type") != "plain_text" or \
                not isinstance(t.get("text"), str) or \
                not 0 < len(t["text"]) <= 75:
            raise Invalid("invalid_blocks: " + w + ": text")
        for k, n in (("action_id", 255), ("value", 2000)):
            if k in e and (not isinstance(e[k], str) or len(e[k]) > n):
                raise Invalid("invalid_blocks: " + w + ": " + k)
        if "style" in e and e["style"] not in ("primary", "danger"):
            raise Invalid("invalid_blocks: " + w + ": style")


def check_slack_response(h, body):
    """A message posted to an interaction's response_url: JSON with a
    text, response_type ephemeral or in_channel, replace_original and
    delete_original booleans."""
    if not h.headers.get("Content-Type", "").startswith("application/json"):
        raise Invalid("invalid_payload: Content-Type must be JSON")
    m = json_object(body, "invalid_payload", "invalid_payload")
    if not isinstance(m.get("text"), str) and "blocks" not in m:
        raise Invalid("no_text")
    if m.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
        raise Invalid("invalid_payload: response_type")
    for k in ("replace_original", "delete_original"):
        if k in m and not isinstance(m[k], bool):
            raise Invalid("invalid_payload: " + k)
    return {"ok": True}


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


# ---------------------------------------------------------------------
# Provider state: PagerDuty incidents (REST API v2, fed by the Events
# API too) and Twilio messages, on a clock a test can set.  t/fakeprov.md
# documents the formats and the sources they follow.

CLOCK = {"now": None}           # epoch seconds, or None: the wall clock
PD = {"users": {}, "services": {}, "incidents": [], "log": [],
      "notes": {}, "seq": 0, "window": [0, 0]}
TW = {"messages": [], "seq": 0}
PD_LIMIT_MAX = 100              # "results per page. Maximum of 100."
PD_OFFSET_MAX = 10000           # offset+limit past this is refused
PD_ACCEPT = "application/vnd.pagerduty+json;version=2"
PD_DEFAULT_SERVICE = "PSTEMED"


class ApiError(Exception):
    """An answer in the provider's own error shape."""

    def __init__(self, status, body, headers=None):
        Exception.__init__(self, json.dumps(body))
        self.status, self.body, self.headers = status, body, headers or {}


def pd_error(status, message, code=None, errors=None):
    e = {"message": message}
    if code is not None:
        e["code"] = code
    if errors is not None:
        e["errors"] = errors
    return ApiError(status, {"error": e})


def pd_invalid(*errors):
    return pd_error(400, "Invalid Input Provided", 2001, list(errors))


def tw_error(status, code, message):
    more = "https://www.twilio.com/docs/errors/%d" % code
    return ApiError(status, {"code": code, "message": message,
                             "more_info": more, "status": status})


def now():
    return int(CLOCK["now"] if CLOCK["now"] is not None else time.time())


def parse_time(s, tz=None):
    """ISO 8601 (a date alone is its midnight) to epoch seconds; a time
    without an offset is in tz (default UTC)."""
    if not isinstance(s, str) or not s:
        raise ValueError("not a time")
    d = datetime.datetime.fromisoformat(s.strip().replace(" ", "T", 1)
                                        if len(s) > 10 else s.strip())
    if d.tzinfo is None:
        d = d.replace(tzinfo=zone(tz or "UTC"))
    return int(d.timestamp())


def zone(name):
    if name in (None, "", "UTC", "Etc/UTC"):
        return datetime.timezone.utc
    return zoneinfo.ZoneInfo(name)


def iso(t, tz=None):
    """PagerDuty's rendering: second resolution, Z in UTC, else the
    offset of the requested time_zone."""
    if t is None:
        return None
    d = datetime.datetime.fromtimestamp(t, zone(tz))
    if d.utcoffset() == datetime.timedelta(0) and tz in (None, "", "UTC",
                                                          "Etc/UTC"):
        return d.strftime("%Y-%m-%dT%H:%M:%SZ")
    return d.isoformat(timespec="seconds")


def rfc2822(t):
    """Twilio's date_sent: "Fri, 24 May 2019 17:44:50 +0000"."""
    return email.utils.format_datetime(
        datetime.datetime.fromtimestamp(t, datetime.timezone.utc))


def new_id(prefix, width):
    """Ids shaped as PagerDuty's (PT4KHLK, Q02JTSNZWHSEKV), but counted,
    so that a test sees the same ids on every run."""
    PD["seq"] += 1
    n, s = PD["seq"], ""
    while n:
        n, r = divmod(n, 36)
        s = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r] + s
    return prefix + s.rjust(width - len(prefix), "0")


# --- PagerDuty: configuration --------------------------------------------

def pd_add_user(u):
    if not isinstance(u, dict) or not isinstance(u.get("id"), str) or \
            not isinstance(u.get("email"), str):
        raise ValueError("a user needs string id and email")
    PD["users"][u["id"]] = {"id": u["id"], "email": u["email"],
                            "name": u.get("name") or u["email"].split("@")[0],
                            "time_zone": u.get("time_zone", "Etc/UTC")}


def pd_add_service(s):
    if not isinstance(s, dict) or not isinstance(s.get("id"), str):
        raise ValueError("a service needs a string id")
    oncall = s.get("oncall", [])
    if not isinstance(oncall, list) or any(u not in PD["users"]
                                           for u in oncall):
        raise ValueError("oncall must list known user ids")
    PD["services"][s["id"]] = {"id": s["id"],
                               "name": s.get("name", s["id"]),
                               "oncall": oncall,
                               "urgency": s.get("urgency", "high")}


def pd_user_by_email(addr):
    for u in PD["users"].values():
        if u["email"].lower() == addr.strip().lower():
            return u
    return None


# --- PagerDuty: references and objects, as the API renders them ----------

def pd_ref(kind, oid, summary, base, path):
    return {"id": oid, "type": kind + "_reference", "summary": summary,
            "self": base + path, "html_url": "https://fakeprov.pagerduty.com"
            + path}


def pd_user_ref(uid, base):
    u = PD["users"].get(uid, {"name": uid})
    return pd_ref("user", uid, u["name"], base, "/users/" + uid)


def pd_user_full(uid, base, tz=None):
    u = PD["users"][uid]
    o = pd_ref("user", uid, u["name"], base, "/users/" + uid)
    o.update(type="user", name=u["name"], email=u["email"],
             time_zone=u["time_zone"], role="user", description=None,
             job_title=None, teams=[], contact_methods=[],
             notification_rules=[])
    return o


def pd_agent(agent, base, expand):
    """agent: ("user", id) or ("service", id)."""
    kind, oid = agent
    if kind == "user":
        return pd_user_full(oid, base) if expand else pd_user_ref(oid, base)
    s = PD["services"].get(oid, {"name": oid})
    return pd_ref("service", oid, s["name"], base, "/services/" + oid)


def pd_incident_obj(inc, base, tz=None, include=()):
    users = bool({"users", "assignees", "acknowledgers", "agents"} &
                 set(include))
    svc = PD["services"][inc["service"]]
    alerts = inc["alerts"]
    return {
        "id": inc["id"], "type": "incident",
        "summary": "[#%d] %s" % (inc["number"], inc["title"]),
        "self": base + "/incidents/" + inc["id"],
        "html_url": "https://fakeprov.pagerduty.com/incidents/" + inc["id"],
        "incident_number": inc["number"], "title": inc["title"],
        "created_at": iso(inc["created_at"], tz),
        "updated_at": iso(inc["updated_at"], tz),
        "status": inc["status"], "incident_key": inc["incident_key"],
        "service": pd_ref("service", svc["id"], svc["name"], base,
                          "/services/" + svc["id"]),
        "assignments": [{"at": iso(a["at"], tz),
                         "assignee": pd_agent(("user", a["user"]), base,
                                              users)}
                        for a in inc["assignments"]],
        "assigned_via": inc["assigned_via"],
        "last_status_change_at": iso(inc["last_status_change_at"], tz),
        "last_status_change_by": pd_agent(inc["last_status_change_by"],
                                          base, users),
        "resolved_at": iso(inc["resolved_at"], tz),
        "first_trigger_log_entry": pd_ref(
            "trigger_log_entry", inc["first_log"], "Triggered", base,
            "/log_entries/" + inc["first_log"]),
        "alert_counts": {"all": len(alerts), "triggered": sum(
            a["status"] == "triggered" for a in alerts), "resolved": sum(
            a["status"] == "resolved" for a in alerts)},
        "is_mergeable": True,
        "incident_type": {"name": "incident_default"},
        "escalation_policy": pd_ref("escalation_policy", "PEP" + svc["id"],
                                    svc["name"] + " policy", base,
                                    "/escalation_policies/PEP" + svc["id"]),
        "teams": [], "pending_actions": [],
        "acknowledgements": [{"at": iso(a["at"], tz),
                              "acknowledger": pd_agent(a["by"], base, users)}
                             for a in inc["acks"]],
        "alert_grouping": None, "priority": None, "resolve_reason": None,
        "incidents_responders": [], "responder_requests": [],
        "urgency": inc["urgency"],
    }


def pd_log_obj(e, base, tz=None, include=()):
    inc = pd_find(e["incident"])
    svc = PD["services"][inc["service"]]
    o = {"id": e["id"], "type": e["type"], "summary": e["summary"],
         "self": base + "/log_entries/" + e["id"],
         "html_url": "https://fakeprov.pagerduty.com/incidents/%s/"
         "log_entries/%s" % (inc["id"], e["id"]),
         "created_at": iso(e["at"], tz),
         "agent": pd_agent(e["agent"], base, False),
         "channel": dict(e["channel"]),
         "service": pd_ref("service", svc["id"], svc["name"], base,
                           "/services/" + svc["id"]),
         "incident": (pd_incident_obj(inc, base, tz) if "incidents" in include
                      else pd_ref("incident", inc["id"], "[#%d] %s" % (
                          inc["number"], inc["title"]), base,
                          "/incidents/" + inc["id"])),
         "teams": [], "contexts": [], "event_details": {}}
    if e["type"] == "acknowledge_log_entry":
        o["acknowledgement_timeout"] = None
    if e.get("note") is not None:
        o["note"] = e["note"]
    if e.get("assignees"):
        o["assignees"] = [pd_user_ref(u, base) for u in e["assignees"]]
    return o


# --- PagerDuty: what happens to incidents ---------------------------------

def pd_find(iid):
    for inc in PD["incidents"]:
        if inc["id"] == iid:
            return inc
    return None


def pd_log(inc, kind, agent, at, summary, channel, **extra):
    e = {"id": new_id("Q", 14), "type": kind, "incident": inc["id"],
         "agent": agent, "at": at, "summary": summary, "channel": channel}
    e.update(extra)
    PD["log"].append(e)
    return e


def agent_name(agent):
    if agent[0] == "user":
        return PD["users"].get(agent[1], {"name": agent[1]})["name"]
    return None


def pd_create(service, title, key, urgency, assignees, agent, at,
              alert_key=None, details=None, direct=False):
    inc = {"id": new_id("P", 7), "number": len(PD["incidents"]) + 1,
           "title": title, "service": service, "status": "triggered",
           "incident_key": key, "urgency": urgency, "created_at": at,
           "updated_at": at, "last_status_change_at": at,
           "last_status_change_by": agent, "resolved_at": None,
           "assigned_via": "direct_assignment" if direct
           else "escalation_policy",
           "assignments": [{"at": at, "user": u} for u in assignees],
           "acks": [], "alerts": [], "details": details}
    if alert_key is not None:
        inc["alerts"].append({"id": new_id("Q", 14), "alert_key": alert_key,
                              "status": "triggered", "at": at,
                              "summary": title})
    PD["incidents"].append(inc)
    how = "through the API" if agent[0] == "service" else \
        "by " + agent_name(agent)
    inc["first_log"] = pd_log(inc, "trigger_log_entry", agent, at,
                              "Triggered " + how, {"type": "api"})["id"]
    if assignees:
        pd_log(inc, "assign_log_entry", agent, at, "Assigned to " + ", ".join(
            PD["users"][u]["name"] for u in assignees), {"type": "api"},
            assignees=list(assignees))
    return inc


def pd_act(inc, action, agent, at, channel, note=None):
    """acknowledge, resolve, note, or triggered (a reopen), by agent."""
    who = "through the API" if agent[0] == "service" else \
        "by " + agent_name(agent)
    inc["updated_at"] = max(inc["updated_at"], at)
    if action == "note":
        nid = new_id("P", 7)
        PD["notes"].setdefault(inc["id"], []).append(
            {"id": nid, "by": agent, "at": at, "content": note})
        pd_log(inc, "annotate_log_entry", agent, at, "Note added",
               {"type": "note", "summary": note}, note=note)
        return
    if action == "acknowledge":
        inc["status"], inc["resolved_at"] = "acknowledged", None
        inc["acks"].append({"at": at, "by": agent})
        kind, summary = "acknowledge_log_entry", "Acknowledged " + who
    elif action == "resolve":
        inc["status"], inc["resolved_at"] = "resolved", at
        inc["acks"], inc["assignments"] = [], []
        for a in inc["alerts"]:
            a["status"] = "resolved"
        kind, summary = "resolve_log_entry", "Resolved " + who
    else:
        inc["status"], inc["resolved_at"], inc["acks"] = "triggered", None, []
        kind, summary = "trigger_log_entry", "Reopened " + who
    inc["last_status_change_at"], inc["last_status_change_by"] = at, agent
    pd_log(inc, kind, agent, at, summary, channel,
           note=note if action == "resolve" else None)


def pd_event(ev, res):
    """What an accepted Events API v2 event does to the incidents.  The
    event acts on an alert (alert_key = dedup_key) of the default
    service; the incident it opens has no incident_key of its own, as
    the REST API documents for incidents with alerts."""
    act, dk, at = ev["event_action"], res["dedup_key"], now()
    svc = ARGS.pd_service
    open_ = [i for i in PD["incidents"] if i["status"] != "resolved" and
             i["service"] == svc and any(
                 a["alert_key"] == dk and a["status"] == "triggered"
                 for a in i["alerts"])]
    if act == "trigger":
        if not open_:
            pd_create(svc, ev["payload"]["summary"], None,
                      PD["services"][svc]["urgency"],
                      PD["services"][svc]["oncall"], ("service", svc), at,
                      alert_key=dk)
        return
    for inc in open_:
        if act == "resolve":
            pd_act(inc, "resolve", ("service", svc), at, {"type": "api"})
        elif inc["status"] == "triggered":
            pd_act(inc, "acknowledge", ("service", svc), at, {"type": "api"})


# --- PagerDuty REST API v2: requests --------------------------------------

PD_PATH = re.compile(r"(?P<pre>(?:/[^/]+)*?)/(?P<res>incidents|log_entries|"
                     r"users)(?P<rest>/[^?]*)?")


def pd_auth(h, write):
    """Authorization: Token token=..., the Accept version header, and for
    writes the JSON Content-Type."""
    auth = h.headers.get("Authorization", "")
    m = re.fullmatch(r"Token token=(\S+)", auth.strip())
    tokens = dict.fromkeys(ARGS.pd_token, "full")
    tokens.update(dict.fromkeys(ARGS.pd_read_token, "read"))
    if not m or (tokens and m.group(1) not in tokens):
        raise pd_error(401, "Authentication Failed", 2006)
    if write and tokens and tokens[m.group(1)] == "read":
        raise pd_error(403, "Access Denied", 2010)
    acc = h.headers.get("Accept", "").replace(" ", "")
    if acc != PD_ACCEPT:
        raise pd_invalid("Accept must be " + PD_ACCEPT)
    if write and not h.headers.get("Content-Type", "").startswith(
            "application/json"):
        raise pd_invalid("params must be a Hash")


def pd_from(h):
    """The From header every write needs: the e-mail of a known user."""
    addr = h.headers.get("From")
    if not addr:
        raise pd_error(400, "You must specify a user's email address in the "
                       "\"From\" header to perform this action", 2016)
    u = pd_user_by_email(addr)
    if u is None:
        raise pd_error(400, "Requester User Not Found", 1008, [])
    return ("user", u["id"])


def qlist(q, name):
    return q.get(name + "[]", [])


def qone(q, name, default=None):
    v = q.get(name)
    return v[-1] if v else default


def pd_page(q, items, key, render):
    """Classic (offset) pagination: limit, offset, more, total."""
    try:
        limit = int(qone(q, "limit", 25))
        offset = int(qone(q, "offset", 0))
        if limit < 1 or offset < 0:
            raise ValueError
    except ValueError:
        raise pd_invalid("limit and offset must be non-negative integers")
    limit = min(limit, PD_LIMIT_MAX)
    if offset + limit > PD_OFFSET_MAX:
        raise pd_error(400, "Arguments Caused Error", 2001, [
            "Offset+limit exceeds maximum allowed value of 10000. Please try "
            "to refine your search to reduce the returned set of records "
            "below this number, like adding a date range."])
    page = items[offset:offset + limit]
    total = qone(q, "total", "false") == "true"
    return {key: [render(x) for x in page], "limit": limit,
            "offset": offset, "more": offset + limit < len(items),
            "total": len(items) if total else None}


def pd_window(q, tz, default_days):
    """since (inclusive) and until (exclusive) as epoch seconds, or None."""
    if qone(q, "date_range") == "all":
        return None, None
    try:
        since = qone(q, "since")
        until = qone(q, "until")
        s = parse_time(since, tz) if since else None
        u = parse_time(until, tz) if until else None
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise pd_error(400, "Invalid 'since' or 'until' Parameter Values",
                       2004)
    if s is None and default_days:
        s = now() - default_days * 86400
    if s is not None and u is not None and (u < s or u - s > 183 * 86400):
        raise pd_error(400, "Invalid Query Date Range", 2005)
    return s, u


def in_window(t, w):
    return (w[0] is None or t >= w[0]) and (w[1] is None or t < w[1])


def pd_tz(q):
    tz = qone(q, "time_zone") or ARGS.pd_time_zone
    try:
        zone(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise pd_invalid("time_zone is not a time zone")
    return tz


def pd_list_incidents(q, base):
    tz = pd_tz(q)
    st = qlist(q, "statuses")
    if any(s not in ("triggered", "acknowledged", "resolved") for s in st):
        raise pd_invalid("Status must be a list of triggered, acknowledged, "
                         "or resolved.")
    w = pd_window(q, tz, 30)
    key, users = qone(q, "incident_key"), qlist(q, "user_ids")
    svcs, urg = qlist(q, "service_ids"), qlist(q, "urgencies")
    out = [i for i in PD["incidents"] if in_window(i["created_at"], w)
           and (not st or i["status"] in st)
           and (key is None or i["incident_key"] == key or any(
               a["alert_key"] == key for a in i["alerts"]))
           and (not users or (i["status"] != "resolved" and any(
               a["user"] in users for a in i["assignments"])))
           and (not svcs or i["service"] in svcs)
           and (not urg or i["urgency"] in urg)]
    out = pd_sort(out, qone(q, "sort_by", "created_at"))
    inc = qlist(q, "include")
    return pd_page(q, out, "incidents",
                   lambda i: pd_incident_obj(i, base, tz, inc))


def pd_sort(items, spec):
    for part in reversed(spec.split(",")):
        field, _, way = part.partition(":")
        if field not in ("incident_number", "created_at", "resolved_at",
                         "urgency") or way not in ("", "asc", "desc"):
            raise pd_invalid("sort_by " + part + " is not supported")
        f = "number" if field == "incident_number" else field
        items = sorted(items, key=lambda i: (i[f] is None, i[f] or 0),
                       reverse=way == "desc")
    return items


def pd_list_log(q, base, inc=None):
    """Log entries, newest first (PagerDuty does not document an order;
    a client must not rely on one)."""
    tz = pd_tz(q)
    w = pd_window(q, tz, 0)
    overview = qone(q, "is_overview", "false") == "true"
    out = [e for e in PD["log"] if (inc is None or e["incident"] == inc)
           and in_window(e["at"], w)
           and (not overview or e["type"] in (
               "trigger_log_entry", "acknowledge_log_entry",
               "resolve_log_entry", "annotate_log_entry"))]
    out.sort(key=lambda e: (e["at"], e["id"]), reverse=True)
    include = qlist(q, "include")
    return pd_page(q, out, "log_entries",
                   lambda e: pd_log_obj(e, base, tz, include))


def pd_get(h, path, q, base):
    pd_auth(h, False)
    m = PD_PATH.fullmatch(path)
    res, rest = m.group("res"), (m.group("rest") or "").rstrip("/")
    parts = rest.split("/")[1:] if rest else []
    if res == "incidents" and not parts:
        return 200, pd_list_incidents(q, base)
    if res == "log_entries" and not parts:
        return 200, pd_list_log(q, base)
    if res == "users":
        return pd_get_users(q, base, parts)
    if res == "log_entries" and len(parts) == 1:
        e = [x for x in PD["log"] if x["id"] == parts[0]]
        if not e:
            raise pd_error(404, "Not Found", 2100)
        return 200, {"log_entry": pd_log_obj(e[0], base, pd_tz(q),
                                             qlist(q, "include"))}
    inc = pd_find(parts[0]) if res == "incidents" else None
    if inc is None or len(parts) > 2:
        raise pd_error(404, "Not Found", 2100)
    tz = pd_tz(q)
    if len(parts) == 1:
        return 200, {"incident": pd_incident_obj(inc, base, tz,
                                                 qlist(q, "include"))}
    if parts[1] == "log_entries":
        return 200, pd_list_log(q, base, inc["id"])
    if parts[1] == "alerts":
        return 200, pd_list_alerts(q, base, inc, tz)
    if parts[1] == "notes":
        return 200, {"notes": [pd_note_obj(n, base, tz)
                               for n in PD["notes"].get(inc["id"], [])]}
    raise pd_error(404, "Not Found", 2100)


def pd_get_users(q, base, parts):
    if len(parts) == 1:
        if parts[0] not in PD["users"]:
            raise pd_error(404, "Not Found", 2100)
        return 200, {"user": pd_user_full(parts[0], base)}
    if parts:
        raise pd_error(404, "Not Found", 2100)
    needle = (qone(q, "query") or "").lower()
    out = [u for u in sorted(PD["users"]) if needle in PD["users"][u][
        "email"].lower() or needle in PD["users"][u]["name"].lower()]
    return 200, pd_page(q, out, "users", lambda u: pd_user_full(u, base))


def pd_list_alerts(q, base, inc, tz):
    key, st = qone(q, "alert_key"), qlist(q, "statuses")
    out = [a for a in inc["alerts"] if (key is None or a["alert_key"] == key)
           and (not st or a["status"] in st)]
    svc = PD["services"][inc["service"]]
    return pd_page(q, out, "alerts", lambda a: {
        "id": a["id"], "type": "alert", "summary": a["summary"],
        "self": base + "/incidents/%s/alerts/%s" % (inc["id"], a["id"]),
        "html_url": "https://fakeprov.pagerduty.com/alerts/" + a["id"],
        "created_at": iso(a["at"], tz), "status": a["status"],
        "alert_key": a["alert_key"],
        "service": pd_ref("service", svc["id"], svc["name"], base,
                          "/services/" + svc["id"]),
        "incident": {"id": inc["id"], "type": "incident_reference"},
        "suppressed": False, "severity": "critical",
        "body": {"type": "alert_body", "contexts": [], "details": {}}})


def pd_note_obj(n, base, tz):
    return {"id": n["id"], "user": pd_agent(n["by"], base, False),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": n["content"], "created_at": iso(n["at"], tz)}


def pd_json(body):
    try:
        b = json.loads(body)
    except ValueError:
        raise pd_invalid("params must be a Hash")
    if not isinstance(b, dict):
        raise pd_invalid("params must be a Hash")
    return b


def pd_post_incident(h, body, base):
    pd_auth(h, True)
    agent = pd_from(h)
    inc = pd_json(body).get("incident")
    if not isinstance(inc, dict):
        raise pd_invalid("incident is required")
    if inc.get("type") != "incident":
        raise pd_invalid("incident type must be incident")
    title = inc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise pd_invalid("Title cannot be empty.")
    svc = inc.get("service")
    if not isinstance(svc, dict) or svc.get("type") != "service_reference" \
            or not isinstance(svc.get("id"), str):
        raise pd_invalid("service must be a service_reference")
    if svc["id"] not in PD["services"]:
        raise pd_error(404, "Not Found", 2100, ["Service not found"])
    urgency = inc.get("urgency", PD["services"][svc["id"]]["urgency"])
    if urgency not in ("high", "low"):
        raise pd_invalid("urgency must be high or low")
    key = inc.get("incident_key")
    if key is not None and not isinstance(key, str):
        raise pd_invalid("incident_key must be a string")
    assignees = pd_assignees(inc)
    b = inc.get("body")
    if b is not None and (not isinstance(b, dict) or
                          b.get("type") != "incident_body"):
        raise pd_invalid("body must be an incident_body")
    if key is not None and any(
            i["incident_key"] == key and i["status"] != "resolved" and
            i["service"] == svc["id"] for i in PD["incidents"]):
        raise pd_error(400, "Arguments Caused Error", 2002, [
            "Open incident with matching dedup key already exists on this "
            "service"])
    direct = bool(assignees)
    if not direct:
        assignees = PD["services"][svc["id"]]["oncall"]
    created = pd_create(svc["id"], title, key, urgency, assignees, agent,
                        now(), details=(b or {}).get("details"),
                        direct=direct)
    return 201, {"incident": pd_incident_obj(created, base)}


def pd_assignees(inc):
    a = inc.get("assignments")
    if a is None:
        return []
    if "escalation_policy" in inc:
        raise pd_invalid("Assignments cannot be specified if an escalation "
                         "policy is given.")
    if not isinstance(a, list):
        raise pd_invalid("assignments must be an array")
    out = []
    for x in a:
        u = x.get("assignee") if isinstance(x, dict) else None
        if not isinstance(u, dict) or u.get("type") != "user_reference":
            raise pd_invalid("assignee must be a user_reference")
        if u.get("id") not in PD["users"]:
            raise pd_invalid("Assignee %s not found" % u.get("id"))
        if u["id"] not in out:
            out.append(u["id"])
    return out


def pd_put(h, path, body, base):
    pd_auth(h, True)
    m = PD_PATH.fullmatch(path)
    rest = (m.group("rest") or "").strip("/")
    if m.group("res") != "incidents" or "/" in rest:
        raise pd_error(404, "Not Found", 2100)
    agent = pd_from(h)
    b = pd_json(body)
    if rest:
        inc = pd_find(rest)
        if inc is None:
            raise pd_error(404, "Not Found", 2100)
        pd_update(inc, b.get("incident"), agent)
        return 200, {"incident": pd_incident_obj(inc, base)}
    items = b.get("incidents")
    if not isinstance(items, list) or not items:
        raise pd_invalid("incidents is required")
    if len(items) > 250:
        raise pd_error(413, "Request Entity Too Large")
    found = []
    for x in items:
        inc = pd_find(x.get("id")) if isinstance(x, dict) else None
        if inc is None:
            raise pd_error(404, "Not Found", 2100)
        found.append((inc, x))
    for inc, x in found:
        pd_status(x)
    for inc, x in found:
        pd_update(inc, x, agent)
    return 200, {"incidents": [pd_incident_obj(i, base) for i, _ in found],
                 "limit": len(found), "offset": 0, "more": False,
                 "total": None}


def pd_status(x):
    """The status an update asks for (None: none), or 400."""
    if not isinstance(x, dict) or x.get("type") not in (
            "incident", "incident_reference"):
        raise pd_invalid("type must be incident or incident_reference")
    st = x.get("status")
    if st not in (None, "acknowledged", "resolved", "triggered"):
        raise pd_invalid("status must be acknowledged, resolved or "
                         "triggered")
    return st


def pd_update(inc, x, agent):
    st = pd_status(x)
    if st is None:
        return
    action = {"acknowledged": "acknowledge", "resolved": "resolve",
              "triggered": "triggered"}[st]
    if st == "resolved" and inc["status"] == "resolved":
        return
    if st == "triggered" and inc["status"] != "resolved":
        return
    pd_act(inc, action, agent, now(), {"type": "api"},
           note=x.get("resolution"))


# --- Twilio: the Messages list ----------------------------------------------

def tw_auth(h, sid):
    auth = h.headers.get("Authorization", "")
    try:
        if not auth.startswith("Basic "):
            raise ValueError
        user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
    except ValueError:
        raise tw_error(401, 20003, "Authenticate")
    if user != sid or (ARGS.twilio_sid and user != ARGS.twilio_sid) or (
            ARGS.twilio_token and pw != ARGS.twilio_token):
        raise tw_error(401, 20003, "Authenticate")


def tw_store(sid, frm, to, body, at, direction, status, account):
    TW["messages"].append({"sid": sid, "from": frm, "to": to, "body": body,
                           "at": at, "direction": direction,
                           "status": status, "account": account})


def tw_date(v):
    """The UTC date of a DateSent value: YYYY-MM-DD as documented, or a
    date and time (ISO 8601, RFC 2822), of which only the date counts."""
    v = v.strip()
    try:
        return datetime.date.fromisoformat(v[:10])
    except ValueError:
        pass
    try:
        d = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        raise tw_error(400, 20001, "Invalid DateSent: " + v)
    return d.astimezone(datetime.timezone.utc).date()


def tw_list(h, path, q, sid):
    tw_auth(h, sid)
    try:
        size = int(qone(q, "PageSize", 50))
        page = int(qone(q, "Page", 0))
    except ValueError:
        raise tw_error(400, 20001, "PageSize and Page must be integers")
    if not 1 <= size <= 1000 or page < 0:
        raise tw_error(400, 20001, "PageSize must be 1 to 1000")
    msgs = [m for m in TW["messages"] if m["account"] in (None, sid)]
    for name, keep in (("To", lambda m, v: m["to"] == v),
                       ("From", lambda m, v: m["from"] == v),
                       ("DateSent", lambda m, v: day(m) == tw_date(v)),
                       ("DateSent<", lambda m, v: day(m) <= tw_date(v)),
                       ("DateSent>", lambda m, v: day(m) >= tw_date(v))):
        v = qone(q, name)
        if v is not None:
            msgs = [m for m in msgs if keep(m, v)]
    # Newest first; the page token names the last message of the page
    # before, so messages arriving meanwhile do not shift the pages.
    msgs.sort(key=lambda m: (m["at"], m["sid"]), reverse=True)
    tok = qone(q, "PageToken")
    if tok:
        at = [i for i, m in enumerate(msgs) if "PA" + m["sid"] == tok]
        if not at:
            raise tw_error(400, 20001, "Invalid PageToken")
        msgs = msgs[at[0] + 1:]
    elif page:
        msgs = msgs[page * size:]
    chunk = msgs[:size]
    return 200, tw_page(path, q, sid, chunk, page, size,
                        len(msgs) > size)


def day(m):
    return datetime.datetime.fromtimestamp(m["at"],
                                           datetime.timezone.utc).date()


def tw_page(path, q, sid, chunk, page, size, more):
    keep = [(k, qone(q, k)) for k in ("To", "From", "DateSent", "DateSent<",
                                      "DateSent>") if qone(q, k) is not None]

    def uri(p, tok=None):
        a = keep + [("PageSize", size), ("Page", p)]
        if tok:
            a.append(("PageToken", tok))
        return path + "?" + urllib.parse.urlencode(a)
    start = page * size
    return {"messages": [tw_obj(m, sid) for m in chunk],
            "uri": uri(page, qone(q, "PageToken")),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"])
            if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
            "page": page, "page_size": size, "start": start,
            "end": start + len(chunk) - 1 if chunk else start}


def tw_obj(m, sid):
    acct = m["account"] or sid
    u = "/2010-04-01/Accounts/%s/Messages/%s" % (acct, m["sid"])
    return {"account_sid": acct, "api_version": "2010-04-01",
            "body": m["body"], "date_created": rfc2822(m["at"]),
            "date_sent": rfc2822(m["at"]), "date_updated": rfc2822(m["at"]),
            "direction": m["direction"], "error_code": None,
            "error_message": None, "from": m["from"],
            "messaging_service_sid": None, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD",
            "sid": m["sid"], "status": m["status"], "to": m["to"],
            "subresource_uris": {"media": u + "/Media.json",
                                 "feedback": u + "/Feedback.json"},
            "uri": u + ".json"}


# --- Control hooks: how a test plays the responders -------------------------

def ctl_time(v):
    return now() if v is None else parse_time(v)


def ctl_users(c):
    for u in c["users"]:
        pd_add_user(u)
    return {"ok": True, "users": sorted(PD["users"])}


def ctl_services(c):
    for s in c["services"]:
        pd_add_service(s)
    return {"ok": True, "services": sorted(PD["services"])}


def ctl_clock(c):
    CLOCK["now"] = None if c.get("now") is None else parse_time(c["now"])
    return {"ok": True, "now": iso(now())}


def ctl_act(c):
    """A responder acts in PagerDuty: {"action": "acknowledge"|"resolve"|
    "note", "incident": ID or "incident_key": KEY (an incident's key or
    an alert's dedup key), "user": USER_ID (none: the service), "at":
    TIME, "channel": "mobile", "note": TEXT}."""
    action = c.get("action")
    if action not in ("acknowledge", "resolve", "note"):
        raise ValueError("action must be acknowledge, resolve or note")
    if "incident" in c:
        incs = [i for i in [pd_find(c["incident"])] if i]
    else:
        k = c["incident_key"]
        incs = [i for i in PD["incidents"] if i["status"] != "resolved" and
                (i["incident_key"] == k or any(a["alert_key"] == k
                                               for a in i["alerts"]))]
    if not incs:
        raise LookupError("no such open incident")
    user = c.get("user")
    if user is not None and user not in PD["users"]:
        raise LookupError("no such user: %s" % user)
    agent = ("user", user) if user else ("service", incs[0]["service"])
    if action == "note" and not isinstance(c.get("note"), str):
        raise ValueError("a note needs its text")
    for inc in incs:
        if inc["status"] == "resolved" and action != "note":
            raise LookupError("incident %s is resolved" % inc["id"])
    at = ctl_time(c.get("at"))
    for inc in incs:
        pd_act(inc, action, agent, at,
               {"type": c.get("channel", "website")}, note=c.get("note"))
    return {"ok": True, "incidents": [i["id"] for i in incs]}


def ctl_messages(c):
    """Inbound SMS to a Twilio number: {"from": "+15550101", "to":
    "+15550100", "body": "7KQ", "at": TIME}, or {"messages": [...]}."""
    sids = []
    for m in c.get("messages", [c]):
        for k in ("from", "to"):
            if not re.fullmatch(r"\+[1-9][0-9]{1,14}", str(m.get(k))):
                raise ValueError("%s must be an E.164 number" % k)
        if not isinstance(m.get("body"), str):
            raise ValueError("body must be a string")
        TW["seq"] += 1
        sid = "SM%032x" % TW["seq"]
        tw_store(sid, m["from"], m["to"], m["body"], ctl_time(m.get("at")),
                 "inbound", "received", ARGS.twilio_sid)
        sids.append(sid)
    return {"ok": True, "sids": sids}


def state_dump(base):
    return {"now": iso(now()),
            "pagerduty": {
                "users": [pd_user_full(u, base) for u in sorted(PD["users"])],
                "services": sorted(PD["services"]),
                "incidents": [pd_incident_obj(i, base, None, ["users"])
                              for i in PD["incidents"]],
                "log_entries": [pd_log_obj(e, base) for e in PD["log"]]},
            "twilio": {"messages": [tw_obj(m, m["account"] or "")
                                    for m in TW["messages"]]}}


CONTROL = {"/_control/pagerduty/users": ctl_users,
           "/_control/pagerduty/services": ctl_services,
           "/_control/pagerduty/act": ctl_act,
           "/_control/clock": ctl_clock,
           "/_control/twilio/messages": ctl_messages}


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

    def base(self, path):
        """The API's own URL as the client called it, for "self" links."""
        m = PD_PATH.fullmatch(path)
        return "http://%s%s" % (self.headers.get("Host", "127.0.0.1"),
                                m.group("pre") if m else "")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace")

    def do_GET(self):
        path, _, qs = self.path.partition("?")
        if path == "/_stats":
            with LOCK:
                self.answer(200, dict(STATS))
            return
        if path == "/_state":
            with LOCK:
                self.answer(200, state_dump(self.base("")))
            return
        q = urllib.parse.parse_qs(qs, keep_blank_values=True)
        m = TW_PATH.fullmatch(path)
        if m:
            self.api("twilio_list", "",
                     lambda: tw_list(self, path, q, m.group(1)))
        elif PD_PATH.fullmatch(path):
            self.api("pagerduty_rest", "",
                     lambda: pd_get(self, path, q, self.base(path)))
        else:
            self.answer(404, {"error": "not found"})

    def do_PUT(self):
        body = self.read_body()
        path = self.path.split("?")[0]
        if not PD_PATH.fullmatch(path):
            self.record("unknown", body, 404, "no such endpoint", None)
            self.answer(404, {"error": "no such endpoint"})
            return
        self.api("pagerduty_rest", body,
                 lambda: pd_put(self, path, body, self.base(path)))

    def api(self, kind, body, fn):
        """A request to one of the stateful APIs (PagerDuty REST, the
        Twilio Messages list): fault rules first, then fn() gives
        (status, answer) or raises ApiError, the provider's error."""
        done, fault = self.before(kind, body)
        if done:
            return
        extra, reason = {}, None
        try:
            with LOCK:
                status, res = fn()
        except ApiError as e:
            status, res, extra = e.status, e.body, dict(e.headers)
            reason = json.dumps(res)
        if kind == "pagerduty_rest":
            extra.update(rate_headers())
        self.record(kind, body, status, reason, fault)
        self.answer(status, res, extra=extra)

    def fault(self, kind, body, r):
        """Applies fault rule r; True when it answered the request."""
        mode = r["mode"]
        if mode == "slow":
            time.sleep(r.get("latency_ms", 1000) / 1000.0)
            return False
        if mode == "drop":
            self.record(kind, body, 0, "dropped", "drop")
            self.close_connection = True
        elif mode == "429":
            self.record(kind, body, 429, "rate limited", "429")
            self.answer(429, *fault_429(kind, r))
        elif mode == "500":
            self.record(kind, body, 500, "server error", "500")
            self.answer(500, fault_500(kind))
        elif mode == "answer":
            st = int(r.get("status", 400))
            self.record(kind, body, st, "canned answer", "answer")
            self.answer(st, r.get("body", ""), r.get("ctype", "text/plain"))
        return True

    def do_POST(self):
        body = self.read_body()
        path = self.path.split("?")[0]
        if path == "/_control":
            self.control(body)
            return
        if path in CONTROL:
            self.control_state(path, body)
            return
        m = TW_PATH.fullmatch(path)
        pm = PD_PATH.fullmatch(path)
        if path.endswith("/v2/enqueue"):
            kind = "pagerduty"
        elif path.startswith("/services/"):
            kind = "slack"
        elif path.startswith("/slack/response/"):
            kind = "slack_response"
        elif path.endswith("/conversations.create"):
            kind = "slack_api"
        elif path.endswith("/chat.postMessage"):
            kind = "slack_post"
        elif m:
            kind = "twilio"
        elif path.startswith("/hook"):
            kind = "webhook"
        elif pm and pm.group("res") == "incidents" and not pm.group("rest"):
            self.api("pagerduty_rest", body, lambda: pd_post_incident(
                self, body, self.base(path)))
            return
        else:
            self.record("unknown", body, 404, "no such endpoint", None)
            self.answer(404, {"error": "no such endpoint"})
            return
        done, fault = self.before(kind, body)
        if not done and kind == "pagerduty" and pd_throttled(body):
            self.record(kind, body, 429, "past the Events API rate",
                        "rate")
            self.answer(429, PD_EVENTS_429)
            return
        if not done:
            self.deliver(kind, body, fault, m)

    def before(self, kind, body):
        """Latency, the fault rule, a client gone: (True, _) when the
        request was answered or dropped here, else (False, the fault)."""
        if ARGS.latency_ms:
            time.sleep(ARGS.latency_ms / 1000.0)
        r = rule_take(self.path.split("?")[0])
        if r is not None and self.fault(kind, body, r):
            return True, None
        fault = r["mode"] if r else None
        if self.client_gone():
            # Like a provider that drops a request whose client hung up
            # before the answer: a killed sender's request is not
            # processed, so its retry is not a duplicate.
            self.record(kind, body, 499, "client closed the connection "
                        "before the answer", fault)
            self.close_connection = True
            return True, None
        return False, fault

    def deliver(self, kind, body, fault, m):
        """The stateless endpoints esc-notify posts to; a PagerDuty event
        or a Twilio message that is accepted also enters the state."""
        try:
            if kind == "pagerduty":
                res, status, ctype = check_pagerduty(self, body), 202, \
                    "application/json"
                with LOCK:
                    pd_event(json.loads(body), res)
            elif kind == "slack":
                res, status, ctype = check_slack(self, body), 200, \
                    "text/plain"
            elif kind == "slack_api":
                res, status, ctype = check_slack_api(self, body), 200, \
                    "application/json"
            elif kind == "slack_response":
                res, status, ctype = check_slack_response(self, body), \
                    200, "application/json"
            elif kind == "slack_post":
                res, status, ctype = check_slack_post(self, body), 200, \
                    "application/json"
            elif kind == "twilio":
                res, status, ctype = check_twilio(self, body, m.group(1)), \
                    201, "application/json"
                with LOCK:
                    tw_store(res["sid"], res["from"], res["to"], res["body"],
                             now(), "outbound-api", "sent", m.group(1))
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

    def control_state(self, path, body):
        try:
            c = json.loads(body or "{}")
            if not isinstance(c, dict):
                raise ValueError("the body must be an object")
            with LOCK:
                res = CONTROL[path](c)
        except LookupError as e:
            self.answer(404, {"error": str(e).strip("'\"")})
            return
        except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError) as e:
            self.answer(400, {"error": str(e)})
            return
        self.answer(200, res)


TW_PATH = re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages\.json")


def fault_429(kind, r):
    """A rate-limited answer in the provider's shape: PagerDuty's REST
    API documents the ratelimit-* headers (ratelimit-reset: the seconds to
    wait), the others get Retry-After."""
    if kind == "pagerduty_rest":
        h = {"ratelimit-limit": "960", "ratelimit-remaining": "0",
             "ratelimit-reset": str(r.get("reset", r.get(
                 "retry_after", ARGS.retry_after)))}
        if "retry_after" in r:
            h["Retry-After"] = str(r["retry_after"])
        return {"error": {"message": "Rate Limit Exceeded"}}, \
            "application/json", h
    h = {"Retry-After": str(r.get("retry_after", ARGS.retry_after))}
    if kind == "twilio_list":
        if "retry_after" not in r:
            h = {}
        return tw_error(429, 20429, "Too Many Requests").body, \
            "application/json", h
    return {"error": "rate_limited"}, "application/json", h


# The Events API's answer past its rate: PagerDuty documents the status
# ("429: Too many API calls at a time", retry after some time), no
# Retry-After or ratelimit-* header; the body is the one its events
# endpoint gives when throttling.
PD_EVENTS_429 = {"status": "throttle exceeded",
                 "message": "Requests for this service are arriving too "
                 "quickly.  Please retry later."}
PD_RATE = {}


def pd_throttled(body):
    """--pd-events-rate N/SECONDS: True when this event is past N in the
    sliding window of SECONDS of its routing key (PagerDuty: about 120 a
    minute per integration key).  Throttled events do not count."""
    if not ARGS.pd_events_rate:
        return False
    n, _, secs = ARGS.pd_events_rate.partition("/")
    n, secs = int(n), float(secs or 60)
    try:
        key = json.loads(body).get("routing_key")
    except (ValueError, AttributeError):
        return False
    t = time.time()
    with LOCK:
        w = PD_RATE.setdefault(key, [])
        while w and w[0] <= t - secs:
            w.pop(0)
        if len(w) >= n:
            return True
        w.append(t)
    return False


def fault_500(kind):
    if kind == "pagerduty_rest":
        return {"error": {"message": "Internal Error", "code": 2000}}
    if kind == "twilio_list":
        return tw_error(500, 20500, "Internal Server Error").body
    return {"error": "internal"}


def rate_headers():
    """PagerDuty's ratelimit-* headers on every REST answer: 960 a
    minute, counted in the current minute of the wall clock."""
    t = int(time.time())
    with LOCK:
        w = PD["window"]
        if w[0] != t // 60:
            w[0], w[1] = t // 60, 0
        w[1] += 1
        left = max(0, 960 - w[1])
    return {"ratelimit-limit": "960", "ratelimit-remaining": str(left),
            "ratelimit-reset": str(60 - t % 60)}


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
    for k in ("retry_after", "reset", "latency_ms", "status", "body",
              "ctype"):
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
    ap.add_argument("--pd-events-rate", help="N/SECONDS: the Events API's "
                    "rate per routing key, 429 past it (PagerDuty "
                    "documents 120/60); default: no limit")
    ap.add_argument("--slack-token")
    ap.add_argument("--twilio-sid")
    ap.add_argument("--twilio-token")
    ap.add_argument("--pd-token", action="append", default=[],
                    help="a REST API token (default: any is accepted)")
    ap.add_argument("--pd-read-token", action="append", default=[],
                    help="a read-only REST API token")
    ap.add_argument("--pd-service", default=PD_DEFAULT_SERVICE,
                    help="the service the Events API integration feeds")
    ap.add_argument("--pd-user", action="append", default=[],
                    help="ID:EMAIL[:NAME], a PagerDuty user")
    ap.add_argument("--pd-time-zone", default="UTC",
                    help="the account time zone of REST answers")
    ap.add_argument("--now", help="the clock (ISO 8601); default: the wall "
                    "clock")
    ARGS = ap.parse_args()
    try:
        for u in ARGS.pd_user:
            i, _, rest = u.partition(":")
            mail, _, name = rest.partition(":")
            pd_add_user({"id": i, "email": mail, "name": name or None})
        pd_add_service({"id": ARGS.pd_service, "name": "StemeDB"})
        zone(ARGS.pd_time_zone)
        CLOCK["now"] = parse_time(ARGS.now) if ARGS.now else None
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as e:
        ap.error(str(e))
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
