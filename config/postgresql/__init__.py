"""Django's PostgreSQL backend, with server-side binding that refuses out-of-range integers (base.py)."""
