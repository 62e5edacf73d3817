"""Checks of the configuration's images and `artifacts:` block (pure, on merged data).

- every `services[].image` parses as an image repository (`bot.config.imageref`), reported
  at its value with FILE:LINE:COL;
- `artifacts.pin`, as a mapping, names known services (or `default`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from bot.config.imageref import BadReference, parse_image
from bot.config.schemas import load_schema

if TYPE_CHECKING:
    from bot.config.checks import Checker


@cache
def _schema_image() -> re.Pattern[str]:
    service = load_schema("config.schema.json")["$defs"]["service"]
    return re.compile(service["properties"]["image"]["pattern"])


def check_images(checker: Checker) -> None:
    for path, service in checker.items("services"):
        image = service.get("image")
        if not isinstance(image, str) or not _schema_image().search(image):
            continue  # the schema's message says it already
        try:
            parse_image(image, allow_tag=False)
        except BadReference as exc:
            checker.error((*path, "image"), f"image {image!r} is not an image repository: {exc}")


def check_artifacts(checker: Checker) -> None:
    block = checker.data.get("artifacts")
    pin = block.get("pin") if isinstance(block, dict) else None
    if not isinstance(pin, dict):
        return
    known = {s.get("name") for _, s in checker.items("services")}
    for name in pin:
        if name != "default" and name not in known:
            names = ", ".join(sorted(str(n) for n in known if isinstance(n, str))) or "none"
            checker.error(("artifacts", "pin", name),
                          f"artifacts.pin: {name!r} is not a service (services: {names})",
                          value=False)  # fmt: skip
