"""The PyTorch / TransformerLens runtime of the exchange format (constructions/hooked.py, issue 16),
with the real torch, transformer_lens and safetensors packages.

Three independent readings of one file are compared: the hooked torch module, attncheck's emulator
in exact (float64) mode on ``load_model(DIR)``, and :func:`numpy_pass` below, this file's own
few lines of the format's forward pass (docs/format.md).  The task's truth
(constructions/tasks.py) judges the exported constructions on every input of 3^8.
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformer_lens")
safetensors_torch = pytest.importorskip("safetensors.torch")

from attncheck.constructions import exchange as ex  # noqa: E402
from attncheck.constructions import tasks  # noqa: E402
from attncheck.constructions.hooked import HookedAttnOnly, load_hooked  # noqa: E402
from attncheck.constructions.precision import EXACT  # noqa: E402
from attncheck.verifiers.emulator import forward  # noqa: E402

N, ALPHABET = 8, 3
ALL_INPUTS = np.array(list(itertools.product(range(ALPHABET), repeat=N)), dtype=np.int64)   # (6561, 8)
EXPORTS = {"induction": ["induction", "--N", N, "--alphabet", ALPHABET],
           "hop": ["hop", "--k", 2, "--N", N, "--alphabet", ALPHABET, "--residual", "additive"]}
CLI = "import sys; from attncheck.cli.main import main; main(sys.argv[1:])"


def attncheck(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Directories written by ``attncheck export`` (a separate process, as a user runs it)."""
    out = {}
    for task, args in EXPORTS.items():
        d = tmp_path_factory.mktemp(task)
        r = attncheck("export", *args, "--out", d)
        assert r.returncode == 0, r.stderr
        out[task] = d
    return out


def truth(task: str, X: np.ndarray) -> np.ndarray:
    """Plain-Python outputs (B, N), -1 for bottom."""
    f = tasks.induction_heads if task == "induction" else (lambda x: tasks.hop(x, 2))
    return np.array([[-1 if o is None else o for o in f(list(x))] for x in X.tolist()], dtype=np.int64)


def numpy_pass(m: ex.ExchangeModel, ids: np.ndarray):
    """ids (B, T) -> (logits (B, T, U), patterns per layer (B, H, T, T)), float64, written from
    docs/format.md alone."""
    B, T = ids.shape
    resid = m.W_E[ids] + m.W_pos[:T]                                   # (B, T, D)
    below = np.tril(np.ones((T, T), dtype=bool))
    patterns = []
    for blk in m.blocks:
        qkv = [np.einsum("btd,hde->bhte", resid, W) + b[None, :, None, :]
               for W, b in ((blk.W_Q, blk.b_Q), (blk.W_K, blk.b_K), (blk.W_V, blk.b_V))]
        s = m.attn_scale * qkv[0] @ np.swapaxes(qkv[1], 2, 3)          # (B, H, T, T)
        s = np.where(below, s, -np.inf)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        patterns.append(p)
        resid = resid + np.einsum("bhte,hed->btd", p @ qkv[2], blk.W_O) + blk.b_O
    return resid @ m.W_U + m.b_U, patterns


def random_model(seed: int, start: bool, H: int = 2, d_head: int = 3, L: int = 2, D: int = 6,
                 n: int = 5, alphabet: int = 3) -> ex.ExchangeModel:
    """Gaussian weights and biases in the format; ids: symbols, bottom, start, one unused id."""
    rng = np.random.default_rng(seed)

    def g(*shape):
        return rng.normal(size=shape)

    blocks = tuple(ex.AttnBlock(g(H, D, d_head), g(H, D, d_head), g(H, D, d_head), g(H, d_head, D),
                                g(H, d_head), g(H, d_head), g(H, d_head), g(D)) for _ in range(L))
    V = alphabet + 3
    return ex.ExchangeModel(g(V, D), g(n + 2, D), blocks, g(D, alphabet + 2), g(alphabet + 2), "induction", n,
                            alphabet, tuple(range(alphabet)), alphabet, alphabet + 1 if start else None,
                            float(rng.uniform(0.3, 1.5)), "exact")


def real_heads(trace_attention, H: int, start) -> np.ndarray:
    """The emulator's (B, H', T', T') weights of one layer cut to the exchange model's own heads
    and positions: ``to_construction`` appends a b_O head after the H real ones, and without a
    start token it puts a zero row 0 nobody attends to before the real positions."""
    w = np.asarray(trace_attention)[:, :H]
    return w if start is not None else w[:, :, 1:, 1:]


