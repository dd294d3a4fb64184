"""The demo leads: the promises made during the February 2024 mission, each between a
Moroccan institution and a US firm or agency, with its stage history, watchers,
activities and follow-ups.

Times are relative to the moment the demo is loaded: an activity ``days_ago`` days
before it, a follow-up due ``in_days`` days after it (negative: overdue) at ``hour``
o'clock local time in ``timezone``.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.demo.data import (
    ADMIN_EMAIL,
    CASABLANCA,
    HOUSTON,
    NEW_YORK,
    OFFICER_EMAIL,
    PROGRAMME_EMAIL,
    SILICON_VALLEY,
    VIEWER_EMAIL,
)


@dataclass(frozen=True)
class ActivitySpec:
    kind: str
    days_ago: int
    body: str


@dataclass(frozen=True)
class FollowUpSpec:
    title: str
    in_days: int
    hour: int
    timezone: str
    done: bool = False


@dataclass(frozen=True)
class LeadSpec:
    title: str
    ma: str  # organisation keys (see data.ORGANISATIONS)
    us: str
    meeting: str  # meeting key (see data.MEETINGS)
    sector: str
    partnership_type: str
    stages: tuple[str, ...]  # the stages it moved through after "identified", in order
    owner: str = OFFICER_EMAIL
    priority: str = "normal"
    value: str | None = None
    currency: str | None = None
    confidential: bool = False
    description: str = ""
    watchers: tuple[str, ...] = ()
    activities: tuple[ActivitySpec, ...] = ()
    followups: tuple[FollowUpSpec, ...] = ()

    @property
    def stage(self) -> str:
        return self.stages[-1] if self.stages else "identified"


LEADS: tuple[LeadSpec, ...] = (
    LeadSpec(
        "Cybersecurity workshop between DGSSI and Palo Alto Networks",
        "DGSSI",
        "PALO_ALTO",
        "palo_alto",
        "cybersecurity",
        "capacity_building",
        ("contacted", "meeting_held"),
        priority="high",
        value="60000",
        currency="USD",
        description=(
            "At the Santa Clara round table DGSSI asked for a hands-on workshop in Rabat on security "
            "operations automation for maCERT analysts; Palo Alto Networks offered trainers and a lab."
        ),
        watchers=(VIEWER_EMAIL, PROGRAMME_EMAIL),
        activities=(
            ActivitySpec("email", 20, "Sent DGSSI and Palo Alto Networks a joint note summarising the workshop idea."),
            ActivitySpec("call", 6, "Call with Daniel Brooks: two trainers are available and the lab can be shipped."),
        ),
        followups=(
            FollowUpSpec("Agree the workshop dates with DGSSI and Palo Alto Networks", -2, 10, CASABLANCA),
            FollowUpSpec("Send the draft workshop agenda to DGSSI", 3, 15, CASABLANCA),
        ),
    ),
    LeadSpec(
        "Cloud migration proposal for ADD",
        "ADD",
        "ORACLE",
        "oracle",
        "cloud",
        "technology_partnership",
        ("contacted", "meeting_held", "proposal"),
        priority="high",
        value="12000000",
        currency="MAD",
        description=(
            "Migration of ADD-hosted government platforms to a public-sector cloud region, with a data "
            "residency assessment and a phased plan."
        ),
        watchers=(VIEWER_EMAIL, ADMIN_EMAIL),
        activities=(
            ActivitySpec("meeting", 25, "Video call with ADD's cloud team and Oracle to scope the first workloads."),
            ActivitySpec("note", 8, "ADD wants the proposal in French, with costs in MAD and a data-residency annex."),
        ),
        followups=(
            FollowUpSpec("Share Oracle's public-sector reference architecture with ADD", -6, 10, CASABLANCA, done=True),
            FollowUpSpec("Send the cloud migration proposal to ADD", 4, 10, CASABLANCA),
            FollowUpSpec("Review ADD's comments on the proposal", 18, 10, CASABLANCA),
        ),
    ),
    LeadSpec(
        "Government cloud pilot for the ministry with AWS",
        "MTNRA",
        "AWS",
        "aws",
        "cloud",
        "pilot",
        ("contacted", "meeting_held", "proposal", "negotiation"),
        owner=PROGRAMME_EMAIL,
        priority="high",
        value="350000",
        currency="USD",
        description="Six-month pilot hosting two ministry services, with a feasibility study funded by USTDA.",
        watchers=(OFFICER_EMAIL, VIEWER_EMAIL),
        activities=(
            ActivitySpec("email", 15, "AWS sent the draft pilot scope; the ministry asked about data residency."),
            ActivitySpec("call", 4, "Call with the ministry's Secretary General's office: legal review under way."),
        ),
        followups=(
            FollowUpSpec("Confirm the pilot scope and data-residency terms with AWS", -5, 10, NEW_YORK),
            FollowUpSpec("Prepare the pilot agreement for signature", 12, 10, NEW_YORK),
        ),
    ),
    LeadSpec(
        "Cisco Networking Academy expansion with Technopark",
        "TECHNOPARK",
        "CISCO",
        "skills",
        "skills",
        "training_and_skills",
        ("contacted", "meeting_held", "proposal", "negotiation", "agreement_signed"),
        priority="normal",
        description="Free networking and cybersecurity courses for startup staff and students at Technopark sites.",
        watchers=(VIEWER_EMAIL,),
        activities=(ActivitySpec("note", 10, "Memorandum of understanding signed by Technopark and Cisco."),),
    ),
    LeadSpec(
        "AI skills programme for public servants with Microsoft",
        "MTNRA",
        "MICROSOFT",
        "skills",
        "ai",
        "training_and_skills",
        ("contacted",),
        description="Free AI and data courses for civil servants, building on last year's training of 75,000 students.",
        watchers=(VIEWER_EMAIL,),
        activities=(
            ActivitySpec("email", 12, "Envoyé à Microsoft Maroc la liste des profils visés par le ministère."),
        ),
        followups=(FollowUpSpec("Call Microsoft Morocco about the AI curriculum", 1, 10, CASABLANCA),),
    ),
    LeadSpec(
        "AI-assisted citizen services pilot",
        "ADD",
        "SPARKCOGNITION",
        "sparkcognition",
        "ai",
        "pilot",
        (),
        owner=PROGRAMME_EMAIL,
        value="250000",
        currency="USD",
        description="A pilot of AI-assisted triage of citizen requests on one national e-services portal.",
        followups=(FollowUpSpec("Introduce ADD to SparkCognition's public-sector team", 2, 15, HOUSTON),),
    ),
    LeadSpec(
        "E-permits platform for Moroccan municipalities",
        "MTNRA",
        "TYLER",
        "tyler",
        "e_government",
        "b2b_sale",
        ("contacted", "meeting_held", "closed_no_go"),
        priority="low",
        value="4500000",
        currency="MAD",
        description="Tyler's permitting platform is built for US local governments; no Arabic or French version.",
        activities=(
            ActivitySpec("note", 30, "Tyler Technologies will not localise the platform for Morocco this year."),
        ),
    ),
    LeadSpec(
        "Startup exchange programme between Technopark and Plug and Play",
        "TECHNOPARK",
        "PLUG_AND_PLAY",
        "plug_and_play",
        "startups",
        "exchange_programme",
        ("contacted", "meeting_held", "proposal", "negotiation"),
        priority="high",
        value="1800000",
        currency="MAD",
        description="Two cohorts a year of ten Moroccan startups spending six weeks at Plug and Play in Sunnyvale.",
        watchers=(VIEWER_EMAIL, PROGRAMME_EMAIL),
        activities=(
            ActivitySpec("meeting", 18, "Réunion à Technopark Casablanca : critères de sélection des startups."),
            ActivitySpec("email", 9, "Plug and Play sent its standard programme agreement."),
        ),
        followups=(
            FollowUpSpec("Send the draft exchange programme agreement to Technopark", -9, 10, CASABLANCA),
            FollowUpSpec("Select the first cohort of ten startups", 25, 10, CASABLANCA),
        ),
    ),
    LeadSpec(
        "Cloud region investment in Morocco",
        "MTNRA",
        "GOOGLE_CLOUD",
        "google_cloud",
        "data_centres",
        "investment",
        ("contacted", "meeting_held", "proposal"),
        owner=PROGRAMME_EMAIL,
        priority="high",
        value="150000000",
        currency="USD",
        confidential=True,
        description="Early discussions on a cloud region and data centre investment; commercially sensitive.",
        watchers=(ADMIN_EMAIL,),
        activities=(
            ActivitySpec("call", 7, "Call with Google Cloud: site criteria and energy supply questions sent."),
        ),
        followups=(FollowUpSpec("Brief the embassy on the cloud region discussions", 5, 15, NEW_YORK),),
    ),
    LeadSpec(
        "Hybrid cloud skills transfer for Moroccan integrators",
        "APEBI",
        "NUTANIX",
        "nutanix",
        "technology_transfer",
        "technology_transfer",
        ("contacted",),
        value="900000",
        currency="MAD",
        description="Certification and know-how transfer for APEBI member integrators running hybrid clouds.",
        watchers=(VIEWER_EMAIL,),
        activities=(ActivitySpec("email", 11, "APEBI circulated the opportunity to its member integrators."),),
        followups=(FollowUpSpec("Schedule a call between APEBI and Nutanix", 8, 9, SILICON_VALLEY),),
    ),
    LeadSpec(
        "Data platform partner programme for APEBI members",
        "APEBI",
        "CLOUDERA",
        "cloudera",
        "cloud",
        "b2b_sale",
        (),
        priority="low",
        description="Resale and integration opportunities for Moroccan IT firms in Cloudera's partner programme.",
        followups=(FollowUpSpec("Circulate Cloudera's partner programme to APEBI members", 14, 10, CASABLANCA),),
    ),
    LeadSpec(
        "Cyber range technology transfer for DGSSI",
        "DGSSI",
        "CISCO",
        "skills",
        "cybersecurity",
        "technology_transfer",
        ("contacted", "on_hold"),
        owner=PROGRAMME_EMAIL,
        value="2000000",
        currency="USD",
        description="A national cyber range for exercises, with Cisco transferring the scenarios and tooling.",
        watchers=(OFFICER_EMAIL,),
        activities=(ActivitySpec("note", 14, "On hold until DGSSI's next budget is voted."),),
        followups=(FollowUpSpec("Check whether DGSSI's budget includes the cyber range", 30, 10, CASABLANCA),),
    ),
    LeadSpec(
        "CIO exchange programme between AUSIM and Palo Alto Networks",
        "AUSIM",
        "PALO_ALTO",
        "palo_alto",
        "cybersecurity",
        "exchange_programme",
        ("contacted", "meeting_held"),
        description="Study visits for AUSIM's chief information officers and security officers to Santa Clara.",
        watchers=(VIEWER_EMAIL,),
        activities=(ActivitySpec("call", 5, "Appel avec AUSIM : huit DSI intéressés par une visite d'étude."),),
        followups=(FollowUpSpec("Send the exchange programme outline to AUSIM", 2, 15, CASABLANCA),),
    ),
    LeadSpec(
        "E-commerce export training for CGEM member SMEs",
        "CGEM",
        "AWS",
        "aws",
        "e_commerce",
        "capacity_building",
        ("contacted",),
        value="400000",
        currency="MAD",
        description="Workshops for CGEM member SMEs on selling abroad online, run with AWS trainers.",
        watchers=(VIEWER_EMAIL,),
        activities=(ActivitySpec("email", 3, "CGEM proposed Casablanca, Tanger and Agadir for the first workshops."),),
        followups=(FollowUpSpec("Confirm the workshop dates with CGEM", 20, 10, CASABLANCA),),
    ),
)
