// JitFunction: a parsed kernel-language function and its resolver.
#include "terrazzo/dsl/JitFunction.h"

namespace terrazzo::dsl {

std::shared_ptr<JitFunction> JitFunction::fromSource(SourceFilePtr source, const std::string &name,
                                                     std::shared_ptr<const Resolver> resolver) {
  std::shared_ptr<JitFunction> fn(new JitFunction());
  fn->module_ = parseModule(source);
  for (auto &stmt : fn->module_->body)
    if (stmt->kind == StmtKind::FunctionDef && (name.empty() || stmt->name == name))
      fn->def_ = stmt.get();
  if (!fn->def_)
    throw DslError(source.get(), SourceLoc{1 + source->lineOffset(), 1},
                   name.empty() ? "no function definition found" : "no function named '" + name + "' in this source");
  fn->resolver_ = std::move(resolver);
  fn->fingerprint_ = source->filename() + ":" + fn->def_->name + ":" + source->text();
  return fn;
}

bool JitFunction::isConstexprParam(size_t i) const {
  const Expr *a = def_->params[i].annotation.get();
  if (!a)
    return false;
  if (a->kind == ExprKind::Name)
    return a->name == "constexpr";
  if (a->kind == ExprKind::Attribute)
    return a->name == "constexpr";
  if (a->kind == ExprKind::String) // from __future__ annotations style
    return a->name.size() >= 9 && a->name.compare(a->name.size() - 9, 9, "constexpr") == 0;
  return false;
}

} // namespace terrazzo::dsl

namespace terrazzo::dsl {

bool sameHostValue(const HostValue &a, const HostValue &b) {
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case HostValue::Kind::Int: return a.intValue == b.intValue;
  case HostValue::Kind::Float:
    return a.floatValue == b.floatValue || (a.floatValue != a.floatValue && b.floatValue != b.floatValue);
  case HostValue::Kind::Bool: return a.boolValue == b.boolValue;
  case HostValue::Kind::None:
  case HostValue::Kind::TerrazzoModule: return true;
  case HostValue::Kind::String:
  case HostValue::Kind::Dtype:
  case HostValue::Kind::Unsupported: return a.text == b.text;
  case HostValue::Kind::Function: return a.function == b.function;
  case HostValue::Kind::Pointer: return a.text == b.text && a.data == b.data && a.bytes == b.bytes;
  }
  return false;
}

} // namespace terrazzo::dsl