# --- 1. exported constructions: every input of 3^8 ----------------------------------------------
@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_float64_outputs_equal_the_emulator_and_the_truth_on_every_input(exported, task):
    model = load_hooked(exported[task])
    got = model.predict(ALL_INPUTS)                                     # (6561, 8)
    emu = forward(ex.load_model(exported[task]), ALL_INPUTS, EXACT, keep=False).outputs
    np.testing.assert_array_equal(got, emu)
    np.testing.assert_array_equal(got, truth(task, ALL_INPUTS))


@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_outputs_equal_attncheck_run_precision_exact(exported, task, cli):
    """The command a user runs, input by input (some of them shorter than N)."""
    model = load_hooked(exported[task])
    rng = np.random.default_rng(7)
    extra = ["--k", "2"] if task == "hop" else []
    for n in (N, N, N, 5, 3):
        x = rng.integers(0, ALPHABET, size=n)
        r = cli("run", task, "--input", "".join("abc"[s] for s in x), "--from", exported[task],
                "--precision", "exact", "--json", *extra)
        assert r.code == 0, r.err
        want = [-1 if o is None else o for o in r.json["outputs"]]
        assert model.predict(x[None]).tolist() == [want]


# --- 2. run_with_cache: the emulator's attention ------------------------------------------------
@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_cached_patterns_equal_the_emulators(exported, task):
    model = load_hooked(exported[task])
    m = model.exchange
    X = ALL_INPUTS[::7]
    _, cache = model.run_with_cache(model.to_tokens(X))
    trace = forward(ex.load_model(exported[task]), X, EXACT)
    for l in range(m.n_layers):
        got = cache["pattern", l].numpy()                               # (B, H, N+1, N+1)
        assert got.shape == (len(X), m.n_heads, N + 1, N + 1)
        np.testing.assert_allclose(got, real_heads(trace.attention[l], m.n_heads, m.start), rtol=0, atol=1e-9)
        assert torch.equal(cache[f"blocks.{l}.attn.hook_pattern"], cache["pattern", l])


def test_the_start_row_stays_fixed_and_the_keepers_never_look_at_it(exported):
    """The exported start keeper (docs/format.md) under torch: row 0 after every layer equals the
    start embedding, and no task position puts weight on row 0 through a keeper head."""
    model = load_hooked(exported["induction"])
    m = model.exchange
    _, cache = model.run_with_cache(model.to_tokens(ALL_INPUTS[::11]))
    row0 = cache["hook_embed"][:, 0] + cache["hook_pos_embed"][:, 0]
    for l in m.source["start_keeper_layers"]:
        assert torch.equal(cache["resid_post", l][:, 0], row0)
        keeper = m.n_heads - 1
        assert float(cache["pattern", l][:, keeper, 1:, 0].abs().max()) == 0.0


# --- 3. random weights, biases, with and without a start token ----------------------------------
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("start", [True, False])
def test_random_weights_equal_numpy_and_the_emulator(seed, start):
    m = random_model(seed, start)
    model = HookedAttnOnly(m)
    X = np.random.default_rng(50 + seed).integers(0, m.alphabet, size=(300, m.N))
    ids = m.input_ids(X)
    logits, cache = model.run_with_cache(torch.as_tensor(ids))
    want_logits, want_patterns = numpy_pass(m, ids)
    np.testing.assert_allclose(logits.detach().numpy(), want_logits, rtol=1e-10, atol=1e-10)
    trace = forward(ex.to_construction(m), X, EXACT)
    got = model.predict(X)
    np.testing.assert_array_equal(got, m.read_out(want_logits[:, -m.N:].argmax(-1)))
    np.testing.assert_array_equal(got, trace.outputs)
    for l in range(m.n_layers):
        p = cache["pattern", l].numpy()
        np.testing.assert_allclose(p, want_patterns[l], rtol=0, atol=1e-9)
        np.testing.assert_allclose(p, real_heads(trace.attention[l], m.n_heads, m.start), rtol=0, atol=1e-9)
        # the residual the emulator carries (its first d_model coordinates) at the real positions
        res = trace.residuals[l + 1][:, (0 if start else 1):, :m.d_model]
        np.testing.assert_allclose(cache["resid_post", l].detach().numpy(), res, rtol=1e-9, atol=1e-9)


