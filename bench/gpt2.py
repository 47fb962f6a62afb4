"""A GPT-2-shaped forward pass and greedy generation, three ways: written on dlkern's
functions, in plain NumPy as picoGPT-style code has it, and as a PyTorch eager twin —
the same random float32 weights (no download), interleaved.

    python bench/gpt2.py                        # GPT-2 124M: T = 128 and 512, 16 tokens
    python bench/gpt2.py --T 128 --generate 4 --rounds 2
    python bench/gpt2.py --config tiny          # seconds: 2 layers of 64

Weights are kept as GPT-2 keeps them, (D_in, D_out) with y = x w + b, so dlkern reads
them with `weight_layout="in_out"` and PyTorch with addmm, neither copying.  GELU is
the tanh approximation, attention causal, layer-norm ε = 1e-5.  Generation appends the
arg-max token and runs the whole forward again (no key/value cache), as picoGPT does.
Ratios are NumPy time / dlkern time and torch time / dlkern time: above 1, dlkern is
faster.  Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (NumPy's BLAS takes part).
"""
import argparse
import math
import sys

import numpy as np

import dlkern
from dlkern.benchmark import interleaved, stamp

CONFIGS = {
    "124M": dict(n_layer=12, n_head=12, d=768, vocab=50257, n_ctx=1024),
    "tiny": dict(n_layer=2, n_head=4, d=64, vocab=97, n_ctx=64),
}


