"""python3 -m model.train <command> --help"""
from __future__ import annotations

import argparse
import json
import os
import sys

import yaml


def _sets(items) -> dict:
    """--set KEY=VALUE items -> {key: YAML value}; keys must be training hyper-parameters."""
    from .config import TRAINING_DEFAULTS, ConfigError
    out = {}
    for kv in items or []:
        k, sep, v = kv.partition("=")
        if not sep or k not in TRAINING_DEFAULTS:
            raise ConfigError(f"--set {kv}: expected KEY=VALUE with KEY one of {', '.join(TRAINING_DEFAULTS)}")
        out[k] = yaml.safe_load(v)
    return out


def _device(name: str) -> str:
    import torch
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _overrides(cfg, args):
    """--length/--target/--designs and --set key=value (training keys) onto a config."""
    from .config import ConfigError
    if args.length:
        cfg.length = args.length
    if args.target:
        cfg.target = args.target
    if cfg.target > cfg.length or (cfg.length - cfg.target) % 2:
        raise ConfigError(f"window: need target ({cfg.target}) <= length ({cfg.length}), difference even")
    if args.designs:
        cfg.designs = args.designs.split(",")
    if args.encoding:
        cfg.set_encoding(args.encoding)
    cfg.training.update(_sets(args.set))
    return cfg


def cmd_train(args):
    from . import config, data, train
    if args.nice:
        os.nice(args.nice)
    cfg = _overrides(config.load(args.config), args)
    ds = data.Dataset(args.dataset)
    res = train.train(cfg, ds, args.out, device=args.device, resume=args.resume, threads=args.threads,
                      train_names=args.programs.split(",") if args.programs else None,
                      val_names=args.validation.split(",") if args.validation else None)
    if res:
        print(json.dumps({k: v for k, v in res.items() if k != "designs"}, indent=1))


def cmd_eval(args):
    from . import cpu, data, evaluate, package
    if args.nice:
        os.nice(args.nice)
    cpu.set_threads(args.threads)
    dev = _device(args.device)
    cfg, net = package.load(args.package, dev)
    ds = data.Dataset(args.dataset)
    names = args.programs.split(",") if args.programs else ds.names(args.split)
    if not names:
        raise data.DatasetError(f"{args.dataset}: no programs in split '{args.split}'")
    if args.predictions:
        res = evaluate.evaluate_external(cfg, ds, names, args.predictions)
    else:
        res = evaluate.evaluate_programs(net, cfg, ds, names, args.batch, dev, progress=not args.quiet,
                                         dump=args.dump)
    out = {"package": args.package, "variant": cfg.variant, "designs": cfg.designs,
           "window": [cfg.length, cfg.target], "backend": args.backend_name, "programs": res}
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


def cmd_synth(args):
    from . import synthetic
    progs = [(f"syn_{i}", "train") for i in range(args.train)] + \
            [(f"syn_v{i}", "validation") for i in range(args.validation)] + \
            [(f"syn_t{i}", "test") for i in range(args.test)]
    synthetic.make_dataset(args.out, progs, epochs=args.epochs, epoch_len=args.epoch_len, seed=args.seed)
    print(json.dumps({"dataset": args.out, "programs": len(progs)}))


def cmd_params(args):
    from . import config
    out = {}
    for v in args.variants:
        cfg = _overrides(config.load(v), args)
        out[cfg.variant] = {"parameters": cfg.parameter_count(), "designs": len(cfg.designs),
                            "head_sets": cfg.head_sets, "window": [cfg.length, cfg.target],
                            "macs_per_position": cfg.macs_per_position(),
                            "macs_per_head": cfg.macs_per_head(),
                            "macs_per_instruction": cfg.macs_per_instruction()}
    print(json.dumps(out, indent=1))


def cmd_crosscheck(args):
    from . import crosscheck
    if args.check:
        crosscheck.check(args.out)
        print(json.dumps({"crosscheck": args.out, "matches": True}))
    else:
        print(json.dumps(crosscheck.generate(args.out), indent=1))


