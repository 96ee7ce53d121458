"""The satisfaction survey: sending it after a call, the citizen's page, the answer.

``service`` decides when a survey goes and records the answer; ``routes`` is the public page
behind the e-mailed link. The results for coordinators are figures, in ``umic.stats``.
"""
