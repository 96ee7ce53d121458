"""The post office: ``compose`` writes each e-mail into the outbox in the same transaction as
the change that caused it, ``outbox`` sends what is due (claim, send, retry), ``mime`` gives an
invitation the shape calendars expect. It knows nothing of bookings, cases or surveys beyond
the rows it is handed; what to send and when is decided by each area and by ``umic.jobs``."""
