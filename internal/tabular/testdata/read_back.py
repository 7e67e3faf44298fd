"""Reads files the Go writers made, with pyarrow and pandas, and prints what they see as
JSON in the .expected.json layout (used by pyarrow_test.go).

usage: read_back.py FILE.parquet FILE.csv FILE.jsonl
"""

import json
import math
import sys

import pandas as pd
import pyarrow.parquet as pq


def cell(v, typ):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if typ == "double":
        v = float(v)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if typ == "long":
        return int(v)
    if typ == "boolean":
        return bool(v)
    return str(v)


def parquet_view(path):
    f = pq.ParquetFile(path)
    table = f.read()
    types = {"double": "double", "int64": "long", "bool": "boolean", "string": "string", "large_string": "string"}
    cols = []
    for field, col in zip(table.schema, table.columns):
        typ = types.get(str(field.type), str(field.type))
        cols.append({"name": field.name, "type": typ, "nullable": field.nullable,
                     "values": [cell(v, typ) for v in col.to_pylist()]})
    meta = f.metadata
    return {"columns": cols, "row_groups": [meta.row_group(i).num_rows for i in range(meta.num_row_groups)],
            "compression": meta.row_group(0).column(0).compression if meta.num_row_groups else None}


def frame_view(df):
    cols = []
    for name in df.columns:
        s = df[name]
        typ = {"i": "long", "u": "long", "f": "double", "b": "boolean"}.get(s.dtype.kind)
        if typ is None:
            present = [v for v in s.tolist() if not (v is None or (isinstance(v, float) and math.isnan(v)))]
            typ = "boolean" if present and all(isinstance(v, bool) for v in present) else "string"
        cols.append({"name": name, "type": typ, "values": [cell(v, typ) for v in s.tolist()]})
    return {"columns": cols}


if __name__ == "__main__":
    pq_path, csv_path, jsonl_path = sys.argv[1:4]
    out = {
        "parquet": parquet_view(pq_path),
        "parquet_pandas_rows": len(pd.read_parquet(pq_path)),
        "csv": frame_view(pd.read_csv(csv_path)),
        # json.loads, not pd.read_json: pandas' parser rounds doubles (and its precise
        # mode refuses subnormals).
        "jsonl": frame_view(pd.DataFrame.from_records([json.loads(line) for line in open(jsonl_path)])),
    }
    json.dump(out, sys.stdout)
