//===- TestPasses.h - passes that expose tz utilities to lit tests -*- C++ -*-===//
#pragma once

namespace terrazzo::tz {

// -tz-test-forward-derivative: see TestForwardDerivative.cpp.
void registerTestForwardDerivativePass();

} // namespace terrazzo::tz
