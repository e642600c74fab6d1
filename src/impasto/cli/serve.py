"""``impasto serve``: the studio web app (:mod:`impasto.web`) on this computer.

Binds to loopback by default. Any other ``--host`` makes the studio reachable from other machines:
the command then warns and refuses to start without a token (``--token`` or ``IMPASTO_TOKEN``),
which every request must carry.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
from typing import Any

from ..errors import InputError
from .common import add_command

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def register(sub: Any) -> None:
    add_command(sub, "serve", run)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_workers() -> int:
    import torch

    return max(1, torch.cuda.device_count())


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..web.app import create_app
    except ImportError as err:
        raise InputError(
            f"the studio needs the web extra ({err.name} is missing): pip install 'impasto[web]'"
        ) from None
    token = args.token or os.environ.get("IMPASTO_TOKEN") or None
    if not is_loopback(args.host):
        print(
            f"impasto: warning: --host {args.host} makes the studio reachable from other machines; "
            "every request must carry the token",
            file=sys.stderr,
        )
        if not token:
            raise InputError(
                f"--host {args.host} needs a token: add --token {secrets.token_urlsafe(16)} (or set IMPASTO_TOKEN)"
            )
    if not 1 <= args.port <= 65535:
        raise InputError(f"--port must be between 1 and 65535; got {args.port}")
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise InputError(f"--workers must be at least 1; got {workers}")
    if args.queue_size < 1:
        raise InputError(f"--queue-size must be at least 1; got {args.queue_size}")
    from ..io.paths import check_folder_path

    check_folder_path(args.data, "--data")
    app = create_app(args.data, workers=workers, bound=args.queue_size, token=token)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/" + (f"?token={token}" if token else "")
    print(
        f"impasto studio: {url}  (data in {os.path.abspath(args.data)}, {workers} worker(s); Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
