// sam_instance (docs/raw-modalities.md#sam_instance): query points against the crop's instance
// contours.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_join.h"
#include "pipeline/base/strings.h"
#include "pipeline/text/text_builders.h"

namespace maskfeed::text {
namespace {

constexpr int kPoints = 7;
constexpr uint32_t kSide = 224;
constexpr int64_t kMaxCoordinate = int64_t{1} << 30;

struct Point {
  int64_t x, y;
  bool operator==(const Point& o) const { return x == o.x && y == o.y; }
};

// OpenCV's pointPolygonTest without distances, on an integer contour: 1 inside, 0 on an
// edge or vertex, -1 outside (a crossing count of the edges a ray to the right meets).
int PointInPolygon(const std::vector<Point>& contour, Point p) {
  const size_t n = contour.size();
  if (n == 0) return -1;
  int crossings = 0;
  Point a = contour[n - 1];
  for (size_t i = 0; i < n; ++i) {
    const Point b = contour[i];
    if ((a.y <= p.y && b.y <= p.y) || (a.y > p.y && b.y > p.y) || (a.x < p.x && b.x < p.x)) {
      // The edge does not straddle the ray: only a point on it (horizontal, or its end)
      // matters.
      if (p.y == b.y && (p.x == b.x || (p.y == a.y && ((a.x <= p.x && p.x <= b.x) ||
                                                       (b.x <= p.x && p.x <= a.x))))) {
        return 0;
      }
      a = b;
      continue;
    }
    int64_t side = (p.y - a.y) * (b.x - a.x) - (p.x - a.x) * (b.y - a.y);
    if (side == 0) return 0;
    if (b.y < a.y) side = -side;
    crossings += side > 0;
    a = b;
  }
  return crossings % 2 == 0 ? -1 : 1;
}

absl::Status Malformed(std::string_view path, std::string_view what) {
  return absl::DataLossError(StrCat(path, ": ", what));
}

}  // namespace

absl::StatusOr<std::string> BuildSamText(const PyObject& entry, Rng& rng) {
  // 7 y's then 7 x's.
  int64_t ys[kPoints], xs[kPoints];
  for (int64_t& y : ys) y = rng.Below(kSide);
  for (int64_t& x : xs) x = rng.Below(kSide);
  SamPoint points[kPoints];
  for (int k = 0; k < kPoints; ++k) points[k] = {.x = xs[k], .y = ys[k]};
  return BuildSamTextAt(entry, points, rng);
}

absl::StatusOr<std::string> BuildSamTextAt(const PyObject& entry,
                                           std::span<const SamPoint> points_in, Rng& rng) {
  if (entry.kind != PyObject::Kind::kDict) return Malformed("entry", "not a dict");
  const PyObject* points = entry.Get("points");
  const PyObject* tokens = entry.Get("token_ids");
  const PyObject* bbox = entry.Get("bbox");
  if (points == nullptr || tokens == nullptr || bbox == nullptr) {
    return Malformed("entry", "needs points, token_ids and bbox");
  }
  if (points->kind != PyObject::Kind::kList && points->kind != PyObject::Kind::kArray) {
    return Malformed("points", "not a list");
  }
  const size_t n = points->items.size();
  absl::StatusOr<std::vector<int64_t>> ids = tokens->Ints();
  if (!ids.ok()) return Malformed("token_ids", ToStd(ids.status().message()));
  absl::StatusOr<std::vector<double>> boxes = bbox->Reals();
  if (!boxes.ok()) return Malformed("bbox", ToStd(boxes.status().message()));
  if (tokens->shape.size() != 2 || static_cast<size_t>(tokens->shape[0]) != n ||
      bbox->shape.size() != 2 || static_cast<size_t>(bbox->shape[0]) != n || bbox->shape[1] != 4) {
    return Malformed("entry", StrCat(n, " instances in points but token_ids is (",
                                     absl::StrJoin(tokens->shape, ", "), ") and bbox (",
                                     absl::StrJoin(bbox->shape, ", "), ")"));
  }
  const auto t = static_cast<size_t>(tokens->shape[1]);
  std::vector<std::vector<Point>> contours(n);
  for (size_t i = 0; i < n; ++i) {
    const PyObject& inst = *points->items[i];
    const std::string at = StrCat("points[", i, "]");
    if ((inst.kind != PyObject::Kind::kList && inst.kind != PyObject::Kind::kTuple) ||
        inst.items.empty()) {
      return Malformed(at, "not a list whose element 0 is a contour");
    }
    const PyObject& c = *inst.items[0];
    absl::StatusOr<std::vector<int64_t>> xy = c.Ints();
    if (!xy.ok() || xy->size() % 2 != 0 || c.shape.empty() || c.shape.back() != 2) {
      return Malformed(at, "element 0 is not an integer contour (N, 1, 2)");
    }
    for (size_t k = 0; k + 1 < xy->size(); k += 2) {
      // Bounded so that the edge tests' products stay exact.
      if (std::abs((*xy)[k]) > kMaxCoordinate || std::abs((*xy)[k + 1]) > kMaxCoordinate) {
        return Malformed(
            at, StrCat("contour point (", (*xy)[k], ", ", (*xy)[k + 1], ") is beyond +-2^30"));
      }
      contours[i].push_back({(*xy)[k], (*xy)[k + 1]});
    }
  }
  for (size_t v = 0; v < boxes->size(); ++v) {
    const double b = (*boxes)[v];
    if (!(std::abs(b) < 9.2e18)) {  // Python's int() of it would fail or not fit
      return Malformed(StrCat("bbox[", v / 4, "]"), StrCat(b, " does not truncate to an integer"));
    }
  }
  for (int64_t id : *ids) {
    if (id < 0 || id >= 1024) return Malformed("token_ids", StrCat(id, " is not in 0..1023"));
  }
  // Duplicates collapse, first occurrence first.
  std::vector<Point> query;
  for (const SamPoint& sp : points_in) {
    const Point p{sp.x, sp.y};
    if (std::find(query.begin(), query.end(), p) == query.end()) query.push_back(p);
  }
  std::vector<std::vector<size_t>> hits(query.size());
  for (size_t q = 0; q < query.size(); ++q) {
    for (size_t i = 0; i < n; ++i) {
      if (PointInPolygon(contours[i], query[q]) >= 0) hits[q].push_back(i);
    }
  }
  // Shuffle the points (with their instance lists), then each list.
  std::vector<size_t> order(query.size());
  for (size_t q = 0; q < order.size(); ++q) order[q] = q;
  for (size_t q = order.size(); q > 1; --q) std::swap(order[q - 1], order[rng.Below(uint32_t(q))]);
  std::string text;
  for (size_t q : order) {
    std::vector<size_t>& list = hits[q];
    for (size_t k = list.size(); k > 1; --k) std::swap(list[k - 1], list[rng.Below(uint32_t(k))]);
    if (!text.empty()) text.push_back(' ');
    StrAppend(&text, "point v0=", query[q].y, " v1=", query[q].x);
    if (list.empty()) {
      text += " none";
      continue;
    }
    for (size_t i : list) {
      const double* b = boxes->data() + i * 4;  // (ymin, xmin, ymax, xmax)
      StrAppend(&text, " polygon v0=", static_cast<int64_t>(b[1]),
                " v1=", static_cast<int64_t>(b[0]), " v2=", static_cast<int64_t>(b[3]),
                " v3=", static_cast<int64_t>(b[2]));
      for (size_t k = 0; k < t; ++k) {
        const int64_t id = (*ids)[i * t + k];
        StrAppend(&text, id < 512 ? " v0=" : " v1=", id < 512 ? id : id - 512);
      }
    }
  }
  return text;
}

}  // namespace maskfeed::text
