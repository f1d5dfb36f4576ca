# -*- Python -*-
# lit configuration of Terrazzo's FileCheck tests: the tz dialect through
# tz-opt (test/Dialect) and the DSL frontend through tzc (test/Frontend).
#
# CMake configures lit.site.cfg.py from lit.site.cfg.py.in into <build>/test;
# run the suite with `lit -sv <build>/test` (ctest's `lit` test does that).
#
# RUN lines may name the tools bare (tz-opt, tzc, FileCheck, not) or as
# %tz_opt, %tzc, %FileCheck, %not; both resolve to absolute paths: our tools
# in the build tree, FileCheck and not in LLVM's tools directory, never
# whatever is first on PATH.

import os

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "Terrazzo"
# lit's internal shell (the external one is deprecated as of lit 23).
config.test_format = lit.formats.ShTest(execute_external=False)

# .mlir for dialect tests, .py for DSL sources compiled by tzc.
config.suffixes = [".mlir", ".py"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.terrazzo_obj_root, "test")

# Not lit tests: the pytest, GoogleTest and fuzzing (test/fuzz) suites, and the lit configuration
# itself (its files end in .py too).
config.excludes = ["python", "unit", "fuzz", "lit.cfg.py", "lit.site.cfg.py", "lit.site.cfg.py.in"]

tools_dirs = [config.terrazzo_tools_dir]
llvm_dirs = [config.llvm_tools_dir]
llvm_config.with_environment("PATH", tools_dirs + llvm_dirs, append_path=True)


def find_tool(name, dirs):
    path = lit.util.which(name, os.pathsep.join(dirs))
    if not path:
        lit_config.fatal("cannot find %s in %s (build it first: ninja %s)" % (name, dirs, name))
    return path


# The %-forms go first: lit substitutes in order, and the bare `tzc` below
# would otherwise rewrite the `tzc` inside `%tzc`.
config.substitutions[0:0] = [
    ("%tz_opt", find_tool("tz-opt", tools_dirs)),
    ("%tzc", find_tool("tzc", tools_dirs)),
    ("%FileCheck", find_tool("FileCheck", llvm_dirs)),
    ("%not", find_tool("not", llvm_dirs)),
]

llvm_config.add_tool_substitutions(
    [ToolSubst("tz-opt", unresolved="fatal"), ToolSubst("tzc", unresolved="fatal")], tools_dirs
)
llvm_config.add_tool_substitutions(
    [
        ToolSubst("FileCheck", unresolved="fatal"),
        ToolSubst("not", unresolved="fatal"),
        ToolSubst("count", unresolved="ignore"),
        ToolSubst("split-file", unresolved="ignore"),
    ],
    llvm_dirs,
)
