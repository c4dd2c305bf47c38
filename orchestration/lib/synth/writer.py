"""Write one delivery folder: the four table files of a system and month, then its manifest, last."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from orchestration.lib.contract import ENTITIES, SYSTEMS
from orchestration.lib.delivery import write_manifest
from orchestration.lib.synth.config import Faults
from orchestration.lib.synth.faults import render
from orchestration.lib.synth.timeutil import month_str

# RFC 4180 line ends (CRLF) in both systems, as the contract's test factory writes them.
EOL = {"parcours3": "\r\n", "imilo": "\r\n"}


class Writer:
    def __init__(self, out: Path, faults: Faults, rng: np.random.Generator, seed: int, scale: float):
        self.out, self.faults, self.rng, self.seed, self.scale = Path(out), faults, rng, seed, scale
        self.planted: list[dict] = []
        self.unknown_counter = [0]

    def folder(self, system: str, mi: int, version: int) -> Path:
        return self.out / system / month_str(mi) / f"v{version}"

    def write(
        self,
        system: str,
        mi: int,
        frames: dict[str, pl.DataFrame],
        version: int = 1,
        plant: bool = True,
        extra_planted: dict[str, list[tuple[int, str]]] | None = None,
    ) -> dict[str, Path]:
        sysdef = SYSTEMS[system]
        folder = self.folder(system, mi, version)
        folder.mkdir(parents=True, exist_ok=True)
        month = month_str(mi)
        files: dict[str, Path] = {}
        for entity in ENTITIES:
            table = sysdef.tables[entity]
            df = frames[entity]
            faults = self.faults if plant else Faults.none()
            data, planted = render(
                df,
                table.header,
                sysdef.delimiter,
                EOL[system],
                sysdef.encoding,
                self.rng,
                faults,
                entity,
                system,
                self.unknown_counter,
            )
            path = folder / table.file_name(month)
            path.write_bytes(data)
            files[entity] = path
            rel = path.relative_to(self.out).as_posix()
            for line, kind in planted + (extra_planted or {}).get(entity, []):
                self.planted.append({"file": rel, "line": line, "kind": kind})
        write_manifest(
            folder,
            system,
            month,
            version,
            files,
            synthetic=True,
            producer="milo synth",
            seed=self.seed,
            scale=self.scale,
        )
        return files
