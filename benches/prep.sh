#!/usr/bin/env bash
# Preparation at the parsing limit (issue 9): each task beside its reference, in one
# run, repeated; prints every round and the spread of each ratio.
#
#   benches/prep.sh                      # ROWS=1000000 XLSX_ROWS=100000 REPEAT=3
#   XSV=/path/to/xsv benches/prep.sh     # xsv from elsewhere (default: $PATH, then
#                                        # benches/out/xsv/bin/xsv)
#   NO_BUILD=1 benches/prep.sh           # use the release binaries as they are
#   NO_POLARS=1 benches/prep.sh          # without the polars script
#   RSS_ROWS=0 benches/prep.sh           # without the 1M-row .xlsx memory check
#
# xsv is only for measuring: `cargo install xsv --root benches/out/xsv`. The polars
# script (benches/peers/polars_validate.py) runs in benches/out/venv, where polars is
# installed from PyPI when missing (POLARS_PY=/path/to/python to use another).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
XLSX_ROWS=${XLSX_ROWS:-100000}
REPEAT=${REPEAT:-3}
OUT=benches/out/prep
SCHEMA=templates/crm.contacts.schema.json
BIN=target/release/elma-import
MEASURE=target/release/measure
XSV=${XSV:-$(command -v xsv || echo benches/out/xsv/bin/xsv)}
POLARS_PY=${POLARS_PY:-benches/out/venv/bin/python}
RSS_ROWS=${RSS_ROWS:-1000000}

if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p elma-import-cli -p elma-import-benches
fi
mkdir -p "$OUT"
CSV=$OUT/contacts-$ROWS.csv
XLSX=$OUT/contacts-$XLSX_ROWS.xlsx
[ -f "$CSV" ] || "$MEASURE" gen --rows "$ROWS" --csv "$CSV" >/dev/null
[ -f "$XLSX" ] || "$MEASURE" gen --rows "$XLSX_ROWS" --xlsx "$XLSX" >/dev/null
if [ -z "${NO_POLARS:-}" ] && ! "$POLARS_PY" -c 'import polars' 2>/dev/null; then
  echo "installing polars into benches/out/venv ..." >&2
  python3 -m venv benches/out/venv
  benches/out/venv/bin/pip install -q polars
  POLARS_PY=benches/out/venv/bin/python
fi

# time_of NAME CMD...: appends "NAME wall user sys maxrss_kb" to $OUT/times.
time_of() {
  local name=$1
  shift
  /usr/bin/time -f "$name %e %U %S %M" -a -o "$OUT/times" "$@" >/dev/null 2>"$OUT/last.err" || {
    local code=$?
    # validate exits 1 on a file with errors: that is its answer, not a failure.
    if [ "$name" != validate ] || [ $code -ne 1 ]; then
      echo "$name failed ($code):" >&2
      cat "$OUT/last.err" >&2
      exit 1
    fi
  }
}

rm -f "$OUT/times"
for round in $(seq 1 "$REPEAT"); do
  echo "round $round of $REPEAT ..." >&2
  echo "round $round" >>"$OUT/times"
  time_of csv_bare "$MEASURE" read "$CSV" --bare-csv
  time_of validate "$BIN" validate "$CSV" --schema "$SCHEMA" --errors "$OUT/errors.csv" --quiet
  if [ -z "${NO_POLARS:-}" ]; then
    time_of polars "$POLARS_PY" benches/peers/polars_validate.py "$CSV"
  fi
  if [ -x "$XSV" ]; then
    rm -rf "$OUT/xsv" && mkdir -p "$OUT/xsv"
    time_of xsv_split "$XSV" split -s 1000 "$OUT/xsv" "$CSV"
  fi
  rm -rf "$OUT/split-csv"
  time_of split_csv "$BIN" split "$CSV" -o "$OUT/split-csv" --rows 1000 --format csv --quiet
  rm -rf "$OUT/split-xlsx-1"
  time_of split_xlsx_1thread env RAYON_NUM_THREADS=1 "$BIN" split "$CSV" -o "$OUT/split-xlsx-1" --rows 1000 --format xlsx --quiet
  rm -rf "$OUT/split-xlsx"
  time_of split_xlsx "$BIN" split "$CSV" -o "$OUT/split-xlsx" --rows 1000 --format xlsx --quiet
  time_of calamine_bare "$MEASURE" read "$XLSX" --bare
  time_of xlsx_validate "$MEASURE" read "$XLSX" --validate
