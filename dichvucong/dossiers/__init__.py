"""Dossier services used by the API and the pages: codes, submission, views, decisions."""
