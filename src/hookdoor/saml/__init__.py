"""Hookdoor as a SAML identity provider for applications, and as a service provider signing users in
through an upstream SAML identity provider."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():
    # pysaml2 imports the CFB mode from where cryptography now deprecates it (SAML never uses it):
    # imported once here, quietly, rather than warning at every start of every hookdoor command.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import saml2.cryptography.symmetric  # noqa: F401
