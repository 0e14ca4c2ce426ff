"""Portal: a self-hostable client portal for therapy practices."""

__version__ = "0.1.0"
