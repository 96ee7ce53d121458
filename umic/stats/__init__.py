"""Statistics, survey results and the expansion plan: aggregate queries, no request handling."""
