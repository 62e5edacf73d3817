"""The dashboard's Jinja2 environment: templates under ``templates/`` (package data),
autoescaping on for every template, undefined names an error. Data goes in as plain
values and is escaped by Jinja2; only SVG the chart templates rendered (already escaped)
is passed on as `Markup`."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("bot.insights", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(template: str, **context: Any) -> Markup:
    """`template` rendered with `context`, as markup safe to embed in another template."""
    return Markup(environment().get_template(template).render(**context))
