#include "lib/telemetry/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "lib/core/hash.hpp"
#include "lib/core/utf8.hpp"

namespace svc::telemetry {

// ---------------------------------------------------------------- text format

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

namespace {
void append_escaped_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}
}  // namespace

void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;  // shortest round-trip form
  out.append(buf, end);
}

void TextWriter::family(std::string_view name, MetricType type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  append_escaped_help(out_, help);
  out_.append("\n# TYPE ").append(name).append(" ").append(type_name(type)).append("\n");
}

void TextWriter::labels(std::span<const Label> labels, std::string_view le) {
  if (labels.empty() && le.empty()) return;
  out_.push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(name).append("=\"");
    append_escaped_label_value(out_, value);
    out_.push_back('"');
  }
  if (!le.empty()) {
    if (!first) out_.push_back(',');
    out_.append("le=\"").append(le).append("\"");
  }
  out_.push_back('}');
}

void TextWriter::sample(std::string_view name, std::span<const Label> labels, double value) {
  out_.append(name);
  this->labels(labels);
  out_.push_back(' ');
  append_number(out_, value);
  out_.push_back('\n');
}

void TextWriter::histogram(std::string_view name, std::span<const Label> labels, std::span<const double> bounds,
                           std::span<const std::uint64_t> counts, double sum) {
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    le.clear();
    if (i < bounds.size()) {
      append_number(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    out_.append(name).append("_bucket");
    this->labels(labels, le);
    out_.push_back(' ');
    append_number(out_, static_cast<double>(cumulative));
    out_.push_back('\n');
  }
  out_.append(name).append("_sum");
  this->labels(labels);
  out_.push_back(' ');
  append_number(out_, sum);
  out_.append("\n").append(name).append("_count");
  this->labels(labels);
  out_.push_back(' ');
  append_number(out_, static_cast<double>(cumulative));
  out_.push_back('\n');
}

// ---------------------------------------------------------------- cells

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  // Bucket i holds bounds[i-1] < v <= bounds[i] (Prometheus "le").
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::uint64_t Histogram::count() const {
  std::uint64_t n = 0;
  for (auto c : counts()) n += c;
  return n;
}

// ---------------------------------------------------------------- children

namespace detail {

namespace {
// Every request looks up its label sets: a word-at-a-time hash.
std::size_t hash_values(std::span<const std::string_view> values) {
  std::uint64_t h = 0;
  for (auto v : values) h = core::murmur64a(v, h);
  return static_cast<std::size_t>(h);
}

// A value the exposition can carry and that costs a bounded amount to keep.
bool admissible(std::span<const std::string_view> values) {
  for (auto v : values)
    if (v.size() > ChildTable::kMaxLabelValueBytes || !core::is_valid_utf8(v)) return false;
  return true;
}

bool same(const ChildTable::Child& child, std::span<const std::string_view> values) {
  if (child.values.size() != values.size()) return false;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (child.values[i] != values[i]) return false;
  return true;
}
}  // namespace

ChildTable::~ChildTable() {
  if (!destroy) return;
  for (auto& child : owned_) destroy(child->cell);
}

void* ChildTable::find_or_add(std::span<const std::string_view> values, const std::function<void*()>& make) {
  if (values.size() != label_count_) throw std::invalid_argument("metric: wrong number of label values");
  const std::size_t start = hash_values(values) % kSlots;
  // Fast path: loads only. Slots fill in probe order and are never cleared,
  // so an empty slot ends the search.
  for (std::size_t i = 0; i < kSlots; ++i) {
    Child* c = slots_[(start + i) % kSlots].load(std::memory_order_acquire);
    if (c == nullptr) break;
    if (same(*c, values)) return c->cell;
  }
  std::lock_guard lock(mutex_);
  std::size_t i = 0;
  for (; i < kSlots; ++i) {
    Child* c = slots_[(start + i) % kSlots].load(std::memory_order_relaxed);
    if (c == nullptr) break;
    if (same(*c, values)) return c->cell;  // another thread added it meanwhile
  }
  if (owned_.size() >= kMaxChildren || i == kSlots || !admissible(values)) {
    if (overflow_ == nullptr) {
      owned_.push_back(std::make_unique<Child>(Child{std::vector<std::string>(label_count_, "_overflow"), make()}));
      overflow_ = owned_.back().get();
    }
    return overflow_->cell;
  }
  owned_.push_back(std::make_unique<Child>(Child{std::vector<std::string>(values.begin(), values.end()), make()}));
  slots_[(start + i) % kSlots].store(owned_.back().get(), std::memory_order_release);
  return owned_.back()->cell;
}

std::vector<const ChildTable::Child*> ChildTable::children() const {
  std::lock_guard lock(mutex_);
  std::vector<const Child*> out;
  out.reserve(owned_.size());
  for (const auto& c : owned_) out.push_back(c.get());
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------- families

template <class T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::span<const double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(bounds),
      children_(label_names_.size()) {
  children_.destroy = [](void* cell) { delete static_cast<T*>(cell); };
}

template <class T>
T& Family<T>::with(std::span<const std::string_view> values) {
  return *static_cast<T*>(children_.find_or_add(values, [this]() -> void* {
    if constexpr (std::is_same_v<T, Histogram>) {
      return new Histogram(bounds_);
    } else {
      return new T();
    }
  }));
}

template <class T>
void Family<T>::expose(TextWriter& out) const {
  constexpr MetricType type = std::is_same_v<T, Counter>   ? MetricType::counter
                              : std::is_same_v<T, Gauge> ? MetricType::gauge
                                                         : MetricType::histogram;
  out.family(name_, type, help_);
  std::vector<Label> labels;
  for (const auto* child : children_.children()) {
    labels.clear();
    for (std::size_t i = 0; i < label_names_.size(); ++i) labels.emplace_back(label_names_[i], child->values[i]);
    const T& cell = *static_cast<const T*>(child->cell);
    if constexpr (std::is_same_v<T, Histogram>) {
      auto counts = cell.counts();
      out.histogram(name_, labels, bounds_, counts, cell.sum());
    } else {
      out.sample(name_, labels, cell.value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------- registry

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names) {
  if (!name.ends_with("_total")) throw std::invalid_argument("counter name must end in _total: " + name);
  std::lock_guard lock(mutex_);
  counters_.emplace_back(new Family<Counter>(std::move(name), std::move(help), std::move(label_names), {}));
  auto* family = counters_.back().get();
  exposers_.push_back([family](TextWriter& out) { family->expose(out); });
  return *family;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  gauges_.emplace_back(new Family<Gauge>(std::move(name), std::move(help), std::move(label_names), {}));
  auto* family = gauges_.back().get();
  exposers_.push_back([family](TextWriter& out) { family->expose(out); });
  return *family;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                       std::span<const double> bounds) {
  std::lock_guard lock(mutex_);
  histograms_.emplace_back(new Family<Histogram>(std::move(name), std::move(help), std::move(label_names), bounds));
  auto* family = histograms_.back().get();
  exposers_.push_back([family](TextWriter& out) { family->expose(out); });
  return *family;
}

void Registry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::expose() const {
  TextWriter out;
  out.text().reserve(16 * 1024);
  std::lock_guard lock(mutex_);
  for (const auto& e : exposers_) e(out);
  for (const auto& c : collectors_) c(out);
  return std::move(out.text());
}

}  // namespace svc::telemetry
