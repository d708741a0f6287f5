import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from . import API_VERSION
from .app import serve
from .core import State


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_sandbox", description="A local Stripe on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state-file", default=None, help="Keep state in this file (default: memory only)")
    parser.add_argument("--api-version", default=os.environ.get("STRIPE_SANDBOX_API_VERSION", API_VERSION))
    parser.add_argument("--webhook-retry-base", type=float, default=1.0, help="Seconds before the first redelivery")
    parser.add_argument("--webhook-attempts", type=int, default=6)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s stripe_sandbox %(levelname)s %(message)s")
    path = Path(args.state_file) if args.state_file else None
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
    state = State(args.api_version, path)

    loop = asyncio.new_event_loop()
    task = loop.create_task(
        serve(state, "127.0.0.1", args.port, retry_base=args.webhook_retry_base, max_attempts=args.webhook_attempts)
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()


if __name__ == "__main__":
    main()
