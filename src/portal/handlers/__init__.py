"""Litestar controllers, one module per area. Thin: parse, call a domain module, render."""
