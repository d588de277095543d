#!/usr/bin/env node
// Generates the golden token ids maskfeed's WordPiece tokenizer is tested against, with
// HuggingFace's own `tokenizers` (the Rust core, through its Node binding) as the oracle.
//
//   (cd /tmp/hf && npm install tokenizers@0.23.2)
//   NODE_PATH=/tmp/hf/node_modules node tests/data/tokenizer/make_goldens.js \
//       TOKENIZER.json tests/data/tokenizer/wordpiece_4m_goldens.jsonl.gz [COUNT]
//
// Writes one JSON object per line, {"text": ..., "ids": [...]}, gzipped. The corpus is made
// here from a fixed seed, so reruns give the same file: hand-written edge cases (the examples
// of docs/raw-modalities.md), random captions (vocabulary words, class names, punctuation, case, accents,
// CJK, emoji, control / zero-width / whitespace characters, special and template tokens in
// text, words over 100 characters), the strings 4M's det, metadata, pose, palette and SAM
// builders produce (well- and ill-formed), and random Unicode.
"use strict";
const fs = require("fs");
const zlib = require("zlib");
const { Tokenizer } = require("tokenizers");

const [tokenizerPath, outPath, countArg] = process.argv.slice(2);
if (!tokenizerPath || !outPath) {
  console.error("usage: make_goldens.js TOKENIZER.json OUT.jsonl.gz [COUNT]");
  process.exit(2);
}
const total = Number(countArg || 21000);

// mulberry32: a small seeded generator, so the corpus is the same on every run.
let state = 0x4d41534b;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));  // inclusive
const pick = (list) => list[Math.floor(rand() * list.length)];

const spec = JSON.parse(fs.readFileSync(tokenizerPath, "utf8"));
const vocabWords = Object.keys(spec.model.vocab).filter((w) => !w.startsWith("[") && w.length > 1);
const classNames = spec.added_tokens.filter((t) => t.normalized).map((t) => t.content);
const cp = (c) => String.fromCodePoint(c);

const whitespace = ["\t", "\n", "\r", "\u000b", "\u000c", " ", "\u0085", "\u00a0", "\u1680",
  "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008",
  "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"];
const invisible = ["\u0000", "\u0001", "\u0008", "\u001b", "\u007f", "\u0080", "\u009f",
  "\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u2060", "\u2066", "\ufeff", "\ufffd",
  "\ue000", "\uf8ff", cp(0xf0000), cp(0x10fffd), "\u0378", "\u0e5c", cp(0xe0001), cp(0x1d173)];
const punctuation = [..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "¡", "¿", "«", "»", "–", "—",
  "‘", "’", "“", "”", "…", "‰", "•", "、", "。", "「", "」", "・", "‿", "⁀", "¶", "§", "©",
  "®", "°", "±", "×", "÷", "€", "£", "¥", "¢", "¤", "™", "←", "→", "∑", "√", "∞", "≈", "≠"];
const letters = ["é", "è", "ê", "ë", "à", "â", "ä", "ç", "ñ", "ø", "å", "æ", "œ", "ß", "ÿ",
  "É", "Ö", "Ü", "İ", "ı", "Σ", "σ", "ς", "Ω", "Я", "ж", "ё", "Ł", "ł", "Đ", "ǅ", "ǈ", "ﬁ",
  "ﬀ", "Ａ", "ｚ", "１", "²", "½", "Ⅻ", "ⅻ", "٣", "४", "Ⓐ", "ⓩ", cp(0x1f130), cp(0x1d400),
  "e\u0301", "a\u0308", "n\u0303", "o\u0338", "\u0301", "\u20dd", "ᄀ", "가", "각", "ก", "ำ",
  "ا", "ب", "ש", "अ", "ि", "ক", "ཀ", "ሀ", "ᐁ", "Ꭰ"];
const cjk = ["中", "国", "日", "本", "語", "漢", "字", "東", "京", "〇", "㐀", cp(0x20000),
  cp(0x2a700), cp(0x2b820), cp(0x2ceb0), cp(0x30000), "豈", cp(0x2f800), "あ", "ア", "ｱ", "ー"];
const emoji = ["😀", "🐶", "🍕", "🚗", "❤", "❤️", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "🇫🇷", "🥰", "🫠",
  "🪿", "🩷", "🫨", "©️", "#️⃣", "☕", "⚽", "🧑🏾‍💻"];
const specials = ["[PAD]", "[UNK]", "[SOS]", "[EOS]", "[S_0]", "[S_3]", "[S_199]", "[S_200]",
  "[s_3]", "[ S_3]", "[S_3", "S_3]", "[CLS]", "[SEP]", "[MASK]"];

