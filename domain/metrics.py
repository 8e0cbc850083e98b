"""The server's Prometheus metrics (prometheus-client), in one place so that every layer records
into the same ones and `GET /metrics` (server/metrics.py) shows them all.

Label values are bounded: route templates (never raw paths), methods, status codes, operation
names and a few fixed reasons, so a client cannot grow the series without limit. Hot paths add
once per event or request, never once per subscriber (the hub counts a fan-out and adds the
count)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)

REQUESTS = Counter(
    "expense_tracker_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "expense_tracker_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by route template and method",
    ["route", "method"],
    buckets=_FAST,
)
WEBSOCKETS_OPEN = Gauge(
    "expense_tracker_websockets_open",
    "WebSocket connections open on this instance (all its workers)",
    multiprocess_mode="livesum",
)
EVENTS_PUBLISHED = Counter("expense_tracker_events_published", "Events this instance published")
EVENTS_DELIVERED = Counter(
    "expense_tracker_events_delivered", "Event frames handed to this instance's WebSocket subscribers"
)
EVENTS_DROPPED = Counter(
    "expense_tracker_events_dropped",
    "Frames not delivered: a slow consumer cut off with its queue, or a subscription asked to "
    "resubscribe (gap, epoch change, history lost), by reason",
    ["reason"],
)
FANOUT_SECONDS = Histogram(
    "expense_tracker_event_fanout_delay_seconds",
    "Time from an event's publication (on any instance) to its dispatch to this instance's subscribers",
    buckets=_FAST,
)
BROKER_RECONNECTS = Counter(
    "expense_tracker_broker_reconnects", "Times the Redis pub/sub connection was lost and reopened"
)
OCR_QUEUE = Gauge(
    "expense_tracker_ocr_queue_depth",
    "OCR jobs admitted and waiting for a worker",
    multiprocess_mode="livesum",
)
OCR_RUNNING = Gauge(
    "expense_tracker_ocr_jobs_running", "OCR jobs being read by a worker", multiprocess_mode="livesum"
)
OCR_JOB_SECONDS = Histogram(
    "expense_tracker_ocr_job_seconds", "Time an OCR worker took over one image", buckets=_SLOW
)
OCR_FAILURES = Counter(
    "expense_tracker_ocr_failures",
    "OCR jobs that failed, by reason (timeout, crash, refused, error, busy)",
    ["reason"],
)
STORE_SECONDS = Histogram(
    "expense_tracker_store_call_seconds",
    "Time of one store call: a DynamoDB API call, or an SQLite write, by backend and operation",
    ["backend", "operation"],
    buckets=_FAST,
)
STORE_RETRIES = Counter(
    "expense_tracker_store_retries",
    "Store calls tried again, by backend and reason (conflict: a transaction lost to another; "
    "throttled; unprocessed: a batch read left keys)",
    ["backend", "reason"],
)
