"""The wire form of an outbox row for SMTP: a multipart/alternative message as bytes, built directly.

Django's EmailMessage goes through the `email` package's generator, which folds every header through
`email.header.Header` and costs more CPU than rendering the template did. An outbox row is always the same shape
(text and HTML in UTF-8, a fixed set of headers), so this writes it in one pass:

- bodies are quoted-printable (`binascii.b2a_qp`, in C), so lines stay short and 7-bit whatever the content;
- a header is written as is when it is short ASCII, and encoded and folded by `email.header.Header` otherwise;
- the boundary is derived from the outbox id, so every attempt of a row produces the same bytes but its date.

Addresses were cleaned when the row was written (`headers.clean_address`: one address, no control characters).
A non-ASCII local part needs SMTPUTF8, which this does not speak: `wire_message` raises ValueError, and
`lanes.hand_over` sends those rows through Django's builder instead. `smtp_send` hands the bytes over.
"""

from __future__ import annotations

import binascii
import re
import smtplib
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

_MAX_PLAIN_HEADER = 78
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENVELOPE_UNSAFE = re.compile(r"[\x00-\x20\x7f<>]")


@dataclass(frozen=True)
class Wire:
    sender: str  # envelope MAIL FROM
    recipient: str  # envelope RCPT TO
    data: bytes


def _ascii_addr(addr: str) -> str:
    """Return `addr` with an IDNA domain; ValueError when the local part is not ASCII (needs SMTPUTF8)."""
    local, _, domain = addr.rpartition("@")
    if not local.isascii():
        raise ValueError(f"{addr!r} needs SMTPUTF8")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _address(value: str) -> tuple[str, str]:
    """Return (header value, envelope address) of one `Name <addr>` or bare address, as `formataddr` wrote it."""
    if value.isascii():  # the common case, already quoted by formataddr: only the envelope address to find
        at = value.rfind("<")
        header, addr = value, (value[at + 1 : -1] if at >= 0 and value.endswith(">") else value)
    else:
        name, addr = parseaddr(value)
        addr = _ascii_addr(addr)
        header = formataddr((name, addr), charset="utf-8")
    if not addr or _ENVELOPE_UNSAFE.search(addr):
        raise ValueError(f"{value!r} has no address usable in an SMTP envelope")
    return header, addr


class SessionLost(smtplib.SMTPServerDisconnected):
    """The connection broke, or the server ended the session (421), before the message's content was sent (at
    EHLO, MAIL, RCPT or the DATA command): the server cannot have accepted the message, so it may go again on a
    new connection."""


_LEADING_DOT = re.compile(rb"(?m)^\.")


_ACCEPTED = ((250,), (250, 251), (354,))  # what MAIL, RCPT and DATA answer when all is well


