// Binding a builtin call's arguments to its parameter list, shared by the
// files that define builtins.
#pragma once

#include "KernelBuilder.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace terrazzo::dsl {

using BuiltinFn = std::function<CgValue(KernelBuilder &, CallArgs &, SourceLoc)>;
using BuiltinTable = std::unordered_map<std::string, BuiltinFn>;

// Binds call arguments to a builtin's parameter list. A parameter spelled
// "name=" is optional; "*name" collects the remaining positional arguments.
class Binder {
public:
  Binder(KernelBuilder &kb, const std::string &fn, CallArgs &args, SourceLoc loc,
         std::vector<std::string> params)
      : kb_(kb), fn_(fn), loc_(loc) {
    size_t pos = 0;
    for (auto &p : params) {
      bool optional = !p.empty() && p.back() == '=';
      bool star = !p.empty() && p[0] == '*';
      std::string name = optional ? p.substr(0, p.size() - 1) : star ? p.substr(1) : p;
      names_.push_back(name);
      if (star) {
        while (pos < args.positional.size())
          rest_.push_back(args.positional[pos++]);
        values_.emplace_back();
        continue;
      }
      if (pos < args.positional.size())
        values_.emplace_back(args.positional[pos++]);
      else
        values_.emplace_back();
      required_.push_back(!optional);
    }
    if (pos < args.positional.size())
      kb.fail(loc, "tz." + fn + "() takes at most " + std::to_string(pos) + " positional argument" +
                       (pos == 1 ? "" : "s") + " but " + std::to_string(args.positional.size()) + " were given");
    for (auto &[name, value] : args.keywords) {
      auto it = std::find(names_.begin(), names_.end(), name);
      if (it == names_.end())
        kb.fail(loc, "tz." + fn + "() got an unexpected keyword argument '" + name + "'");
      auto &slot = values_[it - names_.begin()];
      if (slot)
        kb.fail(loc, "tz." + fn + "() got multiple values for argument '" + name + "'");
      slot = value;
    }
    size_t r = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i][0] == '*')
        continue;
      if (required_[r++] && !values_[i])
        kb.fail(loc, "tz." + fn + "() is missing required argument '" + names_[i] + "'");
    }
  }
  bool has(const std::string &name) const {
    auto &v = slot(name);
    return v && v->kind != CgValue::Kind::None;
  }
  CgValue get(const std::string &name) const { return slot(name).value_or(CgValue::none()); }
  mlir::Value ir(const std::string &name) { return kb_.requireIr(get(name), loc_, "argument '" + name + "' of tz." + fn_); }
  int64_t integer(const std::string &name) { return kb_.requireInt(get(name), loc_, "argument '" + name + "' of tz." + fn_); }
  const std::vector<CgValue> &rest() const { return rest_; }

private:
  const std::optional<CgValue> &slot(const std::string &name) const {
    auto it = std::find(names_.begin(), names_.end(), name);
    return values_[it - names_.begin()];
  }
  KernelBuilder &kb_;
  std::string fn_;
  SourceLoc loc_;
  std::vector<std::string> names_;
  std::vector<std::optional<CgValue>> values_;
  std::vector<bool> required_;
  std::vector<CgValue> rest_;
};


} // namespace terrazzo::dsl