def test_hook_shapes_and_the_block_identities():
    """TransformerLens's shapes, and resid_post = resid_pre + attn_out,
    attn_out = sum_h z_h W_O[h] + b_O, z = pattern v, scores = attn_scale q.k under the mask."""
    m = random_model(11, True)
    model = HookedAttnOnly(m, use_attn_result=True)
    ids = torch.as_tensor(m.input_ids(np.random.default_rng(1).integers(0, 3, size=(4, m.N))))
    _, c = model.run_with_cache(ids)
    B, T, H, d, D = 4, m.N + 1, m.n_heads, m.d_head, m.d_model
    for l in range(m.n_layers):
        a = model.blocks[l].attn
        for name in ("q", "k", "v", "z"):
            assert c[name, l].shape == (B, T, H, d)
        assert c["attn_scores", l].shape == c["pattern", l].shape == (B, H, T, T)
        assert c["result", l].shape == (B, T, H, D)
        assert c["resid_pre", l].shape == c["attn_out", l].shape == c["resid_post", l].shape == (B, T, D)
        torch.testing.assert_close(c["resid_post", l], c["resid_pre", l] + c["attn_out", l], rtol=0, atol=1e-12)
        torch.testing.assert_close(c["z", l], torch.einsum("bhqk,bkhe->bqhe", c["pattern", l], c["v", l]))
        torch.testing.assert_close(c["attn_out", l], c["result", l].sum(2) + a.b_O)
        s = c["attn_scores", l]
        upper = torch.ones(T, T, dtype=torch.bool).triu(1)
        assert bool(torch.isneginf(s[..., upper]).all()) and bool(torch.isfinite(s[..., ~upper]).all())
        torch.testing.assert_close(s[..., ~upper], (m.attn_scale * torch.einsum(
            "bqhe,bkhe->bhqk", c["q", l], c["k", l]))[..., ~upper])
    if m.n_layers > 1:
        torch.testing.assert_close(c["resid_pre", 1], c["resid_post", 0], rtol=0, atol=0)
    torch.testing.assert_close(c["resid_pre", 0], c["hook_embed"] + c["hook_pos_embed"], rtol=0, atol=0)


def test_hooks_intervene_zero_ablation_equals_a_zeroed_W_O():
    """A hook that zeroes head 1's z in layer 0 gives the logits of the model whose W_O[1] is 0."""
    m = random_model(3, False)
    ids = torch.as_tensor(m.input_ids(np.random.default_rng(2).integers(0, 3, size=(50, m.N))))

    def ablate(z, hook):
        z = z.clone()
        z[:, :, 1] = 0.0
        return z

    got = HookedAttnOnly(m).run_with_hooks(ids, fwd_hooks=[("blocks.0.attn.hook_z", ablate)])
    W_O = np.array(m.blocks[0].W_O)
    W_O[1] = 0.0
    b0 = m.blocks[0]
    edited = ex.ExchangeModel(m.W_E, m.W_pos, (ex.AttnBlock(b0.W_Q, b0.W_K, b0.W_V, W_O, b0.b_Q, b0.b_K, b0.b_V,
                                                           b0.b_O),) + m.blocks[1:],
                              m.W_U, m.b_U, m.task, m.N, m.alphabet, m.symbols, m.bottom, m.start, m.attn_scale,
                              m.precision)
    want, _ = numpy_pass(edited, ids.numpy())
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-10, atol=1e-10)
    assert not np.allclose(got.detach().numpy(), numpy_pass(m, ids.numpy())[0])


def test_bad_ids_are_value_errors():
    model = HookedAttnOnly(random_model(0, True))
    with pytest.raises(ValueError, match="token ids"):
        model(torch.tensor([[0, 99]]))
    with pytest.raises(ValueError, match="n_ctx"):
        model(torch.zeros((1, model.cfg.n_ctx + 1), dtype=torch.long))
    for bad in (torch.zeros((1, 3)), torch.zeros((1, 3), dtype=torch.bfloat16), torch.zeros((1, 3), dtype=torch.bool),
                torch.zeros((1, 2, 3), dtype=torch.long)):
        with pytest.raises(ValueError, match="integer"):
            model(bad)
    with pytest.raises(ValueError, match="floating"):
        HookedAttnOnly(random_model(0, True), dtype=torch.int64)


# --- 4. safetensors + torch, float32 -----------------------------------------------------------
@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_safetensors_torch_gives_the_same_state_dict(exported, task):
    tensors = safetensors_torch.load_file(str(exported[task] / "model.safetensors"))
    model = load_hooked(exported[task])
    state = model.state_dict()
    assert sorted(tensors) == sorted(state)
    for k, v in tensors.items():
        assert v.dtype == torch.float64 and torch.equal(v, state[k]), k
    # plain torch: a model built from random weights of the same shapes, then load_state_dict
    blank = HookedAttnOnly(ex.ExchangeModel(
        *(np.zeros_like(a) for a in (model.exchange.W_E, model.exchange.W_pos)),
        tuple(ex.AttnBlock(*(np.zeros_like(getattr(b, n)) for n in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K",
                                                                    "b_V", "b_O"))) for b in model.exchange.blocks),
        np.zeros_like(model.exchange.W_U), np.zeros_like(model.exchange.b_U), model.exchange.task, N, ALPHABET,
        model.exchange.symbols, model.exchange.bottom, model.exchange.start, 1.0, "exact",
        model.exchange.params))
    blank.load_state_dict(tensors)
    ids = model.to_tokens(ALL_INPUTS[::13])
    assert torch.equal(blank(ids), model(ids))


