"""The ASGI application uvicorn serves: `uvicorn app.asgi:app`."""

import gc
import sys

from app.main import create_app

# Hand the GIL between the event loop and the worker threads every 1 ms instead of 5 ms:
# a request finishing in a worker no longer waits up to 5 ms for the loop to send it.
# p99 at 100 practice logs/s on SQLite: 84-111 ms -> 41-47 ms (docs/benchmarks.md).
sys.setswitchinterval(0.001)
app = create_app()
# Everything start-up loaded (the app, SQLAlchemy, SciPy: ~200,000-240,000 objects) lives as
# long as the process: frozen, the collector's full passes no longer walk it. Those passes
# took ~100 ms with every request in flight waiting (the tail of p99 at 100 practice logs/s)
# and a quarter to a third of the clinic-wide outcome summary's time (docs/benchmarks.md).
gc.freeze()
