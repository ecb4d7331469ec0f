"""Uploads: Casdoor's .xlsx imports of users, groups, roles and permissions, and files stored as
resources through a storage provider."""
