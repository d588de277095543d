"""A text corpus published as JSON Lines (as C4 is; 4M-21 mixes C4 in through HuggingFace's
datasets) imported with `maskfeed-shard import-jsonl` into 4M's tar layout and served as a
text-only dataset: every row's caption ids are 4M's tokenizer's ids for its line (goldens
made with HuggingFace's own library), and bad lines are named."""

import json
import os
import subprocess

import maskfeed
from conftest import SHARD_BIN, Server
from test_raw_4m import EOS, TOKENIZER, goldens

CONFIG = """
dataset {{
  name: "c4"
  path: "{root}"
  text_tokenizer: "{tokenizer}"
  masking {{
    modalities {{ name: "caption" type: MODALITY_TYPE_SEQ max_tokens: 256 vocab_size: 30000 }}
    transfer {{ inputs: "caption" }}
  }}
}}
"""


def test_a_json_lines_corpus_is_served_as_a_text_only_dataset(tmp_path):
    lines = goldens(30)
    corpus = tmp_path / "c4.jsonl"
    with open(corpus, "w", encoding="utf-8") as f:
        for i, g in enumerate(lines):
            f.write(json.dumps({"text": g["text"], "url": f"https://example.org/{i}"}) + "\n")
            if i == 10:
                f.write("\n")  # blank lines are skipped
    root = tmp_path / "c4"
    subprocess.run([SHARD_BIN, "import-jsonl", "--in", str(corpus), "--out", str(root),
                    "--samples-per-shard", "8"], check=True, capture_output=True)
    assert sorted(os.listdir(root / "caption")) == [f"shard-0000{k}.tar" for k in range(4)]
    config = tmp_path / "c4.pbtxt"
    config.write_text(CONFIG.format(root=root, tokenizer=os.path.abspath(TOKENIZER)))
    server = Server(None, tmp_path / "c4.sock", tmp_path / "c4.log",
                    extra_args=("--config", str(config)))
    try:
        seen = set()
        with maskfeed.Feed(server.address, batch_size=10, seed=4, output="numpy",
                           max_batches=3) as feed:
            for batch in feed:
                caption = batch["caption"]
                for row, sample in enumerate(batch.samples.tolist()):
                    ids = [int(t) for t, m in zip(caption["tensor"][row],
                                                  caption["input_mask"][row]) if not m]
                    assert ids == (lines[sample]["ids"] + [EOS])[:256], f"line {sample}"
                    seen.add(sample)
        assert seen == set(range(30))
    finally:
        server.stop()


def test_bad_lines_are_named_and_an_import_that_fails_leaves_nothing(tmp_path):
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"text": "one"}\n[1, 2]\n{"txt": "three"}\nnot json\n{"text": 5}\n'
                      '{"text": "six"}\n')
    out = tmp_path / "out"
    failed = subprocess.run([SHARD_BIN, "import-jsonl", "--in", str(corpus), "--out", str(out)],
                            capture_output=True, text=True)
    assert failed.returncode == 1
    assert f"{corpus}:2: not a JSON object" in failed.stderr, failed.stderr
    assert not os.listdir(out / "caption"), "a failed import leaves no shard behind"
    skipped = subprocess.run([SHARD_BIN, "import-jsonl", "--in", str(corpus), "--out", str(out),
                              "--skip-bad-lines"], capture_output=True, text=True, check=True)
    for line, why in ((2, "not a JSON object"), (3, "no field 'text'"), (5, "is not a string")):
        assert f"skipped {corpus}:{line}: " in skipped.stderr and why in skipped.stderr
    assert f"{corpus}:4: " in skipped.stderr
    assert "2 samples in 1 shards" in skipped.stdout and "4 bad lines skipped" in skipped.stdout
