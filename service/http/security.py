"""Security headers on every answer, the API's and the served site's alike (the `secure` library).

Nothing the service serves needs an inline script: the site has no JavaScript at all and /docs
loads Swagger UI and its start-up script as files (see docs.py). The site's stylesheet is inline
in each page as published (a page must stand alone when copied off the site), so styles may be
inline; scripts may come only from this origin. No page may be framed. HSTS is the TLS
terminator's to send (docs/http.md), since only it knows the service is reached over TLS.
"""

from __future__ import annotations

from secure import (
    ContentSecurityPolicy,
    CrossOriginOpenerPolicy,
    ReferrerPolicy,
    Secure,
    XContentTypeOptions,
    XFrameOptions,
)
from secure.middleware import SecureASGIMiddleware

CONTENT_SECURITY_POLICY = (
    ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'")
    .style_src("'self'", "'unsafe-inline'")
    .img_src("'self'", "data:")
    .object_src("'none'")
    .base_uri("'none'")
    .form_action("'self'")
    .frame_ancestors("'none'")
)

HEADERS = Secure(
    csp=CONTENT_SECURITY_POLICY,
    xcto=XContentTypeOptions(),
    referrer=ReferrerPolicy().strict_origin_when_cross_origin(),
    xfo=XFrameOptions().deny(),
    coop=CrossOriginOpenerPolicy().same_origin(),
)


class SecurityHeaders(SecureASGIMiddleware):
    """The headers above on every HTTP response, problem details and 413s included."""

    def __init__(self, app) -> None:
        super().__init__(app, secure=HEADERS)
