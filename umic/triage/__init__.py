"""Triage: the models the service trains on its own case files (umic.core.triage does the
learning, without Flask or the database) and what the app does with them.

- ``service``: the training set read from the database, training and storing a run, the newest
  model loaded once per process, the suggestions of a case and the technicians' decisions on
  them, similar past cases.
- ``cli``: ``flask --app umic triage train | suggest | evaluate``.
- ``schedule`` and ``figures``: the worker's training and the coordinators' figures page.

Nothing here contacts another host: the models are trained and run in this process.
"""
