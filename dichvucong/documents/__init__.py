"""The document store: content-addressed (sha256) files, never inside Temporal payloads."""

from dichvucong.documents.media import EmptyDocument, UnsupportedMediaType, sniff_media_type
from dichvucong.documents.store import (
    DocumentStore,
    DocumentTooLarge,
    LocalDocumentStore,
    StoredRef,
    build_document_store,
    record_stored,
    sweep,
)

__all__ = ["DocumentStore", "DocumentTooLarge", "EmptyDocument", "LocalDocumentStore", "StoredRef",
           "UnsupportedMediaType", "build_document_store", "record_stored", "sniff_media_type",
           "sweep"]
