"""The Content-Security-Policy of every page we serve (django-csp's middleware, for HTML documents only).

A policy governs the document it arrives with (and a worker's script); on JSON, images or a script another site
embeds (the tracking script, the web-push helpers) it has no effect, so those answers go without one and the
header stays where a reader expects it. The policy itself is `CONTENT_SECURITY_POLICY` in the settings: scripts
and styles from our own origin only, an inline `<style>` or `<script>` only with the response's nonce, nothing
framed, no plugin, forms posting back to us.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware


class DocumentCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
