"""How ``pingsock ping`` writes what happens: iputils' text, or ``--json`` lines.

The I/O side of :mod:`pingsock.cli.render` and :mod:`pingsock.cli.json_lines`: the two
streams with iputils' flushing, the reverse lookups of ``pr_addr``, and one printer per output
mode that turns each event of the run into its text.
"""

from __future__ import annotations

import os
import socket
from typing import TextIO

from pingsock.cli import json_lines, render
from pingsock.events import Event, IcmpError, LocalError, NoAnswerYet, Reply, Sent, StatusRequest
from pingsock.resolve import Target, reverse_name
from pingsock.sync import Pinger

__all__ = ["PROGRAM", "JsonPrinter", "Names", "Streams", "TextPrinter"]

PROGRAM = "ping"


class Streams:
    """stdout and stderr, with iputils' flushing: stdout is flushed after each reply or error
    line and at the end, so a pipe sees the header only together with the first of them."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    unbuffered = False  # -f: setbuf(stdout, NULL)

    def stdout(self, text: str, *, flush: bool = False) -> None:
        if text:
            self.out.write(text)
        if flush or self.unbuffered:
            self.out.flush()

    def stderr(self, text: str) -> None:
        if text:
            self.err.write(text)
            self.err.flush()

    def diagnostic(self, message: str) -> None:
        self.stderr(f"{PROGRAM}: {message}\n")


class Names:
    """pr_addr with a cache: one PTR lookup per address, none for numeric runs."""

    def __init__(self, numeric: bool) -> None:
        self.numeric = numeric
        self._cache: dict[str, str | None] = {}

    def show(self, address: str) -> str:
        if self.numeric:
            return address
        if address not in self._cache:
            self._cache[address] = reverse_name(address)
        return render.pr_addr(address, self._cache[address], numeric=False)


def _screen_width(out: TextIO) -> int:
    """iputils' screen_width: the terminal's columns, or INT_MAX when stdout is no tty."""
    try:
        if out.isatty():
            return max(os.get_terminal_size(out.fileno()).columns, 1)
    except (OSError, ValueError, AttributeError):
        pass
    return 2**31 - 1


class _Printer:
    """What both output modes need: the run, its streams, and the reply checks of
    ``gather_statistics``."""

    def __init__(
        self,
        streams: Streams,
        target: Target,
        opts: render.RenderOptions,
        names: Names,
        pinger: Pinger,
    ) -> None:
        self.streams = streams
        self.target = target
        self.opts = opts
        self.names = names
        self.pinger = pinger
        self.sent_payload = pinger.payload
        self.family = 6 if target.family == socket.AF_INET6 else 4
        self.options = render.OptionsPrinter()  # pr_options' "same route" memory
        self.preload = pinger.options.preload
        self.width = _screen_width(streams.out)

    def different_address(self, reply: Reply) -> bool:
        """``(DIFFERENT ADDRESS!)``: not from the target, which is no broadcast/multicast."""
        source, target = reply.source.split("%")[0], self.target.address.split("%")[0]
        return not self.opts.multicast and source != target

    def wrong_data(self, reply: Reply) -> str:
        """The echoed data is checked past the time stamp (not for a truncated reply)."""
        if reply.truncated:
            return ""
        return render.wrong_data_dump(reply.payload, self.sent_payload)


class TextPrinter(_Printer):
    """Turns each event of the run into iputils' text on the right stream."""

    def __call__(self, event: Event) -> None:
        streams, opts = self.streams, self.opts
        flood = opts.flood
        if isinstance(event, Sent):
            if flood and not opts.quiet:
                stats = self.pinger.tracker.stats
                # pinger(): without this, a deep pipe makes the dots confusing on a terminal.
                if (
                    self.preload < self.width and stats.snapshot().pipesize < self.width
                ) or stats.in_flight() < self.width:
                    streams.stdout(render.FLOOD_SENT, flush=True)
        elif isinstance(event, Reply):
            blocks = ""
            if event.ip_options and not flood and not event.truncated:
                blocks = self.options.render(event.ip_options, self.names.show)
            line = render.reply_line(
                event,
                self.names.show(event.source),
                opts,
                different_address=self.different_address(event),
                wrong_data=self.wrong_data(event),
                ip_options=blocks,
            )
            streams.stdout(line, flush=True)
        elif isinstance(event, IcmpError):
            line = render.icmp_error_line(event, self.names.show(event.offender), opts)
            streams.stdout(line, flush=True)
        elif isinstance(event, LocalError) and not event.send_only:
            output = render.local_error(event, os.strerror(event.errno), opts, family=self.family)
            streams.stdout(output.stdout, flush=True)
            streams.stderr(output.stderr)
        elif isinstance(event, NoAnswerYet):
            streams.stdout(render.no_answer_yet_line(event, opts), flush=True)
        elif isinstance(event, StatusRequest):
            snapshot = self.pinger.tracker.snapshot()
            streams.stderr(render.status_line(snapshot, opts).stderr)


class JsonPrinter(_Printer):
    """``--json``: one line per event on stdout (json_lines), flushed as it is written."""

    def __call__(self, event: Event) -> None:
        opts, line = self.opts, ""
        if isinstance(event, Reply) and not opts.quiet:
            line = json_lines.reply_line(
                event,
                self.names.show(event.source),
                different_address=self.different_address(event),
                wrong_data=bool(self.wrong_data(event)),
            )
        elif isinstance(event, IcmpError) and not opts.quiet:
            line = json_lines.error_line(event, self.names.show(event.offender))
        elif isinstance(event, LocalError) and not opts.quiet and not event.send_only:
            line = json_lines.local_error_line(event, os.strerror(event.errno), family=self.family)
        elif isinstance(event, NoAnswerYet):
            line = json_lines.no_answer_line(event)
        elif isinstance(event, StatusRequest):
            line = json_lines.status_line(self.pinger.tracker.snapshot(), opts)
        self.streams.stdout(line, flush=bool(line))
