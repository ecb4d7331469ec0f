"""WebAuthn (passkeys): registering a credential for the signed-in user, and signing in with it.

The folder shares its name with the ``webauthn`` library (py_webauthn) it uses; imports here are
absolute, so ``import webauthn`` is always the library.
"""
