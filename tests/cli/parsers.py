"""Do the public parsers of ping output read pingsock's text as they read iputils'?

The acceptance check of the issue: ``jc --ping`` and ``pingparsing`` must parse ``pingsock
ping``'s stdout into the same values as iputils' stdout of the same run. :func:`parsed_values`
runs three readers on one text and returns what they made of it:

* ``"jc"``: ``jc.parse("ping", text)``, the batch parser behind ``jc --ping``;
* ``"jc_streaming"``: ``jc.parse("ping_s", lines, ignore_exceptions=True)``, ``jc --ping-s``,
  the only reader that types the ``From ... icmp_seq=N <error>`` lines (the batch parser
  skips them); each line yields an object, with ``_jc_meta`` saying whether it parsed;
* ``"pingparsing"``: ``pingparsing.PingParsing().parse(text)``: which of its parsers matched
  (``parser``: Linux, ..., None for its null parser), ``as_dict()`` (``stats``) and
  ``icmp_replies`` (``replies``).

A reader that raises is recorded as ``{"raised": "<module>.<ExceptionType>"}``, so both texts
must make it raise the same way. What depends on the clock is replaced by :data:`MASKED`
(when it was parsed at all; a value missing or None stays so): every per-reply ``time`` /
``time_ms``, the round-trip min/avg/max/mdev (stddev), the statistics' ``time_ms``, the
``-D`` ``timestamp`` of each packet, and times inside unparsed lines kept as text.

:func:`assert_parsers_agree` compares the two and fails with the differing paths.

Texts masked by ``sidebyside.mask`` (``time=<T> ms``, ``time <T>ms``,
``<min>/<avg>/<max>/<mdev>``, ``[<TS>]``, ``ident=<PID>``, ...) are accepted: :func:`unmask`
first puts fixed numbers back in those placeholders, because both parsers lose the lines
otherwise (jc drops the statistics' ``time_ms`` and the ``-D`` stamps; pingparsing raises
``ValueError`` on the rtt line), which would make the check vacuous. The parsers are
deterministic, so identical texts always agree, even when neither reader can make anything
of them.

The libraries are imported on first use, and their warnings (pyparsing deprecations under
pytest's ``filterwarnings = error``) are silenced around their calls only.
"""

from __future__ import annotations

import datetime
import re
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["MASKED", "assert_parsers_agree", "parsed_values", "parser_versions", "unmask"]

MASKED = "<masked>"
"""What a parsed, clock-dependent value is replaced by."""

_TIME_KEYS = frozenset(
    {
        # jc (batch and streaming)
        "time_ms",
        "timestamp",
        "round_trip_ms_min",
        "round_trip_ms_avg",
        "round_trip_ms_max",
        "round_trip_ms_stddev",
        # pingparsing
        "time",
        "rtt_min",
        "rtt_avg",
        "rtt_max",
        "rtt_mdev",
    }
)
_TEXT_KEYS = frozenset({"line", "unparsed_line"})  # jc keeps lines it could not parse

# sidebyside.mask placeholders (``<T>``, ``<min>``, ``<TS>``, ``<PID>``, ...) -> fixed numbers
# the parsers accept, for the same text on both sides.
_P = r"<[A-Za-z_]+>"
_PLACEHOLDERS = (
    (re.compile(rf"(time=){_P}( ms)"), r"\g<1>0.000\g<2>"),
    (re.compile(rf"(time ){_P}(ms)"), r"\g<1>0\g<2>"),
    (re.compile(rf"{_P}/{_P}/{_P}/{_P}"), "0.000/0.000/0.000/0.000"),  # rtt, status
    (re.compile(rf"{_P}/{_P}"), "0.000/0.000"),  # ipg/ewma
    (
        re.compile(rf"^\[{_P}\] ", re.MULTILINE),
        "[1700000000.000000] ",
    ),  # -D (pingparsing refuses 0.0)
    (re.compile(rf"(ident=){_P}"), r"\g<1>0"),
    (re.compile(rf"^\t{_P}", re.MULTILINE), "\t0"),  # TS: option blocks
)
# Times inside a line kept as text (jc replaces "( ) =" by spaces in unparsed_line).
_TEXT_TIMES = (
    (re.compile(r"\[\d+\.\d+\]"), f"[{MASKED}]"),
    (re.compile(r"(time[= ]+)\d+(?:\.\d+)?(\s*ms)"), rf"\g<1>{MASKED}\g<2>"),
    (re.compile(r"\d+\.\d+/\d+\.\d+/\d+\.\d+/\d+\.\d+"), MASKED),
)


def unmask(text: str) -> str:
    """Put fixed numbers in the placeholders of ``sidebyside.mask``; other text is unchanged."""
    for pattern, replacement in _PLACEHOLDERS:
        text = pattern.sub(replacement, text)
    return text


