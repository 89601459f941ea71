#!/bin/sh
# Opens an HTML file in headless Chromium (Debian package "chromium") and
# writes a PNG screenshot of it, then says whether the picture is blank.
# usage: t/screenshot.sh page.html shot.png
# Prints "pixels=N nonwhite=N colors=N" and the count of pixels of each
# colour given in $COLORS ("r,g,b r,g,b ..."), e.g. "217,56,58=1234".
# Exit 0 when the shot is not blank, 1 when it is, 2 when it could not be
# taken, 77 when Chromium is not installed.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 page.html shot.png" >&2; exit 2; }
chrome=
for c in chromium chromium-browser google-chrome; do
	if command -v "$c" >/dev/null 2>&1; then chrome=$c; break; fi
done
[ -n "$chrome" ] || { echo "$0: chromium is not installed (Debian package chromium)" >&2; exit 77; }
html=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# No network: the page must be self-contained, and a fetch would fail.
timeout 60 "$chrome" --headless --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --user-data-dir="$profile" \
    --proxy-server=127.0.0.1:9 --hide-scrollbars --window-size=1000,1800 \
    --screenshot="$2" "file://$html" >/dev/null 2>&1 || true
[ -s "$2" ] || { echo "$0: no screenshot written" >&2; exit 2; }
exec /usr/bin/python3 - "$2" "${COLORS:-}" <<'PY'
# A PNG decoder small enough to read here: 8-bit RGB or RGBA, not
# interlaced, which is what Chromium writes.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and inter == 0, "unsupported PNG"
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
counts = {}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3])
        counts[px] = counts.get(px, 0) + 1
    prev = line
total = w * h
white = counts.get(b"\xff\xff\xff", 0)
print("pixels=%d nonwhite=%d colors=%d" % (total, total - white, len(counts)))
for spec in sys.argv[2].split():
    r, g, b = (int(v) for v in spec.split(","))
    print("%s=%d" % (spec, counts.get(bytes((r, g, b)), 0)))
sys.exit(0 if total - white > total // 100 and len(counts) > 2 else 1)
PY