def smtp_send(smtp: smtplib.SMTP, wire: Wire) -> None:
    """MAIL, RCPT and DATA on an open connection: `smtplib.SMTP.sendmail` for one recipient, minus re-parsing
    addresses that `wire_message` already extracted, and with the envelope pipelined (RFC 2920) when the server
    offers PIPELINING: one round trip for MAIL, RCPT and DATA, one for the content. Raises smtplib's exceptions
    as `sendmail` does, except that a connection lost or a session ended (421) before the content was sent
    raises SessionLost (nothing was handed over)."""
    try:
        smtp.ehlo_or_helo_if_needed()
        size = f" SIZE={len(wire.data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
        commands = (f"MAIL FROM:<{wire.sender}>{size}", f"RCPT TO:<{wire.recipient}>", "DATA")
        replies: list[tuple[int, bytes]] = []
        if smtp.does_esmtp and smtp.has_extn("pipelining"):
            smtp.send("".join(f"{command}\r\n" for command in commands).encode("ascii"))
            while len(replies) < len(commands) and (not replies or replies[-1][0] != 421):
                replies.append(smtp.getreply())  # after a 421 the server says no more and hangs up
        else:
            for command, accepted in zip(commands, _ACCEPTED, strict=True):
                replies.append(smtp.docmd(command))
                if replies[-1][0] not in accepted:
                    break
    except smtplib.SMTPServerDisconnected as error:  # smtplib turns every socket error into this
        raise SessionLost(str(error)) from error
    if replies[-1][0] == 421:  # the server is ending the session (too many messages, shutting down)
        smtp.close()
        raise SessionLost(f"{replies[-1][0]} {replies[-1][1].decode(errors='replace')}")
    for step, ((code, reply), accepted) in enumerate(zip(replies, _ACCEPTED, strict=False)):
        if code in accepted:
            continue
        _abandon(smtp, replies)
        if step == 0:
            raise smtplib.SMTPSenderRefused(code, reply, wire.sender)
        if step == 1:
            raise smtplib.SMTPRecipientsRefused({wire.recipient: (code, reply)})
        raise smtplib.SMTPDataError(code, reply)
    # From here on the server may accept the message: errors are the caller's "unknown".
    data = _LEADING_DOT.sub(b"..", wire.data)
    smtp.send(data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"))
    code, reply = smtp.getreply()
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _abandon(smtp: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> None:
    """End a transaction whose envelope was refused, then RSET. A server that took the pipelined DATA all the
    same (354) gets the end of data at once when it refused the recipient (RFC 2920: an empty message to no
    one); one that refused MAIL yet took RCPT and DATA is out of step with us, and gets no end of data, which
    RFC 5321 forbids it to deliver: the connection is closed instead."""
    if len(replies) == 3 and replies[2][0] == 354:
        if replies[1][0] < 400:
            smtp.close()
            return
        try:
            smtp.send(b".\r\n")
            smtp.getreply()
        except smtplib.SMTPServerDisconnected:
            return
    smtp._rset()


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    if code == 421:  # the server is closing the connection
        smtp.close()
    else:
        smtp._rset()


_date_cache: tuple[int, str] = (0, "")


def _date() -> str:
    """The Date header of this second (formatting it costs more than the rest of the headers together)."""
    global _date_cache
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True))
    return _date_cache[1]


def _header(name: str, value: str) -> bytes:
    if _CONTROL.search(value):  # cleaned on the way in: never trust it on the way out
        raise ValueError(f"{name} holds a control character")
    line = f"{name}: {value}"
    if line.isascii() and len(line) <= _MAX_PLAIN_HEADER:
        return line.encode("ascii") + b"\r\n"
    charset = "us-ascii" if value.isascii() else "utf-8"
    folded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}\r\n".encode("ascii")


def _ascii_header_value(value: str) -> bytes:
    if _CONTROL.search(value):
        raise ValueError("a header holds a control character")
    return value.encode("ascii")


def _qp(text: str) -> bytes:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return binascii.b2a_qp(text.replace("\n", "\r\n").encode("utf-8"), istext=True)


def _part(content_type: str, body: str) -> bytes:
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    ).encode("ascii") + _qp(body)


def wire_message(row, *, list_unsubscribe: str | None) -> Wire:
    """Return the envelope and bytes of an outbox row, ready for `smtp_send`; ValueError when it cannot be
    written safely (a control character, an address without a usable envelope form, one that needs SMTPUTF8).
    Without `list_unsubscribe` (a notification to a team member) no List-Unsubscribe headers are written."""
    from_header, sender = _address(row.from_email)
    to_header, recipient = _address(row.to_email)
    head = [
        _header("From", from_header),
        _header("To", to_header),
    ]
    if row.reply_to:
        head.append(_header("Reply-To", _address(row.reply_to)[0]))
    head += [
        _header("Subject", row.subject),
        _header("Date", _date()),
        _header("Message-ID", row.message_id),
    ]
    if list_unsubscribe is not None:
        head += [
            # "<https://...>, <mailto:...>": folded after its comma by hand (Header would fold it at the same place).
            b"List-Unsubscribe: " + _ascii_header_value(list_unsubscribe).replace(b", <", b",\r\n <") + b"\r\n",
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        ]
    head += [_header("X-PenguinFlow-Message", str(row.id)), b"MIME-Version: 1.0\r\n"]
    if not row.html:
        return Wire(sender, recipient, b"".join(head) + _part("text/plain", row.text))
    # "=_" cannot occur in quoted-printable text (every "=" is followed by two hex digits or a line break).
    boundary = f"=_pf{row.id.hex}".encode("ascii")
    body = b"".join((
        b'Content-Type: multipart/alternative;\r\n boundary="', boundary, b'"\r\n\r\n',
        b"--", boundary, b"\r\n", _part("text/plain", row.text),
        b"--", boundary, b"\r\n", _part("text/html", row.html),
        b"--", boundary, b"--\r\n",
    ))  # fmt: skip
    return Wire(sender, recipient, b"".join(head) + body)
