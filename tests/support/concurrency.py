"""The same work in several threads, released at one instant: races against a real database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor


def at_once(call: Callable, items: Iterable) -> list:
    """``call(item)`` for every item, each in its own thread, all started together.

    The results come back in the order of ``items``; an exception in any thread is raised here.
    """
    items = list(items)
    barrier = threading.Barrier(len(items))

    def run(item):
        barrier.wait(timeout=30)
        return call(item)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(run, items))


def in_app_at_once(app, call: Callable, items: Iterable) -> list:
    """Like ``at_once``, each call inside its own application context (its own session)."""

    def run(item):
        with app.app_context():
            return call(item)

    return at_once(run, items)
