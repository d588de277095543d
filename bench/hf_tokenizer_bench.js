#!/usr/bin/env node
// HuggingFace `tokenizers` (Rust core, Node binding) on the same corpus as
// maskfeed-bench-tokenizer: encodeBatch over chunks of 1,000 strings for SECONDS; one JSON line.
// Run it on one core (bench/tokenizer_vs_hf.sh pins it with taskset and RAYON_NUM_THREADS=1).
//   NODE_PATH=DIR/node_modules node bench/hf_tokenizer_bench.js TOKENIZER.json CORPUS.jsonl.gz [SECONDS]
"use strict";
const fs = require("fs");
const zlib = require("zlib");
const { Tokenizer } = require("tokenizers");

const [tokenizerPath, corpusPath, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 5);
const texts = zlib.gunzipSync(fs.readFileSync(corpusPath)).toString("utf8").split("\n")
  .filter((l) => l.length > 0).map((l) => JSON.parse(l).text);
const chars = texts.reduce((n, s) => n + [...s].length, 0);
const tokenizer = Tokenizer.fromFile(tokenizerPath);
(async () => {
  let passes = 0, ids = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  do {
    for (let i = 0; i < texts.length; i += 1000) {
      const encodings = await tokenizer.encodeBatch(texts.slice(i, i + 1000));
      for (const e of encodings) ids += e.getIds().length;
    }
    ++passes;
  } while (process.hrtime.bigint() < deadline);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ bench: "tokenizer", impl: "huggingface-tokenizers-0.23.2-node",
    threads: 1, strings: texts.length, chars, passes, seconds: elapsed,
    chars_per_s: Math.round(chars * passes / elapsed),
    strings_per_s: Math.round(texts.length * passes / elapsed),
    ids_per_s: Math.round(ids / elapsed) }));
})();
