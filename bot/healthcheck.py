"""`python -m bot.healthcheck`: the container HEALTHCHECK, for either role of the image.

- A generator replica (`python -m generators`): `TUNESMITH_HEALTH_URL` names its `/healthz`
  (e.g. http://127.0.0.1:8080/healthz); healthy while it answers 200 (every worker warm).
- The bot (`python -m bot`): healthy while its heartbeat file is fresh. The bot touches
  `<TUNESMITH_DATA_DIR>/bot.heartbeat` every 20 s while it is connected to Discord and ready, so
  a bot that lost the gateway for good, or hangs, goes unhealthy within `STALE_S`.

Exit status 0 healthy, 1 not (Docker's convention), with one line saying why.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HEARTBEAT_FILE = "bot.heartbeat"
HEARTBEAT_EVERY_S = 20.0
STALE_S = 90.0


def check(environ: dict[str, str] | None = None, now: float | None = None) -> tuple[bool, str]:
    values = dict(os.environ if environ is None else environ)
    url = values.get("TUNESMITH_HEALTH_URL", "").strip()
    if url:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status == 200, f"{url}: HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            return False, f"{url}: HTTP {error.code}"
        except OSError as error:
            return False, f"{url}: {error}"
    heartbeat = Path(values.get("TUNESMITH_DATA_DIR") or "data") / HEARTBEAT_FILE
    try:
        age = (time.time() if now is None else now) - heartbeat.stat().st_mtime
    except OSError:
        return False, f"no heartbeat at {heartbeat} yet (the bot is starting or not connected)"
    if age > STALE_S:
        return False, f"the bot's last heartbeat is {age:.0f} s old (over {STALE_S:.0f} s)"
    return True, f"heartbeat {age:.0f} s ago"


def main() -> int:
    healthy, why = check()
    print(("healthy: " if healthy else "unhealthy: ") + why)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
