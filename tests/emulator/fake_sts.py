# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile stand-in for STS on 127.0.0.1: it quotes the caller's credentials back, URL-encoded, in what it says.

``sts_endpoint_url`` can point anywhere, and what answers there is untrusted: these answers test that the collection
masks a credential in every form before it shows an STS error message or the ARN STS names.

- ``<url>/error``: GetCallerIdentity is refused (403, InvalidClientTokenId); the message quotes the request's
  X-Amz-Security-Token header URL-encoded, and the access key id.
- ``<url>/arn``: GetCallerIdentity succeeds, naming a session whose name is the token, URL-encoded (quote_plus),
  and a user id holding the access key id: not this instance's session, so the module fails showing both.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        token = self.headers.get("X-Amz-Security-Token", "")
        access_key = self.headers.get("Authorization", "").partition("Credential=")[2].partition("/")[0]
        if self.path.startswith("/error"):
            status = 403
            body = (
                f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>'
                f"<Message>The security token included in the request is invalid: X-Amz-Security-Token="
                f"{quote(token, safe='')} for {access_key}</Message></Error><RequestId>fake-1</RequestId>"
                "</ErrorResponse>"
            )
        else:
            status = 200
            body = (
                f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
                f"<Arn>arn:aws:sts::123456789012:assumed-role/web-server-role/{quote_plus(token)}</Arn>"
                f"<UserId>AROAEXAMPLE:{access_key}</UserId><Account>123456789012</Account>"
                "</GetCallerIdentityResult><ResponseMetadata><RequestId>fake-2</RequestId></ResponseMetadata>"
                "</GetCallerIdentityResponse>"
            )
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeSts:
    """``with FakeSts() as sts: sts.url`` -- the base URL; add ``/error`` or ``/arn``."""

    def __enter__(self) -> FakeSts:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
