"""Prints what pyarrow sees in a Parquet file, as JSON: columns, Arrow types, pandas dtypes, shape, nulls, codecs.

    python tests/oracle/read_parquet.py FILE.parquet
"""
import json
import sys

import pyarrow.parquet as pq

path = sys.argv[1]
meta = pq.ParquetFile(path).metadata
table = pq.read_table(path)
frame = table.to_pandas()
codecs = sorted({meta.row_group(g).column(i).compression
                 for g in range(meta.num_row_groups) for i in range(meta.num_columns)})
print(json.dumps({
    "columns": table.column_names,
    "types": {f.name: str(f.type) for f in table.schema},
    "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
    "shape": list(frame.shape),
    "nulls": int(frame.isna().sum().sum()),
    "compression": codecs,
}))
