"""The rules of the service in plain Python: free times, invitations, case numbers, dates.

Nothing in this package imports Flask, a Flask extension, SQLAlchemy, the app's models or
its clock (``tests/unit/test_core_wall.py`` fails if anything does): callers turn rows into
the dataclasses these modules take, pass ``now`` in, and get plain values back, so every rule
is unit-tested in milliseconds and can be read without knowing the web app around it.
"""
