"""inbound mail: the ledger of raw messages, the emails filed on leads, and how far an IMAP mailbox was read

Revision ID: b8d2f4a61c93
Revises: 3b8e5d1f7a94
Create Date: 2026-12-06 13:48:56.910056+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.core.db


revision: str = 'b8d2f4a61c93'
down_revision: str | None = '3b8e5d1f7a94'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imap_cursor",
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("uid_validity", sa.Integer(), nullable=False),
        sa.Column("last_uid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_imap_cursor")),
    )
    op.create_table('inbound_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('envelope_from', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('received', 'filed', 'to_file', 'review', 'dropped', name='inboundstate', native_enum=False, length=12), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('suggestions', sa.JSON(), nullable=False),
    sa.Column('received_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filed_at', crm.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], name=op.f('fk_inbound_mail_lead_id_lead'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_inbound_mail_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mail')),
    sa.UniqueConstraint('message_id', 'address', name='uq_inbound_mail_message_address')
    )
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_mail_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index('ix_inbound_mail_user_state', ['user_id', 'state'], unique=False)

    op.create_table('email_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('inbound_mail_id', sa.Integer(), nullable=True),
    sa.Column('outbound_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('direction', sa.Enum('inbound', 'outbound', name='direction', native_enum=False), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('thread_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('in_reply_to', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('from_address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('from_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('to', sa.JSON(), nullable=False),
    sa.Column('cc', sa.JSON(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
    sa.Column('sent_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('has_remote_images', sa.Boolean(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('created_at', crm.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_email_message_activity_id_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbound_mail_id'], ['inbound_mail.id'], name=op.f('fk_email_message_inbound_mail_id_inbound_mail'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], name=op.f('fk_email_message_lead_id_lead'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_message')),
    sa.UniqueConstraint('activity_id', name=op.f('uq_email_message_activity_id')),
    sa.UniqueConstraint('lead_id', 'message_id', name='uq_email_message_lead_message')
    )
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.create_index('ix_email_message_lead_sent', ['lead_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_email_message_message_id', ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_message_thread_id'), ['thread_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('email_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_message_thread_id'))
        batch_op.drop_index('ix_email_message_message_id')
        batch_op.drop_index('ix_email_message_lead_sent')

    op.drop_table('email_message')
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_mail_user_state')
        batch_op.drop_index(batch_op.f('ix_inbound_mail_lead_id'))

    op.drop_table('inbound_mail')
    op.drop_table("imap_cursor")
