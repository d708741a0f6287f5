"""Each organisation's ingestion rate: a token bucket of events per second, shared by every web
process through Redis (in-process without it). A batch takes as many tokens as it has events; when
the bucket is short, the answer is 429 with the seconds until it would not be."""

from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache

from django.conf import settings

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV rate, capacity, now (ms), wanted. Returns ms to wait (0: taken).
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000.0)
local wait = 0
if tokens >= wanted then
  tokens = tokens - wanted
else
  wait = math.ceil((wanted - tokens) * 1000.0 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""


class _Local:
    def __init__(self):
        self.buckets: dict[int, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, org_id: int, wanted: int, rate: float, capacity: float) -> float:
        now = time.monotonic()
        with self.lock:
            tokens, ts = self.buckets.get(org_id, (capacity, now))
            tokens = min(capacity, tokens + (now - ts) * rate)
            if tokens >= wanted:
                self.buckets[org_id] = (tokens - wanted, now)
                return 0.0
            self.buckets[org_id] = (tokens, now)
            return (wanted - tokens) / rate


@lru_cache(maxsize=1)
def _redis_script(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2).register_script(_TAKE)


_local = _Local()
PREFIX = "usage:rl:"


def take(org_id: int, events: int) -> int:
    """0 when the organisation may send `events` now, else the whole seconds to wait (Retry-After)."""
    rate = settings.USAGE_RATE_PER_ORG
    capacity = max(rate * settings.USAGE_RATE_BURST_SECONDS, settings.USAGE_MAX_BATCH_EVENTS)
    if settings.REDIS_URL:
        import redis

        script = _redis_script(settings.REDIS_URL)
        now_ms = int(time.time() * 1000)
        try:
            wait = int(script(keys=[f"{PREFIX}{org_id}"], args=[rate, capacity, now_ms, events])) / 1000
        except redis.RedisError:
            # The limit protects the database; losing usage because Redis blinked would be worse.
            log.warning("usage rate limiter unavailable; batch of organisation %s let through", org_id)
            wait = _local.take(org_id, events, rate, capacity)
    else:
        wait = _local.take(org_id, events, rate, capacity)
    return math.ceil(wait) if wait > 0 else 0


def reset() -> None:
    """Forget every bucket (tests)."""
    _local.buckets.clear()
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{PREFIX}*"):
            client.delete(key)
