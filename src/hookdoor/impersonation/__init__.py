"""A global administrator acting as another user in their own sign-in session (Casdoor's
impersonate-user), every call of it recorded with both identities."""
