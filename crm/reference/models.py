"""Sectors: the themes a lead or an organisation is about, named in three languages."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.events import Audited
from crm.core.i18n import pick_name


class Sector(Audited, SQLModel, table=True):
    __tablename__ = "sector"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name_ar: str = Field(max_length=120)
    name_fr: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    position: int = Field(default=0)
    is_active: bool = Field(default=True)
    # The three names, normalised for search (crm.search.texts).
    search_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})

    def name(self, language: str | None = None) -> str:
        return pick_name(self, language)
