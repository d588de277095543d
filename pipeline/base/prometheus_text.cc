#include "pipeline/base/prometheus_text.h"

#include <cmath>
#include <cstdint>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Integers (every counter, most gauges) print exactly; other values with enough digits.
void AppendValue(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 9e15) {
    StrAppend(out, static_cast<int64_t>(value));
  } else {
    StrAppend(out, absl::SixDigits(value));
  }
}

// HELP text escapes backslash and newline; label values also the double quote.
void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  StrAppend(&text_, "# HELP ", name, " ");
  AppendEscaped(&text_, help, false);
  StrAppend(&text_, "\n# TYPE ", name, " ", type, "\n");
}

void PrometheusText::Sample(std::string_view name, std::initializer_list<Label> labels,
                            double value) {
  text_.append(name);
  if (labels.size() > 0) {
    text_.push_back('{');
    bool first = true;
    for (const auto& [key, label_value] : labels) {
      StrAppend(&text_, first ? "" : ",", key, "=\"");
      AppendEscaped(&text_, label_value, true);
      text_.push_back('"');
      first = false;
    }
    text_.push_back('}');
  }
  text_.push_back(' ');
  AppendValue(&text_, value);
  text_.push_back('\n');
}

void PrometheusText::Counter(std::string_view name, std::string_view help, double value) {
  Family(name, "counter", help);
  Sample(name, {}, value);
}

void PrometheusText::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, {}, value);
}

}  // namespace maskfeed
