"""The digest email: subject, text and HTML in the reader's language and zone, plus the
pipeline chart as an inline image, and the signed one-click unsubscribe link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from babel.numbers import format_decimal, get_plus_sign_symbol
from flask import current_app
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from crm.core import formats
from crm.core.emails import RenderedEmail, format_local, format_locale, isolate_html, isolate_ltr, render_email
from crm.core.i18n import gettext as _
from crm.core.i18n import text_direction
from crm.core.ledger import Attachment
from crm.core.time import to_local
from crm.digests.chart import CHART_CID, WIDTH, chart_height, pipeline_chart
from crm.digests.content import Digest, LeadItem
from crm.digests.models import Cadence, Subscription
from crm.leads.labels import stage_label
from crm.leads.models import Stage

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
    locale = format_locale(language)
    url = unsubscribe_url(int(subscription.id or 0))
    with force_locale(language):
        # Looked up a hundred times per digest: translated once.
        stage_names = {stage.value: stage_label(stage) for stage in Stage}

    def number(value: int) -> str:
        return str(format_decimal(value, locale=locale))

    plus = get_plus_sign_symbol(locale)  # with a left-to-right mark in Arabic

    def signed(text: str, value: int | Decimal) -> str:
        return plus + text if value > 0 else text

    def versus(difference: int | Decimal, text: str) -> str:
        """``+3 vs previous week``, or ``same as previous week`` (in the reader's language)."""
        if subscription.cadence == Cadence.DAILY:
            return _("%(change)s vs previous day", change=text) if difference else _("same as previous day")
        if subscription.cadence == Cadence.MONTHLY:
            return _("%(change)s vs previous month", change=text) if difference else _("same as previous month")
        return _("%(change)s vs previous week", change=text) if difference else _("same as previous week")

    def figure_change(name: str) -> str:
        difference = digest.change(name)
        return versus(difference, signed(number(difference), difference))

    def day(instant: datetime, last: bool = False) -> str:
        """A local calendar day; ``last`` for the exclusive end of a period."""
        moment = instant - timedelta(seconds=1) if last else instant
        return formats.date_text(to_local(moment, subscription.timezone).date(), language)

    base_url = current_app.config["BASE_URL"]
    link = Markup('<a href="{}/leads/{}" style="color:#0b4f6c;">{}</a>')

    def title(lead: LeadItem) -> Markup:
        """A lead's title, a link for readers who have an account (a function: macros are slow)."""
        return (
            link.format(base_url, lead.lead_id, isolate_html(lead.title)) if digest.links else isolate_html(lead.title)
        )

    def amount(value: str | Decimal, currency: str) -> str:
        """ "900 000 MAD", with cents only when there are some."""
        return formats.money_text(Decimal(value), currency, language)

    def money(value: str | Decimal, currency: str) -> str:
        """An amount with its currency, kept in one left-to-right piece in Arabic."""
        return isolate_ltr(amount(value, currency), language)

    def value_change(currency: str) -> str:
        """The open value at the period's end against the previous period's end."""
        difference = digest.value_change(currency)
        return versus(difference, isolate_ltr(signed(amount(difference, currency), difference), language))

    def signed_change(currency: str) -> str:
        difference = digest.signed_value_change(currency)
        return versus(difference, isolate_ltr(signed(amount(difference, currency), difference), language))

    # The pipeline's moment: the period's last day, or this very moment in a preview.
    if digest.finished:
        as_of = day(digest.as_of, True)
    else:
        as_of = format_local(digest.as_of, subscription.timezone, language, "short", offset=False)
    email = render_email(
        "digest",
        language=language,
        timezone=subscription.timezone,
        digest=digest,
        subscription=subscription,
        stage_label=lambda value: stage_names.get(str(value), str(value)),
        number=number,
        figure_change=figure_change,
        money=money,
        title=title,
        markup=Markup,
        value_change=value_change,
        signed_change=signed_change,
        day=day,
        as_of=as_of,
        org=lambda names: names.get(language) or names.get("en", ""),
        chart_cid=CHART_CID,
        chart_width=WIDTH,
        chart_height=chart_height(len(digest.pipeline)),
        unsubscribe_url=url,
    )
    return DigestEmail(email, chart_attachment(digest.pipeline, language), list_headers(url))


def chart_attachment(pipeline: dict[str, int], language: str) -> Attachment:
    """The inline chart of open leads by stage (``{stage: count}`` in pipeline order)."""
    with force_locale(language):
        labels = [stage_label(stage) for stage in pipeline]
    png = pipeline_chart(list(pipeline.values()), labels, rtl=text_direction(language) == "rtl")
    return Attachment("pipeline.png", "image/png", png, CHART_CID)


def list_headers(url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to ``url``."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
