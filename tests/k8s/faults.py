"""Seeded faults: a copy of the checked files, broken on purpose, shows that
a check notices what it claims to notice."""

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

import tilt
from repo import CHECKED_PATHS, ROOT, Repo


class Broken:
    """A copy of the checked files; `edit` breaks one of them."""

    def __init__(self, root: Path):
        self.root = root
        for relative in CHECKED_PATHS:
            source, target = ROOT / relative, root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)

    def edit(self, relative: str, old: str, new: str) -> "Broken":
        """Replaces `old`, which must be in the file exactly once, with `new`."""
        path = self.root / relative
        text = path.read_text()
        count = text.count(old)
        assert count == 1, f"{relative} contains {old!r} {count} times, not once: update this seed"
        path.write_text(text.replace(old, new))
        return self

    def edit_docs(self, relative: str, change: Callable[[list[dict]], None]) -> "Broken":
        """Rewrites a YAML file after `change` has altered its documents in
        place; for files whose exact text may move under the seed (comments
        are lost, which the checks do not read)."""
        path = self.root / relative
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        change(docs)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return self

    @property
    def repo(self) -> Repo:
        # A fresh Repo each time: its cached views must see the edits.
        return Repo(self.root)

    def tilt_run(self) -> tilt.TiltRun:
        return tilt.evaluate(self.root / "Tiltfile")


def assert_reports(problems: list[str], *fragments: str) -> None:
    """The check failed, and some problem mentions every fragment."""
    assert problems, "the check passed on a broken copy"
    text = "\n".join(problems)
    for fragment in fragments:
        assert fragment in text, f"no problem mentions {fragment!r}:\n{text}"
