"""Agencies and procedures: YAML data files, their models and the loader."""

from dichvucong.catalog.loader import Catalog, CatalogError, load_catalog
from dichvucong.catalog.models import (
    Agency,
    DocumentSlot,
    FeeRule,
    FormField,
    Procedure,
    ProcessingStep,
    TimeLimit,
)
from dichvucong.catalog.search import fold

__all__ = [
    "Agency",
    "Catalog",
    "CatalogError",
    "DocumentSlot",
    "FeeRule",
    "FormField",
    "ProcessingStep",
    "Procedure",
    "TimeLimit",
    "fold",
    "load_catalog",
]
