"""The read model: a projection of the workflows, plus accounts and the catalog copy."""
