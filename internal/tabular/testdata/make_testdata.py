"""Writes the golden inputs of the tabular package's tests with pandas and pyarrow, and
next to each a .expected.json: what pandas/pyarrow read from it, as
{"columns": [{"name", "type": double|long|boolean|string, "values": [...]}]} with null
for missing and "NaN"/"inf"/"-inf" for those doubles.

Run from the repo root: .venv/bin/python internal/tabular/testdata/make_testdata.py
"""

import io
import json
import math
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))


def cell(v, typ):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v) and typ != "double"):
        return None
    if typ == "double":
        v = float(v)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if typ == "long":
        return int(v)
    if typ == "boolean":
        return bool(v)
    return str(v)


def iso_trimmed(ts):
    """ISO 8601 with only the fraction digits needed and Z for UTC, as the reader writes."""
    s = ts.isoformat()
    zone = ""
    if s.endswith("+00:00"):
        s, zone = s[: -len("+00:00")], "Z"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s + zone


def frame_expected(df):
    """What our reader must produce for a DataFrame pandas read (CSV)."""
    cols = []
    for name in df.columns:
        s = df[name]
        kind = s.dtype.kind
        typ = {"i": "long", "u": "long", "f": "double", "b": "boolean"}.get(kind, "string")
        vals = []
        for v in s.tolist():
            if typ == "double" and v is not None and isinstance(v, float) and math.isnan(v):
                vals.append(None)  # a missing cell: null (its slot holds NaN)
            else:
                vals.append(cell(v, typ))
        cols.append({"name": str(name), "type": typ, "values": vals})
    return {"columns": cols}


def arrow_expected(table):
    """What our Parquet reader must produce for a pyarrow table."""
    cols = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_integer(t):
            typ = "long"
        elif pa.types.is_floating(t) or pa.types.is_null(t):
            typ = "double"
        elif pa.types.is_boolean(t):
            typ = "boolean"
        else:
            typ = "string"
        vals = []
        for v in col.to_pylist():
            if v is None:
                vals.append(None)
            elif pa.types.is_timestamp(t):
                vals.append(iso_trimmed(v))
            elif pa.types.is_date(t):
                vals.append(v.isoformat())
            else:
                vals.append(cell(v, typ))
        cols.append({"name": name, "type": typ, "values": vals})
    return {"columns": cols}


def write_expected(path, exp):
    with open(path + ".expected.json", "w") as f:
        json.dump(exp, f, indent=1, ensure_ascii=False)
        f.write("\n")


def mixed_frame():
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6, 7],
            "score": [0.5, float("nan"), -1.25e-7, 3.0, 1e300, float("inf"), 0.1],
            "count": [1, None, 3, None, 5, 6, 7],  # ints with missing: float in pandas
            "flag": [True, False, True, True, False, False, True],
            "name": ["a,b", 'say "hi"', "two\nlines", "ünï", None, "", "  pad "],
            "empty": [None] * 7,
        }
    )


def write_csv():
    df = mixed_frame()
    path = os.path.join(HERE, "pandas_mixed.csv")
    df.to_csv(path, index=False)
    write_expected(path, frame_expected(pd.read_csv(path)))

    # Cells whose typing pandas decides in a particular way, one column per case.
    cases = {
        "ints_blanks": ["1", " 2", "3 ", "+4", "-0", "0007", "\t8"],
        "int_and_float": ["1", "2.5", "3", "1e3", "-4", "5", "6"],
        "int_missing": ["1", "", "3", "NA", "5", "null", "7"],
        "floats_special": ["inf", "-Infinity", "1e500", "1e-400", ".5", "1.", "nan"],
        "na_spellings": ["", "#N/A", "N/A", "NULL", "None", "-nan", "<NA>"],
        "not_numbers": ["1_000", "0x10", "1d2", "NAN", "Nan", "- 1", "1.5e"],
        "whitespace": ["  ", "1", "2", "3", "4", "5", "6"],
        "bools": ["True", "false", "TRUE", "False", "true", "FALSE", "True"],
        "bool_and_int": ["True", "1", "False", "0", "True", "1", "0"],
        "bool_spaced": [" True", "False", "True", "False", "True", "False", "True"],
        "strings_na": ["abc", "NA", "def", "", "n/a", "x", "nan"],
    }
    buf = io.StringIO()
    names = list(cases)
    buf.write(",".join(names) + "\n")
    for i in range(7):
        buf.write(",".join(cases[n][i] for n in names) + "\n")
    path = os.path.join(HERE, "infer_cases.csv")
    with open(path, "w") as f:
        f.write(buf.getvalue())
    write_expected(path, frame_expected(pd.read_csv(path)))


