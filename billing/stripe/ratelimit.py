"""A token bucket per Stripe endpoint, shared by every process through Redis (or in-process without it).

Stripe allows 25 requests/s per endpoint in test mode (100/s in live mode overall). Every
web process and Celery worker draws from the same bucket, so together they stay under it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

# KEYS[1] = bucket; ARGV = rate per second, capacity, now (ms). Returns ms to wait (0 = go).
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000.0)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000.0 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""


class RateLimiter:
    def acquire(self, endpoint: str) -> float:
        """Block until a request to `endpoint` may go; return the seconds waited."""
        waited = 0.0
        while True:
            wait_ms = self._take(endpoint)
            if wait_ms <= 0:
                return waited
            time.sleep(wait_ms / 1000)
            waited += wait_ms / 1000

    def _take(self, endpoint: str) -> int:
        raise NotImplementedError


class RedisRateLimiter(RateLimiter):
    def __init__(self, redis_url: str, *, rate: float, capacity: float | None = None, prefix: str = "stripe:rl:"):
        import redis

        self.rate = rate
        self.capacity = capacity or rate
        self.prefix = prefix
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
        self._script = self._redis.register_script(_TAKE)

    def _take(self, endpoint: str) -> int:
        now_ms = int(time.time() * 1000)
        return int(self._script(keys=[self.prefix + endpoint], args=[self.rate, self.capacity, now_ms]))


@dataclass
class _Bucket:
    tokens: float
    ts: float


@dataclass
class LocalRateLimiter(RateLimiter):
    """The same bucket for one process: used when no Redis is configured (the embedded default)."""

    rate: float
    capacity: float | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self, endpoint: str) -> int:
        capacity = self.capacity or self.rate
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(endpoint, _Bucket(tokens=capacity, ts=now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.ts) * self.rate)
            bucket.ts = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0
            return max(1, int((1 - bucket.tokens) * 1000 / self.rate) + 1)
