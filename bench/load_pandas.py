"""Child process of bench/run.ts: pandas read_csv on the data file, the Python course's loader."""
import json, resource, sys, time
import pandas as pd

started = time.perf_counter()
df = pd.read_csv(sys.argv[1], sep=";")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(df), "cols": df.shape[1], "pandas": pd.__version__}))