def cmd_study(args):
    from . import study
    if args.nice:
        os.nice(args.nice)
    res = study.study(args.dataset, args.out, args.runs, args.instructions, _sets(args.set), args.threads,
                      args.device, args.targets_per_step, args.encoding, args.heldout, args.heldout_split,
                      not args.no_calibrate)
    print(study.markdown(res))


def _package_windows(args):
    """calibrate / refit: the package on its device and seeded windows of the chosen programs."""
    from . import cpu, data, package
    if args.nice:
        os.nice(args.nice)
    cpu.set_threads(args.threads)
    dev = _device(args.device)
    cfg, net = package.load(args.package, dev)
    ds = data.Dataset(args.dataset)
    names = args.programs.split(",") if args.programs else ds.names(args.split)
    if not names:
        raise data.DatasetError(f"{args.dataset}: no programs in split '{args.split}'")
    win, rows = data.sampled_windows(ds, names, cfg.length, cfg.target, cfg.designs, args.windows, args.seed)
    return dev, cfg, net, names, win, rows


def cmd_calibrate(args):
    from . import calibrate, evaluate, package
    if args.keep_design_heads and not args.sum_heads:
        raise ValueError("calibrate: --keep-design-heads needs --sum-heads")
    dev, cfg, net, names, win, rows = _package_windows(args)
    how = {}
    if cfg.summed and not cfg.sum_heads and not args.summed:
        # a table fitted on the unshifted predictions no longer holds
        cfg.summed, how["summed_table_dropped"] = {}, True
    if calibrate.set_sum_heads(net, cfg, args.sum_heads):  # new ones are fresh copies
        how["sum_heads_dropped"] = True
    if args.summed:
        rep = calibrate.fit_summed(net, cfg, win, rows, args.batch, dev)
        how["method"] = "summed"
    else:
        rep = calibrate.calibrate(net, cfg, win, rows, args.batch, dev, args.max_error,
                                  classifier=not args.no_classifier, max_long=args.max_long_shift,
                                  max_logit=args.max_logit_shift, per_regime=args.per_regime,
                                  short=not args.no_short, exact_heads=not args.keep_design_heads)
        how.update(max_error=args.max_error, per_regime=args.per_regime, short=not args.no_short,
                   sum_heads=args.sum_heads)
        if args.sum_heads:
            how["design_heads"] = "as trained" if args.keep_design_heads else "most exact"
    v = evaluate.validate(net, cfg, win, rows, args.batch, dev)
    record = {"programs": names, "windows": int(len(rows)), **how, "designs": rep}
    if "calibration" in cfg.metrics:  # a package calibrated before (e.g. --no-short, then --summed)
        record["previous"] = cfg.metrics["calibration"]
    cfg.metrics = {**cfg.metrics, "calibration": record,
                   "calibrated": {k: round(v[k], 5) for k in v if k != "designs"}}
    package.export(args.out, cfg, net)
    print(json.dumps({"package": args.out, "calibration": rep}, indent=1))


def cmd_refit(args):
    from . import package, refit
    dev, cfg, net, names, win, rows = _package_windows(args)
    if cfg.sum_heads:
        raise ValueError(f"refit: {args.package} has sum heads; refit the package before "
                         "`calibrate --sum-heads`")
    rep = refit.refit(net, cfg, win, rows, args.batch, dev)
    cfg.training = {**cfg.training, "long_refit": {"loss": "poisson", "programs": names,
                                                   "windows": int(len(rows)), "designs": rep}}
    package.export(args.out, cfg, net)
    print(json.dumps({"package": args.out, "refit": rep}, indent=1))


# what a finished run's card records about its data and machine (train.train), carried over by export
RUN_RECORD = ("best_epoch", "seconds", "device", "world", "programs", "instructions", "predicted_instructions",
              "validation_programs")


