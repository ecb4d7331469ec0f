"""Providers that send: email over SMTP, SMS and notifications over HTTP, and the routes that use them."""
