"""The digest email: subject, text and HTML in the reader's language and zone, plus the
pipeline chart as an inline image, and the signed one-click unsubscribe link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from crm.core.emails import RenderedEmail, render_email
from crm.core.i18n import FORMAT_LOCALES, text_direction
from crm.core.ledger import Attachment
from crm.core.time import to_local
from crm.digests.chart import CHART_CID, pipeline_chart
from crm.digests.compile import Digest
from crm.digests.models import Subscription
from crm.leads.labels import stage_label

SALT = "digest-unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_token(subscription_id: int) -> str:
    return _serializer().dumps({"s": subscription_id})


def subscription_of_token(token: str) -> int | None:
    """The subscription a token was signed for, or ``None`` when it is not ours."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    value = data.get("s") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


def unsubscribe_url(subscription_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/digests/unsubscribe/{unsubscribe_token(subscription_id)}"


@dataclass(frozen=True)
class DigestEmail:
    email: RenderedEmail
    chart: Attachment
    headers: dict[str, str]


def render_digest(digest: Digest, subscription: Subscription, language: str | None = None) -> DigestEmail:
    language = language or subscription.language.value
    locale = FORMAT_LOCALES[language]
    url = unsubscribe_url(int(subscription.id or 0))

    def number(value: int) -> str:
        return str(format_decimal(value, locale=locale))

    def change(value: int) -> str:
        return ("+" if value > 0 else "") + number(value) if value else "="

    def day(instant: datetime, last: bool = False) -> str:
        """A local calendar day; ``last`` for the exclusive end of a period."""
        moment = instant - timedelta(seconds=1) if last else instant
        return str(format_date(to_local(moment, subscription.timezone).date(), "d MMMM y", locale=locale))

    def money(amount: str, currency: str) -> str:
        return str(format_currency(Decimal(amount), currency, locale=locale))

    email = render_email(
        "digest",
        language=language,
        timezone=subscription.timezone,
        digest=digest,
        subscription=subscription,
        stage_label=stage_label,
        number=number,
        change=change,
        money=money,
        day=day,
        org=lambda names: names.get(language) or names.get("en", ""),
        chart_cid=CHART_CID,
        unsubscribe_url=url,
    )
    return DigestEmail(email, chart_attachment(list(digest.pipeline.values()), language), list_headers(url))


def chart_attachment(counts: list[int], language: str) -> Attachment:
    return Attachment(
        "pipeline.png", "image/png", pipeline_chart(counts, rtl=text_direction(language) == "rtl"), CHART_CID
    )


def list_headers(url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to ``url``."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
