"""attncheck command-line interface (click + rich).  Importing this package must stay cheap:
no z3, no sympy, no rich at import time (benchmarks/import_time.py measures it)."""
