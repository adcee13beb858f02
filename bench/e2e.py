#!/usr/bin/env python3
"""End-to-end benchmark table for tern: pp128 / tg128 at 1 and 2 threads on the BitNet-b1.58-2B-4T
and 0.7B shapes (random-weight models made by `tern dummy`), lossless (the file's output layer:
every logit, or --lm-head screen: the exact top-40 logits a sampler reads) and with the output
layer requantized at load (--lm-head q8 / q6 / q4, the fast modes), next to
the bitnet.cpp / llama.cpp figures of the speed issue. Writes results.json, results.md and
plot.svg (tokens/s against threads) into --out, each atomically.

Usage: bench/e2e.py [--tern build/release/bin/tern] [--models build/bench-models] [--out bench/out]
                    [--reps 5] [--threads 1,2] [--lm-heads file,screen,q8,q6,q4] [--rss]
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

# How each --lm-head is named in the table.
MODE_LABELS = {"file": "lossless", "screen": "lossless, screened (exact top-40)"}

# Peers on this machine type (speed issue, llama-bench, tokens/s; ranges are two passes).
PEERS = {
    ("2b4t", "pp128", 1): "bitnet.cpp I2_S 25.2-26.0, TQ2_0 20.2-21.1",
    ("2b4t", "pp128", 2): "bitnet.cpp I2_S 42.6-43.2, TQ2_0 38.3-41.4",
    ("2b4t", "tg128", 1): "bitnet.cpp I2_S 9.0-10.0 (fast mode 12.9), TQ2_0 9.3-9.8",
    ("2b4t", "tg128", 2): "bitnet.cpp I2_S 15.7-17.1 (fast mode 20.2), TQ2_0 15.0-15.8",
    ("0.7b", "pp128", 1): "bitnet.cpp I2_S 53.6-57.0, TQ2_0 57.7-58.5",
    ("0.7b", "pp128", 2): "bitnet.cpp I2_S 112.8-127.0, TQ2_0 102.1-104.9",
    ("0.7b", "tg128", 1): "bitnet.cpp I2_S 34.8-35.4, TQ2_0 32.5-34.3",
    ("0.7b", "tg128", 2): "bitnet.cpp I2_S 55.3-56.3, TQ2_0 47.3-54.5",
}

MODELS = {"2b4t": ["--preset", "2b4t", "--type", "i2_s"], "0.7b": ["--preset", "bitnet-large", "--type", "i2_s"]}


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(temp, 0o644)
    os.replace(temp, path)


def ensure_model(tern, models_dir, key):
    path = os.path.join(models_dir, key + "-i2_s.gguf")
    if not os.path.exists(path):
        os.makedirs(models_dir, exist_ok=True)
        print(f"making {path} ...", file=sys.stderr)
        subprocess.run([tern, "dummy", *MODELS[key], "-o", path], check=True)
    return path


def run_bench(tern, model, threads, reps, lm_head):
    cmd = [tern, "bench", "-m", model, "-p", "128", "-n", "128", "-t", threads, "-r", str(reps), "-o", "json",
           "--lm-head", lm_head]
    print(" ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def load_seconds(tern, model, lm_head="file", runs=5):
    """Load times of `runs` runs (warm page cache), sorted: the machine is shared, so one run can
    be far off."""
    times = []
    for _ in range(runs):
        out = subprocess.run([tern, "run", "-m", model, "-p", "hi", "-n", "1", "-v", "--lm-head", lm_head],
                             capture_output=True, text=True).stderr
        m = re.search(r"loaded in ([0-9.]+) s", out)
        if m:
            times.append(round(float(m.group(1)), 2))
    return sorted(times)


def peak_rss_mib(tern, model, lm_head="file"):
    """Peak RSS of a run that fills a 4096-token context: a ~3800-token prompt plus 200 tokens."""
    unit = "Once upon a time, there was a little girl. "
    ids = subprocess.run([tern, "tokenize", "-m", model, "-p", unit * 10, "--ids", "--no-bos"],
                         capture_output=True, text=True, check=True).stdout
    per_ten = max(1, ids.count(",") + 1)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(unit * (10 * 3800 // per_ten))
        prompt_file = f.name
    try:
        out = subprocess.run(["/usr/bin/time", "-v", tern, "run", "-m", model, "-c", "4096", "-n", "200", "-f",
                              prompt_file, "--lm-head", lm_head], capture_output=True, text=True).stderr
    finally:
        os.unlink(prompt_file)
    if "tern: error" in out:
        raise RuntimeError(out.strip().splitlines()[-1])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out)
    return int(m.group(1)) / 1024 if m else None


def svg_plot(records):
    """Tokens/s against threads: one panel for pp128, one for tg128; a line per model and mode."""
    width, height, pad = 760, 340, 50
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for panel, test in enumerate(["pp128", "tg128"]):
        x0 = pad + panel * (width // 2)
        w = width // 2 - pad - 20
        h = height - 2 * pad
        series = {}
        for r in records:
            if r["test"] == test:
                series.setdefault(r["label"], []).append((r["n_threads"], r["avg_ts"]))
        top = max([v for s in series.values() for _, v in s] + [1.0]) * 1.15
        threads = sorted({t for s in series.values() for t, _ in s}) or [1, 2]
        parts.append(f'<text x="{x0 + w / 2}" y="{pad - 20}" text-anchor="middle" font-weight="bold">{test} tokens/s</text>')
        parts.append(f'<line x1="{x0}" y1="{pad + h}" x2="{x0 + w}" y2="{pad + h}" stroke="black"/>')
        parts.append(f'<line x1="{x0}" y1="{pad}" x2="{x0}" y2="{pad + h}" stroke="black"/>')
        for i in range(5):
            v = top * i / 4
            y = pad + h - h * i / 4
            parts.append(f'<text x="{x0 - 5}" y="{y + 4}" text-anchor="end">{v:.0f}</text>')

        def px(t):
            return x0 + (w * (threads.index(t) + 0.5) / len(threads))

        for t in threads:
            parts.append(f'<text x="{px(t)}" y="{pad + h + 16}" text-anchor="middle">{t} thread{"s" if t > 1 else ""}</text>')
        for k, (label, points) in enumerate(sorted(series.items())):
            points.sort()
            color = colors[k % len(colors)]
            coords = " ".join(f"{px(t):.1f},{pad + h - h * v / top:.1f}" for t, v in points)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
            for t, v in points:
                parts.append(f'<circle cx="{px(t):.1f}" cy="{pad + h - h * v / top:.1f}" r="3" fill="{color}"/>')
            if panel == 0:
                parts.append(f'<text x="{x0 + 10}" y="{pad + 14 * (k + 1)}" fill="{color}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tern", default="build/release/bin/tern")
    parser.add_argument("--models", default="build/bench-models")
    parser.add_argument("--out", default="bench/out")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--lm-heads", default="file,screen,q8,q6,q4", help="--lm-head values to run")
    parser.add_argument("--rss", action="store_true", help="also measure peak RSS at a 4096-token context (slow)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    records, extras = [], {}
    for key in MODELS:
        model = ensure_model(args.tern, args.models, key)
        extras[key] = {"load_seconds": load_seconds(args.tern, model),
                       "load_seconds_auto": load_seconds(args.tern, model, "auto")}
        if args.rss and key == "2b4t":
            extras[key]["peak_rss_mib_ctx4096"] = peak_rss_mib(args.tern, model)
            if "screen" in args.lm_heads.split(","):
                extras[key]["peak_rss_mib_ctx4096_screen"] = peak_rss_mib(args.tern, model, "screen")
        for lm_head in args.lm_heads.split(","):
            for r in run_bench(args.tern, model, args.threads, args.reps, lm_head):
                r["model_key"] = key
                r["lm_head"] = lm_head
                r["test"] = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
                r["label"] = f"{key} {MODE_LABELS.get(lm_head, 'lm-head ' + lm_head)}"
                r["median_ts"] = statistics.median(r["samples_ts"])
                records.append(r)

    cpu = records[0]["cpu_info"] if records else "unknown"
    # The lossless runs' backend names the kernel set (e.g. "i2 (avx512)"; TERN_ISA forces one).
    kernels = records[0].get("backends", "unknown").split(",")[0] if records else "unknown"
    date = datetime.date.today().isoformat()
    lines = [f"tern end-to-end, {cpu}, kernels {kernels}, {date}: `bench/e2e.py --reps {args.reps} --threads {args.threads}` "
             "(random-weight models from `tern dummy`; tokens/s median of the repetitions, mean ± stddev; "
             "tg also as the GB/s of weights and KV cache read, against the memory read bandwidth probed just before "
             "each repetition: medians, and the % as the median and range of the per-repetition ratios)", "",
             "| model | mode | threads | test | median t/s | mean ± sd | read GB/s of probed GB/s (% roof, range) | peers (speed issue) |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for r in records:
        roof = ""
        if r["n_gen"] and r.get("roof_samples"):
            roof = (f"{r['weight_gbps']:.1f} of {r['bandwidth_gbps']:.1f} ({r['roof_percent']:.0f} %, "
                    f"{min(r['roof_samples']):.0f}–{max(r['roof_samples']):.0f})")
        peer = PEERS.get((r["model_key"], r["test"], r["n_threads"]), "") if r["lm_head"] == "file" else ""
        # Calls the pool ran on fewer threads because other processes kept preempting its workers.
        reduced = (f" ({r['reduced_calls']} of {r['parallel_calls']} calls on fewer threads)"
                   if r.get("reduced_calls") else "")
        lines.append(f"| {r['model_key']} | {r['label'].split(' ', 1)[1]} | {r['n_threads']} | {r['test']} | "
                     f"{r['median_ts']:.2f}{reduced} | {r['avg_ts']:.2f} ± {r['stddev_ts']:.2f} | {roof} | {peer} |")
    lines.append("")
    for key, e in extras.items():
        loads = e.get("load_seconds") or []
        loads_auto = e.get("load_seconds_auto") or []
        lines.append(f"- {key}: load {loads[len(loads) // 2] if loads else None} s median of {loads} (warm page cache)"
                     + (f", {loads_auto[len(loads_auto) // 2]} s median of {loads_auto} with run's default --lm-head auto"
                        if loads_auto else "")
                     + (f", peak RSS at 4096 context {e['peak_rss_mib_ctx4096']:.0f} MiB" if e.get("peak_rss_mib_ctx4096") else "")
                     + (f" ({e['peak_rss_mib_ctx4096_screen']:.0f} MiB with --lm-head screen)"
                        if e.get("peak_rss_mib_ctx4096_screen") else ""))
    write_atomically(os.path.join(args.out, "results.md"), "\n".join(lines) + "\n")
    write_atomically(os.path.join(args.out, "results.json"), json.dumps({"records": records, "extras": extras}, indent=2) + "\n")
    write_atomically(os.path.join(args.out, "plot.svg"), svg_plot(records))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
