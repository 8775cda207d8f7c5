#pragma once
// A module's settings, declared next to the code that uses them: each
// variable once, with its name, default, help and validation. --help,
// --print-config and the reader are all driven by these declarations, so
// adding a variable is one edit in one module. The assembly (lib/service,
// the application) lists the sections in the order --help shows them.
//
//   const config::Section<PoolSettings>& pool_section() {
//     static const auto s = config::Section<PoolSettings>()
//         .integer("DB_POOL_SIZE", &PoolSettings::size, {1, 1000}, "connections kept open {range}");
//     return s;
//   }
//
// Defaults are the struct's member initialisers (one source of truth); a
// help text's "{range}" becomes the accepted range, or it is appended.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/config/env.hpp"

namespace svc::config {

enum class AppEnv { prod, dev, test };
std::string_view to_string(AppEnv env);

struct IntegerRange {
  std::int64_t min;
  std::int64_t max;
  std::string text() const;  // "(1-1000)"
};

struct SecondsRange {
  double min;
  double max;
  std::string text() const;  // "(0.01-600)"
};

// A default that depends on APP_ENV (used when the variable is unset).
struct Profile {
  std::int64_t prod;
  std::int64_t dev;
  std::int64_t test;
  std::int64_t at(AppEnv env) const noexcept;
  std::string text() const;  // "10 (prod) / 5 (dev) / 1 (test)"
};

// What readers may look at besides the environment.
struct ReadContext {
  AppEnv app_env = AppEnv::prod;
  std::vector<std::string>* notes = nullptr;  // lines worth logging once logging is up
};

// `help` with "{range}" replaced by `range`, or `range` appended after a space.
std::string with_range(std::string help, const std::string& range);
std::string bool_text(bool value);

template <class T>
class Section {
 public:
  using Reader = std::function<void(EnvReader&, const Variable&, const ReadContext&, T&)>;

  // A variable whose reading the module writes itself.
  Section& add(Variable variable, Reader read) {
    variables_.push_back(std::move(variable));
    readers_.push_back(std::move(read));
    return *this;
  }

  template <class Int>
  Section& integer(std::string name, Int T::*field, IntegerRange range, std::string help) {
    return add({std::move(name), std::to_string(T{}.*field), with_range(std::move(help), range.text())},
               [field, range](EnvReader& r, const Variable& v, const ReadContext&, T& out) {
                 out.*field = static_cast<Int>(r.integer(v, static_cast<std::int64_t>(out.*field), range.min, range.max));
               });
  }
  // The default follows APP_ENV.
  template <class Int>
  Section& integer(std::string name, Int T::*field, IntegerRange range, Profile profile, std::string help) {
    return add({std::move(name), profile.text(), with_range(std::move(help), range.text())},
               [field, range, profile](EnvReader& r, const Variable& v, const ReadContext& c, T& out) {
                 out.*field = static_cast<Int>(r.integer(v, profile.at(c.app_env), range.min, range.max));
               });
  }
  Section& seconds(std::string name, std::chrono::milliseconds T::*field, SecondsRange range, std::string help) {
    return add({std::move(name), seconds_text(T{}.*field), with_range(std::move(help), range.text())},
               [field, range](EnvReader& r, const Variable& v, const ReadContext&, T& out) {
                 out.*field = r.seconds(v, out.*field, range.min, range.max);
               });
  }
  Section& boolean(std::string name, bool T::*field, std::string help) {
    return add({std::move(name), bool_text(T{}.*field), std::move(help)},
               [field](EnvReader& r, const Variable& v, const ReadContext&, T& out) { out.*field = r.boolean(v, out.*field); });
  }
  // `shown_default`: what --help says when the default is empty ("(none)").
  Section& text(std::string name, std::string T::*field, std::string help, std::string shown_default = {},
                bool secret = false) {
    const std::string fallback = T{}.*field;
    return add({std::move(name), fallback.empty() ? std::move(shown_default) : fallback, std::move(help), secret},
               [field](EnvReader& r, const Variable& v, const ReadContext&, T& out) { out.*field = r.string(v, out.*field); });
  }
  // Runs after this section's variables are read (checks across them).
  Section& then(std::function<void(EnvReader&, const ReadContext&, T&)> step) {
    finish_ = std::move(step);
    return *this;
  }

  // Reads every variable in declaration order into `out` (whose current
  // values are the defaults). Throws ConfigError naming the first bad one.
  void read(EnvReader& reader, const ReadContext& context, T& out) const {
    for (std::size_t i = 0; i < readers_.size(); ++i) readers_[i](reader, variables_[i], context, out);
    if (finish_) finish_(reader, context, out);
  }
  const std::vector<Variable>& variables() const noexcept { return variables_; }
  // The declaration of `name` (a section's own variables, for its custom readers).
  const Variable& variable(std::string_view name) const;

 private:
  std::vector<Variable> variables_;
  std::vector<Reader> readers_;
  std::function<void(EnvReader&, const ReadContext&, T&)> finish_;
};

template <class T>
const Variable& Section<T>::variable(std::string_view name) const {
  for (const auto& v : variables_)
    if (v.name == name) return v;
  throw std::logic_error("no variable " + std::string(name) + " in this section");
}

}  // namespace svc::config
