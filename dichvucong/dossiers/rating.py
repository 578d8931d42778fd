"""The citizen's satisfaction rating of a completed dossier: given once."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from dichvucong.api.problems import Conflict
from dichvucong.db.models import Dossier
from dichvucong.dossiers.views import DossierRow


def record_rating(
    session: Session, dossier: Dossier | DossierRow, level: str, comment: str | None
) -> None:
    """One conditional UPDATE, so two concurrent ratings cannot both be taken (the second
    would otherwise overwrite the first after both read "not rated yet")."""
    if dossier.status != "COMPLETED":
        raise Conflict("not_completed", "Chỉ đánh giá khi hồ sơ đã hoàn thành.")
    taken = session.execute(
        update(Dossier)
        .where(col(Dossier.code) == dossier.code, col(Dossier.rating).is_(None))
        .values(rating=level, rating_comment=comment)
    ).rowcount
    session.commit()
    if not taken:
        raise Conflict("already_rated", "Hồ sơ đã được đánh giá.")
