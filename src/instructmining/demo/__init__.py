"""The embedded default: a config and the bundled real data it runs on."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from instructmining.errors import UserError


def demo_data(name: str | None = None) -> Path:
    """The package's bundled data file `name` (or, without a name, its folder): real samples
    (Dolly, OASST1, OpenOrca, StackExchange, SELF-INSTRUCT, MT-Bench) that an example or a test
    can read wherever the package is installed, with no repository checkout."""
    folder = Path(str(resources.files("instructmining.demo") / "data"))
    if name is None:
        return folder
    path = folder / name
    if not path.is_file():
        known = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.gz"))
        raise UserError(f"no bundled data file {name!r} (bundled: {', '.join(known)})")
    return path
