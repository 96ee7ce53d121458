"""Gunicorn settings for ``throughput.py``: the app's clock pinned in each worker.

``BENCHMARK_NOW`` (an ISO 8601 moment with its offset) freezes ``umic.clock`` in every worker
right after it is forked, before the app is imported, so the free times served do not depend
on the day the benchmark runs. Without it nothing changes. The workers and their class are
given on the command line, the same for every server measured.
"""

import os
from datetime import datetime


def post_fork(server, worker):
    moment = os.environ.get("BENCHMARK_NOW")
    if moment:
        from umic import clock

        clock.freeze(datetime.fromisoformat(moment))
