"""The content of an S/MIME ``application/pkcs7-mime`` signed-data message (RFC 5652), without checking it.

Intake only needs the signed MIME entity inside, to read it like any message;
the signature is not verified (docs/mail.md). The structure is read with a
small BER reader (definite and indefinite lengths, constructed OCTET
STRINGs as Outlook and OpenSSL write them): ContentInfo { signedData,
[0] SignedData { version, digestAlgorithms, EncapsulatedContentInfo {
eContentType, [0] eContent OCTET STRING } ... } }.
"""

from __future__ import annotations

SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2
LIMIT = 64  # nesting depth read at most


class Malformed(ValueError):
    pass


def _item(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(tag, content start, content end, next position) of the element at ``pos``; -1 end: indefinite."""
    if pos + 2 > len(data):
        raise Malformed("truncated")
    tag, first, pos = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise Malformed("long tags are not used in CMS")
    if first == 0x80:
        end = _end_of_contents(data, pos)
        return tag, pos, end, end + 2
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise Malformed("bad length")
        length, pos = int.from_bytes(data[pos:pos + count], "big"), pos + count
    else:
        length = first
    if pos + length > len(data):
        raise Malformed("truncated")
    return tag, pos, pos + length, pos + length


def _end_of_contents(data: bytes, pos: int, depth: int = 0) -> int:
    """Where an indefinite-length element's content ends (its 00 00 marker)."""
    if depth > LIMIT:
        raise Malformed("too deep")
    while data[pos:pos + 2] != b"\0\0":
        pos = _item(data, pos)[3]
    return pos


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items, pos = [], start
    while pos < end and data[pos:pos + 2] != b"\0\0":
        tag, first, last, pos = _item(data, pos)
        items.append((tag, first, last))
    return items


def _octets(data: bytes, tag: int, start: int, end: int, depth: int = 0) -> bytes:
    """An OCTET STRING's bytes, a constructed one's pieces joined."""
    if tag == 0x04:
        return data[start:end]
    if tag != 0x24 or depth > LIMIT:
        raise Malformed("not an OCTET STRING")
    return b"".join(_octets(data, t, s, e, depth + 1) for t, s, e in _children(data, start, end))


def signed_content(data: bytes) -> bytes | None:
    """The encapsulated content of a signed-data ContentInfo, or None (not signed-data, or detached)."""
    try:
        tag, start, end, _next = _item(data, 0)
        info = _children(data, start, end)
        if tag != 0x30 or len(info) < 2 or info[0][0] != 0x06 or data[info[0][1]:info[0][2]] != SIGNED_DATA:
            return None
        signed = _children(data, info[1][1], info[1][2])  # [0] EXPLICIT SignedData
        fields = _children(data, signed[0][1], signed[0][2])
        encapsulated = _children(data, fields[2][1], fields[2][2])
        if len(encapsulated) < 2:
            return None  # detached: the content travels beside it (multipart/signed)
        wrapped = _children(data, encapsulated[1][1], encapsulated[1][2])  # [0] EXPLICIT eContent
        return _octets(data, *wrapped[0])
    except (Malformed, IndexError, RecursionError):
        return None
