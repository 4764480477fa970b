"""Security headers on every response: a strict Content-Security-Policy for our pages.

No page needs inline scripts or style attributes (behaviour lives in ``static/js``,
data in ``data-*`` attributes or ``<script type="application/json">`` blocks), so
a payload that slips past escaping still cannot run. Flask-Admin's bootstrap4
templates load only script files and stylesheets, so ``/admin`` gets the same
policy, no exception (their one ``javascript:void(0)`` link belongs to menu
categories, which our admin does not use; ``templates/admin/master.html`` adds
our stylesheet and ``page.js``).
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
RENDERED = ("text/html", "application/xhtml+xml", "image/svg+xml")  # documents that can hold scripts
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def secure(response: Response) -> Response:
    """Add the headers a view did not set itself; the HTML ones only where a browser renders the body."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype in RENDERED:
        for name, value in HTML_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