done
rm -rf "$OUT/xsv" "$OUT/split-csv" "$OUT/split-xlsx" "$OUT/split-xlsx-1"

# Memory, once: validate a large .xlsx (the CSV's peak RSS is in the table above).
if [ "$RSS_ROWS" -gt 0 ]; then
  BIG=$OUT/contacts-$RSS_ROWS.xlsx
  [ -f "$BIG" ] || "$MEASURE" gen --rows "$RSS_ROWS" --xlsx "$BIG" >/dev/null
  echo "memory" >>"$OUT/times"
  time_of validate "$BIN" validate "$BIG" --schema "$SCHEMA" --errors "$OUT/errors-xlsx.csv" --quiet
fi

python3 - "$OUT/times" "$ROWS" "$XLSX_ROWS" "$RSS_ROWS" <<'EOF'
import sys
rounds, cur, memory = [], None, None
for line in open(sys.argv[1]):
    w = line.split()
    if not w or w[0] == "Command":  # "Command exited with non-zero status 1" (validate)
        continue
    if w[0] == "round":
        cur = {}
        rounds.append(cur)
    elif w[0] == "memory":
        cur = memory = {}
    else:
        cur[w[0]] = (float(w[1]), float(w[2]), float(w[3]), int(w[4]))
rows, xrows = sys.argv[2], sys.argv[3]
print(f"{rows} CSV rows, {xrows} .xlsx rows, {len(rounds)} rounds; wall s (user+sys CPU s, peak RSS MiB)\n")
names = list(rounds[0])
print("| task | " + " | ".join(f"round {i+1}" for i in range(len(rounds))) + " |")
print("|---|" + "---|" * len(rounds))
for n in names:
    cells = [f"{r[n][0]:.2f} ({r[n][1]+r[n][2]:.2f}, {r[n][3]//1024})" for r in rounds if n in r]
    print(f"| {n} | " + " | ".join(cells) + " |")
pairs = [("validate", "csv_bare", "validate --errors ÷ bare csv parse (target ≤ 2)"),
         ("validate", "polars", "validate --errors ÷ the polars script, counts only (target < 1)"),
         ("split_csv", "xsv_split", "split --format csv ÷ xsv split (target ≤ 1.0)"),
         ("split_xlsx_1thread", "split_xlsx", "split --format xlsx, 1 thread ÷ all (target ≥ 1.7)"),
         ("xlsx_validate", "calamine_bare", ".xlsx read+validate ÷ bare calamine (target ≤ 1.1)")]
print()
for a, b, label in pairs:
    ratios = [r[a][0] / r[b][0] for r in rounds if a in r and b in r and r[b][0] > 0]
    cpu = [(r[a][1] + r[a][2]) / (r[b][1] + r[b][2]) for r in rounds if a in r and b in r and r[b][1] + r[b][2] > 0]
    if ratios:
        print(f"{label}: wall " + ", ".join(f"{x:.2f}" for x in ratios)
              + f" (min {min(ratios):.2f}, max {max(ratios):.2f}); CPU " + ", ".join(f"{x:.2f}" for x in cpu))
if memory and "validate" in memory:
    print(f"\nvalidate of a {sys.argv[4]}-row .xlsx: {memory['validate'][0]:.2f} s, "
          f"peak RSS {memory['validate'][3] // 1024} MiB (target ≤ 200)")
EOF
