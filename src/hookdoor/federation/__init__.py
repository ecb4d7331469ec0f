"""Sign-in through other providers: an application's OAuth 2 / OpenID Connect providers, the links
between their accounts and this server's users, and the sign-in that goes there and comes back."""