function template() {
  const j = int(0, 4);
  const v = pick([String(int(0, 999)), String(int(0, 9)), String(int(1000, 99999)),
    "-" + int(0, 999), int(0, 999) + ".0", "0" + int(0, 99), int(0, 99) + "x", "", "1e3"]);
  return `v${j}=${v}`;
}

function word() {
  const r = rand();
  if (r < 0.55) return pick(vocabWords).replace(/^##/, "");
  if (r < 0.65) return pick(classNames);
  if (r < 0.72) return template();
  if (r < 0.76) return pick(specials);
  if (r < 0.82) {  // a made-up word with accents and odd letters
    let w = "";
    for (let i = int(1, 9); i > 0; --i) w += rand() < 0.7 ? pick([..."abcdefghijklmnopqrstuvwxyz"]) : pick(letters);
    return w;
  }
  if (r < 0.86) { let w = ""; for (let i = int(1, 4); i > 0; --i) w += pick(cjk); return w; }
  if (r < 0.89) return pick(emoji);
  if (r < 0.915) return String(int(0, 10 ** int(1, 7)));
  if (r < 0.925) {  // a long word around the 100-character limit
    const n = pick([99, 100, 101, int(50, 160)]);
    let w = "";
    while ([...w].length < n) w += pick(vocabWords).replace(/^##/, "");
    return [...w].slice(0, n).join("");
  }
  return pick(vocabWords).replace(/^##/, "") + pick(invisible) + pick(vocabWords).replace(/^##/, "");
}

function sep() {
  const r = rand();
  if (r < 0.80) return " ";
  if (r < 0.88) return pick(whitespace);
  if (r < 0.92) return "";
  if (r < 0.96) return pick(invisible);
  return "  ";
}

function casing(w) {
  const r = rand();
  if (r < 0.7) return w;
  if (r < 0.8) return w.toUpperCase();
  if (r < 0.95) return w.charAt(0).toUpperCase() + w.slice(1);
  return [...w].map((c) => (rand() < 0.5 ? c.toUpperCase() : c)).join("");
}

function caption() {
  let s = "";
  for (let n = int(1, 14); n > 0; --n) {
    s += casing(word());
    if (rand() < 0.15) s += pick(punctuation);
    s += sep();
  }
  if (rand() < 0.5) s += pick([".", "!", "?", "...", ""]);
  return s;
}

const coord = () => int(0, 999);
const cls = () => (rand() < 0.9 ? pick(classNames) : casing(pick(classNames)));
function detText() {
  const boxes = [];
  for (let n = int(0, 8); n > 0; --n) boxes.push(`v0=${coord()} v1=${coord()} v2=${coord()} v3=${coord()} ${cls()}`);
  return boxes.join(" ");
}
function metadataChunk() {
  const v = pick([String(int(0, 999)), String(int(0, 49)), int(0, 99) + ".0", "0", "1", "2"]);
  return `v1=${int(0, 20)} v0=${v}`;
}
function poseText() {
  if (rand() < 0.1) return "none";
  let s = "";
  for (let p = int(1, 3); p > 0; --p) {
    s += `human v0=${coord()} v1=${coord()} v2=${coord()} v3=${coord()} `;
    const groups = [
      "pose " + Array.from({ length: 8 }, () => (rand() < 0.5 ? `v0=${int(0, 511)}` : `v1=${int(0, 511)}`)).join(" "),
      "global " + Array.from({ length: 9 }, () => `v0=${int(0, 999)}`).join(" "),
      "camera " + Array.from({ length: 3 }, () => `v0=${int(0, 999)}`).join(" "),
      "shape " + Array.from({ length: 10 }, () => `v0=${pick([int(0, 999), int(1000, 1500), -int(1, 500)])}`).join(" "),
    ];
    for (let i = groups.length - 1; i > 0; --i) { const k = int(0, i); [groups[i], groups[k]] = [groups[k], groups[i]]; }
    s += groups.join(" ") + " ";
  }
  return s;
}
function paletteText() {
  const k = int(1, 7);
  const parts = [`v1=${k}`];
  for (let i = 0; i < 3 * k; ++i) parts.push(`v0=${int(0, 255)}`);
  return parts.join(" ");
}
function samText() {
  const parts = [];
  for (let p = int(1, 4); p > 0; --p) {
    parts.push(`point v0=${int(0, 223)} v1=${int(0, 223)}`);
    const n = int(0, 3);
    if (n === 0) parts.push("none");
    for (let i = 0; i < n; ++i) {
      parts.push(`polygon v0=${int(0, 223)} v1=${int(0, 223)} v2=${int(0, 223)} v3=${int(0, 223)}`);
      for (let t = 0; t < 16; ++t) parts.push(rand() < 0.5 ? `v0=${int(0, 511)}` : `v1=${int(0, 511)}`);
    }
  }
  return parts.join(" ");
}
function unicodeSoup() {
  let s = "";
  for (let n = int(1, 24); n > 0; --n) {
    const r = rand();
    let c;
    if (r < 0.4) c = int(0x20, 0x7e);
    else if (r < 0.7) c = int(0xa0, 0x2fff);
    else if (r < 0.8) c = int(0x3000, 0xd7ff);
    else if (r < 0.85) c = int(0xe000, 0xffff);
    else if (r < 0.95) c = int(0x10000, 0x1faff);
    else c = int(0x20000, 0x10ffff);
    s += cp(c);
  }
  return s;
}

// Hand-written edge cases first.
const corpus = [
  "A person riding a horse.", "Wine Glass, persons person's", "Café naïve", "v3=1000", "v0=-3",
  "v0=20.0", "v0=5", "v3=999", "v4=1", "v0=0v1=1", "[EOS]", "a[EOS]b", "x[S_3]y", "[S_3][S_4]",
  "[s_3]", "wine glass", "wine  glass", "WINE GLASS", "Wine\tGlass", "wineglass", "wine glasses",
  "hot dog", "hot-dog", "hotdog", "teddy bear's", "a teddy bearer", "_person", "person_", "person2",
  "2person", "personé", "éperson", "person\u0301", "the person.", "dining table,chair",
  "traffic light\u00a0traffic light", "cell phone\u200bcell phone", "baseball bat and baseball glove",
  "", " ", "\t\n", "\u0000", "\ufffd", "\u00ad", "İstanbul", "ΣΊΣΥΦΟΣ", "Straße", "ﬁsh", "ＡＢＣ１２３",
  "x² + y² = z²", "½ cup", "Ⓐ person", "Ⅻ o'clock", "٣ cats", "中文字符", "日本語のテキスト",
  "한국어 텍스트", "ภาษาไทย", "العربية", "हिन्दी", "😀 person 🐶 dog", "👨‍👩‍👧 family", "🏳️‍🌈 flag",
  "a".repeat(99), "a".repeat(100), "a".repeat(101), "é".repeat(100), "é".repeat(101),
  "v0=166 v1=250 v2=500 v3=749 person v0=899 v1=0 v2=999 v3=500 cat v0=233 v1=899 v2=300 v3=949 wine glass",
  "v1=0 v0=20", "v1=1 v0=12 v0=14 v0=255", "human v0=166 v1=250 v2=500 v3=999 ", "none",
  "point v0=3 v1=4 none", "polygon v0=1 v1=2 v2=3 v3=4 v0=511 v1=0",
];
for (const w of whitespace) corpus.push(`person${w}dog`, `wine${w}glass`);
for (const c of invisible) corpus.push(`per${c}son`, `v0=1${c}2`);
for (const p of punctuation) corpus.push(`person${p}dog`, `v0=${p}1`);
for (const l of letters) corpus.push(`${l}`, `person${l}`, `${l}person`);
for (const c of classNames) corpus.push(c, c.toUpperCase(), ` ${c} `, `${c}s`, `x${c}`, c.replace(" ", "  "));
for (let j = 0; j < 4; ++j) for (const v of [0, 1, 99, 999, 1000, -1]) corpus.push(`v${j}=${v}`);

const makers = [
  [0.50, caption], [0.12, detText], [0.06, () => Array.from({ length: int(1, 21) }, metadataChunk).join(" ")],
  [0.06, metadataChunk], [0.07, poseText], [0.05, paletteText], [0.06, samText], [0.08, unicodeSoup],
];
while (corpus.length < total) {
  let r = rand();
  for (const [p, make] of makers) {
    if (r < p) { corpus.push(make()); break; }
    r -= p;
  }
}

(async () => {
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const lines = [];
  const chunk = 1000;
  for (let i = 0; i < corpus.length; i += chunk) {
    const part = corpus.slice(i, i + chunk);
    const encodings = await tokenizer.encodeBatch(part);
    for (let k = 0; k < part.length; ++k) {
      lines.push(JSON.stringify({ text: part[k], ids: Array.from(encodings[k].getIds()) }));
    }
  }
  fs.writeFileSync(outPath, zlib.gzipSync(lines.join("\n") + "\n", { level: 9 }));
  console.error(`make_goldens: ${lines.length} strings, ` +
    `${corpus.reduce((n, s) => n + [...s].length, 0)} characters -> ${outPath}`);
})();
