"""The portal as gunicorn serves it (wsgi.py), plus what the scale tests look at.

Test-only: `/_probe/ping` says which process answers, `/_probe/held` which stations
this worker holds, `/_probe/reset/<id>` sends Reset through this worker's gateway
(the same services call as the station control screen). With SCALE_PROBE_FILE set,
a job appends "<pid> <time>" to that file every second, so a test sees which
processes ran the scheduler.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask, jsonify
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import create_app, jobs
from app.extensions import db
from app.models import Station
from app.services import commands


def _probe(app: Flask) -> object:
    with Path(os.environ["SCALE_PROBE_FILE"]).open("a") as out:
        out.write(f"{os.getpid()} {time.time():.3f}\n")
    return os.getpid()


if os.environ.get("SCALE_PROBE_FILE") and not any(
    job.id == "scale-probe" for job in jobs.JOBS
):
    jobs.JOBS.append(
        jobs.Job(
            "scale-probe", "scale tests", _probe, {"trigger": "interval", "seconds": 1}
        )
    )

app = create_app()


@app.get("/_probe/ping")
def ping() -> Response:
    return jsonify(pid=os.getpid())


@app.get("/_probe/held")
def held() -> Response:
    registry = app.extensions["ocpp_websocket"].registry
    return jsonify(pid=os.getpid(), stations=sorted(registry.chargebox_ids()))


@app.get("/_probe/reset/<chargebox_id>")
def reset(chargebox_id: str) -> Response:
    station = db.session.scalars(
        select(Station).where(Station.chargebox_id == chargebox_id)
    ).one()
    started = time.monotonic()
    result = commands.send_command(None, station, commands.Reset())
    return jsonify(
        pid=os.getpid(),
        status=result.status.value,
        detail=result.detail,
        ms=(time.monotonic() - started) * 1000,
    )
