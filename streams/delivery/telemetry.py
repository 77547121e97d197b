"""Request metrics shared by the API client and the token fetcher (bounded labels only)."""

from __future__ import annotations

from streams import metrics


def record_request(endpoint: str, status: str, seconds: float) -> None:
    """Count one request and its duration; ``status`` is an HTTP code or an error label."""
    status_class = f"{status[0]}xx" if status.isdigit() else "error"
    metrics.API_REQUESTS.labels(endpoint=endpoint, status=status, status_class=status_class).inc()
    metrics.API_REQUEST_DURATION.labels(endpoint=endpoint, status_class=status_class).observe(
        seconds
    )
