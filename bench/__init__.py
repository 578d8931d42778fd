"""`make bench`: what one machine holds, measured side by side with the bare engine."""
