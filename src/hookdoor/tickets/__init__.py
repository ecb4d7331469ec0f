"""Support tickets and their threads (Casdoor's ticket routes)."""
