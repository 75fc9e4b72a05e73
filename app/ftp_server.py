"""The built-in FTP server (spec §8, §9), an entry point like the OCPP server: station
diagnostics uploads in, firmware images out. pyftpdlib in a thread of its own.

Started with the portal when FTP_ENABLED: on the first request a process serves
(never in a CLI command or the reloader's watcher); under several gunicorn
workers the port is the lock: the first worker binds it, the others serve none.

Rules, enforced by the authorizer below on every command:
- a station logs in with its chargebox id and its FTP password
  (app.services.ftp_files); nobody logs in anonymously;
- it may write only into its own diagnostics folder, read only that folder and the
  firmware folder, and never delete, rename, append or make folders;
- a path with `..` is refused outright; an upload over FTP_MAX_UPLOAD_BYTES is cut
  off (552) and removed; an upload is written under a temporary name and appears
  under its own name only when complete.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from app.extensions import db
from app.services import ftp_files

log = logging.getLogger(__name__)

ROOT_PERMS = "el"  # change into and list the root: "diagnostics", "firmware"
OWN_PERMS = "elrw"  # the station's own diagnostics folder
FIRMWARE_PERMS = "elr"  # the firmware images, read-only


class StationAuthorizer:
    """Stations log in with their own credentials and see only what is theirs."""

    def __init__(self, app: Flask, settings: ftp_files.FtpSettings) -> None:
        self.app = app
        self.settings = settings
        self.root = os.path.realpath(settings.root)
        self.firmware = os.path.realpath(ftp_files.firmware_folder(settings))

    def validate_authentication(
        self, username: str, password: str, handler: Any
    ) -> None:
        if username.lower() in ("anonymous", "ftp") or not password:
            raise AuthenticationFailed("Anonymous access not allowed.")
        with self.app.app_context():
            try:
                ok = ftp_files.authenticate(self.settings, username, password)
            finally:
                db.session.remove()
        if not ok:
            log.info("FTP login refused for %r from %s", username, handler.remote_ip)
            raise AuthenticationFailed("Authentication failed.")
        ftp_files.station_folder(self.settings, username).mkdir(
            parents=True, exist_ok=True
        )

    def get_home_dir(self, username: str) -> str:
        return self.root

    def has_user(self, username: str) -> bool:
        return bool(username)

    def _own(self, username: str) -> str:
        return os.path.realpath(ftp_files.station_folder(self.settings, username))

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        if path is None:
            return perm in OWN_PERMS
        real = os.path.realpath(path)
        if real == self.root:
            return perm in ROOT_PERMS
        if _within(real, self._own(username)):
            return perm in OWN_PERMS
        if _within(real, self.firmware):
            return perm in FIRMWARE_PERMS
        if real == os.path.dirname(self._own(username)):
            return perm == "e"  # diagnostics/: pass through, list nothing
        return False

    def get_perms(self, username: str) -> str:
        return OWN_PERMS

    def get_msg_login(self, username: str) -> str:
        return f"Welcome, {username}."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


class CappedDTPHandler(DTPHandler):  # type: ignore[misc]
    """A data channel that cuts an upload off past the size limit."""

    def handle_read(self) -> None:
        super().handle_read()
        limit = self.cmd_channel.max_upload_bytes
        if (
            self.receive
            and limit
            and self.tot_bytes_received > limit
            and not self._closed
        ):
            self.transfer_finished = False
            self._resp = (
                f"552 Upload refused: larger than {limit} bytes.",
                log.info,
            )
            self.close()

    handle_read_event = handle_read


class StationFTPHandler(FTPHandler):  # type: ignore[misc]
    """The control channel: refuses `..`, writes uploads under a temporary name."""

    dtp_handler = CappedDTPHandler
    banner = "Charge Portal FTP server ready."
    permit_foreign_addresses = False
    permit_privileged_ports = False
    proto_cmds = {
        name: spec
        for name, spec in FTPHandler.proto_cmds.items()
        if name not in ("STOU", "APPE", "SITE CHMOD")
    }
    app: Flask
    max_upload_bytes = 0

    def pre_process_command(self, line: str, cmd: str, arg: str) -> Any:
        if arg and ".." in arg.replace("\\", "/").split("/"):
            self.respond("550 Path traversal refused.")
            log.info("FTP %s refused a path with '..': %s", self.username, arg)
            return None
        return super().pre_process_command(line, cmd, arg)

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:  # noqa: N802 - pyftpdlib name
        return super().ftp_STOR(file + ftp_files.PARTIAL, mode)

    def on_file_received(self, file: str) -> None:
        final = file.removesuffix(ftp_files.PARTIAL)
        try:
            os.replace(file, final)
            size = os.path.getsize(final)
        except OSError:
            log.exception("FTP upload %s could not be kept", file)
            return
        log.info("FTP %s uploaded %s (%d bytes)", self.username, final, size)
        with self.app.app_context():
            try:
                ftp_files.record_upload(self.username, os.path.basename(final), size)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("FTP upload of %s not logged", self.username)
            finally:
                db.session.remove()

    def on_incomplete_file_received(self, file: str) -> None:
        log.info("FTP %s: incomplete upload %s removed", self.username, file)
        with contextlib.suppress(FileNotFoundError):
            os.remove(file)


class PortalFtpServer:
    """The FTP server of one portal, served by a daemon thread."""

    def __init__(self, app: Flask) -> None:
        settings = ftp_files.ftp_settings(app.config, instance=Path(app.instance_path))
        ftp_files.prepare_folders(settings)
        handler = type(
            "PortalStationFTPHandler",
            (StationFTPHandler,),
            {
                "app": app,
                "authorizer": StationAuthorizer(app, settings),
                "max_upload_bytes": settings.max_upload_bytes,
            },
        )
        passive = str(app.config.get("FTP_PASSIVE_PORTS") or "")
        if passive:
            low, _, high = passive.partition("-")
            handler.passive_ports = range(int(low), int(high or low) + 1)
        masquerade = app.config.get("FTP_MASQUERADE_ADDRESS")
        if masquerade:
            handler.masquerade_address = masquerade
        # pyftpdlib sets up logging of its own (and turns off thread names in every
        # log record) unless its logger has a handler: ours propagate to the app's.
        ftp_log = logging.getLogger("pyftpdlib")
        if not ftp_log.handlers:
            ftp_log.addHandler(logging.NullHandler())
        self.ioloop = IOLoop()
        address = (app.config["FTP_HOST"], int(app.config["FTP_PORT"]))
        self.server = FTPServer(address, handler, ioloop=self.ioloop)
        self.port: int = self.server.address[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name="ftp-server", daemon=True
        )

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                self.ioloop.loop(timeout=0.2, blocking=False)
        except Exception:
            log.exception("the FTP server stopped")
        finally:
            self.server.close_all()

    def start(self) -> PortalFtpServer:
        self._thread.start()
        log.info("FTP server listening on port %s", self.port)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


_lock = threading.Lock()


def start(app: Flask) -> PortalFtpServer | None:
    """Start the app's FTP server once; None when another process holds the port."""
    with _lock:
        if "ftp_server" in app.extensions:
            server: PortalFtpServer | None = app.extensions["ftp_server"]
            return server
        try:
            server = PortalFtpServer(app).start()
        except OSError as exc:  # the portal goes on serving without FTP
            if exc.errno == errno.EADDRINUSE:
                log.info(
                    "FTP port %s in use: another process serves FTP",
                    app.config["FTP_PORT"],
                )
            else:
                log.exception("the FTP server could not start")
            server = None
        app.extensions["ftp_server"] = server
        return server


def init_app(app: Flask) -> None:
    """Start the FTP server with the first request this process serves, if enabled."""
    if not app.config.get("FTP_ENABLED"):
        return

    @app.before_request
    def _start_ftp_server() -> None:
        if "ftp_server" not in app.extensions:
            start(app)
