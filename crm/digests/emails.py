"""Mail exchanged in a digest's period: "3 emails exchanged with AWS", per US organisation,
over the leads the digest covers (one grouped query shared by a chunk of digests)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crm.digests.content import EmailTally
from crm.digests.facts import DigestFacts

LIMIT = 10


def email_tallies(facts: DigestFacts, lead_ids: Iterable[int], start: datetime, end: datetime) -> list[EmailTally]:
    wanted = set(lead_ids)
    counts: dict[int, int] = {}
    for lead_id, (organisation_id, count) in facts.emails(start, end).items():
        if lead_id in wanted:
            counts[organisation_id] = counts.get(organisation_id, 0) + count
    if not counts:
        return []
    facts.organisations(counts)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:LIMIT]
    return [EmailTally(facts.names(organisation_id), count) for organisation_id, count in ranked]
