#!/usr/bin/env python3
"""Generate tests/data/hf_config_attention.txt: what an engine reads from each config.json in
tests/data/configs/ beside the rope (attention shape, lengths, multipliers).

Run from the repository root:

    /usr/bin/python3 tests/oracle/gen_hf_config.py

Written from the upstream code, never from include/posenc:

  heads, KV heads    HF `PretrainedConfig` attribute maps: num_attention_heads (GPT-NeoX /
                     GPT-J: n_head); num_key_value_heads, absent -> num_attention_heads
                     (`LlamaConfig.__init__`: "if num_key_value_heads is None").
  q.k head size      DeepSeek-V3 `DeepseekV3Attention`: qk_head_dim = qk_nope_head_dim +
                     qk_rope_head_dim; else head_dim, else hidden_size // num_attention_heads.
  sliding window     `Qwen2Config`: sliding_window if use_sliding_window else None; Mistral,
                     Gemma-2/3, GPT-OSS: the key. Layer types: the layer_types key, else
                     Gemma-3's sliding_window_pattern p ((i + 1) % p != 0 slides), else
                     `Gemma2Config` (even layers slide), else Qwen2's i >= max_window_layers.
  served length      vLLM `_get_and_verify_max_len` (vllm/config.py): yarn ->
                     original_max_position_embeddings * factor; other types but su / longrope
                     / llama3 -> max_position_embeddings * factor; int() of the product;
                     Gemma-3 (model_type containing "gemma3"): max_position_embeddings, already
                     scaled.
  softmax scale      DeepSeek-V3 `DeepseekV3Attention.__init__`: scaling = qk_head_dim ** -0.5,
                     times yarn_get_mscale(factor, mscale_all_dim) ** 2 when mscale_all_dim is
                     non-zero (yarn_get_mscale(s, m) = 0.1 * m * ln(s) + 1 for s > 1, else 1);
                     Gemma-2/3: query_pre_attn_scalar ** -0.5; others head_dim ** -0.5.
  attention factor   HF `_compute_yarn_parameters` (attention_factor, else
                     get_mscale(s, mscale) / get_mscale(s, mscale_all_dim) when both are set,
                     else get_mscale(s)) and `_compute_longrope_parameters` (attention_factor,
                     else sqrt(1 + ln(s) / ln(original)) for s > 1); 1 for other types.

Real values are computed in mpmath at 200 bits and written rounded once to binary64 as C99 hex
floats; integers in decimal. One row per (config, field): `config field value`.
"""

import json
import os
import sys

import mpmath

mpmath.mp.prec = 200
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
CONFIGS = os.path.join(ROOT, "configs")


def hexf(x):
    h = float(x).hex()
    m, e = h.split("p")
    if "." in m:
        m = m.rstrip("0").rstrip(".")
    return m + "p" + e


def text_config(cfg):
    tc = cfg.get("text_config")
    if isinstance(tc, dict) and not any(cfg.get(k) is not None
                                        for k in ("rope_scaling", "rope_parameters", "rope_theta")):
        return tc
    return cfg


def scaling_dict(cfg):
    d = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
    return d


def rope_type(d):
    t = d.get("rope_type") or d.get("type") or "default"
    if t == "su" or (t == "yarn" and "short_factor" in d and "long_factor" in d):
        t = "longrope"
    return t


def get_mscale(s, m=1):
    s, m = mpmath.mpf(s), mpmath.mpf(m)
    return mpmath.mpf(1) if s <= 1 else mpmath.mpf("0.1") * m * mpmath.log(s) + 1


