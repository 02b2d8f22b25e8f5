"""The ASGI application uvicorn serves: `uvicorn app.asgi:app`."""

import gc
import sys

from app.main import create_app

# Hand the GIL between the event loop and the worker threads every 1 ms instead of 5 ms:
# a request finishing in a worker no longer waits up to 5 ms for the loop to send it.
# p99 at 100 practice logs/s on SQLite: 84-111 ms -> 41-47 ms (docs/benchmarks.md).
sys.setswitchinterval(0.001)
app = create_app()
# Everything imported and built so far lives as long as the process: keep it out of the
# collector's full passes, which otherwise scanned ~240,000 objects (about 100 ms, every
# request in flight waiting) a few times a minute under load (docs/benchmarks.md).
gc.freeze()