def make_params(cfg, seed=0, dtype=np.float32):
    """Random weights of GPT-2's shapes (N(0, 0.02), as GPT-2 initialises them; layer-norm
    gains near 1), laid out as picoGPT loads them."""
    rng = np.random.default_rng(seed)
    d = cfg["d"]

    def w(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(dtype)

    def ln():
        return {"g": (1 + rng.standard_normal(d) * 0.1).astype(dtype), "b": w(d)}
    blocks = [{"ln_1": ln(), "ln_2": ln(),
               "attn": {"c_attn": {"w": w(d, 3 * d), "b": w(3 * d)},
                        "c_proj": {"w": w(d, d), "b": w(d)}},
               "mlp": {"c_fc": {"w": w(d, 4 * d), "b": w(4 * d)},
                       "c_proj": {"w": w(4 * d, d), "b": w(d)}}}
              for _ in range(cfg["n_layer"])]
    return {"wte": w(cfg["vocab"], d), "wpe": w(cfg["n_ctx"], d), "blocks": blocks,
            "ln_f": ln()}


# --- plain NumPy, as a picoGPT-style port has it ---------------------------------------

_GELU_C = float(np.sqrt(2 / np.pi))


def np_gelu(x):
    return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def np_softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def np_layer_norm(x, g, b, eps=1e-5):
    m = np.mean(x, axis=-1, keepdims=True)
    v = np.var(x, axis=-1, keepdims=True)
    return g * (x - m) / np.sqrt(v + eps) + b


def np_forward(ids, P, n_head):
    """Logits (T, vocab) of the token ids (T,)."""
    x = P["wte"][ids] + P["wpe"][:len(ids)]
    T = len(ids)
    mask = ((1 - np.tri(T, dtype=x.dtype)) * -1e10).astype(x.dtype)
    scale = x.dtype.type(1 / math.sqrt(x.shape[-1] // n_head))
    for blk in P["blocks"]:
        a = blk["attn"]
        h = np_layer_norm(x, **blk["ln_1"]) @ a["c_attn"]["w"] + a["c_attn"]["b"]
        heads = [np.split(part, n_head, axis=-1) for part in np.split(h, 3, axis=-1)]
        out = [np_softmax(q @ k.T * scale + mask) @ v for q, k, v in zip(*heads)]
        x = x + np.hstack(out) @ a["c_proj"]["w"] + a["c_proj"]["b"]
        m = blk["mlp"]
        h = np_gelu(np_layer_norm(x, **blk["ln_2"]) @ m["c_fc"]["w"] + m["c_fc"]["b"])
        x = x + h @ m["c_proj"]["w"] + m["c_proj"]["b"]
    return np_layer_norm(x, **P["ln_f"]) @ P["wte"].T


# --- on dlkern's functions -------------------------------------------------------------

def dl_forward(ids, P, n_head):
    """np_forward with every layer a dlkern call: embedding, layer_norm, linear on the
    (D_in, D_out) weights as they are, scaled_dot_product_attention over the heads at
    once, gelu (tanh); the output projection reads the embedding table as (out, in)."""
    T = len(ids)
    x = dlkern.embedding(ids, P["wte"]) + P["wpe"][:T]
    d = x.shape[-1]
    for blk in P["blocks"]:
        a, m = blk["attn"], blk["mlp"]
        h = dlkern.linear(dlkern.layer_norm(x, blk["ln_1"]["g"], blk["ln_1"]["b"])[0],
                          a["c_attn"]["w"], a["c_attn"]["b"], weight_layout="in_out")
        q, k, v = (h[:, i * d:(i + 1) * d].reshape(T, n_head, d // n_head).transpose(1, 0, 2)
                   for i in range(3))
        z, _ = dlkern.scaled_dot_product_attention(q, k, v, causal=True)   # (out, lse)
        z = z.transpose(1, 0, 2).reshape(T, d)
        x = x + dlkern.linear(z, a["c_proj"]["w"], a["c_proj"]["b"], weight_layout="in_out")
        h = dlkern.linear(dlkern.layer_norm(x, blk["ln_2"]["g"], blk["ln_2"]["b"])[0],
                          m["c_fc"]["w"], m["c_fc"]["b"], weight_layout="in_out")
        h = dlkern.gelu(h, approximate="tanh")
        x = x + dlkern.linear(h, m["c_proj"]["w"], m["c_proj"]["b"], weight_layout="in_out")
    x = dlkern.layer_norm(x, P["ln_f"]["g"], P["ln_f"]["b"])[0]
    return dlkern.linear(x, P["wte"])


# --- the PyTorch eager twin (imported only here: a benchmark peer, never a dependency) --

def torch_forward_fn(P, n_head):
    """A function ids (T,) -> logits on torch tensors that share P's memory."""
    import torch
    import torch.nn.functional as F
    def shared(tree):                    # the same nesting, tensors on the same memory
        if isinstance(tree, np.ndarray):
            return torch.from_numpy(tree)
        if isinstance(tree, list):
            return [shared(t) for t in tree]
        return {k: shared(v) for k, v in tree.items()}
    tp = shared(P)
    d = P["wte"].shape[1]

    def forward(ids):
        with torch.inference_mode():
            ids = torch.from_numpy(np.asarray(ids))
            T = ids.shape[0]
            x = F.embedding(ids, tp["wte"]) + tp["wpe"][:T]
            for blk in tp["blocks"]:
                a, m = blk["attn"], blk["mlp"]
                h = F.layer_norm(x, (d,), blk["ln_1"]["g"], blk["ln_1"]["b"], 1e-5)
                h = torch.addmm(a["c_attn"]["b"], h, a["c_attn"]["w"])
                q, k, v = (t.view(T, n_head, d // n_head).transpose(0, 1)
                           for t in h.split(d, dim=1))
                z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                z = z.transpose(0, 1).reshape(T, d)
                x = x + torch.addmm(a["c_proj"]["b"], z, a["c_proj"]["w"])
                h = F.layer_norm(x, (d,), blk["ln_2"]["g"], blk["ln_2"]["b"], 1e-5)
                h = F.gelu(torch.addmm(m["c_fc"]["b"], h, m["c_fc"]["w"]), approximate="tanh")
                x = x + torch.addmm(m["c_proj"]["b"], h, m["c_proj"]["w"])
            x = F.layer_norm(x, (d,), tp["ln_f"]["g"], tp["ln_f"]["b"], 1e-5)
            return (x @ tp["wte"].T).numpy()
    return forward


def generate(forward, ids, n_tokens):
    """Greedy decoding: n_tokens arg-max tokens appended to ids, each after a full forward."""
    ids = list(ids)
    for _ in range(n_tokens):
        ids.append(int(np.argmax(forward(np.asarray(ids))[-1])))
    return ids[-n_tokens:]


def contenders(cfg, P, with_torch=True):
    """{name: forward(ids) -> logits} for dlkern, NumPy and (if installed) torch."""
    h = cfg["n_head"]
    out = {"dlkern": lambda ids: dl_forward(ids, P, h),
           "numpy": lambda ids: np_forward(ids, P, h)}
    if with_torch:
        try:
            import torch
            torch.set_num_threads(dlkern.get_num_threads())
            out["torch"] = torch_forward_fn(P, h)
        except ImportError:
            pass
    return out


def measure(cfg, T_list, n_generate, rounds, with_torch=True, seed=0):
    """Yields (workload, {contender: seconds}), one as each is measured: a forward at
    each T, then n_generate tokens of greedy generation from a prompt of the first T."""
    P = make_params(cfg, seed)
    fns = contenders(cfg, P, with_torch)
    rng = np.random.default_rng(seed + 1)
    for T in T_list:
        ids = rng.integers(0, cfg["vocab"], T)
        yield f"forward T={T}", interleaved({n: (lambda f=f: f(ids)) for n, f in fns.items()},
                                            rounds=rounds, inner=1, warm=0)
    if n_generate:
        ids = rng.integers(0, cfg["vocab"], T_list[0])
        yield (f"generate {n_generate} tokens from T={T_list[0]}",
               interleaved({n: (lambda f=f: generate(f, ids, n_generate))
                            for n, f in fns.items()}, rounds=rounds, inner=1, warm=0))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="124M")
    ap.add_argument("--T", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--generate", type=int, default=16, help="tokens of greedy generation")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    cfg = CONFIGS[args.config]
    if max(args.T) + args.generate > cfg["n_ctx"]:
        ap.error(f"T + generate must fit the context of {cfg['n_ctx']}")
    print("# GPT-2-shaped forward and generation: dlkern, plain NumPy, PyTorch eager\n")
    print(stamp("python bench/gpt2.py " + " ".join(argv if argv is not None
                                                   else sys.argv[1:])) + "\n")
    print(f"GPT-2 {args.config} ({cfg['n_layer']} layers, {cfg['n_head']} heads, d "
          f"{cfg['d']}, vocabulary {cfg['vocab']}), float32, {dlkern.get_num_threads()} "
          f"threads; medians of {args.rounds} interleaved rounds\n")
    print("| workload | dlkern ms | NumPy ms | vs NumPy | torch ms | vs torch |")
    print("|---|---|---|---|---|---|")
    for name, t in measure(cfg, args.T, args.generate, args.rounds, not args.no_torch):
        torch_t = (f"{t['torch'] * 1e3:.1f} | {t['torch'] / t['dlkern']:.2f}" if "torch" in t
                   else "- | -")
        print(f"| {name} | {t['dlkern'] * 1e3:.1f} | {t['numpy'] * 1e3:.1f} | "
              f"{t['numpy'] / t['dlkern']:.2f} | {torch_t} |", flush=True)


if __name__ == "__main__":
    main()
