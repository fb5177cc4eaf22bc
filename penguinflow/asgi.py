"""The ASGI application: HTTP through Django, websockets through Channels (session auth, same origin).

`POST /api/v1/events` is answered in front of Django by `events.fastpath` (same behaviour, no thread hop per
request); EVENTS_FASTPATH=0 turns that off and lets Django's view serve it too. The fast path is named by the
EVENTS_FASTPATH_CLASS setting, as the project package imports no app.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "penguinflow.settings.base")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from penguinflow.common.streamed_body_limit import StreamedBodyLimit  # noqa: E402
from penguinflow.common.websocket_origin import SameOriginValidator  # noqa: E402
from penguinflow.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": StreamedBodyLimit(django_asgi_app),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
if settings.EVENTS_FASTPATH:
    application = import_string(settings.EVENTS_FASTPATH_CLASS)(application)
