"""Embedding portal fragments in staff's own pages (issue 16): staff API tokens, embed
sessions, and which widgets of a client each may open."""
