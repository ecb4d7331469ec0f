"""Invitations: codes that admit sign-ups, sent by email (Casdoor's invitation routes)."""
