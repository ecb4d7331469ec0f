"""The server itself: health, metrics, dashboards, system and version information."""
