"""Serve the example Django project on 127.0.0.1 (``python serve.py --port 8000``).

Creates the database when needed, then serves with the standard library's WSGI server (one
thread per request) and prints the URL. The public URL defaults to the address served, so a test
can start it on a free port; the providers come from the environment (see
``authkit_site/settings.py``).
"""

import argparse
import os
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authkit_site.settings")
    server = make_server(
        "127.0.0.1", args.port, None, server_class=ThreadingServer, handler_class=QuietHandler
    )
    url = f"http://127.0.0.1:{server.server_port}"
    os.environ.setdefault("AUTHKIT_PUBLIC_URL", url)

    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    server.set_app(get_wsgi_application())
    print(f"Serving on {url}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
