"""Co-authoring: course teams and invitations, the review state of drafts, review comments, lesson revisions,
curriculum documents with their topics, and team notifications.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:10:24.913362

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('course_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('coauthor', 'reviewer')", name=op.f('ck_course_invitations_known_role')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_course_invitations_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_invitations_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_course_invitations_institution_id_institutions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_course_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_course_invitations_token_hash'))
    )
    with op.batch_alter_table('course_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_invitations_course_id'), ['course_id'], unique=False)

    op.create_table('course_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("role IN ('coauthor', 'reviewer')", name=op.f('ck_course_members_known_role')),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_course_members_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_members_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_course_members_institution_id_institutions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_members')),
    sa.UniqueConstraint('course_id', 'user_id', name=op.f('uq_course_members_course_id'))
    )
    with op.batch_alter_table('course_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_members_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_members_user_id'), ['user_id'], unique=False)

    op.create_table('team_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('actor_name', sa.String(length=250), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("event IN ('invited', 'joined', 'submit', 'request_changes', 'approve', 'reopen', 'publish')", name=op.f('ck_team_notifications_known_event')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_team_notifications_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_notifications'))
    )
    with op.batch_alter_table('team_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_notifications_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_team_notifications_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table('curricula',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('competencies', sa.Text(), nullable=False),
    sa.Column('objectives', sa.Text(), nullable=False),
    sa.Column('participants', sa.Text(), nullable=False),
    sa.Column('evaluation', sa.Text(), nullable=False),
    sa.Column('certification', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_curricula_updated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_curricula_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_curricula')),
    sa.UniqueConstraint('version_id', name=op.f('uq_curricula_version_id'))
    )
    op.create_table('curriculum_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('curriculum_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=10), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('hours_teori', sa.Integer(), nullable=False),
    sa.Column('hours_penugasan', sa.Integer(), nullable=False),
    sa.Column('hours_praktik', sa.Integer(), nullable=False),
    sa.Column('objective', sa.Text(), nullable=False),
    sa.Column('sub_topics', sa.Text(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('media', sa.Text(), nullable=False),
    sa.Column('sources', sa.Text(), nullable=False),
    sa.CheckConstraint("part IN ('dasar', 'inti', 'penunjang')", name=op.f('ck_curriculum_topics_known_part')),
    sa.CheckConstraint('hours_teori >= 0 AND hours_penugasan >= 0 AND hours_praktik >= 0', name=op.f('ck_curriculum_topics_hours_not_negative')),
    sa.ForeignKeyConstraint(['curriculum_id'], ['curricula.id'], name=op.f('fk_curriculum_topics_curriculum_id_curricula'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_curriculum_topics'))
    )
    with op.batch_alter_table('curriculum_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_curriculum_topics_curriculum_id'), ['curriculum_id'], unique=False)

    op.create_table('lesson_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_key', sa.String(length=32), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.CheckConstraint("action IN ('original', 'create', 'edit', 'restore')", name=op.f('ck_lesson_revisions_known_action')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_lesson_revisions_number_positive')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_lesson_revisions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_revisions_lesson_id_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_lesson_revisions_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_revisions')),
    sa.UniqueConstraint('lesson_key', 'number', name=op.f('uq_lesson_revisions_lesson_key'))
    )
    with op.batch_alter_table('lesson_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_revisions_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lesson_revisions_version_id'), ['version_id'], unique=False)

    op.create_table('review_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('lesson_key', sa.String(length=32), nullable=True),
    sa.Column('lesson_id', sa.Integer(), nullable=True),
    sa.Column('quote', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_decision', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_review_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_review_comments_lesson_id_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_review_comments_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_review_comments_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_comments'))
    )
    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_comments_version_id'), ['version_id'], unique=False)

    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_state', sa.String(length=20), sa.CheckConstraint(
            "review_state IN ('draft', 'submitted', 'changes_requested', 'approved')",
            name=op.f('ck_course_versions_known_review_state')), server_default='draft', nullable=False))



def downgrade():
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_course_versions_known_review_state'), type_='check')
        batch_op.drop_column('review_state')

    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_comments_version_id'))

    op.drop_table('review_comments')
    with op.batch_alter_table('lesson_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_revisions_version_id'))
        batch_op.drop_index(batch_op.f('ix_lesson_revisions_lesson_id'))

    op.drop_table('lesson_revisions')
    with op.batch_alter_table('curriculum_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_curriculum_topics_curriculum_id'))

    op.drop_table('curriculum_topics')
    op.drop_table('curricula')
    with op.batch_alter_table('team_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_team_notifications_user_read')
        batch_op.drop_index(batch_op.f('ix_team_notifications_course_id'))

    op.drop_table('team_notifications')
    with op.batch_alter_table('course_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_course_members_course_id'))

    op.drop_table('course_members')
    with op.batch_alter_table('course_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_invitations_course_id'))

    op.drop_table('course_invitations')
