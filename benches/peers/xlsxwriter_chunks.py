"""Writes a .csv as .xlsx chunk files of N rows (header repeated) with XlsxWriter in
constant_memory mode, every cell as a string; prints chunks and cells written.

Usage: python xlsxwriter_chunks.py FILE.csv OUT_DIR ROWS_PER_CHUNK
"""
import csv, os, sys, xlsxwriter
src, out, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
with open(src, newline="", encoding="utf-8-sig") as f:
    reader = csv.reader(f)
    header = next(reader)
    wb = ws = None
    index = n = cells = 0
    def start():
        global wb, ws, index, n
        index += 1
        n = 0
        wb = xlsxwriter.Workbook(os.path.join(out, "contacts-%05d.xlsx" % index), {"constant_memory": True})
        ws = wb.add_worksheet("Sheet1")
        for c, v in enumerate(header):
            ws.write_string(0, c, v)
    for record in reader:
        if wb is None:
            start()
        n += 1
        for c, v in enumerate(record):
            if v:
                ws.write_string(n, c, v)
                cells += 1
        if n == per:
            wb.close()
            wb = None
    if wb is not None:
        wb.close()
print(index, cells)
