"""``mesa-report faithfulness``: deletion test, pointing game and sanity check, a table per method.

With no data options it runs the demo checkpoint on the demo cohort's held-out nights (split
``test`` and ``val``), whose planted events make the pointing game possible. On other stores the
pointing game is left out unless the store holds ``mesa-sleep-NNNN_events.csv`` files.
"""

from __future__ import annotations

import argparse

from mesa_report.cli.sources import add_data_arguments, resolve_sources


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mesa_report.explain.methods import METHODS

    add_data_arguments(parser)
    parser.add_argument("--subject", "--subjects", dest="subjects", action="append", default=None, metavar="ID",
                        help="night to test (repeatable; default: the index's test and val nights, else all)")
    parser.add_argument("--method", "--methods", dest="methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="explanation methods to test (default: all)")
    parser.add_argument("--samples_per_night", "--samples-per-night", type=int, default=4,
                        help="samples drawn from each night (default: 4)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sample choice and the random baselines")


def _held_out(store) -> list[int]:
    index = store.index
    if "split" in index.columns:
        held = [int(m) for m, s in zip(index["mesaid"], index["split"].astype(str)) if s in ("test", "val")]
        held = [m for m in held if m in store.mesaids]
        if held:
            return held
    return list(store.mesaids)


def run(args: argparse.Namespace) -> int:
    from mesa_report.data.night_ids import parse_record_id
    from mesa_report.data.store import NightStore
    from mesa_report.demo import events_filename, load_events
    from mesa_report.explain.faithfulness import collect_samples, faithfulness_table, format_table, stored_maps
    from mesa_report.inference.service import ResultsService
    from mesa_report.model.loaded import open_checkpoint

    sources = resolve_sources(args)
    loaded = open_checkpoint(sources.checkpoint, device=args.device)
    model = loaded.model
    store = NightStore(sources.preprocessed_dir, sources.csv_path)
    mesaids = [parse_record_id(s) for s in args.subjects] if args.subjects else _held_out(store)
    samples = collect_samples(store, mesaids, model.config.seq_len, model.config.num_channels,
                              per_night=args.samples_per_night, seed=args.seed)
    service = ResultsService()  # the nights' maps, inferred once for every output
    results = {m: service.night(loaded, store.night(m)) for m in dict.fromkeys(samples.mesaids)}
    with_events = all((store.root / events_filename(m)).is_file() for m in mesaids)
    rows = faithfulness_table(
        model, samples, methods=args.methods, seed=args.seed, maps=stored_maps(samples, results),
        events_of=(lambda m: load_events(store.root, m)) if with_events else None,
        channel_names=store.night(mesaids[0]).channel_names[: model.config.num_channels],
    )
    print(f"checkpoint: {sources.checkpoint}  nights: {', '.join(map(str, mesaids))}  "
          f"samples: {samples.features.shape[0]}")
    print(format_table(rows))
    if not with_events:
        print("(no planted-event files in this store: pointing game left out)")
    return 0
