"""Who: enterprise profiles, size classification, matching, subscribers and the store."""

__all__: list[str] = []
