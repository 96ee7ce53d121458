"""outbox links at rest

Revision ID: a10c0a000001
Revises: 8396f04616f9
Create Date: 2026-12-04 10:00:00

The outbox kept every e-mail body with its link tokens in clear (security review, finding
1). From now on bodies are stored masked and the tokens wait in ``link_tokens`` only until
the message is sent (umic/mail/links.py). This migration adds the column and masks the
tokens of the messages already stored: a message still waiting keeps its tokens in
``link_tokens`` (so it still goes out with working links); any other (sent, failed,
superseded) keeps none. Every message keeps ``link_refs`` (masked form and SHA-256 of each
token: opens nothing), so staff can still retry a failed one with fresh links.

The downgrade drops the column; the masked bodies stay masked (the tokens are gone).
"""

import hashlib
import json
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a10c0a000001"
down_revision = "8396f04616f9"
branch_labels = None
depends_on = None

MASK = "\u2022" * 6  # umic/mail/links.py, MASK and KEEP
KEEP = 4
# The routes whose URL carries a token when this migration was written (manage, upload,
# survey); tokens are URL-safe base64, 32 characters.
TOKEN_LINK = re.compile(r"/(?:cita|documents|enquesta)/([A-Za-z0-9_-]{20,100})")
WAITING = ("pending", "sending")

outbox = sa.table(
    "outbox_message",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("body_text", sa.Text),
    sa.column("body_html", sa.Text),
    sa.column("link_tokens", sa.Text),
    sa.column("link_refs", sa.Text),
)


def _tokens(*bodies):
    found = []
    for body in bodies:
        for match in TOKEN_LINK.finditer(body or ""):
            if match.group(1) not in found:
                found.append(match.group(1))
    return found


def _mask(text, tokens):
    for token in tokens:
        text = text.replace(token, token[:KEEP] + MASK)
    return text


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_tokens", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("link_refs", sa.Text(), nullable=True))

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.status, outbox.c.body_text, outbox.c.body_html)
    ).all()
    for row in rows:
        tokens = _tokens(row.body_text, row.body_html)
        if not tokens:
            continue
        connection.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(
                body_text=_mask(row.body_text or "", tokens),
                body_html=_mask(row.body_html or "", tokens),
                link_tokens=json.dumps(tokens) if row.status in WAITING else None,
                link_refs=json.dumps(
                    [[t[:KEEP] + MASK, hashlib.sha256(t.encode()).hexdigest()] for t in tokens]
                ),
            )
        )


def downgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("link_refs")
        batch_op.drop_column("link_tokens")
