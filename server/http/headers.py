"""Headers every response carries so that browsers hold the pages to what they are: no
framing, no sniffing, no referrer leaking to other sites, and a Content-Security-Policy that
allows only this server's own scripts and styles (web/static), nothing inline."""

from __future__ import annotations

from collections.abc import MutableMapping

from aiohttp import web

from server.http.errors import Handler

# The policy the pages satisfy: every script and style is a file of web/static; the call page
# shows camera streams (blob:, mediastream:) and talks to its own WebSocket ('self').
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob: mediastream:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-src": "'none'",
    "frame-ancestors": "'none'",
}
# Razorpay Checkout (only with Razorpay keys, only on the checkout page) is a script of theirs
# that opens their frame.
RAZORPAY = {
    "script-src": "https://checkout.razorpay.com",
    "frame-src": "https://api.razorpay.com https://checkout.razorpay.com",
    "connect-src": "https://api.razorpay.com https://lumberjack.razorpay.com",
    "img-src": "https://cdn.razorpay.com",
}


def content_security_policy(*extra: dict[str, str]) -> str:
    policy = dict(POLICY)
    for addition in extra:
        for directive, sources in addition.items():
            base = policy.get(directive, "")
            policy[directive] = sources if base == "'none'" else f"{base} {sources}"
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


CSP = content_security_policy()
CSP_WITH_RAZORPAY = content_security_policy(RAZORPAY)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
}


def _add(headers: MutableMapping[str, str]) -> None:
    for name, value in HEADERS.items():
        headers.setdefault(name, value)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects travel as exceptions
        _add(exc.headers)
        raise
    if not response.prepared:  # a WebSocket or a stream has sent its headers already
        _add(response.headers)
    return response
