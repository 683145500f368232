"""iputils ping's -N argument (IPv6 node information query), checked as ping parses it.

node_info.c ``niquery_option_handler``: the keyword table, the query and subject type
conflicts, ``-N help``, and the subject-name checks (libidn2, the %scope, ``dn_comp``). Pure:
failures are :class:`NodeinfoExit` values; :mod:`pingsock.cli.args` turns them into its error.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NI_HELP", "NodeinfoExit", "NodeinfoState"]

NI_HELP = """ping -6 -N <nodeinfo opt>
Help:
  help
Query:
  name
  ipv6
  ipv6-all
  ipv6-compatible
  ipv6-global
  ipv6-linklocal
  ipv6-sitelocal
  ipv4
  ipv4-all
Subject:
  subject-ipv6=addr
  subject-ipv4=addr
  subject-name=name
  subject-fqdn=name
"""

# node_info.c niquery_options[], in table order: name -> query type or subject type.
_NI_QUERIES = {"name": "name", "fqdn": "name", "ipv6": "ipv6", "ipv6-all": "ipv6"}
_NI_QUERIES |= {f"ipv6-{k}": "ipv6" for k in ("compatible", "linklocal", "sitelocal", "global")}
_NI_QUERIES |= {"ipv4": "ipv4", "ipv4-all": "ipv4"}
_NI_SUBJECTS = {"subject-ipv6": "ipv6", "subject-ipv4": "ipv4"}
_NI_SUBJECTS |= {"subject-name": "name", "subject-fqdn": "name"}


class NodeinfoExit(Exception):
    """How ``niquery_option_handler`` ends the program: a diagnostic, texts and a status."""

    def __init__(self, message: str, status: int, *, stdout: str = "", stderr: str = "") -> None:
        super().__init__(message)
        self.message, self.status, self.stdout, self.stderr = message, status, stdout, stderr


@dataclass(slots=True)
class NodeinfoState:
    """``struct ping_ni`` as far as parsing needs it: the query and subject types chosen."""

    query: str | None = None
    subject: str | None = None

    def option(self, text: str) -> None:
        """One -N argument: exact keyword, or ``subject-*=value``; else the help on stderr.

        ``subject-ipv6=``/``subject-ipv4=`` values are resolved by iputils here (getaddrinfo);
        that is left to the caller: a failure prints ``<value>: <gai error>`` and the help, 2.
        """
        name, equals, value = text.partition("=")
        if text == "help":
            raise NodeinfoExit("", 0, stdout=NI_HELP)  # help handler, index != 0: stdout, 0
        conflict = ""
        if not equals and name in _NI_QUERIES:
            if self.query in (None, _NI_QUERIES[name]):
                self.query = _NI_QUERIES[name]
                return
            conflict = "Qtype conflict\n"  # printf() in niquery_set_qtype
        elif equals and name in _NI_SUBJECTS:
            if self.subject in (None, _NI_SUBJECTS[name]):
                if _NI_SUBJECTS[name] == "name":
                    _subject_name(value)
                self.subject = _NI_SUBJECTS[name]
                return
            conflict = "Subject type conflict\n"  # printf() in niquery_set_subject_type
        raise NodeinfoExit("", 2, stdout=conflict, stderr=NI_HELP)


def _subject_name(name: str) -> None:
    """``niquery_option_subject_name_handler``: libidn2, the %scope, then ``dn_comp``.

    Only ASCII names are checked (a non-ASCII one needs libidn2's IDNA2008 mapping).
    """
    if not name.isascii():
        return
    if len(name.removesuffix(".")) > 253:
        raise NodeinfoExit("IDN encoding error: domain name longer than 255 characters", 2)
    if any(len(label) > 63 for label in name.split(".")):
        raise NodeinfoExit("IDN encoding error: domain label longer than 63 characters", 2)
    name, _, scope = name.partition("%")
    if len(scope) >= 16:  # IFNAMSIZ
        raise NodeinfoExit("too long scope name", 1)
    canonical = name.lower()
    if not _dn_comp_accepts(canonical):
        raise NodeinfoExit(f"inappropriate subject name: {canonical}", 1)


def _dn_comp_accepts(name: str) -> bool:
    """glibc ``ns_name_pton`` as used by ``dn_comp``: escapes, empty labels, lengths."""
    labels, index = [0], 0
    while index < len(name):
        char = name[index]
        index += 1
        if char == "\\":
            if index == len(name):
                return False
            if name[index].isdigit():
                code = name[index : index + 3]
                if len(code) < 3 or not code.isdigit() or int(code) > 255:
                    return False
                index += 3
            else:
                index += 1
        elif char == ".":
            if labels[-1] == 0 and not (index == 1 and index == len(name)):
                return False
            if index == len(name):
                break
            labels.append(0)
            continue
        labels[-1] += 1
    length = sum(size + 1 for size in labels if size) + 1
    return all(size <= 63 for size in labels) and length <= 255
