"""Everything that touches the world: calendar, read model, notifications, outside systems."""
