"""What a sweep does: fping's knobs, in seconds rather than fping's milliseconds."""

from __future__ import annotations

from dataclasses import dataclass

from pingsock.linux import AF_INET, AF_INET6, AF_UNSPEC

__all__ = ["MIN_SIZE", "SweepOptions"]

# The payload carries the sweep's cookie (8 bytes) and the send stamp (8 bytes): a reply is
# counted only when both come back intact (a stray or corrupted reply never counts).
MIN_SIZE = 16
_SEQ_SPACE = 0x10000


@dataclass(frozen=True, slots=True)
class SweepOptions:
    """A sweep's settings (docs/sweep-api.md). Defaults are fping 5.1's."""

    count: int | None = None  # None: fping's default mode (stop at the first reply)
    retries: int = 3  # -r: default mode, probes after a first one that timed out
    backoff: float = 1.5  # -B: each retry's timeout is the previous one's times this
    timeout: float = 0.5  # -t: seconds to wait for a reply (the first try's, in default mode)
    interval: float = 0.01  # -i: minimum gap between any two probes sent
    period: float = 1.0  # -p: count mode, gap between two probes to the same target
    size: int = 56  # -b: ICMP payload bytes
    ttl: int | None = None
    tos: int | None = None
    family: int = AF_UNSPEC
    backend: str = "auto"
    max_in_flight: int = _SEQ_SPACE

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.retries < 0:
            raise ValueError("retries must not be negative")
        if self.backoff < 1.0:
            raise ValueError("backoff must be at least 1.0")
        for name in ("timeout", "interval", "period"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not MIN_SIZE <= self.size <= 65507:
            raise ValueError(f"size must be between {MIN_SIZE} and 65507")
        if not 1 <= self.max_in_flight <= _SEQ_SPACE:
            raise ValueError(f"max_in_flight must be between 1 and {_SEQ_SPACE}")
        if self.family not in (AF_UNSPEC, AF_INET, AF_INET6):
            raise ValueError("family must be AF_UNSPEC, AF_INET or AF_INET6")
        if self.backend not in ("auto", "kernel", "raw"):
            raise ValueError("backend must be 'auto', 'kernel' or 'raw'")

    @property
    def tries(self) -> int:
        """Probes a target gets at most: -c N, or 1 + -r in default mode."""
        return self.count if self.count is not None else 1 + self.retries
