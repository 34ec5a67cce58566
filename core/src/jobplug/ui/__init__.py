"""The web dashboard (``jobplug ui``): pages and a gocraft-compatible JSON API.

Needs the ``ui`` extra (``pip install 'jobplug[ui]'``). Works on any broker that declares
the ``inspect`` capability; embed it next to your own worker with::

    from jobplug.ui import create_app
    app = create_app(worker.broker)   # an ASGI app: serve it with uvicorn
"""

from jobplug.ui.app import create_app

__all__ = ["create_app"]
