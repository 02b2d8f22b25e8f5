"""The ASGI application uvicorn serves: `uvicorn app.asgi:app`."""

import gc

from app.main import create_app

app = create_app()
# Everything start-up loaded (the app, SQLAlchemy, SciPy: ~200,000-240,000 objects) lives as
# long as the process: frozen, the collector's full passes no longer walk it. Those passes
# took ~100 ms with every request in flight waiting (the tail of p99 at 100 practice logs/s)
# and a quarter to a third of the clinic-wide outcome summary's time (docs/benchmarks.md).
gc.freeze()
