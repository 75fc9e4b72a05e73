"""gunicorn settings for production: `gunicorn` in this folder reads this file.

Every value can be changed by an environment variable (docs/production.md) or by a
command-line option, which wins over this file.

Worker class: gthread. A thread serves an HTTP request, or a station's WebSocket
handshake only: the connection then goes to the worker's OCPP event loop, which reads
and writes every station socket, and the thread returns to the pool
(ocpp_server/websocket/connection.py), so the thread count does not bound the
stations a worker holds. Measured against gevent with bench/ocpp_load.py
(docs/production.md, "Worker class"): gthread answered more messages a second with a
far lower p99, both at 500 paced stations and at 200 in a closed loop; gevent stays
selectable with PORTAL_WORKER_CLASS=gevent (pip install gevent).

On SIGTERM (a stop, a deploy, `kill -HUP` of the master replacing its workers) a
worker stops accepting and lets its stations go over OCPP_SHUTDOWN_SPREAD seconds
(ocpp_server/shutdown.py); graceful_timeout must stay above that plus
OCPP_SHUTDOWN_IDLE_WAIT.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

wsgi_app = "wsgi:app"
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = os.environ.get("PORTAL_WORKER_CLASS", "gthread")
# gthread: requests and handshakes served at once (a held station keeps none); a
# boot storm's handshakes wait on the database, so more threads help it (5,000
# stations: last Accepted 98.4 s with 1,200, 109.1 s with 64; the same RSS)
threads = int(os.environ.get("PORTAL_THREADS", "1200"))
# gevent: greenlets per worker
worker_connections = int(os.environ.get("PORTAL_WORKER_CONNECTIONS", "10000"))
backlog = 4096
timeout = 60  # a worker silent this long is restarted (above graceful_timeout)
graceful_timeout = int(os.environ.get("PORTAL_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
preload_app = False  # each worker builds its app: its own OCPP loop and Redis threads
accesslog = os.environ.get("PORTAL_ACCESS_LOG") or None
errorlog = "-"
control_socket_disable = True  # instances on one machine would share its path
loglevel = os.environ.get("PORTAL_LOG_LEVEL", "info")


def post_fork(server: Any, worker: Any) -> None:
    """The portal's own log lines to stderr beside gunicorn's (before the app loads)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter(
                "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
                "%Y-%m-%d %H:%M:%S %z",
            )
        )
        root.addHandler(handler)
        root.setLevel(loglevel.upper())
        logging.getLogger("ocpp").setLevel(logging.WARNING)  # a line per frame
        logging.getLogger("alembic").setLevel(logging.WARNING)


def post_worker_init(worker: Any) -> None:
    """On SIGTERM, begin the graceful shutdown, then let gunicorn stop accepting."""
    from ocpp_server import shutdown

    previous = signal.getsignal(signal.SIGTERM)

    def gunicorn_exit() -> None:
        if callable(previous):
            previous(signal.SIGTERM, None)

    def on_sigterm(signum: int, frame: Any) -> None:
        if hasattr(worker, "method_queue"):  # gthread
            # gthread's count of open connections goes wrong with WebSockets handed
            # to flask-sock (negative), so it would not wait for them: stop accepting
            # now (its loop disables accept when the count is not below this), and
            # tell it to exit (thread-safe) once the stations are let go.
            worker.worker_connections = -(1 << 30)
            shutdown.begin(then=gunicorn_exit)
        else:  # gevent waits for its busy greenlets itself
            shutdown.begin()
            gunicorn_exit()

    signal.signal(signal.SIGTERM, on_sigterm)


def worker_exit(server: Any, worker: Any) -> None:
    """Wait for the graceful shutdown to finish (it deregisters from Redis last)."""
    from ocpp_server import shutdown

    shutdown.wait(graceful_timeout)
