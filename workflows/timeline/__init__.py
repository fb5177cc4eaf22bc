"""`GET /api/v1/contacts/{id}/timeline`: served by the runtime's app, which may read both contacts and workflows
(contacts must not import workflows); mounted under /contacts/ by workflows/urls.py."""
