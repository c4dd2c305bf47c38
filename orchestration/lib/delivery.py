"""Deliveries on disk: finding them under ``landing/``, and reading and writing their manifests.

A delivery is the folder ``<landing>/<system>/<YYYY-MM>/v<N>/``; its ``manifest.json`` lists each file with
its table, row count (data lines, header excluded), size in bytes and SHA-256. The manifest is written last,
so a folder without one is a delivery still being copied and is left alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.contract import MANIFEST_NAME, MONTH_RE, SYSTEMS, VERSION_RE

HASH_CHUNK = 8 * 1024 * 1024


class DeliveryError(Exception):
    """A delivery that breaks the contract; the message names the file and the cause."""


@dataclass(frozen=True)
class ManifestFile:
    table: str  # entity name, e.g. "young_people"
    name: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Delivery:
    system: str
    month: str  # YYYY-MM
    version: int
    folder: Path

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    def manifest(self) -> dict:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DeliveryError(f"{self.manifest_path}: manifest missing") from exc
        except json.JSONDecodeError as exc:
            raise DeliveryError(f"{self.manifest_path}: manifest is not valid JSON ({exc})") from exc

    def files(self) -> dict[str, ManifestFile]:
        manifest = self.manifest()
        for key, expected in (("system", self.system), ("month", self.month), ("version", self.version)):
            if manifest.get(key) != expected:
                raise DeliveryError(
                    f"{self.manifest_path}: manifest says {key}={manifest.get(key)!r}, folder says {expected!r}"
                )
        return {f["table"]: ManifestFile(**f) for f in manifest["files"]}

    @property
    def is_synthetic(self) -> bool:
        return bool(self.manifest().get("synthetic", False))

    @property
    def checksum(self) -> str:
        """Identity of the delivery's content: the SHA-256 of its manifest (which pins every file's hash)."""
        return file_sha256(self.manifest_path)

    @property
    def label(self) -> str:
        return f"{self.system}/{self.month}/v{self.version}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def count_data_lines(path: Path) -> int:
    """Lines after the header; a last line without a newline still counts."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def write_manifest(folder: Path, system: str, month: str, version: int, files: dict[str, Path], **extra) -> Path:
    """Write ``manifest.json`` for the table files in `folder` (entity -> path). Written last, atomically."""
    entries = []
    for entity, path in sorted(files.items()):
        entries.append(
            {
                "table": entity,
                "name": path.name,
                "rows": count_data_lines(path),
                "bytes": path.stat().st_size,
                "sha256": file_sha256(path),
            }
        )
    manifest = {
        "system": system,
        "month": month,
        "version": version,
        "encoding": SYSTEMS[system].encoding,
        "files": entries,
        **extra,
    }
    target = folder / MANIFEST_NAME
    tmp = folder / f".{MANIFEST_NAME}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def find_deliveries(landing: Path, system: str | None = None, month: str | None = None) -> list[Delivery]:
    """Every complete delivery (a manifest is present) under `landing`, in (system, month, version) order."""
    found: list[Delivery] = []
    systems = [system] if system else sorted(SYSTEMS)
    for sys_name in systems:
        sys_dir = landing / sys_name
        if not sys_dir.is_dir():
            continue
        months = [sys_dir / month] if month else sorted(sys_dir.iterdir())
        for month_dir in months:
            if not month_dir.is_dir() or not MONTH_RE.match(month_dir.name):
                continue
            for version_dir in sorted(month_dir.iterdir()):
                m = VERSION_RE.match(version_dir.name)
                if m and (version_dir / MANIFEST_NAME).is_file():
                    found.append(Delivery(sys_name, month_dir.name, int(m.group(1)), version_dir))
    return sorted(found, key=lambda d: (d.system, d.month, d.version))


def latest_delivery(landing: Path, system: str, month: str) -> Delivery | None:
    versions = find_deliveries(landing, system, month)
    return versions[-1] if versions else None
