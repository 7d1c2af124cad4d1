"""Courses: categories, courses with owners and competencies, versions, modules, lessons, enrolments and
lesson progress.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:28:51.668320

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('name', name=op.f('uq_categories_name'))
    )
    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('cover_sha256', sa.String(length=64), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('competency_kind', sa.String(length=20), nullable=False),
    sa.Column('jp', sa.Integer(), nullable=False),
    sa.Column('jalur', sa.String(length=20), nullable=False),
    sa.Column('jenis_diklat', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('validity_years', sa.Integer(), nullable=True),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('published_version_id', sa.Integer(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("competency_kind IN ('teknis', 'manajerial', 'sosial_kultural')", name=op.f('ck_courses_known_competency_kind')),
    sa.CheckConstraint("jalur IN ('klasikal', 'nonklasikal', 'blended')", name=op.f('ck_courses_known_jalur')),
    sa.CheckConstraint('jp >= 0', name=op.f('ck_courses_jp_not_negative')),
    sa.CheckConstraint('validity_years IS NULL OR validity_years > 0', name=op.f('ck_courses_validity_positive')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_courses_category_id_categories'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('code', name=op.f('uq_courses_code'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_published_version_id'), ['published_version_id'], unique=False)

    op.create_table('course_competencies',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_course_competencies_level_range')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_competencies_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', 'code', name=op.f('pk_course_competencies'))
    )
    op.create_table('course_institutions',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_institutions_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_course_institutions_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', 'institution_id', name=op.f('pk_course_institutions'))
    )
    op.create_table('course_owners',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_owners_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_owners_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', 'user_id', name=op.f('pk_course_owners'))
    )
    op.create_table('course_prerequisites',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('required_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('course_id <> required_id', name=op.f('ck_course_prerequisites_not_self')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_prerequisites_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['required_id'], ['courses.id'], name=op.f('fk_course_prerequisites_required_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', 'required_id', name=op.f('pk_course_prerequisites'))
    )
    op.create_table('course_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('objectives', sa.Text(), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=False),
    sa.Column('based_on_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(state = 'draft') = (number IS NULL)", name=op.f('ck_course_versions_number_when_published')),
    sa.CheckConstraint("state IN ('draft', 'published', 'archived')", name=op.f('ck_course_versions_known_state')),
    sa.ForeignKeyConstraint(['based_on_id'], ['course_versions.id'], name=op.f('fk_course_versions_based_on_id_course_versions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_versions_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_course_versions_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_versions')),
    sa.UniqueConstraint('course_id', 'number', name=op.f('uq_course_versions_course_id'))
    )
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_versions_course_id'), ['course_id'], unique=False)
        batch_op.create_index('uq_course_versions_one_draft', ['course_id'], unique=True, sqlite_where=sa.text("state = 'draft'"), postgresql_where=sa.text("state = 'draft'"))

    # courses ↔ course_versions refer to each other: the course's pointer to its published version is added
    # once both tables exist.
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_courses_published_version_id_course_versions'), 'course_versions',
                                    ['published_version_id'], ['id'], ondelete='SET NULL')

    op.create_table('modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_modules_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modules'))
    )
    with op.batch_alter_table('modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modules_version_id'), ['version_id'], unique=False)

    op.create_table('lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_type', sa.String(length=100), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('captions_sha256', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('is_required', sa.Boolean(), nullable=False),
    sa.Column('completion_rule', sa.String(length=10), nullable=False),
    sa.Column('completion_value', sa.Integer(), nullable=True),
    sa.Column('content_digest', sa.String(length=64), nullable=False),
    sa.CheckConstraint("completion_rule IN ('viewed', 'min_time', 'score', 'package')", name=op.f('ck_lessons_known_rule')),
    sa.CheckConstraint("kind IN ('text', 'pdf', 'video', 'file', 'scorm', 'link', 'quiz')", name=op.f('ck_lessons_known_kind')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_lessons_module_id_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lessons'))
    )
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.create_index('ix_lessons_key', ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_lessons_module_id'), ['module_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(), nullable=True),
    sa.Column('last_lesson_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('progress_percent', sa.Integer(), nullable=False),
    sa.CheckConstraint("source IN ('self', 'assigned')", name=op.f('ck_enrolments_known_source')),
    sa.CheckConstraint("state IN ('active', 'completed', 'withdrawn')", name=op.f('ck_enrolments_known_state')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_enrolments_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_enrolments_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_lesson_id'], ['lessons.id'], name=op.f('fk_enrolments_last_lesson_id_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrolments_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_enrolments_version_id_course_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('user_id', 'course_id', 'cycle', name=op.f('uq_enrolments_user_id'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_enrolments_user_state', ['user_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_version_id'), ['version_id'], unique=False)

    op.create_table('lesson_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('lesson_key', sa.String(length=32), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=True),
    sa.Column('content_digest', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('seconds_spent', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('not_started', 'in_progress', 'done')", name=op.f('ck_lesson_progress_known_state')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_lesson_progress_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_progress_lesson_id_lessons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_progress')),
    sa.UniqueConstraint('enrolment_id', 'lesson_key', name=op.f('uq_lesson_progress_enrolment_id'))
    )
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_progress_lesson_id'), ['lesson_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_progress_lesson_id'))

    op.drop_table('lesson_progress')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_version_id'))
        batch_op.drop_index('ix_enrolments_user_state')
        batch_op.drop_index(batch_op.f('ix_enrolments_course_id'))

    op.drop_table('enrolments')
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lessons_module_id'))
        batch_op.drop_index('ix_lessons_key')

    op.drop_table('lessons')
    with op.batch_alter_table('modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modules_version_id'))

    op.drop_table('modules')
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_course_versions_one_draft', sqlite_where=sa.text("state = 'draft'"), postgresql_where=sa.text("state = 'draft'"))
        batch_op.drop_index(batch_op.f('ix_course_versions_course_id'))

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_courses_published_version_id_course_versions'), type_='foreignkey')
    op.drop_table('course_versions')
    op.drop_table('course_prerequisites')
    op.drop_table('course_owners')
    op.drop_table('course_institutions')
    op.drop_table('course_competencies')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_published_version_id'))
        batch_op.drop_index(batch_op.f('ix_courses_category_id'))

    op.drop_table('courses')
    op.drop_table('categories')