def write_jsonl():
    df = mixed_frame()
    path = os.path.join(HERE, "pandas_mixed.jsonl")
    df.to_json(path, orient="records", lines=True, double_precision=15)
    # pandas writes NaN/inf as null; the reader types numbers by their literals
    # (id: all integers → long; count: integers and null → double).
    rows = [json.loads(line) for line in open(path)]
    cols = []
    for name in df.columns:
        vals = [r.get(name) for r in rows]
        present = [v for v in vals if v is not None]
        if not present:
            typ = "double"
        elif all(isinstance(v, bool) for v in present):
            typ = "boolean"
        elif all(isinstance(v, str) for v in present):
            typ = "string"
        elif all(isinstance(v, int) for v in present) and len(present) == len(vals):
            typ = "long"
        else:
            typ = "double"
        cols.append({"name": name, "type": typ, "values": [cell(v, typ) for v in vals]})
    write_expected(path, {"columns": cols})


def write_parquet():
    n = 10
    df = pd.DataFrame(
        {
            "i64": np.arange(n, dtype="int64") * 1_000_000_007,
            "i32": np.arange(n, dtype="int32") - 5,
            "u8": np.arange(n, dtype="uint8"),
            "nullable_int": pd.array([1, None, 3, 4, None, 6, 7, 8, 9, None], dtype="Int64"),
            "f64": [0.1 * k if k % 3 else float("nan") for k in range(n)],
            "f32": np.array([0.5, 1.5, -2.25, 3, 4, 5, 6, 7, 8, 9], dtype="float32"),
            "flag": pd.array([True, False, None, True, False, True, None, False, True, False], dtype="boolean"),
            "name": ["a", None, "c", "ünï", "e", "f", "", "h", "i", "j"],
            "cat": pd.Categorical(["x", "y", "x", None, "y", "x", "x", "y", "z", "x"]),
        }
    )
    path = os.path.join(HERE, "pandas.parquet")
    df.to_parquet(path, index=False, row_group_size=4)  # 3 row groups
    write_expected(path, arrow_expected(pq.read_table(path)))

    # A named index is stored as a column that pandas.read_parquet turns back into the
    # index: not a data column.
    idx = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index([10, 20, 30], name="row_id"))
    path = os.path.join(HERE, "pandas_index.parquet")
    idx.to_parquet(path)
    write_expected(path, arrow_expected(pq.read_table(path).drop_columns(["row_id"])))

    t = pa.table(
        {
            "ts_utc": pa.array([0, 1_700_000_000_123_456, None], type=pa.timestamp("us", tz="UTC")),
            "ts_naive": pa.array([1_500, None, 86_400_000], type=pa.timestamp("ms")),
            "day": pa.array([0, 19_000, None], type=pa.date32()),
            "nothing": pa.array([None, None, None], type=pa.null()),
            "big": pa.array(["p", "q", "r"], type=pa.large_string()),
        }
    )
    path = os.path.join(HERE, "pyarrow_types.parquet")
    pq.write_table(t, path, use_dictionary=False, compression="zstd", data_page_version="2.0")
    write_expected(path, arrow_expected(pq.read_table(path)))

    pq.write_table(pa.table({"ok": [1, 2], "tags": [[1, 2], [3]]}), os.path.join(HERE, "nested.parquet"))
    import decimal

    pq.write_table(
        pa.table({"price": pa.array([decimal.Decimal("1.25")], type=pa.decimal128(5, 2))}),
        os.path.join(HERE, "decimal.parquet"),
    )


if __name__ == "__main__":
    write_csv()
    write_jsonl()
    write_parquet()
