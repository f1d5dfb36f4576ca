"""Instruction counts of a PTX kernel, in all and inside its loops, and the
size of its SASS: the figures that show whether a change to the LLVM
pipeline changed the code (bench/codegen_compare.py).

A loop is the span from a label to the last branch back to it; an
instruction inside any such span counts as a loop instruction (nested loops
are counted once). SASS size comes from the cubin's .text sections (16 bytes
per instruction on sm_70 and later).
"""

import re
import struct

_LABEL = re.compile(r"^\s*(\$?[A-Za-z_][\w$]*):")
_BRANCH = re.compile(r"\bbra(?:\.uni)?\s+(\$?[A-Za-z_][\w$]*)\s*;")
_INSTRUCTION = re.compile(r"^\s*(?:@!?%\w+\s+)?([a-z][\w.]*)")


def _instructions(ptx):
    """(line index, opcode) of every instruction, and label -> line index."""
    lines = ptx.splitlines()
    labels, instructions = {}, []
    in_body = False
    for i, line in enumerate(lines):
        text = line.split("//", 1)[0]
        if text.strip() == "{":
            in_body = True
        m = _LABEL.match(text)
        if m:
            labels[m.group(1)] = i
            continue
        if not in_body:
            continue
        stripped = text.strip()
        if not stripped or stripped.startswith(".") or stripped in ("{", "}"):
            continue
        m = _INSTRUCTION.match(text)
        if m:
            instructions.append((i, m.group(1), text))
    return lines, labels, instructions


def ptx_stats(ptx):
    """{'instructions', 'loop_instructions', 'loop_opcodes': {family: n}}."""
    lines, labels, instructions = _instructions(ptx)
    spans = []
    for i, _, text in instructions:
        m = _BRANCH.search(text)
        if m and m.group(1) in labels and labels[m.group(1)] < i:
            spans.append((labels[m.group(1)], i))
    in_loop = [any(a <= i <= b for a, b in spans) for i, _, _ in instructions]
    families = {}
    for (i, op, _), looped in zip(instructions, in_loop):
        if looped:
            family = op.split(".")[0]
            families[family] = families.get(family, 0) + 1
    return {"instructions": len(instructions), "loop_instructions": sum(in_loop), "loops": len(spans),
            "loop_opcodes": families}


def sass_instructions(cubin):
    """SASS instructions of a cubin (ELF64): the .text.* sections' bytes / 16."""
    if cubin[:4] != b"\x7fELF" or cubin[4] != 2:
        return None
    shoff, = struct.unpack_from("<Q", cubin, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", cubin, 0x3A)
    def header(k):
        return struct.unpack_from("<IIQQQQIIQQ", cubin, shoff + k * shentsize)
    names_offset = header(shstrndx)[4]
    total = 0
    for k in range(shnum):
        name_at, _, _, _, _, size = header(k)[:6]
        end = cubin.index(b"\0", names_offset + name_at)
        if cubin[names_offset + name_at:end].startswith(b".text."):
            total += size
    return total // 16
