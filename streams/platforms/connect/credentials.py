"""AWS credentials from botocore's standard chain, resolved off the event loop.

The chain is botocore's own (``Session.get_credentials``): environment variables
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``), web identity
(``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN``: EKS IRSA), the shared files, container
credentials (``AWS_CONTAINER_CREDENTIALS_*``: ECS, EKS Pod Identity) and instance metadata.
Temporary credentials come back as botocore ``RefreshableCredentials``, which renew
themselves ahead of expiry; :meth:`CredentialChain.current` lets them, in a worker thread
(a refresh is blocking I/O), and only when one is due. After the API answered "expired"
(:meth:`invalidate`), the whole chain is resolved again. Concurrent callers share one
resolution. Nothing here logs or shows a secret.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from streams.delivery.auth import TokenError

log = logging.getLogger(__name__)


class Frozen(NamedTuple):
    """One consistent set of credentials to sign with."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Frozen(access_key={self.access_key[:4]}..., secret_key=<redacted>)"


def default_resolver() -> Any:
    """botocore's default chain, as a fresh session resolves it (None when it finds none)."""
    import botocore.session

    return botocore.session.Session().get_credentials()


class CredentialChain:
    """The current credentials; re-resolved after :meth:`invalidate`."""

    def __init__(self, resolve: Callable[[], Any] = default_resolver) -> None:
        self._resolve = resolve
        self._credentials: Any = None  # botocore Credentials / RefreshableCredentials
        self._lock = asyncio.Lock()
        self._last: Frozen | None = None
        self.method: str | None = None  # where they came from: env, container-role, ...

    def __repr__(self) -> str:
        return f"CredentialChain(method={self.method})"

    @property
    def refreshable(self) -> bool:
        """False only for credentials from this process's environment (they cannot change)."""
        return self.method != "env"

    async def current(self) -> Frozen:
        """Credentials to sign with now; :class:`TokenError` when the chain has none."""
        credentials = self._credentials
        if credentials is not None and not _refresh_due(credentials):
            return self._remember(credentials.get_frozen_credentials())
        async with self._lock:
            if self._credentials is None:
                self._credentials = await asyncio.to_thread(self._load)
            credentials = self._credentials
            if not _refresh_due(credentials):
                return self._remember(credentials.get_frozen_credentials())
            try:
                frozen = await asyncio.to_thread(credentials.get_frozen_credentials)
            except Exception as exc:
                log.warning("AWS credentials could not be refreshed: %s", type(exc).__name__)
                raise TokenError("credentials_unavailable", None, retryable=True) from None
        return self._remember(frozen)

    def invalidate(self, frozen: Frozen) -> None:
        """The API said these credentials expired: resolve the chain again next time."""
        if self._last is not None and self._last.access_key == frozen.access_key:
            self._credentials = None
            self._last = None

    def _remember(self, frozen: Any) -> Frozen:
        self._last = Frozen(frozen.access_key, frozen.secret_key, frozen.token or None)
        return self._last

    def _load(self) -> Any:
        try:
            credentials = self._resolve()
        except Exception as exc:  # botocore raises many kinds; none may carry a secret out
            log.warning("AWS credentials could not be resolved: %s", type(exc).__name__)
            raise TokenError("credentials_unavailable", None, retryable=True) from None
        if credentials is None:
            log.warning("no AWS credentials found (environment, web identity, container, "
                        "shared files, instance metadata)")
            raise TokenError("credentials_unavailable", None, retryable=True)
        self.method = getattr(credentials, "method", None)
        log.info("AWS credentials from %s", self.method)
        return credentials


def _refresh_due(credentials: Any) -> bool:
    check = getattr(credentials, "refresh_needed", None)
    return bool(check()) if callable(check) else False