def cmd_export(args):
    """A run's weights (best.safetensors or checkpoint.safetensors) as a package, e.g. to ship or
    evaluate a run that is still going or was stopped before it exported."""
    from . import config, package, tensorfile
    cfg = _overrides(config.load(args.config), args)
    t, meta = tensorfile.load(args.weights)
    checkpoint = any(k.startswith("model.") for k in t)  # a checkpoint: model and Adam state
    if checkpoint:
        t = {k[6:]: v for k, v in t.items() if k.startswith("model.")}
    st = json.loads(meta["state"]) if "state" in meta else {}
    if st:
        cfg.training = {**cfg.training, "epochs_run": st.get("epoch"), "history": st.get("history", [])}
    run_card = os.path.join(os.path.dirname(args.weights), "model.yaml")
    if os.path.exists(run_card):  # the run finished: keep its record of what it was trained on
        run = config.load(run_card)
        cfg.training = {**cfg.training, **{k: run.training[k] for k in RUN_RECORD if k in run.training}}
        hist = run.training.get("history") or []
        if checkpoint and st.get("epoch") and hist:  # the last epoch, not the run's best
            last = next((h for h in hist if h.get("epoch") == st["epoch"]), {})
            cfg.training["exported_epoch"] = st["epoch"]
            cfg.metrics = {"validation": {k: last[k] for k in run.metrics.get("validation", {}) if k in last}}
        else:  # best.safetensors: the run's own package weights
            cfg.training["exported_epoch"] = run.training.get("best_epoch")
            cfg.metrics = run.metrics
    expected = set(package.state_arrays(package.NeuroScalarNet(cfg)))
    if set(t) != expected:
        raise package.PackageError(f"{args.weights}: tensors {sorted(set(t) ^ expected)} do not match "
                                   f"the config {cfg.variant} (missing or extra)")
    package.write(args.out, cfg, t)
    print(json.dumps({"package": args.out, "variant": cfg.variant, "window": [cfg.length, cfg.target],
                      "run_record": run_card if os.path.exists(run_card) else None,
                      "exported_epoch": cfg.training.get("exported_epoch")}))


def cmd_report(args):
    from . import report
    print(report.render(args.eval, args.int8))


def cmd_sources(args):
    from . import data, sources
    ds = data.Dataset(args.dataset)
    names = args.programs.split(",") if args.programs else ds.names(args.split)
    preds = {}
    for item in args.predictions or []:
        name, sep, path = item.partition("=")
        if not sep:
            raise data.DatasetError(f"--predictions {item}: expected PROGRAM=FILE")
        preds[name] = path
    res = sources.dataset_sources(ds, names, args.design, args.long, preds)
    print(json.dumps({"dataset": args.dataset, "design": args.design, "long": args.long, "programs": res},
                     indent=1))


