"""Live policy reload: the policy file is polled by content, a valid change is staged.

A policy mounted from a ConfigMap is updated by a symlink swap (``..data`` points at a
new directory), which inotify on the file itself misses; so the resolved path's
(device, inode, size, mtime) is compared on every poll and, when it changed, the
content's hash. The worker polls on its timer and applies a staged policy between
records, inside stream iteration (:meth:`streams.worker.app.JoinWorker.handle`); an
invalid document is refused with one log line and a metric, and the old policy stays.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from streams import metrics
from streams.policy import Policy, PolicyError

log = logging.getLogger("wrapup.policy")

_Stamp = tuple[int, int, int, int]


def policy_version(raw: bytes) -> str:
    """A policy document's version: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(raw).hexdigest()[:12]


class PolicyWatcher:
    """Watches one policy file (or none: an inline policy never changes)."""

    def __init__(self, path: Path | None, policy: Policy, raw: bytes) -> None:
        self.path = path
        self.policy = policy
        self.version = policy_version(raw)
        self._refused: set[str] = set()  # each refused version is logged once
        self._stamp = self._stat()
        self.staged: tuple[Policy, str] | None = None
        metrics.POLICY_INFO.labels(self.version).set(1)
        log.info("policy live", extra={"version": self.version, "rules": len(policy.rules)})

    @classmethod
    def open(cls, path: Path | None, fallback: Policy) -> PolicyWatcher:
        """The watcher of ``path`` (its current content is the live policy), else of an
        inline policy (never reloaded; its version hashes its rules)."""
        if path is not None:
            try:
                raw = path.read_bytes()
                return cls(path, Policy.from_json(raw), raw)
            except (OSError, PolicyError):  # changed since the settings read it: poll again
                pass
        return cls(path, fallback, repr(fallback.rules).encode())

    def _stat(self) -> _Stamp | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)  # follows the ConfigMap's symlinks
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def poll(self) -> bool:
        """Check the file; True when a new valid policy was staged for :meth:`take`."""
        stamp = self._stat()
        if self.path is None or stamp is None or stamp == self._stamp:
            return False
        try:
            raw = self.path.read_bytes()
        except OSError:
            return False  # mid-swap: the next poll sees the new file
        self._stamp = stamp
        version = policy_version(raw)
        if version == self.version or version in self._refused:
            return False
        try:
            policy = Policy.from_json(raw)
        except PolicyError as exc:
            self._refused.add(version)
            metrics.POLICY_RELOADS.labels("refused").inc()
            log.error("policy refused, the old one stays",
                      extra={"version": version, "live": self.version, "error": str(exc)})
            return False
        self.staged = (policy, version)
        return True

    def take(self) -> Policy | None:
        """The staged policy, now live (metric and log line), or None."""
        if self.staged is None:
            return None
        policy, version = self.staged
        self.staged = None
        metrics.POLICY_INFO.remove(self.version)
        metrics.POLICY_INFO.labels(version).set(1)
        metrics.POLICY_RELOADS.labels("applied").inc()
        log.info("policy live", extra={"version": version, "previous": self.version,
                                       "rules": len(policy.rules)})
        self.policy, self.version = policy, version
        return policy
