"""The crm.contacts checks of `elma-import validate`, written as a polars script: the
whole file parsed on every core (all columns as text), one vectorised expression per
column, counts only (no report of which cell broke which rule, no fixes).

    python polars_validate.py contacts.csv

Prints one JSON line: rows, invalid rows, bad cells per column, seconds.
"""

import json
import sys
import time

import polars as pl

UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
NUMBER = r"^[+-]?[0-9]+([.,][0-9]+)?$"
SEGMENTS = ["Retail", "Wholesale", "Courier delivery", "Partner", "VIP"]


def checks():
    """Column → expression that is true for a bad cell (blank cells are fine except
    where the field is required)."""

    def text(name):
        t = pl.col(name).str.strip_chars()
        return pl.when(t == "").then(None).otherwise(t)

    def filled(name):
        return text(name).is_not_null()

    date = text("Birth date")
    # A date without a time is midnight: one format to parse.
    whole = pl.when(date.str.len_bytes() == 10).then(date + " 00:00").otherwise(date)
    parsed = whole.str.strptime(pl.Datetime, "%d.%m.%Y %H:%M", strict=False)
    # Dot-separated runs of allowed characters: no dot first, last or twice in a row; the
    # domain has at least two labels.
    part = r'[^.@\s(),;:<>\[\]\\"]+'
    address = f"^{part}(\\.{part})*@{part}(\\.{part})+$"
    return {
        "Name": text("Name").is_null(),
        "Email": filled("Email") & ~text("Email").str.contains(address),
        "Phone": filled("Phone") & ~text("Phone").str.contains(r"^[0-9]{10,15}$"),
        "Birth date": filled("Birth date")
        & (~whole.str.contains(r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4} [0-9]{2}:[0-9]{2}$") | parsed.is_null()),
        "Amount": filled("Amount") & ~text("Amount").str.contains(NUMBER),
        "Quantity": filled("Quantity") & ~text("Quantity").str.contains(NUMBER),
        "Active": filled("Active") & ~text("Active").str.to_lowercase().is_in(["true", "false"]),
        "Segment": filled("Segment") & ~text("Segment").is_in(SEGMENTS),
        "Website": filled("Website") & ~text("Website").str.contains(r"(?i)^https?://[^\s/?#.:][^\s]*$"),
        "Manager": filled("Manager") & ~text("Manager").str.contains("^\\[" + UUID + "\\]$"),
        "Company": filled("Company") & ~text("Company").str.contains("^\\[" + UUID + "\\]$"),
    }


def main():
    path = sys.argv[1]
    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False)
    flags = frame.select([expr.fill_null(False).alias(name) for name, expr in checks().items()])
    counts = flags.select(
        [pl.col(name).sum() for name in flags.columns]
        + [pl.any_horizontal(pl.all()).sum().alias("__invalid")]
    ).row(0, named=True)
    seconds = time.perf_counter() - started
    invalid = counts.pop("__invalid")
    print(json.dumps({
        "rows": frame.height, "invalid_rows": invalid, "bad_cells": sum(counts.values()),
        "by_column": counts, "seconds": round(seconds, 3), "polars": pl.__version__,
    }))


if __name__ == "__main__":
    main()
