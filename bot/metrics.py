"""Prometheus metrics, on a registry of the App's own (not the library's
global one), so tests and several bots in one process never share counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "payung_messages_in", "Inbound messages handled", ["channel"], registry=self.registry
        )
        self.messages_out = Counter(
            "payung_messages_out", "Messages the platform accepted", ["channel"], registry=self.registry
        )
        self.errors = Counter(
            "payung_errors", "Failures, by channel and kind", ["channel", "kind"], registry=self.registry
        )
        self.failed_checks = Counter(
            "payung_failed_checks", "Identity checks that did not match", registry=self.registry
        )
        self.check_alarms = Counter(
            "payung_check_alarms", "Minutes with failed checks far above normal", registry=self.registry
        )
        self.send_seconds = Histogram(
            "payung_send_seconds",
            "Time for the platform to accept one message",
            ["channel"],
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