def _mask_text(line: str) -> str:
    for pattern, replacement in _TEXT_TIMES:
        line = pattern.sub(replacement, line)
    return line


def _masked(value: Any) -> Any:
    """``value`` with the clock-dependent entries replaced, recursively (a copy)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _TIME_KEYS and item is not None:
                out[key] = MASKED
            elif key in _TEXT_KEYS and isinstance(item, str):
                out[key] = _mask_text(item)
            else:
                out[key] = _masked(item)
        return out
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, datetime.datetime):
        return MASKED
    return value


def _raised(exc: BaseException) -> dict[str, str]:
    kind = type(exc)
    return {"raised": f"{kind.__module__}.{kind.__qualname__}"}


def _jc(text: str) -> Any:
    import jc

    try:
        return jc.parse("ping", text, quiet=True)
    except Exception as exc:
        return _raised(exc)


def _jc_streaming(text: str) -> Any:
    import jc

    try:
        return list(jc.parse("ping_s", text.splitlines(), quiet=True, ignore_exceptions=True))
    except Exception as exc:
        return _raised(exc)


def _pingparsing(text: str) -> Any:
    import pingparsing

    parser = pingparsing.PingParsing(timezone=datetime.timezone.utc)
    try:
        stats = parser.parse(text)
        return {
            "parser": parser.parser_name,
            "stats": stats.as_dict(),
            "replies": list(stats.icmp_replies),
        }
    except Exception as exc:
        return _raised(exc)


def parsed_values(text: str) -> dict[str, Any]:
    """What jc (batch and streaming) and pingparsing read in ``text``, clock values masked.

    ``text`` is one run's stdout, raw or ``sidebyside.mask``-ed. Never raises because of the
    text: a reader that fails is recorded as ``{"raised": "<module>.<Type>"}``.
    """
    text = unmask(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = {
            "jc": _jc(text),
            "jc_streaming": _jc_streaming(text),
            "pingparsing": _pingparsing(text),
        }
    return {name: _masked(value) for name, value in values.items()}


def parser_versions() -> dict[str, str]:
    """The installed versions of the readers, for messages."""
    from importlib.metadata import version

    return {name: version(name) for name in ("jc", "pingparsing")}


def _is_raised(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"raised"}


def _differences(want: Any, got: Any, path: str) -> Iterator[str]:
    if _is_raised(want) or _is_raised(got):
        if want != got:
            yield (
                f"{path}: iputils -> {_short(want)}, pingsock -> {_short(got)}"
                " (a reader must fail, or not, the same way on both)"
            )
        return
    if isinstance(want, dict) and isinstance(got, dict):
        for key in [*want, *(k for k in got if k not in want)]:
            if key not in got:
                yield f"{path}.{key}: iputils -> {want[key]!r}, pingsock -> (missing)"
            elif key not in want:
                yield f"{path}.{key}: iputils -> (missing), pingsock -> {got[key]!r}"
            else:
                yield from _differences(want[key], got[key], f"{path}.{key}")
        return
    if isinstance(want, list) and isinstance(got, list):
        for index, (a, b) in enumerate(zip(want, got, strict=False)):
            yield from _differences(a, b, f"{path}[{index}]")
        if len(want) != len(got):
            yield f"{path}: iputils -> {len(want)} items, pingsock -> {len(got)} items"
            longer, who = (want, "iputils") if len(want) > len(got) else (got, "pingsock")
            for index in range(min(len(want), len(got)), len(longer)):
                yield f"{path}[{index}]: only {who} -> {longer[index]!r}"
        return
    # bool is an int in Python: True == 1 must not pass.
    if want != got or type(want) is not type(got):
        yield f"{path}: iputils -> {want!r}, pingsock -> {got!r}"


def _short(value: Any) -> str:
    if _is_raised(value):
        return f"raised {value['raised']}"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def assert_parsers_agree(iputils_stdout: str, pingsock_stdout: str) -> None:
    """Fail unless jc and pingparsing read both texts into the same (clock-masked) values.

    Both texts may be raw or ``sidebyside.mask``-ed. A reader that raises must raise the same
    exception type on both. Identical texts always pass.
    """
    if iputils_stdout == pingsock_stdout:
        return  # the readers are deterministic: nothing can differ
    want = parsed_values(iputils_stdout)
    got = parsed_values(pingsock_stdout)
    differences = list(_differences(want, got, "parsed"))
    if differences:
        shown = differences[:30]
        if len(differences) > len(shown):
            shown.append(f"... and {len(differences) - len(shown)} more")
        versions = ", ".join(f"{name} {v}" for name, v in parser_versions().items())
        raise AssertionError(
            f"the parsers ({versions}) read pingsock's stdout differently from iputils':\n  "
            + "\n  ".join(shown)
        )
