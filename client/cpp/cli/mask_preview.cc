#include "client/cpp/cli/mask_preview.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/escaping.h"
#include "pipeline/base/strings.h"
#include "pipeline/image/jpeg_encode.h"

namespace maskfeed {
namespace {

constexpr int kImageCell = 6;    // px per image token
constexpr int kSeqCell = 4;      // px per sequence position
constexpr int kSeqPerLine = 64;  // sequence positions per strip line
constexpr int kGap = 18;         // px between blocks
constexpr int kLabel = 14;       // px of label above blocks

const char* Role(uint8_t input_mask, uint8_t target_mask) {
  if (input_mask == 0) return "input";
  if (target_mask == 0) return "target";
  return "ignored";
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

struct Block {
  const ModalityBatch* m = nullptr;
  bool image = false;
  int pixels = 0;  // S of an rgb@S pixel modality (drawn at 1:1), 0 otherwise
  int length = 0, side = 0, width = 0, height = 0;
};

// Row r of a uint8 (B, 3, S, S) tensor as a data: URI of a JPEG (libjpeg-turbo's encoder; the
// picture is for eyes, so quality 90 is plenty).
std::string PixelsDataUri(const HostTensor& t, int64_t r, int side) {
  const size_t plane = static_cast<size_t>(side) * static_cast<size_t>(side);
  const uint8_t* chw = t.as<uint8_t>() + static_cast<size_t>(r) * 3 * plane;
  std::vector<uint8_t> hwc(3 * plane);
  for (size_t i = 0; i < plane; ++i) {
    for (size_t c = 0; c < 3; ++c) hwc[3 * i + c] = chw[c * plane + i];
  }
  const std::string jpeg = EncodeRgbJpeg(hwc.data(), side, side, 90);
  return StrCat("data:image/jpeg;base64,", absl::Base64Escape(jpeg));
}

}  // namespace

std::string RenderMaskPreview(const Batch& batch, const std::vector<v1::ModalityLayout>& layouts,
                              int rows, const std::string& title) {
  std::vector<Block> blocks;
  for (const ModalityBatch& m : batch.modalities) {
    Block b;
    b.m = &m;
    b.length = static_cast<int>(m.input_mask.shape.back());
    for (const v1::ModalityLayout& l : layouts) {
      if (l.name() == m.name) {
        b.image = l.type() == "img";
        b.pixels = static_cast<int>(l.pixel_size());
      }
    }
    b.side = static_cast<int>(std::lround(std::sqrt(b.length)));
    if (b.image && b.side * b.side != b.length) b.image = false;  // not a square grid
    const bool pixel_tensor = m.tensor.dtype == DType::kUInt8 && m.tensor.shape.size() == 4 &&
                              m.tensor.shape[1] == 3 && m.tensor.shape[2] == b.pixels &&
                              m.tensor.shape[3] == b.pixels;
    if (!b.image || !pixel_tensor || b.pixels % b.side != 0) b.pixels = 0;
    if (b.pixels != 0) {
      b.width = b.height = b.pixels;
    } else if (b.image) {
      b.width = b.height = b.side * kImageCell;
    } else {
      b.width = std::min(b.length, kSeqPerLine) * kSeqCell;
      b.height = (b.length + kSeqPerLine - 1) / kSeqPerLine * kSeqCell;
    }
    blocks.push_back(b);
  }
  const int samples = static_cast<int>(std::min<int64_t>(rows, batch.size));
  int width = kGap, row_height = 0;
  for (const Block& b : blocks) {
    width += b.width + kGap;
    row_height = std::max(row_height, b.height);
  }
  const int header = 2 * kLabel + 16;
  const int height = header + samples * (row_height + kLabel + kGap) + 2 * kLabel;
  std::string svg = StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" ",
      "width=\"", width, "\" height=\"", height,
      "\" font-family=\"sans-serif\" font-size=\"11\">\n",
      "<style>.input{fill:#1f77b4}.target{fill:#ff7f0e}.ignored{fill:#dddddd}",
      // Over pixels: input patches show the crop, the others are veiled.
      ".patch.input{fill:none;stroke:#1f77b4;stroke-width:0.5}.patch.ignored{fill-opacity:0.85}",
      "</style>\n", "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", "<text x=\"", kGap,
      "\" y=\"", kLabel, "\" font-size=\"13\">", Escape(title), "</text>\n");
  // Legend.
  int lx = kGap;
  for (const char* role : {"input", "target", "ignored"}) {
    StrAppend(&svg, "<rect x=\"", lx, "\" y=\"", kLabel + 6,
              "\" width=\"10\" height=\"10\" class=\"", role, "\"/><text x=\"", lx + 14, "\" y=\"",
              kLabel + 15, "\">",
              std::string(role) == "input"    ? "encoder input"
              : std::string(role) == "target" ? "decoder target"
                                              : "neither",
              "</text>\n");
    lx += 110;
  }
  for (int r = 0; r < samples; ++r) {
    const int y0 = header + r * (row_height + kLabel + kGap);
    StrAppend(&svg, "<text x=\"4\" y=\"", y0 + kLabel - 3, "\">sample ",
              batch.samples.empty() ? r : static_cast<int64_t>(batch.samples[r]), "</text>\n");
    int x0 = kGap;
    for (const Block& b : blocks) {
      const ModalityBatch& m = *b.m;
      const uint8_t* in = m.input_mask.as<uint8_t>() + static_cast<int64_t>(r) * b.length;
      const uint8_t* tg = m.target_mask.as<uint8_t>() + static_cast<int64_t>(r) * b.length;
      StrAppend(&svg, "<g data-modality=\"", Escape(m.name), "\" data-row=\"", r, "\">\n",
                "<text x=\"", x0 + 60, "\" y=\"", y0 + kLabel - 3, "\">", Escape(m.name),
                "</text>\n");
      if (b.pixels != 0) {  // the sample's crop as the encoder sees it, under its patch mask
        StrAppend(&svg, "<image x=\"", x0, "\" y=\"", y0 + kLabel, "\" width=\"", b.pixels,
                  "\" height=\"", b.pixels, "\" href=\"", PixelsDataUri(m.tensor, r, b.pixels),
                  "\"/>\n");
      }
      const int cell = b.pixels != 0 ? b.pixels / b.side : b.image ? kImageCell : kSeqCell;
      const int per_line = b.image ? b.side : kSeqPerLine;
      const int gap = b.pixels != 0 ? 0 : 1;
      for (int i = 0; i < b.length; ++i) {
        StrAppend(&svg, "<rect x=\"", x0 + (i % per_line) * cell, "\" y=\"",
                  y0 + kLabel + (i / per_line) * cell, "\" width=\"", cell - gap, "\" height=\"",
                  cell - gap, "\" class=\"", b.pixels != 0 ? "patch " : "", Role(in[i], tg[i]),
                  "\"/>\n");
      }
      svg += "</g>\n";
      x0 += b.width + kGap;
    }
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace maskfeed