@pytest.mark.parametrize("task", sorted(EXPORTS))
def test_float32_gives_the_same_outputs_on_every_input(exported, task):
    """Not promised by the format (float64 is), but the exports' margins carry float32."""
    model = load_hooked(exported[task], dtype=torch.float32)
    assert model.embed.W_E.dtype == torch.float32
    np.testing.assert_array_equal(model.predict(ALL_INPUTS), truth(task, ALL_INPUTS))


# --- 5. the default install never loads torch --------------------------------------------------
def test_verify_export_run_inspect_never_import_torch(exported, tmp_path):
    code = (
        "import sys\n"
        "from attncheck.cli.main import main\n"
        f"for argv in ({['verify', 'induction', '--N', '8']!r}, "
        f"{['verify', 'induction', '--from', str(exported['induction']), '--mode', 'exhaustive']!r}, "
        f"{['export', 'induction', '--N', '4', '--out', str(tmp_path / 'e')]!r}, "
        f"{['run', 'induction', '--input', 'abcab', '--from', str(exported['induction'])]!r}, "
        f"{['inspect', 'induction', '--from', str(exported['induction'])]!r}):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code in (0, None), (argv, e.code)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformer_lens')\n"
        "             or m == 'attncheck.constructions.hooked'))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("start", [True, False])
def test_written_back_from_state_dict_and_cfg_it_reads_the_same(tmp_path, start):
    """TransformerLens's side of the round trip: the module's state_dict and cfg (attn_scale a
    divisor there) written as a TransformerLens user would (safetensors.torch, attncheck.json from
    cfg) read back into a model with the same outputs and patterns."""
    m = random_model(5, start)
    model = HookedAttnOnly(m)
    cfg = model.cfg
    safetensors_torch.save_file(model.state_dict(), str(tmp_path / "model.safetensors"))
    meta = {"format": "attncheck-exchange", "version": 1, "task": m.task, "N": m.N, "alphabet": m.alphabet,
            "symbols": list(m.symbols), "bottom": m.bottom, "start": m.start,
            "attn_scale": 1.0 / cfg.attn_scale, "precision": "exact", "params": {}, "source": {},
            "n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "d_model": cfg.d_model, "d_head": cfg.d_head,
            "d_vocab": cfg.d_vocab, "d_vocab_out": cfg.d_vocab_out}
    (tmp_path / "attncheck.json").write_text(json.dumps(meta))
    again = load_hooked(tmp_path)
    assert again.cfg.n_ctx == cfg.n_ctx == m.n_ctx
    assert again.exchange.attn_scale == pytest.approx(m.attn_scale, rel=1e-15)
    X = np.random.default_rng(3).integers(0, m.alphabet, size=(200, m.N))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    _, c1 = model.run_with_cache(model.to_tokens(X))
    _, c2 = again.run_with_cache(again.to_tokens(X))
    for l in range(m.n_layers):
        torch.testing.assert_close(c2["pattern", l], c1["pattern", l], rtol=0, atol=1e-12)


def test_activation_cache_helpers_add_up_to_the_residual():
    """TransformerLens's cache helpers work on this module: the decomposition into embeddings and
    layer outputs, and into per-head results plus the b_O's, sums to the final residual."""
    m = random_model(8, True)
    model = HookedAttnOnly(m, use_attn_result=True)
    ids = torch.as_tensor(m.input_ids(np.random.default_rng(4).integers(0, 3, size=(6, m.N))))
    _, cache = model.run_with_cache(ids)
    final = cache["resid_post", -1]
    torch.testing.assert_close(cache.decompose_resid(apply_ln=False).sum(0), final)
    torch.testing.assert_close(cache.accumulated_resid()[-1], final)
    heads = cache.stack_head_results(apply_ln=False)                    # (L H, B, T, D)
    assert heads.shape[0] == m.n_layers * m.n_heads
    b_O = sum(torch.tensor(b.b_O) for b in m.blocks)
    torch.testing.assert_close(heads.sum(0) + b_O + cache["hook_embed"] + cache["hook_pos_embed"], final)
