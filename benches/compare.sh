#!/usr/bin/env bash
# Side-by-side timings of elma-import and Python peers on the same generated inputs:
#   (a) validate a .csv:           elma-import validate   vs  frictionless validate
#   (b) read an .xlsx:             measure read (sheet reader) vs openpyxl read_only
#   (c) write 1,000-row .xlsx chunks: elma-import split   vs  XlsxWriter (constant_memory)
# Prints the exact commands, a table (wall, CPU, rate per core, ratios) and a JSON line.
#
# Usage: benches/compare.sh            (ROWS=200000 by default; ROWS=50000 benches/compare.sh)
# Peers are installed from PyPI into benches/out/venv; inputs and outputs go to
# benches/out/compare (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-200000}
OUT=benches/out/compare
VENV=benches/out/venv
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/frictionless" ] || ! "$VENV/bin/python" -c 'import openpyxl, xlsxwriter' 2>/dev/null; then
    echo "installing frictionless, openpyxl, XlsxWriter into $VENV ..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q frictionless openpyxl XlsxWriter
fi
"$VENV/bin/pip" list 2>/dev/null | grep -iE '^(frictionless|openpyxl|XlsxWriter) ' >&2 || true

echo "building release binaries ..." >&2
cargo build --release -q -p elma-import-cli --bin elma-import
cargo build --release -q -p elma-import-benches --bin measure

CSV="$OUT/contacts-$ROWS.csv"
XLSX="$OUT/contacts-$ROWS.xlsx"
if [ ! -f "$CSV" ] || [ ! -f "$XLSX" ]; then
    echo "generating $ROWS-row samples ..." >&2
    target/release/measure gen --rows "$ROWS" --csv "$CSV" --xlsx "$XLSX" >&2
fi
rm -rf "$OUT/chunks-elma" "$OUT/chunks-xlsxwriter"

"$VENV/bin/python" --version >&2
python3 benches/compare.py "$VENV/bin" "$CSV" "$XLSX" "$CSV" "$OUT"
