"""app/collector.py: full collections made rare, a long one logged."""

from __future__ import annotations

import gc
import logging

import pytest

from app import collector


@pytest.fixture
def tuned():
    threshold = gc.get_threshold()
    collector.tune()
    yield
    gc.callbacks.remove(collector._log_slow)
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_full_collections_come_after_a_thousand_of_the_middle_generation(tuned):
    assert gc.get_threshold()[2] == collector.FULL_COLLECTION_AFTER


def test_tuning_twice_watches_the_collector_once(tuned):
    collector.tune()
    assert gc.callbacks.count(collector._log_slow) == 1


def test_a_collection_that_stops_the_process_for_long_is_logged(
    tuned, monkeypatch, caplog
):
    monkeypatch.setattr(collector, "SLOW", 0.0)
    with caplog.at_level(logging.WARNING, logger="gc"):
        gc.collect()
    assert "garbage collection of generation 2 stopped the process" in caplog.text


def test_a_quick_collection_is_not_logged(tuned, caplog):
    with caplog.at_level(logging.WARNING, logger="gc"):
        gc.collect(0)
    assert "garbage collection" not in caplog.text
