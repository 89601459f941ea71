#!/usr/bin/python3
# Reads an HTML document (the review page, or the DOM headless Chromium
# dumps of it) and prints the facts the tests assert on, one a line:
#   cell ID CLASS: TEXT        each element of the targets panel with an id
#   verdict: TEXT
#   rec KIND SUBJECT: TEXT     each recommendation
#   tick FIGURE CLASS: TEXT    each axis tick label of each chart
#   axis FIGURE: TEXT          each axis title
#   target FIGURE: TEXT        each target line's label
#   person WHO: CELL | CELL    each row of the on-call load table
#   shift: CELL | CELL         each row of the pages-per-shift table
# usage: t/domfacts.py page.html
import sys
from html.parser import HTMLParser


class Facts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []     # (tag, attrs) of the open elements
        self.grab = []      # [label, text] being collected, innermost last
        self.out = []
        self.cells = None

    def inside(self, key, val):
        for tag, a in reversed(self.stack):
            if a.get(key) and val in a.get(key).split():
                return a
        return None

    def figure(self):
        for tag, a in reversed(self.stack):
            if tag == "figure":
                return a.get("id", "?")
        return "-"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("meta", "br"):       # void: no end tag comes
            return
        self.stack.append((tag, a))
        cls = a.get("class", "")
        label = None
        if tag == "td" and a.get("id", "").startswith("target-"):
            label = "cell %s %s" % (a["id"], cls)
        elif a.get("id") == "verdict":
            label = "verdict"
        elif tag == "li" and "rec" in cls.split():
            label = "rec %s %s" % (a.get("data-kind"), a.get("data-subject"))
        elif tag == "text" and "tick" in cls.split():
            label = "tick %s %s" % (self.figure(), cls.replace(" ", "."))
        elif tag == "text" and "axis-title" in cls.split():
            label = "axis %s" % self.figure()
        elif tag == "text" and self.inside("class", "target-line"):
            label = "target %s" % self.figure()
        elif tag == "tr" and "person" in cls.split():
            self.cells = ["person %s" % a.get("data-person"), []]
        elif tag == "tr" and self.inside("id", "shift-table"):
            self.cells = ["shift", []]
        elif tag == "td" and self.cells is not None:
            label = "td"
        if label:
            self.grab.append([label, "", len(self.stack)])

    def handle_endtag(self, tag):
        if not self.stack:
            return
        depth = len(self.stack)
        if self.grab and self.grab[-1][2] == depth:
            label, text, _ = self.grab.pop()
            text = " ".join(text.split())
            if label == "td":
                self.cells[1].append(text)
            else:
                self.out.append("%s: %s" % (label, text))
        if tag == "tr" and self.cells is not None:
            if self.cells[1]:
                self.out.append("%s: %s" % (self.cells[0],
                                            " | ".join(self.cells[1])))
            self.cells = None
        self.stack.pop()

    def handle_data(self, data):
        for g in self.grab:
            g[1] += data


p = Facts()
p.feed(open(sys.argv[1], encoding="utf-8").read())
print("\n".join(p.out))
