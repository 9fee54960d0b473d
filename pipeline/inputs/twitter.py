"""twitter input: tweets from the Twitter (X) streaming API v1.1, as Logstash's logstash-input-twitter reads them.

``statuses/filter.json`` (POST: track, follow, locations, language) or ``statuses/sample.json``
(GET), signed with OAuth 1.0a (oauthlib); screen names in ``follows`` are turned into user ids
through ``users/show.json``. The stream is newline-delimited JSON: objects with an ``id`` are
tweets, everything else (deletes, limits, keep-alive lines) is skipped.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import requests
from oauthlib.oauth1 import Client as OAuthClient

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.inputs._common import ecs_mode, ecs_option, push_until_accepted
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Secret, option, register
from pipeline.timestamp import Timestamp

_ERROR_BACKOFF_MAX = 60.0  # Logstash retries at once; a pause keeps a broken setup from spinning


@dataclass(frozen=True, kw_only=True)
class TwitterOptions(InputOptions):
    consumer_key: str = option(doc="The Twitter app's consumer (API) key.")
    consumer_secret: Secret = option(doc="The Twitter app's consumer secret.")
    oauth_token: str = option(doc="The access token of the account the app reads as.")
    oauth_token_secret: Secret = option(doc="The secret of oauth_token.")
    keywords: list[str] | None = option(None, "Phrases to track (OR between them, AND between words of one).")
    follows: list[str] | None = option(None, "Users whose tweets to return: ids, or screen names (looked up).")
    locations: str | None = option(None, "Bounding boxes: comma-separated longitude,latitude pairs (SW then NE).")
    languages: list[str] | None = option(None, "Only tweets detected in these BCP 47 languages.")
    use_samples: bool = option(False, "Read the sample stream instead (keywords, follows, locations, languages "
                                      "are then ignored).")
    full_tweet: bool = option(False, "Keep the whole tweet object as the API gives it.")
    ignore_retweets: bool = option(False, "Skip retweets.")
    use_proxy: bool = option(False, "Connect through the HTTP proxy proxy_address:proxy_port.")
    proxy_address: str = option("127.0.0.1", "The proxy's host.")
    proxy_port: int = option(3128, "The proxy's port.")
    rate_limit_reset_in: int = option(300, "Seconds to wait after a 429 answer without an x-rate-limit-reset header.")
    target: str | None = option(None, "Put the tweet's fields under this field instead of the root.")
    stream_url: str = option("https://stream.twitter.com/1.1", "Base URL of the streaming API (not in Logstash: "
                                                               "for a compatible service or a test double).")
    api_url: str = option("https://api.twitter.com/1.1", "Base URL of the REST API (screen name lookups; not in "
                                                         "Logstash).")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


@register
class Twitter(Input):
    """Streams tweets matching keywords, users or places (or a sample) from the Twitter API v1.1.

    Each tweet gives ``message`` (full text), ``user``, ``client``, ``retweeted``, ``source`` (its
    URL), ``hashtags``, ``symbols``, ``user_mentions``, ``in-reply-to`` and ``urls`` (or the whole
    object with ``full_tweet``), with ``@timestamp`` from ``created_at``. A 429 answer waits
    until the rate limit resets; other errors are logged and the stream reconnects.
    """

    name = "twitter"
    Options = TwitterOptions

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        if not options.use_samples and options.keywords is None and options.follows is None \
                and options.locations is None:
            raise ConfigError("At least one parameter (follows, locations or keywords) must be specified.")
        self._target = fieldref.parse(options.target) if options.target else None
        self._oauth = OAuthClient(options.consumer_key, client_secret=options.consumer_secret.reveal(),
                                  resource_owner_key=options.oauth_token,
                                  resource_owner_secret=options.oauth_token_secret.reveal())
        proxy = f"http://{options.proxy_address}:{options.proxy_port}"
        self._proxies = {"http": proxy, "https": proxy} if options.use_proxy else None
        self._response: requests.Response | None = None
        self.event_errors = 0
        self.skipped_lines = 0

    def register(self) -> None:
        if self._target is None and ecs_mode(self) != "disabled":
            self.logger.info("twitter input %s: ECS compatibility is enabled but `target` option was not "
                             "specified; tweet fields go to the root of the event", self.id)
        self._session = requests.Session()

    # -- requests -----------------------------------------------------------------
    def _request(self, method: str, url: str, form: dict[str, str] | None = None,
                 stream: bool = False) -> requests.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        body = urllib.parse.urlencode(form) if form is not None else None
        signed_url, signed_headers, _ = self._oauth.sign(url, http_method=method, body=body, headers=headers)
        return self._session.request(method, signed_url, data=body, headers=signed_headers, stream=stream,
                                     proxies=self._proxies, timeout=(10, 90))  # the stream sends a keep-alive every 30s

    def filter_options(self) -> dict[str, str]:
        """The statuses/filter parameters (screen names in follows looked up once)."""
        opts = self.options
        params: dict[str, str] = {}
        if opts.keywords:
            params["track"] = ",".join(opts.keywords)
        if opts.locations:
            params["locations"] = opts.locations
        if opts.languages:
            params["language"] = ",".join(opts.languages)
        if opts.follows:
            params["follow"] = ",".join(name if name.isdigit() else str(self._user_id(name)) for name in opts.follows)
        return params

    def _user_id(self, screen_name: str) -> int:
        response = self._request("GET", f"{self.options.api_url}/users/show.json?"
                                 + urllib.parse.urlencode({"screen_name": screen_name}))
        if response.status_code != 200:
            raise TwitterError(response.status_code, f"looking up user {screen_name!r}: {_reason(response)}",
                               response)
        return int(response.json()["id"])

    # -- the stream ---------------------------------------------------------------
    async def run(self, ctx: InputContext) -> None:
        await ctx.run_blocking(self._stream_forever, ctx)

    def _stream_forever(self, ctx: InputContext) -> None:
        failures = 0
        while not ctx.is_stopping:
            try:
                received = self._stream_once(ctx)
                if ctx.is_stopping:
                    return
                failures = 1 if received else failures + 1  # the server closed the stream: reconnect, not in a tight loop
                wait = min(_ERROR_BACKOFF_MAX, 0.25 * 2.0 ** failures)
                self.logger.info("twitter input %s: stream ended; reconnecting in %.1fs", self.id, wait)
                if ctx.stopping.wait(wait):
                    return
            except TwitterError as exc:
                if exc.status in (420, 429):
                    reset_in = exc.reset_in()
                    wait = self.options.rate_limit_reset_in if reset_in is None else reset_in
                    self.logger.warning("twitter input %s: too many requests (%d), waiting %.0fs", self.id,
                                        exc.status, wait)
                else:
                    failures += 1
                    wait = min(_ERROR_BACKOFF_MAX, 2.0 ** failures)
                    self.logger.warning("twitter input %s: %s; reconnecting in %.0fs", self.id, exc, wait)
                if ctx.stopping.wait(wait):
                    return
            except (requests.RequestException, OSError, ValueError) as exc:
                if ctx.is_stopping:
                    return
                failures += 1
                wait = min(_ERROR_BACKOFF_MAX, 2.0 ** failures)
                self.logger.warning("twitter input %s: client error %s: %s; reconnecting in %.0fs", self.id,
                                    type(exc).__name__, exc, wait)
                if ctx.stopping.wait(wait):
                    return

    def _stream_once(self, ctx: InputContext) -> int:
        """Read one connection of the stream until it ends; how many events it gave."""
        if self.options.use_samples:
            response = self._request("GET", f"{self.options.stream_url}/statuses/sample.json", stream=True)
        else:
            response = self._request("POST", f"{self.options.stream_url}/statuses/filter.json",
                                     form=self.filter_options(), stream=True)
        if response.status_code != 200:
            raise TwitterError(response.status_code, f"stream refused: {_reason(response)}", response)
        self._response = response
        received = 0
        self.logger.info("twitter input %s: tracking %s", self.id,
                         "the sample stream" if self.options.use_samples else "statuses/filter")
        with response:
            for line in response.iter_lines(chunk_size=None):  # the API sends chunks: yield each as it comes
                if ctx.is_stopping:
                    break
                event = self._event_from_line(line)
                if event is None:
                    continue
                if not push_until_accepted(ctx, [event], self.logger):
                    break
                received += 1
        return received

    def _event_from_line(self, line: bytes) -> Event | None:
        if not line.strip():
            return None  # keep-alive
        try:
            message = json.loads(line)
        except ValueError:
            self.skipped_lines += 1  # Logstash skips unparsable lines too; counted, logged at debug
            self.logger.debug("twitter input %s: not JSON, skipped: %.200r", self.id, line)
            return None
        if not isinstance(message, dict) or message.get("id") is None:
            return None  # delete notices, limit notices, stall warnings
        if self.options.ignore_retweets and message.get("retweeted_status"):
            return None
        try:
            return self.event_from_tweet(message)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.event_errors += 1
            self.logger.error("twitter input %s: event generation error %s: %s; tweet id %s", self.id,
                              type(exc).__name__, exc, message.get("id"))
            return None

    def event_from_tweet(self, tweet: dict[str, Any]) -> Event:
        """One event from a tweet object, in Logstash's layout."""
        if self.options.full_tweet:
            fields = tweet
        else:
            user = tweet["user"]["screen_name"]
            entities = tweet.get("entities") or {}
            fields = {
                "message": _full_text(tweet),
                "user": user,
                "client": tweet.get("source"),
                "retweeted": bool(tweet.get("retweeted")),
                "source": f"http://twitter.com/{user}/status/{tweet['id']}",
                "hashtags": entities.get("hashtags", []),
                "symbols": entities.get("symbols", []),
                "user_mentions": entities.get("user_mentions", []),
            }
            if tweet.get("in_reply_to_status_id") is not None:
                fields["in-reply-to"] = tweet["in_reply_to_status_id"]
            urls = [u.get("expanded_url") for u in entities.get("urls", [])]
            if urls:
                fields["urls"] = urls
        stamp = Timestamp.from_datetime(datetime.strptime(tweet["created_at"], "%a %b %d %H:%M:%S %z %Y"))
        if self._target is None:
            event = Event(dict(fields))
        else:
            event = Event()
            self._target.set(event.data, fields)
        event.timestamp = stamp
        return event

    def stop(self) -> None:
        response = self._response
        if response is None:
            return
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading the stream
            except OSError:
                pass
        response.close()


class TwitterError(Exception):
    """The API answered with an error status."""

    def __init__(self, status: int, message: str, response: requests.Response) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.headers = response.headers

    def reset_in(self) -> float | None:
        """Seconds until the rate limit resets (x-rate-limit-reset is a Unix time), when the API says."""
        reset = self.headers.get("x-rate-limit-reset")
        try:
            return max(0.0, float(reset) - time.time()) if reset is not None else None
        except ValueError:
            return None


def _full_text(tweet: dict[str, Any]) -> str:
    """The untruncated text; a retweet's is 'RT @user: ' and the original's full text (as the twitter gem)."""
    def text_of(status: dict[str, Any]) -> str:
        extended = status.get("extended_tweet") or {}
        return str(extended.get("full_text") or status.get("full_text") or status.get("text") or "")

    text = text_of(tweet)
    original = tweet.get("retweeted_status")
    if isinstance(original, dict) and text.startswith("RT @") and ": " in text:
        return text[:text.index(": ") + 2] + text_of(original)
    return text


def _reason(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors")
        if errors:
            return "; ".join(str(e.get("message", e)) for e in errors)
    except (ValueError, AttributeError):
        pass
    return response.text[:200] or response.reason
