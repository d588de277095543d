#!/usr/bin/env python3
"""A minimal 4M-style training loop on a maskfeed Feed (CPU is fine): embed the encoder tokens
of every modality, compact them (maskfeed.compaction.encoder), run a tiny transformer, prepare
and compact the decoder tokens, predict the target ids, and checkpoint the model together with
the feed's resume token, so that a restarted run continues with exactly the next batch.

    python3 train_step.py --address unix:/tmp/feed.sock --steps 20 --checkpoint /tmp/ckpt.pt
"""

import argparse
import os

import torch
from torch import nn

import maskfeed
from maskfeed import compaction

VOCAB = 1024  # the stand-in hashes token ids into a small vocabulary


class TinyFourM(nn.Module):
    def __init__(self, modalities, dim=32):
        super().__init__()
        self.modalities = sorted(modalities)
        self.token = nn.Embedding(VOCAB, dim)
        self.modality = nn.Embedding(len(self.modalities), dim)
        self.position = nn.Embedding(1024, dim)
        self.mask_token = nn.Parameter(torch.zeros(dim))
        # No dropout: the stand-in keeps training bit-reproducible across restarts.
        self.encoder = nn.TransformerEncoderLayer(dim, 4, 64, dropout=0.0, batch_first=True)
        self.decoder = nn.TransformerDecoderLayer(dim, 4, 64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(dim, VOCAB)

    def forward(self, batch, n_enc=128, n_dec=128, generator=None):
        xs, embs, masks, mods, dec = [], [], [], [], {}
        for k, name in enumerate(self.modalities):
            t = batch[name]
            ids = t["tensor"].long() % VOCAB
            b, length = ids.shape
            emb = self.position(torch.arange(length) % 1024).expand(b, -1, -1) + self.modality.weight[k]
            xs.append(self.token(ids))
            embs.append(emb)
            masks.append(t["input_mask"])
            mods.append(torch.full((b, length), k, dtype=torch.int16))
            sequence = not name.startswith("tok_")
            tokens = self.token(ids) if sequence else self.mask_token.expand(b, length, -1)
            dec[name] = compaction.DecoderModality(
                tokens=tokens, emb=emb, ids=ids, target_mask=t["target_mask"],
                attention=t["decoder_attention_mask"], modality_id=k, is_sequence=sequence)
        enc = compaction.encoder(torch.cat(xs, 1), torch.cat(embs, 1), torch.cat(masks, 1),
                                 torch.cat(mods, 1), n_enc)
        memory = self.encoder(enc.x + enc.emb, src_key_padding_mask=enc.mask)
        tokens, emb, ids, mask, attention, mod, order = compaction.prepare_decoder(dec, generator)
        d = compaction.decoder(tokens, emb, ids, mask, attention, mod, n_dec, order)
        # Fully blocked rows (padding slots) would give NaN attention: let them see themselves.
        blocked = d.attention & ~torch.eye(n_dec, dtype=torch.bool)
        heads = self.decoder.self_attn.num_heads
        out = self.decoder(d.tokens + d.emb, memory, tgt_mask=blocked.repeat_interleave(heads, 0),
                           memory_key_padding_mask=enc.mask)
        logits = self.head(out)
        return nn.functional.cross_entropy(logits[~d.mask], d.target_ids[~d.mask])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--address", default="127.0.0.1:50051")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--checkpoint", default="train_step.ckpt")
    args = p.parse_args()

    torch.manual_seed(0)
    state = torch.load(args.checkpoint) if os.path.exists(args.checkpoint) else None
    feed = maskfeed.Feed(args.address, batch_size=args.batch_size, seed=0,
                         resume=state["feed"] if state else None, output="torch")
    model, optimizer = None, None
    generator = torch.Generator().manual_seed(1)
    for step, batch in enumerate(feed, start=state["step"] if state else 0):
        if model is None:
            model = TinyFourM(batch)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            if state:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                generator.set_state(state["generator"])
                print(f"resumed at step {step}")
        loss = model(batch, generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"step {step}: loss {loss.item():.4f}")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(), "feed": feed.state(), "step": step + 1},
                   args.checkpoint)
        if step + 1 >= (state["step"] if state else 0) + args.steps:
            break
    feed.close()


if __name__ == "__main__":
    main()
