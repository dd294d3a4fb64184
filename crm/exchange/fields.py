"""The fields an import fills, and how a file's headers are recognised as those fields in
Arabic, French or English ("Titre" / "العنوان" / "Title"), including the headers of
Jisr's own exports, so that an exported list can be edited and imported back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import force_locale

from crm.core.errors import ValidationError
from crm.core.i18n import LANGUAGES, list_separator
from crm.core.i18n import lazy_gettext as _l
from crm.core.text import normalise
from crm.exchange.models import ImportKind


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Any  # a lazy string: the mapping page's choice and the export's header
    synonyms: tuple[str, ...] = ()
    # Headers recognised before the label itself (an export's "Owner email" beats its "Owner").
    preferred: tuple[Any, ...] = ()


KIND_LABELS = {
    ImportKind.ORGANISATIONS: _l("Organisations"),
    ImportKind.CONTACTS: _l("Contacts"),
    ImportKind.LEADS: _l("Leads"),
}

ORGANISATION_FIELDS = (
    FieldSpec(
        "name",
        _l("Name (any language)"),
        ("nom", "name", "الاسم", "organisation", "organisme", "institution", "المؤسسة", "raison sociale", "entreprise"),
    ),
    FieldSpec("name_ar", _l("Name in Arabic"), ("nom arabe", "arabic name", "الاسم العربي", "name ar", "nom ar")),
    FieldSpec("name_fr", _l("Name in French"), ("nom francais", "french name", "name fr", "nom fr", "denomination")),
    FieldSpec(
        "name_en", _l("Name in English"), ("nom anglais", "english name", "name en", "nom en", "الاسم بالانجليزيه")
    ),
    FieldSpec("acronym", _l("Acronym"), ("sigle", "acronyme", "abreviation", "abbreviation", "short name", "الرمز")),
    FieldSpec("aliases", _l("Other names"), ("alias", "aliases", "autres noms", "also known as", "اسماء اخرى")),
    FieldSpec("country", _l("Country"), ("pays", "البلد", "الدوله", "nation")),
    FieldSpec("kind", _l("Kind"), ("type", "nature", "categorie", "category", "الصنف", "النوع")),
    FieldSpec("website", _l("Website"), ("site", "site internet", "url", "web", "الموقع", "site web")),
    FieldSpec("sectors", _l("Sectors"), ("secteur", "secteurs", "sector", "القطاع", "القطاعات", "themes")),
)

CONTACT_FIELDS = (
    FieldSpec(
        "name", _l("Name"), ("nom", "nom complet", "full name", "contact", "الاسم", "الاسم الكامل", "prenom et nom")
    ),
    FieldSpec("title", _l("Job title"), ("fonction", "poste", "titre", "title", "position", "role", "المنصب", "الصفه")),
    FieldSpec(
        "organisation",
        _l("Organisation"),
        ("organisme", "institution", "entreprise", "societe", "company", "المؤسسه", "الجهه", "الشركه", "employer"),
    ),
    FieldSpec("email", _l("Email"), ("e mail", "email", "courriel", "mail", "adresse email", "البريد الالكتروني")),
    FieldSpec("phone", _l("Phone"), ("telephone", "tel", "mobile", "gsm", "phone number", "الهاتف", "رقم الهاتف")),
    FieldSpec("language", _l("Language"), ("langue", "اللغه", "lang")),
    FieldSpec("timezone", _l("Time zone"), ("fuseau horaire", "fuseau", "timezone", "المنطقه الزمنيه")),
)

LEAD_FIELDS = (
    FieldSpec("id", _l("ID"), ("id", "ref", "reference", "n", "no", "numero", "المعرف", "الرقم", "lead id")),
    FieldSpec(
        "title",
        _l("Lead title"),
        ("titre", "title", "intitule", "objet", "piste", "lead", "opportunite", "العنوان", "الفرصه", "subject"),
    ),
    FieldSpec("description", _l("Description"), ("details", "notes", "commentaire", "الوصف", "تفاصيل", "summary")),
    FieldSpec(
        "ma_organisation",
        _l("Moroccan organisation"),
        (
            "organisme marocain",
            "partenaire marocain",
            "institution marocaine",
            "cote marocain",
            "moroccan partner",
            "المؤسسه المغربيه",
            "الجهه المغربيه",
            "الشريك المغربي",
            "ma organisation",
            "maroc",
        ),
    ),
    FieldSpec(
        "us_organisation",
        _l("US organisation"),
        (
            "organisme americain",
            "entreprise americaine",
            "partenaire americain",
            "cote americain",
            "us partner",
            "us company",
            "المؤسسه الامريكيه",
            "الشركه الامريكيه",
            "الشريك الامريكي",
            "us organization",
            "usa",
        ),
    ),
    FieldSpec("partnership_type", _l("Partnership type"), ("type", "type de partenariat", "نوع الشراكه", "kind")),
    FieldSpec("stage", _l("Stage"), ("etape", "statut", "phase", "status", "stade", "المرحله", "الحاله")),
    FieldSpec("sector", _l("Sector"), ("secteur", "theme", "domaine", "القطاع", "المجال")),
    FieldSpec(
        "owner",
        _l("Owner"),
        ("responsable", "proprietaire", "charge", "charge de suivi", "officer", "المسؤول", "المكلف", "assigned to"),
        preferred=(_l("Owner email"),),
    ),
    FieldSpec("priority", _l("Priority"), ("priorite", "الاولويه", "urgence")),
    FieldSpec(
        "estimated_value",
        _l("Estimated value"),
        ("valeur", "montant", "valeur estimee", "amount", "value", "القيمه", "المبلغ", "budget"),
    ),
    FieldSpec("currency", _l("Currency"), ("devise", "monnaie", "العمله")),
    FieldSpec(
        "probability",
        _l("Probability (%)"),
        ("probabilite", "probability", "chance", "chances", "الاحتماليه", "الاحتمال", "win probability"),
    ),
    FieldSpec(
        "expected_close_on",
        _l("Expected close date"),
        ("date de cloture", "date de cloture prevue", "close date", "closing date", "تاريخ الاغلاق", "echeance"),
    ),
    FieldSpec("confidential", _l("Confidential"), ("confidentiel", "confidentielle", "سري", "سريه", "private")),
    FieldSpec("mission", _l("Mission"), ("mission commerciale", "البعثه", "trade mission", "delegation")),
)

FIELDS = {
    ImportKind.ORGANISATIONS: ORGANISATION_FIELDS,
    ImportKind.CONTACTS: CONTACT_FIELDS,
    ImportKind.LEADS: LEAD_FIELDS,
}

# Each group needs at least one of its fields mapped for the file to make sense.
REQUIRED: dict[ImportKind, tuple[tuple[str, ...], ...]] = {
    ImportKind.ORGANISATIONS: (("name", "name_ar", "name_fr", "name_en", "acronym"),),
    ImportKind.CONTACTS: (("email", "name"),),
    ImportKind.LEADS: (("id", "title"),),
}


def spec(kind: ImportKind, name: str) -> FieldSpec:
    for candidate in FIELDS[kind]:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def renderings(message: Any) -> list[str]:
    """``message`` (a lazy string) as it reads in Arabic, French and English."""
    found = []
    for language in LANGUAGES:
        with force_locale(language):
            found.append(str(message))
    return found


@cache
def _header_index(kind: ImportKind) -> dict[str, tuple[str, int]]:
    """normalised header -> (field, rank); a lower rank wins when two headers name one field."""
    index: dict[str, tuple[str, int]] = {}
    for field in FIELDS[kind]:
        names: list[str] = []
        for message in field.preferred:
            names += renderings(message)
        names += renderings(field.label)
        names += [field.name.replace("_", " "), *field.synonyms]
        for rank, name in enumerate(names):
            key = normalise(name)
            if key and key not in index:
                index[key] = (field.name, rank)
    return index


def suggest_mapping(kind: ImportKind, headers: list[str]) -> list[str]:
    """The field each header most likely holds ("" when none is recognised)."""
    index = _header_index(kind)
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, column)
    for column, header in enumerate(headers):
        found = index.get(normalise(header))
        if found is None:
            continue
        name, rank = found
        if name not in best or rank < best[name][0]:
            best[name] = (rank, column)
    mapping = [""] * len(headers)
    for name, (_, column) in best.items():
        mapping[column] = name
    return mapping


def header_signature(kind: ImportKind, headers: list[str]) -> str:
    """The same headers (whatever their case, accents or order of spaces) give the same signature."""
    text = "\x1f".join([kind.value, *(normalise(h) for h in headers)])
    return hashlib.sha256(text.encode()).hexdigest()


def check_mapping(kind: ImportKind, mapping: list[str], width: int) -> list[str]:
    """The mapping as the import will use it; each field at most once, the needed ones present."""
    known = {field.name for field in FIELDS[kind]}
    cleaned = [(name or "").strip() for name in mapping][:width]
    cleaned += [""] * (width - len(cleaned))
    seen: set[str] = set()
    for name in cleaned:
        if not name:
            continue
        if name not in known:
            raise ValidationError.single("mapping", _l("Not a valid choice."))
        if name in seen:
            label = spec(kind, name).label
            raise ValidationError.single("mapping", _l("Only one column can go to “%(field)s”.", field=label))
        seen.add(name)
    for group in REQUIRED[kind]:
        if not seen & set(group):
            names = list_separator().join(str(spec(kind, name).label) for name in group)
            raise ValidationError.single("mapping", _l("Choose a column for one of: %(fields)s.", fields=names))
    return cleaned
