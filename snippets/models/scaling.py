"""Scaling-law arithmetic: LLaMA-style parameter counts (Touvron et al., 2023,
arXiv:2302.13971), training compute C ~ 6 N D, the compute-optimal split of Hoffmann et al.
(2022, arXiv:2203.15556), the loss fits of Kaplan et al. (2020, arXiv:2001.08361) and
Hoffmann et al., and the KV cache's memory per token.

Symbols (the guide's notation table): N parameters, D_tok training tokens, C_train training
FLOPs, L layers, C (d_model) width; the code names them n_params, n_tokens, flops, n_layers,
d_model.
"""

# --8<-- [start:imports]
import math
# --8<-- [end:imports]


# --8<-- [start:llama_count]
def swiglu_hidden(d_model: int, multiple_of: int = 256) -> int:
    """LLaMA's SwiGLU width: 2/3 of 4d (three matrices cost what two 4d ones would), rounded
    up to a multiple of `multiple_of` (256 in the released code)."""
    return multiple_of * math.ceil(int(2 * 4 * d_model / 3) / multiple_of)


def llama_parameter_count(vocab_size: int, d_model: int, n_layers: int,
                          d_ff: int | None = None) -> int:
    """Parameters of a LLaMA-1 decoder: no biases, RMSNorm (one weight vector), SwiGLU
    (gate, up, down), rotary positions (no parameters), an untied output head."""
    F = swiglu_hidden(d_model) if d_ff is None else d_ff
    attn = 4 * d_model * d_model                      # W_q, W_k, W_v, W_o, no biases
    mlp = 3 * d_model * F                             # gate, up, down
    norms = 2 * d_model                               # two RMSNorm weights per block
    embed, head = vocab_size * d_model, vocab_size * d_model  # untied
    return embed + n_layers * (attn + mlp + norms) + d_model + head  # + final RMSNorm
# --8<-- [end:llama_count]


# --8<-- [start:compute]
def training_flops(n_params: float, n_tokens: float) -> float:
    """C ~ 6 N D: 2 FLOPs per parameter per token forward (multiply, add), 4 backward."""
    return 6.0 * n_params * n_tokens


def chinchilla_optimal(flops: float, tokens_per_param: float = 20.0) -> tuple[float, float]:
    """The (N, D) that spends `flops` at a fixed ratio D = r N: C = 6 N (r N), N = sqrt(C / 6r).

    r = 20 is the rule of thumb read off Hoffmann et al.'s approaches 1 and 2 (their Table 3);
    it is not the optimum of their parametric fit, which `fit_optimal_split` computes."""
    if flops <= 0 or tokens_per_param <= 0:
        raise ValueError(f"flops and tokens_per_param must be > 0, got {flops}, {tokens_per_param}")
    n = math.sqrt(flops / (6.0 * tokens_per_param))
    return n, tokens_per_param * n
# --8<-- [end:compute]


# --8<-- [start:loss_fits]
def kaplan_loss_vs_params(n_params: float, n_c: float = 8.8e13, alpha_n: float = 0.076) -> float:
    """Kaplan et al. (eq. 1.1): L(N) = (N_c / N)^alpha_N nats/token, non-embedding N,
    trained to convergence on enough data (their WebText2 tokenisation)."""
    return (n_c / n_params) ** alpha_n


def chinchilla_loss(n_params: float, n_tokens: float, e: float = 1.69, a: float = 406.4,
                    b: float = 410.7, alpha: float = 0.34, beta: float = 0.28) -> float:
    """Hoffmann et al.'s parametric fit (approach 3): L = E + A / N^alpha + B / D^beta.

    E is the irreducible entropy of text; the two other terms are the penalties for a
    finite model and for finite data."""
    return e + a / n_params ** alpha + b / n_tokens ** beta
# --8<-- [end:loss_fits]


# --8<-- [start:fit_optimum]
# Approach 3's estimates as the paper's TeX source holds them (Besiroglu et al., 2024,
# arXiv:2404.10102, refit from them): A = e^6.0073404, B = e^6.0179186, E = e^0.5267228.
# The body prints them rounded (406.4, 410.7, 1.69, 0.34, 0.28), which moves the optimum.
CHINCHILLA_UNROUNDED = dict(a=math.exp(6.0073404), b=math.exp(6.0179186), alpha=0.33917084,
                            beta=0.2849083)


def fit_optimal_split(flops: float, a: float = 406.4, b: float = 410.7, alpha: float = 0.34,
                      beta: float = 0.28) -> tuple[float, float]:
    """The (N, D) that minimise L = E + a / N^alpha + b / D^beta subject to 6 N D = flops.

    Substituting D = C / 6N and setting dL/dN = 0 gives alpha a N^-alpha = beta b (6N / C)^beta,
    so N_opt = G (C/6)^(beta / (alpha + beta)) with G = (alpha a / (beta b))^(1 / (alpha + beta)),
    and D_opt = C / (6 N_opt) = (C/6)^(alpha / (alpha + beta)) / G (Hoffmann et al., eq. 4)."""
    if flops <= 0 or min(a, b, alpha, beta) <= 0:
        raise ValueError(f"flops, a, b, alpha, beta must be > 0, got {flops}, {a}, {b}, "
                         f"{alpha}, {beta}")
    g = (alpha * a / (beta * b)) ** (1.0 / (alpha + beta))
    n_opt = g * (flops / 6.0) ** (beta / (alpha + beta))
    return n_opt, flops / (6.0 * n_opt)
# --8<-- [end:fit_optimum]


# --8<-- [start:kv_memory]
def kv_cache_bytes_per_token(n_layers: int, n_kv_heads: int, d_head: int,
                             bytes_per_value: int = 2) -> int:
    """Every layer stores one key and one value vector per KV head for each position."""
    return 2 * n_layers * n_kv_heads * d_head * bytes_per_value
# --8<-- [end:kv_memory]
