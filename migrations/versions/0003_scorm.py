"""SCORM: the package description on lessons, and the runtime (CMI) state per enrolment and SCO.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:40:26.334394

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scorm_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('lesson_key', sa.String(length=32), nullable=False),
    sa.Column('sco', sa.String(length=200), nullable=False),
    sa.Column('cmi', sa.JSON(), nullable=False),
    sa.Column('commits', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_scorm_states_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorm_states')),
    sa.UniqueConstraint('enrolment_id', 'lesson_key', 'sco', name=op.f('uq_scorm_states_enrolment_id'))
    )
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('package', sa.JSON(), nullable=True))



def downgrade():
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.drop_column('package')

    op.drop_table('scorm_states')
