#!/usr/bin/env node
// Adds token ids to the lines make_goldens.py writes, with HuggingFace's own `tokenizers`
// (the Rust core, through its Node binding) and 4M's tokenizer, as 4M's loader encodes them:
// a text's ids (encode(text).ids), each metadata chunk alone (encode_batch).
//
//   (cd /tmp/hf && npm install tokenizers@0.23.2)
//   NODE_PATH=/tmp/hf/node_modules node tests/data/fourm_text/tokenize_goldens.js \
//       TOKENIZER.json IN.jsonl OUT.jsonl.gz
"use strict";
const fs = require("fs");
const zlib = require("zlib");
const { Tokenizer } = require("tokenizers");

async function main() {
  const [tokenizerPath, inPath, outPath] = process.argv.slice(2);
  if (!tokenizerPath || !inPath || !outPath) {
    console.error("usage: tokenize_goldens.js TOKENIZER.json IN.jsonl OUT.jsonl.gz");
    process.exit(2);
  }
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const ids = async (text) => Array.from((await tokenizer.encode(text)).getIds());
  const out = [];
  for (const raw of fs.readFileSync(inPath, "utf8").split("\n")) {
    if (!raw) continue;
    const line = JSON.parse(raw);
    if (line.text !== undefined) line.ids = await ids(line.text);
    if (line.chunks !== undefined) {
      line.chunk_ids = [];
      for (const chunk of line.chunks) line.chunk_ids.push(await ids(chunk));
    }
    out.push(JSON.stringify(line));
  }
  fs.writeFileSync(outPath, zlib.gzipSync(out.join("\n") + "\n", { level: 9 }));
  console.log(`${out.length} lines into ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
