"""The x509 client Distinguished Name allow-list of a TLS listener (libvirtd.conf's
``tls_allowed_dn_list``).

A client certificate's subject becomes one string the way libvirt prints it (gnutls'
"compat" order: the RDNs as the certificate encodes them, usually C first; ``TYPE=value``
joined by commas; RFC 4514 escaping; short names C, ST, L, O, OU, CN, DC, UID, EMAIL...),
which ``virt-pki-query-dn`` also prints. Each allowed pattern is matched against that string
as a whole with libvirt's simple glob: ``*`` any run of characters, ``?`` one character,
nothing else special. No pattern matching means the client is refused; an empty list
refuses everyone (libvirt's documented behaviour); no list at all checks nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# OpenSSL long names (what ssl.SSLSocket.getpeercert() reports) -> the short names in the DN
_SHORT = {
    "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L", "organizationName": "O",
    "organizationalUnitName": "OU", "commonName": "CN", "domainComponent": "DC", "userId": "UID",
    "emailAddress": "EMAIL", "streetAddress": "street", "serialNumber": "serialNumber",
    "title": "title", "surname": "SN", "givenName": "givenName", "initials": "initials",
    "pseudonym": "pseudonym", "generationQualifier": "generationQualifier", "dnQualifier": "dnQualifier",
    "postalCode": "postalCode", "name": "name",
}

REFUSED = ("Client's x509 Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list).  "
           "Use 'virt-pki-query-dn clientcert.pem' to view the Distinguished Name field in the client "
           "certificate, or run this daemon with --verbose option.")


def _escape(value: str) -> str:
    """RFC 4514 escaping of an attribute value."""
    out = re.sub(r'([,+"\\<>;])', r"\\\1", value)
    if value.endswith(" "):
        out = out[:-1] + "\\ "
    if value.startswith(("#", " ")) and value != " ":
        out = "\\" + out
    return out


def subject_dn(peercert: dict[str, Any]) -> str:
    """The DN string of ``getpeercert()``'s subject (a tuple of RDNs, each a tuple of pairs)."""
    rdns = []
    for rdn in peercert.get("subject", ()):
        rdns.append("+".join(f"{_SHORT.get(k, k)}={_escape(v)}" for k, v in rdn))
    return ",".join(rdns)


def _compile(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


class DnAllowList:
    """Patterns a client certificate's subject DN must match (one is enough)."""

    __slots__ = ("_patterns", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._patterns = [_compile(p) for p in self.patterns]

    def allows(self, dn: str) -> bool:
        return any(p.fullmatch(dn) for p in self._patterns)
