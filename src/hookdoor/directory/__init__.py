"""Casdoor's lookups over the core kinds: user counts and rankings, organization names, which
application an organization or a user signs in with, records by example, duplicated sessions."""