def cmd_bench(args):
    from . import bench, config
    cfgs = [_overrides(config.load(v), args) for v in args.variants]
    print(json.dumps(bench.run(cfgs, args.batch, args.steps, _device(args.device), args.threads), indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m model.train",
                                description="NeuroScalar model training, evaluation and test data.")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(s, window=True):
        if window:
            s.add_argument("--length", type=int, help="window length L (overrides the config)")
            s.add_argument("--target", type=int, help="target segment T (overrides the config)")
            s.add_argument("--designs", help="comma-separated designs (overrides the config)")
            s.add_argument("--encoding", help="feature encoding (overrides the config; the dataset's must match)")
            s.add_argument("--set", action="append", metavar="KEY=VALUE",
                           help="training hyper-parameter override (docs/model.md), repeatable")

    s = sub.add_parser("train", help="train a variant on a dataset and export a model package")
    s.add_argument("--config", required=True, help="variant name (configs/model/<name>.yaml) or YAML path")
    s.add_argument("--dataset", required=True, help="dataset folder with manifest.json (docs/dataset.md)")
    s.add_argument("--out", required=True, help="output folder: package, checkpoint.safetensors")
    s.add_argument("--programs", help="comma-separated training programs (default: split 'train')")
    s.add_argument("--validation", help="comma-separated validation programs (default: split 'validation')")
    s.add_argument("--device", default="auto", help="auto | cpu | cuda")
    s.add_argument("--threads", type=int, default=0, help="OpenBLAS threads (default: cores / local ranks; torch itself gets 1)")
    s.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.safetensors")
    s.add_argument("--nice", type=int, default=10, help="niceness increment (default 10; 0: none)")
    common(s)
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("eval", help="evaluate a package on a dataset's programs (JSON)")
    s.add_argument("--package", required=True)
    s.add_argument("--dataset", required=True)
    s.add_argument("--split", default="test")
    s.add_argument("--programs", help="comma-separated programs (default: the split's)")
    s.add_argument("--batch", type=int, default=256)
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, default=0)
    s.add_argument("--nice", type=int, default=10)
    s.add_argument("--json", help="also write the result here")
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--predictions", metavar="DIR",
                   help="score <DIR>/<program>.u32 (e.g. neuroscalar predict --dump-latencies) "
                        "instead of running the model")
    s.add_argument("--dump", metavar="DIR", help="also write <DIR>/<program>.u32 predicted cycles")
    s.add_argument("--backend-name", default="pytorch-fp32",
                   help="label of the predictions' origin in the JSON (default pytorch-fp32)")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("synth", help="write a synthetic dataset (docs/dataset.md layout)")
    s.add_argument("--out", required=True)
    s.add_argument("--train", type=int, default=4)
    s.add_argument("--validation", type=int, default=1)
    s.add_argument("--test", type=int, default=1)
    s.add_argument("--epochs", type=int, default=4)
    s.add_argument("--epoch-len", type=int, default=10000)
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(fn=cmd_synth)

    s = sub.add_parser("params", help="parameters and MACs per predicted instruction of variants")
    s.add_argument("variants", nargs="*", default=["paper-uni", "paper-bi-tied", "bi-h128"])
    common(s)
    s.set_defaults(fn=cmd_params)

    s = sub.add_parser("crosscheck", help="write (or --check) the golden-model cross-check data")
    s.add_argument("--out", default=os.path.join("model", "tests", "data"))
    s.add_argument("--check", action="store_true", help="recompute with torch and compare instead")
    s.set_defaults(fn=cmd_crosscheck)

    s = sub.add_parser("study", help="compare runs (variant:L:T[:designs]) trained on the same budget")
    s.add_argument("runs", nargs="+", metavar="VARIANT:L:T[:DESIGNS]")
    s.add_argument("--dataset", required=True)
    s.add_argument("--out", required=True, help="folder: one package per run plus study.json")
    s.add_argument("--instructions", type=int, default=2_000_000,
                   help="predicted training instructions per run (default 2,000,000)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="training override for every run")
    s.add_argument("--encoding", help="feature encoding of every run (default: each config's)")
    s.add_argument("--heldout", metavar="DATASET",
                   help="also score every run on each instruction of this dataset's --heldout-split programs")
    s.add_argument("--heldout-split", default="test")
    s.add_argument("--no-calibrate", action="store_true",
                   help="score the held-out programs without calibrating each run first (default: "
                        "calibrated on 65,536 predicted instructions of the validation programs)")
    s.add_argument("--targets-per-step", type=int, default=0,
                   help="batch = this / T windows per run (same optimiser steps for every T)")
    s.add_argument("--threads", type=int, default=0)
    s.add_argument("--device", default="auto")
    s.add_argument("--nice", type=int, default=10)
    s.set_defaults(fn=cmd_study)

    def package_windows(s, what: str, split: str, windows: int):
        """Arguments of _package_windows (calibrate, refit)."""
        s.add_argument("--package", required=True)
        s.add_argument("--dataset", required=True)
        s.add_argument("--out", required=True, help=f"{what} package folder")
        s.add_argument("--split", default=split)
        s.add_argument("--programs", help="comma-separated programs (default: the split's)")
        s.add_argument("--windows", type=int, default=windows, help="windows drawn (seeded)")
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--batch", type=int, default=128)
        s.add_argument("--device", default="auto")
        s.add_argument("--threads", type=int, default=0)
        s.add_argument("--nice", type=int, default=10)

    s = sub.add_parser("calibrate", help="shift the head biases per design so that summed cycles "
                                         "match on validation windows; writes a new package")
    package_windows(s, "calibrated", "validation", 4096)
    s.add_argument("--max-error", type=float, default=0.02,
                   help="aggregate cycle error allowed; the best exact accuracy within it wins (default 0.02)")
    s.add_argument("--no-classifier", action="store_true",
                   help="leave the regime classifier alone (shift the regressor biases only)")
    s.add_argument("--no-short", action="store_true",
                   help="leave the short regressor alone (shift the long regressor and the long logit only)")
    s.add_argument("--max-long-shift", type=float, default=0.5, help="largest long-bias shift searched (default 0.5)")
    s.add_argument("--max-logit-shift", type=float, default=1.0, help="largest long-logit shift searched (default 1.0)")
    s.add_argument("--per-regime", action="store_true",
                   help="match the summed cycles of short and of long instructions (true regime) separately")
    how_summed = s.add_mutually_exclusive_group()
    how_summed.add_argument("--summed", action="store_true",
                            help="keep the network as trained and fit targets.summed instead: the "
                                 "cycles each predicted value stands for in summed cycles (CPI); "
                                 "the shift options are unused")
    how_summed.add_argument("--sum-heads", action="store_true",
                            help="add sum heads, copies of the design heads shifted so that sums "
                                 "(CPI) match, and shift the design heads (per-instruction "
                                 "latencies) to their best exactness instead")
    s.add_argument("--keep-design-heads", action="store_true",
                   help="with --sum-heads: leave the design heads as trained")
    s.set_defaults(fn=cmd_calibrate)

    s = sub.add_parser("refit", help="refit each design's long regressor as a Poisson regression on the "
                                     "frozen backbone (unbiased summed cycles); writes a new package")
    package_windows(s, "refitted", "train", 8192)
    s.set_defaults(fn=cmd_refit)

    s = sub.add_parser("export", help="write a package from a run's best.safetensors or checkpoint.safetensors")
    s.add_argument("--config", required=True, help="the run's variant or YAML (with its --length/--target/--set)")
    s.add_argument("--weights", required=True, help="<run>/best.safetensors or <run>/checkpoint.safetensors")
    s.add_argument("--out", required=True, help="package folder to write")
    common(s)
    s.set_defaults(fn=cmd_export)

    s = sub.add_parser("report", help="Markdown tables from eval JSON (docs/results/model.md)")
    s.add_argument("eval", help="JSON written by eval --json (FP32)")
    s.add_argument("--int8", help="the same programs evaluated with the INT8 backend")
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("sources", help="where programs' cycles come from: long-latency instructions and "
                                       "cold data accesses (perfvec18 and perfvec18-trace datasets; JSON)")
    s.add_argument("--dataset", required=True, help="dataset folder (perfvec18 or perfvec18-trace encoding)")
    s.add_argument("--split", default="test", help="programs of this split (default test)")
    s.add_argument("--programs", help="comma-separated programs instead of a split")
    s.add_argument("--design", default="8w", help="design whose labels are read (default 8w)")
    s.add_argument("--long", type=int, default=100, help="cycles from which an instruction is long (default 100)")
    s.add_argument("--predictions", nargs="*", metavar="PROGRAM=FILE",
                   help="neuroscalar predict --dump-latencies of the program's trace (all epochs, "
                        "designs in the dataset's order)")
    s.set_defaults(fn=cmd_sources)

    s = sub.add_parser("bench", help="training and inference throughput (windows/s, instructions/s)")
    s.add_argument("variants", nargs="*", default=["paper-uni", "paper-bi-tied", "bi-h128"])
    s.add_argument("--batch", type=int, nargs="*", default=[64])
    s.add_argument("--steps", type=int, default=3)
    s.add_argument("--threads", type=int, default=0)
    s.add_argument("--device", default="auto")
    common(s)
    s.set_defaults(fn=cmd_bench)

    args = p.parse_args(argv)
    try:
        args.fn(args)
    except (ValueError, OSError) as e:  # ConfigError, DatasetError, PackageError, TensorFileError
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
