"""What the tests share: factories for rows, a citizen's journey, a real SMTP server, the
browser, HTML and calendar readers, query counting, days from the app's clock. No tests here."""
