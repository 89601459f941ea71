#!/usr/bin/python3
"""readme.py - runs the commands of README's tour and checks their output.

In README, a command is an indented line "    $ command"; the indented
lines after it, up to a blank line or the next command, are its output.
All commands run in one bash, in order, from the top of the tree, so that
exports and variables carry over.  Every command must exit 0 and print
exactly what README shows.

  readme.py README            check; exit 1 with a diff on a mismatch
  readme.py --fill README     rewrite README with the outputs of a run
  --bin DIR                   run DIR's programs where README says build/std
"""
import os
import re
import subprocess
import sys

args = sys.argv[1:]
fill = "--fill" in args
bindir = None
if "--bin" in args:
    bindir = args[args.index("--bin") + 1]
    del args[args.index("--bin"):args.index("--bin") + 2]
args = [a for a in args if a != "--fill"]
path = args[0]
top = os.path.dirname(os.path.abspath(path))
lines = open(path, encoding="utf-8").read().split("\n")

# Commands and the line ranges of their shown output.
cmds = []
i = 0
while i < len(lines):
    m = re.match(r"^    \$ (.*)$", lines[i])
    if m:
        j = i + 1
        while j < len(lines) and lines[j].startswith("    ") and not lines[j].startswith("    $ "):
            j += 1
        cmds.append((m.group(1), i + 1, j))
        i = j
    else:
        i += 1

script = ["set -o pipefail", "cd " + top]
for n, (cmd, _, _) in enumerate(cmds):
    if bindir:
        cmd = cmd.replace("$PWD/build/std", bindir)
    script += ["(exit 0)", cmd + " 2>&1", 'echo "@@END %d $?"' % n]
run = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True,
                     text=True, timeout=600)
outs, rcs, cur = [], [], []
for line in run.stdout.split("\n"):
    m = re.match(r"^@@END (\d+) (\d+)$", line)
    if m:
        outs.append(cur)
        rcs.append(int(m.group(2)))
        cur = []
    else:
        cur.append(line)
if len(outs) != len(cmds):
    sys.exit("readme.py: the tour stopped after %d of %d commands:\n%s" %
             (len(outs), len(cmds), run.stderr))

bad = 0
for n, (cmd, a, b) in enumerate(cmds):
    got = ["    " + l if l else "" for l in outs[n]]
    shown = lines[a:b]
    if rcs[n] != 0:
        print("readme.py: exit %d: %s" % (rcs[n], cmd))
        print("\n".join(outs[n]))
        bad = 1
    elif not fill and got != shown:
        print("readme.py: output differs: %s" % cmd)
        print("--- README\n" + "\n".join(shown) + "\n--- run\n" + "\n".join(got))
        bad = 1
if fill and not bad:
    new = []
    last = 0
    for n, (cmd, a, b) in enumerate(cmds):
        new += lines[last:a]
        new += ["    " + l if l else "" for l in outs[n]]
        last = b
    new += lines[last:]
    open(path, "w", encoding="utf-8").write("\n".join(new))
print("readme.py: %d commands, %s" % (len(cmds), "mismatch" if bad else "all as shown"))
sys.exit(bad)
