"""Hookdoor as a SAML identity provider for applications, and as a service provider signing users in
through an upstream SAML identity provider."""
