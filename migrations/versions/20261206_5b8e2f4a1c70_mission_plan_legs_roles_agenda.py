"""missions as a plan: names in three languages, status, sectors, legs (from places), delegate
roles; meetings on a leg with a duration

Revision ID: 5b8e2f4a1c70
Revises: c4e1a9d7b3f2
Create Date: 2026-12-06 14:00:00.000000+00:00
"""

import json
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5b8e2f4a1c70"
down_revision: str | None = "c4e1a9d7b3f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _meeting_search_index() -> None:
    """SQLite's batch mode rebuilds ``meeting`` and drops the triggers that keep its search
    index (migration 871bcb8ff746): put them back and rebuild the index."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS fts_meeting_{suffix}")
    op.execute(
        "CREATE TRIGGER fts_meeting_ai AFTER INSERT ON meeting BEGIN "
        "INSERT INTO fts_meeting(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER fts_meeting_ad AFTER DELETE ON meeting BEGIN "
        "INSERT INTO fts_meeting(fts_meeting, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER fts_meeting_au AFTER UPDATE OF search_text ON meeting BEGIN "
        "INSERT INTO fts_meeting(fts_meeting, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO fts_meeting(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute("INSERT INTO fts_meeting(fts_meeting) VALUES ('rebuild')")


def upgrade() -> None:
    op.create_table(
        "mission_leg",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["mission.id"], name=op.f("fk_mission_leg_mission_id_mission"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mission_leg")),
    )
    op.create_index("ix_mission_leg_mission_position", "mission_leg", ["mission_id", "position"], unique=False)
    op.create_table(
        "mission_sector",
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["mission.id"], name=op.f("fk_mission_sector_mission_id_mission"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sector.id"], name=op.f("fk_mission_sector_sector_id_sector"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("mission_id", "sector_id", name=op.f("pk_mission_sector")),
    )
    with op.batch_alter_table("mission_sector", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mission_sector_sector_id"), ["sector_id"], unique=False)

    with op.batch_alter_table("mission_delegate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="delegate", nullable=False))
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leg_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), server_default="60", nullable=False))
        batch_op.create_index(batch_op.f("ix_meeting_leg_id"), ["leg_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_meeting_leg_id_mission_leg"), "mission_leg", ["leg_id"], ["id"], ondelete="SET NULL"
        )
    _meeting_search_index()
    with op.batch_alter_table("mission", schema=None) as batch_op:
        for lang in ("ar", "fr", "en"):
            batch_op.add_column(
                sa.Column(
                    f"name_{lang}", sqlmodel.sql.sqltypes.AutoString(length=300), server_default="", nullable=False
                )
            )
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="planned", nullable=False))
        batch_op.create_index(batch_op.f("ix_mission_status"), ["status"], unique=False)

    # Each place becomes a leg over the mission's dates; meetings join the leg of their zone.
    conn = op.get_bind()
    mission = sa.table("mission", sa.column("id"), sa.column("starts_on"), sa.column("ends_on"), sa.column("places"))
    leg = sa.table(
        "mission_leg",
        sa.column("id"),
        sa.column("mission_id"),
        sa.column("position"),
        sa.column("name"),
        sa.column("timezone"),
        sa.column("starts_on", sa.Date()),
        sa.column("ends_on", sa.Date()),
    )
    meeting = sa.table("meeting", sa.column("id"), sa.column("mission_id"), sa.column("timezone"), sa.column("leg_id"))
    for mission_id, starts_on, ends_on, places in conn.execute(
        sa.select(mission.c.id, mission.c.starts_on, mission.c.ends_on, mission.c.places)
    ).all():
        if isinstance(places, str):
            places = json.loads(places)
        for position, place in enumerate(places or []):
            leg_id = conn.execute(
                leg.insert()
                .values(
                    mission_id=mission_id,
                    position=position,
                    name=str(place.get("name") or "")[:200],
                    timezone=str(place.get("timezone") or "UTC")[:64],
                    starts_on=_day(starts_on),
                    ends_on=_day(ends_on),
                )
                .returning(leg.c.id)
            ).scalar_one()
            conn.execute(
                meeting.update()
                .where(
                    meeting.c.mission_id == mission_id,
                    meeting.c.timezone == place.get("timezone"),
                    meeting.c.leg_id.is_(None),
                )
                .values(leg_id=leg_id)
            )
    # Expand only (docs/migrations.md): the previous release still reads and writes
    # ``places`` while both run, so the column stays, optional, until a contract step.
    with op.batch_alter_table("mission", schema=None) as batch_op:
        batch_op.alter_column("places", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    conn = op.get_bind()
    mission = sa.table("mission", sa.column("id"), sa.column("places", sa.JSON()))
    leg = sa.table(
        "mission_leg", sa.column("mission_id"), sa.column("position"), sa.column("name"), sa.column("timezone")
    )
    places: dict[int, list[dict[str, str]]] = {}
    for mission_id, name, zone in conn.execute(
        sa.select(leg.c.mission_id, leg.c.name, leg.c.timezone).order_by(leg.c.mission_id, leg.c.position)
    ).all():
        places.setdefault(mission_id, []).append({"name": name, "timezone": zone})
    for (mission_id,) in conn.execute(sa.select(mission.c.id)).all():
        conn.execute(mission.update().where(mission.c.id == mission_id).values(places=places.get(mission_id, [])))
    with op.batch_alter_table("mission", schema=None) as batch_op:
        batch_op.alter_column("places", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_index(batch_op.f("ix_mission_status"))
        batch_op.drop_column("status")
        for lang in ("en", "fr", "ar"):
            batch_op.drop_column(f"name_{lang}")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_meeting_leg_id_mission_leg"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_meeting_leg_id"))
        batch_op.drop_column("duration_minutes")
        batch_op.drop_column("leg_id")
    _meeting_search_index()
    with op.batch_alter_table("mission_delegate", schema=None) as batch_op:
        batch_op.drop_column("role")
    with op.batch_alter_table("mission_sector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_sector_sector_id"))
    op.drop_table("mission_sector")
    op.drop_index("ix_mission_leg_mission_position", table_name="mission_leg")
    op.drop_table("mission_leg")
