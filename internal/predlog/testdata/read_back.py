"""Reads a prediction-log folder the way users do and prints what came out as JSON.

Usage: read_back.py ROOT  (ROOT is <bucket>/<prefix>)
"""
import json
import math
import sys

import pandas as pd
import pyarrow.dataset as ds


def plain(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def main():
    root = sys.argv[1]
    df = pd.read_parquet(root)
    out = {
        "pandas_dtypes": {c: str(t) for c, t in df.dtypes.items()},
        "request_time_tz": str(df["request_time"].dt.tz),
        "arrow_types": {f.name: str(f.type) for f in ds.dataset(root, partitioning="hive").schema},
        "rows": [{c: plain(v) for c, v in zip(df.columns, row)} for row in df.itertuples(index=False)],
    }
    try:
        import duckdb
    except ImportError:
        out["duckdb"] = None
    else:
        con = duckdb.connect()
        rows = con.execute(
            "SELECT endpoint, count(*), count(DISTINCT request_id), typeof(any_value(request_time)) "
            "FROM read_parquet(?, hive_partitioning = true) GROUP BY endpoint ORDER BY endpoint",
            [root + "/**/*.parquet"],
        ).fetchall()
        out["duckdb"] = [list(r) for r in rows]
    json.dump(out, sys.stdout)


main()
