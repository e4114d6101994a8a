"""Side-by-side timings of elma-import and Python peers; run by benches/compare.sh.

Each task runs as a child process; wall time and CPU time (user + system, from the
children's rusage) are taken around it. Prints the commands, a table and a JSON line.
"""

import json
import os
import resource
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, ok=(0,)):
    """Runs cmd; returns (wall seconds, cpu seconds, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout.decode(errors="replace")



def main():
    venv_bin = sys.argv[1]
    csv_path, xlsx_path, chunk_csv = sys.argv[2], sys.argv[3], sys.argv[4]
    out = sys.argv[5]
    elma = os.path.join(ROOT, "target/release/elma-import")
    measure = os.path.join(ROOT, "target/release/measure")
    py = os.path.join(venv_bin, "python")
    schema = "templates/crm.contacts.schema.json"
    fschema = "benches/frictionless/contacts.schema.json"
    results = []

    def count_rows(path):
        with open(path, "rb") as f:
            import csv as _csv
            import io
            return sum(1 for _ in _csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))) - 1

    # (a) validate the same .csv
    rows = count_rows(os.path.join(ROOT, csv_path))
    a1 = [elma, "validate", csv_path, "--schema", schema, "--json", "--quiet"]
    a2 = [os.path.join(venv_bin, "frictionless"), "validate", csv_path, "--schema", fschema,
          "--limit-errors", "100000000", "--json"]
    w1, c1, o1 = run(a1, ok=(0, 1))
    w2, c2, o2 = run(a2, ok=(0, 1))
    errors_elma = json.loads(o1).get("errors")
    try:
        report = json.loads(o2)
        tasks = report.get("tasks") or []
        errors_fl = sum(len(t.get("errors", [])) for t in tasks)
    except ValueError:
        errors_fl = None
    results.append(("validate .csv (%d rows)" % rows, "rows/s", rows, w1, c1, w2, c2, a1, a2,
                    "errors found: elma-import %s, frictionless %s" % (errors_elma, errors_fl)))

    # (b) read an .xlsx
    b1 = [measure, "read", xlsx_path]
    b2 = [py, "benches/peers/openpyxl_read.py", xlsx_path]
    w1, c1, o1 = run(b1)
    w2, c2, o2 = run(b2)
    xrows = json.loads(o1)["rows"]
    prow = int(o2.split()[0])
    results.append(("read .xlsx (%d rows)" % xrows, "rows/s", xrows, w1, c1, w2, c2, b1, b2,
                    "rows read: elma-import %d, openpyxl %d" % (xrows, prow)))

    # (c) write 1,000-row .xlsx chunks
    d1, d2 = os.path.join(out, "chunks-elma"), os.path.join(out, "chunks-xlsxwriter")
    c_1 = [elma, "split", chunk_csv, "-o", d1, "--rows", "1000", "--format", "xlsx", "--json", "--quiet"]
    c_2 = [py, "benches/peers/xlsxwriter_chunks.py", chunk_csv, d2, "1000"]
    w1, c1, o1 = run(c_1)
    w2, c2, o2 = run(c_2)
    files, cells = (int(x) for x in o2.split())
    results.append(("write 1,000-row .xlsx chunks (%d cells)" % cells, "cells/s", cells, w1, c1, w2, c2, c_1, c_2,
                    "chunks: elma-import %s, XlsxWriter %d" % (json.loads(o1).get("chunks"), files)))

    print("\nCommands (run from the workspace root):")
    for r in results:
        print("  %s\n    elma-import: %s\n    peer:        %s" % (r[0], shlex.join(r[7]), shlex.join(r[8])))
    print()
    head = "%-44s %-8s %12s %12s %14s %12s %12s %14s %8s %8s" % (
        "task", "unit", "elma wall s", "elma cpu s", "elma /s/core", "peer wall s", "peer cpu s", "peer /s/core",
        "ratio", "ratio/core")
    print(head)
    print("-" * len(head))
    summary = []
    for (task, unit, n, w1, c1, w2, c2, _, _, note) in results:
        e_core, p_core = n / max(c1, 1e-9), n / max(c2, 1e-9)
        print("%-44s %-8s %12.2f %12.2f %14.0f %12.2f %12.2f %14.0f %7.1fx %7.1fx" % (
            task, unit, w1, c1, e_core, w2, c2, p_core, w2 / max(w1, 1e-9), e_core / max(p_core, 1e-9)))
        print("    %s" % note)
        summary.append({"task": task, "unit": unit, "n": n, "elma_wall_s": round(w1, 3), "elma_cpu_s": round(c1, 3),
                        "peer_wall_s": round(w2, 3), "peer_cpu_s": round(c2, 3),
                        "wall_ratio": round(w2 / max(w1, 1e-9), 2), "per_core_ratio": round(e_core / max(p_core, 1e-9), 2),
                        "note": note})
    print("\nratio = peer wall / elma-import wall; ratio/core = elma-import per-CPU-second rate / peer's.")
    print("JSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
