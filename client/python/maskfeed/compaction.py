"""Trainer-side compaction of 4M batches (docs/masking.md#compaction-on-the-trainer), in torch, on any device.

Encoder: concatenate the encoder modalities, move the positions whose input mask is False to
the front of each row (a stable partition: both groups keep their order), keep N of them, and
blank the kept slots that are padding. Decoder: the same after the decoder preparation
(sequences shifted by one with the OR of shifted target masks, images as mask tokens), plus
the self-attention expansion of the gathered attention values.

The partition is a stable sort of the mask, exact for any length — not 4M's argsort of the
float key mask + 1e-6 · index, which depends on rounding and mixes the groups once
1e-6 · index reaches 1 — and tests check every function against a plain loop.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import torch


def partition_order(mask: torch.Tensor) -> torch.Tensor:
    """(B, L) indices putting the positions whose `mask` is False first, then the others, each
    group in its original order. `mask`: bool (B, L), True = excluded."""
    return torch.sort(mask.to(torch.uint8), dim=1, stable=True).indices


def _gather(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of t (B, L, ...) at index (B, N)."""
    if t.dim() == 2:
        return torch.gather(t, 1, index)
    expanded = index.reshape(*index.shape, *([1] * (t.dim() - 2))).expand(
        *index.shape, *t.shape[2:])
    return torch.gather(t, 1, expanded)


@dataclass
class EncoderTokens:
    x: torch.Tensor             # (B, N + R, D); padding slots 0
    emb: torch.Tensor           # (B, N + R, D); padding slots 0
    mask: torch.Tensor          # (B, N + R) bool, True = padding
    modality_ids: torch.Tensor  # (B, N + R); -1 for padding and registers
    index: torch.Tensor         # (B, N): the concatenated position each slot came from


def encoder(x: torch.Tensor, emb: torch.Tensor, mask: torch.Tensor,
            modality_ids: torch.Tensor, num_tokens: int,
            registers: Optional[torch.Tensor] = None) -> EncoderTokens:
    """4M's encoder selection on the concatenated encoder modalities: x, emb (B, L, D), mask (B, L) bool
    (input_mask, True = not an input), modality_ids (B, L). Keeps `num_tokens` slots; valid
    positions beyond them are dropped from the end of the concatenation order. `registers`
    (R, D) are prepended with zero emb, mask False and modality id -1."""
    index = partition_order(mask)[:, :num_tokens]
    kept_mask = torch.gather(mask, 1, index)
    keep = (~kept_mask).unsqueeze(-1)
    out_x = _gather(x, index) * keep
    out_emb = _gather(emb, index) * keep
    out_mod = torch.where(kept_mask, torch.full_like(index, -1, dtype=modality_ids.dtype),
                          torch.gather(modality_ids, 1, index))
    if registers is not None and registers.shape[0] > 0:
        b, r = x.shape[0], registers.shape[0]
        out_x = torch.cat([registers.to(x.dtype).unsqueeze(0).expand(b, -1, -1), out_x], 1)
        out_emb = torch.cat([torch.zeros_like(out_x[:, :r]), out_emb], 1)
        kept_mask = torch.cat([torch.zeros(b, r, dtype=torch.bool, device=mask.device),
                               kept_mask], 1)
        out_mod = torch.cat([torch.full((b, r), -1, dtype=out_mod.dtype, device=out_mod.device),
                             out_mod], 1)
    return EncoderTokens(out_x, out_emb, kept_mask, out_mod, index)


@dataclass
class DecoderModality:
    """One decoder modality before preparation: tokens and emb (B, L, D), the
    target ids (B, L), target_mask (B, L) bool, attention values (B, L) (the batch's
    decoder_attention_mask), its modality id, and whether it is a sequence."""
    tokens: torch.Tensor
    emb: torch.Tensor
    ids: torch.Tensor
    target_mask: torch.Tensor
    attention: torch.Tensor
    modality_id: int
    is_sequence: bool


