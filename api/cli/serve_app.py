"""The application ``inventory serve`` runs: built in-process, or by each worker process (``--workers N``).

With several workers uvicorn spawns fresh interpreters and each imports :func:`app_factory` by name; the
settings come from the environment, where ``serve`` left the public URL it decided. Migrations, the first
admin and the demo data are done once by ``serve`` before any worker starts, never here.

Every worker runs the background alert timer. That is safe: computing takes PostgreSQL's advisory lock
(one process at a time; a later one finds the alerts already notified and today's digests queued) and
each delivery is claimed by a conditional UPDATE before it is sent (:mod:`inventory.alerts.delivery`), so
no message goes out twice.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from inventory.config import Settings, load_settings

if TYPE_CHECKING:
    from litestar import Litestar


def build_app(settings: Settings) -> Litestar:
    """The served application (alerts on a timer), with what it built kept out of the cyclic collector."""
    from api.app import create_app

    app = create_app(settings, background_alerts=True)
    # Everything built so far (the app, the libraries, the region tables) lives as long as the process:
    # keep it out of the cyclic garbage collector, whose full passes over it paused every request for
    # ~80 ms every few seconds under load. Each worker process does this for itself.
    gc.collect()
    gc.freeze()
    return app


def app_factory() -> Litestar:
    """uvicorn's factory in each worker process: the application for the settings of the environment."""
    return build_app(load_settings())