def fields(cfg):
    c = text_config(cfg)
    d = scaling_dict(c)
    t = rope_type(d)
    heads = c.get("num_attention_heads", c.get("n_head"))
    out = {}
    out["num_attention_heads"] = heads or 0
    out["num_key_value_heads"] = c.get("num_key_value_heads") or heads or 0
    if c.get("qk_rope_head_dim"):
        qk = c.get("qk_nope_head_dim", 0) + c["qk_rope_head_dim"]
    elif c.get("head_dim"):
        qk = c["head_dim"]
    else:
        qk = c.get("hidden_size", c.get("n_embd")) // heads
    out["attention_head_dim"] = qk
    n = c.get("num_hidden_layers", 0)
    out["num_hidden_layers"] = n
    sw = c.get("sliding_window") if c.get("use_sliding_window", True) else None
    out["sliding_window"] = sw or 0
    if c.get("layer_types"):
        types = c["layer_types"]
    elif c.get("sliding_window_pattern"):
        types = ["sliding_attention" if (i + 1) % c["sliding_window_pattern"] else "full_attention"
                 for i in range(n)]
    elif c.get("model_type") == "gemma2":
        types = ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    elif c.get("max_window_layers") is not None and sw is not None and "use_sliding_window" in c:
        types = ["sliding_attention" if i >= c["max_window_layers"] else "full_attention"
                 for i in range(n)]
    else:
        types = ["sliding_attention" if sw else "full_attention"] * n
    out["sliding_layers"] = sum(1 for x in types if x == "sliding_attention")
    mpe = c.get("max_position_embeddings", c.get("n_positions", 0))
    out["max_position_embeddings"] = mpe
    orig = c.get("original_max_position_embeddings") or d.get("original_max_position_embeddings") \
        or mpe
    factor = d.get("factor")
    if t in ("yarn", "longrope") and factor is None:
        factor = mpe / orig
    if "gemma3" in (c.get("model_type") or ""):  # vLLM: Gemma-3's length is already scaled
        out["served_max_position"] = mpe
    elif t == "yarn":
        out["served_max_position"] = int(orig * factor)
    elif t in ("linear", "dynamic") and factor is not None:
        out["served_max_position"] = int(mpe * factor)
    else:
        out["served_max_position"] = mpe
    mult = mpmath.mpf(1)
    if t == "yarn" and d.get("mscale_all_dim"):
        mult = get_mscale(factor, d["mscale_all_dim"]) ** 2
    out["softmax_scale_multiplier"] = mult
    scalar = c.get("query_pre_attn_scalar") or qk
    out["softmax_scale"] = mult / mpmath.sqrt(scalar)
    af = mpmath.mpf(1)
    if t == "yarn":
        if d.get("attention_factor") is not None:
            af = mpmath.mpf(d["attention_factor"])
        elif d.get("mscale") and d.get("mscale_all_dim"):
            af = get_mscale(factor, d["mscale"]) / get_mscale(factor, d["mscale_all_dim"])
        else:
            af = get_mscale(factor)
    elif t == "longrope":
        if d.get("attention_factor") is not None:
            af = mpmath.mpf(d["attention_factor"])
        elif factor > 1:
            af = mpmath.sqrt(1 + mpmath.log(factor) / mpmath.log(orig))
    out["attention_factor"] = af
    return out


def main():
    rows = []
    for name in sorted(os.listdir(CONFIGS)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(CONFIGS, name)) as f:
            cfg = json.load(f)
        for k, v in fields(cfg).items():
            rows.append("%s %s %s" % (name, k, str(v) if isinstance(v, int) else hexf(v)))
    head = [
        "# hf_config_attention.txt - generated by tests/oracle/gen_hf_config.py; do not edit.",
        "# python %s, mpmath %s" % (sys.version.split()[0], mpmath.__version__),
        "# columns: config (file in configs/), field, value (decimal integer, or a real rounded",
        "#   once to binary64 from 200-bit mpmath, as a C99 hex float). Fields: the counts of",
        "#   hf_rope_spec, sliding_layers = layers of type sliding_attention (every layer when",
        "#   no layer types and a sliding window), softmax_scale_multiplier, softmax_scale,",
        "#   attention_factor (the rope's, multiplying cos and sin).",
        "# records: %d" % len(rows),
    ]
    with open(os.path.join(ROOT, "hf_config_attention.txt"), "w") as f:
        f.write("\n".join(head + rows) + "\n")
    print("wrote %d records" % len(rows))


if __name__ == "__main__":
    main()
