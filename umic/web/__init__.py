"""The web plumbing every area shares: sign-in and roles, forms and languages, security
headers and rate limits, htmx helpers, the links sent to citizens. No area's pages live here."""
