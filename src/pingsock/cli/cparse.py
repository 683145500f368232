"""The C library parsing iputils ping relies on, emulated exactly (glibc, C locale).

GNU ``getopt`` (permuting), ``strtol``/``strtoul`` (bases 10 and 16), ``strtod`` (decimal, hex,
inf, nan) and ``inet_pton`` (AF_INET, AF_INET6). Pure: what C reports through ``errno`` is part
of the returned value (``erange``), nothing is global.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

__all__ = ["GetoptError", "getopt", "inet_pton4", "inet_pton6", "strtod", "strtol", "strtoul"]

LONG_MIN, LONG_MAX, ULONG_MAX = -(2**63), 2**63 - 1, 2**64 - 1
DBL_MIN = 2.2250738585072014e-308
_SPACE = " \t\n\v\f\r"  # isspace() in the C locale
_HEX_DIGITS = "0123456789abcdefABCDEF"
_INTEGER = {10: re.compile(r"[0-9]+"), 16: re.compile(r"[0-9a-fA-F]+")}
_INF_NAN = re.compile(r"inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?", re.IGNORECASE | re.ASCII)
_HEX_FLOAT = re.compile(r"0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP]([+-]?[0-9]+))?")
_DEC_FLOAT = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")


class GetoptError(Exception):
    """What glibc's getopt prints (after the program name) before returning '?'."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def getopt(argv: list[str], optstring: str, operands: list[str]) -> Iterator[tuple[str, str]]:
    """GNU getopt(3) with permutation: yields (letter, argument) in argv order.

    Non-options are appended to ``operands`` as the scan passes them (their order is kept) and
    ``--`` makes the rest operands. A bad letter or a missing argument raises ``GetoptError``
    at its place in the scan, so checks on earlier options win, as in C.
    """
    takes_arg = {c for i, c in enumerate(optstring) if optstring[i + 1 : i + 2] == ":"}
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            operands.extend(argv[index:])
            return
        if len(word) < 2 or word[0] != "-":
            operands.append(word)
            continue
        position = 1  # "--foo" is the letters '-', 'f', ...: getopt() has no long options
        while position < len(word):
            letter = word[position]
            position += 1
            if letter == ":" or letter not in optstring:
                raise GetoptError(f"invalid option -- '{letter}'")
            if letter not in takes_arg:
                yield letter, ""
                continue
            if position < len(word):
                value = word[position:]
            elif index < len(argv):
                value = argv[index]
                index += 1
            else:
                raise GetoptError(f"option requires an argument -- '{letter}'")
            yield letter, value
            break


def _integer(text: str, base: int) -> tuple[bool, int, int]:
    """The common part of strtol/strtoul: (negative, magnitude, end); end 0 if no digits."""
    index = len(text) - len(text.lstrip(_SPACE))
    negative = text[index : index + 1] == "-"
    index += text[index : index + 1] in ("-", "+")
    if base == 16 and text[index : index + 2] in ("0x", "0X") and text[index + 2 : index + 3]:
        index += 2 if text[index + 2] in _HEX_DIGITS else 0
    match = _INTEGER[base].match(text, index)
    if not match:
        return False, 0, 0
    digits = match.group().lstrip("0") or "0"
    magnitude = ULONG_MAX + 1 if len(digits) > 24 else int(digits, base)
    return negative, magnitude, match.end()


def strtol(text: str, base: int = 10) -> tuple[int, int, bool]:
    """strtol(3): (value, end, erange); out of range clamps to LONG_MIN/LONG_MAX with ERANGE."""
    negative, magnitude, end = _integer(text, base)
    value = -magnitude if negative else magnitude
    if value > LONG_MAX or value < LONG_MIN:
        return (LONG_MAX if value > 0 else LONG_MIN), end, True
    return value, end, False


def strtoul(text: str, base: int = 10) -> tuple[int, int, bool]:
    """strtoul(3): (value, end, erange); "-N" is 2**64 - N, as in C."""
    negative, magnitude, end = _integer(text, base)
    if magnitude > ULONG_MAX:
        return ULONG_MAX, end, True
    return (-magnitude % 2**64 if negative else magnitude), end, False


