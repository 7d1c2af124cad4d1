"""Question banks: one per course, tags, versioned questions (same key, version + 1) and their answers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:16:05.267778

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('question_banks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('is_shared', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_question_banks_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_banks')),
    sa.UniqueConstraint('course_id', name=op.f('uq_question_banks_course_id'))
    )
    op.create_table('question_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['question_banks.id'], name=op.f('fk_question_tags_bank_id_question_banks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_tags')),
    sa.UniqueConstraint('bank_id', 'name', name=op.f('uq_question_tags_bank_id'))
    )
    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('is_used', sa.Boolean(), nullable=False),
    sa.Column('type', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('prompt_html', sa.Text(), nullable=False),
    sa.Column('general_feedback_html', sa.Text(), nullable=False),
    sa.Column('default_mark', sa.Float(), nullable=False),
    sa.Column('partial_credit', sa.String(length=16), nullable=False),
    sa.Column('case_sensitive', sa.Boolean(), nullable=False),
    sa.Column('use_wildcards', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("partial_credit IN ('fractions', 'all_or_nothing')", name=op.f('ck_questions_known_partial_credit')),
    sa.CheckConstraint("type IN ('single', 'multi', 'truefalse', 'shortanswer', 'numerical', 'ordering', 'matching', 'essay')", name=op.f('ck_questions_known_type')),
    sa.CheckConstraint('default_mark >= 0', name=op.f('ck_questions_mark_not_negative')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_questions_version_positive')),
    sa.ForeignKeyConstraint(['bank_id'], ['question_banks.id'], name=op.f('fk_questions_bank_id_question_banks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_questions_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_questions_key'))
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index('ix_questions_bank_current', ['bank_id', 'is_current'], unique=False)
        batch_op.create_index('uq_questions_one_current', ['key'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))

    op.create_table('question_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text_html', sa.Text(), nullable=False),
    sa.Column('fraction', sa.Float(), nullable=False),
    sa.Column('feedback_html', sa.Text(), nullable=False),
    sa.Column('match_text', sa.Text(), nullable=True),
    sa.Column('tolerance', sa.Float(), nullable=True),
    sa.CheckConstraint('fraction BETWEEN -1 AND 1', name=op.f('ck_question_answers_fraction_range')),
    sa.CheckConstraint('tolerance IS NULL OR tolerance >= 0', name=op.f('ck_question_answers_tolerance_not_negative')),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_answers_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_answers'))
    )
    with op.batch_alter_table('question_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_answers_question_id'), ['question_id'], unique=False)

    op.create_table('question_tag_links',
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_tag_links_question_id_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['question_tags.id'], name=op.f('fk_question_tag_links_tag_id_question_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'tag_id', name=op.f('pk_question_tag_links'))
    )
    with op.batch_alter_table('question_tag_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_tag_links_tag_id'), ['tag_id'], unique=False)


def downgrade():
    with op.batch_alter_table('question_tag_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_tag_links_tag_id'))

    op.drop_table('question_tag_links')
    with op.batch_alter_table('question_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_answers_question_id'))

    op.drop_table('question_answers')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('uq_questions_one_current', sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
        batch_op.drop_index('ix_questions_bank_current')

    op.drop_table('questions')
    op.drop_table('question_tags')
    op.drop_table('question_banks')
