"""OCPP adapters: translate station messages to service calls and back."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the OCPP endpoints (1.6 JSON, 1.5 SOAP) on the app."""
