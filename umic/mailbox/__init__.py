"""The consumer mailbox (bústia): a written query, complaint or claim from any of the towns.

``/bustia/`` (the town chosen in the form) and ``/bustia/<town>/`` (the town in the address)
take one message: the person, the company, what happened, what they ask for, up to
``MAILBOX_MAX_FILES`` documents and the consent to the privacy notice. One transaction turns
it into a case file (channel *bústia*, status *Pendent*, nobody assigned), its history's
"created" entry (with the privacy notice version accepted), the documents and a follow link;
the acknowledgment e-mail, with the case number and that link, is written to the outbox in the
same commit. The case keeps the language the message was written in (``CaseFile.language``),
so the e-mails that follow it (documents asked, reminders) are written in it too.

Anti-abuse is the booking's, piece by piece (``umic.web.limits``): the rate limit on the
POST (its own bucket, the booking's numbers), the honeypot field and the signed "shown at"
stamp, and per-day caps per e-mail address and per client network counted in the database
(``service``). The network key is erased a day later by the same job that erases the
bookings' (``umic.booking.abuse.erase_network_keys``).

Like the booking, the mailbox is registered a second time under ``/incrustat`` for towns'
iframes (``umic.embed``): views and templates use relative endpoints.

The confirmation page shows the case number and says an e-mail was sent; it never shows the
follow link, which is a bearer token and goes only to the address given (a person who typed a
wrong address calls the help phone with the number).
"""
