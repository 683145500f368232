"""``pingsock sweep`` end to end, and side by side with fping 5.1 (Debian's ``fping``).

Each side-by-side case runs ``fping ARGS`` and then ``pingsock sweep ARGS`` in the same
namespace and compares stdout, stderr and the exit status after masking only times (the
``ms`` numbers, ``-C``'s values, ``-s``'s elapsed seconds and ``-D``'s stamps). fping runs
from a world-readable copy of ``/usr/bin/fping`` without its file capability (``cp`` drops
it), through ``PATH`` so that its messages say ``fping:`` as pingsock's do.

fping always runs as root with CAP_NET_RAW only (``ping_group_range`` ``1 0``: a raw socket).
On a datagram ping socket fping 5.1 cannot work: the kernel rewrites the ICMP id to the
socket's port and fping drops every reply whose id is not its PID, so every target is
"unreachable" (fixed in fping 5.2; :func:`test_fping_51_on_a_datagram_socket_sees_no_reply`).
So pingsock runs as

* ``root``: the same user, on its raw backend;
* ``nobody``: uid 65534 where the range includes it, on the kernel's ICMP datagram socket,
  and must print what fping prints on its raw socket.

The namespace (:func:`lab`) has ``lo`` and a veth pair: ``SILENT_V4``/``SILENT_V6`` are on-link
with a permanent neighbour entry, so probes leave and nothing answers; ``192.0.2.0/24`` has no
route (``sendto`` fails with ENETUNREACH). Names come from ``/etc/hosts`` only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from lab.netns import Netns, lab_tempdir
from lab.responder import RESPONDER_V4, RESPONDER_V6, ResponderLab
from lab.topology import SERVER_V4, RoutedLab
from lab.users import BASE_ENV, NOBODY, User, pingsock_argv, run_as

pytestmark = pytest.mark.netns

FPING = Path("/usr/bin/fping")
ROOT = User(0, 0, ambient_caps=("net_raw",))
USERS = {"root": ROOT, "nobody": NOBODY}
SILENT_V4 = "198.51.100.7"
SILENT_V6 = "2001:db8:1::7"
NO_ROUTE = "192.0.2.1"
TIMEOUT = 30.0
FAST = "-i 1 -t 40"  # default mode: quick timeouts
COUNT = "-i 5 -p 60 -t 30"  # count mode: each reply is read before the next probe leaves

needs_fping = pytest.mark.skipif(
    not FPING.is_file(), reason="fping is not installed (apt-get install fping)"
)

_lock = threading.Lock()
_bin: dict[str, Path] = {}


def fping_dir() -> Path:
    """A world-readable directory holding ``fping`` without its file capability."""
    with _lock:
        path = _bin.get("dir")
        if path is None or not (path / "fping").is_file():
            path = lab_tempdir("fping")
            shutil.copyfile(FPING, path / "fping")
            (path / "fping").chmod(0o755)
            _bin["dir"] = path
        return path


def lab(ns: Netns, user: str) -> Netns:
    ns.ip_batch(
        [
            "link add v0 type veth peer name v1",
            "link set v0 up",
            "link set v1 up",
            "addr add 198.51.100.1/24 dev v0",
            "addr add 2001:db8:1::1/64 dev v0 nodad",
            f"neigh add {SILENT_V4} lladdr 02:00:00:00:00:07 dev v0 nud permanent",
            f"neigh add {SILENT_V6} lladdr 02:00:00:00:00:07 dev v0 nud permanent",
        ]
    )
    if user == "nobody":
        ns.set_ping_group_range(65534, 65534)
    return ns


def run_fping(
    ns: Netns, user: str, args: Sequence[str], *, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{fping_dir()}:{BASE_ENV['PATH']}"}
    return run_as(ns, USERS[user], ["fping", *args], timeout=TIMEOUT, input=input, env=env)


def run_sweep(
    ns: Netns, user: str, args: Sequence[str], *, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_as(ns, USERS[user], [*pingsock_argv(), "sweep", *args], timeout=TIMEOUT, input=input)


_NUM = r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?"
_MASKS = [
    (re.compile(rf"{_NUM} ms\b"), "<T> ms"),
    (re.compile(rf"\({_NUM} avg,"), "(<T> avg,"),
    (re.compile(rf"min/avg/max = {_NUM}/{_NUM}/{_NUM}"), "min/avg/max = <T>/<T>/<T>"),
    (re.compile(rf"^ +{_NUM} sec \(elapsed real time\)$", re.M), " <T> sec (elapsed real time)"),
    (re.compile(r"^\[\d+\.\d{5}\] ", re.M), "[TS] "),
    (re.compile(r"^\[\d\d:\d\d:\d\d\]$", re.M), "[HH:MM:SS]"),
]
_VCOUNT = re.compile(rf"^(\S+ +:)((?: (?:-|{_NUM}))+)$", re.M)


def mask(text: str) -> str:
    """Replace the clock's numbers (only those)."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return _VCOUNT.sub(lambda m: m.group(1) + re.sub(rf"(?<= ){_NUM}", "<T>", m.group(2)), text)


