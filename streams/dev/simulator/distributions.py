"""Random durations drawn from a named distribution, reproducibly from a seeded RNG."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

KINDS = ("fixed", "lognormal", "uniform", "exponential")
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Distribution:
    """A non-negative duration distribution in seconds, optionally capped at ``maximum``.

    ``lognormal``: ``median`` and ``sigma`` (of the underlying normal); ``uniform``:
    ``low``..``median * 2 - low`` (centred on the median); ``exponential``: mean = ``median
    / ln 2``; ``fixed``: always ``median``.
    """

    kind: str = "fixed"
    median: float = 0.0
    sigma: float = 0.0
    low: float = 0.0
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown distribution kind {self.kind!r} (one of {KINDS})")
        if self.median < 0 or self.sigma < 0 or self.low < 0:
            raise ValueError("distribution parameters must be non-negative")
        if self.maximum is not None and self.maximum < 0:
            raise ValueError("distribution maximum must be non-negative")

    def sample(self, rng: random.Random) -> float:
        """One draw (always consumes exactly one value from ``rng`` for reproducibility)."""
        u = rng.random()
        if self.kind == "fixed":
            value = self.median
        elif self.kind == "lognormal":
            if self.median == 0:
                value = 0.0
            else:
                z = _normal_ppf(min(max(u, 1e-12), 1 - 1e-12))
                value = self.median * math.exp(self.sigma * z)
        elif self.kind == "uniform":
            high = max(self.low, 2 * self.median - self.low)
            value = self.low + u * (high - self.low)
        else:
            mean = self.median / math.log(2)
            value = -mean * math.log(1 - u)
        if self.maximum is not None:
            value = min(value, self.maximum)
        return max(value, 0.0)

    def scaled(self, factor: float) -> Distribution:
        """The same shape with every duration multiplied by ``factor``."""
        return Distribution(
            self.kind,
            self.median * factor,
            self.sigma,
            self.low * factor,
            None if self.maximum is None else self.maximum * factor,
        )

    def describe(self) -> str:
        cap = f", max {self.maximum:g}s" if self.maximum is not None else ""
        if self.kind == "lognormal":
            return f"lognormal(median {self.median:g}s, sigma {self.sigma:g}{cap})"
        if self.kind == "uniform":
            return f"uniform({self.low:g}s..{max(self.low, 2 * self.median - self.low):g}s)"
        if self.kind == "exponential":
            return f"exponential(median {self.median:g}s{cap})"
        return f"fixed({self.median:g}s)"

    @classmethod
    def parse(cls, text: str) -> Distribution:
        """From ``kind:median[:sigma[:max]]`` or ``uniform:median:low``.

        E.g. ``lognormal:1:0.75:10`` (the default transition delay), ``fixed:2.5``.
        """
        parts = text.strip().split(":")
        kind = parts[0]
        try:
            nums = [float(p) for p in parts[1:]]
        except ValueError:
            raise ValueError(f"bad distribution {text!r}: numbers expected") from None
        if not nums:
            raise ValueError(f"bad distribution {text!r}: a median is required")
        if kind == "uniform":
            return cls("uniform", nums[0], low=nums[1] if len(nums) > 1 else 0.0)
        return cls(
            kind,
            nums[0],
            sigma=nums[1] if len(nums) > 1 else 0.0,
            maximum=nums[2] if len(nums) > 2 else None,
        )


def fixed(seconds: float) -> Distribution:
    return Distribution("fixed", seconds)


def lognormal(median: float, sigma: float, maximum: float | None = None) -> Distribution:
    return Distribution("lognormal", median, sigma, maximum=maximum)


def _normal_ppf(p: float) -> float:
    """Inverse standard normal CDF."""
    return _STANDARD_NORMAL.inv_cdf(p)