@dataclass
class DecoderTokens:
    tokens: torch.Tensor        # (B, N, D)
    emb: torch.Tensor           # (B, N, D)
    target_ids: torch.Tensor    # (B, N) int64, 0 on padding
    mask: torch.Tensor          # (B, N) bool, True = padding
    attention: torch.Tensor     # (B, N, N) bool, True = blocked
    modality_ids: torch.Tensor  # (B, N), -1 on padding
    order: Sequence[str]        # the modality order drawn


def prepare_decoder(modalities: Dict[str, DecoderModality],
                    generator: Optional[torch.Generator] = None):
    """The decoder's preparation: draws the decoder modality order from `generator`, shifts sequences
    by one (tokens[:, :-1], ids[:, 1:], mask = target_mask[:, 1:] | target_mask[:, :-1],
    attention[:, :-1]) and concatenates. Returns (tokens, emb, ids, mask, attention,
    modality_ids, order)."""
    names = sorted(modalities)
    perm = torch.randperm(len(names), generator=generator).tolist()
    order = [names[i] for i in perm]
    parts = []
    for name in order:
        m = modalities[name]
        if m.is_sequence:
            tokens, emb = m.tokens[:, :-1], m.emb[:, :-1]
            ids = m.ids[:, 1:]
            mask = m.target_mask[:, 1:] | m.target_mask[:, :-1]
            attention = m.attention[:, :-1]
        else:
            tokens, emb, ids, mask, attention = m.tokens, m.emb, m.ids, m.target_mask, m.attention
        mod = torch.full(mask.shape, m.modality_id, dtype=torch.int16, device=mask.device)
        parts.append((tokens, emb, ids.to(torch.int64), mask, attention.to(torch.int64), mod))
    cat = [torch.cat([p[k] for p in parts], 1) for k in range(6)]
    return (*cat, order)


def decoder_attention(attention: torch.Tensor, modality_ids: torch.Tensor,
                      causal: bool = False, separate_modalities: bool = True) -> torch.Tensor:
    """The decoder's attention: (B, N, N) bool, True where query i may not attend to key j. With C the
    cumulative sum of the gathered attention values: blocked iff j >= C[i] (or, with `causal`,
    iff j > i); with `separate_modalities` also whenever the keys' modality differs."""
    n = attention.shape[1]
    keys = torch.arange(n, device=attention.device)
    if causal:
        blocked = keys.view(1, 1, n) > keys.view(1, n, 1)
        blocked = blocked.expand(attention.shape[0], n, n)
    else:
        cumsum = torch.cumsum(attention, dim=1)
        blocked = keys.view(1, 1, n) >= cumsum.unsqueeze(-1)
    if separate_modalities:
        blocked = blocked | (modality_ids.unsqueeze(1) != modality_ids.unsqueeze(2))
    return blocked


def decoder(tokens: torch.Tensor, emb: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor,
            attention: torch.Tensor, modality_ids: torch.Tensor, num_tokens: int,
            order: Sequence[str] = (), causal: bool = False,
            separate_modalities: bool = True) -> DecoderTokens:
    """The decoder's selection on prepared decoder inputs (see prepare_decoder): partition, keep
    `num_tokens`, blank padding slots (tokens, emb, target id 0), expand the attention with the
    modality ids of the kept slots before padding ones are reset to -1."""
    index = partition_order(mask)[:, :num_tokens]
    kept_mask = torch.gather(mask, 1, index)
    keep = ~kept_mask
    out_tokens = _gather(tokens, index) * keep.unsqueeze(-1)
    out_emb = _gather(emb, index) * keep.unsqueeze(-1)
    out_ids = torch.gather(ids, 1, index) * keep
    kept_mod = torch.gather(modality_ids, 1, index)
    blocked = decoder_attention(torch.gather(attention, 1, index), kept_mod, causal,
                                separate_modalities)
    out_mod = torch.where(kept_mask, torch.full_like(kept_mod, -1), kept_mod)
    return DecoderTokens(out_tokens, out_emb, out_ids.to(torch.int64), kept_mask, blocked,
                         out_mod, list(order))
