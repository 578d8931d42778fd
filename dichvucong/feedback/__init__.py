"""Citizens' feedback and complaints (phản ánh, kiến nghị): workflow, activities, table.

Worker wiring: ``FEEDBACK_WORKFLOWS`` and ``build_feedback_activities(settings, db)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dichvucong.feedback.workflow import FeedbackWorkflow

FEEDBACK_WORKFLOWS: list[type] = [FeedbackWorkflow]

if TYPE_CHECKING:
    from dichvucong.db.engine import Database
    from dichvucong.settings import Settings



def build_feedback_activities(settings: Settings, db: Database) -> list[Callable[..., Any]]:
    """The activities FeedbackWorkflow calls by name (``plan_deadline`` is the dossier
    worker's, already registered). Email / SMS go through the same channels as
    dossier notices."""
    from dichvucong.feedback.activities import FeedbackActivities
    from dichvucong.integrations.factory import build_channels

    return FeedbackActivities(db, channels=build_channels(settings, db)).all()


__all__ = ["FEEDBACK_WORKFLOWS", "FeedbackWorkflow", "build_feedback_activities"]