def outcome(proc: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return proc.returncode, mask(proc.stdout), mask(proc.stderr)


def side_by_side(
    ns: Netns, user: str, args: str | Sequence[str], *, input: str | None = None
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """fping as root, then pingsock as ``user``."""
    argv = args.split() if isinstance(args, str) else list(args)
    theirs = run_fping(ns, "root", argv, input=input)  # fping first, as for ping
    ours = run_sweep(ns, user, argv, input=input)
    assert "Traceback" not in ours.stderr, ours.stderr
    return theirs, ours


def check(ns: Netns, user: str, args: str | Sequence[str], *, input: str | None = None) -> None:
    theirs, ours = side_by_side(ns, user, args, input=input)
    assert outcome(ours) == outcome(theirs), (
        f"fping:\n{theirs.stdout}{theirs.stderr}rc={theirs.returncode}\n"
        f"pingsock:\n{ours.stdout}{ours.stderr}rc={ours.returncode}"
    )


# -- the masks themselves -------------------------------------------------------------------------


def test_mask_only_touches_times() -> None:
    assert mask("127.0.0.1 is alive (0.031 ms)\n") == "127.0.0.1 is alive (<T> ms)\n"
    assert (
        mask("127.0.0.1    : [0], 64 bytes, 0.020 ms (0.020 avg, 0% loss)\n")
        == "127.0.0.1    : [0], 64 bytes, <T> ms (<T> avg, 0% loss)\n"
    )
    assert (
        mask("h : [1], timed out (NaN avg, 100% loss)") == "h : [1], timed out (NaN avg, 100% loss)"
    )
    assert (
        mask("127.0.0.1 : xmt/rcv/%loss = 2/2/0%, min/avg/max = 0.013/0.016/0.020")
        == "127.0.0.1 : xmt/rcv/%loss = 2/2/0%, min/avg/max = <T>/<T>/<T>"
    )
    assert mask("127.0.0.1    : 0.025 - 1.2e+03") == "127.0.0.1    : <T> - <T>"
    assert mask("192.0.2.1 : - -") == "192.0.2.1 : - -"
    assert mask("        0.010 sec (elapsed real time)") == " <T> sec (elapsed real time)"
    assert mask("       2 targets") == "       2 targets"
    assert mask("[1700000000.12345] h : [0]") == "[TS] h : [0]"
    assert mask("[19:15:21]\nh : xmt") == "[HH:MM:SS]\nh : xmt"


# -- side by side: loopback, a silent neighbour, no route to 192.0.2.0/24 ------------------------

BOTH = ["root", "nobody"]

CASES: list[tuple[str, str]] = [
    ("alive-v4", "127.0.0.1"),
    ("alive-v6", "::1"),
    ("alive-many", "127.0.0.1 ::1 127.0.0.2 127.0.0.3"),
    ("elapsed", "-e 127.0.0.1 ::1"),
    ("unreachable", f"{FAST} -r 1 127.0.0.1 {SILENT_V4} ::1 {SILENT_V6}"),
    ("alive-flag", f"{FAST} -r 0 -a 127.0.0.1 {SILENT_V4} ::1"),
    ("alive-flag-elapsed", f"{FAST} -r 0 -a -e 127.0.0.1 {SILENT_V4}"),
    ("unreach-flag", f"{FAST} -r 0 -u 127.0.0.1 {SILENT_V4} ::1 {SILENT_V6}"),
    ("quiet", f"{FAST} -r 0 -q 127.0.0.1 {SILENT_V4}"),
    ("quiet-all-alive", "-q 127.0.0.1 ::1"),
    ("stats", f"{FAST} -r 1 -s 127.0.0.1 {SILENT_V4}"),
    ("stats-backoff", f"-i 1 -t 20 -r 2 -B 2 -s {SILENT_V4}"),
    ("stats-all-alive", "-s 127.0.0.1 ::1 127.0.0.2"),
    ("count", f"{COUNT} -c 3 127.0.0.1 ::1 {SILENT_V4}"),
    ("count-one", f"{COUNT} -c 1 127.0.0.1"),
    ("count-quiet", f"{COUNT} -c 2 -q 127.0.0.1 {SILENT_V4} ::1"),
    ("count-stats", f"{COUNT} -c 2 -s 127.0.0.1 {SILENT_V4}"),
    ("count-alive-flag", f"{COUNT} -c 2 -a 127.0.0.1 {SILENT_V4}"),
    ("count-outage", f"{COUNT} -c 3 -o {SILENT_V4} 127.0.0.1"),
    ("count-timestamps", f"{COUNT} -c 2 -D 127.0.0.1 {SILENT_V4}"),
    ("count-size", f"{COUNT} -c 1 -b 100 127.0.0.1 ::1"),
    ("count-size-16", f"{COUNT} -c 1 -b 16 127.0.0.1"),
    ("count-ttl-tos", f"{COUNT} -c 1 -H 5 -O 16 127.0.0.1 ::1"),
    ("vcount", f"{COUNT} -C 3 127.0.0.1 ::1 {SILENT_V4}"),
    ("vcount-quiet", f"{COUNT} -C 2 -q 127.0.0.1 {SILENT_V6}"),
    ("vcount-stats", f"{COUNT} -C 2 -s 127.0.0.1"),
    ("generate-cidr", "-g 127.0.0.0/29"),
    ("generate-cidr-alive", "-a -g 127.0.0.8/30"),
    ("generate-range", "-g 127.0.0.1 127.0.0.4 -s"),
    ("generate-31", "-g 127.0.0.4/31"),
    ("generate-32", "-g 127.0.0.9/32 -e"),
    ("generate-count", f"{COUNT} -c 2 -g 127.0.0.1 127.0.0.3"),
    ("generate-unreachable", f"{FAST} -r 0 -g 198.51.100.6 198.51.100.8"),
    ("generate-empty", "-g 127.0.0.5 127.0.0.1"),
    # summary only: the engine tallies the targets instead of reporting each
    ("generate-quiet-stats", "-g -q -s 127.0.0.0/29"),
    ("generate-quiet-stats-silent", f"{FAST} -r 1 -q -s -g 198.51.100.6 198.51.100.8"),
    ("generate-inet-aton", "-g 127.1/30"),
    ("send-error", f"{FAST} {NO_ROUTE} 127.0.0.1"),
    ("send-error-quiet", f"{FAST} -q {NO_ROUTE}"),
    ("send-error-unreach", f"{FAST} -u {NO_ROUTE} 127.0.0.1"),
    ("send-error-stats", f"{FAST} -s {NO_ROUTE} 127.0.0.1"),
    ("send-error-count", f"{COUNT} -c 2 {NO_ROUTE} 127.0.0.1"),
    ("send-error-vcount", f"{COUNT} -C 2 {NO_ROUTE}"),
    ("family-4", "-4 127.0.0.1 ::1"),
    ("family-6", "-6 127.0.0.1 ::1"),
    ("family-4-quiet", "-4 -q ::1 127.0.0.1"),
    ("only-bad-names", "-4 ::1"),
    ("localhost", "localhost 127.0.0.1"),
    ("localhost-count", f"{COUNT} -c 1 localhost ::1 127.0.0.1"),
    ("reachable-enough", f"{FAST} -r 0 -x 1 127.0.0.1 {SILENT_V4}"),
    ("reachable-not-enough", f"{FAST} -r 0 -x 2 127.0.0.1 {SILENT_V4}"),
    ("reachable-count", f"{COUNT} -c 1 -x 1 127.0.0.1"),
    ("duplicate-target", f"{COUNT} -c 2 127.0.0.1 127.0.0.1"),
    ("duplicate-target-default", "127.0.0.1 127.0.0.1"),
    ("long-options", "--count=2 --period=60 --timeout=30 --interval=1 --stats 127.0.0.1"),
    ("permuted", f"127.0.0.1 -c 1 {COUNT} ::1"),
    ("double-dash", "-e -- 127.0.0.1"),
    ("ignored-T", "-T 5 127.0.0.1"),
    ("addr", "-A localhost ::1 127.0.0.1"),
    ("addr-count", f"{COUNT} -c 1 -A localhost 127.0.0.1 ::1"),
    ("name", "-n 127.0.0.1 localhost ::1"),
    ("name-addr", "-n -A 127.0.0.1 localhost"),
    ("rdns", f"{COUNT} -C 1 -d 127.0.0.1 localhost ::1"),
    ("rdns-addr-unreachable", f"{FAST} -r 0 -d -A 127.0.0.1 {SILENT_V4}"),
    ("rdns-generate", "-d -g 127.0.0.0/30"),
    ("every-address", "-m localhost 127.0.0.1"),
    ("count-unreach-flag", f"{COUNT} -c 1 -u 127.0.0.1 {SILENT_V4}"),
    ("count-elapsed", f"{COUNT} -c 1 -e 127.0.0.1"),
    ("vcount-alive-flag", f"{COUNT} -C 1 -a 127.0.0.1 {SILENT_V6}"),
    ("outage-default-mode", "-o 127.0.0.1"),
    ("everything-silent-v6", f"{FAST} -r 1 -s {SILENT_V6}"),
    ("clustered", f"-aes {FAST} -r0 127.0.0.1 {SILENT_V4}"),
    ("squiet", f"-i 5 -t 30 -p 100 -c 5 -Q 0.25 127.0.0.1 {SILENT_V4}"),
    ("squiet-outage", f"-i 5 -t 30 -p 100 -c 5 -o -Q 0.25 {SILENT_V6} ::1"),
    ("squiet-default-mode", f"{FAST} -Q 0.01 127.0.0.1 {SILENT_V4}"),
    ("every-address-addr", f"{COUNT} -c 1 -m -A localhost ::1"),
]


@needs_fping
@pytest.mark.parametrize("user", BOTH)
@pytest.mark.parametrize(("name", "args"), CASES, ids=[c[0] for c in CASES])
def test_side_by_side(netns: Netns, user: str, name: str, args: str) -> None:
    check(lab(netns, user), user, args)


FILE = "# targets\n127.0.0.1\n\n  ::1   trailing words\n#198.51.100.7\n127.0.0.2\n"


@needs_fping
@pytest.mark.parametrize("user", BOTH)
def test_side_by_side_file(netns: Netns, user: str) -> None:
    path = lab_tempdir("targets") / "list"
    path.write_text(FILE)
    path.chmod(0o644)
    check(lab(netns, user), user, ["-f", str(path)])
    check(netns, user, ["-c", "1", *COUNT.split(), "-f", str(path)])


@needs_fping
@pytest.mark.parametrize("user", BOTH)
def test_side_by_side_stdin(netns: Netns, user: str) -> None:
    check(lab(netns, user), user, [], input=FILE)
    check(netns, user, ["-s", "-f", "-"], input=FILE)
    check(netns, user, ["-q"], input="")


@needs_fping
@pytest.mark.parametrize(
    "args",
    [
        "-f /nonexistent/list",
        "-c 0 127.0.0.1",
        "-c x 127.0.0.1",
        "-C 0 127.0.0.1",
        "-t abc 127.0.0.1",
        "-t -5 127.0.0.1",
        "-i -1 127.0.0.1",
        "-p x 127.0.0.1",
        "-r x 127.0.0.1",
        "-b x 127.0.0.1",
        "-B 0 127.0.0.1",
        "-B 7 127.0.0.1",
        "-B 0.5 127.0.0.1",
        "-H 0 127.0.0.1",
        "-H 256 127.0.0.1",
        "-x 0 127.0.0.1",
        "-O abc 127.0.0.1",
        "-b 70000 127.0.0.1",
        "-a -u 127.0.0.1",
        "-4 -6 127.0.0.1",
        "-6 -4 127.0.0.1",
        "-Z",
        "-x",
        "--foo",
        "--alive=3",
        "--count",
        "-g",
        "-g 127.0.0.1",
        "-g 1 2 3",
        "-g foo/24",
        "-g ::1/64",
        "-g 1.2.3.0/0",
        "-g 1.2.3.0/33x",
        "-g 1.0.0.0 2.0.0.0",
        "-g 1.2.3.4 ::1",
        "-g 1.2.3.4 x",
        "-f x 127.0.0.1",
        "-f x -g 1.2.3.4",
        "-n -d 127.0.0.1",
        "-d -n 127.0.0.1",
        "-Q x 127.0.0.1",
        "-Q -1 127.0.0.1",
    ],
)
def test_side_by_side_validation(netns: Netns, args: str) -> None:
    check(netns, "root", args)


# -- ICMP errors: fping (root, raw) reads them from its socket, pingsock from the error queue


@needs_fping
@pytest.mark.parametrize("user", BOTH)
def test_side_by_side_icmp_errors(routed_lab: RoutedLab, user: str) -> None:
    client = routed_lab.client
    if user == "nobody":
        client.set_ping_group_range(65534, 65534)
    routed_lab.server.reject_echo("host-unreachable", family=4)
    check(client, user, f"{FAST} -r 1 {SERVER_V4}")
    check(client, user, f"{FAST} -r 1 -s {SERVER_V4}")
    check(client, user, f"{COUNT} -c 2 {SERVER_V4}")
    check(client, user, f"{FAST} -r 0 -q {SERVER_V4}")
    routed_lab.server.reject_echo("admin-prohibited", family=4)
    check(client, user, f"{FAST} -r 0 -u {SERVER_V4}")
    routed_lab.server.clear_rejects()
    check(client, user, f"{COUNT} -c 2 -H 1 {SERVER_V4}")  # time exceeded from the router
    check(client, user, f"{COUNT} -C 1 -s -H 1 {SERVER_V4} 127.0.0.1")


@needs_fping
def test_fping_51_on_a_datagram_socket_sees_no_reply(netns: Netns) -> None:
    """Why fping is the reference only as root: on the kernel's ping socket fping 5.1 drops
    every reply (it checks the id the kernel rewrote); pingsock reports the host alive."""
    netns.set_ping_group_range(65534, 65534)
    theirs = run_fping(netns, "nobody", ["127.0.0.1"])
    ours = run_sweep(netns, "nobody", ["127.0.0.1"])
    assert (theirs.returncode, theirs.stdout) == (1, "127.0.0.1 is unreachable\n")
    assert (ours.returncode, ours.stdout) == (0, "127.0.0.1 is alive\n")


# -- documented differences ----------------------------------------------------------------------


@needs_fping
def test_help_lists_only_what_pingsock_implements(netns: Netns) -> None:
    theirs, ours = side_by_side(netns, "root", "-h")
    assert (ours.returncode, theirs.returncode) == (0, 0)
    assert "-l, --loop" in theirs.stdout and "-l, --loop" not in ours.stdout
    assert "--json" in ours.stdout
    kept = [line for line in theirs.stdout.splitlines() if line in ours.stdout.splitlines()]
    assert len(kept) == len(ours.stdout.splitlines()) - 1  # all but --json are fping's lines


@needs_fping
def test_version_names_pingsock(netns: Netns) -> None:
    theirs, ours = side_by_side(netns, "root", "-v")
    assert theirs.stdout == "fping: Version 5.1\n"
    assert ours.stdout.startswith("fping: Version 5.1 (pingsock ")
    assert ours.returncode == theirs.returncode == 0


@needs_fping
@pytest.mark.parametrize("option", ["-l", "-S 127.0.0.1", "-I lo", "-R", "-M", "-N"])
def test_unimplemented_options_are_refused(netns: Netns, option: str) -> None:
    ours = run_sweep(netns, "root", [*option.split(), "127.0.0.1"])
    letter = option.split(maxsplit=1)[0]
    assert ours.returncode == 1 and ours.stdout == ""
    assert ours.stderr == f"fping: option {letter} is not supported by pingsock sweep\n"


@needs_fping
def test_payload_below_16_bytes_is_refused(netns: Netns) -> None:
    ours = run_sweep(netns, "root", ["-b", "8", "127.0.0.1"])
    assert ours.returncode == 1
    assert ours.stderr.startswith("fping: data size 8 not supported by pingsock sweep")


@needs_fping
def test_no_socket_without_permission(netns: Netns) -> None:
    """Both say fping's line and exit 4; pingsock explains why after it."""
    theirs = run_fping(netns, "nobody", ["127.0.0.1"])
    ours = run_sweep(netns, "nobody", ["127.0.0.1"])
    assert theirs.returncode == ours.returncode == 4
    assert theirs.stderr == "fping: can't create socket (must run as root?)\n"
    assert ours.stderr.startswith(theirs.stderr)
    assert "ping_group_range" in ours.stderr


# -- end to end, without fping --------------------------------------------------------------------


@pytest.mark.parametrize("user", BOTH)
def test_json_lines(netns: Netns, user: str) -> None:
    lab(netns, user)
    proc = run_sweep(
        netns, user, ["--json", *COUNT.split(), "-c", "2", "127.0.0.1", SILENT_V4, "-4", "::1"]
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ""
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "resolve_failed" and lines[0]["host"] == "::1"
    assert kinds.count("reply") == 2 and kinds.count("lost") == 2
    hosts = [line for line in lines if line["type"] == "host"]
    assert [h["host"] for h in hosts] == ["127.0.0.1", SILENT_V4]
    assert hosts[0]["alive"] and hosts[0]["sent"] == 2 and len(hosts[0]["rtts"]) == 2
    assert not hosts[1]["alive"] and hosts[1]["loss_percent"] == 100
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["exit_status"] == 2
    assert (summary["targets"], summary["alive"], summary["unknown"]) == (2, 1, 1)


def test_json_default_mode_send_error(netns: Netns) -> None:
    proc = run_sweep(netns, "root", ["--json", *FAST.split(), NO_ROUTE, "127.0.0.1"])
    assert proc.returncode == 1
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    errors = [line for line in lines if line["type"] == "error"]
    assert errors[0]["errno"] == "ENETUNREACH" and errors[0]["host"] == NO_ROUTE
    assert [line["type"] for line in lines[-3:]] == ["host", "host", "summary"]


def test_no_progress_bar_when_stderr_is_not_a_terminal(netns: Netns) -> None:
    proc = run_sweep(netns, "root", ["-g", "127.0.0.0/28", "-q"])
    assert proc.returncode == 0 and proc.stdout == proc.stderr == ""


def test_progress_bar_on_a_terminal(netns: Netns) -> None:
    """With stderr on a pty the bar is drawn and cleared; stdout (a pipe) stays clean."""
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        argv = netns.exec_argv(*_setpriv(ROOT), *pingsock_argv(), "sweep", "-g", "127.0.0.0/28")
        env = {**BASE_ENV, "PYTHONPATH": _pythonpath()}
        proc = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=TIMEOUT,
            check=False,
            cwd="/",
        )
        os.close(follower)
        follower = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == [f"127.0.0.{i} is alive" for i in range(1, 15)]
    assert b"14/14 alive 14" in drawn
    assert drawn.endswith(b"\r")  # cleared


def _setpriv(user: User) -> list[str]:
    from lab.users import setpriv_argv

    return setpriv_argv(user)


def _pythonpath() -> str:
    from lab.users import pingsock_copy

    return str(pingsock_copy())


def test_sweep_in_the_command_list() -> None:
    from pingsock.cli.main import _TOP_USAGE

    assert "  sweep [options] [targets...]" in _TOP_USAGE


# -- a user-space responder: drops, delays, duplicates, errors -------------------------------------

ENGINE_LAST_DUPLICATES = pytest.mark.xfail(
    reason="race: a copy of a count-mode target's last reply counts when it is read with that "
    "reply (the target finishes after the whole read, as fping reads every queued reply "
    "before it ends); one that lands after that read is not read by pingsock, while fping "
    "may still be waiting on another timer (not strict: most runs agree)",
    strict=False,
)

RESPONDER_CASES = [
    ("drop-one", f"{COUNT} -c 3 {RESPONDER_V4}", {"drop_seqs": frozenset({1})}),
    ("drop-one-vcount", f"{COUNT} -C 3 {RESPONDER_V4} 127.0.0.1", {"drop_seqs": frozenset({2})}),
    ("drop-first-default", f"{FAST} -s {RESPONDER_V4}", {"drop_seqs": frozenset({0})}),
    ("drop-all", f"{FAST} -r 1 -s {RESPONDER_V4} {RESPONDER_V6}", {"drop_all": True}),
    ("late", f"{COUNT} -c 2 -t 20 {RESPONDER_V4}", {"delay_ms": 35.0}),
    ("late-default", f"-i 1 -t 20 -r 1 -e {RESPONDER_V4}", {"delay_ms": 35.0}),
    ("slow-but-in-time", f"{COUNT} -c 2 {RESPONDER_V4} {RESPONDER_V6}", {"delay_ms": 12.0}),
    ("duplicates-count", f"{COUNT} -c 2 {RESPONDER_V4}", {"duplicates": 1}),
    ("duplicates-count-quiet", f"{COUNT} -c 2 -q {RESPONDER_V4}", {"duplicates": 1}),
    ("duplicates-vcount-stats", f"{COUNT} -C 2 -s {RESPONDER_V4}", {"duplicates": 2}),
    ("error", f"{FAST} -r 1 {RESPONDER_V4}", {"error": (3, 3)}),
    ("error-count", f"{COUNT} -c 2 -s {RESPONDER_V4}", {"error": (3, 10)}),
    ("error-param", f"{FAST} -r 0 {RESPONDER_V4}", {"error": (12, 0)}),
    ("error-quiet", f"{FAST} -r 0 -q {RESPONDER_V4}", {"error": (3, 1)}),
    ("error-v6-silent", f"{FAST} -r 0 -s {RESPONDER_V6}", {"error_v6": (1, 4)}),
]
_XFAIL = {
    "duplicates-count-quiet": ENGINE_LAST_DUPLICATES,
    "duplicates-vcount-stats": ENGINE_LAST_DUPLICATES,
}


@needs_fping
@pytest.mark.parametrize("user", BOTH)
@pytest.mark.parametrize(
    ("name", "args", "behaviour"),
    [
        pytest.param(*c, id=c[0], marks=[_XFAIL[c[0]]] if c[0] in _XFAIL else [])
        for c in RESPONDER_CASES
    ],
)
def test_side_by_side_responder(
    responder_lab: ResponderLab, user: str, name: str, args: str, behaviour: dict[str, object]
) -> None:
    client = responder_lab.client
    if user == "nobody":
        client.set_ping_group_range(65534, 65534)
    responder_lab.responder.configure(**behaviour)
    theirs = run_fping(client, "root", args.split())
    responder_lab.responder.configure(**behaviour)  # counters start again
    ours = run_sweep(client, user, args.split())
    assert "Traceback" not in ours.stderr, ours.stderr
    assert outcome(ours) == outcome(theirs), (
        f"fping:\n{theirs.stdout}{theirs.stderr}rc={theirs.returncode}\n"
        f"pingsock:\n{ours.stdout}{ours.stderr}rc={ours.returncode}"
    )


@needs_fping
def test_unreachable_codes_above_15_never_reach_a_ping_socket(responder_lab: ResponderLab) -> None:
    """Deviation: the kernel drops a 3/N error with N > 15 before any ping socket (and so the
    emulation) sees it; fping on its raw socket prints ``ICMP Unreachable (Invalid Code)``."""
    responder_lab.responder.configure(error=(3, 20))
    theirs = run_fping(responder_lab.client, "root", [*FAST.split(), "-r", "0", RESPONDER_V4])
    ours = run_sweep(responder_lab.client, "root", [*FAST.split(), "-r", "0", RESPONDER_V4])
    assert theirs.stderr == (
        f"ICMP Unreachable (Invalid Code) from {RESPONDER_V4} for ICMP Echo sent to "
        f"{RESPONDER_V4}\n"
    )
    assert ours.stderr == ""
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout)


@needs_fping
def test_default_mode_duplicates_are_not_reported(responder_lab: ResponderLab) -> None:
    """Deviation: in the default mode the engine ends a target at its first reply and drops
    later copies; fping still prints ``X : duplicate for [0], ...`` on stderr."""
    responder_lab.responder.configure(duplicates=1)
    theirs = run_fping(responder_lab.client, "root", [RESPONDER_V4])
    ours = run_sweep(responder_lab.client, "root", [RESPONDER_V4])
    assert theirs.stdout == ours.stdout == f"{RESPONDER_V4} is alive\n"
    # fping prints the copy only when it comes before fping exits (timing: often, not always).
    assert mask(theirs.stderr) in ("", f"{RESPONDER_V4} : duplicate for [0], 64 bytes, <T> ms\n")
    assert ours.stderr == ""


@needs_fping
@pytest.mark.parametrize(
    "behaviour", [{"from_alt": True}, {"truncate": 8}, {"corrupt": "payload"}], ids=str
)
def test_replies_fping_takes_and_pingsock_does_not(
    responder_lab: ResponderLab, behaviour: dict[str, object]
) -> None:
    """Deviation: a reply from another address, a truncated one or one with other data is
    counted by fping (it matches on id and sequence only; ``[<- addr]`` marks the first); the
    engine counts only replies from the target that carry its cookie and send time intact."""
    responder_lab.responder.configure(**behaviour)
    theirs = run_fping(responder_lab.client, "root", [*FAST.split(), "-r", "0", RESPONDER_V4])
    ours = run_sweep(responder_lab.client, "root", [*FAST.split(), "-r", "0", RESPONDER_V4])
    assert theirs.returncode == 0 and ours.returncode == 1
    assert ours.stdout == f"{RESPONDER_V4} is unreachable\n"


def test_sigquit_prints_a_split_report(netns: Netns) -> None:
    """SIGQUIT (count mode): fping's split report on stderr, counters since the last one."""
    import os
    import signal
    import time

    env = {**BASE_ENV, "PYTHONPATH": _pythonpath()}
    argv = [*pingsock_argv(), "sweep", "-c", "20", "-p", "50", "127.0.0.1"]
    proc = netns.popen(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd="/"
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("127.0.0.1 : [0], 64 bytes, ")
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGQUIT)
    _out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    report = re.search(
        r"^\n\[\d\d:\d\d:\d\d\]\n127\.0\.0\.1 : xmt/rcv/%loss = (\d+)/\1/0%, ", err, re.M
    )
    assert report is not None, err
    assert 1 <= int(report.group(1)) < 20
    assert err.endswith("127.0.0.1 : xmt/rcv/%loss = 20/20/0%, " + err.rsplit(", ", 1)[1])
