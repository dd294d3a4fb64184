"""The fixed demo data: the February 2024 Moroccan digital trade mission to Houston and
Silicon Valley (see the domain notes), its organisations, people, meetings and the leads
born from them.

Organisations, meetings and users are referred to by the keys below; the loader looks
each row up by its natural key (sector code, acronym or English name, email, title) so
that loading twice changes nothing.  Leads, their activities and follow-ups are in
:mod:`crm.demo.lead_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEMO_PASSWORD = "jisr-demo-2024"  # noqa: S105 - documented demo password, not a secret

CASABLANCA = "Africa/Casablanca"
HOUSTON = "America/Chicago"
SILICON_VALLEY = "America/Los_Angeles"
NEW_YORK = "America/New_York"


@dataclass(frozen=True)
class SectorSpec:
    code: str
    name_ar: str
    name_fr: str
    name_en: str


@dataclass(frozen=True)
class OrganisationSpec:
    key: str  # how the rest of the demo data refers to it
    country: str
    kind: str
    name_ar: str
    name_fr: str
    name_en: str
    acronym: str | None
    website: str
    sectors: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactSpec:
    organisation: str
    name: str
    title: str
    email: str
    phone: str
    language: str
    timezone: str


@dataclass(frozen=True)
class UserSpec:
    email: str
    role: str
    name: str
    language: str
    timezone: str


@dataclass(frozen=True)
class MissionSpec:
    name: str
    starts_on: date
    ends_on: date
    legs: tuple[tuple[str, str, date, date], ...]  # (name, IANA zone, first day, last day)
    description: str
    organisers: tuple[str, ...]  # organisation keys
    delegates: tuple[str, ...]  # contact emails
    names: tuple[str, str, str] = ("", "", "")  # Arabic, French, English
    status: str = "under_way"
    sectors: tuple[str, ...] = ()  # sector codes
    roles: tuple[tuple[str, str], ...] = ()  # (contact email, role) for other roles than delegate


@dataclass(frozen=True)
class MeetingSpec:
    key: str
    title: str
    starts_local: str  # ISO wall time at the meeting's place
    timezone: str
    place: str
    organisations: tuple[str, ...]
    contacts: tuple[str, ...] = ()
    notes: str = ""


SECTORS: tuple[SectorSpec, ...] = (
    SectorSpec("cloud", "الحوسبة السحابية", "Cloud computing", "Cloud computing"),
    SectorSpec("cybersecurity", "الأمن السيبراني", "Cybersécurité", "Cybersecurity"),
    SectorSpec("ai", "الذكاء الاصطناعي", "Intelligence artificielle", "Artificial intelligence"),
    SectorSpec("e_government", "الإدارة الإلكترونية", "Administration électronique", "E-government"),
    SectorSpec("data_centres", "مراكز البيانات", "Centres de données", "Data centres"),
    SectorSpec("e_commerce", "التجارة الإلكترونية", "Commerce électronique", "E-commerce"),
    SectorSpec("startups", "منظومة المقاولات الناشئة", "Écosystème des startups", "Startup ecosystem"),
    SectorSpec("skills", "تنمية المهارات", "Développement des compétences", "Skills development"),
    SectorSpec("technology_transfer", "نقل التكنولوجيا", "Transfert de technologie", "Technology transfer"),
)

MA, US = "MA", "US"

# The organisation and contact tables keep one compact entry per row.
# fmt: off

MOROCCAN_ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    OrganisationSpec(
        "MTNRA", MA, "ministry",
        "وزارة التحول الرقمي وإصلاح الإدارة",
        "Ministère de la Transition Numérique et de la Réforme de l'Administration",
        "Ministry of Digital Transition and Administration Reform",
        "MTNRA", "https://www.mmsp.gov.ma",
        ("e_government", "ai", "cloud", "skills"),
        ("وزارة الانتقال الرقمي وإصلاح الإدارة", "Ministry of Digital Transition"),
    ),
    OrganisationSpec(
        "ADD", MA, "agency",
        "وكالة التنمية الرقمية", "Agence de Développement du Digital", "Digital Development Agency",
        "ADD", "https://www.add.gov.ma",
        ("e_government", "cloud", "data_centres", "startups"),
        ("Agence du Digital", "Morocco Digital Development Agency"),
    ),
    OrganisationSpec(
        "DGSSI", MA, "agency",
        "المديرية العامة لأمن نظم المعلومات",
        "Direction Générale de la Sécurité des Systèmes d'Information",
        "General Directorate of Information Systems Security",
        "DGSSI", "https://www.dgssi.gov.ma",
        ("cybersecurity",),
        ("maCERT",),
    ),
    OrganisationSpec(
        "CGEM", MA, "federation",
        "الاتحاد العام لمقاولات المغرب", "Confédération Générale des Entreprises du Maroc",
        "General Confederation of Moroccan Enterprises",
        "CGEM", "https://www.cgem.ma",
        ("e_commerce", "startups", "skills"),
        ("Confederation of Moroccan Enterprises",),
    ),
    OrganisationSpec(
        "AUSIM", MA, "association",
        "جمعية مستعملي الأنظمة المعلوماتية بالمغرب",
        "Association des Utilisateurs des Systèmes d'Information au Maroc",
        "Moroccan IT Users Association",
        "AUSIM", "https://www.ausim.ma",
        ("cybersecurity", "cloud", "skills"),
    ),
    OrganisationSpec(
        "TECHNOPARK", MA, "technology_park",
        "تيكنوبارك", "Technopark", "Technopark",
        None, "https://www.technopark.ma",
        ("startups", "technology_transfer", "skills"),
        ("Technopark Maroc", "Technopark Casablanca"),
    ),
    OrganisationSpec(
        "APEBI", MA, "federation",
        "فيدرالية تكنولوجيا المعلومات والاتصالات وترحيل الخدمات",
        "Fédération des Technologies de l'Information, des Télécommunications et de l'Offshoring",
        "IT, Telecom and Offshoring Federation",
        "APEBI", "https://www.apebi.org.ma",
        ("e_commerce", "startups", "data_centres", "technology_transfer"),
    ),
)

US_ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    OrganisationSpec("ORACLE", US, "company", "أوراكل", "Oracle", "Oracle", None,
                     "https://www.oracle.com", ("cloud", "data_centres"), ("Oracle Corporation",)),
    OrganisationSpec("MICROSOFT", US, "company", "مايكروسوفت", "Microsoft", "Microsoft", None,
                     "https://www.microsoft.com", ("cloud", "ai", "skills"), ("Microsoft Corporation",)),
    OrganisationSpec("CISCO", US, "company", "سيسكو", "Cisco", "Cisco", None,
                     "https://www.cisco.com", ("cybersecurity", "skills"), ("Cisco Systems",)),
    OrganisationSpec("CLOUDERA", US, "company", "كلاوديرا", "Cloudera", "Cloudera", None,
                     "https://www.cloudera.com", ("cloud", "ai")),
    OrganisationSpec("GOOGLE_CLOUD", US, "company", "جوجل كلاود", "Google Cloud", "Google Cloud", None,
                     "https://cloud.google.com", ("cloud", "ai", "data_centres"), ("Google",)),
    OrganisationSpec("PALO_ALTO", US, "company", "بالو ألتو نتوركس", "Palo Alto Networks", "Palo Alto Networks",
                     None, "https://www.paloaltonetworks.com", ("cybersecurity",)),
    OrganisationSpec("AWS", US, "company", "أمازون ويب سيرفيسز", "Amazon Web Services", "Amazon Web Services",
                     "AWS", "https://aws.amazon.com", ("cloud", "data_centres", "skills"), ("Amazon",)),
    OrganisationSpec("PLUG_AND_PLAY", US, "accelerator", "بلاغ آند بلاي", "Plug and Play", "Plug and Play",
                     None, "https://www.plugandplaytechcenter.com", ("startups",), ("Plug and Play Tech Center",)),
    OrganisationSpec("NUTANIX", US, "company", "نيوتانيكس", "Nutanix", "Nutanix", None,
                     "https://www.nutanix.com", ("cloud", "data_centres")),
    OrganisationSpec("TYLER", US, "company", "تايلر تكنولوجيز", "Tyler Technologies", "Tyler Technologies", None,
                     "https://www.tylertech.com", ("e_government",)),
    OrganisationSpec("SPARKCOGNITION", US, "company", "سبارك كوغنيشن", "SparkCognition", "SparkCognition", None,
                     "https://www.sparkcognition.com", ("ai",)),
    OrganisationSpec(
        "USTDA", US, "us_government_agency",
        "الوكالة الأمريكية للتجارة والتنمية", "Agence américaine pour le commerce et le développement",
        "US Trade and Development Agency",
        "USTDA", "https://www.ustda.gov", (), ("U.S. Trade and Development Agency",),
    ),
    OrganisationSpec(
        "US_COMMERCIAL_SERVICE", US, "us_government_agency",
        "الخدمة التجارية الأمريكية", "Service commercial des États-Unis", "US Commercial Service",
        None, "https://www.trade.gov", (),
        ("U.S. Commercial Service", "Commercial Service, U.S. Consulate General Casablanca"),
    ),
)

# fmt: on

ORGANISATIONS: tuple[OrganisationSpec, ...] = MOROCCAN_ORGANISATIONS + US_ORGANISATIONS

# fmt: off

CONTACTS: tuple[ContactSpec, ...] = (
    ContactSpec("MTNRA", "سارة العمراني (Sara Amrani)", "الكاتبة العامة (Secretary General)",
                "s.amrani@mtnra.example", "+212 537 00 01 01", "ar", CASABLANCA),
    ContactSpec("ADD", "Mehdi Alaoui", "Directeur du pôle Cloud et Infrastructures",
                "m.alaoui@add.example", "+212 661 00 01 02", "fr", CASABLANCA),
    ContactSpec("DGSSI", "يوسف بنعلي (Youssef Benali)", "رئيس قسم التعاون الدولي (Head of International Cooperation)",
                "y.benali@dgssi.example", "+212 537 00 01 03", "ar", CASABLANCA),
    ContactSpec("CGEM", "Nadia El Fassi", "Chargée de mission, Commission Économie numérique",
                "n.elfassi@cgem.example", "+212 522 00 01 04", "fr", CASABLANCA),
    ContactSpec("AUSIM", "Hicham Berrada", "Vice-président",
                "h.berrada@ausim.example", "+212 662 00 01 05", "fr", CASABLANCA),
    ContactSpec("TECHNOPARK", "Salma Chraibi", "Responsable des programmes startups",
                "s.chraibi@technopark.example", "+212 663 00 01 06", "fr", CASABLANCA),
    ContactSpec("APEBI", "Amine Lahlou", "Directeur exécutif",
                "a.lahlou@apebi.example", "+212 522 00 01 07", "fr", CASABLANCA),
    ContactSpec("PALO_ALTO", "Daniel Brooks", "Regional Manager, North Africa",
                "d.brooks@paloaltonetworks.example", "+1 408 555 0142", "en", SILICON_VALLEY),
    ContactSpec("ORACLE", "Michael Reyes", "Public Sector Director, Middle East and Africa",
                "m.reyes@oracle.example", "+1 512 555 0199", "en", HOUSTON),
    ContactSpec("USTDA", "Emily Carter", "Programme Officer, Middle East and North Africa",
                "e.carter@ustda.example", "+1 703 555 0134", "en", NEW_YORK),
    ContactSpec("US_COMMERCIAL_SERVICE", "Rachid Mansouri", "Commercial Specialist, US Consulate General Casablanca",
                "r.mansouri@trade.example", "+212 522 00 02 01", "fr", CASABLANCA),
)
# fmt: on

ADMIN_EMAIL = "admin@jisr.example"
OFFICER_EMAIL = "officer@jisr.example"
VIEWER_EMAIL = "viewer@jisr.example"
PROGRAMME_EMAIL = "programme@jisr.example"

USERS: tuple[UserSpec, ...] = (
    UserSpec(ADMIN_EMAIL, "admin", "Jisr Administrator", "en", CASABLANCA),
    UserSpec(OFFICER_EMAIL, "officer", "Leïla Benjelloun", "fr", CASABLANCA),
    UserSpec(VIEWER_EMAIL, "viewer", "عمر الإدريسي", "ar", CASABLANCA),
    UserSpec(PROGRAMME_EMAIL, "officer", "Jonathan Hayes (USTDA)", "en", NEW_YORK),
)

DEMO_USERS: tuple[tuple[str, str], ...] = tuple((u.email, u.role) for u in USERS)

MISSION = MissionSpec(
    name="Digital development and innovation trade mission — Houston and Silicon Valley",
    starts_on=date(2024, 2, 11),
    ends_on=date(2024, 2, 21),
    # The article: 11 to 21 February 2024, first Houston, then Silicon Valley (where the
    # Palo Alto Networks round table of 15 February took place).
    legs=(
        ("Houston, Texas", HOUSTON, date(2024, 2, 11), date(2024, 2, 14)),
        ("Silicon Valley, California", SILICON_VALLEY, date(2024, 2, 15), date(2024, 2, 21)),
    ),
    names=(
        "البعثة التجارية للتنمية الرقمية والابتكار — هيوستن ووادي السيليكون",
        "Mission commerciale Développement numérique et innovation — Houston et Silicon Valley",
        "Digital development and innovation trade mission — Houston and Silicon Valley",
    ),
    sectors=("cloud", "cybersecurity", "ai", "e_government"),
    roles=(("s.amrani@mtnra.example", "head"),),
    description=(
        "Trade mission run by the US Commercial Service at the US Consulate General in Casablanca "
        "with the US Trade and Development Agency (USTDA) for a high-level Moroccan delegation of "
        "15 participants from seven institutions (MTNRA, ADD, DGSSI, CGEM, AUSIM, Technopark, APEBI). "
        "About twenty meetings, first in Houston then in Silicon Valley, with US technology firms and "
        "government agencies on e-government, AI, cybersecurity, cloud and data centres, e-commerce, "
        "the startup ecosystem and skills development."
    ),
    organisers=("USTDA", "US_COMMERCIAL_SERVICE"),
    delegates=(
        "s.amrani@mtnra.example",
        "m.alaoui@add.example",
        "y.benali@dgssi.example",
        "n.elfassi@cgem.example",
        "h.berrada@ausim.example",
        "s.chraibi@technopark.example",
        "a.lahlou@apebi.example",
    ),
)

MEETINGS: tuple[MeetingSpec, ...] = (
    MeetingSpec(
        "oracle",
        "Cloud and data centres with Oracle",
        "2024-02-12T10:00",
        HOUSTON,
        "Houston, Texas",
        ("ORACLE", "MTNRA", "ADD", "APEBI", "AUSIM"),
        ("m.reyes@oracle.example", "s.amrani@mtnra.example", "m.alaoui@add.example", "a.lahlou@apebi.example"),
        "Sovereign and public-sector cloud regions, data centre hosting, migration of government workloads.",
    ),
    MeetingSpec(
        "tyler",
        "E-government services with Tyler Technologies",
        "2024-02-12T14:30",
        HOUSTON,
        "Houston, Texas",
        ("TYLER", "MTNRA", "ADD"),
        ("s.amrani@mtnra.example", "m.alaoui@add.example"),
        "Permits, licensing and citizen-facing service platforms used by US local governments.",
    ),
    MeetingSpec(
        "sparkcognition",
        "AI in public services with SparkCognition",
        "2024-02-13T10:00",
        HOUSTON,
        "Houston, Texas",
        ("SPARKCOGNITION", "MTNRA", "ADD", "DGSSI"),
        ("s.amrani@mtnra.example", "m.alaoui@add.example", "y.benali@dgssi.example"),
        "Predictive maintenance and AI-assisted case handling for public administrations.",
    ),
    MeetingSpec(
        "skills",
        "Skills programmes with Microsoft and Cisco",
        "2024-02-14T09:30",
        HOUSTON,
        "Houston, Texas",
        ("MICROSOFT", "CISCO", "MTNRA", "CGEM", "AUSIM", "TECHNOPARK"),
        ("s.amrani@mtnra.example", "n.elfassi@cgem.example", "h.berrada@ausim.example", "s.chraibi@technopark.example"),
        "Free training programmes: over 75,000 Moroccan students trained by US firms last year.",
    ),
    MeetingSpec(
        "palo_alto",
        "Cybersecurity round table with Palo Alto Networks",
        "2024-02-15T10:00",
        SILICON_VALLEY,
        "Santa Clara, California",
        ("PALO_ALTO", "DGSSI", "AUSIM", "MTNRA"),
        ("d.brooks@paloaltonetworks.example", "y.benali@dgssi.example", "h.berrada@ausim.example"),
        "Security operations automation, national CERT cooperation, cyber skills for public servants.",
    ),
    MeetingSpec(
        "plug_and_play",
        "Startup ecosystem at Plug and Play",
        "2024-02-16T09:00",
        SILICON_VALLEY,
        "Sunnyvale, California",
        ("PLUG_AND_PLAY", "TECHNOPARK", "CGEM", "APEBI", "ADD"),
        ("s.chraibi@technopark.example", "n.elfassi@cgem.example", "a.lahlou@apebi.example"),
        "Corporate innovation programmes, soft-landing for Moroccan startups, investor introductions.",
    ),
    MeetingSpec(
        "nutanix",
        "Hybrid cloud with Nutanix",
        "2024-02-16T14:00",
        SILICON_VALLEY,
        "San Jose, California",
        ("NUTANIX", "ADD", "APEBI", "AUSIM"),
        ("m.alaoui@add.example", "a.lahlou@apebi.example"),
    ),
    MeetingSpec(
        "cloudera",
        "Data platforms with Cloudera",
        "2024-02-20T10:00",
        SILICON_VALLEY,
        "Santa Clara, California",
        ("CLOUDERA", "ADD", "APEBI"),
        ("m.alaoui@add.example", "a.lahlou@apebi.example"),
    ),
    MeetingSpec(
        "google_cloud",
        "Public-sector cloud and AI with Google Cloud",
        "2024-02-20T14:30",
        SILICON_VALLEY,
        "Sunnyvale, California",
        ("GOOGLE_CLOUD", "MTNRA", "ADD", "CGEM"),
        ("s.amrani@mtnra.example", "m.alaoui@add.example"),
    ),
    MeetingSpec(
        "aws",
        "Cloud infrastructure and skills with AWS",
        "2024-02-21T10:00",
        SILICON_VALLEY,
        "San Francisco, California",
        ("AWS", "MTNRA", "ADD", "CGEM", "APEBI"),
        ("s.amrani@mtnra.example", "m.alaoui@add.example", "n.elfassi@cgem.example"),
    ),
)
