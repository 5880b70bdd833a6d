"""The Slack app: the buttons on every alert and `/listenpost`, served by slack-bolt.

Socket Mode (the default) dials out to Slack over a WebSocket, so a laptop or a server behind
a firewall works with no public URL. HTTP mode serves Slack's signed requests on a port for
those who host it behind their own HTTPS proxy: the body is read only when its length is
stated and under 1 MB, its signature and timestamp are checked on the raw bytes before anything
parses it (401 otherwise), and every malformed request gets a prompt 4xx, never a hang or a
traceback.

Slack wants an answer within 3 seconds: clicks are acknowledged first and then worked (case,
label, chat.update); slash commands are answered within the acknowledgement itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest
from slack_bolt.error import BoltError
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from alerts import actions, people, replies, slash
from alerts.app_settings import Permissions
from alerts.permissions import BY_ACTION, Gate
from alerts.render import ASSIGN, ESCALATE, REPLIES, VIEW_POST, escape
from storage import cases

if TYPE_CHECKING:
    from alerts.app_settings import SavedReply, SlackAppSettings
    from alerts.routes import Route
    from storage import Store

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Slack's payloads are a few KB; anything bigger is not Slack
READ_TIMEOUT = 10.0  # seconds a client may take to send its request: a stalled one is dropped
SIGNATURE_TOLERANCE = 300  # Slack's own rule: refuse requests signed more than 5 minutes away
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: "²".isdigit() is True, int("²") raises
_CASE_ACTION = re.compile("^(" + "|".join(map(re.escape, actions.CASE_ACTIONS)) + ")$")


class AppSetupError(Exception):
    """The app cannot start as configured; the message names the variable or key to fix."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _unused_token_warning(record: logging.LogRecord) -> bool:
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_app(
    store: Store,
    client: WebClient,
    signing_secret: str = "",
    clock: Callable[[], datetime] = _utcnow,
    routes: Sequence[Route] = (),
    saved_replies: Sequence[SavedReply] = (),
    permissions: Permissions | None = None,
) -> App:
    """The bolt App with listenpost's handlers; transport-agnostic (Socket Mode or HTTP).

    auth.test runs here, so a wrong bot token fails at start-up with a clear message instead
    of on the first click. Every click and `/listenpost mute` is checked against
    `permissions` (everyone, when not given).
    """
    gate = Gate(permissions or Permissions(), client)
    # bolt warns "`token` will be unused" whenever SLACK_BOT_TOKEN is in the environment and a
    # client is given; the client carries that very token, so the warning is only noise.
    bolt_log = get_bolt_logger(App)
    bolt_log.addFilter(_unused_token_warning)
    try:
        app = App(client=client, signing_secret=signing_secret, process_before_response=False)
    except BoltError as exc:
        raise AppSetupError(f"Slack app: SLACK_BOT_TOKEN was refused ({exc})") from None
    finally:
        bolt_log.removeFilter(_unused_token_warning)

    @app.action(_CASE_ACTION)
    def on_case_action(
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Callable[..., Any],
    ) -> None:
        ack()
        handle_click(store, client, body, action, respond, clock(), gate, routes)

    @app.action(REPLIES)
    def on_saved_replies(
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Callable[..., Any],
    ) -> None:
        ack()
        if not gate.allows("reply", _clicker(body)):
            _tell(respond, gate.refusal("reply"))
            return
        value = str(action.get("value", ""))
        mention = store.get_mention(int(value)) if value.isdigit() else None
        if mention is None:
            respond(
                text=":warning: this mention is no longer stored",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        respond(**replies.message(mention, replies.suggest(mention, saved_replies)))

    @app.action(VIEW_POST)
    def on_view_post(ack: Callable[..., None]) -> None:
        ack()  # a link button: Slack opens the URL, but still expects the click acknowledged

    @app.command(slash.COMMAND)
    def on_command(ack: Callable[..., None], command: dict[str, Any]) -> None:
        invocation = slash.Invocation(
            text=str(command.get("text") or ""),
            user_id=str(command.get("user_id") or "unknown"),
            now=clock(),
        )
        needed = slash.permission(invocation.text)
        if needed and not gate.allows(needed, invocation.user_id):
            ack(response_type="ephemeral", text=gate.refusal(needed))
            return
        ack(**slash.answer(store, invocation))

    return app


def handle_click(
    store: Store,
    client: WebClient,
    body: Mapping[str, Any],
    action: Mapping[str, Any],
    respond: Callable[..., Any],
    now: datetime,
    gate: Gate,
    routes: Sequence[Route] = (),
) -> None:
    """Store what a click means, then show it on every message that alerted the mention
    (when the clicker may: otherwise only they are told, and nothing changes)."""
    user = _clicker(body)
    needed = BY_ACTION.get(str(action.get("action_id", "")))
    if needed and not gate.allows(needed, user):
        _tell(respond, gate.refusal(needed))
        return
    try:
        click = actions.parse_click(action, user)
        outcome = actions.apply(store, click, now)
    except ValueError as exc:  # closed case, unknown mention, bad label: tell the clicker
        respond(
            text=f":warning: {escape(str(exc))}",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    except Exception:
        log.exception("click %s by %s failed", action.get("action_id"), user)
        respond(
            text=":warning: listenpost could not record that; the error is in its log.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    container = body.get("container") or {}
    targets = [(container.get("channel_id"), container.get("message_ts"))]
    targets += [(m.channel_id, m.ts) for m in cases.alert_messages(store, click.mention_id)]
    for channel, ts in dict.fromkeys(t for t in targets if t[0] and t[1]):
        try:
            client.chat_update(channel=channel, ts=ts, text=outcome.text, blocks=outcome.blocks)
        except SlackApiError as exc:
            # The case is stored either way; the message catches up on the next click.
            error = exc.response.get("error")
            log.warning("could not update the alert %s in %s: %s", ts, channel, error)
    if click.action_id == ESCALATE:
        route = next((x for x in routes if x.name == outcome.case.route), None)
        _escalate(client, outcome, route, user, container, respond)
    # The case log names people ("Bo Smith (U0BO)"): learn the names of whoever worked it.
    people.learn(store, client, [user, click.choice if click.action_id == ASSIGN else None], now)


def _clicker(body: Mapping[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "unknown")


def _tell(respond: Callable[..., Any], text: str) -> None:
    """An answer only the clicker sees, leaving the alert as it is."""
    respond(text=text, response_type="ephemeral", replace_original=False)


def _escalate(
    client: WebClient,
    outcome: actions.Outcome,
    route: Route | None,
    user: str,
    container: Mapping[str, Any],
    respond: Callable[..., Any],
) -> None:
    """Tell the route's escalation target; say so to the clicker when there is none."""
    channel, ts = container.get("channel_id"), container.get("message_ts")
    link = None
    if channel and ts:
        try:
            link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError as exc:
            log.warning("no permalink for the alert %s: %s", ts, exc.response.get("error"))
    message = actions.escalation(outcome, route, user, str(channel or ""), link)
    if message is None:
        name = escape(outcome.case.route)
        respond(
            text=f"Escalation recorded. Route _{name}_ has no `escalate_to`, so nobody else "
            "was notified.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    try:
        client.chat_postMessage(
            channel=message.channel,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        respond(
            text=f":warning: Escalation recorded, but posting to {escape(message.channel)} "
            f"failed ({escape(str(error))}).",
            response_type="ephemeral",
            replace_original=False,
        )


class SlackApp:
    """The bolt app plus its transport, started and stopped with `listenpost run`."""

    def __init__(
        self,
        app: App,
        mode: str,
        app_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 3000,
        path: str = "/slack/events",
        signing_secret: str = "",
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        if mode == "socket" and not (app_token or "").startswith("xapp-"):
            raise AppSetupError(
                "Slack app: Socket Mode needs SLACK_APP_TOKEN, an app-level token starting "
                "with xapp- (Basic Information > App-Level Tokens, scope connections:write)"
            )
        if mode == "http" and not signing_secret:
            raise AppSetupError("Slack app: HTTP mode needs SLACK_SIGNING_SECRET")
        self.app = app
        self.mode = mode
        self._app_token = app_token
        self._address = (host, port)
        self._path = path
        self._signing_secret = signing_secret
        self._read_timeout = read_timeout
        self._socket: Any = None
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where HTTP mode listens (its request URL minus your proxy's public host)."""
        if self._http is None:
            raise RuntimeError("the HTTP server is not running")
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}{self._path}"

    def start(self) -> None:
        """Connect (Socket Mode) or start listening (HTTP); returns at once: threads do the work."""
        if self.mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(self.app, self._app_token)
            try:
                handler.connect()
            except SlackApiError as exc:
                handler.close()
                error = exc.response.get("error")
                raise AppSetupError(
                    f"Slack app: Socket Mode refused ({error}); check SLACK_APP_TOKEN and that "
                    "Socket Mode is enabled for the app"
                ) from None
            self._socket = handler
            log.info("Slack app connected over Socket Mode")
            return
        handler = _http_handler(self.app, self._path, self._signing_secret, self._read_timeout)
        self._http = _Server(self._address, handler)
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="slack-app-http",
            daemon=True,
        )
        self._thread.start()
        log.info("Slack app listening for Slack's requests on %s", self.url)

    def stop(self) -> None:
        if self._socket is not None:
            _close_socket_mode(self._socket)
            self._socket = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


def _close_socket_mode(handler: Any) -> None:
    """Close at once: slack_sdk's close waits for the reader's blocking recv (up to 3 s), so
    the socket is shut down first to wake it; no reconnect follows, since we are leaving."""
    client = handler.client
    client.auto_reconnect_enabled = False
    sock = getattr(client.current_session, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    handler.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line instead of socketserver's traceback on stderr: a client that misbehaves
        is not a bug to debug."""
        failure = sys.exc_info()[1]
        log.warning(
            "slack app http: a request from %s failed (%s)",
            client_address[0],
            type(failure).__name__ if failure else "unknown error",
        )


def signed(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """Slack's request signing, checked on the raw bytes before anything parses them:
    `v0=` + hex HMAC-SHA256(secret, b"v0:{timestamp}:" + body), timestamp within 5 minutes."""
    stamp = headers.get("X-Slack-Request-Timestamp") or ""
    given = headers.get("X-Slack-Signature") or ""
    if not _DIGITS.fullmatch(stamp) or abs(now - int(stamp)) > SIGNATURE_TOLERANCE:
        return False
    message = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode("latin-1", errors="replace"))


def _http_handler(
    app: App, path: str, secret: str, read_timeout: float
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        timeout = read_timeout  # a socket timeout: a client that stops sending is let go

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("slack app http: " + format, *args)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != path:
                self._refuse(404, "not found")
                return
            raw = self._body()
            if raw is None:
                return
            if not signed(secret, self.headers, raw, time.time()):
                self._reply(401, b"invalid request signature", {"Content-Type": ["text/plain"]})
                return
            headers: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key.lower(), []).append(value)
            try:
                request = BoltRequest(
                    body=raw.decode("utf-8", errors="replace"), query=parts.query, headers=headers
                )
            except ValueError:  # signed, yet `payload=` is not JSON: nothing Slack would send
                self._refuse(400, "malformed payload")
                return
            response = app.dispatch(request)
            self._reply(response.status, response.body.encode("utf-8"), response.headers)

        def _body(self) -> bytes | None:
            """The stated number of bytes, or None once a 4xx has been sent for anything else:
            no length that is not plain digits, nothing over MAX_BODY, no chunked bodies."""
            if self.headers.get("Transfer-Encoding"):
                self._refuse(411, "send a Content-Length")
                return None
            stated = (self.headers.get("Content-Length") or "0").strip()
            if not (stated.isascii() and stated.isdigit()):
                self._refuse(400, "bad Content-Length")
                return None
            length = int(stated) if len(stated) <= 9 else MAX_BODY + 1  # never int("9" * 5000)
            if length > MAX_BODY:
                self._refuse(413, "request too large")
                return None
            try:
                raw = self.rfile.read(length)
            except TimeoutError:
                self._refuse(408, "request timed out")
                return None
            if len(raw) < length:  # the client gave up half-way: nobody is left to answer
                self.close_connection = True
                return None
            return raw

        def _refuse(self, status: int, reason: str) -> None:
            """Answer and close: whatever is left of the request is never read."""
            self.close_connection = True
            headers = {"Content-Type": ["text/plain"], "Connection": ["close"]}
            self._reply(status, reason.encode(), headers)

        def _reply(self, status: int, payload: bytes, headers: Mapping[str, Any]) -> None:
            self.send_response(status)
            for key, values in headers.items():
                if key.lower() == "content-length":
                    continue
                for value in values if isinstance(values, list | tuple | set) else [values]:
                    self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def from_settings(
    store: Store,
    settings: SlackAppSettings,
    base_url: str | None,
    env: Mapping[str, str],
    routes: Sequence[Route] = (),
    saved_replies: Sequence[SavedReply] = (),
) -> SlackApp | None:
    """The app `listenpost run` starts, or None when its tokens are not set (alerts still go).

    Socket Mode starts when SLACK_APP_TOKEN is set; HTTP mode, chosen in settings, requires
    SLACK_SIGNING_SECRET (an unsigned endpoint would let anyone resolve cases).
    """
    bot_token = env.get("SLACK_BOT_TOKEN")
    app_token = env.get("SLACK_APP_TOKEN")
    secret = env.get("SLACK_SIGNING_SECRET")
    if settings.app_mode == "socket" and not app_token:
        return None
    if settings.app_mode == "http" and not secret:
        raise AppSetupError(
            'Slack app: alerts.slack.app_mode = "http" needs SLACK_SIGNING_SECRET '
            "(Basic Information > App Credentials > Signing Secret)"
        )
    if not bot_token:
        raise AppSetupError("Slack app: set SLACK_BOT_TOKEN (xoxb-...) too; the app posts with it")
    options: dict[str, Any] = {"token": bot_token, "timeout": 10}
    if base_url:
        options["base_url"] = base_url
    client = WebClient(**options)
    app = build_app(
        store,
        client,
        secret or "",
        routes=routes,
        saved_replies=saved_replies,
        permissions=settings.permissions,
    )
    return SlackApp(
        app,
        settings.app_mode,
        app_token=app_token,
        host=settings.http_host,
        port=settings.http_port,
        path=settings.http_path,
        signing_secret=secret or "",
    )


def start_for_run(
    store: Store,
    settings: SlackAppSettings,
    base_url: str | None,
    env: Mapping[str, str],
    routes: Sequence[Route] = (),
    saved_replies: Sequence[SavedReply] = (),
) -> SlackApp | None:
    """`listenpost run`'s app: started when configured. A setup problem is logged, not fatal:
    alerts still go out without it, and the log says what to fix."""
    try:
        served = from_settings(store, settings, base_url, env, routes, saved_replies)
        if served is not None:
            served.start()
    except AppSetupError as exc:
        log.error("%s; alerts are still posted, but their buttons will not answer", exc)
        return None
    if served is None:
        log.info("Slack buttons and /listenpost are off: set SLACK_APP_TOKEN to turn them on")
    return served
