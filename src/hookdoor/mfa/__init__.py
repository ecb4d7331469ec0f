"""Multi-factor authentication: TOTP factors, recovery codes, and the second step of a sign-in."""
