"""Mediation with the company a case claims against (issue 14): the service and its pages.

``service`` opens a mediation (the claim letter and a secure link to the company), records the
company's answer, reminds it once, convenes the joint session (an ordinary booking of the
mediator's time, with the company's own invitation) and closes it (outcome, amounts, referral
and the closing letters). ``routes`` holds the staff panel on the case page and the company's
page ``/empresa/<token>``.
"""
