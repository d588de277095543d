"""maskfeed.compaction against plain loop references on random batches, and on a real batch
from a server (docs/masking.md#compaction-on-the-trainer)."""

import pytest

torch = pytest.importorskip("torch")

import maskfeed  # noqa: E402
from maskfeed import compaction  # noqa: E402


def random_inputs(seed, b=4, length=24, d=3, p=0.5):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(b, length, generator=g) < p
    mask[0] = True    # a row with nothing valid
    mask[1] = False   # a row with everything valid
    x = torch.randn(b, length, d, generator=g)
    emb = torch.randn(b, length, d, generator=g)
    mod = torch.randint(0, 3, (b, length), generator=g, dtype=torch.int16)
    return x, emb, mask, mod


def partition_loop(mask_row):
    valid = [i for i, m in enumerate(mask_row.tolist()) if not m]
    return valid + [i for i, m in enumerate(mask_row.tolist()) if m]


def encoder_loop(x, emb, mask, mod, n):
    b, _, d = x.shape
    ox, oe = torch.zeros(b, n, d), torch.zeros(b, n, d)
    om = torch.full((b, n), True)
    omod = torch.full((b, n), -1, dtype=mod.dtype)
    for r in range(b):
        for k, i in enumerate(partition_loop(mask[r])[:n]):
            if not mask[r, i]:
                ox[r, k], oe[r, k], om[r, k], omod[r, k] = x[r, i], emb[r, i], False, mod[r, i]
    return ox, oe, om, omod


def attention_loop(values, mod, causal, separate):
    b, n = values.shape
    out = torch.zeros(b, n, n, dtype=torch.bool)
    for r in range(b):
        c = 0
        cums = []
        for i in range(n):
            c += int(values[r, i])
            cums.append(c)
        for i in range(n):
            for j in range(n):
                blocked = j > i if causal else j >= cums[i]
                if separate and mod[r, j] != mod[r, i]:
                    blocked = True
                out[r, i, j] = blocked
    return out


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [1, 10, 24])
def test_encoder_matches_the_loop(seed, n):
    x, emb, mask, mod = random_inputs(seed)
    got = compaction.encoder(x, emb, mask, mod, n)
    ox, oe, om, omod = encoder_loop(x, emb, mask, mod, n)
    assert torch.equal(got.x, ox) and torch.equal(got.emb, oe)
    assert torch.equal(got.mask, om) and torch.equal(got.modality_ids, omod)


def test_partition_keeps_both_groups_in_order():
    # A stable sort is exact for any length (4M's float key mask + 1e-6 * index mixes the two
    # groups once 1e-6 * index reaches 1, and depends on float rounding before).
    mask = torch.zeros(1, 5000, dtype=torch.bool)
    mask[0, ::3] = True
    order = compaction.partition_order(mask)[0].tolist()
    assert order == partition_loop(mask[0])


def test_registers_are_prepended():
    x, emb, mask, mod = random_inputs(7)
    registers = torch.randn(2, x.shape[2])
    got = compaction.encoder(x, emb, mask, mod, 6, registers=registers)
    assert got.x.shape[1] == 8
    assert torch.equal(got.x[:, :2], registers.expand(x.shape[0], -1, -1))
    assert not got.mask[:, :2].any() and (got.modality_ids[:, :2] == -1).all()
    assert (got.emb[:, :2] == 0).all()


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("separate", [False, True])
def test_attention_matches_the_loop(causal, separate):
    g = torch.Generator().manual_seed(3)
    values = torch.randint(0, 3, (3, 12), generator=g)
    mod = torch.randint(0, 2, (3, 12), generator=g)
    got = compaction.decoder_attention(values, mod, causal=causal, separate_modalities=separate)
    assert torch.equal(got, attention_loop(values, mod, causal, separate))


def test_prepare_decoder_shifts_sequences_and_keeps_images():
    b, d = 2, 2
    seq_mask = torch.tensor([[True, False, False, False, True], [False, False, True, True, True]])
    img_mask = torch.tensor([[False, True, False], [True, True, True]])
    mods = {
        "caption": compaction.DecoderModality(
            tokens=torch.arange(b * 5 * d, dtype=torch.float32).view(b, 5, d),
            emb=torch.zeros(b, 5, d), ids=torch.arange(10).view(b, 5), target_mask=seq_mask,
            attention=(~seq_mask).to(torch.int32), modality_id=0, is_sequence=True),
        "tok_rgb": compaction.DecoderModality(
            tokens=torch.ones(b, 3, d), emb=torch.zeros(b, 3, d), ids=torch.arange(6).view(b, 3),
            target_mask=img_mask, attention=torch.tensor([[2, 0, 0], [0, 0, 0]]),
            modality_id=1, is_sequence=False),
    }
    tokens, emb, ids, mask, attention, mod, order = compaction.prepare_decoder(
        mods, torch.Generator().manual_seed(0))
    assert sorted(order) == ["caption", "tok_rgb"]
    start = 0 if order[0] == "caption" else 3
    sl = slice(start, start + 4)
    # Valid only where positions i and i+1 are both targets; ids shift left by one.
    assert mask[:, sl].tolist() == [[True, False, False, True], [False, True, True, True]]
    assert ids[:, sl].tolist() == [[1, 2, 3, 4], [6, 7, 8, 9]]
    assert torch.equal(tokens[:, sl], mods["caption"].tokens[:, :-1])
    assert (mod[:, sl] == 0).all() and tokens.shape[1] == 7


def test_decoder_blanks_padding_and_expands_attention():
    x, emb, mask, mod = random_inputs(11, length=16)
    ids = torch.randint(1, 100, mask.shape)
    values = (~mask).to(torch.int64)  # sequence-like: 1 on each target
    got = compaction.decoder(x, emb, ids, mask, values, mod, 10)
    ox, oe, om, omod = encoder_loop(x, emb, mask, mod, 10)
    assert torch.equal(got.tokens, ox) and torch.equal(got.emb, oe) and torch.equal(got.mask, om)
    assert torch.equal(got.modality_ids, omod.to(got.modality_ids.dtype))
    index = compaction.partition_order(mask)[:, :10]
    kept_ids = torch.gather(ids, 1, index) * ~om
    assert torch.equal(got.target_ids, kept_ids)
    expected = attention_loop(torch.gather(values, 1, index), torch.gather(mod, 1, index),
                              False, True)
    assert torch.equal(got.attention, expected)


def test_compacts_a_real_batch(start_server):
    server = start_server()
    with maskfeed.Feed(server.address, batch_size=8, seed=1, output="torch",
                       max_batches=1) as feed:
        batch = next(feed)
    names = list(batch)
    mask = torch.cat([batch[m]["input_mask"] for m in names], 1)
    ids = torch.cat([batch[m]["tensor"] for m in names], 1)
    mod = torch.cat([torch.full_like(batch[m]["tensor"], k, dtype=torch.int16)
                     for k, m in enumerate(names)], 1)
    x = ids.to(torch.float32).unsqueeze(-1)
    got = compaction.encoder(x, torch.zeros_like(x), mask, mod, 128)
    valid = (~mask).sum(1)
    assert ((~got.mask).sum(1) == valid.clamp(max=128)).all()
    # The valid slots come first and carry the input ids in concatenation order.
    for r in range(8):
        expected = ids[r][~mask[r]][:128].to(torch.float32)
        assert torch.equal(got.x[r, : len(expected), 0], expected)
