"""Citizen and official accounts."""
