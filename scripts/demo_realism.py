"""Print how much the demo generator's nights look like real sleep EEG (issue 20).

Per stage: band shares (0.5-4, 4-8, 8-12, 11-16, 16-30 Hz as shares of 0.5-30 Hz power), median
SD in µV, spectral peak 2-30 Hz and aperiodic exponent of generated nights, beside the real
references (expert-scored recordings, issue 20) and what the same code measures on the real
snippets in ../shared/realdata/; then spindles and the SD after per-night robust scaling.
Exits 1 when a band share is further than 0.08 from the real one.

    python scripts/demo_realism.py [--nights 8] [--hours 4] [--channel EEG3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _markdown(frame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    lines = [header, "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=8, help="nights 1..N of the default demo cohort")
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--channel", default="EEG3")
    parser.add_argument("--realdata", type=Path, default=REPO_ROOT.parent / "shared" / "realdata")
    args = parser.parse_args()

    import pandas as pd

    from mesa_report.demo import realism
    from mesa_report.demo.generate import GENERATOR_VERSION, generate_night

    nights = [generate_night(mesaid, hours=args.hours) for mesaid in range(1, args.nights + 1)]
    table = realism.stage_table(nights, args.channel).assign(source=f"demo v{GENERATOR_VERSION}")
    real = [{"stage": stage, "source": "real (issue 20)", **dict(zip(realism.BAND_LABELS, shares)),
             "sd_uv": sd, "peak_hz": "none"} for stage, (shares, sd) in realism.REAL_STAGE_SHARES.items()]
    snippets = [{"stage": stage, "source": source, **realism.snippet_summary(samples, rate)}
                for source, stage, samples, rate in realism.real_snippets(args.realdata)]
    rows = pd.concat([table, pd.DataFrame(real), pd.DataFrame(snippets)], ignore_index=True)
    order = {name: k for k, name in enumerate(("W", "N1", "N2", "N3", "N4", "REM"))}
    rows = rows.sort_values("stage", key=lambda s: s.map(order), kind="stable")
    columns = ["stage", "source", "epochs", *realism.BAND_LABELS, "sd_uv", "peak_hz", "exponent"]
    print(f"## Spectra per stage ({args.channel}, {len(nights)} nights of {args.hours:g} h)\n")
    rows["epochs"] = rows["epochs"].astype("Int64")
    print(_markdown(rows[columns].astype(object).fillna("–")))

    print("\n## Spindles in N2 (10-16 Hz peak to peak, frequency, contrast to the epoch, per minute)\n")
    spindles = realism.spindle_summary(nights, args.channel)
    for name, row in spindles.items():
        print(f"- demo, {name}: {row}")
    print(f"- real (issue 20): {realism.REAL_SPINDLES}")
    for source, stage, samples, rate in realism.real_snippets(args.realdata):
        if stage == "N2":
            found = realism.spindle_measures(samples, rate, realism.detect_spindles(samples, rate))
            print(f"- {source}, detected: {len(found)} in {len(samples) / rate:g} s, "
                  f"{found.median().round(2).to_dict()}")

    print("\n## Median epoch SD after per-night robust scaling (SD / IQR)\n")
    print(f"- demo: {realism.scaled_sd_by_stage(nights, args.channel)}")
    print(f"- real (issue 20): {realism.REAL_SCALED_SD}")

    misses = realism.share_misses(table)
    verdict = "yes" if not misses else "NO"
    print(f"\nband shares within ±{realism.SHARE_TOLERANCE:.2f} of the real rows: {verdict}")
    for miss in misses:
        print(f"  {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
