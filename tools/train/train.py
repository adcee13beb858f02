#!/usr/bin/env python3
"""Train tern's default model: a tiny BitNet b1.58 story model, tokenizer to GGUF in one run.

    train.py [--corpus FILE] [--work DIR] [--out MODEL.gguf] [--time-budget SECONDS] [options]

Steps (all outputs except the GGUF go to --work, by default build/train/ -- never into git):
 1. corpus -> cleaned stories (data.py), truecased with --case true (the default; data.py
    explains how); the last --valid-fraction of the stories is held out: work/train.txt and
    work/valid.txt.
 2. sentencepiece BPE tokenizer on train.txt (LLaMA's settings, --vocab pieces): work/spm.model.
 3. Token streams: every story as [BOS] pieces [EOS], concatenated.
 4. Quantisation-aware training (model.py) with AdamW on random ctx-token windows (half of them
    starting at a story's BOS), for --time-budget seconds of wall-clock time or --max-steps,
    whichever comes first. The learning-rate schedule runs on progress = max(elapsed/budget,
    step/max_steps): linear warm-up, then cosine decay to --min-lr-ratio; weight decay is switched
    off for the second half (BitNet b1.58's two-stage recipe). The validation loss is measured
    every --eval-every seconds; the best model so far is kept (work/best.pt).
 5. Export of the best model to --out (GGUF v3, I2_S; export.py).
 6. Evaluation of the exported file, rebuilt from the GGUF in exact integer mode:
    - validation loss: mean next-token NLL over the held-out stories in the training format
      (non-overlapping ctx-token windows of the [BOS] story [EOS] stream, every position scored);
    - "tern-style" perplexity: the held-out text file tokenised as one text (no BOS), cut into
      chunks of --ppl-ctx tokens, the first token of each chunk replaced by BOS, only the second
      half of each chunk's predictions scored -- exactly what `tern perplexity -c N` does;
    - `tern perplexity -m OUT -f valid.txt -c N`, when --tern is given (its PPL is parsed).
    The numbers go to work/results.json.

Threads: torch.set_num_threads(--threads, default 2); OMP_WAIT_POLICY defaults to PASSIVE
because spinning OpenMP workers lose badly when another process shares the two cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import data  # noqa: E402
from export import export_gguf  # noqa: E402
from model import BitLinear, BitNetLM, Config, ExactMode, cross_entropy  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def encode_stories(sp, stories: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """([BOS] story [EOS] ... as int32, start index of every story)."""
    ids, starts = [], []
    for enc in sp.encode(stories):
        starts.append(len(ids))
        ids.append(sp.bos_id())
        ids.extend(enc)
        ids.append(sp.eos_id())
    return np.asarray(ids, dtype=np.int32), np.asarray(starts, dtype=np.int64)


def sample_batch(rng: np.random.Generator, stream: np.ndarray, starts: np.ndarray, batch: int, ctx: int):
    limit = len(stream) - ctx - 1
    ok_starts = starts[starts <= limit]
    rows = []
    for _ in range(batch):
        if rng.random() < 0.5:
            s = int(ok_starts[rng.integers(len(ok_starts))])
        else:
            s = int(rng.integers(0, limit + 1))
        rows.append(stream[s:s + ctx + 1])
    x = torch.from_numpy(np.stack(rows).astype(np.int64))
    return x[:, :-1], x[:, 1:]


def eval_windows(stream: np.ndarray, ctx: int) -> torch.Tensor:
    """Non-overlapping (ctx + 1)-token windows covering the stream (the last partial one dropped;
    consecutive windows share one token so every position after the first is a target once)."""
    n = (len(stream) - 1) // ctx
    idx = np.arange(n)[:, None] * ctx + np.arange(ctx + 1)[None, :]
    return torch.from_numpy(stream[idx].astype(np.int64))


@torch.no_grad()
def mean_nll(model: BitNetLM, windows: torch.Tensor, batch: int = 16) -> float:
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        w = windows[i:i + batch]
        logits = model(w[:, :-1])
        n = w[:, 1:].numel()
        total += float(cross_entropy(logits, w[:, 1:])) * n
        count += n
    return total / count


@torch.no_grad()
def tern_style_ppl(model: BitNetLM, ids: list[int], bos: int, ctx: int, batch: int = 8) -> dict:
    """What `tern perplexity -c ctx` computes (llama-perplexity scoring)."""
    n_chunks = len(ids) // ctx
    chunks = torch.tensor(ids[:n_chunks * ctx], dtype=torch.int64).view(n_chunks, ctx).clone()
    chunks[:, 0] = bos
    first = ctx // 2
    nlls = []
    for i in range(0, n_chunks, batch):
        c = chunks[i:i + batch]
        logits = model(c).double()                            # [b, ctx, V]
        lp = torch.log_softmax(logits[:, first:ctx - 1], dim=-1)
        tgt = c[:, first + 1:ctx]
        nlls.append(-lp.gather(2, tgt[..., None]).squeeze(-1).reshape(-1))
    nll = torch.cat(nlls)
    return {"ppl": math.exp(float(nll.mean())), "mean_nll": float(nll.mean()), "tokens_scored": int(nll.numel()),
            "chunks": n_chunks, "tokens": len(ids)}


def run_tern_perplexity(tern: str, model_path: str, text_path: str, ctx: int, kv: str = "f16") -> dict:
    cmd = [tern, "perplexity", "-m", model_path, "-f", text_path, "-c", str(ctx), "--kv", kv]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": p.stderr.strip()[-500:], "command": " ".join(cmd)}
    m = re.search(r"PPL = ([0-9.]+) \+/- ([0-9.]+) \((\d+) tokens scored\)", p.stdout)
    info = re.search(r"perplexity: (\d+) tokens, (\d+) chunks", p.stderr)
    return {"command": " ".join(cmd), "ppl": float(m.group(1)), "ppl_stderr": float(m.group(2)),
            "tokens_scored": int(m.group(3)), "tokens": int(info.group(1)) if info else None,
            "seconds": round(time.time() - t0, 2)}


def param_groups(model: BitNetLM, weight_decay: float):
    decay = [m.weight for m in model.modules() if isinstance(m, BitLinear)]
    ids = {id(p) for p in decay}
    other = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": decay, "weight_decay": weight_decay, "wd0": weight_decay},
            {"params": other, "weight_decay": 0.0, "wd0": 0.0}]


def evaluate_export(args, sp, valid_ids: np.ndarray, valid_txt: str) -> dict:
    """Step 6: the exported GGUF, rebuilt in PyTorch in exact mode, and `tern perplexity`."""
    g = BitNetLM.from_gguf(args.out)
    g.exact = ExactMode(attention_f64=False)      # integer BitLinear, float32 attention (fast)
    t1 = time.time()
    val_loss = mean_nll(g, eval_windows(valid_ids, args.ctx))
    with open(valid_txt, encoding="utf-8") as f:
        valid_tokens = sp.encode(f.read())
    tstyle = {}
    for kv in ("f32", "f16"):        # K/V kept in float32, or rounded to float16 like tern's default cache
        g.exact = ExactMode(kv_f16=kv == "f16", attention_f64=False)
        tstyle[kv] = tern_style_ppl(g, valid_tokens, sp.bos_id(), args.ppl_ctx)
    log(f"exported model (exact eval, {time.time() - t1:.0f} s): val loss {val_loss:.4f} ppl {math.exp(val_loss):.3f}; "
        f"tern-style ppl (c={args.ppl_ctx}) {tstyle['f32']['ppl']:.4f} (f32 K/V), {tstyle['f16']['ppl']:.4f} "
        f"(f16 K/V) over {tstyle['f32']['tokens_scored']} tokens")
    tern_ppl = None
    if args.tern and os.path.exists(args.tern):
        tern_ppl = {kv: run_tern_perplexity(args.tern, args.out, valid_txt, args.ppl_ctx, kv) for kv in ("f32", "f16")}
        for kv, r in tern_ppl.items():
            log(f"tern perplexity (--kv {kv}): {r}")
    return {"val_loss": val_loss, "val_ppl": math.exp(val_loss), "tern_style": tstyle, "tern": tern_ppl}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(REPO, "..", "shared", "corpus", "tinystories-5000-lower.txt"))
    ap.add_argument("--work", default=os.path.join(REPO, "build", "train"))
    ap.add_argument("--out", default=os.path.join(REPO, "models", "tinystories-bitnet.gguf"))
    ap.add_argument("--name", default="tinystories-bitnet")
    ap.add_argument("--case", choices=("true", "lower"), default="true",
                    help="true: truecase the lower-case corpus using --cased-prefix (data.py); "
                         "lower: train on the lower-case text as is")
    ap.add_argument("--cased-prefix", default=os.path.join(REPO, "..", "shared", "corpus", "tinystories-head.txt"),
                    help="original-case text of the corpus's beginning (for --case true)")
    ap.add_argument("--valid-fraction", type=float, default=0.05)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=704)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8, help="sequences per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--time-budget", type=float, default=2700, help="training wall-clock seconds")
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--eval-every", type=float, default=450, help="seconds between validation runs")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ppl-ctx", type=int, default=256)
    ap.add_argument("--tern", default=os.path.join(REPO, "build", "release", "bin", "tern"),
                    help="tern CLI for the final `tern perplexity` ('' to skip)")
    ap.add_argument("--eval-only", action="store_true",
                    help="only step 6, on the existing --out and --work (spm.model, valid.txt); "
                         "writes work/eval.json")
    args = ap.parse_args(argv)

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.work, exist_ok=True)
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")

    if args.eval_only:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=os.path.join(args.work, "spm.model"))
        valid_txt = os.path.join(args.work, "valid.txt")
        with open(valid_txt, encoding="utf-8") as f:
            valid_ids, _ = encode_stories(sp, data.split_stories(f.read()))
        result = evaluate_export(args, sp, valid_ids, valid_txt)
        with open(os.path.join(args.work, "eval.json"), "w") as f:
            json.dump(result, f, indent=1)
        return 0

    # 1-3: data and tokenizer
    splits = data.prepare_splits(args.corpus, args.work, args.valid_fraction,
                                 args.cased_prefix if args.case == "true" else None)
    train_txt, valid_txt = os.path.join(args.work, "train.txt"), os.path.join(args.work, "valid.txt")
    spm_model = data.train_tokenizer(train_txt, os.path.join(args.work, "spm"), args.vocab)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=spm_model)
    train_ids, train_starts = encode_stories(sp, splits["train"])
    valid_ids, _ = encode_stories(sp, splits["valid"])
    log(f"stories: {len(splits['train'])} train, {len(splits['valid'])} held out; tokens: "
        f"{len(train_ids)} train, {len(valid_ids)} held out ({time.time() - t_start:.1f} s)")

    c = Config(vocab_size=args.vocab, dim=args.dim, n_layers=args.layers, n_heads=args.heads,
               n_kv_heads=args.kv_heads, ffn_dim=args.ffn, ctx=args.ctx)
    model = BitNetLM(c)
    log(f"config {c.to_dict()}; parameters {model.n_params()}")
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    val_windows = eval_windows(valid_ids, args.ctx)
    best = {"val_loss": float("inf"), "step": 0}
    best_path = os.path.join(args.work, "best.pt")
    history = []

    def evaluate(step, elapsed, train_loss):
        model.eval()
        t0 = time.time()
        v = mean_nll(model, val_windows)
        model.train()
        history.append({"step": step, "seconds": round(elapsed, 1), "train_loss": train_loss, "val_loss": v})
        msg = f"step {step}: val loss {v:.4f} (ppl {math.exp(v):.2f}), eval {time.time() - t0:.1f} s"
        if v < best["val_loss"]:
            best.update(val_loss=v, step=step, seconds=round(elapsed, 1))
            torch.save({"config": c.to_dict(), "model": model.state_dict(), "step": step, "val_loss": v}, best_path)
            msg += " -- best so far, saved"
        log(msg)

    # 4: training
    model.train()
    t0 = time.time()
    next_eval = args.eval_every
    step, tokens, ema = 0, 0, None
    while True:
        elapsed = time.time() - t0
        progress = max(elapsed / args.time_budget, step / args.max_steps)
        if progress >= 1.0:
            break
        lr = args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
        if step < args.warmup:
            lr = args.lr * (step + 1) / args.warmup
        for g in opt.param_groups:
            g["lr"] = lr
            g["weight_decay"] = g["wd0"] if progress < 0.5 else 0.0
        x, y = sample_batch(rng, train_ids, train_starts, args.batch, args.ctx)
        loss = cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        step += 1
        tokens += x.numel()
        lv = float(loss)
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if step % 50 == 0:
            el = time.time() - t0
            log(f"step {step} loss {lv:.4f} (ema {ema:.4f}) lr {lr:.2e} {tokens / el:.0f} tok/s "
                f"epochs {tokens / len(train_ids):.2f} elapsed {el:.0f} s")
        if time.time() - t0 >= next_eval:
            evaluate(step, time.time() - t0, ema)
            next_eval = (time.time() - t0) + args.eval_every
    train_seconds = time.time() - t0
    evaluate(step, train_seconds, ema)
    log(f"training done: {step} steps, {tokens} tokens ({tokens / len(train_ids):.2f} epochs) in "
        f"{train_seconds:.0f} s; best val loss {best['val_loss']:.4f} at step {best['step']}")

    # 5: export the best model
    ck = torch.load(best_path, map_location="cpu")
    model.load_state_dict(ck["model"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    size = export_gguf(model.eval(), spm_model, args.out, args.name,
                       {"general.license": "cdla-sharing-1.0",
                        "general.description": "BitNet b1.58 story model trained by tern's tools/train on "
                                               "TinyStories (" + ("truecased" if args.case == "true" else "lower-case")
                                               + " text)"})
    log(f"exported {args.out}: {size} bytes")

    # 6: evaluation of the exported file (exact integer mode)
    evaluation = evaluate_export(args, sp, valid_ids, valid_txt)
    results = {
        "config": c.to_dict(), "parameters": model.n_params(), "gguf_bytes": size,
        "args": vars(args), "hardware": {"cpu": platform.processor() or platform.machine(),
                                         "cores": os.cpu_count(), "threads": args.threads},
        "torch": torch.__version__,
        "data": {"train_stories": len(splits["train"]), "valid_stories": len(splits["valid"]),
                 "train_tokens": int(len(train_ids)), "valid_tokens": int(len(valid_ids))},
        "training": {"steps": step, "tokens": tokens, "epochs": tokens / len(train_ids),
                     "seconds": round(train_seconds, 1), "best": best, "history": history},
        "eval": evaluation,
        "total_seconds": round(time.time() - t_start, 1),
    }
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    log(f"results in {os.path.join(args.work, 'results.json')}; total {results['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
