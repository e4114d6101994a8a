"""Reads every row of an .xlsx with openpyxl in read-only mode; prints rows and non-empty cells.

Usage: python openpyxl_read.py FILE.xlsx
"""
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
rows = cells = 0
for row in ws.iter_rows(min_row=2, values_only=True):
    rows += 1
    cells += sum(1 for v in row if v is not None)
print(rows, cells)
