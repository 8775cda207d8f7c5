#pragma once
// A small metrics registry with Prometheus text exposition (format 0.0.4).
//
// Hot path: a family's child (one label set) is found through a fixed-size
// open-addressing table of atomic pointers, so a lookup is loads only; a new
// label set is inserted under the family's mutex, once. Cells are relaxed
// atomics. Nothing on the recording path takes a lock shared across threads
// once a label set has been seen.
//
// Values read at collection (pool stats, procfs, queue depth) are not cells: a
// collector writes them straight into the exposition through TextWriter.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace svc::telemetry {

// OpenTelemetry's default explicit bucket boundaries for durations, in seconds.
inline constexpr std::array<double, 14> kDurationBuckets{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                         0.5,   0.75, 1,     2.5,   5,     7.5, 10};
// Body sizes in bytes (powers of 4 from 64 B to 4 MiB).
inline constexpr std::array<double, 9> kByteBuckets{64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304};

// Events per telemetry batch.
inline constexpr std::array<double, 10> kBatchBuckets{1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000};

enum class MetricType { counter, gauge, histogram };

using Label = std::pair<std::string_view, std::string_view>;

// Writes families and samples in the text format. Label values and HELP are
// escaped; callers give each family's samples right after its family() line.
class TextWriter {
 public:
  void family(std::string_view name, MetricType type, std::string_view help);
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  // `counts[i]`: observations in bucket i alone (not cumulative); one more
  // than `bounds` (the last is +Inf).
  void histogram(std::string_view name, std::span<const Label> labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum);
  std::string& text() { return out_; }

 private:
  void labels(std::span<const Label> labels, std::string_view le = {});
  std::string out_;
};

void append_escaped_label_value(std::string& out, std::string_view value);
void append_number(std::string& out, double value);

// One label set's cells. Addresses are stable for the registry's life.
class Counter {
 public:
  void inc(double by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double by) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;
  std::span<const double> bounds() const noexcept { return bounds_; }
  // Per-bucket counts (last = +Inf) and the sum, read without a lock: a
  // concurrent observe may show in one and not yet the other.
  std::vector<std::uint64_t> counts() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

namespace detail {

// The children of one family: label values → cell. See the file comment.
//
// Every family is bounded, whatever its labels carry: at most kMaxChildren
// label sets, each value at most kMaxLabelValueBytes of valid UTF-8 (the
// exposition format's rule). Anything else is counted in one overflow child
// whose values are all "_overflow", so a label fed from a client can cost
// one series, not memory without end. Callers still map client input to a
// small set first (request_telemetry.cpp: methods outside HTTP's own are
// "_OTHER"): the overflow child is the backstop, not the design.
class ChildTable {
 public:
  static constexpr std::size_t kSlots = 2048;  // at most half used: kMaxChildren
  static constexpr std::size_t kMaxChildren = kSlots / 2;
  static constexpr std::size_t kMaxLabelValueBytes = 128;
  explicit ChildTable(std::size_t label_count) : label_count_(label_count) {}
  ~ChildTable();

  struct Child {
    std::vector<std::string> values;
    void* cell;
  };
  // Finds or creates; `make` builds a cell for a new label set. Beyond
  // kMaxChildren label sets, or for a value too long or not UTF-8, returns
  // the overflow child (values "_overflow").
  void* find_or_add(std::span<const std::string_view> values, const std::function<void*()>& make);
  // Children in insertion order, for exposition.
  std::vector<const Child*> children() const;
  std::function<void(void*)> destroy;

 private:
  std::size_t label_count_;
  std::array<std::atomic<Child*>, kSlots> slots_{};
  mutable std::mutex mutex_;                  // insertions only
  std::vector<std::unique_ptr<Child>> owned_;  // insertion order; mutex_
  Child* overflow_ = nullptr;                  // mutex_
};

}  // namespace detail

class Registry;

// A named metric with fixed label names; T is Counter, Gauge or Histogram.
template <class T>
class Family {
 public:
  // Values in the order of the family's label names; safe from any thread.
  T& with(std::span<const std::string_view> values);
  T& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  const std::string& name() const { return name_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::span<const double> bounds);
  void expose(TextWriter& out) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::span<const double> bounds_;  // histograms only
  detail::ChildTable children_;
};

class Registry {
 public:
  using Collector = std::function<void(TextWriter&)>;

  // Register at start-up (before serving); the references stay valid for the
  // registry's life. Counter names must end in _total.
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                               std::span<const double> bounds);
  // Runs at every collection (each /metrics read), after the families, in registration order.
  void add_collector(Collector collector);

  // The whole exposition; safe from any thread, concurrently with recording.
  std::string expose() const;

 private:
  mutable std::mutex mutex_;  // registration vs. collection: never on the recording path
  std::vector<std::function<void(TextWriter&)>> exposers_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<Collector> collectors_;
};

}  // namespace svc::telemetry
