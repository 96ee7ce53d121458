"""Personal data: how long it is kept and how it is forgotten (docs/privacy.md).

- ``schedule``: the retention schedule, pure: parsed from the settings, it answers "when does
  this record's personal data go?";
- ``anonymise``: the set-based primitives that delete or anonymise records;
- ``retention``: the periodic job that applies the schedule, and its counts;
- ``cli``: ``flask --app umic privacy ...``.

The rights of the people whose data the service holds (find, export, erase) build on the same
primitives (``subjects``, ``routes``).
"""
