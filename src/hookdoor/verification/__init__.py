"""Verification codes sent by email or SMS, and the built-in image captcha."""
