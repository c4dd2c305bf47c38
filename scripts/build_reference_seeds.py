"""Rebuild the reference seeds from the public source files (run by hand when the sources change).

Sources (MIT-licensed SocialGouv/pass-emploi-api, commit 551432d, and INSEE region codes), as laid out in
the project's shared reference folder:
- missions_locales_2023.json -> seeds/ref_missions_locales.csv
- departements_regions.csv   -> seeds/ref_departements.csv

Usage: python scripts/build_reference_seeds.py ../shared/domain/reference
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def build(reference: Path) -> None:
    regions = {}
    with (reference / "departements_regions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (SEEDS / "ref_departements.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            regions[row["code_departement"]] = row["code_region_2016"]

    structures = json.loads((reference / "missions_locales_2023.json").read_text(encoding="utf-8"))
    fields = ["code_ml", "nom_ml", "code_departement", "code_region_2016", "is_placeholder", "note"]
    with (SEEDS / "ref_missions_locales.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for s in sorted(structures, key=lambda s: s["id"]):
            code, dep, notes = s["id"], s["code_departement"], []
            if not dep:
                # The source leaves it empty; the code starts with the head office's INSEE commune code.
                dep = code[:2]
                notes.append("département absent de la source, déduit du code commune INSEE")
            if dep not in regions:
                notes.append("collectivité hors liste des départements : région inconnue")
            placeholder = code.startswith("9999")
            if placeholder:
                notes.append("code provisoire (fusion de missions locales)")
            writer.writerow(
                {
                    "code_ml": code,
                    "nom_ml": (s["nom_usuel"] or s["nom_officiel"]).strip(),
                    "code_departement": dep,
                    "code_region_2016": regions.get(dep, ""),
                    "is_placeholder": str(placeholder).lower(),
                    "note": "; ".join(notes),
                }
            )


if __name__ == "__main__":
    build(Path(sys.argv[1]))
