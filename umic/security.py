"""HTTP security headers for every response."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import g

# No inline scripts or styles anywhere: htmx is configured to need neither (ACCESSIBILITY H8).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)


def add_security_headers(response: Response) -> Response:
    """Headers that no page should be without.

    A view that may be framed by a town's website sets ``g.frame_ancestors`` to that town's
    origins: its page may be framed by them (and by us), and by no one else. Every other
    response forbids framing twice over: CSP ``frame-ancestors 'none'`` and X-Frame-Options.
    """
    headers = response.headers
    ancestors = g.get("frame_ancestors")
    if ancestors is not None:
        policy = CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(["'self'", *ancestors])
        )
        headers.setdefault("Content-Security-Policy", policy)
    else:
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Keeps same-origin Referer for CSRF checks; tokens in our URLs never leave the site.
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype == "text/html":
        # Pages may carry personal data: never store them in shared caches or on disk.
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
