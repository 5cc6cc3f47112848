"""The catalog's plan written back as a plan file (``cadang plan export``, the Export page).

Keys follow the plan's models (applications last, as people write the file; a source
starts with its type and name), values equal to their defaults are left out, and the
result loads back into an equal :class:`~cadang.plan.model.Plan`. Paths are absolute (the
loader made them so), and there are no secrets to leave out: the plan only names them.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from ruamel.yaml import YAML

from cadang.plan.model import Plan


def _application(app: Any) -> dict[str, Any]:
    data: dict[str, Any] = app.model_dump(mode="json", exclude_defaults=True)
    if app.verify is not None:
        # Only the keys given override the plan's: one equal to the default must stay.
        data["verify"] = app.verify.model_dump(mode="json", exclude_unset=True)
    sources = []
    for source in data.get("sources", []):
        head = {k: source[k] for k in ("type", "name") if k in source}
        sources.append(head | {k: v for k, v in source.items() if k not in head})
    data["sources"] = sources
    return data


def plan_export_data(plan: Plan) -> dict[str, Any]:
    """The plan as plain data in the file's order, defaults left out."""
    data: dict[str, Any] = plan.model_dump(mode="json", exclude_defaults=True)
    data.pop("applications", None)
    data["applications"] = [_application(a) for a in plan.applications]
    return data


def plan_yaml(plan: Plan, *, when: dt.datetime | None = None) -> str:
    """The plan file's text; ``when`` is stated in its first line."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold a long path or command onto a second line
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if when is not None:
        out.write(
            f"# Cadang plan exported from the server on {when.isoformat(timespec='seconds')}\n"
        )
    yaml.dump(plan_export_data(plan), out)
    return out.getvalue()
