"""A digest as an e-mail (plain text and HTML, names escaped, links built from ids only) and
its delivery over SMTP with retries and backoff. The password comes from the environment only
(THUOCDO_SMTP_PASSWORD, a secret setting)."""
from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from urllib.parse import quote

from dashboard import formats, text
from dashboard.digests.compose import SHOWN_PER_KIND, Digest
from dashboard.i18n import t

KINDS = ("rule", "overdue", "drop", "pending")


class DeliveryFailed(Exception):
    def __init__(self, reason: str, attempts: int):
        super().__init__(reason)
        self.reason, self.attempts = reason, attempts


def base_url(checked) -> str:
    """Where the links point: PUBLIC_BASE_URL, else the first of PUBLIC_ORIGINS."""
    url = checked["PUBLIC_BASE_URL"] or (checked["PUBLIC_ORIGINS"].split() or ["http://localhost:8050"])[0]
    return url.rstrip("/")


def link(base: str, href: str) -> str:
    return base + quote(href, safe="/?=&-._~")


def subject(digest: Digest, lang: str) -> str:
    unit = text.plain(digest.unit_name, text.LABEL)
    if digest.report_period:
        return t("digest_subject_report", lang, unit=unit, period=formats.period(digest.report_period),
                 n=formats.number(len(digest.new), lang))
    return t("digest_subject", lang, unit=unit, day=formats.day(digest.day), n=formats.number(len(digest.new), lang))


def message(digest: Digest, to: str, name: str, sender: str, base: str, lang: str = "vi",
            attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    """The e-mail of a digest's new items, grouped by kind, each with its link."""
    unit = text.plain(digest.unit_name, text.LINE)
    lines = [t("digest_greeting", lang, name=name), "", t("digest_intro", lang, unit=unit), ""]
    parts = [f"<p>{escape(t('digest_greeting', lang, name=name))}</p>",
             f"<p>{escape(t('digest_intro', lang, unit=unit))}</p>"]
    if not digest.new:
        lines += [t("digest_nothing_new", lang), ""]
        parts.append(f"<p>{escape(t('digest_nothing_new', lang))}</p>")
    for kind in KINDS:
        items = [i for i in digest.new if i.kind == kind]
        if not items:
            continue
        heading = f"{t('digest_kind_' + kind, lang)} ({formats.number(len(items), lang)})"
        lines += [heading, "-" * len(heading)]
        rows = []
        for item in items[:SHOWN_PER_KIND]:
            line, url = text.plain(item.text, text.LINE), link(base, item.href)
            lines.append(f"- {line}\n  {url}")
            rows.append(f'<li><a href="{escape(url)}">{escape(line)}</a></li>')
        if len(items) > SHOWN_PER_KIND:
            more = t("digest_more", lang, n=formats.number(len(items) - SHOWN_PER_KIND, lang))
            lines.append(f"  {more}")
            rows.append(f"<li>{escape(more)}</li>")
        lines.append("")
        parts.append(f"<h3>{escape(heading)}</h3><ul>{''.join(rows)}</ul>")
    if attachment:
        note = t("digest_report_attached", lang, period=formats.period(digest.report_period), unit=unit)
        lines += [note, ""]
        parts.append(f"<p>{escape(note)}</p>")
    footer = t("digest_footer", lang, url=base + "/settings")
    lines.append(footer)
    parts.append(f'<p style="color:#6b7280;font-size:12px">{escape(footer)}</p>')
    msg = EmailMessage()
    msg["Subject"] = subject(digest, lang)
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "thuocdo")
    msg.set_content("\n".join(lines))
    msg.add_alternative(f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif">'
                        f"{''.join(parts)}</body></html>", subtype="html")
    if attachment:
        filename, data = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return msg


def send(msg: EmailMessage, checked, password: str | None, sleep=time.sleep) -> int:
    """Deliver over SMTP; a failure is tried again DIGEST_RETRIES times, waiting
    DIGEST_RETRY_SECONDS × 2^k between tries. Returns the attempts made; raises DeliveryFailed
    (with the last error) when every try failed. A permanent refusal (5xx) is not retried."""
    tries = 1 + checked["DIGEST_RETRIES"]
    reason = ""
    for attempt in range(1, tries + 1):
        try:
            _send_once(msg, checked, password)
            return attempt
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.smtp_code} {_said(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise DeliveryFailed(reason, attempt) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, said = next(iter(exc.recipients.values()), (0, b""))
            reason = f"SMTP {code} {_said(said)}"
            if 500 <= code < 600:
                raise DeliveryFailed(reason, attempt) from None
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if attempt < tries:
            sleep(checked["DIGEST_RETRY_SECONDS"] * 2 ** (attempt - 1))
    raise DeliveryFailed(reason, tries)


def _said(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _send_once(msg: EmailMessage, checked, password: str | None) -> None:
    host, port, mode = checked["SMTP_HOST"], checked["SMTP_PORT"], checked["SMTP_TLS"]
    timeout = 30
    if mode == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if mode == "starttls":
            client.starttls(context=ssl.create_default_context())
        if checked["SMTP_USER"]:
            client.login(checked["SMTP_USER"], password or "")
        client.send_message(msg)
