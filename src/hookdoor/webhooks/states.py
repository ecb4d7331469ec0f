"""A delivery's states as users see them: the same words in the API, the console and the CLI.

The table keeps four (pending, delivering, succeeded, failed); "retrying" is a pending delivery that
was attempted already and waits for its next try. No imports: the CLI reads this without the server.
"""

STATES = ("pending", "retrying", "delivering", "succeeded", "failed")
STATES_IN_WORDS = "pending, retrying, delivering, succeeded or failed"