def _exponent(text: str | None) -> int:
    """An exponent's digits as an int, saturated far beyond any double's range."""
    text = text or "0"
    if len(text.lstrip("+-0")) > 9:
        return -(10**10) if text.startswith("-") else 10**10
    return int(text)


def _hex_value(digits: str, scale: int) -> tuple[float, bool]:
    """int(digits, 16) * 2**scale rounded to a double, and glibc's ERANGE flag."""
    significand = int(digits, 16)
    if not significand:
        return 0.0, False
    top = significand.bit_length() + scale
    if top > 1025:
        return math.inf, True
    if top < -1075:
        return 0.0, True
    from fractions import Fraction  # the rare hex literal only: it costs 2-3 ms to import

    exact = significand * Fraction(2) ** scale
    try:
        value = float(exact)  # int / int true division: correctly rounded, subnormals too
    except OverflowError:
        return math.inf, True
    return value, math.isinf(value) or (value < DBL_MIN and Fraction(value) != exact)


def _decimal_value(literal: str, digits: str, scale: int) -> tuple[float, bool]:
    """float(literal) (correctly rounded, like glibc) and glibc's ERANGE flag."""
    value = float(literal)
    if math.isinf(value):
        return value, True
    if value >= DBL_MIN or not digits.strip("0"):
        return value, False
    # Tiny: ERANGE unless exact. An exact double below DBL_MIN has < 800 significant digits.
    significant = digits.rstrip("0")
    scale += len(digits) - len(significant)
    if value == 0 or len(significant) > 800:
        return value, True
    from fractions import Fraction  # a value below DBL_MIN only: it costs 2-3 ms to import

    return value, Fraction(int(significant)) * Fraction(10) ** scale != Fraction(value)


def strtod(text: str) -> tuple[float, int, bool]:
    """strtod(3) in the C locale: (value, end, erange); end 0 when nothing was converted."""
    index = len(text) - len(text.lstrip(_SPACE))
    sign = -1.0 if text[index : index + 1] == "-" else 1.0
    index += text[index : index + 1] in ("-", "+")
    special = _INF_NAN.match(text, index)
    if special:
        value = math.nan if special.group()[0] in "nN" else math.inf
        return sign * value, special.end(), False
    match = _HEX_FLOAT.match(text, index) or _DEC_FLOAT.match(text, index)
    if not match:
        return 0.0, 0, False
    whole, _, fraction = match.group(1).removeprefix("0x").removeprefix("0X").partition(".")
    digits = (whole + fraction).lstrip("0") or "0"
    if match.re is _HEX_FLOAT:
        value, erange = _hex_value(digits, _exponent(match.group(2)) - 4 * len(fraction))
    else:
        scale = _exponent(match.group(2)) - len(fraction)
        value, erange = _decimal_value(text[index : match.end()], digits, scale)
    return sign * value, match.end(), erange


def inet_pton4(text: str) -> bool:
    """glibc inet_pton(AF_INET): exactly four decimal octets, no leading zeros."""
    parts = text.split(".")
    return len(parts) == 4 and all(
        part.isascii()
        and part.isdigit()
        and len(part) <= 3
        and int(part) <= 255
        and (part == "0" or not part.startswith("0"))
        for part in parts
    )


def inet_pton6(text: str) -> bool:
    """glibc inet_pton(AF_INET6) (resolv/inet_pton.c ``inet_pton6``), as a yes/no."""
    if text.startswith(":") and not text.startswith("::"):
        return False
    index = 1 if text.startswith("::") else 0
    words, digits, gap = 0, 0, -1  # 16-bit groups stored, hex digits seen, position of "::"
    token = index
    while index < len(text):
        char = text[index]
        index += 1
        if char in _HEX_DIGITS:
            digits += 1
            if digits > 4:
                return False
            continue
        if char == ":":
            token = index
            if digits == 0:
                if gap >= 0:
                    return False
                gap = words
                continue
            if index == len(text) or words == 8:
                return False
            words, digits = words + 1, 0
            continue
        if char == "." and words <= 6 and inet_pton4(text[token:]):
            words, digits = words + 2, 0
            break
        return False
    if digits:
        if words == 8:
            return False
        words += 1
    if gap >= 0:
        return words != 8
    return words == 8
