// Resolves the module-level names of a kernel source file loaded from C++:
// function definitions, terrazzo/triton imports and constant assignments.
#include "terrazzo/dsl/JitFunction.h"

#include <map>

namespace terrazzo::dsl {

namespace {
bool isTerrazzoModule(const std::string &m) {
  return m == "terrazzo" || m == "terrazzo.language" || m == "triton" || m == "triton.language";
}

class FileResolver : public Resolver, public std::enable_shared_from_this<FileResolver> {
public:
  explicit FileResolver(SourceFilePtr source) : source_(std::move(source)) {}

  void index(const Module &module) {
    for (auto &stmt : module.body) {
      if (stmt->kind == StmtKind::FunctionDef) {
        functions_[stmt->name] = true;
      } else if (stmt->kind == StmtKind::Import) {
        for (auto &n : stmt->importNames) {
          std::string full = stmt->importModule.empty() ? n.name : stmt->importModule + "." + n.name;
          std::string bound = n.alias.empty() ? n.name.substr(0, n.name.find('.')) : n.alias;
          if (isTerrazzoModule(full) || isTerrazzoModule(n.name))
            values_[bound] = HostValue::terrazzoModule();
        }
      } else if (stmt->kind == StmtKind::Assign && stmt->targets.size() == 1 &&
                 stmt->targets[0]->kind == ExprKind::Name) {
        if (auto v = constantOf(*stmt->value))
          values_[stmt->targets[0]->name] = *v;
        else if (auto d = dtypeOf(*stmt->value))
          values_[stmt->targets[0]->name] = *d;
      }
    }
  }

  std::optional<HostValue> lookup(const std::string &name) const override {
    if (auto it = values_.find(name); it != values_.end())
      return it->second;
    if (functions_.count(name)) {
      // Every function shares this resolver, so calls between functions of
      // the file resolve the same way. Functions own their resolver, so the
      // resolver remembers them weakly (no ownership cycle); one stays the
      // same object while anything uses it.
      auto fn = parsed_[name].lock();
      if (!fn) {
        auto self = std::const_pointer_cast<FileResolver>(shared_from_this());
        fn = JitFunction::fromSource(source_, name, self);
        parsed_[name] = fn;
      }
      return HostValue::jitFunction(fn);
    }
    return std::nullopt;
  }

private:
  // `128`, `-1.5`, `True`, `"s"`, `tz.constexpr(128)`.
  static std::optional<HostValue> constantOf(const Expr &e) {
    switch (e.kind) {
    case ExprKind::Int: return HostValue::integer(e.intValue);
    case ExprKind::Float: return HostValue::floating(e.floatValue);
    case ExprKind::Bool: return HostValue::boolean(e.boolValue);
    case ExprKind::String: return HostValue::string(e.name);
    case ExprKind::UnaryOp:
      if (e.unaryOp == UnaryOpKind::Neg) {
        if (auto v = constantOf(*e.operands[0])) {
          if (v->kind == HostValue::Kind::Int) return HostValue::integer(-v->intValue);
          if (v->kind == HostValue::Kind::Float) return HostValue::floating(-v->floatValue);
        }
      }
      return std::nullopt;
    case ExprKind::Call:
      if (e.value->kind == ExprKind::Attribute && e.value->name == "constexpr" && e.operands.size() == 1)
        return constantOf(*e.operands[0]);
      return std::nullopt;
    default:
      return std::nullopt;
    }
  }

  // `DT = tz.float16`, where tz was imported as the terrazzo module.
  std::optional<HostValue> dtypeOf(const Expr &e) const {
    if (e.kind != ExprKind::Attribute || e.value->kind != ExprKind::Name)
      return std::nullopt;
    auto base = values_.find(e.value->name);
    if (base == values_.end() || base->second.kind != HostValue::Kind::TerrazzoModule)
      return std::nullopt;
    return HostValue::dtype(e.name);
  }

  SourceFilePtr source_;
  std::map<std::string, bool> functions_;
  std::map<std::string, HostValue> values_;
  mutable std::map<std::string, std::weak_ptr<const JitFunction>> parsed_;
};
} // namespace

std::shared_ptr<const Resolver> makeFileResolver(SourceFilePtr source) {
  auto resolver = std::make_shared<FileResolver>(source);
  resolver->index(*parseModule(source));
  return resolver;
}

} // namespace terrazzo::dsl
